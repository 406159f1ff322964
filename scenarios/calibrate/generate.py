#!/usr/bin/env python3
"""Generates the synthetic invocation logs of this directory (no real customer data).

    python3 scenarios/calibrate/generate.py

invocations-day.jsonl  24 hours (2026-03-02, UTC) of Amazon Bedrock model-invocation log
                       records of one application on Claude Sonnet 4.5 through the `us.`
                       cross-Region profile: quiet nights, a morning and an afternoon peak,
                       bursts of a few minutes, two request shapes (chat: max_tokens 4096;
                       reports: long inputs, max_tokens 16000). Only the fields quotasim
                       reads are written.

The CloudWatch export next to it (observed.json) is `quotasim run day.toml --cloudwatch`
with a quota the guide does not reveal up front (see docs/guide/account.md).
"""
import datetime as dt
import json
import math
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20260302)
Z95 = 1.6448536269514722
MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def lognormal(median, p95):
    return max(1, round(rng.lognormvariate(math.log(median), (math.log(p95) - math.log(median)) / Z95)))


def rate_at(h):  # requests per minute over the day, piecewise linear
    pts = [(0, 1.5), (6, 1.5), (9, 11), (12, 8), (14, 13), (17, 9), (20, 3), (24, 1.5)]
    for (h0, r0), (h1, r1) in zip(pts, pts[1:]):
        if h0 <= h <= h1:
            return r0 + (r1 - r0) * (h - h0) / (h1 - h0)
    return pts[-1][1]


start = dt.datetime(2026, 3, 2, 0, 0, 0, tzinfo=dt.timezone.utc)
records = []
t = 0.0
burst_until = -1.0
while True:
    rate = rate_at(t / 3600)
    if t < burst_until:
        rate *= 3.0
    elif rng.random() < 0.002:  # a burst of 2-6 minutes (a batch job, a retry storm upstream)
        burst_until = t + rng.uniform(120, 360)
    records.append(t)
    t += rng.expovariate(rate / 60.0)
    if t >= 24 * 3600:
        break

with open(os.path.join(HERE, "invocations-day.jsonl"), "w") as f:
    for i, t in enumerate(records):
        # The first record opens the day on a whole minute: replay time 0 is 00:00:00.
        ts = start + dt.timedelta(seconds=0 if i == 0 else round(t, 3))
        stamp = ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if rng.random() < 0.85:
            inp, out, mt = lognormal(1500, 6000), lognormal(300, 1400), 4096
        else:
            inp, out, mt = lognormal(12000, 40000), lognormal(1500, 5000), 16000
        out = min(out, mt)
        rec = {
            "timestamp": stamp,
            "modelId": MODEL,
            "input": {"inputTokenCount": inp, "inputBodyJson": {"max_tokens": mt}},
            "output": {"outputTokenCount": out},
        }
        f.write(json.dumps(rec, separators=(",", ":")) + "\n")
print(f"{len(records)} records")

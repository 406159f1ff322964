#!/usr/bin/env python3
"""Generates the synthetic example traces in this directory (no real customer data).

    python3 scenarios/traces/generate.py

chat-4h.csv        4 hours of a chat app and a RAG feature, RFC 3339 timestamps, a rate that
                   ramps 6 -> 24 -> 10 requests/minute, gamma gaps (cv 1.5 within an hour).
invocations.jsonl  30 minutes of Amazon Bedrock model-invocation log records (the fields
                   quotasim reads, with placeholder prompt and completion bodies).
"""
import datetime as dt
import json
import math
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20250601)
Z95 = 1.6448536269514722


def lognormal(median, p95):
    return max(1, round(rng.lognormvariate(math.log(median), (math.log(p95) - math.log(median)) / Z95)))


def rate_at(h):  # requests per minute, piecewise-linear over 4 hours
    pts = [(0, 6), (1.5, 24), (3, 14), (4, 10)]
    for (h0, r0), (h1, r1) in zip(pts, pts[1:]):
        if h0 <= h <= h1:
            return r0 + (r1 - r0) * (h - h0) / (h1 - h0)
    return pts[-1][1]


def gamma_gap(rate_per_min, cv):
    k = 1 / cv**2
    return rng.gammavariate(k, 60.0 / rate_per_min / k)


start = dt.datetime(2025, 6, 2, 9, 0, 0, tzinfo=dt.timezone.utc)
with open(os.path.join(HERE, "chat-4h.csv"), "w") as f:
    f.write("timestamp,class,input_tokens,output_tokens,max_tokens,cache_read_tokens,cache_write_tokens\n")
    t = 0.0
    while True:
        t += gamma_gap(rate_at(t / 3600), 1.5)
        if t >= 4 * 3600:
            break
        ts = (start + dt.timedelta(seconds=round(t, 3))).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if rng.random() < 0.8:
            inp, out, mt = lognormal(1200, 6000), lognormal(350, 1500), 4096
            cr, cw = 0, 0
        else:
            inp, out, mt = lognormal(3000, 9000), max(1, round(rng.gauss(600, 200))), 2048
            cached = rng.random() < 0.7
            cr, cw = (4000, 0) if cached else (0, 4000)
        f.write(f"{ts},{'chat' if mt == 4096 else 'rag'},{inp},{out},{mt},{cr},{cw}\n")

start = dt.datetime(2025, 6, 2, 14, 0, 0, tzinfo=dt.timezone.utc)
with open(os.path.join(HERE, "invocations.jsonl"), "w") as f:
    t = 0.0
    i = 0
    while True:
        t += rng.expovariate(10 / 60)
        if t >= 30 * 60:
            break
        i += 1
        ts = (start + dt.timedelta(seconds=round(t, 3))).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        inp, out = lognormal(900, 4000), lognormal(250, 1200)
        max_tokens = 2048
        rec = {
            "schemaType": "ModelInvocationLog",
            "schemaVersion": "1.0",
            "timestamp": ts,
            "accountId": "123456789012",
            "identity": {"arn": "arn:aws:sts::123456789012:assumed-role/example/app"},
            "region": "us-east-1",
            "requestId": f"00000000-0000-4000-8000-{i:012d}",
            "operation": "InvokeModel",
            "modelId": "us.anthropic.claude-sonnet-4-20250514-v1:0",
            "input": {
                "inputContentType": "application/json",
                "inputBodyJson": {
                    "anthropic_version": "bedrock-2023-05-31",
                    "max_tokens": max_tokens,
                    "messages": [{"role": "user", "content": "(synthetic prompt)"}],
                },
                "inputTokenCount": inp,
            },
            "output": {
                "outputContentType": "application/json",
                "outputBodyJson": {"content": [{"type": "text", "text": "(synthetic completion)"}]},
                "outputTokenCount": min(out, max_tokens),
            },
        }
        f.write(json.dumps(rec, separators=(",", ":")) + "\n")

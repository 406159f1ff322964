"""Service tiers through `quotasim serve` with the real AWS SDK for Python (boto3/botocore).

Usage: tiers.py ENDPOINT

botocore's bedrock-runtime model carries the tier as `serviceTier={"type": ...}` on Converse
and as `serviceTier=...` (the `X-Amzn-Bedrock-Service-Tier` header) on InvokeModel. Each
call fixes its sizes with the x-quotasim-* headers: I = 1000 input tokens, A = 200 output
tokens (10,000 for the `hog` call; estimated from the text for the `estimate_*` calls). Prints one JSON object: the wall seconds of each successful call and the error code
and message of each refused one. The Rust test (tests/serve_tiers.rs) checks them and the
server's report.
"""

import json
import sys
import time

import boto3
import botocore
from botocore.config import Config

ENDPOINT = sys.argv[1]
SONNET = "anthropic.claude-sonnet-4-5-20250929-v1:0"
OPUS = "anthropic.claude-opus-4-8"


def client(input_tokens=1000):
    c = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=ENDPOINT,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=30),
    )

    def add(request, **_):
        if input_tokens is not None:
            request.headers["x-quotasim-input-tokens"] = str(input_tokens)
        request.headers["x-quotasim-output-tokens"] = "200"

    c.meta.events.register("before-sign.bedrock-runtime.*", add)
    return c


C = client()
MESSAGES = [{"role": "user", "content": [{"text": "hello"}]}]
BODY = json.dumps(
    {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 500,
        "messages": [{"role": "user", "content": "hello"}],
    }
)


def converse(model, tier=None, c=C):
    kw = {} if tier is None else {"serviceTier": {"type": tier}}
    return c.converse(
        modelId=model, messages=MESSAGES, inferenceConfig={"maxTokens": 500}, **kw
    )


def invoke(model, tier=None):
    kw = {} if tier is None else {"serviceTier": tier}
    return C.invoke_model(modelId=model, body=BODY, **kw)


out = {"seconds": {}, "errors": {}}


def timed(name, fn):
    t = time.monotonic()
    r = fn()
    out["seconds"][name] = time.monotonic() - t
    return r


def refused(name, fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        out["errors"][name] = {
            "code": e.response["Error"]["Code"],
            "status": e.response["ResponseMetadata"]["HTTPStatusCode"],
            "message": e.response["Error"]["Message"],
        }
        return
    raise AssertionError(f"{name}: expected a ClientError")


timed("standard", lambda: converse("global." + SONNET))
timed("default", lambda: converse("global." + SONNET, "default"))
r = timed("priority", lambda: converse("global." + SONNET, "priority"))
assert r["usage"]["outputTokens"] == 200, r["usage"]
r = timed("flex_invoke", lambda: invoke("global." + SONNET, "flex"))
assert json.loads(r["body"].read())["usage"]["output_tokens"] == 200
timed("geo", lambda: converse("eu." + SONNET))
timed("reserved", lambda: converse("us." + SONNET, "reserved"))
refused("opus_priority", lambda: converse("global." + OPUS, "priority"))
refused("opus_flex_invoke", lambda: invoke("global." + OPUS, "flex"))
refused("unknown", lambda: converse("global." + SONNET, "turbo"))
refused("reserved_on_demand", lambda: invoke("global." + SONNET, "reserved"))
# The `tight` pool (apac. only) refuses a call of 10,000 input tokens: it is busy, and a
# flex call fails with flex_error_rate; a standard one is served.
refused("hog", lambda: converse("apac." + SONNET, c=client(input_tokens=10000)))
refused("flex_busy", lambda: converse("apac." + SONNET, "flex"))
timed("standard_busy", lambda: converse("apac." + SONNET))
# Without x-quotasim-input-tokens the input is estimated from 400 characters of text:
# ceil(400 / 4) = 100 tokens, times the model's tokenizer factor.
ESTIMATE = client(input_tokens=None)
for name, model in [("estimate_sonnet", "global." + SONNET), ("estimate_opus", "global." + OPUS)]:
    r = ESTIMATE.converse(
        modelId=model,
        messages=[{"role": "user", "content": [{"text": "x" * 400}]}],
        inferenceConfig={"maxTokens": 500},
    )
    out[name] = r["usage"]["inputTokens"]
print(json.dumps(out))

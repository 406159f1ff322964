#!/usr/bin/env python3
"""The retry loops of the real SDKs, driven through a fixed sequence of answers.

For each SDK named on the command line, and each case in CASES_JSON, the SDK's own client
makes one call; its transport is mocked so that attempt k receives answer k of the case (a
429, a 503 or a 200, with or without a retry hint), its clock is virtual (every sleep the SDK
takes advances a counter instead of waiting) and its random draws come from the case's list
``draws`` in order. The script prints one JSON object per case:
``{"sdk", "case", "times": [virtual time of each attempt, s], "outcome": "success" | "failed"}``.

* anthropic-sdk: ``anthropic.Anthropic`` (anthropic 2.17.0), transport
  ``httpx2.MockTransport``, ``anthropic._base_client.random`` scripted, ``time.sleep`` virtual.
* openai-sdk: ``openai.OpenAI`` (openai 3.63.0), likewise.
* litellm: ``litellm.completion(model="bedrock/...", num_retries=N)`` (litellm 1.110.2) with
  an ``HTTPHandler`` on ``httpx.MockTransport``.
* strands: a ``strands.Agent`` (strands-agents 1.62.0) with its default retry strategy on a
  ``BedrockModel(streaming=False)``; the boto3 client's HTTP is answered by a
  ``before-send`` handler, botocore's backoff draws are scripted, ``asyncio.sleep`` in the
  strands retry module and ``time.sleep`` are virtual.
* botocore: a ``bedrock-runtime`` client in ``standard`` mode alone (botocore 1.44.8), for
  the ``x-amz-retry-after`` rule.

Usage: reference_retries.py SDK CASES_JSON
"""

import asyncio
import json
import os
import sys
import time

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "secret")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("OTEL_SDK_DISABLED", "true")
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_RETRY_MODE", None)
os.environ.pop("AWS_MAX_ATTEMPTS", None)


class Clock:
    def __init__(self):
        self.now = 0.0

    def sleep(self, s):
        self.now += max(0.0, float(s))


CLOCK = Clock()
time.sleep = CLOCK.sleep  # every SDK here sleeps through time.sleep at call time


class Draws:
    last = None

    def __init__(self, draws):
        self.draws = list(draws)
        self.i = 0
        Draws.last = self

    def __call__(self):
        if self.i >= len(self.draws):
            raise RuntimeError("the SDK drew more random numbers than the case provides")
        u = self.draws[self.i]
        self.i += 1
        return u


class Script:
    """The answers of one case, in order; records the virtual time of each attempt."""

    def __init__(self, case):
        self.answers = case["answers"]
        self.times = []

    def next(self):
        k = len(self.times)
        self.times.append(CLOCK.now)
        if k >= len(self.answers):
            raise RuntimeError("the SDK made more attempts than the case has answers")
        return self.answers[k]


def hint_headers(a):
    h = {}
    if a.get("retry_after") is not None:
        h["retry-after"] = str(a["retry_after"])
        h["x-amz-retry-after"] = str(a["retry_after"] * 1000)
    return h


CHAT = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "hi"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 1, "output_tokens": 1},
}
OPENAI_CHAT = {
    "id": "c1",
    "object": "chat.completion",
    "created": 0,
    "model": "gpt-4o",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}
CONVERSE = {
    "output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
    "metrics": {"latencyMs": 1},
}


def stainless(sdk, case):
    script = Script(case)
    draws = Draws(case["draws"])
    if sdk == "anthropic-sdk":
        import anthropic
        import anthropic._base_client as base
        import httpx2

        base.random = draws
        body_ok, mod = CHAT, anthropic
    else:
        import httpx2
        import openai
        import openai._base_client as base

        base.random = draws
        body_ok, mod = OPENAI_CHAT, openai

    def handler(request):
        a = script.next()
        if a["status"] == 200:
            return httpx2.Response(200, json=body_ok)
        kind = "rate_limit_error" if a["status"] == 429 else "overloaded_error"
        return httpx2.Response(
            a["status"],
            headers=hint_headers(a),
            json={"type": "error", "error": {"type": kind, "message": "x"}},
        )

    http = httpx2.Client(transport=httpx2.MockTransport(handler))
    try:
        if sdk == "anthropic-sdk":
            c = mod.Anthropic(api_key="k", base_url="http://mock.invalid", http_client=http)
            c.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=16,
                messages=[{"role": "user", "content": "hi"}],
            )
        else:
            c = mod.OpenAI(api_key="k", base_url="http://mock.invalid/v1", http_client=http)
            c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        outcome = "success"
    except mod.APIStatusError:
        outcome = "failed"
    return script.times, outcome


def run_litellm(case):
    import httpx
    import litellm
    from litellm.llms.custom_httpx.http_handler import HTTPHandler

    script = Script(case)

    def handler(request):
        a = script.next()
        if a["status"] == 200:
            return httpx.Response(200, json=CONVERSE)
        name = "ThrottlingException" if a["status"] == 429 else "ServiceUnavailableException"
        h = hint_headers(a)
        h["x-amzn-errortype"] = name
        return httpx.Response(a["status"], headers=h, json={"message": "x"})

    client = HTTPHandler(client=httpx.Client(transport=httpx.MockTransport(handler)))
    litellm.num_retries = None
    try:
        litellm.completion(
            model="bedrock/converse/anthropic.claude-sonnet-4-5-20250929-v1:0",
            messages=[{"role": "user", "content": "hi"}],
            num_retries=case["num_retries"],
            client=client,
            aws_region_name="us-east-1",
        )
        outcome = "success"
    except Exception as e:  # litellm raises its own exception types
        if os.environ.get("SDK_REFERENCE_DEBUG"):
            import traceback

            traceback.print_exc()
        outcome = "failed"
    return script.times, outcome


def aws_response(a):
    from botocore.awsrequest import AWSResponse

    class Raw:
        def __init__(self, body):
            self.body = body

        def stream(self, **kwargs):
            yield self.body

    if a["status"] == 200:
        body = json.dumps(CONVERSE).encode()
        headers = {"content-type": "application/json"}
    else:
        name = "ThrottlingException" if a["status"] == 429 else "ServiceUnavailableException"
        body = json.dumps({"message": "x"}).encode()
        headers = {"content-type": "application/json", "x-amzn-errortype": name}
        headers.update(hint_headers(a))
    return AWSResponse("https://mock.invalid", a["status"], headers, Raw(body))


def script_botocore_draws(draws):
    from botocore.retries import standard

    d = list(standard.ExponentialBackoff.__init__.__defaults__)
    # (max_backoff, random, service_name, throttling_detector)
    d[1] = draws
    standard.ExponentialBackoff.__init__.__defaults__ = tuple(d)


def run_botocore(case):
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    script = Script(case)
    script_botocore_draws(Draws(case["draws"]))
    c = boto3.session.Session().client(
        "bedrock-runtime",
        region_name="us-east-1",
        config=Config(retries={"mode": "standard"}),
    )
    c.meta.events.register("before-send", lambda request, **kw: aws_response(script.next()))
    try:
        c.converse(
            modelId="anthropic.claude-sonnet-4-5-20250929-v1:0",
            messages=[{"role": "user", "content": [{"text": "hi"}]}],
        )
        outcome = "success"
    except ClientError:
        outcome = "failed"
    return script.times, outcome


def run_strands(case):
    import boto3
    import strands.event_loop._retry as retry_mod
    from strands import Agent
    from strands.models.bedrock import BedrockModel

    script = Script(case)
    script_botocore_draws(Draws(case["draws"]))

    class VirtualAsyncio:
        def __getattr__(self, name):
            return getattr(asyncio, name)

        @staticmethod
        async def sleep(s):
            CLOCK.sleep(s)

    retry_mod.asyncio = VirtualAsyncio()
    session = boto3.session.Session(region_name="us-east-1")
    model = BedrockModel(
        model_id="anthropic.claude-sonnet-4-5-20250929-v1:0",
        streaming=False,
        boto_session=session,
    )
    model.client.meta.events.register(
        "before-send", lambda request, **kw: aws_response(script.next())
    )
    agent = Agent(model=model, callback_handler=None)
    from botocore.exceptions import ClientError
    from strands.types.exceptions import ModelThrottledException

    try:
        agent("hi")
        outcome = "success"
    except (ModelThrottledException, ClientError):
        outcome = "failed"
    return script.times, outcome


def main():
    sdk, cases = sys.argv[1], json.loads(sys.argv[2])
    for case in cases:
        CLOCK.now = 0.0
        Draws.last = None
        if sdk in ("anthropic-sdk", "openai-sdk"):
            times, outcome = stainless(sdk, case)
        elif sdk == "litellm":
            times, outcome = run_litellm(case)
        elif sdk == "strands":
            times, outcome = run_strands(case)
        elif sdk == "botocore":
            times, outcome = run_botocore(case)
        else:
            raise SystemExit(f"unknown sdk {sdk}")
        used = Draws.last.i if Draws.last is not None else 0
        print(
            json.dumps(
                {
                    "sdk": sdk,
                    "case": case["name"],
                    "times": times,
                    "outcome": outcome,
                    "draws_used": used,
                }
            )
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()

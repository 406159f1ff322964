"""Real SDKs against `quotasim serve`, for tests/serve_clients.rs.

Usage: python sdks.py MODE ENDPOINT MODEL_ID
Prints one JSON object: what the client saw. Credentials are dummies (serve never checks
them); every client talks to ENDPOINT.

Modes:
  boto3-mid-stream   converse_stream and invoke_model_with_response_stream, each with
                     `x-quotasim-mid-stream-throttle-after: 7`: botocore must raise
                     EventStreamError (throttlingException) while the stream is read.
  anthropic-bedrock  anthropic.AnthropicBedrock (base_url = ENDPOINT): one plain and one
                     streamed messages.create, then a stream throttled mid-way.
  anthropic-mantle   anthropic.AnthropicBedrockMantle (base_url = ENDPOINT/anthropic, the
                     Messages-API path): the same three calls.
  anthropic-retries  AnthropicBedrock with its default retries against a quota that refuses
                     everything: the SDK's own retry loop, seen by serve as one request.
"""

import json
import sys

MODE, ENDPOINT, MODEL = sys.argv[1], sys.argv[2], sys.argv[3]
PROMPT = [{"role": "user", "content": "Count to ten."}]


def boto3_mid_stream():
    import boto3
    import botocore.exceptions
    from botocore.config import Config

    client = boto3.client(
        "bedrock-runtime",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="not-a-real-secret",
        config=Config(retries={"mode": "standard", "max_attempts": 3}),
    )

    def add_header(request, **_):
        request.headers["x-quotasim-mid-stream-throttle-after"] = "7"

    client.meta.events.register("before-sign.bedrock-runtime.*", add_header)
    out = {"botocore": botocore.__version__}

    r = client.converse_stream(
        modelId=MODEL,
        messages=[{"role": "user", "content": [{"text": "Count to ten."}]}],
        inferenceConfig={"maxTokens": 200},
    )
    text, seen = "", {"status": r["ResponseMetadata"]["HTTPStatusCode"]}
    try:
        for ev in r["stream"]:
            if "contentBlockDelta" in ev:
                text += ev["contentBlockDelta"]["delta"]["text"]
        seen["raised"] = None
    except botocore.exceptions.EventStreamError as e:
        seen["raised"] = type(e).__name__
        seen["code"] = e.response["Error"]["Code"]
        seen["message"] = e.response["Error"]["Message"]
    seen["text_chars"] = len(text)
    out["converse_stream"] = seen

    body = json.dumps(
        {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200, "messages": PROMPT}
    )
    r = client.invoke_model_with_response_stream(modelId=MODEL, body=body)
    text, seen = "", {"status": r["ResponseMetadata"]["HTTPStatusCode"]}
    try:
        for ev in r["body"]:
            e = json.loads(ev["chunk"]["bytes"])
            if e["type"] == "content_block_delta":
                text += e["delta"]["text"]
        seen["raised"] = None
    except botocore.exceptions.EventStreamError as e:
        seen["raised"] = type(e).__name__
        seen["code"] = e.response["Error"]["Code"]
        seen["message"] = e.response["Error"]["Message"]
    seen["text_chars"] = len(text)
    out["invoke_stream"] = seen
    return out


def three_calls(client):
    import anthropic

    out = {"anthropic": anthropic.__version__, "client": type(client).__name__}
    m = client.messages.create(model=MODEL, max_tokens=200, messages=PROMPT)
    out["create"] = {
        "input_tokens": m.usage.input_tokens,
        "output_tokens": m.usage.output_tokens,
        "text_chars": len(m.content[0].text),
        "stop_reason": m.stop_reason,
    }
    text, events = "", []
    with client.messages.create(
        model=MODEL, max_tokens=200, messages=PROMPT, stream=True
    ) as stream:
        for ev in stream:
            events.append(ev.type)
            if ev.type == "content_block_delta":
                text += ev.delta.text
            if ev.type == "message_delta":
                out_tokens = ev.usage.output_tokens
    out["stream"] = {
        "first": events[0],
        "last": events[-1],
        "output_tokens": out_tokens,
        "text_chars": len(text),
    }
    throttled = client.with_options(
        default_headers={"x-quotasim-mid-stream-throttle-after": "7"}, max_retries=0
    )
    text, seen = "", {}
    try:
        with throttled.messages.create(
            model=MODEL, max_tokens=200, messages=PROMPT, stream=True
        ) as stream:
            for ev in stream:
                if ev.type == "content_block_delta":
                    text += ev.delta.text
        seen["raised"] = None
    except anthropic.APIStatusError as e:
        seen["raised"] = type(e).__name__
        seen["error_type"] = (e.body or {}).get("error", {}).get("type")
        seen["message"] = (e.body or {}).get("error", {}).get("message")
    seen["text_chars"] = len(text)
    out["mid_stream"] = seen
    return out


def anthropic_bedrock():
    from anthropic import AnthropicBedrock

    return three_calls(
        AnthropicBedrock(
            aws_access_key="AKIDEXAMPLE",
            aws_secret_key="not-a-real-secret",
            aws_region="us-east-1",
            base_url=ENDPOINT,
        )
    )


def anthropic_mantle():
    from anthropic import AnthropicBedrockMantle

    return three_calls(
        AnthropicBedrockMantle(
            api_key="not-a-real-key", aws_region="us-east-1", base_url=ENDPOINT + "/anthropic"
        )
    )


def anthropic_retries():
    import anthropic
    from anthropic import AnthropicBedrock

    client = AnthropicBedrock(
        aws_access_key="AKIDEXAMPLE",
        aws_secret_key="not-a-real-secret",
        aws_region="us-east-1",
        base_url=ENDPOINT,
    )
    out = {"max_retries": client.max_retries}
    try:
        client.messages.create(model=MODEL, max_tokens=200, messages=PROMPT)
        out["raised"] = None
    except anthropic.APIStatusError as e:
        out["raised"] = type(e).__name__
        out["status"] = e.status_code
    return out


MODES = {
    "boto3-mid-stream": boto3_mid_stream,
    "anthropic-bedrock": anthropic_bedrock,
    "anthropic-mantle": anthropic_mantle,
    "anthropic-retries": anthropic_retries,
}
print(json.dumps(MODES[MODE]()))

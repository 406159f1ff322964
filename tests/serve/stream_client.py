"""Drives `quotasim serve` into a throttle inside a stream with the real AWS SDK for Python.

Usage: stream_client.py OPERATION ENDPOINT MODEL_ID

OPERATION is `converse_stream` or `invoke_model_with_response_stream`. The server's quota
(quota.mid_stream_throttle, quota.retry_after; see tests/serve_streams.rs) admits the call
but cannot take the output it grows into. The script checks what an application sees:

* the call returns HTTP 200 and text arrives;
* reading the stream then raises botocore's ``EventStreamError`` with the code
  ``throttlingException`` (outside botocore's retry handler: one attempt only);
* the next call is refused with a 429 ``ThrottlingException`` whose ``x-amz-retry-after``
  (milliseconds) and ``retry-after`` (seconds) headers carry the same whole-second hint.

It prints one JSON object with what it saw and the server's /quotasim/report.
"""

import json
import sys
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

OPERATION, ENDPOINT, MODEL_ID = sys.argv[1], sys.argv[2], sys.argv[3]


def client(total_max_attempts=3):
    c = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=ENDPOINT,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(
            retries={"mode": "standard", "total_max_attempts": total_max_attempts},
            read_timeout=30,
            connect_timeout=5,
        ),
    )

    def add(request, **_):
        request.headers["x-quotasim-input-tokens"] = "100"
        request.headers["x-quotasim-output-tokens"] = "1000"

    c.meta.events.register("before-sign.bedrock-runtime.*", add)
    attempts = []
    c.meta.events.register("before-send.bedrock-runtime.*", lambda **kw: attempts.append(1))
    return c, attempts


def stream_call(c):
    if OPERATION == "converse_stream":
        r = c.converse_stream(
            modelId=MODEL_ID,
            messages=[{"role": "user", "content": [{"text": "hello"}]}],
            inferenceConfig={"maxTokens": 1000},
        )
        return r["ResponseMetadata"]["HTTPStatusCode"], r["stream"]
    body = json.dumps(
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 1000,
            "messages": [{"role": "user", "content": "hello"}],
        }
    )
    r = c.invoke_model_with_response_stream(modelId=MODEL_ID, body=body)
    return r["ResponseMetadata"]["HTTPStatusCode"], r["body"]


def main():
    c, attempts = client()
    status, stream = stream_call(c)
    events, code, message = 0, None, None
    try:
        for _ in stream:
            events += 1
    except EventStreamError as e:
        code = e.response["Error"]["Code"]
        message = e.response["Error"]["Message"]
    out = {
        "status": status,
        "events_before_exception": events,
        "exception_code": code,
        "exception_message": message,
        "attempts_of_stream_call": len(attempts),
    }
    # The window is spent: the next call is a 429 with the hint.
    c2, _ = client(total_max_attempts=1)
    try:
        c2.converse(
            modelId=MODEL_ID,
            messages=[{"role": "user", "content": [{"text": "hello"}]}],
            inferenceConfig={"maxTokens": 1000},
        )
        out["second"] = "success"
    except ClientError as e:
        h = e.response["ResponseMetadata"]["HTTPHeaders"]
        out["second"] = e.response["Error"]["Code"]
        out["x_amz_retry_after"] = h.get("x-amz-retry-after")
        out["retry_after"] = h.get("retry-after")
    with urllib.request.urlopen(ENDPOINT + "/quotasim/report", timeout=10) as r:
        out["report"] = json.loads(r.read())
    print(json.dumps(out))


if __name__ == "__main__":
    main()

"""Drives `quotasim serve` with the real AWS SDK for Python (boto3/botocore).

Usage: client.py SCENARIO ENDPOINT MODEL_ID

Each scenario runs one kind of client traffic, checks what the client itself sees (exception
classes, messages, usage) and prints one JSON object with the counts it observed, which the
Rust test (tests/serve.rs) compares with the server's /quotasim/report. Any failed check
raises, so the script exits non-zero.
"""

import http.client
import json
import socket
import sys
import threading
import time
import urllib.request

import boto3
import botocore
from botocore.config import Config

SCENARIO, ENDPOINT, MODEL_ID = sys.argv[1], sys.argv[2], sys.argv[3]
HOST, PORT = ENDPOINT.replace("http://", "").split(":")
PORT = int(PORT)

TOO_MANY_TOKENS = "Too many tokens, please wait before trying again."
TOO_MANY_REQUESTS = "Too many requests, please wait before trying again."


def client(retries=None, headers=None):
    """A bedrock-runtime client aimed at the emulator, with fixed quotasim headers."""
    config = Config(
        retries=retries or {"mode": "standard", "total_max_attempts": 1},
        read_timeout=30,
        connect_timeout=5,
        max_pool_connections=32,
    )
    c = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=ENDPOINT,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=config,
    )
    if headers:

        def add(request, **_):
            for k, v in headers.items():
                request.headers[k] = str(v)

        c.meta.events.register("before-sign.bedrock-runtime.*", add)
    return c


def converse(c, text="hello", max_tokens=None):
    kw = {}
    if max_tokens is not None:
        kw["inferenceConfig"] = {"maxTokens": max_tokens}
    return c.converse(
        modelId=MODEL_ID,
        messages=[{"role": "user", "content": [{"text": text}]}],
        **kw,
    )


def anthropic_body(max_tokens, text="hello"):
    return json.dumps(
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": text}],
        }
    )


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def operations():
    """All four operations; usage as the headers fix it: I = 100, O = 50."""
    c = client(headers={"x-quotasim-input-tokens": 100, "x-quotasim-output-tokens": 50})
    seen = {"input": 0, "output": 0, "calls": 0, "truncated": 0}

    def saw(i, a, truncated):
        seen["input"] += i
        seen["output"] += a
        seen["calls"] += 1
        seen["truncated"] += int(truncated)

    # Converse: maxTokens 20 < 50 truncates.
    r = converse(c, max_tokens=20)
    u = r["usage"]
    check(u == {"inputTokens": 100, "outputTokens": 20, "totalTokens": 120}, f"converse usage {u}")
    check(r["stopReason"] == "max_tokens", r["stopReason"])
    check(r["output"]["message"]["role"] == "assistant", r["output"])
    check(len(r["output"]["message"]["content"][0]["text"]) == 80, "20 tokens of 4 characters")
    check(isinstance(r["metrics"]["latencyMs"], int), r["metrics"])
    saw(100, 20, True)

    # Converse without maxTokens: the model's maximum output, no truncation.
    r = converse(c)
    check(r["usage"]["outputTokens"] == 50 and r["stopReason"] == "end_turn", r["usage"])
    saw(100, 50, False)

    # InvokeModel: an Anthropic Messages response.
    r = c.invoke_model(modelId=MODEL_ID, body=anthropic_body(1000))
    b = json.loads(r["body"].read())
    check(b["type"] == "message" and b["role"] == "assistant", b)
    check(b["usage"]["input_tokens"] == 100 and b["usage"]["output_tokens"] == 50, b["usage"])
    check(b["stop_reason"] == "end_turn", b)
    check(r["contentType"] == "application/json", r["contentType"])
    saw(100, 50, False)

    # ConverseStream: every event parsed, the text adds up, metadata carries the usage.
    r = c.converse_stream(
        modelId=MODEL_ID,
        messages=[{"role": "user", "content": [{"text": "hello"}]}],
        inferenceConfig={"maxTokens": 30},
    )
    kinds, text, meta, stop = [], "", None, None
    for e in r["stream"]:
        (k,) = e.keys()
        kinds.append(k)
        if k == "contentBlockDelta":
            text += e[k]["delta"]["text"]
        elif k == "metadata":
            meta = e[k]
        elif k == "messageStop":
            stop = e[k]["stopReason"]
    check(kinds[0] == "messageStart" and kinds[-1] == "metadata", kinds)
    check(kinds[-3:-1] == ["contentBlockStop", "messageStop"], kinds)
    check(len(text) == 30 * 4, f"streamed {len(text)} characters")
    check(stop == "max_tokens", stop)
    check(
        meta["usage"] == {"inputTokens": 100, "outputTokens": 30, "totalTokens": 130},
        meta,
    )
    saw(100, 30, True)

    # InvokeModelWithResponseStream: Anthropic stream events inside `chunk` events.
    r = c.invoke_model_with_response_stream(modelId=MODEL_ID, body=anthropic_body(1000))
    types, text, final = [], "", None
    for e in r["body"]:
        ev = json.loads(e["chunk"]["bytes"])
        types.append(ev["type"])
        if ev["type"] == "content_block_delta":
            text += ev["delta"]["text"]
        if ev["type"] == "message_delta":
            final = ev["usage"]["output_tokens"]
        if ev["type"] == "message_stop":
            m = ev["amazon-bedrock-invocationMetrics"]
            check(m["inputTokenCount"] == 100 and m["outputTokenCount"] == 50, m)
    check(types[0] == "message_start" and types[-1] == "message_stop", types)
    check(final == 50 and len(text) == 200, (final, len(text)))
    saw(100, 50, False)

    # Without headers: the input is estimated from the text, ceil(characters / 4).
    plain = client()
    r = converse(plain, text="x" * 41, max_tokens=5)
    check(r["usage"]["inputTokens"] == 11, r["usage"])
    saw(11, r["usage"]["outputTokens"], r["stopReason"] == "max_tokens")
    return seen


def throttle():
    """Retries off: the throttle reaches the caller as botocore's ThrottlingException."""
    c = client(headers={"x-quotasim-input-tokens": 100, "x-quotasim-output-tokens": 10})
    out = {"succeeded": 0, "throttled_tokens": 0, "throttled_requests": 0}
    # TPM 3000, RPM 2. 1st: reserves 2100, settles to 100 + 5 × 10 = 150.
    converse(c, max_tokens=2000)
    out["succeeded"] += 1
    # 2nd: reserves 3000 on top of 150: the token limit refuses.
    try:
        converse(c, max_tokens=2900)
        raise AssertionError("expected a throttle")
    except c.exceptions.ThrottlingException as e:
        check(e.response["Error"]["Code"] == "ThrottlingException", e.response)
        check(e.response["Error"]["Message"] == TOO_MANY_TOKENS, e.response)
        check(e.response["ResponseMetadata"]["HTTPStatusCode"] == 429, e.response)
        check(e.response["ResponseMetadata"]["RetryAttempts"] == 0, e.response)
        check(isinstance(e, botocore.exceptions.ClientError), type(e))
        out["throttled_tokens"] += 1
    # 3rd: fits (the second request of the minute).
    converse(c, max_tokens=100)
    out["succeeded"] += 1
    # 4th: the requests-per-minute limit refuses.
    try:
        converse(c, max_tokens=100)
        raise AssertionError("expected a throttle")
    except c.exceptions.ThrottlingException as e:
        check(e.response["Error"]["Message"] == TOO_MANY_REQUESTS, e.response)
        out["throttled_requests"] += 1
    # A streaming call is refused the same way, before its stream starts.
    try:
        c.converse_stream(
            modelId=MODEL_ID,
            messages=[{"role": "user", "content": [{"text": "hello"}]}],
            inferenceConfig={"maxTokens": 100},
        )
        raise AssertionError("expected a throttle")
    except c.exceptions.ThrottlingException as e:
        check(e.response["Error"]["Message"] == TOO_MANY_REQUESTS, e.response)
        out["throttled_requests"] += 1
    return out


def faults():
    """Retries off, error_rate 0.9: 503s reach the caller as ServiceUnavailableException."""
    c = client(headers={"x-quotasim-input-tokens": 10, "x-quotasim-output-tokens": 5})
    out = {"calls": 0, "succeeded": 0, "unavailable": 0}
    for _ in range(20):
        out["calls"] += 1
        try:
            converse(c, max_tokens=100)
            out["succeeded"] += 1
        except c.exceptions.ServiceUnavailableException as e:
            check(e.response["ResponseMetadata"]["HTTPStatusCode"] == 503, e.response)
            check(e.response["Error"]["Code"] == "ServiceUnavailableException", e.response)
            out["unavailable"] += 1
    check(out["unavailable"] > 0, out)
    return out


def retries():
    """16 threads, botocore's standard retry mode, one client (as an application would)."""
    c = client(
        retries={"mode": "standard", "total_max_attempts": 3},
        headers={"x-quotasim-input-tokens": 200, "x-quotasim-output-tokens": 20},
    )
    lock = threading.Lock()
    out = {"calls": 0, "succeeded": 0, "failed": 0, "attempts": 0, "output": 0,
           "failed_throttled": 0, "failed_server_error": 0}

    def worker():
        for _ in range(6):
            try:
                r = converse(c, max_tokens=1000)
                with lock:
                    out["calls"] += 1
                    out["succeeded"] += 1
                    out["attempts"] += r["ResponseMetadata"]["RetryAttempts"] + 1
                    out["output"] += r["usage"]["outputTokens"]
            except botocore.exceptions.ClientError as e:
                code = e.response["Error"]["Code"]
                check(code in ("ThrottlingException", "ServiceUnavailableException"), code)
                with lock:
                    out["calls"] += 1
                    out["failed"] += 1
                    out["attempts"] += e.response["ResponseMetadata"]["RetryAttempts"] + 1
                    if code == "ThrottlingException":
                        out["failed_throttled"] += 1
                    else:
                        out["failed_server_error"] += 1

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(out["calls"] == 96, out)
    return out


def raw(method, path, body=b"", headers=None):
    conn = http.client.HTTPConnection(HOST, PORT, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, dict(r.getheaders()), data


def malformed():
    """Bad requests of every kind, sent while good calls run; the good ones are unaffected."""
    good = client(headers={"x-quotasim-input-tokens": 10, "x-quotasim-output-tokens": 5})
    out = {"good": 0, "bad": 0, "good_max_seconds": 0.0}
    stop = threading.Event()
    errors = []

    def good_calls():
        while not stop.is_set():
            t = time.monotonic()
            try:
                r = converse(good, max_tokens=100)
                check(r["usage"]["outputTokens"] == 5, r["usage"])
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
                return
            took = time.monotonic() - t
            with lock:
                out["good"] += 1
                out["good_max_seconds"] = max(out["good_max_seconds"], took)

    lock = threading.Lock()
    # Slow clients first: they hold connections open without finishing their headers.
    slow = []
    for _ in range(5):
        s = socket.create_connection((HOST, PORT))
        s.sendall(b"POST /model/x/converse HTTP/1.1\r\nHost: x\r\nContent-Len")
        slow.append(s)
    workers = [threading.Thread(target=good_calls) for _ in range(4)]
    for w in workers:
        w.start()

    path = "/model/" + MODEL_ID.replace(":", "%3A")
    bad = [
        ("POST", path + "/converse", b"{not json", 400, "ValidationException"),
        ("POST", path + "/converse", b'{"inferenceConfig":{"maxTokens":5}}', 400, "ValidationException"),
        ("POST", path + "/invoke", b'{"messages":[]}', 400, "ValidationException"),
        ("POST", path + "/invoke", b"[1,2,3]", 400, "ValidationException"),
        ("POST", "/model/no.such.model/converse", b'{"messages":[]}', 400, "ValidationException"),
    ]
    for _ in range(3):
        for method, p, body, status, code in bad:
            st, hdrs, data = raw(method, p, body, {"Content-Type": "application/json"})
            check(st == status, (p, body[:40], st, data[:200]))
            if code:
                lower = {k.lower(): v for k, v in hdrs.items()}
                check(lower["x-amzn-errortype"].split(":")[0] == code, hdrs)
                check("message" in json.loads(data), data)
            out["bad"] += 1
    # An oversized body is refused from its Content-Length, before it is read.
    for _ in range(3):
        s = socket.create_connection((HOST, PORT), timeout=10)
        s.sendall(
            f"POST {path}/converse HTTP/1.1\r\nHost: x\r\nContent-Length: {64 << 20}\r\n\r\n".encode()
            + b"x" * 1000
        )
        status = s.recv(200).split(b"\r\n")[0]
        s.close()
        check(status.startswith(b"HTTP/1.1 413"), status)
        out["bad"] += 1
    # The SDK sees the same errors as its own exception classes.
    try:
        good.invoke_model(modelId=MODEL_ID, body='{"messages": []}')
        raise AssertionError("expected a ValidationException")
    except good.exceptions.ValidationException as e:
        check("max_tokens" in e.response["Error"]["Message"], e.response)
        out["bad"] += 1
    try:
        good.converse(modelId="anthropic.not-a-model", messages=[])
        raise AssertionError("expected a ValidationException")
    except good.exceptions.ValidationException:
        out["bad"] += 1
    time.sleep(0.5)
    stop.set()
    for w in workers:
        w.join()
    for s in slow:
        s.close()
    check(not errors, errors)
    check(out["good"] >= 4, out)
    return out


def pools():
    """Two pools picked by the model ID: on a throttle from the in-Region pool (MODEL_ID, a
    `us.` ID) the application falls back to the global profile (`global.` ID)."""
    c = client(headers={"x-quotasim-input-tokens": 100, "x-quotasim-output-tokens": 100})
    bare = MODEL_ID.split(".", 1)[1]
    out = {"calls": 0, "region": 0, "global": 0, "throttled": 0}

    def call(model):
        out["calls"] += 1
        return c.converse(
            modelId=model,
            messages=[{"role": "user", "content": [{"text": "hello"}]}],
            inferenceConfig={"maxTokens": 1000},
        )

    for _ in range(6):
        try:
            call(MODEL_ID)
            out["region"] += 1
        except c.exceptions.ThrottlingException as e:
            check(e.response["Error"]["Message"] == TOO_MANY_TOKENS, e.response)
            out["throttled"] += 1
            r = call("global." + bare)
            check(r["usage"]["outputTokens"] == 100, r["usage"])
            out["global"] += 1
    return out


def report():
    with urllib.request.urlopen(ENDPOINT + "/quotasim/report", timeout=10) as r:
        return json.loads(r.read())


if __name__ == "__main__":
    result = {"operations": operations, "throttle": throttle, "faults": faults,
              "retries": retries, "malformed": malformed, "pools": pools}[SCENARIO]()
    result["report"] = report()
    print(json.dumps(result))

"""The pytest plugin: quotasim_bedrock serves boto3 calls, its report counts them, and the
server stops at teardown even when the test fails."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from botocore.config import Config

import quotasim

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"

# Two requests per quota minute, tokens plentiful; no service time, so counts are exact.
SCENARIO = """
name = "plugin-test"
duration = "1m"
[model]
preset = "claude-sonnet-4-5"
[quota]
tokens_per_minute = 10000000
requests_per_minute = 2
[service]
ttft = "0s"
ttft_per_1k_input = "0s"
output_tokens_per_second = 100000
throttle_latency = "0s"
[arrivals]
process = "constant"
rate_per_minute = 1
[requests.chat]
input_tokens = 100
output_tokens = 10
"""

NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


def converse(client):
    return client.converse(
        modelId=MODEL,
        messages=[{"role": "user", "content": [{"text": "hello"}]}],
        inferenceConfig={"maxTokens": 64},
    )


def test_the_fixture_serves_boto3_and_its_report_counts_the_calls(quotasim_bedrock):
    server = quotasim_bedrock(SCENARIO, time_scale=1.0)
    assert server.endpoint_url.startswith("http://127.0.0.1:")
    client = server.boto3_client(config=NO_RETRIES)
    first, second = converse(client), converse(client)
    # The output length is the class's 10 tokens (under maxTokens 64).
    assert first["usage"]["outputTokens"] == 10
    assert second["usage"]["outputTokens"] == 10
    with pytest.raises(client.exceptions.ThrottlingException) as info:
        converse(client)
    assert "Too many requests, please wait before trying again." in str(info.value)

    report = server.report()
    assert report["requests"]["arrived"] == 3
    assert report["requests"]["succeeded"] == 2
    assert report["requests"]["failed"] == 1
    assert report["attempts"]["sent"] == 3
    assert report["attempts"]["admitted"] == 2
    assert report["attempts"]["throttled"] == 1
    assert report["attempts"]["throttled_by"]["requests_per_minute"] == 1
    assert report["tokens"]["output"] == 20
    # The live report is what GET /quotasim/report returns.
    with urllib.request.urlopen(server.endpoint_url + "/quotasim/report", timeout=10) as r:
        http = json.load(r)
    assert http["requests"] == report["requests"]
    assert http["attempts"] == report["attempts"]


def test_overrides_are_keyword_arguments(quotasim_bedrock):
    # requests_per_minute 1 instead of 2: the second call is throttled.
    server = quotasim_bedrock(SCENARIO, time_scale=1.0, quota__requests_per_minute=1)
    client = server.boto3_client(config=NO_RETRIES)
    converse(client)
    with pytest.raises(client.exceptions.ThrottlingException):
        converse(client)
    assert server.report()["attempts"]["throttled"] == 1


def test_an_invalid_override_raises_before_serving(quotasim_bedrock):
    with pytest.raises(quotasim.OverrideError):
        quotasim_bedrock(SCENARIO, quota__requests_per_minute="often")


def test_the_server_stops_at_teardown_even_when_the_test_fails(pytester, tmp_path):
    record = tmp_path / "endpoint.txt"
    pytester.makepyfile(
        f"""
        def test_fails(quotasim_bedrock):
            server = quotasim_bedrock({SCENARIO!r}, time_scale=10)
            open({str(record)!r}, "w").write(server.endpoint_url)
            assert False, "this test fails on purpose"
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    endpoint = record.read_text()
    assert endpoint.startswith("http://127.0.0.1:")
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(endpoint + "/quotasim/report", timeout=5)


def test_serve_as_a_context_manager_returns_the_final_report():
    with quotasim.serve(SCENARIO) as server:
        converse(server.boto3_client(config=NO_RETRIES))
    assert not server.running
    final = server.report()
    assert final["requests"]["succeeded"] == 1
    assert server.stop() is None

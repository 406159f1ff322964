# The example of docs/guide/python.md: a small app's retry logic, tested against the
# emulator with the quotasim_bedrock fixture (pip install quotasim boto3 pytest).
import time

from botocore.config import Config

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def ask(client, prompt, attempts=6, first_wait=0.5):
    """The app's call: Converse, and on a throttle wait (0.5 s, 1 s, 2 s, ...) and retry."""
    for attempt in range(attempts):
        try:
            response = client.converse(
                modelId=MODEL,
                messages=[{"role": "user", "content": [{"text": prompt}]}],
                inferenceConfig={"maxTokens": 256},
            )
            return response["output"]["message"]["content"][0]["text"]
        except client.exceptions.ThrottlingException:
            if attempt == attempts - 1:
                raise
            time.sleep(first_wait * 2**attempt)


SCENARIO = """
name = "two-requests-a-minute"
duration = "1m"
[model]
preset = "claude-sonnet-4-5"
[quota]
tokens_per_minute = 1000000
requests_per_minute = 2
[arrivals]
process = "constant"
rate_per_minute = 1
[requests.chat]
input_tokens = 50
output_tokens = 20
"""


def test_ask_waits_out_throttles(quotasim_bedrock):
    # A quota minute lasts 60 / 20 = 3 s of wall-clock time.
    server = quotasim_bedrock(SCENARIO, time_scale=20)
    # The SDK's own retries off, so that only the app's retry logic is tested.
    client = server.boto3_client(config=Config(retries={"total_max_attempts": 1}))

    answers = [ask(client, f"question {i}") for i in range(3)]

    assert len(answers) == 3
    report = server.report()
    # The third question was throttled at least once and then got through.
    assert report["attempts"]["throttled_by"]["requests_per_minute"] >= 1
    # Each call of the app is its own request: every throttled one failed, then the app's
    # next call succeeded; three succeeded in all.
    assert report["requests"]["succeeded"] == 3
    assert report["requests"]["failed"] == report["attempts"]["throttled"]

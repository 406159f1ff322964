//! `quotasim serve` ends a stream the way Bedrock does when the quota refuses it mid-way,
//! and sends retry hints on 429s, checked with the real AWS SDK for Python
//! (`tests/serve/stream_client.py`, boto3/botocore 1.44.8).
//!
//! The quota: Claude Sonnet 4.5 (5 quota tokens per output token), 2,000 tokens per minute,
//! settled while streaming, `mid_stream_throttle` and `retry_after` on. A call with input 100
//! and max_tokens 1,000 reserves 1,100 and is admitted; its 1,000 output tokens would cost
//! 100 + 5,000. The growth past the reservation is offered at each tick and refused once
//! 100 + 5 × g > 2,000, at g ≈ 380 tokens: the stream ends with a `throttlingException`
//! event, which botocore raises while the application reads (`EventStreamError`), without
//! retrying. The next call needs 1,100 of a spent window: a 429 whose hint is the time to the
//! next minute.
//!
//! The interpreter is `$QUOTASIM_PYTHON`, else `.venv/bin/python` (made by `.ci/run`). Without
//! it the tests are ignored (with the reason), except under `CI`, where they run and fail
//! (see tests/common/mod.rs).

use std::path::PathBuf;
use std::process::Command;

mod common;

use common::{Served, python};
use serde_json::Value;

const SONNET_45: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";

const SCENARIO: &str = r#"
name = "serve-mid-stream"
duration = "1m"
[model]
preset = "claude-sonnet-4-5"
[quota]
tokens_per_minute = 2000
settle = "streaming"
mid_stream_throttle = true
retry_after = true
[service]
ttft = "0s"
ttft_per_1k_input = "0s"
output_tokens_per_second = 2000
throttle_latency = "0s"
[arrivals]
process = "constant"
rate_per_minute = 1
[requests.chat]
input_tokens = 100
output_tokens = 1000
"#;

fn drive(py: &PathBuf, operation: &str) -> Value {
    let served = Served::start(SCENARIO, &[]);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/serve/stream_client.py");
    let out = Command::new(py)
        .arg(script)
        .args([operation, &served.endpoint, SONNET_45])
        .output()
        .expect("run stream_client.py");
    assert!(
        out.status.success(),
        "stream_client.py {operation} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

fn check(v: &Value) {
    assert_eq!(v["status"], 200, "the stream answered HTTP 200 first: {v}");
    assert!(
        v["events_before_exception"].as_u64().unwrap_or(0) >= 2,
        "text arrived before the exception: {v}"
    );
    assert_eq!(v["exception_code"], "throttlingException", "{v}");
    assert_eq!(
        v["attempts_of_stream_call"], 1,
        "botocore does not retry it: {v}"
    );
    let r = &v["report"];
    assert_eq!(r["attempts"]["throttled_mid_stream"], 1, "{r}");
    assert_eq!(r["requests"]["failed_by"]["throttled"], 2, "{r}");
    // The quota kept what it charged: 100 + 5 × g ≤ 2,000 with g the last accepted tick.
    let charged = r["timeline"][0]["quota_charged"].as_i64().unwrap_or(0);
    assert!((1100..=2000).contains(&charged), "{charged}");
    // The 429's hint: the rest of the first minute, whole seconds, in both headers.
    assert_eq!(v["second"], "ThrottlingException", "{v}");
    let s: u64 = v["retry_after"]
        .as_str()
        .expect("retry-after")
        .parse()
        .expect("seconds");
    let ms: u64 = v["x_amz_retry_after"]
        .as_str()
        .expect("x-amz-retry-after")
        .parse()
        .expect("milliseconds");
    assert!((1..=60).contains(&s), "{s}");
    assert_eq!(ms, s * 1000);
}

#[test]
#[cfg_attr(
    not(any(has_venv, ci)),
    ignore = "needs .venv/bin/python with the pinned SDKs (run .ci/run or set QUOTASIM_PYTHON)"
)]
fn converse_stream_ends_with_throttling_exception_that_botocore_raises_while_reading() {
    let py = python();
    check(&drive(&py, "converse_stream"));
}

#[test]
#[cfg_attr(
    not(any(has_venv, ci)),
    ignore = "needs .venv/bin/python with the pinned SDKs (run .ci/run or set QUOTASIM_PYTHON)"
)]
fn invoke_model_with_response_stream_ends_the_same_way() {
    let py = python();
    check(&drive(&py, "invoke_model_with_response_stream"));
}

//! `quotasim serve` driven by real SDKs in their default configurations: the AWS SDK for
//! JavaScript v3 (HTTP/2 without TLS), the Anthropic SDK for Python (`AnthropicBedrock` on
//! the invoke paths, `AnthropicBedrockMantle` on the Messages-API path) and boto3 reading a
//! stream that serve ends with a throttle. Each client script prints what it saw; the
//! expected values come from the scenario (fixed token counts), from the documented
//! 4-characters-per-token answer text, and from the SDKs' documented behaviour.
//!
//! Python: `$QUOTASIM_PYTHON`, else `.venv/bin/python` with boto3 and anthropic (made by
//! `.ci/run` from tests/python/requirements.txt). Node: `node`, with
//! @aws-sdk/client-bedrock-runtime installed in tests/js by `.ci/run`. Without them a test is
//! ignored (cargo test lists it with the reason) locally, and runs and fails when `CI` is set
//! (see tests/common/mod.rs).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

mod common;

use common::{Served, node_sdk, python, u};

/// A global cross-Region profile of Claude Sonnet 4.5 (list price, no regional premium).
const MODEL: &str = "global.anthropic.claude-sonnet-4-5-20250929-v1:0";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl Served {
    /// Runs `program args… ENDPOINT MODEL` in `dir`; its JSON output.
    fn run(&self, program: &Path, dir: &Path, args: &[&str]) -> Value {
        let out = Command::new(program)
            .current_dir(dir)
            .args(args)
            .args([self.endpoint.as_str(), MODEL])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{} {args:?} failed:\n{}\n{}",
            program.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&out.stdout));
        })
    }

    fn py(&self, py: &Path, mode: &str) -> Value {
        let script = root().join("tests/serve/sdks.py");
        self.run(py, &root(), &[script.to_str().unwrap(), mode])
    }

    /// SIGTERM; the final report (the server must exit cleanly).
    fn stop_ok(self) -> Value {
        let (status, report) = self.stop("-TERM");
        assert!(status.success());
        report
    }
}

/// Every answer is 30 output tokens (fixed by the class), well under the clients'
/// `max_tokens` of 200; the quota is ample unless `tpm` says otherwise.
fn scenario(tpm: u64) -> String {
    format!(
        r#"
name = "sdk-clients"
duration = "1m"
[model]
preset = "claude-sonnet-4-5"
[quota]
tokens_per_minute = {tpm}
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
output_tokens = 30
"#
    )
}

/// "Count to ten." is 13 characters: ceil(13 / 4) = 4 input tokens by serve's estimate.
const PROMPT_TOKENS: u64 = 4;

#[test]
#[cfg_attr(
    not(any(has_node_sdk, ci)),
    ignore = "needs node and @aws-sdk/client-bedrock-runtime in tests/js (run .ci/run)"
)]
fn the_aws_sdk_for_javascript_in_its_default_configuration_speaks_http2_to_serve() {
    let dir = node_sdk();
    let served = Served::start(&scenario(1_000_000), &[]);
    let saw = served.run(Path::new("node"), &dir, &["bedrock_client.js"]);
    // The client's own default handler (none was given): HTTP/2 only.
    assert_eq!(saw["handler"], "NodeHttp2Handler", "{saw}");
    assert_eq!(u(&saw, "/invoke/usage/output_tokens"), 30, "{saw}");
    assert_eq!(u(&saw, "/invoke/usage/input_tokens"), PROMPT_TOKENS);
    assert_eq!(u(&saw, "/invoke/text_chars"), 4 * 30);
    assert_eq!(saw["invoke"]["stop_reason"], "end_turn");
    assert_eq!(u(&saw, "/converse_stream/usage/outputTokens"), 30, "{saw}");
    assert_eq!(u(&saw, "/converse_stream/text_chars"), 4 * 30);
    assert_eq!(u(&saw, "/invoke_stream/output_tokens"), 30, "{saw}");
    // The stream ended by a throttle after 5 tokens: the SDK raises the modelled
    // ThrottlingException while reading, after the 5 tokens' text arrived.
    assert_eq!(saw["mid_stream"]["error"], "ThrottlingException", "{saw}");
    assert_eq!(u(&saw, "/mid_stream/text_chars"), 4 * 5);
    let r = served.stop_ok();
    // Four calls, every one over HTTP/2.
    assert_eq!(u(&r, "/serve/http_calls/http2"), 4, "{}", r["serve"]);
    assert_eq!(u(&r, "/serve/http_calls/http1"), 0);
    assert_eq!(u(&r, "/requests/arrived"), 4);
    assert_eq!(u(&r, "/requests/succeeded"), 3);
    assert_eq!(u(&r, "/attempts/throttled_mid_stream"), 1);
}

#[test]
#[cfg_attr(
    not(any(has_venv, ci)),
    ignore = "needs .venv/bin/python with boto3 and anthropic (run .ci/run or set QUOTASIM_PYTHON)"
)]
fn botocore_raises_event_stream_error_with_throttling_exception_while_reading() {
    let py = python();
    let served = Served::start(&scenario(1_000_000), &[]);
    let saw = served.py(&py, "boto3-mid-stream");
    for op in ["converse_stream", "invoke_stream"] {
        let s = &saw[op];
        // HTTP 200 first: the throttle comes inside the stream, outside botocore's retries.
        assert_eq!(s["status"], 200, "{saw}");
        assert_eq!(s["raised"], "EventStreamError", "{saw}");
        assert_eq!(s["code"], "throttlingException");
        assert_eq!(
            s["message"],
            "Too many tokens, please wait before trying again."
        );
        // The 7 tokens before the throttle were delivered.
        assert_eq!(s["text_chars"], 4 * 7);
    }
    let r = served.stop_ok();
    // One attempt each, not retried (botocore does not retry what it raises while reading).
    assert_eq!(u(&r, "/attempts/sent"), 2);
    assert_eq!(u(&r, "/attempts/throttled_mid_stream"), 2);
    assert_eq!(u(&r, "/requests/failed_by/throttled"), 2);
    assert_eq!(u(&r, "/requests/succeeded"), 0);
    // Billed and charged for what was delivered: 7 output tokens each; the quota at
    // Sonnet 4.5's 5x output burndown: 4 + 5 x 7 = 39 each.
    assert_eq!(u(&r, "/serve/throttled_mid_stream/output_tokens"), 14);
    assert_eq!(u(&r, "/serve/throttled_mid_stream/quota_consumed"), 78);
    // $3 and $15 per million input and output tokens (Anthropic's and AWS's price pages).
    let usd = r["cost"]["usd"].as_f64().unwrap();
    let expected = (2.0 * PROMPT_TOKENS as f64 * 3.0 + 14.0 * 15.0) / 1e6;
    assert!((usd - expected).abs() < 1e-12, "{usd} vs {expected}");
}

fn check_three_calls(saw: &Value, client: &str, throttle_type: &str) {
    assert_eq!(saw["client"], client, "{saw}");
    assert_eq!(u(saw, "/create/output_tokens"), 30, "{saw}");
    assert_eq!(u(saw, "/create/input_tokens"), PROMPT_TOKENS);
    assert_eq!(u(saw, "/create/text_chars"), 4 * 30);
    assert_eq!(saw["create"]["stop_reason"], "end_turn");
    assert_eq!(saw["stream"]["first"], "message_start", "{saw}");
    assert_eq!(saw["stream"]["last"], "message_stop");
    assert_eq!(u(saw, "/stream/output_tokens"), 30);
    assert_eq!(u(saw, "/stream/text_chars"), 4 * 30);
    assert_eq!(saw["mid_stream"]["raised"], "APIStatusError", "{saw}");
    assert_eq!(saw["mid_stream"]["error_type"], throttle_type);
    assert_eq!(u(saw, "/mid_stream/text_chars"), 4 * 7);
}

#[test]
#[cfg_attr(
    not(any(has_venv, ci)),
    ignore = "needs .venv/bin/python with boto3 and anthropic (run .ci/run or set QUOTASIM_PYTHON)"
)]
fn anthropic_bedrock_calls_the_invoke_paths() {
    let py = python();
    let served = Served::start(&scenario(1_000_000), &[]);
    let saw = served.py(&py, "anthropic-bedrock");
    // The SDK turns Bedrock's exception event into an `error` event of that type.
    check_three_calls(&saw, "AnthropicBedrock", "throttlingException");
    let r = served.stop_ok();
    assert_eq!(u(&r, "/requests/arrived"), 3);
    assert_eq!(u(&r, "/requests/succeeded"), 2);
    assert_eq!(u(&r, "/attempts/throttled_mid_stream"), 1);
    assert_eq!(u(&r, "/serve/invalid_requests"), 0);
}

#[test]
#[cfg_attr(
    not(any(has_venv, ci)),
    ignore = "needs .venv/bin/python with boto3 and anthropic (run .ci/run or set QUOTASIM_PYTHON)"
)]
fn anthropic_bedrock_mantle_calls_the_messages_api_path_with_server_sent_events() {
    let py = python();
    let served = Served::start(&scenario(1_000_000), &[]);
    let saw = served.py(&py, "anthropic-mantle");
    check_three_calls(&saw, "AnthropicBedrockMantle", "rate_limit_error");
    let r = served.stop_ok();
    assert_eq!(u(&r, "/requests/arrived"), 3);
    assert_eq!(u(&r, "/requests/succeeded"), 2);
    assert_eq!(u(&r, "/attempts/throttled_mid_stream"), 1);
    // 30 + 30 + 7 output tokens at 5x, 3 x 4 input tokens.
    assert_eq!(
        u(&r, "/tokens/quota_consumed") + u(&r, "/serve/throttled_mid_stream/quota_consumed"),
        3 * PROMPT_TOKENS + 5 * (30 + 30 + 7)
    );
}

#[test]
#[cfg_attr(
    not(any(has_venv, ci)),
    ignore = "needs .venv/bin/python with boto3 and anthropic (run .ci/run or set QUOTASIM_PYTHON)"
)]
fn the_anthropic_sdks_own_retries_are_one_request() {
    let py = python();
    // 100 tokens per minute: every call reserves 4 + 200 and is refused.
    let served = Served::start(&scenario(100), &[]);
    let saw = served.py(&py, "anthropic-retries");
    // anthropic-sdk-python's DEFAULT_MAX_RETRIES is 2: three attempts, then the 429.
    assert_eq!(saw["max_retries"], 2, "{saw}");
    assert_eq!(saw["raised"], "RateLimitError", "{saw}");
    let r = served.stop_ok();
    assert_eq!(u(&r, "/attempts/sent"), 3, "{}", r["attempts"]);
    assert_eq!(u(&r, "/attempts/throttled"), 3);
    assert_eq!(u(&r, "/requests/arrived"), 1, "{}", r["requests"]);
    assert_eq!(u(&r, "/requests/failed_by/throttled"), 1);
    assert_eq!(u(&r, "/attempts/per_request/3"), 1);
}

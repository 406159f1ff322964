//! Throttles inside a stream and retry hints, on runs small enough to follow by hand
//! (docs/guide/streams-and-agents.md, docs/retries.md "Retry hints").

use quotasim::{Scenario, simulate};

/// One request at t = 0: input 100, output 300 = max_tokens, a model burning 5 quota tokens
/// per output token, a fixed-window limit of 1,000 per minute, no TTFT, 100 output tokens a
/// second, settled every second while it streams.
///
/// Reservation R = 100 + 300 = 400; the final cost would be 100 + 5 × 300 = 1,600.
/// Tick at 1 s: 100 tokens, charge max(400, 100 + 500) = 600 (used 600 ≤ 1,000: offered and
/// taken). Tick at 2 s: 200 tokens would charge 1,100, 500 more: 600 + 500 > 1,000, refused.
/// The stream ends at 2 s with 100 output tokens delivered, and the quota keeps 600.
fn one_stream(extra_quota: &str, client: &str, class_stream: &str) -> String {
    format!(
        r#"
name = "one-stream"
seed = 1
duration = "1s"
[model]
preset = "other"
input_burndown = 1
output_burndown = 5
max_output_tokens = 300
prices = {{ input = 1000000, output = 1000000, cache_write = 0, cache_read = 0 }}
[quota]
tokens_per_minute = 1000
settle = "streaming"
settle_interval = "1s"
{extra_quota}
[service]
ttft = "0ms"
ttft_per_1k_input = "0ms"
output_tokens_per_second = 100
throttle_latency = "100ms"
[client]
max_tokens = 300
{client}
[arrivals]
process = "constant"
rate_per_minute = 1
[requests.a]
input_tokens = 100
output_tokens = 300
{class_stream}
"#
    )
}

fn run(toml: &str) -> serde_json::Value {
    let s = Scenario::from_toml_str(toml, "case.toml").expect("valid scenario");
    serde_json::to_value(simulate(&s)).expect("report as JSON")
}

#[test]
fn a_refused_tick_ends_the_stream_with_what_was_charged() {
    let r = run(&one_stream(
        "mid_stream_throttle = true",
        "retry = \"aws-standard\"",
        "stream = true",
    ));
    assert_eq!(r["attempts"]["throttled_mid_stream"], 1);
    assert_eq!(r["attempts"]["admitted"], 1);
    assert_eq!(r["attempts"]["sent"], 1, "botocore does not retry it");
    assert_eq!(r["requests"]["failed"], 1);
    assert_eq!(r["requests"]["failed_by"]["throttled"], 1);
    // The quota keeps 600: 400 at admission, 200 at the first tick, nothing given back.
    assert_eq!(r["timeline"][0]["quota_charged"], 600);
    // The 100 input and 100 output tokens delivered are billed, at $1 per token each.
    assert_eq!(r["cost"]["usd"], 200.0, "{}", r["cost"]);
}

#[test]
fn without_stream_or_without_the_key_the_answer_completes() {
    for (quota, stream) in [("mid_stream_throttle = true", ""), ("", "stream = true")] {
        let r = run(&one_stream(quota, "retry = \"aws-standard\"", stream));
        assert_eq!(r["requests"]["succeeded"], 1, "{quota} {stream}");
        // The whole cost lands: 1,600 in the first minute, past the limit.
        assert_eq!(r["timeline"][0]["quota_charged"], 1600);
        assert_eq!(
            r["attempts"].get("throttled_mid_stream").is_some(),
            !quota.is_empty(),
            "the key appears only with quota.mid_stream_throttle"
        );
    }
}

#[test]
fn retry_mid_stream_retries_the_whole_stream() {
    // A fixed 60 s sleep: the retry starts at 62 s in a fresh window and is cut the same way
    // at 64 s; with 2 attempts allowed the request then fails.
    let client =
        "retry = { mode = \"fixed\", delay = \"60s\", max_attempts = 2 }\nretry_mid_stream = true";
    let r = run(&one_stream(
        "mid_stream_throttle = true",
        client,
        "stream = true",
    ));
    assert_eq!(r["attempts"]["sent"], 2);
    assert_eq!(r["attempts"]["throttled_mid_stream"], 2);
    assert_eq!(r["requests"]["failed"], 1);
    assert_eq!(r["timeline"][1]["quota_charged"], 600);
    assert_eq!(r["cost"]["usd"], 400.0, "{}", r["cost"]);
    // strands-agents retries it by default (its agent loop catches `throttlingException`)
    // with a new model call 4, 8, 16, 32, 64 s later, each a botocore call of up to 3
    // attempts (sleeps U × 1 s and U × 2 s, plus 0.1 s per throttle):
    // call 2 at 6 s: 600 + 400 = 1,000 fits; cut at 7 s (200 more refused), nothing
    //   delivered, the quota keeps its 400: minute 0 holds 1,000;
    // call 3 at 15 s and call 4 at 31.3–34.3 s: 3 throttles each (the window is full);
    // call 5 at 63.6–69.6 s (minute 1) and call 6 64 s after it (minute 2): admitted, cut
    //   2 s later at 600 each. Six calls: the request fails.
    let r = run(&one_stream(
        "mid_stream_throttle = true",
        "retry = \"strands\"",
        "stream = true",
    ));
    assert_eq!(r["attempts"]["sent"], 10, "{}", r["attempts"]);
    assert_eq!(r["attempts"]["admitted"], 4);
    assert_eq!(r["attempts"]["throttled_mid_stream"], 4);
    assert_eq!(r["attempts"]["throttled"], 6);
    assert_eq!(r["requests"]["failed"], 1);
    let charged: Vec<i64> = (0..3)
        .map(|m| r["timeline"][m]["quota_charged"].as_i64().unwrap())
        .collect();
    assert_eq!(charged, [1000, 600, 600]);
}

/// Two requests 10 s apart, each reserving 100 + 500 = 600 of a 1,000-per-minute fixed
/// window and streaming 100 tokens at 1 a second (the first holds its 600 until 100 s): the
/// second is throttled at 10 s, and the window turns at 60 s, 50 s later.
fn two_requests(quota: &str, client: &str) -> String {
    format!(
        r#"
name = "hint"
seed = 1
duration = "20s"
[model]
preset = "other"
[quota]
tokens_per_minute = 1000
{quota}
[service]
ttft = "0ms"
ttft_per_1k_input = "0ms"
output_tokens_per_second = 1
throttle_latency = "100ms"
[client]
max_tokens = 500
{client}
[arrivals]
process = "constant"
rate_per_minute = 6
[requests.a]
input_tokens = 100
output_tokens = 100
"#
    )
}

#[test]
fn sdks_that_honour_retry_after_sleep_exactly_the_hint() {
    for sdk in ["anthropic-sdk", "openai-sdk"] {
        let r = run(&two_requests(
            "retry_after = true",
            &format!("retry = \"{sdk}\""),
        ));
        assert_eq!(r["requests"]["succeeded"], 2, "{sdk}");
        assert_eq!(r["attempts"]["throttled"], 1, "{sdk}");
        assert_eq!(r["client"]["backoff_seconds"], 50.0, "{sdk}");
        // Without hints they back off 0.5 × (1 − 0.25 U) s, at most 0.5 s.
        let r = run(&two_requests("", &format!("retry = \"{sdk}\"")));
        assert!(r["client"]["backoff_seconds"].as_f64().unwrap() <= 1.0 + 2.0 + 1e-9);
    }
}

#[test]
fn botocore_raises_its_backoff_by_at_most_five_seconds() {
    // t_1 = U × 1 s; with the 50 s hint the sleep is t_1 + 5 s: still inside the window, so
    // the second attempt is throttled too and the request fails after 3 attempts. Without
    // the 2026 behaviour the sleeps are t_1 and t_2 alone.
    let r = run(&two_requests(
        "retry_after = true",
        "retry = \"aws-standard\"",
    ));
    let b = r["client"]["backoff_seconds"].as_f64().unwrap();
    assert_eq!(
        r["attempts"]["throttled"], 3,
        "all 3 attempts inside the window"
    );
    assert!((10.0..=13.0).contains(&b), "two sleeps of t_i + 5 s: {b}");
    let r = run(&two_requests(
        "retry_after = true",
        "retry = \"aws-standard\"\nnew_retries_2026 = false",
    ));
    let b = r["client"]["backoff_seconds"].as_f64().unwrap();
    assert!(b <= 3.0, "U × 1 + U × 2 s: {b}");
}

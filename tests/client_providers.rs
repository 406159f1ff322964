//! Deterministic, hand-derived tests of the provider presets, streaming settlement,
//! client pacing, `client.timeout` and aws-adaptive (issue 4).

use quotasim::{Report, Scenario, simulate};

mod common;

use common::qs;

/// A scenario with zero ttft and prefill and 100 output tokens/s, so that an attempt of A
/// output tokens takes exactly A / 100 s; no retries unless `client` says otherwise.
fn run(quota: &str, client: &str, extra: &str) -> Report {
    let text = format!(
        r#"
duration = "2m"
[model]
preset = "other"
[service]
ttft = "0s"
ttft_per_1k_input = "0s"
output_tokens_per_second = 100
[quota]
{quota}
[client]
retry = "none"
{client}
[arrivals]
process = "constant"
rate_per_minute = 10
{extra}
"#
    );
    let s = Scenario::from_toml_str(&text, "t.toml").unwrap();
    simulate(&s)
}

fn by_limit(r: &Report) -> Vec<(String, u64)> {
    r.attempts.throttled_by_limit.0.clone()
}

#[test]
fn bedrock_preset_is_the_short_form() {
    // Sonnet 4 (5x). R = 1000 + 1000 = 2000, C = 1000 + 5 × 300 = 2500 (overshoot 500 at
    // completion, 3 s later, same window). Arrivals every 6 s: request k of a minute is
    // admitted while 2500·k + 2000 ≤ 10000, i.e. k = 0..3; k = 4..9 are throttled.
    // 2 minutes: 8 succeed, 12 throttled by tokens_per_minute, 10000 charged per minute.
    let s = Scenario::from_toml_str(
        r#"
duration = "2m"
[model]
preset = "claude-sonnet-4"
[service]
ttft = "0s"
ttft_per_1k_input = "0s"
output_tokens_per_second = 100
[quota]
provider = "bedrock"
tokens_per_minute = 10000
[client]
retry = "none"
[arrivals]
process = "constant"
rate_per_minute = 10
[requests.a]
input_tokens = 1000
output_tokens = 300
max_tokens = 1000
"#,
        "t.toml",
    )
    .unwrap();
    let r = simulate(&s);
    assert_eq!(r.requests.arrived, 20);
    assert_eq!(r.requests.succeeded, 8);
    assert_eq!(r.requests.failed_by.throttled, 12);
    assert_eq!(r.attempts.throttled_by.tokens_per_minute, 12);
    assert_eq!(by_limit(&r), vec![("tokens_per_minute".to_string(), 12)]);
    assert_eq!(r.timeline[0].quota_charged, 10_000);
    assert_eq!(r.timeline[1].quota_charged, 10_000);
}

#[test]
fn bedrock_mantle_reserves_input_plus_max_tokens_against_input_tokens_per_minute() {
    // AWS, "Quotas for the bedrock-mantle endpoint": input + max_tokens is checked against
    // input tokens per minute; the unused part comes back at completion. Input 1000,
    // max_tokens 400, output 300 (done 3 s after admission, before the next arrival):
    // reserve 1400, settle to 1300. Request k of a minute is admitted while
    // 1300·k + 1400 ≤ 5000, i.e. k = 0..2; k = 3..9 are throttled by the input limit.
    // 2 minutes: 6 succeed, 14 throttled. (Counting only the input, 1000 each, as before,
    // 5 per minute would fit: 10 succeed.) Output tokens per minute never refuse.
    let r = run(
        "provider = \"bedrock-mantle\"\ntokens_per_minute = 5000\noutput_tokens_per_minute = 100000",
        "",
        "[requests.a]\ninput_tokens = 1000\noutput_tokens = 300\nmax_tokens = 400",
    );
    assert_eq!(r.requests.succeeded, 6);
    assert_eq!(r.attempts.throttled, 14);
    assert_eq!(
        by_limit(&r),
        vec![
            ("input_tokens_per_minute".to_string(), 14),
            ("output_tokens_per_minute".to_string(), 0)
        ]
    );
    assert_eq!(r.requests.truncated_by_output_budget, Some(0));
    // The timeline follows the input limit: 3 × 1300 per minute.
    assert_eq!(r.timeline[0].quota_charged, 3900);
}

#[test]
fn bedrock_mantle_cuts_responses_off_when_output_tokens_per_minute_run_out() {
    // Output tokens per minute 1000, charged as generated and checked at every 1 s
    // settlement tick; 300 output tokens at 100/s (ticks at +1 s and +2 s, the last 100 at
    // completion, +3 s). Requests 0–2 of a minute generate 300 each (900). Request 3 gets
    // 100 at +1 s (1000 used), finds nothing left at +2 s and is cut off there with 100
    // tokens; requests 4–9 are cut off at their first tick with 0. Nothing is throttled.
    // 2 minutes: 20 succeed, 14 truncated by the output budget, 2000 output tokens.
    // (Checking max_tokens against the output limit at admission, as before, throttles 14.)
    let r = run(
        "provider = \"bedrock-mantle\"\ntokens_per_minute = 100000\noutput_tokens_per_minute = 1000",
        "",
        "[requests.a]\ninput_tokens = 1000\noutput_tokens = 300\nmax_tokens = 400",
    );
    assert_eq!(r.requests.succeeded, 20);
    assert_eq!(r.attempts.throttled, 0);
    assert_eq!(r.requests.truncated, 14);
    assert_eq!(r.requests.truncated_by_output_budget, Some(14));
    assert_eq!(r.tokens.output, 2000);
    // A bedrock scenario has no output budget: no such key in its report.
    let b = run(
        "tokens_per_minute = 100000",
        "",
        "[requests.a]\ninput_tokens = 1000\noutput_tokens = 300\nmax_tokens = 400",
    );
    assert_eq!(b.requests.truncated_by_output_budget, None);
    let json = serde_json::to_string(&b).unwrap();
    assert!(!json.contains("truncated_by_output_budget"));
}

#[test]
fn anthropic_token_buckets_charge_output_as_generated() {
    // Output bucket: capacity 600, refill 10/s; admission needs ≥ 1 token; each request
    // takes 100 at t+1, t+2, t+3. Level after k=0 (t=0): 500, 410, 320 at t=3; k=1 at 6:
    // 350 → 80 at 9; k=2 at 12: 110 → −160 at 15; k=3..5 (18, 24, 30): −130, −70, −10:
    // throttled; k=6 at 36: 50 → −220 at 39; k=7..10 (42..60): −190, −130, −70, −10:
    // throttled; k=11 at 66: 50, same cycle: k=16 at 96 admitted, k=17..19 throttled.
    // Admitted: 0, 1, 2, 6, 11, 16 = 6; throttled 14. Input (6000, 100/s) never binds.
    let r = run(
        "provider = \"anthropic\"\ntokens_per_minute = 6000\noutput_tokens_per_minute = 600",
        "",
        "[requests.a]\ninput_tokens = 1000\noutput_tokens = 300\nmax_tokens = 4096",
    );
    assert_eq!(r.requests.succeeded, 6);
    assert_eq!(r.attempts.throttled, 14);
    assert_eq!(
        by_limit(&r),
        vec![
            ("input_tokens_per_minute".to_string(), 0),
            ("output_tokens_per_minute".to_string(), 14)
        ]
    );
}

#[test]
fn anthropic_cache_reads_are_free_for_input() {
    // Input bucket 10000/min (1000 per 6 s): input 1000 + cache reads 100000 costs 1000,
    // exactly the refill between arrivals, so nothing is throttled; counting the cache
    // reads would make every request unservable (101000 > 10000).
    let r = run(
        "provider = \"anthropic\"\ntokens_per_minute = 10000\noutput_tokens_per_minute = 100000",
        "",
        "[requests.a]\ninput_tokens = 1000\ncache_read_tokens = 100000\noutput_tokens = 10",
    );
    assert_eq!(r.requests.unservable, 0);
    assert_eq!(r.attempts.throttled, 0);
}

fn anthropic_with(preset: &str) -> Report {
    let text = format!(
        r#"
duration = "2m"
[model]
preset = "{preset}"
[quota]
provider = "anthropic"
tokens_per_minute = 10000
output_tokens_per_minute = 100000
[client]
retry = "none"
[arrivals]
process = "constant"
rate_per_minute = 10
[requests.a]
input_tokens = 1000
cache_read_tokens = 1000
output_tokens = 10
max_tokens = 100
"#
    );
    simulate(&Scenario::from_toml_str(&text, "t.toml").unwrap())
}

#[test]
fn anthropic_counts_cache_reads_toward_input_for_claude_3_5_haiku() {
    // Anthropic's documented exception. Input bucket 10000/min, full at t = 0, refilled
    // 1000 per 6 s arrival gap. Claude 3.5 Haiku: each request takes 1000 + 1000 cache
    // reads = 2000, so the level at request k's arrival is 10000 − 1000·k: k = 0..8 are
    // admitted; from k = 9 the level alternates 1000 (throttled, nothing taken) and 2000
    // (admitted): of k = 9..19, the odd ones (6) are throttled. 14 admitted, 6 throttled.
    let r = anthropic_with("claude-3-5-haiku");
    assert_eq!(r.requests.succeeded, 14);
    assert_eq!(r.attempts.throttled, 6);
    // Any other model: 1000 per request, exactly the refill: nothing throttled.
    let r = anthropic_with("claude-haiku-4-5");
    assert_eq!(r.requests.succeeded, 20);
    assert_eq!(r.attempts.throttled, 0);
}

#[test]
fn openai_charges_max_of_max_tokens_and_prompt_without_refund() {
    // Estimate = max(max_tokens 1200, prompt 1000 + cache 500) = 1500, never refunded.
    // TPM 10000 fits 6 per minute (9000); the 7th finds RPM 6 full (RPM is checked first),
    // the rest too: per minute 6 admitted, 4 throttled by requests_per_minute. (Refused
    // attempts also count here, but the RPM limit is already full when they arrive.)
    let r = run(
        "provider = \"openai\"\ntokens_per_minute = 10000\nrequests_per_minute = 6",
        "",
        "[requests.a]\ninput_tokens = 1000\ncache_read_tokens = 500\noutput_tokens = 300\nmax_tokens = 1200",
    );
    assert_eq!(r.requests.succeeded, 12);
    assert_eq!(r.attempts.throttled_by.requests_per_minute, 8);
    assert_eq!(r.timeline[0].quota_charged, 9000);
}

const OPENAI_RPM7: &str = "[requests.a]\ninput_tokens = 1000\ncache_read_tokens = 500\noutput_tokens = 300\nmax_tokens = 1200";

#[test]
fn openai_throttled_attempts_count_toward_the_limits() {
    // RPM 7, TPM 10000, estimate 1500, arrivals every 6 s. Per minute: attempts 1–6 are
    // admitted (RPM 6, TPM 9000). The 7th fits RPM (7) but not TPM (10500 > 10000): a token
    // throttle, and it still counts: RPM 7, TPM 10500. The 8th then finds RPM full
    // (8 > 7), and so do the 9th and 10th. Two minutes: 12 succeed, 2 token throttles,
    // 6 request throttles. Part I's reading (refusals count nowhere) gives 8 token
    // throttles and no request throttle, so it fails this test.
    let r = run(
        "provider = \"openai\"\ntokens_per_minute = 10000\nrequests_per_minute = 7",
        "",
        OPENAI_RPM7,
    );
    assert_eq!(r.requests.succeeded, 12);
    assert_eq!(r.attempts.throttled_by.tokens_per_minute, 2);
    assert_eq!(r.attempts.throttled_by.requests_per_minute, 6);
}

#[test]
fn openai_count_rejected_false_keeps_the_old_reading() {
    // The 7th to 10th attempts of each minute all fit RPM 7 but not TPM: 8 token throttles.
    let r = run(
        "provider = \"openai\"\ntokens_per_minute = 10000\nrequests_per_minute = 7\ncount_rejected = false",
        "",
        OPENAI_RPM7,
    );
    assert_eq!(r.requests.succeeded, 12);
    assert_eq!(r.attempts.throttled_by.tokens_per_minute, 8);
    assert_eq!(r.attempts.throttled_by.requests_per_minute, 0);
    // Per limit: the same two limits written out, refusals counting nowhere.
    let r = run(
        r#"[[quota.limits]]
name = "requests_per_minute"
counts = "requests"
per = "1m"
limit = 7
[[quota.limits]]
name = "tokens_per_minute"
counts = "estimated-tokens"
per = "1m"
limit = 10000
count_rejected = false"#,
        "",
        OPENAI_RPM7,
    );
    assert_eq!(r.attempts.throttled_by.tokens_per_minute, 8);
    // And counting them on the requests limit only gives the default's numbers.
    let r = run(
        r#"[[quota.limits]]
name = "requests_per_minute"
counts = "requests"
per = "1m"
limit = 7
count_rejected = true
[[quota.limits]]
name = "tokens_per_minute"
counts = "estimated-tokens"
per = "1m"
limit = 10000"#,
        "",
        OPENAI_RPM7,
    );
    assert_eq!(r.attempts.throttled_by.tokens_per_minute, 2);
    assert_eq!(r.attempts.throttled_by.requests_per_minute, 6);
}

#[test]
fn azure_openai_limits_requests_per_10_seconds() {
    // TPM 6000 → 36 RPM → 6 requests per 10 s window. Requests cost 50 + 50 = 100 tokens:
    // 600 per 10 s, 3600 per minute < 6000, so only the request limit binds. 120 arrivals
    // per minute (every 0.5 s), 20 per window: 6 admitted and 14 throttled per window,
    // 36 admitted per minute (TPM alone would allow 60).
    let s = Scenario::from_toml_str(
        r#"
duration = "1m"
[quota]
provider = "azure-openai"
tokens_per_minute = 6000
count_rejected = false
[client]
retry = "none"
[arrivals]
process = "constant"
rate_per_minute = 120
[requests.a]
input_tokens = 50
output_tokens = 10
max_tokens = 50
"#,
        "t.toml",
    )
    .unwrap();
    let r = simulate(&s);
    assert_eq!(r.requests.arrived, 120);
    assert_eq!(r.requests.succeeded, 36);
    assert_eq!(
        by_limit(&r),
        vec![
            ("requests_per_10s".to_string(), 84),
            ("tokens_per_minute".to_string(), 0)
        ]
    );
    assert_eq!(
        r.timeline[0].quota_charged, 3600,
        "prompt + max_tokens, no refund"
    );
}

const AZURE_120: &str = r#"
[client]
retry = "none"
[arrivals]
process = "constant"
rate_per_minute = 120
[requests.a]
input_tokens = 50
output_tokens = 10
max_tokens = 50
"#;

#[test]
fn azure_openai_throttled_attempts_lock_a_busy_client_out() {
    // As above (6 requests per 10 s window, 20 arrivals per window, 100 tokens each), but
    // refused attempts count toward both limits. Windows 1–3: 6 admitted and 14 refused,
    // all 20 charging 100 tokens: TPM 2000, 4000, 6000. Windows 4–6: the first 6 attempts
    // fit the 10 s request limit but TPM is full (6000 + 100 > 6000): token throttles that
    // still count; the other 14 are request throttles. 18 succeed instead of Part I's 36.
    let text = format!(
        "duration = \"1m\"\n[quota]\nprovider = \"azure-openai\"\ntokens_per_minute = 6000\n{AZURE_120}"
    );
    let r = simulate(&Scenario::from_toml_str(&text, "t.toml").unwrap());
    assert_eq!(r.requests.arrived, 120);
    assert_eq!(r.requests.succeeded, 18);
    assert_eq!(
        by_limit(&r),
        vec![
            ("requests_per_10s".to_string(), 84),
            ("tokens_per_minute".to_string(), 18)
        ]
    );
}

#[test]
fn azure_openai_requests_ratio_is_settable() {
    // o3 / o4-mini: 1 RPM per 1,000 TPM. TPM 60000 → 60 RPM → 10 per 10 s window; 20
    // arrivals per window (100 tokens each, 12000 per minute: TPM never binds): 10 admitted
    // per window, 60 per minute. With the chat ratio (6) the request limit (60 per 10 s)
    // would admit all 120.
    let text = format!(
        "duration = \"1m\"\n[quota]\nprovider = \"azure-openai\"\ntokens_per_minute = 60000\nrequests_per_1000_tpm = 1\ncount_rejected = false\n{AZURE_120}"
    );
    let r = simulate(&Scenario::from_toml_str(&text, "t.toml").unwrap());
    assert_eq!(r.requests.succeeded, 60);
    let text = format!(
        "duration = \"1m\"\n[quota]\nprovider = \"azure-openai\"\ntokens_per_minute = 60000\ncount_rejected = false\n{AZURE_120}"
    );
    let r = simulate(&Scenario::from_toml_str(&text, "t.toml").unwrap());
    assert_eq!(r.requests.succeeded, 120);
    // The ratio is Azure's only.
    let bad = Scenario::from_toml_str(
        "duration = \"1m\"\n[quota]\nprovider = \"openai\"\ntokens_per_minute = 1000\nrequests_per_1000_tpm = 1\n[arrivals]\nprocess = \"constant\"\nrate_per_minute = 1\n[requests.a]\ninput_tokens = 1\noutput_tokens = 1",
        "t.toml",
    );
    assert!(bad.is_err());
}

#[test]
fn streaming_settlement_charges_output_in_the_window_it_is_generated() {
    // One request at t = 0, ttft 55 s, then 1000 output tokens at 100/s until 65 s.
    // R = 1000 + 1000 = 2000; C = 1000 + 5 × 1000 = 6000. Ticks every second: output
    // exceeds the reservation after 200 tokens (57 s); each tick from 58 s adds 500.
    // Window 0: 2000 + 500 (58 s) + 500 (59 s) = 3000; window 1: 5 ticks (60..64 s) and
    // the rest at completion = 3000. At completion instead: 2000 and 4000.
    let scenario = |settle: &str| {
        format!(
            r#"
duration = "1m"
[model]
preset = "claude-sonnet-4"
[service]
ttft = "55s"
ttft_per_1k_input = "0s"
output_tokens_per_second = 100
[quota]
tokens_per_minute = 100000
settle = "{settle}"
[client]
retry = "none"
[arrivals]
process = "constant"
rate_per_minute = 1
[requests.a]
input_tokens = 1000
output_tokens = 1000
max_tokens = 1000
"#
        )
    };
    let r = simulate(&Scenario::from_toml_str(&scenario("streaming"), "t.toml").unwrap());
    assert_eq!(r.timeline[0].quota_charged, 3000);
    assert_eq!(r.timeline[1].quota_charged, 3000);
    let r = simulate(&Scenario::from_toml_str(&scenario("at-completion"), "t.toml").unwrap());
    assert_eq!(r.timeline[0].quota_charged, 2000);
    assert_eq!(r.timeline[1].quota_charged, 4000);
}

#[test]
fn generalised_limits_list() {
    // The short form and an explicit list of the same limits give the same counts.
    let short = run(
        "tokens_per_minute = 3000\nrequests_per_minute = 4",
        "",
        "[requests.a]\ninput_tokens = 500\noutput_tokens = 100\nmax_tokens = 200",
    );
    let long = run(
        r#"[[quota.limits]]
name = "requests_per_minute"
counts = "requests"
per = "minute"
limit = 4
[[quota.limits]]
name = "tokens_per_minute"
counts = "quota-tokens"
per = "minute"
limit = 3000"#,
        "",
        "[requests.a]\ninput_tokens = 500\noutput_tokens = 100\nmax_tokens = 200",
    );
    assert_eq!(short.requests, long.requests);
    assert_eq!(short.attempts, long.attempts);
    assert_eq!(short.timeline, long.timeline);
    // 700 per request: 4 fit 3000 (2800) and RPM 4: the 5th is refused by RPM first.
    assert_eq!(short.requests.succeeded, 8);
    assert_eq!(short.attempts.throttled_by.requests_per_minute, 12);
}

#[test]
fn pacing_with_the_providers_numbers_gives_zero_throttles() {
    // A token-bucket provider of 10000/min and a client pacing at the same 10000/min,
    // counting the same reservation: the client's bucket never holds more than the
    // provider's (the provider's also gets refunds), so nothing is ever throttled, even
    // with 60 requests/min × 2000 offered against 10000/min.
    let scenario = |pacing: bool| {
        format!(
            r#"
duration = "5m"
[quota]
tokens_per_minute = 10000
limiter = "token-bucket"
[client]
retry = "aws-standard"
{}
[arrivals]
process = "constant"
rate_per_minute = 60
[requests.a]
input_tokens = 1000
output_tokens = 500
max_tokens = 1000
"#,
            if pacing {
                "pacing = { tokens_per_minute = 10000 }"
            } else {
                ""
            }
        )
    };
    let paced = simulate(&Scenario::from_toml_str(&scenario(true), "t.toml").unwrap());
    assert_eq!(paced.attempts.throttled, 0);
    assert_eq!(paced.requests.succeeded, paced.requests.arrived);
    assert!(paced.client.pacing_seconds > 0.0);
    assert_eq!(paced.client.retry_amplification, Some(1.0));
    let retried = simulate(&Scenario::from_toml_str(&scenario(false), "t.toml").unwrap());
    assert!(
        retried.attempts.throttled > 100,
        "{}",
        retried.attempts.throttled
    );
    assert!(retried.client.backoff_seconds > 0.0);
}

#[test]
fn timeout_fails_requests_not_done_in_time() {
    // Concurrency 1, 10 s per request, one arrival per second for 10 s, timeout 15 s.
    // Request 0 succeeds at 10 s. Request k ≥ 1 (deadline k + 15) starts when k − 1 gave
    // up (k + 14) and gives up at k + 15: 9 timeouts, each after 1 attempt.
    let s = Scenario::from_toml_str(
        r#"
duration = "10s"
[service]
ttft = "0s"
ttft_per_1k_input = "0s"
output_tokens_per_second = 100
[quota]
tokens_per_minute = 1000000
[client]
concurrency = 1
timeout = "15s"
[arrivals]
process = "constant"
rate_per_minute = 60
[requests.a]
input_tokens = 10
output_tokens = 1000
max_tokens = 1000
"#,
        "t.toml",
    )
    .unwrap();
    let r = simulate(&s);
    assert_eq!(r.requests.arrived, 10);
    assert_eq!(r.requests.succeeded, 1);
    assert_eq!(r.requests.failed, 9);
    assert_eq!(r.requests.failed_by.timeout, 9);
    assert_eq!(r.requests.failed_by.throttled, 0);
    assert_eq!(r.attempts.per_request.0.get(1), Some(&10));
}

#[test]
fn adaptive_throttles_less_than_standard_when_overloaded() {
    let scenario = |mode: &str| {
        format!(
            r#"
seed = 5
duration = "20m"
[model]
preset = "claude-sonnet-4"
[quota]
tokens_per_minute = 200000
requests_per_minute = 200
[client]
retry = "{mode}"
[arrivals]
process = "closed-loop"
clients = 40
think_time = "1s"
[requests.a]
input_tokens = {{ dist = "lognormal", median = 2000, p95 = 8000 }}
output_tokens = {{ dist = "lognormal", median = 300, p95 = 1200 }}
max_tokens = 2048
"#
        )
    };
    let std = simulate(&Scenario::from_toml_str(&scenario("aws-standard"), "t.toml").unwrap());
    let ada = simulate(&Scenario::from_toml_str(&scenario("aws-adaptive"), "t.toml").unwrap());
    let rate = |r: &Report| r.attempts.throttled as f64 / r.attempts.sent.max(1) as f64;
    assert!(rate(&ada) < rate(&std), "{} vs {}", rate(&ada), rate(&std));
    assert!(ada.client.adaptive_wait_seconds > 0.0);
    assert_eq!(std.client.adaptive_wait_seconds, 0.0);
}

#[test]
fn runs_are_byte_identical() {
    let text = r#"
seed = 9
duration = "10m"
[quota]
provider = "anthropic"
tokens_per_minute = 20000
requests_per_minute = 50
settle = "streaming"
[client]
retry = "aws-adaptive"
timeout = "40s"
concurrency = 16
pacing = { requests_per_minute = 60 }
[arrivals]
process = "poisson"
rate_per_minute = 80
[requests.a]
input_tokens = { dist = "lognormal", median = 300, p95 = 2000 }
output_tokens = { dist = "exponential", mean = 200 }
"#;
    let s = Scenario::from_toml_str(text, "t.toml").unwrap();
    let a = serde_json::to_string(&simulate(&s)).unwrap();
    let b = serde_json::to_string(&simulate(&s)).unwrap();
    assert_eq!(a, b);
    let r = simulate(&s);
    assert_eq!(
        r.requests.failed,
        r.requests.failed_by.throttled
            + r.requests.failed_by.server_error
            + r.requests.failed_by.timeout
    );
    let finished: u64 = r.attempts.per_request.0.iter().sum();
    assert_eq!(finished, r.requests.succeeded + r.requests.failed);
}

const OWN_MODEL: &str = r#"
duration = "1m"
[model]
preset = "my-model"
[quota]
tokens_per_minute = 100000
[service]
ttft_per_1k_input = "0s"
[client]
retry = "none"
[arrivals]
process = "constant"
rate_per_minute = 1
[requests.a]
input_tokens = 100
output_tokens = 400
[[models]]
name = "my-model"
input_burndown = 1
output_burndown = 2
max_output_tokens = 1000
ttft = 0.1
output_tokens_per_second = SPEED
source = "test"
as_of = "2026-12-01"
confidence = "made up"
"#;

#[test]
fn a_scenario_can_add_its_own_model_row() {
    // One request at t = 0: input 100, output 400, max_tokens = the row's 1000. Cost
    // 100 + 2 × 400 = 900 (the row's burndown); latency = the row's TTFT 0.1 s + 400 / 200
    // tok/s = 2.1 s (the row's speed and TTFT are the service defaults).
    let s = Scenario::from_toml_str(&OWN_MODEL.replace("SPEED", "200.0"), "t.toml").unwrap();
    let r = simulate(&s);
    assert_eq!(r.requests.succeeded, 1);
    assert_eq!(r.tokens.quota_consumed, 900);
    assert_eq!(r.tokens.reserved, 1100);
    assert_eq!(r.latency_ms.e2e.mean, Some(2100.0));
    // A row that cannot be used is invalid input naming `models`.
    let e = Scenario::from_toml_str(&OWN_MODEL.replace("SPEED", "0.0"), "t.toml").unwrap_err();
    assert!(e.to_string().contains("models"), "{e}");
}

#[test]
fn models_command_prints_the_table_as_json_with_user_rows() {
    let out = qs().args(["models", "--format", "json"]).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["models"].as_array().unwrap();
    let opus45 = rows
        .iter()
        .find(|r| r["name"] == "claude-opus-4-5")
        .unwrap();
    assert_eq!(opus45["max_output_tokens"], 64000);
    assert_eq!(opus45["price_output"], 25.0);
    assert!(opus45["source"].as_str().is_some_and(|s| !s.is_empty()));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.toml");
    std::fs::write(
        &file,
        OWN_MODEL
            .split("[[models]]")
            .nth(1)
            .map(|row| format!("[[model]]{}", row.replace("SPEED", "200.0")))
            .unwrap(),
    )
    .unwrap();
    let out = qs()
        .args(["models", "--format", "json", "--models"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let n = v["models"].as_array().map(Vec::len);
    assert_eq!(n, Some(rows.len() + 1));
    // A bad file is invalid input (exit 2).
    std::fs::write(&file, "[[model]]\nname = 1\n").unwrap();
    let out = qs()
        .args(["models", "--models"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

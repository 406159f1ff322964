//! Token buckets at engine level, derived by hand: a refund stops at the capacity, and the
//! bucket refills to the microsecond.
//!
//! First, the refund.
//!
//! Token bucket of 1000 quota tokens per minute (model "other", 1:1), full at t = 0 and
//! refilled at 1000/60 tokens per second; `retry = "none"`; ttft 30 s, 0 per 1k input,
//! 1,000,000 output tokens/s (one output token takes 1 µs). A trace places every request.
//!
//! - R1 at t = 0: input 100, max_tokens 600, output 1: reserves 700 (level 1000 → 300) and
//!   settles to 101 at T = 30 s + 1 µs.
//! - Rx at t = 10 s: reserves 2 (level 300 + 166.7 − 2 = 464.7); it completes after T.
//! - At T the bucket has refilled to 464.7 + 333.3 = 798; R1's refund of 599 would make
//!   1397: **capped at 1000**. A refill would clamp it too, so the requests that show the
//!   cap arrive at T itself: R2 (reserves 700) and R3 (input 100, max_tokens 500: 600).
//!   Their arrivals were scheduled after R1's completion (a trace record is scheduled when
//!   the one before it is handled: R2's at 10 s, R1's completion at 0), so they run after
//!   it at the same microsecond.
//! - R2: 1000 → 300. R3 needs 600 > 300: throttled, and it fails (no retries).
//!
//! Report: 4 arrived, 3 succeeded, 1 failed, 1 throttled. Without the cap the bucket would
//! hold 1397 − 700 = 697 ≥ 600 for R3: 4 successes.

use quotasim::Scenario;

#[test]
fn a_refund_into_a_full_bucket_is_capped_at_capacity() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.csv"),
        "timestamp,input_tokens,output_tokens,max_tokens\n0,100,1,600\n10,1,1,1\n30.000001,100,1,600\n30.000001,100,1,500\n",
    )
    .unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(
        &path,
        r#"
duration = "1m"
[model]
preset = "other"
[quota]
tokens_per_minute = 1000
limiter = "token-bucket"
[service]
ttft = "30s"
ttft_per_1k_input = "0ms"
output_tokens_per_second = 1000000
throttle_latency = "100ms"
[client]
retry = "none"
[arrivals]
process = "trace"
file = "t.csv"
"#,
    )
    .unwrap();
    let s = Scenario::from_path(&path, &[]).unwrap();
    let r = quotasim::simulate(&s);
    assert_eq!(r.requests.arrived, 4);
    assert_eq!(r.requests.succeeded, 3);
    assert_eq!(r.requests.failed, 1);
    assert_eq!(r.attempts.throttled, 1);
    assert_eq!(r.tokens.reserved, 1_402);
    assert_eq!(r.tokens.quota_consumed, 204);
}

/// A token bucket refills to the microsecond: a request that needs exactly what has come
/// back is refused one microsecond early and admitted on time.
///
/// Token bucket of 6,000 quota tokens per minute (model "other", 1:1): it refills one token
/// every 10,000 µs. A trace places every request; no retries:
/// - t = 0: input 100, output = max_tokens = 5,900: R = C = 6,000, the whole bucket (level 0;
///   it settles with no refund, so the level only refills from here).
/// - t = 99,999 µs: input 5, max_tokens 5 (R = 10); the bucket holds 99,999 / 10,000 =
///   9.9999 tokens: refused.
/// - t = 100,000 µs: input 6, max_tokens 4 (R = 10); the bucket holds exactly 10: admitted.
///
/// 3 arrived, 2 succeeded, 1 throttled; input tokens 100 + 6 = 106 (a bucket a microsecond
/// early admits the second request instead: 105; a microsecond late, neither: 1 success).
#[test]
fn a_token_bucket_refills_to_the_microsecond() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.csv"),
        "timestamp,input_tokens,output_tokens,max_tokens\n0,100,5900,5900\n0.099999,5,5,5\n0.1,6,4,4\n",
    )
    .unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(
        &path,
        r#"
duration = "1m"
[model]
preset = "other"
[quota]
tokens_per_minute = 6000
limiter = "token-bucket"
[client]
retry = "none"
[arrivals]
process = "trace"
file = "t.csv"
"#,
    )
    .unwrap();
    let s = Scenario::from_path(&path, &[]).unwrap();
    let r = quotasim::simulate(&s);
    assert_eq!(r.requests.arrived, 3);
    assert_eq!(r.requests.succeeded, 2);
    assert_eq!(r.attempts.throttled, 1);
    assert_eq!(r.tokens.input, 106);
    assert_eq!(r.tokens.reserved, 6_010);
}

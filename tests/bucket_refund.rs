//! A token bucket's refund stops at its capacity, derived by hand at engine level.
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

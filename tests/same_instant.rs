//! A completion and an arrival on the same microsecond, derived by hand.
//!
//! Events at one instant run in the order they were scheduled. Here request k's completion
//! and request k+1's arrival both fall on t = k s, and which one runs first decides whether
//! request k+1 fits in the minute's quota.

use quotasim::Scenario;
use quotasim::engine::{Observer, TraceEvent, simulate_with};
use quotasim::guard::Limits;
use quotasim::quota::Quota;

/// Model "other" burns 1:1. Each request reserves input + max_tokens = 100 + 600 = 700 and
/// settles to input + output = 100 + 30 = 130 (a 570 refund to the same fixed window).
///
/// Arrivals are constant at 60/min: t = 0, 1, 2, 3 s (duration 4 s).
/// Service time = ttft + ttft_per_1k_input × 100/1000 + 30 tokens ÷ 60 tokens/s
///              = 500 ms + 0 + 500 ms = exactly 1,000,000 µs,
/// so request k (arriving at k s) completes at (k + 1) s, the instant request k + 1 arrives.
///
/// Schedule order at one instant: handling arrival k first schedules arrival k + 1 and then
/// admits request k, which schedules its completion; so at (k + 1) s the arrival was
/// scheduled first and runs first, while the earlier request still holds its reservation.
///
/// - t = 0: R1 admitted, window 700.
/// - t = 1 s: R2 arrives first: 700 + 700 > 1000, throttled; `retry = "none"`, so it fails.
///   Then R1 completes: window 700 − 570 = 130.
/// - t = 2 s: R3: 130 + 700 = 830 ≤ 1000, admitted.
/// - t = 3 s: R4 arrives first: 830 + 700 > 1000, throttled, fails. R3 completes: 260.
///
/// Report: 4 arrived, 2 succeeded, 2 failed, 4 attempts sent, 2 throttled by TPM, quota
/// consumed 2 × 130 = 260, reserved 2 × 700 = 1400.
///
/// With the tie order reversed (the completion first), R2 would find 130 + 700 ≤ 1000 and be
/// admitted, and R3 likewise: 3 successes.
const SCENARIO: &str = r#"
duration = "4s"
[model]
preset = "other"
[quota]
tokens_per_minute = 1000
[service]
ttft = "500ms"
ttft_per_1k_input = "0ms"
output_tokens_per_second = 60
throttle_latency = "100ms"
[client]
retry = "none"
[arrivals]
process = "constant"
rate_per_minute = 60
[requests.r]
input_tokens = 100
output_tokens = 30
max_tokens = 600
"#;

/// (time µs, what, slot) for every event.
#[derive(Default)]
struct Log(Vec<(u64, &'static str, u32)>);

impl Observer for Log {
    fn on_event(&mut self, e: &TraceEvent, _: &Quota) {
        let entry = match *e {
            TraceEvent::Arrived { t, slot, .. } => (t, "arrived", slot),
            TraceEvent::Admitted { t, slot, .. } => (t, "admitted", slot),
            TraceEvent::Throttled { t, slot, .. } => (t, "throttled", slot),
            TraceEvent::ServerError { t, slot, .. } => (t, "server error", slot),
            TraceEvent::Succeeded { t, slot, .. } => (t, "succeeded", slot),
            TraceEvent::Failed { t, slot, .. } => (t, "failed", slot),
        };
        self.0.push(entry);
    }
}

#[test]
fn an_arrival_scheduled_first_runs_before_a_completion_at_the_same_microsecond() {
    let s = Scenario::from_toml_str(SCENARIO, "same-instant.toml").unwrap();
    let mut log = Log::default();
    let r = simulate_with(&s, &Limits::default(), Some(&mut log)).unwrap();

    assert_eq!(r.requests.arrived, 4);
    assert_eq!(r.requests.succeeded, 2, "{:?}", log.0);
    assert_eq!(r.requests.failed, 2);
    assert_eq!(r.attempts.sent, 4);
    assert_eq!(r.attempts.throttled, 2);
    assert_eq!(r.attempts.throttled_by.tokens_per_minute, 2);
    assert_eq!(r.tokens.quota_consumed, 260);
    assert_eq!(r.tokens.reserved, 1_400);

    // At t = 1 s: the second arrival is throttled before the first request completes.
    let at_1s: Vec<&str> = log
        .0
        .iter()
        .filter(|(t, ..)| *t == 1_000_000)
        .map(|(_, what, _)| *what)
        .collect();
    assert_eq!(at_1s, ["arrived", "throttled", "succeeded"], "{:?}", log.0);
    // At t = 2 s the third request fits, because the first one's refund came back at 1 s.
    let at_2s: Vec<&str> = log
        .0
        .iter()
        .filter(|(t, ..)| *t == 2_000_000)
        .map(|(_, what, _)| *what)
        .collect();
    assert_eq!(at_2s, ["arrived", "admitted"], "{:?}", log.0);
}

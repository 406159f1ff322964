//! Deterministic scenarios whose counts are derived on paper (constant arrivals, fixed token
//! sizes, fixed latency, no retries). Each test's comment gives the derivation; the
//! assertions check every count the report gives for it.

use quotasim::report::{MinuteRow, Report};
use quotasim::{Scenario, simulate};

#[allow(clippy::too_many_arguments)]
/// A scenario with fixed sizes and `service = ttft 1s + output / tps`, no prefill term.
fn scenario(
    limiter: &str,
    quota: &str,
    rate: f64,
    input: u64,
    output: u64,
    max_tokens: u64,
    tps: u64,
    duration: &str,
    preset: &str,
) -> Scenario {
    let text = format!(
        r#"
duration = "{duration}"
[model]
preset = "{preset}"
[quota]
limiter = "{limiter}"
{quota}
[service]
ttft = "1s"
ttft_per_1k_input = "0s"
output_tokens_per_second = {tps}
[client]
retry = "none"
[arrivals]
process = "constant"
rate_per_minute = {rate}
[requests.only]
input_tokens = {input}
output_tokens = {output}
max_tokens = {max_tokens}
"#
    );
    Scenario::from_toml_str(&text, "derived.toml").unwrap()
}

fn rows(r: &Report) -> Vec<(u64, u64, u64, i64)> {
    r.timeline
        .iter()
        .map(|m: &MinuteRow| (m.admitted, m.throttled, m.completed, m.quota_charged))
        .collect()
}

/// Fixed window, refunds inside the window.
/// Claude 4 (5×), TPM 8000, one request every 10 s, I = 1000, O = 100, M = 1000:
/// R = 1000 + 1000 = 2000, C = 1000 + 5·100 = 1500, service 1 s + 100/100 s = 2 s.
/// Window used after each completion: 1500, 3000, 4500, 6000; at t = 40 s 6000 + 2000 = 8000
/// ≤ 8000 is admitted (→ 7500 at 42 s); at t = 50 s 7500 + 2000 > 8000 is throttled and,
/// with no retries, fails. Every minute: 5 admitted, 1 throttled, 5 completed, 7500 charged.
#[test]
fn fixed_window_refunds_within_window() {
    let s = scenario(
        "fixed-window",
        "tokens_per_minute = 8000",
        6.0,
        1000,
        100,
        1000,
        100,
        "3m",
        "claude-sonnet-4",
    );
    let r = simulate(&s);
    assert_eq!(
        (
            r.requests.arrived,
            r.requests.succeeded,
            r.requests.failed,
            r.requests.unfinished
        ),
        (18, 15, 3, 0)
    );
    assert_eq!(
        (r.attempts.sent, r.attempts.admitted, r.attempts.throttled),
        (18, 15, 3)
    );
    assert_eq!(r.attempts.throttled_by.tokens_per_minute, 3);
    assert_eq!(
        (
            r.tokens.input,
            r.tokens.output,
            r.tokens.quota_consumed,
            r.tokens.reserved
        ),
        (15_000, 1_500, 22_500, 30_000)
    );
    assert_eq!(rows(&r), vec![(5, 1, 5, 7500); 3]);
    assert_eq!(
        r.simulated_seconds, 170.1,
        "last event: the throttle at 170 s answered 100 ms later"
    );
    assert_eq!(r.throughput.requests_per_minute, 5.0);
}

/// Fixed window, a refund lost at the roll-over.
/// TPM 10000, one request every 10 s, R = 2000, C = 1500, service 1 s + 100/10 s = 11 s.
/// Within minute k the requests at 60k+0..40 complete inside it (refund 500 each); the one
/// at 60k+50 completes at 60k+61, after its window closed, so its refund is lost. Peak use at
/// 60k+50 s is exactly 10000 ≤ 10000, so nothing is throttled. Each window's final count is
/// 6·2000 − 5·500 = 9500 (9000 had the refund been kept); minute 3 only sees the last
/// completion (at 181 s) and its lost refund: 0 charged.
#[test]
fn fixed_window_refund_lost_at_rollover() {
    let s = scenario(
        "fixed-window",
        "tokens_per_minute = 10000",
        6.0,
        1000,
        100,
        1000,
        10,
        "3m",
        "claude-sonnet-4",
    );
    let r = simulate(&s);
    assert_eq!(
        (
            r.requests.arrived,
            r.requests.succeeded,
            r.attempts.throttled
        ),
        (18, 18, 0)
    );
    assert_eq!(
        rows(&r),
        vec![
            (6, 0, 5, 9500),
            (6, 0, 6, 9500),
            (6, 0, 6, 9500),
            (0, 0, 1, 0)
        ]
    );
    assert_eq!(r.simulated_seconds, 181.0);
}

/// Sliding window on the scenario above: refunds are applied in place whatever the minute,
/// so the timeline (charges net of refunds made in that minute) reads 12000 − 5·500 = 9500
/// for minute 0, then 12000 − 6·500 = 9000, and −500 for the last refund at 181 s.
#[test]
fn sliding_window_refunds_in_place() {
    let s = scenario(
        "sliding-window",
        "tokens_per_minute = 10000",
        6.0,
        1000,
        100,
        1000,
        10,
        "3m",
        "claude-sonnet-4",
    );
    let r = simulate(&s);
    assert_eq!((r.requests.succeeded, r.attempts.throttled), (18, 0));
    assert_eq!(
        rows(&r),
        vec![
            (6, 0, 5, 9500),
            (6, 0, 6, 9000),
            (6, 0, 6, 9000),
            (0, 0, 1, -500)
        ]
    );
}

/// Overshoot, fixed window. TPM 10000, a request every 20 s, I = 100, O = M = 1000:
/// R = 100 + 1000 = 1100, C = 100 + 5·1000 = 5100, overshoot +4000 at completion (11 s later).
/// Minute k: 60k admitted (1100), +4000 at 60k+11 (5100), 60k+20 admitted (6200), +4000 at
/// 60k+31 (10200: past the limit), 60k+40 refused (10200 + 1100 > 10000).
#[test]
fn fixed_window_overshoot() {
    let s = scenario(
        "fixed-window",
        "tokens_per_minute = 10000",
        3.0,
        100,
        1000,
        1000,
        100,
        "3m",
        "claude-sonnet-4",
    );
    let r = simulate(&s);
    assert_eq!(
        (r.requests.arrived, r.requests.succeeded, r.requests.failed),
        (9, 6, 3)
    );
    assert_eq!(
        (
            r.tokens.input,
            r.tokens.output,
            r.tokens.quota_consumed,
            r.tokens.reserved
        ),
        (600, 6000, 30_600, 6600)
    );
    assert_eq!(rows(&r), vec![(2, 1, 2, 10_200); 3]);
    assert_eq!(r.requests.truncated, 0, "O = M is not truncated");
}

/// Overshoot, sliding window: an overshoot is a new charge at the completion time, so it
/// blocks for 60 s from there, across the minute boundary.
/// t=0 admit {0:1100}; 11 +4000; 20 admit (6200); 31 +4000 (10200); 40 refused;
/// 60: the charge at 0 leaves → 9100 + 1100 > 10000 refused (fixed admitted it);
/// 80: charges at 11 and 20 leave → 4000 + 1100 admitted; 91 +4000; 100: 31 leaves →
/// 5100 + 1100 admitted; 111 +4000 (10200); 120 refused; 140: 80 leaves → 9100 + 1100
/// refused; 160: 100 leaves → 4000 + 1100 admitted; 171 +4000.
#[test]
fn sliding_window_overshoot() {
    let s = scenario(
        "sliding-window",
        "tokens_per_minute = 10000",
        3.0,
        100,
        1000,
        1000,
        100,
        "3m",
        "claude-sonnet-4",
    );
    let r = simulate(&s);
    assert_eq!((r.requests.succeeded, r.requests.failed), (5, 4));
    assert_eq!(
        rows(&r),
        vec![(2, 1, 2, 10_200), (2, 1, 2, 10_200), (1, 2, 1, 5_100)]
    );
    assert_eq!(r.simulated_seconds, 171.0);
}

/// Overshoot, token bucket: capacity 10000 refilled at 10000/60 s (166.67/s), full at 0.
/// Level (tokens) after each event: 0 admit 8900; 11 refill to cap 10000, −4000 → 6000;
/// 20 +1500 → 7500 admit 6400; 31 +1833.3 −4000 → 4233.3; 40 +1500 admit → 4633.3;
/// 51 → 2466.7; 60 → 3966.7 admit 2866.7; 71 → 700; 80 → 2200 admit 1100; 91 → −1066.7;
/// 100 → 433.3 < 1100 refused; 120 → 3766.7 admit 2666.7; 131 → 500; 140 → 2000 admit 900;
/// 151 → −1266.7; 160 → 233.3 refused.
#[test]
fn token_bucket_overshoot_debt() {
    let s = scenario(
        "token-bucket",
        "tokens_per_minute = 10000",
        3.0,
        100,
        1000,
        1000,
        100,
        "3m",
        "claude-sonnet-4",
    );
    let r = simulate(&s);
    assert_eq!((r.requests.succeeded, r.requests.failed), (7, 2));
    assert_eq!(
        rows(&r),
        vec![(3, 0, 3, 15_300), (2, 1, 2, 10_200), (2, 1, 2, 10_200)]
    );
    assert_eq!(r.simulated_seconds, 160.1);
}

/// Requests per minute, fixed window. RPM 3, a request every 12 s, tokens far below TPM:
/// each minute admits 60k, +12, +24 and refuses +36, +48 (by RPM). R = 10 + 100 = 110,
/// C = 10 + 10 = 20 (1× model), refunds land in the same minute: 3·20 = 60 per minute.
#[test]
fn requests_per_minute_fixed() {
    let s = scenario(
        "fixed-window",
        "tokens_per_minute = 1000000\nrequests_per_minute = 3",
        5.0,
        10,
        10,
        100,
        10,
        "2m",
        "other",
    );
    let r = simulate(&s);
    assert_eq!(
        (r.requests.arrived, r.requests.succeeded, r.requests.failed),
        (10, 6, 4)
    );
    assert_eq!(r.attempts.throttled_by.requests_per_minute, 4);
    assert_eq!(r.attempts.throttled_by.tokens_per_minute, 0);
    assert_eq!(rows(&r), vec![(3, 2, 3, 60); 2]);
}

/// Requests per minute, token bucket: capacity 3 requests refilled at one per 20 s.
/// Level: 0 → 2; 12 → 1.6; 24 → 1.2; 36 → 0.8; 48 → 0.4; 60 → exactly 1.0, admitted → 0;
/// 72 → 0.6 refused; 84 → 1.2 admitted → 0.2; 96 → 0.8 refused; 108 → 1.4 admitted.
#[test]
fn requests_per_minute_token_bucket() {
    let s = scenario(
        "token-bucket",
        "tokens_per_minute = 1000000\nrequests_per_minute = 3",
        5.0,
        10,
        10,
        100,
        10,
        "2m",
        "other",
    );
    let r = simulate(&s);
    assert_eq!((r.requests.succeeded, r.requests.failed), (8, 2));
    assert_eq!(r.attempts.throttled_by.requests_per_minute, 2);
    let admitted: Vec<u64> = r.timeline.iter().map(|m| m.admitted).collect();
    assert_eq!(admitted, vec![5, 3]);
}

/// Tokens per day (fixed one-day window), TPM 10000, TPD 5000, R = 2000, C = 1500, 2 s.
/// Day count: 0 admit → 1500 after settling; 10 → 3000; 20: 3000 + 2000 = 5000 ≤ 5000
/// admitted → 4500; from 30 s on 4500 + 2000 > 5000: refused by TPD (TPM would admit).
#[test]
fn tokens_per_day() {
    let s = scenario(
        "fixed-window",
        "tokens_per_minute = 10000\ntokens_per_day = 5000",
        6.0,
        1000,
        100,
        1000,
        100,
        "2m",
        "claude-sonnet-4",
    );
    let r = simulate(&s);
    assert_eq!(
        (r.requests.arrived, r.requests.succeeded, r.requests.failed),
        (12, 3, 9)
    );
    assert_eq!(r.attempts.throttled_by.tokens_per_day, 9);
    assert_eq!(r.attempts.throttled_by.tokens_per_minute, 0);
}

/// The cause is the first refusing limit in the order RPM, TPM, TPD: with all three
/// exhausted, the throttle is charged to RPM.
#[test]
fn throttle_cause_order() {
    let s = scenario(
        "fixed-window",
        "tokens_per_minute = 2000\nrequests_per_minute = 1\ntokens_per_day = 2000",
        6.0,
        1000,
        100,
        1000,
        100,
        "1m",
        "claude-sonnet-4",
    );
    let r = simulate(&s);
    assert_eq!(r.attempts.admitted, 1);
    assert_eq!(r.attempts.throttled_by.requests_per_minute, 5);
}

/// Unservable: a reservation above the whole TPM capacity is refused on every attempt and
/// counted.
#[test]
fn unservable_requests_are_counted() {
    let s = scenario(
        "fixed-window",
        "tokens_per_minute = 1000",
        6.0,
        10,
        10,
        4096,
        100,
        "1m",
        "claude-sonnet-4",
    );
    let r = simulate(&s);
    assert_eq!(
        (r.requests.arrived, r.requests.unservable, r.requests.failed),
        (6, 6, 6)
    );
    assert_eq!(r.attempts.admitted, 0);
    assert_eq!(s.unservable_warnings().len(), 1);
}

/// The seed article's scenarios 1 and 2 in motion: 100,000 TPM on a Claude 4 model,
/// output-only requests (input 0) with max_tokens equal to the output, two a minute (at 0 and
/// 30 s), served in 1 s + output / 1000 tok/s.
/// 10,000 output tokens: R = 10,000, C = 50,000 (+40,000 at completion). t=0 admit; 11 s →
/// 50,000; 30 s: 50,000 + 10,000 ≤ 100,000 admit; 41 s → 100,000. Both fit, every minute.
/// 20,000 output tokens: R = 20,000, C = 100,000. t=0 admit; 21 s → 100,000 ("remaining quota
/// this minute: 0"); 30 s: refused — the next request must wait for the next minute.
#[test]
fn seed_article_output_only_requests() {
    let s = scenario(
        "fixed-window",
        "tokens_per_minute = 100000",
        2.0,
        0,
        10_000,
        10_000,
        1000,
        "3m",
        "claude-sonnet-4",
    );
    let r = simulate(&s);
    assert_eq!((r.requests.succeeded, r.requests.failed), (6, 0));
    assert_eq!(r.tokens.quota_consumed, 6 * 50_000);
    assert_eq!(rows(&r), vec![(2, 0, 2, 100_000); 3]);

    let s = scenario(
        "fixed-window",
        "tokens_per_minute = 100000",
        2.0,
        0,
        20_000,
        20_000,
        1000,
        "3m",
        "claude-sonnet-4",
    );
    let r = simulate(&s);
    assert_eq!((r.requests.succeeded, r.requests.failed), (3, 3));
    assert_eq!(r.tokens.quota_consumed, 3 * 100_000);
    assert_eq!(rows(&r), vec![(1, 1, 1, 100_000); 3]);
}

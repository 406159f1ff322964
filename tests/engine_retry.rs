//! Engine-level retry tests, derived by hand from botocore's `standard` retry mode: a shared
//! retry quota of 500 units; a retry after a throttle takes 5; a success on the first
//! attempt gives back 1 and a success after retries gives back what its last retry took
//! (5), never above 500; without 5 units left a request fails without retrying. Backoff
//! before retry n (n = 1, 2, …) is U(0, 1) × min(2^(n−1), 20) s.
//!
//! Every test drives the retries with throttles only (no 503s), so the 503 path's numbers
//! and the model's default speeds do not enter: every service time is set explicitly.

use std::collections::HashMap;
use std::io::Write;

use quotasim::Scenario;
use quotasim::engine::{Observer, TraceEvent, simulate_with};
use quotasim::guard::Limits;
use quotasim::quota::Quota;

fn run(text: &str) -> quotasim::Report {
    let s = Scenario::from_toml_str(text, "retry.toml").unwrap();
    simulate_with(&s, &Limits::default(), None).unwrap()
}

/// `n` requests, one a second, each reserving 2000 + 1 quota tokens against a 1000 TPM
/// quota: unservable, so every attempt is throttled.
fn unservable(n: u32, max_attempts: Option<u32>) -> String {
    let mut t = format!(
        r#"
duration = "{n}s"
[model]
preset = "other"
[quota]
tokens_per_minute = 1000
[service]
ttft = "10ms"
ttft_per_1k_input = "0ms"
output_tokens_per_second = 100
throttle_latency = "100ms"
[client]
retry = "aws-standard"
"#
    );
    if let Some(a) = max_attempts {
        t += &format!("max_attempts = {a}\n");
    }
    t += r#"
[arrivals]
process = "constant"
rate_per_minute = 60
[requests.big]
input_tokens = 2000
output_tokens = 1
max_tokens = 1
"#;
    t
}

/// Every request is unservable and nothing ever succeeds, so nothing is given back: the
/// 500-unit retry quota pays for exactly 500 / 5 = 100 retries in the whole run. With 60
/// requests of up to 3 attempts (up to 120 retries wanted), the quota runs out first:
/// attempts sent = 60 first attempts + 100 retries = arrived + 100.
#[test]
fn all_unservable_under_aws_standard_sends_arrived_plus_100() {
    let r = run(&unservable(60, None));
    assert_eq!(r.requests.arrived, 60);
    assert_eq!(r.requests.unservable, 60);
    assert_eq!(r.requests.failed, 60);
    assert_eq!(r.attempts.sent, r.requests.arrived + 100);
    assert_eq!(r.attempts.throttled, r.attempts.sent);
    assert_eq!(r.attempts.admitted, 0);
}

/// With 30 requests, 60 retries are wanted and 100 affordable: every request makes its 3
/// attempts (the quota is not what stops them).
#[test]
fn all_unservable_with_quota_to_spare_makes_every_attempt() {
    let r = run(&unservable(30, None));
    assert_eq!(r.requests.arrived, 30);
    assert_eq!(r.attempts.sent, 90);
}

/// A trace, so that every request is placed by hand. Model "other" (1:1), fixed window of
/// 1000 quota tokens, ttft 50 ms, 1,000,000 output tokens/s (outputs take ≤ 20 µs).
///
/// - D1…D5 at 0–4 ms: input 1, output 1, max_tokens 1: reserve 2, cost 2, no refund. They
///   succeed on the first attempt (+1 each to a quota already at 500: capped, stays 500).
/// - B at 10 ms: input 900, max_tokens 50, output 1: reserve 950 (window 960), settles to
///   901 at 60 ms (window 911). First-try success: +1, capped: 500.
/// - A at 20 ms: input 40, output 20, max_tokens 20: reserve 60. 960 + 60 > 1000: throttled.
///   The throttle comes back at 120 ms: a retry takes 5 (495) and sleeps U(0, 1) s, so the
///   retry goes out after 120 ms, when B has settled: 911 + 60 ≤ 1000, admitted; it
///   succeeds after a retry and gives back its retry cost, 5: the quota is 500 again.
/// - C1…C60 from 10 s, 0.1 s apart: input 5000, max_tokens 1: unservable (5001 > 1000),
///   throttled on every attempt; they get 500 / 5 = 100 retries between them.
///
/// Attempts: 5 (D) + 1 (B) + 2 (A) + 60 + 100 (C) = 168; throttled 1 + 160 = 161.
///
/// Had A's success given back nothing (or had the engine passed 0 as its last retry cost),
/// the C requests would find 495 units: 99 retries, 167 attempts. Had first-try successes
/// been given back above the 500 cap, they would find 506: 101 retries, 169 attempts.
#[test]
fn a_retried_success_gives_back_its_retry_cost() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("timestamp,input_tokens,output_tokens,max_tokens\n");
    for i in 0..5 {
        csv += &format!("0.00{i},1,1,1\n");
    }
    csv += "0.010,900,1,50\n";
    csv += "0.020,40,20,20\n";
    for i in 0..60 {
        csv += &format!("{}.{},5000,1,1\n", 10 + i / 10, i % 10);
    }
    let mut f = std::fs::File::create(dir.path().join("t.csv")).unwrap();
    f.write_all(csv.as_bytes()).unwrap();
    let text = r#"
duration = "1m"
[model]
preset = "other"
[quota]
tokens_per_minute = 1000
[service]
ttft = "50ms"
ttft_per_1k_input = "0ms"
output_tokens_per_second = 1000000
throttle_latency = "100ms"
[client]
retry = "aws-standard"
[arrivals]
process = "trace"
file = "t.csv"
"#;
    let path = dir.path().join("s.toml");
    std::fs::write(&path, text).unwrap();
    let s = Scenario::from_path(&path, &[]).unwrap();
    let mut log = Attempts::default();
    let r = simulate_with(&s, &Limits::default(), Some(&mut log)).unwrap();
    assert_eq!(r.requests.arrived, 67);
    assert_eq!(r.requests.succeeded, 7);
    assert_eq!(r.requests.failed, 60);
    assert_eq!(r.requests.unservable, 60);
    // A (the seventh request) was throttled at 20 ms and admitted after B settled at 60 ms.
    let a = &log.times[&6];
    assert_eq!(a.len(), 2, "{a:?}");
    assert_eq!(a[0], 20_000);
    assert!(a[1] > 120_000, "{a:?}");
    assert_eq!(r.attempts.sent, 168);
    assert_eq!(r.attempts.throttled, 161);
    assert_eq!(r.attempts.admitted, 7);
}

/// Attempt times per request, by order of arrival (0 = the first request).
#[derive(Default)]
struct Attempts {
    /// slot → arrival index of the request holding it (slots are reused).
    holder: HashMap<u32, u32>,
    arrived: u32,
    times: HashMap<u32, Vec<u64>>,
}

impl Observer for Attempts {
    fn on_event(&mut self, e: &TraceEvent, _: &Quota) {
        match *e {
            TraceEvent::Arrived { slot, .. } => {
                self.holder.insert(slot, self.arrived);
                self.arrived += 1;
            }
            TraceEvent::Admitted { t, slot, .. } | TraceEvent::Throttled { t, slot, .. } => {
                let k = self.holder[&slot];
                self.times.entry(k).or_default().push(t);
            }
            _ => {}
        }
    }
}

/// With 8 attempts, retries 6 and 7 would back off U(0, 1) × 2^5 and × 2^6 s without the
/// 20 s cap: they sleep U(0, 20) s instead. 10 unservable requests want 70 retries (350 of
/// the 500 units), so each makes all 8 attempts. Attempt n + 1 goes out 100 ms (the throttle
/// latency) plus the backoff after attempt n.
#[test]
fn backoff_is_capped_at_20_seconds() {
    let s = Scenario::from_toml_str(&unservable(10, Some(8)), "cap.toml").unwrap();
    let mut log = Attempts::default();
    let r = simulate_with(&s, &Limits::default(), Some(&mut log)).unwrap();
    assert_eq!(r.requests.arrived, 10);
    assert_eq!(r.attempts.sent, 80);
    let mut capped = Vec::new();
    for (k, times) in &log.times {
        assert_eq!(times.len(), 8, "request {k}: {times:?}");
        for (i, w) in times.windows(2).enumerate() {
            let n = i as u32 + 1; // the retry after attempt n
            let sleep = w[1] - w[0] - 100_000;
            let bound = (1u64 << (n - 1)).min(20) * 1_000_000;
            assert!(
                sleep <= bound,
                "request {k}: retry {n} slept {sleep} µs > {bound}"
            );
            if n >= 6 {
                capped.push(sleep);
            }
        }
    }
    // 20 sleeps drawn from U(0, 20 s): some come close to the cap (a cap lower than 20 s
    // would show here), none above it (a 30 s cap would put a third of them above).
    assert_eq!(capped.len(), 20);
    assert!(capped.iter().any(|&s| s > 16_000_000), "{capped:?}");
}

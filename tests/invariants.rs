//! Invariants that must hold for every seed, checked over many seeds and limiter/retry
//! combinations on a workload that throttles heavily.

use quotasim::{Override, Scenario, simulate};

const BASE: &str = r#"
duration = "5m"
warmup = "30s"
[model]
preset = "claude-sonnet-4"
[quota]
tokens_per_minute = 60000
requests_per_minute = 40
[service]
error_rate = 0.05
[client]
concurrency = 12
max_tokens = 2048
[arrivals]
process = "poisson"
rate_per_minute = 60
[requests.a]
input_tokens = { dist = "lognormal", median = 800, p95 = 4000 }
output_tokens = { dist = "exponential", mean = 400 }
[requests.b]
weight = 0.3
input_tokens = { dist = "uniform", min = 10, max = 20000 }
cache_write_tokens = { dist = "normal", mean = 500, sd = 300 }
output_tokens = { dist = "normal", mean = 1500, sd = 900 }
max_tokens = 1000
"#;

#[test]
fn accounting_identities_hold_for_every_seed() {
    for limiter in ["fixed-window", "sliding-window", "token-bucket"] {
        for retry in ["none", "aws-legacy", "aws-standard"] {
            for seed in 0..8u64 {
                let o = |s: String| Override::parse(&s).unwrap();
                let s = Scenario::from_toml_str_with(
                    BASE,
                    "inv.toml",
                    &[
                        o(format!("quota.limiter={limiter}")),
                        o(format!("client.retry={retry}")),
                        o(format!("seed={seed}")),
                    ],
                )
                .unwrap();
                let r = simulate(&s);
                let ctx = format!("{limiter} {retry} seed {seed}");
                let q = &r.requests;
                let a = &r.attempts;
                assert_eq!(q.arrived, q.succeeded + q.failed + q.unfinished, "{ctx}");
                assert_eq!(q.unfinished, 0, "{ctx}: runs complete");
                assert_eq!(a.sent, a.admitted + a.throttled, "{ctx}");
                let by = &a.throttled_by;
                assert_eq!(
                    a.throttled,
                    by.requests_per_minute + by.tokens_per_minute + by.tokens_per_day,
                    "{ctx}"
                );
                assert_eq!(
                    a.admitted,
                    q.succeeded + a.server_errors,
                    "{ctx}: every admitted attempt ends in success or 503"
                );
                assert!(
                    a.sent <= q.arrived * u64::from(s.client.max_attempts),
                    "{ctx}"
                );
                assert!(
                    a.sent >= q.arrived,
                    "{ctx}: every request makes at least one attempt"
                );
                assert!(q.truncated <= q.succeeded, "{ctx}");
                // Per-minute rows cover the whole run and count every attempt.
                let adm: u64 = r.timeline.iter().map(|m| m.admitted).sum();
                let thr: u64 = r.timeline.iter().map(|m| m.throttled).sum();
                assert!(
                    adm >= a.admitted && thr >= a.throttled,
                    "{ctx}: the timeline includes warm-up"
                );
                assert_eq!(
                    r.timeline.len() as f64,
                    (r.simulated_seconds / 60.0).floor() + 1.0,
                    "{ctx}"
                );
                if limiter == "fixed-window" {
                    // RPM is never settled, so a fixed window's admissions are a hard cap.
                    for m in &r.timeline {
                        assert!(
                            m.admitted <= 40,
                            "{ctx}: RPM 40 is a hard cap per fixed window"
                        );
                    }
                }
                if retry == "none" {
                    assert_eq!(a.sent, q.arrived, "{ctx}");
                }
            }
        }
    }
}

#[test]
fn quota_consumed_matches_throughput_without_warmup() {
    // With no warm-up and every completion inside the run, the report's two views of
    // consumption agree: throughput × minutes = tokens over requests that finished in time.
    let s = Scenario::from_toml_str_with(BASE, "inv.toml", &[Override::parse("warmup=0").unwrap()])
        .unwrap();
    let r = simulate(&s);
    let minutes = 5.0;
    assert!(
        r.throughput.quota_tokens_per_minute * minutes <= r.tokens.quota_consumed as f64 + 1e-6
    );
    assert!(r.tokens.reserved > 0);
}

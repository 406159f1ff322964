//! The report's `cost` block, derived by hand: successful attempts' input, output,
//! cache-write and cache-read tokens at the model's on-demand price per million tokens.

use std::path::Path;

use quotasim::{Override, Scenario, simulate};
use serde_json::Value;

mod common;

use common::{close, load_with, qs, usd, write};

/// USD per million tokens: (input, output, cache write, cache read), as published.
const SONNET: [f64; 4] = [3.0, 15.0, 3.75, 0.3];
const OPUS: [f64; 4] = [15.0, 75.0, 18.75, 1.5];
const HAIKU_4_5: [f64; 4] = [1.0, 5.0, 1.25, 0.1];

const DETERMINISTIC: &str = r#"
duration = "10m"
warmup = "1m"
[model]
preset = "claude-sonnet-4"
[quota]
tokens_per_minute = 10000000
[arrivals]
process = "constant"
rate_per_minute = 60
[requests.a]
input_tokens = 1000
output_tokens = 300
max_tokens = 200
cache_write_tokens = 100
cache_read_tokens = 2000
"#;

fn scenario(text: &str, sets: &[&str]) -> Scenario {
    load_with("cost.toml", text, sets)
}

#[test]
fn deterministic_scenario_by_hand() {
    let r = simulate(&scenario(DETERMINISTIC, &[]));
    // One arrival per second over [1m, 10m): 540 requests, every one served; output is cut
    // at max_tokens 200 and those 200 tokens are billed.
    assert_eq!((r.requests.arrived, r.requests.succeeded), (540, 540));
    assert_eq!(r.requests.truncated, 540);
    // 540 × (1000 × 3 + 200 × 15 + 100 × 3.75 + 2000 × 0.3) / 1e6 = 540 × 6975 / 1e6
    let total = 540.0 * 6975.0 / 1e6;
    assert!(close(r.cost.usd.unwrap(), total), "{:?}", r.cost);
    assert!(close(r.cost.usd_per_success.unwrap(), 0.006975));
    // 9 measured minutes = 0.15 h
    assert!(close(r.cost.usd_per_hour.unwrap(), total / 0.15));
}

#[test]
fn scenario_prices_override_the_preset() {
    let r = simulate(&scenario(
        DETERMINISTIC,
        &["model.prices.output=10", "model.prices.cache_read=0"],
    ));
    // input and cache_write keep Sonnet's 3 and 3.75
    let per = (1000.0 * 3.0 + 200.0 * 10.0 + 100.0 * 3.75) / 1e6;
    assert!(close(r.cost.usd.unwrap(), 540.0 * per), "{:?}", r.cost);
}

#[test]
fn a_model_without_a_price_has_null_cost_unless_given_one() {
    let other = DETERMINISTIC.replace("claude-sonnet-4", "other");
    let r = simulate(&scenario(&other, &[]));
    assert_eq!(
        (r.cost.usd, r.cost.usd_per_success, r.cost.usd_per_hour),
        (None, None, None)
    );
    let json = r.render(quotasim::report::Format::Json, Default::default());
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["cost"]["usd"], Value::Null);
    let given = scenario(
        &other,
        &[
            "model.prices.input=1",
            "model.prices.output=2",
            "model.prices.cache_write=0",
            "model.prices.cache_read=0",
        ],
    );
    let r = simulate(&given);
    assert!(close(r.cost.usd.unwrap(), 540.0 * (1000.0 + 400.0) / 1e6));
    // Without a preset price every key is needed.
    let err = Scenario::from_toml_str_with(
        &other,
        "cost.toml",
        &[Override::parse("model.prices.input=1").unwrap()],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("model.prices.output"), "{err}");
    let err = Scenario::from_toml_str_with(
        DETERMINISTIC,
        "cost.toml",
        &[Override::parse("model.prices.input=-1").unwrap()],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("model.prices.input"), "{err}");
}

#[test]
fn throttled_attempts_cost_nothing() {
    // A tight quota with retries: many attempts are throttled, and only successes are billed.
    let r = simulate(&scenario(
        DETERMINISTIC,
        &["quota.tokens_per_minute=20000", "client.max_attempts=4"],
    ));
    assert!(r.attempts.throttled > 100, "{:?}", r.attempts);
    assert!(r.requests.failed > 0);
    let s = r.requests.succeeded;
    let want = usd(SONNET, 1000 * s, 200 * s, 100 * s, 2000 * s);
    assert!(close(r.cost.usd.unwrap(), want), "{:?} vs {want}", r.cost);
}

#[test]
fn an_attempt_the_client_timed_out_on_is_still_billed() {
    // Service takes 0.8 s + 200 tokens at 60 tokens/s ≈ 4.1 s; the client gives up after 1 s
    // but the provider finishes and bills every attempt.
    let r = simulate(&scenario(DETERMINISTIC, &["client.timeout=\"1s\""]));
    assert_eq!(r.requests.failed_by.timeout, 540);
    assert_eq!(r.requests.succeeded, 0);
    assert!(close(r.cost.usd.unwrap(), 540.0 * 6975.0 / 1e6));
    assert_eq!(r.cost.usd_per_success, None);
}

/// The pinned short-form reports keep their counts; their cost follows from them. Cache
/// writes are billed at the input rate for the quota, so with burndown (1, 5) they are
/// `quota_consumed − input − 5 × output`.
fn pinned_cost(name: &str, prices: [f64; 4], cache_read_per_success: Option<u64>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/short_form");
    let pinned: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap())
            .unwrap();
    let t = &pinned["tokens"];
    let (input, output, consumed) = (
        t["input"].as_u64().unwrap(),
        t["output"].as_u64().unwrap(),
        t["quota_consumed"].as_u64().unwrap(),
    );
    let write = consumed - input - 5 * output;
    let s = Scenario::from_path(&dir.join(format!("{name}.toml")), &[]).unwrap();
    let r = simulate(&s);
    let succeeded = pinned["requests"]["succeeded"].as_u64().unwrap();
    assert_eq!(r.requests.succeeded, succeeded);
    let got = r.cost.usd.unwrap();
    match cache_read_per_success {
        None => {
            let want = usd(prices, input, output, write, 0);
            assert!(close(got, want), "{name}: {got} vs {want}");
        }
        Some(per) => {
            // Only some classes read the cache: the reads are `per` × the successes of
            // those classes, a whole number of requests between 0 and every success.
            let rest = usd(prices, input, output, write, 0);
            let k = (got - rest) / (per as f64 * prices[3] / 1e6);
            assert!(
                (k - k.round()).abs() < 1e-6 && k.round() >= 1.0 && k.round() < succeeded as f64,
                "{name}: {k}"
            );
        }
    }
    let minutes = (s.duration_us - s.warmup_us) as f64 / 60e6;
    assert!(close(r.cost.usd_per_hour.unwrap(), got / (minutes / 60.0)));
    assert!(close(
        r.cost.usd_per_success.unwrap(),
        got / succeeded as f64
    ));
}

#[test]
fn cache_reads_are_billed_per_successful_request() {
    // Cache reads change neither the quota charge nor the service time, so doubling the rag
    // class's reads leaves every count alone and adds exactly 4,000 × k × $0.30 / 1e6, k being
    // the rag successes the pinned report's cost already implies.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/short_form");
    let path = dir.join("chat_sonnet4.toml");
    let base = simulate(&Scenario::from_path(&path, &[]).unwrap());
    let more = simulate(
        &Scenario::from_path(
            &path,
            &[Override::parse("requests.rag.cache_read_tokens=8000").unwrap()],
        )
        .unwrap(),
    );
    assert_eq!(base.requests, more.requests);
    assert_eq!(base.tokens, more.tokens);
    let k = (more.cost.usd.unwrap() - base.cost.usd.unwrap()) / (4000.0 * SONNET[3] / 1e6);
    assert!((k - k.round()).abs() < 1e-6, "{k}");
    let rest = usd(SONNET, base.tokens.input, base.tokens.output, 0, 0);
    let reads = 4000 * k.round() as u64;
    assert!(close(
        base.cost.usd.unwrap(),
        usd(SONNET, base.tokens.input, base.tokens.output, 0, reads)
    ));
    assert!(base.cost.usd.unwrap() > rest);
}

#[test]
fn pinned_reports_cost_follows_from_their_counts() {
    pinned_cost("fixed_rpm_tpd", SONNET, None);
    pinned_cost("sliding_legacy", OPUS, None);
    pinned_cost("bucket_closed_loop", HAIKU_4_5, None);
    pinned_cost("chat_sonnet4", SONNET, Some(4000));
}

#[test]
fn cost_is_a_metric_for_assert_sweep_and_compare() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "det.toml", DETERMINISTIC);
    // run --assert
    qs().arg("run")
        .arg(&path)
        .args(["--assert", "cost.usd_per_hour <= 25.2"])
        .assert()
        .success();
    qs().arg("run")
        .arg(&path)
        .args(["--assert", "cost.usd_per_success < 0.005"])
        .assert()
        .code(1);
    // CSV rows and the table section
    let csv = qs()
        .arg("run")
        .arg(&path)
        .args(["--format", "csv"])
        .output()
        .unwrap();
    let csv = String::from_utf8_lossy(&csv.stdout);
    // full precision: 540 × 6975 / 1e6 = 3.7665 dollars, over 0.15 h = 25.11 per hour
    let row = |metric: &str| -> f64 {
        csv.lines()
            .find_map(|l| l.strip_prefix(&format!("{metric},")))
            .unwrap_or_else(|| panic!("no {metric} in {csv}"))
            .parse()
            .unwrap()
    };
    assert!(close(row("cost.usd"), 3.7665), "{csv}");
    assert!(close(row("cost.usd_per_hour"), 3.7665 / 0.15), "{csv}");
    let table = qs().arg("run").arg(&path).output().unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("cost USD      total                 3.7665"),
        "{table}"
    );
    // sweep metric, objective and constraint
    let out = qs()
        .arg("sweep")
        .arg(&path)
        .args([
            "--vary",
            "requests.a.max_tokens=100,200",
            "--format",
            "json",
            "-q",
        ])
        .args([
            "--objective",
            "maximize:throughput.output_tokens_per_minute",
        ])
        .args(["--constraint", "cost.usd_per_hour <= 20"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = v.to_string();
    assert!(text.contains("usd_per_hour"), "{text}");
    // max_tokens 100: 540 × (3000 + 1500 + 375 + 600) / 1e6 / 0.15 = 19.71 (within 20);
    // max_tokens 200: 25.11 (not).
    assert_eq!(v["recommendation"]["feasible"], 1, "{text}");
    assert_eq!(v["recommendation"]["best"]["index"], 0, "{text}");
    // compare: a cost increase is a regression
    let base = dir.path().join("base.json");
    let cur = dir.path().join("cur.json");
    for (file, max) in [(&base, "100"), (&cur, "200")] {
        let o = qs()
            .arg("run")
            .arg(&path)
            .args(["--set", &format!("requests.a.max_tokens={max}")])
            .args(["--format", "json"])
            .output()
            .unwrap();
        std::fs::write(file, o.stdout).unwrap();
    }
    let o = qs()
        .arg("compare")
        .arg(&base)
        .arg(&cur)
        .arg("--changes")
        .output()
        .unwrap();
    // The cost per success rose (more output billed per request): a regression, judged by
    // default; total cost alone would need --gate-total-cost.
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("cost.usd_per_success ") && l.ends_with("REGRESSED")),
        "{text}"
    );
}

/// Every bundled preset's prices, typed in by hand from Anthropic's pricing page
/// (platform.claude.com/docs/en/about-claude/pricing, a copy read on 2026-12-06; USD per million
/// tokens: base input, output, 5-minute cache writes, cache hits). Claude 3.5 Sonnet has left
/// that page; its prices are those it was sold at ($3 / $15, cache 1.25× and 0.1× input).
/// `other` has no price.
/// The 2026 rows: Anthropic's models overview and pricing pages as quoted in 2026 sources
/// (USD per million tokens; cache writes 1.25× and hits 0.1× input where only input and output
/// are published).
const PUBLISHED: [(&str, Option<[f64; 4]>); 22] = [
    ("claude-opus-4-8", Some([5.0, 25.0, 6.25, 0.5])),
    ("claude-sonnet-5", Some([2.0, 10.0, 2.5, 0.2])),
    ("claude-opus-5", Some([5.0, 25.0, 6.25, 0.5])),
    ("claude-fable-5", Some([10.0, 50.0, 12.5, 1.0])),
    ("claude-fable-5-1", Some([10.0, 50.0, 12.5, 1.0])),
    ("claude-opus-5-5", Some([4.0, 20.0, 5.0, 0.4])),
    ("claude-sonnet-5-5", Some([2.0, 10.0, 2.5, 0.2])),
    ("claude-haiku-5-5", Some([0.1, 0.5, 0.125, 0.01])),
    ("claude-opus-4-7", Some([5.0, 25.0, 6.25, 0.5])),
    ("claude-opus-4-6", Some([5.0, 25.0, 6.25, 0.5])),
    ("claude-sonnet-4-6", Some([3.0, 15.0, 3.75, 0.3])),
    ("claude-opus-4-5", Some([5.0, 25.0, 6.25, 0.5])),
    ("claude-haiku-4-5", Some([1.0, 5.0, 1.25, 0.1])),
    ("claude-sonnet-4-5", Some([3.0, 15.0, 3.75, 0.3])),
    ("claude-opus-4-1", Some([15.0, 75.0, 18.75, 1.5])),
    ("claude-opus-4", Some([15.0, 75.0, 18.75, 1.5])),
    ("claude-sonnet-4", Some([3.0, 15.0, 3.75, 0.3])),
    ("claude-3-7-sonnet", Some([3.0, 15.0, 3.75, 0.3])),
    ("claude-3-5-sonnet", Some([3.0, 15.0, 3.75, 0.3])),
    ("claude-3-5-haiku", Some([0.8, 4.0, 1.0, 0.08])),
    ("claude-3-haiku", Some([0.25, 1.25, 0.3, 0.03])),
    ("other", None),
];

/// Each preset bills at its published prices, through a run: one request a minute for
/// 1 minute, 1,000 input, 100 output, 200 cache-write and 3,000 cache-read tokens, so
/// `cost.usd` = (1,000 × input + 100 × output + 200 × write + 3,000 × read) / 1e6. And
/// every bundled preset is in the list above.
#[test]
fn every_preset_bills_at_its_published_prices() {
    let names: Vec<&str> = quotasim::quota::models::preset_names().collect();
    let listed: Vec<&str> = PUBLISHED.iter().map(|(n, _)| *n).collect();
    let mut a = names.clone();
    let mut b = listed.clone();
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b, "bundled presets vs the published list");
    for (name, prices) in PUBLISHED {
        let text = format!(
            r#"
duration = "1m"
[model]
preset = "{name}"
[quota]
tokens_per_minute = 10000000
[arrivals]
process = "constant"
rate_per_minute = 1
[requests.a]
input_tokens = 1000
output_tokens = 100
max_tokens = 100
cache_write_tokens = 200
cache_read_tokens = 3000
"#
        );
        let r = simulate(&scenario(&text, &[]));
        assert_eq!(r.requests.succeeded, 1, "{name}");
        match prices {
            Some(p) => {
                let want = (1000.0 * p[0] + 100.0 * p[1] + 200.0 * p[2] + 3000.0 * p[3]) / 1e6;
                let got = r.cost.usd.unwrap();
                assert!(
                    (got - want).abs() <= 1e-12 * want,
                    "{name}: {got} vs {want}"
                );
            }
            None => assert_eq!(r.cost.usd, None, "{name}"),
        }
    }
}

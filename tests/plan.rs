//! `quotasim plan`: its answer checked against sweeps at and next to the value it returns,
//! `demand` checked against a run without quota, and the invalid inputs.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

mod common;

use common::{qs, write};

const SCENARIO: &str = r#"
name = "plan-test"
seed = 11
duration = "20m"
warmup = "2m"
[model]
preset = "claude-sonnet-4"
[quota]
tokens_per_minute = 100000
[client]
concurrency = 16
max_tokens = 2048
[arrivals]
process = "poisson"
rate_per_minute = 30
[requests.chat]
input_tokens = { dist = "lognormal", median = 1500, p95 = 8000 }
output_tokens = { dist = "lognormal", median = 300, p95 = 1500 }
"#;

fn scenario(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    write(dir.path(), "plan-test.toml", text)
}

fn json_of(cmd: &mut Command) -> Value {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn plan(path: &Path, args: &[&str]) -> Value {
    json_of(
        qs().arg("plan")
            .arg(path)
            .args(args)
            .args(["--format", "json"]),
    )
}

/// The sweep of `path` over `values` of `key` with `replications`, as JSON.
fn sweep(path: &Path, key: &str, values: &[u64], replications: usize, sets: &[&str]) -> Value {
    let list: Vec<String> = values.iter().map(u64::to_string).collect();
    let mut cmd = qs();
    cmd.arg("sweep")
        .arg(path)
        .args(["--vary", &format!("{key}={}", list.join(","))])
        .args(["--replications", &replications.to_string()])
        .args(["--format", "json", "-q"]);
    for s in sets {
        cmd.args(["--set", s]);
    }
    json_of(&mut cmd)
}

fn values_of(plan: &Value) -> Vec<u64> {
    plan["evaluated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["value"].as_u64().unwrap())
        .collect()
}

/// The upper end of the sweep's 95% interval of `metric` at point `i`.
fn upper(sweep: &Value, i: usize, metric: &[&str]) -> f64 {
    let mut m = &sweep["points"][i]["metrics"];
    for k in metric {
        m = &m[*k];
    }
    m["mean"].as_f64().unwrap() + m["ci95_half_width"].as_f64().unwrap()
}

#[test]
fn smallest_quota_agrees_with_sweeps_at_and_below_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(&dir, SCENARIO);
    let p = plan(
        &path,
        &[
            "--find",
            "quota.tokens_per_minute",
            "--constraint",
            "throttle_rate <= 0.01",
            "--replications",
            "4",
        ],
    );
    assert_eq!(p["direction"], "smallest");
    assert_eq!(p["outcome"], "found");
    assert_eq!(p["monotonic"], true);
    let value = p["value"].as_u64().unwrap();
    let bracket: Vec<u64> = p["bracket"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let resolution = p["resolution"].as_u64().unwrap();
    // [lo, hi]: hi is the value, lo fails, at most one resolution apart.
    assert_eq!(bracket[1], value);
    assert!(
        bracket[0] < value && value - bracket[0] <= resolution,
        "{bracket:?}"
    );
    // The sweep at the value and just below it.
    let s = sweep(
        &path,
        "quota.tokens_per_minute",
        &[bracket[0], value],
        4,
        &[],
    );
    assert!(upper(&s, 1, &["throttle_rate"]) <= 0.01, "{s}");
    assert!(upper(&s, 0, &["throttle_rate"]) > 0.01, "{s}");
    // Metrics at the value are exactly the sweep's.
    assert_eq!(p["metrics"], s["points"][1]["metrics"]);
    // Every value plan evaluated is reproduced by the sweep with the same replications.
    let values = values_of(&p);
    assert!(values.len() >= 3, "{values:?}");
    let all = sweep(&path, "quota.tokens_per_minute", &values, 4, &[]);
    for (i, e) in p["evaluated"].as_array().unwrap().iter().enumerate() {
        assert_eq!(
            e["metrics"], all["points"][i]["metrics"],
            "value {}",
            e["value"]
        );
    }
    // Efficiency: a grid at the same resolution would run at least 5× as many simulations.
    let (sims, grid) = (
        p["simulations"].as_u64().unwrap(),
        p["grid_simulations"].as_u64().unwrap(),
    );
    assert_eq!(sims, 4 * values.len() as u64);
    assert!(grid >= 5 * sims, "{sims} vs {grid}");
}

#[test]
fn largest_concurrency_with_set_and_two_constraints() {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(&dir, SCENARIO);
    let sets = ["quota.tokens_per_minute=160000"];
    let p = plan(
        &path,
        &[
            "--find",
            "concurrency",
            "--max",
            "--range",
            "1..40",
            "--constraint",
            "throttle_rate <= 0.02",
            "--constraint",
            "cost.usd_per_hour <= 100",
            "--replications",
            "3",
            "--set",
            sets[0],
        ],
    );
    assert_eq!(p["direction"], "largest");
    assert_eq!(p["outcome"], "found", "{p}");
    let value = p["value"].as_u64().unwrap();
    let bracket = [
        p["bracket"][0].as_u64().unwrap(),
        p["bracket"][1].as_u64().unwrap(),
    ];
    // For the largest value, lo is the value and hi fails.
    assert_eq!(bracket[0], value);
    assert_eq!(bracket[1], value + 1);
    let s = sweep(&path, "client.concurrency", &[value, value + 1], 3, &sets);
    assert!(upper(&s, 0, &["throttle_rate"]) <= 0.02, "{s}");
    assert!(upper(&s, 1, &["throttle_rate"]) > 0.02, "{s}");
    assert!(upper(&s, 0, &["cost", "usd_per_hour"]) <= 100.0);
    assert_eq!(p["metrics"], s["points"][0]["metrics"]);
}

#[test]
fn says_when_constraints_hold_nowhere_or_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(&dir, SCENARIO);
    let everywhere = plan(
        &path,
        &[
            "--find",
            "quota.tokens_per_minute",
            "--range",
            "500000..900000",
            "--constraint",
            "throttle_rate <= 0.01",
            "--replications",
            "2",
        ],
    );
    assert_eq!(everywhere["outcome"], "holds_everywhere");
    assert_eq!(everywhere["value"], 500000);
    assert_eq!(everywhere["bracket"], Value::Null);
    assert_eq!(everywhere["simulations"], 4);
    let nowhere = plan(
        &path,
        &[
            "--find",
            "quota.tokens_per_minute",
            "--range",
            "1000..20000",
            "--constraint",
            "throttle_rate <= 0.01",
            "--replications",
            "2",
        ],
    );
    assert_eq!(nowhere["outcome"], "holds_nowhere");
    assert_eq!(nowhere["value"], Value::Null);
    assert_eq!(nowhere["metrics"], Value::Null);
    // The table says so in words.
    let out = qs()
        .arg("plan")
        .arg(&path)
        .args([
            "--find",
            "quota.tokens_per_minute",
            "--range",
            "1000..20000",
        ])
        .args([
            "--constraint",
            "throttle_rate <= 0.01",
            "--replications",
            "2",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("hold at neither end"), "{text}");
}

#[test]
fn wrong_direction_is_a_monotonicity_warning() {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(&dir, SCENARIO);
    // Throttling falls as the quota grows, so "the largest quota with few throttles" holds
    // at the top and fails at the bottom: the search's assumption is violated.
    let out = qs()
        .arg("plan")
        .arg(&path)
        .args(["--find", "quota.tokens_per_minute", "--max"])
        .args(["--range", "20000..600000", "--replications", "2"])
        .args(["--constraint", "throttle_rate <= 0.01", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let p: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(p["outcome"], "holds_at_wrong_end");
    assert_eq!(p["monotonic"], false);
    assert!(String::from_utf8_lossy(&out.stderr).contains("drop --max"));
}

#[test]
fn the_same_answer_on_any_number_of_threads() {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(&dir, SCENARIO);
    let run = |threads: &str| {
        qs().arg("plan")
            .arg(&path)
            .args(["--find", "max_tokens", "--range", "100..8000"])
            .args([
                "--constraint",
                "truncation_rate <= 0.02",
                "--replications",
                "3",
            ])
            .args(["--threads", threads, "--format", "json"])
            .output()
            .unwrap()
            .stdout
    };
    let one = run("1");
    assert_eq!(one, run("2"));
    let p: Value = serde_json::from_slice(&one).unwrap();
    assert_eq!(p["outcome"], "found");
    assert_eq!(p["find"], "max_tokens");
}

/// Nearest-rank percentile of `v` (sorted in place).
fn nearest_rank(v: &mut [i64], p: usize) -> i64 {
    v.sort_unstable();
    let r = (p * v.len()).div_ceil(100).max(1);
    v[r - 1]
}

#[test]
fn demand_matches_a_run_without_quota() {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(&dir, SCENARIO);
    let p = plan(
        &path,
        &[
            "--find",
            "quota.tokens_per_minute",
            "--constraint",
            "throttle_rate <= 0.05",
            "--replications",
            "1",
        ],
    );
    // The same scenario with a quota nothing reaches, at the scenario's own seed.
    let r = json_of(qs().arg("run").arg(&path).args([
        "--set",
        "quota.tokens_per_minute=1125899906842624",
        "--format",
        "json",
    ]));
    assert_eq!(r["attempts"]["throttled"], 0);
    // Minutes starting in [2m, 20m): 2..=19.
    let rows = r["timeline"].as_array().unwrap();
    let col = |k: &str| -> Vec<i64> {
        (2..20)
            .map(|m| rows.get(m).map_or(0, |row| row[k].as_i64().unwrap()))
            .collect()
    };
    let d = &p["demand"];
    assert_eq!(d["minutes"], 18);
    for (key, field) in [
        ("quota_tokens_per_minute", "quota_charged"),
        ("requests_per_minute", "admitted"),
    ] {
        let mut v = col(field);
        for (stat, pct) in [("p50", 50), ("p90", 90), ("p99", 99), ("max", 100)] {
            assert_eq!(
                d[key][stat].as_i64().unwrap(),
                nearest_rank(&mut v, pct),
                "{key}.{stat}"
            );
        }
    }
    let succeeded = r["requests"]["succeeded"].as_f64().unwrap();
    assert_eq!(
        d["input_tokens_mean"].as_f64().unwrap(),
        r["tokens"]["input"].as_f64().unwrap() / succeeded
    );
    assert_eq!(
        d["output_tokens_mean"].as_f64().unwrap(),
        r["tokens"]["output"].as_f64().unwrap() / succeeded
    );
    let share = d["share_input_over_25k"].as_f64().unwrap();
    assert!((0.0..0.05).contains(&share), "{share}");
}

#[test]
fn demand_of_the_bundled_trace_comes_from_its_records() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let p = plan(
        &root.join("scenarios/replay-chat-trace.toml"),
        &[
            "--find",
            "quota.tokens_per_minute",
            "--range",
            "100000..1000000",
            "--resolution",
            "50000",
            "--constraint",
            "throttle_rate <= 0.01",
            "--replications",
            "1",
        ],
    );
    // Every record arrives in [0, 4h) and is served without a quota.
    let text = std::fs::read_to_string(root.join("scenarios/traces/chat-4h.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (ii, io, im) = (col("input_tokens"), col("output_tokens"), col("max_tokens"));
    let (mut n, mut input, mut output, mut large) = (0u64, 0u64, 0u64, 0u64);
    for line in lines.filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let i: u64 = f[ii].parse().unwrap();
        let o: u64 = f[io].parse().unwrap();
        let m: u64 = f[im].parse().unwrap();
        n += 1;
        input += i;
        output += o.min(m);
        large += u64::from(i > 25_000);
    }
    let d = &p["demand"];
    assert_eq!(d["minutes"], 240);
    assert_eq!(
        d["input_tokens_mean"].as_f64().unwrap(),
        input as f64 / n as f64
    );
    assert_eq!(
        d["output_tokens_mean"].as_f64().unwrap(),
        output as f64 / n as f64
    );
    assert_eq!(
        d["share_input_over_25k"].as_f64().unwrap(),
        large as f64 / n as f64
    );
    assert!(large > 0, "the trace has long prompts");
    let q = &d["quota_tokens_per_minute"];
    assert!(q["p50"].as_i64().unwrap() <= q["p99"].as_i64().unwrap());
    assert!(q["p99"].as_i64().unwrap() <= q["max"].as_i64().unwrap());
}

#[test]
fn bad_inputs_exit_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(&dir, SCENARIO);
    let ok = ["--constraint", "throttle_rate <= 0.01"];
    for (args, expect) in [
        (vec!["--find", "service.error_rate"], "not an integer key"),
        (vec!["--find", "duration"], "not an integer key"),
        (
            vec!["--find", "arrivals.rate_per_minute"],
            "not an integer key",
        ),
        (
            vec!["--find", "quota.no_such_key"],
            "unknown key `no_such_key`",
        ),
        (
            vec!["--find", "requests.chat"],
            "not an integer key (it holds a table)",
        ),
        (
            vec!["--find", "client.concurrency", "--range", "10..10"],
            "empty",
        ),
        (
            vec!["--find", "client.concurrency", "--range", "10..1"],
            "reversed",
        ),
        (
            vec!["--find", "client.concurrency", "--range", "ten..20"],
            "not an integer",
        ),
        (
            vec!["--find", "quota.tokens_per_minute", "--confidence", "0"],
            "strictly between 0 and 1",
        ),
        (
            vec!["--find", "quota.tokens_per_minute", "--confidence", "1"],
            "strictly between 0 and 1",
        ),
        (
            vec!["--find", "quota.tokens_per_minute", "--confidence", "-0.5"],
            "strictly between 0 and 1",
        ),
        (
            vec!["--find", "quota.tokens_per_minute", "--confidence", "95"],
            "strictly between 0 and 1",
        ),
        (
            vec![
                "--find",
                "concurrency",
                "--range",
                "1..18446744073709551615",
            ],
            "client.concurrency",
        ),
        (
            vec!["--find", "quota.tokens_per_minute", "--resolution", "0"],
            "--resolution 0",
        ),
        (
            vec!["--find", "quota.tokens_per_minute", "--replications", "0"],
            "--replications 0",
        ),
    ] {
        let out = qs()
            .arg("plan")
            .arg(&path)
            .args(&args)
            .args(ok)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    // A constraint on an unknown metric, with a suggestion; and no constraint at all.
    for (constraint, expect) in [
        (
            Some("throttle_rat <= 0.01"),
            "unknown metric `throttle_rat`",
        ),
        (Some("cost.dollars <= 3"), "unknown metric `cost.dollars`"),
        (Some("throttle_rate about 3"), "invalid constraint"),
        (None, "at least one --constraint"),
    ] {
        let mut cmd = qs();
        cmd.arg("plan")
            .arg(&path)
            .args(["--find", "quota.tokens_per_minute"]);
        if let Some(c) = constraint {
            cmd.args(["--constraint", c]);
        }
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{constraint:?}: {err}");
        assert!(err.contains(expect), "{constraint:?}: {err}");
    }
    // A key the scenario leaves unset has no default range.
    let unset = SCENARIO.replace("concurrency = 16\n", "");
    let path = scenario(&dir, &unset);
    let out = qs()
        .arg("plan")
        .arg(&path)
        .args(["--find", "client.concurrency"])
        .args(ok)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --range"));
}

#[test]
fn guard_rails_apply() {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(&dir, SCENARIO);
    let out = qs()
        .arg("plan")
        .arg(&path)
        .args(["--find", "quota.tokens_per_minute"])
        .args([
            "--constraint",
            "throttle_rate <= 0.01",
            "--max-events",
            "100",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-events"));
}

fn demand_of(text: &str) -> quotasim::plan::Demand {
    let s = quotasim::Scenario::from_toml_str(text, "demand.toml").unwrap();
    quotasim::plan::demand::demand(&s, |s, obs| {
        quotasim::engine::simulate_with(s, &quotasim::guard::Limits::default(), Some(obs))
            .map_err(|e| quotasim::Error::Runtime(format!("{:?}", e.reason)))
    })
    .unwrap()
}

#[test]
fn demand_by_hand_on_a_deterministic_scenario() {
    // One request a second, input 1000, output 30 (5× burndown), served in
    // 0.8 + 0.02 + 0.5 = 1.32 s: every minute after the first is charged its 60 reservations
    // and refunded down to the final cost of the 60 requests that completed in it, so it
    // nets 60 × (1000 + 5 × 30) = 69,000. A quota of 1,000 TPM would refuse every request:
    // demand ignores it. Minutes starting in [90 s, 5 m): 2, 3, 4.
    let text = r#"
        duration = "5m"
        warmup = "90s"
        [model]
        preset = "claude-sonnet-4"
        [quota]
        tokens_per_minute = 1000
        requests_per_minute = 3
        [arrivals]
        process = "constant"
        rate_per_minute = 60
        [requests.a]
        input_tokens = 1000
        output_tokens = 30
        max_tokens = 100
    "#;
    let d = demand_of(text);
    assert_eq!(d.minutes, 3);
    let q = d.quota_tokens_per_minute;
    assert_eq!(
        (q.p50, q.p90, q.p99, q.max),
        (69_000, 69_000, 69_000, 69_000)
    );
    let r = d.requests_per_minute;
    assert_eq!((r.p50, r.max), (60, 60));
    assert_eq!(d.input_tokens_mean, Some(1000.0));
    assert_eq!(d.output_tokens_mean, Some(30.0));
    assert_eq!(d.share_input_over_25k, Some(0.0));
    // Above 25,000 input tokens: every request counts.
    let big = demand_of(&text.replace("input_tokens = 1000", "input_tokens = 25001"));
    assert_eq!(big.share_input_over_25k, Some(1.0));
    let edge = demand_of(&text.replace("input_tokens = 1000", "input_tokens = 25000"));
    assert_eq!(edge.share_input_over_25k, Some(0.0));
}

/// Constant traffic (10 a minute, one every 6 s) on a pool of 500 TPM and an account limit of
/// 2 requests a minute: each request reserves and costs I + M = 100 + 10 = 110 (preset
/// "other"), so the pool admits 4 a minute and the account 2.
const LIMITED: &str = r#"
duration = "5m"
[pools.only]
tokens_per_minute = 500
[[account.limits]]
name = "account_requests"
counts = "requests"
per = "minute"
limit = 2
[workloads.app]
[workloads.app.client]
concurrency = 4
retry = "none"
[workloads.app.arrivals]
process = "constant"
rate_per_minute = 10
[workloads.app.requests.q]
input_tokens = 100
output_tokens = 10
max_tokens = 10
"#;

/// `--max` when the constraint holds on the whole range: the answer is the range's top.
/// `throttle_rate <= 1` holds at any value. And `demand` lifts the account's limits as well
/// as the pool's: every minute admits all 10 requests (the account alone would allow 2, the
/// pool 4) and is charged 10 × 110 = 1,100 quota tokens.
#[test]
fn plan_max_holding_everywhere_answers_the_top_and_demand_lifts_account_limits() {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(&dir, LIMITED);
    let p = plan(
        &path,
        &[
            "--find",
            "workloads.app.client.concurrency",
            "--max",
            "--range",
            "1..8",
            "--constraint",
            "throttle_rate <= 1",
            "--replications",
            "2",
        ],
    );
    assert_eq!(p["outcome"], "holds_everywhere", "{p}");
    assert_eq!(p["value"], 8);
    assert_eq!(p["bracket"], Value::Null);
    let d = &p["demand"];
    assert_eq!(d["minutes"], 5);
    for stat in ["p50", "p90", "p99", "max"] {
        assert_eq!(d["requests_per_minute"][stat], 10, "{d}");
        assert_eq!(d["quota_tokens_per_minute"][stat], 1100, "{d}");
    }
}

/// The worst end of a constraint's interval uses the two-sided Student t quantile at
/// `--confidence`: worst_end − mean = t((1 + c)/2, n − 1) × sd/√n, while the point's
/// `ci95_half_width` is t(0.975, n − 1) × sd/√n. Their ratio is a ratio of published table
/// values (any t table):
/// - c = 0.90, n = 4: t(0.95, 3) / t(0.975, 3) = 2.353363 / 3.182446 = 0.739483;
/// - c = 0.99, n = 3: t(0.995, 2) / t(0.975, 2) = 9.924843 / 4.302653 = 2.306683.
///
/// A one-sided quantile (t(c, n − 1)) would give 1.637744 / 3.182446 = 0.514618 and
/// 6.964557 / 4.302653 = 1.618667. Poisson arrivals against a tight account limit make the
/// throttle rate vary between replications.
#[test]
fn the_worst_end_uses_the_two_sided_t_quantile_at_the_confidence() {
    let dir = tempfile::tempdir().unwrap();
    let text = LIMITED.replace("\"constant\"", "\"poisson\"");
    let path = scenario(&dir, &text);
    for (confidence, replications, ratio) in [("0.9", "4", 0.739_483), ("0.99", "3", 2.306_683)] {
        let p = plan(
            &path,
            &[
                "--find",
                "workloads.app.client.concurrency",
                "--range",
                "1..8",
                "--constraint",
                "throttle_rate <= 1",
                "--replications",
                replications,
                "--confidence",
                confidence,
            ],
        );
        let e = &p["evaluated"][0];
        let m = &e["metrics"]["throttle_rate"];
        let (mean, half) = (
            m["mean"].as_f64().unwrap(),
            m["ci95_half_width"].as_f64().unwrap(),
        );
        assert!(half > 0.01, "the throttle rate should vary: {m}");
        let worst = e["constraints"][0]["worst_end"].as_f64().unwrap();
        let got = (worst - mean) / half;
        // The sweep's 0.975 table has 4 decimals: a relative 2e-5 at most.
        assert!(
            (got - ratio).abs() < 1e-4,
            "c = {confidence}: {got} vs {ratio}"
        );
    }
}

//! Defects a new user found in reports that mislead: each test failed before its fix.

use std::path::Path;

use serde_json::{Value, json};

mod common;

use common::qs;

fn write(dir: &Path, name: &str, v: &Value) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(v).unwrap()).unwrap();
    p
}

/// Two run reports where the current one serves 50% more requests: it costs 40% more in
/// total and per hour, 6.7% less per success, and its p99 moved by 2% (within 5%).
fn more_successes() -> (Value, Value) {
    let base = json!({
        "scenario": "chat", "seed": 1,
        "requests": {"arrived": 200, "succeeded": 100, "failed": 100},
        "throughput": {"requests_per_minute": 10.0},
        "latency_ms": {"e2e": {"p99": 1000.0}},
        "cost": {"usd": 1.0, "usd_per_success": 0.01, "usd_per_hour": 2.0},
    });
    let cur = json!({
        "scenario": "chat", "seed": 1,
        "requests": {"arrived": 200, "succeeded": 150, "failed": 50},
        "throughput": {"requests_per_minute": 10.000_000_1},
        "latency_ms": {"e2e": {"p99": 1020.0}},
        "cost": {"usd": 1.4, "usd_per_success": 0.009_333_333_333_333_333, "usd_per_hour": 2.8},
    });
    (base, cur)
}

#[test]
fn compare_judges_cost_per_success_and_total_cost_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let (b, c) = more_successes();
    let (b, c) = (
        write(dir.path(), "b.json", &b),
        write(dir.path(), "c.json", &c),
    );
    let out = qs().arg("compare").arg(&b).arg(&c).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    let line = |name: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} row in\n{text}"))
            .to_string()
    };
    assert!(line("cost.usd").ends_with("informational"), "{text}");
    assert!(line("cost.usd_per_hour").ends_with("informational"));
    assert!(line("cost.usd_per_success").ends_with("improved"));
    // A gate that wants total cost asks for it.
    let out = qs()
        .arg("compare")
        .arg(&b)
        .arg(&c)
        .arg("--gate-total-cost")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("cost.usd ") && l.ends_with("REGRESSED")),
        "{text}"
    );
}

#[test]
fn compare_changes_shows_every_changed_row_and_no_zero_row() {
    let dir = tempfile::tempdir().unwrap();
    let (b, c) = more_successes();
    let (b, c) = (
        write(dir.path(), "b.json", &b),
        write(dir.path(), "c.json", &c),
    );
    let out = qs()
        .arg("compare")
        .arg(&b)
        .arg(&c)
        .arg("--changes")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = text
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with("tolerance") && !l.starts_with("note"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    // Changed: p99 (+2%, within the tolerance), the three costs, succeeded and failed.
    for m in [
        "latency_ms.e2e.p99",
        "cost.usd_per_success",
        "cost.usd",
        "cost.usd_per_hour",
        "requests.succeeded",
        "requests.failed",
    ] {
        assert!(rows.contains(&m), "{m} missing from\n{text}");
    }
    // Unchanged, or changed by 1e-8 relative (prints the same): not shown.
    for m in ["requests.arrived", "throughput.requests_per_minute", "seed"] {
        assert!(!rows.contains(&m), "{m} shown in\n{text}");
    }
    assert!(
        !text.contains(" 0%") && !text.contains("+0%") && !text.contains("-0%"),
        "{text}"
    );
}

/// Two pools with different limits, one workload on each: `a` (100,000 tokens/min) serves
/// 10 requests a minute, `b` (300,000 tokens/min) 20, each request 1,000 input and 100
/// output tokens: 1,000 + 5 × 100 = 1,500 quota tokens (Claude Sonnet 4.5's output burndown
/// is 5), so a consumes about 15,000 tokens/min (15% of its limit) and b about 30,000 (10%).
const TWO_POOLS: &str = r#"
name = "two-pools"
seed = 5
duration = "10m"
warmup = "1m"

[model]
preset = "claude-sonnet-4-5"

[pools.a]
tokens_per_minute = 100000

[pools.b]
tokens_per_minute = 300000

[workloads.chat]
route = "a"
[workloads.chat.client]
concurrency = 64
max_tokens = 200
[workloads.chat.arrivals]
process = "constant"
rate_per_minute = 10
[workloads.chat.requests.q]
input_tokens = 1000
output_tokens = 100

[workloads.batch]
route = "b"
[workloads.batch.client]
concurrency = 64
max_tokens = 200
[workloads.batch.arrivals]
process = "constant"
rate_per_minute = 20
[workloads.batch.requests.q]
input_tokens = 1000
output_tokens = 100
"#;

#[test]
fn quota_utilisation_is_per_pool_and_overall_over_every_pools_limit() {
    let s = common::load(TWO_POOLS);
    let r = quotasim::simulate(&s);
    let v = quotasim::sweep::metrics::report_with_derived(&r, &s);
    let pool = |name: &str, key: &str| v["pools"][name][key].as_f64().unwrap();
    let (qa, qb) = (
        pool("a", "quota_tokens_per_minute"),
        pool("b", "quota_tokens_per_minute"),
    );
    // By hand: about 15,000 and 30,000 tokens a minute.
    assert!((qa / 15_000.0 - 1.0).abs() < 0.05, "{qa}");
    assert!((qb / 30_000.0 - 1.0).abs() < 0.05, "{qb}");
    // Each pool against its own limit.
    assert!(common::close(
        pool("a", "quota_utilisation"),
        qa / 100_000.0
    ));
    assert!(common::close(
        pool("b", "quota_utilisation"),
        qb / 300_000.0
    ));
    // Overall: every pool's consumption over every pool's limit (not the first pool's).
    let overall = v["quota_utilisation"].as_f64().unwrap();
    assert!(common::close(overall, (qa + qb) / 400_000.0), "{overall}");
    // The sweep's key metric is the same figure.
    let key = quotasim::sweep::metrics::key_metrics(&r, &s);
    assert!(common::close(key[7].unwrap(), overall));
}

fn scenario_file(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("two-pools.toml");
    std::fs::write(&p, TWO_POOLS).unwrap();
    p
}

#[test]
fn sweep_plan_and_assert_take_per_workload_and_per_pool_reliability_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario_file(dir.path());
    let constraints = [
        "workloads.chat.failure_rate <= 0.01",
        "workloads.chat.throttle_rate <= 0.01",
        "workloads.chat.latency_ms.e2e.p99 <= 60000",
        "pools.b.throttle_rate <= 0.01",
    ];
    let mut sweep = qs();
    sweep
        .arg("sweep")
        .arg(&file)
        .args(["--vary", "pools.a.tokens_per_minute=2000,100000"])
        .args(["--format", "json", "--quiet"]);
    for c in constraints {
        sweep.args(["--constraint", c]);
    }
    let out = sweep.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    // At 2,000 tokens/min pool a refuses every 1,500-token request after the first in a
    // minute or so: chat fails; at 100,000 nothing is throttled.
    let p = &json["points"];
    let fail = |i: usize| p[i]["metrics"]["workloads"]["chat"]["failure_rate"]["mean"].as_f64();
    assert!(fail(0).unwrap() > 0.5, "{}", p[0]);
    assert_eq!(fail(1), Some(0.0));
    assert_eq!(
        p[1]["metrics"]["pools"]["b"]["throttle_rate"]["mean"].as_f64(),
        Some(0.0)
    );
    assert_eq!(json["recommendation"]["best"]["index"], json!(1));

    // plan: the smallest pool a limit that keeps chat safe.
    let mut plan = qs();
    plan.arg("plan")
        .arg(&file)
        .args([
            "--find",
            "pools.a.tokens_per_minute",
            "--range",
            "1000..100000",
        ])
        .args([
            "--resolution",
            "1000",
            "--replications",
            "2",
            "--format",
            "json",
        ]);
    for c in constraints {
        plan.args(["--constraint", c]);
    }
    let out = plan.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let value = json["value"].as_u64().unwrap();
    // One request needs 1,000 + 200 reserved (max_tokens): below that nothing fits; 10 a
    // minute consume 15,000 a minute.
    assert!((1_200..=20_000).contains(&value), "{value}");

    // run --assert reads the same names.
    let out = qs()
        .arg("run")
        .arg(&file)
        .args(["--format", "json"])
        .args(["--assert", "workloads.chat.failure_rate <= 0.01"])
        .args(["--assert", "pools.b.throttle_rate <= 0.01"])
        .args(["--assert", "pools.a.quota_utilisation < 0.2"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_constraint_error_says_constraint() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario_file(dir.path());
    for cmd in ["sweep", "plan"] {
        for bad in [
            "workloads.chat.failure_rat <= 0.01",
            "throttle_rate <== 0.1",
        ] {
            let mut c = qs();
            c.arg(cmd).arg(&file);
            if cmd == "sweep" {
                c.args(["--vary", "pools.a.tokens_per_minute=2000,100000"]);
            } else {
                c.args(["--find", "pools.a.tokens_per_minute"]);
            }
            let out = c.args(["--constraint", bad]).output().unwrap();
            assert_eq!(out.status.code(), Some(2));
            let err = String::from_utf8(out.stderr).unwrap();
            assert!(err.contains("constraint `"), "{cmd}: {err}");
            assert!(!err.contains("assertion"), "{cmd}: {err}");
        }
    }
}

fn bundled(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
        .display()
        .to_string()
}

/// Runs `quotasim ARGS` on a pseudo-terminal (util-linux `script`) and returns what the
/// terminal showed.
fn on_a_terminal(args: &str) -> String {
    let cmd = format!("{} {args}", env!("CARGO_BIN_EXE_quotasim"));
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .expect("util-linux `script` (Debian's essential bsdutils) runs a pseudo-terminal");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn plan_shows_the_sweeps_progress_bar_on_a_terminal_only() {
    let plan = format!(
        "plan {} --find quota.tokens_per_minute --constraint 'throttle_rate <= 0.01' \
         --replications 3",
        bundled("chat-sonnet4-200k.toml")
    );
    assert!(on_a_terminal(&plan).contains("simulations, ETA"));
    assert!(!on_a_terminal(&format!("{plan} --quiet")).contains("simulations, ETA"));
    // Not a terminal: no bar.
    let out = qs()
        .args(
            plan.split(' ')
                .filter(|a| !a.is_empty())
                .map(|a| a.trim_matches('\'')),
        )
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("ETA"));
}

#[test]
fn plan_with_one_replication_warns_that_there_is_no_interval() {
    let args = [
        "plan",
        &bundled("chat-sonnet4-200k.toml"),
        "--find",
        "quota.tokens_per_minute",
        "--constraint",
        "throttle_rate <= 0.01",
        "--replications",
        "1",
    ];
    let out = qs().args(args).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("warning: --replications 1: one replication has no confidence interval"),
        "{text}"
    );
    // The JSON carries it among the warnings, and the search still reads as monotonic.
    let out = qs().args(args).args(["--format", "json"]).output().unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        json["warnings"][0]
            .as_str()
            .unwrap()
            .contains("no confidence interval")
    );
    assert_eq!(json["monotonic"], json!(true));
    // Two replications have an interval: no such warning.
    let out = qs()
        .args(&args[..6])
        .args(["--replications", "2"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8(out.stdout)
            .unwrap()
            .contains("no confidence interval")
    );
}

#[test]
fn negative_numbers_in_flags_get_a_plain_message() {
    let chat = bundled("chat-sonnet4-200k.toml");
    for args in [
        vec!["run", &chat, "--seed", "-1"],
        vec!["run", &chat, "--max-events", "-5"],
        vec![
            "sweep",
            &chat,
            "--vary",
            "concurrency=1,2",
            "--replications",
            "-3",
        ],
        vec![
            "sweep",
            &chat,
            "--vary",
            "concurrency=1,2",
            "--threads",
            "-2",
        ],
        vec!["plan", &chat, "--find", "concurrency", "--resolution", "-1"],
        vec![
            "estimate",
            "--model",
            "claude-sonnet-4",
            "--input-tokens",
            "-5",
            "--output-tokens",
            "3",
        ],
    ] {
        let out = qs().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.contains("is negative; expected a whole number of 0 or more"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("-- -"), "{args:?}: {err}");
    }
}

#[test]
fn check_prints_numbers_as_the_file_wrote_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(
        &file,
        "duration = \"10m\"\n[model]\npreset = \"claude-sonnet-4\"\n[quota]\n\
         tokens_per_minute = 3000000\n[arrivals]\nprocess = \"poisson\"\nrate_per_minute = 1\n\
         [requests.chat]\n\
         input_tokens = { dist = \"lognormal\", median = 3000, p95 = 9000 }\n\
         output_tokens = { dist = \"lognormal\", median = 250.5, p95 = 1200 }\n",
    )
    .unwrap();
    let out = common::stdout(qs().arg("check").arg(&file));
    for line in [
        "median = 3000\n",
        "p95 = 9000\n",
        "median = 250.5\n",
        "p95 = 1200\n",
    ] {
        assert!(out.contains(line), "no `{}` in\n{out}", line.trim());
    }
}

#[test]
fn a_pool_no_route_reaches_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let text = TWO_POOLS.replace("route = \"b\"", "route = \"a\"");
    let file = dir.path().join("s.toml");
    std::fs::write(&file, &text).unwrap();
    let warning = "warning: pool `b` is on no workload's route";
    for cmd in ["check", "run"] {
        let out = qs().arg(cmd).arg(&file).output().unwrap();
        assert!(out.status.success());
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(warning), "{cmd}: {err}");
        assert!(!err.contains("pool `a` is on no"), "{cmd}: {err}");
    }
    // Both pools on a route: no warning.
    let file = scenario_file(dir.path());
    let out = qs().arg("check").arg(&file).output().unwrap();
    assert!(
        !String::from_utf8(out.stderr)
            .unwrap()
            .contains("no workload's route")
    );
}

#[test]
fn run_csv_has_full_precision_and_its_timeline_in_its_own_file() {
    let dir = tempfile::tempdir().unwrap();
    let chat = bundled("chat-sonnet4-200k.toml");
    let json: Value = serde_json::from_str(&common::stdout(
        qs().args(["run", &chat, "--format", "json"]),
    ))
    .unwrap();
    let csv_path = dir.path().join("r.csv");
    qs().args(["run", &chat, "--format", "csv", "--timeline", "--out"])
        .arg(&csv_path)
        .assert()
        .success();
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    // One table: every row is metric,value; none empty.
    assert!(csv.lines().all(|l| l.split(',').count() == 2), "{csv}");
    let value = |metric: &str| -> f64 {
        csv.lines()
            .find_map(|l| l.strip_prefix(&format!("{metric},")))
            .unwrap()
            .parse()
            .unwrap()
    };
    // The CSV reads back to the JSON's floats exactly (it printed 0.018 before).
    for (metric, v) in [
        ("cost.usd_per_success", &json["cost"]["usd_per_success"]),
        (
            "throughput.requests_per_minute",
            &json["throughput"]["requests_per_minute"],
        ),
        ("latency_ms.e2e.p99", &json["latency_ms"]["e2e"]["p99"]),
    ] {
        assert_eq!(value(metric), v.as_f64().unwrap(), "{metric}");
    }
    let timeline = std::fs::read_to_string(dir.path().join("r.timeline.csv")).unwrap();
    let mut lines = timeline.lines();
    assert_eq!(
        lines.next(),
        Some("minute,admitted,throttled,completed,quota_charged")
    );
    assert_eq!(lines.count(), json["timeline"].as_array().unwrap().len());
}

/// Claude Sonnet 4's maximum output is 64,000 tokens (Anthropic's model overview, "Max
/// output: 64000 tokens"); Bedrock refuses a larger max_tokens.
#[test]
fn max_tokens_above_the_models_maximum_output_is_invalid_input() {
    let chat = bundled("chat-sonnet4-200k.toml");
    for cmd in ["check", "run"] {
        let out = qs()
            .args([cmd, &chat, "--set", "max_tokens=64001"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("claude-sonnet-4"), "{err}");
        assert!(err.contains("64000"), "{err}");
        assert!(err.contains("client.max_tokens"), "{err}");
    }
    // At the limit it is fine.
    qs().args(["check", &chat, "--set", "max_tokens=64000"])
        .assert()
        .success();
    // A class's own max_tokens is blamed on its own key.
    let out = qs()
        .args(["check", &chat, "--set", "requests.rag.max_tokens=70000"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("requests.rag.max_tokens")
    );
    // A sweep axis that crosses it names the values refused.
    let out = qs()
        .args([
            "sweep",
            &chat,
            "--vary",
            "max_tokens=1000,64000,65536,131072",
        ])
        .args(["--vary", "concurrency=1,2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("the values 65536, 131072 cross"), "{err}");
    assert!(err.contains("64000"), "{err}");
}

#[test]
fn a_set_replacing_an_array_of_tables_is_blamed_on_the_flag() {
    let chat = bundled("chat-sonnet4-200k.toml");
    let out = qs()
        .args(["run", &chat, "--set", "quota.limits=[{limit=5}]"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("error: --set quota.limits=[{limit=5}]: `quota.limits[0].counts`"),
        "{err}"
    );
    assert!(
        !err.contains("chat-sonnet4-200k.toml:"),
        "blamed on a line: {err}"
    );
}

#[test]
fn plan_demand_comes_per_pool_and_per_workload() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario_file(dir.path());
    let out = qs()
        .arg("plan")
        .arg(&file)
        .args(["--find", "pools.a.tokens_per_minute", "--format", "json"])
        .args([
            "--constraint",
            "throttle_rate <= 0.01",
            "--replications",
            "2",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &json["demand"];
    // By hand (see TWO_POOLS): chat sends 10 requests a minute of 1,500 quota tokens to
    // pool a, batch 20 to pool b; every measured minute is the same.
    let stats = |v: &Value| {
        (
            v["quota_tokens_per_minute"]["p50"].as_i64().unwrap(),
            v["quota_tokens_per_minute"]["max"].as_i64().unwrap(),
            v["requests_per_minute"]["p50"].as_i64().unwrap(),
        )
    };
    assert_eq!(stats(&d["pools"]["a"]), (15_000, 15_000, 10), "{d}");
    assert_eq!(stats(&d["pools"]["b"]), (30_000, 30_000, 20), "{d}");
    assert_eq!(stats(&d["workloads"]["chat"]), (15_000, 15_000, 10), "{d}");
    assert_eq!(stats(&d["workloads"]["batch"]), (30_000, 30_000, 20), "{d}");
    assert_eq!(d["workloads"]["chat"]["input_tokens_mean"], json!(1000.0));
    assert_eq!(d["workloads"]["batch"]["output_tokens_mean"], json!(100.0));
    // The account's total is their sum.
    assert_eq!(stats(d), (45_000, 45_000, 30), "{d}");
}

/// An on-off process whose periods are longer than the run: it starts in its stationary
/// state, so about one seed in a hundred starts "on" and sends 600 requests a minute for
/// the whole hour (36,000), while the stationary mean rate says 600 × 2 / 202 ≈ 6 a minute.
const LONG_ON_OFF: &str = r#"
duration = "1h"
[model]
preset = "claude-sonnet-4"
[quota]
tokens_per_minute = 100000000
[client]
max_tokens = 100
retry = "none"
[arrivals]
process = "on-off"
on_rate_per_minute = 600
off_rate_per_minute = 0
mean_on = "2h"
mean_off = "200h"
[requests.chat]
input_tokens = 10
output_tokens = 10
"#;

#[test]
fn the_guards_estimate_bounds_an_on_off_run_that_starts_on() {
    let base = common::load(LONG_ON_OFF);
    let estimate = quotasim::guard::estimate(&base, "on-off.toml").unwrap();
    let mut busiest = (0u64, 0u64);
    for seed in 0..300 {
        let mut s = base.clone();
        s.seed = seed;
        let r = quotasim::simulate(&s);
        if r.requests.arrived > busiest.0 {
            busiest = (r.requests.arrived, r.engine.events);
        }
    }
    // Some seed starts on and sends about 36,000 requests (by hand: 600 × 60).
    assert!(busiest.0 > 30_000, "no seed started on: {busiest:?}");
    // The estimate bounds it (Poisson noise on 36,000 is about ±190) ...
    assert!(
        busiest.0 as f64 <= 1.02 * estimate.requests as f64,
        "{} requests arrived, estimated {}",
        busiest.0,
        estimate.requests
    );
    // ... and so does its event count, within the few events each request costs beyond
    // the two the estimate counts (arrival, end of its first attempt).
    assert!(
        busiest.1 <= 3 * estimate.min_events,
        "{} events, estimated at least {}",
        busiest.1,
        estimate.min_events
    );
}

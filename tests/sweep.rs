//! End-to-end tests of `sweep`, `merge`, `run --plot/--assert` and `compare`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use tempfile::TempDir;

mod common;

use common::{qs, stdout};

/// A short scenario that throttles at high max_tokens × concurrency.
const SCENARIO: &str = r#"
name = "small"
seed = 11
duration = "3m"

[model]
preset = "claude-sonnet-4"

[quota]
tokens_per_minute = 45000

[client]
concurrency = 4
max_tokens = 512
retry = "aws-standard"

[arrivals]
process = "poisson"
rate_per_minute = 30

[requests.chat]
input_tokens = { dist = "lognormal", median = 400, p95 = 1500 }
output_tokens = { dist = "lognormal", median = 150, p95 = 600 }
"#;

struct Fixture {
    dir: TempDir,
    scenario: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture::with(SCENARIO)
    }

    fn with(text: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let scenario = dir.path().join("small.toml");
        std::fs::write(&scenario, text).unwrap();
        Fixture { dir, scenario }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn s(&self) -> &str {
        self.scenario.to_str().unwrap()
    }
}

const GRID_4X8: [&str; 4] = [
    "--vary",
    "max_tokens=256,512,1024,2048",
    "--vary",
    "concurrency=1..8",
];

#[test]
fn grid_4x8_is_identical_for_one_and_two_threads() {
    let f = Fixture::new();
    for format in ["json", "table", "csv"] {
        let run = |threads: &str| {
            stdout(
                qs().args(["sweep", f.s()])
                    .args(GRID_4X8)
                    .args(["--replications", "2", "--threads", threads])
                    .args(["--format", format]),
            )
        };
        let one = run("1");
        let two = run("2");
        assert_eq!(one, two, "format {format}");
        if format == "json" {
            let v: Value = serde_json::from_str(&one).unwrap();
            assert_eq!(v["points"].as_array().unwrap().len(), 32);
            assert_eq!(v["points_total"], 32);
            // the grid is not degenerate: some points throttle, some do not
            let throttle: Vec<f64> = v["points"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["metrics"]["throttle_rate"]["mean"].as_f64().unwrap())
                .collect();
            assert!(throttle.iter().any(|&t| t > 0.0), "{throttle:?}");
            assert!(throttle.contains(&0.0), "{throttle:?}");
        }
    }
}

#[test]
fn progress_bar_is_hidden_when_stderr_is_not_a_terminal() {
    let f = Fixture::new();
    qs().args(["sweep", f.s(), "--vary", "concurrency=1,2"])
        .assert()
        .success()
        .stderr("");
}

#[test]
fn four_shards_merged_equal_the_unsharded_sweep_byte_for_byte() {
    let f = Fixture::new();
    let common = |cmd: &mut Command| {
        cmd.args(["sweep", f.s()])
            .args(GRID_4X8)
            .args(["--replications", "2", "--set", "seed=5"])
            .args(["--objective", "maximize:throughput.requests_per_minute"])
            .args(["--constraint", "throttle_rate<=0.01"]);
    };
    let mut parts = Vec::new();
    for k in 0..4 {
        let part = f.path(&format!("part-{k}.json"));
        let mut cmd = qs();
        common(&mut cmd);
        cmd.args(["--shard", &format!("{k}/4"), "--out"])
            .arg(&part)
            .assert()
            .success()
            .stdout("");
        parts.push(part);
    }
    for format in ["json", "table", "csv"] {
        let mut cmd = qs();
        common(&mut cmd);
        let whole = stdout(cmd.args(["--format", format]));
        let merged = stdout(qs().arg("merge").args(&parts).args(["--format", format]));
        assert_eq!(merged, whole, "format {format}");
    }
    // part order on the command line does not matter
    let mut reversed = parts.clone();
    reversed.reverse();
    assert_eq!(
        stdout(qs().arg("merge").args(&reversed)),
        stdout(qs().arg("merge").args(&parts))
    );
}

#[test]
fn merge_rejects_missing_duplicate_and_inconsistent_parts() {
    let f = Fixture::new();
    let part = |k: usize, extra: &[&str]| {
        let p = f.path(&format!("p{k}-{}.json", extra.len()));
        qs().args(["sweep", f.s(), "--vary", "concurrency=1..6"])
            .args(extra)
            .args(["--shard", &format!("{k}/3"), "--out"])
            .arg(&p)
            .assert()
            .success();
        p
    };
    let (p0, p1, p2) = (part(0, &[]), part(1, &[]), part(2, &[]));
    qs().arg("merge")
        .args([&p0, &p2])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing shard 1/3"));
    qs().arg("merge")
        .args([&p0, &p1, &p1, &p2])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("shard 1/3 is given twice"));
    let other = part(1, &["--set", "seed=99"]);
    qs().arg("merge")
        .args([&p0, &other, &p2])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("different sweep").and(predicate::str::contains("`seed`")),
        );
    // a run report is not a part file
    let run = f.path("run.json");
    qs().args(["run", f.s(), "--format", "json", "--out"])
        .arg(&run)
        .assert()
        .success();
    qs().arg("merge")
        .arg(&run)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a sweep part file"));
    qs().arg("merge")
        .arg(f.path("nope.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nope.json: cannot read"));
    // a part whose points were tampered with
    let text = std::fs::read_to_string(&p1).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["points"].as_array_mut().unwrap().pop();
    let bad = f.path("bad.json");
    std::fs::write(&bad, v.to_string()).unwrap();
    qs().arg("merge")
        .args([&p0, &bad, &p2])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("shard 1/3 should hold points"));
    // all three parts merge
    qs().arg("merge").args([&p0, &p1, &p2]).assert().success();
}

fn derived(run: &Value, path: &str) -> Value {
    let ratio = |a: &Value, b: &Value| {
        let (a, b) = (a.as_u64().unwrap(), b.as_u64().unwrap());
        if b == 0 {
            Value::Null
        } else {
            serde_json::json!(a as f64 / b as f64)
        }
    };
    match path {
        "throttle_rate" => ratio(&run["attempts"]["throttled"], &run["attempts"]["sent"]),
        "failure_rate" => ratio(&run["requests"]["failed"], &run["requests"]["arrived"]),
        "truncation_rate" => ratio(&run["requests"]["truncated"], &run["requests"]["succeeded"]),
        _ => {
            let mut cur = run;
            for k in path.split('.') {
                cur = &cur[k];
            }
            cur.clone()
        }
    }
}

#[test]
fn a_one_replication_point_has_exactly_the_metrics_of_run_with_set() {
    let f = Fixture::new();
    let sweep: Value = serde_json::from_str(&stdout(
        qs().args(["sweep", f.s(), "--format", "json"]).args([
            "--vary",
            "max_tokens=256,2048",
            "--vary",
            "concurrency=2,8",
        ]),
    ))
    .unwrap();
    let points = sweep["points"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    for p in points {
        let mt = p["params"]["max_tokens"].to_string();
        let c = p["params"]["concurrency"].to_string();
        let run: Value = serde_json::from_str(&stdout(qs().args([
            "run",
            f.s(),
            "--format",
            "json",
            "--set",
            &format!("max_tokens={mt}"),
            "--set",
            &format!("concurrency={c}"),
        ])))
        .unwrap();
        for path in [
            "throughput.requests_per_minute",
            "throughput.output_tokens_per_minute",
            "throttle_rate",
            "failure_rate",
            "truncation_rate",
            "latency_ms.e2e.p50",
            "latency_ms.e2e.p99",
        ] {
            let mut m = &p["metrics"];
            for k in path.split('.') {
                m = &m[k];
            }
            assert_eq!(m["mean"], derived(&run, path), "{mt} {c} {path}");
            assert!(m.get("ci95_half_width").is_none());
        }
        let quota = run["throughput"]["quota_tokens_per_minute"]
            .as_f64()
            .unwrap()
            / 45000.0;
        assert_eq!(
            p["metrics"]["quota_utilisation"]["mean"].as_f64(),
            Some(quota)
        );
    }
}

#[test]
fn replications_use_the_scenario_seed_first_and_report_intervals() {
    let f = Fixture::new();
    let v: Value = serde_json::from_str(&stdout(
        qs().args(["sweep", f.s(), "--format", "json", "--replications", "3"])
            .args(["--vary", "concurrency=2,4"]),
    ))
    .unwrap();
    let seeds = v["replication_seeds"].as_array().unwrap();
    assert_eq!(seeds.len(), 3);
    assert_eq!(seeds[0], 11);
    assert_ne!(seeds[1], seeds[2]);
    let m = &v["points"][0]["metrics"]["throughput"]["requests_per_minute"];
    assert_eq!(m["n"], 3);
    assert!(m["ci95_half_width"].as_f64().unwrap() >= 0.0);
    // replication 1 is exactly `run --seed <derived seed>`
    let csv = stdout(qs().args(["sweep", f.s(), "--format", "csv"]).args([
        "--vary",
        "concurrency=2",
        "--replications",
        "2",
    ]));
    assert!(csv.starts_with("index,concurrency,throughput.requests_per_minute,throughput.requests_per_minute.ci95_half_width,"));
    let rep = |seed: &str| -> f64 {
        let r: Value = serde_json::from_str(&stdout(qs().args([
            "run",
            f.s(),
            "--format",
            "json",
            "--set",
            "concurrency=2",
            "--seed",
            seed,
        ])))
        .unwrap();
        r["throughput"]["requests_per_minute"].as_f64().unwrap()
    };
    let v2: Value = serde_json::from_str(&stdout(
        qs().args(["sweep", f.s(), "--format", "json"]).args([
            "--vary",
            "concurrency=2",
            "--replications",
            "2",
        ]),
    ))
    .unwrap();
    let s1 = v2["replication_seeds"][1].to_string();
    let mean = (rep("11") + rep(&s1)) / 2.0;
    let got = v2["points"][0]["metrics"]["throughput"]["requests_per_minute"]["mean"]
        .as_f64()
        .unwrap();
    assert!((got - mean).abs() < 1e-9, "{got} vs {mean}");
}

#[test]
fn the_sweep_table_in_the_scenario_is_used_and_flags_replace_it() {
    let text = format!(
        "{SCENARIO}\n[sweep]\nvary = {{ max_tokens = [256, 1024], concurrency = \"1..4:x2\" }}\nreplications = 2\nobjective = \"maximize:throughput.requests_per_minute\"\nconstraints = [\"throttle_rate <= 0.05\"]\n"
    );
    let f = Fixture::with(&text);
    let v: Value =
        serde_json::from_str(&stdout(qs().args(["sweep", f.s(), "--format", "json"]))).unwrap();
    assert_eq!(v["points_total"], 6);
    assert_eq!(v["replications"], 2);
    // table axes are in key order
    assert_eq!(v["vary"][0]["path"], "concurrency");
    assert_eq!(v["vary"][0]["values"], serde_json::json!([1, 2, 4]));
    assert_eq!(
        v["recommendation"]["constraints"][0],
        "throttle_rate <= 0.05"
    );
    let v: Value = serde_json::from_str(&stdout(
        qs().args([
            "sweep",
            f.s(),
            "--format",
            "json",
            "--vary",
            "max_tokens=300",
        ])
        .args(["--replications", "1"]),
    ))
    .unwrap();
    assert_eq!(v["points_total"], 1);
    assert_eq!(v["replications"], 1);
    // `run` and `check` ignore the table
    qs().args(["run", f.s()]).assert().success();
    qs().args(["check", f.s()]).assert().success();
    let bad = Fixture::with(&format!("{SCENARIO}\n[sweep]\nreplication = 2\n"));
    qs().args(["sweep", bad.s()]).assert().code(2).stderr(
        predicate::str::contains("`sweep.replication`").and(predicate::str::contains(
            "did you mean `sweep.replications`",
        )),
    );
}

#[test]
fn recommendation_picks_the_best_feasible_point_and_the_pareto_front() {
    let f = Fixture::new();
    let args = [
        "--objective",
        "maximize:throughput.requests_per_minute",
        "--constraint",
        "throttle_rate<=0.01",
        "--constraint",
        "latency_ms.e2e.p99 <= 60000",
    ];
    let v: Value = serde_json::from_str(&stdout(
        qs().args(["sweep", f.s(), "--format", "json"])
            .args(GRID_4X8)
            .args(args),
    ))
    .unwrap();
    let points = v["points"].as_array().unwrap();
    let m = |p: &Value, k: &str| -> Option<f64> {
        let mut cur = &p["metrics"];
        for s in k.split('.') {
            cur = &cur[s];
        }
        cur["mean"].as_f64()
    };
    let feasible: Vec<&Value> = points
        .iter()
        .filter(|p| {
            m(p, "throttle_rate").is_some_and(|t| t <= 0.01)
                && m(p, "latency_ms.e2e.p99").is_some_and(|l| l <= 60000.0)
        })
        .collect();
    let rec = &v["recommendation"];
    assert_eq!(rec["feasible"].as_u64().unwrap() as usize, feasible.len());
    assert!(!feasible.is_empty() && feasible.len() < points.len());
    let best_thr = feasible
        .iter()
        .filter_map(|p| m(p, "throughput.requests_per_minute"))
        .fold(f64::MIN, f64::max);
    assert_eq!(
        rec["best"]["throughput.requests_per_minute"].as_f64(),
        Some(best_thr)
    );
    let front = rec["pareto_front"].as_array().unwrap();
    assert!(!front.is_empty());
    // no feasible point beats a front point on both axes
    for fp in front {
        let (t, l) = (
            fp["throughput.requests_per_minute"].as_f64().unwrap(),
            fp["latency_ms.e2e.p99"].as_f64().unwrap(),
        );
        for p in &feasible {
            let (pt, pl) = (
                m(p, "throughput.requests_per_minute").unwrap(),
                m(p, "latency_ms.e2e.p99").unwrap(),
            );
            assert!(
                !(pt >= t && pl <= l && (pt > t || pl < l)),
                "{fp} dominated by {p}"
            );
        }
    }
    let table = stdout(qs().args(["sweep", f.s()]).args(GRID_4X8).args(args));
    assert!(table.contains("best: #"), "{table}");
    assert!(table.contains("pareto front"), "{table}");
}

#[test]
fn malformed_sweep_flags_exit_2_with_a_message() {
    let f = Fixture::new();
    for (args, needles) in [
        (vec!["--vary", "max_tokens"], vec!["--vary", "missing `=`"]),
        (
            vec!["--vary", "concurrency=8..1"],
            vec!["concurrency", "END 1 is less than START 8"],
        ),
        (vec!["--vary", "concurrency=1,,2"], vec!["value 2"]),
        (
            vec!["--vary", "concurrency=0,4"],
            vec!["--vary concurrency=0", "client.concurrency"],
        ),
        (
            vec!["--vary", "client.nope=1,2"],
            vec!["nope", "--vary client.nope=1"],
        ),
        (
            vec!["--vary", "c=1", "--vary", "c=2"],
            vec!["more than once"],
        ),
        (
            vec!["--vary", "c=1", "--constraint", "throttle_rate = 0.01"],
            vec!["--constraint", "use `==`"],
        ),
        (
            vec![
                "--vary",
                "concurrency=1",
                "--constraint",
                "throtle_rate<=0.01",
            ],
            vec![
                "--constraint",
                "unknown metric",
                "did you mean throttle_rate",
            ],
        ),
        (
            vec!["--vary", "c=1", "--objective", "best:x"],
            vec!["--objective", "not a direction"],
        ),
        (
            vec![
                "--vary",
                "concurrency=1",
                "--objective",
                "maximize:throughput",
            ],
            vec!["--objective", "unknown metric"],
        ),
        (
            vec!["--vary", "c=1", "--shard", "4/4"],
            vec!["--shard", "K 4 is not less than N 4"],
        ),
        (
            vec!["--vary", "concurrency=1", "--replications", "0"],
            vec!["--replications 0"],
        ),
        (
            vec!["--vary", "concurrency=1", "--threads", "0"],
            vec!["--threads 0"],
        ),
        (
            vec![
                "--vary",
                "concurrency=1",
                "--vary",
                "max_tokens=1",
                "--vary",
                "seed=1",
                "--plot",
                "x.svg",
            ],
            vec!["--plot", "3 keys"],
        ),
        (
            vec![
                "--vary",
                "concurrency=1",
                "--plot",
                "x.svg",
                "--plot-metric",
                "p99",
            ],
            vec!["--plot-metric", "latency_ms.e2e.p99"],
        ),
    ] {
        let assert = qs().args(["sweep", f.s()]).args(&args).assert().code(2);
        let err = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        for n in needles {
            assert!(err.contains(n), "{args:?}: missing {n:?} in {err}");
        }
    }
}

#[test]
fn a_bad_value_is_rejected_before_any_simulation() {
    // the last point is invalid; nothing is printed and the exit status is 2
    let f = Fixture::new();
    qs().args(["sweep", f.s(), "--vary", "concurrency=1,2,-3"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("--vary concurrency=-3"));
}

fn svg(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text
}

fn series(text: &str, class: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(text).unwrap();
    doc.descendants()
        .filter(|n| n.attribute("class") == Some(class))
        .filter_map(|n| n.attribute("data-series").map(str::to_string))
        .collect()
}

#[test]
fn run_plot_is_an_svg_timeline_with_limit_admitted_and_throttled() {
    let f = Fixture::new();
    let out = f.path("run.svg");
    qs().args([
        "run",
        f.s(),
        "--set",
        "max_tokens=4096",
        "--set",
        "concurrency=16",
        "--plot",
    ])
    .arg(&out)
    .assert()
    .success();
    let text = svg(&out);
    assert!(
        series(&text, "limit").contains(&"limit".to_string()),
        "{text}"
    );
    let lines = series(&text, "series");
    for s in ["quota_charged", "admitted", "throttled"] {
        assert!(lines.iter().any(|x| x == s), "{s} missing: {lines:?}");
    }
    assert!(text.contains("small"), "the title names the scenario");
    assert!(text.contains("45000"), "the title names the limit");
}

#[test]
fn sweep_plots_a_heat_map_for_two_keys_and_a_line_with_band_for_one() {
    let f = Fixture::new();
    let heat = f.path("heat.svg");
    qs().args(["sweep", f.s()])
        .args(GRID_4X8)
        .arg("--plot")
        .arg(&heat)
        .assert()
        .success();
    let text = svg(&heat);
    let doc = roxmltree::Document::parse(&text).unwrap();
    let cells = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("cell"))
        .count();
    assert_eq!(cells, 32);
    assert_eq!(series(&text, "series"), ["throughput.requests_per_minute"]);
    let markers = series(&text, "marker");
    assert!(!markers.is_empty(), "some points throttle above 1%");
    assert!(
        markers.iter().all(|m| m == "throttle_rate > 0.01"),
        "{markers:?}"
    );
    assert!(text.contains("max_tokens") && text.contains("concurrency"));

    let line = f.path("line.svg");
    qs().args([
        "sweep",
        f.s(),
        "--vary",
        "concurrency=1..16:x2",
        "--replications",
        "3",
    ])
    .args(["--plot-metric", "latency_ms.e2e.p99", "--plot"])
    .arg(&line)
    .assert()
    .success();
    let text = svg(&line);
    assert_eq!(series(&text, "series"), ["latency_ms.e2e.p99"]);
    assert_eq!(series(&text, "band"), ["latency_ms.e2e.p99"]);
    assert_eq!(series(&text, "marker").len(), 5);
    assert!(text.contains("(ms)"), "the y axis has its unit");

    // merge can plot too
    let mut parts = Vec::new();
    for k in 0..2 {
        let p = f.path(&format!("lp{k}.json"));
        qs().args(["sweep", f.s(), "--vary", "concurrency=1..4"])
            .args(["--shard", &format!("{k}/2"), "--out"])
            .arg(&p)
            .assert()
            .success();
        parts.push(p);
    }
    let merged = f.path("merged.svg");
    qs().arg("merge")
        .args(&parts)
        .arg("--plot")
        .arg(&merged)
        .assert()
        .success();
    assert_eq!(series(&svg(&merged), "marker").len(), 4);
}

#[test]
fn run_assert_passes_fails_and_rejects_bad_input() {
    let f = Fixture::new();
    qs().args([
        "run",
        f.s(),
        "--assert",
        "requests.arrived > 0",
        "--assert",
        "throttle_rate <= 1",
    ])
    .assert()
    .success()
    .stderr(predicate::str::contains("ok: requests.arrived > 0"));
    let assert = qs()
        .args([
            "run",
            f.s(),
            "--format",
            "json",
            "--set",
            "max_tokens=4096",
            "--set",
            "concurrency=16",
        ])
        .args(["--assert", "throttle_rate <= 0"])
        .args(["--assert", "requests.arrived >= 1"])
        .args(["--assert", "latency_ms.e2e.p99 < 1"])
        .assert()
        .code(1);
    let out = assert.get_output();
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rate = report["attempts"]["throttled"].as_f64().unwrap()
        / report["attempts"]["sent"].as_f64().unwrap();
    assert!(
        err.contains(&format!("FAILED: throttle_rate <= 0 (actual {rate})")),
        "{err}"
    );
    assert!(err.contains("ok: requests.arrived >= 1"), "{err}");
    assert!(
        err.contains("FAILED: latency_ms.e2e.p99 < 1 (actual "),
        "{err}"
    );
    assert!(err.contains("2 of 3 assertions failed"), "{err}");
    for (bad, needle) in [
        ("latency_ms.e2e.p99", "no comparison operator"),
        ("throttle_rate = 0", "use `==`"),
        ("throttle_rate <= lots", "`lots` is not a number"),
        ("latency_ms.e2e.p999 < 1", "did you mean latency_ms.e2e.p99"),
        ("failure_rat < 1", "did you mean failure_rate"),
    ] {
        qs().args(["run", f.s(), "--assert", bad])
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains("--assert").and(predicate::str::contains(needle)));
    }
}

#[test]
fn compare_exits_1_on_a_regression_beyond_the_tolerance() {
    let f = Fixture::new();
    let base = f.path("base.json");
    let cur = f.path("cur.json");
    qs().args(["run", f.s(), "--format", "json", "--out"])
        .arg(&base)
        .assert()
        .success();
    qs().args([
        "run",
        f.s(),
        "--format",
        "json",
        "--set",
        "max_tokens=4096",
        "--set",
        "concurrency=16",
        "--out",
    ])
    .arg(&cur)
    .assert()
    .success();
    qs().arg("compare")
        .args([&base, &base])
        .assert()
        .success()
        .stdout(predicate::str::contains("0 regressed"));
    let assert = qs().arg("compare").args([&base, &cur]).assert().code(1);
    let out = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert!(out.starts_with("metric"), "{out}");
    assert!(
        out.contains("attempts.throttled") && out.contains("REGRESSED"),
        "{out}"
    );
    assert!(
        String::from_utf8(assert.get_output().stderr.clone())
            .unwrap()
            .contains("regressed beyond the tolerance of 5%")
    );
    // a hand-made 3% drop in throughput passes at 5% and fails at 1%
    let text = std::fs::read_to_string(&base).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    let t = v["throughput"]["requests_per_minute"].as_f64().unwrap();
    v["throughput"]["requests_per_minute"] = serde_json::json!(t * 0.97);
    let drop = f.path("drop.json");
    std::fs::write(&drop, v.to_string()).unwrap();
    qs().arg("compare").args([&base, &drop]).assert().success();
    qs().arg("compare")
        .args([&base, &drop])
        .args(["--tolerance", "1%"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("throughput.requests_per_minute"));
    qs().arg("compare")
        .args([&base, &drop])
        .args(["--tolerance", "1%", "--changes"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("attempts.sent").not());
    // sweep reports compare too
    let s1 = f.path("s1.json");
    qs().args([
        "sweep",
        f.s(),
        "--vary",
        "concurrency=1,2",
        "--format",
        "json",
        "--out",
    ])
    .arg(&s1)
    .assert()
    .success();
    qs().arg("compare")
        .args([&s1, &s1])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "points.1.metrics.throughput.requests_per_minute.mean",
        ));
    // invalid input
    qs().arg("compare")
        .args([&base, &cur])
        .args(["--tolerance", "five"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--tolerance"));
    qs().arg("compare")
        .arg(&base)
        .arg(f.path("missing.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.json: cannot read"));
    qs().arg("compare")
        .arg(&base)
        .arg(&f.scenario)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("small.toml:2:").and(predicate::str::contains("invalid JSON")),
        );
}

#[test]
fn the_bundled_sweep_scenario_answers_its_question() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scenario = root.join("scenarios/sweep-max-tokens-concurrency.toml");
    let v: Value = serde_json::from_str(&stdout(qs().arg("sweep").arg(&scenario).args([
        "--format",
        "json",
        "--replications",
        "1",
    ])))
    .unwrap();
    assert_eq!(v["points_total"], 35);
    let best = &v["recommendation"]["best"];
    assert!(best.is_object(), "{}", v["recommendation"]);
}

/// Waits (up to a minute) until process `pid` has installed its SIGINT handler: bit 2 of the
/// caught-signals mask in `/proc/PID/status`. A SIGINT sent before that would kill it outright.
#[cfg(target_os = "linux")]
fn wait_until_sigint_is_caught(pid: u32) {
    let start = std::time::Instant::now();
    loop {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let caught = status
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
            .unwrap_or(0);
        if caught & (1 << (2 - 1)) != 0 {
            return;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "no SIGINT handler after 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Ctrl-C (SIGINT) during a sweep stops starting new simulations, writes the points already
/// done (marked `"interrupted": true`) and exits 130.
#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_stops_the_sweep_and_writes_the_points_done() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("slow.toml");
    std::fs::write(
        &scenario,
        "duration = \"6h\"\n[model]\npreset = \"claude-sonnet-4\"\n[quota]\ntokens_per_minute = 2000000\n\
         [client]\nconcurrency = 200\n[arrivals]\nprocess = \"poisson\"\nrate_per_minute = 600\n\
         [requests.a]\ninput_tokens = { dist = \"lognormal\", median = 1500, p95 = 6000 }\noutput_tokens = 300\n",
    )
    .unwrap();
    let out = dir.path().join("partial.json");
    let bin = assert_cmd::cargo::cargo_bin("quotasim");
    let mut child = std::process::Command::new(bin)
        .arg("sweep")
        .arg(&scenario)
        .args([
            "--vary",
            "max_tokens=1..200",
            "--format",
            "json",
            "--threads",
            "2",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until_sigint_is_caught(child.id());
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{status:?}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["interrupted"], true);
    assert_eq!(v["points_total"], 200);
    let done = v["points"].as_array().unwrap().len();
    assert!(done < 200, "{done} points: the sweep was not interrupted");
}

/// `sweep` holds every point to the guard rails `run` applies: a point whose queue outgrows
/// the memory limit stops with the same explanation and exit status as `run`.
#[test]
fn sweep_stops_a_point_the_way_run_does() {
    let f = Fixture::new();
    let scenario = f.scenario.to_str().unwrap();
    let flags = [
        "--set",
        "client.concurrency=1",
        "--set",
        "arrivals.rate_per_minute=2000",
        "--set",
        "duration=6h",
        "--max-memory-mb",
        "8",
    ];
    let run = qs()
        .args(["run", scenario])
        .args(flags)
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let run = String::from_utf8(run).unwrap();
    assert!(run.contains("waiting or in flight at once"), "{run}");
    let sweep = qs()
        .args([
            "sweep",
            scenario,
            "-q",
            "--vary",
            "client.max_tokens=256,512",
        ])
        .args(flags)
        .assert()
        .code(2)
        .stdout("")
        .get_output()
        .stderr
        .clone();
    let sweep = String::from_utf8(sweep).unwrap();
    assert!(sweep.contains("waiting or in flight at once"), "{sweep}");
    assert!(
        sweep.contains("sweep point 0 (client.max_tokens=256"),
        "{sweep}"
    );
}

/// An error in the `[sweep]` table points at its line and column, as scenario errors do.
#[test]
fn sweep_table_errors_carry_their_position() {
    let lines = SCENARIO.lines().count();
    for (table, path, col) in [
        (
            "vary = { concurrency = \"1..x\" }",
            "sweep.vary.concurrency",
            24,
        ),
        ("replications = 0", "sweep.replications", 16),
        (
            "constraints = [\"throttle_rate <= 0.1\", \"p99 << 5\"]",
            "sweep.constraints[1]",
            40,
        ),
    ] {
        let f = Fixture::with(&format!("{SCENARIO}[sweep]\n{table}\n"));
        let out = qs()
            .args(["sweep", f.s(), "-q"])
            .assert()
            .code(2)
            .get_output()
            .stderr
            .clone();
        let err = String::from_utf8(out).unwrap();
        let at = format!("small.toml:{}:{col}: `{path}`", lines + 2);
        assert!(err.contains(&at), "expected {at} in {err}");
    }
}

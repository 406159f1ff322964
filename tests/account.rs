//! Your own account: `import service-quotas`, `run --cloudwatch` / `--dashboard` and
//! `calibrate`. Shapes are checked against botocore's own service models (the pinned
//! botocore in `.venv`); expected numbers are worked out by hand in the comments.

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use serde_json::Value;

mod common;

use common::{qs, stdout, write};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn root(p: &str) -> PathBuf {
    Path::new(ROOT).join(p)
}

/// The venv's Python (botocore 1.44.8), or None outside CI (then the test says NOT RUN).
fn python() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("QUOTASIM_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let venv = root(".venv/bin/python");
    if venv.exists() {
        return Some(venv);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but no Python with botocore 1.44.8: set QUOTASIM_PYTHON or run .ci/run"
    );
    None
}

/// Validates the JSON file `doc` against the output shape of `operation` in botocore's model
/// of `service`, with botocore's own validator (unknown keys, types, timestamps), and
/// `StatusCode` against the model's enum. Returns the validator's report ("" when valid).
fn botocore_validate(service: &str, operation: &str, doc: &Path) -> Option<String> {
    let py = python()?;
    let script = r#"
import json, sys
import botocore.session
from botocore.validate import ParamValidator
service, operation, path = sys.argv[1:4]
model = botocore.session.get_session().get_service_model(service)
shape = model.operation_model(operation).output_shape
doc = json.load(open(path))
report = ParamValidator().validate(doc, shape)
out = report.generate_report() if report.has_errors() else ""
if service == "cloudwatch":
    enum = model.shape_for("StatusCode").enum
    for r in doc.get("MetricDataResults", []):
        if r.get("StatusCode") not in enum:
            out += f"\nStatusCode {r.get('StatusCode')!r} not in {enum}"
print(out, end="")
"#;
    let out = StdCommand::new(py)
        .args(["-c", script, service, operation, doc.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

// ---------------------------------------------------------------- import service-quotas

#[test]
fn service_quotas_fixtures_have_botocores_shape() {
    for (file, op) in [
        ("bedrock.json", "ListServiceQuotas"),
        ("bedrock-defaults.json", "ListAWSDefaultServiceQuotas"),
        ("ec2.json", "ListServiceQuotas"),
    ] {
        let path = root(&format!("tests/fixtures/service_quotas/{file}"));
        match botocore_validate("service-quotas", op, &path) {
            None => {
                eprintln!("NOT RUN: no Python with botocore");
                return;
            }
            Some(report) => assert_eq!(report, "", "{file} against {op}Response"),
        }
    }
    // The validator is not a rubber stamp: a record with a key the model lacks fails.
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad.json",
        r#"{"Quotas": [{"QuotaName": "x", "Value": 1.0, "Limit": 3}]}"#,
    );
    let report = botocore_validate("service-quotas", "ListServiceQuotas", &bad).unwrap();
    assert!(report.contains("Unknown parameter"), "{report}");
}

fn import(file: &str, extra: &[&str]) -> String {
    let path = root(&format!("tests/fixtures/service_quotas/{file}"));
    let mut cmd = qs();
    cmd.args(["import", "service-quotas", path.to_str().unwrap()])
        .args(extra);
    stdout(&mut cmd)
}

/// The TOML table `[pools.NAME]` of a fragment, parsed.
fn pool(fragment: &toml::Table, name: &str) -> toml::Table {
    fragment["pools"][name].as_table().unwrap().clone()
}

#[test]
fn import_makes_one_pool_per_model_and_endpoint() {
    let text = import("bedrock.json", &[]);
    let t: toml::Table = toml::from_str(&text).unwrap();
    // The fixture's values (tests/fixtures/service_quotas/generate.py), quota by quota.
    let geo = pool(&t, "claude_sonnet_4_geo");
    assert_eq!(geo["model"].as_str(), Some("claude-sonnet-4"));
    assert_eq!(geo["tokens_per_minute"].as_integer(), Some(400_000));
    assert_eq!(geo["requests_per_minute"].as_integer(), Some(200));
    let ids: Vec<&str> = geo["model_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(ids.contains(&"us.anthropic.claude-sonnet-4-20250514-v1:0"));
    assert!(ids.iter().all(|i| !i.starts_with("anthropic.")));
    let region = pool(&t, "claude_sonnet_4_in_region");
    assert_eq!(region["tokens_per_minute"].as_integer(), Some(200_000));
    assert_eq!(region["tokens_per_day"].as_integer(), Some(144_000_000));
    assert_eq!(
        region["model_ids"].as_array().unwrap()[0].as_str(),
        Some("anthropic.claude-sonnet-4-20250514-v1:0")
    );
    // "Global cross-region …" and "Global Cross-Region … per day": one global pool.
    let global = pool(&t, "claude_sonnet_4_5_global");
    assert_eq!(global["model"].as_str(), Some("claude-sonnet-4-5"));
    assert_eq!(global["tokens_per_minute"].as_integer(), Some(1_000_000));
    assert_eq!(global["tokens_per_day"].as_integer(), Some(1_440_000_000));
    assert_eq!(
        global["model_ids"].as_array().unwrap()[0].as_str(),
        Some("global.anthropic.claude-sonnet-4-5-20250929-v1:0")
    );
    // "cross-Region  model inference…" (odd case and spacing) is still a geographic pool.
    let haiku = pool(&t, "claude_haiku_4_5_geo");
    assert_eq!(haiku["tokens_per_minute"].as_integer(), Some(300_000));
    // A model without a preset row: a pool without `model`, and a comment saying so.
    let llama = pool(&t, "meta_llama_3_3_70b_instruct_in_region");
    assert!(!llama.contains_key("model"));
    assert!(text.contains("No preset row matches \"Meta Llama 3.3 70B Instruct\""));
    // The account's cross-model daily quota.
    let acct = t["account"]["limits"].as_array().unwrap()[0]
        .as_table()
        .unwrap();
    assert_eq!(acct["limit"].as_integer(), Some(700_000_000));
    assert_eq!(acct["per"].as_str(), Some("1d"));
    // Unrecognised quotas are listed, not guessed; so is an RPM with no TPM to make a pool.
    assert!(text.contains("#   Batch inference job size (in GB) (L-0000000A)"));
    assert!(text.contains("#   Concurrent model import jobs (L-0000000B)"));
    assert!(text.contains("Not imported: claude_3_haiku_in_region"));
    assert_eq!(t["pools"].as_table().unwrap().len(), 5);
}

#[test]
fn import_output_passes_check_in_a_scenario_with_workloads() {
    let fragment = import("bedrock.json", &[]);
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "duration = \"10m\"\n\n{fragment}\n[workloads.app]\nroute = {{ pools = [\"claude_sonnet_4_in_region\", \"claude_sonnet_4_geo\"], policy = \"fallback\" }}\n\
         [workloads.app.arrivals]\nprocess = \"poisson\"\nrate_per_minute = 30\n\
         [workloads.app.requests.chat]\ninput_tokens = 1000\noutput_tokens = 200\n"
    );
    let path = write(dir.path(), "account.toml", &text);
    qs().args(["check", path.to_str().unwrap()])
        .assert()
        .success();
    qs().args(["run", path.to_str().unwrap(), "--format", "json"])
        .assert()
        .success();
}

#[test]
fn import_defaults_and_model_filter() {
    let text = import("bedrock-defaults.json", &["--model", "SONNET-4.5"]);
    let t: toml::Table = toml::from_str(&text).unwrap();
    let pools = t["pools"].as_table().unwrap();
    assert_eq!(pools.len(), 1, "{text}");
    // "GLOBAL CROSS-REGION … FOR ANTHROPIC CLAUDE SONNET 4.5 V1": upper case matches too.
    assert_eq!(
        pool(&t, "claude_sonnet_4_5_global")["tokens_per_minute"].as_integer(),
        Some(500_000)
    );
    assert!(t.contains_key("account"));
}

#[test]
fn import_refuses_another_service_and_other_json() {
    let ec2 = root("tests/fixtures/service_quotas/ec2.json");
    qs().args(["import", "service-quotas", ec2.to_str().unwrap()])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicates::str::contains("service `ec2`"));
    let dir = tempfile::tempdir().unwrap();
    let other = write(dir.path(), "x.json", r#"{"MetricDataResults": []}"#);
    qs().args(["import", "service-quotas", other.to_str().unwrap()])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicates::str::contains("no \"Quotas\" key"));
}

// ---------------------------------------------------------------- run --cloudwatch

/// Ten requests a minute (one every 6 s) of 1,000 input and 200 output tokens on a 5×
/// model: service time 1 s + 200 / 100 tok/s = 3 s, so each ends before the next starts.
const STEADY: &str = r#"
duration = "3m"
start = "2026-05-04T10:00:00Z"
[model]
preset = "claude-sonnet-4"
[service]
ttft = "1s"
ttft_per_1k_input = "0s"
output_tokens_per_second = 100
[quota]
tokens_per_minute = 100000
[client]
max_tokens = 4096
[arrivals]
process = "constant"
rate_per_minute = 10
[requests.chat]
input_tokens = 1000
output_tokens = 200
"#;

fn series<'a>(doc: &'a Value, label: &str) -> &'a Value {
    doc["MetricDataResults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["Label"] == label)
        .unwrap_or_else(|| panic!("no series {label}"))
}

fn values(doc: &Value, label: &str) -> Vec<f64> {
    series(doc, label)["Values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

#[test]
fn cloudwatch_metrics_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), "steady.toml", STEADY);
    let cw = dir.path().join("cw.json");
    let report: Value = serde_json::from_str(&stdout(qs().args([
        "run",
        scenario.to_str().unwrap(),
        "--cloudwatch",
        cw.to_str().unwrap(),
        "--format",
        "json",
    ])))
    .unwrap();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&cw).unwrap()).unwrap();
    // Minutes 0–2 hold 10 arrivals each, all completing in their minute.
    assert_eq!(values(&doc, "Invocations"), vec![10.0, 10.0, 10.0]);
    assert_eq!(values(&doc, "InvocationThrottles"), vec![0.0; 3]);
    assert_eq!(values(&doc, "InputTokenCount"), vec![10_000.0; 3]);
    assert_eq!(values(&doc, "OutputTokenCount"), vec![2_000.0; 3]);
    // I + W + A × 5 = 1,000 + 0 + 1,000 per request, 10 a minute.
    assert_eq!(values(&doc, "EstimatedTPMQuotaUsage"), vec![20_000.0; 3]);
    assert_eq!(values(&doc, "InvocationLatency"), vec![3_000.0; 3]);
    assert_eq!(values(&doc, "TimeToFirstToken"), vec![1_000.0; 3]);
    let per_pool = "Invocations anthropic.claude-sonnet-4-20250514-v1:0";
    assert_eq!(values(&doc, per_pool), vec![10.0, 10.0, 10.0]);
    let ts = series(&doc, "Invocations")["Timestamps"].clone();
    assert_eq!(
        ts,
        serde_json::json!([
            "2026-05-04T10:00:00+00:00",
            "2026-05-04T10:01:00+00:00",
            "2026-05-04T10:02:00+00:00"
        ])
    );
    assert_eq!(doc["Messages"], serde_json::json!([]));
    // The peak held: at the tenth admission of a minute (second 54) nine settled requests
    // hold 2,000 each and the new one reserves 1,000 + 4,096: 23,096.
    let d = &report["dashboard"];
    assert_eq!(d["peak_quota_held_max"], 23_096);
    assert_eq!(d["estimated_tpm_quota_usage_max"], 20_000);
    assert_eq!(d["limit"], 100_000);
    assert_eq!(d["timeline"][0]["peak_quota_held"], 23_096);
    assert_eq!(d["timeline"][1]["estimated_tpm_quota_usage"], 20_000);
}

#[test]
fn cloudwatch_export_has_botocores_shape() {
    let dir = tempfile::tempdir().unwrap();
    // Two pools and a workload that throttles, so every series has values.
    let scenario = write(
        dir.path(),
        "two.toml",
        r#"
duration = "4m"
[pools.region]
model = "claude-sonnet-4-5"
tokens_per_minute = 30000
model_ids = ["anthropic.claude-sonnet-4-5-20250929-v1:0"]
[pools.global]
model = "claude-sonnet-4-5"
tokens_per_minute = 60000
model_ids = ["global.anthropic.claude-sonnet-4-5-20250929-v1:0"]
[workloads.app]
route = { pools = ["region", "global"], policy = "fallback" }
[workloads.app.client]
max_tokens = 4096
[workloads.app.arrivals]
process = "poisson"
rate_per_minute = 40
[workloads.app.requests.chat]
input_tokens = 1500
output_tokens = 300
cache_read_tokens = 500
cache_write_tokens = 100
"#,
    );
    let cw = dir.path().join("cw.json");
    qs().args([
        "run",
        scenario.to_str().unwrap(),
        "--cloudwatch",
        cw.to_str().unwrap(),
    ])
    .assert()
    .success();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&cw).unwrap()).unwrap();
    // Default start: 2026-01-01T00:00:00Z.
    assert_eq!(
        series(&doc, "Invocations")["Timestamps"][0],
        "2026-01-01T00:00:00+00:00"
    );
    // Totals are the sum of the pools.
    let total: f64 = values(&doc, "InvocationThrottles").iter().sum();
    let region: f64 = values(
        &doc,
        "InvocationThrottles anthropic.claude-sonnet-4-5-20250929-v1:0",
    )
    .iter()
    .sum();
    let global: f64 = values(
        &doc,
        "InvocationThrottles global.anthropic.claude-sonnet-4-5-20250929-v1:0",
    )
    .iter()
    .sum();
    assert!(total > 0.0);
    assert_eq!(total, region + global);
    assert_eq!(doc["MetricDataResults"].as_array().unwrap().len(), 30);
    match botocore_validate("cloudwatch", "GetMetricData", &cw) {
        None => eprintln!("NOT RUN: no Python with botocore"),
        Some(report) => assert_eq!(report, ""),
    }
}

#[test]
fn dashboard_in_table_csv_and_plot() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), "steady.toml", STEADY);
    let s = scenario.to_str().unwrap();
    let table = stdout(qs().args(["run", s, "--dashboard"]));
    assert!(table.contains("peak quota held max 23096"), "{table}");
    let csv = stdout(qs().args(["run", s, "--dashboard", "--format", "csv"]));
    assert!(
        csv.contains("minute,pool,estimated_tpm_quota_usage,peak_quota_held,throttled,limit\n0,total,20000,23096,0,100000\n"),
        "{csv}"
    );
    let svg = dir.path().join("p.svg");
    qs().args(["run", s, "--dashboard", "--plot", svg.to_str().unwrap()])
        .assert()
        .success();
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    for series in ["estimated_tpm_quota_usage", "peak_quota_held"] {
        assert!(
            doc.descendants()
                .any(|n| n.attribute("data-series") == Some(series) && n.has_tag_name("path")),
            "{series}"
        );
    }
    // Without the flag the report is what it always was.
    let plain = stdout(qs().args(["run", s, "--format", "json"]));
    assert!(!plain.contains("dashboard"));
}

#[test]
fn start_must_be_rfc3339() {
    let dir = tempfile::tempdir().unwrap();
    let bad = STEADY.replace("2026-05-04T10:00:00Z", "May 4th");
    let path = write(dir.path(), "bad.toml", &bad);
    qs().args(["run", path.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("start"))
        .stderr(predicates::str::contains("RFC 3339"));
}

// ---------------------------------------------------------------- calibrate

/// A scenario whose observed export `calibrate` tests generate with other values.
const SYNTH: &str = r#"
duration = "30m"
seed = 3
[model]
preset = "claude-sonnet-4"
[quota]
tokens_per_minute = 200000
[client]
max_tokens = 2048
retry = "aws-standard"
[arrivals]
process = "poisson"
rate_per_minute = 40
[requests.chat]
input_tokens = { dist = "lognormal", median = 1500, p95 = 5000 }
output_tokens = { dist = "lognormal", median = 300, p95 = 900 }
"#;

/// Writes SYNTH and the export of a run with `sets`, returns (scenario, export).
fn synth_export(dir: &Path, sets: &[&str]) -> (PathBuf, PathBuf) {
    let scenario = write(dir, "synth.toml", SYNTH);
    let cw = dir.join("observed.json");
    let mut cmd = qs();
    cmd.args([
        "run",
        scenario.to_str().unwrap(),
        "--cloudwatch",
        cw.to_str().unwrap(),
    ]);
    for s in sets {
        cmd.args(["--set", s]);
    }
    cmd.assert().success();
    (scenario, cw)
}

fn calibrate_json(scenario: &Path, observed: &Path, extra: &[&str]) -> Value {
    let mut cmd = qs();
    cmd.args([
        "calibrate",
        scenario.to_str().unwrap(),
        "--observed",
        observed.to_str().unwrap(),
        "--format",
        "json",
    ])
    .args(extra);
    serde_json::from_str(&stdout(&mut cmd)).unwrap()
}

#[test]
fn calibrate_compares_metric_by_metric() {
    let dir = tempfile::tempdir().unwrap();
    let (scenario, cw) = synth_export(dir.path(), &[]);
    let v = calibrate_json(&scenario, &cw, &[]);
    // The same scenario: every metric matches exactly.
    let inv = &v["metrics"]["Invocations"];
    assert_eq!(inv["observed"], inv["simulated"]);
    assert_eq!(inv["relative_error"], 0.0);
    assert!((inv["correlation"].as_f64().unwrap() - 1.0).abs() < 1e-9);
    // Another quota: more tokens per minute, fewer throttles than observed.
    let v = calibrate_json(&scenario, &cw, &["--set", "quota.tokens_per_minute=400000"]);
    let th = &v["metrics"]["InvocationThrottles"];
    assert!(th["observed"].as_f64().unwrap() > 0.0);
    assert!(th["relative_error"].as_f64().unwrap() < 0.0, "{th}");
}

/// `calibrate --fit` finds the value an export was generated with (not the scenario's).
/// `sets` apply to both the export and the calibration.
fn recovers(key: &str, hidden: u64, range: &str, tolerance: f64, sets: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let hidden_set = format!("{key}={hidden}");
    let mut all: Vec<&str> = sets.to_vec();
    all.push(&hidden_set);
    let (scenario, cw) = synth_export(dir.path(), &all);
    let fit = format!("{key}={range}");
    let mut args = vec!["--fit", fit.as_str()];
    for s in sets {
        args.extend(["--set", s]);
    }
    let v = calibrate_json(&scenario, &cw, &args);
    let got = v["fit"][key]["value"].as_u64().unwrap();
    let off = (got as f64 - hidden as f64).abs() / hidden as f64;
    assert!(
        off <= tolerance,
        "{key}: fitted {got}, hidden {hidden} (error {})",
        v["fit"]["error"]
    );
    assert!(v["fit"]["error"].as_f64().unwrap() >= 0.0);
    assert!(v["fit"]["curve"].as_array().unwrap().len() > 10);
}

#[test]
fn calibrate_recovers_tokens_per_minute() {
    recovers(
        "quota.tokens_per_minute",
        61_000,
        "20000..1000000",
        0.01,
        &[],
    );
}

#[test]
fn calibrate_recovers_max_tokens() {
    // max_tokens changes only the reservations (no output reaches 5,000 often), like a
    // reservation floor: the throttles tell it.
    recovers("client.max_tokens", 5_000, "256..32000", 0.05, &[]);
}

#[test]
fn calibrate_recovers_a_reservation_floor() {
    // The clients send max_tokens 2,048; a floor of 4,096 doubles that part of every
    // reservation (about 40 × 5,600 a minute against 150,000), and only the throttles
    // show it.
    recovers(
        "quota.reservation_floor",
        4_096,
        "0..8192",
        0.05,
        &["quota.tokens_per_minute=150000"],
    );
}

#[test]
fn calibrate_fits_two_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (scenario, cw) = synth_export(
        dir.path(),
        &["quota.tokens_per_minute=70000", "client.max_tokens=3000"],
    );
    let v = calibrate_json(
        &scenario,
        &cw,
        &[
            "--fit",
            "quota.tokens_per_minute=60000..80000",
            "--fit",
            "client.max_tokens=2000..4000",
        ],
    );
    let tpm = v["fit"]["quota.tokens_per_minute"]["value"]
        .as_u64()
        .unwrap();
    let mt = v["fit"]["client.max_tokens"]["value"].as_u64().unwrap();
    assert!((60_000..=80_000).contains(&tpm) && (2_000..=4_000).contains(&mt));
    let curve = v["fit"]["curve"].as_array().unwrap();
    assert!(curve[0].get("quota.tokens_per_minute").is_some());
    assert!(curve[0].get("client.max_tokens").is_some());
    // The best point's error is the smallest on the curve.
    let best = v["fit"]["error"].as_f64().unwrap();
    assert!(curve.iter().all(|p| p["error"].as_f64().unwrap() >= best));
}

#[test]
fn bundled_day_recovers_the_hidden_quota() {
    // scenarios/calibrate/observed.json was written by
    //   quotasim run scenarios/calibrate/day.toml --set quota.tokens_per_minute=143000 \
    //       --cloudwatch scenarios/calibrate/observed.json
    let v = calibrate_json(
        &root("scenarios/calibrate/day.toml"),
        &root("scenarios/calibrate/observed.json"),
        &["--fit", "quota.tokens_per_minute=50000..1000000"],
    );
    let got = v["fit"]["quota.tokens_per_minute"]["value"]
        .as_u64()
        .unwrap();
    assert!((142_000..=144_000).contains(&got), "fitted {got}");
    assert_eq!(v["fit"]["error"], 0.0);
    // The export is what that run writes today (the engine did not drift under it).
    let dir = tempfile::tempdir().unwrap();
    let cw = dir.path().join("cw.json");
    qs().args([
        "run",
        root("scenarios/calibrate/day.toml").to_str().unwrap(),
        "--set",
        "quota.tokens_per_minute=143000",
        "--cloudwatch",
        cw.to_str().unwrap(),
    ])
    .assert()
    .success();
    assert_eq!(
        std::fs::read_to_string(&cw).unwrap(),
        std::fs::read_to_string(root("scenarios/calibrate/observed.json")).unwrap()
    );
}

fn calibrate_fails(scenario: &Path, observed: &Path, extra: &[&str], needle: &str) {
    qs().args([
        "calibrate",
        scenario.to_str().unwrap(),
        "--observed",
        observed.to_str().unwrap(),
    ])
    .args(extra)
    .assert()
    .code(2)
    .stdout("")
    .stderr(predicates::str::contains(needle));
}

#[test]
fn calibrate_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let (scenario, cw) = synth_export(dir.path(), &[]);
    let d = dir.path();
    let quotas = root("tests/fixtures/service_quotas/bedrock.json");
    calibrate_fails(
        &scenario,
        &quotas,
        &[],
        "not `aws cloudwatch get-metric-data` output",
    );
    let not_json = write(d, "x.json", "Timestamp,Value\n");
    calibrate_fails(&scenario, &not_json, &[], "invalid JSON");
    let unknown = write(
        d,
        "unknown.json",
        r#"{"MetricDataResults": [
            {"Id": "m1", "Label": "Invocations", "Timestamps": ["2026-01-01T00:00:00Z"], "Values": [1.0], "StatusCode": "Complete"},
            {"Id": "m2", "Label": "ModelLatency", "Timestamps": [], "Values": [], "StatusCode": "Complete"}],
           "Messages": []}"#,
    );
    calibrate_fails(&scenario, &unknown, &[], "\"ModelLatency\"");
    let odd = write(
        d,
        "odd.json",
        r#"{"MetricDataResults": [{"Id": "m1", "Label": "Invocations",
            "Timestamps": ["2026-01-01T00:00:30Z"], "Values": [1.0], "StatusCode": "Complete"}]}"#,
    );
    calibrate_fails(&scenario, &odd, &[], "not a whole minute");
    let late = write(
        d,
        "late.json",
        r#"{"MetricDataResults": [{"Id": "m1", "Label": "Invocations",
            "Timestamps": ["2026-01-01T05:00:00Z"], "Values": [1.0], "StatusCode": "Complete"}]}"#,
    );
    let started = write(
        d,
        "started.toml",
        &format!("start = \"2026-01-01T00:00:00Z\"\n{SYNTH}"),
    );
    calibrate_fails(&started, &late, &[], "do not overlap");
    calibrate_fails(
        &scenario,
        &cw,
        &["--fit", "quota.limiter=1..5"],
        "not an integer key",
    );
    calibrate_fails(
        &scenario,
        &cw,
        &["--fit", "quota.tokens_per_minute=5000..5000"],
        "empty",
    );
    calibrate_fails(
        &scenario,
        &cw,
        &["--fit", "quota.tokens_per_minute=9000..5000"],
        "reversed",
    );
    calibrate_fails(
        &scenario,
        &cw,
        &[
            "--fit",
            "quota.tokens_per_minute=1..5",
            "--fit",
            "client.max_tokens=1..5",
            "--fit",
            "client.concurrency=1..5",
        ],
        "one or two keys",
    );
}

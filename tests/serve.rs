//! `quotasim serve` driven by the real AWS SDK for Python: the binary listens on port 0, a
//! boto3 script (tests/serve/client.py) runs one kind of traffic against it and reports
//! what the client saw, and the server's `/quotasim/report` must agree.
//!
//! The interpreter is `$QUOTASIM_PYTHON`, else `.venv/bin/python` (made by `.ci/run`). Without
//! one these tests are ignored (cargo test lists them with the reason), except under `CI`,
//! where they run and fail (see tests/common/mod.rs).

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

mod common;

use common::{Served, python, u};

const SONNET_45: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";

impl Served {
    fn client(&self, py: &PathBuf, scenario: &str) -> Value {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/serve/client.py");
        let out = Command::new(py)
            .arg(script)
            .args([scenario, &self.endpoint, SONNET_45])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "client.py {scenario} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn scenario(quota: &str, service: &str) -> String {
    format!(
        r#"
name = "serve-test"
duration = "1m"
[model]
preset = "claude-sonnet-4-5"
[quota]
{quota}
[service]
{service}
[arrivals]
process = "constant"
rate_per_minute = 1
[requests.chat]
input_tokens = 100
output_tokens = 300
"#
    )
}

const FAST: &str = r#"ttft = "0s"
ttft_per_1k_input = "0s"
output_tokens_per_second = 100000
throttle_latency = "0s""#;

#[test]
#[cfg_attr(
    not(any(has_venv, ci)),
    ignore = "needs .venv/bin/python with boto3 (run .ci/run or set QUOTASIM_PYTHON)"
)]
fn four_operations_report_the_usage_the_quota_charged() {
    let py = python();
    let s = Served::start(&scenario("tokens_per_minute = 10000000", FAST), &[]);
    let seen = s.client(&py, "operations");
    let r = &seen["report"];
    let (input, output) = (u(&seen, "/input"), u(&seen, "/output"));
    assert_eq!(u(r, "/requests/arrived"), u(&seen, "/calls"));
    assert_eq!(u(r, "/requests/succeeded"), u(&seen, "/calls"));
    assert_eq!(u(r, "/requests/truncated"), u(&seen, "/truncated"));
    assert_eq!(u(r, "/attempts/sent"), u(&seen, "/calls"));
    assert_eq!(u(r, "/tokens/input"), input);
    assert_eq!(u(r, "/tokens/output"), output);
    // Sonnet 4.5 burns 5 quota tokens per output token: C = I + 5A.
    assert_eq!(u(r, "/tokens/quota_consumed"), input + 5 * output);
    // The timeline's charge after settlement equals the consumption (one minute, fixed
    // window, no refund lost).
    assert_eq!(
        r["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["quota_charged"].as_i64().unwrap())
            .sum::<i64>(),
        (input + 5 * output) as i64
    );
    // SIGTERM: exit 0 with the final report, the same counts.
    let (status, fin) = s.stop("-TERM");
    assert!(status.success(), "{status}");
    assert_eq!(u(&fin, "/requests/succeeded"), u(&seen, "/calls"));
    assert_eq!(u(&fin, "/tokens/quota_consumed"), input + 5 * output);
}

#[test]
#[cfg_attr(
    not(any(has_venv, ci)),
    ignore = "needs .venv/bin/python with boto3 (run .ci/run or set QUOTASIM_PYTHON)"
)]
fn a_throttle_reaches_a_client_without_retries_as_throttling_exception() {
    let py = python();
    let s = Served::start(
        &scenario("tokens_per_minute = 3000\nrequests_per_minute = 2", FAST),
        &[],
    );
    let seen = s.client(&py, "throttle");
    let r = &seen["report"];
    assert_eq!(u(&seen, "/throttled_tokens"), 1);
    assert_eq!(u(&seen, "/throttled_requests"), 2);
    assert_eq!(u(r, "/requests/arrived"), 5);
    assert_eq!(u(r, "/requests/succeeded"), u(&seen, "/succeeded"));
    assert_eq!(u(r, "/requests/failed"), 3);
    assert_eq!(u(r, "/requests/failed_by/throttled"), 3);
    assert_eq!(u(r, "/attempts/throttled"), 3);
    assert_eq!(u(r, "/attempts/throttled_by/tokens_per_minute"), 1);
    assert_eq!(u(r, "/attempts/throttled_by/requests_per_minute"), 2);
    // Two successes of I = 100, A = 10: 150 quota tokens each.
    assert_eq!(u(r, "/tokens/quota_consumed"), 300);
    // Reserved: 100 + 2000 and 100 + 100.
    assert_eq!(u(r, "/tokens/reserved"), 2300);
    // Ctrl-C: exit 0 with the final report.
    let (status, fin) = s.stop("-INT");
    assert!(status.success(), "{status}");
    assert_eq!(u(&fin, "/attempts/throttled"), 3);
}

#[test]
#[cfg_attr(
    not(any(has_venv, ci)),
    ignore = "needs .venv/bin/python with boto3 (run .ci/run or set QUOTASIM_PYTHON)"
)]
fn faults_reach_a_client_as_service_unavailable_and_release_their_reservation() {
    let py = python();
    // Each call reserves 10 + 100; 20 of them would not fit in 1,000 if 503s kept theirs.
    let s = Served::start(
        &scenario(
            "tokens_per_minute = 1000",
            &format!("{FAST}\nerror_rate = 0.9"),
        ),
        &[],
    );
    let seen = s.client(&py, "faults");
    let r = &seen["report"];
    let unavailable = u(&seen, "/unavailable");
    assert_eq!(u(r, "/requests/arrived"), 20);
    assert_eq!(u(r, "/attempts/server_errors"), unavailable);
    assert_eq!(u(r, "/requests/failed_by/server_error"), unavailable);
    assert_eq!(u(r, "/requests/succeeded"), u(&seen, "/succeeded"));
    assert_eq!(u(r, "/attempts/throttled"), 0);
    // Only the successes consumed quota: 10 + 5 × 5 each.
    assert_eq!(u(r, "/tokens/quota_consumed"), 35 * u(&seen, "/succeeded"));
}

#[test]
#[cfg_attr(
    not(any(has_venv, ci)),
    ignore = "needs .venv/bin/python with boto3 (run .ci/run or set QUOTASIM_PYTHON)"
)]
fn standard_retries_from_16_threads_are_counted_as_the_clients_saw_them() {
    let py = python();
    // 16 calls of 1,200 reserved quota tokens fit in a minute; a minute lasts 2 s.
    let s = Served::start(
        &scenario(
            "tokens_per_minute = 20000",
            "ttft = \"200ms\"\noutput_tokens_per_second = 1000\nthrottle_latency = \"100ms\"\nerror_rate = 0.05",
        ),
        &["--time-scale", "30"],
    );
    let seen = s.client(&py, "retries");
    let r = &seen["report"];
    assert_eq!(u(r, "/requests/arrived"), u(&seen, "/calls"));
    assert_eq!(u(r, "/requests/succeeded"), u(&seen, "/succeeded"));
    assert_eq!(u(r, "/requests/failed"), u(&seen, "/failed"));
    assert_eq!(u(r, "/requests/unfinished"), 0);
    assert_eq!(
        u(r, "/requests/failed_by/throttled"),
        u(&seen, "/failed_throttled")
    );
    assert_eq!(
        u(r, "/requests/failed_by/server_error"),
        u(&seen, "/failed_server_error")
    );
    assert_eq!(u(r, "/attempts/sent"), u(&seen, "/attempts"));
    assert_eq!(
        u(r, "/attempts/sent"),
        u(r, "/attempts/admitted") + u(r, "/attempts/throttled")
    );
    assert_eq!(u(r, "/tokens/output"), u(&seen, "/output"));
    // The traffic really was throttled and retried.
    assert!(u(r, "/attempts/throttled") > 0, "{r}");
    assert!(u(&seen, "/attempts") > u(&seen, "/calls"), "{seen}");
}

#[test]
#[cfg_attr(
    not(any(has_venv, ci)),
    ignore = "needs .venv/bin/python with boto3 (run .ci/run or set QUOTASIM_PYTHON)"
)]
fn malformed_and_hostile_requests_leave_good_ones_alone() {
    let py = python();
    let s = Served::start(&scenario("tokens_per_minute = 10000000", FAST), &[]);
    let seen = s.client(&py, "malformed");
    let r = &seen["report"];
    // Bad requests are never attempts; every good call counted as it was seen.
    assert_eq!(u(r, "/requests/arrived"), u(&seen, "/good"));
    assert_eq!(u(r, "/requests/succeeded"), u(&seen, "/good"));
    assert_eq!(u(r, "/attempts/sent"), u(&seen, "/good"));
    assert_eq!(u(r, "/serve/invalid_requests"), u(&seen, "/bad"));
    // Five clients that never finish their headers did not hold the good calls up until
    // the 10 s header timeout dropped them.
    assert!(
        seen["good_max_seconds"].as_f64().unwrap() < 5.0,
        "{}",
        seen["good_max_seconds"]
    );
}

#[test]
fn serve_refuses_bad_arguments_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, scenario("tokens_per_minute = 1000", FAST)).unwrap();
    for args in [
        vec!["--time-scale", "0"],
        vec!["--time-scale", "-3"],
        vec!["--time-scale", "100000"],
        vec!["--listen", "not-an-address"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_quotasim"))
            .arg("serve")
            .arg(&path)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_quotasim"))
        .args(["serve", "/no/such/file.toml", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The model ID picks the pool: the application falls back from the in-Region ID to the
/// `global.` ID on each throttle, and the report's `pools` blocks count what it saw.
#[test]
#[cfg_attr(
    not(any(has_venv, ci)),
    ignore = "needs .venv/bin/python with boto3 (run .ci/run or set QUOTASIM_PYTHON)"
)]
fn a_client_falling_back_to_the_global_profile_reaches_the_global_pool() {
    let py = python();
    let text = format!(
        r#"
name = "serve-pools-test"
duration = "1m"
[model]
preset = "claude-sonnet-4-5"
[service]
{FAST}
[pools.region]
tokens_per_minute = 3000
[pools.global]
tokens_per_minute = 1000000
model_ids = ["global.anthropic.claude-sonnet-4-5-20250929-v1:0"]
[workloads.app]
route = "region"
[workloads.app.arrivals]
process = "constant"
rate_per_minute = 1
[workloads.app.requests.chat]
input_tokens = 100
output_tokens = 300
"#
    );
    let s = Served::start(&text, &[]);
    let seen = s.client(&py, "pools");
    let r = &seen["report"];
    // Each call reserves I + M = 1100 and settles to I + 5 × A = 600. Region admits while
    // 600·k + 1100 ≤ 3000: k = 0..3; calls 5 and 6 are throttled and go to global.
    assert_eq!(u(&seen, "/region"), 4);
    assert_eq!(u(&seen, "/throttled"), 2);
    assert_eq!(u(&seen, "/global"), 2);
    assert_eq!(u(r, "/attempts/sent"), u(&seen, "/calls"));
    assert_eq!(u(r, "/pools/region/admitted"), 4);
    assert_eq!(u(r, "/pools/region/throttled"), 2);
    assert_eq!(u(r, "/pools/global/admitted"), 2);
    assert_eq!(u(r, "/pools/global/throttled"), 0);
    assert_eq!(u(r, "/pools/region/quota_consumed"), 4 * 600);
    assert_eq!(u(r, "/pools/global/quota_consumed"), 2 * 600);
    // Each SDK call is its own request: the throttled ones failed, the others succeeded.
    assert_eq!(u(r, "/requests/arrived"), 8);
    assert_eq!(u(r, "/requests/succeeded"), 6);
    assert_eq!(u(r, "/requests/failed"), 2);
    let (status, fin) = s.stop("-TERM");
    assert!(status.success(), "{status}");
    assert_eq!(fin["pools"]["region"]["admitted"], 4);
    assert_eq!(fin["pools"]["global"]["admitted"], 2);
}

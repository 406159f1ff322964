//! Hostile inputs: one or more cases for every class of failure an adversarial run found
//! (hangs, runaway memory, wrong exit codes, damaged files, unclear messages), each with the
//! exact message. Every case runs in its own temporary folder, so paths in messages are the
//! short relative names written here.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use assert_cmd::Command;

/// A case that takes this long is a hang, not a slow machine.
const HANG: Duration = Duration::from_secs(60);

const BASE: &str = r#"duration = "10m"

[model]
preset = "claude-sonnet-4"

[quota]
tokens_per_minute = 200000
requests_per_minute = 200

[client]
concurrency = 4
max_tokens = 1024

[arrivals]
process = "poisson"
rate_per_minute = 60

[requests.chat]
input_tokens = 500
output_tokens = 300
"#;

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Dir {
        Dir(tempfile::tempdir().unwrap())
    }

    fn write(&self, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let p = self.0.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    /// Runs quotasim here; (exit status, stdout, stderr).
    fn qs(&self, args: &[&str]) -> (i32, String, String) {
        self.qs_env(args, &[])
    }

    fn qs_env(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let mut cmd = Command::cargo_bin("quotasim").unwrap();
        cmd.current_dir(self.0.path()).args(args).timeout(HANG);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs a shell line here with `$Q` set to the binary.
    fn sh(&self, line: &str) -> (i32, String, String) {
        let bin = assert_cmd::cargo::cargo_bin("quotasim");
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(line)
            .env("Q", bin)
            .current_dir(self.0.path())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// Asserts exit status 2 and exactly `message` on stderr, nothing on stdout.
fn invalid(got: (i32, String, String), message: &str) {
    let (code, stdout, stderr) = got;
    assert_eq!(stderr, message, "stderr");
    assert_eq!(code, 2, "exit status; stderr: {stderr}");
    assert_eq!(stdout, "", "stdout");
}

fn base_with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    BASE.replace(from, to)
}

// ---------------------------------------------------------------- the on-off process

const ON_OFF: &str = r#"[arrivals]
process = "on-off"
on_rate_per_minute = 10
off_rate_per_minute = 0
mean_on = "1us"
mean_off = "1us"
"#;

fn on_off(on_rate: &str, mean: &str, duration: &str) -> String {
    base_with(
        "[arrivals]\nprocess = \"poisson\"\nrate_per_minute = 60\n",
        &ON_OFF
            .replace(
                "on_rate_per_minute = 10",
                &format!("on_rate_per_minute = {on_rate}"),
            )
            .replace("\"1us\"", &format!("\"{mean}\"")),
    )
    .replace("duration = \"10m\"", &format!("duration = \"{duration}\""))
}

/// (The `--max-events` hint is 2 × the estimated events: 604,800,000,000 flips plus 2 ×
/// 50,401 requests, the on-off bound of 10 a minute over half of 7 days plus one `mean_on`.)
#[test]
fn on_off_flipping_every_microsecond_is_refused_up_front() {
    let d = Dir::new();
    d.write("s.toml", on_off("10", "1us", "7d"));
    invalid(
        d.qs(&["run", "s.toml"]),
        "error: s.toml: `arrivals.mean_on`: this scenario is too big to simulate: its on-off \
         arrival process changes state about 604,800,000,000 times over 7d (mean_on 1us + \
         mean_off 1us per cycle), and each change costs an event, more than --max-events \
         500,000,000\n  help: lengthen arrivals.mean_on and arrivals.mean_off, shorten \
         duration, or pass --max-events 1209600201604 (or more) if you are prepared to wait\n",
    );
}

#[test]
fn on_off_that_almost_never_arrives_finishes_and_counts_its_flips() {
    let d = Dir::new();
    d.write("s.toml", on_off("1e-9", "1m", "7d"));
    let (code, out, err) = d.qs(&["run", "s.toml", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    // About 7 × 1440 / 2 cycles of two flips each: the flips are counted as work.
    let events = v["engine"]["events"].as_u64().unwrap();
    assert!((5_000..20_000).contains(&events), "{events}");
}

#[test]
fn the_engine_stops_an_on_off_process_at_max_events_even_past_the_estimate() {
    use quotasim::engine::{Limits, StopReason, simulate_with};
    let s = quotasim::Scenario::from_toml_str(&on_off("10", "1us", "10m"), "s.toml").unwrap();
    let stopped = simulate_with(&s, &Limits::new(10_000, 1024), None).unwrap_err();
    match stopped.reason {
        StopReason::Events(n) => assert!((10_000..10_100).contains(&n), "{n}"),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------- sweep size and threads

#[test]
fn a_grid_of_ten_billion_points_is_refused_at_once() {
    let d = Dir::new();
    d.write("s.toml", BASE);
    invalid(
        d.qs(&[
            "sweep",
            "s.toml",
            "-q",
            "--vary",
            "client.concurrency=1..100000",
            "--vary",
            "client.max_tokens=1000..100999",
        ]),
        "error: the sweep is too big: 10,000,000,000 points, more than the 1,000,000 one sweep \
         may hold; vary fewer values, or split it with --shard K/N (N of at least 10000) and \
         `quotasim merge` the parts\n",
    );
}

#[test]
fn a_grid_is_refused_by_its_memory() {
    let d = Dir::new();
    d.write("s.toml", BASE);
    invalid(
        d.qs(&[
            "sweep",
            "s.toml",
            "-q",
            "--vary",
            "client.concurrency=1..1000",
            "--vary",
            "client.max_tokens=1000..1999",
        ]),
        "error: the sweep is too big: its 1,000,000 points need about 1954 MB of memory, more \
         than --max-memory-mb 1024; vary fewer values, split it with --shard K/N, or raise \
         --max-memory-mb\n",
    );
}

#[test]
fn a_grid_of_tiny_points_is_refused_by_its_total_work() {
    let d = Dir::new();
    d.write(
        "s.toml",
        base_with("rate_per_minute = 60", "rate_per_minute = 1").replace("\"10m\"", "\"1m\""),
    );
    invalid(
        d.qs(&[
            "sweep",
            "s.toml",
            "-q",
            "--max-events",
            "1000000",
            "--vary",
            "client.concurrency=1..100",
            "--vary",
            "client.max_tokens=1000..1999",
            "--replications",
            "2",
        ]),
        "error: the sweep is too big to simulate: 100,000 points × 2 replications × about 100 \
         events each (at least 100 per simulation) is about 20,000,000 events, more than \
         --max-events 1,000,000; vary fewer values, lower the replications, shorten \
         `duration`, split it with --shard K/N, or raise --max-events\n",
    );
}

/// The running total of a sweep's work counts every replication of every point, so a grid
/// whose ends are small and whose middle is large is refused by its total, not only by the
/// up-front estimate from its ends.
///
/// Poisson at 60/min: a point of D minutes needs at least 2 × 60 × D events (an arrival and
/// an end per request). `duration = 1m, 100m, 2m`: 120, 12,000 and 240 events.
/// - Up front, the smaller end stands for every point: 3 points × 3 replications × 120 =
///   1,080 ≤ 20,000: passes.
/// - Running total: 3 × 120 = 360, then 360 + 3 × 12,000 = 36,360 > 20,000: refused at the
///   second point. (Without the replications, 120 + 12,000 + 240 = 12,360 would pass.)
#[test]
fn a_grid_with_a_large_middle_point_is_refused_by_its_total_with_replications() {
    let d = Dir::new();
    d.write("s.toml", BASE);
    invalid(
        d.qs(&[
            "sweep",
            "s.toml",
            "-q",
            "--max-events",
            "20000",
            "--vary",
            "duration=1m,100m,2m",
            "--replications",
            "3",
        ]),
        "error: the sweep is too big to simulate: its points need at least 36360 events in all \
         (with 3 replications each), more than --max-events 20000; vary fewer values, lower \
         the replications, shorten `duration`, or raise --max-events\n",
    );
}

#[test]
fn absurd_thread_counts_are_refused() {
    let d = Dir::new();
    d.write("s.toml", BASE);
    let max = std::thread::available_parallelism().map_or(1, |n| n.get()) * 16;
    for n in ["10000", "18446744073709551615"] {
        invalid(
            d.qs(&[
                "sweep",
                "s.toml",
                "-q",
                "--vary",
                "client.concurrency=1,2",
                "--threads",
                n,
            ]),
            &format!(
                "error: --threads {n}: too many (max {max}, 16 per core on this machine); the \
                 output does not depend on the thread count, so leave it out to use every core\n"
            ),
        );
    }
}

// ---------------------------------------------------------------- fit

#[test]
fn fit_gathers_classes_past_the_cap() {
    let d = Dir::new();
    let mut csv = String::from("timestamp,class,input_tokens,output_tokens\n");
    for i in 0..1000 {
        csv.push_str(&format!("{},c{i},{},{}\n", i * 2, 100 + i, 10 + i % 7));
    }
    d.write("t.csv", csv);
    let (code, out, err) = d.qs(&["fit", "t.csv"]);
    assert_eq!(code, 0, "{err}");
    let classes = out.matches("[requests.").count();
    assert_eq!(classes, quotasim::fit::MAX_FIT_CLASSES + 1, "{out}");
    assert!(out.contains("[requests.other_classes]"), "{out}");
    assert!(out.contains("[requests.c0]") && !out.contains("[requests.c999]"));
}

// ---------------------------------------------------------------- merge and compare

fn part(d: &Dir, scenario: &str, k: usize, out: &str) {
    let (code, _, err) = d.qs(&[
        "sweep",
        scenario,
        "-q",
        "--vary",
        "client.concurrency=1,2",
        "--shard",
        &format!("{k}/2"),
        "--out",
        out,
    ]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn merge_refuses_parts_of_a_different_scenario_with_the_same_name() {
    let d = Dir::new();
    std::fs::create_dir(d.path("a")).unwrap();
    std::fs::create_dir(d.path("b")).unwrap();
    d.write("a/s.toml", BASE);
    d.write(
        "b/s.toml",
        base_with("tokens_per_minute = 200000", "tokens_per_minute = 100000"),
    );
    part(&d, "a/s.toml", 0, "p0.json");
    part(&d, "b/s.toml", 1, "p1.json");
    invalid(
        d.qs(&["merge", "p0.json", "p1.json"]),
        "error: p1.json: is from a different sweep than p0.json: `fingerprint of the resolved \
         scenario` differs\n",
    );
    part(&d, "a/s.toml", 1, "p1.json");
    let (code, _, err) = d.qs(&["merge", "p0.json", "p1.json"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn compare_of_reports_of_different_kinds_is_invalid_input() {
    let d = Dir::new();
    d.write("s.toml", BASE);
    assert_eq!(
        d.qs(&["run", "s.toml", "--format", "json", "--out", "run.json"])
            .0,
        0
    );
    let (code, _, err) = d.qs(&[
        "sweep",
        "s.toml",
        "-q",
        "--vary",
        "client.concurrency=1,2",
        "--format",
        "json",
        "--out",
        "sweep.json",
    ]);
    assert_eq!(code, 0, "{err}");
    invalid(
        d.qs(&["compare", "run.json", "sweep.json"]),
        "error: cannot compare run.json with sweep.json: the baseline is a run report but the \
         current report is a sweep report; expected two reports of the same kind (both from \
         `run`, or both from `sweep`)\n",
    );
}

// ---------------------------------------------------------------- messages

#[test]
fn control_bytes_are_escaped() {
    let d = Dir::new();
    d.write(
        "s.toml",
        format!("\"a\\u0007b\\u0000\\u001b[31m\" = 1\n{BASE}"),
    );
    let (code, _, err) = d.qs(&["run", "s.toml"]);
    assert_eq!(code, 2);
    assert!(
        !err.chars().any(|c| c.is_control() && c != '\n'),
        "raw control characters: {err:?}"
    );
    assert!(
        err.starts_with(
            "error: s.toml:1:1: `\"a\\u0007b\\u0000\\u001B[31m\"`: unknown key `a\\u{7}b\\0\\u{1b}[31m`"
        ),
        "{err}"
    );
}

#[test]
fn a_five_megabyte_key_is_not_echoed_in_full() {
    let d = Dir::new();
    let key = "k".repeat(5 << 20);
    d.write("s.toml", format!("{key} = 1\n{BASE}"));
    let (code, _, err) = d.qs(&["run", "s.toml"]);
    assert_eq!(code, 2);
    assert!(err.len() < 2000, "{} bytes of stderr", err.len());
    let cut = format!("…({} characters cut)…", (5 << 20) - 60 - 30);
    assert_eq!(
        err,
        format!(
            "error: s.toml:1:1: `{k60}{cut}{k30}`: unknown key `{k60}{cut}{k30}`; valid keys \
             here: `name`, `description`, `start`, `seed`, `duration`, `warmup`, `model`, `quota`, \
             `service`, `client`, `arrivals`, `requests`, `tier`, `models`, `pools`, `account`, `workloads`, `sweep`\n",
            k60 = "k".repeat(60),
            k30 = "k".repeat(30)
        )
    );
}

#[test]
fn oversized_numbers_say_too_large() {
    let d = Dir::new();
    d.write("s.toml", format!("seed = 1e300\n{BASE}"));
    invalid(
        d.qs(&["run", "s.toml"]),
        "error: s.toml:1:8: `seed`: 1e300 is too large (max 18446744073709551615)\n",
    );
    d.write(
        "s.toml",
        base_with("concurrency = 4", "concurrency = 1e300"),
    );
    invalid(
        d.qs(&["run", "s.toml"]),
        "error: s.toml:11:15: `client.concurrency`: 1e300 is too large (max \
         9223372036854775807)\n",
    );
}

#[test]
fn unknown_quoted_keys_keep_their_position() {
    let d = Dir::new();
    d.write("s.toml", base_with("concurrency = 4", "\"ev.il\" = 4"));
    invalid(
        d.qs(&["run", "s.toml"]),
        "error: s.toml:11:1: `client.\"ev.il\"`: unknown key `ev.il`; valid keys here: \
         `concurrency`, `max_tokens`, `retry`, `max_attempts`, `pacing`, `timeout`, `stream`, \
         `retry_mid_stream`, `new_retries_2026`\n",
    );
    d.write("s.toml", format!("\"\" = 1\n{BASE}"));
    invalid(
        d.qs(&["run", "s.toml"]),
        "error: s.toml:1:1: `\"\"`: unknown key `\"\"`; valid keys here: `name`, \
         `description`, `start`, `seed`, `duration`, `warmup`, `model`, `quota`, `service`, `client`, \
         `arrivals`, `requests`, `tier`, `models`, `pools`, `account`, `workloads`, `sweep`\n",
    );
    d.write(
        "s.toml",
        base_with("concurrency = 4", "\"con\\u0063urrency\\t\" = 4"),
    );
    invalid(
        d.qs(&["run", "s.toml"]),
        "error: s.toml:11:1: `client.\"concurrency\\u0009\"`: unknown key `concurrency\t`; valid \
         keys here: `concurrency`, `max_tokens`, `retry`, `max_attempts`, `pacing`, `timeout`, \
         `stream`, `retry_mid_stream`, `new_retries_2026`\n\
         \x20 help: did you mean `concurrency`?\n",
    );
}

const LOG_LINE: &str = r#"{"timestamp":"2025-06-01T12:00:00Z","input":{"inputTokenCount":5},"output":{"outputTokenCount":3}}"#;

#[test]
fn jsonl_errors_use_the_file_line_and_never_serde_internals() {
    let d = Dir::new();
    let cases = [
        (
            LOG_LINE.replace("\"inputTokenCount\":5", "\"inputTokenCount\":\"5\""),
            "error: t.jsonl:2:66: invalid invocation-log record: `input.inputTokenCount`: \
             invalid type: string \"5\", expected a non-negative integer\n",
        ),
        (
            LOG_LINE.replace("12:00:00Z", "12:00:0\\u0031Z"),
            "error: t.jsonl:2:1: `timestamp` has a JSON escape sequence; write the timestamp as \
             plain text, e.g. \"2025-06-01T12:00:00Z\"\n",
        ),
        (
            LOG_LINE.trim_end_matches('}').to_string(),
            "error: t.jsonl:2:96: invalid invocation-log record: EOF while parsing an object\n",
        ),
    ];
    for (second, message) in cases {
        d.write("t.jsonl", format!("{LOG_LINE}\n{second}\n"));
        invalid(d.qs(&["fit", "t.jsonl"]), message);
    }
}

#[test]
fn a_stall_caused_by_pacing_blames_pacing() {
    let d = Dir::new();
    let paced = base_with(
        "max_tokens = 1024",
        "max_tokens = 1024\npacing = { requests_per_minute = 1 }",
    )
    .replace("concurrency = 4\n", "")
    .replace("rate_per_minute = 60", "rate_per_minute = 1000");
    d.write("s.toml", &paced);
    invalid(
        d.qs(&["run", "s.toml", "--max-memory-mb", "1"]),
        "error: s.toml: `client.pacing`: stopped at simulated time 1.9m: 1,986 requests were \
         waiting or in flight at once, 1,985 of them held by client.pacing (it lets fewer \
         through than arrive), more than --max-memory-mb 1 can hold\n  help: raise \
         client.pacing's tokens_per_minute or requests_per_minute to at least the arrival \
         rate, lower the arrival rate or duration, or raise --max-memory-mb\n",
    );
    // Constant arrivals, one a minute: requests arrive at 0, 1, …, 9 min (the 10-minute run
    // ends before the 11th). At 1 token a minute the pacer's next release of a 100,000-token
    // request lies 70.2 days out, past what the timeline may hold. Every arrival comes before
    // that wake-up, so the run stops with the clock at the last arrival: 9.0 min.
    let slow = paced
        .replace("requests_per_minute = 1 }", "tokens_per_minute = 1 }")
        .replace("rate_per_minute = 1000", "rate_per_minute = 1")
        .replace("process = \"poisson\"", "process = \"constant\"")
        .replace("input_tokens = 500", "input_tokens = 100000");
    d.write("s.toml", slow);
    invalid(
        d.qs(&["run", "s.toml", "--max-memory-mb", "1"]),
        "error: s.toml: `client.pacing`: stopped at simulated time 9.0m: client.pacing holds a \
         request until 70.2d, and the per-minute timeline up to then would need more than \
         --max-memory-mb 1\n  help: raise client.pacing's tokens_per_minute or \
         requests_per_minute (a request larger than its bucket waits for a full bucket), or \
         raise --max-memory-mb\n",
    );
}

#[test]
fn a_trace_refusal_does_not_suggest_a_rate() {
    let d = Dir::new();
    let mut csv = String::from("timestamp,input_tokens,output_tokens\n");
    for i in 0..100 {
        csv.push_str(&format!("{i},100,10\n"));
    }
    d.write("t.csv", csv);
    d.write(
        "s.toml",
        base_with(
            "process = \"poisson\"\nrate_per_minute = 60",
            "process = \"trace\"\nfile = \"t.csv\"",
        )
        .replace(
            "[requests.chat]\ninput_tokens = 500\noutput_tokens = 300\n",
            "",
        ),
    );
    invalid(
        d.qs(&["run", "s.toml", "--max-events", "50"]),
        "error: s.toml: `duration`: this scenario is too big to simulate: about 100 requests \
         over 10m, so at least 200 events, more than --max-events 50\n  help: lower duration \
         or arrivals.repeat, or raise arrivals.time_scale (or replay a shorter trace), or pass \
         --max-events 400 (or more) if you are prepared to wait\n",
    );
}

#[test]
fn sweep_table_errors_name_the_file_and_line() {
    let d = Dir::new();
    let table = "\n[sweep]\nvary = [\"client.concurrency=1,2\"]\nconstraints = [\"bogus <= 1\"]\n";
    d.write("s.toml", format!("{BASE}{table}"));
    invalid(
        d.qs(&["sweep", "s.toml", "-q"]),
        "error: s.toml:24:16: [sweep] constraints: unknown metric `bogus` in constraint `bogus \
         <= 1`; the sweep metrics are throughput.requests_per_minute, \
         throughput.output_tokens_per_minute, throttle_rate, failure_rate, truncation_rate, \
         latency_ms.e2e.p50, latency_ms.e2e.p99, quota_utilisation, reserved_unused, cost.usd, \
         cost.usd_per_success, cost.usd_per_hour, and per pool or workload pools.NAME.cost.usd, \
         workloads.NAME.cost.usd, pools.NAME.cost.usd_per_success, \
         workloads.NAME.cost.usd_per_success, pools.NAME.cost.usd_per_hour, \
         workloads.NAME.cost.usd_per_hour, pools.NAME.throttle_rate, \
         workloads.NAME.throttle_rate, pools.NAME.quota_utilisation, \
         workloads.NAME.failure_rate, workloads.NAME.truncation_rate, \
         workloads.NAME.latency_ms.e2e.p50, workloads.NAME.latency_ms.e2e.p99, \
         workloads.NAME.throughput.requests_per_minute\n",
    );
    d.write(
        "s.toml",
        format!("{BASE}\n[sweep]\nvary = [\"client.concurrency=1,x\"]\n"),
    );
    invalid(
        d.qs(&["sweep", "s.toml", "-q"]),
        "error: s.toml:23:8: [sweep] vary client.concurrency=x: `client.concurrency`: wrong \
         type: string \"x\", expected an integer (in s.toml)\n",
    );
}

#[test]
fn a_value_from_set_is_blamed_on_the_flag() {
    let d = Dir::new();
    d.write("s.toml", BASE);
    invalid(
        d.qs(&["run", "s.toml", "--set", "requests.new.input_tokens=5"]),
        "error: --set requests.new.input_tokens=5: `requests.new.output_tokens`: missing \
         required key `output_tokens` (an integer or a distribution table) (in s.toml)\n",
    );
    invalid(
        d.qs(&["run", "s.toml", "--set", "quota.limits.0.limit=5"]),
        "error: --set quota.limits.0.limit=5: `quota.limits`: wrong type: a table, expected an \
         array (in s.toml)\n",
    );
}

// ---------------------------------------------------------------- file size limits

#[test]
fn dev_zero_is_refused_by_size_everywhere() {
    let d = Dir::new();
    invalid(
        d.qs(&["run", "/dev/zero"]),
        "error: /dev/zero: the scenario is larger than the 64 MB limit on scenarios\n  help: if \
         it is meant to be this big, raise the limit: QUOTASIM_MAX_INPUT_MB=256 quotasim …\n",
    );
    d.write("r.json", "{}");
    invalid(
        d.qs(&["compare", "/dev/zero", "r.json"]),
        "error: /dev/zero: the report is larger than the 64 MB limit on reports\n  help: if it \
         is meant to be this big, raise the limit: QUOTASIM_MAX_INPUT_MB=256 quotasim …\n",
    );
    invalid(
        d.qs(&["merge", "/dev/zero"]),
        "error: /dev/zero: the report is larger than the 64 MB limit on reports\n  help: if it \
         is meant to be this big, raise the limit: QUOTASIM_MAX_INPUT_MB=256 quotasim …\n",
    );
    d.write(
        "s.toml",
        base_with(
            "process = \"poisson\"\nrate_per_minute = 60",
            "process = \"trace\"\nfile = \"/dev/zero\"\nformat = \"csv\"",
        )
        .replace(
            "[requests.chat]\ninput_tokens = 500\noutput_tokens = 300\n",
            "",
        ),
    );
    invalid(
        d.qs(&["run", "s.toml"]),
        "error: /dev/zero:1:1: the line is longer than 16 MiB; a trace has one record per line \
         (is this the right file?)\n",
    );
    d.write(
        "s.toml",
        base_with(
            "output_tokens = 300",
            "output_tokens = { dist = \"empirical\", file = \"/dev/zero\", column = \"x\" }",
        ),
    );
    invalid(
        d.qs(&["run", "s.toml"]),
        "error: s.toml:20:46: `requests.chat.output_tokens.file`: /dev/zero:1:1: the line is \
         longer than 16 MiB; a CSV file has one record per line (is this the right file?)\n",
    );
}

#[test]
fn the_limits_can_be_raised() {
    let d = Dir::new();
    // A scenario of 2 MB (comments) against a 1 MB limit, then with the limit raised.
    let padded = format!(
        "{BASE}{}",
        "# padding padding padding padding\n".repeat(60_000)
    );
    d.write("s.toml", padded);
    invalid(
        d.qs_env(&["check", "s.toml"], &[("QUOTASIM_MAX_INPUT_MB", "1")]),
        "error: s.toml: the scenario is larger than the 1 MB limit on scenarios\n  help: if it \
         is meant to be this big, raise the limit: QUOTASIM_MAX_INPUT_MB=4 quotasim …\n",
    );
    assert_eq!(
        d.qs_env(&["check", "s.toml"], &[("QUOTASIM_MAX_INPUT_MB", "4")])
            .0,
        0
    );
    invalid(
        d.qs_env(&["check", "s.toml"], &[("QUOTASIM_MAX_INPUT_MB", "lots")]),
        "error: QUOTASIM_MAX_INPUT_MB: `lots` is not a size in MB; expected a whole number of \
         at least 1\n",
    );
}

#[test]
fn a_trace_is_streamed_not_read_whole() {
    let d = Dir::new();
    // 1.5 MB of trace (a few records among comment lines): over a 1 MB limit on whole
    // files, yet it replays (streamed), and its own limit refuses it only when set below
    // its size.
    let mut csv = String::from("timestamp,input_tokens,output_tokens\n");
    let mut i = 0u64;
    while csv.len() < 3 << 19 {
        csv.push_str(&format!(
            "{i},100,10
# {}
",
            "x".repeat(1000)
        ));
        i += 1;
    }
    d.write("t.csv", csv);
    d.write(
        "s.toml",
        base_with(
            "process = \"poisson\"\nrate_per_minute = 60",
            "process = \"trace\"\nfile = \"t.csv\"",
        )
        .replace(
            "[requests.chat]\ninput_tokens = 500\noutput_tokens = 300\n",
            "",
        )
        .replace("concurrency = 4", "concurrency = 100000")
        .replace(
            "requests_per_minute = 200",
            "requests_per_minute = 100000000",
        )
        .replace(
            "tokens_per_minute = 200000",
            "tokens_per_minute = 1000000000",
        ),
    );
    let (code, _, err) = d.qs_env(&["run", "s.toml"], &[("QUOTASIM_MAX_INPUT_MB", "1")]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = d.qs_env(&["run", "s.toml"], &[("QUOTASIM_MAX_TRACE_MB", "1")]);
    assert_eq!(code, 2);
    assert!(
        err.ends_with(
            ": the trace is larger than the 1 MB limit on traces\n  help: if it is meant to be \
             this big, raise the limit: QUOTASIM_MAX_TRACE_MB=4 quotasim …\n"
        ),
        "{err}"
    );
}

// ---------------------------------------------------------------- output integrity

#[test]
fn write_errors_exit_1_with_a_message() {
    let d = Dir::new();
    d.write("s.toml", BASE);
    part(&d, "s.toml", 0, "p0.json");
    part(&d, "s.toml", 1, "p1.json");
    for cmd in [
        "$Q run s.toml",
        "$Q sweep s.toml -q --vary client.concurrency=1,2",
        "$Q merge p0.json p1.json",
        "$Q models",
    ] {
        let (code, _, err) = d.sh(&format!("{cmd} > /dev/full"));
        assert_eq!(
            (code, err.as_str()),
            (
                1,
                "error: cannot write to standard output: No space left on device (os error 28)\n"
            ),
            "{cmd}"
        );
    }
    let (code, _, err) = d.sh("$Q run s.toml >&-");
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "error: cannot write to standard output: standard output is closed\n"
        )
    );
    // A /dev/null opened read-write by the caller (Python's `DEVNULL`) is not a closed
    // standard output.
    let (code, _, err) = d.sh("$Q run s.toml 1<>/dev/null");
    assert_eq!((code, err.as_str()), (0, ""));
    // A closed pipe stays quiet.
    let (code, out, err) =
        d.sh("$Q run s.toml --format csv --timeline | head -1; exit ${PIPESTATUS[0]}");
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out.lines().count(), 1);
}

#[test]
fn out_never_overwrites_an_input() {
    let d = Dir::new();
    d.write("s.toml", BASE);
    invalid(
        d.qs(&["run", "s.toml", "--out", "s.toml"]),
        "error: --out s.toml: is an input of this command (s.toml); writing the output there \
         would destroy it\n  help: write the output to another file\n",
    );
    invalid(
        d.qs(&["run", "s.toml", "--plot", "./s.toml"]),
        "error: --plot ./s.toml: is an input of this command (s.toml); writing the output there \
         would destroy it\n  help: write the output to another file\n",
    );
    assert_eq!(std::fs::read_to_string(d.path("s.toml")).unwrap(), BASE);
    part(&d, "s.toml", 0, "p0.json");
    part(&d, "s.toml", 1, "p1.json");
    let before = std::fs::read(d.path("p0.json")).unwrap();
    invalid(
        d.qs(&["merge", "p0.json", "p1.json", "--out", "p0.json"]),
        "error: --out p0.json: is an input of this command (p0.json); writing the output there \
         would destroy it\n  help: write the output to another file\n",
    );
    assert_eq!(std::fs::read(d.path("p0.json")).unwrap(), before);
}

#[test]
fn out_is_replaced_whole_or_not_at_all() {
    let d = Dir::new();
    let target = d.write("r.json", "old");
    // A write that fails halfway (as a kill mid-write would stop it) leaves the old file.
    let r = quotasim::files::write_atomic(&target, |w| {
        w.write_all(b"{\"half\": ")?;
        Err(std::io::Error::other("interrupted"))
    });
    assert!(r.is_err());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
    assert_eq!(leftovers(d.0.path()), Vec::<String>::new());
    quotasim::files::write_atomic(&target, |w| w.write_all(b"new")).unwrap();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
    assert_eq!(leftovers(d.0.path()), Vec::<String>::new());
    // What a Ctrl-C handler does mid-write: the temporary file goes, the target stays.
    let dir = d.0.path().to_path_buf();
    let r = quotasim::files::write_atomic(&target, |w| {
        w.write_all(b"partial")?;
        assert_eq!(leftovers(&dir).len(), 1);
        quotasim::files::remove_pending();
        assert_eq!(leftovers(&dir), Vec::<String>::new());
        Ok(())
    });
    assert!(r.is_err());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
    // Through a symbolic link: the file it names is replaced, the link stays a link, and
    // the file keeps its permissions.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = d.path("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    quotasim::files::write_atomic(&link, |w| w.write_all(b"via link")).unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "via link");
    let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

#[test]
fn a_killed_sweep_leaves_no_truncated_out_file() {
    let d = Dir::new();
    d.write("s.toml", BASE);
    d.write("out.json", "old");
    let bin = assert_cmd::cargo::cargo_bin("quotasim");
    for delay_ms in [50, 300, 1000] {
        let mut child = std::process::Command::new(&bin)
            .current_dir(d.0.path())
            .args([
                "sweep",
                "s.toml",
                "-q",
                "--vary",
                "client.concurrency=1..40",
                "--format",
                "json",
                "--out",
                "out.json",
            ])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
        let text = std::fs::read_to_string(d.path("out.json")).unwrap();
        // Either untouched or complete: never a truncated report.
        assert!(
            text == "old" || serde_json::from_str::<serde_json::Value>(&text).is_ok(),
            "after {delay_ms} ms: {} bytes of invalid JSON",
            text.len()
        );
    }
}

#[test]
fn one_big_point_does_not_make_a_grid_of_small_ones_too_big() {
    // The first point alone needs about 12,000 events, the other three a few each: 4 ×
    // 12,000 would be over --max-events 40000, but the grid's work is about 12,300.
    let d = Dir::new();
    d.write(
        "s.toml",
        BASE.replace("requests_per_minute = 200", "requests_per_minute = 100000"),
    );
    let (code, _, err) = d.qs(&[
        "sweep",
        "s.toml",
        "-q",
        "--max-events",
        "40000",
        "--vary",
        "arrivals.rate_per_minute=600,1,1,1",
    ]);
    assert_eq!(code, 0, "{err}");
}

//! Trace replay as one workload among several, and an invocation log's model ID choosing
//! the pool.

use std::path::Path;

use quotasim::trace::{ClassMode, TraceFormat, TraceReader};
use serde_json::Value;

mod common;

use common::{json_as, log_record, n, write_log};

fn run(text: &str, dir: &Path) -> Value {
    json_as(dir.join("s.toml").to_str().unwrap(), text)
}

/// Records of a trace whose time since the first record is in `[from_us, to_us)`: replay
/// puts the first record at t = 0 (time_scale 1), so these are the ones that arrive in the
/// measured window.
fn records_between(path: &Path, from_us: i64, to_us: i64) -> u64 {
    let mut r = TraceReader::open(path, TraceFormat::Csv, ClassMode::Ignore).unwrap();
    let mut first = None;
    let mut count = 0;
    while let Some(rec) = r.next_record().unwrap() {
        let t0 = *first.get_or_insert(rec.time_us);
        let t = rec.time_us - t0;
        if (from_us..to_us).contains(&t) {
            count += 1;
        }
    }
    count
}

/// Two workloads on two pools: `replay` plays the bundled 4-hour chat trace, `steady` is
/// Poisson. Both run; `workloads.replay.requests.arrived` is exactly the trace's records
/// in `[warmup, duration)` = [10 min, 1 h) after its first record (counted here by reading
/// the trace), and the Poisson workload's arrivals do not leak into it.
#[test]
fn a_replay_workload_beside_a_poisson_one_counts_the_traces_records() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let trace = root.join("scenarios/traces/chat-4h.csv");
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"
duration = "1h"
warmup = "10m"
seed = 3
[model]
preset = "claude-sonnet-4"
[pools.a]
tokens_per_minute = 2000000
[pools.b]
tokens_per_minute = 2000000
[workloads.replay]
route = "a"
[workloads.replay.arrivals]
process = "trace"
file = {file}
[workloads.steady]
route = "b"
[workloads.steady.arrivals]
process = "poisson"
rate_per_minute = 20
[workloads.steady.requests.small]
input_tokens = 500
output_tokens = 100
max_tokens = 200
"#,
        file = serde_json::to_string(trace.to_str().unwrap()).unwrap()
    );
    let r = run(&text, dir.path());
    let expected = records_between(&trace, 600_000_000, 3_600_000_000);
    assert!(
        expected > 100,
        "the window should hold many records: {expected}"
    );
    assert_eq!(n(&r, "workloads.replay.requests.arrived"), expected);
    let steady = n(&r, "workloads.steady.requests.arrived");
    // Poisson at 20/min over 50 measured minutes: 1,000 expected, sd ≈ 32.
    assert!((800..1200).contains(&steady), "{steady}");
    assert_eq!(n(&r, "requests.arrived"), expected + steady);
    // Each workload is served by its own pool.
    assert!(n(&r, "pools.a.admitted") >= expected);
    assert!(n(&r, "pools.b.admitted") >= steady);
}

/// An invocation log whose records name the `global.` inference profile is served by the
/// pool whose `model_ids` list that profile, not by the route's first pool.
///
/// Four records 1 s apart, `global.…` × 3 and `us.…` × 1, every quota far above their
/// needs: `global` admits 3, `geo` 1, `region` (the route's first pool) none.
#[test]
fn a_global_model_id_is_served_by_the_pool_listing_it() {
    let dir = tempfile::tempdir().unwrap();
    let id = "anthropic.claude-sonnet-4-20250514-v1:0";
    let log = [
        log_record(0, &format!("global.{id}")),
        log_record(1, &format!("us.{id}")),
        log_record(2, &format!("global.{id}")),
        log_record(3, &format!("global.{id}")),
    ];
    write_log(dir.path(), &log);
    let text = format!(
        r#"
duration = "1m"
[model]
preset = "claude-sonnet-4"
[pools.region]
tokens_per_minute = 1000000
model_ids = ["{id}"]
[pools.geo]
tokens_per_minute = 1000000
model_ids = ["us.{id}"]
[pools.global]
tokens_per_minute = 1000000
model_ids = ["global.{id}"]
[workloads.replay]
route = {{ pools = ["region", "geo", "global"], policy = "fallback" }}
[workloads.replay.arrivals]
process = "trace"
file = "log.jsonl"
"#
    );
    let r = run(&text, dir.path());
    assert_eq!(n(&r, "workloads.replay.requests.arrived"), 4);
    assert_eq!(n(&r, "pools.global.admitted"), 3);
    assert_eq!(n(&r, "pools.geo.admitted"), 1);
    assert_eq!(n(&r, "pools.region.admitted"), 0);
    assert_eq!(n(&r, "workloads.replay.requests.succeeded"), 4);
}

/// When two pools list the same model ID, replay follows the rule `serve` follows: the pool
/// with the shorter `model_ids` list serves it, whatever the file order.
///
/// `wide` (first in the file) answers to the model's default IDs, five of them, `us.…`
/// included; `narrow` lists only `us.…`. Two records name `us.…`, one the bare ID: `narrow`
/// admits the two, `wide` the one (only it lists the bare ID).
#[test]
fn an_id_two_pools_list_goes_to_the_shorter_list_as_in_serve() {
    let dir = tempfile::tempdir().unwrap();
    let id = "anthropic.claude-sonnet-4-20250514-v1:0";
    let log = [
        log_record(0, &format!("us.{id}")),
        log_record(1, id),
        log_record(2, &format!("us.{id}")),
    ];
    write_log(dir.path(), &log);
    let text = format!(
        r#"
duration = "1m"
[model]
preset = "claude-sonnet-4"
[pools.wide]
tokens_per_minute = 1000000
[pools.narrow]
tokens_per_minute = 1000000
model_ids = ["us.{id}"]
[workloads.replay]
route = {{ pools = ["wide", "narrow"], policy = "fallback" }}
[workloads.replay.arrivals]
process = "trace"
file = "log.jsonl"
"#
    );
    let r = run(&text, dir.path());
    assert_eq!(n(&r, "workloads.replay.requests.arrived"), 3);
    assert_eq!(n(&r, "pools.narrow.admitted"), 2);
    assert_eq!(n(&r, "pools.wide.admitted"), 1);
}

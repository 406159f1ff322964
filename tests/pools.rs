//! Several workloads and quota pools: pools, account limits, workloads, routes and the
//! per-pool / per-workload report. Every expected number is derived by hand in the comment
//! above it, from constant arrivals and deterministic retry delays.

use quotasim::{Scenario, simulate};
use serde_json::Value;

mod common;

use common::{json, load, load_err, log_record, n, qs, write_log};

/// A pool's `model` table replaces the top-level one: burndown, the default `max_tokens`
/// and truncation come from the pool that serves the attempt.
///
/// One request (constant 1/min over 1 min, at t = 0): input 100, desired output 10,000, no
/// max_tokens anywhere.
/// - On `big` (claude-sonnet-4: output burndown 5, maximum 64,000): M = 64,000, A = 10,000,
///   R = 100 + 64,000 = 64,100, C = 100 + 5 × 10,000 = 50,100, not truncated.
/// - On `small` (claude-3-5-haiku: burndown 1, maximum 8,192): M = 8,192, A = 8,192
///   (truncated), R = 100 + 8,192 = 8,292, C = 100 + 8,192 = 8,292.
#[test]
fn the_serving_pools_model_decides_max_tokens_burndown_and_truncation() {
    let text = |weights: &str| {
        format!(
            r#"
duration = "1m"
[model]
preset = "claude-sonnet-4"
[pools.big]
tokens_per_minute = 10000000
[pools.small]
tokens_per_minute = 10000000
model = "claude-3-5-haiku"
[workloads.app]
route = {{ pools = ["big", "small"], policy = "weighted", weights = {weights} }}
[workloads.app.client]
retry = "none"
[workloads.app.arrivals]
process = "constant"
rate_per_minute = 1
[workloads.app.requests.q]
input_tokens = 100
output_tokens = 10000
"#
        )
    };
    let r = json(&text("[1, 0]"));
    assert_eq!(n(&r, "pools.big.admitted"), 1);
    assert_eq!(n(&r, "pools.big.reserved"), 64_100);
    assert_eq!(n(&r, "pools.big.quota_consumed"), 50_100);
    assert_eq!(n(&r, "pools.small.admitted"), 0);
    assert_eq!(n(&r, "requests.truncated"), 0);
    assert_eq!(n(&r, "tokens.output"), 10_000);
    let r = json(&text("[0, 1]"));
    assert_eq!(n(&r, "pools.small.admitted"), 1);
    assert_eq!(n(&r, "pools.small.reserved"), 8_292);
    assert_eq!(n(&r, "pools.small.quota_consumed"), 8_292);
    assert_eq!(n(&r, "requests.truncated"), 1);
    assert_eq!(n(&r, "tokens.output"), 8_192);
    assert_eq!(n(&r, "workloads.app.requests.succeeded"), 1);
}

/// Spillover with an account-wide limit.
///
/// Preset "other" (burndown 1); every request: input 100, output = max_tokens = 400, so
/// R = C = 500 (no refund). Pools A and B: 1,000 TPM each; account: 1,500 quota tokens per
/// minute (fixed window). Constant 10/min for 1 min: arrivals at 0, 6, …, 54 s; retry none.
/// - t = 0, 6: A admits (A = 500, 1,000; account 500, 1,000).
/// - t = 12: A refuses (1,500 > 1,000) and spills; B admits (B = 500, account 1,500).
/// - t = 18 … 54 (7 arrivals): A refuses, B's own limit admits (1,000 ≤ 1,000) but the
///   account refuses (2,000 > 1,500): a 429 from B, cause the account limit.
///
/// So admitted 3, throttled 7, all 7 on B under the account limit; A records no throttle
/// (its refusals spilled). Timeline minute 0 `quota_charged` sums the pools' primaries only:
/// A 1,000 + B 500 = 1,500 (with the account's charges it would be 3,000).
#[test]
fn spillover_and_account_limits_count_exactly() {
    let r = json(
        r#"
duration = "1m"
[pools.a]
tokens_per_minute = 1000
[pools.b]
tokens_per_minute = 1000
[[account.limits]]
name = "account_tpm"
counts = "quota-tokens"
limit = 1500
[workloads.app]
route = { pools = ["a", "b"], policy = "spillover" }
[workloads.app.client]
retry = "none"
[workloads.app.arrivals]
process = "constant"
rate_per_minute = 10
[workloads.app.requests.q]
input_tokens = 100
output_tokens = 400
max_tokens = 400
"#,
    );
    assert_eq!(n(&r, "attempts.sent"), 10);
    assert_eq!(n(&r, "attempts.admitted"), 3);
    assert_eq!(n(&r, "attempts.throttled"), 7);
    assert_eq!(n(&r, "attempts.throttled_by.tokens_per_minute"), 7);
    assert_eq!(n(&r, "attempts.throttled_by_limit.account_tpm"), 7);
    assert_eq!(n(&r, "pools.a.admitted"), 2);
    assert_eq!(n(&r, "pools.a.throttled"), 0);
    assert_eq!(n(&r, "pools.b.admitted"), 1);
    assert_eq!(n(&r, "pools.b.throttled"), 7);
    assert_eq!(n(&r, "pools.b.throttled_by_limit.account_tpm"), 7);
    assert_eq!(n(&r, "pools.b.throttled_by_limit.tokens_per_minute"), 0);
    assert_eq!(n(&r, "pools.a.reserved"), 1000);
    assert_eq!(n(&r, "pools.b.quota_consumed"), 500);
    assert_eq!(r["timeline"][0]["quota_charged"], 1500);
    assert_eq!(r["pools"]["a"]["timeline"][0]["quota_charged"], 1000);
    assert_eq!(r["pools"]["b"]["timeline"][0]["quota_charged"], 500);
    assert_eq!(n(&r, "requests.failed"), 7);
}

/// Spillover starts every attempt at the route's first pool.
///
/// The scenario above with a fixed 10 s retry delay and 2 attempts. The seven requests
/// refused at 18 … 54 s get their 429 0.1 s later and retry 10 s after that: at 28.1, 34.1,
/// 40.1, 46.1, 52.1 and 58.1 s (still minute 0: A full, B's account full, refused again on
/// B, and they fail) and at 64.1 s, in minute 1, where A's window is empty: A admits it.
/// So A admits 3, B 1; 7 + 6 = 13 throttles, all B's; 6 failures.
#[test]
fn spillover_retries_start_at_the_first_pool() {
    let r = json(
        r#"
duration = "1m"
[pools.a]
tokens_per_minute = 1000
[pools.b]
tokens_per_minute = 1000
[[account.limits]]
name = "account_tpm"
counts = "quota-tokens"
limit = 1500
[workloads.app]
route = { pools = ["a", "b"], policy = "spillover" }
[workloads.app.client]
retry = { mode = "fixed", delay = "10s", max_attempts = 2 }
[workloads.app.arrivals]
process = "constant"
rate_per_minute = 10
[workloads.app.requests.q]
input_tokens = 100
output_tokens = 400
max_tokens = 400
"#,
    );
    assert_eq!(n(&r, "pools.a.admitted"), 3);
    assert_eq!(n(&r, "pools.b.admitted"), 1);
    assert_eq!(n(&r, "pools.b.throttled"), 13);
    assert_eq!(n(&r, "pools.a.throttled"), 0);
    assert_eq!(n(&r, "requests.failed"), 6);
}

/// Fallback `on = "give-up"`: the retry policy runs against A; when it gives up, a fresh
/// call starts at once against B.
///
/// Preset "other"; R = C = 500 per request (input 100, output = max_tokens = 400). A has
/// 500 TPM (one request per window), B 10,000. Retry: exponential, base = cap = 1 s, no
/// jitter, 2 attempts. Constant 2/min for 1 min: arrivals at 0 and 30 s.
/// - t = 0: A admits.
/// - t = 30: A refuses; 429 at 30.1 s; the policy (attempt 1 of 2) sleeps 1 s; at 31.1 s A
///   refuses again; 429 at 31.2 s; the policy gives up (2 of 2) and the call to B starts
///   at 31.2 s with a fresh attempt count; B admits.
///
/// Sent 4 (A 3, B 1), admitted 2, throttled 2 (both A's); attempts per request 1 and 3;
/// backoff 1 s. Service time: 0.8 s + 20 ms × 100/1000 + 400/60 s = 7.468667 s; the first
/// request's e2e is that, the second's 1.2 s of retries more: mean (7,468.667 + 8,668.667)/2
/// = 8,068.667 ms.
#[test]
fn fallback_on_give_up_moves_on_when_the_policy_gives_up() {
    let r = json(
        r#"
duration = "1m"
[pools.a]
tokens_per_minute = 500
[pools.b]
tokens_per_minute = 10000
[workloads.app]
route = { pools = ["a", "b"], policy = "fallback" }
[workloads.app.client]
retry = { mode = "exponential", base = "1s", cap = "1s", jitter = "none", max_attempts = 2 }
[workloads.app.arrivals]
process = "constant"
rate_per_minute = 2
[workloads.app.requests.q]
input_tokens = 100
output_tokens = 400
max_tokens = 400
"#,
    );
    assert_eq!(n(&r, "attempts.sent"), 4);
    assert_eq!(n(&r, "attempts.admitted"), 2);
    assert_eq!(n(&r, "pools.a.admitted"), 1);
    assert_eq!(n(&r, "pools.a.throttled"), 2);
    assert_eq!(n(&r, "pools.b.admitted"), 1);
    assert_eq!(n(&r, "requests.succeeded"), 2);
    assert_eq!(
        r["attempts"]["per_request"],
        serde_json::json!({"1": 1, "3": 1})
    );
    assert_eq!(r["client"]["backoff_seconds"], 1.0);
    let mean = r["latency_ms"]["e2e"]["mean"].as_f64().unwrap();
    assert!((mean - 8068.667).abs() < 0.001, "{mean}");
    assert_eq!(r["workloads"]["app"]["attempts"]["sent"], 4);
}

/// Fallback `on = "throttle"`: a 429 from pool i sends the next attempt to pool i + 1 at
/// once, outside the retry policy; only the last pool's 429 consults the policy.
///
/// A and B have 500 TPM each (one 500-token request per window); constant 3/min: arrivals
/// at 0, 20, 40 s.
/// With retry = "none":
/// - t = 0: A admits. t = 20: A refuses (429 at 20.1 s), B admits at 20.1 s.
/// - t = 40: A refuses (40.1 s), B refuses (40.2 s): the last pool's 429 goes to the policy,
///   which makes one attempt: the request fails.
///
/// Sent 5 (A 3, B 2), admitted 2, throttled 3 (A 2, B 1); per request 1, 2, 2.
/// With a fixed 1 s delay and 2 attempts, the third request continues: sleep 1 s, at 41.2 s
/// back to A (refused, 41.3 s), B (refused, 41.4 s), attempt 2 of 2: fail. Sent 7,
/// throttled 5 (A 3, B 2), backoff 1 s, per request 1, 2, 4.
#[test]
fn fallback_on_throttle_hops_without_consulting_the_policy() {
    let text = |retry: &str| {
        format!(
            r#"
duration = "1m"
[pools.a]
tokens_per_minute = 500
[pools.b]
tokens_per_minute = 500
[workloads.app]
route = {{ pools = ["a", "b"], policy = "fallback", on = "throttle" }}
[workloads.app.client]
retry = {retry}
[workloads.app.arrivals]
process = "constant"
rate_per_minute = 3
[workloads.app.requests.q]
input_tokens = 100
output_tokens = 400
max_tokens = 400
"#
        )
    };
    let r = json(&text("\"none\""));
    assert_eq!(n(&r, "attempts.sent"), 5);
    assert_eq!(n(&r, "attempts.admitted"), 2);
    assert_eq!(n(&r, "pools.a.throttled"), 2);
    assert_eq!(n(&r, "pools.b.throttled"), 1);
    assert_eq!(n(&r, "pools.b.admitted"), 1);
    assert_eq!(n(&r, "requests.failed"), 1);
    assert_eq!(
        r["attempts"]["per_request"],
        serde_json::json!({"1": 1, "2": 2})
    );
    let r = json(&text(
        "{ mode = \"fixed\", delay = \"1s\", max_attempts = 2 }",
    ));
    assert_eq!(n(&r, "attempts.sent"), 7);
    assert_eq!(n(&r, "pools.a.throttled"), 3);
    assert_eq!(n(&r, "pools.b.throttled"), 2);
    assert_eq!(r["client"]["backoff_seconds"], 1.0);
    assert_eq!(
        r["attempts"]["per_request"],
        serde_json::json!({"1": 1, "2": 1, "4": 1})
    );
}

/// A request is unservable only when no pool it may be sent to could ever admit it.
///
/// R = 500 (input 100 + max_tokens 400, preset "other"); pool `tiny` has 300 TPM, `roomy`
/// 10,000. Constant 6/min for 1 min: 6 arrivals. Routed to `tiny` alone, all 6 are
/// unservable; with a fallback to `roomy`, none is.
#[test]
fn unservable_means_no_pool_of_the_route_can_admit() {
    let text = |route: &str| {
        format!(
            r#"
duration = "1m"
[pools.tiny]
tokens_per_minute = 300
[pools.roomy]
tokens_per_minute = 10000
[workloads.app]
route = {route}
[workloads.app.client]
retry = "none"
[workloads.app.arrivals]
process = "constant"
rate_per_minute = 6
[workloads.app.requests.q]
input_tokens = 100
output_tokens = 400
max_tokens = 400
"#
        )
    };
    let r = json(&text("\"tiny\""));
    assert_eq!(n(&r, "requests.unservable"), 6);
    assert_eq!(n(&r, "workloads.app.requests.unservable"), 6);
    let s = load(&text(
        "{ pools = [\"tiny\", \"roomy\"], policy = \"fallback\" }",
    ));
    assert_eq!(simulate(&s).requests.unservable, 0);
    let s = load(&text("\"tiny\""));
    let w = s.unservable_warnings();
    assert!(
        w.iter()
            .any(|w| w.contains("no pool of its route can ever serve it")),
        "{w:?}"
    );
}

const PART_ONE: &str = r#"
duration = "30m"
seed = 11
[model]
preset = "claude-sonnet-4"
[quota]
tokens_per_minute = 60000
[client]
concurrency = 8
[arrivals]
process = "poisson"
rate_per_minute = 30
[requests.chat]
input_tokens = { dist = "lognormal", median = 800, p95 = 3000 }
output_tokens = { dist = "lognormal", median = 300, p95 = 900 }
max_tokens = 1024
"#;

/// The default workload uses exactly Part I's random streams: the same tables written as
/// `[workloads.chat]` give the same report, and a single pool with a single workload
/// prints no `pools`/`workloads` keys.
#[test]
fn one_workload_in_the_workloads_form_is_part_one_exactly() {
    let a = simulate(&load(PART_ONE));
    let v = serde_json::to_value(&a).unwrap();
    assert!(v.get("pools").is_none() && v.get("workloads").is_none());
    let b = simulate(&load(
        &PART_ONE
            .replace(
                "[client]",
                "[workloads.chat]\nroute = \"default\"\n[workloads.chat.client]",
            )
            .replace("[arrivals]", "[workloads.chat.arrivals]")
            .replace("[requests.chat]", "[workloads.chat.requests.chat]"),
    ));
    assert_eq!(a, b);
}

/// Adding a workload never moves another's arrivals or sizes: with a quota too large to
/// throttle anyone, the first workload's counts and tokens are those it has alone, and the
/// totals are the sums.
#[test]
fn adding_a_workload_leaves_the_others_draws_alone() {
    let big = PART_ONE.replace("60000", "100000000");
    let alone = simulate(&load(&big));
    let with = serde_json::to_value(simulate(&load(&format!(
        "{big}\n[workloads.batch]\n[workloads.batch.arrivals]\nprocess = \"poisson\"\nrate_per_minute = 10\n[workloads.batch.requests.doc]\ninput_tokens = {{ dist = \"uniform\", min = 100, max = 5000 }}\noutput_tokens = 200\n"
    )
    .replace("[client]", "[workloads.default]\n[workloads.default.client]")
    .replace("[arrivals]", "[workloads.default.arrivals]")
    .replace("[requests.chat]", "[workloads.default.requests.chat]"))))
    .unwrap();
    let d = &with["workloads"]["default"];
    assert_eq!(d["requests"]["arrived"], alone.requests.arrived);
    assert_eq!(d["requests"]["succeeded"], alone.requests.succeeded);
    assert_eq!(
        d["latency_ms"]["e2e"]["p50"].as_f64(),
        alone.latency_ms.e2e.p50
    );
    let b = &with["workloads"]["batch"]["requests"]["arrived"];
    assert!(b.as_u64().unwrap() > 200, "{b}");
    assert_eq!(
        n(&with, "requests.arrived"),
        alone.requests.arrived + b.as_u64().unwrap()
    );
    // Every pool and workload appears, the default ones included.
    assert!(with["pools"]["default"].is_object());
}

/// Bad input: each names the key path and a position in the file.
#[test]
fn bad_pools_workloads_and_routes_are_input_errors_with_positions() {
    let base = r#"duration = "1m"
[pools.a]
tokens_per_minute = 1000
[pools.b]
tokens_per_minute = 1000
[workloads.w]
ROUTE
[workloads.w.arrivals]
process = "constant"
rate_per_minute = 1
[workloads.w.requests.q]
input_tokens = 1
output_tokens = 1
"#;
    let cases: &[(&str, &str, &str, (usize, usize))] = &[
        (
            "route = \"c\"",
            "workloads.w.route",
            "unknown pool \"c\"",
            (7, 9),
        ),
        (
            "route = { pools = [], policy = \"fallback\" }",
            "workloads.w.route.pools",
            "empty list",
            (7, 19),
        ),
        (
            "route = { pools = [\"a\", \"x\"], policy = \"fallback\" }",
            "workloads.w.route.pools[1]",
            "unknown pool \"x\"",
            (7, 25),
        ),
        (
            "route = { pools = [\"a\", \"b\"], policy = \"weighted\", weights = [1] }",
            "workloads.w.route.weights",
            "1 weights for 2 pools",
            (7, 62),
        ),
        (
            "route = { pools = [\"a\", \"b\"], policy = \"fallback\", on = \"throttled\" }",
            "workloads.w.route.on",
            "expected one of \"give-up\", \"throttle\"",
            (7, 57),
        ),
        ("", "workloads.w.route", "no `route`", (6, 12)),
    ];
    for (route, path, msg, at) in cases {
        let d = load_err(&base.replace("ROUTE", route));
        assert_eq!(d.key_path.as_deref(), Some(*path), "{route}: {}", d.message);
        assert!(d.message.contains(msg), "{route}: {}", d.message);
        assert_eq!(d.location, Some(*at), "{route}: {}", d.message);
    }
    let d = load_err(&format!(
        "{}[quota]\ntokens_per_minute = 5\n",
        base.replace("ROUTE", "route = \"a\"")
    ));
    assert_eq!(d.key_path.as_deref(), Some("quota"));
    assert!(d.message.contains("[pools]"), "{}", d.message);
    assert_eq!(d.location, Some((14, 2)));
    let d = load_err(&format!(
        "{}[arrivals]\nprocess = \"constant\"\nrate_per_minute = 1\n",
        base.replace("ROUTE", "route = \"a\"")
    ));
    assert_eq!(d.key_path.as_deref(), Some("arrivals"));
    assert!(d.message.contains("[workloads]"), "{}", d.message);
    assert_eq!(d.location.map(|l| l.0), Some(14));
}

/// `--set`, `--assert` and `check` reach the new keys; the CLI exits 2 on bad input.
#[test]
fn flags_reach_pool_and_workload_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two.toml");
    std::fs::write(
        &path,
        r#"
duration = "1m"
[pools.a]
tokens_per_minute = 500
[pools.b]
tokens_per_minute = 10000
[workloads.chat]
route = { pools = ["a", "b"], policy = "fallback", on = "throttle" }
[workloads.chat.client]
retry = "none"
[workloads.chat.arrivals]
process = "constant"
rate_per_minute = 3
[workloads.chat.requests.q]
input_tokens = 100
output_tokens = 400
max_tokens = 400
"#,
    )
    .unwrap();
    // Three requests; A admits one per minute, the other two hop to B: 3 succeed.
    qs().args(["run", path.to_str().unwrap(), "--format", "json"])
        .args(["--assert", "workloads.chat.requests.succeeded==3"])
        .args(["--assert", "pools.b.admitted==2"])
        .assert()
        .success();
    // --set pools.a.tokens_per_minute=1500: A admits all three.
    qs().args(["run", path.to_str().unwrap(), "--format", "json"])
        .args(["--set", "pools.a.tokens_per_minute=1500"])
        .args(["--assert", "pools.a.admitted==3"])
        .assert()
        .success();
    qs().args(["run", path.to_str().unwrap()])
        .args(["--set", "workloads.chat.client.concurrency=0"])
        .assert()
        .code(2);
    // --vary over a pool's and a workload's key; compare names per-workload metrics.
    let out = qs()
        .args(["sweep", path.to_str().unwrap(), "--format", "json"])
        .args(["--vary", "pools.a.tokens_per_minute=500,1500"])
        .args(["--vary", "workloads.chat.client.concurrency=1,2"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["points"].as_array().unwrap().len(), 4);
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    qs().args(["run", path.to_str().unwrap(), "--format", "json", "--out"])
        .arg(&a)
        .assert()
        .success();
    // Without B (route = "a" alone) two of the three requests fail: a regression.
    qs().args(["run", path.to_str().unwrap(), "--format", "json", "--out"])
        .arg(&b)
        .args(["--set", "workloads.chat.route=a"])
        .assert()
        .success();
    let out = qs()
        .args(["compare", a.to_str().unwrap(), b.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("workloads.chat.requests.succeeded") && l.contains("REGRESSED")),
        "{text}"
    );
    let out = qs()
        .args(["check", path.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("[pools.a]"), "{text}");
    assert!(text.contains("[workloads.chat"), "{text}");
    assert!(text.contains("policy = \"fallback\""), "{text}");
}

/// Trace replay: an invocation log's `modelId` selects the pool whose `model_ids` hold it
/// (an ARN prefix is ignored); a record whose ID no pool lists takes the route's first pool.
///
/// Three records, 1 s apart, quotas far above their needs: `us.…` → `geo`; the in-Region
/// ID as a foundation-model ARN → `region`; `global.…` (no pool lists it) → `region`, the
/// route's first. So region admits 2 and geo 1.
#[test]
fn an_invocation_logs_model_id_selects_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let id = "anthropic.claude-sonnet-4-20250514-v1:0";
    let log = [
        log_record(0, &format!("us.{id}")),
        log_record(
            1,
            &format!("arn:aws:bedrock:us-east-1::foundation-model/{id}"),
        ),
        log_record(2, &format!("global.{id}")),
    ];
    write_log(dir.path(), &log);
    let path = dir.path().join("s.toml");
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
[workloads.replay]
route = {{ pools = ["region", "geo"], policy = "fallback" }}
[workloads.replay.arrivals]
process = "trace"
file = "log.jsonl"
"#
    );
    let s = Scenario::from_toml_str(&text, path.to_str().unwrap()).unwrap();
    let r = serde_json::to_value(simulate(&s)).unwrap();
    assert_eq!(n(&r, "requests.arrived"), 3);
    assert_eq!(n(&r, "pools.region.admitted"), 2);
    assert_eq!(n(&r, "pools.geo.admitted"), 1);
}

/// `run --plot` draws one panel per pool, each against that pool's own limit.
#[test]
fn plot_has_a_panel_per_pool_against_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("t.svg");
    let root = env!("CARGO_MANIFEST_DIR");
    qs().args([
        "run",
        &format!("{root}/scenarios/reserved-spillover.toml"),
        "--plot",
    ])
    .arg(&svg)
    .assert()
    .success();
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let panels: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("panel"))
        .map(|n| n.attribute("data-pool").unwrap().to_string())
        .collect();
    assert_eq!(panels, ["reserved", "on_demand"]);
    assert_eq!(
        doc.descendants()
            .filter(|n| n.attribute("class") == Some("limit"))
            .count(),
        2
    );
    assert!(text.contains("its 300000 tokens/min limit"));
    assert!(text.contains("its 200000 tokens/min limit"));
}

/// Each workload has its own client: concurrency slots are not shared.
///
/// Workloads `a` and `b`, each with concurrency 1, each sending at 0 and 30 s (constant
/// 2/min) requests of input 100 and output 3,000 (preset "other", max_tokens 4,096) on one
/// roomy pool. Service time 0.8 s + 20 ms × 100/1000 + 3,000/60 s = 50.802 s, so in each
/// workload the second request waits in its own queue until 50.802 s: 20.802 s. Mean queue
/// wait per workload (0 + 20,802)/2 = 10,401 ms. Were the slot shared, `b`'s first request
/// would wait behind `a`'s and the means would differ.
#[test]
fn each_workload_has_its_own_concurrency_slots() {
    let w = |name: &str| {
        format!(
            r#"
[workloads.{name}.client]
concurrency = 1
max_tokens = 4096
[workloads.{name}.arrivals]
process = "constant"
rate_per_minute = 2
[workloads.{name}.requests.q]
input_tokens = 100
output_tokens = 3000
"#
        )
    };
    let r = json(&format!(
        "duration = \"1m\"\n[quota]\ntokens_per_minute = 10000000\n{}{}",
        w("a"),
        w("b")
    ));
    for name in ["a", "b"] {
        let mean = r["workloads"][name]["latency_ms"]["queue_wait"]["mean"]
            .as_f64()
            .unwrap();
        assert!((mean - 10_401.0).abs() < 1e-6, "{name}: {mean}");
        assert_eq!(r["workloads"][name]["requests"]["succeeded"], 2);
    }
    // One pool and two workloads: the pool's object is there, named `default`.
    assert_eq!(n(&r, "pools.default.admitted"), 4);
}

/// `check` warns about an account limit smaller than a pool's own limit of the same kind.
#[test]
fn an_account_limit_below_a_pools_own_is_a_warning() {
    let s = load(
        r#"
duration = "1m"
[pools.a]
tokens_per_minute = 400000
[pools.b]
tokens_per_minute = 100000
[[account.limits]]
name = "account_tpm"
counts = "quota-tokens"
limit = 300000
[workloads.w]
route = "a"
[workloads.w.arrivals]
process = "constant"
rate_per_minute = 1
[workloads.w.requests.q]
input_tokens = 1
output_tokens = 1
max_tokens = 10
"#,
    );
    let w = s.unservable_warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("account limit `account_tpm`") && w[0].contains("pool `a`"));
}

/// A weighted route sends each request to a pool with probability weight / total.
///
/// Weights 2, 1, 1 over pools p0, p1, p2 (shares 1/2, 1/4, 1/4); constant 100/min for
/// 20 min = 2,000 requests, every one admitted (10M TPM each), so each pool's `admitted` is
/// the number of requests routed to it: Binomial(2,000, share). Bounds at 5 standard
/// deviations: p0 1,000 ± 5 × √(2,000 × ½ × ½) = 1,000 ± 112; p1 and p2
/// 500 ± 5 × √(2,000 × ¼ × ¾) = 500 ± 97. Weights used as they are instead of cumulated
/// (any draw below the last weight, 1, falls in p0) send all 2,000 to p0.
#[test]
fn a_weighted_route_shares_requests_by_weight() {
    let r = json(
        r#"
duration = "20m"
[pools.p0]
tokens_per_minute = 10000000
[pools.p1]
tokens_per_minute = 10000000
[pools.p2]
tokens_per_minute = 10000000
[workloads.app]
route = { pools = ["p0", "p1", "p2"], policy = "weighted", weights = [2, 1, 1] }
[workloads.app.client]
retry = "none"
[workloads.app.arrivals]
process = "constant"
rate_per_minute = 100
[workloads.app.requests.q]
input_tokens = 100
output_tokens = 10
max_tokens = 10
"#,
    );
    assert_eq!(n(&r, "requests.arrived"), 2000);
    let (a, b, c) = (
        n(&r, "pools.p0.admitted"),
        n(&r, "pools.p1.admitted"),
        n(&r, "pools.p2.admitted"),
    );
    assert_eq!(a + b + c, 2000);
    assert!((888..=1112).contains(&a), "p0 {a}");
    assert!((403..=597).contains(&b), "p1 {b}");
    assert!((403..=597).contains(&c), "p2 {c}");
}

/// Account limits are admitted at the serving pool's rates: its burndown and its `reserve`.
///
/// The top-level model (and pool `first`) is claude-sonnet-4 (burndown 1:5) with
/// `reserve = "input+max_tokens*burndown"`; pool `second` serves preset "other" (1:1) with
/// the default reserve. Every request goes to `second`: input 100, output = max_tokens =
/// 400, so there R = C = 100 + 400 = 500. Account: 1,500 quota tokens per minute. Constant
/// 3/min (0, 20, 40 s): 500, 1,000, 1,500 ≤ 1,500: all 3 admitted. At `first`'s rates an
/// attempt would need 100 + 5 × 400 = 2,100 > 1,500: none would be.
#[test]
fn account_limits_admit_at_the_serving_pools_rates() {
    let r = json(
        r#"
duration = "1m"
[model]
preset = "claude-sonnet-4"
[pools.first]
tokens_per_minute = 10000000
reserve = "input+max_tokens*burndown"
[pools.second]
tokens_per_minute = 10000000
model = "other"
[[account.limits]]
name = "account_tpm"
counts = "quota-tokens"
limit = 1500
[workloads.app]
route = "second"
[workloads.app.client]
retry = "none"
[workloads.app.arrivals]
process = "constant"
rate_per_minute = 3
[workloads.app.requests.q]
input_tokens = 100
output_tokens = 400
max_tokens = 400
"#,
    );
    assert_eq!(n(&r, "attempts.admitted"), 3);
    assert_eq!(n(&r, "attempts.throttled"), 0);
    assert_eq!(n(&r, "pools.second.reserved"), 1500);
}

/// Account limits are settled at the serving pool's rates.
///
/// As above, but both pools keep the default reserve and the answers are short: input 100,
/// output 100, max_tokens 400. On `second` (preset "other", 1:1) R = 500 and C = 200,
/// settled 0.8 + 0.02 × 0.1 + 100/60 = 2.469 s after admission. Account: 1,000 quota
/// tokens per minute; constant 6/min (every 10 s, so each settles before the next arrives):
/// - 0 s: 0 + 500 ≤ 1,000, admitted; settles to 200.
/// - 10 s: 200 + 500 = 700, admitted; 400. 20 s: 900, admitted; 600.
/// - 30, 40, 50 s: 600 + 500 = 1,100 > 1,000: refused by the account.
///
/// Admitted 3, throttled 3. Settled at `first`'s (or the top-level model's) rates, C would
/// be 100 + 5 × 100 = 600: 600 after the first, and every later arrival refused (1 admitted).
#[test]
fn account_limits_settle_at_the_serving_pools_rates() {
    let r = json(
        r#"
duration = "1m"
[model]
preset = "claude-sonnet-4"
[pools.first]
tokens_per_minute = 10000000
[pools.second]
tokens_per_minute = 10000000
model = "other"
[[account.limits]]
name = "account_tpm"
counts = "quota-tokens"
limit = 1000
[workloads.app]
route = "second"
[workloads.app.client]
retry = "none"
[workloads.app.arrivals]
process = "constant"
rate_per_minute = 6
[workloads.app.requests.q]
input_tokens = 100
output_tokens = 100
max_tokens = 400
"#,
    );
    assert_eq!(n(&r, "attempts.admitted"), 3);
    assert_eq!(n(&r, "attempts.throttled"), 3);
    assert_eq!(n(&r, "attempts.throttled_by_limit.account_tpm"), 3);
    assert_eq!(n(&r, "pools.second.quota_consumed"), 600);
}

/// A pool limit with `count_rejected = true` counts an attempt the account refuses (its own
/// limits admitted it: the provider saw and refused the call).
///
/// Pool limit `pool_requests`: 3 requests per minute, counting refusals; account limit
/// `account_requests`: 1 per minute. Constant 4/min (0, 15, 30, 45 s), no retries:
/// - 0 s: pool 1 ≤ 3, account 1 ≤ 1: admitted (pool 1, account 1).
/// - 15 s: pool 2 ≤ 3 admits; account 2 > 1 refuses; the pool counts it: pool 2.
/// - 30 s: pool 3 ≤ 3 admits; account refuses; pool 3.
/// - 45 s: pool 4 > 3: refused by the pool.
///
/// Throttles: account_requests 2, pool_requests 1. Without the pool's charge on the
/// account's refusals the pool would stay at 1 and the account refuse all three.
#[test]
fn a_pools_count_rejected_limit_counts_an_account_refusal() {
    let r = json(
        r#"
duration = "1m"
[pools.only]
[[pools.only.limits]]
name = "pool_requests"
counts = "requests"
per = "minute"
limit = 3
count_rejected = true
[[account.limits]]
name = "account_requests"
counts = "requests"
per = "minute"
limit = 1
[workloads.app]
[workloads.app.client]
retry = "none"
[workloads.app.arrivals]
process = "constant"
rate_per_minute = 4
[workloads.app.requests.q]
input_tokens = 100
output_tokens = 10
max_tokens = 10
"#,
    );
    assert_eq!(n(&r, "attempts.admitted"), 1);
    assert_eq!(n(&r, "attempts.throttled"), 3);
    assert_eq!(n(&r, "attempts.throttled_by_limit.account_requests"), 2);
    assert_eq!(n(&r, "attempts.throttled_by_limit.pool_requests"), 1);
}

/// `throttled_by_limit` when pools have different limit lists: the totals list each pool's
/// limits, then the account's (a_requests, b_tokens, b_requests, account_requests); each
/// pool lists its own, then the account's.
///
/// Pool a: `a_requests` 1/min. Pool b: `b_tokens` (10M quota tokens) and `b_requests`
/// 2/min. Account: `account_requests` 2/min. Fallback on throttle a → b, no retries;
/// constant 4/min (0, 15, 30, 45 s):
/// - 0 s: a admits (a 1, account 1).
/// - 15 s: a refuses (a_requests); at 15.1 s b admits (b 1, account 2).
/// - 30 s, 45 s: a refuses (a_requests); b's own limits admit (b 2 ≤ 2) but the account
///   refuses (3 > 2): b's third limit in its own list, the totals' fourth.
///
/// Totals: a_requests 3, account_requests 2, b_tokens 0, b_requests 0.
#[test]
fn throttled_by_limit_numbers_each_pools_limits_and_the_accounts() {
    let r = json(
        r#"
duration = "1m"
[pools.a]
[[pools.a.limits]]
name = "a_requests"
counts = "requests"
per = "minute"
limit = 1
[pools.b]
[[pools.b.limits]]
name = "b_tokens"
counts = "quota-tokens"
per = "minute"
limit = 10000000
[[pools.b.limits]]
name = "b_requests"
counts = "requests"
per = "minute"
limit = 2
[[account.limits]]
name = "account_requests"
counts = "requests"
per = "minute"
limit = 2
[workloads.app]
route = { pools = ["a", "b"], policy = "fallback", on = "throttle" }
[workloads.app.client]
retry = "none"
[workloads.app.arrivals]
process = "constant"
rate_per_minute = 4
[workloads.app.requests.q]
input_tokens = 100
output_tokens = 10
max_tokens = 10
"#,
    );
    assert_eq!(n(&r, "attempts.admitted"), 2);
    assert_eq!(n(&r, "attempts.throttled"), 5);
    let totals = &r["attempts"]["throttled_by_limit"];
    assert_eq!(
        totals,
        &serde_json::json!({"a_requests": 3, "b_tokens": 0, "b_requests": 0, "account_requests": 2}),
    );
    assert_eq!(
        r["pools"]["a"]["throttled_by_limit"],
        serde_json::json!({"a_requests": 3, "account_requests": 0})
    );
    assert_eq!(
        r["pools"]["b"]["throttled_by_limit"],
        serde_json::json!({"b_tokens": 0, "b_requests": 0, "account_requests": 2})
    );
}

/// Fallback `on = "give-up"`: the call to the next pool starts a fresh attempt count, so
/// the retry policy runs in full there too.
///
/// Pools a and b: 500 TPM each (one R = C = 500 request per minute window: input 100,
/// output = max_tokens = 400, preset "other"). Retry: fixed 15 s, 2 attempts. Constant
/// 3/min (0, 20, 40 s):
/// - 0 s: a admits (a full for minute 0).
/// - 20 s: a refuses (429 at 20.1 s); sleep 15 s; 35.1 s a refuses (35.2 s); the policy
///   gives up; b admits at 35.2 s (b full for minute 0). 3 attempts.
/// - 40 s: a refuses (40.1 s); 55.1 s a refuses (55.2 s); give-up; b refuses at 55.2 s
///   (429 at 55.3 s): attempt 1 of a fresh 2, so sleep 15 s; at 70.3 s (minute 1) b
///   admits. 4 attempts.
///
/// per_request {1: 1, 3: 1, 4: 1}, all 3 succeed, backoff 45 s. Keeping the attempt count
/// across the fallback gives up at 55.3 s: per_request {1: 1, 3: 2}, one failure.
#[test]
fn fallback_on_give_up_starts_a_fresh_attempt_count() {
    let r = json(
        r#"
duration = "1m"
[pools.a]
tokens_per_minute = 500
[pools.b]
tokens_per_minute = 500
[workloads.app]
route = { pools = ["a", "b"], policy = "fallback", on = "give-up" }
[workloads.app.client]
retry = { mode = "fixed", delay = "15s", max_attempts = 2 }
[workloads.app.arrivals]
process = "constant"
rate_per_minute = 3
[workloads.app.requests.q]
input_tokens = 100
output_tokens = 400
max_tokens = 400
"#,
    );
    assert_eq!(
        r["attempts"]["per_request"],
        serde_json::json!({"1": 1, "3": 1, "4": 1})
    );
    assert_eq!(n(&r, "requests.succeeded"), 3);
    assert_eq!(n(&r, "requests.failed"), 0);
    assert_eq!(n(&r, "pools.a.admitted"), 1);
    assert_eq!(n(&r, "pools.a.throttled"), 4);
    assert_eq!(n(&r, "pools.b.admitted"), 2);
    assert_eq!(n(&r, "pools.b.throttled"), 1);
    assert_eq!(r["client"]["backoff_seconds"], 45.0);
}

/// Two limits of one name, in a pool's quota and in the account's, are refused at the second
/// one's `name`, saying which list it is in.
#[test]
fn a_limit_name_used_twice_is_refused() {
    let limits = "limits = [ { name = \"a\", counts = \"tokens\", per = \"minute\", limit = 1000 }, \
                  { name = \"a\", counts = \"tokens\", per = \"minute\", limit = 2000 } ]";
    let rest = "[arrivals]\nprocess = \"poisson\"\nrate_per_minute = 10\n\
                [requests.r]\ninput_tokens = 10\noutput_tokens = 10\n";
    let d = load_err(&format!(
        "name = \"d\"\nduration = \"1m\"\n[quota]\n{limits}\n{rest}"
    ));
    assert_eq!(d.key_path.as_deref(), Some("quota.limits[1].name"));
    assert_eq!(
        d.message,
        "a limit named \"a\" already exists; give each limit a distinct `name`"
    );
    let d = load_err(&format!(
        "name = \"d\"\nduration = \"1m\"\n[quota]\ntokens_per_minute = 100000\n[account]\n{limits}\n{rest}"
    ));
    assert_eq!(d.key_path.as_deref(), Some("account.limits[1].name"));
    assert_eq!(
        d.message,
        "an account limit named \"a\" already exists; give each limit a distinct `name`"
    );
}

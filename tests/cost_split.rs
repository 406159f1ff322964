//! Cost by serving pool and by workload, derived by hand: every success is billed at the
//! on-demand prices of the model of the pool that served it; `pools.NAME.cost` and
//! `workloads.NAME.cost` each sum to the report's `cost`.

use quotasim::report::{ExportOptions, Format};
use quotasim::{Scenario, simulate};
use serde_json::Value;

mod common;

use common::{close, load_with, qs, usd, write_str};

/// USD per million tokens: (input, output, cache write, cache read), as published.
const SONNET_4: [f64; 4] = [3.0, 15.0, 3.75, 0.3];
const HAIKU_4_5: [f64; 4] = [1.0, 5.0, 1.25, 0.1];

fn scenario(text: &str, sets: &[&str]) -> Scenario {
    load_with("cost-split.toml", text, sets)
}

fn json(text: &str, sets: &[&str]) -> Value {
    let r = simulate(&scenario(text, sets));
    serde_json::from_str(&r.render(Format::Json, ExportOptions::default())).unwrap()
}

fn f(v: &Value, path: &str) -> Option<f64> {
    let mut cur = v;
    for k in path.split('.') {
        cur = &cur[k];
    }
    assert!(!cur.is_object(), "{path} is an object");
    cur.as_f64()
}

/// Two pools on different models, two workloads, one of them spilling across both.
///
/// - Pool `region`: the top-level model, claude-sonnet-4 ($3 in, $15 out, $0.30 cache read
///   per million), 2 requests per minute (fixed window). Pool `geo`: claude-haiku-4-5 ($1,
///   $5, $0.10), no binding limit.
/// - `chat`: constant 6/min (t = 0, 10, …, 50 s), routed to `geo`; 1,000 in, 100 out.
///   Each: 1,000 × 1 + 100 × 5 = 1,500 µ$; six: 9,000 µ$.
/// - `batch`: constant 4/min (t = 0, 15, 30, 45 s), spillover [region, geo]; 2,000 in, 400
///   out, 1,000 cache read. `region` admits t = 0 and 15 (its 2 RPM), then refuses and
///   t = 30 and 45 spill to `geo`. On region: 2,000 × 3 + 400 × 15 + 1,000 × 0.3 =
///   12,300 µ$; on geo: 2,000 × 1 + 400 × 5 + 1,000 × 0.1 = 4,100 µ$.
///
/// Every request finishes (service well under the minute's end plus drain), none throttled.
/// - pools: region 2 × 12,300 = 24,600 µ$; geo 9,000 + 2 × 4,100 = 17,200 µ$.
/// - workloads: chat 9,000 µ$; batch 24,600 + 8,200 = 32,800 µ$.
/// - total 41,800 µ$ = $0.0418 (priced all at Sonnet it would be 6 × 4,500 + 4 × 12,300 =
///   76,200 µ$). One measured minute: per hour is × 60.
const TWO_POOLS: &str = r#"
duration = "1m"
[model]
preset = "claude-sonnet-4"
[pools.region]
tokens_per_minute = 10000000
requests_per_minute = 2
[pools.geo]
tokens_per_minute = 10000000
model = "claude-haiku-4-5"
[workloads.chat]
route = "geo"
[workloads.chat.arrivals]
process = "constant"
rate_per_minute = 6
[workloads.chat.requests.q]
input_tokens = 1000
output_tokens = 100
[workloads.batch]
route = { pools = ["region", "geo"], policy = "spillover" }
[workloads.batch.arrivals]
process = "constant"
rate_per_minute = 4
[workloads.batch.requests.q]
input_tokens = 2000
output_tokens = 400
cache_read_tokens = 1000
"#;

#[test]
fn each_success_is_billed_at_its_serving_pools_model() {
    let r = json(TWO_POOLS, &[]);
    assert_eq!(r["requests"]["succeeded"], 10);
    assert_eq!(r["attempts"]["throttled"], 0);
    assert_eq!(r["pools"]["region"]["admitted"], 2);
    assert_eq!(r["pools"]["geo"]["admitted"], 8);
    let (region, geo) = (
        usd(SONNET_4, 2000, 400, 0, 1000) * 2.0,
        usd(HAIKU_4_5, 1000, 100, 0, 0) * 6.0 + usd(HAIKU_4_5, 2000, 400, 0, 1000) * 2.0,
    );
    assert!(close(region, 0.0246) && close(geo, 0.0172));
    let chat = usd(HAIKU_4_5, 1000, 100, 0, 0) * 6.0;
    let batch = region + usd(HAIKU_4_5, 2000, 400, 0, 1000) * 2.0;
    assert!(close(chat, 0.009) && close(batch, 0.0328));
    let total = 0.0418;
    for (path, want, successes) in [
        ("cost", total, 10.0),
        ("pools.region.cost", region, 2.0),
        ("pools.geo.cost", geo, 8.0),
        ("workloads.chat.cost", chat, 6.0),
        ("workloads.batch.cost", batch, 4.0),
    ] {
        let got = f(&r, &format!("{path}.usd")).unwrap();
        assert!(close(got, want), "{path}.usd: {got} vs {want}");
        let per = f(&r, &format!("{path}.usd_per_success")).unwrap();
        assert!(
            close(per, want / successes),
            "{path}.usd_per_success: {per}"
        );
        let hour = f(&r, &format!("{path}.usd_per_hour")).unwrap();
        assert!(close(hour, want * 60.0), "{path}.usd_per_hour: {hour}");
    }
    // The breakdowns each add up to the total.
    let sum = |scope: &str| -> f64 {
        r[scope]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v["cost"]["usd"].as_f64().unwrap())
            .sum()
    };
    assert!(close(sum("pools"), total));
    assert!(close(sum("workloads"), total));
    // Not the old single price: everything at Sonnet would be 0.0762.
    assert!(!close(f(&r, "cost.usd").unwrap(), 0.0762));
}

#[test]
fn breakdowns_sum_to_the_total_in_a_random_run_too() {
    // Weighted routing and retries under a tight region quota: the split is random, but
    // each breakdown still adds up (to rounding) and every figure is positive.
    let text = TWO_POOLS
        .replace(
            r#"route = { pools = ["region", "geo"], policy = "spillover" }"#,
            r#"route = { pools = ["region", "geo"], policy = "weighted", weights = [2, 1] }"#,
        )
        .replace("process = \"constant\"", "process = \"poisson\"")
        .replace(
            "duration = \"1m\"",
            "duration = \"20m\"\nwarmup = \"2m\"\nseed = 7",
        );
    let r = json(&text, &["workloads.chat.arrivals.rate_per_minute=30"]);
    let total = f(&r, "cost.usd").unwrap();
    assert!(total > 0.0);
    for scope in ["pools", "workloads"] {
        let parts: Vec<f64> = r[scope]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v["cost"]["usd"].as_f64().unwrap())
            .collect();
        assert!(parts.iter().all(|u| *u > 0.0), "{scope}: {parts:?}");
        assert!(
            close(parts.iter().sum(), total),
            "{scope}: {parts:?} vs {total}"
        );
    }
    // Per-pool successes divide per-pool dollars.
    let served = r["pools"]["geo"]["cost"]["usd"].as_f64().unwrap()
        / r["pools"]["geo"]["cost"]["usd_per_success"]
            .as_f64()
            .unwrap();
    assert!(
        (served - served.round()).abs() < 1e-6 && served >= 1.0,
        "{served}"
    );
}

/// One pool, one workload: no `pools`/`workloads` keys, and `cost` is the one-price
/// formula over the counted successes' tokens, bit for bit.
///
/// Constant 60/min over [1m, 10m): 540 requests, each 1,000 in, output cut at 200, 100
/// cache write, 2,000 cache read: 540 × (3,000 + 3,000 + 375 + 600) = 3,766,500 µ$.
const ONE_POOL: &str = r#"
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

#[test]
fn one_pool_keeps_its_figures_and_json_bit_for_bit() {
    let r = simulate(&scenario(ONE_POOL, &[]));
    assert!(r.pools.is_none() && r.workloads.is_none());
    let want = usd(SONNET_4, 540 * 1000, 540 * 200, 540 * 100, 540 * 2000);
    assert!(close(want, 3.7665));
    assert_eq!(r.cost.usd.map(f64::to_bits), Some(want.to_bits()));
    assert_eq!(
        r.cost.usd_per_success.map(f64::to_bits),
        Some((want / 540.0).to_bits())
    );
    assert_eq!(
        r.cost.usd_per_hour.map(f64::to_bits),
        Some((want / (540e6 / 3_600e6)).to_bits())
    );
    // The JSON ends with exactly this block: same keys, same order, same digits.
    let text = r.render(Format::Json, ExportOptions::default());
    let block = format!(
        "  \"cost\": {{\n    \"usd\": {},\n    \"usd_per_success\": {},\n    \"usd_per_hour\": {}\n  }}\n}}\n",
        serde_json::to_string(&want).unwrap(),
        serde_json::to_string(&(want / 540.0)).unwrap(),
        serde_json::to_string(&(want / 0.15)).unwrap(),
    );
    assert!(text.ends_with(&block), "{}", &text[text.len() - 200..]);
    // The same scenario written with one [pools.NAME] table bills the same.
    let pooled = ONE_POOL.replace("[quota]", "[pools.only]");
    let p = simulate(&scenario(&pooled, &[]));
    assert!(p.pools.is_none());
    assert_eq!(p.cost, r.cost);
}

#[test]
fn a_lone_pool_is_billed_at_its_own_model() {
    // One [pools.NAME] with its own model: not split, but its model serves every attempt.
    let text = ONE_POOL.replace("[quota]", "[pools.only]\nmodel = \"claude-haiku-4-5\"");
    let r = simulate(&scenario(&text, &[]));
    assert!(r.pools.is_none());
    let want = usd(HAIKU_4_5, 540 * 1000, 540 * 200, 540 * 100, 540 * 2000);
    assert_eq!(r.cost.usd.map(f64::to_bits), Some(want.to_bits()));
}

#[test]
fn pools_on_one_model_bill_exactly_what_one_pool_would() {
    // One pool and two workloads, then two pools on the same model: the total is the
    // one-price formula over the totals' tokens, bit for bit (tokens are added up before
    // pricing), and the only pool's figure is the total's.
    let two_workloads = r#"
duration = "10m"
warmup = "1m"
seed = 3
[model]
preset = "claude-sonnet-4"
[quota]
tokens_per_minute = 400000
[workloads.a.arrivals]
process = "poisson"
rate_per_minute = 40
[workloads.a.requests.q]
input_tokens = { dist = "lognormal", mean = 2000, sd = 800 }
output_tokens = { dist = "lognormal", mean = 300, sd = 100 }
[workloads.b.arrivals]
process = "poisson"
rate_per_minute = 20
[workloads.b.requests.q]
input_tokens = 5000
output_tokens = 700
"#;
    let r = json(two_workloads, &[]);
    let (i, o) = (
        r["tokens"]["input"].as_u64().unwrap(),
        r["tokens"]["output"].as_u64().unwrap(),
    );
    let want = usd(SONNET_4, i, o, 0, 0);
    assert_eq!(f(&r, "cost.usd").map(f64::to_bits), Some(want.to_bits()));
    assert_eq!(f(&r, "pools.default.cost.usd"), f(&r, "cost.usd"));

    let two_pools = two_workloads
        .replace("[quota]", "[pools.x]")
        .replace(
            "[workloads.a.arrivals]",
            "[pools.y]\ntokens_per_minute = 400000\n[workloads.a]\nroute = \"x\"\n[workloads.a.arrivals]",
        )
        .replace(
            "[workloads.b.arrivals]",
            "[workloads.b]\nroute = \"y\"\n[workloads.b.arrivals]",
        );
    let r = json(&two_pools, &[]);
    let (i, o) = (
        r["tokens"]["input"].as_u64().unwrap(),
        r["tokens"]["output"].as_u64().unwrap(),
    );
    assert_eq!(
        f(&r, "cost.usd").map(f64::to_bits),
        Some(usd(SONNET_4, i, o, 0, 0).to_bits())
    );
    // Each workload has a pool of its own here: their figures are the pools'.
    assert_eq!(f(&r, "workloads.a.cost.usd"), f(&r, "pools.x.cost.usd"));
    assert_eq!(f(&r, "workloads.b.cost.usd"), f(&r, "pools.y.cost.usd"));
}

#[test]
fn an_unpriced_pool_makes_unknown_only_what_it_served() {
    // `geo` on a model without a price ("other"). While it serves chat, chat's cost, geo's
    // and the total are unknown; batch, served by region alone (spillover to geo never
    // needed with a roomy region), keeps its dollars.
    let text = TWO_POOLS.replace("claude-haiku-4-5", "other");
    let r = json(&text, &["pools.region.requests_per_minute=100"]);
    assert_eq!(r["pools"]["geo"]["admitted"], 6);
    assert_eq!(r["cost"]["usd"], Value::Null);
    assert_eq!(r["pools"]["geo"]["cost"]["usd"], Value::Null);
    assert_eq!(r["workloads"]["chat"]["cost"]["usd"], Value::Null);
    let batch = usd(SONNET_4, 2000, 400, 0, 1000) * 4.0;
    assert!(close(f(&r, "workloads.batch.cost.usd").unwrap(), batch));
    assert!(close(f(&r, "pools.region.cost.usd").unwrap(), batch));
    // Route chat to region as well: geo serves nothing, and nothing is unknown.
    let r = json(
        &text.replace("route = \"geo\"", "route = \"region\""),
        &["pools.region.requests_per_minute=100"],
    );
    assert_eq!(r["pools"]["geo"]["admitted"], 0);
    assert_eq!(r["pools"]["geo"]["cost"]["usd"], Value::Null);
    let all = batch + usd(SONNET_4, 1000, 100, 0, 0) * 6.0;
    assert!(close(f(&r, "cost.usd").unwrap(), all));
}

#[test]
fn csv_and_table_show_the_breakdowns() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_str(dir.path(), "two.toml", TWO_POOLS);
    let out = qs()
        .args(["run", &path, "--format", "csv"])
        .assert()
        .success();
    let csv = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    // At full precision, the figures worked out by hand above.
    for (metric, want) in [
        ("pools.region.cost.usd", 0.0246),
        ("pools.geo.cost.usd", 0.0172),
        ("pools.geo.cost.usd_per_success", 0.00215),
        ("workloads.chat.cost.usd", 0.009),
        ("workloads.batch.cost.usd_per_hour", 1.968),
    ] {
        let got: f64 = csv
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{metric},")))
            .unwrap_or_else(|| panic!("no `{metric}` in\n{csv}"))
            .parse()
            .unwrap();
        assert!(close(got, want), "{metric} = {got}, expected {want}");
    }
    let out = qs().args(["run", &path]).assert().success();
    let table = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let after = |heading: &str| {
        let at = table.find(heading).unwrap();
        table[at..]
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with(' '))
            .find(|l| l.contains("cost USD"))
            .unwrap()
            .to_string()
    };
    assert!(after("pool region").contains("0.0246"));
    assert!(after("pool geo").contains("0.0172"));
    assert!(after("workload chat").contains("0.0090"));
    assert!(after("workload batch").contains("0.0328"));
}

#[test]
fn assert_reaches_per_pool_and_per_workload_cost() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_str(dir.path(), "two.toml", TWO_POOLS);
    qs().args(["run", &path, "--format", "json"])
        .args(["--assert", "pools.geo.cost.usd < 0.02"])
        .args(["--assert", "workloads.chat.cost.usd_per_hour <= 0.55"])
        .assert()
        .success();
    let out = qs()
        .args(["run", &path, "--format", "json"])
        .args(["--assert", "workloads.chat.cost.usd_per_hour < 0.5"])
        .assert()
        .code(1);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        err.contains("FAILED: workloads.chat.cost.usd_per_hour < 0.5"),
        "{err}"
    );
}

#[test]
fn compare_flags_a_pools_cost_rise_as_a_regression() {
    // Moving chat from Haiku (geo) to Sonnet (region) triples its bill: lower is better for
    // cost, so compare fails on it and names the path.
    let dir = tempfile::tempdir().unwrap();
    let run = |text: &str, name: &str| {
        let path = write_str(dir.path(), &format!("{name}.toml"), text);
        let out = qs()
            .args(["run", &path, "--format", "json"])
            .assert()
            .success();
        write_str(
            dir.path(),
            &format!("{name}.json"),
            &String::from_utf8(out.get_output().stdout.clone()).unwrap(),
        )
    };
    let base = run(TWO_POOLS, "base");
    let worse = run(
        &TWO_POOLS
            .replace("requests_per_minute = 2", "requests_per_minute = 100")
            .replace("route = \"geo\"", "route = \"region\""),
        "worse",
    );
    // Total cost is judged only when a gate asks for it (by default, per success).
    let out = qs()
        .args(["compare", &base, &worse, "--gate-total-cost"])
        .assert()
        .code(1);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap()
        + &String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(text.contains("workloads.chat.cost.usd"), "{text}");
    assert!(text.contains("pools.region.cost.usd"), "{text}");
    // The other way round, the total and chat's bill fell: neither is a regression (geo's
    // own bill rises, since it takes chat back).
    let out = qs()
        .args(["compare", &worse, &base, "--gate-total-cost"])
        .assert();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let line = |path: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(path))
            .unwrap_or_else(|| panic!("no {path} in\n{text}"))
            .to_string()
    };
    for path in ["cost.usd", "workloads.chat.cost.usd"] {
        assert!(!line(path).contains("REGRESSED"), "{}", line(path));
    }
    assert!(line("pools.geo.cost.usd").contains("REGRESSED"));
}

/// `plan` on a per-pool cost, by hand: with `region` allowing k requests a minute, batch's
/// min(k, 4) first requests stay on region and the rest spill to geo, so geo bills chat's
/// 9,000 µ$ plus (4 − min(k, 4)) × 4,100 µ$. `pools.geo.cost.usd <= 0.01` needs no spill:
/// the smallest k is 4 (k = 3 bills 13,100 µ$), with the bracket [3, 4].
#[test]
fn plan_constrains_a_pools_cost() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_str(dir.path(), "two.toml", TWO_POOLS);
    let out = qs()
        .args(["plan", &path, "--find", "pools.region.requests_per_minute"])
        .args([
            "--range",
            "1..10",
            "--replications",
            "1",
            "--format",
            "json",
        ])
        .args(["--constraint", "pools.geo.cost.usd <= 0.01"])
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["value"], 4);
    assert_eq!(v["bracket"], serde_json::json!([3, 4]));
    let at = &v["metrics"]["pools"]["geo"]["cost"]["usd"];
    assert!(close(at["mean"].as_f64().unwrap(), 0.009), "{at}");
    // A workload's hourly cost works the same way: batch bills 4 × 12,300 µ$ all on region
    // (k ≥ 4), 3 × 12,300 + 4,100 = 41,000 µ$ at k = 3: × 60 = 2.952 and 2.46 $/h. The
    // largest k with batch at most 2.5 $/h is 3.
    let out = qs()
        .args([
            "plan",
            &path,
            "--find",
            "pools.region.requests_per_minute",
            "--max",
        ])
        .args([
            "--range",
            "1..10",
            "--replications",
            "1",
            "--format",
            "json",
        ])
        .args(["--constraint", "workloads.batch.cost.usd_per_hour <= 2.5"])
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["value"], 3, "{v}");
    // A pool the scenario lacks is bad input.
    let out = qs()
        .args(["plan", &path, "--find", "pools.region.requests_per_minute"])
        .args([
            "--range",
            "1..10",
            "--constraint",
            "pools.nope.cost.usd <= 1",
        ])
        .assert()
        .code(2);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(err.contains("no pool `nope`"), "{err}");
}

/// `sweep` on per-pool and per-workload cost, by hand (as for `plan` above): with region
/// at k = 2, 3, 4, 5 requests a minute, geo bills 9,000 + (4 − min(k, 4)) × 4,100 µ$ =
/// 17,200, 13,100, 9,000, 9,000 µ$, and batch min(k, 4) × 12,300 + (4 − min(k, 4)) × 4,100
/// = 32,800, 41,000, 49,200, 49,200 µ$. Under `pools.geo.cost.usd <= 0.01` only k = 4 and 5
/// are feasible; the cheapest batch among them is k = 4 (the first of the tie).
#[test]
fn sweep_reports_and_optimises_per_pool_and_per_workload_cost() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_str(dir.path(), "two.toml", TWO_POOLS);
    let out = qs()
        .args([
            "sweep",
            &path,
            "--vary",
            "pools.region.requests_per_minute=2,3,4,5",
        ])
        .args(["--constraint", "pools.geo.cost.usd <= 0.01"])
        .args(["--objective", "minimize:workloads.batch.cost.usd"])
        .args(["--format", "json"])
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let points = v["points"].as_array().unwrap();
    let geo = [0.0172, 0.0131, 0.009, 0.009];
    let batch = [0.0328, 0.041, 0.0492, 0.0492];
    for (i, p) in points.iter().enumerate() {
        let g = p["metrics"]["pools"]["geo"]["cost"]["usd"]["mean"]
            .as_f64()
            .unwrap();
        let b = p["metrics"]["workloads"]["batch"]["cost"]["usd"]["mean"]
            .as_f64()
            .unwrap();
        assert!(close(g, geo[i]) && close(b, batch[i]), "point {i}: {g} {b}");
    }
    let rec = &v["recommendation"];
    assert_eq!(rec["feasible"], 2);
    assert_eq!(rec["best"]["index"], 2);
    assert!(close(rec["best"]["objective"].as_f64().unwrap(), 0.0492));
    // The table shows the objective in dollars, not as a percentage.
    let out = qs()
        .args([
            "sweep",
            &path,
            "--vary",
            "pools.region.requests_per_minute=2,4",
        ])
        .args(["--objective", "minimize:workloads.batch.cost.usd"])
        .assert()
        .success();
    let table = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        table.contains("workloads.batch.cost.usd = 0.0328"),
        "{table}"
    );
    // An unknown workload, or a shard (its files carry the key metrics only), is exit 2.
    qs().args([
        "sweep",
        &path,
        "--vary",
        "pools.region.requests_per_minute=2,4",
    ])
    .args(["--objective", "minimize:workloads.nope.cost.usd"])
    .assert()
    .code(2)
    .stderr(predicates::str::contains("--objective"));
    qs().args([
        "sweep",
        &path,
        "--vary",
        "pools.region.requests_per_minute=2,4",
    ])
    .args(["--constraint", "pools.geo.cost.usd <= 1", "--shard", "1/2"])
    .assert()
    .code(2);
}

#[test]
fn the_registry_and_the_scoped_lookup_know_per_pool_and_per_workload_cost() {
    use quotasim::metrics::registry::{Better, better, better_in_report, find};
    use quotasim::sweep::metrics::{scoped_cost, scoped_value};
    for path in [
        "pools.geo.cost.usd",
        "pools.region.cost.usd_per_success",
        "workloads.chat.cost.usd_per_hour",
    ] {
        assert_eq!(better(path), Better::Lower, "{path}");
        assert!(find(path).is_some(), "{path}");
        assert_eq!(
            better_in_report(&format!("points.0.metrics.{path}.mean")),
            Better::Lower
        );
        assert!(scoped_cost(path).is_some(), "{path}");
    }
    for path in [
        "cost.usd",
        "pools.geo.cost",
        "pools.geo.cost.eur",
        "other.geo.cost.usd",
    ] {
        assert!(scoped_cost(path).is_none(), "{path}");
    }
    let two = scenario(TWO_POOLS, &[]);
    let r = simulate(&two);
    assert!(close(
        scoped_value(&r, &two, "pools.region.cost.usd").unwrap(),
        0.0246
    ));
    assert!(close(
        scoped_value(&r, &two, "workloads.batch.cost.usd_per_success").unwrap(),
        0.0082
    ));
    assert!(close(
        scoped_value(&r, &two, "workloads.chat.cost.usd_per_hour").unwrap(),
        0.54
    ));
    assert_eq!(scoped_value(&r, &two, "pools.nope.cost.usd"), None);
    // One pool, one workload: no blocks, nothing to find.
    assert_eq!(
        scoped_value(
            &simulate(&scenario(ONE_POOL, &[])),
            &scenario(ONE_POOL, &[]),
            "pools.default.cost.usd"
        ),
        None
    );
}

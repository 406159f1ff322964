//! The one-pool path and the general path agree.
//!
//! A scenario with one pool and one workload runs without per-pool and per-workload metrics
//! (the engine's one-pool path); with a second pool or workload it keeps them, and the
//! totals' bill and latencies are then summed from them (the general path). Random one-pool
//! scenarios, from a seeded loop, are written three ways:
//!
//! 1. the short form: `[quota]`, `[client]`, `[arrivals]`, `[requests.*]`;
//! 2. the same as one `[pools.NAME]` and one `[workloads.NAME]`: the report must be the same
//!    JSON, byte for byte;
//! 3. as 2 plus an idle pool on no workload's route, which takes the general path: the
//!    totals, the serving pool's figures and the workload's must each match the short
//!    form's report wherever they report the same thing (a key present in both).

use quotasim::simulate;
use serde_json::Value;

mod common;

use common::{Gen, load};

/// Scenarios tried; each runs in a few milliseconds.
const CASES: u64 = 60;

/// One random scenario's parts: the top-level tables that stay put in every form, and the
/// bodies of its quota, client, arrivals and request classes.
struct Parts {
    head: String,
    quota: String,
    client: String,
    arrivals: String,
    classes: Vec<(String, String)>,
}

fn random_parts(case: u64) -> Parts {
    let mut g = Gen(case.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x5eed);
    let mut head = format!(
        "name = \"case-{case}\"\nseed = {}\nduration = \"{}m\"\n",
        g.below(1000),
        5 + g.below(25)
    );
    if g.chance(40) {
        head.push_str("warmup = \"1m\"\n");
    }
    let preset = g.pick(&["claude-sonnet-4", "claude-sonnet-4-5", "claude-3-5-haiku"]);
    head.push_str(&format!("\n[model]\npreset = \"{preset}\"\n"));
    if g.chance(40) {
        head.push_str(&format!(
            "\n[service]\nerror_rate = 0.0{}\nttft = \"{}ms\"\n",
            1 + g.below(8),
            100 + g.below(500)
        ));
    }

    let streaming = g.chance(30);
    let mut quota = format!(
        "tokens_per_minute = {}\n",
        [20_000, 50_000, 100_000, 200_000, 1_000_000][g.below(5) as usize]
    );
    if g.chance(60) {
        let limiter = g.pick(&["fixed-window", "sliding-window", "token-bucket"]);
        quota.push_str(&format!("limiter = \"{limiter}\"\n"));
    }
    if g.chance(30) {
        quota.push_str(&format!("requests_per_minute = {}\n", 5 + g.below(60)));
    }
    if g.chance(30) {
        quota.push_str("retry_after = true\n");
    }
    if streaming {
        quota.push_str("settle = \"streaming\"\n");
        if g.chance(50) {
            quota.push_str("mid_stream_throttle = true\n");
        }
    }

    let retry = g.pick(&["aws-standard", "aws-adaptive", "aws-legacy", "none"]);
    let mut client = format!(
        "concurrency = {}\nretry = \"{retry}\"\n",
        [1, 4, 16, 64][g.below(4) as usize]
    );
    if retry != "none" && g.chance(50) {
        client.push_str(&format!("max_attempts = {}\n", 1 + g.below(6)));
    }
    if g.chance(60) {
        client.push_str(&format!(
            "max_tokens = {}\n",
            [256, 1024, 4096][g.below(3) as usize]
        ));
    }
    if g.chance(30) {
        client.push_str(&format!("timeout = \"{}s\"\n", 20 + g.below(120)));
    }
    if g.chance(20) {
        client.push_str(&format!(
            "pacing = {{ tokens_per_minute = {} }}\n",
            20_000 + 10_000 * g.below(20)
        ));
    }
    if streaming {
        client.push_str("stream = true\n");
    }

    let arrivals = match g.below(3) {
        0 => format!(
            "process = \"closed-loop\"\nclients = {}\nthink_time = \"{}s\"\n",
            1 + g.below(12),
            1 + g.below(20)
        ),
        1 => format!(
            "process = \"constant\"\nrate_per_minute = {}\n",
            1 + g.below(60)
        ),
        _ => format!(
            "process = \"poisson\"\nrate_per_minute = {}\n",
            1 + g.below(90)
        ),
    };

    let mut classes = Vec::new();
    for k in 0..1 + g.below(3) {
        let mut body = format!(
            "weight = {}\ninput_tokens = {{ dist = \"lognormal\", median = {}, p95 = {} }}\n",
            1 + g.below(5),
            200 + g.below(3000),
            6000 + g.below(20_000)
        );
        body.push_str(&match g.below(2) {
            0 => format!(
                "output_tokens = {{ dist = \"lognormal\", median = {}, p95 = {} }}\n",
                50 + g.below(800),
                1500 + g.below(6000)
            ),
            _ => format!("output_tokens = {}\n", 10 + g.below(3000)),
        });
        classes.push((format!("class{k}"), body));
    }
    Parts {
        head,
        quota,
        client,
        arrivals,
        classes,
    }
}

/// `[quota]`, `[client]`, `[arrivals]`, `[requests.*]`.
fn short_form(p: &Parts) -> String {
    let mut s = format!(
        "{}\n[quota]\n{}\n[client]\n{}\n[arrivals]\n{}",
        p.head, p.quota, p.client, p.arrivals
    );
    for (name, body) in &p.classes {
        s.push_str(&format!("\n[requests.{name}]\n{body}"));
    }
    s
}

/// One `[pools.main]` and one `[workloads.app]` routed to it, plus `extra` (more pools).
fn tables_form(p: &Parts, extra: &str) -> String {
    let mut s = format!(
        "{}\n[pools.main]\n{}{extra}\n[workloads.app]\nroute = \"main\"\n[workloads.app.client]\n{}\n[workloads.app.arrivals]\n{}",
        p.head, p.quota, p.client, p.arrivals
    );
    for (name, body) in &p.classes {
        s.push_str(&format!("\n[workloads.app.requests.{name}]\n{body}"));
    }
    s
}

/// An idle second pool, on no workload's route: it makes the run take the general path.
const IDLE_POOL: &str = "\n[pools.idle]\ntokens_per_minute = 100000\n";

fn report(text: &str) -> Value {
    serde_json::to_value(simulate(&load(text))).expect("the report serialises")
}

/// Compares `got` with `want` wherever both have a key; returns how many leaf values were
/// compared and the paths that differ.
fn overlap(want: &Value, got: &Value, path: &str, diffs: &mut Vec<String>) -> usize {
    match (want, got) {
        (Value::Object(a), Value::Object(b)) => a
            .iter()
            .filter_map(|(k, v)| {
                b.get(k)
                    .map(|w| overlap(v, w, &format!("{path}.{k}"), diffs))
            })
            .sum(),
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .map(|(i, (v, w))| overlap(v, w, &format!("{path}[{i}]"), diffs))
            .sum(),
        _ => {
            if want != got {
                diffs.push(format!("{path}: {want} vs {got}"));
            }
            1
        }
    }
}

#[test]
fn the_one_pool_path_and_the_general_path_agree() {
    let mut busy = 0;
    for case in 0..CASES {
        let parts = random_parts(case);
        let short = short_form(&parts);
        let a = report(&short);
        assert!(a.get("pools").is_none() && a.get("workloads").is_none());

        // The same one pool and one workload, written as tables: the same report.
        let tables = tables_form(&parts, "");
        let b = report(&tables);
        assert_eq!(
            serde_json::to_string_pretty(&a).unwrap(),
            serde_json::to_string_pretty(&b).unwrap(),
            "case {case}: the tables form differs from the short form\n{short}\n---\n{tables}"
        );

        // The general path, with an idle pool beside the serving one.
        let general = tables_form(&parts, IDLE_POOL);
        let c = report(&general);
        let mut diffs = Vec::new();
        // `scenario`, `seed` and `engine` are the run's; only the metrics are compared in
        // the serving pool's and the workload's figures.
        let mut compared = overlap(&a, &c, "", &mut diffs);
        for part in ["/pools/main", "/workloads/app"] {
            let sub = c
                .pointer(part)
                .unwrap_or_else(|| panic!("case {case}: no {part}"));
            compared += overlap(&a, sub, part, &mut diffs);
        }
        assert!(
            diffs.is_empty(),
            "case {case}: the general path disagrees with the one-pool path:\n{}\n---\n{general}",
            diffs.join("\n")
        );
        // Not vacuous: the requests, attempts, tokens and cost sections were all compared.
        assert!(
            compared > 100,
            "case {case}: only {compared} values compared"
        );
        if a.pointer("/requests/succeeded").and_then(Value::as_u64) > Some(0)
            && a.pointer("/attempts/throttled").and_then(Value::as_u64) > Some(0)
        {
            busy += 1;
        }
    }
    // Enough cases where the quota binds for the comparison to mean something.
    assert!(busy >= CASES / 4, "only {busy} of {CASES} cases throttle");
}

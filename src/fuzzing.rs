//! The code path the fuzz target (`fuzz/`) and its proptest stand-in (`tests/fuzz_inputs.rs`)
//! drive: what the command line does with a scenario file and `--set` flags, minus the file
//! system. Not part of the stable API.

use crate::engine::simulate_with;
use crate::guard::{self, Limits};
use crate::report::{ExportOptions, Format};
use crate::{Override, Scenario};

/// Scenarios the fuzzers mutate: each exercises a different part of the loader and engine.
pub const BASES: &[&str] = &[
    r#"duration = "10m"
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
input_tokens = { dist = "lognormal", median = 500, p95 = 2000 }
output_tokens = 300
"#,
    // The on-off process (its state flips are work the guard rails must see) and pacing.
    r#"duration = "1h"
[model]
preset = "claude-sonnet-4"
[quota]
tokens_per_minute = 200000
[client]
max_tokens = 1024
pacing = { tokens_per_minute = 150000 }
[arrivals]
process = "on-off"
on_rate_per_minute = 120
off_rate_per_minute = 0
mean_on = "30s"
mean_off = "2m"
[requests.chat]
input_tokens = 800
output_tokens = 200
"#,
    // Several pools, an account limit, two workloads and every route policy.
    r#"duration = "10m"
[model]
preset = "claude-sonnet-4"
[pools.region]
tokens_per_minute = 100000
[pools.geo]
tokens_per_minute = 200000
model_ids = ["us.anthropic.claude-sonnet-4-20250514-v1:0"]
[pools.reserved]
tokens_per_minute = 50000
[[account.limits]]
name = "daily"
counts = "quota-tokens"
limit = 5000000
per = "1d"
[workloads.chat]
route = { pools = ["region", "geo"], policy = "fallback", on = "throttle" }
[workloads.chat.client]
max_tokens = 1024
[workloads.chat.arrivals]
process = "poisson"
rate_per_minute = 60
[workloads.chat.requests.c]
input_tokens = 800
output_tokens = 200
[workloads.batch]
route = { pools = ["reserved", "region"], policy = "spillover" }
[workloads.batch.client]
concurrency = 4
max_tokens = 2048
[workloads.batch.arrivals]
process = "constant"
rate_per_minute = 10
[workloads.batch.requests.b]
input_tokens = 4000
output_tokens = 800
"#,
];

/// Words the fuzzers splice into scenarios and `--set` values, one group per feature.
/// A new feature adds its group here (and its words to `fuzz/scenario.dict`); the pool
/// pools, account limits, workloads and routes have theirs.
pub const WORD_GROUPS: &[&[&str]] = &[
    &[
        "duration",
        "warmup",
        "seed",
        "[model]",
        "preset",
        "output_tokens_per_second",
        "[quota]",
        "tokens_per_minute",
        "requests_per_minute",
        "tokens_per_day",
        "\"auto\"",
        "limiter",
        "\"token-bucket\"",
        "\"sliding-window\"",
        "reserve",
        "\"input+max_tokens*burndown\"",
        "[service]",
        "ttft",
        "throttle_latency",
        "error_rate",
        "[client]",
        "concurrency",
        "max_tokens",
        "retry",
        "max_attempts",
        "\"aws-legacy\"",
        "\"none\"",
        "{ mode = \"exponential\", base = \"1s\", cap = \"2s\", jitter = \"decorrelated\" }",
        "[arrivals]",
        "process",
        "\"closed-loop\"",
        "\"constant\"",
        "clients",
        "think_time",
        "[requests.b]",
        "weight",
        "input_tokens",
        "output_tokens",
        "cache_write_tokens",
        "{ dist = \"uniform\", min = 1, max = 9 }",
        "{ dist = \"normal\", mean = 5, sd = 100 }",
        "{ dist = \"exponential\", mean = 1e9 }",
    ],
    // The on-off process and client pacing.
    &[
        "\"on-off\"",
        "on_rate_per_minute",
        "off_rate_per_minute",
        "mean_on",
        "mean_off",
        "1e-9",
        "pacing",
        "{ requests_per_minute = 1 }",
        "{ tokens_per_minute = 1 }",
    ],
    // Pools, account limits, workloads and routes.
    &[
        "[pools.p]",
        "[pools.q]",
        "[[account.limits]]",
        "[workloads.w]",
        "[workloads.w.arrivals]",
        "[workloads.w.requests.x]",
        "route",
        "\"region\"",
        "{ pools = [\"region\", \"geo\"], policy = \"weighted\", weights = [1, 0] }",
        "{ pools = [\"region\", \"geo\"], policy = \"fallback\" }",
        "{ pools = [\"region\", \"geo\"], policy = \"fallback\", on = \"throttle\" }",
        "{ pools = [\"reserved\"], policy = \"spillover\" }",
        "{ pools = [] }",
        "model_ids",
        "per",
        "\"1d\"",
        "counts",
        "\"requests\"",
    ],
    // Values at the edges.
    &[
        "\"0s\"",
        "\"1us\"",
        "\"584000d\"",
        "0",
        "-1",
        "1e308",
        "1e300",
        "nan",
        "inf",
        "9223372036854775807",
        "18446744073709551616",
        "0.5",
        "\"\"",
        "\"ev.il\"",
        "\"\\u0000\"",
    ],
    // Syntax.
    &["=", "\n", "\"", "[", "]", "{", "}", ".", ",", "#"],
];

/// Key paths the fuzzers set with `--set`, one group per feature (see [`WORD_GROUPS`]).
pub const SET_KEY_GROUPS: &[&[&str]] = &[
    &[
        "max_tokens",
        "concurrency",
        "duration",
        "warmup",
        "quota.limiter",
        "quota.tokens_per_minute",
        "client.retry",
        "client.max_attempts",
        "arrivals.process",
        "arrivals.clients",
        "requests.chat.input_tokens",
        "requests.chat.weight",
        "requests.new.input_tokens",
        "quota.limits.0.limit",
        "x..y",
        "",
    ],
    &[
        "arrivals.on_rate_per_minute",
        "arrivals.off_rate_per_minute",
        "arrivals.mean_on",
        "arrivals.mean_off",
        "client.pacing.tokens_per_minute",
        "client.pacing.requests_per_minute",
    ],
    &[
        "pools.geo.tokens_per_minute",
        "pools.region.limiter",
        "pools.nope.tokens_per_minute",
        "account.limits.0.limit",
        "workloads.chat.client.concurrency",
        "workloads.chat.route",
        "workloads.batch.arrivals.rate_per_minute",
        "workloads.new.arrivals.process",
    ],
];

/// Every fuzz word, all groups together.
pub fn words() -> Vec<&'static str> {
    WORD_GROUPS.iter().flat_map(|g| g.iter().copied()).collect()
}

/// Every `--set` key path, all groups together.
pub fn set_keys() -> Vec<&'static str> {
    SET_KEY_GROUPS
        .iter()
        .flat_map(|g| g.iter().copied())
        .collect()
}

/// Limits small enough that one fuzz input runs in milliseconds.
pub fn fuzz_limits() -> Limits {
    Limits {
        max_events: 200_000,
        max_memory_bytes: 64 << 20,
        ..Limits::default()
    }
}

/// Splits a fuzz input into scenario text and `--set` flags: the text, then optionally a NUL
/// byte followed by one `PATH=VALUE` per line.
pub fn split_input(data: &[u8]) -> (String, Vec<String>) {
    let (text, rest) = match data.iter().position(|&b| b == 0) {
        Some(i) => (
            data.get(..i).unwrap_or(data),
            data.get(i + 1..).unwrap_or(&[]),
        ),
        None => (data, &[][..]),
    };
    let text = String::from_utf8_lossy(text).into_owned();
    let sets = String::from_utf8_lossy(rest)
        .lines()
        .map(str::to_string)
        .collect();
    (text, sets)
}

/// Loads, checks, simulates and renders one input the way `quotasim run` would.
/// Returns `Err` when an invariant that must hold for every input is broken (the caller
/// turns it into a crash); invalid input itself is fine.
pub fn exercise(data: &[u8]) -> Result<(), String> {
    let (text, sets) = split_input(data);
    exercise_parts(&text, &sets)
}

/// [`exercise`] on already split parts.
pub fn exercise_parts(text: &str, sets: &[String]) -> Result<(), String> {
    let mut overrides = Vec::new();
    for s in sets {
        match Override::parse(s) {
            Ok(o) => overrides.push(o),
            Err(e) => return expect_invalid(&e),
        }
    }
    let scenario = match Scenario::from_toml_str_with(text, "fuzz.toml", &overrides) {
        Ok(s) => s,
        Err(e) => return expect_invalid(&e),
    };
    let _ = scenario.to_toml();
    let _ = scenario.unservable_warnings();
    let limits = fuzz_limits();
    if let Err(e) = guard::check(&scenario, "fuzz.toml", &limits) {
        return expect_invalid(&e);
    }
    let report = match simulate_with(&scenario, &limits, None) {
        Ok(r) => r,
        Err(stopped) => {
            let e = guard::stopped_error(&scenario, "fuzz.toml", &limits, &stopped);
            expect_invalid(&e)?;
            *stopped.report
        }
    };
    let r = &report.requests;
    if r.arrived != r.succeeded + r.failed + r.unfinished {
        return Err(format!("arrived != succeeded + failed + unfinished: {r:?}"));
    }
    for format in [Format::Table, Format::Json, Format::Csv] {
        let _ = report.render(format, ExportOptions { timeline: true });
    }
    Ok(())
}

/// Invalid input must map to exit status 2 and name the problem.
fn expect_invalid(e: &crate::Error) -> Result<(), String> {
    let text = e.to_string();
    if e.exit_code() != 2 {
        return Err(format!(
            "exit status {} for invalid input: {text}",
            e.exit_code()
        ));
    }
    if text.trim().is_empty() {
        return Err("empty error message".into());
    }
    Ok(())
}

//! The code path the fuzz target (`fuzz/`) and its proptest stand-in (`tests/fuzz_inputs.rs`)
//! drive: what the command line does with a scenario file and `--set` flags, minus the file
//! system. Not part of the stable API.

use crate::engine::simulate_with;
use crate::guard::{self, Limits};
use crate::report::{ExportOptions, Format};
use crate::{Override, Scenario};

/// Limits small enough that one fuzz input runs in milliseconds.
pub fn fuzz_limits() -> Limits {
    Limits {
        max_events: 200_000,
        max_memory_bytes: 64 << 20,
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

//! Fuzz target: arbitrary scenario text plus `--set` overrides.
//!
//! Input layout: the scenario text, then optionally a NUL byte followed by one
//! `PATH=VALUE` override per line. Nothing reachable from here may panic, invalid input must
//! map to exit status 2, and a scenario that loads is also simulated (under small guard-rail
//! limits) and its report checked for `arrived = succeeded + failed + unfinished`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = quotasim::fuzzing::exercise(data) {
        panic!("invariant broken: {broken}");
    }
});

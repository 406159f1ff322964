//! Fuzzing without nightly: a proptest generator of arbitrary scenario text and `--set`
//! flags (mutations of a valid scenario with the fuzz dictionary's words), driven through the
//! same code as the cargo-fuzz target (`quotasim::fuzzing::exercise`). Also replays every
//! input in `tests/fuzz_regressions/` (crashes found by either fuzzer, kept forever).
//!
//! Quick run: part of `cargo test`. Long run (ignored by default):
//! `QUOTASIM_FUZZ_CASES=200000 cargo test --release --test fuzz_inputs -- --ignored`

use proptest::prelude::*;
use quotasim::fuzzing::{exercise, exercise_parts};

/// The words and `--set` keys come from `quotasim::fuzzing` (one group per feature, and the
/// base scenarios, the on-off one included), so a new feature extends both fuzzers there.
fn words() -> Vec<&'static str> {
    quotasim::fuzzing::words()
}

fn mutated() -> impl Strategy<Value = (String, Vec<String>)> {
    let edit = (
        any::<prop::sample::Index>(),
        0usize..8,
        prop::sample::select(words()),
    );
    let set = (
        prop::sample::select(quotasim::fuzzing::set_keys()),
        prop::sample::select(words()),
    )
        .prop_map(|(k, v)| format!("{k}={v}"));
    (
        prop::sample::select(quotasim::fuzzing::BASES),
        prop::collection::vec(edit, 0..6),
        prop::collection::vec(set, 0..3),
    )
        .prop_map(|(base, edits, sets)| {
            let mut text = base.to_string();
            for (at, delete, word) in edits {
                let mut i = at.index(text.len() + 1);
                while !text.is_char_boundary(i) {
                    i -= 1;
                }
                let mut j = (i + delete).min(text.len());
                while !text.is_char_boundary(j) {
                    j -= 1;
                }
                text.replace_range(i..j, word);
            }
            (text, sets)
        })
}

fn cases() -> u32 {
    std::env::var("QUOTASIM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn mutated_scenarios_never_break_invariants((text, sets) in mutated()) {
        prop_assert_eq!(exercise_parts(&text, &sets), Ok(()), "{}\n{:?}", text, sets);
    }

    #[test]
    fn arbitrary_bytes_never_break_invariants(data in prop::collection::vec(any::<u8>(), 0..512)) {
        prop_assert_eq!(exercise(&data), Ok(()));
    }
}

#[test]
#[ignore = "long-running; set QUOTASIM_FUZZ_CASES and run with --ignored"]
fn long_fuzz() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(&mutated(), |(text, sets)| {
            prop_assert_eq!(exercise_parts(&text, &sets), Ok(()), "{}\n{:?}", text, sets);
            Ok(())
        })
        .unwrap();
}

#[test]
fn fuzz_regressions_stay_fixed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let data = std::fs::read(&path).unwrap();
        assert_eq!(exercise(&data), Ok(()), "{}", path.display());
        n += 1;
    }
    assert!(n >= 1);
}

//! `estimate` does not silently truncate: with output above `max_tokens` it says so, and it
//! flags consumption above the reservation, in both formats (JSON keys stay fixed; the notes
//! go to stderr there).

use assert_cmd::Command;
use predicates::prelude::*;

fn estimate(format: &str) -> assert_cmd::assert::Assert {
    Command::cargo_bin("quotasim")
        .unwrap()
        .args([
            "estimate",
            "--model",
            "claude-sonnet-4",
            "--input-tokens",
            "10",
            "--output-tokens",
            "750",
            "--max-tokens",
            "100",
            "--format",
            format,
        ])
        .assert()
        .success()
}

#[test]
fn truncation_and_overshoot_are_said_in_the_table() {
    estimate("table").stdout(
        predicate::str::contains("100  (truncated from 750)")
            .and(predicate::str::contains("note: the response is truncated"))
            .and(predicate::str::contains(
                "consumption exceeds the reservation by 400 quota tokens",
            )),
    );
}

#[test]
fn truncation_and_overshoot_go_to_stderr_with_json() {
    let out = estimate("json")
        .stderr(
            predicate::str::contains("the response is truncated")
                .and(predicate::str::contains("exceeds the reservation by 400")),
        )
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["output_tokens"], 100);
    assert_eq!(v["quota_tokens"], 510);
    assert_eq!(v["reserved_tokens"], 110);
}

#[test]
fn nothing_is_said_when_nothing_is_cut() {
    Command::cargo_bin("quotasim")
        .unwrap()
        .args([
            "estimate",
            "--model",
            "claude-sonnet-4",
            "--input-tokens",
            "10",
            "--output-tokens",
            "750",
            "--format",
            "json",
        ])
        .assert()
        .success()
        .stderr("");
}

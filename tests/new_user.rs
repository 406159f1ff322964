//! Defects a new user found in reports that mislead: each test failed before its fix.

use std::path::Path;

use serde_json::{Value, json};

mod common;

use common::qs;

fn write(dir: &Path, name: &str, v: &Value) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(v).unwrap()).unwrap();
    p
}

/// Two run reports where the current one serves 50% more requests: it costs 40% more in
/// total and per hour, 6.7% less per success, and its p99 moved by 2% (within 5%).
fn more_successes() -> (Value, Value) {
    let base = json!({
        "scenario": "chat", "seed": 1,
        "requests": {"arrived": 200, "succeeded": 100, "failed": 100},
        "throughput": {"requests_per_minute": 10.0},
        "latency_ms": {"e2e": {"p99": 1000.0}},
        "cost": {"usd": 1.0, "usd_per_success": 0.01, "usd_per_hour": 2.0},
    });
    let cur = json!({
        "scenario": "chat", "seed": 1,
        "requests": {"arrived": 200, "succeeded": 150, "failed": 50},
        "throughput": {"requests_per_minute": 10.000_000_1},
        "latency_ms": {"e2e": {"p99": 1020.0}},
        "cost": {"usd": 1.4, "usd_per_success": 0.009_333_333_333_333_333, "usd_per_hour": 2.8},
    });
    (base, cur)
}

#[test]
fn compare_judges_cost_per_success_and_total_cost_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let (b, c) = more_successes();
    let (b, c) = (
        write(dir.path(), "b.json", &b),
        write(dir.path(), "c.json", &c),
    );
    let out = qs().arg("compare").arg(&b).arg(&c).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    let line = |name: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} row in\n{text}"))
            .to_string()
    };
    assert!(line("cost.usd").ends_with("informational"), "{text}");
    assert!(line("cost.usd_per_hour").ends_with("informational"));
    assert!(line("cost.usd_per_success").ends_with("improved"));
    // A gate that wants total cost asks for it.
    let out = qs()
        .arg("compare")
        .arg(&b)
        .arg(&c)
        .arg("--gate-total-cost")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("cost.usd ") && l.ends_with("REGRESSED")),
        "{text}"
    );
}

#[test]
fn compare_changes_shows_every_changed_row_and_no_zero_row() {
    let dir = tempfile::tempdir().unwrap();
    let (b, c) = more_successes();
    let (b, c) = (
        write(dir.path(), "b.json", &b),
        write(dir.path(), "c.json", &c),
    );
    let out = qs()
        .arg("compare")
        .arg(&b)
        .arg(&c)
        .arg("--changes")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = text
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with("tolerance") && !l.starts_with("note"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    // Changed: p99 (+2%, within the tolerance), the three costs, succeeded and failed.
    for m in [
        "latency_ms.e2e.p99",
        "cost.usd_per_success",
        "cost.usd",
        "cost.usd_per_hour",
        "requests.succeeded",
        "requests.failed",
    ] {
        assert!(rows.contains(&m), "{m} missing from\n{text}");
    }
    // Unchanged, or changed by 1e-8 relative (prints the same): not shown.
    for m in ["requests.arrived", "throughput.requests_per_minute", "seed"] {
        assert!(!rows.contains(&m), "{m} shown in\n{text}");
    }
    assert!(
        !text.contains(" 0%") && !text.contains("+0%") && !text.contains("-0%"),
        "{text}"
    );
}

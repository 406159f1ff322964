//! Pins the JSON of scenarios written with the SPEC §3 short-form quota keys
//! (`tokens_per_minute`, `requests_per_minute`, `tokens_per_day`, `limiter`, `reserve`), as
//! the engine produced them before the quota was generalised into `[[quota.limits]]`.
//!
//! The fixtures in `tests/fixtures/short_form/*.json` were captured with the binary of commit
//! 8e3264a (`quotasim run FILE --format json`). Later versions may add keys (after the
//! existing ones, SPEC §7.1), so the check is: every key of the pinned JSON is present with
//! the same value, and the pinned keys come first, in the same order, in every object.

use std::path::Path;

use serde_json::Value;

fn check_prefix(pinned: &Value, now: &Value, path: &str) {
    match (pinned, now) {
        (Value::Object(p), Value::Object(n)) => {
            let now_keys: Vec<&String> = n.keys().collect();
            let pinned_keys: Vec<&String> = p.keys().collect();
            assert!(
                now_keys.len() >= pinned_keys.len()
                    && now_keys[..pinned_keys.len()] == pinned_keys[..],
                "{path}: keys changed: pinned {pinned_keys:?}, now {now_keys:?}"
            );
            for (k, v) in p {
                check_prefix(v, &n[k], &format!("{path}.{k}"));
            }
        }
        (Value::Array(p), Value::Array(n)) => {
            assert_eq!(p.len(), n.len(), "{path}: length changed");
            for (i, (a, b)) in p.iter().zip(n).enumerate() {
                check_prefix(a, b, &format!("{path}[{i}]"));
            }
        }
        // serde_json's default float parser may be off by one ulp, so floats are compared to
        // within 1e-14 relative; integers (every count) must match exactly.
        (Value::Number(p), Value::Number(n)) if p.is_f64() || n.is_f64() => {
            let (a, b) = (
                p.as_f64().unwrap_or(f64::NAN),
                n.as_f64().unwrap_or(f64::NAN),
            );
            assert!(
                (a - b).abs() <= 1e-14 * a.abs().max(b.abs()),
                "{path} changed: pinned {a}, now {b}"
            );
        }
        _ => assert_eq!(pinned, now, "{path} changed"),
    }
}

fn pinned(name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/short_form");
    let scenario = quotasim::Scenario::from_path(&dir.join(format!("{name}.toml")), &[])
        .expect("fixture scenario loads");
    let report = quotasim::simulate(&scenario);
    let now: Value = serde_json::to_value(&report).expect("report serializes");
    let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).expect("fixture JSON");
    let pinned: Value = serde_json::from_str(&text).expect("fixture parses");
    check_prefix(&pinned, &now, name);
}

#[test]
fn fixed_window_with_rpm_and_tpd_auto() {
    pinned("fixed_rpm_tpd");
}

#[test]
fn sliding_window_pessimistic_reserve() {
    pinned("sliding_legacy");
}

#[test]
fn token_bucket_closed_loop_tight_tpd() {
    pinned("bucket_closed_loop");
}

#[test]
fn shipped_chat_scenario() {
    pinned("chat_sonnet4");
}

//! Pins the JSON of scenarios written with the short-form quota keys
//! (`tokens_per_minute`, `requests_per_minute`, `tokens_per_day`, `limiter`, `reserve`), as
//! the engine produced them before the quota was generalised into `[[quota.limits]]`.
//!
//! How the fixtures in `tests/fixtures/short_form/*.json` were made
//! (`quotasim run FILE --format json` each time):
//!
//! - `bucket_closed_loop.json` and `sliding_legacy.json` (closed-loop and constant arrivals)
//!   are the capture made with the binary of commit 8e3264a. The change of exponential
//!   sampler (below) does not touch them: the binaries before and after it print the same
//!   bytes for both scenarios.
//! - `fixed_rpm_tpd.json` and `chat_sonnet4.json` (Poisson arrivals) were re-captured with the
//!   binary of commit b6245e8, which draws exponential gaps by `rand_distr`'s ziggurat `Exp1`
//!   instead of `-ln(1 - U)`: every arrival time moved, and with them the reports.
//!   `tests/sampler_rederive.rs` re-derives their arrival streams without quotasim's arrival
//!   code and checks the captured `requests.arrived` against them. (`fixed_rpm_tpd.json` had
//!   been re-derived once before, in 204e245, when backoff after a 503 changed.)
//!
//! Later versions may add keys (after the existing ones, docs/report.md), so the check is:
//! every key of the pinned JSON is present with the same value, and the pinned keys come
//! first, in the same order, in every object.
//!
//! **Which values are captured and which are derived.** These are regression pins: apart
//! from what is listed below, every value (success, failure and throttle counts, token sums,
//! latencies, the timeline) is what the engine printed at the commits named above, not a
//! number worked out independently. What is derived independently:
//! - `requests.arrived`: by hand for `sliding_legacy` (constant 25/min over 8 min: 200), and
//!   by `tests/sampler_rederive.rs` for the two Poisson fixtures;
//! - the relations every report must satisfy, checked on the pinned files themselves by
//!   [`pinned_counts_agree_with_each_other`] (sent = admitted + throttled, …), and the
//!   token sums of the two fixtures with fixed sizes or no cache (`bucket_closed_loop`,
//!   `sliding_legacy`): input, reservation and quota consumed from the counts, by hand;
//! - `cost`: from the pinned token counts at the published prices, in `tests/cost.rs`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

/// The keys of every object in a JSON text, in document order, by object path (objects
/// inside arrays share their array's path). `serde_json::Value` sorts keys, so the order is
/// read from the text.
fn key_order(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut stack: Vec<String> = vec![];
    let mut last_key = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let mut s = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            s.push(c);
                            if let Some(n) = chars.next() {
                                s.push(n);
                            }
                        }
                        '"' => break,
                        _ => s.push(c),
                    }
                }
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                if chars.peek() == Some(&':') {
                    let parent = stack.join(".");
                    let keys = out.entry(parent).or_default();
                    if !keys.contains(&s) {
                        keys.push(s.clone());
                    }
                    last_key = s;
                }
            }
            '{' | '[' => {
                let parent = stack.last().cloned().unwrap_or_default();
                let name = if last_key.is_empty() {
                    "[]".to_string()
                } else {
                    last_key.clone()
                };
                let _ = parent;
                stack.push(name);
                last_key.clear();
            }
            '}' | ']' => {
                stack.pop();
                last_key.clear();
            }
            ',' => last_key.clear(),
            _ => {}
        }
    }
    out
}

fn check_order(pinned: &str, now: &str, name: &str) {
    let (p, n) = (key_order(pinned), key_order(now));
    for (path, keys) in &p {
        let now_keys = n.get(path).cloned().unwrap_or_default();
        assert!(
            now_keys.len() >= keys.len() && now_keys[..keys.len()] == keys[..],
            "{name} `{path}`: key order changed: pinned {keys:?}, now {now_keys:?}"
        );
    }
}

fn check_prefix(pinned: &Value, now: &Value, path: &str) {
    match (pinned, now) {
        (Value::Object(p), Value::Object(n)) => {
            for k in p.keys() {
                assert!(n.contains_key(k), "{path}: key `{k}` is gone");
            }
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
    let now_text = report.render(quotasim::report::Format::Json, Default::default());
    let now: Value = serde_json::from_str(&now_text).expect("report parses");
    let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).expect("fixture JSON");
    let pinned: Value = serde_json::from_str(&text).expect("fixture parses");
    check_prefix(&pinned, &now, name);
    check_order(&text, &now_text, name);
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

fn fixture(name: &str) -> Value {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/short_form");
    serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap())
        .unwrap()
}

fn int(v: &Value, pointer: &str) -> u64 {
    v.pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{pointer}"))
}

fn sum(v: &Value, pointer: &str) -> u64 {
    v.pointer(pointer)
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("{pointer}"))
        .values()
        .map(|x| x.as_u64().unwrap())
        .sum()
}

/// The pinned files agree with the relations that define their fields (docs/report.md) and,
/// where the scenario fixes the sizes, with token sums worked out by hand. A re-capture made
/// by a broken binary would have to break none of these to pass.
#[test]
fn pinned_counts_agree_with_each_other() {
    for name in [
        "fixed_rpm_tpd",
        "sliding_legacy",
        "bucket_closed_loop",
        "chat_sonnet4",
    ] {
        let r = fixture(name);
        let (admitted, throttled) = (
            int(&r, "/attempts/admitted"),
            int(&r, "/attempts/throttled"),
        );
        assert_eq!(int(&r, "/attempts/sent"), admitted + throttled, "{name}");
        let (succeeded, failed) = (int(&r, "/requests/succeeded"), int(&r, "/requests/failed"));
        assert_eq!(
            int(&r, "/requests/arrived"),
            succeeded + failed + int(&r, "/requests/unfinished"),
            "{name}"
        );
        assert_eq!(sum(&r, "/attempts/throttled_by"), throttled, "{name}");
        if r.pointer("/attempts/per_request").is_some() {
            assert_eq!(
                sum(&r, "/attempts/per_request"),
                succeeded + failed,
                "{name}"
            );
            assert_eq!(sum(&r, "/attempts/throttled_by_limit"), throttled, "{name}");
            assert_eq!(sum(&r, "/requests/failed_by"), failed, "{name}");
        }
    }
    // sliding_legacy: Claude Opus 4 (burndown 1:5), max_tokens 1,500 reserved at 5× (the
    // pessimistic reserve), no 503s, no cache: every admitted attempt succeeded, so
    // reserved = input + 5 × 1,500 × admitted and consumed = input + 5 × output.
    let r = fixture("sliding_legacy");
    assert_eq!(int(&r, "/requests/arrived"), 25 * 8);
    let (input, output) = (int(&r, "/tokens/input"), int(&r, "/tokens/output"));
    assert_eq!(
        int(&r, "/attempts/admitted"),
        int(&r, "/requests/succeeded")
    );
    assert_eq!(
        int(&r, "/tokens/reserved"),
        input + 7_500 * int(&r, "/attempts/admitted")
    );
    assert_eq!(int(&r, "/tokens/quota_consumed"), input + 5 * output);
    // bucket_closed_loop: Claude Haiku 4.5 (1:5), input 800 and max_tokens 1,000 every time:
    // input = 800 × successes, reserved = 1,800 × admitted, consumed = input + 5 × output.
    let r = fixture("bucket_closed_loop");
    let (input, output) = (int(&r, "/tokens/input"), int(&r, "/tokens/output"));
    assert_eq!(input, 800 * int(&r, "/requests/succeeded"));
    assert_eq!(
        int(&r, "/tokens/reserved"),
        1_800 * int(&r, "/attempts/admitted")
    );
    assert_eq!(int(&r, "/tokens/quota_consumed"), input + 5 * output);
}

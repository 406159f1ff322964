//! quotasim's SDK retry policies against the real SDKs' retry loops.
//!
//! `tests/sdk/reference_retries.py` makes one call with each SDK's own client (anthropic
//! 2.17.0, openai 3.63.0, litellm 1.110.2, strands-agents 1.62.0, and botocore 1.44.8 alone
//! for its `x-amz-retry-after` rule), its transport mocked so that attempt k gets answer k of
//! a fixed sequence of 429s, 503s and 200s (some carrying `retry-after` /
//! `x-amz-retry-after`), its clock virtual and its random draws taken in order from a fixed
//! list. It prints the virtual time of every attempt and the outcome.
//!
//! The same sequence goes through quotasim's policy (`RetryState::decide`, what the engine
//! calls after every failed attempt), fed the same draws: a scripted generator whose `f64`
//! is exactly the listed value. Attempt times must agree to the microsecond, and the
//! outcome and the number of draws taken must be the same.
//!
//! The interpreter is `$QUOTASIM_PYTHON`, else `.venv/bin/python` (made by `.ci/run` from
//! `tests/python/requirements.txt`). Without it the tests are ignored (with the reason),
//! except under `CI`, where they run and fail (see tests/common/mod.rs).

use std::convert::Infallible;
use std::path::PathBuf;
use std::process::Command;

use quotasim::client::RetryPolicy;
use quotasim::client::retry::{Failure, RetryState};
use rand::TryRng;
mod common;

use common::python;
use serde_json::{Value, json};

/// Yields the listed values as `f64` draws: rand's `StandardUniform` for `f64` takes the top
/// 53 bits of a `u64` and multiplies by 2^-53, so a value `k / 2^53` comes out exactly.
struct Scripted {
    draws: Vec<f64>,
    used: usize,
}

impl TryRng for Scripted {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        panic!("the policy drew a u32")
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let u = *self
            .draws
            .get(self.used)
            .expect("quotasim drew more numbers than the case provides");
        self.used += 1;
        let k = (u * (1u64 << 53) as f64) as u64;
        assert_eq!(k as f64 / (1u64 << 53) as f64, u, "draws must be k / 2^53");
        Ok(k << 11)
    }
    fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Infallible> {
        panic!("the policy filled bytes")
    }
}

const DRAWS: [f64; 12] = [
    0.25, 0.5, 0.75, 0.125, 0.625, 0.375, 0.875, 0.0625, 0.5, 0.25, 0.75, 0.125,
];

/// One answer: status and the retry hint in whole seconds it carries, if any.
type Answer = (u16, Option<u64>);

struct Case {
    name: &'static str,
    answers: Vec<Answer>,
    /// LiteLLM's `num_retries`.
    num_retries: u32,
}

fn case(name: &'static str, answers: &[Answer]) -> Case {
    Case {
        name,
        answers: answers.to_vec(),
        num_retries: 0,
    }
}

fn to_json(cases: &[Case]) -> String {
    let v: Vec<Value> = cases
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "answers": c.answers.iter().map(|&(status, ra)| json!({"status": status, "retry_after": ra})).collect::<Vec<_>>(),
                "draws": DRAWS,
                "num_retries": c.num_retries,
            })
        })
        .collect();
    serde_json::to_string(&v).expect("json")
}

/// What quotasim's policy does with the case: attempt times (µs), outcome, draws taken.
fn quotasim(policy: &RetryPolicy, max_attempts: u32, c: &Case) -> (Vec<u64>, &'static str, usize) {
    let mut st = RetryState::new(policy.clone(), max_attempts);
    let mut rng = Scripted {
        draws: DRAWS.to_vec(),
        used: 0,
    };
    let (mut t, mut attempt, mut call, mut prev) = (0u64, 1u32, 1u32, 0u64);
    let mut times = Vec::new();
    for &(status, hint) in &c.answers {
        times.push(t);
        if status == 200 {
            return (times, "success", rng.used);
        }
        let failure = if status == 429 {
            Failure::Throttle
        } else {
            Failure::Transient
        };
        // quotasim's hints come with throttles only.
        let hint = if status == 429 { hint } else { None };
        match st.decide(attempt, call, prev, failure, hint, &mut rng) {
            None => return (times, "failed", rng.used),
            Some(d) => {
                t += d.sleep_us;
                if d.new_call {
                    call += 1;
                    attempt = 1;
                    prev = 0;
                } else {
                    attempt += 1;
                    prev = d.sleep_us;
                }
            }
        }
    }
    panic!("case {} ran out of answers in quotasim", c.name);
}

fn compare(
    py: &PathBuf,
    sdk: &str,
    policy: RetryPolicy,
    attempts: impl Fn(&Case) -> u32,
    cases: &[Case],
) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/reference_retries.py");
    let out = Command::new(py)
        .arg(&script)
        .arg(sdk)
        .arg(to_json(cases))
        .output()
        .expect("run the SDK reference");
    assert!(
        out.status.success(),
        "{sdk} reference failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), cases.len(), "{sdk}: one line per case");
    for (c, v) in cases.iter().zip(&lines) {
        assert_eq!(v["case"], c.name);
        let sdk_times: Vec<u64> = v["times"]
            .as_array()
            .expect("times")
            .iter()
            .map(|x| (x.as_f64().expect("a time") * 1e6).round() as u64)
            .collect();
        let (q_times, q_outcome, q_draws) = quotasim(&policy, attempts(c), c);
        eprintln!(
            "{sdk} {}: sdk {:?} {} | quotasim {:?} {}",
            c.name, sdk_times, v["outcome"], q_times, q_outcome
        );
        assert_eq!(v["outcome"], q_outcome, "{sdk} {}: outcome", c.name);
        assert_eq!(sdk_times.len(), q_times.len(), "{sdk} {}: attempts", c.name);
        for (a, b) in sdk_times.iter().zip(&q_times) {
            assert!(
                a.abs_diff(*b) <= 1,
                "{sdk} {}: {sdk_times:?} vs {q_times:?}",
                c.name
            );
        }
        assert_eq!(
            v["draws_used"].as_u64(),
            Some(q_draws as u64),
            "{sdk} {}: random draws taken",
            c.name
        );
    }
}

fn stainless_cases() -> Vec<Case> {
    vec![
        case(
            "throttles-then-success",
            &[(429, None), (429, None), (200, None)],
        ),
        case("503s-exhaust", &[(503, None), (503, None), (503, None)]),
        case(
            "retry-after-7",
            &[(429, Some(7)), (429, Some(7)), (200, None)],
        ),
        case("retry-after-200", &[(429, Some(200)), (200, None)]),
        case("mixed", &[(503, None), (429, Some(3)), (503, None)]),
    ]
}

#[test]
#[cfg_attr(
    not(any(has_venv, ci)),
    ignore = "needs .venv/bin/python with the pinned SDKs (run .ci/run or set QUOTASIM_PYTHON)"
)]
fn anthropic_sdk_2_17_0_agrees() {
    let py = python();
    // Default max_retries = 2: 3 attempts.
    compare(
        &py,
        "anthropic-sdk",
        RetryPolicy::AnthropicSdk,
        |_| 3,
        &stainless_cases(),
    );
}

#[test]
#[cfg_attr(
    not(any(has_venv, ci)),
    ignore = "needs .venv/bin/python with the pinned SDKs (run .ci/run or set QUOTASIM_PYTHON)"
)]
fn openai_sdk_3_63_0_agrees() {
    let py = python();
    compare(
        &py,
        "openai-sdk",
        RetryPolicy::OpenaiSdk,
        |_| 3,
        &stainless_cases(),
    );
}

#[test]
#[cfg_attr(
    not(any(has_venv, ci)),
    ignore = "needs .venv/bin/python with the pinned SDKs (run .ci/run or set QUOTASIM_PYTHON)"
)]
fn litellm_1_110_2_agrees() {
    let py = python();
    let with = |name, answers: &[Answer], n| Case {
        name,
        answers: answers.to_vec(),
        num_retries: n,
    };
    let cases = vec![
        with(
            "two-retries-success",
            &[(429, None), (503, None), (200, None)],
            2,
        ),
        with(
            "two-retries-exhaust",
            &[(429, Some(9)), (503, None), (429, None), (200, None)],
            2,
        ),
        with(
            "four-retries",
            &[
                (429, Some(30)),
                (429, None),
                (429, None),
                (503, None),
                (200, None),
            ],
            4,
        ),
    ];
    // client.max_attempts = 1 + num_retries.
    compare(
        &py,
        "litellm",
        RetryPolicy::Litellm,
        |c| 1 + c.num_retries,
        &cases,
    );
}

#[test]
#[cfg_attr(
    not(any(has_venv, ci)),
    ignore = "needs .venv/bin/python with the pinned SDKs (run .ci/run or set QUOTASIM_PYTHON)"
)]
fn strands_agents_1_62_0_agrees() {
    let py = python();
    let cases = vec![
        case(
            "throttles-then-success",
            &[
                (429, None),
                (429, None),
                (429, None),
                (429, None),
                (200, None),
            ],
        ),
        case(
            "503s-end-the-call",
            &[(503, None), (503, None), (503, None)],
        ),
        case(
            "retry-after-2",
            &[(429, Some(2)), (429, Some(2)), (429, Some(2)), (200, None)],
        ),
        case("all-throttled", &[(429, None); 18]),
    ];
    // botocore's default: 3 attempts per model call.
    compare(&py, "strands", RetryPolicy::Strands, |_| 3, &cases);
}

#[test]
#[cfg_attr(
    not(any(has_venv, ci)),
    ignore = "needs .venv/bin/python with the pinned SDKs (run .ci/run or set QUOTASIM_PYTHON)"
)]
fn botocore_1_44_8_x_amz_retry_after_agrees() {
    let py = python();
    let cases = vec![
        case(
            "hint-7-capped-at-t-plus-5",
            &[(429, Some(7)), (429, Some(1)), (429, None)],
        ),
        case("hint-2", &[(429, Some(2)), (200, None)]),
        case("no-hint", &[(429, None), (503, None), (200, None)]),
    ];
    compare(&py, "botocore", RetryPolicy::AwsStandard, |_| 3, &cases);
}

//! quotasim's aws-standard and aws-adaptive modes against the real botocore 1.44.8 retry
//! handlers.
//!
//! `tests/botocore/reference_sim.py` builds a `bedrock-runtime` client with
//! `Config(retries={'mode': ...})` and drives its own retry handler, retry quota and adaptive
//! rate limiter through botocore's event emitter inside a small discrete-event simulation of
//! the same quota model (one fixed-window tokens-per-minute limit, Poisson arrivals, a
//! concurrency limit, 503s with a fixed probability). Both simulators run the same scenarios
//! over the same number of seeds (different random streams: the comparison is statistical).
//!
//! For each scenario and metric (failure rate, attempts per request, throttle rate) the test
//! compares the means over seeds: `z = (mean_q − mean_b) / √(sd_q²/n + sd_b²/n)` must satisfy
//! `|z| ≤ 3.5` (seed noise). With `n = 8` seeds per side and three metrics in five scenarios,
//! a false alarm at 3.5 σ is very unlikely; a wrong retry cost or backoff base is not subtle
//! (the outage scenario's failure rate moves from about 3% to about 19%).
//!
//! The interpreter is `$QUOTASIM_PYTHON`, else `.venv/bin/python` (made by `.ci/run` from
//! `tests/python/requirements.txt`). Without it the test is ignored (with the reason), except
//! under `CI`, where it runs and fails (see tests/common/mod.rs).

use std::path::PathBuf;
use std::process::Command;

use quotasim::{Scenario, simulate};
use serde_json::{Value, json};

mod common;

use common::python;

const SEEDS: [u64; 8] = [1, 2, 3, 4, 5, 6, 7, 8];
const Z_MAX: f64 = 3.5;

/// One comparison scenario: the parameters both simulators read.
struct Case {
    name: &'static str,
    mode: &'static str,
    rate_per_minute: f64,
    tokens_per_minute: u64,
    error_rate: f64,
    concurrency: u64,
}

const INPUT: u64 = 1000;
const OUTPUT: u64 = 200;
const MAX_TOKENS: u64 = 1000;

impl Case {
    fn retry(&self) -> &'static str {
        match self.mode {
            "standard" => "aws-standard",
            _ => "aws-adaptive",
        }
    }

    fn toml(&self, seed: u64) -> String {
        format!(
            r#"
name = "{name}-{mode}"
seed = {seed}
duration = "10m"
[model]
preset = "other"
input_burndown = 1
output_burndown = 1
max_output_tokens = 4096
[quota]
tokens_per_minute = {tpm}
[service]
ttft = "500ms"
ttft_per_1k_input = "0ms"
output_tokens_per_second = 50
throttle_latency = "100ms"
error_rate = {p}
[client]
concurrency = {c}
max_tokens = {m}
retry = "{retry}"
[arrivals]
process = "poisson"
rate_per_minute = {rate}
[requests.a]
input_tokens = {i}
output_tokens = {o}
"#,
            name = self.name,
            mode = self.mode,
            tpm = self.tokens_per_minute,
            p = self.error_rate,
            c = self.concurrency,
            m = MAX_TOKENS,
            retry = self.retry(),
            rate = self.rate_per_minute,
            i = INPUT,
            o = OUTPUT,
        )
    }

    fn params(&self) -> Value {
        json!({
            "mode": self.mode,
            "seeds": SEEDS,
            "duration": 600.0,
            "rate_per_minute": self.rate_per_minute,
            "tokens_per_minute": self.tokens_per_minute,
            "input_tokens": INPUT,
            "output_tokens": OUTPUT,
            "max_tokens": MAX_TOKENS,
            "output_burndown": 1,
            "ttft": 0.5,
            "output_tokens_per_second": 50.0,
            "throttle_latency": 0.1,
            "error_rate": self.error_rate,
            "concurrency": self.concurrency,
        })
    }
}

/// Per-seed (failure rate, attempts per request, throttle rate).
type Sample = [f64; 3];

fn rates(arrived: f64, failed: f64, sent: f64, throttled: f64) -> Sample {
    [failed / arrived, sent / arrived, throttled / sent.max(1.0)]
}

fn quotasim_samples(case: &Case) -> Vec<Sample> {
    SEEDS
        .iter()
        .map(|&seed| {
            let s = Scenario::from_toml_str(&case.toml(seed), "case.toml").expect("valid case");
            let r = simulate(&s);
            assert_eq!(r.requests.unfinished, 0);
            rates(
                r.requests.arrived as f64,
                r.requests.failed as f64,
                r.attempts.sent as f64,
                r.attempts.throttled as f64,
            )
        })
        .collect()
}

fn botocore_samples(py: &PathBuf, case: &Case) -> Vec<Sample> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/botocore/reference_sim.py");
    let out = Command::new(py)
        .arg(&script)
        .arg(case.params().to_string())
        .output()
        .expect("run the botocore reference");
    assert!(
        out.status.success(),
        "reference failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("one JSON object per line");
            let f = |k: &str| v[k].as_f64().expect("a count");
            rates(f("arrived"), f("failed"), f("sent"), f("throttled"))
        })
        .collect()
}

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, v.sqrt())
}

const METRICS: [&str; 3] = ["failure rate", "attempts per request", "throttle rate"];

/// Compares one case; returns the lines of the summary and whether it agreed.
fn compare(py: &PathBuf, case: &Case) -> (String, bool) {
    let q = quotasim_samples(case);
    let b = botocore_samples(py, case);
    assert_eq!(b.len(), SEEDS.len());
    let mut ok = true;
    let mut text = format!("{} ({}):\n", case.name, case.mode);
    for (k, metric) in METRICS.iter().enumerate() {
        let (mq, sq) = mean_sd(&q.iter().map(|s| s[k]).collect::<Vec<_>>());
        let (mb, sb) = mean_sd(&b.iter().map(|s| s[k]).collect::<Vec<_>>());
        let n = SEEDS.len() as f64;
        let se = (sq * sq / n + sb * sb / n).sqrt();
        let z = if se > 0.0 {
            (mq - mb) / se
        } else if mq == mb {
            0.0
        } else {
            f64::INFINITY
        };
        ok &= z.abs() <= Z_MAX;
        text += &format!(
            "  {metric:>20}: quotasim {mq:.4} ± {sq:.4}, botocore {mb:.4} ± {sb:.4}, z = {z:+.2}\n"
        );
    }
    (text, ok)
}

fn cases() -> Vec<Case> {
    vec![
        // A 30% 503 outage with ample quota: only the 503 retry path and the retry quota.
        Case {
            name: "outage",
            mode: "standard",
            rate_per_minute: 600.0,
            tokens_per_minute: 100_000_000,
            error_rate: 0.3,
            concurrency: 100_000,
        },
        // Reservations offered at 2.4× the limit, and 10% 503s.
        Case {
            name: "heavy-overload-with-faults",
            mode: "standard",
            rate_per_minute: 240.0,
            tokens_per_minute: 200_000,
            error_rate: 0.1,
            concurrency: 64,
        },
        Case {
            name: "heavy-overload-with-faults",
            mode: "adaptive",
            rate_per_minute: 240.0,
            tokens_per_minute: 200_000,
            error_rate: 0.1,
            concurrency: 64,
        },
        // Reservations offered at 1.6× the limit, no faults: the throttle path.
        Case {
            name: "overload",
            mode: "standard",
            rate_per_minute: 120.0,
            tokens_per_minute: 150_000,
            error_rate: 0.0,
            concurrency: 64,
        },
        Case {
            name: "overload",
            mode: "adaptive",
            rate_per_minute: 120.0,
            tokens_per_minute: 150_000,
            error_rate: 0.0,
            concurrency: 64,
        },
    ]
}

#[test]
#[cfg_attr(
    not(any(has_venv, ci)),
    ignore = "needs .venv/bin/python with boto3 (run .ci/run or set QUOTASIM_PYTHON)"
)]
fn retry_modes_agree_with_botocore_1_44_8() {
    let py = python();
    let mut all = true;
    let mut summary = String::new();
    for case in cases() {
        let (text, ok) = compare(&py, &case);
        summary += &text;
        all &= ok;
    }
    eprintln!("{summary}");
    assert!(
        all,
        "quotasim and botocore disagree beyond |z| ≤ {Z_MAX}:\n{summary}"
    );
}

//! Re-derives, without quotasim's arrival code, the arrivals of the two pinned short-form
//! fixtures whose arrival process is Poisson (`tests/fixtures/short_form/chat_sonnet4` and
//! `fixed_rpm_tpd`). Their JSON was re-captured after exponential gaps moved from the inverse
//! CDF `-ln(1 - U)` to `rand_distr`'s ziggurat `Exp1` (CHANGELOG, "Faster exponential gaps");
//! this test is what says the new capture is the new sampler's output and not some other
//! change.
//!
//! The derivation, from the scenario file and the documented streams alone:
//!
//! 1. The generator: `ChaCha8Rng::seed_from_u64(seed)`, then `set_stream(1)`. Stream 1 is the
//!    arrivals' purpose (`engine::rng::Stream::Arrivals`), and a scenario's first (here only)
//!    workload uses the plain stream number (`engine::rng::workload_stream` with k = 0 sets
//!    `(0 << 32) | 1`).
//! 2. The gaps: `g = e × m` with `e` one `Exp1` draw (f64) and `m = 60e6 / rate_per_minute`
//!    the mean gap in µs, computed once (`m` first, then the product: `e × 60e6 / rate` could
//!    round differently). The running time `t` starts at 0.0 and adds each gap in f64, so
//!    rounding never accumulates; the k-th arrival is at `round(t)` µs (half away from zero).
//!    The first arrival is one gap after 0, not at 0.
//! 3. The engine schedules an arrival only if its time is before `duration` (it draws the next
//!    arrival when the previous one is handled, and stops at the first one at or after
//!    `duration`); times never decrease, so the run's arrivals are every `round(t) < duration`.
//! 4. `requests.arrived` counts the arrivals at or after `warmup` (`Metrics::counts`), so it
//!    is the number of derived times in `[warmup, duration)`.
//!
//! Checked for each fixture: the engine's arrival times (seen through the `Observer` hook,
//! warm-up included) equal the derived ones one by one; the count in `[warmup, duration)`
//! equals the fixture's `requests.arrived` and a fresh `simulate`'s. As a check that the
//! derivation tells the two samplers apart, the same steps with the old `-ln(1 - U)`
//! (`U` one `f64` from the same stream) give the counts the fixtures held before the change
//! (1128 and 296, commit 245bd7c), which the ziggurat's do not.

use std::path::{Path, PathBuf};

use quotasim::Scenario;
use quotasim::engine::{Limits, Observer, TraceEvent, simulate_with};
use quotasim::quota::Quota;
use quotasim::workload::{Arrivals, Rate};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp1};
use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/short_form")
}

/// `"30m"`, `"90s"`, `"1h"` in µs: the only forms the two fixtures use.
fn duration_us(text: &str) -> u64 {
    let (n, unit) = text.split_at(text.len() - 1);
    let n: u64 = n.parse().unwrap_or_else(|_| panic!("duration {text:?}"));
    n * match unit {
        "s" => 1_000_000,
        "m" => 60_000_000,
        "h" => 3_600_000_000,
        _ => panic!("duration {text:?}"),
    }
}

/// What the derivation needs, read from the scenario file with a plain TOML parser.
struct Params {
    seed: u64,
    duration_us: u64,
    warmup_us: u64,
    rate_per_minute: f64,
}

fn params(name: &str) -> Params {
    let text = std::fs::read_to_string(dir().join(format!("{name}.toml"))).unwrap();
    let t: toml::Table = text.parse().unwrap();
    let arrivals = t["arrivals"].as_table().unwrap();
    assert_eq!(arrivals["process"].as_str(), Some("poisson"), "{name}");
    let rate = &arrivals["rate_per_minute"];
    Params {
        seed: t["seed"].as_integer().unwrap() as u64,
        duration_us: duration_us(t["duration"].as_str().unwrap()),
        warmup_us: duration_us(t["warmup"].as_str().unwrap()),
        rate_per_minute: rate
            .as_float()
            .or_else(|| rate.as_integer().map(|r| r as f64))
            .unwrap(),
    }
}

/// Steps 1 to 3: every arrival time before `duration`, with `unit` drawing one unit
/// exponential.
fn derived_times(p: &Params, unit: fn(&mut ChaCha8Rng) -> f64) -> Vec<u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
    rng.set_stream(1);
    let mean_gap_us = 60e6 / p.rate_per_minute;
    let mut t = 0.0f64;
    let mut out = Vec::new();
    loop {
        t += unit(&mut rng) * mean_gap_us;
        let at = t.round() as u64;
        if at >= p.duration_us {
            return out;
        }
        out.push(at);
    }
}

fn ziggurat(rng: &mut ChaCha8Rng) -> f64 {
    Exp1.sample(rng)
}

fn inverse_cdf(rng: &mut ChaCha8Rng) -> f64 {
    let u: f64 = rng.random();
    -(1.0 - u).ln()
}

/// Step 4.
fn arrived(p: &Params, times: &[u64]) -> u64 {
    times.iter().filter(|&&t| t >= p.warmup_us).count() as u64
}

#[derive(Default)]
struct SeenArrivals(Vec<(u64, bool)>);

impl Observer for SeenArrivals {
    fn on_event(&mut self, e: &TraceEvent, _quota: &Quota) {
        if let TraceEvent::Arrived { t, counted, .. } = *e {
            self.0.push((t, counted));
        }
    }
}

fn rederive(name: &str, old_arrived: u64) {
    let p = params(name);
    let s = Scenario::from_path(&dir().join(format!("{name}.toml")), &[]).unwrap();
    // The loader reads the file as the plain parser did.
    assert_eq!(
        (s.seed, s.duration_us, s.warmup_us, s.workloads.len()),
        (p.seed, p.duration_us, p.warmup_us, 1),
        "{name}"
    );
    assert_eq!(
        s.workloads[0].arrivals,
        Arrivals::Poisson {
            rate: Rate::fixed(p.rate_per_minute)
        },
        "{name}"
    );

    let times = derived_times(&p, ziggurat);
    let want = arrived(&p, &times);

    let mut seen = SeenArrivals::default();
    let observed = simulate_with(&s, &Limits::unlimited(), Some(&mut seen)).unwrap();
    let engine_times: Vec<u64> = seen.0.iter().map(|&(t, _)| t).collect();
    if let Some(k) =
        (0..engine_times.len().max(times.len())).find(|&k| engine_times.get(k) != times.get(k))
    {
        panic!(
            "{name}: arrival {k} is at {:?} µs in the engine, {:?} µs derived \
             ({} arrivals in the engine, {} derived)",
            engine_times.get(k),
            times.get(k),
            engine_times.len(),
            times.len()
        );
    }
    for &(t, counted) in &seen.0 {
        assert_eq!(counted, t >= p.warmup_us, "{name}: arrival at {t} µs");
    }
    assert_eq!(observed.requests.arrived, want, "{name}: observed run");

    let text = std::fs::read_to_string(dir().join(format!("{name}.json"))).unwrap();
    let fixture: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        fixture["requests"]["arrived"].as_u64(),
        Some(want),
        "{name}: the fixture's requests.arrived is not the derived count"
    );
    assert_eq!(
        quotasim::simulate(&s).requests.arrived,
        want,
        "{name}: a fresh run"
    );

    let old = arrived(&p, &derived_times(&p, inverse_cdf));
    assert_eq!(old, old_arrived, "{name}: the old sampler's count");
    assert_ne!(
        old, want,
        "{name}: the derivation does not tell the samplers apart"
    );
}

#[test]
fn chat_sonnet4_arrivals_rederived() {
    rederive("chat_sonnet4", 1128);
}

#[test]
fn fixed_rpm_tpd_arrivals_rederived() {
    rederive("fixed_rpm_tpd", 296);
}

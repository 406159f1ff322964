//! `calibrate --fit quota.tokens_per_minute=100000..2000000` over a 24-hour trace of 100,000
//! requests (Bedrock invocation-log records, generated here deterministically into a
//! temporary folder): the whole search, from reading the export to the fitted value. The
//! export is the simulation's own at a hidden 300,000 tokens per minute.
//!
//!     cargo bench --bench calibrate
//!
//! Prints the wall-clock and CPU time of one calibration, the simulations it ran and the
//! value it found. (One run, not a statistical benchmark: the search takes seconds.)

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use quotasim::account::calibrate::{FitKey, Options, calibrate};
use quotasim::account::cloudwatch::export;
use quotasim::engine::{Limits, simulate_minutes};

const REQUESTS: u64 = 100_000;
const HIDDEN: u64 = 300_000;

/// A deterministic generator (SplitMix64), so the trace is the same on every machine.
struct Mix(u64);
impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn write_trace(path: &Path) {
    let mut rng = Mix(20260302);
    // Arrival times over the day, heavier in working hours, sorted.
    let mut times: Vec<u64> = (0..REQUESTS)
        .map(|_| {
            let ms = rng.below(86_400_000);
            if rng.below(3) == 0 {
                ms
            } else {
                32_400_000 + ms % 32_400_000 // 09:00–18:00
            }
        })
        .collect();
    times.sort_unstable();
    if let Some(t) = times.first_mut() {
        *t = 0;
    }
    let mut out = String::with_capacity(REQUESTS as usize * 200);
    for t in times {
        let (h, m, s, ms) = (t / 3_600_000, t / 60_000 % 60, t / 1000 % 60, t % 1000);
        let input = 200 + rng.below(4000);
        let output = 50 + rng.below(800);
        let _ = writeln!(
            out,
            r#"{{"timestamp":"2026-03-02T{h:02}:{m:02}:{s:02}.{ms:03}Z","modelId":"us.anthropic.claude-sonnet-4-5-20250929-v1:0","input":{{"inputTokenCount":{input},"inputBodyJson":{{"max_tokens":4096}}}},"output":{{"outputTokenCount":{output}}}}}"#
        );
    }
    std::fs::write(path, out).unwrap();
}

fn cpu_seconds() -> f64 {
    // utime + stime of this process (and its threads), from /proc.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("day.jsonl");
    write_trace(&trace);
    let scenario = dir.path().join("day.toml");
    std::fs::write(
        &scenario,
        "name = \"bench-day\"\nseed = 1\nduration = \"24h\"\nstart = \"2026-03-02T00:00:00Z\"\n\
         [model]\npreset = \"claude-sonnet-4-5\"\n[quota]\ntokens_per_minute = 200000\n\
         [client]\nretry = \"aws-standard\"\n[arrivals]\nprocess = \"trace\"\nfile = \"day.jsonl\"\n",
    )
    .unwrap();
    let hidden = quotasim::Scenario::from_path(
        &scenario,
        &[quotasim::Override::parse(&format!("quota.tokens_per_minute={HIDDEN}")).unwrap()],
    )
    .unwrap();
    let (report, minutes) = simulate_minutes(&hidden, &Limits::unlimited()).unwrap();
    let observed = export(&hidden, &minutes, hidden.start.unwrap_or(0));
    let observed_path = dir.path().join("observed.json");
    println!(
        "trace: {} requests over 24 h; export at {HIDDEN} TPM: {} attempts throttled",
        report.requests.arrived, report.attempts.throttled
    );
    let opts = Options {
        fit: vec![
            "quota.tokens_per_minute=100000..2000000"
                .parse::<FitKey>()
                .unwrap(),
        ],
        limits: Limits::default(),
        ..Options::default()
    };
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let c = calibrate(&scenario, &observed_path, &observed, &opts).unwrap();
    let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
    let fit = c.fit.unwrap();
    println!(
        "calibrate --fit quota.tokens_per_minute=100000..2000000: {wall:.1} s wall, {cpu:.1} s CPU, \
         {} simulations on {} threads; found {} (hidden {HIDDEN}), objective {:.4}",
        fit.simulations,
        rayon::current_num_threads(),
        fit.keys.first().map_or(0, |k| k.1),
        fit.error
    );
}

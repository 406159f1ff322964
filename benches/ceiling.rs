//! The ceiling the engine's speed is compared with: a bare `BinaryHeap` hold loop, and the
//! engine's events per second beside it, measured in the same run.
//!
//! The loop is the classic "hold" model of an event queue: 1,000 events pending; each step
//! pops the earliest and pushes one at its time plus a random gap. An event is 24 bytes
//! (time, sequence number, payload, all `u64`) and ties at one time leave in FIFO order by
//! the sequence number, as the engine's do. Nothing else happens per event, so no
//! discrete-event engine with a binary heap can go faster.
//!
//! Run (release build; scenarios optional, relative to the crate's folder):
//!
//! ```text
//! cargo bench --bench ceiling -- scenarios/chat-sonnet4-200k.toml benches/scenarios/reference.toml
//! ```
//!
//! It prints the ceiling's events per second, then for each scenario the engine's, two
//! ways, each as a share of the ceiling: in process (`quotasim::simulate` alone) and the
//! whole process (`quotasim run FILE --format json` with the bench build's binary, so
//! start-up, parsing and the report included; events are the report's `engine.events`).
//! Each figure is the fastest of `REPEATS` runs, taken in turns (ceiling, scenario, ceiling,
//! …) so that a busy machine slows them alike.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs of each measurement; the fastest counts.
const REPEATS: usize = 7;
/// Events pending in the hold loop.
const PENDING: u64 = 1_000;
/// Events the ceiling's loop handles per run.
const EVENTS: u64 = 10_000_000;
/// Mean gap between an event and the one it schedules, µs (its gaps are uniform in
/// [0, 2 × mean)).
const MEAN_GAP_US: u64 = 1_000_000;

/// A queue entry: ordered by time, then by sequence number (FIFO among equal times).
#[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
struct Event {
    time: u64,
    seq: u64,
    payload: u64,
}

const _: () = assert!(std::mem::size_of::<Event>() == 24);

/// The hold loop: `events` pops, each followed by one push. Returns the last time popped.
fn hold_loop(events: u64) -> u64 {
    let mut heap = BinaryHeap::with_capacity(PENDING as usize + 1);
    let mut seq = 0u64;
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut gap = || {
        // xorshift64: a cheap pseudo-random gap.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % (2 * MEAN_GAP_US)
    };
    for i in 0..PENDING {
        heap.push(Reverse(Event {
            time: gap(),
            seq,
            payload: i,
        }));
        seq += 1;
    }
    let mut now = 0;
    for _ in 0..events {
        let Some(Reverse(e)) = heap.pop() else { break };
        now = e.time;
        heap.push(Reverse(Event {
            time: now + gap(),
            seq,
            payload: black_box(e.payload),
        }));
        seq += 1;
    }
    now
}

fn time<T>(f: impl FnOnce() -> T) -> Duration {
    let t = Instant::now();
    black_box(f());
    t.elapsed()
}

fn per_second(events: u64, d: Duration) -> f64 {
    events as f64 / d.as_secs_f64()
}

fn millions(x: f64) -> String {
    format!("{:.1} M events/s", x / 1e6)
}

/// One scenario: its events, and the fastest in-process and whole-process times so far.
struct Measured {
    file: PathBuf,
    scenario: quotasim::Scenario,
    events: u64,
    in_process: Duration,
    whole: Duration,
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let binary = env!("CARGO_BIN_EXE_quotasim");
    // `cargo bench` passes `--bench`; everything else names a scenario.
    let mut scenarios: Vec<Measured> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(|a| {
            let file = root.join(&a);
            let scenario =
                quotasim::Scenario::from_path(&file, &[]).unwrap_or_else(|e| panic!("{a}: {e}"));
            let events = quotasim::simulate(&scenario).engine.events;
            Measured {
                file,
                scenario,
                events,
                in_process: Duration::MAX,
                whole: Duration::MAX,
            }
        })
        .collect();
    let mut ceiling = Duration::MAX;
    for _ in 0..REPEATS {
        ceiling = ceiling.min(time(|| hold_loop(EVENTS)));
        for m in &mut scenarios {
            m.in_process = m
                .in_process
                .min(time(|| quotasim::simulate(black_box(&m.scenario))));
            let whole = time(|| {
                let status = Command::new(binary)
                    .arg("run")
                    .arg(&m.file)
                    .args(["--format", "json"])
                    .stdout(Stdio::null())
                    .status()
                    .expect("runs quotasim");
                assert!(status.success(), "quotasim run {}", m.file.display());
            });
            m.whole = m.whole.min(whole);
        }
    }
    let c = per_second(EVENTS, ceiling);
    println!(
        "ceiling: BinaryHeap hold loop, 24-byte events, FIFO ties, {PENDING} pending: \
         {EVENTS} events in {:.3} s, {} (fastest of {REPEATS})",
        ceiling.as_secs_f64(),
        millions(c)
    );
    for m in &scenarios {
        let (a, b) = (
            per_second(m.events, m.in_process),
            per_second(m.events, m.whole),
        );
        println!(
            "{}: {} events; in process {:.2} ms, {} = {:.0}% of the ceiling; whole process \
             {:.2} ms, {} = {:.0}% (fastest of {REPEATS})",
            m.file.strip_prefix(root).unwrap_or(&m.file).display(),
            m.events,
            m.in_process.as_secs_f64() * 1e3,
            millions(a),
            100.0 * a / c,
            m.whole.as_secs_f64() * 1e3,
            millions(b),
            100.0 * b / c,
        );
    }
}

//! How much work one run may do ([`Limits`]) and why the engine stopped a run early
//! ([`StopReason`], [`Stopped`]). The engine enforces these limits while it runs;
//! [`crate::guard`] estimates a run against them before it starts.

use crate::error::{Diagnostic, Error};
use crate::report::{MinuteRow, Report};
use crate::scenario::Scenario;
use crate::scenario::duration::format_duration;

/// Default `--max-events`: about a minute of simulation on one core of a laptop
/// (the engine handles about 15 million events per second in a release build).
pub const DEFAULT_MAX_EVENTS: u64 = 500_000_000;
/// Default `--max-memory-mb`.
pub const DEFAULT_MAX_MEMORY_MB: u64 = 1024;
/// Bytes one row of the per-minute timeline costs, doubled for `Vec` growth.
pub const BYTES_PER_TIMELINE_ROW: u64 = 2 * std::mem::size_of::<MinuteRow>() as u64;

/// Whether a run may draw its arrivals ahead on a second thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DrawAhead {
    /// When it pays: two cores or more, not inside a rayon worker, a long run (see
    /// `docs/guide/performance.md`).
    #[default]
    Auto,
    /// Never: everything on the calling thread.
    Never,
    /// For every workload that can (any but a trace), however short the run: for tests that
    /// compare both ways.
    Always,
}

/// How much work a run may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Events the engine may process.
    pub max_events: u64,
    /// Bytes the run's state (timeline, live requests, sliding windows) may take.
    pub max_memory_bytes: u64,
    /// Whether the run may draw its arrivals ahead on a second thread (the report is the
    /// same either way; see [`DrawAhead`]).
    pub draw_ahead: DrawAhead,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_events: DEFAULT_MAX_EVENTS,
            max_memory_bytes: DEFAULT_MAX_MEMORY_MB << 20,
            draw_ahead: DrawAhead::Auto,
        }
    }
}

impl Limits {
    /// No limit at all (what [`crate::simulate`] uses).
    pub fn unlimited() -> Self {
        Limits {
            max_events: u64::MAX,
            max_memory_bytes: u64::MAX,
            draw_ahead: DrawAhead::Auto,
        }
    }

    /// Limits from the command-line values (`--max-events`, `--max-memory-mb`).
    pub fn new(max_events: u64, max_memory_mb: u64) -> Self {
        Limits {
            max_events,
            max_memory_bytes: max_memory_mb.saturating_mul(1 << 20),
            draw_ahead: DrawAhead::Auto,
        }
    }
}

/// Why the engine stopped a run early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// A replayed trace could not be read during the run (it changed after loading).
    TraceFailed(Box<Diagnostic>),
    /// The run processed this many events, the limit.
    Events(u64),
    /// An event was scheduled at this time (µs), beyond what the timeline may hold.
    Horizon(u64),
    /// This many requests were live (waiting or in flight) at once.
    LiveRequests(u64),
    /// `client.pacing` held a request until this time (µs), beyond what the timeline may hold.
    PacedBeyond(u64),
    /// This many requests were live at once, most of them (the second number) held by
    /// `client.pacing`.
    PacingHeld(u64, u64),
}

/// A run the engine stopped early, with the report of what it simulated until then.
#[derive(Debug, Clone)]
pub struct Stopped {
    /// Why it stopped.
    pub reason: StopReason,
    /// The simulated time it stopped at, µs.
    pub at_us: u64,
    /// What was simulated so far.
    pub report: Box<Report>,
}

/// The error for a run the engine stopped at `limits`.
pub fn stopped_error(s: &Scenario, file: &str, limits: &Limits, stopped: &Stopped) -> Error {
    let at = approx(stopped.at_us as f64);
    match &stopped.reason {
        StopReason::TraceFailed(d) => Error::Runtime(format!(
            "{d}\n  (the trace changed after the scenario was loaded; replay stopped there)"
        )),
        StopReason::Events(n) => refuse(
            file,
            "duration",
            format!(
                "stopped after {} events at simulated time {at} (of {}): the run needs more than \
                 --max-events {}",
                human(*n),
                format_duration(s.duration_us),
                human(limits.max_events)
            ),
            "shorten duration or lower the arrival rate, or raise --max-events if you are \
             prepared to wait"
                .into(),
        ),
        &StopReason::Horizon(t) => refuse(
            file,
            "client.retry",
            format!(
                "stopped at simulated time {at}: a request is still being served or retried at \
                 {}, and the per-minute timeline up to then would need more than \
                 --max-memory-mb {}",
                approx(t as f64),
                limits.max_memory_bytes >> 20
            ),
            "lower client.max_attempts or cap the retry backoff, check for unservable classes \
             with `quotasim check`, or raise --max-memory-mb"
                .into(),
        ),
        &StopReason::PacedBeyond(t) => refuse(
            file,
            "client.pacing",
            format!(
                "stopped at simulated time {at}: client.pacing holds a request until {}, and \
                 the per-minute timeline up to then would need more than --max-memory-mb {}",
                approx(t as f64),
                limits.max_memory_bytes >> 20
            ),
            "raise client.pacing's tokens_per_minute or requests_per_minute (a request \
             larger than its bucket waits for a full bucket), or raise --max-memory-mb"
                .into(),
        ),
        &StopReason::PacingHeld(n, held) => refuse(
            file,
            "client.pacing",
            format!(
                "stopped at simulated time {at}: {} requests were waiting or in flight at once, \
                 {} of them held by client.pacing (it lets fewer through than arrive), more \
                 than --max-memory-mb {} can hold",
                human(n),
                human(held),
                limits.max_memory_bytes >> 20
            ),
            "raise client.pacing's tokens_per_minute or requests_per_minute to at least the \
             arrival rate, lower the arrival rate or duration, or raise --max-memory-mb"
                .into(),
        ),
        StopReason::LiveRequests(n) => refuse(
            file,
            "client.concurrency",
            format!(
                "stopped at simulated time {at}: {} requests were waiting or in flight at once \
                 (the client cannot keep up with the arrivals), more than --max-memory-mb {} \
                 can hold",
                human(*n),
                limits.max_memory_bytes >> 20
            ),
            "raise client.concurrency or the quota, lower the arrival rate or duration, or \
             raise --max-memory-mb"
                .into(),
        ),
    }
}

pub(crate) fn refuse(file: &str, path: &str, message: String, help: String) -> Error {
    Diagnostic::new(file, message)
        .at_path(path)
        .with_help(help)
        .into()
}

pub(crate) fn mb(bytes: u64) -> String {
    format!("{} MB", bytes.div_ceil(1 << 20))
}

/// A simulated time in µs, approximately, in the largest fitting unit: `"3.9h"`.
pub(crate) fn approx(us: f64) -> String {
    const UNITS: [(&str, f64); 6] = [
        ("years", 365.0 * 86_400e6),
        ("d", 86_400e6),
        ("h", 3_600e6),
        ("m", 60e6),
        ("s", 1e6),
        ("ms", 1e3),
    ];
    if !us.is_finite() || us >= u64::MAX as f64 {
        return "more than 584,000 years".into();
    }
    for (unit, per) in UNITS {
        if us >= per {
            let v = us / per;
            return if v >= 1000.0 {
                format!("{} {unit}", human(v as u64))
            } else {
                format!("{:.1}{}{unit}", v, if unit == "years" { " " } else { "" })
            };
        }
    }
    format!("{}us", us.round())
}

pub(crate) fn human(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(human(0), "0");
        assert_eq!(human(999), "999");
        assert_eq!(human(1000), "1,000");
        assert_eq!(human(1_234_567), "1,234,567");
    }

    #[test]
    fn approximate_times() {
        assert_eq!(approx(13_885_546_601.0), "3.9h");
        assert_eq!(approx(90e6), "1.5m");
        assert_eq!(approx(400.0), "400us");
        assert_eq!(approx(3.0 * 365.0 * 86_400e6), "3.0 years");
        assert_eq!(approx(f64::MAX), "more than 584,000 years");
    }
}

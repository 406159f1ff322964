//! Trace replay as an arrival process: each record arrives at its own time (relative to
//! the first record, scaled by `time_scale`), with its own token counts. The trace is
//! streamed: one record is read ahead, so memory does not depend on its length.

use std::path::PathBuf;

use rand::Rng;
use serde::{Serialize, Serializer};

use super::classes::{RequestClass, Sizes};
use crate::Diagnostic;
use crate::trace::{ClassMode, TraceFormat, TraceInfo, TraceReader, TraceRecord};

/// How many times a trace plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// This many times back to back.
    Times(u64),
    /// Until the scenario's `duration` ends.
    Forever,
}

impl Serialize for Repeat {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Repeat::Times(n) => s.serialize_u64(*n),
            Repeat::Forever => s.serialize_bool(true),
        }
    }
}

/// `process = "trace"`, resolved and validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceArrivals {
    /// The trace file (relative paths were resolved against the scenario's directory).
    pub file: String,
    /// Its format.
    pub format: TraceFormat,
    /// Trace time is multiplied by this (0.5 replays twice as fast).
    pub time_scale: f64,
    /// How many times the trace plays.
    pub repeat: Repeat,
    /// The file to open.
    #[serde(skip)]
    pub path: PathBuf,
    /// What loading the scenario found in the trace.
    #[serde(skip)]
    pub info: TraceInfo,
    /// How records name classes.
    #[serde(skip)]
    pub classes: ClassMode,
    /// One play of the trace, in scaled µs: its span plus one mean gap, so repeats keep the
    /// trace's rate.
    #[serde(skip)]
    pub period_us: u64,
    /// Records whose reservation exceeds a limit's whole capacity.
    #[serde(skip)]
    pub unservable: u64,
}

impl TraceArrivals {
    /// Trace time `dt` µs after the first record, scaled, in µs.
    #[inline]
    pub fn scaled(&self, dt: i64) -> u64 {
        scale(dt, self.time_scale)
    }
}

#[inline]
fn scale(dt: i64, time_scale: f64) -> u64 {
    let dt = dt.max(0);
    if time_scale == 1.0 {
        dt as u64
    } else {
        let x = (dt as f64 * time_scale).round();
        if x < u64::MAX as f64 {
            x as u64
        } else {
            u64::MAX
        }
    }
}

/// The replay state of a trace during a run.
#[derive(Debug)]
pub struct TraceReplay {
    reader: Option<TraceReader>,
    first_us: i64,
    time_scale: f64,
    period_us: u64,
    offset_us: u64,
    plays_left: Option<u64>,
    read_this_play: bool,
    scheduled: Option<TraceRecord>,
    error: Option<Box<Diagnostic>>,
}

impl TraceReplay {
    /// Opens the trace (an error is kept and reported by [`TraceReplay::error`]).
    pub fn new(t: &TraceArrivals) -> Self {
        let (reader, error) = match TraceReader::open(&t.path, t.format, t.classes.clone()) {
            Ok(r) => (Some(r), None),
            Err(d) => (None, Some(d)),
        };
        TraceReplay {
            reader,
            first_us: t.info.first_us,
            time_scale: t.time_scale,
            period_us: t.period_us,
            offset_us: 0,
            plays_left: match t.repeat {
                Repeat::Times(n) => Some(n.saturating_sub(1)),
                Repeat::Forever => None,
            },
            read_this_play: false,
            scheduled: None,
            error,
        }
    }

    /// The time of the next record, reading it ahead.
    pub fn next_time(&mut self) -> Option<u64> {
        loop {
            let reader = self.reader.as_mut()?;
            match reader.next_record() {
                Ok(Some(rec)) => {
                    self.read_this_play = true;
                    self.scheduled = Some(rec);
                    let dt = rec.time_us.saturating_sub(self.first_us);
                    return Some(self.offset_us.saturating_add(scale(dt, self.time_scale)));
                }
                Ok(None) => {
                    let more = match &mut self.plays_left {
                        Some(0) => false,
                        Some(n) => {
                            *n -= 1;
                            true
                        }
                        None => true,
                    };
                    if !more || !self.read_this_play || self.period_us == 0 {
                        self.reader = None;
                        return None;
                    }
                    self.read_this_play = false;
                    self.offset_us = self.offset_us.saturating_add(self.period_us);
                    if let Err(d) = reader.rewind() {
                        self.error = Some(d);
                        self.reader = None;
                        return None;
                    }
                }
                Err(d) => {
                    self.error = Some(d);
                    self.reader = None;
                    return None;
                }
            }
        }
    }

    /// The record of the arrival scheduled last.
    pub fn take_record(&mut self) -> Option<TraceRecord> {
        self.scheduled.take()
    }

    /// A read error met during the replay.
    pub fn error(&self) -> Option<&Diagnostic> {
        self.error.as_deref()
    }
}

/// Token sizes of a trace record: counts from the record; `max_tokens` from the record,
/// else its class, else `client.max_tokens`; cache counts from the record, else drawn from
/// its class's distributions, else 0.
#[inline]
pub fn record_sizes<R: Rng + ?Sized>(
    rec: &TraceRecord,
    classes: &[RequestClass],
    client_max_tokens: u64,
    rng: &mut R,
) -> Sizes {
    let class = record_class(rec, classes);
    let max_tokens = super::max_tokens(rec.max_tokens, class, client_max_tokens);
    let cache_write = match (rec.cache_write, class) {
        (Some(n), _) => n,
        (None, Some(c)) => c.cache_write_tokens.sample(rng),
        (None, None) => 0,
    };
    let cache_read = match (rec.cache_read, class) {
        (Some(n), _) => n,
        (None, Some(c)) => c.cache_read_tokens.sample(rng),
        (None, None) => 0,
    };
    Sizes {
        input: rec.input,
        output: rec.output,
        cache_write,
        cache_read,
        max_tokens,
        max_tokens_set: rec.max_tokens.is_some() || class.is_some_and(|c| c.max_tokens_set),
    }
}

/// The class a record names through its `class` column, if any.
#[inline]
pub fn record_class<'c>(
    rec: &TraceRecord,
    classes: &'c [RequestClass],
) -> Option<&'c RequestClass> {
    rec.class
        .and_then(|i| classes.get(usize::try_from(i).ok()?))
}

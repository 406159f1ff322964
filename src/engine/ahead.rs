//! Drawing ahead: a workload's request classes and token sizes, and an open-loop workload's
//! arrival times, drawn on a second thread while the event loop runs.
//!
//! Those draws come from the workload's own random streams (arrivals, classes, tokens) and
//! nothing that happens in the run feeds back into them: the *n*-th request's class and
//! sizes, and the *n*-th arrival time of a constant, Poisson or gamma process, are the same
//! whatever the quota did to the requests before it. So a helper thread can draw them, in
//! the same order from the same streams with the same code ([`draw_sizes`]), and hand them
//! over in chunks; the event loop then only reads them. The report is identical either way
//! (a test runs random scenarios both ways and compares). A closed loop's users and an
//! on-off process send when the run says so (after an outcome, at a state change that counts
//! as an event): there only the classes and sizes are drawn ahead. A trace's sizes come from
//! its records: nothing is.
//!
//! It pays when a run is long and a core is free: about a quarter of a single-threaded run
//! is spent drawing. [`DrawAhead::Auto`] uses it only then: at least two cores available,
//! not inside a rayon worker (a sweep, `plan` or `calibrate` already keeps every core busy
//! with whole runs), and at least [`MIN_ARRIVALS`] arrivals expected. Chunks are recycled,
//! so memory and allocations stay bounded whatever the simulated duration.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::Scope;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::scenario::{Scenario, Workload};
use crate::workload::{ArrivalProcess, Arrivals, ClassPicker, Sizes};

use super::Sim;
use super::limits::{DrawAhead, Limits};

/// Arrivals a workload must expect before [`DrawAhead::Auto`] starts a thread for it.
/// Starting one costs tens of microseconds; a run of 6,000 arrivals measured 3.5% faster
/// with it (whole process), one of 1,800 no faster.
pub const MIN_ARRIVALS: f64 = 5_000.0;

/// Arrivals per chunk handed over.
const CHUNK: usize = 1024;
/// Chunks drawn but not yet read, per workload.
const IN_FLIGHT: usize = 3;

/// One request, drawn: its arrival time (0 when only sizes are drawn ahead), its class's
/// `stream` flag (`None` without a class) and its sizes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Drawn {
    pub(super) t: u64,
    pub(super) stream: Option<bool>,
    pub(super) sizes: Sizes,
}

/// A class picked by weight and its sizes drawn, as every arrival without a trace record
/// is sized (on the event loop's thread or ahead of it): the class's `stream` flag, if
/// there is a class, and the sizes.
#[inline(always)]
pub(super) fn draw_sizes<R: Rng + ?Sized>(
    s: &Workload,
    picker: &ClassPicker,
    rng_classes: &mut R,
    rng_tokens: &mut R,
) -> (Option<bool>, Sizes) {
    let i = picker.pick(rng_classes);
    match s.requests.get(i) {
        Some(class) => (Some(class.stream), class.sample(rng_tokens)),
        None => (
            None,
            Sizes {
                input: 0,
                output: 0,
                cache_write: 0,
                cache_read: 0,
                max_tokens: s.client.max_tokens,
                max_tokens_set: s.client.max_tokens_set,
            },
        ),
    }
}

/// The event loop's end of one workload's hand-over.
pub(super) struct Ahead {
    /// Whether the arrival times are drawn ahead too (else only classes and sizes).
    pub(super) times: bool,
    chunks: Receiver<Vec<Drawn>>,
    /// Read chunks go back to the helper to be filled again.
    spent: SyncSender<Vec<Drawn>>,
    chunk: Vec<Drawn>,
    next: usize,
    /// The arrival scheduled last: due when its event pops.
    pub(super) due: Option<Drawn>,
}

impl Ahead {
    /// The next request drawn: with times, the next arrival before the end of the run, if
    /// any; without, the next request's class and sizes (there is always one).
    #[inline]
    pub(super) fn next(&mut self) -> Option<Drawn> {
        if let Some(&d) = self.chunk.get(self.next) {
            self.next += 1;
            return Some(d);
        }
        self.refill()
    }

    #[cold]
    fn refill(&mut self) -> Option<Drawn> {
        let spent = std::mem::take(&mut self.chunk);
        if spent.capacity() > 0 {
            // The helper may have stopped (it drew the last arrival): then the chunk is freed.
            let _ = self.spent.try_send(spent);
        }
        // An empty chunk, or none (the helper ended), is the end of the arrivals.
        self.chunk = self.chunks.recv().ok()?;
        self.next = 1;
        self.chunk.first().copied()
    }
}

/// Whether the run should draw ahead at all, under `mode`.
fn worth_it(mode: DrawAhead) -> bool {
    match mode {
        DrawAhead::Never => false,
        DrawAhead::Always => true,
        DrawAhead::Auto => {
            rayon::current_thread_index().is_none()
                && std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
        }
    }
}

/// What can be drawn ahead for workload `w`: `Some(true)` its arrival times, classes and
/// sizes (a constant, Poisson or gamma process), `Some(false)` its classes and sizes only
/// (closed loop, on-off), `None` nothing (a trace, or under [`DrawAhead::Auto`] fewer than
/// [`MIN_ARRIVALS`] arrivals expected).
fn eligible(w: &Workload, duration_us: u64, mode: DrawAhead) -> Option<bool> {
    let minutes = duration_us as f64 / 60e6;
    let (times, expected) = match w.arrivals {
        Arrivals::Constant { .. } | Arrivals::Poisson { .. } | Arrivals::Gamma { .. } => (
            true,
            // A rate schedule's mean is not known here: long runs are the rule there.
            w.arrivals
                .expected_rate_and_cv()
                .map_or(f64::INFINITY, |(rate, _)| rate * minutes),
        ),
        Arrivals::OnOff { .. } => (
            false,
            w.arrivals
                .expected_rate_and_cv()
                .map_or(f64::INFINITY, |(rate, _)| rate * minutes),
        ),
        // At most one request per user per think time (fewer: each waits for its outcome).
        Arrivals::ClosedLoop {
            clients,
            think_time_us,
        } => (
            false,
            clients as f64 * duration_us as f64 / think_time_us.max(1) as f64,
        ),
        Arrivals::Trace(_) => return None,
    };
    (mode == DrawAhead::Always || expected >= MIN_ARRIVALS).then_some(times)
}

/// How many of `s`'s workloads a run under `limits` draws ahead, on a helper thread each.
pub fn workloads_drawn_ahead(s: &Scenario, limits: &Limits) -> usize {
    if !worth_it(limits.draw_ahead) {
        return 0;
    }
    let mode = limits.draw_ahead;
    s.workloads
        .iter()
        .filter(|w| eligible(w, s.duration_us, mode).is_some())
        .count()
}

/// The helper's end: what it draws from, and where the chunks go.
struct Helper<'a> {
    s: &'a Workload,
    times: bool,
    duration_us: u64,
    process: ArrivalProcess,
    rng_arrivals: ChaCha8Rng,
    rng_classes: ChaCha8Rng,
    rng_tokens: ChaCha8Rng,
    picker: ClassPicker,
    chunks: SyncSender<Vec<Drawn>>,
    spent: Receiver<Vec<Drawn>>,
}

impl Helper<'_> {
    /// Draws chunk after chunk until the arrivals end or the event loop stops reading.
    fn run(mut self) {
        loop {
            let mut chunk = self.spent.try_recv().unwrap_or_default();
            chunk.clear();
            chunk.reserve_exact(CHUNK);
            let mut end = false;
            while chunk.len() < CHUNK {
                let next = if self.times {
                    self.process.next(&mut self.rng_arrivals)
                } else {
                    // Sizes only: as many as the run asks for.
                    Some(0)
                };
                match next {
                    Some(t) if !self.times || t < self.duration_us => {
                        let (stream, sizes) = draw_sizes(
                            self.s,
                            &self.picker,
                            &mut self.rng_classes,
                            &mut self.rng_tokens,
                        );
                        chunk.push(Drawn { t, stream, sizes });
                    }
                    _ => {
                        end = true;
                        break;
                    }
                }
            }
            let last = chunk.is_empty();
            // The event loop has stopped reading (the run ended early): so do we.
            if self.chunks.send(chunk).is_err() || last {
                return;
            }
            if end {
                let _ = self.chunks.send(Vec::new());
                return;
            }
        }
    }
}

impl<'a> Sim<'a> {
    /// Starts a helper thread in `scope` for each workload whose draws it can make ahead,
    /// handing it that workload's random streams (and, with times, its arrival process).
    /// A thread the system refuses leaves that workload drawing on this one.
    pub(super) fn start_drawing_ahead<'scope>(
        &mut self,
        scope: &'scope Scope<'scope, '_>,
        mode: DrawAhead,
    ) where
        'a: 'scope,
    {
        if !worth_it(mode) {
            return;
        }
        let duration_us = self.s.duration_us;
        for wl in &mut self.wls {
            let Some(times) = eligible(wl.s, duration_us, mode) else {
                continue;
            };
            // The thread first, the streams after: if it cannot be started, nothing moved.
            let (hand, handed) = sync_channel::<Helper<'a>>(1);
            let started = std::thread::Builder::new()
                .name("quotasim-draw-ahead".into())
                .spawn_scoped(scope, move || {
                    if let Ok(helper) = handed.recv() {
                        helper.run();
                    }
                });
            if started.is_err() {
                continue;
            }
            let (tx, chunks) = sync_channel::<Vec<Drawn>>(IN_FLIGHT);
            let (spent, back) = sync_channel::<Vec<Drawn>>(IN_FLIGHT + 1);
            // Taken, not copied: what is left here is another stream, so that a draw made
            // here by mistake changes the report (and the tests comparing both ways fail).
            let take = |r: &mut ChaCha8Rng| std::mem::replace(r, ChaCha8Rng::from_seed([7; 32]));
            let helper = Helper {
                s: wl.s,
                times,
                duration_us,
                // With times, the helper takes the arrival process over; without, it stays.
                process: if times {
                    std::mem::replace(&mut wl.arrivals, ArrivalProcess::Closed)
                } else {
                    ArrivalProcess::Closed
                },
                rng_arrivals: if times {
                    take(&mut wl.rng_arrivals)
                } else {
                    wl.rng_arrivals.clone()
                },
                rng_classes: take(&mut wl.rng_classes),
                rng_tokens: take(&mut wl.rng_tokens),
                picker: wl.picker.clone(),
                chunks: tx,
                spent: back,
            };
            // The thread is waiting for it: a one-slot channel, so this cannot block. Should
            // the thread be gone, the streams come back here.
            if let Err(std::sync::mpsc::SendError(h)) = hand.send(helper) {
                if times {
                    wl.arrivals = h.process;
                    wl.rng_arrivals = h.rng_arrivals;
                }
                wl.rng_classes = h.rng_classes;
                wl.rng_tokens = h.rng_tokens;
                continue;
            }
            wl.ahead = Some(Box::new(Ahead {
                times,
                chunks,
                spent,
                chunk: Vec::new(),
                next: 0,
                due: None,
            }));
        }
    }

    /// Lets the helpers go: a helper blocked handing over a chunk sees the event loop gone.
    pub(super) fn stop_drawing_ahead(&mut self) {
        for wl in &mut self.wls {
            wl.ahead = None;
        }
    }
}

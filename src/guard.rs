//! Guard rails: estimate a run's work before starting it, refuse what cannot finish in a
//! few minutes or within about 1 GB or could never produce a result (a closed loop that would
//! spin at one instant forever), and explain up front a scenario in which every request is
//! unservable ([`check_servable`]; `run` counts such requests in `requests.unservable`, so
//! it is a warning, not a refusal).
//!
//! The estimate is checked before the run ([`check`]); the engine also enforces the same
//! [`Limits`] while it runs ([`crate::engine::simulate_with`]), as a backstop for what no
//! estimate can foresee (say, a queue that grows because the client cannot keep up).
//! Both refusals are invalid input (exit status 2) and say how to proceed.

use crate::client::{Jitter, RetryPolicy};
pub use crate::engine::limits::{
    BYTES_PER_TIMELINE_ROW, DEFAULT_MAX_EVENTS, DEFAULT_MAX_MEMORY_MB, Limits, StopReason, Stopped,
    stopped_error,
};
use crate::engine::limits::{approx, human, mb, refuse};
use crate::error::Error;
use crate::quota::{Footprint, LimitSpec, LimiterKind, MINUTE_US, Quota};
use crate::report::Report;
use crate::scenario::Scenario;
use crate::scenario::duration::format_duration;
use crate::workload::Arrivals;
use crate::workload::arrivals::Rate;
use crate::workload::trace::Repeat;

/// Bytes one live charge of a sliding window costs (time and amount), doubled for growth.
const BYTES_PER_SLIDING_CHARGE: u64 = 2 * 16;

/// The size of a run, estimated before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkEstimate {
    /// Requests expected (an upper bound for a closed loop).
    pub requests: u64,
    /// Events the run needs at least: each request's arrival and the end of its first attempt.
    pub min_events: u64,
    /// Rows of the per-minute timeline, at least.
    pub timeline_rows: u64,
    /// Bytes of state the run needs at least.
    pub min_memory_bytes: u64,
    /// State changes of an on-off arrival process expected over the run (0 for other
    /// processes); counted in `min_events`, since each costs the engine as much as an event.
    pub flips: u64,
}

/// Classes that can be chosen (weight > 0).
fn weighted(s: &Scenario) -> impl Iterator<Item = &crate::workload::RequestClass> {
    s.requests.iter().filter(|c| c.weight > 0.0)
}

/// The limit that refuses even the smallest request of class `c`, if any.
fn always_refused_by<'s>(
    s: &'s Scenario,
    c: &crate::workload::RequestClass,
) -> Option<&'s LimitSpec> {
    let reads = c.cache_read_tokens.min_value();
    let fp = Footprint {
        prompt: c
            .input_tokens
            .min_value()
            .saturating_add(c.cache_write_tokens.min_value()),
        cache_read: reads,
        held_reads: if s.quota.reserve_cache_reads {
            reads
        } else {
            0
        },
        max_tokens: c.max_tokens,
        output: 0,
    };
    s.quota.limits.iter().find(|l| {
        !Quota::from_limits(
            std::slice::from_ref(*l),
            s.model.burndown(),
            s.quota.reserve,
            s.quota.settle,
        )
        .servable(&fp)
    })
}

/// Explains a scenario in which no request could ever be admitted. `run` prints it as a
/// warning and still runs, counting every request in `requests.unservable`.
pub fn check_servable(s: &Scenario, file: &str) -> Result<(), Error> {
    if let Arrivals::Trace(t) = &s.arrivals {
        // Sizes come from the records; loading the trace counted the unservable ones.
        if t.info.records > 0 && t.unservable >= t.info.records {
            return Err(refuse(
                file,
                "arrivals.file",
                format!(
                    "every request is unservable: each of the {} records of {} reserves more \
                     than a limit's whole capacity, so no attempt could ever be admitted",
                    human(t.info.records),
                    t.file
                ),
                "lower max_tokens or raise the quota's limits".into(),
            ));
        }
        return Ok(());
    }
    let mut refused = Vec::new();
    for c in weighted(s) {
        match always_refused_by(s, c) {
            Some(l) => refused.push((c, l)),
            None => return Ok(()),
        }
    }
    let Some(&(class, limit)) = refused.first() else {
        return Ok(());
    };
    let classes = refused
        .iter()
        .map(|(c, l)| format!("class `{}` by {}", c.name, l.name))
        .collect::<Vec<_>>()
        .join(", ");
    Err(refuse(
        file,
        &format!("quota.{}", limit.name),
        format!(
            "every request is unservable: even the smallest request of each class reserves \
             more than a limit's whole capacity ({classes}; {} = {}), so no attempt could \
             ever be admitted",
            limit.name,
            human(limit.limit)
        ),
        format!(
            "lower max_tokens (client.max_tokens or requests.{}.max_tokens) or the input \
             sizes, or raise quota.{}",
            class.name, limit.name
        ),
    ))
}

/// The shortest time a successful attempt can take, µs, and the setting that dominates it.
fn shortest_service(s: &Scenario) -> (u64, &'static str) {
    let svc = &s.service;
    weighted(s)
        .map(|c| {
            let (input, out) = (
                c.input_tokens.min_value(),
                c.output_tokens.min_value().min(c.max_tokens),
            );
            let total = svc.service_time_us(input, out);
            let decode = total.saturating_sub(svc.service_time_us(input, 0));
            let key = if decode >= svc.ttft_us {
                "service.output_tokens_per_second"
            } else {
                "service.ttft"
            };
            (total, key)
        })
        .min()
        .unwrap_or((0, "service.ttft"))
}

/// The shortest time one attempt can take, µs.
fn shortest_attempt_us(s: &Scenario) -> u64 {
    let svc = &s.service;
    let (served, _) = shortest_service(s);
    let mut shortest = served.min(svc.throttle_latency_us);
    if svc.error_rate > 0.0 {
        shortest = shortest.min(svc.ttft_us);
    }
    shortest
}

/// Mean sleep before retry number `n` (1-based) of an always-failing request, µs.
fn mean_backoff_us(policy: &RetryPolicy, n: u32) -> f64 {
    let exp = n.saturating_sub(1).min(62);
    let pow = (1u64 << exp) as f64;
    match *policy {
        RetryPolicy::None => 0.0,
        RetryPolicy::AwsLegacy => 0.5 * pow * 1e6,
        RetryPolicy::AwsStandard | RetryPolicy::AwsAdaptive | RetryPolicy::Strands => {
            0.5 * pow.min(20.0) * 1e6
        }
        // min(0.5 × 2^(n−1), 8) × (1 − 0.25 U): mean factor 0.875.
        RetryPolicy::AnthropicSdk | RetryPolicy::OpenaiSdk => 0.875 * (0.5 * pow).min(8.0) * 1e6,
        RetryPolicy::Litellm => 0.0,
        RetryPolicy::Fixed { delay_us } => delay_us as f64,
        RetryPolicy::Exponential {
            base_us,
            cap_us,
            jitter,
        } => {
            let backoff = (base_us as f64 * pow).min(cap_us as f64);
            match jitter {
                Jitter::None => backoff,
                Jitter::Full => backoff / 2.0,
                Jitter::Equal => backoff * 0.75,
                Jitter::Decorrelated => cap_us as f64 / 2.0,
            }
        }
    }
}

/// How long, on average, a request that is throttled on every attempt stays alive, µs.
fn throttled_lifetime_us(s: &Scenario) -> f64 {
    let attempts = s.client.max_attempts;
    let mut total = f64::from(attempts) * s.service.throttle_latency_us as f64;
    for n in 1..attempts {
        total += mean_backoff_us(&s.client.retry, n);
    }
    total
}

/// Estimates the work of a run (see [`WorkEstimate`]). A closed loop whose cycle could take
/// no time at all is refused here, since it has no finite size.
pub fn estimate(s: &Scenario, file: &str) -> Result<WorkEstimate, Error> {
    let minutes = s.duration_us as f64 / MINUTE_US as f64;
    let (requests, per_minute) = match s.arrivals {
        Arrivals::Constant { ref rate }
        | Arrivals::Poisson { ref rate }
        | Arrivals::Gamma { ref rate, .. } => {
            let n = match rate {
                Rate::Fixed { rate_per_minute } => (rate_per_minute * minutes).ceil(),
                Rate::Scheduled(schedule) => schedule.expected_arrivals(s.duration_us).ceil(),
            };
            (n, n / minutes.max(1e-9))
        }
        Arrivals::OnOff {
            on_rate_per_minute,
            off_rate_per_minute,
            mean_on_us,
            mean_off_us,
        } => (
            on_off_requests(
                on_rate_per_minute,
                off_rate_per_minute,
                mean_on_us,
                mean_off_us,
                s.duration_us,
            )
            .ceil(),
            on_rate_per_minute.max(off_rate_per_minute),
        ),
        Arrivals::Trace(ref t) => {
            // Records that fall in `[0, duration)`: one play per period, as many as fit.
            let plays = match t.repeat {
                Repeat::Times(n) => n,
                Repeat::Forever => u64::MAX,
            };
            let fit = (s.duration_us / t.period_us.max(1)).saturating_add(1);
            let n = t.info.records.saturating_mul(plays.min(fit)) as f64;
            (n, n / minutes.max(1e-9))
        }
        Arrivals::ClosedLoop {
            clients,
            think_time_us,
        } => {
            let cycle = think_time_us.saturating_add(shortest_attempt_us(s));
            if cycle == 0 {
                return Err(refuse(
                    file,
                    "arrivals.think_time",
                    "a closed loop with think_time 0 whose attempts can end in 0 µs would send \
                     requests forever without simulated time moving"
                        .into(),
                    "set arrivals.think_time, service.throttle_latency or service.ttft above 0"
                        .into(),
                ));
            }
            // Each user sends at most one request per cycle.
            let per_user = (s.duration_us / cycle).saturating_add(1);
            let n = (clients as f64) * (per_user as f64);
            (n, n / minutes.max(1e-9))
        }
    };
    // `as` saturates: a rate of 1e15 per minute over years is u64::MAX, not a wrap-around.
    let requests_u = requests as u64;
    let flips =
        match s.arrivals {
            // Two state changes per on-off cycle.
            Arrivals::OnOff {
                mean_on_us,
                mean_off_us,
                ..
            } => (2.0 * s.duration_us as f64 / (mean_on_us as f64 + mean_off_us as f64).max(1.0))
                .ceil() as u64,
            _ => 0,
        };
    let min_events = requests_u.saturating_mul(2).saturating_add(flips);
    let timeline_rows = (s.duration_us / MINUTE_US).saturating_add(1);
    let mut memory = timeline_rows.saturating_mul(BYTES_PER_TIMELINE_ROW);
    if let Arrivals::ClosedLoop { clients, .. } = s.arrivals {
        memory =
            memory.saturating_add(clients.saturating_mul(crate::engine::BYTES_PER_LIVE_REQUEST));
    }
    // A sliding window keeps every charge of its last period.
    for l in s
        .quota
        .limits
        .iter()
        .filter(|l| l.limiter == LimiterKind::SlidingWindow)
    {
        let per_period = per_minute * (l.per_us as f64 / MINUTE_US as f64);
        let live = per_period.min(requests) as u64;
        memory = memory.saturating_add(live.saturating_mul(BYTES_PER_SLIDING_CHARGE));
    }
    Ok(WorkEstimate {
        requests: requests_u,
        min_events,
        timeline_rows,
        min_memory_bytes: memory,
        flips,
    })
}

/// Requests an on-off process sends over `duration_us`, estimated high enough to bound a
/// run that starts in its busy state. The process starts in its stationary state, so with
/// probability `mean_on / (mean_on + mean_off)` it starts on, and the first period lasts
/// `mean_on` on average however long the cycle is: with periods as long as the run, such a
/// run sends `on_rate × duration` while the stationary mean says `on_rate × duration ×
/// mean_on / (mean_on + mean_off)` (one seed in a few hundred of a random scenario ran 100×
/// its estimate). Time in a state is therefore taken as at most `mean + share × duration`
/// (the first period, then the stationary share), within the run, and the busier of the two
/// starts counts.
fn on_off_requests(
    on_rate: f64,
    off_rate: f64,
    mean_on_us: u64,
    mean_off_us: u64,
    duration_us: u64,
) -> f64 {
    let t = duration_us as f64;
    let (on, off) = (mean_on_us as f64, mean_off_us as f64);
    let cycle = (on + off).max(1.0);
    let per_us = |rate_per_minute: f64| rate_per_minute.max(0.0) / MINUTE_US as f64;
    let start = |mean: f64, share: f64, rate: f64, other: f64| {
        let time = (mean + share * t).min(t);
        per_us(rate) * time + per_us(other) * (t - time)
    };
    start(on, on / cycle, on_rate, off_rate).max(start(off, off / cycle, off_rate, on_rate))
}

/// `(mean_on, mean_off)` of an on-off process, µs (zeros for other processes).
fn on_off_means(s: &Scenario) -> (u64, u64) {
    match s.arrivals {
        Arrivals::OnOff {
            mean_on_us,
            mean_off_us,
            ..
        } => (mean_on_us, mean_off_us),
        _ => (0, 0),
    }
}

/// Everything the guard rails refuse before a run: closed loops that would spin forever and
/// runs beyond `limits`. Returns the estimate when the run may go.
pub fn check(s: &Scenario, file: &str, limits: &Limits) -> Result<WorkEstimate, Error> {
    check_size(s, file, limits)
}

/// Simulates `s` inside the guard rails: refuses what [`check`] refuses, then has the engine
/// stop the run at `limits`. Every command that simulates (`run`, each run of a sweep point)
/// goes through here, so that they all stop a run the same way.
pub fn simulate_guarded(s: &Scenario, file: &str, limits: &Limits) -> Result<Report, Error> {
    simulate_guarded_with(s, file, limits, None)
}

/// [`simulate_guarded`] with an observer of the run's events (`plan`'s demand run).
pub fn simulate_guarded_with<'a>(
    s: &'a Scenario,
    file: &str,
    limits: &Limits,
    observer: Option<&'a mut dyn crate::engine::Observer>,
) -> Result<Report, Error> {
    check(s, file, limits)?;
    crate::engine::simulate_with(s, limits, observer)
        .map_err(|stopped| stopped_error(s, file, limits, &stopped))
}

/// [`simulate_guarded`] that also records the per-minute, per-pool metrics of
/// `run --cloudwatch` and `calibrate`.
pub fn simulate_minutes_guarded(
    s: &Scenario,
    file: &str,
    limits: &Limits,
) -> Result<(Report, crate::metrics::minutes::Minutes), Error> {
    check(s, file, limits)?;
    crate::engine::simulate_minutes(s, limits)
        .map_err(|stopped| stopped_error(s, file, limits, &stopped))
}

/// The size checks: what `run` and every point of a sweep must pass.
pub fn check_size(s: &Scenario, file: &str, limits: &Limits) -> Result<WorkEstimate, Error> {
    let e = estimate(s, file)?;
    let duration = format_duration(s.duration_us);
    if e.min_events > limits.max_events && e.flips > e.min_events / 2 {
        return Err(refuse(
            file,
            "arrivals.mean_on",
            format!(
                "this scenario is too big to simulate: its on-off arrival process changes \
                 state about {} times over {duration} (mean_on {} + mean_off {} per cycle), \
                 and each change costs an event, more than --max-events {}",
                human(e.flips),
                format_duration(on_off_means(s).0),
                format_duration(on_off_means(s).1),
                human(limits.max_events),
            ),
            format!(
                "lengthen arrivals.mean_on and arrivals.mean_off, shorten duration, or pass \
                 --max-events {} (or more) if you are prepared to wait",
                human(e.min_events.saturating_mul(2)).replace(',', "")
            ),
        ));
    }
    if e.min_events > limits.max_events {
        let what = match s.arrivals {
            Arrivals::ClosedLoop { .. } => {
                "arrivals.clients or duration, or raise arrivals.think_time"
            }
            // A trace has no rate to lower: it is the records, the repeats and the clock.
            Arrivals::Trace(_) => {
                "duration or arrivals.repeat, or raise arrivals.time_scale (or replay a \
                 shorter trace)"
            }
            Arrivals::OnOff { .. } => {
                "arrivals.on_rate_per_minute, arrivals.off_rate_per_minute or duration"
            }
            Arrivals::Constant {
                rate: Rate::Scheduled(_),
            }
            | Arrivals::Poisson {
                rate: Rate::Scheduled(_),
            }
            | Arrivals::Gamma {
                rate: Rate::Scheduled(_),
                ..
            } => "the rates of arrivals.schedule or duration",
            _ => "arrivals.rate_per_minute or duration",
        };
        return Err(refuse(
            file,
            "duration",
            format!(
                "this scenario is too big to simulate: {} {} requests over {duration}, so at \
                 least {} events, more than --max-events {}",
                if matches!(s.arrivals, Arrivals::ClosedLoop { .. }) {
                    "up to"
                } else {
                    "about"
                },
                human(e.requests),
                human(e.min_events),
                human(limits.max_events),
            ),
            format!(
                "lower {what}, or pass --max-events {} (or more) if you are prepared to wait",
                human(e.min_events.saturating_mul(2)).replace(',', "")
            ),
        ));
    }
    if e.min_memory_bytes > limits.max_memory_bytes {
        return Err(refuse(
            file,
            "duration",
            format!(
                "this scenario needs at least {} of memory ({} timeline minutes over {duration}), \
                 more than --max-memory-mb {}",
                mb(e.min_memory_bytes),
                human(e.timeline_rows),
                limits.max_memory_bytes >> 20
            ),
            format!(
                "shorten duration, or pass --max-memory-mb {} if the machine has the memory",
                e.min_memory_bytes.div_ceil(1 << 20).saturating_mul(2)
            ),
        ));
    }
    // Even the quickest request would end beyond what the timeline may hold.
    let max_time = (limits.max_memory_bytes / BYTES_PER_TIMELINE_ROW).saturating_mul(MINUTE_US);
    let (served, key) = shortest_service(s);
    if s.duration_us.saturating_add(served) > max_time {
        return Err(refuse(
            file,
            key,
            format!(
                "even the quickest request takes {} to serve (ttft + input processing + output \
                 at {} tokens/s), and the per-minute timeline up to its end needs more than \
                 --max-memory-mb {}",
                approx(served as f64),
                s.service.output_tokens_per_second,
                limits.max_memory_bytes >> 20
            ),
            "check service.ttft, service.ttft_per_1k_input and the output speed \
             (model. or service.output_tokens_per_second)"
                .into(),
        ));
    }
    // A request throttled on every attempt keeps the timeline growing while it backs off.
    if s.unservable_warnings().into_iter().next().is_some() {
        let lifetime = throttled_lifetime_us(s);
        let end = s.duration_us as f64 + lifetime;
        let rows = end / MINUTE_US as f64;
        if rows * BYTES_PER_TIMELINE_ROW as f64 > limits.max_memory_bytes as f64 {
            return Err(refuse(
                file,
                "client.max_attempts",
                format!(
                    "some requests are unservable and are throttled on every one of their {} \
                     attempts; with this retry backoff such a request keeps retrying for about \
                     {} of simulated time, and the per-minute timeline up to then needs more \
                     than --max-memory-mb {}",
                    s.client.max_attempts,
                    approx(lifetime),
                    limits.max_memory_bytes >> 20
                ),
                "lower client.max_attempts, cap the backoff with a retry table \
                 { mode = \"exponential\", cap = \"20s\" }, or make every class servable \
                 (see `quotasim check`)"
                    .into(),
            ));
        }
    }
    Ok(e)
}

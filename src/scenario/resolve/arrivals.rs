//! `[arrivals]`: which keys each process takes, and the generated processes' rates and rate
//! schedules. A trace's own keys are left to the `trace` stage.

use std::path::Path;

use super::trace::resolve_trace;
use super::{int_at_least, positive_number};
use crate::scenario::invalid::{Invalid, R, bad, did_you_mean};
use crate::scenario::raw::{RawArrivals, RawSchedulePoint};
use crate::workload::arrivals::PROCESS_NAMES;
use crate::workload::dist::quoted;
use crate::workload::{Arrivals, Rate, Schedule, SchedulePoint};

pub(crate) fn resolve_arrivals(a: Option<RawArrivals>, base_dir: &Path) -> R<Arrivals> {
    let Some(a) = a else {
        return bad(
            "arrivals",
            "missing required table [arrivals] with `process`",
        );
    };
    let Some(process) = a.process.clone() else {
        return bad(
            "arrivals.process",
            format!(
                "missing required key `process`; expected one of {}",
                quoted(&PROCESS_NAMES)
            ),
        );
    };
    let process = process.as_str();
    let present = [
        ("rate_per_minute", a.rate_per_minute.is_some()),
        ("schedule", a.schedule.is_some()),
        ("schedule_period", a.schedule_period.is_some()),
        ("cv", a.cv.is_some()),
        ("on_rate_per_minute", a.on_rate_per_minute.is_some()),
        ("off_rate_per_minute", a.off_rate_per_minute.is_some()),
        ("mean_on", a.mean_on.is_some()),
        ("mean_off", a.mean_off.is_some()),
        ("clients", a.clients.is_some()),
        ("think_time", a.think_time.is_some()),
        ("file", a.file.is_some()),
        ("format", a.format.is_some()),
        ("time_scale", a.time_scale.is_some()),
        ("repeat", a.repeat.is_some()),
    ];
    let allowed: &[&str] = match process {
        "constant" | "poisson" => &["rate_per_minute", "schedule", "schedule_period"],
        "gamma" => &["rate_per_minute", "schedule", "schedule_period", "cv"],
        "on-off" => &[
            "on_rate_per_minute",
            "off_rate_per_minute",
            "mean_on",
            "mean_off",
        ],
        "closed-loop" => &["clients", "think_time"],
        "trace" => &["file", "format", "time_scale", "repeat"],
        other => {
            return Err(Invalid {
                path: "arrivals.process".into(),
                message: format!(
                    "unknown arrival process \"{other}\"; expected one of {}",
                    quoted(&PROCESS_NAMES)
                ),
                help: did_you_mean(other, &PROCESS_NAMES),
                at_key: false,
                foreign: None,
            });
        }
    };
    for (k, is) in present {
        if is && !allowed.contains(&k) {
            let takes = allowed
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ");
            return bad(
                format!("arrivals.{k}"),
                format!("`{k}` does not apply to process \"{process}\", which takes {takes}"),
            );
        }
    }
    match process {
        "constant" | "poisson" | "gamma" => {
            let rate = resolve_rate(&a, process)?;
            Ok(match process {
                "constant" => Arrivals::Constant { rate },
                "poisson" => Arrivals::Poisson { rate },
                _ => {
                    let cv = match a.cv {
                        None => {
                            return bad(
                                "arrivals.cv",
                                "process \"gamma\" needs `cv`, the coefficient of variation of the gaps between arrivals (1 = Poisson, > 1 bursty)",
                            );
                        }
                        Some(cv) if cv.is_finite() && cv > 0.0 && cv <= 20.0 => cv,
                        Some(cv) => {
                            return bad(
                                "arrivals.cv",
                                format!("expected a number with 0 < cv ≤ 20, found {cv}"),
                            );
                        }
                    };
                    Arrivals::Gamma { rate, cv }
                }
            })
        }
        "on-off" => {
            let need_rate = |v: Option<f64>, key: &str, min_zero: bool| -> R<f64> {
                let path = format!("arrivals.{key}");
                match v {
                    None if min_zero => Ok(0.0),
                    None => bad(
                        &path,
                        format!("process \"on-off\" needs `{key}` (requests per minute > 0)"),
                    ),
                    Some(x) if x.is_finite() && x < 1e15 && (x > 0.0 || (min_zero && x == 0.0)) => {
                        Ok(x)
                    }
                    Some(x) => bad(
                        &path,
                        format!(
                            "expected a number {} 0, found {x}",
                            if min_zero { "≥" } else { ">" }
                        ),
                    ),
                }
            };
            let need_dur = |v: Option<crate::scenario::raw::RawDuration>, key: &str| -> R<u64> {
                match v {
                    Some(d) if d.0 > 0 => Ok(d.0),
                    Some(_) => bad(format!("arrivals.{key}"), "expected a duration > 0"),
                    None => bad(
                        format!("arrivals.{key}"),
                        format!("process \"on-off\" needs `{key}` (a duration such as \"30s\")"),
                    ),
                }
            };
            Ok(Arrivals::OnOff {
                on_rate_per_minute: need_rate(a.on_rate_per_minute, "on_rate_per_minute", false)?,
                off_rate_per_minute: need_rate(a.off_rate_per_minute, "off_rate_per_minute", true)?,
                mean_on_us: need_dur(a.mean_on, "mean_on")?,
                mean_off_us: need_dur(a.mean_off, "mean_off")?,
            })
        }
        "closed-loop" => {
            let Some(clients) = int_at_least(a.clients, 1, "arrivals.clients")? else {
                return bad(
                    "arrivals.clients",
                    "process \"closed-loop\" needs `clients` (an integer ≥ 1)",
                );
            };
            if clients > 10_000_000 {
                return bad(
                    "arrivals.clients",
                    format!("{clients} clients is too many (at most 10,000,000)"),
                );
            }
            Ok(Arrivals::ClosedLoop {
                clients,
                think_time_us: a.think_time.map_or(0, |d| d.0),
            })
        }
        _ => resolve_trace(&a, base_dir),
    }
}

fn resolve_rate(a: &RawArrivals, process: &str) -> R<Rate> {
    match (&a.schedule, a.rate_per_minute) {
        (Some(_), Some(_)) => bad(
            "arrivals.rate_per_minute",
            "`rate_per_minute` and `schedule` are alternatives: with a schedule, its points give the rate",
        ),
        (None, None) => bad(
            "arrivals.rate_per_minute",
            format!(
                "process \"{process}\" needs `rate_per_minute` (a number > 0) or a rate schedule ([[arrivals.schedule]] points with `at` and `rate_per_minute`)"
            ),
        ),
        (None, Some(_)) => {
            if a.schedule_period.is_some() {
                return bad(
                    "arrivals.schedule_period",
                    "`schedule_period` repeats a rate schedule; add [[arrivals.schedule]] points or remove it",
                );
            }
            let rate = positive_number(a.rate_per_minute, "arrivals.rate_per_minute")?;
            Ok(Rate::fixed(rate.unwrap_or(1.0)))
        }
        (Some(points), None) => Ok(Rate::Scheduled(resolve_schedule(
            points,
            a.schedule_period.map(|d| d.0),
        )?)),
    }
}

fn resolve_schedule(points: &[RawSchedulePoint], period_us: Option<u64>) -> R<Schedule> {
    if points.is_empty() {
        return bad(
            "arrivals.schedule",
            "a schedule needs at least one point with `at` and `rate_per_minute`",
        );
    }
    if period_us == Some(0) {
        return bad("arrivals.schedule_period", "expected a duration > 0");
    }
    let mut out: Vec<SchedulePoint> = Vec::with_capacity(points.len());
    for (i, p) in points.iter().enumerate() {
        let base = format!("arrivals.schedule[{i}]");
        let Some(at) = p.at else {
            return bad(
                &base,
                "a schedule point needs `at` (a time such as \"2h\") and `rate_per_minute`",
            );
        };
        let rate = match p.rate_per_minute {
            None => {
                return bad(
                    &base,
                    "a schedule point needs `rate_per_minute` (a number ≥ 0)",
                );
            }
            Some(r) if r.is_finite() && (0.0..1e15).contains(&r) => r,
            Some(r) => {
                return bad(
                    format!("{base}.rate_per_minute"),
                    format!("expected a number ≥ 0, found {r}"),
                );
            }
        };
        if let Some(prev) = out.last()
            && at.0 <= prev.at_us
        {
            return bad(
                format!("{base}.at"),
                format!(
                    "schedule points must be in increasing time: {} is not after the previous point's {}",
                    crate::duration::format_duration(at.0),
                    crate::duration::format_duration(prev.at_us)
                ),
            );
        }
        if let Some(period) = period_us
            && at.0 >= period
        {
            return bad(
                format!("{base}.at"),
                format!(
                    "{} is not within schedule_period ({}); points of a repeating schedule lie in [0, period)",
                    crate::duration::format_duration(at.0),
                    crate::duration::format_duration(period)
                ),
            );
        }
        out.push(SchedulePoint {
            at_us: at.0,
            rate_per_minute: rate,
        });
    }
    if out.iter().all(|p| p.rate_per_minute == 0.0) {
        return bad(
            "arrivals.schedule",
            "every point has rate_per_minute = 0, so nothing would ever arrive",
        );
    }
    Ok(Schedule {
        schedule: out,
        period_us,
    })
}

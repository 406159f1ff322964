//! `process = "trace"`: the trace file, its format, time scale and repeat; and the scan that
//! reads the whole trace at load time, so that a malformed record is an input error and not
//! a failure part-way through a run.

use std::path::Path;

use crate::quota::Footprint;
use crate::scenario::invalid::{Invalid, R, bad, did_you_mean};
use crate::scenario::raw::RawArrivals;
use crate::scenario::{Client, Model, QuotaConfig};
use crate::trace::{ClassMode, TraceFormat};
use crate::workload::dist::quoted;
use crate::workload::{Arrivals, Repeat, RequestClass, TraceArrivals};

pub(crate) fn resolve_trace(a: &RawArrivals, base_dir: &Path) -> R<Arrivals> {
    let Some(file) = &a.file else {
        return bad(
            "arrivals.file",
            "process \"trace\" needs `file`, the trace to replay (a .csv file or Bedrock invocation logs in .jsonl)",
        );
    };
    let path = base_dir.join(file);
    let format = match a.format.as_deref() {
        Some(name) => match TraceFormat::from_name(name) {
            Some(f) => f,
            None => {
                return Err(Invalid {
                    path: "arrivals.format".into(),
                    message: format!(
                        "unknown trace format \"{name}\"; expected one of {}",
                        quoted(&TraceFormat::NAMES)
                    ),
                    help: did_you_mean(name, &TraceFormat::NAMES),
                    at_key: false,
                    foreign: None,
                });
            }
        },
        None => match TraceFormat::from_extension(&path) {
            Some(f) => f,
            None => {
                return bad(
                    "arrivals.file",
                    format!(
                        "cannot tell the format of \"{file}\" from its extension (.csv, .jsonl or .json); set `format` to one of {}",
                        quoted(&TraceFormat::NAMES)
                    ),
                );
            }
        },
    };
    let time_scale = match a.time_scale {
        None => 1.0,
        Some(x) if x.is_finite() && x > 0.0 && x <= 1e6 => x,
        Some(x) => {
            return bad(
                "arrivals.time_scale",
                format!(
                    "expected a number > 0 (trace times are multiplied by it: 0.5 replays twice as fast), found {x}"
                ),
            );
        }
    };
    let repeat = match &a.repeat {
        None | Some(toml::Value::Boolean(false)) => Repeat::Times(1),
        Some(toml::Value::Boolean(true)) => Repeat::Forever,
        Some(toml::Value::Integer(n)) if *n >= 1 => Repeat::Times(*n as u64),
        Some(other) => {
            return bad(
                "arrivals.repeat",
                format!(
                    "expected how many times to play the trace (an integer ≥ 1) or true (until `duration` ends), found {other}"
                ),
            );
        }
    };
    Ok(Arrivals::Trace(TraceArrivals {
        file: path.display().to_string(),
        format,
        time_scale,
        repeat,
        path,
        info: Default::default(),
        classes: ClassMode::Ignore,
        period_us: 0,
        unservable: 0,
    }))
}

/// Reads the whole trace once: every line is checked now, so a malformed record is an
/// input error before anything runs.
pub(crate) fn scan_trace(
    t: &mut TraceArrivals,
    classes: &[RequestClass],
    client: &Client,
    model: &Model,
    quota: &QuotaConfig,
) -> R<()> {
    let names: Vec<String> = classes.iter().map(|c| c.name.clone()).collect();
    let mode = if names.is_empty() {
        ClassMode::Collect
    } else {
        ClassMode::Known(names.clone())
    };
    let q = quota.build(model);
    let mut unservable = 0u64;
    let info = crate::trace::scan(&t.path, t.format, mode, |rec| {
        let class = crate::workload::trace::record_class(rec, classes);
        let cw = rec
            .cache_write
            .unwrap_or_else(|| class.map_or(0, |c| c.cache_write_tokens.practical_max()));
        let cr = rec
            .cache_read
            .unwrap_or_else(|| class.map_or(0, |c| c.cache_read_tokens.practical_max()));
        let fp = Footprint::of(
            rec.input,
            cw,
            cr,
            crate::workload::max_tokens(rec.max_tokens, class, client.max_tokens),
            rec.output,
            quota.reserve_cache_reads,
        );
        if !q.servable(&fp) {
            unservable += 1;
        }
    })
    .map_err(|d| Invalid {
        path: "arrivals.file".into(),
        message: d.message.clone(),
        help: d.help.clone(),
        at_key: false,
        foreign: Some(d),
    })?;
    if !names.is_empty() && !info.has_class {
        return bad(
            "requests",
            format!(
                "with process = \"trace\", request classes apply to records through the trace's `class` column, and {} has none; remove the [requests.*] tables or add the column",
                t.file
            ),
        );
    }
    if t.repeat != Repeat::Times(1) {
        let span = info.last_us.saturating_sub(info.first_us);
        if info.records < 2 || span <= 0 {
            return bad(
                "arrivals.repeat",
                "the trace needs at least two records at different times to repeat",
            );
        }
        let n = info.records as f64;
        let period = (span as f64 * n / (n - 1.0) * t.time_scale).round();
        t.period_us = if period >= 1.0 && period < u64::MAX as f64 {
            period as u64
        } else {
            1
        };
    }
    t.classes = if names.is_empty() {
        ClassMode::Ignore
    } else {
        ClassMode::Known(names)
    };
    t.info = info;
    t.unservable = unservable;
    Ok(())
}

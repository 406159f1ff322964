//! Shards: `sweep --shard K/N --out part-K.json` writes a part file holding the shard's
//! point results exactly (JSON numbers round-trip bit for bit); `quotasim merge part-*.json`
//! checks that the parts come from one sweep and cover every shard exactly once, and
//! rebuilds the report the unsharded sweep would have produced.

use serde::{Deserialize, Serialize};

use crate::assertion::{Assertion, Objective};
use crate::error::{Diagnostic, Error};
use crate::sweep::grid::{Grid, Shard, Vary};
use crate::sweep::metrics::{METRIC_COUNT, METRICS};
use crate::sweep::run::{PointMetric, PointResult, SweepReport};

/// Format version written as `quotasim_sweep_part`.
/// Version 2 added the scenario fingerprint.
pub const PART_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartAxis {
    path: String,
    values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartPoint {
    index: usize,
    metrics: Vec<PointMetric>,
}

/// Everything two parts of one sweep must agree on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartHeader {
    scenario: String,
    /// [`fingerprint`](crate::sweep::run::fingerprint) of the resolved scenario of point 0.
    fingerprint: String,
    seed: u64,
    replications: usize,
    vary: Vec<PartAxis>,
    set: Vec<String>,
    points_total: usize,
    shards: usize,
    objective: Option<String>,
    constraints: Vec<String>,
    metrics: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartFile {
    quotasim_sweep_part: u32,
    shard: usize,
    header: PartHeader,
    points: Vec<PartPoint>,
}

/// The part file of a sharded sweep report (pretty JSON with a trailing newline). A report
/// without a shard is written as shard 0 of 1.
pub fn render_part(report: &SweepReport) -> String {
    let shard = report.shard.unwrap_or(Shard { k: 0, n: 1 });
    let part = PartFile {
        quotasim_sweep_part: PART_VERSION,
        shard: shard.k,
        header: PartHeader {
            scenario: report.scenario.clone(),
            fingerprint: report.fingerprint.clone(),
            seed: report.seed,
            replications: report.replications,
            vary: report
                .axes
                .iter()
                .map(|a| PartAxis {
                    path: a.path.clone(),
                    values: a.values.clone(),
                })
                .collect(),
            set: report.set.clone(),
            points_total: report.points_total,
            shards: shard.n,
            objective: report.objective.as_ref().map(ToString::to_string),
            constraints: report.constraints.iter().map(ToString::to_string).collect(),
            metrics: METRICS.iter().map(|m| m.path.to_string()).collect(),
        },
        points: report
            .points
            .iter()
            .map(|p| PartPoint {
                index: p.index,
                metrics: p.metrics.to_vec(),
            })
            .collect(),
    };
    let mut s =
        serde_json::to_string_pretty(&part).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

fn invalid(file: &str, msg: impl Into<String>) -> Error {
    Diagnostic::new(file, msg).into()
}

fn parse_part(file: &str, text: &str) -> Result<PartFile, Error> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        let full = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let msg = full.strip_suffix(&suffix).unwrap_or(&full);
        let mut d = Diagnostic::new(file, format!("invalid JSON: {msg}"));
        d.location = Some((e.line(), e.column()));
        Error::from(d)
    })?;
    if value.get("quotasim_sweep_part").is_none() {
        return Err(invalid(
            file,
            "not a sweep part file (no `quotasim_sweep_part` key); expected the output of `quotasim sweep --shard K/N --out FILE`",
        ));
    }
    let part: PartFile = serde_path_to_error::deserialize(value).map_err(|e| {
        Error::from(
            Diagnostic::new(file, format!("malformed sweep part file: {}", e.inner()))
                .at_path(e.path().to_string()),
        )
    })?;
    if part.quotasim_sweep_part != PART_VERSION {
        return Err(invalid(
            file,
            format!(
                "sweep part format version {} is not supported; expected {PART_VERSION}",
                part.quotasim_sweep_part
            ),
        ));
    }
    Ok(part)
}

fn first_difference(a: &PartHeader, b: &PartHeader) -> String {
    let fields: [(&str, bool); 11] = [
        ("scenario", a.scenario == b.scenario),
        ("seed", a.seed == b.seed),
        ("replications", a.replications == b.replications),
        ("vary", a.vary == b.vary),
        ("set", a.set == b.set),
        ("points_total", a.points_total == b.points_total),
        ("shards (N of --shard K/N)", a.shards == b.shards),
        ("objective", a.objective == b.objective),
        ("constraints", a.constraints == b.constraints),
        ("metrics", a.metrics == b.metrics),
        // Last: a named field that differs says more than the fingerprint.
        (
            "fingerprint of the resolved scenario",
            a.fingerprint == b.fingerprint,
        ),
    ];
    fields
        .iter()
        .find(|(_, same)| !same)
        .map_or_else(|| "header".to_string(), |(name, _)| (*name).to_string())
}

/// Merges part files given as `(file name, contents)`. Errors (exit 2) name the file: not a
/// part file, parts of different sweeps, a shard given twice, a shard missing, or a part
/// whose points are not its shard's.
pub fn merge_parts(parts: &[(String, String)]) -> Result<SweepReport, Error> {
    let Some((first_file, _)) = parts.first() else {
        return Err(Error::Usage(
            "merge: no part files given; expected the files written by `sweep --shard K/N --out FILE`"
                .into(),
        ));
    };
    let parsed: Vec<(&str, PartFile)> = parts
        .iter()
        .map(|(f, t)| parse_part(f, t).map(|p| (f.as_str(), p)))
        .collect::<Result<_, _>>()?;
    let Some((_, first)) = parsed.first() else {
        return Err(Error::Usage("merge: no part files given".into()));
    };
    let header = first.header.clone();
    let n = header.shards;
    if n == 0 {
        return Err(invalid(
            first_file,
            "`header.shards` is 0; expected at least 1",
        ));
    }
    let mut owner: Vec<Option<&str>> = vec![None; n];
    for (file, part) in &parsed {
        if part.header != header {
            return Err(invalid(
                file,
                format!(
                    "is from a different sweep than {first_file}: `{}` differs",
                    first_difference(&header, &part.header)
                ),
            ));
        }
        let slot = owner.get_mut(part.shard).ok_or_else(|| {
            invalid(
                file,
                format!("shard {} is out of range for {n} shards", part.shard),
            )
        })?;
        if let Some(other) = slot {
            return Err(invalid(
                file,
                format!(
                    "shard {}/{n} is given twice: {other} and {file}",
                    part.shard
                ),
            ));
        }
        *slot = Some(file);
    }
    let missing: Vec<String> = owner
        .iter()
        .enumerate()
        .filter(|(_, o)| o.is_none())
        .map(|(k, _)| format!("{k}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Usage(format!(
            "merge: missing shard{} {} of {n}; run `quotasim sweep … --shard K/N --out FILE` for {} and merge every part",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            if missing.len() == 1 { "it" } else { "each" },
        )));
    }
    let axes = header
        .vary
        .iter()
        .map(|a| Vary::new(&a.path, a.values.clone()))
        .collect::<Result<Vec<_>, _>>()
        .and_then(Grid::new)
        .map_err(|e| invalid(first_file, format!("`header.vary`: {e}")))?;
    let grid = axes;
    if grid.len() != header.points_total {
        return Err(invalid(
            first_file,
            format!(
                "`header.points_total` is {} but the grid has {} points",
                header.points_total,
                grid.len()
            ),
        ));
    }
    if header.metrics.len() != METRIC_COUNT
        || header
            .metrics
            .iter()
            .zip(&METRICS)
            .any(|(a, m)| a != m.path)
    {
        return Err(invalid(
            first_file,
            "`header.metrics` are not this version's sweep metrics",
        ));
    }
    let objective = header
        .objective
        .as_deref()
        .map(Objective::parse)
        .transpose()
        .map_err(|e| invalid(first_file, e.to_string()))?;
    let constraints = header
        .constraints
        .iter()
        .map(|c| Assertion::parse(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(first_file, e.to_string()))?;
    let mut slots: Vec<Option<PointResult>> = vec![None; grid.len()];
    for (file, part) in &parsed {
        let shard = Shard { k: part.shard, n };
        let expected: Vec<usize> = grid.indices(Some(shard)).collect();
        let got: Vec<usize> = part.points.iter().map(|p| p.index).collect();
        if expected != got {
            return Err(invalid(
                file,
                format!(
                    "shard {shard} should hold points {} but holds {}",
                    summarise(&expected),
                    summarise(&got)
                ),
            ));
        }
        for p in &part.points {
            let metrics: [PointMetric; METRIC_COUNT] =
                p.metrics.clone().try_into().map_err(|_| {
                    invalid(
                        file,
                        format!(
                            "point {} has {} metrics; expected {METRIC_COUNT}",
                            p.index,
                            p.metrics.len()
                        ),
                    )
                })?;
            if let Some(slot) = slots.get_mut(p.index) {
                *slot = Some(PointResult {
                    index: p.index,
                    params: grid.point(p.index).unwrap_or_default(),
                    metrics,
                    scoped: Vec::new(),
                });
            }
        }
    }
    let points: Vec<PointResult> = slots.into_iter().flatten().collect();
    Ok(SweepReport {
        scenario: header.scenario,
        fingerprint: header.fingerprint,
        seed: header.seed,
        replications: header.replications,
        axes: grid.axes().to_vec(),
        set: header.set,
        points_total: header.points_total,
        interrupted: false,
        shard: None,
        objective,
        constraints,
        points,
    })
}

fn summarise(idx: &[usize]) -> String {
    let shown: Vec<String> = idx.iter().take(5).map(usize::to_string).collect();
    let more = if idx.len() > 5 { ", …" } else { "" };
    format!("[{}{more}] ({} points)", shown.join(", "), idx.len())
}

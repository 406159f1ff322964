//! `quotasim fit TRACE`: a scenario fragment fitted from a trace, so a user goes from logs
//! to a what-if in one step.
//!
//! Two streaming passes over the trace (memory is bounded by the number of classes and of
//! hours, not of records):
//! 1. counts per hour and, per class, histograms of token counts and `max_tokens` values;
//! 2. the gaps between arrivals, each rescaled by its hour's rate when a schedule is fitted
//!    (so the cv describes burstiness within an hour, not the daily curve).
//!
//! Token counts are fitted as log-normals by their median and 95th percentile (what
//! `{ dist = "lognormal", median, p95 }` takes), read from HDR histograms (within 0.1%).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use hdrhistogram::Histogram;

use crate::Diagnostic;
use crate::scenario::load::toml_key;
use crate::trace::{ClassMode, TraceFormat, TraceReader};

const HOUR_US: i64 = 3_600_000_000;

/// The most classes `fit` keeps apart (each costs about 1.3 MB of histograms); the records
/// of every later class are fitted together as one class named [`OTHER_CLASSES`].
pub const MAX_FIT_CLASSES: usize = 32;

/// The name of the class that gathers the classes past [`MAX_FIT_CLASSES`].
pub const OTHER_CLASSES: &str = "other_classes";
const DAY_HOURS: usize = 24;

/// A log-normal (or fixed, when every value is the same) fit of a token count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SizeFit {
    /// Every value equal.
    Fixed(u64),
    /// Log-normal by median and 95th percentile.
    Lognormal {
        /// Median.
        median: u64,
        /// 95th percentile.
        p95: u64,
    },
}

/// A cache-token column: some requests have none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CacheFit {
    /// Share of requests with 0 tokens.
    pub zero_share: f64,
    /// The non-zero values.
    pub nonzero: SizeFit,
}

/// One fitted request class.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassFit {
    /// The class name (`trace` when the trace has no `class` column).
    pub name: String,
    /// Records of this class.
    pub records: u64,
    /// Input tokens.
    pub input: SizeFit,
    /// Output tokens.
    pub output: SizeFit,
    /// The most common `max_tokens`, if the trace has them.
    pub max_tokens: Option<u64>,
    /// How many distinct `max_tokens` values were seen.
    pub max_tokens_distinct: usize,
    /// Cache reads, when the trace has any.
    pub cache_read: Option<CacheFit>,
    /// Cache writes, when the trace has any.
    pub cache_write: Option<CacheFit>,
}

/// Everything `fit` found.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// The trace as named.
    pub file: String,
    /// Number of records.
    pub records: u64,
    /// From the first record to the last, µs.
    pub span_us: u64,
    /// Mean arrival rate: (records − 1) ÷ span, per minute.
    pub rate_per_minute: f64,
    /// Coefficient of variation of the raw gaps.
    pub cv: f64,
    /// Coefficient of variation of the gaps rescaled by their hour's rate (when there is a
    /// schedule).
    pub cv_within_hours: Option<f64>,
    /// Rate per minute of each hour (from the first record, or by hour of day when the trace
    /// spans more than a day).
    pub hourly_rates: Vec<f64>,
    /// Whether `hourly_rates` is by hour of day (a 24 h period).
    pub by_hour_of_day: bool,
    /// The classes, in order of first appearance.
    pub classes: Vec<ClassFit>,
}

/// A histogram plus the exact extremes (so constant columns are reported exactly).
struct Hist {
    h: Histogram<u64>,
    min: u64,
    max: u64,
}

impl Hist {
    fn new() -> Result<Self, Box<Diagnostic>> {
        Ok(Hist {
            h: Histogram::new_with_bounds(1, 1 << 50, 3)
                .map_err(|e| Diagnostic::new("fit", format!("cannot build a histogram: {e}")))?,
            min: u64::MAX,
            max: 0,
        })
    }

    fn record(&mut self, v: u64) {
        self.h.saturating_record(v);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }
}

struct ClassAcc {
    name: String,
    records: u64,
    input: Hist,
    output: Hist,
    max_tokens: BTreeMap<u64, u64>,
    cache_read: Hist,
    cache_read_zero: u64,
    cache_read_seen: bool,
    cache_write: Hist,
    cache_write_zero: u64,
    cache_write_seen: bool,
}

fn hist() -> Result<Hist, Box<Diagnostic>> {
    Hist::new()
}

impl ClassAcc {
    fn new(name: String) -> Result<Self, Box<Diagnostic>> {
        Ok(ClassAcc {
            name,
            records: 0,
            input: hist()?,
            output: hist()?,
            max_tokens: BTreeMap::new(),
            cache_read: hist()?,
            cache_read_zero: 0,
            cache_read_seen: false,
            cache_write: hist()?,
            cache_write_zero: 0,
            cache_write_seen: false,
        })
    }
}

fn size_fit(hist: &Hist) -> SizeFit {
    if hist.min >= hist.max {
        return SizeFit::Fixed(hist.max);
    }
    let h = &hist.h;
    let median = h.value_at_quantile(0.5);
    let p95 = h.value_at_quantile(0.95);
    if p95 <= median || median == 0 {
        SizeFit::Fixed(h.mean().round() as u64)
    } else {
        SizeFit::Lognormal { median, p95 }
    }
}

fn cache_fit(h: &Hist, zeros: u64, records: u64, seen: bool) -> Option<CacheFit> {
    if !seen || h.h.is_empty() {
        return None;
    }
    Some(CacheFit {
        zero_share: zeros as f64 / records.max(1) as f64,
        nonzero: size_fit(h),
    })
}

/// At most this many workloads from one `fit --by` (like the cap on request classes): more
/// would be a fragment nobody reads, and usually means the field is an ID per request.
pub const MAX_GROUPS: usize = 32;

/// Records of one group: the `field` (see [`TraceReader::group_by`]) equals `value`.
#[derive(Debug, Clone, Copy)]
pub struct Only<'a> {
    /// The CSV column or dotted invocation-log field.
    pub field: &'a str,
    /// Its value.
    pub value: &'a str,
}

/// The distinct values of `field` in a trace, in order of first appearance, with their
/// record counts. More than [`MAX_GROUPS`] values is an error.
pub fn group_values(
    path: &Path,
    format: TraceFormat,
    field: &str,
) -> Result<Vec<(String, u64)>, Box<Diagnostic>> {
    let mut r = TraceReader::open(path, format, ClassMode::Ignore)?;
    r.group_by(field);
    let mut groups: Vec<(String, u64)> = Vec::new();
    while r.next_record()?.is_some() {
        let v = r.group_value().unwrap_or("");
        if let Some(g) = groups.iter_mut().find(|(k, _)| k == v) {
            g.1 += 1;
        } else if groups.len() >= MAX_GROUPS {
            return Err(Box::new(Diagnostic::new(
                r.name(),
                format!(
                    "`{field}` has more than {MAX_GROUPS} distinct values; split by a field with fewer (one workload per value)"
                ),
            )));
        } else {
            groups.push((v.to_string(), 1));
        }
    }
    Ok(groups)
}

fn open(
    path: &Path,
    format: TraceFormat,
    classes: ClassMode,
    only: Option<Only>,
) -> Result<TraceReader, Box<Diagnostic>> {
    let mut r = TraceReader::open(path, format, classes)?;
    if let Some(o) = only {
        r.group_by(o.field);
    }
    Ok(r)
}

/// The next record that belongs to the group, if any.
fn next(
    r: &mut TraceReader,
    only: Option<Only>,
) -> Result<Option<crate::trace::TraceRecord>, Box<Diagnostic>> {
    while let Some(rec) = r.next_record()? {
        match only {
            Some(o) if r.group_value() != Some(o.value) => {}
            _ => return Ok(Some(rec)),
        }
    }
    Ok(None)
}

/// Fits a trace.
pub fn fit(path: &Path, format: TraceFormat) -> Result<Fit, Box<Diagnostic>> {
    fit_only(path, format, None)
}

/// Fits the records of a trace that belong to one group (all of them with `None`).
pub fn fit_only(
    path: &Path,
    format: TraceFormat,
    only: Option<Only>,
) -> Result<Fit, Box<Diagnostic>> {
    // Pass 1: hours and sizes.
    let mut r = open(path, format, ClassMode::Collect, only)?;
    let mut classes: Vec<ClassAcc> = Vec::new();
    let mut first = None;
    let mut last = 0i64;
    let mut records = 0u64;
    let mut per_hour: Vec<u64> = Vec::new();
    while let Some(rec) = next(&mut r, only)? {
        let t0 = *first.get_or_insert(rec.time_us);
        last = rec.time_us;
        records += 1;
        let h = usize::try_from((rec.time_us - t0) / HOUR_US).unwrap_or(usize::MAX);
        if h >= per_hour.len() {
            if h > 1_000_000 {
                return Err(Box::new(Diagnostic::new(
                    r.name(),
                    "the trace spans more than 100 years; check its timestamps",
                )));
            }
            per_hour.resize(h + 1, 0);
        }
        if let Some(c) = per_hour.get_mut(h) {
            *c += 1;
        }
        // Memory stays bounded however many classes the trace has: the ones past the cap
        // share the last accumulator.
        let ci = rec.class.map_or(0, |c| c as usize).min(MAX_FIT_CLASSES);
        while classes.len() <= ci {
            let name = if classes.len() == MAX_FIT_CLASSES {
                OTHER_CLASSES.to_string()
            } else {
                r.class_names()
                    .get(classes.len())
                    .cloned()
                    .unwrap_or_else(|| "trace".to_string())
            };
            classes.push(ClassAcc::new(name)?);
        }
        let Some(acc) = classes.get_mut(ci) else {
            continue;
        };
        acc.records += 1;
        acc.input.record(rec.input);
        acc.output.record(rec.output);
        if let Some(m) = rec.max_tokens {
            *acc.max_tokens.entry(m).or_insert(0) += 1;
        }
        if let Some(n) = rec.cache_read {
            acc.cache_read_seen = true;
            if n == 0 {
                acc.cache_read_zero += 1;
            } else {
                acc.cache_read.record(n);
            }
        }
        if let Some(n) = rec.cache_write {
            acc.cache_write_seen = true;
            if n == 0 {
                acc.cache_write_zero += 1;
            } else {
                acc.cache_write.record(n);
            }
        }
    }
    let name = r.name().to_string();
    let which = only.map_or_else(String::new, |o| {
        format!(" with `{}` = {:?}", o.field, o.value)
    });
    let Some(first) = first else {
        return Err(Box::new(Diagnostic::new(
            &name,
            format!("the trace has no records{which}"),
        )));
    };
    if records < 2 || last <= first {
        return Err(Box::new(Diagnostic::new(
            &name,
            format!(
                "the trace needs at least two records{which} at different times to fit an arrival rate"
            ),
        )));
    }
    let span = (last - first) as f64;
    let mean_gap = span / (records - 1) as f64;
    let rate_per_minute = 60e6 / mean_gap;

    // Hourly rates: full hours only, plus a last partial hour that covers at least half.
    let full_hours = ((last - first) / HOUR_US) as usize;
    let tail = ((last - first) % HOUR_US) as f64 / HOUR_US as f64;
    let mut hours: Vec<(usize, f64)> = Vec::new();
    for (h, &n) in per_hour.iter().enumerate() {
        let covered = if h < full_hours { 1.0 } else { tail };
        if covered >= 0.5 {
            hours.push((h, n as f64 / (covered * 60.0)));
        }
    }
    let by_hour_of_day = hours.len() > DAY_HOURS;
    let hourly_rates: Vec<f64> = if by_hour_of_day {
        // Fold by hour of day (of the trace's clock), averaging over the days seen.
        let mut sum = [0.0f64; DAY_HOURS];
        let mut n = [0u32; DAY_HOURS];
        let first_hour = first.div_euclid(HOUR_US);
        for &(h, rate) in &hours {
            let hod = ((first_hour + h as i64).rem_euclid(DAY_HOURS as i64)) as usize;
            if let (Some(s), Some(c)) = (sum.get_mut(hod), n.get_mut(hod)) {
                *s += rate;
                *c += 1;
            }
        }
        sum.iter()
            .zip(n)
            .map(|(s, c)| if c > 0 { s / f64::from(c) } else { 0.0 })
            .collect()
    } else {
        hours.iter().map(|&(_, r)| r).collect()
    };
    let scheduled = hourly_rates.len() >= 2 && hourly_rates.iter().any(|&r| r > 0.0);

    // Pass 2: gaps.
    let mut r = open(path, format, ClassMode::Ignore, only)?;
    let (mut n, mut mean, mut m2) = (0u64, 0.0f64, 0.0f64);
    let (mut nw, mut mean_w, mut m2_w) = (0u64, 0.0f64, 0.0f64);
    let mut prev: Option<i64> = None;
    while let Some(rec) = next(&mut r, only)? {
        if let Some(p) = prev {
            let gap = (rec.time_us - p) as f64;
            n += 1;
            let d = gap - mean;
            mean += d / n as f64;
            m2 += d * (gap - mean);
            if scheduled {
                let local = local_rate(p, first, by_hour_of_day, &hourly_rates, &per_hour);
                if local > 0.0 {
                    let g = gap * local / rate_per_minute;
                    nw += 1;
                    let d = g - mean_w;
                    mean_w += d / nw as f64;
                    m2_w += d * (g - mean_w);
                }
            }
        }
        prev = Some(rec.time_us);
    }
    let cv = if n > 1 && mean > 0.0 {
        (m2 / n as f64).sqrt() / mean
    } else {
        0.0
    };
    let cv_within_hours =
        (scheduled && nw > 1 && mean_w > 0.0).then(|| (m2_w / nw as f64).sqrt() / mean_w);

    let classes = classes
        .into_iter()
        .filter(|c| c.records > 0)
        .map(|c| {
            let mode = c
                .max_tokens
                .iter()
                .max_by_key(|&(v, n)| (*n, std::cmp::Reverse(*v)))
                .map(|(v, _)| *v);
            ClassFit {
                input: size_fit(&c.input),
                output: size_fit(&c.output),
                max_tokens: mode,
                max_tokens_distinct: c.max_tokens.len(),
                cache_read: cache_fit(
                    &c.cache_read,
                    c.cache_read_zero,
                    c.records,
                    c.cache_read_seen,
                ),
                cache_write: cache_fit(
                    &c.cache_write,
                    c.cache_write_zero,
                    c.records,
                    c.cache_write_seen,
                ),
                name: c.name,
                records: c.records,
            }
        })
        .collect();
    Ok(Fit {
        file: name,
        records,
        span_us: (last - first) as u64,
        rate_per_minute,
        cv,
        cv_within_hours,
        hourly_rates,
        by_hour_of_day,
        classes,
    })
}

fn local_rate(t: i64, first: i64, by_day: bool, rates: &[f64], per_hour: &[u64]) -> f64 {
    if by_day {
        let hod = (t.div_euclid(HOUR_US).rem_euclid(DAY_HOURS as i64)) as usize;
        rates.get(hod).copied().unwrap_or(0.0)
    } else {
        let h = ((t - first) / HOUR_US) as usize;
        // A partial last hour that was left out of the schedule uses its own count.
        rates
            .get(h)
            .copied()
            .or_else(|| per_hour.get(h).map(|&n| n as f64 / 60.0))
            .unwrap_or(0.0)
    }
}

fn round_sig(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

fn size_toml(s: SizeFit) -> String {
    match s {
        SizeFit::Fixed(v) => v.to_string(),
        SizeFit::Lognormal { median, p95 } => {
            format!("{{ dist = \"lognormal\", median = {median}, p95 = {p95} }}")
        }
    }
}

fn cache_toml(c: CacheFit) -> String {
    if c.zero_share <= 0.0 {
        return size_toml(c.nonzero);
    }
    let inner = match c.nonzero {
        SizeFit::Fixed(v) => format!("{{ dist = \"fixed\", value = {v}"),
        SizeFit::Lognormal { median, p95 } => {
            format!("{{ dist = \"lognormal\", median = {median}, p95 = {p95}")
        }
    };
    format!(
        "{{ dist = \"mixture\", components = [ {{ dist = \"fixed\", value = 0, weight = {:.4} }}, {inner}, weight = {:.4} }} ] }}",
        c.zero_share,
        1.0 - c.zero_share
    )
}

impl Fit {
    /// The fitted scenario fragment: `[arrivals]` and `[requests.*]` tables.
    pub fn to_toml(&self) -> String {
        self.render(None, None)
    }

    /// The fitted fragment as one workload, `[workloads.NAME.arrivals]` and
    /// `[workloads.NAME.requests.*]`, to paste into a scenario with other workloads. `only`
    /// names the group the fit was restricted to (`fit --by`).
    pub fn to_workload_toml(&self, name: &str, only: Option<Only>) -> String {
        self.render(Some(name), only)
    }

    fn render(&self, workload: Option<&str>, only: Option<Only>) -> String {
        let mut o = String::new();
        let secs = self.span_us / 1_000_000;
        let span = format!("{}h {:02}m {:02}s", secs / 3600, secs / 60 % 60, secs % 60);
        let which = only.map_or_else(String::new, |g| {
            format!(
                " with `{}` = {}",
                g.field,
                serde_json::to_string(g.value).unwrap_or_default()
            )
        });
        let _ = writeln!(
            o,
            "# Fitted by `quotasim fit` from {} ({} records{which} over {span}).",
            self.file, self.records
        );
        let prefix = match workload {
            None => {
                let _ = writeln!(
                    o,
                    "# Add `duration`, [model] and [quota] (and [client]) to make it a scenario."
                );
                String::new()
            }
            Some(name) => {
                let key = toml_key(name);
                let _ = writeln!(
                    o,
                    "# A workload: paste it into a scenario with `duration`, [model] and [pools.*] or [quota]."
                );
                let _ = writeln!(
                    o,
                    "\n[workloads.{key}]\n# route = \"POOL\"  # needed when the scenario has more than one pool"
                );
                // Replayed, an invocation log's model ID picks the pool listing it; a
                // fitted workload has no model IDs, so its route must say it.
                if let Some(g) = only.filter(|g| g.field == "modelId") {
                    let _ = writeln!(
                        o,
                        "# (the pool serving {}: the one whose `model_ids` list it)",
                        serde_json::to_string(g.value).unwrap_or_default()
                    );
                }
                format!("workloads.{key}.")
            }
        };
        let _ = writeln!(o, "\n[{prefix}arrivals]");
        let _ = writeln!(o, "process = \"gamma\"");
        let scheduled = self.hourly_rates.len() >= 2;
        let cv = self.cv_within_hours.unwrap_or(self.cv).max(0.001);
        let _ = writeln!(
            o,
            "cv = {}  # coefficient of variation of the gaps between arrivals{} (1 = Poisson, > 1 bursty)",
            round_sig(cv),
            if self.cv_within_hours.is_some() {
                format!(
                    " within each hour; {} over the whole trace",
                    round_sig(self.cv)
                )
            } else {
                String::new()
            }
        );
        let rate = round_sig(self.rate_per_minute);
        if scheduled {
            let _ = writeln!(
                o,
                "# The mean rate is {rate} requests per minute; for a flat rate, replace the schedule with\n# rate_per_minute = {rate}"
            );
            if self.by_hour_of_day {
                let _ = writeln!(
                    o,
                    "# Rates by hour of day (the trace's clock; t = 0 is midnight), averaged over its days."
                );
                let _ = writeln!(o, "schedule_period = \"24h\"");
            } else {
                let _ = writeln!(o, "# Rates per hour from the first record (t = 0).");
            }
            for (h, r) in self.hourly_rates.iter().enumerate() {
                let _ = writeln!(
                    o,
                    "[[{prefix}arrivals.schedule]]\nat = \"{}\"\nrate_per_minute = {}",
                    crate::scenario::duration::format_duration(
                        h as u64 * 3_600_000_000 + 1_800_000_000
                    ),
                    round_sig(*r)
                );
            }
        } else {
            let _ = writeln!(o, "rate_per_minute = {rate}");
        }
        // A trace `file` is relative to the scenario that names it, and where the fragment
        // will be pasted is unknown here: an absolute path works from any scenario.
        let replay = std::path::absolute(&self.file)
            .map_or_else(|_| self.file.clone(), |p| p.display().to_string());
        let file = serde_json::to_string(&replay).unwrap_or_else(|_| format!("\"{replay}\""));
        match only {
            None => {
                let _ = writeln!(
                    o,
                    "# To replay the trace itself instead: process = \"trace\", file = {file}"
                );
                let _ = writeln!(
                    o,
                    "# (absolute: a relative `file` is taken from the folder of the scenario holding it)"
                );
            }
            // Replay plays every record of a file: this group's alone needs its own file.
            Some(g) => {
                let _ = writeln!(
                    o,
                    "# To replay instead: process = \"trace\", file = a copy of {file} holding only the records with `{}` = {}",
                    g.field,
                    serde_json::to_string(g.value).unwrap_or_default()
                );
            }
        }
        let total: u64 = self.classes.iter().map(|c| c.records).sum();
        for c in &self.classes {
            let _ = writeln!(o, "\n[{prefix}requests.{}]", toml_key(&c.name));
            if self.classes.len() > 1 {
                let _ = writeln!(
                    o,
                    "weight = {:.4}  # {} records",
                    c.records as f64 / total.max(1) as f64,
                    c.records
                );
            }
            let _ = writeln!(o, "input_tokens = {}", size_toml(c.input));
            let _ = writeln!(o, "output_tokens = {}", size_toml(c.output));
            if let Some(cr) = c.cache_read {
                let _ = writeln!(o, "cache_read_tokens = {}", cache_toml(cr));
            }
            if let Some(cw) = c.cache_write {
                let _ = writeln!(o, "cache_write_tokens = {}", cache_toml(cw));
            }
            match c.max_tokens {
                Some(m) if c.max_tokens_distinct > 1 => {
                    let _ = writeln!(
                        o,
                        "max_tokens = {m}  # the most common of {} values seen",
                        c.max_tokens_distinct
                    );
                }
                Some(m) => {
                    let _ = writeln!(o, "max_tokens = {m}");
                }
                None => {
                    let _ = writeln!(
                        o,
                        "# max_tokens: not in the trace; client.max_tokens (or the model's maximum) applies"
                    );
                }
            }
        }
        o
    }
}

/// A workload name for a group's value: letters, digits, `_` and `-` kept, other runs of
/// characters made one `_` (so `us.anthropic.claude-sonnet-4-20250514-v1:0` becomes
/// `us_anthropic_claude-sonnet-4-20250514-v1_0`, usable in `--set workloads.NAME.…`).
/// `taken` makes names unique.
pub fn workload_name(value: &str, taken: &[String]) -> String {
    let mut name = String::new();
    for c in value.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            name.push(c);
        } else if !name.ends_with('_') {
            name.push('_');
        }
    }
    let name = name.trim_matches('_');
    let name = if name.is_empty() { "none" } else { name };
    let mut out = name.to_string();
    let mut n = 2;
    while taken.contains(&out) {
        out = format!("{name}_{n}");
        n += 1;
    }
    out
}

#[cfg(test)]
mod workload_name_tests {
    use super::workload_name;

    #[test]
    fn values_become_unique_table_keys() {
        let id = "us.anthropic.claude-sonnet-4-20250514-v1:0";
        assert_eq!(
            workload_name(id, &[]),
            "us_anthropic_claude-sonnet-4-20250514-v1_0"
        );
        assert_eq!(workload_name("", &[]), "none");
        assert_eq!(workload_name("...", &[]), "none");
        let taken = ["a_b".to_string(), "a_b_2".to_string()];
        assert_eq!(workload_name("a.b", &taken), "a_b_3");
        assert_eq!(workload_name("a b", &taken[..1]), "a_b_2");
    }
}

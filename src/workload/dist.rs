//! Token-count distributions (docs/guide/scenarios.md, "Token counts"): a number or a
//! `{ dist = … }` table. Samples are rounded to integers and clamped to `[min, max]`.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, Exp, Gamma, Pareto, StandardNormal};
use serde::{Deserialize, Serialize};

/// z-score of the 95th percentile of a standard normal.
const Z95: f64 = 1.644_853_626_951_472_2;

/// The `max` of a distribution written without one.
pub const UNBOUNDED: u64 = 1 << 53;

fn is_unbounded(max: &u64) -> bool {
    *max >= UNBOUNDED
}

/// A validated token-count distribution.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "dist", rename_all = "lowercase")]
// An explicit tag byte: the niche-packed default makes every `match` in `sample` (four
// per request) decode the discriminant from a `Vec` capacity first.
#[repr(u8)]
pub enum Dist {
    /// Always `value`.
    Fixed {
        /// The value.
        value: u64,
    },
    /// Uniform integers in `[min, max]`.
    Uniform {
        /// Lowest value.
        min: u64,
        /// Highest value.
        max: u64,
    },
    /// Normal with `mean` and `sd`, clamped.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        sd: f64,
        /// Clamp floor.
        min: u64,
        /// Clamp ceiling.
        #[serde(skip_serializing_if = "is_unbounded")]
        max: u64,
    },
    /// Log-normal with log-mean `mu` and log-sd `sigma`, clamped.
    Lognormal {
        /// Mean of the logarithm.
        mu: f64,
        /// Standard deviation of the logarithm.
        sigma: f64,
        /// Clamp floor.
        min: u64,
        /// Clamp ceiling.
        #[serde(skip_serializing_if = "is_unbounded")]
        max: u64,
    },
    /// Exponential with `mean`, clamped.
    Exponential {
        /// Mean.
        mean: f64,
        /// Clamp floor.
        min: u64,
        /// Clamp ceiling.
        #[serde(skip_serializing_if = "is_unbounded")]
        max: u64,
    },
    /// Gamma with `shape` k and `scale` θ (mean kθ, sd √k θ), clamped.
    Gamma {
        /// Shape k.
        shape: f64,
        /// Scale θ.
        scale: f64,
        /// Clamp floor.
        min: u64,
        /// Clamp ceiling.
        #[serde(skip_serializing_if = "is_unbounded")]
        max: u64,
    },
    /// Pareto (type I) with minimum `scale` and tail index `shape`, clamped.
    Pareto {
        /// Scale x_m, the smallest value before clamping.
        scale: f64,
        /// Tail index α (the mean is finite only for α > 1).
        shape: f64,
        /// Clamp floor.
        min: u64,
        /// Clamp ceiling.
        #[serde(skip_serializing_if = "is_unbounded")]
        max: u64,
    },
    /// Observed values with weights, inline or from a CSV column, clamped.
    Empirical {
        /// The values and their weights (written back inline unless they came from a file).
        #[serde(flatten)]
        table: EmpiricalTable,
        /// The CSV file the values came from.
        #[serde(skip_serializing_if = "Option::is_none")]
        file: Option<String>,
        /// The column of `file`.
        #[serde(skip_serializing_if = "Option::is_none")]
        column: Option<String>,
        /// Clamp floor.
        min: u64,
        /// Clamp ceiling.
        #[serde(skip_serializing_if = "is_unbounded")]
        max: u64,
    },
    /// A weighted mixture of other distributions, clamped.
    Mixture {
        /// The components.
        components: Vec<Component>,
        /// Clamp floor.
        min: u64,
        /// Clamp ceiling.
        #[serde(skip_serializing_if = "is_unbounded")]
        max: u64,
    },
}

/// Distinct values with weights and their running totals (for one-draw sampling).
#[derive(Debug, Clone, PartialEq)]
pub struct EmpiricalTable {
    /// Distinct values, ascending.
    pub values: Vec<u64>,
    /// Weight of each value.
    pub weights: Vec<f64>,
    cumulative: Vec<f64>,
    from_file: bool,
}

impl EmpiricalTable {
    /// A table from `(value, weight)` pairs; equal values are merged, zero weights dropped.
    /// `None` when no weight is positive.
    pub fn new(pairs: impl IntoIterator<Item = (u64, f64)>, from_file: bool) -> Option<Self> {
        let mut merged = std::collections::BTreeMap::<u64, f64>::new();
        for (v, w) in pairs {
            if w > 0.0 {
                *merged.entry(v).or_insert(0.0) += w;
            }
        }
        if merged.is_empty() {
            return None;
        }
        let mut acc = 0.0;
        let (mut values, mut weights, mut cumulative) = (Vec::new(), Vec::new(), Vec::new());
        for (v, w) in merged {
            acc += w;
            values.push(v);
            weights.push(w);
            cumulative.push(acc);
        }
        Some(EmpiricalTable {
            values,
            weights,
            cumulative,
            from_file,
        })
    }

    #[inline]
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.random::<f64>() * total;
        let i = self.cumulative.partition_point(|&c| c <= x);
        let i = i.min(self.values.len().saturating_sub(1));
        self.values.get(i).copied().unwrap_or(0)
    }

    /// The value below which `q` of the weight lies.
    fn quantile(&self, q: f64) -> u64 {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let i = self.cumulative.partition_point(|&c| c < q * total);
        let i = i.min(self.values.len().saturating_sub(1));
        self.values.get(i).copied().unwrap_or(0)
    }
}

impl Serialize for EmpiricalTable {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        if self.from_file {
            return s.serialize_map(Some(0))?.end();
        }
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("values", &self.values)?;
        m.serialize_entry("weights", &self.weights)?;
        m.end()
    }
}

/// One weighted component of a mixture.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Component {
    /// Relative weight.
    pub weight: f64,
    /// The component's distribution.
    #[serde(flatten)]
    pub dist: Dist,
}

/// The names `dist` accepts.
pub const DIST_NAMES: [&str; 9] = [
    "fixed",
    "uniform",
    "normal",
    "lognormal",
    "exponential",
    "gamma",
    "pareto",
    "empirical",
    "mixture",
];

/// A distribution table as written, before validation.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDist {
    pub dist: String,
    pub value: Option<f64>,
    pub mean: Option<f64>,
    pub sd: Option<f64>,
    pub median: Option<f64>,
    pub p95: Option<f64>,
    pub shape: Option<f64>,
    pub scale: Option<f64>,
    pub values: Option<Vec<f64>>,
    pub weights: Option<Vec<f64>>,
    pub file: Option<String>,
    pub column: Option<String>,
    pub components: Option<Vec<RawDist>>,
    pub weight: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// A validation failure: the key path (relative to the distribution table) and the message.
pub(crate) type DistError = (Option<String>, String);

fn err<T>(key: Option<&str>, message: impl Into<String>) -> Result<T, DistError> {
    Err((key.map(str::to_string), message.into()))
}

fn bound(v: Option<f64>, default: u64, key: &str) -> Result<u64, DistError> {
    match v {
        None => Ok(default),
        Some(x) if x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x < 9.0e18 => Ok(x as u64),
        Some(x) => err(
            Some(key),
            format!("expected a non-negative integer, found {x}"),
        ),
    }
}

fn positive(v: Option<f64>, key: &str, dist: &str) -> Result<f64, DistError> {
    match v {
        None => err(None, format!("`{dist}` needs `{key}`")),
        Some(x) if x.is_finite() && x > 0.0 => Ok(x),
        Some(x) => err(Some(key), format!("expected a number > 0, found {x}")),
    }
}

/// Where files named in a distribution are looked up, and how deep mixtures may nest.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DistContext<'a> {
    /// Directory of the scenario file (relative `file` paths start here).
    pub base_dir: &'a std::path::Path,
    /// 0 for a top-level table, +1 per mixture level.
    pub depth: u32,
}

impl RawDist {
    /// Validates the table into a [`Dist`]; `default_min` is 0 for cache fields, 1 otherwise.
    pub(crate) fn resolve(&self, default_min: u64, cx: DistContext) -> Result<Dist, DistError> {
        let min = bound(self.min, default_min, "min")?;
        let max = bound(self.max, UNBOUNDED, "max")?;
        if min > max {
            return err(
                Some("min"),
                format!("min ({min}) is greater than max ({max})"),
            );
        }
        let allowed: &[&str] = match self.dist.as_str() {
            "fixed" => &["value"],
            "uniform" => &["min", "max"],
            "normal" => &["mean", "sd", "min", "max"],
            "lognormal" => &["mean", "sd", "median", "p95", "min", "max"],
            "exponential" => &["mean", "min", "max"],
            "gamma" => &["mean", "sd", "shape", "scale", "min", "max"],
            "pareto" => &["scale", "shape", "min", "max"],
            "empirical" => &["values", "weights", "file", "column", "min", "max"],
            "mixture" => &["components", "min", "max"],
            other => {
                let help = crate::error::nearest(other, DIST_NAMES)
                    .map(|n| format!(" (did you mean \"{n}\"?)"))
                    .unwrap_or_default();
                return err(
                    Some("dist"),
                    format!(
                        "unknown distribution \"{other}\"; expected one of {}{help}",
                        quoted(&DIST_NAMES)
                    ),
                );
            }
        };
        for (key, present) in [
            ("value", self.value.is_some()),
            ("mean", self.mean.is_some()),
            ("sd", self.sd.is_some()),
            ("median", self.median.is_some()),
            ("p95", self.p95.is_some()),
            ("shape", self.shape.is_some()),
            ("scale", self.scale.is_some()),
            ("values", self.values.is_some()),
            ("weights", self.weights.is_some()),
            ("file", self.file.is_some()),
            ("column", self.column.is_some()),
            ("components", self.components.is_some()),
        ] {
            if present && !allowed.contains(&key) {
                return err(
                    Some(key),
                    format!(
                        "`{key}` is not a parameter of `{}`; it takes {}",
                        self.dist,
                        quoted(allowed)
                    ),
                );
            }
        }
        if self.weight.is_some() && cx.depth == 0 {
            return err(
                Some("weight"),
                "`weight` only applies to a component of a `mixture` (a class's share is `requests.NAME.weight`)",
            );
        }
        Ok(match self.dist.as_str() {
            "fixed" => {
                let value = bound(self.value, 0, "value")?;
                if self.value.is_none() {
                    return err(None, "`fixed` needs `value`");
                }
                Dist::Fixed { value }
            }
            "uniform" => {
                if self.min.is_none() || self.max.is_none() {
                    return err(None, "`uniform` needs `min` and `max`");
                }
                Dist::Uniform { min, max }
            }
            "normal" => {
                let mean = finite(self.mean, "mean", "normal")?;
                let sd = non_negative(self.sd, "sd", "normal")?;
                Dist::Normal { mean, sd, min, max }
            }
            "lognormal" => {
                let (mu, sigma) = match (self.mean, self.sd, self.median, self.p95) {
                    (Some(_), Some(_), None, None) => {
                        let mean = positive(self.mean, "mean", "lognormal")?;
                        let sd = non_negative(self.sd, "sd", "lognormal")?;
                        let s2 = (1.0 + (sd / mean).powi(2)).ln();
                        (mean.ln() - s2 / 2.0, s2.sqrt())
                    }
                    (None, None, Some(_), Some(_)) => {
                        let median = positive(self.median, "median", "lognormal")?;
                        let p95 = positive(self.p95, "p95", "lognormal")?;
                        if p95 <= median {
                            return err(
                                Some("p95"),
                                format!("p95 ({p95}) must be greater than median ({median})"),
                            );
                        }
                        (median.ln(), (p95.ln() - median.ln()) / Z95)
                    }
                    _ => {
                        return err(
                            None,
                            "`lognormal` needs either `mean` and `sd`, or `median` and `p95`",
                        );
                    }
                };
                Dist::Lognormal {
                    mu,
                    sigma,
                    min,
                    max,
                }
            }
            "exponential" => Dist::Exponential {
                mean: positive(self.mean, "mean", "exponential")?,
                min,
                max,
            },
            "gamma" => {
                let (shape, scale) = match (self.mean, self.sd, self.shape, self.scale) {
                    (Some(_), Some(_), None, None) => {
                        let mean = positive(self.mean, "mean", "gamma")?;
                        let sd = positive(self.sd, "sd", "gamma")?;
                        ((mean / sd).powi(2), sd * sd / mean)
                    }
                    (None, None, Some(_), Some(_)) => (
                        positive(self.shape, "shape", "gamma")?,
                        positive(self.scale, "scale", "gamma")?,
                    ),
                    _ => {
                        return err(
                            None,
                            "`gamma` needs either `mean` and `sd`, or `shape` and `scale`",
                        );
                    }
                };
                Dist::Gamma {
                    shape,
                    scale,
                    min,
                    max,
                }
            }
            "pareto" => Dist::Pareto {
                scale: positive(self.scale, "scale", "pareto")?,
                shape: positive(self.shape, "shape", "pareto")?,
                min,
                max,
            },
            "empirical" => self.resolve_empirical(min, max, cx)?,
            _ => self.resolve_mixture(default_min, min, max, cx)?,
        })
    }

    fn resolve_empirical(&self, min: u64, max: u64, cx: DistContext) -> Result<Dist, DistError> {
        match (&self.values, &self.file) {
            (Some(values), None) => {
                if self.column.is_some() {
                    return err(Some("column"), "`column` goes with `file`, not `values`");
                }
                if values.is_empty() {
                    return err(Some("values"), "expected at least one value");
                }
                let weights = match &self.weights {
                    None => vec![1.0; values.len()],
                    Some(w) if w.len() == values.len() => w.clone(),
                    Some(w) => {
                        return err(
                            Some("weights"),
                            format!(
                                "expected one weight per value ({} values), found {} weights",
                                values.len(),
                                w.len()
                            ),
                        );
                    }
                };
                let mut pairs = Vec::with_capacity(values.len());
                for (i, (&v, &w)) in values.iter().zip(&weights).enumerate() {
                    let v = bound(Some(v), 0, "values")
                        .map_err(|(_, m)| (Some(format!("values[{i}]")), m))?;
                    if !(w.is_finite() && w >= 0.0) {
                        return err(
                            Some(&format!("weights[{i}]")),
                            format!("expected a number ≥ 0, found {w}"),
                        );
                    }
                    pairs.push((v, w));
                }
                let table = EmpiricalTable::new(pairs, false).map_or_else(
                    || {
                        err(
                            Some("weights"),
                            "every weight is 0; at least one must be > 0",
                        )
                    },
                    Ok,
                )?;
                Ok(Dist::Empirical {
                    table,
                    file: None,
                    column: None,
                    min,
                    max,
                })
            }
            (None, Some(file)) => {
                if self.weights.is_some() {
                    return err(
                        Some("weights"),
                        "`weights` goes with inline `values`; values from a file weigh 1 each",
                    );
                }
                let Some(column) = &self.column else {
                    return err(
                        None,
                        "`empirical` with `file` needs `column`, the CSV column to read",
                    );
                };
                let path = cx.base_dir.join(file);
                let counts = crate::trace::csv::read_column(&path, column)
                    .map_err(|m| (Some("file".to_string()), m))?;
                let table =
                    EmpiricalTable::new(counts.into_iter().map(|(v, n)| (v, n as f64)), true)
                        .map_or_else(
                            || {
                                err(
                                    Some("file"),
                                    format!("{}: column `{column}` has no values", path.display()),
                                )
                            },
                            Ok,
                        )?;
                Ok(Dist::Empirical {
                    table,
                    file: Some(path.display().to_string()),
                    column: Some(column.clone()),
                    min,
                    max,
                })
            }
            (Some(_), Some(_)) => err(
                None,
                "`empirical` takes either inline `values` or a `file` and `column`, not both",
            ),
            (None, None) => err(
                None,
                "`empirical` needs `values = [...]` (with optional `weights`) or `file` and `column`",
            ),
        }
    }

    fn resolve_mixture(
        &self,
        default_min: u64,
        min: u64,
        max: u64,
        cx: DistContext,
    ) -> Result<Dist, DistError> {
        const MAX_DEPTH: u32 = 8;
        let Some(raw) = self.components.as_ref().filter(|c| !c.is_empty()) else {
            return err(
                None,
                "`mixture` needs `components = [ { dist = …, weight = … }, … ]` (at least one)",
            );
        };
        if cx.depth >= MAX_DEPTH {
            return err(
                Some("components"),
                format!("mixtures nest at most {MAX_DEPTH} levels deep"),
            );
        }
        let inner = DistContext {
            depth: cx.depth + 1,
            ..cx
        };
        let mut components = Vec::with_capacity(raw.len());
        for (i, c) in raw.iter().enumerate() {
            let at = |k: Option<String>| {
                Some(match k {
                    Some(k) => format!("components[{i}].{k}"),
                    None => format!("components[{i}]"),
                })
            };
            let weight = match c.weight {
                None => 1.0,
                Some(w) if w.is_finite() && w >= 0.0 => w,
                Some(w) => {
                    return Err((
                        at(Some("weight".into())),
                        format!("expected a number ≥ 0, found {w}"),
                    ));
                }
            };
            let dist = c.resolve(default_min, inner).map_err(|(k, m)| (at(k), m))?;
            components.push(Component { weight, dist });
        }
        if !components.iter().any(|c| c.weight > 0.0) {
            return err(
                Some("components"),
                "every component has weight 0; at least one must be > 0",
            );
        }
        Ok(Dist::Mixture {
            components,
            min,
            max,
        })
    }
}

fn finite(v: Option<f64>, key: &str, dist: &str) -> Result<f64, DistError> {
    match v {
        None => err(None, format!("`{dist}` needs `{key}`")),
        Some(x) if x.is_finite() => Ok(x),
        Some(x) => err(Some(key), format!("expected a finite number, found {x}")),
    }
}

fn non_negative(v: Option<f64>, key: &str, dist: &str) -> Result<f64, DistError> {
    match v {
        None => err(None, format!("`{dist}` needs `{key}`")),
        Some(x) if x.is_finite() && x >= 0.0 => Ok(x),
        Some(x) => err(Some(key), format!("expected a number ≥ 0, found {x}")),
    }
}

pub(crate) fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// z-score of the 99.99th percentile of a standard normal.
const Z9999: f64 = 3.719_016_485_455_709;

impl Dist {
    /// Draws one sample.
    // The common shapes are inlined into the caller; the others are one call away, so that
    // this stays small (it runs for every size of every request). Inlined into each call
    // site, so that each site's branch on the shape is predicted on its own (a class's cache
    // sizes are usually fixed, its input and output not).
    #[inline(always)]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        // Bound by reference so that the clamp bounds are read after the draw, not held
        // across the calls (which spills them to the stack).
        match self {
            &Dist::Fixed { value } => value,
            // `rand_distr`'s `Normal` and `LogNormal` (mean + sd·z, and its exponential),
            // without building them per draw; a non-finite sd draws nothing, as `new` fails.
            // `Distribution::sample` rather than `rng.sample`: through `RngExt::sample` the
            // ziggurat stayed a call per draw.
            Dist::Normal { mean, sd, min, max } => {
                let x = if sd.is_finite() {
                    mean + sd * Distribution::<f64>::sample(&StandardNormal, rng)
                } else {
                    *mean
                };
                clamp_round(x, *min, *max)
            }
            Dist::Lognormal {
                mu,
                sigma,
                min,
                max,
            } => {
                let x = if sigma.is_finite() {
                    (mu + sigma * Distribution::<f64>::sample(&StandardNormal, rng)).exp()
                } else {
                    mu.exp()
                };
                clamp_round(x, *min, *max)
            }
            _ => self.sample_other(rng),
        }
    }

    /// [`Dist::sample`] for the less common shapes.
    #[inline(never)]
    fn sample_other<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        let (x, min, max) = match self {
            Dist::Fixed { .. } | Dist::Normal { .. } | Dist::Lognormal { .. } => {
                return self.sample(rng);
            }
            Dist::Uniform { min, max } => return rng.random_range(*min..=*max),
            &Dist::Exponential { mean, min, max } => {
                let x = Exp::new(1.0 / mean).map_or(mean, |d| d.sample(rng));
                (x, min, max)
            }
            &Dist::Gamma {
                shape,
                scale,
                min,
                max,
            } => {
                let x = Gamma::new(shape, scale).map_or(shape * scale, |d| d.sample(rng));
                (x, min, max)
            }
            &Dist::Pareto {
                scale,
                shape,
                min,
                max,
            } => {
                let x = Pareto::new(scale, shape).map_or(scale, |d| d.sample(rng));
                (x, min, max)
            }
            Dist::Empirical {
                table, min, max, ..
            } => return table.sample(rng).clamp(*min, *max),
            Dist::Mixture {
                components,
                min,
                max,
            } => {
                let total: f64 = components.iter().map(|c| c.weight).sum();
                let mut x = rng.random::<f64>() * total;
                let mut chosen = components.last();
                for c in components {
                    if x < c.weight {
                        chosen = Some(c);
                        break;
                    }
                    x -= c.weight;
                }
                let v = chosen.map_or(*min, |c| c.dist.sample(rng));
                return v.clamp(*min, *max);
            }
        };
        clamp_round(x, min, max)
    }

    /// The smallest value a sample can take.
    pub fn min_value(&self) -> u64 {
        match self {
            Dist::Fixed { value } => *value,
            Dist::Empirical { table, min, .. } => {
                table.values.first().copied().unwrap_or(0).max(*min)
            }
            Dist::Mixture {
                components, min, ..
            } => components
                .iter()
                .filter(|c| c.weight > 0.0)
                .map(|c| c.dist.min_value())
                .min()
                .unwrap_or(0)
                .max(*min),
            Dist::Uniform { min, .. }
            | Dist::Normal { min, .. }
            | Dist::Lognormal { min, .. }
            | Dist::Exponential { min, .. }
            | Dist::Gamma { min, .. }
            | Dist::Pareto { min, .. } => *min,
        }
    }

    /// The largest value a sample can take.
    pub fn max_value(&self) -> u64 {
        match self {
            Dist::Fixed { value } => *value,
            Dist::Empirical { table, max, .. } => {
                table.values.last().copied().unwrap_or(0).min(*max)
            }
            Dist::Mixture {
                components, max, ..
            } => components
                .iter()
                .filter(|c| c.weight > 0.0)
                .map(|c| c.dist.max_value())
                .max()
                .unwrap_or(0)
                .min(*max),
            Dist::Uniform { max, .. }
            | Dist::Normal { max, .. }
            | Dist::Lognormal { max, .. }
            | Dist::Exponential { max, .. }
            | Dist::Gamma { max, .. }
            | Dist::Pareto { max, .. } => *max,
        }
    }

    /// A value samples exceed with probability below 1e-4 (the clamp ceiling when lower):
    /// what `check` uses to warn about requests that may be unservable.
    pub fn practical_max(&self) -> u64 {
        let q = match self {
            Dist::Fixed { value } => return *value,
            Dist::Uniform { max, .. } => return *max,
            Dist::Normal { mean, sd, .. } => mean + Z9999 * sd,
            Dist::Lognormal { mu, sigma, .. } => (mu + Z9999 * sigma).exp(),
            Dist::Exponential { mean, .. } => mean * 10_000f64.ln(),
            Dist::Gamma { shape, scale, .. } => {
                // Wilson–Hilferty: the cube root of a gamma variate is nearly normal.
                let c = 1.0 / (9.0 * shape);
                let w = (1.0 - c + Z9999 * c.sqrt()).max(0.0);
                shape * scale * w.powi(3)
            }
            Dist::Pareto { scale, shape, .. } => scale * 10_000f64.powf(1.0 / shape),
            Dist::Empirical { table, max, .. } => {
                return table.quantile(0.9999).min(*max);
            }
            Dist::Mixture {
                components, max, ..
            } => {
                return components
                    .iter()
                    .filter(|c| c.weight > 0.0)
                    .map(|c| c.dist.practical_max())
                    .max()
                    .unwrap_or(0)
                    .min(*max);
            }
        };
        let q = if q.is_finite() && q > 0.0 {
            q.ceil().min(UNBOUNDED as f64) as u64
        } else {
            0
        };
        q.min(self.max_value())
    }

    /// Whether every sample is the same value.
    pub fn is_fixed(&self) -> bool {
        match self {
            Dist::Fixed { .. } => true,
            Dist::Uniform { min, max } => min == max,
            Dist::Empirical { table, .. } => table.values.len() == 1,
            _ => false,
        }
    }
}

/// Rounds to the nearest integer and clamps to `[min, max]` (NaN gives `min`).
#[inline]
fn clamp_round(x: f64, min: u64, max: u64) -> u64 {
    // NaN rounds to 0, which the clamp raises to `min`: no test of its own. Not `clamp`,
    // whose `min <= max` assertion would cost a compare per draw: validation guarantees it.
    crate::num::round_u64(x).max(min).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn cx() -> DistContext<'static> {
        DistContext {
            base_dir: std::path::Path::new(""),
            depth: 0,
        }
    }

    fn raw(dist: &str) -> RawDist {
        RawDist {
            dist: dist.into(),
            ..Default::default()
        }
    }

    #[test]
    fn lognormal_mean_sd_matches_moments() {
        let d = RawDist {
            mean: Some(1000.0),
            sd: Some(500.0),
            ..raw("lognormal")
        }
        .resolve(1, cx())
        .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| d.sample(&mut rng) as f64).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
        assert!((mean - 1000.0).abs() < 10.0, "{mean}");
        assert!((sd - 500.0).abs() < 15.0, "{sd}");
    }

    #[test]
    fn lognormal_median_p95() {
        let d = RawDist {
            median: Some(200.0),
            p95: Some(800.0),
            ..raw("lognormal")
        }
        .resolve(1, cx())
        .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut xs: Vec<u64> = (0..100_000).map(|_| d.sample(&mut rng)).collect();
        xs.sort_unstable();
        let med = xs[50_000] as f64;
        let p95 = xs[95_000] as f64;
        assert!((med - 200.0).abs() / 200.0 < 0.02, "{med}");
        assert!((p95 - 800.0).abs() / 800.0 < 0.03, "{p95}");
    }

    #[test]
    fn clamps_to_min_max() {
        let d = RawDist {
            mean: Some(100.0),
            sd: Some(1000.0),
            min: Some(50.0),
            max: Some(120.0),
            ..raw("normal")
        }
        .resolve(1, cx())
        .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..10_000 {
            let x = d.sample(&mut rng);
            assert!((50..=120).contains(&x));
        }
    }

    #[test]
    fn clamp_round_nan_gives_min() {
        assert_eq!(clamp_round(f64::NAN, 5, 9), 5);
        assert_eq!(clamp_round(-3.0, 5, 9), 5);
        assert_eq!(clamp_round(7.5, 5, 9), 8);
        assert_eq!(clamp_round(f64::INFINITY, 5, 9), 9);
    }

    #[test]
    fn uniform_covers_range() {
        let d = RawDist {
            min: Some(3.0),
            max: Some(5.0),
            ..raw("uniform")
        }
        .resolve(1, cx())
        .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut seen = [false; 6];
        for _ in 0..1000 {
            seen[d.sample(&mut rng) as usize] = true;
        }
        assert_eq!(seen, [false, false, false, true, true, true]);
    }

    #[test]
    fn exponential_mean() {
        let d = RawDist {
            mean: Some(400.0),
            min: Some(0.0),
            ..raw("exponential")
        }
        .resolve(1, cx())
        .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mean = (0..100_000).map(|_| d.sample(&mut rng) as f64).sum::<f64>() / 100_000.0;
        assert!((mean - 400.0).abs() < 6.0, "{mean}");
    }

    #[test]
    fn invalid_tables() {
        for (what, d) in [
            (
                "normal, negative sd",
                RawDist {
                    sd: Some(-1.0),
                    mean: Some(3.0),
                    ..raw("normal")
                },
            ),
            (
                "uniform, min above max",
                RawDist {
                    min: Some(10.0),
                    max: Some(5.0),
                    ..raw("uniform")
                },
            ),
            (
                "lognormal, p95 below median",
                RawDist {
                    median: Some(10.0),
                    p95: Some(5.0),
                    ..raw("lognormal")
                },
            ),
            (
                "lognormal, mean only",
                RawDist {
                    mean: Some(10.0),
                    ..raw("lognormal")
                },
            ),
            (
                "exponential with sd",
                RawDist {
                    mean: Some(10.0),
                    sd: Some(1.0),
                    ..raw("exponential")
                },
            ),
        ] {
            assert!(d.resolve(1, cx()).is_err(), "{what}");
        }
        let e = raw("lognormel").resolve(1, cx()).unwrap_err();
        assert!(e.1.contains("did you mean \"lognormal\""), "{}", e.1);
    }
}

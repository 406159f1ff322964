//! Parameter grids for `quotasim sweep`.
//!
//! A [`Vary`] is one `--vary PATH=VALUES` axis. `VALUES` is one of
//!
//! * a comma list `256,512,1024` (each value is kept as raw text and later parsed as a TOML
//!   value by the scenario loader, so `token-bucket`, `"quoted, with comma"` and `[1, 2]` all
//!   work; commas inside quotes or brackets do not split),
//! * an integer range `1..64` (inclusive, step 1), optionally with a step: `1..64:+8`
//!   (`..=` is accepted as a synonym of `..`),
//! * a geometric range `1..64:x2` (1, 2, 4, …, 64; stops before exceeding the end).
//!
//! A [`Grid`] is the cartesian product of its axes, first axis outermost (the last axis varies
//! fastest). A [`Shard`] `K/N` selects the points `i` with `i % N == K`.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// The most values a single `--vary` axis may expand to.
pub const MAX_VALUES: usize = 100_000;

/// Why a `--vary`, grid or `--shard` specification was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GridError {
    #[error(
        "invalid --vary `{spec}`: missing `=`; expected PATH=VALUES, e.g. `max_tokens=256,512,1024`"
    )]
    /// No `=` in a `--vary` text.
    MissingEquals {
        /// The text as given.
        spec: String,
    },
    #[error(
        "invalid --vary `{spec}`: the key path before `=` is empty; expected PATH=VALUES, e.g. `client.concurrency=1..64`"
    )]
    /// No key path before `=`.
    EmptyPath {
        /// The text as given.
        spec: String,
    },
    #[error(
        "invalid key path `{path}`: {reason}; expected dotted keys such as `client.concurrency` or `requests.chat.max_tokens`"
    )]
    /// The key path is malformed.
    BadPath {
        /// The key path as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    #[error(
        "invalid values for `{path}`: the value list is empty; expected a list `256,512`, a range `1..64`, `1..64:+8` or `1..64:x2`"
    )]
    /// No values after `=`.
    EmptyValues {
        /// The varied key.
        path: String,
    },
    #[error(
        "invalid values for `{path}`: value {position} of `{values}` is empty; remove the extra comma"
    )]
    /// One value of a list is empty.
    EmptyValue {
        /// The varied key.
        path: String,
        /// The values as written.
        values: String,
        /// 1-based position of the empty value.
        position: usize,
    },
    #[error("invalid values for `{path}`: `{values}` has an unterminated {what}")]
    /// Unbalanced brackets or quotes.
    Unbalanced {
        /// The varied key.
        path: String,
        /// The values as written.
        values: String,
        /// What is unbalanced.
        what: String,
    },
    #[error(
        "invalid range `{range}` for `{path}`: {reason}; expected START..END, START..END:+STEP or START..END:xFACTOR with integers, e.g. `1..64`, `0..1000:+100`, `1..64:x2`"
    )]
    /// A range that cannot be expanded.
    BadRange {
        /// The varied key.
        path: String,
        /// The range as written.
        range: String,
        /// What is wrong with it.
        reason: String,
    },
    #[error(
        "invalid values for `{path}`: `{values}` expands to {count} values, more than the limit of {max}"
    )]
    /// A list or range beyond the value limit.
    TooManyValues {
        /// The varied key.
        path: String,
        /// The values as written.
        values: String,
        /// How many values it expands to.
        count: String,
        /// The limit.
        max: usize,
    },
    #[error("key `{path}` is varied more than once; give all its values in one --vary")]
    /// The same key varied twice.
    DuplicatePath {
        /// The key varied twice.
        path: String,
    },
    #[error(
        "the grid has too many points (the product of the axis sizes overflows); vary fewer keys or fewer values"
    )]
    /// The grid has more points than can be addressed.
    GridTooLarge,
    #[error("invalid --shard `{spec}`: {reason}; expected K/N with 0 <= K < N, e.g. `0/4`")]
    /// A `--shard` text that is not K/N with K < N.
    BadShard {
        /// The text as given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// One varied key: a dotted scenario path and the raw (TOML-text) values it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vary {
    /// Dotted key path.
    pub path: String,
    /// The values, as TOML text.
    pub values: Vec<String>,
}

impl Vary {
    /// Parses `PATH=VALUES`.
    pub fn parse(spec: &str) -> Result<Vary, GridError> {
        let Some((path, values)) = spec.split_once('=') else {
            return Err(GridError::MissingEquals {
                spec: spec.to_string(),
            });
        };
        let path = path.trim();
        if path.is_empty() {
            return Err(GridError::EmptyPath {
                spec: spec.to_string(),
            });
        }
        validate_path(path)?;
        let values = parse_values(path, values)?;
        Ok(Vary {
            path: path.to_string(),
            values,
        })
    }

    /// Builds an axis from already-split values (e.g. from a `[sweep]` table), applying the
    /// same checks as [`Vary::parse`] (valid path, at least one value, none empty, at most
    /// [`MAX_VALUES`]).
    pub fn new(path: &str, values: Vec<String>) -> Result<Vary, GridError> {
        let path = path.trim();
        if path.is_empty() {
            return Err(GridError::EmptyPath {
                spec: format!("={}", values.join(",")),
            });
        }
        validate_path(path)?;
        if values.is_empty() {
            return Err(GridError::EmptyValues {
                path: path.to_string(),
            });
        }
        if values.len() > MAX_VALUES {
            return Err(GridError::TooManyValues {
                path: path.to_string(),
                values: format!("{} values", values.len()),
                count: values.len().to_string(),
                max: MAX_VALUES,
            });
        }
        let mut out = Vec::with_capacity(values.len());
        for (i, v) in values.iter().enumerate() {
            let t = v.trim();
            if t.is_empty() {
                return Err(GridError::EmptyValue {
                    path: path.to_string(),
                    values: values.join(","),
                    position: i + 1,
                });
            }
            out.push(t.to_string());
        }
        Ok(Vary {
            path: path.to_string(),
            values: out,
        })
    }

    /// Points in the grid.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the grid has no point.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl FromStr for Vary {
    type Err = GridError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Vary::parse(s)
    }
}

impl fmt::Display for Vary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.path, self.values.join(","))
    }
}

fn validate_path(path: &str) -> Result<(), GridError> {
    let bad = |reason: &str| GridError::BadPath {
        path: path.to_string(),
        reason: reason.to_string(),
    };
    if path.chars().any(char::is_whitespace) {
        return Err(bad("it contains whitespace"));
    }
    if path.split('.').any(str::is_empty) {
        return Err(bad("it has an empty key between dots"));
    }
    Ok(())
}

/// Expands the `VALUES` part of `--vary` for key `path` (used only in error messages).
pub fn parse_values(path: &str, values: &str) -> Result<Vec<String>, GridError> {
    let trimmed = values.trim();
    if trimmed.is_empty() {
        return Err(GridError::EmptyValues {
            path: path.to_string(),
        });
    }
    let items = split_list(path, trimmed)?;
    if items.len() == 1 && looks_like_range(trimmed) {
        return parse_range(path, trimmed);
    }
    if items.len() > MAX_VALUES {
        return Err(GridError::TooManyValues {
            path: path.to_string(),
            values: abbreviate(trimmed),
            count: items.len().to_string(),
            max: MAX_VALUES,
        });
    }
    Ok(items)
}

fn abbreviate(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head}…")
    }
}

/// Splits on top-level commas (not inside quotes, brackets or braces) and trims each item.
fn split_list(path: &str, s: &str) -> Result<Vec<String>, GridError> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut depth: Vec<char> = Vec::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let unbalanced = |what: &str| GridError::Unbalanced {
        path: path.to_string(),
        values: s.to_string(),
        what: what.to_string(),
    };
    for c in s.chars() {
        if let Some(q) = quote {
            current.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' && q == '"' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => {
                quote = Some(c);
                current.push(c);
            }
            '[' => {
                depth.push(']');
                current.push(c);
            }
            '{' => {
                depth.push('}');
                current.push(c);
            }
            ']' | '}' => {
                if depth.pop() != Some(c) {
                    return Err(unbalanced(&format!("or unmatched `{c}`")));
                }
                current.push(c);
            }
            ',' if depth.is_empty() => {
                push_item(path, s, &mut items, &current)?;
                current.clear();
            }
            _ => current.push(c),
        }
    }
    if quote.is_some() {
        return Err(unbalanced("quoted string"));
    }
    if let Some(close) = depth.last() {
        return Err(unbalanced(&format!("bracket (missing `{close}`)")));
    }
    push_item(path, s, &mut items, &current)?;
    Ok(items)
}

fn push_item(path: &str, s: &str, items: &mut Vec<String>, item: &str) -> Result<(), GridError> {
    let t = item.trim();
    if t.is_empty() {
        return Err(GridError::EmptyValue {
            path: path.to_string(),
            values: s.to_string(),
            position: items.len() + 1,
        });
    }
    items.push(t.to_string());
    Ok(())
}

fn looks_like_range(s: &str) -> bool {
    !s.starts_with(['"', '\'', '[', '{']) && s.contains("..")
}

fn parse_range(path: &str, spec: &str) -> Result<Vec<String>, GridError> {
    let bad = |reason: String| GridError::BadRange {
        path: path.to_string(),
        range: spec.to_string(),
        reason,
    };
    let (bounds, modifier) = match spec.split_once(':') {
        Some((b, m)) => (b, Some(m.trim())),
        None => (spec, None),
    };
    let (start, end) = if let Some((a, b)) = bounds.split_once("..=") {
        (a, b)
    } else if let Some((a, b)) = bounds.split_once("..") {
        (a, b)
    } else {
        return Err(bad("missing `..` between START and END".to_string()));
    };
    let parse_int = |what: &str, text: &str| -> Result<i64, GridError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(bad(format!("{what} is missing")));
        }
        t.parse::<i64>()
            .map_err(|_| bad(format!("{what} `{t}` is not an integer")))
    };
    let start = parse_int("START", start)?;
    let end = parse_int("END", end)?;
    if end < start {
        return Err(bad(format!("END {end} is less than START {start}")));
    }
    match modifier {
        None => arithmetic(path, spec, start, end, 1),
        Some(m) => {
            if let Some(step) = m.strip_prefix('+') {
                let step = step.trim();
                let step: i64 = step
                    .parse()
                    .map_err(|_| bad(format!("step `{step}` is not an integer")))?;
                if step <= 0 {
                    return Err(bad(format!("step {step} must be at least 1")));
                }
                arithmetic(path, spec, start, end, step)
            } else if let Some(factor) = m.strip_prefix(['x', 'X', '*']) {
                let factor = factor.trim();
                let factor: i64 = factor.parse().map_err(|_| {
                    bad(format!(
                        "factor `{factor}` is not an integer (it must be at least 2)"
                    ))
                })?;
                if factor <= 1 {
                    return Err(bad(format!("factor {factor} must be at least 2")));
                }
                if start < 1 {
                    return Err(bad(format!(
                        "a geometric range must start at 1 or more, not {start}"
                    )));
                }
                Ok(geometric(start, end, factor))
            } else if m.is_empty() {
                Err(bad("nothing after `:`".to_string()))
            } else {
                Err(bad(format!(
                    "`:{m}` is neither a step `:+N` nor a factor `:xN`"
                )))
            }
        }
    }
}

fn arithmetic(
    path: &str,
    spec: &str,
    start: i64,
    end: i64,
    step: i64,
) -> Result<Vec<String>, GridError> {
    let count = (i128::from(end) - i128::from(start)) / i128::from(step) + 1;
    if count > MAX_VALUES as i128 {
        return Err(GridError::TooManyValues {
            path: path.to_string(),
            values: spec.to_string(),
            count: count.to_string(),
            max: MAX_VALUES,
        });
    }
    let mut out = Vec::new();
    let mut v = start;
    loop {
        out.push(v.to_string());
        match v.checked_add(step) {
            Some(next) if next <= end => v = next,
            _ => break,
        }
    }
    Ok(out)
}

fn geometric(start: i64, end: i64, factor: i64) -> Vec<String> {
    let mut out = Vec::new();
    let mut v = start;
    loop {
        out.push(v.to_string());
        match v.checked_mul(factor) {
            Some(next) if next <= end => v = next,
            _ => break,
        }
    }
    out
}

/// The cartesian product of several axes, first axis outermost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid {
    axes: Vec<Vary>,
    len: usize,
}

impl Grid {
    /// Builds a grid. An empty list of axes gives a grid of one point with no assignments.
    /// Errors when a path is varied twice, an axis is empty, or the size overflows `usize`.
    pub fn new(axes: Vec<Vary>) -> Result<Grid, GridError> {
        let mut len: usize = 1;
        for (i, axis) in axes.iter().enumerate() {
            if axes.iter().take(i).any(|a| a.path == axis.path) {
                return Err(GridError::DuplicatePath {
                    path: axis.path.clone(),
                });
            }
            if axis.values.is_empty() {
                return Err(GridError::EmptyValues {
                    path: axis.path.clone(),
                });
            }
            len = len
                .checked_mul(axis.values.len())
                .ok_or(GridError::GridTooLarge)?;
        }
        Ok(Grid { axes, len })
    }

    /// Parses several `--vary` specifications, in order, into a grid.
    pub fn parse<S: AsRef<str>>(specs: &[S]) -> Result<Grid, GridError> {
        let axes = specs
            .iter()
            .map(|s| Vary::parse(s.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Grid::new(axes)
    }

    /// The axes, first outermost.
    pub fn axes(&self) -> &[Vary] {
        &self.axes
    }

    /// Number of points (the product of the axis sizes; 1 for no axes).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a grid has at least one point.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The per-axis value indices of point `i` (first axis first), or `None` if out of range.
    pub fn coordinates(&self, i: usize) -> Option<Vec<usize>> {
        if i >= self.len {
            return None;
        }
        let mut rest = i;
        let mut coords = vec![0; self.axes.len()];
        for (slot, axis) in coords.iter_mut().zip(&self.axes).rev() {
            let n = axis.values.len();
            *slot = rest % n;
            rest /= n;
        }
        Some(coords)
    }

    /// The `(path, value)` assignments of point `i`, first axis first, or `None` if
    /// `i >= len()`.
    pub fn point(&self, i: usize) -> Option<Vec<(String, String)>> {
        let coords = self.coordinates(i)?;
        self.axes
            .iter()
            .zip(coords)
            .map(|(axis, c)| axis.values.get(c).map(|v| (axis.path.clone(), v.clone())))
            .collect()
    }

    /// The point indices in `0..len()`, restricted to `shard` if given, in increasing order.
    pub fn indices(&self, shard: Option<Shard>) -> impl Iterator<Item = usize> + use<> {
        let (start, step) = match shard {
            Some(s) => (s.k, s.n),
            None => (0, 1),
        };
        (start..self.len).step_by(step.max(1))
    }
}

/// `--shard K/N`: this process runs the points `i` with `i % N == K`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    /// This shard's index, from 0.
    pub k: usize,
    /// The number of shards.
    pub n: usize,
}

impl Shard {
    /// Parses `K/N`.
    pub fn parse(spec: &str) -> Result<Shard, GridError> {
        let bad = |reason: String| GridError::BadShard {
            spec: spec.to_string(),
            reason,
        };
        let Some((k, n)) = spec.trim().split_once('/') else {
            return Err(bad("missing `/`".to_string()));
        };
        let (k, n) = (k.trim(), n.trim());
        let k: usize = k
            .parse()
            .map_err(|_| bad(format!("K `{k}` is not a non-negative integer")))?;
        let n: usize = n
            .parse()
            .map_err(|_| bad(format!("N `{n}` is not a positive integer")))?;
        if n == 0 {
            return Err(bad("N must be at least 1".to_string()));
        }
        if k >= n {
            return Err(bad(format!(
                "K {k} is not less than N {n} (shards are numbered from 0)"
            )));
        }
        Ok(Shard { k, n })
    }

    /// Whether point `i` belongs to this shard.
    pub fn contains(&self, i: usize) -> bool {
        i.checked_rem(self.n) == Some(self.k)
    }
}

impl FromStr for Shard {
    type Err = GridError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Shard::parse(s)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(spec: &str) -> Vec<String> {
        match Vary::parse(spec) {
            Ok(v) => v.values,
            Err(e) => panic!("{spec}: {e}"),
        }
    }

    fn err(spec: &str) -> String {
        match Vary::parse(spec) {
            Ok(v) => panic!("{spec} parsed as {v:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn comma_lists_keep_raw_values() {
        let v = Vary::parse("max_tokens=256, 512,1024").unwrap();
        assert_eq!(v.path, "max_tokens");
        assert_eq!(v.values, ["256", "512", "1024"]);
        assert_eq!(
            vals("limits.kind=token-bucket,fixed-window"),
            ["token-bucket", "fixed-window"]
        );
        assert_eq!(vals("x=42"), ["42"]);
        assert_eq!(vals("x=0.5,1e3"), ["0.5", "1e3"]);
    }

    #[test]
    fn commas_inside_quotes_and_brackets_do_not_split() {
        assert_eq!(vals(r#"name="a,b",'c,d',e"#), [r#""a,b""#, "'c,d'", "e"]);
        assert_eq!(vals("w=[1,2],[3,4]"), ["[1,2]", "[3,4]"]);
        assert_eq!(vals("t={a=1,b=2}"), ["{a=1,b=2}"]);
        assert_eq!(vals(r#"s="x\",y""#), [r#""x\",y""#]);
        assert_eq!(vals(r#"s="1..5""#), [r#""1..5""#]);
    }

    #[test]
    fn value_may_contain_equals() {
        assert_eq!(vals("t={a=1}"), ["{a=1}"]);
    }

    #[test]
    fn integer_ranges() {
        assert_eq!(vals("c=1..4"), ["1", "2", "3", "4"]);
        assert_eq!(vals("c=1..=3"), ["1", "2", "3"]);
        assert_eq!(vals("c=5..5"), ["5"]);
        assert_eq!(vals("c=-2..1"), ["-2", "-1", "0", "1"]);
        assert_eq!(
            vals("c=1..64:+8"),
            ["1", "9", "17", "25", "33", "41", "49", "57"]
        );
        assert_eq!(vals("c=0..16:+8"), ["0", "8", "16"]);
        assert_eq!(vals("c= 1 .. 3 "), ["1", "2", "3"]);
        assert_eq!(vals("c=1..64").len(), 64);
    }

    #[test]
    fn geometric_ranges() {
        assert_eq!(vals("c=1..64:x2"), ["1", "2", "4", "8", "16", "32", "64"]);
        assert_eq!(vals("c=1..100:x2"), ["1", "2", "4", "8", "16", "32", "64"]);
        assert_eq!(vals("c=3..100:x3"), ["3", "9", "27", "81"]);
        assert_eq!(vals("c=5..5:x2"), ["5"]);
        // no overflow near i64::MAX
        assert_eq!(vals(&format!("c=1..{}:x2", i64::MAX)).len(), 63);
    }

    #[test]
    fn range_near_i64_max_does_not_overflow() {
        let max = i64::MAX;
        assert_eq!(vals(&format!("c={}..{max}", max - 2)).len(), 3);
        assert_eq!(vals(&format!("c={}..{max}:+5", max - 2)).len(), 1);
    }

    #[test]
    fn structural_errors() {
        assert!(err("max_tokens").contains("missing `=`"));
        assert!(err("=1,2").contains("path before `=` is empty"));
        assert!(err("  =1,2").contains("empty"));
        assert!(err("a..b=1").contains("empty key between dots"));
        assert!(err(".a=1").contains("empty key"));
        assert!(err("a b=1").contains("whitespace"));
        assert!(err("x=").contains("value list is empty"));
        assert!(err("x=  ").contains("value list is empty"));
        assert!(err("x=1,,2").contains("value 2"));
        assert!(err("x=1,2,").contains("value 3"));
        assert!(err("x=,1").contains("value 1"));
        assert!(err(r#"x="abc"#).contains("unterminated quoted string"));
        assert!(err("x=[1,2").contains("missing `]`"));
        assert!(err("x=1]").contains("unmatched"));
    }

    #[test]
    fn range_errors() {
        assert!(err("c=64..1").contains("END 1 is less than START 64"));
        assert!(err("c=1..64:+0").contains("step 0 must be at least 1"));
        assert!(err("c=1..64:+-2").contains("step -2 must be at least 1"));
        assert!(err("c=1..64:x1").contains("factor 1 must be at least 2"));
        assert!(err("c=1..64:x0").contains("factor 0"));
        assert!(err("c=1..64:x-2").contains("factor -2"));
        assert!(err("c=1..64:x1.5").contains("not an integer"));
        assert!(err("c=0..64:x2").contains("start at 1"));
        assert!(err("c=1.5..3").contains("START `1.5` is not an integer"));
        assert!(err("c=1..").contains("END is missing"));
        assert!(err("c=..5").contains("START is missing"));
        assert!(err("c=1..5:").contains("nothing after"));
        assert!(err("c=1..5:y2").contains("neither a step"));
        assert!(err("c=1..200000").contains("200000 values, more than the limit of 100000"));
        assert!(err(&format!("c={}..{}", i64::MIN, i64::MAX)).contains("more than the limit"));
        // every range error explains the valid forms
        assert!(err("c=64..1").contains("START..END:xFACTOR"));
    }

    #[test]
    fn exactly_max_values_is_allowed() {
        assert_eq!(vals("c=1..100000").len(), MAX_VALUES);
    }

    #[test]
    fn vary_new_and_display() {
        let v = Vary::new("a.b", vec!["1".into(), " 2 ".into()]).unwrap();
        assert_eq!(v.values, ["1", "2"]);
        assert_eq!(v.to_string(), "a.b=1,2");
        assert!(Vary::new("a", vec![]).is_err());
        assert!(Vary::new("", vec!["1".into()]).is_err());
        assert!(Vary::new("a", vec!["".into()]).is_err());
        let parsed: Vary = "a=1..3".parse().unwrap();
        assert_eq!(parsed.len(), 3);
        assert!(!parsed.is_empty());
    }

    #[test]
    fn grid_order_first_axis_outermost() {
        let g = Grid::parse(&["a=1,2", "b=x,y,z"]).unwrap();
        assert_eq!(g.len(), 6);
        assert!(!g.is_empty());
        let pts: Vec<Vec<(String, String)>> = (0..6).filter_map(|i| g.point(i)).collect();
        let flat: Vec<String> = pts
            .iter()
            .map(|p| {
                p.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert_eq!(
            flat,
            [
                "a=1 b=x", "a=1 b=y", "a=1 b=z", "a=2 b=x", "a=2 b=y", "a=2 b=z"
            ]
        );
        assert_eq!(g.point(6), None);
        assert_eq!(g.coordinates(4), Some(vec![1, 1]));
        assert_eq!(g.axes().len(), 2);
    }

    #[test]
    fn grid_without_axes_has_one_empty_point() {
        let g = Grid::new(vec![]).unwrap();
        assert_eq!(g.len(), 1);
        assert_eq!(g.point(0), Some(vec![]));
        assert_eq!(g.point(1), None);
    }

    #[test]
    fn grid_errors() {
        let e = Grid::parse(&["a=1,2", "a=3"]).unwrap_err();
        assert_eq!(e, GridError::DuplicatePath { path: "a".into() });
        assert!(e.to_string().contains("more than once"));
        let big: Vec<String> = (0..8).map(|i| format!("k{i}=1..100000")).collect();
        assert_eq!(Grid::parse(&big).unwrap_err(), GridError::GridTooLarge);
        let empty = Vary {
            path: "a".into(),
            values: vec![],
        };
        assert!(Grid::new(vec![empty]).is_err());
    }

    #[test]
    fn shard_parsing() {
        assert_eq!(Shard::parse("0/4").unwrap(), Shard { k: 0, n: 4 });
        assert_eq!(Shard::parse(" 3 / 4 ").unwrap(), Shard { k: 3, n: 4 });
        assert_eq!("0/1".parse::<Shard>().unwrap().to_string(), "0/1");
        for (bad, needle) in [
            ("4/4", "K 4 is not less than N 4"),
            ("1/0", "N must be at least 1"),
            ("-1/4", "K `-1`"),
            ("a/4", "K `a`"),
            ("1/b", "N `b`"),
            ("3", "missing `/`"),
            ("", "missing `/`"),
            ("1/2/3", "N `2/3`"),
        ] {
            let e = Shard::parse(bad).unwrap_err().to_string();
            assert!(e.contains(needle), "{bad}: {e}");
            assert!(e.contains("expected K/N"), "{bad}: {e}");
        }
    }

    #[test]
    fn shards_partition_the_grid() {
        let g = Grid::parse(&["a=1..4", "b=1..8"]).unwrap();
        let n = 3;
        let mut all: Vec<usize> = Vec::new();
        for k in 0..n {
            let shard = Shard { k, n };
            let idx: Vec<usize> = g.indices(Some(shard)).collect();
            assert!(idx.iter().all(|&i| shard.contains(i) && i % n == k));
            all.extend(idx);
        }
        all.sort_unstable();
        assert_eq!(all, (0..32).collect::<Vec<_>>());
        assert_eq!(g.indices(None).count(), 32);
        // more shards than points: some shards are empty, still no panic
        let small = Grid::parse(&["a=1,2"]).unwrap();
        assert_eq!(small.indices(Some(Shard { k: 5, n: 8 })).count(), 0);
        // a hand-built degenerate shard does not divide by zero
        assert!(!Shard { k: 0, n: 0 }.contains(3));
    }
}

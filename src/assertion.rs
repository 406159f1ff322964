//! `--assert "METRIC OP NUMBER"`, `--constraint` and `--objective` for quotasim reports.
//!
//! `METRIC` is a dotted path into a JSON report (`attempts.throttled`, `latency_ms.e2e.p99`,
//! `points.3.throughput.requests_per_minute`; array elements are addressed by index). `OP` is
//! one of `<`, `<=`, `>`, `>=`, `==`, `!=`, and `NUMBER` a finite decimal number. Spaces
//! around the operator are optional: `throttle_rate<=0.01` is accepted.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;
use thiserror::Error;

const VALID_FORM: &str = "expected \"METRIC OP NUMBER\" with OP one of <, <=, >, >=, ==, !=, \
                          e.g. \"latency_ms.e2e.p99 <= 30000\" or \"throttle_rate<=0.01\"";

/// Why an assertion, constraint or objective could not be parsed or evaluated.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum AssertError {
    #[error("invalid assertion `{input}`: {reason}; {VALID_FORM}")]
    /// The text is not "METRIC OP NUMBER".
    Parse {
        /// The text as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    #[error("unknown metric `{metric}` in assertion `{assertion}`{}", suggest(.suggestions))]
    /// The metric is not in the report.
    UnknownMetric {
        /// The assertion as written.
        assertion: String,
        /// The metric path.
        metric: String,
        /// The nearest valid paths.
        suggestions: Vec<String>,
    },
    #[error("metric `{metric}` in assertion `{assertion}` is {found}, not a number{}", suggest(.suggestions))]
    /// The metric leads to something other than a number.
    NotANumber {
        /// The assertion as written.
        assertion: String,
        /// The metric path.
        metric: String,
        /// What the path leads to.
        found: String,
        /// Paths of numbers under or near it.
        suggestions: Vec<String>,
    },
    #[error(
        "invalid objective `{input}`: {reason}; expected maximize:METRIC or minimize:METRIC, e.g. \"maximize:throughput.requests_per_minute\""
    )]
    /// The text is not DIRECTION:METRIC.
    Objective {
        /// The text as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl AssertError {
    /// The message for a `--constraint` (or a `[sweep]` constraint): the same as for an
    /// assertion, which is what this type calls both, with the word "constraint".
    pub fn for_constraint(&self) -> String {
        self.to_string()
            .replace("invalid assertion", "invalid constraint")
            .replace("in assertion `", "in constraint `")
    }
}

/// `--constraint`'s value parser: [`Assertion::parse`] whose messages say "constraint".
pub fn parse_constraint(text: &str) -> Result<Constraint, String> {
    Assertion::parse(text).map_err(|e| e.for_constraint())
}

fn suggest(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", suggestions.join(", "))
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Op {
    /// Every operator, two-character ones first (the order used when scanning input).
    pub const ALL: [Op; 6] = [Op::Le, Op::Ge, Op::Eq, Op::Ne, Op::Lt, Op::Gt];

    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }

    /// `actual OP bound`. Always false when either side is NaN (except `!=`, which is true).
    pub fn holds(self, actual: f64, bound: f64) -> bool {
        match self {
            Op::Lt => actual < bound,
            Op::Le => actual <= bound,
            Op::Gt => actual > bound,
            Op::Ge => actual >= bound,
            Op::Eq => actual == bound,
            Op::Ne => actual != bound,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// One `METRIC OP NUMBER` check.
#[derive(Debug, Clone, PartialEq)]
pub struct Assertion {
    /// Dotted metric path.
    pub metric: String,
    /// The comparison.
    pub op: Op,
    /// The bound.
    pub value: f64,
}

/// `--constraint` uses exactly the assertion syntax.
pub type Constraint = Assertion;

impl Assertion {
    /// Parses "METRIC OP NUMBER".
    pub fn parse(input: &str) -> Result<Assertion, AssertError> {
        let err = |reason: String| AssertError::Parse {
            input: input.to_string(),
            reason,
        };
        let Some((pos, op)) = find_op(input) else {
            if input.contains('=') {
                return Err(err(
                    "`=` is not an operator (use `==` to test equality)".into()
                ));
            }
            return Err(err("no comparison operator found".into()));
        };
        let metric = input[..pos].trim();
        let number = input[pos + op.symbol().len()..].trim();
        if metric.is_empty() {
            return Err(err(format!("the metric before `{op}` is missing")));
        }
        if let Some(stray) = metric.chars().last().filter(|c| matches!(c, '=' | '!')) {
            return Err(err(format!("`{stray}{op}` is not an operator")));
        }
        if metric.chars().any(char::is_whitespace) {
            return Err(err(format!(
                "the metric `{metric}` contains whitespace (metrics are dotted paths such as `attempts.throttled`)"
            )));
        }
        if metric.split('.').any(str::is_empty) {
            return Err(err(format!(
                "the metric `{metric}` has an empty key between dots"
            )));
        }
        if number.is_empty() {
            return Err(err(format!("the number after `{op}` is missing")));
        }
        let value: f64 = number
            .parse()
            .map_err(|_| err(format!("`{number}` is not a number")))?;
        if !value.is_finite() {
            return Err(err(format!("`{number}` is not a finite number")));
        }
        Ok(Assertion {
            metric: metric.to_string(),
            op,
            value,
        })
    }

    /// Looks the metric up in `report` and checks it. A metric that exists but is `null`
    /// (e.g. a latency percentile when nothing succeeded) is a failed outcome with no actual
    /// value; a path that does not exist, or leads to an object, array, string or boolean,
    /// is an error naming the nearest valid paths.
    pub fn evaluate(&self, report: &Value) -> Result<AssertionOutcome, AssertError> {
        let found = lookup(report, &self.metric);
        let actual = match found {
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::Null) => None,
            Some(other) => {
                let kind = match other {
                    Value::Object(_) => "an object",
                    Value::Array(_) => "an array",
                    Value::String(_) => "a string",
                    _ => "a boolean",
                };
                let candidates = metric_paths(report);
                let prefix = format!("{}.", self.metric);
                let mut suggestions: Vec<String> = candidates
                    .iter()
                    .filter(|p| p.starts_with(&prefix))
                    .take(5)
                    .cloned()
                    .collect();
                if suggestions.is_empty() {
                    suggestions = nearest(&self.metric, &candidates, 3);
                }
                return Err(AssertError::NotANumber {
                    assertion: self.to_string(),
                    metric: self.metric.clone(),
                    found: kind.to_string(),
                    suggestions,
                });
            }
            None => {
                return Err(AssertError::UnknownMetric {
                    assertion: self.to_string(),
                    metric: self.metric.clone(),
                    suggestions: nearest(&self.metric, &metric_paths(report), 3),
                });
            }
        };
        let passed = actual.is_some_and(|a| self.op.holds(a, self.value));
        Ok(AssertionOutcome {
            assertion: self.clone(),
            actual,
            passed,
        })
    }
}

impl FromStr for Assertion {
    type Err = AssertError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Assertion::parse(s)
    }
}

impl fmt::Display for Assertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.metric, self.op, fmt_number(self.value))
    }
}

/// Finds the leftmost operator, preferring the two-character form at the same position.
fn find_op(input: &str) -> Option<(usize, Op)> {
    let bytes = input.as_bytes();
    for pos in 0..bytes.len() {
        for op in Op::ALL {
            if bytes
                .get(pos..)
                .is_some_and(|b| b.starts_with(op.symbol().as_bytes()))
            {
                return Some((pos, op));
            }
        }
    }
    None
}

/// Evaluates every assertion against `report`, in order. Stops at the first assertion that
/// cannot be evaluated (unknown metric or non-numeric value).
pub fn evaluate(
    assertions: &[Assertion],
    report: &Value,
) -> Result<Vec<AssertionOutcome>, AssertError> {
    assertions.iter().map(|a| a.evaluate(report)).collect()
}

/// True when every outcome passed.
pub fn all_passed(outcomes: &[AssertionOutcome]) -> bool {
    outcomes.iter().all(|o| o.passed)
}

/// The result of checking one assertion.
#[derive(Debug, Clone, PartialEq)]
pub struct AssertionOutcome {
    /// What was checked.
    pub assertion: Assertion,
    /// The metric's value, `None` when the report has `null` there.
    pub actual: Option<f64>,
    /// Whether it held.
    pub passed: bool,
}

impl fmt::Display for AssertionOutcome {
    /// `ok: METRIC OP N (actual X)` or `FAILED: METRIC OP N (actual X)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = if self.passed { "ok" } else { "FAILED" };
        let actual = match self.actual {
            Some(a) => fmt_number(a),
            None => "null".to_string(),
        };
        write!(f, "{status}: {} (actual {actual})", self.assertion)
    }
}

/// Shortest round-trip decimal form, without a trailing `.0` for integers.
fn fmt_number(v: f64) -> String {
    let s = format!("{v}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// Resolves a dotted path; array elements are addressed by their index.
pub fn lookup<'a>(report: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = report;
    for key in path.split('.') {
        cur = match cur {
            Value::Object(map) => map.get(key)?,
            Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Every dotted path to a numeric or null leaf of `report`, in document order. Elements of
/// the `timeline` array are left out (they are rarely what an assertion means and would
/// swamp the suggestions).
pub fn metric_paths(report: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let skip = |k: &str, depth: usize| depth == 0 && k == "timeline";
    crate::json_paths::for_each_leaf(report, &skip, &mut |path, v| {
        if matches!(v, Value::Number(_) | Value::Null) {
            out.push(path.to_string());
        }
    });
    out
}

/// The `k` candidates closest to `query`: first those ending in `.query` (the user gave a
/// suffix such as `p99`), then by Jaro–Winkler similarity; ties keep document order.
fn nearest(query: &str, candidates: &[String], k: usize) -> Vec<String> {
    let suffix = format!(".{query}");
    let mut scored: Vec<(f64, usize, &String)> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let last = c.rsplit('.').next().unwrap_or(c);
            let whole = strsim::jaro_winkler(query, c);
            let tail = strsim::jaro_winkler(query, last) * 0.9;
            let bonus = if c.ends_with(&suffix) { 1.0 } else { 0.0 };
            (bonus + whole.max(tail), i, c)
        })
        .filter(|(score, _, _)| *score >= 0.7)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored
        .into_iter()
        .take(k)
        .map(|(_, _, c)| c.clone())
        .collect()
}

/// Whether to maximise or minimise an objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Larger is better.
    Maximize,
    /// Smaller is better.
    Minimize,
}

/// `--objective maximize:PATH` / `minimize:PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Objective {
    /// Which way is better.
    pub direction: Direction,
    /// Dotted metric path.
    pub metric: String,
}

impl Objective {
    /// Parses `maximize:PATH` or `minimize:PATH`.
    pub fn parse(input: &str) -> Result<Objective, AssertError> {
        let err = |reason: String| AssertError::Objective {
            input: input.to_string(),
            reason,
        };
        let Some((dir, metric)) = input.trim().split_once(':') else {
            return Err(err(
                "missing `:` between the direction and the metric".into()
            ));
        };
        let direction = match dir.trim() {
            "maximize" | "maximise" | "max" => Direction::Maximize,
            "minimize" | "minimise" | "min" => Direction::Minimize,
            other => {
                return Err(err(format!(
                    "`{other}` is not a direction (use maximize or minimize)"
                )));
            }
        };
        let metric = metric.trim();
        if metric.is_empty() {
            return Err(err("the metric after `:` is missing".into()));
        }
        if metric.chars().any(char::is_whitespace) || metric.split('.').any(str::is_empty) {
            return Err(err(format!(
                "`{metric}` is not a dotted metric path such as `throughput.requests_per_minute`"
            )));
        }
        Ok(Objective {
            direction,
            metric: metric.to_string(),
        })
    }

    /// Orders values so that the better one compares greater (NaN is worst).
    pub fn cmp_values(&self, a: f64, b: f64) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        match (a.is_nan(), b.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ => match self.direction {
                Direction::Maximize => a.total_cmp(&b),
                Direction::Minimize => b.total_cmp(&a),
            },
        }
    }

    /// Whether `a` is strictly better than `b`.
    pub fn better(&self, a: f64, b: f64) -> bool {
        self.cmp_values(a, b) == std::cmp::Ordering::Greater
    }
}

impl FromStr for Objective {
    type Err = AssertError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Objective::parse(s)
    }
}

impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = match self.direction {
            Direction::Maximize => "maximize",
            Direction::Minimize => "minimize",
        };
        write!(f, "{d}:{}", self.metric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report() -> Value {
        json!({
            "scenario": "chat", "seed": 7, "simulated_seconds": 600.0,
            "requests": {"arrived": 100, "succeeded": 97, "failed": 3, "unfinished": 0,
                          "truncated": 1, "unservable": 0},
            "attempts": {"sent": 120, "admitted": 100, "throttled": 20, "server_errors": 0,
                         "throttled_by": {"requests_per_minute": 5, "tokens_per_minute": 15,
                                          "tokens_per_day": 0}},
            "throughput": {"requests_per_minute": 9.7, "output_tokens_per_minute": 4000.5,
                           "quota_tokens_per_minute": 20000},
            "latency_ms": {"e2e": {"mean": 9000.0, "p50": 8000.0, "p90": 20000.0,
                                   "p99": 41234.5, "max": 50000.0},
                           "queue_wait": {"mean": null, "p99": null}},
            "timeline": [{"minute": 0, "admitted": 10}],
            "points": [{"throttle_rate": 0.02}, {"throttle_rate": 0.0}]
        })
    }

    fn parse(s: &str) -> Assertion {
        match Assertion::parse(s) {
            Ok(a) => a,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn parses_all_operators_with_and_without_spaces() {
        for (text, op) in [
            ("a < 1", Op::Lt),
            ("a <= 1", Op::Le),
            ("a > 1", Op::Gt),
            ("a >= 1", Op::Ge),
            ("a == 1", Op::Eq),
            ("a != 1", Op::Ne),
            ("a<1", Op::Lt),
            ("a<=1", Op::Le),
            ("a>1", Op::Gt),
            ("a>=1", Op::Ge),
            ("a==1", Op::Eq),
            ("a!=1", Op::Ne),
        ] {
            let a = parse(text);
            assert_eq!((a.metric.as_str(), a.op, a.value), ("a", op, 1.0), "{text}");
        }
        let a = parse("  throttle_rate<=0.01 ");
        assert_eq!(a.metric, "throttle_rate");
        assert_eq!(a.value, 0.01);
        let a = parse("latency_ms.e2e.p99 <= 3e4");
        assert_eq!(a.value, 30000.0);
        assert_eq!(a.to_string(), "latency_ms.e2e.p99 <= 30000");
        assert_eq!(parse("x >= -1.5").value, -1.5);
        assert_eq!("x>2".parse::<Assertion>().unwrap().op, Op::Gt);
    }

    #[test]
    fn parse_errors_say_what_is_wrong() {
        for (text, needle) in [
            ("latency_ms.e2e.p99", "no comparison operator"),
            ("", "no comparison operator"),
            ("a = 1", "use `==`"),
            ("<= 5", "metric before `<=` is missing"),
            ("a <=", "number after `<=` is missing"),
            ("a <= fast", "`fast` is not a number"),
            ("a <= 1 < 2", "`1 < 2` is not a number"),
            ("a <= NaN", "not a finite number"),
            ("a <= inf", "not a finite number"),
            ("lat ency <= 1", "contains whitespace"),
            ("a..b <= 1", "empty key"),
            ("a =< 1", "`=<` is not an operator"),
            ("a => 1", "`=>` is not an operator"),
        ] {
            let e = Assertion::parse(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
            assert!(e.contains("METRIC OP NUMBER"), "{text:?}: {e}");
        }
    }

    #[test]
    fn evaluates_pass_and_fail() {
        let r = report();
        let outcomes = evaluate(
            &[
                parse("attempts.throttled <= 20"),
                parse("latency_ms.e2e.p99 <= 30000"),
                parse("throughput.requests_per_minute > 9"),
                parse("points.1.throttle_rate == 0"),
                parse("requests.failed != 3"),
            ],
            &r,
        )
        .unwrap();
        let passed: Vec<bool> = outcomes.iter().map(|o| o.passed).collect();
        assert_eq!(passed, [true, false, true, true, false]);
        assert!(!all_passed(&outcomes));
        assert_eq!(
            outcomes[1].to_string(),
            "FAILED: latency_ms.e2e.p99 <= 30000 (actual 41234.5)"
        );
        assert_eq!(
            outcomes[0].to_string(),
            "ok: attempts.throttled <= 20 (actual 20)"
        );
        assert!(all_passed(&outcomes[..1]));
        assert!(evaluate(&[], &r).unwrap().is_empty());
    }

    #[test]
    fn null_metric_fails_without_error() {
        let o = parse("latency_ms.queue_wait.p99 < 10")
            .evaluate(&report())
            .unwrap();
        assert!(!o.passed);
        assert_eq!(o.actual, None);
        assert_eq!(
            o.to_string(),
            "FAILED: latency_ms.queue_wait.p99 < 10 (actual null)"
        );
    }

    #[test]
    fn unknown_metric_suggests_nearest_paths() {
        let r = report();
        let e = parse("latency_ms.e2e.p999 <= 1").evaluate(&r).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("unknown metric `latency_ms.e2e.p999`"),
            "{msg}"
        );
        match &e {
            AssertError::UnknownMetric { suggestions, .. } => {
                assert_eq!(
                    suggestions.first().map(String::as_str),
                    Some("latency_ms.e2e.p99")
                );
                assert!(suggestions.len() <= 3);
            }
            other => panic!("{other:?}"),
        }
        let msg = parse("attempts.throtled < 1")
            .evaluate(&r)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("did you mean attempts.throttled"), "{msg}");
        // a bare leaf name suggests the full paths ending in it
        let msg = parse("p99 < 1").evaluate(&r).unwrap_err().to_string();
        assert!(msg.contains("latency_ms.e2e.p99"), "{msg}");
        // out-of-range array index is unknown, not a panic
        assert!(parse("points.9.throttle_rate < 1").evaluate(&r).is_err());
        assert!(parse("points.x.throttle_rate < 1").evaluate(&r).is_err());
        // nothing similar: no suggestion list
        let msg = parse("zzzzzzzz < 1")
            .evaluate(&json!({"a": 1}))
            .unwrap_err()
            .to_string();
        assert!(!msg.contains("did you mean"), "{msg}");
    }

    #[test]
    fn non_numeric_metric_is_an_error_with_children_suggested() {
        let r = report();
        let msg = parse("latency_ms.e2e <= 1")
            .evaluate(&r)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("is an object, not a number"), "{msg}");
        assert!(msg.contains("latency_ms.e2e.mean"), "{msg}");
        let msg = parse("scenario == 1").evaluate(&r).unwrap_err().to_string();
        assert!(msg.contains("is a string"), "{msg}");
        assert!(
            parse("timeline < 1")
                .evaluate(&r)
                .unwrap_err()
                .to_string()
                .contains("an array")
        );
        // timeline entries can still be asserted on explicitly
        assert!(
            parse("timeline.0.admitted == 10")
                .evaluate(&r)
                .unwrap()
                .passed
        );
    }

    #[test]
    fn metric_paths_skip_timeline_and_strings() {
        let paths = metric_paths(&report());
        assert!(paths.contains(&"attempts.throttled_by.tokens_per_day".to_string()));
        assert!(paths.contains(&"points.0.throttle_rate".to_string()));
        assert!(paths.contains(&"latency_ms.queue_wait.p99".to_string()));
        assert!(!paths.iter().any(|p| p.starts_with("timeline")));
        assert!(!paths.contains(&"scenario".to_string()));
        assert!(metric_paths(&json!(3)).is_empty());
    }

    #[test]
    fn objectives() {
        let o = Objective::parse("maximize:throughput.requests_per_minute").unwrap();
        assert_eq!(o.direction, Direction::Maximize);
        assert_eq!(o.metric, "throughput.requests_per_minute");
        assert_eq!(o.to_string(), "maximize:throughput.requests_per_minute");
        assert!(o.better(2.0, 1.0));
        assert!(!o.better(1.0, 1.0));
        assert!(o.better(1.0, f64::NAN));
        let m: Objective = " minimize : latency_ms.e2e.p99 ".parse().unwrap();
        assert_eq!(m.direction, Direction::Minimize);
        assert!(m.better(1.0, 2.0));
        assert!(!m.better(f64::NAN, 2.0));
        for (bad, needle) in [
            ("throughput", "missing `:`"),
            ("best:throughput", "`best` is not a direction"),
            ("maximize:", "metric after `:` is missing"),
            ("maximize:a b", "not a dotted metric path"),
            ("maximize:a..b", "not a dotted metric path"),
        ] {
            let e = Objective::parse(bad).unwrap_err().to_string();
            assert!(e.contains(needle), "{bad}: {e}");
            assert!(
                e.contains("maximize:METRIC or minimize:METRIC"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn op_semantics() {
        assert!(Op::Le.holds(1.0, 1.0));
        assert!(!Op::Lt.holds(1.0, 1.0));
        assert!(!Op::Le.holds(f64::NAN, 1.0));
        assert!(Op::Ne.holds(f64::NAN, 1.0));
        for op in Op::ALL {
            assert_eq!(parse(&format!("m {op} 0")).op, op);
        }
    }
}

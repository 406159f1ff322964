//! The resolved scenario as TOML that loads back (what `quotasim check` prints).
//!
//! The resolved structs serialize their internal form (log-space lognormal parameters, the
//! expanded limit list next to the short-form keys it came from, `think_time_us`, …). This
//! module rewrites that form into the scenario format, so that the printed text is itself a
//! scenario and running it gives the same report as the original file.

use toml::{Table, Value};

use super::Scenario;

/// The loader's 95th-percentile z-score (`median` + `p95` → log-space sigma).
const Z95: f64 = 1.644_853_626_951_472_2;

/// Short-form quota keys: the resolved `limits` list already holds what they expand to.
const SHORT_FORM: [&str; 6] = [
    "tokens_per_minute",
    "requests_per_minute",
    "tokens_per_day",
    "input_tokens_per_minute",
    "output_tokens_per_minute",
    "provider",
];

/// Renders `s` in the scenario format; `None` when serialization fails.
pub(crate) fn to_loadable_toml(s: &Scenario) -> Option<String> {
    let mut root = Value::try_from(s).ok()?;
    drop_us_suffix(&mut root);
    let t = root.as_table_mut()?;
    let mut short_form = Vec::new();
    if let Some(Value::Table(q)) = t.get_mut("quota") {
        short_form = fix_quota(q);
    }
    fix_workload(t);
    // `[pools.NAME]` and `[workloads.NAME]` hold the same tables as the top level.
    if let Some(Value::Table(account)) = t.get_mut("account") {
        // Account limits are written like a quota's: `admit` only on as-generated ones.
        let _ = fix_quota(account);
    }
    if let Some(Value::Table(pools)) = t.get_mut("pools") {
        for (_, pool) in pools.iter_mut() {
            if let Value::Table(p) = pool {
                // The pool's limits list holds what its short-form keys expanded to.
                fix_quota(p);
            }
        }
    }
    if let Some(Value::Table(workloads)) = t.get_mut("workloads") {
        for (_, w) in workloads.iter_mut() {
            if let Value::Table(w) = w {
                fix_workload(w);
            }
        }
    }
    // Tables are key-sorted; print the sections in the order a scenario is read.
    let mut out = String::new();
    let mut head = Table::new();
    let mut sections = Vec::new();
    for (k, v) in std::mem::take(t) {
        if v.is_table() {
            sections.push((k, v));
        } else {
            head.insert(k, v);
        }
    }
    out.push_str(&toml::to_string(&head).ok()?);
    let rank = |k: &str| ORDER.iter().position(|o| *o == k).unwrap_or(ORDER.len());
    sections.sort_by_key(|(k, _)| rank(k));
    for (k, v) in sections {
        // Pools and workloads in file order: the first workload owns the base random
        // streams, and a key-sorted table would reorder them.
        let names: Vec<&str> = match k.as_str() {
            "pools" => s.pools.iter().map(|p| p.name.as_str()).collect(),
            "workloads" => s.workloads.iter().map(|w| w.name.as_str()).collect(),
            _ => Vec::new(),
        };
        if let (false, Value::Table(mut named)) = (names.is_empty(), v.clone()) {
            for name in names {
                let Some(x) = named.remove(name) else {
                    continue;
                };
                let mut inner = Table::new();
                inner.insert(name.to_string(), x);
                let mut one = Table::new();
                one.insert(k.clone(), Value::Table(inner));
                out.push('\n');
                out.push_str(&toml::to_string(&one).ok()?);
            }
            continue;
        }
        let quota = k == "quota";
        let mut one = Table::new();
        one.insert(k, v);
        let text = toml::to_string(&one).ok()?;
        out.push('\n');
        match text.split_once('\n') {
            // The short-form keys, as comments: what the limits below were expanded from.
            Some((first, rest)) if quota && !short_form.is_empty() => {
                out.push_str(first);
                out.push_str("\n# expanded into the [[quota.limits]] below:\n");
                for (key, v) in &short_form {
                    out.push_str(&format!("# {key} = {v}\n"));
                }
                out.push_str(rest);
            }
            _ => out.push_str(&text),
        }
    }
    Some(out)
}

/// The client, arrivals and request classes of one workload (or of the top level).
fn fix_workload(t: &mut Table) {
    if let Some(Value::Table(c)) = t.get_mut("client") {
        // A named mode is written as a string; a table only takes the parametrised modes.
        if let Some(Value::Table(r)) = c.get("retry")
            && r.len() == 1
            && let Some(Value::String(mode)) = r.get("mode")
        {
            let mode = Value::String(mode.clone());
            c.insert("retry".into(), mode);
        }
    }
    if let Some(Value::Table(a)) = t.get_mut("arrivals") {
        absolute_file(a);
    }
    if let Some(Value::Table(classes)) = t.get_mut("requests") {
        for (_, class) in classes.iter_mut() {
            if let Value::Table(c) = class {
                // The class name is the table's key.
                c.remove("name");
            }
            fix_dists(class);
        }
    }
}

/// Section order of the output.
const ORDER: [&str; 6] = [
    "model", "quota", "service", "client", "arrivals", "requests",
];

/// Durations are held as `NAME_us` fields (some serialized as duration strings, some as
/// integers); the scenario format calls them `NAME` and takes a duration string.
fn drop_us_suffix(v: &mut Value) {
    match v {
        Value::Table(t) => {
            let renamed: Vec<String> = t
                .iter()
                .filter(|(k, v)| k.ends_with("_us") && (v.is_str() || v.is_integer()))
                .map(|(k, _)| k.clone())
                .collect();
            for k in renamed {
                let x = match t.remove(&k) {
                    Some(Value::Integer(us)) => Value::String(super::duration::format_duration(
                        u64::try_from(us).unwrap_or(0),
                    )),
                    Some(x) => x,
                    None => continue,
                };
                t.insert(k.trim_end_matches("_us").to_string(), x);
            }
            t.iter_mut().for_each(|(_, x)| drop_us_suffix(x));
        }
        Value::Array(a) => a.iter_mut().for_each(drop_us_suffix),
        _ => {}
    }
}

/// Keeps the expanded limits as the whole quota: with the short-form keys as well, the
/// loader would expand them again and append the list to them. Returns the keys removed.
fn fix_quota(q: &mut Table) -> Vec<(&'static str, Value)> {
    let Some(Value::Array(limits)) = q.get_mut("limits") else {
        return Vec::new();
    };
    for l in limits.iter_mut() {
        if let Value::Table(l) = l
            && l.get("charge").and_then(Value::as_str) == Some("reserve")
        {
            // `admit` only applies to as-generated limits.
            l.remove("admit");
        }
    }
    SHORT_FORM
        .iter()
        .filter_map(|k| q.remove(*k).map(|v| (*k, v)))
        .collect()
}

/// A relative `file` was resolved against the scenario's folder; the output may be read
/// from anywhere, so it names the file absolutely.
fn absolute_file(t: &mut Table) {
    if let Some(Value::String(f)) = t.get_mut("file")
        && let Ok(abs) = std::path::absolute(&*f)
    {
        *f = abs.display().to_string();
    }
}

/// Rewrites every distribution table below `v` into a form the loader takes.
fn fix_dists(v: &mut Value) {
    match v {
        Value::Table(t) => {
            if t.get("dist").and_then(Value::as_str) == Some("lognormal") {
                lognormal(t);
            }
            if t.contains_key("dist") {
                absolute_file(t);
            }
            for (_, x) in t.iter_mut() {
                fix_dists(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(fix_dists),
        _ => {}
    }
}

/// `mu`/`sigma` → `median`/`p95`, the floats nearest to the ones from which the loader's `ln`
/// gives back the very same `mu` and `sigma`. Such floats exist for the bundled scenarios'
/// parameters; where they do not (a small `sigma`), the reloaded values are within a few
/// float steps of the original ones.
fn lognormal(t: &mut Table) {
    let (Some(mu), Some(sigma)) = (
        t.get("mu").and_then(Value::as_float),
        t.get("sigma").and_then(Value::as_float),
    ) else {
        return;
    };
    let median = invert(mu.exp(), |m| m.ln() == mu, |m| m.ln() < mu);
    let m_ln = median.ln();
    let p95 = invert(
        (mu + Z95 * sigma).exp(),
        |p| (p.ln() - m_ln) / Z95 == sigma,
        |p| (p.ln() - m_ln) / Z95 < sigma,
    );
    if p95.is_nan() || p95 <= median {
        return; // sigma 0 cannot be written as median + p95; leave the table as it is
    }
    t.remove("mu");
    t.remove("sigma");
    t.insert("median".into(), number(median));
    t.insert("p95".into(), number(p95));
}

/// A whole number as a TOML integer (as a file would write `3000`), others as floats.
fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        Value::Integer(v as i64)
    } else {
        Value::Float(v)
    }
}

/// Walks from `x` one float at a time (at most 64 steps) towards a value for which `hit`
/// holds; `below` says the target lies above the current value. Several neighbouring
/// floats usually hit (`ln` maps them to one value): of those (up to 64 either side) it
/// returns the one with the shortest decimal form, which is the number the file said
/// (`3000`, not `2999.9999999999977`) whenever that number hits. Falls back to `x`.
fn invert(x: f64, hit: impl Fn(f64) -> bool, below: impl Fn(f64) -> bool) -> f64 {
    if !x.is_finite() || x <= 0.0 {
        return x;
    }
    let mut y = x;
    for _ in 0..64 {
        if hit(y) {
            return shortest_hit(y, &hit);
        }
        y = if below(y) { y.next_up() } else { y.next_down() };
    }
    x
}

/// Of the floats next to `y` (a hit) for which `hit` holds without a gap, the one whose
/// decimal form is shortest, if it has at most 12 significant digits (a number a person
/// wrote); otherwise `y`, so that printing a printed scenario again changes nothing.
fn shortest_hit(y: f64, hit: &impl Fn(f64) -> bool) -> f64 {
    let digits = |v: f64| {
        v.to_string()
            .trim_start_matches(['-', '0', '.'])
            .chars()
            .filter(char::is_ascii_digit)
            .count()
    };
    let len = |v: f64| {
        if digits(v) <= 12 {
            digits(v)
        } else {
            usize::MAX
        }
    };
    let mut best = y;
    for step in [f64::next_up as fn(f64) -> f64, f64::next_down] {
        let mut z = y;
        for _ in 0..64 {
            z = step(z);
            if !hit(z) {
                break;
            }
            if len(z) < len(best) {
                best = z;
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_f64(v: &Value) -> f64 {
        v.as_float()
            .or_else(|| v.as_integer().map(|i| i as f64))
            .unwrap()
    }

    #[test]
    fn lognormal_parameters_come_back_exactly() {
        for (mu, sigma) in [
            (7.090_076_835_776_092, 0.978_468_774_402_126_5),
            (5.857_933_154_483_459, 0.884_751_815_457_301_7),
            (8.987_196_820_661_973, 0.557_065_210_460_327_1),
        ] {
            let mut t = Table::new();
            t.insert("dist".into(), Value::String("lognormal".into()));
            t.insert("mu".into(), Value::Float(mu));
            t.insert("sigma".into(), Value::Float(sigma));
            lognormal(&mut t);
            let m = as_f64(&t["median"]);
            let p = as_f64(&t["p95"]);
            assert_eq!(m.ln(), mu);
            assert_eq!((p.ln() - m.ln()) / Z95, sigma);
        }
        // Not always exact: a small sigma comes back within a few float steps.
        let mut t = Table::new();
        t.insert("dist".into(), Value::String("lognormal".into()));
        t.insert("mu".into(), Value::Float(0.5));
        t.insert("sigma".into(), Value::Float(0.1));
        lognormal(&mut t);
        let m = as_f64(&t["median"]);
        let p = as_f64(&t["p95"]);
        assert_eq!(m.ln(), 0.5);
        assert!(((p.ln() - m.ln()) / Z95 - 0.1).abs() < 1e-15);
    }

    #[test]
    fn lognormal_parameters_print_as_the_file_wrote_them() {
        // What the loader computes from `median = 3000, p95 = 9000`.
        let mu = 3000f64.ln();
        let sigma = (9000f64.ln() - mu) / Z95;
        let mut t = Table::new();
        t.insert("dist".into(), Value::String("lognormal".into()));
        t.insert("mu".into(), Value::Float(mu));
        t.insert("sigma".into(), Value::Float(sigma));
        lognormal(&mut t);
        assert_eq!(t["median"].as_integer(), Some(3000));
        assert_eq!(t["p95"].as_integer(), Some(9000));
    }
}

//! The minimal CSV dialect of traces: a header row, comma-separated fields, optional
//! surrounding double quotes, no commas inside fields, `#` comment lines and blank lines
//! skipped.

use std::io::BufRead;
use std::path::Path;

/// Splits one line into trimmed fields, calling `f(index, field, column)` for each
/// (`column` is the 1-based character column where the field starts).
pub fn for_each_field<'a>(line: &'a str, mut f: impl FnMut(usize, &'a str, usize)) {
    let mut start = 0usize;
    for (i, part) in line.split(',').enumerate() {
        let col = line.get(..start).map_or(0, |p| p.chars().count()) + 1;
        start += part.len() + 1;
        let t = part.trim();
        let t = t
            .strip_prefix('"')
            .and_then(|x| x.strip_suffix('"'))
            .unwrap_or(t);
        f(i, t, col);
    }
}

/// Whether a line carries no record.
pub fn is_blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// Reads one numeric column of a CSV file into counts of distinct non-negative integers
/// (values are rounded). Memory grows with the number of distinct values, not of lines.
pub fn read_column(
    path: &Path,
    column: &str,
) -> Result<std::collections::BTreeMap<u64, u64>, String> {
    let file = path.display();
    let f = std::fs::File::open(path).map_err(|e| format!("cannot read {file}: {e}"))?;
    let mut r = std::io::BufReader::new(f);
    let mut line = String::new();
    let mut line_no = 0u64;
    let mut index = None;
    let mut counts = std::collections::BTreeMap::new();
    loop {
        line.clear();
        let n = r
            .read_line(&mut line)
            .map_err(|e| format!("{file}:{}: cannot read: {e}", line_no + 1))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let text = line.trim_end_matches(['\n', '\r']);
        let text = if line_no == 1 {
            text.trim_start_matches('\u{feff}')
        } else {
            text
        };
        if is_blank(text) {
            continue;
        }
        let Some(ix) = index else {
            let mut names = Vec::new();
            for_each_field(text, |_, name, _| names.push(name.to_string()));
            let Some(i) = names.iter().position(|n| n == column) else {
                let help = crate::error::nearest(column, names.iter().map(String::as_str))
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                return Err(format!(
                    "{file}:{line_no}: no column `{column}` in the header; columns are {}{help}",
                    names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            };
            index = Some(i);
            continue;
        };
        let mut found = None;
        for_each_field(text, |i, v, col| {
            if i == ix {
                found = Some((v, col));
            }
        });
        let Some((v, col)) = found else {
            return Err(format!(
                "{file}:{line_no}: the row has no field for column `{column}`"
            ));
        };
        if v.is_empty() {
            continue;
        }
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() && (0.0..9.0e15).contains(&x) => {
                *counts.entry(x.round() as u64).or_insert(0) += 1;
            }
            _ => {
                return Err(format!(
                    "{file}:{line_no}:{col}: column `{column}`: expected a non-negative number, found \"{v}\""
                ));
            }
        }
    }
    if index.is_none() {
        return Err(format!("{file}: the file is empty; expected a header row"));
    }
    Ok(counts)
}

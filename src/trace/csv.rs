//! The CSV dialect of traces: RFC 4180 fields (a quoted field may hold commas, doubled
//! quotes and line breaks) split by `csv-core`, a header row, fields trimmed, `#` comment
//! lines and blank lines skipped. Traces are read line by line, a record that a quoted line
//! break continues joined with its next lines, so that every error can name its line and
//! column.

use std::ops::Range;
use std::path::Path;

use super::lines::{RecordLines, is_blank};

/// The fields of one line: their text (unquoted) and where each starts. The buffers and the
/// parser are reused from line to line.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    text: String,
    /// `(range in text, 1-based character column of the field in the line)`.
    spans: Vec<(Range<usize>, usize)>,
    buf: Vec<u8>,
    /// Built on first use: building one costs far more than a line (and `Default` is called
    /// for every line the trace reader takes the fields out of itself).
    reader: Option<csv_core::Reader>,
}

impl Fields {
    /// `(index, field, column)` for every field, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &str, usize)> {
        self.spans
            .iter()
            .enumerate()
            .map(|(i, (r, col))| (i, self.text.get(r.clone()).unwrap_or(""), *col))
    }
}

/// Splits one line into trimmed, unquoted fields (reusing `out`). An unterminated quoted
/// field is an error: `(column, message)`.
pub(crate) fn split_line(line: &str, out: &mut Fields) -> Result<(), (usize, String)> {
    use csv_core::ReadFieldResult;
    out.text.clear();
    out.spans.clear();
    let bytes = line.as_bytes();
    let Fields {
        text,
        spans,
        buf,
        reader,
    } = out;
    // Not `csv_core::Reader::default()`, which has no delimiter or quote set.
    let reader = reader.get_or_insert_with(csv_core::Reader::new);
    reader.reset();
    // An unquoted field is never longer than the line it came from.
    if buf.len() <= line.len() {
        buf.resize(line.len() + 1, 0);
    }
    let (mut pos, mut field_start, mut filled) = (0usize, 0usize, 0usize);
    // Each call consumes input, ends a field or grows the buffer: a bound, not a guess.
    for _ in 0..(4 * bytes.len() + 16) {
        let input = bytes.get(pos..).unwrap_or_default();
        let (result, nin, nout) =
            reader.read_field(input, buf.get_mut(filled..).unwrap_or_default());
        pos += nin;
        filled += nout;
        match result {
            ReadFieldResult::InputEmpty => {}
            ReadFieldResult::OutputFull => buf.resize(buf.len() * 2, 0),
            ReadFieldResult::End => return Ok(()),
            ReadFieldResult::Field { record_end } => {
                let raw = line.get(field_start..pos).unwrap_or_default();
                let raw = raw.strip_suffix(',').unwrap_or(raw);
                let col = line.get(..field_start).map_or(0, |p| p.chars().count()) + 1;
                check_quotes(raw).map_err(|m| (col, m))?;
                let value = std::str::from_utf8(buf.get(..filled).unwrap_or_default())
                    .map_err(|_| (col, "the field is not valid UTF-8".to_string()))?
                    .trim();
                // A quoted field after spaces (` "a"`) is still taken as quoted.
                let value = value
                    .strip_prefix('"')
                    .and_then(|x| x.strip_suffix('"'))
                    .unwrap_or(value);
                let from = text.len();
                text.push_str(value);
                spans.push((from..text.len(), col));
                (field_start, filled) = (pos, 0);
                if record_end {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

/// A field that opens a quote must close it (RFC 4180): `"a,b` is an error, not a field.
fn check_quotes(raw: &str) -> Result<(), String> {
    let t = raw.trim();
    if !t.starts_with('"') {
        return Ok(());
    }
    let inner = t.get(1..).unwrap_or_default();
    // Inside a quoted field quotes come in pairs; the closing one is left over.
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            if chars.peek() == Some(&'"') {
                chars.next();
            } else {
                return Ok(());
            }
        }
    }
    // A quoted field may hold line breaks, so an unterminated one runs to the end of the
    // file: show its first line only.
    let (shown, rest) = match t.split_once('\n') {
        Some((first, _)) => (
            first.trim_end_matches('\r'),
            "… (it runs to the end of the file)",
        ),
        None => (t, ""),
    };
    Err(format!(
        "unterminated quoted field {shown}{rest}; a field that starts with `\"` must end with \
         one (write a quote inside it as `\"\"`)"
    ))
}

/// Reads one numeric column of a CSV file into counts of distinct non-negative integers
/// (values are rounded). Memory grows with the number of distinct values, not of lines.
pub(crate) fn read_column(
    path: &Path,
    column: &str,
) -> Result<std::collections::BTreeMap<u64, u64>, String> {
    let file = path.display();
    let f = std::fs::File::open(path).map_err(|e| format!("cannot read {file}: {e}"))?;
    let max_bytes = crate::files::max_trace_bytes().map_err(|d| d.to_string())?;
    let mut records = RecordLines::new(std::io::BufReader::new(f), max_bytes, true);
    let mut index = None;
    let mut counts = std::collections::BTreeMap::new();
    let mut fields = Fields::default();
    let name = file.to_string();
    while records
        .next_record(&name, "CSV file")
        .map_err(|d| d.to_string())?
    {
        let line_no = records.record_line();
        let text = records.text().trim_end_matches(['\n', '\r']);
        let text = if line_no == 1 {
            text.trim_start_matches('\u{feff}')
        } else {
            text
        };
        if is_blank(text) {
            continue;
        }
        let at = |col: usize| {
            let (line, col) = records.locate(col);
            format!("{file}:{line}:{col}")
        };
        split_line(text, &mut fields).map_err(|(col, m)| format!("{}: {m}", at(col)))?;
        let Some(ix) = index else {
            let names: Vec<String> = fields.iter().map(|(_, n, _)| n.to_string()).collect();
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
        let Some((_, v, col)) = fields.iter().nth(ix) else {
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
                    "{}: column `{column}`: expected a non-negative number, found \"{v}\"",
                    at(col)
                ));
            }
        }
    }
    if index.is_none() {
        return Err(format!("{file}: the file is empty; expected a header row"));
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> Result<Vec<(String, usize)>, (usize, String)> {
        let mut f = Fields::default();
        split_line(line, &mut f)?;
        Ok(f.iter().map(|(_, v, c)| (v.to_string(), c)).collect())
    }

    fn owned(v: &[(&str, usize)]) -> Vec<(String, usize)> {
        v.iter().map(|(s, c)| (s.to_string(), *c)).collect()
    }

    #[test]
    fn plain_fields_are_trimmed_with_their_columns() {
        assert_eq!(
            split("1, 10 ,5,").unwrap(),
            owned(&[("1", 1), ("10", 3), ("5", 8), ("", 10)])
        );
        assert_eq!(split("é,x").unwrap(), owned(&[("é", 1), ("x", 3)]));
    }

    #[test]
    fn a_quoted_field_may_hold_commas_and_doubled_quotes() {
        assert_eq!(
            split(r#"1,"chat, long",5"#).unwrap(),
            owned(&[("1", 1), ("chat, long", 3), ("5", 16)])
        );
        assert_eq!(
            split(r#""say ""hi""",2"#).unwrap(),
            owned(&[(r#"say "hi""#, 1), ("2", 14)])
        );
        assert_eq!(split(r#" "x" ,2"#).unwrap(), owned(&[("x", 1), ("2", 7)]));
    }

    #[test]
    fn an_unterminated_quote_is_an_error_at_its_field() {
        let (col, m) = split(r#"1,"chat, long,5"#).unwrap_err();
        assert_eq!(col, 3);
        assert!(m.contains("unterminated quoted field"), "{m}");
        assert!(split(r#"1,"a""b"#).is_err());
        assert!(split(r#"1,"a""b""#).is_ok());
    }

    #[test]
    fn long_fields_grow_the_buffer() {
        let long = "y".repeat(100_000);
        let v = split(&format!("\"{long}\",1")).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].0.len(), 100_000);
    }
}

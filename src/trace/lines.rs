//! Records of a text file, read within the limits of [`crate::files`]: one physical line
//! each, or, in a CSV file, as many lines as a quoted field holding line breaks takes
//! (RFC 4180). Both trace replay and `empirical` columns read CSV through it, so a prompt
//! column with line breaks reads the same everywhere.

use std::io::BufRead;

use crate::error::Diagnostic;

/// A reader of records, with the line and column of any position in the current one.
#[derive(Debug)]
pub(crate) struct RecordLines<R> {
    reader: R,
    /// The current record, its line breaks included.
    text: String,
    /// The next physical line of a record being joined.
    more: String,
    /// The last physical line read, and the first of the current record.
    line_no: u64,
    record_line: u64,
    /// Where each physical line after the first starts in the current record, in characters
    /// (empty for a one-line record): turns a column counted from the record's start into a
    /// line and column.
    line_starts: Vec<usize>,
    /// Bytes read since the start, and the most the file may have.
    bytes_read: u64,
    max_bytes: u64,
    /// Whether a record ending inside a quoted field goes on on the next line (CSV).
    join_quoted: bool,
}

impl<R: BufRead> RecordLines<R> {
    /// Records of `reader`, refused past `max_bytes` read in all.
    pub(crate) fn new(reader: R, max_bytes: u64, join_quoted: bool) -> Self {
        RecordLines {
            reader,
            text: String::with_capacity(4096),
            more: String::new(),
            line_no: 0,
            record_line: 0,
            line_starts: Vec::new(),
            bytes_read: 0,
            max_bytes,
            join_quoted,
        }
    }

    /// Reads the next record; `Ok(false)` at the end of the file. `name` and `what` ("trace",
    /// "CSV file") word the errors. A record whose quoted field never closes runs to the end
    /// of the file (splitting it then reports that), or is refused past
    /// [`crate::files::MAX_LINE_BYTES`], naming the line that opened it.
    pub(crate) fn next_record(&mut self, name: &str, what: &str) -> Result<bool, Box<Diagnostic>> {
        if self.read_line(false, name, what)? == 0 {
            return Ok(false);
        }
        self.line_no += 1;
        self.record_line = self.line_no;
        self.line_starts.clear();
        // A comment line is never continued: its quotes are text.
        let mut quoted =
            self.join_quoted && !is_blank(&self.text) && ends_quoted(&self.text, false);
        while quoted {
            if self.read_line(true, name, what)? == 0 {
                break;
            }
            self.line_no += 1;
            if self.text.len() + self.more.len() > crate::files::MAX_LINE_BYTES {
                let mut d = Diagnostic::new(
                    name,
                    format!(
                        "a quoted field opened on this line runs on for more than {} MiB; is \
                         its closing `\"` missing?",
                        crate::files::MAX_LINE_BYTES >> 20
                    ),
                );
                d.location = Some((usize::try_from(self.record_line).unwrap_or(usize::MAX), 1));
                return Err(Box::new(d));
            }
            quoted = ends_quoted(&self.more, true);
            self.line_starts.push(self.text.chars().count());
            self.text.push_str(&self.more);
        }
        Ok(true)
    }

    /// Reads the next physical line into the record (`more`: into the line being joined to
    /// it); the bytes read, 0 at the end of the file.
    fn read_line(&mut self, more: bool, name: &str, what: &str) -> Result<usize, Box<Diagnostic>> {
        let buf = if more { &mut self.more } else { &mut self.text };
        crate::files::read_line_limited(&mut self.reader, buf, &mut self.bytes_read, self.max_bytes)
            .map_err(|e| e.diagnostic(name, self.line_no + 1, what))
    }

    /// The current record, its line breaks included.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Takes the current record's text out (to parse it while `self` is borrowed); give the
    /// buffer back with [`RecordLines::restore`] so that its room is reused.
    pub(crate) fn take_text(&mut self) -> String {
        std::mem::take(&mut self.text)
    }

    /// Gives back a buffer taken with [`RecordLines::take_text`].
    pub(crate) fn restore(&mut self, mut text: String) {
        text.clear();
        self.text = text;
    }

    /// The line the current record starts on (1-based).
    pub(crate) fn record_line(&self) -> u64 {
        self.record_line
    }

    /// The line and column of character column `col` (1-based) of the current record.
    pub(crate) fn locate(&self, col: usize) -> (usize, usize) {
        // Lines after the record's first that start at or before the column.
        let later = self.line_starts.partition_point(|&start| start < col);
        let line_start = later
            .checked_sub(1)
            .and_then(|i| self.line_starts.get(i))
            .copied()
            .unwrap_or(0);
        (
            usize::try_from(self.record_line + later as u64).unwrap_or(usize::MAX),
            col - line_start,
        )
    }

    /// The underlying reader (to seek it), with the counts reset to the file's start.
    pub(crate) fn rewind_with(&mut self) -> &mut R {
        self.line_no = 0;
        self.record_line = 0;
        self.line_starts.clear();
        self.bytes_read = 0;
        &mut self.reader
    }
}

/// Whether `line` (a physical line, its line break included) ends inside a quoted field,
/// starting inside one if `quoted`: then the record goes on on the next line. A quote opens a
/// field only at its start (after spaces); inside, `""` is a quote and `"` closes it.
pub(crate) fn ends_quoted(line: &str, quoted: bool) -> bool {
    let mut quoted = quoted;
    let mut field_start = !quoted;
    let mut bytes = line.bytes().peekable();
    while let Some(b) = bytes.next() {
        if quoted {
            if b == b'"' {
                if bytes.peek() == Some(&b'"') {
                    bytes.next();
                } else {
                    quoted = false;
                }
            }
        } else {
            match b {
                b',' => field_start = true,
                b'"' if field_start => {
                    quoted = true;
                    field_start = false;
                }
                b' ' | b'\t' => {}
                _ => field_start = false,
            }
        }
    }
    quoted
}

/// Whether a line carries no record.
pub(crate) fn is_blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_ends_quoted_only_inside_a_quote_that_opened_a_field() {
        assert!(!ends_quoted("0,1,2\n", false));
        assert!(ends_quoted("0,1,\"a\n", false));
        assert!(ends_quoted("0,1,  \"a, b\n", false));
        // A quote inside an unquoted field is text; a doubled quote inside a quoted one too.
        assert!(!ends_quoted("0,5\" screen,2\n", false));
        assert!(ends_quoted("0,\"say \"\"hi\"\"\n", false));
        assert!(!ends_quoted("0,\"say \"\"hi\"\"\"\n", false));
        // A continued line starts inside the quote.
        assert!(!ends_quoted("end\",3\n", true));
        assert!(ends_quoted("still inside\n", true));
        assert!(ends_quoted("closes\",\"opens again\n", true));
    }

    fn records(text: &str, join: bool) -> Vec<(u64, String)> {
        let mut r = RecordLines::new(text.as_bytes(), u64::MAX, join);
        let mut out = Vec::new();
        while r.next_record("t", "CSV file").unwrap() {
            out.push((r.record_line(), r.text().to_string()));
        }
        out
    }

    #[test]
    fn quoted_line_breaks_join_lines_in_csv_only() {
        let text = "a,b\n1,\"x\ny\"\n# \"comment\n2,z\n";
        assert_eq!(
            records(text, true),
            vec![
                (1, "a,b\n".to_string()),
                (2, "1,\"x\ny\"\n".to_string()),
                (4, "# \"comment\n".to_string()),
                (5, "2,z\n".to_string()),
            ]
        );
        assert_eq!(records(text, false).len(), 5);
    }

    #[test]
    fn columns_past_a_line_break_name_their_own_line() {
        // Record `1,"x\ny",7`: characters 1-5 are `1,"x\n` on line 2; `y",7` starts line 3
        // at character 6, so the `7` (character 9) is line 3, column 4.
        let mut r = RecordLines::new("h\n1,\"x\ny\",7\n".as_bytes(), u64::MAX, true);
        assert!(r.next_record("t", "CSV file").unwrap());
        assert!(r.next_record("t", "CSV file").unwrap());
        assert_eq!(r.locate(1), (2, 1));
        assert_eq!(r.locate(5), (2, 5));
        assert_eq!(r.locate(6), (3, 1));
        assert_eq!(r.locate(9), (3, 4));
    }
}

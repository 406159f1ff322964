//! Request traces: CSV files and Amazon Bedrock model-invocation logs (JSON lines), read
//! one record at a time with a buffered reader so memory does not grow with the trace.
//!
//! A trace is validated in full when the scenario is loaded ([`scan`]), so a malformed line
//! is an input error (exit 2) naming the trace file and line before anything runs; the run
//! then streams it again ([`TraceReader`]).

pub mod bedrock;
pub mod csv;
mod lines;
pub mod time;

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Diagnostic, nearest};
use time::TimeKind;

/// The format of a trace file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum TraceFormat {
    /// A CSV file with a header row.
    Csv,
    /// Amazon Bedrock model-invocation logs, one JSON record per line.
    BedrockLog,
}

impl TraceFormat {
    /// The names `format` accepts.
    pub const NAMES: [&'static str; 2] = ["csv", "bedrock-log"];

    /// A format by name.
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "csv" => Some(TraceFormat::Csv),
            "bedrock-log" => Some(TraceFormat::BedrockLog),
            _ => None,
        }
    }

    /// The format implied by a file's extension: `.csv`, or `.jsonl` / `.json`.
    pub fn from_extension(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(TraceFormat::Csv),
            "jsonl" | "json" | "ndjson" => Some(TraceFormat::BedrockLog),
            _ => None,
        }
    }
}

/// One request of a trace. Optional fields are `None` when the trace does not give them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceRecord {
    /// Timestamp in µs (since the epoch for RFC 3339 times, else seconds × 10⁶).
    pub time_us: i64,
    /// Input tokens.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// `max_tokens` of the request.
    pub max_tokens: Option<u64>,
    /// Cache-read tokens.
    pub cache_read: Option<u64>,
    /// Cache-write tokens.
    pub cache_write: Option<u64>,
    /// Index of the record's class (see [`ClassMode`]).
    pub class: Option<u32>,
    /// The model ID the record was sent to (an invocation log's `modelId`), as
    /// [`model_key`] of it: it can select the pool that serves the request.
    pub model: Option<u64>,
}

/// A model ID's key: the ID with any ARN prefix removed, hashed (FNV-1a), so records stay
/// `Copy` and pools can be looked up by it.
pub fn model_key(id: &str) -> u64 {
    let id = id.rsplit('/').next().unwrap_or(id);
    id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// How the reader treats the `class` column.
#[derive(Debug, Clone, PartialEq)]
pub enum ClassMode {
    /// Ignore it.
    Ignore,
    /// Every class must be one of these names; `class` is the index.
    Known(Vec<String>),
    /// Collect distinct names as they appear; `class` indexes [`TraceReader::class_names`].
    Collect,
}

/// Which columns a CSV trace has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Layout {
    timestamp: usize,
    input: usize,
    output: usize,
    max_tokens: Option<usize>,
    cache_read: Option<usize>,
    cache_write: Option<usize>,
    class: Option<usize>,
}

/// The CSV columns a trace may have.
pub const CSV_COLUMNS: [&str; 7] = [
    "timestamp",
    "input_tokens",
    "output_tokens",
    "max_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "class",
];

/// A streaming reader of trace records, in file order.
#[derive(Debug)]
pub struct TraceReader {
    path: PathBuf,
    name: String,
    format: TraceFormat,
    /// Its records: lines, joined where a CSV quoted field holds line breaks.
    records: lines::RecordLines<BufReader<File>>,
    layout: Option<Layout>,
    classes: ClassMode,
    class_names: Vec<String>,
    /// Position of each name in `class_names` (a trace may name millions of classes).
    class_index: std::collections::HashMap<String, usize>,
    time_kind: Option<TimeKind>,
    prev: Option<(i64, u64)>,
    /// The fields of the current CSV line (reused from line to line).
    split: csv::Fields,
    /// `fit --by`: the column or dotted JSON field whose value keys each record.
    group: Option<Group>,
}

/// The grouping field and the current record's value of it.
#[derive(Debug)]
struct Group {
    field: String,
    /// The CSV column's index, once the header is read.
    column: Option<usize>,
    value: String,
}

impl TraceReader {
    /// Opens a trace.
    pub fn open(
        path: &Path,
        format: TraceFormat,
        classes: ClassMode,
    ) -> Result<Self, Box<Diagnostic>> {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|e| {
            let what = match e.kind() {
                std::io::ErrorKind::NotFound => "no such file".to_string(),
                _ => e.to_string(),
            };
            Diagnostic::new(&name, format!("cannot read trace: {what}"))
        })?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(Box::new(Diagnostic::new(
                &name,
                "is a directory; expected a trace file",
            )));
        }
        let class_names = match &classes {
            ClassMode::Known(names) => names.clone(),
            _ => Vec::new(),
        };
        let max_bytes = crate::files::max_trace_bytes()?;
        Ok(TraceReader {
            path: path.to_path_buf(),
            name,
            format,
            records: lines::RecordLines::new(
                BufReader::with_capacity(64 * 1024, file),
                max_bytes,
                format == TraceFormat::Csv,
            ),
            layout: None,
            classes,
            class_index: class_names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), i))
                .collect(),
            class_names,
            time_kind: None,
            prev: None,
            split: csv::Fields::default(),
            group: None,
        })
    }

    /// Keys every record by a field: a CSV column (any header name, not only the trace
    /// columns) or, for invocation logs, a dotted JSON path such as `modelId` or
    /// `identity.arn`. A missing column, or a record without the field, is an error.
    pub fn group_by(&mut self, field: &str) {
        self.group = Some(Group {
            field: field.to_string(),
            column: None,
            value: String::new(),
        });
    }

    /// The last record's value of the [`group_by`](Self::group_by) field.
    pub fn group_value(&self) -> Option<&str> {
        self.group.as_ref().map(|g| g.value.as_str())
    }

    /// The trace file as named in messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Class names, indexed by [`TraceRecord::class`].
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// Whether the CSV header has a column (`false` for Bedrock logs, except cache counts,
    /// which Bedrock logs may carry on any record).
    pub fn has_column(&self, column: &str) -> bool {
        let Some(l) = self.layout else {
            return false;
        };
        match column {
            "max_tokens" => l.max_tokens.is_some(),
            "cache_read_tokens" => l.cache_read.is_some(),
            "cache_write_tokens" => l.cache_write.is_some(),
            "class" => l.class.is_some(),
            _ => true,
        }
    }

    /// Goes back to the first record (for `repeat`).
    pub fn rewind(&mut self) -> Result<(), Box<Diagnostic>> {
        self.records
            .rewind_with()
            .seek(SeekFrom::Start(0))
            .map_err(|e| Diagnostic::new(&self.name, format!("cannot rewind trace: {e}")))?;
        self.layout = None;
        self.prev = None;
        Ok(())
    }

    /// An error at column `col` of the current record (counted from the record's start, so
    /// in a record of several lines it names the line the column falls on).
    fn error(&self, col: Option<usize>, message: impl Into<String>) -> Diagnostic {
        let mut d = Diagnostic::new(&self.name, message);
        d.location = Some(self.records.locate(col.unwrap_or(1)));
        d
    }

    /// The next record, `Ok(None)` at the end of the file.
    pub fn next_record(&mut self) -> Result<Option<TraceRecord>, Box<Diagnostic>> {
        loop {
            // Bounded: a line without an end (`/dev/zero`) or an endless file stops at the
            // limits of `crate::files` instead of growing memory or running forever.
            if !self.records.next_record(&self.name, "trace")? {
                if self.format == TraceFormat::Csv && self.layout.is_none() {
                    return Err(Box::new(Diagnostic::new(
                        &self.name,
                        format!(
                            "the trace is empty; expected a header row naming columns such as {}",
                            CSV_COLUMNS
                                .iter()
                                .take(3)
                                .map(|c| format!("`{c}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )));
                }
                return Ok(None);
            }
            let line = self.records.take_text();
            let result = self.parse_line(&line);
            self.records.restore(line);
            if let Some(rec) = result? {
                return Ok(Some(rec));
            }
        }
    }

    fn parse_line(&mut self, raw: &str) -> Result<Option<TraceRecord>, Box<Diagnostic>> {
        let text = raw.trim_end_matches(['\n', '\r']);
        let text = if self.records.record_line() == 1 {
            text.trim_start_matches('\u{feff}')
        } else {
            text
        };
        if text.trim().is_empty() || (self.format == TraceFormat::Csv && lines::is_blank(text)) {
            return Ok(None);
        }
        let mut split = std::mem::take(&mut self.split);
        let result = self.parse_fields(text, &mut split);
        self.split = split;
        result
    }

    fn parse_fields(
        &mut self,
        text: &str,
        split: &mut csv::Fields,
    ) -> Result<Option<TraceRecord>, Box<Diagnostic>> {
        let fields = match self.format {
            TraceFormat::Csv => {
                csv::split_line(text, split).map_err(|(col, m)| self.error(Some(col), m))?;
                let Some(layout) = self.layout else {
                    self.layout = Some(self.parse_header(split)?);
                    self.group_header(split)?;
                    return Ok(None);
                };
                self.group_csv(split)?;
                self.parse_csv(split, layout)?
            }
            TraceFormat::BedrockLog => {
                self.group_json(text)?;
                bedrock::parse(text).map_err(|(col, m)| self.error(col, m))?
            }
        };
        let (time_us, kind) =
            time::parse_timestamp(fields.timestamp).map_err(|m| self.error(fields.ts_col, m))?;
        match self.time_kind {
            Some(k) if k != kind => {
                return Err(Box::new(self.error(
                    fields.ts_col,
                    "this timestamp is in a different form (seconds vs RFC 3339) from the first record's; a trace must use one form",
                )));
            }
            _ => self.time_kind = Some(kind),
        }
        if let Some((prev, prev_line)) = self.prev
            && time_us < prev
        {
            return Err(Box::new(self.error(
                fields.ts_col,
                format!(
                    "records must be in time order, but this timestamp is {:.6} s earlier than line {prev_line}'s; sort the trace by timestamp",
                    (prev - time_us) as f64 / 1e6
                ),
            )));
        }
        self.prev = Some((time_us, self.records.record_line()));
        let class = match (fields.class, &self.classes) {
            (None, _) | (_, ClassMode::Ignore) => None,
            (Some((c, _)), ClassMode::Collect) => {
                let i = match self.class_index.get(c) {
                    Some(&i) => i,
                    None => {
                        self.class_names.push(c.to_string());
                        self.class_index
                            .insert(c.to_string(), self.class_names.len() - 1);
                        self.class_names.len() - 1
                    }
                };
                u32::try_from(i).ok()
            }
            (Some((c, col)), ClassMode::Known(names)) => {
                let Some(i) = names.iter().position(|n| n == c) else {
                    let mut d = self.error(
                        Some(col),
                        format!(
                            "class \"{c}\" is not a request class of the scenario; classes are {}",
                            names
                                .iter()
                                .map(|n| format!("\"{n}\""))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                    d.help = nearest(c, names.iter().map(String::as_str))
                        .map(|n| format!("did you mean \"{n}\"?"));
                    return Err(Box::new(d));
                };
                u32::try_from(i).ok()
            }
        };
        Ok(Some(TraceRecord {
            time_us,
            input: fields.input,
            output: fields.output,
            max_tokens: fields.max_tokens,
            cache_read: fields.cache_read,
            cache_write: fields.cache_write,
            class,
            model: fields.model,
        }))
    }

    fn group_header(&mut self, split: &csv::Fields) -> Result<(), Box<Diagnostic>> {
        let Some(g) = &self.group else {
            return Ok(());
        };
        let want = g.field.to_ascii_lowercase();
        let found = split
            .iter()
            .find(|(_, name, _)| name.to_ascii_lowercase() == want)
            .map(|(i, _, _)| i);
        let Some(i) = found else {
            let names: Vec<&str> = split.iter().map(|(_, n, _)| n).collect();
            let mut d = self.error(
                None,
                format!(
                    "the header has no column `{}` to split by; its columns are {}",
                    g.field,
                    names
                        .iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            d.help = nearest(&want, names.iter().copied()).map(|n| format!("did you mean `{n}`?"));
            return Err(Box::new(d));
        };
        if let Some(g) = &mut self.group {
            g.column = Some(i);
        }
        Ok(())
    }

    fn group_csv(&mut self, split: &csv::Fields) -> Result<(), Box<Diagnostic>> {
        let Some(g) = &mut self.group else {
            return Ok(());
        };
        let value = split
            .iter()
            .find(|(i, _, _)| Some(*i) == g.column)
            .map(|(_, v, _)| v);
        g.value.clear();
        g.value.push_str(value.unwrap_or(""));
        Ok(())
    }

    fn group_json(&mut self, text: &str) -> Result<(), Box<Diagnostic>> {
        let Some(field) = self.group.as_ref().map(|g| g.field.clone()) else {
            return Ok(());
        };
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            let col = (e.column() > 0).then_some(e.column());
            self.error(col, format!("invalid invocation-log record: {e}"))
        })?;
        let pointer = format!("/{}", field.replace('.', "/"));
        let text = match value.pointer(&pointer) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => v.to_string(),
            _ => {
                return Err(Box::new(self.error(
                    None,
                    format!(
                        "the record has no `{field}` (or it is not a string or number) to split by; \
                         invocation logs carry e.g. `modelId`, `identity.arn`, `operation`, `region`"
                    ),
                )));
            }
        };
        if let Some(g) = &mut self.group {
            g.value = text;
        }
        Ok(())
    }

    fn parse_header(&self, split: &csv::Fields) -> Result<Layout, Box<Diagnostic>> {
        let cols: Vec<(String, usize)> = split
            .iter()
            .map(|(_, name, col)| (name.to_ascii_lowercase(), col))
            .collect();
        let mut slots: [Option<usize>; 7] = [None; 7];
        for (i, (name, col)) in cols.iter().enumerate() {
            match CSV_COLUMNS.iter().position(|c| c == name) {
                Some(k) => {
                    if let Some(slot) = slots.get_mut(k) {
                        if slot.is_some() {
                            return Err(Box::new(self.error(
                                Some(*col),
                                format!("column `{name}` appears twice in the header"),
                            )));
                        }
                        *slot = Some(i);
                    }
                }
                None => {
                    // Other columns (request ids, model names…) are ignored, but a near
                    // miss of a known column is almost certainly a typo.
                    if let Some(n) = nearest(name, CSV_COLUMNS)
                        && strsim::normalized_damerau_levenshtein(name, n) >= 0.8
                    {
                        let mut d = self.error(
                            Some(*col),
                            format!(
                                "unknown column `{name}`; trace columns are {}",
                                CSV_COLUMNS
                                    .iter()
                                    .map(|c| format!("`{c}`"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        );
                        d.help = Some(format!("did you mean `{n}`?"));
                        return Err(Box::new(d));
                    }
                }
            }
        }
        let [
            ts,
            input,
            output,
            max_tokens,
            cache_read,
            cache_write,
            class,
        ] = slots;
        let need = |slot: Option<usize>, name: &str| {
            slot.ok_or_else(|| {
                Box::new(self.error(
                    None,
                    format!(
                        "the header has no `{name}` column; a CSV trace needs `timestamp`, `input_tokens` and `output_tokens` (optional: `max_tokens`, `cache_read_tokens`, `cache_write_tokens`, `class`)"
                    ),
                ))
            })
        };
        Ok(Layout {
            timestamp: need(ts, "timestamp")?,
            input: need(input, "input_tokens")?,
            output: need(output, "output_tokens")?,
            max_tokens,
            cache_read,
            cache_write,
            class,
        })
    }

    fn parse_csv<'a>(
        &self,
        split: &'a csv::Fields,
        l: Layout,
    ) -> Result<Fields<'a>, Box<Diagnostic>> {
        let mut cells: [(&'a str, usize); 7] = [("", 0); 7];
        let mut present = [false; 7];
        let mut count = 0;
        let wanted = [
            Some(l.timestamp),
            Some(l.input),
            Some(l.output),
            l.max_tokens,
            l.cache_read,
            l.cache_write,
            l.class,
        ];
        for (i, v, col) in split.iter() {
            count = i + 1;
            for (k, w) in wanted.iter().enumerate() {
                if *w == Some(i)
                    && let (Some(c), Some(p)) = (cells.get_mut(k), present.get_mut(k))
                {
                    *c = (v, col);
                    *p = true;
                }
            }
        }
        for (k, w) in wanted.iter().enumerate() {
            if w.is_some() && !present.get(k).copied().unwrap_or(false) {
                return Err(Box::new(self.error(
                    None,
                    format!(
                        "the row has {count} fields but column `{}` is field {} of the header",
                        CSV_COLUMNS.get(k).copied().unwrap_or("?"),
                        w.map_or(0, |i| i + 1)
                    ),
                )));
            }
        }
        let cell = |k: usize| cells.get(k).copied().unwrap_or(("", 0));
        let int = |k: usize, min: u64, required: bool| -> Result<Option<u64>, Box<Diagnostic>> {
            let (v, col) = cell(k);
            let name = CSV_COLUMNS.get(k).copied().unwrap_or("?");
            if v.is_empty() {
                if required {
                    return Err(Box::new(
                        self.error(Some(col), format!("`{name}` is empty")),
                    ));
                }
                return Ok(None);
            }
            match v.parse::<u64>() {
                Ok(n) if n >= min && n <= MAX_TOKENS => Ok(Some(n)),
                _ => Err(Box::new(self.error(
                    Some(col),
                    format!("`{name}`: expected an integer ≥ {min}, found \"{v}\""),
                ))),
            }
        };
        let (ts, ts_col) = cell(0);
        Ok(Fields {
            timestamp: ts,
            ts_col: Some(ts_col),
            input: int(1, 0, true)?.unwrap_or(0),
            output: int(2, 0, true)?.unwrap_or(0),
            max_tokens: if l.max_tokens.is_some() {
                int(3, 1, false)?
            } else {
                None
            },
            cache_read: if l.cache_read.is_some() {
                int(4, 0, false)?
            } else {
                None
            },
            cache_write: if l.cache_write.is_some() {
                int(5, 0, false)?
            } else {
                None
            },
            class: l.class.map(|_| cell(6)).filter(|(v, _)| !v.is_empty()),
            model: None,
        })
    }
}

/// The largest token count a trace may hold (keeps engine arithmetic far from overflow).
pub const MAX_TOKENS: u64 = 1 << 50;

/// One record's fields as text and numbers, before the timestamp is interpreted.
#[derive(Debug)]
pub(crate) struct Fields<'a> {
    pub timestamp: &'a str,
    pub ts_col: Option<usize>,
    pub input: u64,
    pub output: u64,
    pub max_tokens: Option<u64>,
    pub cache_read: Option<u64>,
    pub cache_write: Option<u64>,
    pub class: Option<(&'a str, usize)>,
    pub model: Option<u64>,
}

/// What a full pass over a trace found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TraceInfo {
    /// Number of records.
    pub records: u64,
    /// Timestamp of the first record, µs.
    pub first_us: i64,
    /// Timestamp of the last record, µs.
    pub last_us: i64,
    /// The CSV header has a `max_tokens` column.
    pub has_max_tokens: bool,
    /// The trace gives cache-read counts.
    pub has_cache_read: bool,
    /// The trace gives cache-write counts.
    pub has_cache_write: bool,
    /// The CSV header has a `class` column.
    pub has_class: bool,
    /// Distinct classes, in order of first appearance.
    pub class_names: Vec<String>,
    /// Distinct model IDs of the records ([`model_key`] of each), in order of first
    /// appearance, at most [`MAX_MODEL_KEYS`]: which bare IDs an old log used.
    pub model_keys: Vec<u64>,
}

/// Most distinct model IDs [`TraceInfo::model_keys`] keeps.
pub const MAX_MODEL_KEYS: usize = 256;

/// Reads a whole trace once, validating every line and calling `each` on every record.
/// With [`ClassMode::Known`], a record naming another class is an error; `info.class_names`
/// lists the names of the mode (or those collected).
pub fn scan(
    path: &Path,
    format: TraceFormat,
    classes: ClassMode,
    mut each: impl FnMut(&TraceRecord),
) -> Result<TraceInfo, Box<Diagnostic>> {
    let mut r = TraceReader::open(path, format, classes)?;
    let mut info = TraceInfo::default();
    while let Some(rec) = r.next_record()? {
        if info.records == 0 {
            info.first_us = rec.time_us;
        }
        info.records += 1;
        info.last_us = rec.time_us;
        info.has_cache_read |= rec.cache_read.is_some();
        info.has_cache_write |= rec.cache_write.is_some();
        info.has_max_tokens |= rec.max_tokens.is_some();
        if let Some(k) = rec.model
            && info.model_keys.len() < MAX_MODEL_KEYS
            && !info.model_keys.contains(&k)
        {
            info.model_keys.push(k);
        }
        each(&rec);
    }
    info.has_max_tokens |= r.has_column("max_tokens") && format == TraceFormat::Csv;
    info.has_class = r.has_column("class");
    info.has_cache_read |= r.has_column("cache_read_tokens") && format == TraceFormat::Csv;
    info.has_cache_write |= r.has_column("cache_write_tokens") && format == TraceFormat::Csv;
    info.class_names = r.class_names().to_vec();
    if info.records == 0 {
        return Err(Box::new(Diagnostic::new(
            r.name(),
            "the trace has no records",
        )));
    }
    Ok(info)
}

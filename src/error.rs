//! Error types. Invalid input (exit status 2) is a [`Diagnostic`] that points at the file,
//! line, column and key path that caused it; everything else is a run-time failure (exit 1).

use std::fmt;

/// Where an invalid value came from and what would have been valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The scenario file (or `<string>` / the flag) the problem is in.
    pub file: String,
    /// 1-based line and column in `file`, when known.
    pub location: Option<(usize, usize)>,
    /// Dotted key path, e.g. `client.concurrency`, when known.
    pub key_path: Option<String>,
    /// What is wrong and what was expected.
    pub message: String,
    /// A suggestion, e.g. the nearest valid key.
    pub help: Option<String>,
    /// Set when the value came from a command-line override rather than the file (e.g.
    /// `--set client.concurrency=0`); the message then starts with it instead of the file.
    pub origin: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with only a file and a message.
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.into(),
            location: None,
            key_path: None,
            message: message.into(),
            help: None,
            origin: None,
        }
    }

    /// A diagnostic about the value of a command-line flag (`--vary`, `--assert`, …): the
    /// message names the flag where a file name would be.
    pub fn flag(flag: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic::new(flag, message)
    }

    /// Attaches a key path.
    pub fn at_path(mut self, path: impl Into<String>) -> Self {
        let p = path.into();
        self.key_path = if p.is_empty() { None } else { Some(p) };
        self
    }

    /// Attaches a suggestion.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A value given by a flag is blamed on the flag, not on a line of the file.
        match &self.origin {
            Some(origin) => write!(f, "{origin}")?,
            None => {
                write!(f, "{}", self.file)?;
                if let Some((line, col)) = self.location {
                    write!(f, ":{line}:{col}")?;
                }
            }
        }
        write!(f, ": ")?;
        if let Some(path) = &self.key_path {
            write!(f, "`{path}`: ")?;
        }
        write!(f, "{}", self.message)?;
        if self.origin.is_some() {
            write!(f, " (in {})", self.file)?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Every error the library returns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The scenario or a flag is invalid (exit status 2).
    #[error("{0}")]
    Invalid(Box<Diagnostic>),
    /// A command-line value is invalid (exit status 2).
    #[error("{0}")]
    Usage(String),
    /// Reading or writing a file failed at run time (exit status 1).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The simulation could not complete (exit status 1).
    #[error("{0}")]
    Runtime(String),
}

impl Error {
    /// The process exit status this error maps to: 2 for invalid input, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Invalid(_) | Error::Usage(_) => 2,
            Error::Io { .. } | Error::Runtime(_) => 1,
        }
    }
}

impl From<Diagnostic> for Error {
    fn from(d: Diagnostic) -> Self {
        Error::Invalid(Box::new(d))
    }
}

/// Levenshtein-nearest candidate within a small distance, for "did you mean" hints.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(&str, f64)> = None;
    for c in candidates {
        // A word more than twice as long cannot score 0.6; skipping it also keeps a hostile
        // 5 MB key from costing minutes of edit distance.
        if word.len() > 2 * c.len() + 8 {
            continue;
        }
        let score = strsim::normalized_damerau_levenshtein(word, c);
        let close = score >= 0.6 || (c.starts_with(word) && word.len() >= 3);
        if close && best.is_none_or(|(_, s)| score > s) {
            best = Some((c, score));
        }
    }
    best.map(|(c, _)| c)
}

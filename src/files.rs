//! Size limits on every file quotasim reads, so that no input (`/dev/zero`, a 10 GB log
//! passed by mistake, a line without an end) can grow memory or run forever.
//!
//! * Whole files read into memory (a scenario, the reports given to `compare` and `merge`)
//!   stop at [`DEFAULT_MAX_INPUT_MB`], raised with `QUOTASIM_MAX_INPUT_MB`.
//! * Streamed files (traces, an empirical distribution's `file`) are read a line at a time:
//!   a line stops at [`MAX_LINE_BYTES`], and the whole file at [`DEFAULT_MAX_TRACE_MB`],
//!   raised with `QUOTASIM_MAX_TRACE_MB`. Their memory stays a few lines whatever the size.
//!
//! Going over a limit is invalid input (exit status 2) naming the file, the limit and the
//! variable that raises it.

use std::io::{BufRead, Read, Write};
use std::path::Path;

use crate::error::Diagnostic;

/// Default limit on a file read whole (scenario, report, part file), MB.
pub const DEFAULT_MAX_INPUT_MB: u64 = 64;
/// Default limit on a streamed file (trace, empirical `file`), MB.
pub const DEFAULT_MAX_TRACE_MB: u64 = 16 * 1024;
/// The environment variable that raises [`DEFAULT_MAX_INPUT_MB`].
pub const INPUT_ENV: &str = "QUOTASIM_MAX_INPUT_MB";
/// The environment variable that raises [`DEFAULT_MAX_TRACE_MB`].
pub const TRACE_ENV: &str = "QUOTASIM_MAX_TRACE_MB";
/// The longest line of a streamed file: a trace record or a CSV row is far shorter.
/// A Bedrock invocation log logs the request body, so a record with a 1M-token prompt is a
/// few MB; 16 MiB leaves room and still stops `/dev/zero` at once.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// A limit in bytes from `env` (in MB), or `default_mb`.
fn limit(env: &str, default_mb: u64) -> Result<u64, Box<Diagnostic>> {
    match std::env::var(env) {
        Err(_) => Ok(default_mb << 20),
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(mb) if mb >= 1 => Ok(mb.saturating_mul(1 << 20)),
            _ => Err(Box::new(Diagnostic::new(
                env,
                format!(
                    "`{}` is not a size in MB; expected a whole number of at least 1",
                    crate::terminal::shorten(&v, 40)
                ),
            ))),
        },
    }
}

/// The limit on files read whole, bytes.
pub fn max_input_bytes() -> Result<u64, Box<Diagnostic>> {
    limit(INPUT_ENV, DEFAULT_MAX_INPUT_MB)
}

/// The limit on streamed files, bytes.
pub fn max_trace_bytes() -> Result<u64, Box<Diagnostic>> {
    limit(TRACE_ENV, DEFAULT_MAX_TRACE_MB)
}

/// The refusal of a file over its limit.
pub fn too_big(file: &str, what: &str, limit_bytes: u64, env: &str) -> Box<Diagnostic> {
    let mb = limit_bytes >> 20;
    Box::new(
        Diagnostic::new(
            file,
            format!("the {what} is larger than the {mb} MB limit on {what}s"),
        )
        .with_help(format!(
            "if it is meant to be this big, raise the limit: {env}={} quotasim …",
            mb.saturating_mul(4)
        )),
    )
}

/// Reads a whole file of at most [`max_input_bytes`]; `what` names it in the refusal
/// ("scenario", "report"). I/O errors are returned as they are, for the caller's wording.
pub fn read_bytes(
    path: &Path,
    what: &str,
) -> Result<Result<Vec<u8>, std::io::Error>, Box<Diagnostic>> {
    let limit = max_input_bytes()?;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return Ok(Err(e)),
    };
    let mut bytes = Vec::new();
    // One byte past the limit tells "exactly at the limit" from "over it", without trusting
    // the size the file system reports (a device or a pipe reports 0).
    match file.take(limit.saturating_add(1)).read_to_end(&mut bytes) {
        Ok(_) if bytes.len() as u64 > limit => {
            Err(too_big(&path.display().to_string(), what, limit, INPUT_ENV))
        }
        Ok(_) => Ok(Ok(bytes)),
        Err(e) => Ok(Err(e)),
    }
}

/// Why a line of a streamed file could not be read.
#[derive(Debug)]
pub enum LineError {
    /// The line has more than [`MAX_LINE_BYTES`] bytes.
    TooLong,
    /// The file has more than its limit of bytes (the limit, in bytes).
    TooBig(u64),
    /// The read failed.
    Io(std::io::Error),
}

impl LineError {
    /// The diagnostic for line `line` of `file`, a file of kind `what` ("trace").
    pub fn diagnostic(self, file: &str, line: u64, what: &str) -> Box<Diagnostic> {
        let mut d = match self {
            LineError::TooLong => Box::new(Diagnostic::new(
                file,
                format!(
                    "the line is longer than {} MiB; a {what} has one record per line (is this \
                     the right file?)",
                    MAX_LINE_BYTES >> 20
                ),
            )),
            LineError::TooBig(limit) => return too_big(file, what, limit, TRACE_ENV),
            LineError::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                Box::new(Diagnostic::new(
                    file,
                    format!("the line is not valid UTF-8; {what}s must be UTF-8 text"),
                ))
            }
            LineError::Io(e) => Box::new(Diagnostic::new(file, format!("cannot read line: {e}"))),
        };
        d.location = Some((usize::try_from(line).unwrap_or(usize::MAX), 1));
        d
    }
}

/// Reads one line into `buf` (cleared first) as `read_line` does, but at most
/// [`MAX_LINE_BYTES`] of it, and counts the bytes into `read`, refusing past `limit`.
/// Returns the bytes read, 0 at the end of the file.
pub fn read_line_limited<R: BufRead>(
    r: &mut R,
    buf: &mut String,
    read: &mut u64,
    limit: u64,
) -> Result<usize, LineError> {
    buf.clear();
    let cap = MAX_LINE_BYTES as u64 + 1;
    let n = r.by_ref().take(cap).read_line(buf).map_err(LineError::Io)?;
    *read = read.saturating_add(n as u64);
    if *read > limit {
        return Err(LineError::TooBig(limit));
    }
    if n as u64 >= cap && !buf.ends_with('\n') {
        return Err(LineError::TooLong);
    }
    Ok(n)
}

/// Writes `path` whole or not at all: into a temporary file in the same folder
/// (`.NAME.PID.tmp`), flushed and synced, then renamed over `path`. A run killed mid-write
/// (SIGINT, SIGTERM, a full disk) leaves `path` as it was, never truncated; at worst the
/// temporary file stays behind.
pub fn write_atomic(
    path: &Path,
    f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    // A device or a pipe (`--out /dev/stdout`) is written in place: renaming over it would
    // replace the device itself.
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        let mut w = std::io::BufWriter::new(std::fs::OpenOptions::new().write(true).open(path)?);
        f(&mut w)?;
        return w.flush();
    }
    // Through a symbolic link to the file it names (renaming over the link would replace
    // the link itself), keeping that file's permissions.
    let resolved = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).ok(),
        _ => None,
    };
    let path = resolved.as_deref().unwrap_or(path);
    let permissions = std::fs::metadata(path).ok().map(|m| m.permissions());
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let _pending = Pending::register(&tmp);
    let file = match std::fs::File::create(&tmp) {
        Ok(file) => file,
        // A folder we may not create files in, holding a file we may write: write it in
        // place, as before (not atomic, but not refused either).
        Err(e)
            if e.kind() == std::io::ErrorKind::PermissionDenied
                && std::fs::metadata(path).is_ok_and(|m| m.is_file()) =>
        {
            let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
            f(&mut w)?;
            return w.flush();
        }
        Err(e) => return Err(e),
    };
    let result = (|| {
        let mut w = std::io::BufWriter::new(file);
        f(&mut w)?;
        let file = w
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        if let Some(p) = permissions {
            file.set_permissions(p)?;
        }
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Temporary files being written, for [`remove_pending`].
static PENDING: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());

/// A temporary file listed in [`PENDING`] while it exists.
struct Pending(std::path::PathBuf);

impl Pending {
    fn register(path: &Path) -> Pending {
        if let Ok(mut p) = PENDING.lock() {
            p.push(path.to_path_buf());
        }
        Pending(path.to_path_buf())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Ok(mut p) = PENDING.lock() {
            p.retain(|q| q != &self.0);
        }
    }
}

/// Removes the temporary files of writes still under way: for a signal handler about to
/// exit, so that an interrupted `--out` leaves nothing behind. Never blocks.
pub fn remove_pending() {
    if let Ok(p) = PENDING.try_lock() {
        for path in p.iter() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Writes to standard output and flushes, reporting every error. Rust's own `stdout()`
/// treats a closed standard output as a sink that swallows everything; writing through a
/// duplicate of descriptor 1 makes that an error (EBADF) like any other.
pub fn write_stdout(f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if stdout_was_closed() {
            return Err(std::io::Error::other("standard output is closed"));
        }
        let stdout = std::io::stdout();
        let lock = stdout.lock();
        let fd = lock.as_fd().try_clone_to_owned()?;
        let mut w = std::io::BufWriter::new(std::fs::File::from(fd));
        f(&mut w)?;
        w.flush()
    }
    #[cfg(not(unix))]
    {
        let mut w = std::io::BufWriter::new(std::io::stdout().lock());
        f(&mut w)?;
        w.flush()
    }
}

/// Set when the process started with standard output closed (`quotasim … >&-`): the Rust
/// runtime then opens `/dev/null` on descriptor 1 before `main`, so writes would vanish
/// unseen. The binary checks before the runtime does and calls
/// [`note_stdout_closed_at_start`].
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Records that standard output was closed when the process started (see [`write_stdout`]).
pub fn note_stdout_closed_at_start() {
    STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
}

fn stdout_was_closed() -> bool {
    STDOUT_CLOSED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Refuses an output path (`--out`, `--plot`) that names one of the command's inputs: the
/// run would replace its own scenario, or a part file, with its output.
pub fn refuse_overwrite(flag: &str, out: &Path, inputs: &[&Path]) -> Result<(), crate::Error> {
    let Ok(out_meta) = std::fs::metadata(out) else {
        return Ok(()); // a file that does not exist yet is no input
    };
    for input in inputs {
        let Ok(in_meta) = std::fs::metadata(input) else {
            continue;
        };
        if same_file(&out_meta, &in_meta) {
            return Err(Diagnostic::new(
                format!("{flag} {}", out.display()),
                format!(
                    "is an input of this command ({}); writing the output there would \
                     destroy it",
                    input.display()
                ),
            )
            .with_help("write the output to another file")
            .into());
        }
    }
    Ok(())
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    a.len() == b.len() && a.modified().ok() == b.modified().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_capped() {
        let long = "x".repeat(MAX_LINE_BYTES + 10);
        let mut r = std::io::Cursor::new(format!("ok\n{long}\n"));
        let (mut buf, mut read) = (String::new(), 0);
        assert_eq!(
            read_line_limited(&mut r, &mut buf, &mut read, u64::MAX).unwrap(),
            3
        );
        assert!(matches!(
            read_line_limited(&mut r, &mut buf, &mut read, u64::MAX),
            Err(LineError::TooLong)
        ));
        let mut r = std::io::Cursor::new("a\nb\nc\n");
        let mut read = 0;
        assert!(read_line_limited(&mut r, &mut buf, &mut read, 4).is_ok());
        assert!(read_line_limited(&mut r, &mut buf, &mut read, 4).is_ok());
        assert!(matches!(
            read_line_limited(&mut r, &mut buf, &mut read, 4),
            Err(LineError::TooBig(4))
        ));
    }

    #[test]
    fn a_line_of_exactly_the_cap_is_fine() {
        let line = format!("{}\n", "y".repeat(MAX_LINE_BYTES));
        let mut r = std::io::Cursor::new(line);
        let (mut buf, mut read) = (String::new(), 0);
        assert_eq!(
            read_line_limited(&mut r, &mut buf, &mut read, u64::MAX).unwrap(),
            MAX_LINE_BYTES + 1
        );
    }
}

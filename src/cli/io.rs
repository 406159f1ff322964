//! Reading inputs and writing outputs for the subcommands.

use std::io::Write;
use std::path::Path;

use crate::error::{Diagnostic, Error};

/// Readies an output path given by `flag` before any time is spent on the work: refuses a
/// directory and creates missing parent folders (a Slurm array task writing `parts/3.json`
/// needs no `mkdir -p parts` first).
pub fn prepare_out(flag: &str, path: &Path) -> Result<(), Error> {
    if path.is_dir() {
        return Err(Diagnostic::flag(
            format!("{flag} {}", path.display()),
            "is a directory; expected a file path",
        )
        .into());
    }
    create_parent(path)
}

fn create_parent(path: &Path) -> Result<(), Error> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) if !parent.is_dir() => {
            std::fs::create_dir_all(parent).map_err(|source| Error::Io {
                context: format!("cannot create the folder {}", parent.display()),
                source,
            })
        }
        _ => Ok(()),
    }
}

/// Writes `text` to FILE, or to standard output.
pub fn emit(text: &str, out: Option<&Path>) -> Result<(), Error> {
    write_out(out, |w| w.write_all(text.as_bytes()))
}

/// Writes to FILE (creating its folder), or to standard output, where a closed pipe (e.g.
/// `| head`) is not an error. Every other write error is (exit status 1): a full disk, a
/// closed standard output. FILE is written whole or not at all (see [`crate::files::write_atomic`]).
pub fn write_out(
    out: Option<&Path>,
    f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), Error> {
    match out {
        Some(path) => {
            create_parent(path)?;
            // Ctrl-C mid-write removes the temporary file, then exits as SIGINT would (a
            // command with its own handler, like `sweep`, keeps it; it calls
            // `remove_pending` too).
            let _ = ctrlc::set_handler(|| {
                crate::files::remove_pending();
                std::process::exit(130);
            });
            crate::files::write_atomic(path, f).map_err(|source| Error::Io {
                context: format!("cannot write {}", path.display()),
                source,
            })
        }
        None => match crate::files::write_stdout(f) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            r => r.map_err(|source| Error::Io {
                context: "cannot write to standard output".into(),
                source,
            }),
        },
    }
}

/// Writes a whole file (a chart), creating its folder.
pub fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    write_out(Some(path), |w| w.write_all(text.as_bytes()))
}

/// Reads an input file; a missing or unreadable file is invalid input naming it.
pub fn read_input(path: &Path) -> Result<String, Error> {
    let bytes = crate::files::read_bytes(path, "report").map_err(Error::Invalid)?;
    bytes
        .and_then(|b| {
            String::from_utf8(b)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
        })
        .map_err(|e| {
            let what = match e.kind() {
                std::io::ErrorKind::NotFound => "no such file".to_string(),
                _ => e.to_string(),
            };
            Error::from(Diagnostic::new(
                path.display().to_string(),
                format!("cannot read: {what}"),
            ))
        })
}

/// Reads a JSON report of `run` or `sweep`; invalid JSON is invalid input at its position.
pub fn read_json(path: &Path) -> Result<serde_json::Value, Error> {
    let text = read_input(path)?;
    serde_json::from_str(&text).map_err(|e| {
        let mut d = Diagnostic::new(
            path.display().to_string(),
            format!(
                "invalid JSON: {}; expected a JSON report of `quotasim run` or `sweep`",
                json_message(&e)
            ),
        );
        d.location = Some((e.line(), e.column()));
        Error::from(d)
    })
}

/// serde_json's message without its trailing " at line L column C" (the diagnostic carries
/// the position).
fn json_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    full.strip_suffix(&suffix)
        .map_or(full.clone(), str::to_string)
}

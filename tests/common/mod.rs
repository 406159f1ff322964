//! Helpers shared by the integration tests. Every file in `tests/` is a crate of its own and
//! takes what it needs with `mod common;` and `use common::{...};`.
//!
//! # Tests that need an external tool
//!
//! Some tests drive a tool cargo does not install: the real AWS SDK for Python (the venv made
//! by `.ci/run` from `tests/python/requirements.txt`), headless Chromium (Debian's `chromium`).
//! Such a test must never pass without running. `build.rs` looks for each tool at build time
//! and emits `cfg(has_<tool>)` when it finds it, and `cfg(ci)` when `CI` is set; a test says
//!
//! ```ignore
//! #[test]
//! #[cfg_attr(not(any(has_venv, ci)), ignore = "needs .venv (run .ci/run or set QUOTASIM_PYTHON)")]
//! fn talks_to_boto3() {
//!     let py = common::python(); // panics, saying what is missing, when there is none
//! }
//! ```
//!
//! so that `cargo test` lists it as *ignored* with the reason when the tool is missing, and
//! under CI (where every tool is required) runs it, and it fails with the message of
//! [`python`] / [`chromium`]. The tools and where they are looked for:
//!
//! | cfg            | tool                                   | override            |
//! |----------------|----------------------------------------|---------------------|
//! | `has_venv`     | `.venv/bin/python` (with boto3)        | `$QUOTASIM_PYTHON`  |
//! | `has_chromium` | `chromium` on `PATH`                   | `$QUOTASIM_CHROMIUM`|
//! | `has_node_sdk` | `node` on `PATH` and tests/js/node_modules/@aws-sdk/client-bedrock-runtime | `$QUOTASIM_NODE_SDK` (its package.json) |
//!
//! To add a tool, add a row to `TOOLS` in `build.rs`, a finder
//! here like [`python`], and a line to `tests/tools.rs`, which checks that the build's answer
//! is still current: cargo re-runs `build.rs` when a found tool changes or disappears, but
//! not when a missing one appears (watching a missing path would rebuild the crate on every
//! build), so after installing a tool `touch build.rs` (that test says so).

// Each test crate uses only some of these helpers, and the compiler would flag the rest as
// unused in every one of them: allowing dead code here is the standard Rust pattern for a
// `tests/common/mod.rs`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use quotasim::{Override, Scenario, simulate};
use serde_json::Value;

/// The `quotasim` binary of this build, as an `assert_cmd` command.
pub fn qs() -> Command {
    Command::cargo_bin("quotasim").unwrap()
}

/// Runs `cmd`, asserts that it succeeds and returns its standard output.
pub fn stdout(cmd: &mut Command) -> String {
    let out = cmd.assert().success().get_output().stdout.clone();
    String::from_utf8(out).unwrap()
}

/// Runs the binary with `args`, asserts that it succeeds and parses its standard output as JSON.
pub fn cli_json(args: &[&str]) -> Value {
    serde_json::from_str(&stdout(qs().args(args))).unwrap()
}

/// Parses and validates `text` as the scenario file `file`, panicking with the error.
pub fn load_as(file: &str, text: &str) -> Scenario {
    match Scenario::from_toml_str(text, file) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

/// Parses and validates `text` as the scenario file `test.toml`, panicking with the error.
pub fn load(text: &str) -> Scenario {
    load_as("test.toml", text)
}

/// The input error (key path, message, position) of loading `text` as `test.toml`; panics if it loads.
pub fn load_err(text: &str) -> quotasim::Diagnostic {
    match Scenario::from_toml_str(text, "test.toml") {
        Err(quotasim::Error::Invalid(d)) => *d,
        other => panic!("expected an input error, got {other:?}"),
    }
}

/// Like [`Scenario::from_toml_str`] on `file`, applying the `--set` overrides `sets` first; unwraps.
pub fn load_with(file: &str, text: &str, sets: &[&str]) -> Scenario {
    let overrides: Vec<Override> = sets.iter().map(|s| Override::parse(s).unwrap()).collect();
    Scenario::from_toml_str_with(text, file, &overrides).unwrap()
}

/// Simulates [`load_as`]`(file, text)` and returns its report as `serde_json::to_value` gives it.
pub fn json_as(file: &str, text: &str) -> Value {
    serde_json::to_value(simulate(&load_as(file, text))).unwrap()
}

/// Simulates [`load`]`(text)` and returns its report as `serde_json::to_value` gives it.
pub fn json(text: &str) -> Value {
    json_as("test.toml", text)
}

/// USD of one success at the prices `p` per million tokens (input, output, cache write,
/// cache read), summed in the order the crate sums them (so equal bit for bit).
pub fn usd(p: [f64; 4], input: u64, output: u64, write: u64, read: u64) -> f64 {
    (input as f64 * p[0] + output as f64 * p[1] + write as f64 * p[2] + read as f64 * p[3]) / 1e6
}

/// Whether `a` and `b` agree to a relative 1e-12 (absolute 1e-21 near zero).
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1e-9)
}

/// The integer at the dotted path `a.b.c` of `v`; panics with the path and the value found.
pub fn n(v: &Value, path: &str) -> u64 {
    let mut cur = v;
    for k in path.split('.') {
        cur = &cur[k];
    }
    cur.as_u64()
        .unwrap_or_else(|| panic!("{path} is not an integer: {cur}"))
}

/// The integer at the JSON pointer `path` (`/a/b/0`) of `v`; panics with the path and `v`.
pub fn u(v: &Value, path: &str) -> u64 {
    v.pointer(path)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{path} missing in {v}"))
}

/// Writes `text` to the file `name` in `dir` and returns its path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Like [`write`], returning the path as a `String` (for `args([...])` lists of `&str`).
pub fn write_str(dir: &Path, name: &str, text: &str) -> String {
    write(dir, name, text).to_str().unwrap().to_string()
}

/// One Bedrock invocation-log record at second `t` of 14:00, naming `model`: 100 input and
/// 50 output tokens, `max_tokens` 500.
pub fn log_record(t: u32, model: &str) -> String {
    format!(
        r#"{{"schemaType":"ModelInvocationLog","timestamp":"2025-06-02T14:00:0{t}Z","modelId":"{model}","identity":{{"arn":"arn:aws:sts::123456789012:assumed-role/x/app"}},"input":{{"inputBodyJson":{{"max_tokens":500}},"inputTokenCount":100}},"output":{{"outputTokenCount":50}}}}"#
    )
}

/// Writes `records` as `log.jsonl` in `dir`.
pub fn write_log(dir: &Path, records: &[String]) {
    std::fs::write(dir.join("log.jsonl"), records.join("\n")).unwrap();
}

/// Where the tool named by `var`, else at `relative` under the crate root, else the program
/// `program` on `PATH` is; `None` when none exists. The same search as `build.rs`.
pub fn find_tool(var: &str, relative: Option<&str>, program: Option<&str>) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        let p = PathBuf::from(p);
        return p.exists().then_some(p);
    }
    if let Some(rel) = relative {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
        if p.exists() {
            return Some(p);
        }
    }
    let path = std::env::var_os("PATH")?;
    let program = program?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// The Python interpreter with the pinned AWS SDK: `$QUOTASIM_PYTHON`, else `.venv/bin/python`.
/// Panics, saying how to get one, when there is none (a test that needs it is ignored unless
/// `cfg(any(has_venv, ci))`, so this panic is the CI failure).
pub fn python() -> PathBuf {
    find_tool("QUOTASIM_PYTHON", Some(".venv/bin/python"), None).unwrap_or_else(|| {
        panic!(
            "no Python venv: run .ci/run (it makes .venv from tests/python/requirements.txt) \
             or set QUOTASIM_PYTHON"
        )
    })
}

/// Headless Chromium: `$QUOTASIM_CHROMIUM`, else `chromium` on `PATH`. Panics, saying how to
/// get it, when there is none.
pub fn chromium() -> PathBuf {
    find_tool("QUOTASIM_CHROMIUM", None, Some("chromium")).unwrap_or_else(|| {
        panic!(
            "no chromium: `apt-get install -y chromium` (as .ci/run does) or set QUOTASIM_CHROMIUM"
        )
    })
}

/// The AWS SDK for JavaScript v3 installed in tests/js (made by `.ci/run`) with `node` on
/// `PATH`: the folder tests/js. Panics, saying how to get it, when either is missing.
pub fn node_sdk() -> PathBuf {
    let node = find_tool("QUOTASIM_NODE", None, Some("node"));
    let sdk = find_tool(
        "QUOTASIM_NODE_SDK",
        Some("tests/js/node_modules/@aws-sdk/client-bedrock-runtime/package.json"),
        None,
    );
    match (node, sdk) {
        (Some(_), Some(_)) => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js"),
        (None, _) => panic!("node is not on PATH (install nodejs and npm, then run .ci/run)"),
        (_, None) => panic!(
            "@aws-sdk/client-bedrock-runtime is not installed in tests/js (.ci/run runs `npm i \
             @aws-sdk/client-bedrock-runtime` there)"
        ),
    }
}

/// `quotasim serve SCENARIO --listen 127.0.0.1:0 EXTRA…`, started from TOML text in a temporary
/// folder; the endpoint is read from the first line the server prints on standard error.
/// Killed when dropped, so a failing test does not leave a server behind.
pub struct Served {
    pub child: std::process::Child,
    pub endpoint: String,
    _dir: tempfile::TempDir,
}

impl Served {
    pub fn start(scenario: &str, extra: &[&str]) -> Served {
        use std::io::{BufRead, BufReader};
        use std::process::Stdio;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("scenario.toml");
        std::fs::write(&path, scenario).expect("write scenario");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_quotasim"))
            .arg("serve")
            .arg(&path)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start serve");
        let mut line = String::new();
        BufReader::new(child.stderr.take().expect("stderr"))
            .read_line(&mut line)
            .expect("first line");
        let endpoint = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        Served {
            child,
            endpoint,
            _dir: dir,
        }
    }

    /// Sends `signal` (`-TERM`, `-INT`); the exit status and the final report printed on
    /// standard output.
    pub fn stop(mut self, signal: &str) -> (std::process::ExitStatus, Value) {
        use std::io::Read;
        let pid = self.child.id().to_string();
        assert!(
            std::process::Command::new("kill")
                .args([signal, &pid])
                .status()
                .expect("kill")
                .success()
        );
        let mut text = String::new();
        self.child
            .stdout
            .take()
            .expect("stdout")
            .read_to_string(&mut text)
            .expect("read the report");
        let status = self.child.wait().expect("wait");
        (
            status,
            serde_json::from_str(&text).expect("the final report"),
        )
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// splitmix64: a small, seeded generator for random test cases, so that a failing case is
/// reproducible by its number.
pub struct Gen(pub u64);

impl Gen {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// One of `xs`.
    pub fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
    /// True `percent` times in 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

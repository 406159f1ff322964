//! `quotasim._quotasim`: the extension module under the `quotasim` Python package.
//!
//! Each function here does what one `quotasim` subcommand does with `--format json` and
//! returns the same JSON text the command prints; the Python package (`quotasim/__init__.py`)
//! checks argument types, parses the JSON into dicts and turns [`NativeError`] into
//! `quotasim.ScenarioError` and its kin. The Python lock is released while anything
//! simulates or serves, so Python threads run simulations in parallel.
//!
//! The `quotasim` command of the wheel is the crate's own `main` ([`cli_main`]), compiled
//! into this module from `src/main.rs`.

// No panics reachable from Python (the same lints as the library's).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

use quotasim::assertion::{Constraint, Objective};
use quotasim::guard::{self, DEFAULT_MAX_EVENTS, DEFAULT_MAX_MEMORY_MB, Limits};
use quotasim::quota::ReserveMode;
use quotasim::report::{ExportOptions, Format};
use quotasim::sweep::grid::Vary;
use quotasim::{Diagnostic, Error, Override, Scenario};

/// The command line (`src/main.rs`), whose `main_with` the `quotasim` command calls. Its
/// own `main` is not used here.
#[allow(dead_code)]
#[path = "../../src/main.rs"]
mod command;

create_exception!(
    _quotasim,
    NativeError,
    PyException,
    "A library error: (kind, text, message, file, line, column, key_path, help, origin)."
);

/// Turns a library error into [`NativeError`]; `kind` is `invalid` (a diagnostic),
/// `usage` (a bad argument value) or `runtime`, and `text` what the command prints after
/// `error: `.
fn raise(e: Error) -> PyErr {
    let text = e.to_string();
    let d = match &e {
        Error::Invalid(d) => Some(d.as_ref().clone()),
        _ => None,
    };
    let kind = match &e {
        Error::Invalid(_) => "invalid",
        Error::Usage(_) => "usage",
        Error::Io { .. } | Error::Runtime(_) => "runtime",
    };
    let (message, file, line, column, key_path, help, origin) = match d {
        Some(d) => (
            d.message,
            Some(d.file),
            d.location.map(|l| l.0),
            d.location.map(|l| l.1),
            d.key_path,
            d.help,
            d.origin,
        ),
        None => (text.clone(), None, None, None, None, None, None),
    };
    NativeError::new_err((
        kind, text, message, file, line, column, key_path, help, origin,
    ))
}

/// A usage error (a bad value of an argument the command line would take as a flag).
fn usage(msg: String) -> PyErr {
    raise(Error::Usage(msg))
}

/// Where a scenario comes from: a file, or TOML text named `<string>` or `<dict>` in
/// messages (its relative file names resolve from the current directory).
enum Source {
    Path(PathBuf),
    Text { text: String, name: String },
}

impl Source {
    /// `kind` is `path`, `text` (TOML) or `json` (a dict, rendered as JSON by the caller).
    fn new(kind: &str, value: String) -> PyResult<Source> {
        match kind {
            "path" => Ok(Source::Path(PathBuf::from(value))),
            "text" => Ok(Source::Text {
                text: value,
                name: "<string>".into(),
            }),
            "json" => Ok(Source::Text {
                text: json_to_toml(&value)?,
                name: "<dict>".into(),
            }),
            other => Err(usage(format!("unknown scenario kind {other:?}"))),
        }
    }

    fn file(&self) -> String {
        match self {
            Source::Path(p) => p.display().to_string(),
            Source::Text { name, .. } => name.clone(),
        }
    }

    fn load(&self, overrides: &[Override]) -> Result<Scenario, Error> {
        match self {
            Source::Path(p) => Scenario::from_path(p, overrides),
            Source::Text { text, name } => Scenario::from_toml_str_with(text, name, overrides),
        }
    }
}

/// A scenario given as a dict (JSON text here) as TOML text.
fn json_to_toml(json: &str) -> PyResult<String> {
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| usage(format!("the scenario dict is not plain data: {e}")))?;
    if !value.is_object() {
        return Err(usage(
            "the scenario must be a dict of tables and keys".into(),
        ));
    }
    let table: toml::Table = toml::Table::try_from(value)
        .map_err(|e| usage(format!("the scenario dict cannot be written as TOML: {e}")))?;
    toml::to_string(&table)
        .map_err(|e| usage(format!("the scenario dict cannot be written as TOML: {e}")))
}

fn overrides(sets: &[String]) -> PyResult<Vec<Override>> {
    sets.iter()
        .map(|t| Override::parse(t).map_err(raise))
        .collect()
}

/// The guard rails: `--max-events` and `--max-memory-mb` (each at least 1).
fn limits(max_events: Option<u64>, max_memory_mb: Option<u64>) -> PyResult<Limits> {
    if max_events == Some(0) {
        return Err(usage("max_events: expected at least 1".into()));
    }
    if max_memory_mb == Some(0) {
        return Err(usage("max_memory_mb: expected at least 1".into()));
    }
    Ok(Limits::new(
        max_events.unwrap_or(DEFAULT_MAX_EVENTS),
        max_memory_mb.unwrap_or(DEFAULT_MAX_MEMORY_MB),
    ))
}

fn parse_all<T, E: std::fmt::Display>(
    flag: &str,
    texts: &[String],
    parse: impl Fn(&str) -> Result<T, E>,
) -> PyResult<Vec<T>> {
    texts
        .iter()
        .map(|t| parse(t).map_err(|e| usage(format!("{flag} {t}: {e}"))))
        .collect()
}

/// `quotasim run SCENARIO --format json`: the report's JSON text and the warnings the
/// command prints.
#[pyfunction]
#[pyo3(signature = (kind, scenario, sets, seed=None, max_events=None, max_memory_mb=None))]
fn run(
    py: Python<'_>,
    kind: &str,
    scenario: String,
    sets: Vec<String>,
    seed: Option<u64>,
    max_events: Option<u64>,
    max_memory_mb: Option<u64>,
) -> PyResult<(String, Vec<String>)> {
    let source = Source::new(kind, scenario)?;
    let overrides = overrides(&sets)?;
    let limits = limits(max_events, max_memory_mb)?;
    py.detach(move || -> Result<(String, Vec<String>), Error> {
        let file = source.file();
        let mut s = source.load(&overrides)?;
        if let Some(seed) = seed {
            s.seed = seed;
        }
        guard::check(&s, &file, &limits)?;
        let mut warnings = Vec::new();
        if let Err(e) = guard::check_servable(&s, &file) {
            warnings.push(format!(
                "{e}\n  (running anyway: every request is counted in requests.unservable)"
            ));
        }
        let report = guard::simulate_guarded(&s, &file, &limits)?;
        let json = report.render(Format::Json, ExportOptions { timeline: false });
        Ok((json, warnings))
    })
    .map_err(raise)
}

/// `quotasim sweep SCENARIO --format json --quiet` (the scenario is a file).
#[pyfunction]
#[pyo3(signature = (path, vary, sets, replications=None, threads=None, objective=None,
                    constraints=Vec::new(), max_events=None, max_memory_mb=None))]
#[allow(clippy::too_many_arguments)]
fn sweep(
    py: Python<'_>,
    path: PathBuf,
    vary: Vec<String>,
    sets: Vec<String>,
    replications: Option<usize>,
    threads: Option<usize>,
    objective: Option<String>,
    constraints: Vec<String>,
    max_events: Option<u64>,
    max_memory_mb: Option<u64>,
) -> PyResult<String> {
    let vary = parse_all("--vary", &vary, Vary::parse)?;
    let objective = match objective {
        Some(o) => Some(
            o.parse::<Objective>()
                .map_err(|e| usage(format!("--objective {o}: {e}")))?,
        ),
        None => None,
    };
    let constraints = parse_all("--constraint", &constraints, |t| t.parse::<Constraint>())?;
    let limits = limits(max_events, max_memory_mb)?;
    py.detach(move || -> Result<String, Error> {
        if threads == Some(0) {
            return Err(Diagnostic::flag("--threads 0", "expected at least 1").into());
        }
        if let Some(n) = threads {
            quotasim::sweep::run::check_threads(n)?;
        }
        let opts = quotasim::sweep::SweepOptions {
            vary,
            set: sets,
            replications,
            shard: None,
            objective,
            constraints,
            limits: Some(limits),
        };
        let plan = quotasim::sweep::plan_sweep(&path, &opts)?;
        let report = quotasim::sweep::execute(&plan, threads, &|| {})?;
        Ok(quotasim::sweep::format::render(&report, Format::Json))
    })
    .map_err(raise)
}

/// `quotasim plan SCENARIO --format json` (the scenario is a file): the JSON text and the
/// warnings the command prints.
#[pyfunction]
#[pyo3(signature = (path, find, constraints, maximize=false, range=None, resolution=None,
                    replications=None, confidence=None, sets=Vec::new(), threads=None,
                    max_events=None, max_memory_mb=None))]
#[allow(clippy::too_many_arguments)]
fn plan(
    py: Python<'_>,
    path: PathBuf,
    find: String,
    constraints: Vec<String>,
    maximize: bool,
    range: Option<String>,
    resolution: Option<u64>,
    replications: Option<usize>,
    confidence: Option<f64>,
    sets: Vec<String>,
    threads: Option<usize>,
    max_events: Option<u64>,
    max_memory_mb: Option<u64>,
) -> PyResult<(String, Vec<String>)> {
    let constraints = parse_all("--constraint", &constraints, |t| t.parse::<Constraint>())?;
    let limits = limits(max_events, max_memory_mb)?;
    py.detach(move || -> Result<(String, Vec<String>), Error> {
        if threads == Some(0) {
            return Err(Diagnostic::flag("--threads 0", "expected at least 1").into());
        }
        let mut opts = quotasim::plan::PlanOptions::new(find, constraints);
        opts.maximize = maximize;
        opts.range = range;
        opts.resolution = resolution;
        opts.replications = replications;
        opts.confidence = confidence;
        opts.set = sets;
        opts.threads = threads;
        opts.limits = Some(limits);
        let report = quotasim::plan::plan(&path, &opts)?;
        let json = quotasim::plan::render::render_json(&report);
        Ok((json, report.warnings.clone()))
    })
    .map_err(raise)
}

/// The largest token count the command line takes (2^50).
const MAX_TOKENS_ARG: u64 = 1 << 50;

fn token_arg(flag: &str, value: Option<u64>, min: u64) -> PyResult<Option<u64>> {
    match value {
        Some(v) if !(min..=MAX_TOKENS_ARG).contains(&v) => Err(usage(format!(
            "{flag} {v}: expected {min}..={MAX_TOKENS_ARG}"
        ))),
        v => Ok(v),
    }
}

/// `quotasim estimate … --format json`: the JSON text and the notes the command prints.
#[pyfunction]
#[pyo3(signature = (model, input_tokens, output_tokens, max_tokens=None,
                    tokens_per_minute=None, reserve="input+max_tokens"))]
fn estimate(
    model: &str,
    input_tokens: u64,
    output_tokens: u64,
    max_tokens: Option<u64>,
    tokens_per_minute: Option<u64>,
    reserve: &str,
) -> PyResult<(String, Vec<String>)> {
    token_arg("--input-tokens", Some(input_tokens), 0)?;
    token_arg("--output-tokens", Some(output_tokens), 0)?;
    token_arg("--max-tokens", max_tokens, 1)?;
    token_arg("--tokens-per-minute", tokens_per_minute, 1)?;
    let reserve = match reserve {
        "input+max_tokens" => ReserveMode::InputPlusMaxTokens,
        "input+max_tokens*burndown" => ReserveMode::InputPlusMaxTokensBurndown,
        other => {
            return Err(usage(format!(
                "--reserve {other}: expected input+max_tokens or input+max_tokens*burndown"
            )));
        }
    };
    let e = quotasim::estimate::estimate(
        model,
        input_tokens,
        output_tokens,
        max_tokens,
        tokens_per_minute,
        reserve,
    )
    .map_err(raise)?;
    let json = serde_json::to_string_pretty(&e)
        .map_err(|err| raise(Error::Runtime(err.to_string())))?
        + "\n";
    Ok((json, e.notes()))
}

/// A scenario given as a dict (JSON text) as TOML text: what `sweep` and `plan`, which read
/// a file, get written.
#[pyfunction]
fn dict_to_toml(json: &str) -> PyResult<String> {
    json_to_toml(json)
}

/// Whether `text`, written bare after `--set PATH=`, is read as this very string (`10m`
/// is, `16` and `true` are not): the Python side then writes it as the command line would.
#[pyfunction]
fn is_bare_string(text: &str) -> bool {
    text.trim() == text
        && Override::parse(&format!("x={text}"))
            .is_ok_and(|o| o.value == toml::Value::String(text.to_string()))
}

/// `quotasim models --format json [--models FILE]`.
#[pyfunction]
#[pyo3(signature = (path=None))]
fn models(path: Option<PathBuf>) -> PyResult<String> {
    let table = match &path {
        None => quotasim::quota::models::Table::bundled().clone(),
        Some(p) => {
            let text = quotasim::cli::read_input(p).map_err(raise)?;
            quotasim::quota::models::Table::with_user_rows(&text).map_err(|e| {
                raise(Error::from(Diagnostic::new(
                    p.display().to_string(),
                    e.to_string(),
                )))
            })?
        }
    };
    Ok(table.to_json())
}

/// The `quotasim` command: runs the command line on `argv` (the program's name first) and
/// returns its exit status.
#[pyfunction]
fn cli_main(py: Python<'_>, argv: Vec<OsString>) -> i32 {
    let code = py.detach(move || {
        let code = command::main_with(argv);
        use std::io::Write;
        let _ = std::io::stdout().flush();
        code
    });
    // `ExitCode` has no accessor: find the status it was made from.
    (0..=u8::MAX)
        .find(|n| ExitCode::from(*n) == code)
        .map_or(1, i32::from)
}

/// `quotasim serve`, in this process: a running emulator.
#[pyclass(module = "quotasim._quotasim")]
struct Server {
    inner: Mutex<Option<quotasim::serve::Server>>,
    addr: String,
}

impl Server {
    fn take(&self) -> Option<quotasim::serve::Server> {
        self.inner.lock().ok().and_then(|mut g| g.take())
    }
}

#[pymethods]
impl Server {
    /// Starts serving `scenario` (see [`Source::new`]) on `listen` (port 0: a free port).
    #[new]
    #[pyo3(signature = (kind, scenario, sets, time_scale=1.0, listen="127.0.0.1:0".to_string()))]
    fn new(
        py: Python<'_>,
        kind: &str,
        scenario: String,
        sets: Vec<String>,
        time_scale: f64,
        listen: String,
    ) -> PyResult<Server> {
        let source = Source::new(kind, scenario)?;
        let overrides = overrides(&sets)?;
        let listen: std::net::SocketAddr = listen
            .parse()
            .map_err(|e| usage(format!("--listen {listen}: {e}")))?;
        let server = py
            .detach(move || -> Result<quotasim::serve::Server, Error> {
                let s = source.load(&overrides)?;
                let options = quotasim::serve::Options {
                    listen,
                    time_scale,
                    ..Default::default()
                };
                quotasim::serve::Server::start(quotasim::serve::Config::from_scenario(&s), options)
            })
            .map_err(raise)?;
        let addr = server.addr().to_string();
        Ok(Server {
            inner: Mutex::new(Some(server)),
            addr,
        })
    }

    /// The bound address, `HOST:PORT`.
    #[getter]
    fn addr(&self) -> String {
        self.addr.clone()
    }

    /// The live report (JSON text), or None once stopped.
    fn report(&self, py: Python<'_>) -> Option<String> {
        py.detach(|| {
            let guard = self.inner.lock().ok()?;
            let server = guard.as_ref()?;
            serde_json::to_string_pretty(&server.report()).ok()
        })
    }

    /// Stops accepting, lets calls in flight finish (up to 5 s) and returns the final report
    /// (JSON text); None when already stopped.
    fn stop(&self, py: Python<'_>) -> Option<String> {
        let server = self.take()?;
        py.detach(move || serde_json::to_string_pretty(&server.shutdown()).ok())
    }

    /// Whether it still serves.
    #[getter]
    fn running(&self) -> bool {
        self.inner.lock().map(|g| g.is_some()).unwrap_or(false)
    }
}

#[pymodule]
fn _quotasim(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("NativeError", m.py().get_type::<NativeError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(plan, m)?)?;
    m.add_function(wrap_pyfunction!(estimate, m)?)?;
    m.add_function(wrap_pyfunction!(models, m)?)?;
    m.add_function(wrap_pyfunction!(cli_main, m)?)?;
    m.add_function(wrap_pyfunction!(dict_to_toml, m)?)?;
    m.add_function(wrap_pyfunction!(is_bare_string, m)?)?;
    m.add_class::<Server>()?;
    Ok(())
}

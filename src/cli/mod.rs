//! What the `quotasim` subcommands do, one function each; `main.rs` only parses the flags
//! (into the typed values defined by the library) and calls these.
//!
//! Everything that simulates goes through [`crate::guard::simulate_guarded`]. Outputs go to
//! standard output or to an `--out` file whose missing parent folders are created.

mod io;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

pub use io::{emit, prepare_out, read_input, read_json, write_file, write_out};

use crate::assertion::{self, Assertion, Constraint, Objective};
use crate::compare::{Comparison, Tolerance};
use crate::error::{Diagnostic, Error};
use crate::guard::{self, DEFAULT_MAX_EVENTS, DEFAULT_MAX_MEMORY_MB, Limits};
use crate::quota::{ReserveMode, models};
use crate::report::{ExportOptions, Format};
use crate::scenario::{Override, Scenario};
use crate::sweep::grid::{Shard, Vary};
use crate::sweep::{SweepOptions, SweepReport, part, plot as sweep_plot};
use crate::trace::TraceFormat;

/// Prints `warning: …` lines to standard error.
fn warn(lines: impl IntoIterator<Item = String>) {
    let mut stderr = std::io::stderr().lock();
    for l in lines {
        let _ = writeln!(stderr, "warning: {}", crate::terminal::for_terminal(&l));
    }
}

/// `--format` of the commands that print a table or JSON only (no CSV form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TextFormat {
    /// Aligned text for a terminal.
    Table,
    /// JSON.
    Json,
}

/// Guard rails shared by the commands that simulate (`--max-events`, `--max-memory-mb`).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct GuardArgs {
    /// Refuse a scenario that needs more events than this (about a minute of work by default).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_EVENTS,
          allow_negative_numbers = true, value_parser = whole_in(1, u64::MAX))]
    pub max_events: u64,
    /// Refuse a scenario whose run needs more memory than this, in MiB.
    #[arg(long, value_name = "MB", default_value_t = DEFAULT_MAX_MEMORY_MB,
          allow_negative_numbers = true, value_parser = whole_in(1, u64::MAX))]
    pub max_memory_mb: u64,
}

impl GuardArgs {
    /// The limits these flags set.
    pub fn limits(self) -> Limits {
        Limits::new(self.max_events, self.max_memory_mb)
    }
}

/// Token counts on the command line: at least `min`, at most 2^50 (the bound the scenario
/// loader applies too), so that the quota arithmetic cannot saturate.
fn token_count(min: u64) -> impl Fn(&str) -> Result<u64, String> + Clone + Send + Sync + 'static {
    whole_in(min, 1 << 50)
}

/// [`whole`] within `min..=max`, saying which bound a value passes.
fn whole_in(
    min: u64,
    max: u64,
) -> impl Fn(&str) -> Result<u64, String> + Clone + Send + Sync + 'static {
    move |text| {
        let v: u64 = whole(text)?;
        if v < min {
            return Err(format!("`{v}` is below {min}; expected at least {min}"));
        }
        if v > max {
            return Err(format!("`{v}` is above {max}; expected at most {max}"));
        }
        Ok(v)
    }
}

/// A whole number of 0 or more on the command line. A negative one (`--seed -1`) gets a
/// plain message instead of clap's hint to pass it after `--`.
fn whole<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    let t = text.trim();
    if let Some(rest) = t.strip_prefix('-')
        && rest.parse::<f64>().is_ok()
    {
        return Err(format!(
            "`{t}` is negative; expected a whole number of 0 or more"
        ));
    }
    t.parse::<T>().map_err(|_| {
        if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
            format!("`{t}` is too large; expected at most {}", u64::MAX)
        } else {
            format!("`{t}` is not a whole number; expected one such as 42")
        }
    })
}

/// [`whole`] for `u64`.
fn whole_u64(text: &str) -> Result<u64, String> {
    whole(text)
}

/// [`whole`] for `usize`.
fn whole_usize(text: &str) -> Result<usize, String> {
    whole(text)
}

/// `--set PATH=VALUE`, parsed by the scenario loader's rules (clap names the flag).
fn parse_set(text: &str) -> Result<Override, String> {
    Override::parse(text).map_err(|e| {
        let m = e.to_string();
        let own = format!("--set {text}: ");
        m.strip_prefix(&own).map_or(m.clone(), str::to_string)
    })
}

/// `quotasim run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// Override the scenario's seed.
    #[arg(long, allow_negative_numbers = true, value_parser = whole_u64)]
    pub seed: Option<u64>,
    /// Override a scenario key, e.g. --set client.concurrency=16 (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE", value_parser = parse_set)]
    pub set: Vec<Override>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Add the per-minute timeline to the table and CSV formats (with --format csv --out
    /// FILE.csv, in its own file FILE.timeline.csv).
    #[arg(long)]
    pub timeline: bool,
    /// Write the report to FILE (creating its folder) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Add wall-clock time and events per second to the report's engine block (this makes
    /// the output differ from run to run).
    #[arg(long)]
    pub timings: bool,
    /// Write an SVG chart of the quota charged per minute against the limit, with the
    /// attempts admitted and throttled.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Write the report as one self-contained HTML page (summary, chart, constraints,
    /// explanations; no script, nothing fetched).
    #[arg(long, value_name = "FILE.html")]
    pub html: Option<PathBuf>,
    /// Check "METRIC OP NUMBER" on the JSON report (repeatable), e.g.
    /// "throttle_rate <= 0.01" or "latency_ms.e2e.p99 < 30000"; exit 1 if any fails.
    #[arg(long = "assert", value_name = "METRIC OP NUMBER")]
    pub assert: Vec<Assertion>,
    /// Write the per-minute metrics CloudWatch would show (Invocations,
    /// InvocationThrottles, token counts, EstimatedTPMQuotaUsage, latencies), in total and
    /// per pool, as `aws cloudwatch get-metric-data` prints them; also adds the dashboard
    /// section (EstimatedTPMQuotaUsage beside the peak quota held) to the report.
    #[arg(long, value_name = "FILE")]
    pub cloudwatch: Option<PathBuf>,
    /// Add the dashboard section to the report (and the plot) without writing a CloudWatch
    /// file: EstimatedTPMQuotaUsage beside the peak quota held in each minute.
    #[arg(long)]
    pub dashboard: bool,
    /// The guard rails.
    #[command(flatten)]
    pub guard: GuardArgs,
}

/// Simulates a scenario inside the guard rails and writes its report; exit status 1 when an
/// assertion fails.
pub fn run(a: RunArgs) -> Result<ExitCode, Error> {
    if let Some(path) = &a.out {
        prepare_out("--out", path)?;
    }
    if let Some(path) = &a.cloudwatch {
        prepare_out("--cloudwatch", path)?;
        crate::files::refuse_overwrite("--cloudwatch", path, &[&a.scenario])?;
        for (flag, other) in [("--out", &a.out), ("--plot", &a.plot)] {
            if other.as_ref().is_some_and(|o| o == path) {
                return Err(Diagnostic::flag(
                    "--cloudwatch",
                    format!("names the same file as {flag}"),
                )
                .into());
            }
        }
    }
    refuse_overwrites(&a.out, &a.plot, &[&a.scenario])?;
    refuse_html_overwrite(&a.html, &[&a.scenario])?;
    let file = a.scenario.display().to_string();
    let limits = a.guard.limits();
    let mut s = Scenario::from_path(&a.scenario, &a.set)?;
    if let Some(seed) = a.seed {
        s.seed = seed;
    }
    if let crate::workload::Arrivals::Trace(t) = &s.arrivals {
        refuse_overwrites(&a.out, &a.plot, &[Path::new(&t.file)])?;
        refuse_html_overwrite(&a.html, &[Path::new(&t.file)])?;
    }
    guard::check(&s, &file, &limits)?;
    warn(s.pool_warnings());
    warn(s.fact_warnings.iter().cloned());
    if let Err(e) = guard::check_servable(&s, &file) {
        warn([format!(
            "{e}\n  (running anyway: every request is counted in requests.unservable)"
        )]);
    }
    let started = std::time::Instant::now();
    let dashboard = a.dashboard || a.cloudwatch.is_some();
    let (mut report, minutes) = if dashboard {
        if let (Some(path), crate::workload::Arrivals::Trace(t)) = (&a.cloudwatch, &s.arrivals) {
            crate::files::refuse_overwrite("--cloudwatch", path, &[Path::new(&t.file)])?;
        }
        let (r, m) = guard::simulate_minutes_guarded(&s, &file, &limits)?;
        (r, Some(m))
    } else {
        (guard::simulate_guarded(&s, &file, &limits)?, None)
    };
    if a.timings {
        report.set_timings(started.elapsed());
    }
    let outcomes = if a.assert.is_empty() {
        Vec::new()
    } else {
        let value = crate::sweep::metrics::report_with_derived(&report, &s);
        assertion::evaluate(&a.assert, &value)
            .map_err(|e| Error::from(Diagnostic::flag("--assert", e.to_string())))?
    };
    // A CSV file gets its timeline as a file of its own, FILE.timeline.csv.
    let timeline_file = match (&a.out, a.format, a.timeline) {
        (Some(out), Format::Csv, true) => Some(out.with_extension("timeline.csv")),
        _ => None,
    };
    let opts = ExportOptions {
        timeline: a.timeline && timeline_file.is_none(),
    };
    match &minutes {
        None => write_out(a.out.as_deref(), |w| report.write_to(a.format, opts, w))?,
        Some(m) => {
            let d = crate::account::dashboard::Dashboard::new(&s, m);
            let text = match a.format {
                Format::Json => {
                    let mut v =
                        serde_json::to_value(&report).map_err(|e| Error::Runtime(e.to_string()))?;
                    d.add_to_json(&mut v);
                    serde_json::to_string_pretty(&v).map_err(|e| Error::Runtime(e.to_string()))?
                        + "\n"
                }
                Format::Table => report.render(a.format, opts) + &d.to_table(a.timeline),
                Format::Csv => report.render(a.format, opts) + &d.to_csv(),
            };
            emit(&text, a.out.as_deref())?;
            if let Some(path) = &a.cloudwatch {
                let start = s.start.unwrap_or(crate::scenario::DEFAULT_START);
                let doc = crate::account::cloudwatch::export(&s, m, start);
                let text = serde_json::to_string_pretty(&doc)
                    .map_err(|e| Error::Runtime(e.to_string()))?
                    + "\n";
                write_file(path, &text)?;
            }
        }
    }
    if let Some(path) = &timeline_file {
        write_file(path, &crate::report::timeline_csv(&report))?;
    }
    if let Some(path) = &a.plot {
        let svg = match &minutes {
            None => crate::report::plot::timeline_svg(&report, &s),
            Some(m) => crate::report::plot::timeline_svg_with(
                &report,
                &s,
                Some(&crate::account::dashboard::Dashboard::new(&s, m)),
            ),
        };
        write_file(path, &svg)?;
    }
    if let Some(path) = &a.html {
        write_file(path, &crate::report::html::run_html(&report, &s, &outcomes))?;
    }
    if outcomes.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let mut stderr = std::io::stderr().lock();
    for o in &outcomes {
        let _ = writeln!(stderr, "{o}");
    }
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    if failed == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    let _ = writeln!(
        stderr,
        "error: {failed} of {} assertions failed",
        outcomes.len()
    );
    Ok(ExitCode::from(1))
}

/// `quotasim sweep`.
#[derive(Debug, Clone, clap::Args)]
pub struct SweepArgs {
    /// The scenario file (its optional [sweep] table supplies defaults for the flags).
    pub scenario: PathBuf,
    /// A varied key: PATH=V1,V2,…, PATH=START..END[:+STEP] or PATH=START..END:xFACTOR
    /// (repeatable; the grid is the cartesian product, first key outermost).
    #[arg(long = "vary", value_name = "PATH=VALUES")]
    pub vary: Vec<Vary>,
    /// Override a scenario key at every point (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Simulations per point, with derived seeds (default 1, or the [sweep] table's).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole_usize)]
    pub replications: Option<usize>,
    /// Worker threads (default: every core). The output does not depend on it.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole_usize)]
    pub threads: Option<usize>,
    /// Output format [default: table].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write an SVG chart: a line chart for one varied key, a heat map for two.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// The metric charted by --plot.
    #[arg(long, value_name = "METRIC", default_value = sweep_plot::DEFAULT_PLOT_METRIC)]
    pub plot_metric: String,
    /// Write the sweep as one self-contained HTML page (summary, recommendation, charts,
    /// constraints with pass/fail marks, every point; no script, nothing fetched).
    #[arg(long, value_name = "FILE.html")]
    pub html: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// maximize:METRIC or minimize:METRIC, for the recommendation.
    #[arg(long, value_name = "DIRECTION:METRIC")]
    pub objective: Option<Objective>,
    /// "METRIC OP NUMBER" every recommended point must satisfy (repeatable).
    #[arg(long = "constraint", value_name = "METRIC OP NUMBER",
          value_parser = assertion::parse_constraint)]
    pub constraint: Vec<Constraint>,
    /// Run only the points i with i % N == K and write a part file for `merge`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Write the output to FILE (creating its folder) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The guard rails, applied to every run of every point.
    #[command(flatten)]
    pub guard: GuardArgs,
}

/// Set by Ctrl-C during a sweep.
static SWEEP_STOP: AtomicBool = AtomicBool::new(false);

/// Exit status of a sweep stopped by Ctrl-C (128 + SIGINT, as shells report it).
const INTERRUPTED: u8 = 130;

fn progress_bar(len: u64, quiet: bool) -> indicatif::ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{bar:40}] {pos}/{len} simulations, ETA {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Runs a sweep (or one shard of it) and writes its output; exit status 130 when Ctrl-C
/// stopped it (the points that finished are written).
pub fn sweep(a: SweepArgs) -> Result<ExitCode, Error> {
    if a.shard.is_some() {
        if a.format.is_some_and(|f| f != Format::Json) {
            return Err(Diagnostic::flag(
                "--shard",
                "it writes a JSON part file for `quotasim merge`; drop --format",
            )
            .into());
        }
        if a.plot.is_some() {
            return Err(Diagnostic::flag(
                "--plot",
                "cannot chart one shard; pass --plot to `quotasim merge`",
            )
            .into());
        }
        if a.html.is_some() {
            return Err(Diagnostic::flag(
                "--html",
                "cannot report one shard; pass --html to `quotasim merge`",
            )
            .into());
        }
    }
    if a.threads == Some(0) {
        return Err(Diagnostic::flag("--threads 0", "expected at least 1").into());
    }
    if let Some(n) = a.threads {
        crate::sweep::run::check_threads(n)?;
    }
    if let Some(path) = &a.out {
        prepare_out("--out", path)?;
    }
    refuse_overwrites(&a.out, &a.plot, &[&a.scenario])?;
    refuse_html_overwrite(&a.html, &[&a.scenario])?;
    let opts = SweepOptions {
        vary: a.vary,
        set: a.set,
        replications: a.replications,
        shard: a.shard,
        objective: a.objective,
        constraints: a.constraint,
        limits: Some(a.guard.limits()),
    };
    let plan = crate::sweep::plan_sweep(&a.scenario, &opts)?;
    if a.plot.is_some() {
        sweep_plot::check_plot(plan.grid.axes().len(), &a.plot_metric)?;
    }
    let bar = progress_bar(plan.jobs() as u64, a.quiet);
    // Ctrl-C stops starting new simulations and writes the points already done; a second
    // Ctrl-C exits at once.
    let _ = ctrlc::set_handler(|| {
        if SWEEP_STOP.swap(true, Ordering::SeqCst) {
            crate::files::remove_pending();
            std::process::exit(i32::from(INTERRUPTED));
        }
    });
    let report = crate::sweep::execute_until(&plan, a.threads, &|| bar.inc(1), &SWEEP_STOP);
    bar.finish_and_clear();
    let report = report?;
    if a.shard.is_some() {
        emit(&part::render_part(&report), a.out.as_deref())?;
    } else {
        emit_sweep(
            &report,
            a.format.unwrap_or(Format::Table),
            a.plot.as_deref(),
            a.html.as_deref(),
            &a.plot_metric,
            a.out.as_deref(),
        )?;
    }
    if report.interrupted {
        let _ = writeln!(
            std::io::stderr(),
            "interrupted: wrote the {} of {} points that finished",
            report.points.len(),
            plan.points.len()
        );
        return Ok(ExitCode::from(INTERRUPTED));
    }
    Ok(ExitCode::SUCCESS)
}

/// `--html` must not name an input.
fn refuse_html_overwrite(html: &Option<PathBuf>, inputs: &[&Path]) -> Result<(), Error> {
    match html {
        Some(p) => crate::files::refuse_overwrite("--html", p, inputs),
        None => Ok(()),
    }
}

/// `--out` and `--plot` must not name an input (the scenario, a trace, a part file).
fn refuse_overwrites(
    out: &Option<PathBuf>,
    plot: &Option<PathBuf>,
    inputs: &[&Path],
) -> Result<(), Error> {
    for (flag, path) in [("--out", out), ("--plot", plot)] {
        if let Some(p) = path {
            crate::files::refuse_overwrite(flag, p, inputs)?;
        }
    }
    Ok(())
}

fn emit_sweep(
    report: &SweepReport,
    format: Format,
    plot: Option<&Path>,
    html: Option<&Path>,
    plot_metric: &str,
    out: Option<&Path>,
) -> Result<(), Error> {
    if let Some(path) = plot {
        write_file(path, &sweep_plot::sweep_svg(report, plot_metric)?)?;
    }
    if let Some(path) = html {
        write_file(
            path,
            &crate::sweep::format::render_html(report, plot_metric),
        )?;
    }
    emit(&crate::sweep::format::render(report, format), out)
}

/// `quotasim merge`.
#[derive(Debug, Clone, clap::Args)]
pub struct MergeArgs {
    /// The part files (every shard exactly once).
    #[arg(required = true)]
    pub parts: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write an SVG chart, as `sweep --plot`.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Write the HTML page, as `sweep --html`.
    #[arg(long, value_name = "FILE.html")]
    pub html: Option<PathBuf>,
    /// The metric charted by --plot.
    #[arg(long, value_name = "METRIC", default_value = sweep_plot::DEFAULT_PLOT_METRIC)]
    pub plot_metric: String,
    /// Write the output to FILE (creating its folder) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Merges the part files of a sharded sweep and writes the unsharded sweep's output.
pub fn merge(a: &MergeArgs) -> Result<ExitCode, Error> {
    if let Some(path) = &a.out {
        prepare_out("--out", path)?;
    }
    let inputs: Vec<&Path> = a.parts.iter().map(PathBuf::as_path).collect();
    refuse_overwrites(&a.out, &a.plot, &inputs)?;
    refuse_html_overwrite(&a.html, &inputs)?;
    let texts = a
        .parts
        .iter()
        .map(|p| read_input(p).map(|t| (p.display().to_string(), t)))
        .collect::<Result<Vec<_>, _>>()?;
    let report = part::merge_parts(&texts)?;
    emit_sweep(
        &report,
        a.format,
        a.plot.as_deref(),
        a.html.as_deref(),
        &a.plot_metric,
        a.out.as_deref(),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `quotasim compare`.
#[derive(Debug, Clone, clap::Args)]
pub struct CompareArgs {
    /// The reference report.
    pub baseline: PathBuf,
    /// The report to check.
    pub current: PathBuf,
    /// Allowed worsening: relative (`5%`) or absolute (`0.5`).
    #[arg(long, default_value = "5%", allow_hyphen_values = true)]
    pub tolerance: Tolerance,
    /// Show only the metrics that changed.
    #[arg(long)]
    pub changes: bool,
    /// Judge total cost (cost.usd, cost.usd_per_hour) as lower-is-better too. By default
    /// cost is judged per success: more successes cost more in total without regressing.
    #[arg(long)]
    pub gate_total_cost: bool,
}

/// Compares two JSON reports; exit status 1 when a metric regressed beyond the tolerance.
pub fn compare(a: &CompareArgs) -> Result<ExitCode, Error> {
    let (baseline, current, tolerance) = (&a.baseline, &a.current, a.tolerance);
    let base = read_json(baseline)?;
    let cur = read_json(current)?;
    let options = crate::compare::CompareOptions {
        total_cost: a.gate_total_cost,
    };
    let cmp = Comparison::with_options(&base, &cur, tolerance, options).map_err(|e| {
        Error::Usage(format!(
            "cannot compare {} with {}: {e}",
            baseline.display(),
            current.display()
        ))
    })?;
    let text = if a.changes {
        cmp.render_changes()
    } else {
        cmp.render_table()
    };
    emit(&text, None)?;
    if !cmp.regressed() {
        return Ok(ExitCode::SUCCESS);
    }
    let _ = writeln!(
        std::io::stderr(),
        "error: {} regressed beyond the tolerance of {tolerance} against {}",
        current.display(),
        baseline.display()
    );
    Ok(ExitCode::from(1))
}

/// The reservation formula, as `estimate --reserve` spells it.
impl clap::ValueEnum for ReserveMode {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            ReserveMode::InputPlusMaxTokens,
            ReserveMode::InputPlusMaxTokensBurndown,
        ]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(match self {
            ReserveMode::InputPlusMaxTokens => "input+max_tokens",
            ReserveMode::InputPlusMaxTokensBurndown => "input+max_tokens*burndown",
        }))
    }
}

/// `quotasim estimate`.
#[derive(Debug, Clone, clap::Args)]
pub struct EstimateArgs {
    /// Model preset (see `quotasim models`).
    #[arg(long)]
    pub model: String,
    /// Input tokens.
    #[arg(long, allow_negative_numbers = true, value_parser = token_count(0))]
    pub input_tokens: u64,
    /// Output tokens.
    #[arg(long, allow_negative_numbers = true, value_parser = token_count(0))]
    pub output_tokens: u64,
    /// max_tokens (default: the model's maximum output).
    #[arg(long, allow_negative_numbers = true, value_parser = token_count(1))]
    pub max_tokens: Option<u64>,
    /// A tokens-per-minute quota, to print how many requests fit.
    #[arg(long, allow_negative_numbers = true, value_parser = token_count(1))]
    pub tokens_per_minute: Option<u64>,
    /// Reservation formula.
    #[arg(long, value_enum, default_value = "input+max_tokens")]
    pub reserve: ReserveMode,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: TextFormat,
}

/// Prints the closed-form quota arithmetic of one request.
pub fn estimate(a: &EstimateArgs) -> Result<ExitCode, Error> {
    let e = crate::estimate::estimate(
        &a.model,
        a.input_tokens,
        a.output_tokens,
        a.max_tokens,
        a.tokens_per_minute,
        a.reserve,
    )?;
    let text = match a.format {
        TextFormat::Table => e.to_table(),
        TextFormat::Json => {
            // The JSON keys are fixed; truncation and overshoot go to stderr.
            for n in e.notes() {
                let _ = writeln!(std::io::stderr(), "note: {n}");
            }
            serde_json::to_string_pretty(&e).map_err(|e| Error::Runtime(e.to_string()))? + "\n"
        }
    };
    emit(&text, None)?;
    Ok(ExitCode::SUCCESS)
}

/// `quotasim plan`.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// The integer key to search, e.g. quota.tokens_per_minute, client.concurrency, max_tokens.
    #[arg(long, value_name = "PATH")]
    pub find: String,
    /// Find the largest value instead of the smallest.
    #[arg(long)]
    pub max: bool,
    /// The range searched [default: 1..10× the scenario's value].
    #[arg(long, value_name = "LO..HI")]
    pub range: Option<String>,
    /// Step between the values tried [default: a round step giving about 100 values].
    #[arg(long, value_name = "R", allow_negative_numbers = true, value_parser = whole_u64)]
    pub resolution: Option<u64>,
    /// "METRIC OP NUMBER" that must hold at the value (repeatable, at least one).
    #[arg(long = "constraint", value_name = "METRIC OP NUMBER",
          value_parser = assertion::parse_constraint)]
    pub constraint: Vec<Constraint>,
    /// Simulations per value, on the sweep's seeds [default: 5].
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole_usize)]
    pub replications: Option<usize>,
    /// Confidence level of the interval a constraint is checked on [default: 0.95].
    #[arg(long, value_name = "C", allow_negative_numbers = true)]
    pub confidence: Option<f64>,
    /// Override a scenario key before the searched value (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Worker threads (default: every core). The output does not depend on it.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole_usize)]
    pub threads: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: TextFormat,
    /// Write the plan as one self-contained HTML page (the value found and why, the
    /// constraints with pass/fail marks at every value evaluated, charts, the demand).
    #[arg(long, value_name = "FILE.html")]
    pub html: Option<PathBuf>,
    /// No progress bar (there is none either when standard error is not a terminal).
    #[arg(long, short)]
    pub quiet: bool,
    /// The guard rails, applied to every simulation.
    #[command(flatten)]
    pub guard: GuardArgs,
}

/// Finds the value and prints it with its metrics and the demand figures.
pub fn plan(a: PlanArgs) -> Result<ExitCode, Error> {
    if a.threads == Some(0) {
        return Err(Diagnostic::flag("--threads 0", "expected at least 1").into());
    }
    let mut opts = crate::plan::PlanOptions::new(a.find, a.constraint);
    opts.maximize = a.max;
    opts.range = a.range;
    opts.resolution = a.resolution;
    opts.replications = a.replications;
    opts.confidence = a.confidence;
    opts.set = a.set;
    opts.threads = a.threads;
    opts.limits = Some(a.guard.limits());
    refuse_html_overwrite(&a.html, &[&a.scenario])?;
    // The sweep's progress bar; a bisection's length is an estimate, stretched if passed.
    let bar = std::sync::Arc::new(progress_bar(0, a.quiet));
    if !bar.is_hidden() {
        let (expect, tick) = (bar.clone(), bar.clone());
        opts.progress = Some(crate::plan::Progress {
            expect: std::sync::Arc::new(move |n| expect.set_length(n)),
            tick: std::sync::Arc::new(move || {
                if tick.position() + 1 > tick.length().unwrap_or(0) {
                    tick.inc_length(1);
                }
                tick.inc(1);
            }),
        });
    }
    let report = crate::plan::plan(&a.scenario, &opts);
    bar.finish_and_clear();
    let report = report?;
    if let Some(path) = &a.html {
        write_file(path, &crate::plan::html::render_html(&report))?;
    }
    let text = if a.format == TextFormat::Json {
        // The table prints its warnings itself.
        warn(report.warnings.iter().cloned());
        crate::plan::render::render_json(&report)
    } else {
        crate::plan::render::render_table(&report)
    };
    emit(&text, None)?;
    Ok(ExitCode::SUCCESS)
}

/// `quotasim serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// Address to listen on (loopback unless you say otherwise; port 0 picks a free one).
    #[arg(long, value_name = "ADDR:PORT", default_value = crate::serve::DEFAULT_LISTEN)]
    pub listen: std::net::SocketAddr,
    /// Run the simulated clock X times faster than the wall clock (quota windows last
    /// 60/X s, latencies are divided by X).
    #[arg(
        long,
        value_name = "X",
        default_value_t = 1.0,
        allow_negative_numbers = true
    )]
    pub time_scale: f64,
    /// Override a scenario key (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE", value_parser = parse_set)]
    pub set: Vec<Override>,
}

/// Runs the emulator until SIGINT/SIGTERM, then prints the final report.
pub fn serve(a: &ServeArgs) -> Result<ExitCode, Error> {
    let s = Scenario::from_path(&a.scenario, &a.set)?;
    let options = crate::serve::Options {
        listen: a.listen,
        time_scale: a.time_scale,
        ..Default::default()
    };
    crate::serve::run(crate::serve::Config::from_scenario(&s), options)?;
    Ok(ExitCode::SUCCESS)
}

/// `quotasim check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// Override a scenario key (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE", value_parser = parse_set)]
    pub set: Vec<Override>,
    /// The guard rails `run` would apply.
    #[command(flatten)]
    pub guard: GuardArgs,
}

/// Validates a scenario, prints it resolved and warns about what `run` would refuse or
/// could not serve.
pub fn check(a: &CheckArgs) -> Result<ExitCode, Error> {
    let scenario = &a.scenario;
    let file = scenario.display().to_string();
    let s = Scenario::from_path(scenario, &a.set)?;
    let refused = guard::check(&s, &file, &a.guard.limits()).err();
    let mut text = format!("# {}: valid\n", scenario.display());
    text.push_str(&s.to_toml());
    emit(&text, None)?;
    warn(
        s.fact_warnings
            .iter()
            .cloned()
            .chain(s.unservable_warnings())
            .chain(s.workload_warnings()),
    );
    // The scenario is valid, but `run` would refuse it: `check` only warns.
    if let Some(e) = refused {
        warn([format!("`quotasim run` would refuse this scenario: {e}")]);
    }
    Ok(ExitCode::SUCCESS)
}

/// `quotasim fit`.
#[derive(Debug, Clone, clap::Args)]
pub struct FitArgs {
    /// The trace file.
    pub trace: PathBuf,
    /// Trace format (default: from the extension, .csv or .jsonl/.json).
    #[arg(long, value_enum)]
    pub format: Option<TraceFormat>,
    /// Print the fragment as the workload `[workloads.NAME]`, to paste into a scenario with
    /// several workloads.
    #[arg(long, value_name = "NAME", conflicts_with = "by")]
    pub workload: Option<String>,
    /// Split the trace by a CSV column or an invocation-log field (`modelId`,
    /// `identity.arn`, `operation`…; dotted for nested ones) and print one
    /// `[workloads.VALUE]` per distinct value (at most 32).
    #[arg(long, value_name = "FIELD")]
    pub by: Option<String>,
}

/// Fits a scenario fragment to a trace; the format comes from the extension when not given.
pub fn fit(a: &FitArgs) -> Result<ExitCode, Error> {
    let trace = &a.trace;
    let format = match a.format {
        Some(f) => f,
        None => TraceFormat::from_extension(trace).ok_or_else(|| {
            Diagnostic::flag(
                "--format",
                format!(
                    "cannot tell the format of {} from its extension (.csv, .jsonl or .json); \
                     pass --format csv or --format bedrock-log",
                    trace.display()
                ),
            )
        })?,
    };
    let text = match (&a.workload, &a.by) {
        (None, None) => crate::fit::fit(trace, format)
            .map_err(Error::Invalid)?
            .to_toml(),
        (Some(name), _) => {
            if name.is_empty() {
                return Err(Diagnostic::flag("--workload", "expected a workload name").into());
            }
            crate::fit::fit(trace, format)
                .map_err(Error::Invalid)?
                .to_workload_toml(name, None)
        }
        (None, Some(field)) => {
            let groups = crate::fit::group_values(trace, format, field).map_err(Error::Invalid)?;
            let mut names: Vec<String> = Vec::new();
            let mut text = String::new();
            let mut skipped = String::new();
            for (value, records) in &groups {
                // A value with a single record has no arrival rate to fit: say so rather
                // than fail the other workloads.
                if *records < 2 {
                    let v = serde_json::to_string(value).unwrap_or_default();
                    warn([format!(
                        "`{field}` = {v} has a single record: no workload fitted for it"
                    )]);
                    skipped.push_str(&format!(
                        "# Not fitted: `{field}` = {v} (1 record; a rate needs two).\n"
                    ));
                    continue;
                }
                let only = crate::fit::Only { field, value };
                let name = crate::fit::workload_name(value, &names);
                let fit =
                    crate::fit::fit_only(trace, format, Some(only)).map_err(Error::Invalid)?;
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(&fit.to_workload_toml(&name, Some(only)));
                names.push(name);
            }
            if names.is_empty() {
                return Err(Diagnostic::new(
                    trace.display().to_string(),
                    format!("no value of `{field}` has the two records a fit needs"),
                )
                .into());
            }
            if !skipped.is_empty() {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(&skipped);
            }
            text
        }
    };
    emit(&text, None)?;
    Ok(ExitCode::SUCCESS)
}

/// `quotasim models`.
#[derive(Debug, Clone, clap::Args)]
pub struct ModelsArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: TextFormat,
    /// A TOML file of `[[model]]` rows that add to or override the bundled table.
    #[arg(long, value_name = "FILE")]
    pub models: Option<PathBuf>,
}

/// Prints the model table: the bundled rows, with `--models FILE`'s rows added or overriding.
pub fn models(a: &ModelsArgs) -> Result<ExitCode, Error> {
    let table = match &a.models {
        None => models::Table::bundled().clone(),
        Some(path) => {
            let text = read_input(path)?;
            models::Table::with_user_rows(&text).map_err(|e| {
                Error::from(Diagnostic::new(path.display().to_string(), e.to_string()))
            })?
        }
    };
    let text = match a.format {
        TextFormat::Table => table.to_text(),
        TextFormat::Json => table.to_json(),
    };
    emit(&text, None)?;
    Ok(ExitCode::SUCCESS)
}

/// `quotasim import`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// What to import.
    #[command(subcommand)]
    pub what: ImportWhat,
}

/// The sources `import` reads.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ImportWhat {
    /// The JSON of `aws service-quotas list-service-quotas --service-code bedrock` (or
    /// `list-aws-default-service-quotas`): prints a scenario fragment with one pool per model
    /// and endpoint kind, and the account's cross-model daily limit.
    ServiceQuotas(ServiceQuotasArgs),
}

/// `quotasim import service-quotas`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServiceQuotasArgs {
    /// The JSON file (`-` for standard input is not supported: give a file).
    pub file: PathBuf,
    /// Keep only the models whose name contains PATTERN (case, hyphens and spacing
    /// ignored), e.g. --model "sonnet 4.5".
    #[arg(long, value_name = "PATTERN")]
    pub model: Option<String>,
}

/// Prints the scenario fragment of a Service Quotas file; lists what it did not recognise
/// on standard error too.
pub fn import(a: &ImportArgs) -> Result<ExitCode, Error> {
    let ImportWhat::ServiceQuotas(sq) = &a.what;
    let name = sq.file.display().to_string();
    let doc = read_json_of(
        &sq.file,
        "the output of `aws service-quotas list-service-quotas`",
    )?;
    let imported =
        crate::account::import::import(&doc, &name, sq.model.as_deref(), models::Table::bundled())
            .map_err(|e| Error::Usage(format!("{name}: {e}")))?;
    if imported.pools == 0 {
        warn([format!(
            "{name}: no tokens-per-minute quota recognised{}: the fragment has no pool",
            sq.model
                .as_ref()
                .map_or(String::new(), |m| format!(" for --model {m}"))
        )]);
    }
    if !imported.unrecognised.is_empty() {
        warn([format!(
            "{name}: {} quota(s) not recognised (listed at the end of the fragment, not guessed)",
            imported.unrecognised.len()
        )]);
    }
    emit(&imported.toml, None)?;
    Ok(ExitCode::SUCCESS)
}

/// `quotasim calibrate`.
#[derive(Debug, Clone, clap::Args)]
pub struct CalibrateArgs {
    /// The scenario (usually a replay of the same window's invocation logs).
    pub scenario: PathBuf,
    /// The observed metrics: what `aws cloudwatch get-metric-data` printed (per-minute
    /// periods; Ids or Labels name the metrics).
    #[arg(long, value_name = "FILE", required = true)]
    pub observed: PathBuf,
    /// An integer key to fit and its range, KEY=LO..HI (one or two keys), e.g.
    /// --fit quota.tokens_per_minute=100000..2000000.
    #[arg(long = "fit", value_name = "KEY=LO..HI")]
    pub fit: Vec<crate::account::calibrate::FitKey>,
    /// Override a scenario key (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE", value_parser = parse_set)]
    pub set: Vec<Override>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: TextFormat,
    /// Worker threads for --fit (default: every core). The output does not depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub threads: Option<u64>,
    /// The guard rails, applied to every simulation.
    #[command(flatten)]
    pub guard: GuardArgs,
}

/// Compares a scenario's simulation with observed CloudWatch metrics, fitting the `--fit`
/// keys.
pub fn calibrate(a: &CalibrateArgs) -> Result<ExitCode, Error> {
    let doc = read_json_of(
        &a.observed,
        "the output of `aws cloudwatch get-metric-data`",
    )?;
    let opts = crate::account::calibrate::Options {
        set: a.set.clone(),
        fit: a.fit.clone(),
        limits: a.guard.limits(),
    };
    let run = || crate::account::calibrate::calibrate(&a.scenario, &a.observed, &doc, &opts);
    let c = match a.threads {
        None => run()?,
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n as usize)
            .build()
            .map_err(|e| Error::Runtime(format!("cannot start {n} threads: {e}")))?
            .install(run)?,
    };
    let text = match a.format {
        TextFormat::Table => c.to_table(),
        TextFormat::Json => {
            serde_json::to_string_pretty(&c.to_json()).map_err(|e| Error::Runtime(e.to_string()))?
                + "\n"
        }
    };
    emit(&text, None)?;
    Ok(ExitCode::SUCCESS)
}

/// Reads a JSON input file; invalid JSON is invalid input naming the file, line and column
/// and what was `expected`.
fn read_json_of(path: &Path, expected: &str) -> Result<serde_json::Value, Error> {
    let text = read_input(path)?;
    serde_json::from_str(&text).map_err(|e| {
        let mut d = Diagnostic::new(
            path.display().to_string(),
            format!("invalid JSON: {e}; expected {expected}"),
        );
        d.location = Some((e.line(), e.column()));
        Error::from(d)
    })
}

//! The `quotasim` command line: parses arguments and calls the library.

// No panics reachable from the command line (see the same lints in lib.rs).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use quotasim::assertion::{self, Assertion, Objective};
use quotasim::compare::{Comparison, Tolerance};
use quotasim::guard::{self, DEFAULT_MAX_EVENTS, DEFAULT_MAX_MEMORY_MB, Limits};
use quotasim::quota::{ReserveMode, models};
use quotasim::report::{ExportOptions, Format};
use quotasim::sweep::format::SweepFormat;
use quotasim::sweep::grid::{Shard, Vary};
use quotasim::sweep::{SweepOptions, part, plot as sweep_plot};
use quotasim::{Diagnostic, Error, Override, Scenario};

#[derive(Parser)]
#[command(
    name = "quotasim",
    version,
    about = "Simulate LLM API rate-limit quotas (Amazon Bedrock first) without spending a token"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutFormat {
    Table,
    Json,
    Csv,
}

#[derive(Clone, Copy, ValueEnum)]
enum EstimateFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReserveArg {
    #[value(name = "input+max_tokens")]
    InputMaxTokens,
    #[value(name = "input+max_tokens*burndown")]
    InputMaxTokensBurndown,
}

/// Guard rails shared by the commands that simulate.
#[derive(clap::Args, Clone, Copy)]
struct GuardArgs {
    /// Refuse a scenario that needs more events than this (about a minute of work by default).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_EVENTS,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_events: u64,
    /// Refuse a scenario whose run needs more memory than this, in MiB.
    #[arg(long, value_name = "MB", default_value_t = DEFAULT_MAX_MEMORY_MB,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_memory_mb: u64,
}

impl GuardArgs {
    fn limits(self) -> Limits {
        Limits::new(self.max_events, self.max_memory_mb)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a scenario and print its report.
    Run {
        /// The scenario file.
        scenario: PathBuf,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Override a scenario key, e.g. --set client.concurrency=16 (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: OutFormat,
        /// Add the per-minute timeline to the table and CSV formats.
        #[arg(long)]
        timeline: bool,
        /// Write the report to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Add wall-clock time and events per second to the report's engine block (this makes
        /// the output differ from run to run).
        #[arg(long)]
        timings: bool,
        /// Write an SVG chart of the quota charged per minute against the limit, with the
        /// attempts admitted and throttled.
        #[arg(long, value_name = "FILE.svg")]
        plot: Option<PathBuf>,
        /// Check "METRIC OP NUMBER" on the JSON report (repeatable), e.g.
        /// "throttle_rate <= 0.01" or "latency_ms.e2e.p99 < 30000"; exit 1 if any fails.
        #[arg(long = "assert", value_name = "METRIC OP NUMBER")]
        assert: Vec<String>,
        #[command(flatten)]
        guard: GuardArgs,
    },
    /// Simulate a grid of parameter values in parallel and summarise every point.
    Sweep {
        /// The scenario file (its optional [sweep] table supplies defaults for the flags).
        scenario: PathBuf,
        /// A varied key: PATH=V1,V2,…, PATH=START..END[:+STEP] or PATH=START..END:xFACTOR
        /// (repeatable; the grid is the cartesian product, first key outermost).
        #[arg(long = "vary", value_name = "PATH=VALUES")]
        vary: Vec<String>,
        /// Override a scenario key at every point (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
        /// Simulations per point, with derived seeds (default 1, or the [sweep] table's).
        #[arg(long, value_name = "N")]
        replications: Option<usize>,
        /// Worker threads (default: every core). The output does not depend on it.
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
        /// Output format (default table).
        #[arg(long, value_enum)]
        format: Option<OutFormat>,
        /// Write an SVG chart: a line chart for one varied key, a heat map for two.
        #[arg(long, value_name = "FILE.svg")]
        plot: Option<PathBuf>,
        /// The metric charted by --plot.
        #[arg(long, value_name = "METRIC", default_value = sweep_plot::DEFAULT_PLOT_METRIC)]
        plot_metric: String,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
        /// maximize:METRIC or minimize:METRIC, for the recommendation.
        #[arg(long, value_name = "DIRECTION:METRIC")]
        objective: Option<String>,
        /// "METRIC OP NUMBER" every recommended point must satisfy (repeatable).
        #[arg(long = "constraint", value_name = "METRIC OP NUMBER")]
        constraint: Vec<String>,
        /// Run only the points i with i % N == K and write a part file for `merge`.
        #[arg(long, value_name = "K/N")]
        shard: Option<String>,
        /// Write the output to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        guard: GuardArgs,
    },
    /// Merge the part files of a sharded sweep into the unsharded sweep's output.
    Merge {
        /// The part files (every shard exactly once).
        #[arg(required = true)]
        parts: Vec<PathBuf>,
        /// Output format (default table).
        #[arg(long, value_enum, default_value = "table")]
        format: OutFormat,
        /// Write an SVG chart, as `sweep --plot`.
        #[arg(long, value_name = "FILE.svg")]
        plot: Option<PathBuf>,
        /// The metric charted by --plot.
        #[arg(long, value_name = "METRIC", default_value = sweep_plot::DEFAULT_PLOT_METRIC)]
        plot_metric: String,
        /// Write the output to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Compare two JSON reports (of `run` or `sweep`); exit 1 if a metric regressed.
    Compare {
        /// The reference report.
        baseline: PathBuf,
        /// The report to check.
        current: PathBuf,
        /// Allowed worsening: relative (`5%`) or absolute (`0.5`).
        #[arg(long, default_value = "5%")]
        tolerance: String,
        /// Show only the metrics that changed.
        #[arg(long)]
        changes: bool,
    },
    /// Closed-form quota arithmetic for one request (SPEC §3.1).
    Estimate {
        /// Model preset (see `quotasim models`).
        #[arg(long)]
        model: String,
        /// Input tokens.
        #[arg(long, value_parser = token_count(0))]
        input_tokens: u64,
        /// Output tokens.
        #[arg(long, value_parser = token_count(0))]
        output_tokens: u64,
        /// max_tokens (default: the model's maximum output).
        #[arg(long, value_parser = token_count(1))]
        max_tokens: Option<u64>,
        /// A tokens-per-minute quota, to print how many requests fit.
        #[arg(long, value_parser = token_count(1))]
        tokens_per_minute: Option<u64>,
        /// Reservation formula.
        #[arg(long, value_enum, default_value = "input+max_tokens")]
        reserve: ReserveArg,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: EstimateFormat,
    },
    /// Validate a scenario, print it fully resolved, and warn about unservable classes.
    Check {
        /// The scenario file.
        scenario: PathBuf,
        /// Override a scenario key (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
        #[command(flatten)]
        guard: GuardArgs,
    },
    /// List the model presets.
    Models,
    /// Fit a scenario fragment (arrival rate, cv, hourly schedule, request classes) to a
    /// trace: a CSV file or Bedrock model-invocation logs (JSON lines).
    Fit {
        /// The trace file.
        trace: PathBuf,
        /// Trace format (default: from the extension, .csv or .jsonl/.json).
        #[arg(long, value_enum)]
        format: Option<TraceFormatArg>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum TraceFormatArg {
    Csv,
    BedrockLog,
}

/// Token counts on the command line: at least `min`, at most 2^50 (the bound the scenario
/// loader applies too), so that the quota arithmetic cannot saturate.
fn token_count(min: u64) -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(min..=1 << 50)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn overrides(set: &[String]) -> Result<Vec<Override>, Error> {
    set.iter().map(|s| Override::parse(s)).collect()
}

/// Refuses an `--out` path that cannot be written before spending time on the run.
fn check_out_path(path: &std::path::Path) -> Result<(), Error> {
    if path.is_dir() {
        return Err(Error::Usage(format!(
            "--out {}: is a directory; expected a file path",
            path.display()
        )));
    }
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    if !parent.is_dir() {
        return Err(Error::Usage(format!(
            "--out {}: the directory {} does not exist",
            path.display(),
            parent.display()
        )));
    }
    Ok(())
}

fn emit(text: &str, out: Option<&PathBuf>) -> Result<(), Error> {
    write_out(out, |w| w.write_all(text.as_bytes()))
}

/// Writes to FILE, or to standard output (where a closed pipe, e.g. `| head`, is not an error).
fn write_out(
    out: Option<&PathBuf>,
    f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), Error> {
    match out {
        Some(path) => {
            let io_err = |source| Error::Io {
                context: format!("cannot write {}", path.display()),
                source,
            };
            let file = std::fs::File::create(path).map_err(io_err)?;
            let mut w = std::io::BufWriter::new(file);
            f(&mut w).and_then(|()| w.flush()).map_err(io_err)
        }
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            let _ = f(&mut w).and_then(|()| w.flush());
            Ok(())
        }
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|source| Error::Io {
        context: format!("cannot write {}", path.display()),
        source,
    })
}

/// Reads an input file; a missing or unreadable file is invalid input naming it.
fn read_input(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| {
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

fn read_json(path: &Path) -> Result<serde_json::Value, Error> {
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

/// Set by Ctrl-C during a sweep.
static SWEEP_STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Exit status of a sweep stopped by Ctrl-C (128 + SIGINT, as shells report it).
const INTERRUPTED: i32 = 130;

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

fn emit_sweep(
    report: &quotasim::sweep::SweepReport,
    format: OutFormat,
    plot: Option<&Path>,
    plot_metric: &str,
    out: Option<&PathBuf>,
) -> Result<(), Error> {
    let format = match format {
        OutFormat::Table => SweepFormat::Table,
        OutFormat::Json => SweepFormat::Json,
        OutFormat::Csv => SweepFormat::Csv,
    };
    if let Some(path) = plot {
        write_file(path, &sweep_plot::sweep_svg(report, plot_metric)?)?;
    }
    emit(&quotasim::sweep::format::render(report, format), out)
}

fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Run {
            scenario,
            seed,
            set,
            format,
            timeline,
            out,
            timings,
            plot,
            assert,
            guard,
        } => {
            if let Some(path) = &out {
                check_out_path(path)?;
            }
            let file = scenario.display().to_string();
            let assertions = assert
                .iter()
                .map(|a| Assertion::parse(a).map_err(|e| Error::Usage(format!("--assert: {e}"))))
                .collect::<Result<Vec<_>, _>>()?;
            let mut s = Scenario::from_path(&scenario, &overrides(&set)?)?;
            if let Some(seed) = seed {
                s.seed = seed;
            }
            let limits = guard.limits();
            guard::check(&s, &file, &limits)?;
            if let Err(e) = guard::check_servable(&s, &file) {
                let _ = writeln!(
                    std::io::stderr(),
                    "warning: {e}\n  (running anyway: every request is counted in requests.unservable)"
                );
            }
            let started = std::time::Instant::now();
            let mut report = quotasim::engine::simulate_with(&s, &limits, None)
                .map_err(|stopped| guard::stopped_error(&s, &file, &limits, &stopped))?;
            if timings {
                report.set_timings(started.elapsed());
            }
            let outcomes = if assertions.is_empty() {
                Vec::new()
            } else {
                let value = quotasim::sweep::metrics::report_with_derived(&report, &s);
                assertion::evaluate(&assertions, &value)
                    .map_err(|e| Error::Usage(format!("--assert: {e}")))?
            };
            let format = match format {
                OutFormat::Table => Format::Table,
                OutFormat::Json => Format::Json,
                OutFormat::Csv => Format::Csv,
            };
            let opts = ExportOptions { timeline };
            write_out(out.as_ref(), |w| report.write_to(format, opts, w))?;
            if let Some(path) = plot {
                write_file(&path, &quotasim::report::timeline_svg(&report, &s))?;
            }
            if !outcomes.is_empty() {
                let mut stderr = std::io::stderr().lock();
                for o in &outcomes {
                    let _ = writeln!(stderr, "{o}");
                }
                let failed = outcomes.iter().filter(|o| !o.passed).count();
                if failed > 0 {
                    let _ = writeln!(
                        stderr,
                        "error: {failed} of {} assertions failed",
                        outcomes.len()
                    );
                    return Ok(ExitCode::from(1));
                }
            }
        }
        Command::Sweep {
            scenario,
            vary,
            set,
            replications,
            threads,
            format,
            plot,
            plot_metric,
            quiet,
            objective,
            constraint,
            shard,
            out,
            guard,
        } => {
            let vary = vary
                .iter()
                .map(|v| {
                    Vary::parse(v).map_err(|e| {
                        let msg = e.to_string();
                        if msg.contains("--vary") {
                            Error::Usage(msg)
                        } else {
                            Error::Usage(format!("--vary {v}: {msg}"))
                        }
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let shard = shard
                .map(|s| Shard::parse(&s).map_err(|e| Error::Usage(e.to_string())))
                .transpose()?;
            if shard.is_some() {
                if format.is_some_and(|f| !matches!(f, OutFormat::Json)) {
                    return Err(Error::Usage(
                        "--shard writes a JSON part file for `quotasim merge`; drop --format"
                            .into(),
                    ));
                }
                if plot.is_some() {
                    return Err(Error::Usage(
                        "--plot cannot chart one shard; pass --plot to `quotasim merge`".into(),
                    ));
                }
            }
            let opts = SweepOptions {
                vary,
                set,
                replications,
                shard,
                objective: objective
                    .map(|o| {
                        Objective::parse(&o).map_err(|e| Error::Usage(format!("--objective: {e}")))
                    })
                    .transpose()?,
                constraints: constraint
                    .iter()
                    .map(|c| {
                        Assertion::parse(c).map_err(|e| Error::Usage(format!("--constraint: {e}")))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                limits: Some(guard.limits()),
            };
            if threads == Some(0) {
                return Err(Error::Usage("--threads 0: expected at least 1".into()));
            }
            let plan = quotasim::sweep::plan_sweep(&scenario, &opts)?;
            if plot.is_some() {
                sweep_plot::check_plot(plan.grid.axes().len(), &plot_metric)?;
            }
            let bar = progress_bar(plan.jobs() as u64, quiet);
            // Ctrl-C stops starting new simulations and writes the points already done; a
            // second Ctrl-C exits at once.
            let _ = ctrlc::set_handler(|| {
                if SWEEP_STOP.swap(true, std::sync::atomic::Ordering::SeqCst) {
                    std::process::exit(INTERRUPTED);
                }
            });
            let report =
                quotasim::sweep::execute_until(&plan, threads, &|| bar.inc(1), &SWEEP_STOP);
            bar.finish_and_clear();
            let report = report?;
            let interrupted = report.interrupted;
            if shard.is_some() {
                emit(&part::render_part(&report), out.as_ref())?;
            } else {
                emit_sweep(
                    &report,
                    format.unwrap_or(OutFormat::Table),
                    plot.as_deref(),
                    &plot_metric,
                    out.as_ref(),
                )?;
            }
            if interrupted {
                let _ = writeln!(
                    std::io::stderr(),
                    "interrupted: wrote the {} of {} points that finished",
                    report.points.len(),
                    plan.points.len()
                );
                return Ok(ExitCode::from(INTERRUPTED as u8));
            }
        }
        Command::Merge {
            parts,
            format,
            plot,
            plot_metric,
            out,
        } => {
            let texts = parts
                .iter()
                .map(|p| read_input(p).map(|t| (p.display().to_string(), t)))
                .collect::<Result<Vec<_>, _>>()?;
            let report = part::merge_parts(&texts)?;
            emit_sweep(&report, format, plot.as_deref(), &plot_metric, out.as_ref())?;
        }
        Command::Compare {
            baseline,
            current,
            tolerance,
            changes,
        } => {
            let tolerance = Tolerance::parse(&tolerance)
                .map_err(|e| Error::Usage(format!("--tolerance: {e}")))?;
            let base = read_json(&baseline)?;
            let cur = read_json(&current)?;
            let cmp = Comparison::new(&base, &cur, tolerance).map_err(|e| {
                Error::Usage(format!(
                    "cannot compare {} with {}: {e}",
                    baseline.display(),
                    current.display()
                ))
            })?;
            let text = if changes {
                cmp.render_changes()
            } else {
                cmp.render_table()
            };
            emit(&text, None)?;
            if cmp.regressed() {
                let _ = writeln!(
                    std::io::stderr(),
                    "error: {} regressed beyond the tolerance of {tolerance} against {}",
                    current.display(),
                    baseline.display()
                );
                return Ok(ExitCode::from(1));
            }
        }
        Command::Estimate {
            model,
            input_tokens,
            output_tokens,
            max_tokens,
            tokens_per_minute,
            reserve,
            format,
        } => {
            let reserve = match reserve {
                ReserveArg::InputMaxTokens => ReserveMode::InputPlusMaxTokens,
                ReserveArg::InputMaxTokensBurndown => ReserveMode::InputPlusMaxTokensBurndown,
            };
            let e = quotasim::estimate::estimate(
                &model,
                input_tokens,
                output_tokens,
                max_tokens,
                tokens_per_minute,
                reserve,
            )?;
            let text = match format {
                EstimateFormat::Table => e.to_table(),
                EstimateFormat::Json => {
                    serde_json::to_string_pretty(&e).map_err(|e| Error::Runtime(e.to_string()))?
                        + "\n"
                }
            };
            emit(&text, None)?;
        }
        Command::Check {
            scenario,
            set,
            guard,
        } => {
            let file = scenario.display().to_string();
            let s = Scenario::from_path(&scenario, &overrides(&set)?)?;
            let refused = guard::check(&s, &file, &guard.limits()).err();
            let mut text = format!("# {}: valid\n", scenario.display());
            text.push_str(&s.to_toml());
            emit(&text, None)?;
            for w in s
                .unservable_warnings()
                .into_iter()
                .chain(s.workload_warnings())
            {
                let _ = writeln!(std::io::stderr(), "warning: {w}");
            }
            // The scenario is valid, but `run` would refuse it (SPEC: `check` warns).
            if let Some(e) = refused {
                let _ = writeln!(
                    std::io::stderr(),
                    "warning: `quotasim run` would refuse this scenario: {e}"
                );
            }
        }
        Command::Fit { trace, format } => {
            use quotasim::trace::TraceFormat;
            let format = match format {
                Some(TraceFormatArg::Csv) => TraceFormat::Csv,
                Some(TraceFormatArg::BedrockLog) => TraceFormat::BedrockLog,
                None => TraceFormat::from_extension(&trace).ok_or_else(|| {
                    Error::Usage(format!(
                        "cannot tell the format of {} from its extension (.csv, .jsonl or .json); pass --format csv or --format bedrock-log",
                        trace.display()
                    ))
                })?,
            };
            let fit = quotasim::fit::fit(&trace, format).map_err(Error::Invalid)?;
            emit(&fit.to_toml(), None)?;
        }
        Command::Models => {
            let mut text = format!(
                "{:<20} {:>6} {:>7} {:>11} {:>14}\n",
                "preset", "input", "output", "max output", "decode tok/s"
            );
            for p in models::PRESETS {
                for n in p.names {
                    text.push_str(&format!(
                        "{:<20} {:>6} {:>7} {:>11} {:>14}\n",
                        n,
                        p.input_burndown,
                        p.output_burndown,
                        p.max_output_tokens,
                        p.output_tokens_per_second
                    ));
                }
            }
            emit(&text, None)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

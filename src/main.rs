//! The `quotasim` command line: parses arguments and calls the library.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use quotasim::quota::{ReserveMode, models};
use quotasim::report::{ExportOptions, Format};
use quotasim::{Error, Override, Scenario};

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
    },
    /// Closed-form quota arithmetic for one request (SPEC §3.1).
    Estimate {
        /// Model preset (see `quotasim models`).
        #[arg(long)]
        model: String,
        /// Input tokens.
        #[arg(long)]
        input_tokens: u64,
        /// Output tokens.
        #[arg(long)]
        output_tokens: u64,
        /// max_tokens (default: the model's maximum output).
        #[arg(long)]
        max_tokens: Option<u64>,
        /// A tokens-per-minute quota, to print how many requests fit.
        #[arg(long)]
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
        } => {
            let mut s = Scenario::from_path(&scenario, &overrides(&set)?)?;
            if let Some(seed) = seed {
                s.seed = seed;
            }
            let started = std::time::Instant::now();
            let mut report = quotasim::try_simulate(&s)?;
            if timings {
                report.set_timings(started.elapsed());
            }
            let format = match format {
                OutFormat::Table => Format::Table,
                OutFormat::Json => Format::Json,
                OutFormat::Csv => Format::Csv,
            };
            let opts = ExportOptions { timeline };
            write_out(out.as_ref(), |w| report.write_to(format, opts, w))?;
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
        Command::Check { scenario, set } => {
            let s = Scenario::from_path(&scenario, &overrides(&set)?)?;
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

//! The `quotasim` command line: clap parses the flags into the library's typed arguments
//! ([`quotasim::cli`]) and `main` calls the one library function of the subcommand.

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

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use quotasim::Error;
use quotasim::cli;

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

#[derive(Subcommand)]
enum Command {
    /// Simulate a scenario and print its report.
    Run(cli::RunArgs),
    /// Simulate a grid of parameter values in parallel and summarise every point.
    Sweep(cli::SweepArgs),
    /// Merge the part files of a sharded sweep into the unsharded sweep's output.
    Merge(cli::MergeArgs),
    /// Compare two JSON reports (of `run` or `sweep`); exit 1 if a metric regressed.
    Compare(cli::CompareArgs),
    /// Closed-form quota arithmetic for one request.
    Estimate(cli::EstimateArgs),
    /// Validate a scenario, print it fully resolved, and warn about unservable classes.
    Check(cli::CheckArgs),
    /// Find the smallest (or largest) integer value of a key for which every constraint
    /// holds with confidence, and print the demand an AWS quota-increase request asks for.
    Plan(cli::PlanArgs),
    /// List the model presets (the bundled table, with sources).
    Models(cli::ModelsArgs),
    /// Serve the Bedrock Runtime API locally, enforcing the scenario's quota in real time
    /// (or faster) for real clients; prints the final report (JSON) on SIGINT/SIGTERM.
    Serve(cli::ServeArgs),
    /// Fit a scenario fragment (arrival rate, cv, hourly schedule, request classes) to a
    /// trace: a CSV file or Bedrock model-invocation logs (JSON lines).
    Fit(cli::FitArgs),
    /// Import what your account has: `import service-quotas FILE` turns the JSON of
    /// `aws service-quotas list-service-quotas --service-code bedrock` into pools.
    Import(cli::ImportArgs),
    /// Compare a scenario with the CloudWatch metrics you observed (`aws cloudwatch
    /// get-metric-data` output) and fit unknown integer keys (--fit KEY=LO..HI).
    Calibrate(cli::CalibrateArgs),
}

/// Runs before the Rust runtime, which opens `/dev/null` on a closed standard output (so
/// that writes to it would succeed unseen): a closed descriptor 1 is noted here, and every
/// write to standard output then fails with a message (exit status 1). A `/dev/null` given
/// by the caller (`> /dev/null`, Python's `DEVNULL`) is an open descriptor and stays fine.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static NOTE_CLOSED_STDOUT: extern "C" fn() = {
    extern "C" fn note() {
        if std::fs::symlink_metadata("/proc/self/fd/1").is_err()
            && std::fs::symlink_metadata("/proc/self/fd").is_ok()
        {
            quotasim::files::note_stdout_closed_at_start();
        }
    }
    note
};

fn main() -> ExitCode {
    main_with(std::env::args_os())
}

/// The whole command for `args` (the program's name first): what `main` runs, and what the
/// Python package's `quotasim` command runs through its extension module.
pub fn main_with(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    match dispatch(Cli::parse_from(args).command) {
        Ok(code) => code,
        Err(e) => {
            // Messages echo input: escape its control bytes and cut what is huge.
            let text = quotasim::terminal::for_terminal(&e.to_string());
            let _ = writeln!(std::io::stderr(), "error: {text}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn dispatch(command: Command) -> Result<ExitCode, Error> {
    match command {
        Command::Run(a) => cli::run(a),
        Command::Sweep(a) => cli::sweep(a),
        Command::Merge(a) => cli::merge(&a),
        Command::Compare(a) => cli::compare(&a),
        Command::Estimate(a) => cli::estimate(&a),
        Command::Check(a) => cli::check(&a),
        Command::Plan(a) => cli::plan(a),
        Command::Models(a) => cli::models(&a),
        Command::Serve(a) => cli::serve(&a),
        Command::Fit(a) => cli::fit(&a),
        Command::Import(a) => cli::import(&a),
        Command::Calibrate(a) => cli::calibrate(&a),
    }
}

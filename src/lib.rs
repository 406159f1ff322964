//! # quotasim
//!
//! A deterministic discrete-event simulator of LLM API rate-limit quotas, first of all
//! Amazon Bedrock's on-demand quotas for Anthropic Claude models: a per-minute token quota
//! where every output token burns down 5 quota tokens and `max_tokens` is reserved before a
//! request runs.
//!
//! Data flows one way:
//!
//! ```text
//! scenario (TOML + --set)  ──►  engine (event queue, clock)  ──►  metrics  ──►  report
//!        │                          │        │
//!        │                          │        ├─ quota/    limiters, costs, model presets
//!        │                          │        ├─ client/   concurrency, retry policies
//!        │                          │        └─ workload/ arrivals, schedules, trace replay,
//!        │                          │                     request classes
//!        └─ trace/ (CSV and Bedrock invocation logs, streamed) ──► fit (trace → scenario)
//! ```
//!
//! ```
//! use quotasim::{Scenario, simulate};
//!
//! let scenario = Scenario::from_toml_str(r#"
//!     duration = "5m"
//!     [model]
//!     preset = "claude-sonnet-4"
//!     [quota]
//!     tokens_per_minute = 200000
//!     [arrivals]
//!     process = "constant"
//!     rate_per_minute = 30
//!     [requests.chat]
//!     input_tokens = 1000
//!     output_tokens = 500
//!     max_tokens = 1024
//! "#, "example.toml").unwrap();
//! let report = simulate(&scenario);
//! assert_eq!(report.requests.arrived, 150);
//! assert_eq!(report.requests.succeeded, 150);
//! ```
//!
//! Determinism: simulated time is an integer count of microseconds, quota accounting is
//! integer, events at one instant run in the order they were scheduled, and every random
//! stream is a `ChaCha8Rng` derived from the scenario seed with one stream per purpose.

#![warn(missing_docs)]
// No panics reachable from the command line: these are denied outside tests, and each
// remaining case carries a narrow `#[allow]` with the reason it cannot fire.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod account;
pub mod assertion;
pub mod cli;
pub mod client;
pub mod compare;
pub mod cost;
pub mod duration;
pub mod engine;
pub mod error;
pub mod estimate;
pub mod files;
pub mod fit;
#[doc(hidden)]
pub mod fuzzing;
pub mod guard;
mod json_paths;
pub mod metrics;
mod num;
pub mod plan;
pub mod plot;
pub mod quota;
pub mod report;
pub mod scenario;
pub mod serve;
pub mod sweep;
pub mod terminal;
pub mod trace;
pub mod workload;

pub use engine::{simulate, try_simulate};
pub use error::{Diagnostic, Error};
pub use report::Report;
pub use scenario::{Override, Scenario};

/// The Rust example of docs/guide/library.md, compiled and run by `cargo test` as a doctest,
/// so that the guide's library example keeps building against the crate.
#[cfg(doctest)]
#[doc = include_str!("../docs/guide/library.md")]
pub struct GuideLibraryExample;

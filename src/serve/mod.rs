//! `quotasim serve`: a local Bedrock Runtime endpoint that enforces a scenario's quota in
//! real time (or faster), so that a real SDK or application can be tested against it.
//!
//! Clients bring the traffic: the scenario's `[arrivals]`, `duration` and `[client]` do not
//! apply. Each HTTP call is an attempt; the model ID in the path picks the pool; the pool's
//! limits admit or refuse it exactly as in a simulated run (the same [`Quota`] code), with
//! the simulated clock running `time_scale` times faster than the wall clock from the moment
//! the server listens.
//!
//! The HTTP layer (`http`) is tokio + hyper with bounded bodies, header timeouts and a
//! connection cap; [`api`] holds the wire shapes; [`eventstream`] the binary framing of the
//! streaming operations; [`state`] the quota accounting and the live report.
//!
//! [`Quota`]: crate::quota::Quota

pub mod api;
pub mod eventstream;
mod http;
pub mod state;

use std::net::SocketAddr;
use std::time::Duration;

pub use http::Server;
pub use state::PoolSpec;

use crate::Scenario;
use crate::quota::LimitSpec;
use crate::workload::RequestClass;

/// Where the emulator listens unless `--listen` says otherwise (loopback only).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8765";

/// The fastest clock allowed: the report's timeline keeps one row per simulated minute, so
/// this bounds its growth to 10,000 rows per wall-clock minute.
pub const MAX_TIME_SCALE: f64 = 10_000.0;

/// Protections against slow, oversized or too many clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body accepted; a larger one gets HTTP 413.
    pub max_body_bytes: usize,
    /// A client that has not sent a request's complete headers this long after the
    /// connection opened (or after its previous response) is disconnected.
    pub header_timeout: Duration,
    /// A request body that has not fully arrived this long after its headers gets HTTP 408.
    pub body_timeout: Duration,
    /// Most connections open at once; further connections are closed at once.
    pub max_connections: usize,
    /// Largest request head (request line and headers), bytes; a larger one gets HTTP 431.
    pub max_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 4 << 20,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_header_bytes: 64 << 10,
        }
    }
}

/// How to serve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Address to bind (port 0: any free port; [`Server::addr`] tells which).
    pub listen: SocketAddr,
    /// Simulated seconds per wall-clock second (> 0).
    pub time_scale: f64,
    /// Protections.
    pub limits: Limits,
    /// Worker threads of the async runtime (0: one per core).
    pub threads: usize,
}

/// The port of [`DEFAULT_LISTEN`].
const DEFAULT_PORT: u16 = 8765;

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)),
            time_scale: 1.0,
            limits: Limits::default(),
            threads: 0,
        }
    }
}

/// What the emulator serves: pools, request classes (for output lengths), and the seed of
/// its random streams (class choice, token sizes, 503 faults).
#[derive(Debug, Clone)]
pub struct Config {
    /// Scenario name, for the report.
    pub name: String,
    /// Seed of the random streams.
    pub seed: u64,
    /// The pools, in order. An ID several pools list goes to the one listing the fewest
    /// IDs (the most specific), then to the first.
    pub pools: Vec<PoolSpec>,
    /// Account-wide limits (`[[account.limits]]`), checked after the serving pool's own.
    pub account: Vec<LimitSpec>,
    /// Request classes that output lengths are drawn from.
    pub classes: Vec<RequestClass>,
}

impl Config {
    /// The scenario's pools, account limits and classes (those of its first workload).
    pub fn from_scenario(s: &Scenario) -> Self {
        Config {
            name: s.name.clone(),
            seed: s.seed,
            pools: PoolSpec::from_scenario(s),
            account: s.account.clone(),
            classes: s.requests.clone(),
        }
    }
}

/// Runs the emulator until SIGINT or SIGTERM: prints the address on standard error once
/// listening, then on a signal stops accepting, lets calls in flight finish (up to 5 s) and
/// prints the final report (JSON) on standard output.
pub fn run(config: Config, options: Options) -> Result<(), crate::Error> {
    use std::io::Write;
    let ids: Vec<String> = config
        .pools
        .iter()
        .map(|p| format!("{} ({} model IDs)", p.name, p.model_ids.len()))
        .collect();
    let first_id = config
        .pools
        .first()
        .and_then(|p| p.model_ids.first().cloned())
        .unwrap_or_default();
    let server = Server::start(config, options)?;
    let mut err = std::io::stderr();
    let _ = writeln!(
        err,
        "quotasim serve: listening on http://{} (time scale {}, pools: {}; e.g. model ID {})",
        server.addr(),
        options.time_scale,
        ids.join(", "),
        first_id
    );
    let _ = err.flush();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| crate::Error::Io {
            context: "starting the signal handler".into(),
            source: e,
        })?;
    rt.block_on(wait_for_signal());
    let _ = writeln!(
        err,
        "quotasim serve: stopping (calls in flight get up to 5 s)"
    );
    let report = server.shutdown();
    let text = serde_json::to_string_pretty(&report).unwrap_or_default();
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_listen_is_loopback_and_consistent() {
        let parsed: SocketAddr = DEFAULT_LISTEN.parse().unwrap();
        assert_eq!(parsed, Options::default().listen);
        assert!(parsed.ip().is_loopback());
    }

    #[test]
    fn the_time_scale_is_bounded() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, MAX_TIME_SCALE * 1.5] {
            let options = Options {
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                time_scale: bad,
                ..Options::default()
            };
            let config = Config {
                name: "t".into(),
                seed: 0,
                pools: Vec::new(),
                account: Vec::new(),
                classes: Vec::new(),
            };
            assert!(Server::start(config, options).is_err(), "{bad}");
        }
    }

    #[test]
    fn extreme_time_scales_never_panic() {
        let slow = state::Clock::new(1e-300);
        assert_eq!(slow.wall(u64::MAX), Duration::MAX);
        let fast = state::Clock::new(1e300);
        assert_eq!(fast.wall(1), Duration::ZERO);
        let _ = fast.now_us();
    }
}

//! An optional observation hook: every step of a run, in order, for tests and debugging.
//!
//! The report only holds aggregates; properties such as "a fixed window's count at
//! admission never exceeds its limit" or "quota consumed equals the sum of the final costs"
//! need to see each request. Pass an [`Observer`] to
//! [`simulate_with`](crate::engine::simulate_with); [`simulate`](crate::simulate) passes
//! none and pays nothing for the hook.
//!
//! ```
//! use quotasim::engine::{Observer, TraceEvent, simulate_with};
//! use quotasim::guard::Limits;
//! use quotasim::quota::Quota;
//!
//! #[derive(Default)]
//! struct Costs(u64);
//! impl Observer for Costs {
//!     fn on_event(&mut self, e: &TraceEvent, _quota: &Quota) {
//!         if let TraceEvent::Succeeded { cost, .. } = e {
//!             self.0 += cost;
//!         }
//!     }
//! }
//! let s = quotasim::Scenario::from_toml_str(r#"
//!     duration = "2m"
//!     [quota]
//!     tokens_per_minute = 100000
//!     [arrivals]
//!     process = "constant"
//!     rate_per_minute = 10
//!     [requests.a]
//!     input_tokens = 100
//!     output_tokens = 50
//! "#, "doc.toml").unwrap();
//! let mut costs = Costs::default();
//! let report = simulate_with(&s, &Limits::default(), Some(&mut costs)).unwrap();
//! assert_eq!(costs.0, report.tokens.quota_consumed);
//! ```

use crate::quota::{Quota, ThrottleCause};

/// One step of a run. `slot` identifies a request from its `Arrived` event until its
/// `Succeeded` or `Failed` event; after that the slot may be reused by a later arrival.
/// Times are simulated microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceEvent {
    /// A request arrived (or a closed-loop user sent one).
    Arrived {
        /// Time.
        t: u64,
        /// The request's slot.
        slot: u32,
        /// Its reservation at admission.
        reserved: u64,
        /// Its final cost if it succeeds.
        cost: u64,
        /// Whether it arrived in `[warmup, duration)` and counts in the report.
        counted: bool,
        /// Its input tokens (cache writes and reads not included).
        input: u64,
    },
    /// An attempt was admitted; the quota passed to the observer has just been charged.
    Admitted {
        /// Time.
        t: u64,
        /// The request's slot.
        slot: u32,
        /// 1-based attempt number.
        attempt: u32,
        /// The amount charged.
        reserved: u64,
    },
    /// An attempt was refused.
    Throttled {
        /// Time.
        t: u64,
        /// The request's slot.
        slot: u32,
        /// 1-based attempt number.
        attempt: u32,
        /// The first refusing limit.
        cause: ThrottleCause,
    },
    /// An admitted attempt failed with a 503 (its reservation has been released).
    ServerError {
        /// Time.
        t: u64,
        /// The request's slot.
        slot: u32,
        /// 1-based attempt number.
        attempt: u32,
    },
    /// The request succeeded; it was settled at `cost`.
    Succeeded {
        /// Time.
        t: u64,
        /// The request's slot.
        slot: u32,
        /// Attempts made, retries included.
        attempts: u32,
        /// Final cost charged to the quota.
        cost: u64,
    },
    /// The request gave up.
    Failed {
        /// Time.
        t: u64,
        /// The request's slot.
        slot: u32,
        /// Attempts made.
        attempts: u32,
    },
}

/// Receives every [`TraceEvent`] of a run together with the quota's state right after it.
pub trait Observer {
    /// Called once per step, in simulation order.
    fn on_event(&mut self, event: &TraceEvent, quota: &Quota);
}

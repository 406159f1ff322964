//! The client: concurrency limit, retry policies, botocore's adaptive rate limiter,
//! client-side pacing and timeouts (docs/retries.md).

pub mod adaptive;
pub mod pacing;
pub mod retry;
pub mod sdk_retry;

pub use adaptive::AdaptiveLimiter;
pub use pacing::{Pacer, Pacing};
pub use retry::{Jitter, RetryPolicy, RetryState};

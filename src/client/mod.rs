//! The client: concurrency limit and retry policies (SPEC §5).

pub mod retry;

pub use retry::{Jitter, RetryPolicy, RetryState};

//! Random streams. Every stream is a `ChaCha8Rng` seeded with the scenario seed and set to
//! its own stream number, so changing how often one purpose draws (say, more retries) never
//! shifts another purpose's numbers (common random numbers across sweep points).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The purposes that draw random numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Stream {
    /// Inter-arrival times.
    Arrivals = 1,
    /// Token sizes.
    Tokens = 2,
    /// Service latency (reserved for latency jitter).
    Latency = 3,
    /// Retry backoff.
    Retries = 4,
    /// 503 faults.
    Faults = 5,
    /// Request class choice.
    Classes = 6,
    /// A weighted route's pool choice.
    Route = 7,
}

/// The generator for `purpose` under `seed`.
pub fn stream(seed: u64, purpose: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(purpose as u64);
    rng
}

/// The generator for `purpose` of workload number `k` (in file order) under `seed`.
/// Workload 0 uses exactly [`stream`]'s generators; workload k ≥ 1 its own stream numbers
/// `k · 2³² + purpose`, so adding or editing one workload never moves another's draws.
pub fn workload_stream(seed: u64, k: u64, purpose: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream((k << 32) | purpose as u64);
    rng
}

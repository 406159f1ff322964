//! Request classes: named token-size distributions with a weight.

use rand::{Rng, RngExt};
use serde::Serialize;

use super::dist::Dist;

/// One `[requests.NAME]` class, resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestClass {
    /// The table name.
    pub name: String,
    /// Relative weight.
    pub weight: f64,
    /// Input tokens (I).
    pub input_tokens: Dist,
    /// Desired output length (O).
    pub output_tokens: Dist,
    /// Cache-write tokens (W).
    pub cache_write_tokens: Dist,
    /// Cache-read tokens (Rd).
    pub cache_read_tokens: Dist,
    /// `max_tokens` (M), resolved from the class, the client or the model.
    pub max_tokens: u64,
    /// Whether the class or its client set `max_tokens` (else the serving pool's model
    /// maximum applies to each attempt).
    #[serde(skip)]
    pub max_tokens_set: bool,
    /// The class streams its answers (`stream = true`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
}

/// The token sizes of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Input tokens (I).
    pub input: u64,
    /// Desired output length (O), before `max_tokens` truncates it.
    pub output: u64,
    /// Cache-write tokens (W).
    pub cache_write: u64,
    /// Cache-read tokens (Rd).
    pub cache_read: u64,
    /// `max_tokens` (M).
    pub max_tokens: u64,
    /// Whether M was set (by the record, the class or the client) rather than taken from
    /// the model: only then does it stay the same on every pool.
    pub max_tokens_set: bool,
}

impl RequestClass {
    /// Draws a request's sizes (in the order input, output, cache writes, cache reads).
    // Inlined so that the sizes are built in the caller's request, not returned through
    // memory by a call that saves and restores six registers.
    #[inline(always)]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Sizes {
        let input = self.input_tokens.sample(rng);
        let output = self.output_tokens.sample(rng);
        let cache_write = self.cache_write_tokens.sample(rng);
        let cache_read = self.cache_read_tokens.sample(rng);
        Sizes {
            input,
            output,
            cache_write,
            cache_read,
            max_tokens: self.max_tokens,
            max_tokens_set: self.max_tokens_set,
        }
    }
}

/// Picks a class by weight with one uniform draw (cumulative weights, linear scan: the
/// number of classes is small).
#[derive(Debug, Clone)]
pub struct ClassPicker {
    cumulative: Vec<f64>,
}

impl ClassPicker {
    /// A picker over the classes' weights (at least one weight must be > 0).
    pub fn new(classes: &[RequestClass]) -> Self {
        let mut acc = 0.0;
        let cumulative = classes
            .iter()
            .map(|c| {
                acc += c.weight;
                acc
            })
            .collect();
        ClassPicker { cumulative }
    }

    /// The index of the chosen class. With a single class no random number is drawn.
    #[inline]
    pub fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        if self.cumulative.len() <= 1 {
            return 0;
        }
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.random::<f64>() * total;
        let last = self.cumulative.len() - 1;
        self.cumulative.iter().position(|&c| x < c).unwrap_or(last)
    }
}

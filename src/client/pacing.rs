//! Client-side pacing (`client.pacing`): the client holds each attempt until its own token
//! buckets (tokens and/or requests per minute) allow it, as quota-aware clients do.
//!
//! The buckets count in the same 1/60,000,000-token units as the provider's token bucket, so
//! pacing with the provider's own numbers never sends faster than a provider token bucket
//! refills. Held attempts leave in FIFO order; an attempt larger than the bucket's capacity
//! leaves when the bucket is full and drives it into debt.

use serde::Serialize;

use crate::quota::{MINUTE_US, ReserveMode};

/// `client.pacing`, resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pacing {
    /// Tokens per minute the client allows itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_per_minute: Option<u64>,
    /// Requests per minute the client allows itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u64>,
    /// What an attempt costs the token bucket.
    pub count: ReserveMode,
    /// Bucket capacity as a fraction of a minute's allowance (default 1).
    pub burst: f64,
}

/// One client-side token bucket, integer units (1/60,000,000 of a token).
#[derive(Debug, Clone)]
struct Bucket {
    rate: i128,
    capacity: i128,
    level: i128,
    last: u64,
}

impl Bucket {
    fn new(per_minute: u64, burst: f64) -> Self {
        let full = i128::from(per_minute) * i128::from(MINUTE_US);
        // Capacity: a fraction of a minute's allowance, at least one whole token.
        let capacity = ((full as f64 * burst) as i128).clamp(i128::from(MINUTE_US), full.max(1));
        Bucket {
            rate: i128::from(per_minute),
            capacity,
            level: capacity,
            last: 0,
        }
    }

    fn refill(&mut self, now: u64) {
        if now > self.last {
            let gained = i128::from(now - self.last) * self.rate;
            self.level = (self.level + gained).min(self.capacity);
            self.last = now;
        }
    }

    /// µs until `amount` tokens (or a full bucket, for amounts above capacity) are there.
    fn wait(&mut self, now: u64, amount: u64) -> u64 {
        self.refill(now);
        let need = (i128::from(amount) * i128::from(MINUTE_US)).min(self.capacity);
        if self.level >= need || self.rate <= 0 {
            return 0;
        }
        let deficit = need - self.level;
        let us = (deficit + self.rate - 1) / self.rate;
        u64::try_from(us).unwrap_or(u64::MAX)
    }

    fn take(&mut self, now: u64, amount: u64) {
        self.refill(now);
        self.level -= i128::from(amount) * i128::from(MINUTE_US);
    }
}

/// The pacer's buckets.
#[derive(Debug, Clone)]
pub struct Pacer {
    tokens: Option<Bucket>,
    requests: Option<Bucket>,
    /// What an attempt costs.
    pub count: ReserveMode,
}

impl Pacer {
    /// A pacer with full buckets at t = 0.
    pub fn new(p: &Pacing) -> Self {
        Pacer {
            tokens: p.tokens_per_minute.map(|t| Bucket::new(t, p.burst)),
            requests: p.requests_per_minute.map(|r| Bucket::new(r, p.burst)),
            count: p.count,
        }
    }

    /// µs until an attempt costing `tokens` may leave (0: now).
    pub fn wait(&mut self, now: u64, tokens: u64) -> u64 {
        let t = self.tokens.as_mut().map_or(0, |b| b.wait(now, tokens));
        let r = self.requests.as_mut().map_or(0, |b| b.wait(now, 1));
        t.max(r)
    }

    /// Takes an attempt costing `tokens` (call when [`Pacer::wait`] returned 0).
    pub fn take(&mut self, now: u64, tokens: u64) {
        if let Some(b) = &mut self.tokens {
            b.take(now, tokens);
        }
        if let Some(b) = &mut self.requests {
            b.take(now, 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_exactly_for_refill() {
        let mut p = Pacer::new(&Pacing {
            tokens_per_minute: Some(600),
            requests_per_minute: None,
            count: ReserveMode::InputPlusMaxTokens,
            burst: 1.0,
        });
        assert_eq!(p.wait(0, 600), 0);
        p.take(0, 600);
        // 600 per minute = 10 tokens per second: 100 tokens take 10 s.
        assert_eq!(p.wait(0, 100), 10_000_000);
        assert_eq!(p.wait(10_000_000, 100), 0);
        // Larger than capacity: leaves when the bucket is full (60 s after empty).
        p.take(10_000_000, 100);
        assert_eq!(p.wait(10_000_000, 5000), 60_000_000);
    }

    #[test]
    fn requests_bucket_and_burst() {
        let mut p = Pacer::new(&Pacing {
            tokens_per_minute: None,
            requests_per_minute: Some(60),
            count: ReserveMode::InputPlusMaxTokens,
            burst: 0.05, // capacity 3 requests
        });
        for _ in 0..3 {
            assert_eq!(p.wait(0, 0), 0);
            p.take(0, 0);
        }
        assert_eq!(p.wait(0, 0), 1_000_000, "one request per second");
    }
}

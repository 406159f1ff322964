//! The three limiter algorithms (docs/limiters.md), in integer arithmetic.
//!
//! Every limiter answers three questions: may `amount` be admitted now, charge it, and
//! settle a charge when the final cost is known. Settlement returns the change it actually
//! applied, which feeds the per-minute `quota_charged` timeline.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// Which algorithm enforces a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LimiterKind {
    /// Windows `[k·L, (k+1)·L)` from the start of the run (the Bedrock "minute bucket").
    #[default]
    FixedWindow,
    /// The sum of charges made in `(t − L, t]`.
    SlidingWindow,
    /// A bucket of capacity `limit`, full at t = 0, refilled continuously.
    TokenBucket,
}

impl LimiterKind {
    /// Valid spellings, for error messages.
    pub const NAMES: [&'static str; 3] = ["fixed-window", "sliding-window", "token-bucket"];
}

/// One limit enforced by one algorithm over a period of `period_us`.
#[derive(Debug, Clone)]
pub enum Limiter {
    /// See [`FixedWindow`].
    Fixed(FixedWindow),
    /// See [`SlidingWindow`].
    Sliding(SlidingWindow),
    /// See [`TokenBucket`].
    Bucket(TokenBucket),
}

impl Limiter {
    /// A limiter of `kind` allowing `limit` per `period_us`.
    pub fn new(kind: LimiterKind, limit: u64, period_us: u64) -> Self {
        match kind {
            LimiterKind::FixedWindow => Limiter::Fixed(FixedWindow::new(limit, period_us)),
            LimiterKind::SlidingWindow => Limiter::Sliding(SlidingWindow::new(limit, period_us)),
            LimiterKind::TokenBucket => Limiter::Bucket(TokenBucket::new(limit, period_us)),
        }
    }

    /// The configured limit (the capacity of a window or bucket).
    pub fn limit(&self) -> u64 {
        match self {
            Limiter::Fixed(l) => l.limit,
            Limiter::Sliding(l) => l.limit,
            Limiter::Bucket(l) => l.limit,
        }
    }

    /// What the limiter holds as of the last time it saw: a fixed window's count, a sliding
    /// window's sum, or what a bucket lacks of its capacity (its debt included). Reservations
    /// of attempts in flight are part of it: this is what the next admission is checked
    /// against.
    pub fn held(&self) -> u64 {
        match self {
            Limiter::Fixed(l) => l.used,
            Limiter::Sliding(l) => l.sum,
            Limiter::Bucket(l) => {
                let lack = (l.capacity - l.level).max(0);
                u64::try_from(lack.div_euclid(l.units_per_token)).unwrap_or(u64::MAX)
            }
        }
    }

    /// Whether `amount` fits at `now`. Advances the limiter's clock.
    // Always inlined: the admission check of every attempt (the retry-hint and mid-stream
    // callers would otherwise make the compiler call it out of line).
    #[inline(always)]
    pub fn admits(&mut self, now: u64, amount: u64) -> bool {
        match self {
            Limiter::Fixed(l) => l.admits(now, amount),
            Limiter::Sliding(l) => l.admits(now, amount),
            Limiter::Bucket(l) => l.admits(now, amount),
        }
    }

    /// Charges `amount` at `now` (call right after [`Limiter::admits`] returned true) and
    /// returns a ticket that identifies the charge at settlement.
    #[inline]
    pub fn charge(&mut self, now: u64, amount: u64) -> u64 {
        match self {
            Limiter::Fixed(l) => l.charge(now, amount),
            Limiter::Sliding(l) => l.charge(now, amount),
            Limiter::Bucket(l) => l.charge(now, amount),
        }
    }

    /// Adjusts a charge of `reserved` to the final `cost` at `now`; returns the signed change
    /// actually applied (a refund lost at a fixed window's roll-over applies 0).
    #[inline(always)]
    pub fn settle(&mut self, now: u64, ticket: u64, reserved: u64, cost: u64) -> i64 {
        if reserved == cost {
            return 0;
        }
        match self {
            Limiter::Fixed(l) => l.settle(now, ticket, reserved, cost),
            Limiter::Sliding(l) => l.settle(now, ticket, reserved, cost),
            Limiter::Bucket(l) => l.settle(now, reserved, cost),
        }
    }
}

impl Limiter {
    /// How long from `now` until `amount` would fit, assuming nothing else is charged
    /// meanwhile, µs (0 if it fits now; `None` if it never can). Call right after
    /// [`Limiter::admits`] looked at `now`.
    pub fn wait_us(&mut self, now: u64, amount: u64) -> Option<u64> {
        if amount > self.limit() {
            return None;
        }
        if self.admits(now, amount) {
            return Some(0);
        }
        match self {
            // The next window starts empty.
            Limiter::Fixed(l) => Some(l.end.saturating_sub(now)),
            // Charges leave the window, oldest first, `period` after they were made.
            Limiter::Sliding(l) => {
                let mut sum = l.sum;
                for &(t, a) in &l.charges {
                    sum = sum.saturating_sub(a);
                    if sum.saturating_add(amount) <= l.limit {
                        return Some(t.saturating_add(l.period_us).saturating_sub(now));
                    }
                }
                Some(l.period_us)
            }
            // The level rises by `limit` units a microsecond.
            Limiter::Bucket(l) => {
                let need = i128::from(amount) * l.units_per_token - l.level;
                let rate = i128::from(l.limit.max(1));
                let us = (need + rate - 1).div_euclid(rate);
                Some(u64::try_from(us.max(0)).unwrap_or(u64::MAX))
            }
        }
    }
}

fn signed(x: u64) -> i64 {
    i64::try_from(x).unwrap_or(i64::MAX)
}

/// Fixed windows `[k·L, (k+1)·L)`; only the current window's count is kept.
#[derive(Debug, Clone)]
pub struct FixedWindow {
    limit: u64,
    period_us: u64,
    window: u64,
    /// `[start, end)` of `window`, so most calls avoid a 64-bit division.
    start: u64,
    end: u64,
    used: u64,
}

impl FixedWindow {
    /// `limit` per window of `period_us`.
    pub fn new(limit: u64, period_us: u64) -> Self {
        FixedWindow {
            limit,
            period_us: period_us.max(1),
            window: 0,
            start: 0,
            end: period_us.max(1),
            used: 0,
        }
    }

    #[inline]
    fn roll(&mut self, now: u64) {
        if now >= self.start && now < self.end {
            return;
        }
        let k = now / self.period_us;
        if k != self.window {
            self.window = k;
            self.used = 0;
        }
        self.start = k.saturating_mul(self.period_us);
        self.end = self.start.saturating_add(self.period_us);
    }

    /// Count charged to the current window so far.
    pub fn used(&self) -> u64 {
        self.used
    }

    fn admits(&mut self, now: u64, amount: u64) -> bool {
        self.roll(now);
        self.used.saturating_add(amount) <= self.limit
    }

    fn charge(&mut self, now: u64, amount: u64) -> u64 {
        self.roll(now);
        self.used = self.used.saturating_add(amount);
        self.window
    }

    fn settle(&mut self, now: u64, window: u64, reserved: u64, cost: u64) -> i64 {
        self.roll(now);
        if cost < reserved {
            if window != self.window {
                return 0; // the charged window has closed: the refund is lost
            }
            let refund = reserved - cost;
            self.used = self.used.saturating_sub(refund);
            -signed(refund)
        } else {
            // An overshoot lands in the window current at completion.
            let extra = cost - reserved;
            self.used = self.used.saturating_add(extra);
            signed(extra)
        }
    }
}

/// A sliding window over `(t − L, t]`, holding every charge made in the last `L`.
#[derive(Debug, Clone)]
pub struct SlidingWindow {
    limit: u64,
    period_us: u64,
    /// (time, amount) of live charges, oldest first.
    charges: VecDeque<(u64, u64)>,
    /// Ticket of `charges[0]`.
    first_ticket: u64,
    sum: u64,
}

impl SlidingWindow {
    /// `limit` per sliding `period_us`.
    pub fn new(limit: u64, period_us: u64) -> Self {
        SlidingWindow {
            limit,
            period_us: period_us.max(1),
            charges: VecDeque::new(),
            first_ticket: 0,
            sum: 0,
        }
    }

    #[inline]
    fn expire(&mut self, now: u64) {
        while let Some(&(t, amount)) = self.charges.front() {
            if now.saturating_sub(t) < self.period_us {
                break;
            }
            self.sum -= amount;
            self.charges.pop_front();
            self.first_ticket += 1;
        }
    }

    /// Sum of the charges in the window ending at the last time seen.
    pub fn sum(&self) -> u64 {
        self.sum
    }

    fn admits(&mut self, now: u64, amount: u64) -> bool {
        self.expire(now);
        self.sum.saturating_add(amount) <= self.limit
    }

    fn charge(&mut self, now: u64, amount: u64) -> u64 {
        self.expire(now);
        self.charges.push_back((now, amount));
        self.sum = self.sum.saturating_add(amount);
        self.first_ticket + self.charges.len() as u64 - 1
    }

    fn settle(&mut self, now: u64, ticket: u64, reserved: u64, cost: u64) -> i64 {
        self.expire(now);
        if cost < reserved {
            let refund = reserved - cost;
            // A refund reduces the recorded charge in place; if the charge has already left
            // the window there is nothing left to reduce, but the refund was still made.
            if let Some(idx) = ticket.checked_sub(self.first_ticket)
                && let Some(entry) = self.charges.get_mut(idx as usize)
            {
                let cut = refund.min(entry.1);
                entry.1 -= cut;
                self.sum -= cut;
            }
            -signed(refund)
        } else {
            let extra = cost - reserved;
            self.charges.push_back((now, extra));
            self.sum = self.sum.saturating_add(extra);
            signed(extra)
        }
    }
}

/// A token bucket in units of 1/`period_us` of a token, so that a refill of `limit` per
/// period adds exactly `limit` units per microsecond. The level may go negative (a debt).
#[derive(Debug, Clone)]
pub struct TokenBucket {
    limit: u64,
    units_per_token: i128,
    capacity: i128,
    level: i128,
    last: u64,
}

impl TokenBucket {
    /// A bucket of capacity `limit`, full at t = 0, refilled at `limit` per `period_us`.
    pub fn new(limit: u64, period_us: u64) -> Self {
        let units_per_token = i128::from(period_us.max(1));
        let capacity = i128::from(limit) * units_per_token;
        TokenBucket {
            limit,
            units_per_token,
            capacity,
            level: capacity,
            last: 0,
        }
    }

    #[inline]
    fn refill(&mut self, now: u64) {
        if now > self.last {
            let gained = i128::from(now - self.last) * i128::from(self.limit);
            self.level = (self.level + gained).min(self.capacity);
            self.last = now;
        }
    }

    /// Current level in whole tokens (rounded down), as of the last time seen.
    pub fn level_tokens(&self) -> i128 {
        self.level.div_euclid(self.units_per_token)
    }

    /// Capacity in whole tokens.
    pub fn capacity_tokens(&self) -> u64 {
        self.limit
    }

    fn admits(&mut self, now: u64, amount: u64) -> bool {
        self.refill(now);
        self.level >= i128::from(amount) * self.units_per_token
    }

    fn charge(&mut self, now: u64, amount: u64) -> u64 {
        self.refill(now);
        self.level -= i128::from(amount) * self.units_per_token;
        0
    }

    fn settle(&mut self, now: u64, reserved: u64, cost: u64) -> i64 {
        self.refill(now);
        let delta = i128::from(reserved) - i128::from(cost);
        self.level = (self.level + delta * self.units_per_token).min(self.capacity);
        i64::try_from(-delta).unwrap_or(if delta > 0 { i64::MIN } else { i64::MAX })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000_000;

    #[test]
    fn fixed_window_admits_up_to_limit_and_resets() {
        let mut l = Limiter::new(LimiterKind::FixedWindow, 100, MIN);
        assert!(l.admits(0, 60));
        l.charge(0, 60);
        assert!(l.admits(1, 40));
        assert!(!l.admits(1, 41));
        assert!(l.admits(MIN, 100), "new window");
    }

    #[test]
    fn fixed_window_refund_lost_after_rollover() {
        let mut l = FixedWindow::new(100, MIN);
        let t = l.charge(10, 80);
        assert_eq!(
            l.settle(MIN - 1, t, 80, 30),
            -50,
            "same window: refund applies"
        );
        assert_eq!(l.used(), 30);
        let t2 = l.charge(MIN - 1, 50);
        assert_eq!(
            l.settle(MIN + 5, t2, 50, 10),
            0,
            "window closed: refund lost"
        );
        assert_eq!(l.used(), 0);
    }

    #[test]
    fn fixed_window_overshoot_goes_to_completion_window() {
        let mut l = FixedWindow::new(100, MIN);
        let t = l.charge(0, 90);
        assert_eq!(l.settle(MIN + 1, t, 90, 150), 60);
        assert_eq!(l.used(), 60);
    }

    #[test]
    fn sliding_window_expires_after_period() {
        let mut l = Limiter::new(LimiterKind::SlidingWindow, 100, MIN);
        l.charge(0, 100);
        assert!(!l.admits(MIN - 1, 1));
        assert!(
            l.admits(MIN, 100),
            "a charge at 0 is outside (MIN − 60 s, MIN]"
        );
    }

    #[test]
    fn sliding_window_refund_in_place_and_overshoot() {
        let mut l = SlidingWindow::new(100, MIN);
        let a = l.charge(0, 70);
        let _b = l.charge(10, 30);
        assert_eq!(l.settle(20, a, 70, 20), -50);
        assert_eq!(l.sum(), 50);
        // The refunded charge keeps its timestamp: it leaves the window at MIN.
        assert!(l.admits(MIN, 70));
        assert!(!l.admits(MIN, 71));
        assert_eq!(l.sum(), 30);
        let c = l.charge(MIN, 10);
        assert_eq!(l.settle(MIN + 5, c, 10, 25), 15);
        assert_eq!(l.sum(), 55);
    }

    #[test]
    fn token_bucket_refills_exactly() {
        let mut l = TokenBucket::new(60, MIN);
        assert!(l.admits(0, 60));
        l.charge(0, 60);
        assert!(!l.admits(999_999, 1), "one token takes exactly one second");
        assert!(l.admits(1_000_000, 1));
        assert!(!l.admits(1_000_000, 2));
    }

    #[test]
    fn token_bucket_debt_and_cap() {
        let mut l = TokenBucket::new(100, MIN);
        l.charge(0, 100);
        l.settle(0, 100, 130);
        assert_eq!(l.level_tokens(), -30);
        l.charge(0, 0);
        l.settle(MIN * 10, 50, 0);
        assert_eq!(l.level_tokens(), 100, "refund capped at capacity");
    }

    #[test]
    fn retry_waits_by_hand() {
        // Fixed window of 100 per minute, 90 used at 12.5 s: 30 fits at the next window,
        // 47.5 s later; 101 never fits; 10 fits now.
        let mut l = Limiter::new(LimiterKind::FixedWindow, 100, MIN);
        l.charge(0, 90);
        assert_eq!(l.wait_us(12_500_000, 30), Some(47_500_000));
        assert_eq!(l.wait_us(12_500_000, 10), Some(0));
        assert_eq!(l.wait_us(12_500_000, 101), None);
        // Sliding window: 50 at 0 s, 40 at 20 s; at 30 s, 30 needs the first charge gone
        // (at 60 s: 30 s from now), and so does 60 (40 + 60 = 100 fits); 61 needs both (at
        // 80 s: 50 s from now).
        let mut l = Limiter::new(LimiterKind::SlidingWindow, 100, MIN);
        l.charge(0, 50);
        l.charge(20_000_000, 40);
        assert_eq!(l.wait_us(30_000_000, 30), Some(30_000_000));
        assert_eq!(l.wait_us(30_000_000, 60), Some(30_000_000));
        assert_eq!(l.wait_us(30_000_000, 61), Some(50_000_000));
        // Bucket of 60 per minute (one token a second), emptied at 0: 5 tokens after 5 s,
        // 2.5 tokens' debt plus 1 more after 3.5 s.
        let mut l = Limiter::new(LimiterKind::TokenBucket, 60, MIN);
        l.charge(0, 60);
        assert_eq!(l.wait_us(0, 5), Some(5_000_000));
        let mut b = TokenBucket::new(60, MIN);
        b.charge(0, 60);
        b.settle(0, 0, 2);
        let mut l = Limiter::Bucket(b);
        assert_eq!(l.wait_us(0, 1), Some(3_000_000));
    }
}

//! botocore's adaptive client-side rate limiter (`retry_mode = "adaptive"`), transcribed from
//! the AWS SDK for Python: `botocore/retries/adaptive.py` (`ClientRateLimiter`,
//! `RateClocker`), `throttling.py` (`CubicCalculator`) and `bucket.py` (`TokenBucket`).
//!
//! * A request-count token bucket, off until the first throttle. Every attempt takes one
//!   token before it is sent once it is on; a sender that finds less than one token sleeps
//!   `(1 − capacity) / fill_rate` and looks again.
//! * Every response (success, throttle or 503) updates the measured send rate: responses are
//!   counted in 0.5 s buckets and the rate is smoothed with weight 0.8 on the newest bucket.
//! * A throttle sets `w_max` to the measured rate (once on, to `min(measured, fill rate)`),
//!   `K = ∛(w_max·(1 − β)/C)` and the rate to `β·w_max` (β = 0.7, C = 0.4).
//! * Any other response sets the rate to the CUBIC curve `C·(t − t_fail − K)³ + w_max`.
//! * The bucket's fill rate is then `min(new rate, 2 × measured rate)`, never below 0.5/s;
//!   its capacity is that rate (at least 1 token).
//!
//! Times are seconds as `f64` (botocore uses `time.time()`); the engine converts its integer
//! µs clock, so a run stays a pure function of the scenario.

/// CUBIC scale constant C.
pub const CUBIC_C: f64 = 0.4;
/// CUBIC multiplicative decrease β.
pub const CUBIC_BETA: f64 = 0.7;
/// Smoothing of the measured rate (weight of the newest bucket).
pub const SMOOTHING: f64 = 0.8;
/// Width of a measuring bucket, seconds.
pub const TIME_BUCKET_RANGE: f64 = 0.5;
/// Lowest fill rate, requests per second.
pub const MIN_RATE: f64 = 0.5;
/// The fill rate is capped at this multiple of the measured rate.
pub const MAX_RATE_ADJUST_SCALE: f64 = 2.0;

/// The state of one client's adaptive limiter.
#[derive(Debug, Clone)]
pub struct AdaptiveLimiter {
    enabled: bool,
    // RateClocker
    measured_rate: f64,
    last_bucket: f64,
    count: f64,
    // CubicCalculator
    w_max: f64,
    k: f64,
    last_fail: f64,
    // TokenBucket
    fill_rate: f64,
    max_capacity: f64,
    capacity: f64,
    last_timestamp: f64,
}

impl Default for AdaptiveLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl AdaptiveLimiter {
    /// A limiter created at t = 0: `CubicCalculator(starting_max_rate=0, start_time=0)` and
    /// `TokenBucket(max_rate=1)`, which leaves the bucket empty with fill rate 1.
    pub fn new() -> Self {
        let mut l = AdaptiveLimiter {
            enabled: false,
            measured_rate: 0.0,
            last_bucket: 0.0,
            count: 0.0,
            w_max: 0.0,
            k: 0.0,
            last_fail: 0.0,
            fill_rate: 0.0,
            max_capacity: 0.0,
            capacity: 0.0,
            last_timestamp: 0.0,
        };
        l.k = l.zero_point();
        l.set_max_rate(0.0, 1.0);
        l
    }

    /// Whether the limiter is on (a throttle has been seen).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The bucket's fill rate, requests per second (botocore's `TokenBucket.max_rate`).
    pub fn fill_rate(&self) -> f64 {
        self.fill_rate
    }

    /// The smoothed measured response rate, per second.
    pub fn measured_rate(&self) -> f64 {
        self.measured_rate
    }

    /// Tokens in the bucket as of the last refill.
    pub fn capacity(&self) -> f64 {
        self.capacity
    }

    /// CUBIC's `(w_max, K, t_fail)`.
    pub fn cubic_params(&self) -> (f64, f64, f64) {
        (self.w_max, self.k, self.last_fail)
    }

    fn zero_point(&self) -> f64 {
        (self.w_max * (1.0 - CUBIC_BETA) / CUBIC_C).cbrt()
    }

    fn refill(&mut self, t: f64) {
        let fill = (t - self.last_timestamp) * self.fill_rate;
        self.capacity = self.max_capacity.min(self.capacity + fill);
        self.last_timestamp = t;
    }

    /// botocore's `max_rate` setter.
    fn set_max_rate(&mut self, t: f64, value: f64) {
        self.refill(t);
        self.fill_rate = value.max(MIN_RATE);
        self.max_capacity = if value >= 1.0 { value } else { 1.0 };
        self.capacity = self.capacity.min(self.max_capacity);
    }

    /// `RateClocker.record()`: counts a response at `t`, returns the measured rate.
    fn record(&mut self, t: f64) -> f64 {
        let scale = 1.0 / TIME_BUCKET_RANGE;
        let bucket = (t * scale).floor() / scale;
        self.count += 1.0;
        if bucket > self.last_bucket {
            let current = self.count / (bucket - self.last_bucket);
            self.measured_rate = current * SMOOTHING + self.measured_rate * (1.0 - SMOOTHING);
            self.count = 0.0;
            self.last_bucket = bucket;
        }
        self.measured_rate
    }

    /// `ClientRateLimiter.on_receiving_response` at `t` seconds. The caller must then wake one
    /// waiting sender (botocore's setter calls `Condition.notify()`).
    pub fn on_response(&mut self, t: f64, throttled: bool) {
        let measured = self.record(t);
        let new_rate = if throttled {
            let rate_to_use = if self.enabled {
                measured.min(self.fill_rate)
            } else {
                measured
            };
            self.w_max = rate_to_use;
            self.k = self.zero_point();
            self.last_fail = t;
            self.enabled = true;
            rate_to_use * CUBIC_BETA
        } else {
            let dt = t - self.last_fail;
            CUBIC_C * (dt - self.k).powi(3) + self.w_max
        };
        self.set_max_rate(t, new_rate.min(MAX_RATE_ADJUST_SCALE * measured));
    }

    /// `TokenBucket.acquire()` at `t` seconds, when the limiter is on: `Ok` if a token was
    /// taken, else the time to sleep before looking again, seconds. Always `Ok` when off.
    pub fn try_acquire(&mut self, t: f64) -> Result<(), f64> {
        if !self.enabled {
            return Ok(());
        }
        self.refill(t);
        if 1.0 <= self.capacity {
            self.capacity -= 1.0;
            Ok(())
        } else {
            Err((1.0 - self.capacity) / self.fill_rate)
        }
    }

    /// Like [`AdaptiveLimiter::try_acquire`] for a sender already waiting inside `acquire`
    /// (botocore does not re-check `enabled` there, and the limiter never turns off).
    pub fn retry_acquire(&mut self, t: f64) -> Result<(), f64> {
        self.refill(t);
        if 1.0 <= self.capacity {
            self.capacity -= 1.0;
            Ok(())
        } else {
            Err((1.0 - self.capacity) / self.fill_rate)
        }
    }
}

/// Seconds to whole µs, rounded up (so that a sender woken after the computed sleep finds
/// its token) and at least 1 µs.
pub fn sleep_us(seconds: f64) -> u64 {
    let us = (seconds * 1e6).ceil();
    if us >= 1.0 && us < u64::MAX as f64 {
        us as u64
    } else if us >= 1.0 {
        u64::MAX
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds successful responses every 0.1 s in `(from, to]`.
    fn steady(l: &mut AdaptiveLimiter, from: u32, to: u32) {
        for i in (from + 1)..=to {
            l.on_response(f64::from(i) / 10.0, false);
        }
    }

    #[test]
    fn off_until_first_throttle() {
        let mut l = AdaptiveLimiter::new();
        steady(&mut l, 0, 50);
        assert!(!l.enabled());
        for _ in 0..1000 {
            assert!(l.try_acquire(5.0).is_ok(), "no limit before a throttle");
        }
        l.on_response(5.05, true);
        assert!(l.enabled());
    }

    #[test]
    fn measured_rate_smooths_half_second_buckets() {
        // Responses every 0.1 s: 5 per 0.5 s bucket = 10/s. The response at 0.5 closes the
        // first bucket with 5 counted: 0.8 × 10 + 0.2 × 0 = 8; then 9.6, 9.92, 9.984.
        let mut l = AdaptiveLimiter::new();
        steady(&mut l, 0, 5);
        assert!((l.measured_rate() - 8.0).abs() < 1e-9);
        steady(&mut l, 5, 20);
        assert!(
            (l.measured_rate() - 9.984).abs() < 1e-9,
            "{}",
            l.measured_rate()
        );
    }

    #[test]
    fn rate_after_throttle_follows_cubic() {
        let mut l = AdaptiveLimiter::new();
        steady(&mut l, 0, 19);
        // The throttle at t = 2.0 closes the bucket [1.5, 2.0): measured = 9.984.
        l.on_response(2.0, true);
        let w_max = 9.984;
        let k = (w_max * 0.3 / 0.4_f64).cbrt(); // ∛7.488 ≈ 1.95638
        assert!((k - 1.956_38).abs() < 1e-5);
        assert!((l.fill_rate() - 0.7 * w_max).abs() < 1e-9, "β × w_max");
        let (w, kk, tf) = l.cubic_params();
        assert!((w - w_max).abs() < 1e-12 && (kk - k).abs() < 1e-12 && tf == 2.0);
        // Keep the measured rate near 10/s (so the 2 × measured cap of ~20/s never binds)
        // and check the rate at chosen instants t_fail + dt.
        let mut last = 20;
        for dt_tenths in [5u32, 10, 20, 30, 40] {
            let t = 20 + dt_tenths;
            steady(&mut l, last, t);
            last = t;
            let dt = f64::from(dt_tenths) / 10.0;
            let cubic = 0.4 * (dt - k).powi(3) + w_max;
            let expect = cubic.min(2.0 * l.measured_rate()).max(MIN_RATE);
            assert!(
                (l.fill_rate() - expect).abs() < 1e-9,
                "dt {dt}: {} vs {expect}",
                l.fill_rate()
            );
            assert!(
                (expect - cubic).abs() < 1e-12,
                "the cap must not bind at dt {dt}"
            );
        }
        // Hand values: dt = 0.5 → 0.4·(−1.45638)³ + 9.984 ≈ 8.7484; dt = K → w_max;
        // dt = 4 → 0.4·2.04362³ + 9.984 ≈ 13.398.
        let at = |dt: f64| 0.4 * (dt - k).powi(3) + w_max;
        assert!((at(0.5) - 8.7484).abs() < 1e-3);
        assert!((at(4.0) - 13.398).abs() < 1e-3);
    }

    #[test]
    fn second_throttle_uses_min_of_measured_and_fill_rate() {
        let mut l = AdaptiveLimiter::new();
        steady(&mut l, 0, 19);
        l.on_response(2.0, true); // fill rate 6.9888
        l.on_response(2.05, true); // measured still 9.984 (same bucket)
        let (w, _, _) = l.cubic_params();
        assert!((w - 6.9888).abs() < 1e-9, "w_max = min(9.984, 6.9888)");
        assert!((l.fill_rate() - 6.9888 * 0.7).abs() < 1e-9);
    }

    #[test]
    fn bucket_waits_at_fill_rate_and_floors_at_half_a_request() {
        let mut l = AdaptiveLimiter::new();
        // A throttle as the very first response: measured 0 → rate 0 → fill rate 0.5/s.
        l.on_response(0.1, true);
        assert!((l.fill_rate() - 0.5).abs() < 1e-12);
        // Bucket empty (capacity 0 at creation, refilled 0.1 s × 1/s then capped at 1).
        let first = l.try_acquire(0.1);
        let Err(wait) = first else {
            // 0.1 token from t 0..0.1 at fill rate 1: not enough.
            panic!("expected a wait")
        };
        assert!((wait - (1.0 - 0.1) / 0.5).abs() < 1e-9, "{wait}");
        assert!(l.retry_acquire(0.1 + wait).is_ok());
        assert_eq!(sleep_us(1.8), 1_800_000);
        assert_eq!(sleep_us(1e-9), 1);
    }
}

//! Retry policies, matching the AWS SDK for Python (botocore 1.44.8,
//! `botocore/retries/standard.py` and `quota.py`).
//!
//! botocore's default retry mode is `standard`. Its `retries={'max_attempts': N}` counts
//! retries; `client.max_attempts` here counts every attempt (botocore's `total_max_attempts`).

use rand::{Rng, RngExt};
use serde::Serialize;

/// Jitter applied to an exponential backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Jitter {
    /// `U(0, backoff)`.
    Full,
    /// `backoff/2 + U(0, backoff/2)`.
    Equal,
    /// `min(cap, U(base, 3 × previous sleep))`.
    Decorrelated,
    /// Exactly `backoff`.
    None,
}

/// How a client reacts to a throttle or a 503.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum RetryPolicy {
    /// A throttle or 503 fails the request.
    None,
    /// botocore's legacy mode: up to 5 attempts, sleep `U(0,1) × 2^(n−1)` s.
    AwsLegacy,
    /// botocore's default (`standard`): up to 3 attempts, sleep `U(0,1) × min(b·2^(n−1), 20)` s
    /// with b = 1 s after a throttle and 50 ms after any other error, and a shared retry quota.
    AwsStandard,
    /// aws-standard plus botocore's client-side rate limiter (see [`crate::client::adaptive`]).
    AwsAdaptive,
    /// A custom exponential backoff: `min(cap, base × 2^(n−1))` with jitter.
    Exponential {
        /// First backoff, µs.
        base_us: u64,
        /// Largest backoff, µs.
        cap_us: u64,
        /// The jitter.
        jitter: Jitter,
    },
    /// A fixed sleep between attempts (the OpenAI cookbook's parallel processor waits 15 s
    /// after a 429).
    Fixed {
        /// The sleep, µs.
        delay_us: u64,
    },
    /// anthropic-sdk-python's loop (see [`crate::client::sdk_retry`]): 3 attempts,
    /// `min(0.5 × 2^(n−1), 8) × (1 − 0.25 U)` s, or the server's `retry-after`.
    AnthropicSdk,
    /// openai-python's loop: as `anthropic-sdk`, but a `retry-after` above 120 s is not
    /// retried at all.
    OpenaiSdk,
    /// LiteLLM's `num_retries`: immediate retries (1 attempt unless `client.max_attempts`).
    Litellm,
    /// strands-agents: up to 6 model calls 4, 8, 16, 32, 64 s apart after throttles, each a
    /// botocore `standard` call of its own.
    Strands,
}

/// The names `client.retry` accepts as a string.
pub const RETRY_NAMES: [&str; 8] = [
    "none",
    "aws-legacy",
    "aws-standard",
    "aws-adaptive",
    "anthropic-sdk",
    "openai-sdk",
    "litellm",
    "strands",
];

impl RetryPolicy {
    /// Attempts allowed when `client.max_attempts` is not set.
    pub fn default_max_attempts(&self) -> u32 {
        match self {
            RetryPolicy::None => 1,
            RetryPolicy::AwsLegacy => 5,
            RetryPolicy::AwsStandard
            | RetryPolicy::AwsAdaptive
            | RetryPolicy::Exponential { .. }
            | RetryPolicy::Strands => 3,
            RetryPolicy::AnthropicSdk | RetryPolicy::OpenaiSdk => {
                crate::client::sdk_retry::STAINLESS_DEFAULT_ATTEMPTS
            }
            RetryPolicy::Fixed { .. } => 5,
            RetryPolicy::Litellm => 1,
        }
    }

    /// Whether the policy reads botocore's `x-amz-retry-after` when its 2026 retry
    /// behaviour is on (`client.new_retries_2026`).
    pub fn is_botocore_standard(&self) -> bool {
        matches!(
            self,
            RetryPolicy::AwsStandard | RetryPolicy::AwsAdaptive | RetryPolicy::Strands
        )
    }

    /// Whether the client retries a stream that a `throttlingException` event ended, unless
    /// `client.retry_mid_stream` says otherwise: only strands-agents does.
    pub fn retries_mid_stream(&self) -> bool {
        matches!(self, RetryPolicy::Strands)
    }

    /// Whether the client runs botocore's adaptive rate limiter.
    pub fn is_adaptive(&self) -> bool {
        matches!(self, RetryPolicy::AwsAdaptive)
    }

    /// Whether the client keeps botocore's shared retry quota.
    pub fn has_retry_quota(&self) -> bool {
        matches!(
            self,
            RetryPolicy::AwsStandard | RetryPolicy::AwsAdaptive | RetryPolicy::Strands
        )
    }
}

/// botocore's retry quota (`RetryQuota.INITIAL_CAPACITY`).
pub const RETRY_QUOTA_CAPACITY: u32 = 500;
/// Quota taken by a retry after a throttle (`RetryQuotaChecker._THROTTLING_RETRY_COST`).
pub const THROTTLING_RETRY_COST: u32 = 5;
/// Quota taken by a retry after any other retryable error, a 503
/// (`RetryQuotaChecker._RETRY_COST`).
pub const RETRY_COST: u32 = 14;
/// Quota given back by a success without retries.
pub const NO_RETRY_INCREMENT: u32 = 1;
/// Backoff base after a throttle, µs (`throttling_base_scale`, 1 s).
pub const THROTTLING_BASE_US: u64 = 1_000_000;
/// Backoff base after any other retryable error, µs (`non_throttling_base_scale`, 50 ms).
pub const NON_THROTTLING_BASE_US: u64 = 50_000;
/// Largest aws-standard backoff, µs (`ExponentialBackoff._MAX_BACKOFF`).
pub const MAX_BACKOFF_US: u64 = 20_000_000;

/// Why an attempt failed, as far as a retry policy cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// A 429 `ThrottlingException`.
    Throttle,
    /// Any other retryable error (a 503 `ServiceUnavailableException`).
    Transient,
    /// A stream ended by a `throttlingException` event after HTTP 200: no SDK's HTTP retry
    /// loop sees it.
    MidStream,
}

/// What the client does after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Sleep before the next attempt, µs.
    pub sleep_us: u64,
    /// aws-standard retry quota taken.
    pub cost: u32,
    /// The next attempt starts a new SDK call (strands-agents' model-level retry): the
    /// attempt count of the call starts again.
    pub new_call: bool,
}

/// Retry state shared by a whole client (the aws-standard retry quota).
#[derive(Debug, Clone)]
pub struct RetryState {
    policy: RetryPolicy,
    max_attempts: u32,
    quota: u32,
    /// botocore honours `x-amz-retry-after` (`client.new_retries_2026`).
    hints: bool,
}

impl RetryState {
    /// A fresh client.
    pub fn new(policy: RetryPolicy, max_attempts: u32) -> Self {
        RetryState {
            policy,
            max_attempts,
            quota: RETRY_QUOTA_CAPACITY,
            hints: true,
        }
    }

    /// Whether the botocore policies honour `x-amz-retry-after` (botocore 1.44.8 always
    /// does; `client.new_retries_2026 = false` models the releases before it).
    pub fn with_botocore_hints(mut self, on: bool) -> Self {
        self.hints = on;
        self
    }

    /// The remaining aws-standard retry quota.
    pub fn quota(&self) -> u32 {
        self.quota
    }

    /// After a failed attempt number `attempts` (1-based) that failed with `failure`, decides
    /// whether to retry. Returns the sleep in µs and the retry-quota cost taken, or `None` to
    /// give up. `prev_sleep_us` is the previous sleep (for decorrelated jitter).
    ///
    /// botocore checks the attempt cap before it touches the retry quota, and draws the
    /// jitter only once the quota is taken; so does this.
    #[inline]
    pub fn on_failure<R: Rng + ?Sized>(
        &mut self,
        attempts: u32,
        prev_sleep_us: u64,
        failure: Failure,
        rng: &mut R,
    ) -> Option<(u64, u32)> {
        self.on_failure_hinted(attempts, prev_sleep_us, failure, None, rng)
    }

    /// [`RetryState::on_failure`] for a throttle that carried a retry hint of `hint_s`
    /// whole seconds (`quota.retry_after`), read by the policies that read one.
    #[inline]
    pub fn on_failure_hinted<R: Rng + ?Sized>(
        &mut self,
        attempts: u32,
        prev_sleep_us: u64,
        failure: Failure,
        hint_s: Option<u64>,
        rng: &mut R,
    ) -> Option<(u64, u32)> {
        if attempts >= self.max_attempts {
            return None;
        }
        let failure = if failure == Failure::MidStream {
            Failure::Throttle
        } else {
            failure
        };
        let exp = attempts.saturating_sub(1).min(62);
        match self.policy {
            RetryPolicy::None => None,
            RetryPolicy::AwsLegacy => {
                let u: f64 = rng.random();
                Some((seconds_us(u * (1u64 << exp) as f64), 0))
            }
            RetryPolicy::AwsStandard | RetryPolicy::AwsAdaptive | RetryPolicy::Strands => {
                let cost = match failure {
                    Failure::Throttle | Failure::MidStream => THROTTLING_RETRY_COST,
                    Failure::Transient => RETRY_COST,
                };
                if self.quota < cost {
                    return None;
                }
                self.quota -= cost;
                let u: f64 = rng.random();
                let sleep = match failure {
                    // botocore 1.44.8 `ExponentialBackoff.delay_amount`: the hint raises the
                    // delay, by at most 5 s.
                    _ if self.hints && hint_s.is_some() => {
                        let base = if failure == Failure::Throttle {
                            THROTTLING_BASE_US as f64 / 1e6
                        } else {
                            NON_THROTTLING_BASE_US as f64 / 1e6
                        };
                        let t_i = u * (base * (1u64 << exp) as f64).min(20.0);
                        let h = hint_s.unwrap_or(0) as f64;
                        seconds_us(crate::client::sdk_retry::botocore_with_hint_s(t_i, h))
                    }
                    // Seconds first, as botocore computes it (and as earlier releases of
                    // quotasim did, so throttle-only runs keep their exact draws).
                    Failure::Throttle | Failure::MidStream => {
                        let base = (THROTTLING_BASE_US / 1_000_000) as f64;
                        seconds_us(u * (base * (1u64 << exp) as f64).min(20.0))
                    }
                    Failure::Transient => {
                        let backoff = NON_THROTTLING_BASE_US
                            .saturating_mul(1u64 << exp)
                            .min(MAX_BACKOFF_US);
                        crate::num::round_u64(u * backoff as f64)
                    }
                };
                Some((sleep, cost))
            }
            RetryPolicy::Exponential {
                base_us,
                cap_us,
                jitter,
            } => {
                let backoff = base_us.saturating_mul(1u64 << exp).min(cap_us) as f64;
                let u: f64 = rng.random();
                let sleep = match jitter {
                    Jitter::None => backoff,
                    Jitter::Full => u * backoff,
                    Jitter::Equal => backoff / 2.0 + u * backoff / 2.0,
                    Jitter::Decorrelated => {
                        let prev = if prev_sleep_us == 0 {
                            base_us
                        } else {
                            prev_sleep_us
                        } as f64;
                        let lo = base_us as f64;
                        let hi = (prev * 3.0).max(lo);
                        (lo + u * (hi - lo)).min(cap_us as f64)
                    }
                };
                Some((crate::num::round_u64(sleep), 0))
            }
            RetryPolicy::Fixed { delay_us } => Some((delay_us, 0)),
            RetryPolicy::AnthropicSdk | RetryPolicy::OpenaiSdk => {
                use crate::client::sdk_retry::{Stainless, stainless_draws, stainless_sleep_s};
                let sdk = if matches!(self.policy, RetryPolicy::AnthropicSdk) {
                    Stainless::Anthropic
                } else {
                    Stainless::OpenAi
                };
                let hint = hint_s.map(|h| h as f64);
                let u: f64 = if stainless_draws(sdk, hint) {
                    rng.random()
                } else {
                    0.0
                };
                stainless_sleep_s(sdk, attempts, hint, u).map(|s| (seconds_us(s), 0))
            }
            RetryPolicy::Litellm => Some((0, 0)),
        }
    }

    /// The whole decision after failed attempt `attempts` of SDK call number `call` (both
    /// 1-based): [`RetryState::on_failure_hinted`], and for strands-agents its model-level
    /// retry once botocore gives up on a throttle (or at once after a mid-stream throttle,
    /// which botocore never sees).
    #[inline]
    pub fn decide<R: Rng + ?Sized>(
        &mut self,
        attempts: u32,
        call: u32,
        prev_sleep_us: u64,
        failure: Failure,
        hint_s: Option<u64>,
        rng: &mut R,
    ) -> Option<Decision> {
        let strands = matches!(self.policy, RetryPolicy::Strands);
        let inner = if strands && failure == Failure::MidStream {
            None
        } else {
            self.on_failure_hinted(attempts, prev_sleep_us, failure, hint_s, rng)
        };
        if let Some((sleep_us, cost)) = inner {
            return Some(Decision {
                sleep_us,
                cost,
                new_call: false,
            });
        }
        // strands-agents retries only `ModelThrottledException`: a 503 that botocore gave
        // up on ends the request.
        if strands
            && failure != Failure::Transient
            && call < crate::client::sdk_retry::STRANDS_MODEL_CALLS
        {
            return Some(Decision {
                sleep_us: crate::client::sdk_retry::strands_sleep_s(call).saturating_mul(1_000_000),
                cost: 0,
                new_call: true,
            });
        }
        None
    }

    /// Records a success; `last_retry_cost` is what its last retry took (0 if none).
    #[inline]
    pub fn on_success(&mut self, retried: bool, last_retry_cost: u32) {
        if self.policy.has_retry_quota() {
            let back = if retried {
                last_retry_cost
            } else {
                NO_RETRY_INCREMENT
            };
            self.quota = (self.quota + back).min(RETRY_QUOTA_CAPACITY);
        }
    }
}

#[inline]
fn seconds_us(s: f64) -> u64 {
    crate::num::round_u64(s * 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn mean_sleep(policy: RetryPolicy, attempt: u32) -> f64 {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let n = 100_000;
        let mut total = 0.0;
        for _ in 0..n {
            let mut s = RetryState::new(policy.clone(), 10);
            total += s
                .on_failure(attempt, 0, Failure::Throttle, &mut rng)
                .map_or(0, |x| x.0) as f64;
        }
        total / n as f64 / 1e6
    }

    #[test]
    fn legacy_sleeps_u_times_power_of_two() {
        for (n, expect) in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0)] {
            let m = mean_sleep(RetryPolicy::AwsLegacy, n);
            assert!((m - expect).abs() / expect < 0.02, "attempt {n}: {m}");
        }
    }

    #[test]
    fn standard_caps_backoff_at_20s() {
        let m = mean_sleep(RetryPolicy::AwsStandard, 6);
        assert!((m - 10.0).abs() / 10.0 < 0.02, "{m}");
        let m = mean_sleep(RetryPolicy::AwsStandard, 2);
        assert!((m - 1.0).abs() < 0.02, "{m}");
    }

    #[test]
    fn attempt_caps() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut s = RetryState::new(RetryPolicy::AwsStandard, 3);
        assert!(s.on_failure(1, 0, Failure::Throttle, &mut rng).is_some());
        assert!(s.on_failure(2, 0, Failure::Throttle, &mut rng).is_some());
        assert!(s.on_failure(3, 0, Failure::Throttle, &mut rng).is_none());
        let mut s = RetryState::new(RetryPolicy::None, 1);
        assert!(s.on_failure(1, 0, Failure::Throttle, &mut rng).is_none());
    }

    #[test]
    fn standard_retry_quota_drains_and_refills() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut s = RetryState::new(RetryPolicy::AwsStandard, 3);
        for _ in 0..100 {
            assert!(s.on_failure(1, 0, Failure::Throttle, &mut rng).is_some());
        }
        assert_eq!(s.quota(), 0);
        assert!(
            s.on_failure(1, 0, Failure::Throttle, &mut rng).is_none(),
            "no capacity left: fail without retrying"
        );
        s.on_success(true, THROTTLING_RETRY_COST);
        assert_eq!(s.quota(), 5);
        s.on_success(false, 0);
        assert_eq!(s.quota(), 6);
        for _ in 0..1000 {
            s.on_success(false, 0);
        }
        assert_eq!(s.quota(), 500, "never above 500");
    }

    #[test]
    fn exponential_jitters() {
        let p = |jitter| RetryPolicy::Exponential {
            base_us: 1_000_000,
            cap_us: 20_000_000,
            jitter,
        };
        assert!((mean_sleep(p(Jitter::None), 3) - 4.0).abs() < 1e-9);
        assert!((mean_sleep(p(Jitter::Full), 3) - 2.0).abs() / 2.0 < 0.02);
        assert!((mean_sleep(p(Jitter::Equal), 3) - 3.0).abs() / 3.0 < 0.02);
        assert!(
            (mean_sleep(p(Jitter::None), 9) - 20.0).abs() < 1e-9,
            "capped"
        );
    }

    /// Mean and standard deviation (seconds) of the sleep before attempt `attempt + 1`.
    fn sleep_stats(policy: RetryPolicy, attempt: u32) -> (f64, f64) {
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let n = 100_000;
        let (mut sum, mut sq) = (0.0, 0.0);
        for _ in 0..n {
            let mut s = RetryState::new(policy.clone(), 10);
            let x = s
                .on_failure(attempt, 0, Failure::Throttle, &mut rng)
                .map_or(0, |x| x.0) as f64
                / 1e6;
            sum += x;
            sq += x * x;
        }
        let mean = sum / n as f64;
        (mean, (sq / n as f64 - mean * mean).sqrt())
    }

    #[test]
    fn full_and_equal_jitter_spread_matches_the_article() {
        // Full: U(0, B): mean B/2, sd B/√12. Equal: B/2 + U(0, B/2): mean 3B/4, sd B/√48.
        let p = |jitter| RetryPolicy::Exponential {
            base_us: 500_000,
            cap_us: 30_000_000,
            jitter,
        };
        for n in 1..=4u32 {
            let b = 0.5 * f64::from(1u32 << (n - 1));
            let (m, sd) = sleep_stats(p(Jitter::Full), n);
            assert!((m - b / 2.0).abs() / (b / 2.0) < 0.02, "full n={n}: {m}");
            assert!((sd - b / 12f64.sqrt()).abs() / (b / 12f64.sqrt()) < 0.02);
            let (m, sd) = sleep_stats(p(Jitter::Equal), n);
            assert!((m - 0.75 * b).abs() / (0.75 * b) < 0.02, "equal n={n}: {m}");
            assert!((sd - b / 48f64.sqrt()).abs() / (b / 48f64.sqrt()) < 0.02);
        }
    }

    #[test]
    fn decorrelated_jitter_follows_previous_sleep() {
        // sleep = min(cap, U(base, 3 × previous)), previous = base at first:
        // first mean (1 + 3)/2 = 2 s; second mean (1 + 3 × 2)/2 = 3.5 s (cap 20 s never binds).
        let p = RetryPolicy::Exponential {
            base_us: 1_000_000,
            cap_us: 20_000_000,
            jitter: Jitter::Decorrelated,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let n = 100_000;
        let (mut first, mut second) = (0.0, 0.0);
        for _ in 0..n {
            let mut s = RetryState::new(p.clone(), 10);
            let a = s
                .on_failure(1, 0, Failure::Throttle, &mut rng)
                .map_or(0, |x| x.0);
            let b = s
                .on_failure(2, a, Failure::Throttle, &mut rng)
                .map_or(0, |x| x.0);
            assert!((1_000_000..=3_000_000).contains(&a));
            assert!(b >= 1_000_000 && b <= 3 * a);
            first += a as f64 / 1e6;
            second += b as f64 / 1e6;
        }
        assert!((first / n as f64 - 2.0).abs() / 2.0 < 0.02);
        assert!((second / n as f64 - 3.5).abs() / 3.5 < 0.02);
    }

    #[test]
    fn fixed_sleeps_exactly_delay() {
        let p = RetryPolicy::Fixed {
            delay_us: 15_000_000,
        };
        let (m, sd) = sleep_stats(p.clone(), 3);
        assert_eq!((m, sd), (15.0, 0.0));
        assert_eq!(p.default_max_attempts(), 5);
    }

    #[test]
    fn adaptive_retries_like_standard() {
        for n in [1u32, 2, 3, 6] {
            let (a, _) = sleep_stats(RetryPolicy::AwsAdaptive, n);
            let (s, _) = sleep_stats(RetryPolicy::AwsStandard, n);
            assert_eq!(a, s, "same draws, same formula");
            let expect = f64::from(1u32 << (n - 1)).min(20.0) / 2.0;
            assert!((a - expect).abs() / expect < 0.02, "n={n}: {a}");
        }
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut s = RetryState::new(RetryPolicy::AwsAdaptive, 3);
        for _ in 0..100 {
            assert!(s.on_failure(1, 0, Failure::Throttle, &mut rng).is_some());
        }
        assert!(
            s.on_failure(1, 0, Failure::Throttle, &mut rng).is_none(),
            "shares the retry quota"
        );
    }

    #[test]
    fn every_mode_stops_at_its_attempt_cap() {
        let modes = [
            RetryPolicy::None,
            RetryPolicy::AwsLegacy,
            RetryPolicy::AwsStandard,
            RetryPolicy::AwsAdaptive,
            RetryPolicy::Exponential {
                base_us: 1,
                cap_us: 10,
                jitter: Jitter::Full,
            },
            RetryPolicy::Fixed { delay_us: 5 },
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for p in modes {
            let cap = p.default_max_attempts();
            let mut s = RetryState::new(p.clone(), cap);
            let retries = (1..=cap + 2)
                .take_while(|&n| s.on_failure(n, 0, Failure::Throttle, &mut rng).is_some())
                .count() as u32;
            let expect = if p == RetryPolicy::None { 0 } else { cap - 1 };
            assert_eq!(retries, expect, "{p:?}");
        }
    }

    fn transient_sleep_stats(attempt: u32) -> (f64, u32) {
        let mut rng = ChaCha8Rng::seed_from_u64(23);
        let n = 100_000;
        let (mut sum, mut cost) = (0.0, 0);
        for _ in 0..n {
            let mut s = RetryState::new(RetryPolicy::AwsStandard, 20);
            let (sleep, c) = s
                .on_failure(attempt, 0, Failure::Transient, &mut rng)
                .unwrap_or((0, 0));
            sum += sleep as f64 / 1e6;
            cost = c;
        }
        (sum / n as f64, cost)
    }

    #[test]
    fn standard_backs_off_from_50ms_after_a_503() {
        // botocore 1.44.8: U(0,1) × min(0.05 × 2^(n−1), 20) s: means 25, 50, 100 ms; the
        // 20 s cap binds from n = 10 (0.05 × 512 = 25.6 s): mean 10 s.
        for (n, expect) in [(1u32, 0.025), (2, 0.05), (3, 0.1), (10, 10.0)] {
            let (m, cost) = transient_sleep_stats(n);
            assert!((m - expect).abs() / expect < 0.02, "n={n}: {m}");
            assert_eq!(cost, RETRY_COST);
        }
    }

    #[test]
    fn a_retry_after_a_503_costs_14_and_after_a_throttle_5() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut s = RetryState::new(RetryPolicy::AwsStandard, 3);
        assert_eq!(
            s.on_failure(1, 0, Failure::Transient, &mut rng)
                .map(|x| x.1),
            Some(14)
        );
        assert_eq!(s.quota(), 486);
        assert_eq!(
            s.on_failure(1, 0, Failure::Throttle, &mut rng).map(|x| x.1),
            Some(5)
        );
        assert_eq!(s.quota(), 481);
        // A success after retries gives back what its last retry took.
        s.on_success(true, 14);
        assert_eq!(s.quota(), 495);
        // 500 / 14 = 35 retries after 503s, then 10 units left: a 503 gives up, a throttle
        // still retries (botocore compares the cost with what is left).
        let mut s = RetryState::new(RetryPolicy::AwsAdaptive, 3);
        for _ in 0..35 {
            assert!(s.on_failure(1, 0, Failure::Transient, &mut rng).is_some());
        }
        assert_eq!(s.quota(), 10);
        assert!(s.on_failure(1, 0, Failure::Transient, &mut rng).is_none());
        assert_eq!(s.quota(), 10, "a refused retry takes nothing");
        assert!(s.on_failure(1, 0, Failure::Throttle, &mut rng).is_some());
        assert_eq!(s.quota(), 5);
    }

    #[test]
    fn other_modes_ignore_the_kind_of_failure() {
        let modes = [
            RetryPolicy::AwsLegacy,
            RetryPolicy::Exponential {
                base_us: 1_000,
                cap_us: 100_000,
                jitter: Jitter::Full,
            },
            RetryPolicy::Fixed { delay_us: 7 },
        ];
        for p in modes {
            let mut a = ChaCha8Rng::seed_from_u64(8);
            let mut b = ChaCha8Rng::seed_from_u64(8);
            let mut s = RetryState::new(p.clone(), 5);
            for n in 1..5 {
                assert_eq!(
                    s.on_failure(n, 0, Failure::Throttle, &mut a),
                    s.on_failure(n, 0, Failure::Transient, &mut b),
                    "{p:?}"
                );
            }
        }
    }
}

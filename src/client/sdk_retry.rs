//! The retry loops of the SDKs that agents and applications use instead of botocore's
//! (docs/retries.md, "Other SDKs"), each read from the SDK's own code at a pinned version:
//!
//! - `anthropic-sdk`: anthropic-sdk-python 2.17.0, `anthropic/_base_client.py`
//!   (`_calculate_retry_timeout`, `_should_retry`, `_parse_retry_after_header`) and
//!   `anthropic/_constants.py` (`DEFAULT_MAX_RETRIES = 2`, `INITIAL_RETRY_DELAY = 0.5`,
//!   `MAX_RETRY_DELAY = 8.0`). `AnthropicBedrock` uses the same loop.
//! - `openai-sdk`: openai-python 3.63.0, `openai/_base_client.py` and `openai/_constants.py`
//!   (the same constants, plus `MAX_RETRY_AFTER_DELAY = 120`).
//! - `litellm`: litellm 1.110.2, `litellm/utils.py` (the `client` wrapper's `except`) and
//!   `litellm/main.py` (`completion_with_retries`): after a failed call it makes
//!   `num_retries` more calls through `tenacity.Retrying(stop=stop_after_attempt(num_retries))`
//!   with tenacity's default wait, none.
//! - `strands`: strands-agents 1.62.0, `strands/event_loop/_retry.py` (`ModelRetryStrategy`:
//!   6 model calls, 4 s doubling to at most 240 s, no jitter, only `ModelThrottledException`)
//!   around a boto3 `bedrock-runtime` client in botocore's default (`standard`) retry mode
//!   (`strands/models/bedrock.py`, which raises `ModelThrottledException` for the codes
//!   `ThrottlingException` and `throttlingException`, the latter the mid-stream event).

/// `DEFAULT_MAX_RETRIES` of the Anthropic and OpenAI SDKs: 3 attempts.
pub const STAINLESS_DEFAULT_ATTEMPTS: u32 = 3;
/// `INITIAL_RETRY_DELAY`, seconds.
pub const STAINLESS_INITIAL_DELAY_S: f64 = 0.5;
/// `MAX_RETRY_DELAY`, seconds.
pub const STAINLESS_MAX_DELAY_S: f64 = 8.0;
/// The Anthropic SDK sleeps at most this long on a `retry-after` (`time.sleep`'s limit).
pub const ANTHROPIC_MAX_RETRY_AFTER_S: f64 = 4_294_967.0;
/// The OpenAI SDK honours a `retry-after` up to this many seconds and does not retry at all
/// after a longer one (`MAX_RETRY_AFTER_DELAY`).
pub const OPENAI_MAX_RETRY_AFTER_S: f64 = 120.0;
/// strands-agents' `MAX_ATTEMPTS`: model calls per request.
pub const STRANDS_MODEL_CALLS: u32 = 6;
/// strands-agents' `INITIAL_DELAY`, seconds.
pub const STRANDS_INITIAL_DELAY_S: u64 = 4;
/// strands-agents' `MAX_DELAY`, seconds.
pub const STRANDS_MAX_DELAY_S: u64 = 240;

/// Which of the two Stainless-generated SDKs (their retry loops differ only in how they
/// treat a `retry-after`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stainless {
    /// anthropic-sdk-python.
    Anthropic,
    /// openai-python.
    OpenAi,
}

/// The sleep in seconds before the retry that follows failed attempt `attempt` (1-based) of
/// a Stainless SDK, or `None` when the SDK does not retry. `hint_s` is the server's
/// `retry-after` in seconds (absent: `None`); `u` is the SDK's `random()` draw, used only
/// when it computes the backoff itself.
///
/// `_calculate_retry_timeout`: with `nb_retries = retries taken so far = attempt − 1`,
/// `min(0.5 × 2^nb_retries, 8) × (1 − 0.25 × random())`, unless the server's delay is used.
pub fn stainless_sleep_s(sdk: Stainless, attempt: u32, hint_s: Option<f64>, u: f64) -> Option<f64> {
    if let Some(h) = hint_s {
        match sdk {
            // "If the API asks us to wait a certain amount of time, just do what it says."
            Stainless::Anthropic if h > 0.0 => return Some(h.min(ANTHROPIC_MAX_RETRY_AFTER_S)),
            // `_should_retry` refuses a delay above two minutes; one up to it is used.
            Stainless::OpenAi if h > OPENAI_MAX_RETRY_AFTER_S => return None,
            Stainless::OpenAi if h > 0.0 => return Some(h),
            _ => {}
        }
    }
    let nb = f64::from(attempt.saturating_sub(1).min(1000));
    let sleep = (STAINLESS_INITIAL_DELAY_S * 2f64.powf(nb)).min(STAINLESS_MAX_DELAY_S);
    Some((sleep * (1.0 - 0.25 * u)).max(0.0))
}

/// Whether the draw is taken: only when no usable `retry-after` came with the failure.
pub fn stainless_draws(sdk: Stainless, hint_s: Option<f64>) -> bool {
    match (sdk, hint_s) {
        (_, None) => true,
        (Stainless::Anthropic, Some(h)) => h <= 0.0,
        (Stainless::OpenAi, Some(h)) => h <= 0.0,
    }
}

/// strands-agents' sleep before model call `call + 1` after model call `call` (1-based)
/// ended in a throttle: `min(4 × 2^(call − 1), 240)` s.
pub fn strands_sleep_s(call: u32) -> u64 {
    let exp = call.saturating_sub(1).min(16);
    STRANDS_INITIAL_DELAY_S
        .saturating_mul(1u64 << exp)
        .min(STRANDS_MAX_DELAY_S)
}

/// botocore 1.44.8's `ExponentialBackoff.delay_amount` with an `x-amz-retry-after` of
/// `hint_s` seconds: `max(t_i, min(hint, t_i + 5))` (`_RETRY_AFTER_MAX_ADDITIONAL = 5`).
pub fn botocore_with_hint_s(t_i: f64, hint_s: f64) -> f64 {
    t_i.max(hint_s.min(t_i + 5.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stainless_backoff_by_hand() {
        // 0.5, 1, 2, 4, 8, 8 s before jitter; jitter 1 − 0.25u.
        let a = Stainless::Anthropic;
        assert_eq!(stainless_sleep_s(a, 1, None, 0.0), Some(0.5));
        assert_eq!(stainless_sleep_s(a, 2, None, 1.0), Some(0.75));
        assert_eq!(stainless_sleep_s(a, 5, None, 0.5), Some(7.0));
        assert_eq!(stainless_sleep_s(a, 9, None, 0.0), Some(8.0));
    }

    #[test]
    fn retry_after_rules_differ() {
        let (a, o) = (Stainless::Anthropic, Stainless::OpenAi);
        assert_eq!(stainless_sleep_s(a, 1, Some(30.0), 0.5), Some(30.0));
        assert_eq!(stainless_sleep_s(o, 1, Some(30.0), 0.5), Some(30.0));
        assert_eq!(stainless_sleep_s(a, 1, Some(600.0), 0.5), Some(600.0));
        assert_eq!(stainless_sleep_s(o, 1, Some(600.0), 0.5), None);
        assert_eq!(stainless_sleep_s(o, 1, Some(120.0), 0.5), Some(120.0));
        assert!(!stainless_draws(a, Some(3.0)));
        assert!(stainless_draws(o, None));
    }

    #[test]
    fn strands_delays() {
        let d: Vec<u64> = (1..=8).map(strands_sleep_s).collect();
        assert_eq!(d, [4, 8, 16, 32, 64, 128, 240, 240]);
    }

    #[test]
    fn botocore_hint_bounds() {
        assert_eq!(botocore_with_hint_s(0.3, 2.0), 2.0);
        assert_eq!(botocore_with_hint_s(0.3, 30.0), 5.3);
        assert_eq!(botocore_with_hint_s(0.3, 0.1), 0.3);
    }
}

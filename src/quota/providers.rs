//! `quota.provider` presets: how each provider's published limits expand into a list of
//! [`LimitSpec`]s. Sizes come from the short-form keys; docs/guide/providers.md documents each
//! preset with its source.

use serde::{Deserialize, Serialize};

use super::{AdmitCheck, Charge, Counts, DAY_US, LimitSpec, LimiterKind, MINUTE_US};

/// A provider preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    /// Amazon Bedrock on-demand quotas: quota tokens with burndown, `input +
    /// max_tokens` reserved at admission.
    #[default]
    Bedrock,
    /// Bedrock's `bedrock-mantle` endpoint (AWS, "Quotas for the bedrock-mantle endpoint",
    /// <https://docs.aws.amazon.com/bedrock/latest/userguide/quotas-mantle.html>): input
    /// tokens per minute reserve `I + W + max_tokens` at admission and give the unused part
    /// back at completion; output tokens per minute are charged as generated and, when they
    /// run out mid-generation, cut the response off (truncated, not a 429); cache reads are
    /// free; no burndown; no RPM limit unless set.
    BedrockMantle,
    /// The Anthropic API: token buckets for requests, input tokens and output tokens.
    Anthropic,
    /// The OpenAI API: requests and tokens per minute, `max(max_tokens, prompt)` charged.
    Openai,
    /// Azure OpenAI: tokens per minute counting prompt + max_tokens, 6 requests per minute
    /// per 1,000 TPM enforced over 10-second windows.
    AzureOpenai,
    /// Bedrock's Reserved tier (AWS, "Amazon Bedrock introduces Reserved Service tier", Nov
    /// 2025): separate reserved input and output tokens per minute; what it cannot take
    /// overflows to the route's next pool (`policy = "spillover"`). Input tokens per minute
    /// count `I + W` at admission; output tokens per minute reserve `max_tokens` and settle
    /// to `output_burndown × A` (our reading).
    BedrockReserved,
}

impl Provider {
    /// Valid spellings, for error messages.
    pub const NAMES: [&'static str; 6] = [
        "bedrock",
        "bedrock-mantle",
        "anthropic",
        "openai",
        "azure-openai",
        "bedrock-reserved",
    ];

    /// The limiter a preset uses when `quota.limiter` is not set.
    pub fn default_limiter(self) -> LimiterKind {
        match self {
            Provider::Anthropic => LimiterKind::TokenBucket,
            _ => LimiterKind::FixedWindow,
        }
    }
}

/// The short-form sizes a preset expands.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Sizes {
    /// `tokens_per_minute`.
    pub tokens_per_minute: u64,
    /// `requests_per_minute`.
    pub requests_per_minute: Option<u64>,
    /// `tokens_per_day`.
    pub tokens_per_day: Option<u64>,
    /// `input_tokens_per_minute` (default: `tokens_per_minute`).
    pub input_tokens_per_minute: Option<u64>,
    /// `output_tokens_per_minute` (default: `tokens_per_minute`).
    pub output_tokens_per_minute: Option<u64>,
    /// `count_rejected`: whether throttled attempts count toward the per-minute limits
    /// (default: the provider's documented behaviour, see [`counts_rejected`]).
    pub count_rejected: Option<bool>,
    /// `requests_per_1000_tpm` (Azure OpenAI; default [`AZURE_CHAT_REQUESTS_PER_1000_TPM`]).
    pub requests_per_1000_tpm: Option<f64>,
    /// Whether cache reads count toward the input limit (Anthropic, for the models of
    /// [`ANTHROPIC_CACHE_READS_COUNT`]).
    pub cache_reads_count: bool,
}

/// The models whose cache reads count toward Anthropic's input-tokens-per-minute limit.
/// Anthropic, "Rate limits" (<https://docs.anthropic.com/en/api/rate-limits>): for the models
/// marked † in its tables `cache_read_input_tokens` also count toward ITPM, for all others
/// they do not; Claude 3.5 Haiku is that documented exception.
pub const ANTHROPIC_CACHE_READS_COUNT: [&str; 2] =
    ["claude-3-5-haiku", "claude-3-5-haiku-20241022"];

/// Azure OpenAI's requests per minute per 1,000 TPM for chat models ("older chat models: one
/// capacity unit = 6 RPM and 1,000 TPM", Microsoft Learn, "Manage Azure OpenAI quota").
/// Reasoning models use other ratios: o1 and o1-preview 1 RPM per 6,000 TPM (1/6), o3 and
/// o4-mini 1 RPM per 1,000 TPM; set `quota.requests_per_1000_tpm` for them.
pub const AZURE_CHAT_REQUESTS_PER_1000_TPM: f64 = 6.0;

/// Whether a provider counts throttled attempts toward its per-minute limits by default:
/// OpenAI ("unsuccessful requests contribute to your per-minute limit") and Azure OpenAI
/// (rate limits are evaluated on every request received) do; Bedrock and Anthropic document
/// no such thing.
pub fn counts_rejected(provider: Provider) -> bool {
    matches!(provider, Provider::Openai | Provider::AzureOpenai)
}

fn limit(name: &str, counts: Counts, per_us: u64, limit: u64, limiter: LimiterKind) -> LimitSpec {
    LimitSpec {
        name: name.to_string(),
        counts,
        per_us,
        limit,
        limiter,
        charge: Charge::Reserve,
        admit: AdmitCheck::Available,
        count_rejected: false,
    }
}

/// Bedrock's short-form limits, in check order: requests per minute, tokens per minute, tokens per
/// day (always a fixed one-day window).
pub fn bedrock(kind: LimiterKind, tpm: u64, rpm: Option<u64>, tpd: Option<u64>) -> Vec<LimitSpec> {
    let mut v = Vec::with_capacity(3);
    if let Some(r) = rpm {
        v.push(limit(
            "requests_per_minute",
            Counts::Requests,
            MINUTE_US,
            r,
            kind,
        ));
    }
    v.push(limit(
        "tokens_per_minute",
        Counts::QuotaTokens,
        MINUTE_US,
        tpm,
        kind,
    ));
    if let Some(d) = tpd {
        v.push(limit(
            "tokens_per_day",
            Counts::QuotaTokens,
            DAY_US,
            d,
            LimiterKind::FixedWindow,
        ));
    }
    v
}

/// Expands a preset into its limits.
pub fn expand(provider: Provider, kind: LimiterKind, s: &Sizes) -> Vec<LimitSpec> {
    let rejected = s.count_rejected.unwrap_or(counts_rejected(provider));
    let per_minute = |mut v: Vec<LimitSpec>| {
        for l in v.iter_mut().filter(|l| l.per_us < DAY_US) {
            l.count_rejected = rejected;
        }
        v
    };
    let itpm = s.input_tokens_per_minute.unwrap_or(s.tokens_per_minute);
    let otpm = s.output_tokens_per_minute.unwrap_or(s.tokens_per_minute);
    let rpm = |v: &mut Vec<LimitSpec>| {
        if let Some(r) = s.requests_per_minute {
            v.push(limit(
                "requests_per_minute",
                Counts::Requests,
                MINUTE_US,
                r,
                kind,
            ));
        }
    };
    let tpd = |v: &mut Vec<LimitSpec>, counts: Counts| {
        if let Some(d) = s.tokens_per_day {
            v.push(limit(
                "tokens_per_day",
                counts,
                DAY_US,
                d,
                LimiterKind::FixedWindow,
            ));
        }
    };
    per_minute(match provider {
        Provider::Bedrock => bedrock(
            kind,
            s.tokens_per_minute,
            s.requests_per_minute,
            s.tokens_per_day,
        ),
        Provider::BedrockMantle => {
            let mut v = Vec::new();
            rpm(&mut v);
            // "The number of input tokens in the request, plus the value of max_tokens, is
            // checked against the input-tokens-per-minute quota": reserved as I + W + M,
            // settled to I + W + A.
            v.push(limit(
                "input_tokens_per_minute",
                Counts::Tokens,
                MINUTE_US,
                itpm,
                kind,
            ));
            v.push(LimitSpec {
                charge: Charge::AsGenerated,
                admit: AdmitCheck::Never,
                ..limit(
                    "output_tokens_per_minute",
                    Counts::OutputTokens,
                    MINUTE_US,
                    otpm,
                    kind,
                )
            });
            tpd(&mut v, Counts::Tokens);
            v
        }
        Provider::Anthropic => {
            let mut v = Vec::new();
            rpm(&mut v);
            v.push(limit(
                "input_tokens_per_minute",
                if s.cache_reads_count {
                    Counts::InputTokensWithCacheReads
                } else {
                    Counts::InputTokens
                },
                MINUTE_US,
                itpm,
                kind,
            ));
            v.push(LimitSpec {
                charge: Charge::AsGenerated,
                ..limit(
                    "output_tokens_per_minute",
                    Counts::OutputTokens,
                    MINUTE_US,
                    otpm,
                    kind,
                )
            });
            tpd(&mut v, Counts::Tokens);
            v
        }
        Provider::Openai => {
            let mut v = Vec::new();
            rpm(&mut v);
            v.push(limit(
                "tokens_per_minute",
                Counts::EstimatedTokens,
                MINUTE_US,
                s.tokens_per_minute,
                kind,
            ));
            tpd(&mut v, Counts::EstimatedTokens);
            v
        }
        Provider::AzureOpenai => {
            // A model's RPM ratio per 1,000 TPM, evaluated over 10-second windows: a sixth
            // of the per-minute figure per 10 s.
            let ratio = s
                .requests_per_1000_tpm
                .unwrap_or(AZURE_CHAT_REQUESTS_PER_1000_TPM);
            let per_minute = s.requests_per_minute.unwrap_or_else(|| {
                crate::num::round_u64((s.tokens_per_minute as f64 * ratio / 1000.0).floor())
            });
            let mut v = vec![limit(
                "requests_per_10s",
                Counts::Requests,
                10_000_000,
                (per_minute / 6).max(1),
                kind,
            )];
            v.push(limit(
                "tokens_per_minute",
                Counts::PromptPlusMaxTokens,
                MINUTE_US,
                s.tokens_per_minute,
                kind,
            ));
            tpd(&mut v, Counts::PromptPlusMaxTokens);
            v
        }
        Provider::BedrockReserved => {
            // No requests-per-minute limit within purchased capacity, no daily limit.
            vec![
                limit(
                    "input_tokens_per_minute",
                    Counts::ReservedInputTokens,
                    MINUTE_US,
                    itpm,
                    kind,
                ),
                limit(
                    "output_tokens_per_minute",
                    Counts::ReservedOutputTokens,
                    MINUTE_US,
                    otpm,
                    kind,
                ),
            ]
        }
    })
}

//! The provider's quota: costs, limiters, model presets and provider presets
//! (docs/quota.md, docs/limiters.md).
//!
//! A quota is an ordered list of limits ([`LimitSpec`]). The short-form keys
//! (`tokens_per_minute`, `requests_per_minute`, `tokens_per_day`) expand through the
//! `quota.provider` preset (see [`providers`]) into that list; `[[quota.limits]]` adds more.
//! Every limit is checked in order at admission; the first one that refuses is the throttle
//! cause. The engine's hot loop walks a small `Vec` of plain enums (no dynamic dispatch).

pub mod cost;
pub mod limiter;
pub mod models;
pub mod providers;

use serde::{Deserialize, Serialize};

pub use cost::{Burndown, ReserveMode};
pub use limiter::{Limiter, LimiterKind};
pub use providers::Provider;

/// Microseconds in a minute: the period of per-minute limits.
pub const MINUTE_US: u64 = 60_000_000;
/// Microseconds in a day: tokens-per-day always uses a fixed window of this length.
pub const DAY_US: u64 = 86_400_000_000;
/// Most limits one quota may hold (tickets of an admission live in a fixed array).
pub const MAX_LIMITS: usize = 8;

/// The report category a throttle is filed under (`attempts.throttled_by`, docs/report.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleCause {
    /// A request-count limit.
    RequestsPerMinute,
    /// A token limit over a period shorter than a day.
    TokensPerMinute,
    /// A token limit over a day or longer.
    TokensPerDay,
}

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Counts {
    /// Bedrock quota tokens: `input_burndown × (I + W) + output_burndown × A`; reserved per
    /// `quota.reserve`.
    QuotaTokens,
    /// Input and cache-write tokens `I + W` (cache reads are free).
    InputTokens,
    /// Input, cache-write and cache-read tokens `I + W + Rd` (Anthropic's input limit for
    /// Claude 3.5 Haiku, the documented exception where cache reads count).
    #[serde(rename = "input-tokens+cache-reads")]
    InputTokensWithCacheReads,
    /// Output tokens `A`; reserved as `max_tokens`.
    OutputTokens,
    /// Input, cache-write and output tokens without burndown: `I + W + A`; reserved as
    /// `I + W + max_tokens`.
    Tokens,
    /// OpenAI's estimate `max(max_tokens, I + W + Rd)`, charged at admission, never adjusted.
    EstimatedTokens,
    /// Azure OpenAI's estimate `I + W + Rd + max_tokens`, charged at admission, never adjusted.
    #[serde(rename = "prompt+max_tokens")]
    PromptPlusMaxTokens,
    /// Admitted attempts; each counts 1 and is never given back.
    Requests,
    /// Bedrock's Reserved tier, input tokens per minute: `I + W`, charged at admission and
    /// never adjusted (docs/models.md, "Reserved tier").
    ReservedInputTokens,
    /// Bedrock's Reserved tier, output tokens per minute (our reading): `max_tokens`
    /// reserved at admission, settled to `output_burndown × A` at completion.
    ReservedOutputTokens,
}

impl Counts {
    /// Whether a limit counting this is reserved capacity (priced by the hour, see
    /// [`crate::cost`]).
    pub fn is_reserved(self) -> bool {
        matches!(
            self,
            Counts::ReservedInputTokens | Counts::ReservedOutputTokens
        )
    }

    /// Valid spellings, for error messages.
    pub const NAMES: [&'static str; 10] = [
        "quota-tokens",
        "input-tokens",
        "input-tokens+cache-reads",
        "output-tokens",
        "tokens",
        "estimated-tokens",
        "prompt+max_tokens",
        "requests",
        "reserved-input-tokens",
        "reserved-output-tokens",
    ];
}

/// When a limit is charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Charge {
    /// The reservation is charged at admission and settled to the final count at completion
    /// (progressively while output streams when `quota.settle = "streaming"`).
    #[default]
    Reserve,
    /// Only the part known up front (input) is charged at admission; output is charged while
    /// it is generated.
    AsGenerated,
}

/// What an `as-generated` limit requires at admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AdmitCheck {
    /// The limit is not exhausted (at least one unit is left).
    #[default]
    Available,
    /// The whole reservation (`max_tokens` for output) fits, although only the input part is
    /// charged.
    Reservation,
    /// Never refuses at admission; when its budget runs out while output is generated, the
    /// response is cut off there and counts as truncated (bedrock-mantle's output tokens per
    /// minute). Checked at every settlement tick (`quota.settle_interval`).
    Never,
}

/// When settlement happens (`quota.settle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Settle {
    /// At completion (docs/quota.md, "Settlement").
    #[default]
    AtCompletion,
    /// Output is charged as it is generated, every `settle_interval`; the unused reservation
    /// is released at completion.
    Streaming,
}

/// One limit of a quota, resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LimitSpec {
    /// Name, used in `attempts.throttled_by_limit`.
    pub name: String,
    /// What it counts.
    pub counts: Counts,
    /// Length of its period, µs.
    #[serde(rename = "per", serialize_with = "crate::duration::ser_duration")]
    pub per_us: u64,
    /// Capacity per period.
    pub limit: u64,
    /// The algorithm.
    pub limiter: LimiterKind,
    /// When it is charged.
    pub charge: Charge,
    /// What an `as-generated` limit requires at admission.
    pub admit: AdmitCheck,
    /// Whether a refused (throttled) attempt still counts toward this limit: charged what
    /// admission would have charged, never given back (OpenAI and Azure OpenAI document
    /// that unsuccessful requests count toward the per-minute limits).
    #[serde(skip_serializing_if = "is_false")]
    pub count_rejected: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl LimitSpec {
    /// The report category (`attempts.throttled_by`) of a throttle by this limit.
    pub fn cause(&self) -> ThrottleCause {
        match self.counts {
            Counts::Requests => ThrottleCause::RequestsPerMinute,
            _ if self.per_us >= DAY_US => ThrottleCause::TokensPerDay,
            _ => ThrottleCause::TokensPerMinute,
        }
    }
}

/// The token counts of one request that limits charge by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Footprint {
    /// Input plus cache-write tokens `I + W`.
    pub prompt: u64,
    /// Cache-read tokens `Rd`.
    pub cache_read: u64,
    /// Cache-read tokens held at the input rate in a `quota-tokens` reservation
    /// (`quota.reserve_cache_reads`; 0 otherwise). Never part of the final cost.
    pub held_reads: u64,
    /// `max_tokens` M.
    pub max_tokens: u64,
    /// Output produced A = min(O, M).
    pub output: u64,
}

impl Footprint {
    /// The footprint of a request with input I, cache writes W, cache reads Rd, `max_tokens`
    /// M and desired output O; `hold_reads` is `quota.reserve_cache_reads` (cache reads held
    /// at the input rate from admission to settlement).
    #[inline]
    pub fn of(
        input: u64,
        cache_write: u64,
        cache_read: u64,
        max_tokens: u64,
        desired_output: u64,
        hold_reads: bool,
    ) -> Footprint {
        Footprint {
            prompt: input.saturating_add(cache_write),
            cache_read,
            held_reads: if hold_reads { cache_read } else { 0 },
            max_tokens,
            output: desired_output.min(max_tokens),
        }
    }
}

/// Tickets of an admitted attempt, used to settle it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Admission {
    tickets: [u64; MAX_LIMITS],
}

/// One limit in the hot loop.
#[derive(Debug, Clone)]
struct Limit {
    counts: Counts,
    charge: Charge,
    admit: AdmitCheck,
    /// Whether output is charged progressively (as-generated, or reserve under streaming).
    progressive: bool,
    /// Whether a refused attempt is charged too.
    count_rejected: bool,
    limiter: Limiter,
}

/// All limits of one scenario.
#[derive(Debug, Clone)]
pub struct Quota {
    limits: Vec<Limit>,
    causes: Vec<ThrottleCause>,
    burndown: Burndown,
    reserve: ReserveMode,
    /// The limit whose charges feed the timeline's `quota_charged`.
    primary: Option<usize>,
    ticks: bool,
    /// Whether some limit cuts responses off ([`AdmitCheck::Never`]).
    cutoff: bool,
    /// Whether some limit counts refused attempts (`count_rejected`).
    counts_rejected: bool,
    /// The smallest limit, when every limit needs the quota-token reservation: then
    /// servability is one comparison ([`Quota::servable_by_reservation`]).
    reservation_cap: Option<u64>,
    /// `quota.reservation_floor`: the `max_tokens` part of a reservation is at least this.
    floor: u64,
}

impl Quota {
    /// The short-form Bedrock quota: RPM, TPM and TPD (TPD always a fixed one-day window).
    pub fn new(kind: LimiterKind, tpm: u64, rpm: Option<u64>, tpd: Option<u64>) -> Self {
        let specs = providers::bedrock(kind, tpm, rpm, tpd);
        Self::from_limits(
            &specs,
            Burndown {
                input: 1,
                output: 1,
            },
            ReserveMode::InputPlusMaxTokens,
            Settle::AtCompletion,
        )
    }

    /// A quota enforcing `specs` in order.
    pub fn from_limits(
        specs: &[LimitSpec],
        burndown: Burndown,
        reserve: ReserveMode,
        settle: Settle,
    ) -> Self {
        let limits: Vec<Limit> = specs
            .iter()
            .take(MAX_LIMITS)
            .map(|s| {
                let grows = !matches!(
                    s.counts,
                    Counts::Requests
                        | Counts::InputTokens
                        | Counts::InputTokensWithCacheReads
                        | Counts::EstimatedTokens
                        | Counts::PromptPlusMaxTokens
                        | Counts::ReservedInputTokens
                );
                Limit {
                    counts: s.counts,
                    charge: s.charge,
                    admit: s.admit,
                    progressive: grows
                        && (s.charge == Charge::AsGenerated || settle == Settle::Streaming),
                    count_rejected: s.count_rejected,
                    limiter: Limiter::new(s.limiter, s.limit, s.per_us),
                }
            })
            .collect();
        let tokens = |s: &&LimitSpec| s.counts != Counts::Requests;
        let primary = specs
            .iter()
            .take(MAX_LIMITS)
            .position(|s| tokens(&s) && s.per_us == MINUTE_US)
            .or_else(|| specs.iter().take(MAX_LIMITS).position(|s| tokens(&s)));
        Quota {
            ticks: limits.iter().any(|l| l.progressive),
            cutoff: limits
                .iter()
                .any(|l| l.admit == AdmitCheck::Never && l.charge == Charge::AsGenerated),
            counts_rejected: limits.iter().any(|l| l.count_rejected),
            reservation_cap: limits
                .iter()
                .all(|l| {
                    l.counts == Counts::QuotaTokens
                        && !(l.charge == Charge::AsGenerated
                            && matches!(l.admit, AdmitCheck::Available | AdmitCheck::Never))
                })
                .then(|| limits.iter().map(|l| l.limiter.limit()).min())
                .flatten(),
            causes: specs
                .iter()
                .take(MAX_LIMITS)
                .map(LimitSpec::cause)
                .collect(),
            limits,
            burndown,
            reserve,
            primary,
            floor: 0,
        }
    }

    /// This quota with `quota.reservation_floor = floor`: the `max_tokens` part of every
    /// reservation is `max(max_tokens, floor)`.
    pub fn with_floor(mut self, floor: u64) -> Self {
        self.floor = floor;
        self
    }

    /// Whether some limit charges output while it streams (the engine then schedules
    /// settlement ticks).
    pub fn streams(&self) -> bool {
        self.ticks
    }

    /// Number of limits.
    pub fn len(&self) -> usize {
        self.limits.len()
    }

    /// Whether the quota has no limit at all.
    pub fn is_empty(&self) -> bool {
        self.limits.is_empty()
    }

    /// The report category (`attempts.throttled_by`) of limit `i`.
    pub fn cause(&self, i: usize) -> ThrottleCause {
        self.causes
            .get(i)
            .copied()
            .unwrap_or(ThrottleCause::TokensPerMinute)
    }
}

/// Burndown and reservation formula: everything the amount formulas need besides the
/// request. Account-wide limits are charged with the rates of the pool serving the attempt.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    burndown: Burndown,
    reserve: ReserveMode,
    /// `quota.reservation_floor`.
    floor: u64,
}

impl Rates {
    /// The burndown rates.
    #[inline]
    pub fn burndown(&self) -> Burndown {
        self.burndown
    }

    /// The reservation formula.
    #[inline]
    pub fn reserve(&self) -> ReserveMode {
        self.reserve
    }

    /// The quota-token reservation of a request (what a `quota-tokens` limit reserves).
    #[inline]
    pub fn quota_reservation(&self, fp: &Footprint) -> u64 {
        self.reservation(Counts::QuotaTokens, fp)
    }

    /// The reservation of a limit counting `counts`.
    #[inline]
    fn reservation(&self, counts: Counts, fp: &Footprint) -> u64 {
        // `quota.reservation_floor` (0 by default: `max_tokens` itself).
        let m = fp.max_tokens.max(self.floor);
        match counts {
            Counts::QuotaTokens => self.burndown.reservation(
                self.reserve,
                fp.prompt.saturating_add(fp.held_reads),
                0,
                m,
            ),
            Counts::InputTokens | Counts::ReservedInputTokens => fp.prompt,
            Counts::InputTokensWithCacheReads => fp.prompt.saturating_add(fp.cache_read),
            Counts::OutputTokens | Counts::ReservedOutputTokens => m,
            Counts::Tokens => fp.prompt.saturating_add(m),
            Counts::EstimatedTokens => m.max(fp.prompt.saturating_add(fp.cache_read)),
            Counts::PromptPlusMaxTokens => {
                fp.prompt.saturating_add(fp.cache_read).saturating_add(m)
            }
            Counts::Requests => 1,
        }
    }

    /// The part of the final count known at admission, and the count per output token.
    #[inline]
    fn fixed_and_rate(&self, counts: Counts, fp: &Footprint) -> (u64, u64) {
        match counts {
            Counts::QuotaTokens => (
                self.burndown.input.saturating_mul(fp.prompt),
                self.burndown.output,
            ),
            Counts::OutputTokens => (0, 1),
            Counts::ReservedOutputTokens => (0, self.burndown.output),
            Counts::Tokens => (fp.prompt, 1),
            Counts::InputTokens
            | Counts::ReservedInputTokens
            | Counts::InputTokensWithCacheReads
            | Counts::EstimatedTokens
            | Counts::PromptPlusMaxTokens
            | Counts::Requests => (self.reservation(counts, fp), 0),
        }
    }

    /// The final count after `output` tokens (`ok = false`: a 503, which gives every token
    /// back but never a request).
    #[inline]
    fn final_count(&self, counts: Counts, fp: &Footprint, ok: bool) -> u64 {
        match counts {
            Counts::Requests => 1,
            _ if !ok => 0,
            _ => {
                let (fixed, rate) = self.fixed_and_rate(counts, fp);
                fixed.saturating_add(rate.saturating_mul(fp.output))
            }
        }
    }

    /// What limit `l` charged at admission and has charged since, after `generated` tokens.
    // Always inlined: left to the compiler it stayed a call (per limit, at every admission,
    // settlement and refusal), and inlined its `generated = 0` callers fold the progressive
    // branch away (-2.0% instructions in the reference run).
    #[inline(always)]
    fn charged(&self, l: &Limit, fp: &Footprint, generated: u64) -> u64 {
        let (fixed, rate) = self.fixed_and_rate(l.counts, fp);
        let at_admission = match l.charge {
            Charge::Reserve => self.reservation(l.counts, fp),
            Charge::AsGenerated => fixed,
        };
        if l.progressive {
            at_admission.max(fixed.saturating_add(rate.saturating_mul(generated)))
        } else {
            at_admission
        }
    }

    /// What limit `l` admits on.
    #[inline]
    fn need(&self, l: &Limit, fp: &Footprint) -> u64 {
        match (l.charge, l.admit) {
            (Charge::AsGenerated, AdmitCheck::Available) => 1,
            (Charge::AsGenerated, AdmitCheck::Never) => 0,
            _ => self.reservation(l.counts, fp),
        }
    }
}

impl Quota {
    /// This quota's burndown and reservation formula.
    #[inline]
    pub fn rates(&self) -> Rates {
        Rates {
            burndown: self.burndown,
            reserve: self.reserve,
            floor: self.floor,
        }
    }

    /// The limits that could never admit a request of footprint `fp` (what it needs there
    /// exceeds the limit's whole capacity), in check order, as (limit index, need). This is
    /// the one rule of servability: every check, warning and count goes through it.
    pub fn refusals<'q>(&'q self, fp: &'q Footprint) -> impl Iterator<Item = (usize, u64)> + 'q {
        let r = self.rates();
        self.limits.iter().enumerate().filter_map(move |(i, l)| {
            let need = r.need(l, fp);
            (need > l.limiter.limit()).then_some((i, need))
        })
    }

    /// Whether a request could ever be admitted by every limit.
    #[inline]
    pub fn servable(&self, fp: &Footprint) -> bool {
        // `refusals(fp).next().is_none()`, without the iterator: once per request.
        self.servable_at(fp, self.rates())
    }

    /// [`Quota::servable_at`] for a request whose quota-token reservation at the rates it is
    /// charged with (this quota's, or the serving pool's for an account) is `reserved`, when
    /// every limit needs exactly that: one comparison with the smallest limit. `None` when
    /// some limit needs something else.
    #[inline]
    pub fn servable_by_reservation(&self, reserved: u64) -> Option<bool> {
        self.reservation_cap.map(|cap| reserved <= cap)
    }

    /// Whether every limit could ever admit `fp` charged at `r` (an account's limits,
    /// charged with the serving pool's rates).
    #[inline(always)]
    pub fn servable_at(&self, fp: &Footprint, r: Rates) -> bool {
        self.limits
            .iter()
            .all(|l| r.need(l, fp) <= l.limiter.limit())
    }

    /// Checks every limit in order at rates `r`, charging nothing; the index of the first
    /// that refuses.
    #[inline(always)]
    pub fn check_at(&mut self, now: u64, fp: &Footprint, r: Rates) -> Result<(), usize> {
        // One limit (the short form's single tokens-per-minute limiter, the common case):
        // checked without the loop.
        if let [l] = self.limits.as_mut_slice() {
            let skip =
                self.cutoff && l.admit == AdmitCheck::Never && l.charge == Charge::AsGenerated;
            return if skip || l.limiter.admits(now, r.need(l, fp)) {
                Ok(())
            } else {
                Err(0)
            };
        }
        for (i, l) in self.limits.iter_mut().enumerate() {
            // A cut-off limit never refuses at admission: it stops generation instead.
            if self.cutoff && l.admit == AdmitCheck::Never && l.charge == Charge::AsGenerated {
                continue;
            }
            let need = r.need(l, fp);
            if !l.limiter.admits(now, need) {
                return Err(i);
            }
        }
        Ok(())
    }

    /// After a refusal: charges the `count_rejected` limits what admission would have
    /// charged them, for good (providers that count unsuccessful requests).
    #[inline(always)]
    pub fn charge_rejected(&mut self, now: u64, fp: &Footprint, r: Rates) {
        if !self.counts_rejected {
            return;
        }
        for l in self.limits.iter_mut().filter(|l| l.count_rejected) {
            let amount = r.charged(l, fp, 0);
            // `admits` brings the window or bucket up to `now` before the charge.
            let _ = l.limiter.admits(now, 0);
            l.limiter.charge(now, amount);
        }
    }

    /// Charges every limit at rates `r` (after [`Quota::check_at`] admitted).
    #[inline(always)]
    pub fn charge_at(&mut self, now: u64, fp: &Footprint, r: Rates) -> Admission {
        let mut adm = Admission::default();
        self.charge_into(now, fp, r, &mut adm);
        adm
    }

    /// [`Quota::charge_at`], writing the tickets into `adm` in place.
    #[inline(always)]
    pub fn charge_into(&mut self, now: u64, fp: &Footprint, r: Rates, adm: &mut Admission) {
        // One limit: its ticket without the zipped loop.
        if let [l] = self.limits.as_mut_slice() {
            adm.tickets[0] = l.limiter.charge(now, r.charged(l, fp, 0));
            return;
        }
        for (l, t) in self.limits.iter_mut().zip(adm.tickets.iter_mut()) {
            let amount = r.charged(l, fp, 0);
            *t = l.limiter.charge(now, amount);
        }
    }

    /// What the primary limit charges at admission (for the timeline).
    #[inline]
    pub fn primary_charge(&self, fp: &Footprint) -> u64 {
        self.primary
            .and_then(|i| self.limits.get(i))
            .map_or(0, |l| self.rates().charged(l, fp, 0))
    }

    /// Checks every limit in order; if all admit, charges them. On refusal, which returns
    /// the index of the first refusing limit, only the `count_rejected` limits are charged
    /// (what admission would have charged them, for good).
    #[inline]
    pub fn try_admit(&mut self, now: u64, fp: &Footprint) -> Result<Admission, usize> {
        let r = self.rates();
        if let Err(i) = self.check_at(now, fp, r) {
            self.charge_rejected(now, fp, r);
            return Err(i);
        }
        Ok(self.charge_at(now, fp, r))
    }

    /// Whether some limit cuts responses off instead of refusing them
    /// ([`AdmitCheck::Never`]).
    pub fn cuts_off(&self) -> bool {
        self.cutoff
    }

    /// How many of `want` more output tokens the cut-off limits still take at `now`
    /// (`want` when there is none, or all of them fit).
    #[inline]
    pub fn output_room(&mut self, now: u64, want: u64) -> u64 {
        if !self.cutoff {
            return want;
        }
        let mut room = want;
        for l in self.limits.iter_mut() {
            if !(l.admit == AdmitCheck::Never && l.charge == Charge::AsGenerated) || room == 0 {
                continue;
            }
            let per_token = match l.counts {
                Counts::OutputTokens | Counts::Tokens => 1,
                Counts::QuotaTokens | Counts::ReservedOutputTokens => self.burndown.output.max(1),
                _ => continue,
            };
            if l.limiter.admits(now, room.saturating_mul(per_token)) {
                continue;
            }
            // The largest k < room that fits (admits is monotone in the amount).
            let (mut lo, mut hi) = (0u64, room);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if l.limiter.admits(now, mid.saturating_mul(per_token)) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            room = lo;
        }
        room
    }

    /// Output has grown from `before` to `after` tokens while streaming: charges what the
    /// progressive limits have not yet charged. Returns the change to the primary limit.
    #[inline]
    pub fn tick(
        &mut self,
        now: u64,
        adm: &Admission,
        fp: &Footprint,
        before: u64,
        after: u64,
    ) -> i64 {
        let r = self.rates();
        self.tick_at(now, adm, fp, before, after, r)
    }

    /// [`Quota::tick`] at rates `r`.
    #[inline(always)]
    pub fn tick_at(
        &mut self,
        now: u64,
        adm: &Admission,
        fp: &Footprint,
        before: u64,
        after: u64,
        r: Rates,
    ) -> i64 {
        let mut primary = 0;
        for (i, (l, ticket)) in self.limits.iter_mut().zip(adm.tickets).enumerate() {
            if !l.progressive {
                continue;
            }
            let (old, new) = (r.charged(l, fp, before), r.charged(l, fp, after));
            if new > old {
                let d = l.limiter.settle(now, ticket, old, new);
                if Some(i) == self.primary {
                    primary = d;
                }
            }
        }
        primary
    }

    /// Settles an admitted attempt whose output reached `generated` tokens at the last tick
    /// (0 without streaming): `ok` for a success, `false` for a 503 (final token count 0).
    /// Returns the change applied to the primary limit.
    #[inline]
    pub fn settle(
        &mut self,
        now: u64,
        adm: &Admission,
        fp: &Footprint,
        generated: u64,
        ok: bool,
    ) -> i64 {
        let r = self.rates();
        self.settle_at(now, adm, fp, generated, ok, r)
    }

    /// [`Quota::settle`] at rates `r`.
    #[inline(always)]
    pub fn settle_at(
        &mut self,
        now: u64,
        adm: &Admission,
        fp: &Footprint,
        generated: u64,
        ok: bool,
        r: Rates,
    ) -> i64 {
        // One limit: settled without the loop (copying the tickets out of `adm` for the zip).
        if let [l] = self.limits.as_mut_slice() {
            let charged = r.charged(l, fp, generated);
            let fin = r.final_count(l.counts, fp, ok);
            let d = l.limiter.settle(now, adm.tickets[0], charged, fin);
            return if self.primary == Some(0) { d } else { 0 };
        }
        let mut primary = 0;
        for (i, (l, ticket)) in self.limits.iter_mut().zip(adm.tickets).enumerate() {
            let charged = r.charged(l, fp, generated);
            let fin = r.final_count(l.counts, fp, ok);
            let d = l.limiter.settle(now, ticket, charged, fin);
            if Some(i) == self.primary {
                primary = d;
            }
        }
        primary
    }

    /// The retry hint of a throttle by limit `i` at rates `r`: how long until it could admit
    /// `fp`, assuming no other traffic, µs (`None`: never).
    pub fn retry_wait_us(&mut self, now: u64, i: usize, fp: &Footprint, r: Rates) -> Option<u64> {
        let l = self.limits.get_mut(i)?;
        let need = r.need(l, fp);
        l.limiter.wait_us(now, need)
    }

    /// Offers the growth of a streamed attempt's charge from `before` to `after` output
    /// tokens, beyond what its reservation still covers, to every limit whose count grows
    /// with output, charging nothing: the index of the first that refuses it.
    pub fn offer_at(
        &mut self,
        now: u64,
        fp: &Footprint,
        before: u64,
        after: u64,
        r: Rates,
    ) -> Result<(), usize> {
        for (i, l) in self.limits.iter_mut().enumerate() {
            let (fixed, rate) = r.fixed_and_rate(l.counts, fp);
            if rate == 0 {
                continue;
            }
            let at_admission = match l.charge {
                Charge::Reserve => r.reservation(l.counts, fp),
                Charge::AsGenerated => fixed,
            };
            let grown = |g: u64| at_admission.max(fixed.saturating_add(rate.saturating_mul(g)));
            let extra = grown(after).saturating_sub(grown(before));
            if extra > 0 && !l.limiter.admits(now, extra) {
                return Err(i);
            }
        }
        Ok(())
    }

    /// The primary limiter (the tokens-per-minute one for the short form).
    pub fn primary(&self) -> Option<&Limiter> {
        self.primary
            .and_then(|i| self.limits.get(i))
            .map(|l| &l.limiter)
    }
}

/// Names of a report's `throttled_by_limit` (each pool's limits, then the account's, the same
/// name counted once), and for each pool the slot of each of its limits there, then of each
/// account limit: the order in which a refusing limit is numbered. `run` and `serve` both
/// number their limits by it.
pub(crate) fn limit_slots<'a>(
    pools: impl IntoIterator<Item = &'a [LimitSpec]>,
    account: &[LimitSpec],
) -> (Vec<String>, Vec<Vec<usize>>) {
    let mut names: Vec<String> = Vec::new();
    let mut slot = |n: &str| match names.iter().position(|x| x == n) {
        Some(i) => i,
        None => {
            names.push(n.to_string());
            names.len() - 1
        }
    };
    let mut per_pool: Vec<Vec<usize>> = pools
        .into_iter()
        .map(|limits| {
            limits
                .iter()
                .take(MAX_LIMITS)
                .map(|l| slot(&l.name))
                .collect()
        })
        .collect();
    let acct: Vec<usize> = account
        .iter()
        .take(MAX_LIMITS)
        .map(|l| slot(&l.name))
        .collect();
    for v in &mut per_pool {
        v.extend_from_slice(&acct);
    }
    (names, per_pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(prompt: u64, max_tokens: u64, output: u64) -> Footprint {
        Footprint {
            prompt,
            cache_read: 0,
            held_reads: 0,
            max_tokens,
            output,
        }
    }

    /// The one-comparison servability agrees with the general rule wherever it answers,
    /// and answers exactly when every limit needs the quota-token reservation.
    #[test]
    fn servable_by_reservation_agrees_with_servable() {
        let counts = [Counts::QuotaTokens, Counts::InputTokens, Counts::Tokens];
        let modes = [(Charge::Reserve, AdmitCheck::Available)]
            .into_iter()
            .chain(
                [
                    AdmitCheck::Available,
                    AdmitCheck::Reservation,
                    AdmitCheck::Never,
                ]
                .map(|a| (Charge::AsGenerated, a)),
            );
        let mut specs_list = Vec::new();
        for c in counts {
            for (charge, admit) in modes.clone() {
                for limit in [900, 5_000] {
                    specs_list.push(LimitSpec {
                        name: "l".into(),
                        counts: c,
                        per_us: MINUTE_US,
                        limit,
                        limiter: LimiterKind::FixedWindow,
                        charge,
                        admit,
                        count_rejected: false,
                    });
                }
            }
        }
        let mut answered = 0;
        for a in &specs_list {
            for b in &specs_list {
                for reserve in [
                    ReserveMode::InputPlusMaxTokens,
                    ReserveMode::InputPlusMaxTokensBurndown,
                ] {
                    let burndown = Burndown {
                        input: 1,
                        output: 5,
                    };
                    let q = Quota::from_limits(
                        &[a.clone(), b.clone()],
                        burndown,
                        reserve,
                        Settle::AtCompletion,
                    );
                    let plain = [a, b].iter().all(|l| {
                        l.counts == Counts::QuotaTokens
                            && !(l.charge == Charge::AsGenerated
                                && l.admit != AdmitCheck::Reservation)
                    });
                    for (prompt, max_tokens) in [(100, 400), (100, 800), (800, 100), (4_000, 1)] {
                        let f = Footprint {
                            held_reads: 50,
                            ..fp(prompt, max_tokens, 0)
                        };
                        let reserved = q.rates().reservation(Counts::QuotaTokens, &f);
                        let fast = q.servable_by_reservation(reserved);
                        assert_eq!(fast.is_some(), plain, "{a:?} {b:?}");
                        if let Some(ok) = fast {
                            answered += 1;
                            assert_eq!(ok, q.servable(&f), "{a:?} {b:?} {f:?} {reserved}");
                            // As an account charged at a pool's other rates.
                            let pool = Rates {
                                burndown: Burndown {
                                    input: 1,
                                    output: 1,
                                },
                                reserve: ReserveMode::InputPlusMaxTokensBurndown,
                                floor: 0,
                            };
                            let at_pool = pool.reservation(Counts::QuotaTokens, &f);
                            assert_eq!(
                                q.servable_by_reservation(at_pool),
                                Some(q.servable_at(&f, pool)),
                                "{a:?} {b:?} {f:?} {at_pool}"
                            );
                        }
                    }
                }
            }
        }
        // Both answers occur: 4 quota-token specs squared, 2 reserve modes, 4 footprints.
        assert_eq!(answered, 4 * 4 * 2 * 4);
    }

    #[test]
    fn short_form_order_and_causes() {
        let mut q = Quota::new(LimiterKind::FixedWindow, 1000, Some(2), Some(5000));
        assert_eq!(q.cause(0), ThrottleCause::RequestsPerMinute);
        assert_eq!(q.cause(1), ThrottleCause::TokensPerMinute);
        assert_eq!(q.cause(2), ThrottleCause::TokensPerDay);
        let f = fp(100, 400, 100);
        assert!(q.try_admit(0, &f).is_ok());
        assert!(q.try_admit(0, &f).is_ok());
        assert_eq!(
            q.try_admit(0, &f).err(),
            Some(0),
            "third request: RPM first"
        );
    }

    #[test]
    fn streaming_charges_overshoot_as_generated_and_releases_at_end() {
        // One quota-tokens limit, 5x output burndown, reserve I + M = 100 + 100 = 200.
        let specs = [LimitSpec {
            name: "tpm".into(),
            counts: Counts::QuotaTokens,
            per_us: MINUTE_US,
            limit: 10_000,
            limiter: LimiterKind::FixedWindow,
            charge: Charge::Reserve,
            admit: AdmitCheck::Available,
            count_rejected: false,
        }];
        let b = Burndown {
            input: 1,
            output: 5,
        };
        let mut q = Quota::from_limits(
            &specs,
            b,
            ReserveMode::InputPlusMaxTokens,
            Settle::Streaming,
        );
        assert!(q.streams());
        let f = fp(100, 100, 60); // final 100 + 5 × 60 = 400
        let adm = q.try_admit(0, &f).unwrap();
        // After 10 tokens: 100 + 50 = 150 ≤ 200 reserved: nothing more.
        assert_eq!(q.tick(1_000_000, &adm, &f, 0, 10), 0);
        // After 40 tokens: 300, 100 above the reservation.
        assert_eq!(q.tick(2_000_000, &adm, &f, 10, 40), 100);
        // At completion: 400 − 300 = 100 more.
        assert_eq!(q.settle(3_000_000, &adm, &f, 40, true), 100);
        // A short answer releases the unused reservation: 100 + 5 × 10 = 150 < 200.
        let f = fp(100, 100, 10);
        let adm = q.try_admit(4_000_000, &f).unwrap();
        assert_eq!(q.settle(5_000_000, &adm, &f, 10, true), -50);
    }
}

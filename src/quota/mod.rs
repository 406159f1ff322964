//! The provider's quota: costs, limiters and model presets (SPEC §3, §6).

pub mod cost;
pub mod limiter;
pub mod models;

pub use cost::{Burndown, ReserveMode};
pub use limiter::{Limiter, LimiterKind};

/// Microseconds in a minute: the period of per-minute limits.
pub const MINUTE_US: u64 = 60_000_000;
/// Microseconds in a day: tokens-per-day always uses a fixed window of this length.
pub const DAY_US: u64 = 86_400_000_000;

/// Which limit refused an attempt, in the order they are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleCause {
    /// `requests_per_minute`.
    RequestsPerMinute,
    /// `tokens_per_minute`.
    TokensPerMinute,
    /// `tokens_per_day`.
    TokensPerDay,
}

/// Tickets of an admitted attempt, used to settle it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Admission {
    tpm: u64,
    tpd: u64,
}

/// All limits of one scenario: RPM, TPM and TPD.
#[derive(Debug, Clone)]
pub struct Quota {
    rpm: Option<Limiter>,
    tpm: Limiter,
    tpd: Option<Limiter>,
}

impl Quota {
    /// Builds the limits; `tokens_per_day` always uses a fixed one-day window.
    pub fn new(kind: LimiterKind, tpm: u64, rpm: Option<u64>, tpd: Option<u64>) -> Self {
        Quota {
            rpm: rpm.map(|r| Limiter::new(kind, r, MINUTE_US)),
            tpm: Limiter::new(kind, tpm, MINUTE_US),
            tpd: tpd.map(|d| Limiter::new(LimiterKind::FixedWindow, d, DAY_US)),
        }
    }

    /// Whether a reservation of `reserved` could ever be admitted by every limit.
    pub fn servable(&self, reserved: u64) -> bool {
        reserved <= self.tpm.limit() && self.tpd.as_ref().is_none_or(|d| reserved <= d.limit())
    }

    /// Checks every limit; if all admit, charges them. Nothing is charged on refusal.
    #[inline]
    pub fn try_admit(&mut self, now: u64, reserved: u64) -> Result<Admission, ThrottleCause> {
        if let Some(rpm) = &mut self.rpm
            && !rpm.admits(now, 1)
        {
            return Err(ThrottleCause::RequestsPerMinute);
        }
        if !self.tpm.admits(now, reserved) {
            return Err(ThrottleCause::TokensPerMinute);
        }
        if let Some(tpd) = &mut self.tpd
            && !tpd.admits(now, reserved)
        {
            return Err(ThrottleCause::TokensPerDay);
        }
        if let Some(rpm) = &mut self.rpm {
            rpm.charge(now, 1);
        }
        let tpm = self.tpm.charge(now, reserved);
        let tpd = self.tpd.as_mut().map_or(0, |d| d.charge(now, reserved));
        Ok(Admission { tpm, tpd })
    }

    /// Settles an admitted attempt at its final cost; returns the change applied to the
    /// tokens-per-minute limit.
    #[inline]
    pub fn settle(&mut self, now: u64, adm: Admission, reserved: u64, cost: u64) -> i64 {
        if let Some(tpd) = &mut self.tpd {
            tpd.settle(now, adm.tpd, reserved, cost);
        }
        self.tpm.settle(now, adm.tpm, reserved, cost)
    }

    /// The tokens-per-minute limiter, for inspection.
    pub fn tokens_per_minute(&self) -> &Limiter {
        &self.tpm
    }
}

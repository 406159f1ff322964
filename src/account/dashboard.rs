//! "The dashboard shows headroom but I'm throttled": beside `EstimatedTPMQuotaUsage` (what
//! CloudWatch shows: the successes completing in a minute, `I + W + A × burndown`), the peak
//! quota each pool's tokens-per-minute limit held within the minute (reservations of the
//! attempts in flight included: what admission is checked against, so what throttles).
//!
//! `run --cloudwatch FILE` (or `run --dashboard`) adds this to every report format: the JSON
//! key `dashboard`, a table section, a CSV block and two lines on the `--plot` chart.

use serde::Serialize;

use crate::Scenario;
use crate::metrics::minutes::{MinuteCounts, Minutes};
use crate::report::Named;

/// One minute of the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DashboardRow {
    /// Minute index from the start of the run.
    pub minute: u64,
    /// CloudWatch's `EstimatedTPMQuotaUsage` for the minute.
    pub estimated_tpm_quota_usage: u64,
    /// The most quota the limit held at any instant of the minute.
    pub peak_quota_held: u64,
    /// Attempts throttled in the minute.
    pub throttled: u64,
}

/// The dashboard of one pool, or of the whole run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DashboardPart {
    /// The `ModelId` dimension (a pool's first model ID); absent for the totals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// The tokens-per-minute limit (for the totals, the sum of the pools' limits).
    pub limit: Option<u64>,
    /// Largest `EstimatedTPMQuotaUsage` of any minute.
    pub estimated_tpm_quota_usage_max: u64,
    /// Largest peak quota held in any minute.
    pub peak_quota_held_max: u64,
    /// Minutes with throttles whose `EstimatedTPMQuotaUsage` stayed below the limit: the
    /// dashboard showed headroom while requests were refused.
    pub throttled_minutes_below_limit: u64,
    /// One row per minute.
    pub timeline: Vec<DashboardRow>,
}

/// The `dashboard` key of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dashboard {
    /// The totals over every pool (peak: the sum of the pools' peaks).
    #[serde(flatten)]
    pub total: DashboardPart,
    /// Per pool, when the scenario has two or more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pools: Option<Named<DashboardPart>>,
}

fn part(rows: &[MinuteCounts], limit: Option<u64>, model_id: Option<String>) -> DashboardPart {
    let timeline: Vec<DashboardRow> = rows
        .iter()
        .enumerate()
        .map(|(k, c)| DashboardRow {
            minute: k as u64,
            estimated_tpm_quota_usage: c.estimated_usage,
            peak_quota_held: c.peak_held,
            throttled: c.throttles,
        })
        .collect();
    DashboardPart {
        model_id,
        limit,
        estimated_tpm_quota_usage_max: timeline
            .iter()
            .map(|r| r.estimated_tpm_quota_usage)
            .max()
            .unwrap_or(0),
        peak_quota_held_max: timeline
            .iter()
            .map(|r| r.peak_quota_held)
            .max()
            .unwrap_or(0),
        throttled_minutes_below_limit: limit.map_or(0, |l| {
            timeline
                .iter()
                .filter(|r| r.throttled > 0 && r.estimated_tpm_quota_usage < l)
                .count() as u64
        }),
        timeline,
    }
}

/// Each pool's primary (tokens-per-minute) limit.
fn pool_limits(s: &Scenario) -> Vec<Option<u64>> {
    s.pools
        .iter()
        .map(|p| p.quota.build(&p.model).primary().map(|l| l.limit()))
        .collect()
}

impl Dashboard {
    /// The dashboard of a run's minutes.
    pub fn new(s: &Scenario, minutes: &Minutes) -> Self {
        let limits = pool_limits(s);
        let total_limit = limits.iter().copied().sum::<Option<u64>>();
        let total = part(&minutes.totals(), total_limit, None);
        let pools = (s.pools.len() > 1).then(|| {
            let ids = super::cloudwatch::pool_model_ids(s);
            Named(
                s.pools
                    .iter()
                    .enumerate()
                    .map(|(p, pool)| {
                        let rows = minutes.pools.get(p).map_or(&[][..], Vec::as_slice);
                        (
                            pool.name.clone(),
                            part(rows, limits.get(p).copied().flatten(), ids.get(p).cloned()),
                        )
                    })
                    .collect(),
            )
        });
        Dashboard { total, pools }
    }

    /// The table section (after the report's table).
    pub fn to_table(&self, timeline: bool) -> String {
        let mut out = String::from(
            "\nDashboard vs quota held (tokens per minute)\n\
             EstimatedTPMQuotaUsage is what CloudWatch shows (successes completing in the minute);\n\
             peak quota held includes the reservations of attempts in flight: what throttles.\n",
        );
        let mut one = |name: &str, p: &DashboardPart| {
            let limit = p.limit.map_or("none".to_string(), |l| l.to_string());
            out.push_str(&format!(
                "  {name:<10} limit {limit}: EstimatedTPMQuotaUsage max {}, peak quota held max {}, {} throttled minute(s) below the limit\n",
                p.estimated_tpm_quota_usage_max,
                p.peak_quota_held_max,
                p.throttled_minutes_below_limit
            ));
        };
        one("total", &self.total);
        if let Some(pools) = &self.pools {
            for (n, p) in &pools.0 {
                one(n, p);
            }
        }
        if timeline {
            out.push_str(&format!(
                "\n{:>6}  {:>24}  {:>16}  {:>9}\n",
                "minute", "EstimatedTPMQuotaUsage", "peak_quota_held", "throttled"
            ));
            for r in &self.total.timeline {
                out.push_str(&format!(
                    "{:>6}  {:>24}  {:>16}  {:>9}\n",
                    r.minute, r.estimated_tpm_quota_usage, r.peak_quota_held, r.throttled
                ));
            }
        }
        out
    }

    /// The CSV block (after the report's CSV, a blank line first).
    pub fn to_csv(&self) -> String {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        let _ = w.write_record([
            "minute",
            "pool",
            "estimated_tpm_quota_usage",
            "peak_quota_held",
            "throttled",
            "limit",
        ]);
        let mut rows = |name: &str, p: &DashboardPart| {
            let limit = p.limit.map_or(String::new(), |l| l.to_string());
            for r in &p.timeline {
                let _ = w.write_record([
                    r.minute.to_string(),
                    name.to_string(),
                    r.estimated_tpm_quota_usage.to_string(),
                    r.peak_quota_held.to_string(),
                    r.throttled.to_string(),
                    limit.clone(),
                ]);
            }
        };
        rows("total", &self.total);
        if let Some(pools) = &self.pools {
            for (n, p) in &pools.0 {
                rows(n, p);
            }
        }
        let bytes = w.into_inner().unwrap_or_default();
        format!("\n{}", String::from_utf8_lossy(&bytes))
    }

    /// Adds the `dashboard` key to a JSON report.
    pub fn add_to_json(&self, report: &mut serde_json::Value) {
        if let (Some(o), Ok(v)) = (report.as_object_mut(), serde_json::to_value(self)) {
            o.insert("dashboard".into(), v);
        }
    }
}

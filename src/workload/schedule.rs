//! Rate schedules: piecewise-linear request rates, optionally repeating with a period.
//!
//! A scheduled process runs a unit-rate process in "operational time" τ (a count of
//! expected arrivals) and maps each τ to the wall-clock time t with Λ(t) = τ, where Λ is the
//! integral of the rate. This keeps the shape of the gaps (constant, exponential, gamma)
//! while the rate follows the curve.

use serde::Serialize;

/// One `[[arrivals.schedule]]` point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SchedulePoint {
    /// When the rate is `rate_per_minute`, µs from the start (or from the period's start).
    #[serde(rename = "at", serialize_with = "crate::duration::ser_duration")]
    pub at_us: u64,
    /// The rate at `at`, requests per minute.
    pub rate_per_minute: f64,
}

/// A validated schedule: points in strictly increasing time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Schedule {
    /// The points.
    pub schedule: Vec<SchedulePoint>,
    /// The curve repeats every this many µs, when set.
    #[serde(
        rename = "schedule_period",
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_duration"
    )]
    pub period_us: Option<u64>,
}

fn ser_opt_duration<S: serde::Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(us) => crate::duration::ser_duration(us, s),
        None => s.serialize_none(),
    }
}

impl Schedule {
    /// The rate at `t_us`, requests per minute.
    pub fn rate_at(&self, t_us: u64) -> f64 {
        let w = Warp::new(self);
        w.rate_at(t_us as f64) * 60e6
    }

    /// Expected arrivals in `[0, t_us)`.
    pub fn expected_arrivals(&self, t_us: u64) -> f64 {
        Warp::new(self).lambda(t_us as f64)
    }
}

#[derive(Debug, Clone, Copy)]
struct Segment {
    t0: f64,
    len: f64,
    /// Rates per µs at both ends.
    r0: f64,
    r1: f64,
    /// Λ at `t0`.
    cum0: f64,
}

impl Segment {
    fn area(&self) -> f64 {
        (self.r0 + self.r1) / 2.0 * self.len
    }

    /// The offset x in `[0, len]` with ∫₀ˣ rate = `c`.
    fn inverse(&self, c: f64) -> f64 {
        let a = (self.r1 - self.r0) / (2.0 * self.len);
        let disc = (self.r0 * self.r0 + 4.0 * a * c).max(0.0);
        let den = self.r0 + disc.sqrt();
        let x = if den > 0.0 { 2.0 * c / den } else { 0.0 };
        x.clamp(0.0, self.len)
    }
}

/// Λ(t) and its inverse for a schedule.
#[derive(Debug, Clone)]
pub struct Warp {
    segments: Vec<Segment>,
    /// Λ over `segments`.
    total: f64,
    /// Period in µs (`None`: after the last point the last rate holds forever).
    period: Option<f64>,
    /// Rate per µs after the last point when not periodic.
    tail_rate: f64,
    end: f64,
}

impl Warp {
    /// Precomputes the segments of a schedule.
    pub fn new(s: &Schedule) -> Self {
        let per_us = |p: &SchedulePoint| (p.at_us as f64, p.rate_per_minute / 60e6);
        let mut pts: Vec<(f64, f64)> = s.schedule.iter().map(per_us).collect();
        let (first, last) = match (pts.first().copied(), pts.last().copied()) {
            (Some(f), Some(l)) => (f, l),
            _ => {
                return Warp {
                    segments: Vec::new(),
                    total: 0.0,
                    period: None,
                    tail_rate: 0.0,
                    end: 0.0,
                };
            }
        };
        let period = s.period_us.map(|p| p as f64);
        match period {
            Some(p) => {
                // Wrap: the curve runs from the last point to the first one a period later.
                let gap = p - last.0 + first.0;
                let v0 = if gap > 0.0 {
                    last.1 + (first.1 - last.1) * (p - last.0) / gap
                } else {
                    first.1
                };
                if first.0 > 0.0 {
                    pts.insert(0, (0.0, v0));
                }
                pts.push((p, v0));
            }
            None => {
                if first.0 > 0.0 {
                    pts.insert(0, (0.0, first.1));
                }
            }
        }
        let mut segments = Vec::with_capacity(pts.len());
        let mut cum = 0.0;
        for w in pts.windows(2) {
            if let [(t0, r0), (t1, r1)] = *w {
                let seg = Segment {
                    t0,
                    len: t1 - t0,
                    r0,
                    r1,
                    cum0: cum,
                };
                if seg.len > 0.0 {
                    cum += seg.area();
                    segments.push(seg);
                }
            }
        }
        let end = pts.last().map_or(0.0, |p| p.0);
        Warp {
            segments,
            total: cum,
            period,
            tail_rate: last.1,
            end,
        }
    }

    /// Rate per µs at `t`.
    fn rate_at(&self, t: f64) -> f64 {
        let t = match self.period {
            Some(p) if p > 0.0 => t.rem_euclid(p),
            _ => t,
        };
        if t >= self.end {
            return if self.period.is_some() {
                self.segments.first().map_or(0.0, |s| s.r0)
            } else {
                self.tail_rate
            };
        }
        let i = self.segments.partition_point(|s| s.t0 + s.len <= t);
        self.segments.get(i).map_or(self.tail_rate, |s| {
            s.r0 + (s.r1 - s.r0) * (t - s.t0) / s.len
        })
    }

    /// Λ(t): expected arrivals in `[0, t)`.
    pub fn lambda(&self, t: f64) -> f64 {
        let (n, t) = match self.period {
            Some(p) if p > 0.0 => ((t / p).floor(), t.rem_euclid(p)),
            _ => (0.0, t),
        };
        let within = if t >= self.end {
            self.total + self.tail_rate * (t - self.end) * f64::from(self.period.is_none())
        } else {
            let i = self.segments.partition_point(|s| s.t0 + s.len <= t);
            self.segments.get(i).map_or(self.total, |s| {
                let x = t - s.t0;
                s.cum0 + s.r0 * x + (s.r1 - s.r0) / (2.0 * s.len) * x * x
            })
        };
        n * self.total + within
    }

    /// The time t (µs) with Λ(t) = `tau`, or `None` if the schedule never gets there.
    #[inline]
    pub fn inverse(&self, tau: f64) -> Option<f64> {
        let (base, rem) = match self.period {
            Some(p) => {
                if self.total <= 0.0 {
                    return None;
                }
                let n = (tau / self.total).floor();
                (n * p, tau - n * self.total)
            }
            None => (0.0, tau),
        };
        if rem >= self.total {
            if self.period.is_some() {
                // Rounding at a period boundary.
                return Some(base + self.end);
            }
            if self.tail_rate <= 0.0 {
                return None;
            }
            return Some(self.end + (rem - self.total) / self.tail_rate);
        }
        let i = self.segments.partition_point(|s| s.cum0 + s.area() <= rem);
        let s = self.segments.get(i)?;
        Some(base + s.t0 + s.inverse(rem - s.cum0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sched(points: &[(u64, f64)], period: Option<u64>) -> Schedule {
        Schedule {
            schedule: points
                .iter()
                .map(|&(s, r)| SchedulePoint {
                    at_us: s * 1_000_000,
                    rate_per_minute: r,
                })
                .collect(),
            period_us: period.map(|p| p * 1_000_000),
        }
    }

    #[test]
    fn inverse_undoes_lambda() {
        let s = sched(
            &[(0, 60.0), (600, 600.0), (1200, 0.0), (1800, 120.0)],
            Some(3600),
        );
        let w = Warp::new(&s);
        for t in [0.0, 1e6, 3e8, 6e8, 9e8, 1.3e9, 2.0e9, 3.5e9, 7.3e9] {
            let l = w.lambda(t);
            let back = w.inverse(l).unwrap();
            assert!((back - t).abs() < 1.0, "t {t} Λ {l} back {back}");
        }
        // Piecewise-linear: 60→600 over 10 min is 3300 requests.
        assert!((w.lambda(600e6) - 3300.0).abs() < 1e-6);
        // Wraps from 120/min at 30 min to 60/min at 60 min.
        assert!((s.rate_at(2_700_000_000) - 90.0).abs() < 1e-9);
        assert!((s.rate_at(3_600_000_000 + 300_000_000) - 330.0).abs() < 1e-9);
    }

    #[test]
    fn holds_last_rate_without_period() {
        let w = Warp::new(&sched(&[(60, 60.0), (120, 120.0)], None));
        // Before the first point the first rate holds.
        assert!((w.lambda(60e6) - 60.0).abs() < 1e-9);
        assert!((w.lambda(180e6) - (60.0 + 90.0 + 120.0)).abs() < 1e-6);
        let none = Warp::new(&sched(&[(0, 60.0), (60, 0.0)], None));
        assert_eq!(none.inverse(31.0), None);
        assert!(none.inverse(29.0).is_some());
    }
}

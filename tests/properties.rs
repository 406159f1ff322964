//! Properties of every run, over generated valid scenarios (small durations, so the suite
//! stays fast). Per-request facts come from the engine's trace hook
//! ([`quotasim::engine::Observer`]); aggregates from the report.

use std::collections::HashMap;

use proptest::prelude::*;
use quotasim::engine::{Observer, TraceEvent, simulate_with};
use quotasim::guard::{self, Limits};
use quotasim::quota::{Limiter, Quota};
use quotasim::report::{ExportOptions, Format};
use quotasim::{Report, Scenario};

/// A valid scenario as TOML text, from generated parameters.
fn scenario_text() -> impl Strategy<Value = String> {
    let head = (
        1u32..=4, // duration, minutes
        prop::sample::select(vec![
            "claude-sonnet-4",
            "claude-opus-4",
            "claude-3-5-haiku",
            "other",
        ]),
        1_000u64..=200_000,           // tokens_per_minute
        prop::option::of(1u64..=300), // requests_per_minute
        prop::option::of(prop_oneof![
            Just("\"auto\"".to_string()),
            (5_000u64..=2_000_000).prop_map(|n| n.to_string())
        ]),
        prop::sample::select(vec!["fixed-window", "sliding-window", "token-bucket"]),
        prop::sample::select(vec!["input+max_tokens", "input+max_tokens*burndown"]),
        0u64..=i64::MAX as u64, // seed
    );
    let client = (
        prop::option::of(1u32..=16),               // concurrency
        16u64..=4096,                              // max_tokens
        prop_oneof![
            Just("\"none\"".to_string()),
            Just("\"aws-legacy\"".to_string()),
            Just("\"aws-standard\"".to_string()),
            (1u32..=500, prop::sample::select(vec!["full", "equal", "decorrelated", "none"]))
                .prop_map(|(base, j)| format!(
                    "{{ mode = \"exponential\", base = \"{base}ms\", cap = \"5s\", jitter = \"{j}\" }}"
                )),
        ],
        prop::option::of(1u32..=6),                // max_attempts
        prop_oneof![Just(0.0f64), 0.0f64..0.3],    // error_rate
        0u32..=300,                                // throttle_latency, ms
        0u32..=1000,                               // ttft, ms
    );
    let arrivals = prop_oneof![
        (1u32..=300).prop_map(|r| format!("process = \"constant\"\nrate_per_minute = {r}")),
        (1u32..=300).prop_map(|r| format!("process = \"poisson\"\nrate_per_minute = {r}.5")),
        (1u32..=8, 0u32..=5).prop_map(|(c, t)| format!(
            "process = \"closed-loop\"\nclients = {c}\nthink_time = \"{t}s\""
        )),
    ];
    let class = (
        0u32..=3,
        prop_oneof![
            (1u64..=20_000).prop_map(|n| n.to_string()),
            (10u64..=2_000, 2u64..=5).prop_map(|(m, k)| format!(
                "{{ dist = \"lognormal\", median = {m}, p95 = {} }}",
                m * k
            )),
            (1u64..=1_000, 0u64..=5_000)
                .prop_map(|(a, b)| format!("{{ dist = \"uniform\", min = {a}, max = {} }}", a + b)),
        ],
        prop_oneof![
            (1u64..=3_000).prop_map(|n| n.to_string()),
            (10u64..=1_000, 0u64..=500)
                .prop_map(|(m, sd)| format!("{{ dist = \"normal\", mean = {m}, sd = {sd} }}")),
            (10u64..=1_000).prop_map(|m| format!("{{ dist = \"exponential\", mean = {m} }}")),
        ],
        prop::option::of(0u64..=500),   // cache_write_tokens
        prop::option::of(16u64..=4096), // class max_tokens
    );
    (head, client, arrivals, prop::collection::vec(class, 1..=3)).prop_map(
        |(head, client, arrivals, classes)| {
            let (dur, preset, tpm, rpm, tpd, limiter, reserve, seed) = head;
            let (conc, max_tokens, retry, attempts, err, throttle, ttft) = client;
            let mut t = format!(
                "seed = {seed}\nduration = \"{dur}m\"\n[model]\npreset = \"{preset}\"\n\
                 [quota]\ntokens_per_minute = {tpm}\nlimiter = \"{limiter}\"\nreserve = \"{reserve}\"\n"
            );
            if let Some(r) = rpm {
                t += &format!("requests_per_minute = {r}\n");
            }
            if let Some(d) = tpd {
                t += &format!("tokens_per_day = {d}\n");
            }
            t += &format!(
                "[service]\nerror_rate = {err}\nthrottle_latency = \"{throttle}ms\"\nttft = \"{ttft}ms\"\n\
                 [client]\nmax_tokens = {max_tokens}\nretry = {retry}\n"
            );
            if let Some(c) = conc {
                t += &format!("concurrency = {c}\n");
            }
            if let Some(a) = attempts
                && retry != "\"none\""
            {
                t += &format!("max_attempts = {a}\n");
            }
            t += &format!("[arrivals]\n{arrivals}\n");
            for (i, (w, input, output, cw, mt)) in classes.iter().enumerate() {
                // The first class always has a positive weight.
                let w = if i == 0 { w + 1 } else { *w };
                t += &format!(
                    "[requests.c{i}]\nweight = {w}\ninput_tokens = {input}\noutput_tokens = {output}\n"
                );
                if let Some(cw) = cw {
                    t += &format!("cache_write_tokens = {cw}\n");
                }
                if let Some(mt) = mt {
                    t += &format!("max_tokens = {mt}\n");
                }
            }
            t
        },
    )
}

/// Records what the report cannot show.
#[derive(Default)]
struct Checks {
    max_attempts: u32,
    tpm_limit: u64,
    /// slot → (counted, final cost announced at arrival)
    live: HashMap<u32, (bool, u64)>,
    cost_of_counted_successes: u64,
    /// The final cost of every success, as the engine reports it.
    success_costs: Vec<u64>,
    violations: Vec<String>,
}

/// The value of a fixed-size distribution.
fn fixed(d: &quotasim::workload::Dist) -> Option<u64> {
    match d {
        quotasim::workload::Dist::Fixed { value } => Some(*value),
        _ => None,
    }
}

impl Observer for Checks {
    fn on_event(&mut self, e: &TraceEvent, quota: &Quota) {
        // A token bucket never holds more than its capacity.
        if let Some(Limiter::Bucket(b)) = quota.primary()
            && b.level_tokens() > i128::from(b.capacity_tokens())
        {
            self.violations.push(format!(
                "bucket level {} > capacity {}",
                b.level_tokens(),
                b.capacity_tokens()
            ));
        }
        match *e {
            TraceEvent::Arrived {
                slot,
                cost,
                counted,
                ..
            } => {
                if self.live.insert(slot, (counted, cost)).is_some() {
                    self.violations
                        .push(format!("slot {slot} reused while live"));
                }
            }
            TraceEvent::Admitted {
                t,
                attempt,
                reserved,
                ..
            } => {
                if attempt > self.max_attempts {
                    self.violations
                        .push(format!("attempt {attempt} > max {}", self.max_attempts));
                }
                // A fixed window's count at admission never exceeds its limit.
                if let Some(Limiter::Fixed(f)) = quota.primary()
                    && f.used() > self.tpm_limit
                {
                    self.violations.push(format!(
                        "t={t}: window count {} > limit {} after admitting {reserved}",
                        f.used(),
                        self.tpm_limit
                    ));
                }
            }
            TraceEvent::Throttled { attempt, .. } | TraceEvent::ServerError { attempt, .. } => {
                if attempt > self.max_attempts {
                    self.violations
                        .push(format!("attempt {attempt} > max {}", self.max_attempts));
                }
            }
            TraceEvent::Succeeded {
                slot,
                attempts,
                cost,
                ..
            } => {
                if attempts > self.max_attempts {
                    self.violations
                        .push(format!("{attempts} attempts > max {}", self.max_attempts));
                }
                self.success_costs.push(cost);
                match self.live.remove(&slot) {
                    Some((counted, announced)) => {
                        if announced != cost {
                            self.violations.push(format!("cost {cost} != {announced}"));
                        }
                        if counted {
                            self.cost_of_counted_successes += cost;
                        }
                    }
                    None => self
                        .violations
                        .push(format!("slot {slot} succeeded but not live")),
                }
            }
            TraceEvent::Failed { slot, attempts, .. } => {
                if attempts > self.max_attempts {
                    self.violations
                        .push(format!("{attempts} attempts > max {}", self.max_attempts));
                }
                if self.live.remove(&slot).is_none() {
                    self.violations
                        .push(format!("slot {slot} failed but not live"));
                }
            }
        }
    }
}

fn load(text: &str) -> Option<Scenario> {
    let s = Scenario::from_toml_str(text, "prop.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    // Scenarios the guard rails refuse (a spinning closed loop, too big) are not runs.
    guard::check(&s, "prop.toml", &Limits::default()).ok()?;
    Some(s)
}

fn run(s: &Scenario) -> (Report, Checks) {
    let mut checks = Checks {
        max_attempts: s.client.max_attempts,
        tpm_limit: s.quota.tokens_per_minute,
        ..Default::default()
    };
    let report = simulate_with(s, &Limits::default(), Some(&mut checks)).unwrap();
    (report, checks)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn runs_keep_their_invariants(text in scenario_text()) {
        let Some(s) = load(&text) else { return Ok(()) };
        let (report, checks) = run(&s);
        prop_assert!(checks.violations.is_empty(), "{:?}\n{text}", checks.violations);
        let r = &report.requests;
        prop_assert_eq!(r.arrived, r.succeeded + r.failed + r.unfinished, "{}", text);
        // The run goes on until everything has an outcome.
        prop_assert_eq!(r.unfinished, 0);
        prop_assert!(checks.live.is_empty());
        // Quota consumed is the sum of the final costs of the (counted) successes.
        prop_assert_eq!(report.tokens.quota_consumed, checks.cost_of_counted_successes);
        // … and those costs follow from the token counts, recomputed here rather than read
        // back from the engine: input (and cache writes) at the input rate, output at the
        // output rate.
        let (ib, ob) = (s.model.input_burndown, s.model.output_burndown);
        let t = &report.tokens;
        let from_tokens = ib * t.input + ob * t.output;
        let cw_max = s.requests.iter().map(|c| fixed(&c.cache_write_tokens).unwrap_or(0)).max().unwrap_or(0);
        if cw_max == 0 {
            prop_assert_eq!(t.quota_consumed, from_tokens, "{}", text);
        } else {
            // Cache writes are not in `tokens.input`: at most cw_max per success.
            prop_assert!(t.quota_consumed >= from_tokens, "{} < {}\n{}", t.quota_consumed, from_tokens, text);
            prop_assert!(t.quota_consumed <= from_tokens + ib * cw_max * r.succeeded, "{}", text);
        }
        // Per success, when every class has fixed sizes: its cost is one of the classes'
        // `ib × (I + W) + ob × min(O, max_tokens)`.
        let costs: Option<Vec<u64>> = s
            .requests
            .iter()
            .map(|c| {
                let (i, o, w) = (fixed(&c.input_tokens)?, fixed(&c.output_tokens)?, fixed(&c.cache_write_tokens)?);
                Some(ib * (i + w) + ob * o.min(c.max_tokens))
            })
            .collect();
        if let Some(costs) = costs {
            for c in &checks.success_costs {
                prop_assert!(costs.contains(c), "cost {} not in {:?}\n{}", c, costs, text);
            }
        }
        prop_assert!(report.attempts.admitted <= report.attempts.sent);
        prop_assert_eq!(
            report.attempts.sent,
            report.attempts.admitted + report.attempts.throttled
        );
    }

    #[test]
    fn one_seed_gives_identical_output(text in scenario_text()) {
        let Some(s) = load(&text) else { return Ok(()) };
        let a = quotasim::simulate(&s).render(Format::Json, ExportOptions { timeline: true });
        let b = quotasim::simulate(&s.clone()).render(Format::Json, ExportOptions { timeline: true });
        prop_assert_eq!(a, b);
    }
}

/// The properties can fail: a checker that is told the wrong limit reports violations.
#[test]
fn the_fixed_window_check_can_fail() {
    let s = Scenario::from_toml_str(
        r#"
        duration = "2m"
        [quota]
        tokens_per_minute = 10000
        [arrivals]
        process = "constant"
        rate_per_minute = 60
        [requests.a]
        input_tokens = 100
        output_tokens = 10
        max_tokens = 100
        "#,
        "p.toml",
    )
    .unwrap();
    let mut checks = Checks {
        max_attempts: 1,
        tpm_limit: 199,
        ..Default::default()
    };
    simulate_with(&s, &Limits::default(), Some(&mut checks)).unwrap();
    assert!(checks.violations.iter().any(|v| v.contains("window count")));
}

//! Workload realism (issue 3): arrival processes, schedules, trace replay, distributions,
//! fitting and prompt caching. Statistical checks use fixed seeds.

use std::path::Path;

use quotasim::engine::rng::{Stream, stream};
use quotasim::workload::{ArrivalProcess, Arrivals, Rate, Schedule, SchedulePoint};
use quotasim::{Error, Scenario, simulate};

mod common;

use common::{load_err, qs, write};

/// Mean rate (per minute) and cv of the gaps of the first `n` arrivals.
fn rate_and_cv(arrivals: &Arrivals, n: usize, seed: u64) -> (f64, f64) {
    let mut p = ArrivalProcess::new(arrivals);
    let mut rng = stream(seed, Stream::Arrivals);
    let mut prev = p.next(&mut rng).unwrap();
    let (mut sum, mut sum2) = (0.0f64, 0.0f64);
    for _ in 0..n {
        let t = p.next(&mut rng).unwrap();
        let g = (t - prev) as f64;
        sum += g;
        sum2 += g * g;
        prev = t;
    }
    let mean = sum / n as f64;
    let sd = (sum2 / n as f64 - mean * mean).max(0.0).sqrt();
    (60e6 / mean, sd / mean)
}

fn assert_close(what: &str, got: f64, want: f64, rel: f64) {
    assert!(
        (got - want).abs() <= rel * want.abs().max(1e-12),
        "{what}: got {got}, want {want} (±{}%)",
        rel * 100.0
    );
}

#[test]
fn every_process_hits_its_rate_and_cv() {
    let cases = [
        Arrivals::Constant {
            rate: Rate::fixed(120.0),
        },
        Arrivals::Poisson {
            rate: Rate::fixed(120.0),
        },
        Arrivals::Gamma {
            rate: Rate::fixed(120.0),
            cv: 0.5,
        },
        Arrivals::Gamma {
            rate: Rate::fixed(120.0),
            cv: 2.0,
        },
        Arrivals::OnOff {
            // Fast modulation: with 20 s / 40 s periods the count over 10^5 arrivals has
            // a standard error of about 3%, too noisy for a 1% check.
            on_rate_per_minute: 300.0,
            off_rate_per_minute: 20.0,
            mean_on_us: 300_000,
            mean_off_us: 600_000,
        },
    ];
    for a in &cases {
        let (want_rate, want_cv) = a.expected_rate_and_cv().unwrap();
        let want_cv = want_cv.unwrap();
        let (rate, cv) = rate_and_cv(a, 100_000, 3);
        assert_close(&format!("{a:?} rate"), rate, want_rate, 0.01);
        if want_cv == 0.0 {
            assert!(cv < 1e-3, "{a:?}: constant gaps have cv {cv}");
        } else {
            assert_close(&format!("{a:?} cv"), cv, want_cv, 0.03);
        }
    }
}

#[test]
fn on_off_mean_rate_formula() {
    let a = Arrivals::OnOff {
        on_rate_per_minute: 300.0,
        off_rate_per_minute: 0.0,
        mean_on_us: 10_000_000,
        mean_off_us: 50_000_000,
    };
    let (rate, cv) = a.expected_rate_and_cv().unwrap();
    assert_close("rate", rate, 50.0, 1e-9);
    assert!(cv.unwrap() > 1.5, "bursty: {cv:?}");
}

fn schedule(points: &[(u64, f64)], period_s: Option<u64>) -> Schedule {
    Schedule {
        schedule: points
            .iter()
            .map(|&(s, r)| SchedulePoint {
                at_us: s * 1_000_000,
                rate_per_minute: r,
            })
            .collect(),
        period_us: period_s.map(|p| p * 1_000_000),
    }
}

#[test]
fn scheduled_processes_keep_the_long_run_rate_and_gap_shape() {
    // A flat schedule warps nothing: the same arrival times as the plain process (±1 µs of
    // rounding), so its rate and cv are the plain process's.
    let flat = || Rate::Scheduled(schedule(&[(0, 120.0)], None));
    for (plain, scheduled) in [
        (
            Arrivals::Poisson {
                rate: Rate::fixed(120.0),
            },
            Arrivals::Poisson { rate: flat() },
        ),
        (
            Arrivals::Gamma {
                rate: Rate::fixed(120.0),
                cv: 2.0,
            },
            Arrivals::Gamma {
                rate: flat(),
                cv: 2.0,
            },
        ),
    ] {
        let (mut p, mut q) = (ArrivalProcess::new(&plain), ArrivalProcess::new(&scheduled));
        let (mut r1, mut r2) = (stream(5, Stream::Arrivals), stream(5, Stream::Arrivals));
        for _ in 0..100_000 {
            let (a, b) = (p.next(&mut r1).unwrap(), q.next(&mut r2).unwrap());
            assert!(a.abs_diff(b) <= 1, "{plain:?}: {a} vs {b}");
        }
    }
    // A repeating curve: the long-run rate is its mean.
    let diurnal = schedule(&[(0, 60.0), (1800, 300.0), (2400, 0.0)], Some(3600));
    let mean = diurnal.expected_arrivals(3_600_000_000) / 60.0;
    let (rate, _) = rate_and_cv(
        &Arrivals::Poisson {
            rate: Rate::Scheduled(diurnal),
        },
        100_000,
        6,
    );
    assert_close("diurnal rate", rate, mean, 0.01);
}

#[test]
fn schedule_per_minute_counts_follow_the_curve() {
    // 10 → 100 per minute over an hour, then back down over the next, repeating.
    let s = schedule(&[(0, 10.0), (3600, 100.0)], Some(7200));
    // Constant gaps in operational time: each minute gets the curve's integral ± 1.
    let mut p = ArrivalProcess::new(&Arrivals::Constant {
        rate: Rate::Scheduled(s.clone()),
    });
    let mut rng = stream(0, Stream::Arrivals);
    let mut counts = vec![0u64; 240];
    while let Some(t) = p.next(&mut rng) {
        let m = (t / 60_000_000) as usize;
        if m >= counts.len() {
            break;
        }
        counts[m] += 1;
    }
    for (m, &c) in counts.iter().enumerate() {
        let m = m as u64;
        let want = s.expected_arrivals((m + 1) * 60_000_000) - s.expected_arrivals(m * 60_000_000);
        assert!(
            (c as f64 - want).abs() <= 1.0 + 1e-9,
            "minute {m}: {c} arrivals, curve says {want}"
        );
    }
    // Λ(1 min) = 10.75: arrivals at τ = 0, 1, …, 10.
    assert_eq!(counts[0], 11);
    assert!(counts[59] >= 98 && counts[60] >= 98, "the peak is at 1 h");
    // Poisson over 50 periods: per-minute-of-period means within 5% of the curve.
    let mut p = ArrivalProcess::new(&Arrivals::Poisson {
        rate: Rate::Scheduled(s.clone()),
    });
    let mut rng = stream(1, Stream::Arrivals);
    let mut by_minute = vec![0u64; 120];
    let periods = 50;
    while let Some(t) = p.next(&mut rng) {
        if t >= periods * 7_200_000_000 {
            break;
        }
        by_minute[((t / 60_000_000) % 120) as usize] += 1;
    }
    for blk in 0..12 {
        // Ten-minute blocks, to keep the relative noise small.
        let got: u64 = by_minute[blk * 10..blk * 10 + 10].iter().sum();
        let lo = blk as u64 * 600_000_000;
        let want =
            (s.expected_arrivals(lo + 600_000_000) - s.expected_arrivals(lo)) * periods as f64;
        assert_close(&format!("block {blk}"), got as f64, want, 0.05);
    }
}

const SCENARIO_HEAD: &str = r#"
duration = "1h"
[model]
preset = "claude-sonnet-4"
[quota]
tokens_per_minute = 100000000
[client]
max_tokens = 999
retry = "none"
"#;

#[test]
fn a_trace_replays_exactly_its_records_at_their_scaled_times() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("timestamp,input_tokens,output_tokens,max_tokens\n");
    let n = 500u64;
    let mut want = Vec::new();
    for i in 0..n {
        // Irregular times (ties included), in seconds with µs precision.
        let t_us = 1_000_000_000 + i * 1_234_567 / 2 * 2 + (i % 7) * 13;
        let (inp, out) = (100 + i * 3, 10 + i % 50);
        let max = if i % 5 == 0 {
            String::new()
        } else {
            (20 + i % 40).to_string()
        };
        csv.push_str(&format!(
            "{}.{:06},{inp},{out},{max}\n",
            t_us / 1_000_000,
            t_us % 1_000_000
        ));
        want.push((t_us, inp, out, max.parse::<u64>().unwrap_or(999)));
    }
    write(dir.path(), "t.csv", &csv);
    let text = format!(
        "{SCENARIO_HEAD}[arrivals]\nprocess = \"trace\"\nfile = \"t.csv\"\ntime_scale = 0.5\n"
    );
    let path = write(dir.path(), "s.toml", &text);
    let s = Scenario::from_path(&path, &[]).unwrap();

    // The arrival process itself: exact times and records.
    let mut p = ArrivalProcess::new(&s.arrivals);
    let mut rng = stream(0, Stream::Arrivals);
    let t0 = want[0].0;
    for &(t, inp, out, _) in &want {
        let at = p.next(&mut rng).expect("one arrival per record");
        let expect = ((t - t0) as f64 * 0.5).round() as u64;
        assert_eq!(at, expect);
        let rec = p.take_record().unwrap();
        assert_eq!((rec.input, rec.output), (inp, out));
    }
    assert_eq!(p.next(&mut rng), None);

    // A whole run: N arrivals with their token counts and max_tokens.
    let r = simulate(&s);
    assert_eq!(r.requests.arrived, n);
    assert_eq!(r.requests.succeeded, n);
    assert_eq!(r.tokens.input, want.iter().map(|w| w.1).sum::<u64>());
    let output: u64 = want.iter().map(|w| w.2.min(w.3)).sum();
    assert_eq!(r.tokens.output, output);
    let truncated = want.iter().filter(|w| w.2 > w.3).count() as u64;
    assert_eq!(r.requests.truncated, truncated);
    let reserved: u64 = want.iter().map(|w| w.1 + w.3).sum();
    assert_eq!(r.tokens.reserved, reserved);
    // Deterministic.
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        serde_json::to_string(&simulate(&s)).unwrap()
    );
}

#[test]
fn trace_repeat_and_classes() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "t.csv",
        "timestamp,input_tokens,output_tokens,class\n0,10,5,a\n10,20,5,b\n20,30,5,\n",
    );
    let text = format!(
        "{SCENARIO_HEAD}[arrivals]\nprocess = \"trace\"\nfile = \"t.csv\"\nrepeat = 3\n\
         [requests.a]\nmax_tokens = 7\ncache_write_tokens = 100\n[requests.b]\ncache_read_tokens = 1000\n"
    );
    let path = write(dir.path(), "s.toml", &text);
    let s = Scenario::from_path(&path, &[]).unwrap();
    let mut p = ArrivalProcess::new(&s.arrivals);
    let mut rng = stream(0, Stream::Arrivals);
    let times: Vec<u64> = std::iter::from_fn(|| p.next(&mut rng)).collect();
    // Period = span + one mean gap = 30 s.
    let s30 = 30_000_000;
    assert_eq!(
        times,
        vec![
            0,
            10_000_000,
            20_000_000,
            s30,
            s30 + 10_000_000,
            s30 + 20_000_000,
            2 * s30,
            2 * s30 + 10_000_000,
            2 * s30 + 20_000_000
        ]
    );
    let r = simulate(&s);
    assert_eq!(r.requests.arrived, 9);
    // Class a: reservation 10 + 100 + 7; b: 20 + client 999; none: 30 + 999.
    assert_eq!(r.tokens.reserved, 3 * (117 + 1019 + 1029));
    // reserve_cache_reads holds b's 1000 cache-read tokens as well.
    let held = Scenario::from_path(
        &path,
        &[quotasim::Override::parse("quota.reserve_cache_reads=true").unwrap()],
    )
    .unwrap();
    assert_eq!(simulate(&held).tokens.reserved, 3 * (117 + 2019 + 1029));
    assert_eq!(
        simulate(&held).tokens.quota_consumed,
        r.tokens.quota_consumed
    );
}

/// Runs `quotasim check` on a trace scenario and returns stderr (asserting exit 2).
fn check_fails(trace_name: &str, trace: &str, extra: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), trace_name, trace);
    let text =
        format!("{SCENARIO_HEAD}[arrivals]\nprocess = \"trace\"\nfile = \"{trace_name}\"\n{extra}");
    let path = write(dir.path(), "s.toml", &text);
    let out = qs().arg("run").arg(&path).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn every_malformed_trace_line_is_exit_2_naming_file_and_line() {
    let head = "timestamp,input_tokens,output_tokens,max_tokens\n";
    let cases: &[(&str, &str, &str)] = &[
        ("bad input", "1,10,5,\n2,ten,5,\n", "t.csv:3:3"),
        ("negative output", "1,10,5,\n2,10,-5,\n", "t.csv:3:6"),
        ("max_tokens 0", "1,10,5,0\n", "t.csv:2:8"),
        ("missing field", "1,10,5,\n2,10\n", "t.csv:3:1"),
        ("empty input", "1,,5,\n", "t.csv:2:3"),
        ("bad timestamp", "1,10,5,\nyesterday,10,5,\n", "t.csv:3:1"),
        ("out of order", "5,10,5,\n4,10,5,\n", "t.csv:3:1"),
        (
            "mixed time forms",
            "5,10,5,\n2025-06-01T00:00:00Z,10,5,\n",
            "t.csv:3:1",
        ),
    ];
    for (what, body, at) in cases {
        let err = check_fails("t.csv", &format!("{head}{body}"), "");
        assert!(err.contains(at), "{what}: expected {at} in\n{err}");
        assert!(!err.contains("panicked"), "{what}: {err}");
    }
    // Header problems.
    let err = check_fails("t.csv", "time,input_tokens,output_tokens\n1,2,3\n", "");
    assert!(
        err.contains("t.csv:1:1") && err.contains("`timestamp`"),
        "{err}"
    );
    let err = check_fails(
        "t.csv",
        "timestamp,input_tokens,output_tokens,max_token\n1,2,3,4\n",
        "",
    );
    assert!(
        err.contains("t.csv:1:") && err.contains("did you mean `max_tokens`"),
        "{err}"
    );
    let err = check_fails("t.csv", "", "");
    assert!(err.contains("t.csv") && err.contains("empty"), "{err}");
    // Unknown class, with a suggestion.
    let err = check_fails(
        "t.csv",
        "timestamp,input_tokens,output_tokens,class\n1,2,3,chat\n2,2,3,chta\n",
        "[requests.chat]\nmax_tokens = 10\n",
    );
    assert!(
        err.contains("t.csv:3:") && err.contains("did you mean \"chat\""),
        "{err}"
    );
    // Bedrock logs.
    let good = r#"{"timestamp":"2025-06-01T12:00:00Z","input":{"inputTokenCount":5},"output":{"outputTokenCount":7}}"#;
    let cases: &[(&str, String, &str)] = &[
        ("not json", format!("{good}\n{{oops\n"), "t.jsonl:2:"),
        (
            "no output count",
            format!(
                "{good}\n{good}\n{}\n",
                good.replace(r#""outputTokenCount":7"#, r#""x":1"#)
            ),
            "t.jsonl:3:",
        ),
        (
            "bad timestamp",
            good.replace("2025-06-01T12:00:00Z", "noon"),
            "t.jsonl:1:",
        ),
    ];
    for (what, body, at) in cases {
        let err = check_fails("t.jsonl", body, "");
        assert!(err.contains(at), "{what}: expected {at} in\n{err}");
    }
}

#[test]
fn fit_recovers_a_synthetic_traces_parameters() {
    // Known truth: gamma arrivals at 30/min with cv 2; input lognormal median 1000 p95
    // 4000; output median 300 p95 900; max_tokens 2048.
    let dir = tempfile::tempdir().unwrap();
    let truth = Scenario::from_toml_str(
        r#"
        duration = "1h"
        [quota]
        tokens_per_minute = 1000
        [arrivals]
        process = "gamma"
        rate_per_minute = 30
        cv = 2
        [requests.chat]
        input_tokens = { dist = "lognormal", median = 1000, p95 = 4000 }
        output_tokens = { dist = "lognormal", median = 300, p95 = 900 }
        max_tokens = 2048
        "#,
        "truth.toml",
    )
    .unwrap();
    let mut p = ArrivalProcess::new(&truth.arrivals);
    let mut rng_a = stream(9, Stream::Arrivals);
    let mut rng_t = stream(9, Stream::Tokens);
    let mut csv = String::from("timestamp,input_tokens,output_tokens,max_tokens\n");
    for _ in 0..40_000 {
        let t = p.next(&mut rng_a).unwrap();
        let s = truth.requests[0].sample(&mut rng_t);
        csv.push_str(&format!(
            "{}.{:06},{},{},{}\n",
            t / 1_000_000,
            t % 1_000_000,
            s.input,
            s.output,
            s.max_tokens
        ));
    }
    let path = write(dir.path(), "synthetic.csv", &csv);
    let fit = quotasim::fit::fit(&path, quotasim::trace::TraceFormat::Csv).unwrap();
    assert_eq!(fit.records, 40_000);
    assert_close("rate", fit.rate_per_minute, 30.0, 0.05);
    assert_close("cv", fit.cv, 2.0, 0.05);
    let c = &fit.classes[0];
    let quotasim::fit::SizeFit::Lognormal { median, p95 } = c.input else {
        panic!("{:?}", c.input)
    };
    assert_close("input median", median as f64, 1000.0, 0.05);
    assert_close("input p95", p95 as f64, 4000.0, 0.05);
    let quotasim::fit::SizeFit::Lognormal { median, p95 } = c.output else {
        panic!("{:?}", c.output)
    };
    assert_close("output median", median as f64, 300.0, 0.05);
    assert_close("output p95", p95 as f64, 900.0, 0.05);
    assert_eq!(c.max_tokens, Some(2048));

    // The fragment is ready to use: add duration and a quota and it loads.
    let fragment = fit.to_toml();
    let scenario = format!("duration = \"10m\"\n[quota]\ntokens_per_minute = 200000\n{fragment}");
    let s = Scenario::from_toml_str(&scenario, "fitted.toml")
        .unwrap_or_else(|e| panic!("{e}\n{scenario}"));
    assert!(matches!(s.arrivals, Arrivals::Gamma { .. }));
}

#[test]
fn fit_fragment_of_the_bundled_traces_loads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/traces");
    for name in ["chat-4h.csv", "invocations.jsonl"] {
        let out = qs().arg("fit").arg(root.join(name)).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let fragment = String::from_utf8(out.stdout).unwrap();
        let text = format!("duration = \"4h\"\n[quota]\ntokens_per_minute = 200000\n{fragment}");
        Scenario::from_toml_str(&text, "fitted.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    }
    let out = qs()
        .arg("fit")
        .arg(root.join("missing.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bundled_trace_scenario_runs_deterministically() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/replay-chat-trace.toml");
    let run = || {
        qs().args(["run", "--format", "json"])
            .arg(&path)
            .output()
            .unwrap()
    };
    let (a, b) = (run(), run());
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert_eq!(a.stdout, b.stdout);
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    let lines = std::fs::read_to_string(path.with_file_name("traces/chat-4h.csv"))
        .unwrap()
        .lines()
        .count() as u64;
    assert_eq!(v["requests"]["arrived"], lines - 1);
}

const BASE: &str = r#"
duration = "10m"
[quota]
tokens_per_minute = 100000
[requests.chat]
input_tokens = 100
output_tokens = 100
"#;

#[test]
fn keys_that_do_not_apply_are_errors() {
    let no_classes = "duration = \"10m\"\n[quota]\ntokens_per_minute = 100000\n";
    let d = load_err(&format!(
        "{BASE}[arrivals]\nprocess = \"poisson\"\nrate_per_minute = 5\ncv = 2\n"
    ));
    assert_eq!(d.key_path.as_deref(), Some("arrivals.cv"));
    assert!(d.message.contains("does not apply"), "{}", d.message);
    let d = load_err(&format!(
        "{BASE}[arrivals]\nprocess = \"poisson\"\nrate_per_minute = 5\n[[arrivals.schedule]]\nat = 0\nrate_per_minute = 3\n"
    ));
    assert!(d.message.contains("alternatives"), "{}", d.message);
    let d = load_err(&format!("{BASE}[arrivals]\nprocess = \"gama\"\n"));
    assert_eq!(d.help.as_deref(), Some("did you mean \"gamma\"?"));
    let d = load_err(&format!(
        "{BASE}[arrivals]\nprocess = \"gamma\"\nrate_per_minute = 5\n"
    ));
    assert_eq!(d.key_path.as_deref(), Some("arrivals.cv"));
    let d = load_err(&format!(
        "{BASE}[arrivals]\nprocess = \"constant\"\n[[arrivals.schedule]]\nat = \"1h\"\nrate_per_minute = 3\n[[arrivals.schedule]]\nat = \"30m\"\nrate_per_minute = 3\n"
    ));
    assert_eq!(d.key_path.as_deref(), Some("arrivals.schedule[1].at"));
    assert!(d.location.is_some());
    let d = load_err(&format!(
        "{BASE}[arrivals]\nprocess = \"on-off\"\non_rate_per_minute = 5\nmean_on = \"1m\"\n"
    ));
    assert_eq!(d.key_path.as_deref(), Some("arrivals.mean_off"));
    let d = load_err(&format!(
        "{no_classes}[arrivals]\nprocess = \"trace\"\nfile = \"x.txt\"\n"
    ));
    assert!(d.message.contains("format"), "{}", d.message);
    let d = load_err(&format!(
        "{no_classes}[arrivals]\nprocess = \"trace\"\nfile = \"nope.csv\"\n"
    ));
    // A trace that cannot be opened is reported at the scenario key that names it.
    assert!(
        d.message.contains("nope.csv") && d.message.contains("no such file"),
        "{d}"
    );
    assert_eq!(d.key_path.as_deref(), Some("arrivals.file"));
}

#[test]
fn new_distributions_resolve_sample_and_honour_bounds() {
    let dists = [
        r#"{ dist = "gamma", mean = 500, sd = 250, min = 100, max = 900 }"#,
        r#"{ dist = "pareto", scale = 100, shape = 1.5, max = 5000 }"#,
        r#"{ dist = "empirical", values = [100, 200, 2000], weights = [1, 2, 1], max = 1500 }"#,
        r#"{ dist = "mixture", components = [ { dist = "fixed", value = 50, weight = 3 }, { dist = "lognormal", median = 1000, p95 = 3000, weight = 1 } ], min = 60, max = 2500 }"#,
    ];
    for d in dists {
        let text = BASE.replace("input_tokens = 100", &format!("input_tokens = {d}"))
            + "[arrivals]\nprocess = \"constant\"\nrate_per_minute = 1\n";
        let s = Scenario::from_toml_str(&text, "s.toml").unwrap_or_else(|e| panic!("{d}: {e}"));
        let dist = &s.requests[0].input_tokens;
        let mut rng = stream(1, Stream::Tokens);
        let xs: Vec<u64> = (0..20_000).map(|_| dist.sample(&mut rng)).collect();
        let (lo, hi) = (*xs.iter().min().unwrap(), *xs.iter().max().unwrap());
        assert!(hi <= dist.max_value(), "{d}: {hi}");
        let mean = xs.iter().sum::<u64>() as f64 / xs.len() as f64;
        match d {
            _ if d.contains("gamma") => {
                assert!(lo >= 100 && hi <= 900);
                assert_close("gamma mean", mean, 500.0, 0.03);
            }
            _ if d.contains("pareto") => assert!(lo >= 100 && hi <= 5000),
            _ if d.contains("mixture") => {
                assert_eq!(lo, 60, "the fixed 50 component is clamped to min");
                let share = xs.iter().filter(|&&x| x == 60).count() as f64 / xs.len() as f64;
                assert_close("mixture share", share, 0.75, 0.03);
            }
            _ => {
                let share = xs.iter().filter(|&&x| x == 200).count() as f64 / xs.len() as f64;
                assert_close("empirical share", share, 0.5, 0.03);
                assert_eq!(hi, 1500, "2000 is clamped to max");
            }
        }
    }
    // A CSV column as an empirical distribution, and errors in its file name the line.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "sizes.csv", "id,out\na,10\nb,30\nc,30\n");
    let text = BASE.replace(
        "output_tokens = 100",
        r#"output_tokens = { dist = "empirical", file = "sizes.csv", column = "out" }"#,
    ) + "[arrivals]\nprocess = \"constant\"\nrate_per_minute = 1\n";
    let p = write(dir.path(), "s.toml", &text);
    let s = Scenario::from_path(&p, &[]).unwrap();
    assert_eq!(s.requests[0].output_tokens.max_value(), 30);
    write(dir.path(), "sizes.csv", "id,out\na,10\nb,x\n");
    let Err(Error::Invalid(d)) = Scenario::from_path(&p, &[]) else {
        panic!()
    };
    assert!(d.message.contains("sizes.csv:3:"), "{d}");
    assert_eq!(
        d.key_path.as_deref(),
        Some("requests.chat.output_tokens.file")
    );
    // A quoted field may hold line breaks (a prompt column exported with its text): the
    // record goes on to the line that closes the quote, so `b`'s 30 is one value, not a
    // broken row. Values 10 and 30: the largest is 30.
    write(
        dir.path(),
        "sizes.csv",
        "id,prompt,out\na,\"one line\",10\nb,\"first\nsecond, with a comma\",30\n",
    );
    let s = Scenario::from_path(&p, &[]).unwrap();
    assert_eq!(s.requests[0].output_tokens.max_value(), 30);
    // An error after a line break names the line its field is on: `second",x` is line 4,
    // and its `x` is column 9 (`second` 1-6, the quote 7, the comma 8).
    write(
        dir.path(),
        "sizes.csv",
        "id,prompt,out\na,\"one line\",10\nb,\"first\nsecond\",x\n",
    );
    let Err(Error::Invalid(d)) = Scenario::from_path(&p, &[]) else {
        panic!()
    };
    assert!(d.message.contains("sizes.csv:4:9: column `out`"), "{d}");
    // Parameters of another distribution, and errors inside a mixture.
    let arrivals = "[arrivals]\nprocess = \"constant\"\nrate_per_minute = 1\n";
    let d = load_err(
        &(BASE.replace(
            "input_tokens = 100",
            r#"input_tokens = { dist = "pareto", scale = 1, shape = 2, mean = 3 }"#,
        ) + arrivals),
    );
    assert_eq!(
        d.key_path.as_deref(),
        Some("requests.chat.input_tokens.mean")
    );
    let d = load_err(&(BASE.replace(
        "input_tokens = 100",
        r#"input_tokens = { dist = "mixture", components = [ { dist = "gamma", mean = 1, weight = 1 } ] }"#,
    ) + arrivals));
    assert_eq!(
        d.key_path.as_deref(),
        Some("requests.chat.input_tokens.components[0]")
    );
    assert!(d.message.contains("gamma"), "{}", d.message);
}

#[test]
fn reserve_cache_reads_holds_them_until_settlement() {
    let text = BASE.replace(
        "output_tokens = 100",
        "output_tokens = 100\ncache_read_tokens = 5000\nmax_tokens = 200",
    ) + "[arrivals]\nprocess = \"constant\"\nrate_per_minute = 10\n";
    let off = Scenario::from_toml_str(&text, "s.toml").unwrap();
    let on = Scenario::from_toml_str(
        &text.replace(
            "tokens_per_minute = 100000",
            "tokens_per_minute = 100000\nreserve_cache_reads = true",
        ),
        "s.toml",
    )
    .unwrap();
    let (a, b) = (simulate(&off), simulate(&on));
    assert_eq!(a.tokens.reserved, 100 * (100 + 200));
    assert_eq!(b.tokens.reserved, 100 * (100 + 5000 + 200));
    // Released at settlement: the final cost is the same.
    assert_eq!(a.tokens.quota_consumed, b.tokens.quota_consumed);
    assert_eq!(a.tokens.quota_consumed, 100 * (100 + 100));
    // Held reads can make a class unservable.
    let tight = text.replace(
        "tokens_per_minute = 100000",
        "tokens_per_minute = 4000\nreserve_cache_reads = true",
    );
    let s = Scenario::from_toml_str(&tight, "s.toml").unwrap();
    assert_eq!(s.unservable_warnings().len(), 1);
    assert_eq!(simulate(&s).requests.unservable, 100);
}

/// A trace scenario whose quota is only `[[quota.limits]]` (no short-form
/// `tokens_per_minute`): the trace check once compared each record with a limit of 0 and
/// warned that all 3701 records were unservable. Servability is now the quota's own rule.
///
/// Derivation: every record of `chat-4h.csv` has input ≤ 8,192 and max_tokens 4,096, so its
/// `input+max_tokens` reservation is at most about 12,300 quota tokens, far below 200,000:
/// no record is unservable. With a 5,000-token limit instead, a record is unservable exactly
/// when input + max_tokens > 5,000, i.e. input > 904 (max_tokens is 4,096 throughout); the
/// count loading finds must equal that count recomputed from the CSV here, and the run
/// (whose 4 h duration replays every record) must count the same number.
#[test]
fn trace_with_only_quota_limits_is_checked_by_the_quotas_own_rule() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let text = |limit: u64| {
        format!(
            r#"
duration = "4h"
[model]
preset = "claude-sonnet-4"
[quota]
[[quota.limits]]
name = "tpm"
counts = "quota-tokens"
limit = {limit}
[arrivals]
process = "trace"
file = "traces/chat-4h.csv"
"#
        )
    };
    let load = |limit: u64| {
        Scenario::from_toml_str(&text(limit), dir.join("only-limits.toml").to_str().unwrap())
            .unwrap()
    };
    let s = load(200_000);
    let Arrivals::Trace(t) = &s.arrivals else {
        panic!("not a trace")
    };
    assert_eq!(t.info.records, 3701);
    assert_eq!(t.unservable, 0);
    assert!(
        !s.workload_warnings()
            .iter()
            .any(|w| w.contains("unservable")),
        "{:?}",
        s.workload_warnings()
    );

    // Recompute the unservable records of a 5,000-token limit from the CSV itself.
    let csv = std::fs::read_to_string(dir.join("traces/chat-4h.csv")).unwrap();
    let mut want = 0u64;
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (input, max_tokens): (u64, u64) = (f[2].parse().unwrap(), f[4].parse().unwrap());
        let cw: u64 = f[6].parse().unwrap();
        if input + cw + max_tokens > 5_000 {
            want += 1;
        }
    }
    assert!(want > 0 && want < 3701, "{want}");
    let s = load(5_000);
    let Arrivals::Trace(t) = &s.arrivals else {
        panic!("not a trace")
    };
    assert_eq!(t.unservable, want);
    assert_eq!(simulate(&s).requests.unservable, want);
}

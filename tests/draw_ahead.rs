//! Drawing arrivals ahead on a second thread changes nothing in the report.
//!
//! Random scenarios (seeded, reproducible by case number) with every arrival process the
//! helper takes (constant, Poisson, gamma, each with a fixed rate or a rate schedule: times
//! and sizes drawn ahead; closed loop and on-off: sizes only), every token distribution, one
//! to three workloads on one or two pools, run with `DrawAhead::Always` and
//! `DrawAhead::Never`: the JSON reports must be the same, byte for byte. A run stopped early
//! by `max_events` must end (the helper sees the event loop gone) with the same partial
//! report.

use quotasim::engine::{DrawAhead, Limits, simulate_with, workloads_drawn_ahead};

mod common;

use common::{Gen, load};

const CASES: u64 = 40;

fn tokens(g: &mut Gen) -> String {
    match g.below(8) {
        0 => format!("{}", 1 + g.below(4000)),
        1 => format!(
            "{{ dist = \"lognormal\", median = {}, p95 = {} }}",
            100 + g.below(2000),
            3000 + g.below(9000)
        ),
        2 => format!(
            "{{ dist = \"normal\", mean = {}, sd = {}, min = 10 }}",
            200 + g.below(3000),
            10 + g.below(900)
        ),
        3 => format!(
            "{{ dist = \"uniform\", min = {}, max = {} }}",
            1 + g.below(100),
            200 + g.below(4000)
        ),
        4 => format!(
            "{{ dist = \"exponential\", mean = {} }}",
            50 + g.below(2000)
        ),
        5 => format!(
            "{{ dist = \"gamma\", mean = {}, sd = {} }}",
            100 + g.below(2000),
            50 + g.below(900)
        ),
        6 => "{ dist = \"empirical\", values = [12, 400, 1800], weights = [1, 2, 1] }".into(),
        _ => format!(
            "{{ dist = \"mixture\", components = [ {{ dist = \"fixed\", value = {}, weight = 3 }}, {{ dist = \"pareto\", scale = 100, shape = 2.5, weight = 1 }} ] }}",
            10 + g.below(500)
        ),
    }
}

fn arrivals(g: &mut Gen, open: bool) -> String {
    if !open {
        return if g.below(2) == 0 {
            format!(
                "process = \"closed-loop\"\nclients = {}\nthink_time = \"{}s\"\n",
                1 + g.below(20),
                1 + g.below(10)
            )
        } else {
            format!(
                "process = \"on-off\"\non_rate_per_minute = {}\noff_rate_per_minute = {}\nmean_on = \"{}s\"\nmean_off = \"{}s\"\n",
                60 + g.below(900),
                g.below(30),
                10 + g.below(120),
                10 + g.below(120)
            )
        };
    }
    let process = ["constant", "poisson", "gamma"][g.below(3) as usize];
    let mut s = format!("process = \"{process}\"\n");
    if process == "gamma" {
        s.push_str(&format!("cv = {}\n", [0.5, 1.5, 3.0][g.below(3) as usize]));
    }
    if g.below(3) == 0 {
        s.push_str(&format!(
            "[[arrivals.schedule]]\nat = \"0s\"\nrate_per_minute = {}\n[[arrivals.schedule]]\nat = \"10m\"\nrate_per_minute = {}\n",
            10 + g.below(300),
            10 + g.below(600)
        ));
    } else {
        s.push_str(&format!("rate_per_minute = {}\n", 5 + g.below(900)));
    }
    s
}

/// One workload's `[client]`, `[arrivals]` and classes, under `prefix` (`""` for the short
/// form, `workloads.NAME.` otherwise).
fn workload(g: &mut Gen, prefix: &str, open: bool) -> String {
    let mut s = format!(
        "[{prefix}client]\nconcurrency = {}\nretry = \"{}\"\n",
        [2, 16, 200][g.below(3) as usize],
        ["aws-standard", "aws-adaptive", "none"][g.below(3) as usize]
    );
    if g.below(2) == 0 {
        s.push_str("stream = true\n");
    }
    s.push_str(&format!("[{prefix}arrivals]\n{}", arrivals(g, open)));
    // The schedule's tables were written under `arrivals`: put them under the prefix.
    let s = s.replace(
        "[[arrivals.schedule]]",
        &format!("[[{prefix}arrivals.schedule]]"),
    );
    let mut s = s;
    for k in 0..1 + g.below(3) {
        s.push_str(&format!(
            "[{prefix}requests.c{k}]\nweight = {}\ninput_tokens = {}\noutput_tokens = {}\n",
            1 + g.below(5),
            tokens(g),
            tokens(g)
        ));
        if g.below(4) == 0 {
            s.push_str("stream = true\n");
        }
        if g.below(4) == 0 {
            s.push_str(&format!("cache_read_tokens = {}\n", tokens(g)));
        }
    }
    s
}

fn scenario(case: u64) -> String {
    let mut g = Gen(case ^ 0xa4ea_d5ee);
    let mut s = format!(
        "name = \"ahead-{case}\"\nseed = {}\nduration = \"{}m\"\n[model]\npreset = \"claude-sonnet-4\"\n",
        g.below(1000),
        5 + g.below(40)
    );
    let workloads = 1 + g.below(3);
    if workloads == 1 {
        s.push_str(&format!(
            "[quota]\ntokens_per_minute = {}\n",
            [50_000, 400_000, 2_000_000][g.below(3) as usize]
        ));
        let open = g.below(3) > 0;
        s.push_str(&workload(&mut g, "", open));
        return s;
    }
    s.push_str("[pools.a]\ntokens_per_minute = 300000\n[pools.b]\ntokens_per_minute = 900000\n");
    for w in 0..workloads {
        let route = [
            "\"a\"",
            "\"b\"",
            "{ pools = [\"a\", \"b\"], policy = \"spillover\" }",
            "{ pools = [\"a\", \"b\"], policy = \"weighted\", weights = [1, 3] }",
        ][g.below(4) as usize];
        s.push_str(&format!("[workloads.w{w}]\nroute = {route}\n"));
        let open = g.below(3) > 0;
        s.push_str(&workload(&mut g, &format!("workloads.w{w}."), open));
    }
    s
}

fn limits(mode: DrawAhead, max_events: u64) -> Limits {
    Limits {
        draw_ahead: mode,
        max_events,
        ..Limits::unlimited()
    }
}

fn json(r: &quotasim::Report) -> String {
    serde_json::to_string_pretty(r).expect("the report serialises")
}

#[test]
fn drawing_ahead_gives_the_same_report() {
    let mut arrived = 0;
    for case in 0..CASES {
        let text = scenario(case);
        let s = load(&text);
        // Not vacuous: at least one workload is drawn ahead in every case.
        assert!(
            workloads_drawn_ahead(&s, &limits(DrawAhead::Always, u64::MAX)) > 0,
            "case {case}: nothing drawn ahead\n{text}"
        );
        assert_eq!(
            workloads_drawn_ahead(&s, &limits(DrawAhead::Never, u64::MAX)),
            0
        );
        let ahead = simulate_with(&s, &limits(DrawAhead::Always, u64::MAX), None)
            .unwrap_or_else(|e| *e.report);
        let inline = simulate_with(&s, &limits(DrawAhead::Never, u64::MAX), None)
            .unwrap_or_else(|e| *e.report);
        assert_eq!(
            json(&ahead),
            json(&inline),
            "case {case}: drawing ahead changed the report\n{text}"
        );
        arrived += inline.requests.arrived;
    }
    // Enough arrivals that several chunks were handed over in some cases.
    assert!(arrived > 200_000, "only {arrived} arrivals in all");
}

#[test]
fn a_run_stopped_early_stops_its_helper() {
    let s = load(
        "name = \"stop\"\nduration = \"24h\"\n[quota]\ntokens_per_minute = 2000000\n\
         [arrivals]\nprocess = \"poisson\"\nrate_per_minute = 600\n\
         [requests.r]\ninput_tokens = 1000\noutput_tokens = 200\n",
    );
    for max_events in [1, 5_000, 100_000] {
        let stopped = |mode| match simulate_with(&s, &limits(mode, max_events), None) {
            Err(e) => json(&e.report),
            Ok(_) => panic!("{max_events} events should stop a day of 600/min"),
        };
        assert_eq!(stopped(DrawAhead::Always), stopped(DrawAhead::Never));
    }
}

#[test]
fn auto_draws_ahead_only_for_long_open_loop_runs() {
    let with = |arrivals: &str, duration: &str| {
        let s = load(&format!(
            "name = \"auto\"\nduration = \"{duration}\"\n[quota]\ntokens_per_minute = 2000000\n\
             [arrivals]\n{arrivals}\n[requests.r]\ninput_tokens = 1000\noutput_tokens = 200\n"
        ));
        (
            workloads_drawn_ahead(&s, &limits(DrawAhead::Auto, u64::MAX)),
            workloads_drawn_ahead(&s, &limits(DrawAhead::Always, u64::MAX)),
        )
    };
    let poisson = "process = \"poisson\"\nrate_per_minute = 600";
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // 600/min for 6 h: 216,000 arrivals, worth a thread when a second core exists.
    assert_eq!(with(poisson, "6h"), (usize::from(cores >= 2), 1));
    // 600/min for 5 min: 3,000, below the threshold.
    assert_eq!(with(poisson, "5m"), (0, 1));
    let two = usize::from(cores >= 2);
    // A closed loop's users send when the run says so, but their sizes are drawn ahead: at
    // most 10 users × 6 h / 1 s = 216,000 requests; at most 2,400 with a 90 s think time.
    let closed =
        |think: &str| format!("process = \"closed-loop\"\nclients = 10\nthink_time = \"{think}\"");
    assert_eq!(with(&closed("1s"), "6h"), (two, 1));
    assert_eq!(with(&closed("90s"), "6h"), (0, 1));
    // On-off: the same (its state changes count as events, so its times stay here); 300 a
    // minute on average for 6 h.
    let on_off =
        "process = \"on-off\"\non_rate_per_minute = 600\nmean_on = \"1m\"\nmean_off = \"1m\"";
    assert_eq!(with(on_off, "6h"), (two, 1));
    // A trace's sizes are its records': nothing is drawn ahead.
    let trace = load(&format!(
        "name = \"trace\"\nduration = \"1h\"\n[quota]\ntokens_per_minute = 2000000\n\
         [arrivals]\nprocess = \"trace\"\nfile = \"{}/scenarios/traces/chat-4h.csv\"\n",
        env!("CARGO_MANIFEST_DIR")
    ));
    assert_eq!(
        workloads_drawn_ahead(&trace, &limits(DrawAhead::Always, u64::MAX)),
        0
    );
    // Inside a rayon worker (a sweep's run), Auto leaves the cores to the other runs.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    assert_eq!(pool.install(|| with(poisson, "6h")).0, 0);
}

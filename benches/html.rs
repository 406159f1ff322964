//! What `--html` costs: the time to write a run's page next to the time of the run itself
//! (target: under 100 ms added), and the time and size of a 1,000-point sweep's page
//! (target: under 2 MB).
//!
//!     cargo bench --bench html
//!
//! The sizes are printed once before the timings.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use quotasim::sweep::grid::Vary;
use quotasim::sweep::{SweepOptions, execute, plan_sweep};
use quotasim::{Scenario, simulate};

fn html(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut group = c.benchmark_group("html");
    group.sample_size(10);
    for name in ["two-apps-one-account", "chat-sonnet4-200k"] {
        let path = root.join("scenarios").join(format!("{name}.toml"));
        let s = Scenario::from_path(&path, &[]).unwrap();
        let report = simulate(&s);
        let page = quotasim::report::html::run_html(&report, &s, &[]);
        println!("run page of {name}: {} bytes", page.len());
        group.bench_function(format!("run_{name}_simulate"), |b| {
            b.iter(|| black_box(simulate(&s)))
        });
        group.bench_function(format!("run_{name}_page"), |b| {
            b.iter(|| black_box(quotasim::report::html::run_html(&report, &s, &[])))
        });
    }
    // 25 max_tokens × 40 concurrency values of a 10-minute chat workload.
    let opts = SweepOptions {
        vary: vec![
            Vary::parse("max_tokens=256..6400:+256").unwrap(),
            Vary::parse("concurrency=1..40").unwrap(),
        ],
        set: vec!["duration=\"10m\"".into()],
        constraints: vec![
            quotasim::assertion::Constraint::parse("throttle_rate <= 0.01").unwrap(),
            quotasim::assertion::Constraint::parse("latency_ms.e2e.p99 <= 60000").unwrap(),
        ],
        ..SweepOptions::default()
    };
    let plan = plan_sweep(&root.join("benches/sweep-scenario.toml"), &opts).unwrap();
    assert_eq!(plan.points.len(), 1000);
    let report = execute(&plan, None, &|| {}).unwrap();
    let metric = "throughput.requests_per_minute";
    let page = quotasim::sweep::format::render_html(&report, metric);
    println!("1,000-point sweep page: {} bytes", page.len());
    assert!(page.len() < 2_000_000);
    group.bench_function("sweep_1000_points_page", |b| {
        b.iter(|| black_box(quotasim::sweep::format::render_html(&report, metric)))
    });
    group.finish();
}

criterion_group!(benches, html);
criterion_main!(benches);

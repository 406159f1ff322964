//! `plan` against `sweep` on the same question: the smallest `quota.tokens_per_minute` of the
//! bundled chat scenario (`scenarios/chat-sonnet4-200k.toml`) at which at most 1% of attempts
//! are throttled with 95% confidence, with 5 replications per value. The sweep runs the whole
//! grid plan searches (every 20,000 from 1 to 2,000,000: 101 values × 5 replications); plan
//! bisects it. Both answers agree (checked before timing), and the simulation counts are
//! printed next to the times.
//!
//!     cargo bench --bench plan -- --sample-size 10 --measurement-time 5

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use quotasim::assertion::Constraint;
use quotasim::plan::{PlanOptions, plan};
use quotasim::sweep::grid::Vary;
use quotasim::sweep::{SweepOptions, run_sweep};

const QUESTION: &str = "throttle_rate <= 0.01";

fn options() -> PlanOptions {
    let mut o = PlanOptions::new(
        "quota.tokens_per_minute",
        vec![Constraint::parse(QUESTION).unwrap()],
    );
    o.range = Some("1..2000000".into());
    o.resolution = Some(20_000);
    o.replications = Some(5);
    o
}

fn grid() -> SweepOptions {
    let mut values = vec!["1".to_string()];
    values.extend((1..=100).map(|k| (k * 20_000).to_string()));
    SweepOptions {
        vary: vec![Vary::parse(&format!("quota.tokens_per_minute={}", values.join(","))).unwrap()],
        replications: Some(5),
        ..SweepOptions::default()
    }
}

fn plan_vs_sweep(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/chat-sonnet4-200k.toml");
    let p = plan(&path, &options()).unwrap();
    let s = run_sweep(&path, &grid(), None, &|| {}).unwrap();
    // The sweep's answer: the first value whose upper 95% bound of the throttle rate is ≤ 1%.
    let from_sweep = s.points.iter().find(|pt| {
        let m = pt.metric("throttle_rate").unwrap();
        m.mean.unwrap() + m.ci95_half_width.unwrap_or(0.0) <= 0.01
    });
    let swept = from_sweep.map(|pt| pt.params[0].1.clone());
    println!(
        "plan: value {:?} with {} simulations; sweep: value {:?} with {} simulations ({:.1}x)",
        p.value,
        p.simulations,
        swept,
        p.grid_simulations,
        p.grid_simulations as f64 / p.simulations as f64
    );
    assert_eq!(p.value.map(|v| v.to_string()), swept);
    let mut group = c.benchmark_group("smallest_tpm_throttle_1pct");
    group.sample_size(10);
    group.bench_function("plan", |b| {
        b.iter(|| black_box(plan(&path, &options()).unwrap()))
    });
    group.bench_function("sweep_grid", |b| {
        b.iter(|| black_box(run_sweep(&path, &grid(), None, &|| {}).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, plan_vs_sweep);
criterion_main!(benches);

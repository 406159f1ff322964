//! A 200-point sweep (10 max_tokens × 20 concurrency values) on 1 and 2 threads. The
//! speed-up is the ratio of the two times (target: at least 1.8× on 2 cores).
//!
//!     cargo bench --bench sweep

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use quotasim::sweep::grid::Vary;
use quotasim::sweep::{SweepOptions, execute, plan_sweep};

fn sweep(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/sweep-scenario.toml");
    let opts = SweepOptions {
        vary: vec![
            Vary::parse("max_tokens=256..2560:+256").unwrap(),
            Vary::parse("concurrency=1..20").unwrap(),
        ],
        ..SweepOptions::default()
    };
    let plan = plan_sweep(&path, &opts).unwrap();
    assert_eq!(plan.points.len(), 200);
    let mut group = c.benchmark_group("sweep_200_points");
    group.sample_size(10);
    for threads in [1, 2] {
        group.bench_function(format!("threads_{threads}"), |b| {
            b.iter(|| black_box(execute(&plan, Some(threads), &|| {}).unwrap()))
        });
    }
    group.finish();
}

criterion_group!(benches, sweep);
criterion_main!(benches);

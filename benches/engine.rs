//! Engine benchmarks (issue 6):
//! (a) the reference scenario — 6 simulated hours, Poisson 600/min, two classes, 2M TPM
//!     fixed window, aws-standard, concurrency 200 — in events/s and simulated requests/s;
//! (c) the several-apps scenario (issue 12) — one simulated day, two workloads on three pools
//!     with routes and an account limit — in events/s;
//! (b) a bare `BinaryHeap` push/pop loop with the engine's event size and a typical number of
//!     pending events: the ceiling the engine is compared with.
//!
//! Run: `cargo bench --bench engine`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use quotasim::{Scenario, simulate};

fn scenario(name: &str) -> Scenario {
    let path = format!(
        "{}/benches/scenarios/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    match Scenario::from_path(std::path::Path::new(&path), &[]) {
        Ok(s) => s,
        Err(e) => panic!("{name} scenario: {e}"),
    }
}

fn reference() -> Scenario {
    scenario("reference")
}

fn engine(c: &mut Criterion) {
    let s = reference();
    let probe = simulate(&s);
    let events = probe.engine.events;
    let requests = probe.requests.arrived;
    eprintln!("reference: {events} events, {requests} requests per run");

    let mut g = c.benchmark_group("engine");
    g.sample_size(20);
    g.throughput(Throughput::Elements(events));
    g.bench_function("reference_events", |b| {
        b.iter(|| black_box(simulate(black_box(&s))))
    });
    g.throughput(Throughput::Elements(requests));
    g.bench_function("reference_requests", |b| {
        b.iter(|| black_box(simulate(black_box(&s))))
    });
    g.finish();
}

fn several_apps(c: &mut Criterion) {
    let s = scenario("two-workloads-three-pools");
    let events = simulate(&s).engine.events;
    eprintln!("two-workloads-three-pools: {events} events per run");
    let mut g = c.benchmark_group("engine");
    g.sample_size(10);
    g.throughput(Throughput::Elements(events));
    g.bench_function("two_workloads_three_pools_events", |b| {
        b.iter(|| black_box(simulate(black_box(&s))))
    });
    g.finish();
}

/// The same shape as the engine's queue entry: (time, seq) key and an 8-byte payload.
#[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
struct Entry {
    time: u64,
    seq: u64,
    payload: u64,
}

fn bare_heap(c: &mut Criterion) {
    // Pending events in the reference run: 55 on average over its events (measured by
    // averaging the queue length at every pop; up to the concurrency of 200 at peaks).
    const PENDING: u64 = 55;
    const OPS: u64 = 1_000_000;
    let mut g = c.benchmark_group("bare_heap");
    g.throughput(Throughput::Elements(OPS));
    g.bench_function("push_pop_55_pending", |b| {
        b.iter(|| {
            let mut heap = BinaryHeap::with_capacity(1024);
            let mut seq = 0u64;
            let mut x = 0x9e37_79b9_7f4a_7c15u64;
            for i in 0..PENDING {
                heap.push(Reverse(Entry {
                    time: i * 1000,
                    seq,
                    payload: i,
                }));
                seq += 1;
            }
            for _ in 0..OPS {
                let Some(Reverse(e)) = heap.pop() else { break };
                // xorshift: a cheap pseudo-random delay like a service time.
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                heap.push(Reverse(Entry {
                    time: e.time + (x % 20_000_000),
                    seq,
                    payload: e.payload,
                }));
                seq += 1;
            }
            black_box(heap.len())
        })
    });
    g.finish();
}

criterion_group!(benches, engine, several_apps, bare_heap);
criterion_main!(benches);

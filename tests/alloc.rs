//! No heap allocation per request in the hot loop: a counting global allocator shows that a
//! run four times longer (four times the requests) makes almost no more allocations.
//! This file holds a single test so no other test allocates concurrently.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use quotasim::{Override, Scenario, simulate};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_for(duration: &str) -> (u64, u64) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/scenarios/reference.toml"
    );
    let o = Override::parse(&format!("duration={duration}")).unwrap();
    let s = Scenario::from_path(std::path::Path::new(path), &[o]).unwrap();
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let r = simulate(&s);
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    (after - before, r.requests.arrived)
}

#[test]
fn allocations_do_not_grow_with_requests() {
    let (short, short_requests) = allocations_for("\"1h\"");
    let (long, long_requests) = allocations_for("\"4h\"");
    assert!(
        long_requests > 3 * short_requests,
        "{short_requests} vs {long_requests}"
    );
    let extra = long.saturating_sub(short);
    // ~108,000 more requests; allow a few dozen for amortised growth of the per-minute
    // timeline (one row per simulated minute).
    assert!(
        extra < 100,
        "{extra} extra allocations for {} extra requests ({short} for 1h, {long} for 4h)",
        long_requests - short_requests
    );
    eprintln!("allocations: {short} for {short_requests} requests, {long} for {long_requests}");
}

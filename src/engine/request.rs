//! A request's state, in two halves kept in two slabs under the same slot number: what the
//! event loop reads per event apart from what only sizing, settlement and the report read.

use crate::quota::{Admission, Footprint};

use super::{NO_HINT, NO_USER, Pending, Phase};

/// What the event loop reads per event, compact: the phase, outcome and end that decide
/// whether an event is stale, the footprint the admission check reads, and the retry
/// policy's state. Without a pacer or the aws-adaptive bucket, an attempt throttled and
/// retried touches nothing else.
#[derive(Debug, Clone, Copy)]
pub(super) struct Request {
    pub(super) arrival: u64,
    pub(super) input: u64,
    /// The footprint on the pool the request is currently sent to.
    pub(super) fp: Footprint,
    pub(super) reserved: u64,
    pub(super) prev_sleep: u64,
    /// When the current attempt ends.
    pub(super) end: u64,
    /// Attempts sent, over every pool.
    pub(super) attempts: u32,
    /// The retry policy's attempt number in the current call: 1 + its sleeps so far.
    pub(super) call_attempts: u32,
    pub(super) last_retry_cost: u32,
    pub(super) user: u32,
    /// The last throttle's retry hint, whole seconds (`NO_HINT`: none).
    pub(super) hint_s: u32,
    /// Its workload.
    pub(super) w: u16,
    /// The pool its current attempt goes to, and that pool's position in the route.
    pub(super) pool: u8,
    pub(super) hop: u8,
    pub(super) pending: Pending,
    pub(super) phase: Phase,
    pub(super) counted: bool,
    /// The retry policy slept in the current call (the aws-standard success refund).
    pub(super) retried: bool,
    /// The answer is streamed (`stream = true` on its class or client).
    pub(super) stream: bool,
    /// SDK calls made (strands-agents' model calls), from 1.
    pub(super) calls: u8,
    // Two bytes of what would be padding: sizing and the report's.
    pub(super) truncated: bool,
    /// `max_tokens` was set (record, class or client) rather than the pool model's.
    pub(super) max_set: bool,
}

/// The rest of a request, in a slab of its own (same slot number): what only sizing,
/// settlement and the report read (the quota's tickets, the cost), and the state of the
/// client features most runs lack (pacing and aws-adaptive holds, streaming ticks).
#[derive(Debug, Clone, Copy)]
pub(super) struct Cold {
    /// Tickets of the pool's limits, to settle the admitted attempt with.
    pub(super) adm: Admission,
    pub(super) cost: u64,
    /// The desired output O, before the serving pool's `max_tokens` truncates it.
    pub(super) desired: u64,
    /// When the current hold (pacing or adaptive) began.
    pub(super) held_since: u64,
    /// When the request's current adaptive wait ends.
    pub(super) wake_at: u64,
    /// When the current attempt's output starts (streaming ticks).
    pub(super) gen_start: u64,
    /// Output tokens charged so far by streaming ticks.
    pub(super) generated: u64,
}

impl Request {
    /// A new slab slot's contents until `new_request` writes the request in place.
    pub(super) fn placeholder() -> Self {
        Request {
            arrival: 0,
            input: 0,
            fp: Footprint::default(),
            reserved: 0,
            prev_sleep: 0,
            end: 0,
            attempts: 0,
            call_attempts: 0,
            last_retry_cost: 0,
            user: NO_USER,
            hint_s: NO_HINT,
            w: 0,
            pool: 0,
            hop: 0,
            pending: Pending::Success,
            phase: Phase::Done,
            counted: false,
            retried: false,
            stream: false,
            calls: 1,
            truncated: false,
            max_set: false,
        }
    }
}

impl Cold {
    pub(super) fn placeholder() -> Self {
        Cold {
            adm: Admission::default(),
            cost: 0,
            desired: 0,
            held_since: 0,
            wake_at: 0,
            gen_start: 0,
            generated: 0,
        }
    }
}

// Both halves together are no larger than the one struct they were (the memory limit's
// bytes per live request are unchanged).
const _: () = assert!(std::mem::size_of::<Request>() == 112 && std::mem::size_of::<Cold>() == 112);

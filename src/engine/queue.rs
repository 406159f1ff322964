//! The event queue: a binary min-heap on (time, sequence number), plus FIFO lanes.
//!
//! Events at the same instant pop in the order they were pushed (FIFO), because every push
//! takes the next value of a `u64` sequence counter and `pop` always returns the smallest
//! (time, seq) pending anywhere.
//!
//! Many events are scheduled a *constant* delay after the current time — the next arrival
//! of a stream, a throttle answered `throttle_latency` later, a 503 after `ttft`. Their times
//! never decrease, so they need no heap: each such kind goes to its own FIFO lane
//! ([`EventQueue::push_lane`]), and `pop` merges the lanes' fronts with the heap's top. The
//! order of events is exactly that of one heap on (time, seq); only the cost changes.
//!
//! Complexity: `push` O(log n) in the heap's size, `push_lane` O(1) amortised, `pop`
//! O(log n + non-empty lanes). A bit mask of the non-empty lanes keeps `pop` from looking at
//! lanes that hold nothing (most of them, most of the time); lanes past the 64th are not
//! kept apart, their events go to the heap.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// One scheduled event: a time, its FIFO sequence number, and a payload.
#[derive(Debug, Clone, Copy)]
struct Entry<T> {
    time: u64,
    seq: u64,
    payload: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }

    // BinaryHeap's sift loops only ask `<=`; answer it without building an `Ordering`.
    #[inline]
    fn le(&self, other: &Self) -> bool {
        key(other) <= key(self)
    }
}
#[inline(always)]
fn key<T>(e: &Entry<T>) -> u128 {
    (u128::from(e.time) << 64) | u128::from(e.seq)
}

impl<T> Ord for Entry<T> {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and we want the earliest (time, seq) first.
        // One 128-bit comparison instead of a branch per field: the heap's sift loops are
        // the engine's hottest code.
        key(other).cmp(&key(self))
    }
}

/// A priority queue of events ordered by time, FIFO among equal times.
#[derive(Debug, Clone)]
pub struct EventQueue<T> {
    heap: BinaryHeap<Entry<T>>,
    lanes: Vec<VecDeque<Entry<T>>>,
    /// Bit `i` is set when lane `i` holds an event.
    nonempty: u64,
    next_seq: u64,
}

/// Lanes beyond this many are not kept apart (their events go to the heap).
const MAX_LANES: usize = 64;

/// A lane's initial room, in events.
const LANE_CAPACITY: usize = 16;

impl<T> Default for EventQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> EventQueue<T> {
    /// An empty queue without lanes.
    pub fn new() -> Self {
        Self::with_capacity(0, 0)
    }

    /// An empty queue with room for `n` pending heap events and `lanes` FIFO lanes.
    pub fn with_capacity(n: usize, lanes: usize) -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(n),
            // Small lanes that grow when needed: a lane usually holds an event or two, and
            // its ring buffer's slots are walked one after the other, so a small ring stays
            // in the L1 cache where a large one would sweep it.
            lanes: (0..lanes.min(MAX_LANES))
                .map(|_| VecDeque::with_capacity(LANE_CAPACITY.min(n)))
                .collect(),
            nonempty: 0,
            next_seq: 0,
        }
    }

    #[inline]
    fn entry(&mut self, time: u64, payload: T) -> Entry<T> {
        let seq = self.next_seq;
        self.next_seq += 1;
        Entry { time, seq, payload }
    }

    /// Schedules `payload` at `time`. O(log n).
    #[inline]
    pub fn push(&mut self, time: u64, payload: T) {
        let e = self.entry(time, payload);
        self.heap.push(e);
    }

    /// Schedules `payload` at `time` in FIFO lane `lane`, for events whose times never
    /// decrease within that lane. An out-of-order time (or an unknown lane) still works: it
    /// goes to the heap. O(1) amortised.
    // Always inlined: called for most events, and the lane index is usually a constant.
    #[inline(always)]
    pub fn push_lane(&mut self, lane: usize, time: u64, payload: T) {
        let e = self.entry(time, payload);
        match self.lanes.get_mut(lane) {
            Some(l) if l.back().is_none_or(|b| b.time <= time) => {
                l.push_back(e);
                self.nonempty |= 1 << lane;
            }
            _ => self.heap.push(e),
        }
    }

    /// Removes the earliest event. O(log n + non-empty lanes).
    #[inline]
    pub fn pop(&mut self) -> Option<(u64, T)> {
        // The earliest lane front: u128::MAX and no lane when every lane is empty.
        let mut best = u128::MAX;
        let mut from = MAX_LANES;
        let mut mask = self.nonempty;
        while mask != 0 {
            let i = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            if let Some(front) = self.lanes.get(i).and_then(VecDeque::front) {
                let k = key(front);
                // Select without a branch: which lane is earliest is not predictable.
                let earlier = k < best;
                best = if earlier { k } else { best };
                from = if earlier { i } else { from };
            }
        }
        let from_heap = self.heap.peek().is_some_and(|top| key(top) < best);
        let e = if from_heap {
            self.heap.pop()
        } else {
            let lane = self.lanes.get_mut(from)?;
            let e = lane.pop_front();
            // Clears the lane's bit when it ran empty, without a branch.
            self.nonempty &= !(u64::from(lane.is_empty()) << from);
            e
        };
        e.map(|e| (e.time, e.payload))
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len() + self.lanes.iter().map(VecDeque::len).sum::<usize>()
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_time_then_fifo() {
        let mut q = EventQueue::new();
        q.push(5, 'a');
        q.push(3, 'b');
        q.push(5, 'c');
        q.push(3, 'd');
        q.push(0, 'e');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, p)| p)).collect();
        assert_eq!(order, vec!['e', 'b', 'd', 'a', 'c']);
    }

    /// Lanes change only the cost: any interleaving of heap and lane pushes pops in exactly
    /// the (time, seq) order of a single heap.
    #[test]
    fn lanes_pop_in_the_same_order_as_one_heap() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut laned = EventQueue::with_capacity(8, 3);
        let mut plain = EventQueue::new();
        let mut now = 0u64;
        let mut popped = (Vec::new(), Vec::new());
        let delays = [0u64, 100, 250];
        for i in 0..20_000u32 {
            match rnd() % 5 {
                0 | 1 => {
                    let t = now + rnd() % 1000;
                    laned.push(t, i);
                    plain.push(t, i);
                }
                2 | 3 => {
                    let lane = (rnd() % 4) as usize; // lane 3 does not exist: heap
                    let t = now + delays.get(lane).copied().unwrap_or(7);
                    laned.push_lane(lane, t, i);
                    plain.push(t, i);
                }
                _ => {
                    let a = laned.pop();
                    let b = plain.pop();
                    assert_eq!(a, b);
                    if let Some((t, p)) = a {
                        now = t;
                        popped.0.push(p);
                    }
                    if let Some((_, p)) = b {
                        popped.1.push(p);
                    }
                }
            }
            assert_eq!(laned.len(), plain.len());
        }
        while let Some(a) = laned.pop() {
            assert_eq!(Some(a), plain.pop());
        }
        assert!(plain.is_empty());
        assert!(popped.0.len() > 1000);
    }
}

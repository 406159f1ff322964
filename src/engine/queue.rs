//! The event queue: a binary min-heap on (time, sequence number).
//!
//! Events at the same instant pop in the order they were pushed (FIFO), because every push
//! takes the next value of a `u64` sequence counter. `push` and `pop` are O(log n) in the
//! number of pending events; the engine keeps that number small (one pending arrival, and at
//! most one event per request in flight).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

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
    next_seq: u64,
}

impl<T> Default for EventQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> EventQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }

    /// An empty queue with room for `n` pending events.
    pub fn with_capacity(n: usize) -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(n),
            next_seq: 0,
        }
    }

    /// Schedules `payload` at `time`. O(log n).
    #[inline]
    pub fn push(&mut self, time: u64, payload: T) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { time, seq, payload });
    }

    /// Removes the earliest event. O(log n).
    #[inline]
    pub fn pop(&mut self) -> Option<(u64, T)> {
        self.heap.pop().map(|e| (e.time, e.payload))
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
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
}

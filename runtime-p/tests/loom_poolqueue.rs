//! loom models of `sync.Pool`'s queues (runtime-p/src/poolqueue.rs, a port
//! of Go's poolqueue.go): the producer pushes and pops at the head while a
//! consumer pops at the tail, over a ring small enough to wrap, and over a
//! chain that grows a second dequeue and unlinks its first. Each value
//! must be taken exactly once, and loom checks every access to a slot's
//! value (a loom `UnsafeCell`).
//!
//! The broken twins: `without_the_handoff_a_slot_is_reused_while_read`
//! relaxes the consumer's release of a slot and the producer's acquire
//! check of it (`BROKEN_HANDOFF`): the producer may then write a wrapped
//! slot while the consumer still reads it, and loom must say so.
//! `next_loaded_late_unlinks_a_full_dequeue` makes the consumer load a
//! dequeue's `next` after its pop found it empty (`BROKEN_NEXT_ORDER`):
//! the producer may fill that dequeue and start the next one in between,
//! and the consumer then unlinks a dequeue that holds values, which are
//! lost. Built and
//! run only with `RUSTFLAGS="--cfg loom" cargo test --release -p
//! gort-runtime-p --test loom_poolqueue` (scripts/test.sh does).
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use runtime_p::poolqueue::{BROKEN_HANDOFF, BROKEN_NEXT_ORDER, PoolChain, PoolDequeue};

/// Sorts what everyone took and checks it is each pushed value once.
fn check(mut got: Vec<usize>, pushed: &[usize]) {
    got.sort();
    assert_eq!(got, pushed, "every value exactly once");
}

fn dequeue_model() {
    loom::model(|| {
        let d = Arc::new(PoolDequeue::<usize>::new(2));
        // SAFETY: this thread is the only producer.
        unsafe {
            assert!(d.push_head(0).is_ok());
            assert!(d.push_head(1).is_ok());
        }
        let consumer = {
            let d = d.clone();
            thread::spawn(move || d.pop_tail().into_iter().collect::<Vec<_>>())
        };
        let mut got = Vec::new();
        // SAFETY: as above.
        unsafe {
            // The ring is full until the consumer takes value 0 and hands
            // its slot back; then value 2 wraps onto that slot, while the
            // consumer may still be reading it.
            while d.push_head(2).is_err() {
                thread::yield_now();
            }
            got.extend(d.pop_head());
        }
        got.extend(consumer.join().unwrap());
        while let Some(v) = d.pop_tail() {
            got.push(v);
        }
        check(got, &[0, 1, 2]);
    });
}

#[test]
fn dequeue_hands_each_value_once() {
    BROKEN_HANDOFF.store(false, std::sync::atomic::Ordering::Relaxed);
    BROKEN_NEXT_ORDER.store(false, std::sync::atomic::Ordering::Relaxed);
    dequeue_model();
}

#[test]
#[should_panic(expected = "Concurrent")]
fn without_the_handoff_a_slot_is_reused_while_read() {
    BROKEN_NEXT_ORDER.store(false, std::sync::atomic::Ordering::Relaxed);
    BROKEN_HANDOFF.store(true, std::sync::atomic::Ordering::Relaxed);
    dequeue_model();
}

/// A chain that has grown a second dequeue: the consumer drains the first
/// and unlinks it while the producer pushes into the second and pops back
/// across the link into the first.
#[test]
fn chain_hands_each_value_once() {
    BROKEN_HANDOFF.store(false, std::sync::atomic::Ordering::Relaxed);
    BROKEN_NEXT_ORDER.store(false, std::sync::atomic::Ordering::Relaxed);
    loom::model(|| {
        let c = Arc::new(PoolChain::<usize>::new());
        // SAFETY: this thread is the only producer.
        unsafe {
            c.push_head(0);
            c.push_head(1);
            // The first dequeue (2 slots under loom) is full: a second one.
            c.push_head(2);
        }
        let consumer = {
            let c = c.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                got.extend(c.pop_tail());
                got.extend(c.pop_tail());
                got.extend(c.pop_tail());
                got
            })
        };
        let mut got = Vec::new();
        // SAFETY: as above.
        unsafe {
            c.push_head(3);
            got.extend(c.pop_head());
            got.extend(c.pop_head());
            got.extend(c.pop_head());
        }
        got.extend(consumer.join().unwrap());
        while let Some(v) = c.pop_tail() {
            got.push(v);
        }
        check(got, &[0, 1, 2, 3]);
    });
}

/// The consumer finds the only dequeue empty while the producer refills
/// it and overflows into a second one: with `next` loaded before the pop,
/// the consumer cannot mistake the refilled dequeue for one that is empty
/// for good.
fn chain_refill_model() {
    loom::model(|| {
        let c = Arc::new(PoolChain::<usize>::new());
        // SAFETY: this thread is the only producer.
        unsafe {
            c.push_head(0);
            assert_eq!(c.pop_head(), Some(0));
        }
        let consumer = {
            let c = c.clone();
            thread::spawn(move || c.pop_tail().into_iter().collect::<Vec<_>>())
        };
        // SAFETY: as above.
        unsafe {
            // Fills the first dequeue (2 slots under loom), then a second.
            c.push_head(1);
            c.push_head(2);
            c.push_head(3);
        }
        let mut got = consumer.join().unwrap();
        while let Some(v) = c.pop_tail() {
            got.push(v);
        }
        // SAFETY: as above (the consumer has ended).
        while let Some(v) = unsafe { c.pop_head() } {
            got.push(v);
        }
        check(got, &[1, 2, 3]);
    });
}

#[test]
fn chain_refill_keeps_every_value() {
    BROKEN_HANDOFF.store(false, std::sync::atomic::Ordering::Relaxed);
    BROKEN_NEXT_ORDER.store(false, std::sync::atomic::Ordering::Relaxed);
    chain_refill_model();
}

#[test]
#[should_panic(expected = "every value exactly once")]
fn next_loaded_late_unlinks_a_full_dequeue() {
    BROKEN_HANDOFF.store(false, std::sync::atomic::Ordering::Relaxed);
    BROKEN_NEXT_ORDER.store(true, std::sync::atomic::Ordering::Relaxed);
    chain_refill_model();
    BROKEN_NEXT_ORDER.store(false, std::sync::atomic::Ordering::Relaxed);
}

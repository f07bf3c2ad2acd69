//! `gort::JoinSet`: results in the order the goroutines finish, goexit as
//! `JoinError`, detaching on drop.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use gort::{Chan, JoinSet};

/// Each goroutine waits for its own go-ahead; the go-aheads are given in
/// an order unrelated to the spawn order, and the results come in that
/// order.
#[gort::test(both)]
unsafe fn results_come_in_the_order_goroutines_finish() {
    let order = [3usize, 0, 4, 1, 2];
    let gates: Vec<Chan<()>> = (0..5).map(|_| Chan::new(0)).collect();
    let mut set = JoinSet::new();
    for (i, gate) in gates.iter().enumerate() {
        let gate = gate.clone();
        set.spawn(move || {
            gate.recv();
            i
        });
    }
    assert_eq!(set.len(), 5);
    for &i in &order {
        gates[i].send(());
        assert_eq!(set.join_next().unwrap().unwrap(), i);
    }
    assert!(set.is_empty());
    assert!(set.join_next().is_none());
}

/// A goroutine that ends by goexit yields a JoinError; the others still
/// give their values.
#[gort::test(both)]
unsafe fn goexit_is_a_join_error() {
    let mut set: JoinSet<u32> = JoinSet::new();
    set.spawn(|| gort::goexit());
    set.spawn(|| 7);
    let mut got = Vec::new();
    while let Some(r) = set.join_next() {
        got.push(r);
    }
    got.sort_by_key(|r| r.is_ok());
    assert_eq!(got, [Err(gort::JoinError), Ok(7)]);
}

/// try_join_next never waits: nothing before a goroutine finishes, its
/// value after.
#[gort::test(both)]
unsafe fn try_join_next_does_not_wait() {
    let gate: Chan<()> = Chan::new(0);
    let g2 = gate.clone();
    let mut set = JoinSet::new();
    set.spawn(move || {
        g2.recv();
        "done"
    });
    assert!(set.try_join_next().is_none());
    gate.send(());
    let mut r = None;
    for _ in 0..10_000 {
        r = set.try_join_next();
        if r.is_some() {
            break;
        }
        gort::gosched();
    }
    assert_eq!(r.unwrap().unwrap(), "done");
    assert!(set.is_empty());
}

/// Many goroutines at once: every value exactly once, across Ps.
#[gort::test(both)]
unsafe fn ten_thousand_goroutines_join_once_each() {
    let mut set: JoinSet<usize> = (0..10_000usize)
        .map(|i| {
            move || {
                if i % 3 == 0 {
                    gort::gosched();
                }
                i
            }
        })
        .collect();
    let mut seen = vec![false; 10_000];
    while let Some(r) = set.join_next() {
        let i = r.unwrap();
        assert!(!seen[i], "{i} twice");
        seen[i] = true;
    }
    assert!(seen.iter().all(|&s| s));
}

/// join_all gives every value; dropping a set (or detach_all) lets its
/// goroutines run on to their end.
#[gort::test(both)]
unsafe fn join_all_and_detach() {
    let mut set = JoinSet::new();
    set.extend((0..4u32).map(|i| move || i * i));
    let mut all = set.join_all();
    all.sort();
    assert_eq!(all, [0, 1, 4, 9]);

    let ran = Arc::new(AtomicUsize::new(0));
    let gate: Chan<()> = Chan::new(0);
    let mut set = JoinSet::new();
    for _ in 0..3 {
        let (ran, gate) = (ran.clone(), gate.clone());
        set.spawn(move || {
            gate.recv();
            ran.fetch_add(1, Ordering::SeqCst);
        });
    }
    set.detach_all();
    assert!(set.is_empty() && set.join_next().is_none());
    drop(set);
    for _ in 0..3 {
        gate.send(());
    }
    while ran.load(Ordering::SeqCst) < 3 {
        gort::gosched();
    }
}

/// Goroutines detached by detach_all that finish later do not show up in
/// the set's later joins (a review found their ids were taken for new
/// goroutines' and join_next panicked).
#[gort::test(both)]
unsafe fn detached_goroutines_do_not_reach_later_joins() {
    let gate: Chan<()> = Chan::new(0);
    let mut set = JoinSet::new();
    for _ in 0..3 {
        let gate = gate.clone();
        set.spawn(move || {
            gate.recv();
            0u32
        });
    }
    set.detach_all();
    let later: Chan<()> = Chan::new(0);
    let l2 = later.clone();
    set.spawn(move || {
        l2.recv();
        7
    });
    // The detached ones finish first.
    for _ in 0..3 {
        gate.send(());
    }
    for _ in 0..100 {
        gort::gosched();
    }
    assert!(set.try_join_next().is_none());
    later.send(());
    assert_eq!(set.join_next().unwrap().unwrap(), 7);
    assert!(set.join_next().is_none());
}

//! Scheduler tests at the runtime-p level: parking with gopark/goready.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use runtime_g::{G, WaitReason, getg};
use runtime_p::countdown::Countdown;
use runtime_p::{gcount, goparkunlock, goready, gosched, newproc, sched};

mod common;

fn run<F: FnOnce() + Send + 'static>(f: F) {
    common::run(1, f);
}

fn map_count() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

/// 100,000 goroutines parked at once, at the machine's default
/// vm.max_map_count, then all woken. One mapping per stack would need
/// 200,000 map entries (stack + guard) and fail at 65530.
#[test]
fn park_wake_100k() {
    const N: usize = 100_000;
    let started = Arc::new(AtomicUsize::new(0));
    let woken = Arc::new(AtomicUsize::new(0));
    let (s2, w2) = (started.clone(), woken.clone());
    let maps_before = map_count();
    run(move || {
        // A gate: a countdown from 1 that many goroutines wait on.
        let gate = Arc::new(Countdown::new(1));
        for _ in 0..N {
            let (g, s, w) = (gate.clone(), s2.clone(), w2.clone());
            newproc(Box::new(move || {
                s.fetch_add(1, Ordering::Relaxed);
                g.wait();
                w.fetch_add(1, Ordering::Relaxed);
            }));
        }
        while s2.load(Ordering::Relaxed) < N {
            gosched();
        }
        assert_eq!(gcount(sched()), N as i32 + 1, "all parked goroutines count");
        assert_eq!(w2.load(Ordering::Relaxed), 0, "nobody woke early");
        let maps_parked = map_count();
        assert!(
            maps_parked < maps_before + 1000,
            "stacks must not cost one mapping each: {maps_before} -> {maps_parked} mappings"
        );
        assert_eq!(
            gate.done(),
            N,
            "opening the gate wakes every parked goroutine"
        );
        while w2.load(Ordering::Relaxed) < N {
            gosched();
        }
        // Dead goroutines are not counted.
        while gcount(sched()) > 1 {
            gosched();
        }
    });
    assert_eq!(started.load(Ordering::Relaxed), N);
    assert_eq!(woken.load(Ordering::Relaxed), N);
}

/// The park protocol: a waker that finds the G in the list must see it
/// parked (`_Gwaiting`) — `ready` throws otherwise. Ping-pong through two
/// gates many times exercises the window between publish and park.
#[test]
fn park_unlock_happens_after_switch() {
    run(|| {
        let rounds = 10_000;
        let done = Arc::new(AtomicUsize::new(0));
        let d2 = done.clone();
        let slot: Arc<runtime_m::Mutex<Option<usize>>> = Arc::new(runtime_m::Mutex::new(None));
        let s2 = slot.clone();
        newproc(Box::new(move || {
            for _ in 0..rounds {
                // Publish ourselves and park; main wakes us. A park is a
                // runtime call: entered before the lock (gopark's contract).
                // SAFETY: no lock held; the section ends in this frame.
                let (_, _rt) = unsafe { runtime_p::require_entered("test park") };
                let mut st = s2.lock();
                *st = Some(getg() as usize);
                std::mem::forget(st);
                // SAFETY: we hold the raw lock; main finds us only in the slot it
                // guards, and park_m releases it once we are parked.
                unsafe { goparkunlock(s2.raw(), WaitReason::ChanReceive) };
                d2.fetch_add(1, Ordering::Relaxed);
            }
        }));
        let mut woke = 0;
        while woke < rounds {
            let w = slot.lock().take();
            match w {
                Some(g) => {
                    // SAFETY: taken off the slot under its lock: we are the
                    // only waker, and the lock was released after the park.
                    unsafe { goready(g as *mut G) };
                    woke += 1;
                }
                None => gosched(),
            }
        }
        while done.load(Ordering::Relaxed) < rounds {
            gosched();
        }
    });
}

/// Exited goroutines go to the free list with their stacks (gfput) and are
/// reused by newproc (gfget): waves of short goroutines do not grow the set
/// of Gs.
///
/// Each wave's goroutines wait at a gate until all of them are alive, so a
/// wave needs 500 Gs at once even if another M runs some of them while the
/// wave is still being created (sysmon retakes the P of a long-running
/// goroutine in the migrating mode, which happens under an emulator); and
/// a wave ends when every G is back on a free list (gcount), not merely
/// when its last goroutine has done its work.
#[test]
fn dead_goroutines_are_reused() {
    run(|| {
        let s = sched();
        let wave = |n: usize| {
            let gate = Arc::new(Countdown::new(1));
            let started = Arc::new(AtomicUsize::new(0));
            for _ in 0..n {
                let (g, st) = (gate.clone(), started.clone());
                newproc(Box::new(move || {
                    st.fetch_add(1, Ordering::Relaxed);
                    g.wait();
                }));
            }
            while started.load(Ordering::Relaxed) < n {
                gosched();
            }
            assert_eq!(gcount(s), n as i32 + 1, "the whole wave is alive at once");
            gate.done();
            while gcount(s) > 1 {
                gosched();
            }
        };
        wave(500);
        let after_first = s.allglen.load(Ordering::Relaxed);
        assert!(after_first > 500, "500 goroutines and main: {after_first}");
        for _ in 0..20 {
            wave(500);
        }
        assert_eq!(
            s.allglen.load(Ordering::Relaxed),
            after_first,
            "no new Gs were allocated"
        );
        assert_eq!(gcount(s), 1);
    });
}

/// notetsleepg sleeps from a goroutine without holding its P: on one P,
/// another goroutine runs (and wakes the note) while the first sleeps; a
/// timed sleep that nobody wakes times out. In the safe mode the sleeper
/// keeps its P (a pinned goroutine's P cannot go to another thread), so
/// the test runs there on two Ps, where the second P steals the goroutine
/// that never ran.
#[test]
fn notetsleepg_gives_up_the_p() {
    let procs = if common::test_mode() == runtime_p::SchedMode::Safe {
        2
    } else {
        1
    };
    common::run(procs, || {
        let note = Arc::new(runtime_m::Note::new());
        let ran = Arc::new(AtomicUsize::new(0));
        let (n2, r2) = (note.clone(), ran.clone());
        newproc(Box::new(move || {
            r2.store(1, Ordering::SeqCst);
            runtime_m::notewakeup(&n2);
        }));
        let woken = runtime_p::syscall::notetsleepg(&note, 5_000_000_000);
        assert!(woken);
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        let idle = runtime_m::Note::new();
        let t = std::time::Instant::now();
        assert!(!runtime_p::syscall::notetsleepg(&idle, 20_000_000));
        assert!(t.elapsed() >= std::time::Duration::from_millis(20));
    });
}

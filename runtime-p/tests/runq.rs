//! Ports of Go's run-queue unit tests.
//! Go file: runtime/proc_test.go (bodies in runtime/export_test.go), go1.27.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use runtime_g::{G, malg};
use runtime_p::p::{P, RUNQ_SIZE, runqempty, runqget, runqput, runqsteal};
use runtime_p::{Config, MainReturn, Sched};

mod common;

fn sched() -> &'static Sched {
    Sched::new(&Config {
        gomaxprocs: 2,
        stack_size: 64 * 1024,
        main_return: MainReturn::ReturnToCaller,
        os: common::test_os(),
        mode: common::test_mode(),
        signals: Default::default(),
    })
}

fn gs(n: usize) -> Vec<*mut G> {
    (0..n).map(|_| malg(-1)).collect()
}

// go-test: TestSchedLocalQueue (proc_test.go)
#[test]
fn test_sched_local_queue() {
    let s = sched();
    let pp = P::new(0, s);
    let gs = gs(RUNQ_SIZE as usize);
    for (i, &g) in gs.iter().enumerate() {
        // SAFETY: this thread is the only user of pp; the Gs are ours.
        unsafe {
            assert!(runqget(&pp).0.is_null(), "runq is not empty initially");
            for _ in 0..i {
                runqput(&pp, g, false);
            }
            for j in 0..i {
                assert_eq!(runqget(&pp).0, g, "bad element at iter {i}/{j}");
            }
            assert!(runqget(&pp).0.is_null(), "runq is not empty afterwards");
        }
    }
}

// go-test: TestSchedLocalQueueSteal (proc_test.go)
#[test]
fn test_sched_local_queue_steal() {
    let s = sched();
    let p1 = P::new(0, s);
    let p2 = P::new(1, s);
    let gs = gs(RUNQ_SIZE as usize);
    for i in 0..RUNQ_SIZE as usize {
        let mut seen = vec![0u32; i];
        let index = |gp: *mut G| gs.iter().position(|&g| g == gp).expect("unknown G");
        // SAFETY: this thread owns both Ps; the Gs are ours.
        unsafe {
            for &g in &gs[..i] {
                runqput(&p1, g, false);
            }
            let mut stolen = 0;
            let gp = runqsteal(&p2, &p1, true);
            if !gp.is_null() {
                stolen += 1;
                seen[index(gp)] += 1;
            }
            loop {
                let gp = runqget(&p2).0;
                if gp.is_null() {
                    break;
                }
                stolen += 1;
                seen[index(gp)] += 1;
            }
            loop {
                let gp = runqget(&p1).0;
                if gp.is_null() {
                    break;
                }
                seen[index(gp)] += 1;
            }
            for (j, &n) in seen.iter().enumerate() {
                assert_eq!(n, 1, "bad element {j} ({n}) at iter {i}");
            }
            assert!(
                stolen == i / 2 || stolen == i / 2 + 1,
                "bad steal {stolen}, want {} or {}, iter {i}",
                i / 2,
                i / 2 + 1
            );
        }
    }
}

// go-test: TestSchedLocalQueueEmpty (proc_test.go)
// Adapted: Go starts a goroutine per iteration to call runqempty while the
// owner moves runnext into runq; here one helper OS thread plays that part
// for every iteration (runq operations do not need a runtime). Same 1e5
// iterations and the same handshake.
#[test]
fn test_sched_local_queue_empty() {
    if runtime_m::ncpu() == 1 {
        eprintln!("skipping on uniprocessor");
        return;
    }
    let s = sched();
    let pp = P::new(0, s);
    let gs = gs(2);
    let ready = AtomicU32::new(0);
    let go = AtomicU32::new(0);
    let done = AtomicU32::new(0);
    let stop = AtomicBool::new(false);
    let iters = 100_000u32;
    std::thread::scope(|sc| {
        sc.spawn(|| {
            let mut i = 0;
            while !stop.load(Ordering::Acquire) {
                if go.load(Ordering::Acquire) == i + 1 {
                    i += 1;
                    ready.fetch_add(1, Ordering::AcqRel);
                    while ready.load(Ordering::Acquire) != 2 {
                        std::hint::spin_loop();
                    }
                    assert!(!runqempty(&pp), "queue is empty at iter {i}");
                    done.store(i, Ordering::Release);
                }
                std::hint::spin_loop();
            }
        });
        for i in 0..iters {
            ready.store(0, Ordering::Release);
            let next0 = i & 1 == 0;
            let next1 = i & 2 == 0;
            // SAFETY: this thread owns pp; the helper only calls runqempty.
            unsafe {
                runqput(&pp, gs[0], next0);
                go.store(i + 1, Ordering::Release);
                ready.fetch_add(1, Ordering::AcqRel);
                while ready.load(Ordering::Acquire) != 2 {
                    std::hint::spin_loop();
                }
                runqput(&pp, gs[1], next1);
                runqget(&pp);
                while done.load(Ordering::Acquire) != i + 1 {
                    std::hint::spin_loop();
                }
                runqget(&pp);
            }
        }
        stop.store(true, Ordering::Release);
    });
}

/// runqputslow: a full ring sends half of it plus the new G to the global
/// queue in FIFO order (Go's overflow rule).
#[test]
fn runq_overflow_goes_to_global_queue() {
    let s = sched();
    let pp = P::new(0, s);
    let gs = gs(RUNQ_SIZE as usize + 1);
    // SAFETY: this thread owns pp and the Gs.
    unsafe {
        for &g in &gs {
            runqput(&pp, g, false);
        }
        let mut l = s.lock.lock();
        assert_eq!(l.runq.size, RUNQ_SIZE as i32 / 2 + 1);
        for &g in gs[..RUNQ_SIZE as usize / 2]
            .iter()
            .chain(std::iter::once(&gs[RUNQ_SIZE as usize]))
        {
            assert_eq!(l.runq.pop(), g);
        }
        drop(l);
        for &g in &gs[RUNQ_SIZE as usize / 2..RUNQ_SIZE as usize] {
            assert_eq!(runqget(&pp).0, g);
        }
        assert!(runqempty(&pp));
    }
}

/// runnext: a `next` put displaces the previous runnext to the tail, and
/// runqget returns runnext first with inheritTime = true.
#[test]
fn runnext_is_taken_first_and_inherits_time() {
    let s = sched();
    let pp = P::new(0, s);
    let gs = gs(3);
    // SAFETY: this thread owns pp and the Gs.
    unsafe {
        runqput(&pp, gs[0], true);
        runqput(&pp, gs[1], false);
        runqput(&pp, gs[2], true); // kicks gs[0] to the tail
        assert_eq!(runqget(&pp), (gs[2], true));
        assert_eq!(runqget(&pp), (gs[1], false));
        assert_eq!(runqget(&pp), (gs[0], false));
        assert!(runqget(&pp).0.is_null());
    }
}

//! loom model of a stop-the-world against a goroutine entering a system
//! call: `stop_the_world` (runtime-p/src/procresize.rs) stores `gcwaiting`
//! and then CASes each P that is `_Psyscall` to `_Pgcstop`, counting the
//! others in `stopwait`; `entersyscall` (runtime-p/src/syscall.rs) stores
//! its P's status `_Psyscall` and then looks at `gcwaiting`, and if set
//! takes its own P to `_Pgcstop` itself and counts it off
//! (`entersyscallHandleGCWait`). Go's stopTheWorldWithSema and
//! entersyscall (proc.go).
//!
//! A store-buffering pair: if both loads read the old values, the P stays
//! `_Psyscall`, uncounted, while its M blocks in the system call for as
//! long as it likes, and the stop-the-world waits for it. With a SeqCst
//! fence on each side between the store and the load (gort has both; Go's
//! atomics are sequentially consistent) one of them sees the other.
//!
//! The invariant: at the end the P is `_Pgcstop` and counted exactly once.
//! `stw_always_gets_the_syscall_p` models the code; its broken twin
//! `without_fences_the_stw_waits_for_a_syscall` drops the fences and expects
//! loom to find the P missed by both. Built and run only with
//! `RUSTFLAGS="--cfg loom" cargo test --release -p gort-runtime-p --test
//! loom_stw` (scripts/test.sh does).
#![cfg(loom)]

use loom::sync::atomic::{AtomicBool, AtomicU32, Ordering, fence};
use loom::sync::{Arc, Mutex};
use loom::thread;

/// p.rs status values.
const P_RUNNING: u32 = 1;
const P_SYSCALL: u32 = 2;
const P_GCSTOP: u32 = 3;

struct Sched {
    gcwaiting: AtomicBool,
    status: AtomicU32,
    /// `sched.lock` and `stopwait`: the Ps still to stop (one here).
    stopwait: Mutex<i32>,
}

fn model(fences: bool) {
    loom::model(move || {
        let s = Arc::new(Sched {
            gcwaiting: AtomicBool::new(false),
            status: AtomicU32::new(P_RUNNING),
            stopwait: Mutex::new(1),
        });
        // The M of the P: entersyscall.
        let m = {
            let s = s.clone();
            thread::spawn(move || {
                s.status.store(P_SYSCALL, Ordering::Release);
                if fences {
                    fence(Ordering::SeqCst);
                }
                if s.gcwaiting.load(Ordering::Acquire) {
                    // entersyscallHandleGCWait, under sched.lock.
                    let mut w = s.stopwait.lock().unwrap();
                    if *w > 0
                        && s.status
                            .compare_exchange(
                                P_SYSCALL,
                                P_GCSTOP,
                                Ordering::AcqRel,
                                Ordering::Relaxed,
                            )
                            .is_ok()
                    {
                        *w -= 1;
                    }
                }
                // ...then blocks in the system call indefinitely.
            })
        };
        // stop_the_world, under sched.lock.
        {
            let mut w = s.stopwait.lock().unwrap();
            s.gcwaiting.store(true, Ordering::Release);
            if fences {
                fence(Ordering::SeqCst);
            }
            if s.status
                .compare_exchange(P_SYSCALL, P_GCSTOP, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                *w -= 1;
            }
        }
        m.join().unwrap();
        // The M is now in its system call and will not come back soon: the
        // P must be stopped and counted already. (A P caught running is
        // preempted in the real code; here it went into the syscall.)
        assert_eq!(
            *s.stopwait.lock().unwrap(),
            0,
            "the stop-the-world waits for a P in a system call that nobody stopped"
        );
        assert_eq!(s.status.load(Ordering::Acquire), P_GCSTOP);
    });
}

#[test]
fn stw_always_gets_the_syscall_p() {
    model(true);
}

#[test]
#[should_panic(expected = "nobody stopped")]
fn without_fences_the_stw_waits_for_a_syscall() {
    model(false);
}

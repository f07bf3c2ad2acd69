//! loom model of sysmon taking the P from a goroutine in user code
//! (runtime-p/src/retake.rs; no Go twin: Go preempts with a signal).
//!
//! The goroutine makes two runtime calls. Each entry (`retake::enter`)
//! stores `in_rt = 1` and loads `retake`; if it reads `NONE` it uses its P (the owner-only
//! parts: run queue tail, timers, caches), then leaves (`in_rt = 0`,
//! release). sysmon (`retake_running`) stores `retake = PENDING`, runs
//! the process-wide barrier and loads `in_rt`: at 0 it takes the P (here:
//! the M it hands the P to uses it) and stores `DONE`; at 1 it stores
//! `NONE`. A goroutine that reads `PENDING` steps out (`in_rt = 0`) until
//! sysmon has decided, then enters again.
//!
//! A store-buffering pair, so without ordering both loads may read the old
//! values and the P is used by two threads at once. The code has a
//! compiler fence on the goroutine's side and `membarrier` on sysmon's:
//! an asymmetric fence pair, which behaves as a SeqCst fence on each side
//! (the semantics proposed for C++ as `asymmetric_thread_fence_light` /
//! `_heavy`, P1202), and that is how it is modelled here. The P's
//! owner-only state is a loom `UnsafeCell`, so loom reports any two
//! unsynchronised uses.
//!
//! `retake_never_shares_the_p` models the code; its broken twin
//! `without_the_barrier_the_p_is_shared` drops the fences and expects loom
//! to find the P used by both. Built and run only with `RUSTFLAGS="--cfg
//! loom" cargo test --release -p gort-runtime-p --test loom_retake`
//! (scripts/test.sh does).
#![cfg(loom)]

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicU32, Ordering, fence};
use loom::thread;

/// runtime-m's `RETAKE_*`.
const NONE: u32 = 0;
const PENDING: u32 = 1;
const DONE: u32 = 2;

struct M {
    in_rt: AtomicU32,
    retake: AtomicU32,
    /// The P's owner-only state.
    p: UnsafeCell<u32>,
}

fn model(barrier: bool) {
    loom::model(move || {
        // The goroutine is in user code: in_rt = 0.
        let m = Arc::new(M {
            in_rt: AtomicU32::new(0),
            retake: AtomicU32::new(NONE),
            p: UnsafeCell::new(0),
        });
        // The goroutine.
        let g = {
            let m = m.clone();
            thread::spawn(move || {
                // Two runtime calls, user code between them.
                for _ in 0..2 {
                    m.in_rt.store(1, Ordering::Relaxed);
                    if barrier {
                        fence(Ordering::SeqCst);
                    }
                    loop {
                        match m.retake.load(Ordering::Acquire) {
                            NONE => {
                                // Still ours: use it.
                                // SAFETY: the claim under test; loom
                                // reports a concurrent use.
                                m.p.with_mut(|p| unsafe { *p += 1 });
                                break;
                            }
                            DONE => {
                                // exitretake: our P is gone; we would wait
                                // for another one, never touching this one.
                                m.retake.store(NONE, Ordering::Relaxed);
                                return;
                            }
                            _ => {
                                // exitretake: step out while sysmon
                                // decides, then enter again.
                                m.in_rt.store(0, Ordering::Release);
                                while m.retake.load(Ordering::Acquire) == PENDING {
                                    thread::yield_now();
                                }
                                m.in_rt.store(1, Ordering::Relaxed);
                                if barrier {
                                    fence(Ordering::SeqCst);
                                }
                            }
                        }
                    }
                    m.in_rt.store(0, Ordering::Release);
                }
            })
        };
        // sysmon.
        m.retake.store(PENDING, Ordering::SeqCst);
        if barrier {
            fence(Ordering::SeqCst);
        }
        if m.in_rt.load(Ordering::Acquire) == 0 {
            // The P is taken: the M it is handed to runs it.
            // SAFETY: as above.
            m.p.with_mut(|p| unsafe { *p += 10 });
            m.retake.store(DONE, Ordering::Release);
        } else {
            m.retake.store(NONE, Ordering::Release);
        }
        g.join().unwrap();
    });
}

#[test]
fn retake_never_shares_the_p() {
    model(true);
}

#[test]
#[should_panic(expected = "Concurrent write accesses to `UnsafeCell`")]
fn without_the_barrier_the_p_is_shared() {
    model(false);
}

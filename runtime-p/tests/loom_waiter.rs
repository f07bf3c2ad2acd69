//! loom model of an async task's wait on a gort object (waiter.rs): the
//! task's poll registers its `Waker` and then asks whether the one waker
//! came; the waker makes the task's G runnable and then wakes whatever
//! `Waker` is registered.
//!
//! As in the other models, the real functions reach the runtime's globals,
//! so this is the same steps in the same order on the same words:
//!
//! The poll, `TaskG::register_and_check` (runtime-p/src/waiter.rs):
//! 1. Lock the waker slot (`runtime_m::Mutex`), store the task's waker
//!    (unless the same one is there), unlock.
//! 2. Load the G's status (Acquire): `_Grunnable` means the wait is over
//!    (`Ready`); otherwise `Pending`, and the task sleeps until woken.
//!
//! The waker, `waiter::wake` (called from `proc::ready` once it dequeued
//! the sudog):
//! 1. CAS the status `_Gwaiting → _Grunnable` (AcqRel).
//! 2. Lock the slot, take the waker out, unlock; wake it outside the lock.
//!
//! Not a store-buffering pair: both sides order their two steps through
//! the slot's lock. If the waker takes the lock after the poll's unlock,
//! it finds the registered waker; if before, its CAS happens before the
//! poll's lock and so before the poll's status load, which sees
//! `_Grunnable`.
//!
//! Invariant: in every interleaving the task either completes in its poll
//! or is woken. `a_registered_task_is_never_left_asleep` checks it, with a
//! poll that re-registers (a second poll, as an executor makes after a
//! spurious wake-up) racing with the waker too. Its broken twin,
//! `checking_before_registering_loses_the_wakeup`, looks at the status
//! before registering (step 2 before step 1), and loom must find the task
//! asleep with the wait over.
//!
//! Built and run only with `RUSTFLAGS="--cfg loom" cargo test --release
//! -p gort-runtime-p --test loom_waiter` (scripts/test.sh does).
#![cfg(loom)]

use loom::sync::atomic::{AtomicU32, Ordering};
use loom::sync::{Arc, Mutex};

const WAITING: u32 = 1;
const RUNNABLE: u32 = 2;

/// The task G: its status word and its waker slot. A waker is modelled by
/// the number of the poll that registered it; waking it sets `woken`.
struct TaskG {
    status: AtomicU32,
    slot: Mutex<Option<u32>>,
    woken: AtomicU32,
}

impl TaskG {
    fn new() -> TaskG {
        TaskG {
            status: AtomicU32::new(WAITING),
            slot: Mutex::new(None),
            woken: AtomicU32::new(0),
        }
    }

    /// `register_and_check`: true when the poll sees the wait over.
    fn poll(&self, waker: u32) -> bool {
        *self.slot.lock().unwrap() = Some(waker);
        self.status.load(Ordering::Acquire) == RUNNABLE
    }

    /// The broken twin: the status first, then the waker.
    fn poll_late_register(&self, waker: u32) -> bool {
        let done = self.status.load(Ordering::Acquire) == RUNNABLE;
        *self.slot.lock().unwrap() = Some(waker);
        done
    }

    /// `waiter::wake`.
    fn wake(&self) {
        self.status
            .compare_exchange(WAITING, RUNNABLE, Ordering::AcqRel, Ordering::Acquire)
            .expect("one waker");
        let w = self.slot.lock().unwrap().take();
        if let Some(w) = w {
            self.woken.store(w, Ordering::Release);
        }
    }
}

fn scenario(late: bool) {
    loom::model(move || {
        let g = Arc::new(TaskG::new());
        let g2 = g.clone();
        let waker = loom::thread::spawn(move || g2.wake());
        // Two polls, as after a spurious wake-up: each registers the
        // task's current waker (1, then 2).
        let mut done = false;
        for w in 1..=2 {
            done = if late {
                g.poll_late_register(w)
            } else {
                g.poll(w)
            };
            if done {
                break;
            }
        }
        waker.join().unwrap();
        if !done {
            // The task sleeps: it must have been woken by its last poll's
            // waker (or a later one), or it never runs again.
            assert_eq!(
                g.woken.load(Ordering::Acquire),
                2,
                "the wait is over but the task sleeps"
            );
        }
    });
}

#[test]
fn a_registered_task_is_never_left_asleep() {
    scenario(false);
}

#[test]
#[should_panic(expected = "the wait is over but the task sleeps")]
fn checking_before_registering_loses_the_wakeup() {
    scenario(true);
}

//! loom model of shutting a runtime down while an M may be on its way into
//! the network poller: `main_return_m` (runtime-p/src/proc.rs) against the
//! tail of `find_runnable`, where one M at a time blocks in `netpoll(-1)`
//! (`lastpoll` is 0 while it does), and the poller's wake-up
//! (os-linux/src/netpoll_epoll.rs: `wake_entered`, `poll_entered`).
//!
//! The poller's wake-up is an eventfd behind a flag (`wake_sig`) that keeps
//! breaks from piling up: a break sets the flag and writes the eventfd only
//! if the flag was clear; the blocking poller reads the eventfd and only
//! then clears the flag (as Go's netpoll does). A break that comes between
//! those two steps is absorbed: it is meant for "the poller", which is
//! awake anyway. That is enough while the poller re-examines the world
//! after waking, but the shutdown is seen by the *next* poller too late:
//!
//! 1. M_a blocks in the poller; an earlier break is pending.
//! 2. M_a wakes and consumes the eventfd (the flag is still set).
//! 3. m0 passes the shutdown check at the top of `find_runnable`.
//! 4. `main_return_m` sets `shutting_down` and breaks the poller: absorbed.
//! 5. M_a clears the flag, stores `lastpoll`, and leaves (it sees the
//!    shutdown at its next top check).
//! 6. m0 takes the poller role (`lastpoll.swap(0)`) and blocks in
//!    `netpoll(-1)` for good: `block_on` never returns. (Seen as a hang in
//!    about one run in 300 of `examples/placement.rs server migrating`.)
//!
//! The fix: once an M holds the poller role it looks at `shutting_down`
//! again before blocking. `lastpoll.swap(0)` then load `shutting_down`,
//! against store `shutting_down` then break: a store-buffering pair, both
//! sides SeqCst (loom models the SeqCst fences that stand for them here).
//! Either m0 sees the flag, or the shutdown's break comes after m0 took the
//! role, when no other M can consume it.
//!
//! `shutdown_reaches_the_next_poller` runs the model of the fixed code;
//! `without_the_recheck_the_next_poller_sleeps_forever` runs the old code
//! and expects loom to find m0 waiting in the poller with no wake-up left
//! to come.
//! Built and run only with `RUSTFLAGS="--cfg loom" cargo test --release
//! -p gort-runtime-p --test loom_shutdown` (scripts/test.sh does).
#![cfg(loom)]

use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering, fence};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;

struct Rt {
    shutting_down: AtomicBool,
    /// 0 while an M blocks in the poller (proc.rs `s.lastpoll`).
    lastpoll: AtomicUsize,
    /// netpoll_epoll.rs `wake_sig`.
    wake_sig: AtomicU32,
    /// The eventfd's counter, and its readiness for `epoll_wait`.
    evfd: Mutex<u32>,
    ready: Condvar,
    /// `sched.lock` and the idle M list (`stopm`'s `mput`): whether m0
    /// sleeps there, and whether main_return_m woke it.
    idle: Mutex<(bool, bool)>,
}

impl Rt {
    /// netpoll_epoll.rs `wake_entered`.
    fn wake(&self) {
        if self
            .wake_sig
            .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        *self.evfd.lock().unwrap() += 1;
        self.ready.notify_all();
    }

    /// netpoll_epoll.rs `poll_entered` with a delay of -1: block until
    /// the eventfd is readable, consume it, then clear the flag.
    fn poll_blocking(&self) {
        let mut c = self.evfd.lock().unwrap();
        while *c == 0 {
            c = self.ready.wait(c).unwrap();
        }
        *c = 0;
        drop(c);
        self.wake_sig.store(0, Ordering::Release);
    }
}

fn model(recheck: bool) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(move || {
        // Step 1: M_a is in the poller (lastpoll 0) and a break is pending.
        let rt = Arc::new(Rt {
            shutting_down: AtomicBool::new(false),
            lastpoll: AtomicUsize::new(0),
            wake_sig: AtomicU32::new(1),
            evfd: Mutex::new(1),
            ready: Condvar::new(),
            idle: Mutex::new((false, false)),
        });
        // M_a: the poller that was blocked (proc.rs, find_runnable's
        // netpoll(delay) and what follows it).
        let m_a = {
            let rt = rt.clone();
            thread::spawn(move || {
                rt.poll_blocking();
                // lastpoll = now: the poller role is free again.
                rt.lastpoll.store(1, Ordering::Release);
                // It then goes round find_runnable, whose top check sees
                // the shutdown (or it finds work): it leaves either way.
            })
        };
        // M2: main returned on it (main_return_m).
        let m2 = {
            let rt = rt.clone();
            thread::spawn(move || {
                let mut l = rt.idle.lock().unwrap();
                rt.shutting_down.store(true, Ordering::SeqCst);
                fence(Ordering::SeqCst);
                // netpoll_break.
                rt.wake();
                // Wake the idle Ms (mget + notewakeup), still under the
                // lock.
                if l.0 {
                    l.1 = true;
                }
            })
        };
        // m0: in find_runnable after its top check found no shutdown.
        // Where it ends up waiting, if anywhere: checked once the others
        // are done, when nothing else can wake it.
        let mut polls = false;
        let mut idles = false;
        if !rt.shutting_down.load(Ordering::SeqCst) {
            if rt.lastpoll.swap(0, Ordering::SeqCst) != 0 {
                fence(Ordering::SeqCst);
                // netpoll(-1), unless the re-check sees the shutdown.
                polls = !(recheck && rt.shutting_down.load(Ordering::SeqCst));
            } else {
                // Another M polls: stopm, which checks the flag under
                // sched.lock before it sleeps.
                let mut l = rt.idle.lock().unwrap();
                if !rt.shutting_down.load(Ordering::SeqCst) {
                    l.0 = true;
                    idles = true;
                }
            }
        }
        m_a.join().unwrap();
        m2.join().unwrap();
        // M_a and M2 are gone: m0's wait must already have its wake-up,
        // or m0 (and block_on) waits forever.
        if polls {
            assert!(
                *rt.evfd.lock().unwrap() > 0,
                "m0 sleeps forever in netpoll(-1): the shutdown's break was absorbed"
            );
        }
        if idles {
            assert!(rt.idle.lock().unwrap().1, "m0 sleeps forever in stopm");
        }
        // Woken, m0 goes back to find_runnable's top, sees the shutdown
        // and returns to block_on.
    });
}

#[test]
fn shutdown_reaches_the_next_poller() {
    model(true);
}

#[test]
#[should_panic(expected = "sleeps forever in netpoll")]
fn without_the_recheck_the_next_poller_sleeps_forever() {
    model(false);
}

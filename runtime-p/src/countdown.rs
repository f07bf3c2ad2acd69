//! A minimal parking wait on `gopark`/`goready`: a count that wakes every
//! waiter when it reaches zero. runtime-p's own tests use it where Go code
//! would use a WaitGroup (they cannot depend on `gort::sync`, which sits
//! above this crate). Waiters park their goroutine,
//! never the thread; the waiter list is guarded by a runtime lock that
//! `park_m` releases only once the waiter is off the CPU (the park
//! protocol in `proc.rs`).

use runtime_g::{G, WaitReason};
use runtime_m::Mutex;

use crate::proc::{goparkunlock, goready};

struct State {
    left: usize,
    /// Parked waiters (`*mut G` as numbers, so the state is `Send`).
    waiters: Vec<usize>,
}

/// A count that wakes every parked waiter when it reaches zero.
pub struct Countdown {
    st: Mutex<State>,
}

impl Countdown {
    /// A countdown from `n`.
    pub fn new(n: usize) -> Countdown {
        Countdown {
            st: Mutex::new(State {
                left: n,
                waiters: Vec::new(),
            }),
        }
    }

    /// Counts one down; at zero wakes every waiter and returns how many.
    ///
    /// # Panics
    /// If the count is already zero, or outside a goroutine.
    pub fn done(&self) -> usize {
        let (_, _rt) = crate::proc::runtime_entry("Countdown::done");
        let ws = {
            let mut st = self.st.lock();
            assert!(st.left > 0, "countdown below zero");
            st.left -= 1;
            if st.left == 0 {
                std::mem::take(&mut st.waiters)
            } else {
                Vec::new()
            }
        };
        for &w in &ws {
            // SAFETY: each waiter was taken off the list under the lock, so
            // we are its only waker; it published itself under that lock
            // and park_m released it only once the waiter was parked.
            unsafe { goready(w as *mut G) };
        }
        ws.len()
    }

    /// Parks the calling goroutine until the count is zero.
    ///
    /// # Panics
    /// Outside a goroutine.
    pub fn wait(&self) {
        let (gp, _rt) = crate::proc::runtime_entry("Countdown::wait");
        let mut st = self.st.lock();
        if st.left == 0 {
            return;
        }
        // The runtime is ending (kill.rs): the goroutine ends here.
        // SAFETY: gp is the running goroutine.
        if unsafe { crate::kill::kill_point(gp) } {
            drop(st);
            crate::kill::goexit();
        }
        st.waiters.push(gp as usize);
        std::mem::forget(st);
        // SAFETY: we hold the raw lock (the guard was forgotten); wakers find
        // us only in the list it guards; we are on a goroutine.
        unsafe {
            crate::kill::set_cancel(gp, cancel_wait, self as *const Countdown as *mut ());
            goparkunlock(self.st.raw(), WaitReason::SyncWaitGroupWait);
            if crate::kill::park_killed(gp) {
                crate::kill::goexit();
            }
        }
    }
}

/// The shutdown's cancel function for a goroutine parked in
/// [`Countdown::wait`] (kill.rs): takes it off the waiters, if `done` has
/// not taken it already.
///
/// # Safety
/// With the world stopped, for a G parked on the countdown at `arg`, which
/// its frame keeps alive.
unsafe fn cancel_wait(gp: *mut G, arg: *mut ()) -> bool {
    // SAFETY: per the contract.
    let cd = unsafe { &*(arg as *const Countdown) };
    let mut st = cd.st.lock();
    match st.waiters.iter().position(|&w| w == gp as usize) {
        Some(i) => {
            st.waiters.swap_remove(i);
            true
        }
        None => false,
    }
}

//! Port of go1.27 `internal/sync/mutex.go` (Go's `sync.Mutex`).
//!
//! ## The state word
//! | bits | meaning |
//! |---|---|
//! | `1` locked | someone holds the mutex |
//! | `2` woken | a waiter is awake and competing; unlock need not wake another |
//! | `4` starving | hand-off mode (see below) |
//! | `>> 3` | number of goroutines waiting on the semaphore |
//!
//! ## Two modes
//! Normal mode: waiters queue FIFO, but a woken waiter competes with newly
//! arriving goroutines, which are already on a CPU and usually win; a
//! waiter that loses goes back to the *front* of the queue (LIFO). A waiter
//! that has waited more than 1 ms switches the mutex to starvation mode:
//! unlock then hands ownership straight to the first waiter
//! (`semrelease1(handoff)`), and newcomers queue at the tail without
//! trying. The last waiter, or one that waited less than 1 ms, switches back
//! to normal mode. Normal mode is much faster; starvation mode bounds the
//! tail latency (TestMutexFairness).

use core::sync::atomic::{AtomicI32, AtomicU32, Ordering};

use runtime_g::WaitReason;
use runtime_p::sema::{
    semacquire1_nocancel, semrelease1, sync_runtime_can_spin, sync_runtime_do_spin,
};

const MUTEX_LOCKED: i32 = 1;
const MUTEX_WOKEN: i32 = 2;
const MUTEX_STARVING: i32 = 4;
const MUTEX_WAITER_SHIFT: u32 = 3;
/// A waiter that waited longer than this switches to starvation mode.
const STARVATION_THRESHOLD_NS: i64 = 1_000_000;

fn nanotime() -> i64 {
    if !runtime_m::os::installed() {
        // A plain thread waits before any runtime started.
        crate::builder::ensure_os_layer();
    }
    runtime_m::os().nanotime()
}

/// Go's `sync.Mutex`: a mutual-exclusion lock that protects no data of its
/// own. The zero value ([`RawMutex::new`]) is unlocked. Unlike a guard-based
/// lock it may be unlocked by a goroutine other than the one that locked it,
/// as in Go. For a lock that owns its data, use [`Mutex<T>`](super::Mutex).
pub struct RawMutex {
    state: AtomicI32,
    sema: AtomicU32,
}

impl Default for RawMutex {
    fn default() -> Self {
        RawMutex::new()
    }
}

impl core::fmt::Debug for RawMutex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = self.state.load(Ordering::Relaxed);
        f.debug_struct("RawMutex")
            .field("locked", &(s & MUTEX_LOCKED != 0))
            .field("starving", &(s & MUTEX_STARVING != 0))
            .field("waiters", &(s >> MUTEX_WAITER_SHIFT))
            .finish()
    }
}

impl RawMutex {
    /// An unlocked mutex.
    pub const fn new() -> RawMutex {
        RawMutex {
            state: AtomicI32::new(0),
            sema: AtomicU32::new(0),
        }
    }

    /// Locks, waiting (parked) while another goroutine holds it: Go's
    /// `Mutex.Lock`.
    #[inline]
    #[track_caller]
    pub fn lock(&self) {
        // Fast path: grab the unlocked mutex.
        if self
            .state
            .compare_exchange(0, MUTEX_LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
        self.lock_slow();
    }

    /// Locks if that is possible now: Go's `Mutex.TryLock`.
    #[inline]
    pub fn try_lock(&self) -> bool {
        let old = self.state.load(Ordering::Relaxed);
        if old & (MUTEX_LOCKED | MUTEX_STARVING) != 0 {
            return false;
        }
        // There may be a goroutine waiting; we are racing it, and this CAS
        // settles it.
        self.state
            .compare_exchange(
                old,
                old | MUTEX_LOCKED,
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// Whether the mutex is locked right now (a snapshot).
    pub fn is_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) & MUTEX_LOCKED != 0
    }

    /// lockSlow: port of (*Mutex).lockSlow.
    #[cold]
    #[track_caller]
    fn lock_slow(&self) {
        let mut wait_start: i64 = 0;
        let mut starving = false;
        let mut awoke = false;
        let mut iter = 0u32;
        let mut old = self.state.load(Ordering::Relaxed);
        loop {
            // Spin only in normal mode while the mutex is locked: in
            // starvation mode ownership is handed to waiters, so spinning
            // cannot win it.
            if old & (MUTEX_LOCKED | MUTEX_STARVING) == MUTEX_LOCKED && sync_runtime_can_spin(iter)
            {
                // Set the woken flag so that Unlock does not wake another
                // waiter while we are about to take the lock.
                if !awoke
                    && old & MUTEX_WOKEN == 0
                    && old >> MUTEX_WAITER_SHIFT != 0
                    && self
                        .state
                        .compare_exchange(
                            old,
                            old | MUTEX_WOKEN,
                            Ordering::Relaxed,
                            Ordering::Relaxed,
                        )
                        .is_ok()
                {
                    awoke = true;
                }
                sync_runtime_do_spin();
                iter += 1;
                old = self.state.load(Ordering::Relaxed);
                continue;
            }
            let mut new = old;
            // Newcomers do not try to take a starving mutex: they queue.
            if old & MUTEX_STARVING == 0 {
                new |= MUTEX_LOCKED;
            }
            if old & (MUTEX_LOCKED | MUTEX_STARVING) != 0 {
                new += 1 << MUTEX_WAITER_SHIFT;
            }
            // Switch to starvation mode, unless the mutex is free now (then
            // Unlock expects waiters, and there may be none).
            if starving && old & MUTEX_LOCKED != 0 {
                new |= MUTEX_STARVING;
            }
            if awoke {
                // We were woken from sleep: clear the flag either way.
                if new & MUTEX_WOKEN == 0 {
                    super::fatal("sync: inconsistent mutex state");
                }
                new &= !MUTEX_WOKEN;
            }
            match self
                .state
                .compare_exchange(old, new, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => {
                    if old & (MUTEX_LOCKED | MUTEX_STARVING) == 0 {
                        break; // locked it with the CAS
                    }
                    // A waiter that waited before goes to the front.
                    let queue_lifo = wait_start != 0;
                    if wait_start == 0 {
                        wait_start = nanotime();
                    }
                    semacquire1_nocancel(&self.sema, queue_lifo, WaitReason::SyncMutexLock);
                    starving = starving || nanotime() - wait_start > STARVATION_THRESHOLD_NS;
                    old = self.state.load(Ordering::Relaxed);
                    if old & MUTEX_STARVING != 0 {
                        // Ownership was handed to us, but the state does not
                        // say so yet: fix it up.
                        if old & (MUTEX_LOCKED | MUTEX_WOKEN) != 0 || old >> MUTEX_WAITER_SHIFT == 0
                        {
                            super::fatal("sync: inconsistent mutex state");
                        }
                        let mut delta = MUTEX_LOCKED - (1 << MUTEX_WAITER_SHIFT);
                        if !starving || old >> MUTEX_WAITER_SHIFT == 1 {
                            // Leave starvation mode: we are the last waiter,
                            // or did not wait long (two goroutines could
                            // otherwise stay in lockstep in starvation mode).
                            delta -= MUTEX_STARVING;
                        }
                        self.state.fetch_add(delta, Ordering::Acquire);
                        break;
                    }
                    awoke = true;
                    iter = 0;
                }
                Err(cur) => old = cur,
            }
        }
    }

    /// Unlocks: Go's `Mutex.Unlock`. Any goroutine may unlock a locked
    /// mutex.
    ///
    /// Unlocking an unlocked mutex ends the program with Go's `fatal error:
    /// sync: unlock of unlocked mutex` (status 2); it cannot be recovered.
    #[inline]
    #[track_caller]
    pub fn unlock(&self) {
        // Fast path: drop the lock bit.
        let new = self.state.fetch_sub(MUTEX_LOCKED, Ordering::Release) - MUTEX_LOCKED;
        if new != 0 {
            // Waiters, or a bad unlock: the slow path checks.
            self.unlock_slow(new);
        }
    }

    /// unlockSlow: port of (*Mutex).unlockSlow.
    #[cold]
    #[track_caller]
    fn unlock_slow(&self, new: i32) {
        if (new + MUTEX_LOCKED) & MUTEX_LOCKED == 0 {
            super::fatal("sync: unlock of unlocked mutex");
        }
        if new & MUTEX_STARVING == 0 {
            let mut old = new;
            loop {
                // Nobody to wake, or someone is already woken or took the
                // lock, or the mode changed: nothing to do.
                if old >> MUTEX_WAITER_SHIFT == 0
                    || old & (MUTEX_LOCKED | MUTEX_WOKEN | MUTEX_STARVING) != 0
                {
                    return;
                }
                // Take the right to wake someone.
                let new = (old - (1 << MUTEX_WAITER_SHIFT)) | MUTEX_WOKEN;
                match self
                    .state
                    .compare_exchange(old, new, Ordering::Release, Ordering::Relaxed)
                {
                    Ok(_) => {
                        semrelease1(&self.sema, false);
                        return;
                    }
                    Err(cur) => old = cur,
                }
            }
        } else {
            // Starvation mode: hand ownership to the next waiter and yield
            // our time slice to it. The locked bit stays clear; the waiter
            // sets it. Newcomers see the starving bit and stay away.
            semrelease1(&self.sema, true);
        }
    }
}

// SAFETY: lock/try_lock acquire exclusive ownership as the algorithm
// above guarantees (a port of Go's sync.Mutex); unlock releases it.
unsafe impl lock_api::RawMutex for RawMutex {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: RawMutex = RawMutex::new();
    /// Guards may cross threads: a goroutine holding one can resume on
    /// another thread after a park.
    type GuardMarker = lock_api::GuardSend;

    #[inline]
    fn lock(&self) {
        RawMutex::lock(self)
    }

    #[inline]
    fn try_lock(&self) -> bool {
        RawMutex::try_lock(self)
    }

    #[inline]
    unsafe fn unlock(&self) {
        RawMutex::unlock(self)
    }

    fn is_locked(&self) -> bool {
        RawMutex::is_locked(self)
    }
}

/// A mutual-exclusion lock that owns its data, with Go's `sync.Mutex`
/// algorithm: `lock_api::Mutex` over [`RawMutex`].
///
/// ```no_run
/// let m = gort::sync::Mutex::new(0);
/// *m.lock() += 1;
/// ```
pub type Mutex<T> = lock_api::Mutex<RawMutex, T>;

/// The guard of a [`Mutex`]: unlocks on drop.
pub type MutexGuard<'a, T> = lock_api::MutexGuard<'a, RawMutex, T>;

//! The runtime's internal mutex: port of `lock2`, `unlock2` and
//! `unlock2Wake` of `runtime/lock_spinbit.go` (go1.24+), on top of the OS
//! layer's `semasleep`/`semawakeup`.
//!
//! ## The key word
//!
//! | bits            | meaning                                              |
//! |-----------------|------------------------------------------------------|
//! | `0x001` locked  | someone holds the mutex                              |
//! | `0x002` sleeping| some M may be asleep waiting for it                  |
//! | `0x100` spinning| one M is spinning for it (at most one at a time)     |
//! | `0x200` stack   | an unlocker is editing the stack of sleepers         |
//! | `!0x3FF`        | the M at the top of the stack of sleeping Ms          |
//!
//! Ms are allocated 1024-byte aligned, so the upper bits of the key are a
//! whole `*mut M`; sleepers form a stack linked through `m.mwaitlist_next`.
//!
//! ## Protocol (numbered as in `lock2`)
//! 1. Fast path: set `locked`; if it was clear, we own the mutex.
//! 2. Otherwise become the (single) spinner if nobody spins, and spin a few
//!    rounds (`procyield`), then yield once (`osyield`), retrying.
//! 3. Push this M on the stack of sleepers (CAS of the whole key, dropping
//!    the spinning bit if we had it) and `semasleep(-1)`.
//! 4. When woken, retry from 1 — spinning again only if we were at the tail
//!    of the stack (at risk of starving) or the lock prefers low latency.
//!
//! `unlock2` clears `locked`/`sleeping`; if someone slept, `unlock2Wake`
//! wakes the top M unless a spinner will take the lock anyway — and one time
//! in 16, the *bottom* M, so that no sleeper starves.
//!
//! Difference from Go: Go flips the low byte with `Xchg8`/`Or8`. Rust's
//! memory model forbids overlapping atomic accesses of different sizes, so
//! those become full-word `fetch_or`/`fetch_and`, with the same effect on
//! the flag bits.
//!
//! These locks block the *thread*, never a goroutine: for short critical
//! sections of the runtime, never held across a goroutine switch
//! (`schedule` throws if `m.locks != 0`).

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering};

use runtime_g::throw;

use crate::m::{M, cheaprandn, getm};
use crate::os::os;

const MUTEX_LOCKED: usize = 0x001;
const MUTEX_SLEEPING: usize = 0x002;
const MUTEX_SPINNING: usize = 0x100;
const MUTEX_STACK_LOCKED: usize = 0x200;
const MUTEX_M_MASK: usize = 0x3FF;
const MUTEX_ACTIVE_SPIN_COUNT: u32 = 4;
const MUTEX_ACTIVE_SPIN_SIZE: u32 = 30;
const MUTEX_PASSIVE_SPIN_COUNT: u32 = 1;
const MUTEX_TAIL_WAKE_PERIOD: u32 = 16;
/// How much one held runtime lock adds to `m.locks` (Go's
/// `mutexMLocksDelta`).
pub const MUTEX_M_LOCKS_DELTA: i32 = 16;

/// Go's `mutex`: a raw runtime lock without data.
pub struct RawMutex {
    key: AtomicUsize,
    /// `mutexPreferLowLatency`: true for `sched.lock`, whose waiters should
    /// stay awake as much as possible.
    low_latency: bool,
}

impl Default for RawMutex {
    fn default() -> Self {
        RawMutex::new()
    }
}

/// procyield: port of runtime.procyield (asm_amd64.s): `n` PAUSE hints.
#[inline]
pub fn procyield(n: u32) {
    for _ in 0..n {
        core::hint::spin_loop();
    }
}

/// osyield: port of runtime.osyield, through the OS layer.
pub fn osyield() {
    os().osyield();
}

/// semasleep: port of runtime.semasleep for the calling M.
pub fn semasleep(ns: i64) -> i32 {
    let mp = getm();
    if mp.is_null() {
        throw("semasleep outside an M");
    }
    // SAFETY: mp is the calling thread's M.
    unsafe { os().semasleep(mp, ns) }
}

/// semawakeup: port of runtime.semawakeup.
///
/// # Safety
/// `mp` must be a live M (Ms are never freed).
pub unsafe fn semawakeup(mp: *mut M) {
    // SAFETY: forwarded contract.
    unsafe { os().semawakeup(mp) }
}

fn ncpu() -> usize {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.load(Ordering::Relaxed);
    if n != 0 {
        return n;
    }
    let n = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    N.store(n, Ordering::Relaxed);
    n
}

/// mutexWaitListHead: the M on top of the stack of sleepers in `v`.
#[inline]
fn wait_list_head(v: usize) -> *mut M {
    (v & !MUTEX_M_MASK) as *mut M
}

impl RawMutex {
    /// An unlocked mutex.
    pub const fn new() -> RawMutex {
        RawMutex {
            key: AtomicUsize::new(0),
            low_latency: false,
        }
    }

    /// An unlocked mutex whose waiters prefer low latency (Go gives
    /// `sched.lock` this treatment).
    pub const fn new_low_latency() -> RawMutex {
        RawMutex {
            key: AtomicUsize::new(0),
            low_latency: true,
        }
    }

    /// lock2: port of runtime.lock2 (lock_spinbit.go).
    #[inline]
    pub fn lock(&self) {
        // Go counts held runtime locks in `m.locks` (which also keeps the
        // scheduler from preempting the holder). gort never preempts a
        // holder — preemption is cooperative — so the count only feeds
        // sanity checks ("schedule: holding locks"), and only debug builds
        // keep it, as Go keeps its lock ranking to debug builds: it costs
        // a read of the g slot per lock and unlock.
        #[cfg(debug_assertions)]
        {
            let mp = getm();
            if !mp.is_null() {
                // SAFETY: `locks` is owned by the running M.
                unsafe {
                    if (*mp).locks < 0 {
                        throw("runtime·lock: lock count");
                    }
                    (*mp).locks += MUTEX_M_LOCKS_DELTA;
                }
            }
        }
        let v = self.key.fetch_or(MUTEX_LOCKED, Ordering::Acquire);
        if v & MUTEX_LOCKED == 0 {
            return;
        }
        self.lock_slow(getm());
    }

    #[cold]
    fn lock_slow(&self, mp: *mut M) {
        if mp.is_null() {
            // A thread outside any runtime (tests, std threads): no M to
            // sleep on; fall back to spinning with yields.
            loop {
                let v = self.key.fetch_or(MUTEX_LOCKED, Ordering::Acquire);
                if v & MUTEX_LOCKED == 0 {
                    return;
                }
                std::thread::yield_now();
            }
        }
        let spin = if ncpu() > 1 {
            MUTEX_ACTIVE_SPIN_COUNT
        } else {
            0
        };
        let mut we_spin = false;
        let mut at_tail = false;
        let mut v = self.key.load(Ordering::Relaxed);
        let mut i: u32 = 0;
        loop {
            if v & MUTEX_LOCKED == 0 {
                if we_spin {
                    let mut next = (v & !MUTEX_SPINNING) | MUTEX_SLEEPING | MUTEX_LOCKED;
                    if next & !MUTEX_M_MASK == 0 {
                        // No sleepers left: nobody to mark for.
                        next &= !MUTEX_SLEEPING;
                    }
                    if self
                        .key
                        .compare_exchange(v, next, Ordering::Acquire, Ordering::Relaxed)
                        .is_ok()
                    {
                        return;
                    }
                } else {
                    let prev = self
                        .key
                        .fetch_or(MUTEX_LOCKED | MUTEX_SLEEPING, Ordering::Acquire);
                    if prev & MUTEX_LOCKED == 0 {
                        return;
                    }
                }
                v = self.key.load(Ordering::Relaxed);
                i += 1;
                continue;
            }
            if !we_spin
                && v & MUTEX_SPINNING == 0
                && self
                    .key
                    .compare_exchange(v, v | MUTEX_SPINNING, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
            {
                v |= MUTEX_SPINNING;
                we_spin = true;
            }
            if we_spin || at_tail || self.low_latency {
                if i < spin {
                    procyield(MUTEX_ACTIVE_SPIN_SIZE);
                    v = self.key.load(Ordering::Relaxed);
                    i += 1;
                    continue;
                } else if i < spin + MUTEX_PASSIVE_SPIN_COUNT {
                    osyield();
                    v = self.key.load(Ordering::Relaxed);
                    i += 1;
                    continue;
                }
            }
            if v & MUTEX_LOCKED == 0 {
                throw("runtime·lock: sleeping while lock is available");
            }
            // Push ourselves on the stack of sleepers.
            // SAFETY: mwaitlist_next is ours while we are not on the stack.
            unsafe {
                (*mp)
                    .mwaitlist_next
                    .store(wait_list_head(v), Ordering::Relaxed)
            };
            let mut next = (mp as usize & !MUTEX_M_MASK) | (v & MUTEX_M_MASK) | MUTEX_SLEEPING;
            if we_spin {
                next &= !MUTEX_SPINNING;
            }
            if self
                .key
                .compare_exchange(v, next, Ordering::Release, Ordering::Relaxed)
                .is_ok()
            {
                we_spin = false;
                semasleep(-1);
                // SAFETY: the waker took us off the stack before waking us.
                at_tail = unsafe { (*mp).mwaitlist_next.load(Ordering::Relaxed) }.is_null();
                i = 0;
            }
            i += 1;
            // SAFETY: as above.
            unsafe {
                (*mp)
                    .mwaitlist_next
                    .store(core::ptr::null_mut(), Ordering::Relaxed)
            };
            v = self.key.load(Ordering::Relaxed);
        }
    }

    /// unlock2: port of runtime.unlock2 (lock_spinbit.go), without the
    /// contention profiler.
    #[inline]
    pub fn unlock(&self) {
        let prev = self
            .key
            .fetch_and(!(MUTEX_LOCKED | MUTEX_SLEEPING), Ordering::Release);
        if prev & MUTEX_LOCKED == 0 {
            throw("unlock of unlocked lock");
        }
        if prev & MUTEX_SLEEPING != 0 {
            self.unlock2_wake();
        }
        #[cfg(debug_assertions)]
        let mp = getm();
        #[cfg(debug_assertions)]
        if !mp.is_null() {
            // SAFETY: `locks` is owned by the running M.
            unsafe {
                (*mp).locks -= MUTEX_M_LOCKS_DELTA;
                if (*mp).locks < 0 {
                    throw("runtime·unlock: lock count");
                }
            }
        }
    }

    /// unlock2Wake: port of runtime.unlock2Wake (lock_spinbit.go).
    #[cold]
    fn unlock2_wake(&self) {
        let mut v = self.key.load(Ordering::Acquire);
        let anti_starve = cheaprandn(MUTEX_TAIL_WAKE_PERIOD) == 0;
        if !(anti_starve || v & MUTEX_SPINNING == 0 || self.low_latency) {
            // A spinner will take the lock; let the sleepers sleep.
            return;
        }
        // Take the stack lock, unless there is nothing to wake or another
        // unlocker holds it (it will do the waking).
        loop {
            if v & !MUTEX_M_MASK == 0 || v & MUTEX_STACK_LOCKED != 0 {
                return;
            }
            match self.key.compare_exchange(
                v,
                v | MUTEX_STACK_LOCKED,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(cur) => v = cur,
            }
        }
        let mut committed: *mut M = core::ptr::null_mut();
        loop {
            let mut head_m = v & !MUTEX_M_MASK;
            let flags = v & (MUTEX_M_MASK & !MUTEX_STACK_LOCKED);
            let mp = wait_list_head(v);
            let mut wakem = committed;
            if committed.is_null() {
                if v & MUTEX_SPINNING == 0 || self.low_latency {
                    wakem = mp;
                }
                if anti_starve {
                    // Wake the bottom of the stack: the longest waiter.
                    wakem = mp;
                    let mut prev = mp;
                    loop {
                        // SAFETY: Ms on the stack are live; the stack lock
                        // makes us the only editor of their links.
                        let next = unsafe { (*wakem).mwaitlist_next.load(Ordering::Relaxed) };
                        if next.is_null() {
                            break;
                        }
                        prev = wakem;
                        wakem = next;
                    }
                    if wakem != mp {
                        committed = wakem;
                        // SAFETY: as above.
                        unsafe {
                            let after = (*wakem).mwaitlist_next.load(Ordering::Relaxed);
                            (*prev).mwaitlist_next.store(after, Ordering::Relaxed);
                        }
                    }
                }
            }
            if wakem == mp {
                // SAFETY: as above.
                head_m = unsafe { (*mp).mwaitlist_next.load(Ordering::Relaxed) } as usize
                    & !MUTEX_M_MASK;
            }
            let next = head_m | flags;
            match self
                .key
                .compare_exchange(v, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => {
                    if !wakem.is_null() {
                        // SAFETY: wakem was on the stack of sleepers: a
                        // live M that we just took off it.
                        unsafe { semawakeup(wakem) };
                    }
                    return;
                }
                Err(cur) => v = cur,
            }
        }
    }
}

/// A runtime lock that owns the data it protects, in lock_api's shape: the
/// guard is the only way to reach the data, which makes Go's "sched.lock
/// must be held" a type-level fact.
pub struct Mutex<T> {
    raw: RawMutex,
    data: UnsafeCell<T>,
}

// SAFETY: the data is only reachable through a guard, and guards exclude
// each other via the raw lock, as for std::sync::Mutex.
unsafe impl<T: Send> Sync for Mutex<T> {}
// SAFETY: moving the mutex moves the data; T: Send suffices.
unsafe impl<T: Send> Send for Mutex<T> {}

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `v`.
    pub const fn new(v: T) -> Mutex<T> {
        Mutex {
            raw: RawMutex::new(),
            data: UnsafeCell::new(v),
        }
    }

    /// A mutex whose waiters prefer low latency (for `sched.lock`).
    pub const fn new_low_latency(v: T) -> Mutex<T> {
        Mutex {
            raw: RawMutex::new_low_latency(),
            data: UnsafeCell::new(v),
        }
    }

    /// Locks and returns the guard.
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.raw.lock();
        MutexGuard { m: self }
    }

    /// The raw lock, for protocols that unlock on another stack (gopark's
    /// `unlockf`).
    pub fn raw(&self) -> &RawMutex {
        &self.raw
    }
}

/// Proof that a [`Mutex`] is held; unlocks on drop.
pub struct MutexGuard<'a, T> {
    m: &'a Mutex<T>,
}

impl<T> core::ops::Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves the lock is held.
        unsafe { &*self.m.data.get() }
    }
}

impl<T> core::ops::DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves the lock is held, and &mut self makes
        // this the only reference.
        unsafe { &mut *self.m.data.get() }
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.m.raw.unlock();
    }
}

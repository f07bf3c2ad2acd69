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
//! `unlock2` clears `locked`/`sleeping` (see [`unlock2_release`] for how
//! and why in two steps); if someone slept, `unlock2Wake`
//! wakes the top M unless a spinner will take the lock anyway — and one time
//! in 16, the *bottom* M, so that no sleeper starves.
//!
//! Difference from Go: Go flips the low byte with `Xchg8`/`Or8`. Rust's
//! memory model forbids overlapping atomic accesses of different sizes, so
//! those become full-word `fetch_or`s, and unlock a `fetch_sub` then a
//! `fetch_and` (see [`unlock2_release`]), with the same effect on the flag
//! bits.
//!
//! The contended paths (`lock2_slow`, `unlock2_wake`) are generic over a
//! [`LockEnv`] (the OS layer and the Ms, or a model):
//! `runtime-m/tests/loom_lock.rs` model-checks mutual exclusion and the
//! absence of lost wake-ups with two and three Ms (mutation-checked: an
//! unlock that never wakes is caught as a deadlock).
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
/// How many times a contended lock spins before it sleeps (Go's
/// `mutexActiveSpinCount`; `sync_runtime_canSpin` uses the same bound).
pub const MUTEX_ACTIVE_SPIN_COUNT: u32 = 4;
/// `procyield` cycles per spin (Go's `mutexActiveSpinSize`; also the
/// `sync_runtime_doSpin` yield).
pub const MUTEX_ACTIVE_SPIN_SIZE: u32 = 30;
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

/// The number of CPUs this process may use (Go's `ncpu`), computed once.
pub fn ncpu() -> usize {
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
        lock2_slow(&self.key, self.low_latency, &OsEnv, mp as usize);
    }

    /// unlock2: port of runtime.unlock2 (lock_spinbit.go), without the
    /// contention profiler.
    #[inline]
    pub fn unlock(&self) {
        if unlock2_release(&self.key) {
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
    #[inline(never)]
    fn unlock2_wake(&self) {
        unlock2_wake(&self.key, self.low_latency, &OsEnv);
    }
}

/// The first half of unlock2 (lock_spinbit.go): releases the lock and
/// says whether `unlock2Wake` must run (someone may sleep).
///
/// Go clears `locked` and `sleeping` together with an unconditional
/// `Xchg8` of the key's low byte. A full-word `fetch_and` whose result is
/// used compiles to a compare-and-swap loop on x86, which retries while
/// other Ms spin on the word; so the lock is released with an
/// unconditional `fetch_sub` of `locked` (the bit is known to be set), and
/// `sleeping` is cleared after, only when it was set — just before
/// `unlock2Wake` runs, which is the one party the hint was for. A new
/// owner that slips in between sees the hint still set, as it would have
/// before the unlock; the waking that follows is Go's. (Model-checked with
/// the rest in `tests/loom_lock.rs`.)
#[inline]
pub fn unlock2_release<W: LockWord + ?Sized>(key: &W) -> bool {
    let prev = key.fetch_sub(MUTEX_LOCKED, Ordering::Release);
    if prev & MUTEX_LOCKED == 0 {
        throw("unlock of unlocked lock");
    }
    if prev & MUTEX_SLEEPING != 0 {
        key.fetch_and(!MUTEX_SLEEPING, Ordering::Relaxed);
        return true;
    }
    false
}

/// The word operations lock2/unlock2 use (the key, and each M's link in
/// the stack of sleepers): `core`'s `AtomicUsize`, or loom's in models.
pub trait LockWord {
    fn load(&self, o: Ordering) -> usize;
    fn store(&self, v: usize, o: Ordering);
    fn fetch_or(&self, v: usize, o: Ordering) -> usize;
    fn fetch_and(&self, v: usize, o: Ordering) -> usize;
    fn fetch_sub(&self, v: usize, o: Ordering) -> usize;
    fn compare_exchange(
        &self,
        cur: usize,
        new: usize,
        s: Ordering,
        f: Ordering,
    ) -> Result<usize, usize>;
}

/// `LockWord` for an atomic type with the std method set (std's, and
/// loom's in the models).
macro_rules! impl_lock_word {
    ($t:ty) => {
        impl LockWord for $t {
            fn load(&self, o: Ordering) -> usize {
                <$t>::load(self, o)
            }
            fn store(&self, v: usize, o: Ordering) {
                <$t>::store(self, v, o)
            }
            fn fetch_or(&self, v: usize, o: Ordering) -> usize {
                <$t>::fetch_or(self, v, o)
            }
            fn fetch_and(&self, v: usize, o: Ordering) -> usize {
                <$t>::fetch_and(self, v, o)
            }
            fn fetch_sub(&self, v: usize, o: Ordering) -> usize {
                <$t>::fetch_sub(self, v, o)
            }
            fn compare_exchange(
                &self,
                cur: usize,
                new: usize,
                s: Ordering,
                f: Ordering,
            ) -> Result<usize, usize> {
                <$t>::compare_exchange(self, cur, new, s, f)
            }
        }
    };
}

impl_lock_word!(AtomicUsize);
#[cfg(loom)]
impl_lock_word!(loom::sync::atomic::AtomicUsize);

/// What lock2 and unlock2Wake need from their surroundings — the Ms'
/// semaphores and links, spinning, the CPU count, randomness — from the OS
/// layer and the real Ms ([`OsEnv`]), or from a model (the loom tests). An
/// M is a number: its address, 1024-aligned.
pub trait LockEnv {
    type Word: LockWord + ?Sized;
    /// `mp`'s `mWaitList.next`.
    fn next(&self, mp: usize) -> &Self::Word;
    /// semasleep(-1) on `mp`'s semaphore (the caller is `mp`).
    fn semasleep(&self, mp: usize);
    /// semawakeup of `mp`'s semaphore.
    fn semawakeup(&self, mp: usize);
    fn procyield(&self, n: u32);
    fn osyield(&self);
    fn ncpu(&self) -> usize;
    fn cheaprandn(&self, n: u32) -> u32;
}

/// The real environment: the OS layer and the Ms.
pub struct OsEnv;

impl LockEnv for OsEnv {
    type Word = AtomicUsize;
    fn next(&self, mp: usize) -> &AtomicUsize {
        // SAFETY: Ms are never freed; the link is atomic.
        unsafe { &(*(mp as *const M)).mwaitlist_next }
    }
    fn semasleep(&self, _mp: usize) {
        semasleep(-1);
    }
    fn semawakeup(&self, mp: usize) {
        // SAFETY: mp was on the stack of sleepers: a live M.
        unsafe { semawakeup(mp as *mut M) }
    }
    fn procyield(&self, n: u32) {
        procyield(n)
    }
    fn osyield(&self) {
        osyield()
    }
    fn ncpu(&self) -> usize {
        ncpu()
    }
    fn cheaprandn(&self, n: u32) -> u32 {
        cheaprandn(n)
    }
}

/// lock2's contended path: port of runtime.lock2 (lock_spinbit.go) after
/// its fast path, for M `mp`, over any [`LockEnv`].
pub fn lock2_slow<W: LockWord + ?Sized, E: LockEnv<Word = W>>(
    key: &W,
    low_latency: bool,
    env: &E,
    mp: usize,
) {
    let spin = if env.ncpu() > 1 {
        MUTEX_ACTIVE_SPIN_COUNT
    } else {
        0
    };
    let mut we_spin = false;
    let mut at_tail = false;
    let mut v = key.load(Ordering::Relaxed);
    let mut i: u32 = 0;
    loop {
        if v & MUTEX_LOCKED == 0 {
            if we_spin {
                let mut next = (v & !MUTEX_SPINNING) | MUTEX_SLEEPING | MUTEX_LOCKED;
                if next & !MUTEX_M_MASK == 0 {
                    // No sleepers left: nobody to mark for.
                    next &= !MUTEX_SLEEPING;
                }
                if key
                    .compare_exchange(v, next, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return;
                }
            } else {
                let prev = key.fetch_or(MUTEX_LOCKED | MUTEX_SLEEPING, Ordering::Acquire);
                if prev & MUTEX_LOCKED == 0 {
                    return;
                }
            }
            v = key.load(Ordering::Relaxed);
            i += 1;
            continue;
        }
        if !we_spin
            && v & MUTEX_SPINNING == 0
            && key
                .compare_exchange(v, v | MUTEX_SPINNING, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            v |= MUTEX_SPINNING;
            we_spin = true;
        }
        if we_spin || at_tail || low_latency {
            if i < spin {
                env.procyield(MUTEX_ACTIVE_SPIN_SIZE);
                v = key.load(Ordering::Relaxed);
                i += 1;
                continue;
            } else if i < spin + MUTEX_PASSIVE_SPIN_COUNT {
                env.osyield();
                v = key.load(Ordering::Relaxed);
                i += 1;
                continue;
            }
        }
        if v & MUTEX_LOCKED == 0 {
            throw("runtime·lock: sleeping while lock is available");
        }
        // Push ourselves on the stack of sleepers (our link is ours while
        // we are not on the stack).
        env.next(mp).store(v & !MUTEX_M_MASK, Ordering::Relaxed);
        let mut next = (mp & !MUTEX_M_MASK) | (v & MUTEX_M_MASK) | MUTEX_SLEEPING;
        if we_spin {
            next &= !MUTEX_SPINNING;
        }
        if key
            .compare_exchange(v, next, Ordering::Release, Ordering::Relaxed)
            .is_ok()
        {
            we_spin = false;
            env.semasleep(mp);
            // The waker took us off the stack before waking us.
            at_tail = env.next(mp).load(Ordering::Relaxed) == 0;
            i = 0;
        }
        i += 1;
        env.next(mp).store(0, Ordering::Relaxed);
        v = key.load(Ordering::Relaxed);
    }
}

/// unlock2Wake: port of runtime.unlock2Wake (lock_spinbit.go), over any
/// [`LockEnv`]: wakes the top sleeper (or, one time in
/// `MUTEX_TAIL_WAKE_PERIOD`, the bottom one) unless a spinner will take the
/// lock anyway.
pub fn unlock2_wake<W: LockWord + ?Sized, E: LockEnv<Word = W>>(
    key: &W,
    low_latency: bool,
    env: &E,
) {
    let mut v = key.load(Ordering::Acquire);
    let anti_starve = env.cheaprandn(MUTEX_TAIL_WAKE_PERIOD) == 0;
    if !(anti_starve || v & MUTEX_SPINNING == 0 || low_latency) {
        // A spinner will take the lock; let the sleepers sleep.
        return;
    }
    // Take the stack lock, unless there is nothing to wake or another
    // unlocker holds it (it will do the waking).
    loop {
        if v & !MUTEX_M_MASK == 0 || v & MUTEX_STACK_LOCKED != 0 {
            return;
        }
        match key.compare_exchange(
            v,
            v | MUTEX_STACK_LOCKED,
            Ordering::Acquire,
            Ordering::Relaxed,
        ) {
            Ok(_) => break,
            Err(cur) => v = cur,
        }
    }
    let mut committed: usize = 0;
    loop {
        let mut head_m = v & !MUTEX_M_MASK;
        let flags = v & (MUTEX_M_MASK & !MUTEX_STACK_LOCKED);
        let mp = v & !MUTEX_M_MASK;
        let mut wakem = committed;
        if committed == 0 {
            if v & MUTEX_SPINNING == 0 || low_latency {
                wakem = mp;
            }
            if anti_starve {
                // Wake the bottom of the stack: the longest waiter. The
                // stack lock makes us the only editor of the links.
                wakem = mp;
                let mut prev = mp;
                loop {
                    let next = env.next(wakem).load(Ordering::Relaxed);
                    if next == 0 {
                        break;
                    }
                    prev = wakem;
                    wakem = next;
                }
                if wakem != mp {
                    committed = wakem;
                    let after = env.next(wakem).load(Ordering::Relaxed);
                    env.next(prev).store(after, Ordering::Relaxed);
                }
            }
        }
        if wakem == mp {
            head_m = env.next(mp).load(Ordering::Relaxed) & !MUTEX_M_MASK;
        }
        let next = head_m | flags;
        // Acquire on failure too: the new value may name an M pushed
        // meanwhile, whose link the next pass reads (Go reloads the key
        // with an atomic load, which is sequentially consistent).
        match key.compare_exchange(v, next, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => {
                if wakem != 0 {
                    env.semawakeup(wakem);
                }
                return;
            }
            Err(cur) => v = cur,
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

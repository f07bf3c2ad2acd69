//! The runtime's internal mutex on futexes: port of `lock2`/`unlock2` of
//! `runtime/lock_futex.go` (the algorithm Go used through go1.23; go1.24's
//! `lock_spinbit.go` with its stack of sleeping Ms replaces it when the
//! scheduler gains threads).
//!
//! The key word has three states:
//!
//! | key              | meaning                                   |
//! |------------------|-------------------------------------------|
//! | `MUTEX_UNLOCKED` | free                                      |
//! | `MUTEX_LOCKED`   | held, nobody sleeping                     |
//! | `MUTEX_SLEEPING` | held, and some M may be asleep in futex() |
//!
//! `lock2` tries a swap; on contention it spins actively a few rounds
//! (`procyield`), passively once (`osyield`), then marks the key sleeping and
//! waits in `futex(FUTEX_WAIT)`. `unlock2` swaps in `MUTEX_UNLOCKED` and wakes
//! one sleeper if the old value said someone might sleep.
//!
//! These locks block the *thread*, like Go's runtime mutex: they are for
//! short critical sections in the runtime, never held across a goroutine
//! switch (`schedule` throws if `m.locks != 0`).

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU32, Ordering};

use crate::m::getm;

const MUTEX_UNLOCKED: u32 = 0;
const MUTEX_LOCKED: u32 = 1;
const MUTEX_SLEEPING: u32 = 2;
const ACTIVE_SPIN: u32 = 4;
const ACTIVE_SPIN_CNT: u32 = 30;
const PASSIVE_SPIN: u32 = 1;

/// Go's `mutex`: a raw runtime lock without data.
#[derive(Default)]
pub struct RawMutex {
    key: AtomicU32,
}

/// procyield: port of runtime.procyield (asm_amd64.s): `n` PAUSE hints.
#[inline]
pub fn procyield(n: u32) {
    for _ in 0..n {
        core::hint::spin_loop();
    }
}

/// osyield: port of runtime.osyield (os_linux.go): `sched_yield(2)`.
pub fn osyield() {
    // SAFETY: sched_yield has no preconditions.
    unsafe { libc::sched_yield() };
}

/// futexsleep: port of runtime.futexsleep (os_linux.go): sleeps while
/// `*addr == val` (spurious wake-ups allowed).
fn futexsleep(addr: &AtomicU32, val: u32) {
    // SAFETY: FUTEX_WAIT_PRIVATE on a valid, aligned u32 we own a reference
    // to; a null timeout means wait indefinitely.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            addr.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            val,
            core::ptr::null::<libc::timespec>(),
        );
    }
}

/// futexwakeup: port of runtime.futexwakeup (os_linux.go): wakes up to `cnt`
/// threads sleeping on `addr`.
fn futexwakeup(addr: &AtomicU32, cnt: u32) {
    // SAFETY: FUTEX_WAKE_PRIVATE on a valid, aligned u32.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            addr.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            cnt,
        )
    };
}

impl RawMutex {
    /// An unlocked mutex.
    pub const fn new() -> RawMutex {
        RawMutex {
            key: AtomicU32::new(MUTEX_UNLOCKED),
        }
    }

    /// lock2: port of runtime.lock2 (lock_futex.go).
    #[inline]
    pub fn lock(&self) {
        let mp = getm();
        if !mp.is_null() {
            // SAFETY: the M of the running thread; `locks` is owned by it.
            unsafe { (*mp).locks += 1 };
        }
        let v = self.key.swap(MUTEX_LOCKED, Ordering::Acquire);
        if v == MUTEX_UNLOCKED {
            return;
        }
        self.lock_slow(v);
    }

    #[cold]
    fn lock_slow(&self, mut v: u32) {
        // v is MUTEX_LOCKED or MUTEX_SLEEPING; remember if someone may sleep
        // so that our eventual unlock still wakes them.
        let mut wait = v;
        loop {
            for _ in 0..ACTIVE_SPIN {
                while self.key.load(Ordering::Relaxed) == MUTEX_UNLOCKED {
                    if self
                        .key
                        .compare_exchange(
                            MUTEX_UNLOCKED,
                            wait,
                            Ordering::Acquire,
                            Ordering::Relaxed,
                        )
                        .is_ok()
                    {
                        return;
                    }
                }
                procyield(ACTIVE_SPIN_CNT);
            }
            for _ in 0..PASSIVE_SPIN {
                while self.key.load(Ordering::Relaxed) == MUTEX_UNLOCKED {
                    if self
                        .key
                        .compare_exchange(
                            MUTEX_UNLOCKED,
                            wait,
                            Ordering::Acquire,
                            Ordering::Relaxed,
                        )
                        .is_ok()
                    {
                        return;
                    }
                }
                osyield();
            }
            v = self.key.swap(MUTEX_SLEEPING, Ordering::Acquire);
            if v == MUTEX_UNLOCKED {
                return;
            }
            wait = MUTEX_SLEEPING;
            futexsleep(&self.key, MUTEX_SLEEPING);
        }
    }

    /// unlock2: port of runtime.unlock2 (lock_futex.go).
    #[inline]
    pub fn unlock(&self) {
        let v = self.key.swap(MUTEX_UNLOCKED, Ordering::Release);
        if v == MUTEX_UNLOCKED {
            runtime_g::throw("unlock of unlocked lock");
        }
        if v == MUTEX_SLEEPING {
            futexwakeup(&self.key, 1);
        }
        let mp = getm();
        if !mp.is_null() {
            // SAFETY: the M of the running thread; `locks` is owned by it.
            unsafe {
                (*mp).locks -= 1;
                if (*mp).locks < 0 {
                    runtime_g::throw("runtime·unlock: lock count");
                }
            }
        }
    }

    /// Whether the lock is held by someone (for assertions).
    pub fn is_locked(&self) -> bool {
        self.key.load(Ordering::Relaxed) != MUTEX_UNLOCKED
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

    /// The data, with the lock held by the caller but no guard (after a
    /// `raw().lock()`).
    ///
    /// # Safety
    /// The caller must hold the raw lock and must not create a second
    /// reference to the data while this one lives.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn data_unguarded(&self) -> &mut T {
        // SAFETY: the caller holds the lock and keeps the reference unique.
        unsafe { &mut *self.data.get() }
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

//! One-shot notifications between Ms: port of `note`, `noteclear`,
//! `notewakeup`, `notesleep`, `notetsleep` from `lock_futex.go` (futex
//! systems) and `lock_sema.go` (semaphore systems such as Plan 9). The OS
//! layer's [`SleepKind`](crate::os::SleepKind) picks the variant at run
//! time, as Go's build tags pick the file.
//!
//! The algorithms are generic over [`Wake`] (the OS layer's futex or
//! semaphore, or a model's): `runtime-m/tests/loom_note.rs` model-checks
//! both variants with loom (no lost wake-up; a timed sleep that races a
//! wake-up leaves no semaphore count behind).
//!
//! A note is woken at most once between clears (`notewakeup` twice is a
//! runtime bug and throws). Exactly one M may sleep on it. The sleeper runs
//! on g0 (`notesleep`) — Go's `notetsleepg`, which sleeps from a user G
//! inside `entersyscallblock`, lives with the syscall code in runtime-p
//! (`runtime_p::syscall::notetsleepg`).
//!
//! Key word:
//!
//! | variant | key                | meaning                         |
//! |---------|--------------------|---------------------------------|
//! | futex   | 0                  | not woken                       |
//! | futex   | 1                  | woken                           |
//! | sema    | 0                  | not woken, nobody waiting       |
//! | sema    | `LOCKED` (1)       | woken                           |
//! | sema    | an `*mut M`        | that M is (about to be) asleep  |

use core::sync::atomic::Ordering;

use runtime_g::throw;

use crate::loom::AtomicUsize;
use crate::m::{M, getm};
use crate::os::{SleepKind, os};

/// `locked` of lock_sema.go: the woken state.
pub const LOCKED: usize = 1;

/// A one-shot notification (`note`).
#[derive(Default)]
pub struct Note {
    key: AtomicUsize,
}

impl Note {
    #[cfg(not(loom))]
    pub const fn new() -> Note {
        Note {
            key: AtomicUsize::new(0),
        }
    }

    #[cfg(loom)]
    pub fn new() -> Note {
        Note {
            key: AtomicUsize::new(0),
        }
    }

    /// The key word, for sleep/wake models (see [`Wake`]).
    pub fn key(&self) -> usize {
        self.key.load(Ordering::SeqCst)
    }

    /// The key as a 32-bit futex word (the low half on little-endian).
    #[cfg(not(loom))]
    fn key32(&self) -> &core::sync::atomic::AtomicU32 {
        // SAFETY: AtomicUsize and AtomicU32 have the same alignment
        // requirements up to 4, x86_64 is little-endian, and the futex
        // variant only ever stores 0 or 1, so the 32-bit view is the value.
        unsafe { &*(&self.key as *const AtomicUsize as *const core::sync::atomic::AtomicU32) }
    }
}

/// The sleep and wake primitives the note algorithms run on: the installed
/// OS layer's ([`OsWake`]), or a model's (the loom tests). `mp` is the
/// sleeping M as a number (an `*mut M` for the OS layer).
pub trait Wake {
    /// futexsleep on the note's key: sleeps while it equals `val`, for at
    /// most `ns` (`< 0`: no limit); spurious returns are allowed.
    fn futexsleep(&self, n: &Note, val: u32, ns: i64);
    /// futexwakeup on the note's key.
    fn futexwakeup(&self, n: &Note, cnt: u32);
    /// semasleep on `mp`'s semaphore: 0 acquired, -1 timed out.
    fn semasleep(&self, mp: usize, ns: i64) -> i32;
    /// semawakeup of `mp`'s semaphore (remembered if nobody sleeps).
    fn semawakeup(&self, mp: usize);
    /// nanotime.
    fn nanotime(&self) -> i64;
    /// Marks `mp` as blocked in the OS (for sysmon and dumps).
    fn set_blocked(&self, _mp: usize, _b: bool) {}
}

/// The installed OS layer as a [`Wake`].
pub struct OsWake;

impl Wake for OsWake {
    fn futexsleep(&self, n: &Note, val: u32, ns: i64) {
        #[cfg(not(loom))]
        os().futexsleep(n.key32(), val, ns);
        #[cfg(loom)]
        let _ = (n, val, ns);
    }
    fn futexwakeup(&self, n: &Note, cnt: u32) {
        #[cfg(not(loom))]
        os().futexwakeup(n.key32(), cnt);
        #[cfg(loom)]
        let _ = (n, cnt);
    }
    fn semasleep(&self, mp: usize, ns: i64) -> i32 {
        // SAFETY: the note algorithms pass the calling thread's M.
        unsafe { os().semasleep(mp as *mut M, ns) }
    }
    fn semawakeup(&self, mp: usize) {
        // SAFETY: a key holding an M pointer names a live M (never freed).
        unsafe { os().semawakeup(mp as *mut M) }
    }
    fn nanotime(&self) -> i64 {
        os().nanotime()
    }
    fn set_blocked(&self, mp: usize, b: bool) {
        if mp != 0 {
            // SAFETY: `mp` is the running M (Ms are never freed); `blocked`
            // is atomic because sysmon's schedtrace reads it.
            unsafe {
                (*(mp as *const M))
                    .blocked
                    .store(b, core::sync::atomic::Ordering::Relaxed)
            };
        }
    }
}

/// noteclear: port of runtime.noteclear. Only when nobody sleeps or wakes.
pub fn noteclear(n: &Note) {
    n.key.store(0, Ordering::Relaxed);
}

/// notewakeup (lock_futex.go): the woken state, then wake the sleeper.
pub fn wakeup_futex<W: Wake>(w: &W, n: &Note) {
    let old = n.key.swap(1, Ordering::AcqRel);
    if old != 0 {
        runtime_g::throw::print(&format!("notewakeup - double wakeup ({old})\n"));
        throw("notewakeup - double wakeup");
    }
    w.futexwakeup(n, 1);
}

/// notewakeup (lock_sema.go): the woken state; if an M had registered to
/// sleep, release its semaphore.
pub fn wakeup_sema<W: Wake>(w: &W, n: &Note) {
    let v = n.key.swap(LOCKED, Ordering::AcqRel);
    match v {
        0 => {}
        LOCKED => throw("notewakeup - double wakeup"),
        mp => w.semawakeup(mp),
    }
}

/// notewakeup: port of runtime.notewakeup.
pub fn notewakeup(n: &Note) {
    match os().sleep_kind() {
        SleepKind::Futex => wakeup_futex(&OsWake, n),
        SleepKind::Sema => wakeup_sema(&OsWake, n),
    }
}

/// Wakes `n` like [`notewakeup`], but tolerates a note that is already
/// woken instead of throwing. Go has no twin: it is for gort's runtime
/// shutdown, which may race with the one regular waker of an M's note.
pub fn notewakeup_idempotent(n: &Note) {
    match os().sleep_kind() {
        SleepKind::Futex => {
            if n.key.swap(1, Ordering::AcqRel) == 0 {
                OsWake.futexwakeup(n, 1);
            }
        }
        SleepKind::Sema => {
            let v = n.key.swap(LOCKED, Ordering::AcqRel);
            if v != 0 && v != LOCKED {
                OsWake.semawakeup(v);
            }
        }
    }
}

fn require_g0(what: &str) -> *mut M {
    let mp = getm();
    // SAFETY: mp is this thread's M; g0 is its field.
    if mp.is_null() || unsafe { (*mp).g0 } != runtime_g::getg() {
        throw(what);
    }
    mp
}

/// notesleep (lock_futex.go): sleep until the key is set.
pub fn sleep_futex<W: Wake>(w: &W, n: &Note, mp: usize) {
    while n.key.load(Ordering::Acquire) == 0 {
        w.set_blocked(mp, true);
        w.futexsleep(n, 0, -1);
        w.set_blocked(mp, false);
    }
}

/// notesleep (lock_sema.go): register `mp` on the note, unless it is
/// already woken, and sleep on `mp`'s semaphore.
pub fn sleep_sema<W: Wake>(w: &W, n: &Note, mp: usize) {
    if n.key
        .compare_exchange(0, mp, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        if n.key.load(Ordering::Acquire) != LOCKED {
            throw("notesleep - waitm out of sync");
        }
        return;
    }
    w.set_blocked(mp, true);
    w.semasleep(mp, -1);
    w.set_blocked(mp, false);
}

/// notesleep: port of runtime.notesleep: sleeps on g0 until woken.
pub fn notesleep(n: &Note) {
    let mp = require_g0("notesleep not on g0") as usize;
    match os().sleep_kind() {
        SleepKind::Futex => sleep_futex(&OsWake, n, mp),
        SleepKind::Sema => sleep_sema(&OsWake, n, mp),
    }
}

/// notetsleep (lock_futex.go): sleep until woken or `ns` pass.
pub fn tsleep_futex<W: Wake>(w: &W, n: &Note, mp: usize, ns: i64) -> bool {
    if ns < 0 {
        sleep_futex(w, n, mp);
        return true;
    }
    if n.key.load(Ordering::Acquire) != 0 {
        return true;
    }
    let deadline = w.nanotime().saturating_add(ns);
    let mut ns = ns;
    loop {
        w.set_blocked(mp, true);
        w.futexsleep(n, 0, ns);
        w.set_blocked(mp, false);
        if n.key.load(Ordering::Acquire) != 0 {
            break;
        }
        let now = w.nanotime();
        if now >= deadline {
            break;
        }
        ns = deadline - now;
    }
    n.key.load(Ordering::Acquire) != 0
}

/// notetsleep (lock_sema.go): register, sleep with a deadline, and on
/// timeout take `mp` off the note — unless a wakeup is already on its way,
/// whose semaphore count must then be consumed (or the next sleep on `mp`'s
/// semaphore would return at once).
pub fn tsleep_sema<W: Wake>(w: &W, n: &Note, mp: usize, ns: i64) -> bool {
    if n.key
        .compare_exchange(0, mp, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        if n.key.load(Ordering::Acquire) != LOCKED {
            throw("notetsleep - waitm out of sync");
        }
        return true;
    }
    if ns < 0 {
        w.set_blocked(mp, true);
        w.semasleep(mp, -1);
        w.set_blocked(mp, false);
        return true;
    }
    let deadline = w.nanotime().saturating_add(ns);
    let mut ns = ns;
    loop {
        w.set_blocked(mp, true);
        if w.semasleep(mp, ns) >= 0 {
            w.set_blocked(mp, false);
            return true;
        }
        w.set_blocked(mp, false);
        ns = deadline - w.nanotime();
        if ns <= 0 {
            break;
        }
    }
    loop {
        let v = n.key.load(Ordering::Acquire);
        if v == mp {
            if n.key
                .compare_exchange(v, 0, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return false;
            }
        } else if v == LOCKED {
            w.set_blocked(mp, true);
            if w.semasleep(mp, -1) < 0 {
                throw("runtime: unable to acquire - semaphore out of sync");
            }
            w.set_blocked(mp, false);
            return true;
        } else {
            throw("runtime: unexpected waitm - semaphore out of sync");
        }
    }
}

/// notetsleep: port of runtime.notetsleep / notetsleep_internal: sleeps
/// until woken or `ns` nanoseconds pass (`ns < 0`: forever). Returns whether
/// the note was woken.
pub fn notetsleep(n: &Note, ns: i64) -> bool {
    let mp = getm();
    if mp.is_null() {
        throw("notetsleep outside an M");
    }
    match os().sleep_kind() {
        SleepKind::Futex => tsleep_futex(&OsWake, n, mp as usize, ns),
        SleepKind::Sema => tsleep_sema(&OsWake, n, mp as usize, ns),
    }
}

/// semasleep for futex systems: port of runtime.semasleep in
/// lock_futex.go, a counting semaphore on `m.waitsema`.
///
/// # Safety
/// `mp` must be a live M (any M from `allocm`: they are never freed).
pub unsafe fn futex_semasleep(mp: *mut M, ns: i64) -> i32 {
    let o = os();
    // SAFETY: mp is a live M (never freed); waitsema is atomic.
    let sema = unsafe { &(*mp).waitsema };
    let mut v = sema.fetch_sub(1, Ordering::AcqRel).wrapping_sub(1);
    loop {
        if v as i32 >= 0 {
            return 0;
        }
        o.futexsleep(sema, v, ns);
        if ns >= 0 {
            // Go re-checks the value it slept on: a timed sleep gives up
            // after one round (the count stays decremented, as in Go).
            return if v as i32 >= 0 { 0 } else { -1 };
        }
        v = sema.load(Ordering::Acquire);
    }
}

/// semawakeup for futex systems: port of runtime.semawakeup in
/// lock_futex.go.
///
/// # Safety
/// As for [`futex_semasleep`].
pub unsafe fn futex_semawakeup(mp: *mut M) {
    // SAFETY: mp is a live M; waitsema is atomic.
    let sema = unsafe { &(*mp).waitsema };
    let v = sema.fetch_add(1, Ordering::AcqRel).wrapping_add(1);
    if v == 0 {
        os().futexwakeup(sema, 1);
    }
}

//! One-shot notifications between Ms: port of `note`, `noteclear`,
//! `notewakeup`, `notesleep`, `notetsleep` from `lock_futex.go` (futex
//! systems) and `lock_sema.go` (semaphore systems such as Plan 9). The OS
//! layer's [`SleepKind`](crate::os::SleepKind) picks the variant at run
//! time, as Go's build tags pick the file.
//!
//! A note is woken at most once between clears (`notewakeup` twice is a
//! runtime bug and throws). Exactly one M may sleep on it. The sleeper runs
//! on g0 (`notesleep`) — Go's `notetsleepg`, which sleeps from a user G
//! inside `entersyscallblock`, lives with the syscall code in runtime-p.
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

use core::sync::atomic::{AtomicUsize, Ordering};

use runtime_g::throw;

use crate::m::{M, getm};
use crate::os::{SleepKind, os};

/// `locked` of lock_sema.go: the woken state.
const LOCKED: usize = 1;

/// A one-shot notification (`note`).
#[derive(Default)]
pub struct Note {
    key: AtomicUsize,
}

impl Note {
    pub const fn new() -> Note {
        Note {
            key: AtomicUsize::new(0),
        }
    }

    /// The key as a 32-bit futex word (the low half on little-endian).
    fn key32(&self) -> &core::sync::atomic::AtomicU32 {
        // SAFETY: AtomicUsize and AtomicU32 have the same alignment
        // requirements up to 4, x86_64 is little-endian, and the futex
        // variant only ever stores 0 or 1, so the 32-bit view is the value.
        unsafe { &*(&self.key as *const AtomicUsize as *const core::sync::atomic::AtomicU32) }
    }
}

/// noteclear: port of runtime.noteclear. Only when nobody sleeps or wakes.
pub fn noteclear(n: &Note) {
    n.key.store(0, Ordering::Relaxed);
}

/// notewakeup: port of runtime.notewakeup.
pub fn notewakeup(n: &Note) {
    match os().sleep_kind() {
        SleepKind::Futex => {
            let old = n.key.swap(1, Ordering::AcqRel);
            if old != 0 {
                runtime_g::throw::print(&format!("notewakeup - double wakeup ({old})\n"));
                throw("notewakeup - double wakeup");
            }
            os().futexwakeup(n.key32(), 1);
        }
        SleepKind::Sema => {
            let v = n.key.swap(LOCKED, Ordering::AcqRel);
            match v {
                0 => {}
                LOCKED => throw("notewakeup - double wakeup"),
                // SAFETY: a key holding an M pointer names a live M.
                mp => unsafe { os().semawakeup(mp as *mut M) },
            }
        }
    }
}

/// Wakes `n` like [`notewakeup`], but tolerates a note that is already
/// woken instead of throwing. Go has no twin: it is for gort's runtime
/// shutdown, which may race with the one regular waker of an M's note.
pub fn notewakeup_idempotent(n: &Note) {
    match os().sleep_kind() {
        SleepKind::Futex => {
            if n.key.swap(1, Ordering::AcqRel) == 0 {
                os().futexwakeup(n.key32(), 1);
            }
        }
        SleepKind::Sema => {
            let v = n.key.swap(LOCKED, Ordering::AcqRel);
            if v != 0 && v != LOCKED {
                // SAFETY: a key holding an M pointer names a live M.
                unsafe { os().semawakeup(v as *mut M) };
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

/// notesleep: port of runtime.notesleep: sleeps on g0 until woken.
pub fn notesleep(n: &Note) {
    let mp = require_g0("notesleep not on g0");
    // SAFETY: `blocked` is owned by the running M.
    let set_blocked = |b: bool| unsafe { (*mp).blocked = b };
    match os().sleep_kind() {
        SleepKind::Futex => {
            while n.key.load(Ordering::Acquire) == 0 {
                set_blocked(true);
                os().futexsleep(n.key32(), 0, -1);
                set_blocked(false);
            }
        }
        SleepKind::Sema => {
            if n.key
                .compare_exchange(0, mp as usize, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                if n.key.load(Ordering::Acquire) != LOCKED {
                    throw("notesleep - waitm out of sync");
                }
                return;
            }
            set_blocked(true);
            // SAFETY: mp is the calling thread's M.
            unsafe { os().semasleep(mp, -1) };
            set_blocked(false);
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
    // SAFETY: `blocked` is owned by the running M.
    let set_blocked = |b: bool| unsafe { (*mp).blocked = b };
    let o = os();
    match o.sleep_kind() {
        SleepKind::Futex => {
            if ns < 0 {
                while n.key.load(Ordering::Acquire) == 0 {
                    set_blocked(true);
                    o.futexsleep(n.key32(), 0, -1);
                    set_blocked(false);
                }
                return true;
            }
            if n.key.load(Ordering::Acquire) != 0 {
                return true;
            }
            let deadline = o.nanotime().saturating_add(ns);
            let mut ns = ns;
            loop {
                set_blocked(true);
                o.futexsleep(n.key32(), 0, ns);
                set_blocked(false);
                if n.key.load(Ordering::Acquire) != 0 {
                    break;
                }
                let now = o.nanotime();
                if now >= deadline {
                    break;
                }
                ns = deadline - now;
            }
            n.key.load(Ordering::Acquire) != 0
        }
        SleepKind::Sema => {
            if n.key
                .compare_exchange(0, mp as usize, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                if n.key.load(Ordering::Acquire) != LOCKED {
                    throw("notetsleep - waitm out of sync");
                }
                return true;
            }
            if ns < 0 {
                set_blocked(true);
                // SAFETY: mp is the calling thread's M.
                unsafe { o.semasleep(mp, -1) };
                set_blocked(false);
                return true;
            }
            let deadline = o.nanotime().saturating_add(ns);
            let mut ns = ns;
            loop {
                set_blocked(true);
                // SAFETY: mp is the calling thread's M.
                if unsafe { o.semasleep(mp, ns) } >= 0 {
                    set_blocked(false);
                    return true;
                }
                set_blocked(false);
                ns = deadline - o.nanotime();
                if ns <= 0 {
                    break;
                }
            }
            // Timed out: take ourselves off the note, unless a wakeup is on
            // its way, in which case its semaphore count must be consumed.
            loop {
                let v = n.key.load(Ordering::Acquire);
                if v == mp as usize {
                    if n.key
                        .compare_exchange(v, 0, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        return false;
                    }
                } else if v == LOCKED {
                    set_blocked(true);
                    // SAFETY: mp is the calling thread's M.
                    if unsafe { o.semasleep(mp, -1) } < 0 {
                        throw("runtime: unable to acquire - semaphore out of sync");
                    }
                    set_blocked(false);
                    return true;
                } else {
                    throw("runtime: unexpected waitm - semaphore out of sync");
                }
            }
        }
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

//! Wiring goroutines to threads: ports of `LockOSThread`,
//! `UnlockOSThread`, `dolockOSThread`, `dounlockOSThread`, `stoplockedm`,
//! `startlockedm` and `incidlelocked` (proc.go), and the locked-exit rule of
//! `gdestroy`/`mexit`.
//!
//! A locked G runs only on its M, and that M runs only it: when the G
//! parks, the M hands its P off and sleeps (`stoplockedm`); when another M
//! schedules the G, it hands *its* P to the locked M and wakes it
//! (`startlockedm`). A goroutine that exits while locked takes its thread
//! with it (the thread may be in an unusual state), except on m0, which
//! parks for good, as in Go.

use core::ptr::null_mut;
use core::sync::atomic::Ordering;

use crate::p::P;
use runtime_g::status::_Grunnable;
use runtime_g::throw::print;
use runtime_g::{G, readgstatus, throw};
use runtime_m::{M, getm, mreturn, noteclear, notesleep, notewakeup_idempotent};

use crate::mp::{acquirep, handoffp, releasep, stopm};
use crate::proc::{checkdead, mexit_shutdown, require_goroutine};
use crate::sched::{Sched, sched};

/// dolockOSThread: port of runtime.dolockOSThread.
fn dolockosthread() {
    let gp = runtime_g::getg();
    let mp = getm();
    // SAFETY: gp runs on mp; both fields are owned by the running pair.
    unsafe {
        (*mp).lockedg = gp;
        (*gp).lockedm.store(mp.cast(), Ordering::Relaxed);
    }
}

/// LockOSThread: port of runtime.LockOSThread (proc.go): wires the calling
/// goroutine to its current OS thread until a matching number of
/// `UnlockOSThread` calls.
pub fn lock_os_thread() {
    let (_, _rt) = crate::proc::runtime_entry("lock_os_thread");
    // Before the lock: the template thread is cloned from this thread,
    // which no locked goroutine has changed yet.
    crate::mp::start_template_thread();
    let mp = getm();
    // SAFETY: the running M; its binding is changed under sched.lock.
    unsafe {
        let s = sched();
        if s.safe && (*mp).lockedg.is_null() {
            dedicate_current_m(s, mp);
        }
    }
    // SAFETY: the running M owns its lock counts.
    unsafe {
        (*mp).lockedext = (*mp)
            .lockedext
            .checked_add(1)
            .unwrap_or_else(|| panic!("LockOSThread nesting overflow"));
    }
    dolockosthread();
}

/// Safe mode: the first `lock_os_thread` on an M makes it the caller's
/// alone, for the rest of the caller's life. Go's promise — no other
/// goroutine runs on a locked thread — can hold only if no other goroutine
/// has started on this thread (those can run on no other): otherwise this
/// panics, saying so. The M leaves its P (the P gets a new M when it is
/// next handed off, in `stoplockedm`), and from here on Go's `lockedm`
/// hand-off runs the caller, as for any locked goroutine.
///
/// # Safety
/// `mp` is the running M, on the goroutine that locks.
unsafe fn dedicate_current_m(s: &Sched, mp: *mut M) {
    // SAFETY: per the contract.
    unsafe {
        let others = (*mp).npinned.saturating_sub(1);
        if others > 0 {
            panic!(
                "gort: lock_os_thread: {others} other goroutine(s) have run on this thread, and in \
                 the safe scheduler mode they can run on no other, so the thread cannot be this \
                 goroutine's alone; start the goroutine with gort::spawn_dedicated (a new thread \
                 of its own), or use the migrating mode"
            );
        }
        let _l = s.lock.lock();
        let pp: *mut P = (*mp).boundp.cast();
        if !pp.is_null() {
            (*pp).boundm.store(null_mut(), Ordering::Release);
            (*mp).boundp = null_mut();
        }
    }
}

/// Starts a goroutine locked from its first instruction to a new thread
/// of its own (gort's `spawn_dedicated`; no Go twin: in Go it is `go f()`
/// with `LockOSThread` first in `f`, which the safe mode cannot offer when
/// other goroutines share the thread `f` starts on). The new M starts
/// with no P and waits in `stoplockedm` until an M schedules the G and
/// hands it a P (`startlockedm`).
pub fn newproc_dedicated(
    f: Box<dyn FnOnce() + Send + 'static>,
    at: Option<&'static core::panic::Location<'static>>,
) -> *mut G {
    let (gp, _rt) = crate::proc::runtime_entry("spawn_dedicated");
    runtime_m::systemstack(move || {
        let s = sched();
        let nm = crate::mp::allocm_in(s, null_mut());
        // SAFETY: on g0 of an M that holds a P; nm is fresh and ours until
        // its thread starts; newg is unpublished until runqput.
        unsafe {
            let pp = crate::proc::curp();
            let newg = crate::proc::newproc1(
                s,
                pp,
                f,
                gp,
                crate::proc::Origin {
                    at,
                    ..Default::default()
                },
            );
            (*newg).lockedm.store(nm.cast(), Ordering::Relaxed);
            // Wired (lockedg/lockedm) but with Go's counts at zero, as
            // for a goroutine that has not called LockOSThread: the
            // thread is the goroutine's for life whatever it counts.
            (*nm).lockedg = newg;
            crate::mp::newm_start(s, nm);
            crate::p::runqput(pp, newg, true);
            crate::mp::wakep();
            newg
        }
    })
}

/// UnlockOSThread: port of runtime.UnlockOSThread (proc.go). Extra calls
/// are no-ops. In the safe mode the goroutine stays on its thread (it can
/// run on no other) and the thread stays its own, so only the count
/// changes.
pub fn unlock_os_thread() {
    let (_, _rt) = crate::proc::runtime_entry("unlock_os_thread");
    let mp = getm();
    // SAFETY: the running M owns its lock counts and lockedg.
    unsafe {
        if (*mp).lockedext == 0 {
            return;
        }
        (*mp).lockedext -= 1;
        if (*mp).lockedint != 0 || (*mp).lockedext != 0 || sched().safe {
            return;
        }
        let gp = (*mp).lockedg;
        (*mp).lockedg = null_mut();
        (*gp).lockedm.store(null_mut(), Ordering::Relaxed);
    }
}

/// `(lockedExt, lockedInt)` of the calling goroutine's M (Go's
/// `LockOSCounts` test hook).
pub fn lock_os_counts() -> (u32, u32) {
    require_goroutine("lock_os_counts");
    let mp = getm();
    // SAFETY: read by the running M.
    unsafe { ((*mp).lockedext, (*mp).lockedint) }
}

/// incidlelocked: port of runtime.incidlelocked (proc.go).
pub(crate) fn incidlelocked(s: &Sched, v: i32) {
    let mut l = s.lock.lock();
    l.nmidlelocked += v;
    if v > 0 {
        checkdead(s, &mut l);
    }
}

/// Sleeps on the M's park note (Go's `mPark`), registered so that a
/// runtime shutdown can find it. Returns false if it should leave because
/// the runtime is shutting down and nobody handed it a P.
///
/// The regular waker (`startlockedm`) wakes the note whether or not the M
/// has registered yet — a note remembers an early wake-up — and the
/// shutdown wakes registered Ms with a wake that tolerates an already-woken
/// note, so the two cannot collide.
fn park_locked(s: &Sched, mp: *mut M) -> bool {
    {
        let mut ls = s.locked_sleepers.lock();
        if s.shutting_down.load(Ordering::Acquire) {
            return false;
        }
        ls.push(mp as usize);
    }
    // SAFETY: the running M's own note.
    unsafe { notesleep(&(*mp).park) };
    {
        let mut ls = s.locked_sleepers.lock();
        if let Some(i) = ls.iter().position(|&m| m == mp as usize) {
            ls.swap_remove(i);
        }
        // SAFETY: as above; cleared under the list lock, so a shutdown
        // wake-up is either before this (and consumed) or finds us gone.
        unsafe { noteclear(&(*mp).park) };
    }
    // SAFETY: nextp of the running M.
    !s.shutting_down.load(Ordering::Acquire) || unsafe { !(*mp).nextp.is_null() }
}

/// Wakes every M parked by `park_locked` (runtime shutdown).
pub fn wake_all_locked(s: &Sched) {
    let ls = s.locked_sleepers.lock();
    for &m in ls.iter() {
        // SAFETY: Ms are never freed; the tolerant wake cannot collide with
        // a regular one.
        unsafe { notewakeup_idempotent(&(*(m as *mut M)).park) };
    }
}

/// stoplockedm: port of runtime.stoplockedm (proc.go): the M's locked G
/// is not runnable; hand off the P and sleep until the G is scheduled.
pub fn stoplockedm() {
    let s = sched();
    let mp = getm();
    // SAFETY: on g0 of this thread's M.
    unsafe {
        let lg = (*mp).lockedg;
        if lg.is_null() || (*lg).lockedm.load(Ordering::Relaxed) != mp.cast() {
            throw("stoplockedm: inconsistent locking");
        }
        if !(*mp).p.is_null() {
            let pp = releasep();
            handoffp(pp);
        }
        incidlelocked(s, 1);
        if !park_locked(s, mp) {
            mexit_shutdown();
        }
        let st = readgstatus(lg);
        if st & !runtime_g::status::_Gscan != _Grunnable {
            print(&format!(
                "runtime:stoplockedm: lockedg (atomicstatus={st}) is not Grunnable or Gscanrunnable\n"
            ));
            throw("stoplockedm: not runnable");
        }
        let pp = (*mp).nextp;
        (*mp).nextp = null_mut();
        acquirep(pp.cast());
    }
}

/// startlockedm: port of runtime.startlockedm (proc.go): `gp` is locked to
/// another M; give that M our P and wake it, then go idle.
///
/// # Safety
/// On g0; `gp` is runnable, taken off a run queue by the caller.
pub unsafe fn startlockedm(gp: *mut G) {
    let s = sched();
    // SAFETY: per the contract; Ms are never freed.
    unsafe {
        let mp: *mut M = (*gp).lockedm.load(Ordering::Relaxed).cast();
        if mp == getm() {
            throw("startlockedm: locked to me");
        }
        if !(*mp).nextp.is_null() {
            throw("startlockedm: m has p");
        }
        incidlelocked(s, -1);
        let pp = releasep();
        (*mp).nextp = pp.cast();
        // Tolerant: a concurrent runtime shutdown may have woken it too.
        notewakeup_idempotent(&(*mp).park);
    }
    if !stopm() {
        mexit_shutdown();
    }
}

/// The locked-exit rule of gdestroy/mexit (proc.go): the goroutine exited
/// while locked, so its thread goes too. m0 cannot end (it belongs to the
/// caller of the runtime), so it parks for good — until a `block_on`
/// shutdown wakes it — as Go parks m0.
pub fn mexit_locked() -> ! {
    let s = sched();
    let mp = getm();
    // SAFETY: on g0 of this thread's M; it holds a P.
    unsafe {
        let pp = releasep();
        handoffp(pp);
        if mp == s.m0.load(Ordering::Relaxed) {
            {
                let mut l = s.lock.lock();
                l.mcount -= 1;
                checkdead(s, &mut l);
            }
            park_locked(s, mp);
            s.lock.lock().mcount += 1;
            if !s.shutting_down.load(Ordering::Acquire) {
                throw("locked m0 woke up");
            }
            mexit_shutdown();
        }
        {
            let mut l = s.lock.lock();
            crate::mp::m_exited(s, &mut l);
            checkdead(s, &mut l);
        }
        crate::mp::m_release(s, mp);
        mreturn(mp)
    }
}

//! Ms and Ps coming and going: ports of proc.go's `mput`, `mget`,
//! `pidleput`, `pidleget`, `pidlegetSpinning`, `acquirep`, `releasep`,
//! `newm`, `newm1`, `checkmcount`, `stopm`, `startm`, `handoffp`, `wakep`,
//! `mspinning`, `resetspinning`, `stealWork`, `checkRunqsNoP` and the
//! `randomOrder` enumeration used for stealing.
//!
//! ## Spinning (Go's "worker thread parking/unparking", proc.go)
//! An M is *spinning* when it has a P but no G and looks for work to
//! steal; `sched.nmspinning` counts them. The protocol that keeps a new
//! goroutine from being stranded while an idle P exists:
//! 1. Whoever makes a G runnable (`newproc`, `ready`) calls `wakep`, which
//!    starts a spinning M — unless one is already spinning (then that one
//!    will find the G).
//! 2. A spinning M that finds work calls `resetspinning`, which calls
//!    `wakep` again, so that the next piece of work also gets a spinner.
//! 3. A spinning M that finds nothing gives up its P and *first* decrements
//!    `nmspinning`, *then* re-checks every run queue (global under the lock,
//!    then all Ps); if work appeared meanwhile it takes a P back and spins
//!    again. Without the re-check, a G submitted between the spinner's last
//!    look and its decrement would see `nmspinning > 0`, skip `wakep`, and
//!    wait for no one.
//!
//! Checked by `test_goroutine_parallelism` and the stress tests in
//! runtime-p/tests/mn.rs.

use core::ptr::null_mut;
use core::sync::atomic::Ordering;

use runtime_g::throw::print;
use runtime_g::{WaitReason, throw};
use runtime_m::{M, allocm, cheaprand, getm, noteclear, notesleep, notewakeup, os};

use crate::gqueue::GQueue;
use crate::p::{_Pidle, _Prunning, P, RUNQ_SIZE, runqempty, runqputbatch, runqsteal};
use crate::proc::checkdead;
use crate::sched::{Sched, SchedLocked, globrunqgetbatch, sched};

/// g0 stack size of Ms the runtime starts when the OS does not supply one
/// (Linux). See `os_linux::G0_STACK_SIZE` for the reasoning.
pub const G0_STACK_SIZE: isize = 256 * 1024;

/// mput: port of runtime.mput (proc.go): puts `mp` on the idle M list.
/// `sched.lock` must be held. May report a deadlock (`checkdead`).
///
/// # Safety
/// `mp` must be the calling thread's M, about to sleep in `stopm`.
pub unsafe fn mput(s: &Sched, l: &mut SchedLocked, mp: *mut M) {
    // SAFETY: schedlink of an M is guarded by sched.lock, which we hold.
    unsafe { (*mp).schedlink = l.midle };
    l.midle = mp;
    l.nmidle += 1;
    checkdead(s, l);
}

/// Takes `mp` off the idle M list if it is there (safe mode).
fn mremove(l: &mut SchedLocked, mp: *mut M) {
    let mut prev: *mut M = null_mut();
    let mut cur = l.midle;
    while !cur.is_null() {
        // SAFETY: Ms are never freed; the idle links are under sched.lock.
        let next = unsafe { (*cur).schedlink };
        if cur == mp {
            if prev.is_null() {
                l.midle = next;
            } else {
                // SAFETY: as above.
                unsafe { (*prev).schedlink = next };
            }
            l.nmidle -= 1;
            return;
        }
        prev = cur;
        cur = next;
    }
}

/// mget: port of runtime.mget (proc.go): an idle M, or null.
pub fn mget(l: &mut SchedLocked) -> *mut M {
    let mp = l.midle;
    if !mp.is_null() {
        // SAFETY: as in mput.
        l.midle = unsafe { (*mp).schedlink };
        l.nmidle -= 1;
    }
    mp
}

/// pidleput: port of runtime.pidleput (proc.go): puts `pp` on the idle P
/// list. `sched.lock` must be held; `pp` must have no local work.
pub fn pidleput(s: &Sched, l: &mut SchedLocked, pp: &P) {
    if !runqempty(pp) {
        throw("pidleput: P has non-empty run queue");
    }
    // The P's warm stacks go back to the pool (no Go twin: Go's per-P
    // stack cache holds 32 KiB and is emptied at each GC). Parked there,
    // any P reuses them warm, and sysmon releases their pages if nobody
    // does within its scavenge period; left in an idle P's cache they
    // would stay resident for as long as the P sleeps (TestStackMem).
    // SAFETY: the caller owns pp (it is giving it up); its cached stacks
    // belong to no goroutine.
    let cache = unsafe { &mut pp.local().stackcache };
    if !cache.is_empty() {
        // One hold of the pool's leaf lock, and no page release here
        // (under sched.lock): sysmon's scavenge pass does that.
        // SAFETY: a cached stack is used by nobody.
        unsafe { runtime_g::stack::stackfree_lazy_batch(cache.drain(..)) };
    }
    pp.idletick.fetch_add(1, Ordering::Relaxed);
    pp.link.store(l.pidle, Ordering::Relaxed);
    l.pidle = pp as *const P as *mut P;
    s.npidle.fetch_add(1, Ordering::AcqRel);
}

/// pidleget: port of runtime.pidleget (proc.go): an idle P, or null.
pub fn pidleget(s: &Sched, l: &mut SchedLocked) -> *mut P {
    let pp = l.pidle;
    if !pp.is_null() {
        // SAFETY: an instance's Ps live until its teardown, after its last M left.
        l.pidle = unsafe { (*pp).link.load(Ordering::Relaxed) };
        s.npidle.fetch_sub(1, Ordering::AcqRel);
    }
    pp
}

/// The safe mode's pidleput, used wherever a P goes idle outside a
/// stop-the-world: after the P's status is `_Pidle` (releasep), a SeqCst
/// fence, then a look at the P's inbox. If a pinned G arrived there, the
/// P is not put on the idle list and false is returned: the caller still
/// owns it and must run it (or hand it to its M). The other half of the
/// store-buffering pair is in `proc::ready_remote`. In the migrating mode,
/// plain `pidleput`.
pub fn pidleput_checked(s: &Sched, l: &mut SchedLocked, pp: &P) -> bool {
    if s.safe {
        core::sync::atomic::fence(Ordering::SeqCst);
        if !pp.inbox.load(Ordering::SeqCst).is_null() {
            return false;
        }
    }
    pidleput(s, l, pp);
    true
}

/// Takes `pp` off the idle list if it is there (safe mode: a P is handed
/// only to its own M). Returns whether it was.
pub fn pidle_remove(s: &Sched, l: &mut SchedLocked, pp: &P) -> bool {
    let target = pp as *const P as *mut P;
    let mut prev: *mut P = null_mut();
    let mut cur = l.pidle;
    while !cur.is_null() {
        // SAFETY: an instance's Ps live until its teardown, after its last
        // M left; the idle links are under sched.lock.
        let next = unsafe { (*cur).link.load(Ordering::Relaxed) };
        if cur == target {
            if prev.is_null() {
                l.pidle = next;
            } else {
                // SAFETY: as above.
                unsafe { (*prev).link.store(next, Ordering::Relaxed) };
            }
            s.npidle.fetch_sub(1, Ordering::AcqRel);
            return true;
        }
        prev = cur;
        cur = next;
    }
    false
}

/// An idle P for `mp` to take for itself: any idle P in the migrating mode
/// (`pidleget`, or `pidlegetSpinning` with `spinning`); in the safe mode
/// only `mp`'s own P, if it is still idle. If it is not, someone took it
/// off the list to hand it to `mp`, which then finds it in `stopm`.
pub(crate) fn pidleget_for(s: &Sched, l: &mut SchedLocked, mp: *mut M, spinning: bool) -> *mut P {
    if !s.safe {
        return if spinning {
            pidleget_spinning(s, l)
        } else {
            pidleget(s, l)
        };
    }
    // SAFETY: the running M's binding, written under sched.lock (held).
    let own: *mut P = unsafe { (*mp).boundp }.cast();
    // SAFETY: an instance's Ps live until its teardown, after its last M left.
    if !own.is_null() && pidle_remove(s, l, unsafe { &*own }) {
        return own;
    }
    null_mut()
}

/// pidlegetSpinning: port of runtime.pidlegetSpinning (proc.go): like
/// `pidleget`, for an M about to spin; with no idle P, asks the running Ms to
/// start spinning (`needspinning`) so that the work is not missed.
pub fn pidleget_spinning(s: &Sched, l: &mut SchedLocked) -> *mut P {
    let pp = pidleget(s, l);
    if pp.is_null() {
        s.needspinning.store(1, Ordering::Release);
    }
    pp
}

/// acquirep: port of runtime.acquirep / wirep (proc.go): associates `pp`
/// with the current M.
///
/// # Safety
/// `pp` must be an idle P that the caller took off the idle list (or was
/// handed through `nextp`); the M must hold no P.
pub unsafe fn acquirep(pp: *mut P) {
    let mp = getm();
    // SAFETY: per the contract, pp is ours now; mp is this thread's M.
    unsafe {
        if !(*mp).p.is_null() {
            throw("wirep: already in go");
        }
        let old = (*pp).m.load(Ordering::Relaxed);
        if !old.is_null() || (*pp).status.load(Ordering::Relaxed) != _Pidle {
            print(&format!(
                "wirep: p->m={old:p} p->status={}\n",
                (*pp).status.load(Ordering::Relaxed)
            ));
            throw("wirep: invalid p state");
        }
        (*mp).p = pp.cast();
        (*pp).m.store(mp, Ordering::Relaxed);
        (*pp).status.store(_Prunning, Ordering::Release);
        crate::trace::ev_p(
            &*pp,
            crate::trace::EvKind::ProcStart,
            0,
            0,
            WaitReason::Zero,
        );
    }
}

/// releasep: port of runtime.releasep (proc.go): disassociates the current
/// M from its P and returns it.
pub fn releasep() -> *mut P {
    let mp = getm();
    // SAFETY: mp is this thread's M; its P is owned by it.
    unsafe {
        let pp: *mut P = (*mp).p.cast();
        if pp.is_null() {
            throw("releasep: invalid arg");
        }
        if (*pp).m.load(Ordering::Relaxed) != mp
            || (*pp).status.load(Ordering::Relaxed) != _Prunning
        {
            throw("releasep: invalid p state");
        }
        crate::trace::ev_p(&*pp, crate::trace::EvKind::ProcStop, 0, 0, WaitReason::Zero);
        (*mp).p = null_mut();
        (*pp).m.store(null_mut(), Ordering::Relaxed);
        (*pp).status.store(_Pidle, Ordering::Release);
        pp
    }
}

/// checkmcount: port of runtime.checkmcount (proc.go): Go's thread limit
/// (10000 by default, `debug.SetMaxThreads`). Not inlined, so that the
/// `runtime stack:` of its throw names it in every build, as Go's does.
#[inline(never)]
fn checkmcount(s: &Sched, l: &SchedLocked) {
    let max = s.maxmcount.load(Ordering::Relaxed);
    // Go's template thread is an M, counted in `mcount()`; gort's is a
    // plain thread of the process, so it is added here (a program that
    // locks goroutines to threads reaches the limit one M sooner, as in
    // Go: the thread_exhaustion cross-check lists 7 locked goroutines in
    // both).
    let template = i32::from(TEMPLATE_STARTED.load(Ordering::Acquire));
    if l.mcount + template > max {
        print(&format!("runtime: program exceeds {max}-thread limit\n"));
        // A runtime throw, as in Go: on the scheduler's stack it prints
        // the `runtime stack:` section.
        throw("thread exhaustion");
    }
}

/// Bookkeeping for an M that leaves for good (Go's `nmfreed`): one fewer
/// in `mcount`, and if the instance is shutting down and this was its
/// last M, nothing can use the poller any more, so its descriptors are
/// closed (an instance that used the network would otherwise keep an
/// epoll descriptor and an eventfd open after `block_on` returned).
pub(crate) fn m_exited(s: &Sched, l: &mut SchedLocked) {
    l.mcount -= 1;
    if l.mcount == 0 && s.shutting_down.load(Ordering::Acquire) {
        crate::netpoll::shutdown(s);
    }
}

/// newm: port of runtime.newm (proc.go): creates an M that will run `f`
/// and then the scheduler with `pp` (if non-null).
pub fn newm(f: Option<fn()>, pp: *mut P) {
    newm_in(sched(), f, pp, false);
}

/// [`newm`] for instance `s` (callable from any thread); with `bind`, the
/// new M becomes `pp`'s bound M (safe mode) before its thread starts.
pub(crate) fn newm_in(s: &Sched, f: Option<fn()>, pp: *mut P, bind: bool) -> *mut M {
    let mp = allocm_in(s, pp);
    if bind {
        let _l = s.lock.lock();
        // SAFETY: pp is a live P the caller owns; mp is fresh.
        unsafe {
            (*pp).boundm.store(mp, Ordering::Release);
            (*mp).boundp = pp.cast();
        }
    }
    // SAFETY: mp is fresh and ours until newosproc hands it to its thread.
    unsafe { (*mp).mstartfn = f };
    newm_start(s, mp);
    mp
}

/// allocm for a new M of `s` that will start with `pp` (null for a
/// dedicated M, which starts with none).
pub(crate) fn allocm_in(s: &Sched, pp: *mut P) -> *mut M {
    let g0_stack = if os().m_stack_is_system_allocated() {
        -1
    } else {
        G0_STACK_SIZE
    };
    let mp = allocm(s as *const Sched as *const (), g0_stack);
    s.mrefs.fetch_add(1, Ordering::SeqCst);
    // SAFETY: mp is fresh and ours.
    unsafe { (*mp).nextp = pp.cast() };
    mp
}

/// The last touch of `s` by an M other than m0 that leaves its thread:
/// from here on the instance may be freed (`teardown`). Call it after
/// every lock of `s` is released, just before `mreturn`.
pub(crate) fn m_release(s: &Sched, mp: *mut M) {
    // Decided before the release: a leaked instance's goroutines may still
    // name this M (pinned, or locked to it).
    let reuse = !s.leaked.load(Ordering::Relaxed);
    if reuse {
        // SAFETY: the instance no longer refers to the M, and its thread
        // only leaves from here on (mreturn, then the thread's end).
        unsafe { runtime_m::m::mfree(mp) };
    } else {
        // The M stays on the process's M list for good: it must not look
        // like an M of whatever instance is made later at this address.
        // SAFETY: mp is this thread's M; the field is atomic.
        unsafe { (*mp).sched.store(core::ptr::null_mut(), Ordering::Release) };
    }
    s.mrefs.fetch_sub(1, Ordering::SeqCst);
}

/// Counts (Go's `checkmcount`) and starts an M that `allocm_in` made: from
/// this thread, or, if this thread may carry state a locked goroutine gave
/// it, from the template thread (Go's `newm` → `newmHandoff`).
pub(crate) fn newm_start(s: &Sched, mp: *mut M) {
    {
        let mut l = s.lock.lock();
        l.mcount += 1;
        checkmcount(s, &l);
    }
    if TEMPLATE_STARTED.load(Ordering::Acquire) && thread_may_be_tainted() {
        let mut q = TEMPLATE_QUEUE.lock().unwrap_or_else(|e| e.into_inner());
        q.push((s as *const Sched as usize, mp as usize));
        drop(q);
        TEMPLATE_WAKE.notify_one();
        return;
    }
    newm1(s, mp);
}

/// Whether the calling thread is an M whose goroutine locked it (and so
/// may have changed its state: working directory after
/// `unshare(CLONE_FS)`, namespaces, credentials), or one leaving because
/// such a goroutine exited: threads it creates would inherit that state.
/// Go's test in `newm` (`lockedExt != 0`).
fn thread_may_be_tainted() -> bool {
    let mp = getm();
    if mp.is_null() {
        return false; // not one of the runtime's threads
    }
    // SAFETY: the running M's own fields.
    unsafe { (*mp).lockedext != 0 || !(*mp).lockedg.is_null() || (*mp).exiting_locked }
}

/// Go's `newmHandoff` (proc.go): Ms for the template thread to start, as
/// (instance, M) addresses; process-wide, as Go's.
static TEMPLATE_QUEUE: std::sync::Mutex<Vec<(usize, usize)>> = std::sync::Mutex::new(Vec::new());
static TEMPLATE_WAKE: std::sync::Condvar = std::sync::Condvar::new();
static TEMPLATE_STARTED: core::sync::atomic::AtomicBool =
    core::sync::atomic::AtomicBool::new(false);

/// startTemplateThread: port of runtime.startTemplateThread (proc.go):
/// starts, once per process, a thread in a known-good state from which Ms
/// are created while goroutines are locked to threads (`templateThread`).
/// Called by `lock_os_thread` before the lock takes effect, so the thread
/// is cloned from one no locked goroutine has touched yet. Not on Plan 9,
/// as in Go (a locked thread is kept there, not killed).
pub(crate) fn start_template_thread() {
    if !os().locked_exit_kills_thread() || TEMPLATE_STARTED.load(Ordering::Acquire) {
        return;
    }
    if TEMPLATE_STARTED.swap(true, Ordering::AcqRel) {
        return;
    }
    let r = runtime_m::os::spawn_runtime_thread("gort-template", template_thread);
    if let Err(e) = r {
        // Ms are then created from whichever thread needs one, as before.
        print(&format!(
            "runtime: cannot start the template thread ({e}); threads will be created from \
             locked threads\n"
        ));
        TEMPLATE_STARTED.store(false, Ordering::Release);
        // Ms queued while the flag was up would wait for nobody: start
        // them here.
        let work = core::mem::take(&mut *TEMPLATE_QUEUE.lock().unwrap_or_else(|e| e.into_inner()));
        for (s, mp) in work {
            // SAFETY: as in template_thread.
            unsafe { newm1(&*(s as *const Sched), mp as *mut M) };
        }
    }
}

/// templateThread: port of runtime.templateThread (proc.go): starts the Ms
/// handed to it. A plain thread, not an M: it runs no goroutines and
/// takes no runtime locks but the instance's for `newm1`'s messages.
fn template_thread() {
    loop {
        let work = {
            let mut q = TEMPLATE_QUEUE.lock().unwrap_or_else(|e| e.into_inner());
            while q.is_empty() {
                q = TEMPLATE_WAKE.wait(q).unwrap_or_else(|e| e.into_inner());
            }
            core::mem::take(&mut *q)
        };
        for (s, mp) in work {
            // SAFETY: instances and Ms are never freed; the M was made by
            // allocm_in and counted by newm_start, for us to start.
            unsafe { newm1(&*(s as *const Sched), mp as *mut M) };
        }
    }
}

/// newm1: port of runtime.newm1 (proc.go): starts the OS thread.
fn newm1(s: &Sched, mp: *mut M) {
    // Counted as a runtime thread until it leaves (mstart_on_new_thread).
    runtime_m::os::m_thread_starting();
    // SAFETY: mp is a fresh M from allocm.
    if let Err(e) = unsafe { os().newosproc(mp) } {
        runtime_m::os::m_thread_exiting();
        let have = s.lock.lock().mcount;
        print(&format!(
            "runtime: failed to create new OS thread (have {have} already; {e})\n"
        ));
        if e.contains(&format!("errno={}", libc::EAGAIN)) {
            print("runtime: may need to increase max user processes (ulimit -u)\n");
        }
        throw("newosproc");
    }
}

/// mspinning: port of runtime.mspinning (proc.go): the `mstartfn` of an M
/// started to spin.
fn mspinning() {
    // SAFETY: the running M owns its `spinning` flag.
    unsafe { (*getm()).spinning = true };
}

/// stopm: port of runtime.stopm (proc.go): puts the current M to sleep on
/// the idle list until `startm` hands it a P. Returns false if it was woken
/// because the runtime is shutting down (then it holds no P).
pub fn stopm() -> bool {
    let s = sched();
    let mp = getm();
    // SAFETY: mp is this thread's M.
    unsafe {
        if (*mp).locks != 0 {
            throw("stopm holding locks");
        }
        if !(*mp).p.is_null() {
            throw("stopm holding p");
        }
        if (*mp).spinning {
            throw("stopm spinning");
        }
        {
            let mut l = s.lock.lock();
            // Checked under the lock that main_return_m holds while it sets
            // the flag and wakes the idle Ms: either it sees us on the idle
            // list, or we see the flag here.
            if s.shutting_down.load(Ordering::Acquire) {
                return false;
            }
            // Safe mode: a waker may have handed us our P already (under
            // this lock): then we are not idle, and the note is or will be
            // woken.
            if !(*mp).handoff.load(Ordering::Relaxed) {
                mput(s, &mut l, mp);
            }
        }
        notesleep(&(*mp).park);
        noteclear(&(*mp).park);
        if s.safe {
            let _l = s.lock.lock();
            (*mp).handoff.store(false, Ordering::Relaxed);
            (*mp).spinning = core::mem::replace(&mut (*mp).nextspinning, false);
        }
        let pp: *mut P = (*mp).nextp.cast();
        (*mp).nextp = null_mut();
        if pp.is_null() {
            if s.shutting_down.load(Ordering::Acquire) {
                return false;
            }
            throw("stopm: woken without a P");
        }
        acquirep(pp);
    }
    true
}

/// startm: port of runtime.startm (proc.go): runs some M with `pp` (or an
/// idle P, if `pp` is null), waking an idle M or creating one. With
/// `spinning`, the M starts out spinning (the caller counted it in
/// `nmspinning`).
pub fn startm(pp: *mut P, spinning: bool) {
    startm_in(sched(), pp, spinning)
}

/// [`startm`] for instance `s`, callable from any thread (the safe mode's
/// remote wake-ups come from helper threads and the poller).
///
/// In the safe mode each P has one M (`boundm`, made on first use), so
/// the M to wake is the P's own. It may be asleep in `stopm`, blocked in
/// the network poller, or on its way to either: the hand-off (`nextp`,
/// `nextspinning`, `handoff`) is written under `sched.lock`, where `stopm`
/// looks before it sleeps; the note remembers a wake-up that comes before
/// the sleep; and an M in the poller is broken out of it (see the poller
/// step of `findRunnable`).
pub fn startm_in(s: &Sched, pp: *mut P, spinning: bool) {
    let mut l = s.lock.lock();
    // A runtime that is shutting down starts no M: its Ms are leaving (and
    // in the safe mode a P's bound M may be gone, its M reused elsewhere).
    // A P handed in stays with nobody; teardown frees it.
    if s.shutting_down.load(Ordering::Acquire) {
        return;
    }
    let mut pp = pp;
    if pp.is_null() {
        if spinning {
            throw("startm: P required for spinning=true");
        }
        pp = pidleget(s, &mut l);
        if pp.is_null() {
            return;
        }
    }
    if s.safe {
        // SAFETY: pp is ours (taken off the idle list, or handed off).
        let nmp = unsafe { (*pp).boundm.load(Ordering::Acquire) };
        if nmp.is_null() {
            drop(l);
            newm_in(s, if spinning { Some(mspinning) } else { None }, pp, true);
            return;
        }
        // SAFETY: nmp is pp's M; its hand-off fields are under the lock.
        unsafe {
            if !(*nmp).nextp.is_null() || (*nmp).handoff.load(Ordering::Relaxed) {
                throw("startm: bound m has p");
            }
            (*nmp).nextp = pp.cast();
            (*nmp).nextspinning = spinning;
            (*nmp).handoff.store(true, Ordering::SeqCst);
            mremove(&mut l, nmp);
        }
        drop(l);
        // SAFETY: we are the one party that hands pp to its M.
        unsafe { notewakeup(&(*nmp).park) };
        core::sync::atomic::fence(Ordering::SeqCst);
        if s.poll_m.load(Ordering::SeqCst) == nmp {
            crate::netpoll::netpoll_break(s);
        }
        return;
    }
    let nmp = mget(&mut l);
    if nmp.is_null() {
        drop(l);
        newm_in(s, if spinning { Some(mspinning) } else { None }, pp, false);
        return;
    }
    drop(l);
    // SAFETY: nmp came off the idle list, so it is asleep in stopm and we
    // are the one party allowed to hand it a P.
    unsafe {
        if (*nmp).spinning {
            throw("startm: m is spinning");
        }
        if !(*nmp).nextp.is_null() {
            throw("startm: m has p");
        }
        if spinning && !runqempty(&*pp) {
            throw("startm: p has runnable gs");
        }
        (*nmp).spinning = spinning;
        (*nmp).nextp = pp.cast();
        notewakeup(&(*nmp).park);
    }
}

/// handoffp: port of runtime.handoffp (proc.go): hands off `pp` from an M
/// that cannot use it (blocked in a syscall, or locked to another G).
///
/// # Safety
/// The caller must own `pp` (released from its M, on no list).
pub unsafe fn handoffp(pp: *mut P) {
    let s = sched();
    // SAFETY: an instance's Ps live until its teardown, after its last M left; the caller owned pp.
    let p = unsafe { &*pp };
    // SAFETY: the caller owns pp.
    if !runqempty(p) || s.runq_nonempty() || (s.safe && unsafe { crate::p::pinned_work(p) }) {
        startm(pp, false);
        return;
    }
    // No local work: make sure there is a spinner, if there is none and no
    // idle P (someone must keep looking).
    if s.nmspinning.load(Ordering::Acquire) + s.npidle.load(Ordering::Acquire) == 0
        && s.nmspinning
            .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    {
        s.needspinning.store(0, Ordering::Release);
        startm(pp, true);
        return;
    }
    let mut l = s.lock.lock();
    if s.gcwaiting.load(Ordering::Acquire) {
        // A stop-the-world waits for this P.
        p.status.store(crate::p::_Pgcstop, Ordering::Release);
        l.stopwait -= 1;
        if l.stopwait == 0 {
            runtime_m::notewakeup(&s.stopnote);
        }
        return;
    }
    // The last running P, and no M waits in the poller (or, on Plan 9, in
    // its stub's timed sleep): an M must go and wait there, or the timers
    // of the Ps would have nobody to run them when every M sleeps.
    if s.npidle.load(Ordering::Acquire) == s.gomaxprocs() as i32 - 1
        && s.lastpoll.load(Ordering::Acquire) != 0
    {
        drop(l);
        startm(pp, false);
        return;
    }
    let when = p.timers.wake_time();
    if !l.runq.empty() || !pidleput_checked(s, &mut l, p) {
        drop(l);
        startm(pp, false);
        return;
    }
    drop(l);
    if when != 0 {
        crate::time::wake_net_poller(when);
    }
}

/// wakep: port of runtime.wakep (proc.go): tries to add one more P to run
/// Gs, with a spinning M, if there is an idle P and nobody spins.
///
/// Taking `sched.lock` to look for an idle P even when there seems to be
/// none is what makes this safe: under the lock, either this call finds the
/// P that is going idle, or it sets `needspinning` (in `pidleget_spinning`)
/// before that P's M checks it — so new work never sits in a busy P's queue
/// with an idle P and no spinning M. (An earlier gort skipped all this when
/// `npidle` read 0, to save four atomics per `Gosched`; it stranded work and
/// hung TestGoroutineParallelism2 now and then.)
pub fn wakep() {
    let s = sched();
    // SAFETY: sched() found this thread's M, so getm is the running M of
    // instance s.
    unsafe { wakep_from(s, getm()) }
}

/// [`wakep`] with the running M and its instance at hand.
///
/// One shortcut Go does not take: with GOMAXPROCS=1 and the caller holding
/// the only P, there is no idle P to hand out, and the only other effect
/// of the full protocol, `needspinning = 1`, is read by an M that is about
/// to give up a P — which can only be this M, in `findRunnable`, and it
/// looks at its own queues first, where the new work is. So nothing is
/// done, saving a CAS and a lock round trip per Gosched and per wake-up.
/// (GOMAXPROCS changes only with the world stopped, which cannot happen
/// while this M runs holding its P.)
///
/// # Safety
/// `mp` must be the running M and `s` its instance.
#[inline]
pub(crate) unsafe fn wakep_from(s: &Sched, mp: *mut runtime_m::M) {
    // SAFETY: per the contract, mp is the running M.
    if s.gomaxprocs() == 1 && unsafe { !(*mp).p.is_null() } {
        return;
    }
    // The submitter's #StoreLoad barrier (proc.go's "Worker thread
    // parking/unparking"): the work the caller just published must be
    // visible to a spinner that drops its count before this reads the
    // count, or both miss each other and the work waits with no M looking
    // for it. Go's atomics are sequentially consistent; acquire/release
    // ones are not, so the barrier is a fence (paired with the one in
    // find_runnable; model-checked in tests/loom_spinning.rs).
    core::sync::atomic::fence(Ordering::SeqCst);
    if s.nmspinning.load(Ordering::Acquire) != 0
        || s.nmspinning
            .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    let pp = {
        let mut l = s.lock.lock();
        let pp = pidleget_spinning(s, &mut l);
        if pp.is_null() {
            if s.nmspinning.fetch_sub(1, Ordering::AcqRel) - 1 < 0 {
                throw("wakep: negative nmspinning");
            }
            return;
        }
        pp
    };
    // On g0 (a user G that readied another runs `ready` on its own
    // stack): starting an M may create a thread.
    runtime_m::systemstack(|| startm(pp, true));
}

/// becomeSpinning: port of m.becomeSpinning (proc.go).
pub fn become_spinning(s: &Sched) {
    let mp = getm();
    // SAFETY: the running M owns its `spinning` flag.
    unsafe { (*mp).spinning = true };
    s.nmspinning.fetch_add(1, Ordering::AcqRel);
    s.needspinning.store(0, Ordering::Release);
}

/// resetspinning: port of runtime.resetspinning (proc.go): a spinning M
/// found work; it stops spinning and wakes another spinner for the next
/// piece of work (protocol step 2).
pub fn resetspinning() {
    let s = sched();
    let mp = getm();
    // SAFETY: the running M owns its `spinning` flag.
    unsafe {
        if !(*mp).spinning {
            throw("resetspinning: not a spinning m");
        }
        (*mp).spinning = false;
    }
    if s.nmspinning.fetch_sub(1, Ordering::AcqRel) - 1 < 0 {
        throw("findRunnable: negative nmspinning");
    }
    wakep();
}

/// randomOrder: port of runtime.randomOrder (proc.go): enumerates
/// `0..count` starting anywhere and stepping by a number coprime with
/// `count`, so every P is visited exactly once, in an order that varies.
#[derive(Clone, Debug, Default)]
pub struct RandomOrder {
    pub count: u32,
    pub coprimes: Vec<u32>,
}

/// One enumeration of a [`RandomOrder`] (`randomEnum`).
#[derive(Clone, Copy, Debug)]
pub struct RandomEnum {
    i: u32,
    count: u32,
    pub pos: u32,
    pub inc: u32,
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl RandomOrder {
    /// reset: the coprimes of `count`.
    pub fn reset(&mut self, count: u32) {
        self.count = count;
        self.coprimes = (1..=count).filter(|&i| gcd(i, count) == 1).collect();
    }

    /// start: an enumeration seeded by `i`.
    pub fn start(&self, i: u32) -> RandomEnum {
        RandomEnum {
            i: 0,
            count: self.count,
            pos: i % self.count,
            inc: self.coprimes[(i / self.count) as usize % self.coprimes.len()],
        }
    }
}

impl RandomEnum {
    pub fn done(&self) -> bool {
        self.i == self.count
    }
    pub fn next(&mut self) {
        self.i += 1;
        self.pos = (self.pos + self.inc) % self.count;
    }
    pub fn position(&self) -> u32 {
        self.pos
    }
}

/// stealWork: port of runtime.stealWork (proc.go): four passes over all Ps
/// in random order, stealing half of a run queue; the last pass may also
/// take a victim's `runnext` and runs the victims' due timers. Returns a G
/// (and whether it inherits the time slice), the time used, the earliest
/// timer seen, and whether timers ran (new work may exist).
pub fn steal_work(s: &Sched, pp: &P, mut now: i64) -> (*mut runtime_g::G, bool, i64, i64, bool) {
    const STEAL_TRIES: usize = 4;
    let mut poll_until = 0i64;
    let mut ran_timer = false;
    for i in 0..STEAL_TRIES {
        let steal_timers_or_runnext = i == STEAL_TRIES - 1;
        let mut e = s.steal_order().start(cheaprand());
        while !e.done() {
            let p2: &P = s.p(e.position() as usize);
            e.next();
            if core::ptr::eq(pp, p2) {
                continue;
            }
            // Run p2's due timers (Go's timerpMask test is the emptiness
            // check). Readied Gs land on our run queue.
            if steal_timers_or_runnext && !p2.timers.is_empty() {
                let (tnow, w, ran) = p2.timers.check(now, false);
                now = tnow;
                if w != 0 && (poll_until == 0 || w < poll_until) {
                    poll_until = w;
                }
                if ran {
                    // SAFETY: we own pp.
                    let (gp, inherit) = unsafe { crate::p::runqget(pp) };
                    if !gp.is_null() {
                        return (gp, inherit, now, poll_until, ran_timer);
                    }
                    ran_timer = true;
                }
            }
            let st = p2.status.load(Ordering::Acquire);
            if st == _Pidle || st == crate::p::_Pdead {
                continue;
            }
            // SAFETY: we own pp (our M holds it).
            let gp = unsafe { runqsteal(pp, p2, steal_timers_or_runnext) };
            if !gp.is_null() {
                return (gp, false, now, poll_until, ran_timer);
            }
        }
    }
    (null_mut(), false, now, poll_until, ran_timer)
}

/// checkRunqsNoP: port of runtime.checkRunqsNoP (proc.go): after giving up
/// its P, a former spinner looks at every P's queue once more; if one has
/// work, it takes an idle P to go and steal it (protocol step 3).
pub fn check_runqs_no_p(s: &Sched, mp: *mut M) -> *mut P {
    for p2 in s.procs() {
        if p2.status.load(Ordering::Acquire) != _Pidle && !runqempty(p2) {
            let mut l = s.lock.lock();
            return pidleget_for(s, &mut l, mp, true);
        }
    }
    null_mut()
}

/// Takes a batch from the global queue into `pp`'s local queue and returns
/// one G of it (the global-queue step of findRunnable).
///
/// # Safety
/// The caller owns `pp`.
pub unsafe fn take_global_batch(s: &Sched, l: &mut SchedLocked, pp: &P) -> *mut runtime_g::G {
    let (gp, mut q): (_, GQueue) =
        globrunqgetbatch(s, l, (RUNQ_SIZE / 2) as i32, s.gomaxprocs() as i32);
    if !gp.is_null() {
        // SAFETY: forwarded contract; the batch came off the global queue.
        unsafe { runqputbatch(pp, &mut q) };
        if !q.empty() {
            throw("Couldn't put Gs into empty local runq");
        }
    }
    gp
}

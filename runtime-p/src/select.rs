//! `select`: port of `selectgo`, `sellock`, `selunlock`, `selparkcommit`
//! and `block` (go1.27 `runtime/select.go`).
//!
//! ## The protocol
//! 1. Channels of nil cases are skipped. The others are put in a random
//!    poll order (a Fisher–Yates shuffle with `cheaprandn`), which is what
//!    makes `select` fair (TestSelectFairness), and in a lock order sorted
//!    by channel address (a heap sort, as Go does, to avoid allocation), so
//!    that two selects over the same channels cannot deadlock on their
//!    locks.
//! 2. Pass 1, with every channel locked: look for a case that can proceed
//!    now, in poll order. If none and the select has a `default`, unlock and
//!    report -1.
//! 3. Pass 2: enqueue one sudog per case on its channel, all pointing at the
//!    goroutine and marked `is_select`, linked in lock order on `g.waiting`,
//!    and park; `selparkcommit` unlocks the channels once the goroutine is
//!    off its stack.
//! 4. A waker that dequeues one of those sudogs must first win the CAS of
//!    `g.select_done` from 0 to 1 (`dequeue`); a loser just drops the sudog
//!    from its queue. So exactly one case completes, and it tells the
//!    goroutine which one through `g.param`.
//! 5. Pass 3, with every channel locked again: dequeue the other sudogs and
//!    release them all; report the winner.
//!
//! Checked by TestSelectDuplicateChannel (every sudog of the goroutine is
//! dequeued in pass 3), TestSelfSelect (a goroutine never receives its own
//! value), TestSelectStress and the drop-count tests of gort::select!.

use core::ptr::null_mut;
use core::sync::atomic::Ordering;

use runtime_g::{G, WaitReason, throw};
use runtime_m::cheaprandn;

use crate::chan::{HChan, recv, send};
use crate::proc::gopark_g;
use crate::sudog::{Sudog, acquire_sudog_g, release_sudog_g};

/// One case of a select: port of `scase` (select.go). `elem` is the value
/// to send (a send case) or the slot that receives (a receive case).
#[derive(Clone, Copy, Debug)]
pub struct Scase {
    pub c: *mut HChan,
    pub elem: *mut u8,
}

/// sortkey: port of (*hchan).sortkey (select.go).
fn sortkey(c: *mut HChan) -> usize {
    c as usize
}

/// sellock: port of runtime.sellock (select.go): locks every channel once,
/// in lock order (duplicates are adjacent there).
fn sellock(scases: &[Scase], lockorder: &[u16]) {
    let mut c: *mut HChan = null_mut();
    for &o in lockorder {
        let c0 = scases[o as usize].c;
        if c0 != c {
            c = c0;
            // SAFETY: the select's caller holds handles to all its channels.
            unsafe { (*c).lock.lock() };
        }
    }
}

/// selunlock: port of runtime.selunlock (select.go): unlocks in reverse
/// lock order, each channel once. Once the last lock is released, the
/// goroutine may be woken and reuse everything, so nothing is touched after
/// it.
fn selunlock(scases: &[Scase], lockorder: &[u16]) {
    for i in (0..lockorder.len()).rev() {
        let c = scases[lockorder[i] as usize].c;
        if i > 0 && c == scases[lockorder[i - 1] as usize].c {
            continue;
        }
        // SAFETY: locked by sellock; the caller holds handles.
        unsafe { (*c).lock.unlock() };
    }
}

/// selparkcommit: port of runtime.selparkcommit (select.go), gopark's
/// unlock callback for a select: unlocks every channel of the parked G's
/// sudogs. A channel's lock is released only after the next sudog has been
/// read, because once it is released a waker may ready the G, whose pass 3
/// then frees the sudogs (it needs the last lock, still held, first).
unsafe fn selparkcommit(gp: *mut G, _lock: *mut ()) -> bool {
    let mut lastc: *mut HChan = null_mut();
    // SAFETY: the G is parked and its waiting list is stable until the last
    // lock is released (see above).
    unsafe {
        let mut sg = (*gp).waiting as *mut Sudog;
        while !sg.is_null() {
            let c = (*sg).c;
            if c != lastc && !lastc.is_null() {
                (*lastc).lock.unlock();
            }
            lastc = c;
            sg = (*sg).waitlink;
        }
        if !lastc.is_null() {
            (*lastc).lock.unlock();
        }
    }
    true
}

/// What pass 1 found.
enum Ready {
    Recv(*mut Sudog),
    BufRecv,
    RecvClosed,
    Send(*mut Sudog),
    BufSend,
    SendClosed,
}

/// selectgo: port of runtime.selectgo (select.go).
///
/// `scases` holds the send cases first (`nsends` of them), then the receive
/// cases; `pollorder` and `lockorder` are scratch space of `scases.len()`
/// each. Returns the index of the case that completed and, for a receive,
/// whether a value was received (false: the channel was closed and its slot
/// is left uninitialised). With `block == false` and nothing ready, returns
/// `(-1, false)`. A send case that meets a closed channel panics with Go's
/// `send on closed channel` after unlocking; its value stays in its slot.
///
/// # Safety
/// Every non-null `c` is a live channel the caller holds a handle to; each
/// send case's `elem` owns a value of the channel's element type and each
/// receive case's `elem` is an uninitialised slot of it. The completed
/// case's slot changes state (a send's is consumed; a receive's is filled
/// iff the second result is true); no other slot is touched.
#[track_caller]
pub unsafe fn selectgo(
    scases: &mut [Scase],
    pollorder: &mut [u16],
    lockorder: &mut [u16],
    nsends: usize,
    block: bool,
) -> (isize, bool) {
    let (gp, _rt) = crate::proc::enter_runtime_any("select", block);
    let ncases = scases.len();
    // Go's bound: 1<<16 cases (their indices fit in the u16 orders).
    if ncases > 1 << 16 || pollorder.len() < ncases || lockorder.len() < ncases {
        throw("selectgo: bad case arrays");
    }

    // Poll order: a random permutation of the non-nil cases.
    let mut norder = 0usize;
    for (i, cas) in scases.iter_mut().enumerate() {
        if cas.c.is_null() {
            cas.elem = null_mut();
            continue;
        }
        // SAFETY: the caller holds a handle to the channel.
        if let Some(t) = unsafe { &(*cas.c).timer } {
            t.maybe_run_chan();
        }
        let j = cheaprandn(norder as u32 + 1) as usize;
        pollorder[norder] = pollorder[j];
        pollorder[j] = i as u16;
        norder += 1;
    }
    let scases: &[Scase] = scases;
    let pollorder = &pollorder[..norder];
    let lockorder = &mut lockorder[..norder];
    // With only nil channels, pass 2 enqueues nothing and the park below
    // lasts forever, in state `select`, as in Go.

    // Lock order: heap sort by channel address.
    for i in 0..norder {
        let mut j = i;
        let c = scases[pollorder[i] as usize].c;
        while j > 0 && sortkey(scases[lockorder[(j - 1) / 2] as usize].c) < sortkey(c) {
            let k = (j - 1) / 2;
            lockorder[j] = lockorder[k];
            j = k;
        }
        lockorder[j] = pollorder[i];
    }
    for i in (0..norder).rev() {
        let o = lockorder[i];
        let c = scases[o as usize].c;
        lockorder[i] = lockorder[0];
        let mut j = 0;
        loop {
            let mut k = j * 2 + 1;
            if k >= i {
                break;
            }
            if k + 1 < i
                && sortkey(scases[lockorder[k] as usize].c)
                    < sortkey(scases[lockorder[k + 1] as usize].c)
            {
                k += 1;
            }
            if sortkey(c) < sortkey(scases[lockorder[k] as usize].c) {
                lockorder[j] = lockorder[k];
                j = k;
                continue;
            }
            break;
        }
        lockorder[j] = o;
    }
    if cfg!(debug_assertions) {
        for w in lockorder.windows(2) {
            if sortkey(scases[w[0] as usize].c) > sortkey(scases[w[1] as usize].c) {
                throw("select: broken sort");
            }
        }
    }
    let lockorder: &[u16] = lockorder;

    sellock(scases, lockorder);

    // Pass 1: something ready now?
    let mut found: Option<(usize, Ready)> = None;
    for &casei in pollorder {
        let casi = casei as usize;
        // SAFETY: locked by sellock; the caller holds a handle.
        let c = unsafe { &*scases[casi].c };
        let r = if casi >= nsends {
            // SAFETY: c's lock is held.
            let sg = unsafe { c.sendq.dequeue() };
            if !sg.is_null() {
                Some(Ready::Recv(sg))
            } else if c.qcount_locked() > 0 {
                Some(Ready::BufRecv)
            } else if c.closed_locked() {
                Some(Ready::RecvClosed)
            } else {
                None
            }
        } else if c.closed_locked() {
            Some(Ready::SendClosed)
        } else {
            // SAFETY: c's lock is held.
            let sg = unsafe { c.recvq.dequeue() };
            if !sg.is_null() {
                Some(Ready::Send(sg))
            } else if c.qcount_locked() < c.dataqsiz() {
                Some(Ready::BufSend)
            } else {
                None
            }
        };
        if let Some(r) = r {
            found = Some((casi, r));
            break;
        }
    }

    if let Some((casi, r)) = found {
        let cas = scases[casi];
        // SAFETY: locked; the caller holds a handle.
        let c = unsafe { &*cas.c };
        let unlock = || selunlock(scases, lockorder);
        // SAFETY: in every arm the locks are held, the slots are as the
        // caller's contract says, and sudogs were just dequeued under the
        // lock.
        let recv_ok = unsafe {
            match r {
                Ready::Recv(sg) => {
                    recv(c, sg, cas.elem, unlock);
                    true
                }
                Ready::BufRecv => {
                    c.buf_take(cas.elem);
                    unlock();
                    true
                }
                Ready::RecvClosed => {
                    unlock();
                    false
                }
                Ready::Send(sg) => {
                    send(c, sg, cas.elem, unlock);
                    false
                }
                Ready::BufSend => {
                    c.buf_put(cas.elem);
                    unlock();
                    false
                }
                Ready::SendClosed => {
                    unlock();
                    std::panic::panic_any(crate::panic::RuntimeError("send on closed channel"));
                }
            }
        };
        return (casi as isize, recv_ok);
    }

    if !block {
        selunlock(scases, lockorder);
        return (-1, false);
    }

    // The runtime is ending (kill.rs): the goroutine ends here.
    // SAFETY: gp is the running goroutine.
    if unsafe { crate::kill::kill_point(gp) } {
        selunlock(scases, lockorder);
        crate::kill::goexit();
    }

    // Pass 2: enqueue on every channel and park.
    // SAFETY: gp is the running goroutine, which owns its wait fields; each
    // channel is locked while its sudog is published.
    unsafe {
        if !(*gp).waiting.is_null() {
            throw("gp.waiting != nil");
        }
        let mut nextp: *mut *mut Sudog = &raw mut (*gp).waiting as *mut *mut Sudog;
        for &casei in lockorder {
            let casi = casei as usize;
            let cas = scases[casi];
            let sg = acquire_sudog_g(gp);
            (*sg).g = gp;
            (*sg).is_select = true;
            (*sg).elem = cas.elem;
            (*sg).c = cas.c;
            *nextp = sg;
            nextp = &raw mut (*sg).waitlink;
            if casi < nsends {
                (*cas.c).sendq.enqueue(sg);
            } else {
                (*cas.c).recvq.enqueue(sg);
            }
            if let Some(t) = &(*cas.c).timer {
                t.block_chan();
            }
        }
        (*gp).param = null_mut();
        crate::kill::set_cancel(gp, cancel_select, null_mut());
        gopark_g(gp, Some(selparkcommit), null_mut(), WaitReason::Select);
    }

    // Pass 3: woken by one case; take the others off their queues.
    sellock(scases, lockorder);
    // SAFETY: as for pass 2; all channels are locked again.
    unsafe {
        (*gp).select_done.store(0, Ordering::Relaxed);
        let killed = crate::kill::park_killed(gp);
        let winner = (*gp).param as *mut Sudog;
        (*gp).param = null_mut();

        let mut casi: isize = -1;
        let mut case_success = false;
        let mut sglist = (*gp).waiting as *mut Sudog;
        // Clear the sudogs' pointers before unlinking them from the G.
        let mut sg1 = sglist;
        while !sg1.is_null() {
            (*sg1).is_select = false;
            (*sg1).elem = null_mut();
            (*sg1).c = null_mut();
            sg1 = (*sg1).waitlink;
        }
        (*gp).waiting = null_mut();

        for &casei in lockorder {
            let k = scases[casei as usize];
            if let Some(t) = &(*k.c).timer {
                t.unblock_chan();
            }
            if sglist == winner {
                casi = casei as isize;
                case_success = (*sglist).success;
            } else if (casei as usize) < nsends {
                (*k.c).sendq.dequeue_sudog(sglist);
            } else {
                (*k.c).recvq.dequeue_sudog(sglist);
            }
            let sgnext = (*sglist).waitlink;
            (*sglist).waitlink = null_mut();
            release_sudog_g(gp, sglist);
            sglist = sgnext;
        }
        if casi < 0 {
            if killed {
                // Every sudog is off its queue again.
                selunlock(scases, lockorder);
                crate::kill::goexit();
            }
            throw("selectgo: bad wakeup");
        }
        selunlock(scases, lockorder);
        if (casi as usize) < nsends {
            if !case_success {
                std::panic::panic_any(crate::panic::RuntimeError("send on closed channel"));
            }
            (casi, false)
        } else {
            (casi, case_success)
        }
    }
}

/// The shutdown's cancel function for a goroutine parked in a `select`
/// (kill.rs): claims the select as a waker would, so that no case can win
/// any more; the goroutine takes its sudogs off the queues itself when it
/// resumes (pass 3).
///
/// # Safety
/// For a G parked in `selectgo`.
unsafe fn cancel_select(gp: *mut G, _: *mut ()) -> bool {
    // SAFETY: per the contract gp is a live G.
    unsafe {
        (*gp)
            .select_done
            .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }
}

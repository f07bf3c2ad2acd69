//! Wait-list entries: port of `sudog` (runtime2.go) and of `acquireSudog` /
//! `releaseSudog` (proc.go).
//!
//! A sudog stands for one goroutine waiting on one object: a channel (chan.rs,
//! select.rs) or a semaphore address. A goroutine can wait on many objects at
//! once (a `select`), and many goroutines on one object, so the relation is
//! many-to-many and each pair gets its own sudog.
//!
//! ## Ownership
//! 1. A sudog belongs to the goroutine that acquired it, from
//!    [`acquire_sudog`] to [`release_sudog`].
//! 2. While it is queued on a channel, the fields `next`, `prev`, `elem`,
//!    `success` and the queue links are guarded by that channel's lock; the
//!    owner touches them only with the lock held, or after it was dequeued
//!    and the owner was woken (which orders the waker's writes first).
//! 3. `elem` may point into the owner's stack: the waker copies the value
//!    straight into (or out of) the parked goroutine's frame. gort never
//!    moves stacks, so the pointer stays valid while the owner is parked.
//!
//! Sudogs are cached per P (at most [`SUDOG_CACHE`]) and, beyond that, on a
//! central list in the runtime instance. Like Gs they are never returned to
//! the allocator, so their number is bounded by the most goroutine/object
//! waits that ever existed at once.

use core::ptr::null_mut;

use runtime_g::{G, getg, throw};

use crate::sched::sched;

/// Capacity of a P's sudog cache (Go's `sudogcache` array of 128).
pub const SUDOG_CACHE: usize = 128;

/// One goroutine waiting on one object: port of `sudog` (runtime2.go).
#[repr(C)]
pub struct Sudog {
    /// The waiting goroutine.
    pub g: *mut G,
    /// Links of the channel wait queue (or the semaphore's waiter list).
    pub next: *mut Sudog,
    pub prev: *mut Sudog,
    /// The value slot: for a send, where the value to send is; for a
    /// receive, where the received value goes. May point into `g`'s stack.
    /// For a semaphore waiter, the semaphore's address (the treap key); for
    /// a notify-list waiter, the list.
    pub elem: *mut u8,
    /// Semaphore: ticket handed over with the semaphore (`ticket`).
    pub ticket: u32,
    /// Whether the sudog belongs to a `select` (then `g.select_done`
    /// decides which case wins).
    pub is_select: bool,
    /// Whether the operation completed because a value was communicated
    /// (true) or because the channel was closed (false).
    pub success: bool,
    /// Semaphore: number of waiters behind this one on the same address.
    pub waiters: u16,
    /// Semaphore tree/list links (`parent`, `waittail`).
    pub parent: *mut Sudog,
    pub waittail: *mut Sudog,
    /// Next sudog of the same goroutine (`g.waiting` list), or the next
    /// waiter on a semaphore address.
    pub waitlink: *mut Sudog,
    /// The channel waited on (`*mut HChan`).
    pub c: *mut crate::chan::HChan,
}

impl Sudog {
    pub(crate) fn new() -> Sudog {
        Sudog {
            g: null_mut(),
            next: null_mut(),
            prev: null_mut(),
            elem: null_mut(),
            ticket: 0,
            is_select: false,
            success: false,
            waiters: 0,
            parent: null_mut(),
            waittail: null_mut(),
            waitlink: null_mut(),
            c: null_mut(),
        }
    }
}

/// The instance's central sudog list (`sched.sudogcache` under
/// `sched.sudoglock`), linked through `next`.
pub struct SudogCentral {
    pub head: *mut Sudog,
}

impl Default for SudogCentral {
    fn default() -> Self {
        SudogCentral { head: null_mut() }
    }
}

// SAFETY: the list holds free sudogs, owned by whoever holds the lock.
unsafe impl Send for SudogCentral {}

/// acquireSudog: port of runtime.acquireSudog (proc.go). A clean sudog from
/// the P's cache, refilled from the central list, or a new one.
///
/// Must run on a goroutine (or g0) of an M that holds a P; the P cannot
/// change during the call because nothing here parks.
pub fn acquire_sudog() -> *mut Sudog {
    // SAFETY: getg is the G running here.
    unsafe { acquire_sudog_g(getg()) }
}

/// [`acquire_sudog`] for a caller that holds the running G.
///
/// # Safety
/// `gp` must be the G running on this thread (its `m` is then this
/// thread's M), on an M that holds a P.
pub unsafe fn acquire_sudog_g(gp: *mut runtime_g::G) -> *mut Sudog {
    // SAFETY: gp is a live G.
    if unsafe { crate::waiter::is_outside(gp) } {
        return crate::waiter::new_sudog();
    }
    // SAFETY: the M holds a P (the caller's contract); the P's local part
    // is ours while we run on it, and no other reference to it is alive in
    // this function.
    let pp = unsafe { crate::proc::p_of((*gp).m.cast()) };
    // SAFETY: as above.
    let cache = unsafe { &mut pp.local().sudogcache };
    if cache.is_empty() {
        let s = sched();
        {
            let mut central = s.sudoglock.lock();
            while cache.len() < SUDOG_CACHE / 2 && !central.head.is_null() {
                let sg = central.head;
                // SAFETY: sudogs on the central list are free and ours under
                // the lock.
                unsafe {
                    central.head = (*sg).next;
                    (*sg).next = null_mut();
                }
                cache.push(sg);
            }
        }
        if cache.is_empty() {
            cache.push(Box::into_raw(Box::new(Sudog::new())));
        }
    }
    let sg = cache
        .pop()
        .unwrap_or_else(|| throw("acquireSudog: empty cache"));
    // SAFETY: a cached sudog is free and now ours.
    if unsafe { !(*sg).elem.is_null() } {
        throw("acquireSudog: found s.elem != nil in cache");
    }
    sg
}

/// releaseSudog: port of runtime.releaseSudog (proc.go). Returns a sudog to
/// the P's cache, moving half of a full cache to the central list. Throws if
/// the sudog still points at anything: that would be a wait-list bug.
///
/// # Safety
/// `sg` must come from [`acquire_sudog`], be owned by the caller and be on
/// no queue; the M must hold a P.
pub unsafe fn release_sudog(sg: *mut Sudog) {
    let gp = getg();
    if gp.is_null() {
        throw("releaseSudog: not on an M");
    }
    // SAFETY: forwarded contract; gp is the running G.
    unsafe { release_sudog_g(gp, sg) }
}

/// [`release_sudog`] for a caller that holds the running G. After a park
/// that is still right: `gp.m` is read here, so it names the M the
/// goroutine runs on now.
///
/// # Safety
/// As for [`release_sudog`]; `gp` must be the G running on this thread.
pub unsafe fn release_sudog_g(gp: *mut runtime_g::G, sg: *mut Sudog) {
    // SAFETY: the caller owns sg; gp is the running G.
    unsafe {
        let s = &*sg;
        if !s.elem.is_null() {
            throw("runtime: sudog with non-nil elem");
        }
        if s.is_select {
            throw("runtime: sudog with non-false isSelect");
        }
        if !s.next.is_null() {
            throw("runtime: sudog with non-nil next");
        }
        if !s.prev.is_null() {
            throw("runtime: sudog with non-nil prev");
        }
        if !s.waitlink.is_null() {
            throw("runtime: sudog with non-nil waitlink");
        }
        if !s.c.is_null() {
            throw("runtime: sudog with non-nil c");
        }
        if !(*gp).param.is_null() {
            throw("runtime: releaseSudog with non-nil gp.param");
        }
        (*sg).g = null_mut();
        (*sg).parent = null_mut();
        (*sg).waittail = null_mut();
        (*sg).ticket = 0;
        (*sg).waiters = 0;
        (*sg).success = false;
        if crate::waiter::is_outside(gp) {
            // A plain thread's or a task's sudog: no P's cache.
            crate::waiter::free_sudog(sg);
            return;
        }
    }
    // SAFETY: the M running gp holds a P (the caller's contract); see
    // acquire_sudog. gp.m is that M.
    let pp = unsafe { crate::proc::p_of((*gp).m.cast()) };
    // SAFETY: as in acquire_sudog.
    let cache = unsafe { &mut pp.local().sudogcache };
    if cache.len() == SUDOG_CACHE {
        // Move half of the cache to the central list, in one locked step.
        let mut first: *mut Sudog = null_mut();
        let mut last: *mut Sudog = null_mut();
        while cache.len() > SUDOG_CACHE / 2 {
            let p = cache.pop().unwrap_or_else(|| throw("releaseSudog: cache"));
            // SAFETY: cached sudogs are free and ours.
            unsafe {
                if last.is_null() {
                    last = p;
                } else {
                    (*p).next = first;
                }
            }
            first = p;
        }
        let s = sched();
        let mut central = s.sudoglock.lock();
        // SAFETY: `last` is the tail of the chain we built; ours until
        // published under the lock.
        unsafe { (*last).next = central.head };
        central.head = first;
    }
    cache.push(sg);
}

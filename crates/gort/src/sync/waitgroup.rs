//! Port of go1.27 `sync/waitgroup.go` (without synctest bubbles).
//!
//! One 64-bit state word: the counter in the high 32 bits, the number of
//! waiters in the low 31. `wait` registers itself with a CAS and sleeps on
//! the semaphore; the `add` that brings the counter to zero resets the word
//! and releases the semaphore once per waiter.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use runtime_g::WaitReason;
use runtime_p::sema::{semacquire1, semrelease1};

/// Go's `sync.WaitGroup`: waits for a collection of goroutines to finish.
///
/// ```no_run
/// # unsafe fn f() {
/// let wg = std::sync::Arc::new(gort::sync::WaitGroup::new());
/// for i in 0..10 {
///     wg.go(move || println!("{i}"));
/// }
/// wg.wait();
/// # }
/// ```
#[derive(Default)]
pub struct WaitGroup {
    state: AtomicU64,
    sema: AtomicU32,
}

impl core::fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = self.state.load(Ordering::Relaxed);
        f.debug_struct("WaitGroup")
            .field("counter", &((s >> 32) as i32))
            .field("waiters", &(s as u32 & 0x7fff_ffff))
            .finish()
    }
}

impl WaitGroup {
    /// A WaitGroup with counter zero.
    pub const fn new() -> WaitGroup {
        WaitGroup {
            state: AtomicU64::new(0),
            sema: AtomicU32::new(0),
        }
    }

    /// Adds `delta` (which may be negative) to the counter: Go's `Add`.
    /// When it reaches zero, every goroutine blocked in [`wait`](Self::wait)
    /// is released.
    ///
    /// # Panics
    /// `sync: negative WaitGroup counter` if the counter goes below zero;
    /// `sync: WaitGroup misuse: Add called concurrently with Wait` when an
    /// `add` from zero races with `wait`.
    #[track_caller]
    pub fn add(&self, delta: i32) {
        let state = self
            .state
            .fetch_add((delta as i64 as u64) << 32, Ordering::AcqRel)
            .wrapping_add((delta as i64 as u64) << 32);
        let v = (state >> 32) as i32;
        let w = state as u32 & 0x7fff_ffff;
        if v < 0 {
            panic!("sync: negative WaitGroup counter");
        }
        if w != 0 && delta > 0 && v == delta {
            panic!("sync: WaitGroup misuse: Add called concurrently with Wait");
        }
        if v > 0 || w == 0 {
            return;
        }
        // Counter is 0 and there are waiters: nobody may change the state
        // now (a concurrent Add or Wait would be misuse). Reset it and wake
        // them.
        if self.state.load(Ordering::Acquire) != state {
            panic!("sync: WaitGroup misuse: Add called concurrently with Wait");
        }
        self.state.store(0, Ordering::Release);
        for _ in 0..w {
            semrelease1(&self.sema, false);
        }
    }

    /// Counts one goroutine done: Go's `Done`, `add(-1)`.
    #[track_caller]
    pub fn done(&self) {
        self.add(-1)
    }

    /// Waits until the counter is zero: Go's `Wait`.
    ///
    /// # Panics
    /// `sync: WaitGroup is reused before previous Wait has returned`.
    #[track_caller]
    pub fn wait(&self) {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            let v = (state >> 32) as i32;
            if v == 0 {
                return;
            }
            // Count ourselves as a waiter.
            match self.state.compare_exchange_weak(
                state,
                state + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    // A goroutine ended by its runtime's shutdown while it
                    // waits unwinds out of semacquire1: the guard then stops
                    // counting it.
                    let counted = Counted(self);
                    semacquire1(&self.sema, false, WaitReason::SyncWaitGroupWait);
                    core::mem::forget(counted);
                    if self.state.load(Ordering::Acquire) != 0 {
                        panic!("sync: WaitGroup is reused before previous Wait has returned");
                    }
                    return;
                }
                Err(s) => state = s,
            }
        }
    }

    /// Waits from async code until the counter is zero: `wait` as a
    /// future, woken through the task's `Waker`; no thread blocks. Any
    /// executor. Dropping the future before it completes withdraws the
    /// waiter.
    ///
    /// # Panics
    /// When polled, as [`wait`](Self::wait).
    pub fn wait_async(&self) -> WaitFuture<'_> {
        WaitFuture {
            wg: self,
            counted: false,
            done: false,
            sema: runtime_p::sema::SemaWait::new(),
        }
    }

    /// Runs `f` in a new goroutine counted by this group: Go 1.25's
    /// `WaitGroup.Go`. If `f` panics, the panic ends the program and the
    /// group is not marked done, so `wait` never returns into a program
    /// whose goroutine failed (Go's issue 76126).
    #[track_caller]
    pub fn go<F>(self: &Arc<Self>, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        self.add(1);
        let wg = self.clone();
        crate::go(move || {
            if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
                std::panic::resume_unwind(p);
            }
            wg.done();
        });
    }
}

/// A waiter counted in a [`WaitGroup`]'s state. Dropped only when its wait
/// unwinds (its runtime's shutdown ended the goroutine, which the runtime
/// took off the semaphore's queue): the count must not go on counting a
/// waiter that is gone, and a token released for it must not let a later
/// `wait` through early.
struct Counted<'a>(&'a WaitGroup);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        uncount(self.0);
    }
}

/// Stops counting a waiter that is gone (see [`Counted`]).
fn uncount(wg: &WaitGroup) {
    let mut state = wg.state.load(Ordering::Acquire);
    loop {
        if state >> 32 == 0 {
            // The counter is zero: the last `done` is resetting the
            // state and releases one token per counted waiter, ours
            // included, from a goroutine that is running now (the
            // release has no preemption point). The waiter count is
            // its to clear; take our token as soon as it is there.
            while !runtime_p::sema::cansemacquire(&wg.sema) {
                std::thread::yield_now();
            }
            return;
        }
        match wg
            .state
            .compare_exchange_weak(state, state - 1, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => return,
            Err(s) => state = s,
        }
    }
}

/// The future of [`WaitGroup::wait_async`].
#[must_use = "futures do nothing unless polled"]
pub struct WaitFuture<'a> {
    wg: &'a WaitGroup,
    /// Whether we count in the state word as a waiter.
    counted: bool,
    done: bool,
    sema: runtime_p::sema::SemaWait,
}

impl core::future::Future for WaitFuture<'_> {
    type Output = ();

    #[track_caller]
    fn poll(
        mut self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<()> {
        let this = &mut *self;
        if this.done {
            panic!("WaitFuture polled after completion");
        }
        if !this.counted {
            let mut state = this.wg.state.load(Ordering::Acquire);
            loop {
                if (state >> 32) as i32 == 0 {
                    this.done = true;
                    return core::task::Poll::Ready(());
                }
                match this.wg.state.compare_exchange_weak(
                    state,
                    state + 1,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => break,
                    Err(s) => state = s,
                }
            }
            this.counted = true;
        }
        match runtime_p::sema::semacquire_async_poll(&this.wg.sema, &mut this.sema, cx) {
            core::task::Poll::Pending => core::task::Poll::Pending,
            core::task::Poll::Ready(()) => {
                this.done = true;
                this.counted = false;
                if this.wg.state.load(Ordering::Acquire) != 0 {
                    panic!("sync: WaitGroup is reused before previous Wait has returned");
                }
                core::task::Poll::Ready(())
            }
        }
    }
}

impl Drop for WaitFuture<'_> {
    fn drop(&mut self) {
        if !self.counted {
            return;
        }
        // A token that reached us means the wait completed: nothing to
        // undo. Otherwise we stop counting as a waiter.
        if !runtime_p::sema::semacquire_async_cancel(&self.wg.sema, &mut self.sema) {
            uncount(self.wg);
        }
    }
}

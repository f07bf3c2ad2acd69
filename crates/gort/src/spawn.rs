//! Starting goroutines: Go's `go` statement, and a join handle for the
//! result.

use std::fmt;
use std::sync::Arc;

use runtime_g::{G, WaitReason};
use runtime_m::Mutex;

/// Starts `f` in a new goroutine, like Go's `go f()`. The goroutine runs
/// on its own; nothing waits for it. Use [`spawn`] to get its result.
///
/// # Panics
/// Outside a goroutine of a gort runtime.
#[inline(always)]
#[track_caller]
pub fn go<F: FnOnce() + Send + 'static>(f: F) {
    start(Box::new(move || runtime_p::run_goroutine_fn(f)));
}

/// Starts a goroutine through the entry that records the caller's PC for
/// `created by` lines. Always inlined, as are [`go`] and [`spawn`], so that
/// the recorded PC is in the function that contains the `go` statement.
#[inline(always)]
#[track_caller]
pub(crate) fn start(f: Box<dyn FnOnce() + Send + 'static>) {
    let mut slot = runtime_p::proc::NewprocSlot {
        f: Some(f),
        at: Some(core::panic::Location::caller()),
    };
    // SAFETY: the slot holds the function, for the callee to take.
    unsafe { runtime_p::proc::newproc_at_caller(&mut slot) };
}

/// Go's `go` statement: `go!(stmts)` runs the statements in a new
/// goroutine, moving what they use (`go!(worker(ch.clone()))`).
#[macro_export]
macro_rules! go {
    ($($body:tt)*) => {
        $crate::go(move || { $($body)*; })
    };
}

/// A `*mut G` that may be handed to the goroutine that will wake it.
struct Waiter(*mut G);
// SAFETY: a G pointer is valid on any thread (Gs are never freed); who may
// act on it is governed by the park protocol, not by the thread.
unsafe impl Send for Waiter {}

struct State<T> {
    result: Option<T>,
    done: bool,
    waiter: Waiter,
    /// An async task awaiting the handle (`impl Future for JoinHandle`).
    waker: Option<std::task::Waker>,
}

struct Shared<T> {
    state: Mutex<State<T>>,
}

/// Completes the handle when the goroutine ends, also when it ends by
/// `goexit` (the unwind drops this with no result).
struct Completion<T>(Arc<Shared<T>>);

impl<T> Completion<T> {
    fn finish(&self, v: Option<T>) {
        let mut st = self.0.state.lock();
        if st.done {
            return;
        }
        st.result = v;
        st.done = true;
        let w = std::mem::replace(&mut st.waiter, Waiter(core::ptr::null_mut()));
        let waker = st.waker.take();
        drop(st);
        if let Some(waker) = waker {
            waker.wake();
        }
        if !w.0.is_null() {
            // SAFETY: the joiner published itself in `waiter` under the lock
            // and parked; taking it out under the lock makes us the only
            // waker.
            unsafe { runtime_p::goready(w.0) };
        }
    }
}

impl<T> Drop for Completion<T> {
    fn drop(&mut self) {
        // Unwound by a panic: it escapes the goroutine and ends the
        // program (Go's unrecovered panic). Waking the joiner now would
        // let it run on — and report its own failure first — while the
        // panic is still on its way to being printed.
        if runtime_p::panic::unwinding_from_panic() {
            return;
        }
        self.finish(None);
    }
}

/// Owned permission to wait for a goroutine's result. Dropping it detaches
/// the goroutine, which runs on.
///
/// A goroutine that panics cannot be joined: as in Go, an unrecovered panic
/// ends the whole program before anyone could observe it.
pub struct JoinHandle<T> {
    shared: Arc<Shared<T>>,
}

/// Why [`JoinHandle::join`] has no value: the goroutine called
/// [`goexit`](crate::goexit) before returning one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinError;

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("goroutine exited by goexit before returning a value")
    }
}

impl std::error::Error for JoinError {}

/// Starts `f` in a new goroutine and returns a handle to its result.
///
/// Like Go's `go` statement, the new goroutine is put first in line on the
/// current P (`runnext`): if the caller then blocks or yields, it runs next.
///
/// # Panics
/// Outside a goroutine of a gort runtime.
#[inline(always)]
#[track_caller]
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (handle, body) = with_handle(f);
    start(Box::new(body));
    handle
}

/// A handle to the result of `f`, and the goroutine body that runs `f` and
/// completes the handle (shared by every spawn form; the body is `Send`
/// exactly when `f` and `T` are).
pub(crate) fn with_handle<F, T>(f: F) -> (JoinHandle<T>, impl FnOnce())
where
    F: FnOnce() -> T,
{
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            result: None,
            done: false,
            waiter: Waiter(core::ptr::null_mut()),
            waker: None,
        }),
    });
    let done = Completion(shared.clone());
    let body = move || {
        let done = done;
        let v = runtime_p::run_goroutine_fn(f);
        // The goroutine's locals go before the handle completes, so that
        // `join` returns after their destructors ran, as a thread's join
        // waits for its thread-locals. A destructor that panics makes the
        // goroutine's panic, as it would at exit.
        if let Some(p) = runtime_p::proc::drop_locals() {
            std::panic::resume_unwind(p);
        }
        done.finish(Some(v));
    };
    (JoinHandle { shared }, body)
}

/// [`spawn`] for a goroutine with a stack of at least `stack_size` usable
/// bytes instead of the runtime's default ([`crate::Builder::stack_size`]):
/// for one goroutine that recurses deeply, without giving every goroutine
/// that much address space. Go has no twin: its stacks grow, and gort's
/// cannot (Rust frames hold pointers into themselves).
///
/// ```no_run
/// # gort::Builder::new().block_on(|| {
/// fn depth(n: u64) -> u64 {
///     let pad = std::hint::black_box([n as u8; 1024]);
///     if n == 0 { 0 } else { depth(n - 1) + pad[7] as u64 / 255 }
/// }
/// // About 32 MiB of frames: far past the 8 MiB default.
/// let h = gort::spawn_with_stack_size(64 << 20, || depth(32 * 1024));
/// h.join().unwrap();
/// # });
/// ```
///
/// # Panics
/// Outside a goroutine of a gort runtime, and if `stack_size` is above
/// [`MAX_STACK_SIZE`].
#[inline(always)]
#[track_caller]
pub fn spawn_with_stack_size<F, T>(stack_size: usize, f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    check_stack_size(stack_size);
    let (handle, body) = with_handle(f);
    let mut slot = runtime_p::proc::NewprocSlot {
        f: Some(Box::new(body)),
        at: Some(core::panic::Location::caller()),
    };
    // SAFETY: the slot holds the function, for the callee to take.
    unsafe { runtime_p::proc::newproc_sized_at_caller(&mut slot, stack_size) };
    handle
}

/// The largest stack [`spawn_with_stack_size`] gives a goroutine: 1 GiB
/// (of address space, committed only as it is touched).
pub const MAX_STACK_SIZE: usize = 1 << 30;

/// Rejects a size the stack allocator cannot round (on the caller's
/// goroutine, not later on the scheduler's stack).
fn check_stack_size(n: usize) {
    assert!(
        n <= MAX_STACK_SIZE,
        "gort::spawn_with_stack_size: {n} bytes is above the limit of {MAX_STACK_SIZE}"
    );
}

/// Starts a goroutine running `f`, which need not be `Send`: it starts
/// and stays on the calling goroutine's thread, so `Rc`s, `RefCell`s and
/// thread-bound guards may be captured and held across parks. Like
/// tokio's `spawn_local`, the result may be `!Send` too; then the handle
/// is `!Send` and must be joined on this thread.
///
/// ```no_run
/// # gort::Builder::new().block_on(|| {
/// use std::rc::Rc;
/// let shared = Rc::new(std::cell::Cell::new(0));
/// let s2 = shared.clone();
/// let h = gort::spawn_local(move || {
///     gort::gosched();
///     s2.set(s2.get() + 1);
/// });
/// h.join().unwrap();
/// assert_eq!(shared.get(), 1);
/// # });
/// ```
///
/// # Panics
/// Outside a goroutine, in the migrating mode (`Builder::migrating`), and
/// on a goroutine locked to its thread.
#[track_caller]
pub fn spawn_local<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + 'static,
    T: 'static,
{
    let (handle, body) = with_handle(f);
    runtime_p::proc::newproc_local(Box::new(body), Some(core::panic::Location::caller()));
    handle
}

/// Starts a goroutine on a new OS thread of its own, locked to it from
/// its first instruction, as if `f` began with [`crate::lock_os_thread`]:
/// no other goroutine ever runs on that thread. In Go this is `go f()`
/// with `runtime.LockOSThread()` first in `f`; in gort's safe mode that
/// form fails when other goroutines have already run on the thread `f`
/// starts on, and this one always works. The thread ends with the
/// goroutine.
///
/// # Panics
/// Outside a goroutine of a gort runtime.
#[track_caller]
pub fn spawn_dedicated<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (handle, body) = with_handle(f);
    runtime_p::lockosthread::newproc_dedicated(
        Box::new(body),
        Some(core::panic::Location::caller()),
    );
    handle
}

impl<T> JoinHandle<T> {
    /// Waits for the goroutine to finish and returns its value, parking the
    /// calling goroutine (not its thread) meanwhile. While parked it is
    /// shown as `chan receive` in deadlock reports: a join is a one-shot
    /// channel receive.
    ///
    /// On a plain thread, the thread blocks; async code awaits the handle
    /// instead (it is a `Future`).
    ///
    /// # Panics
    /// Inside `gort::syscall::blocking`.
    pub fn join(self) -> Result<T, JoinError> {
        // SAFETY: no lock is held yet; the section ends with this frame.
        let (gp, _rt) = unsafe { runtime_p::proc::require_entered_any("JoinHandle::join") };
        runtime_p::preempt_check();
        let mut st = self.shared.state.lock();
        if !st.done {
            // A goroutine of a runtime that is ending ends here instead
            // (see `Builder::block_on`).
            // SAFETY: gp is the running goroutine.
            if unsafe { runtime_p::kill::kill_point(gp) } {
                drop(st);
                runtime_p::kill::goexit();
            }
            st.waiter = Waiter(gp);
            // The lock is released by park_m once we are off the CPU, so the
            // finisher cannot goready us before we are parked.
            std::mem::forget(st);
            // SAFETY: we hold the raw lock (the guard was forgotten), we are
            // a goroutine, and the finisher learns of us only through
            // `waiter`, published under that lock. The cancel function
            // gets the shared state, which our handle keeps alive.
            unsafe {
                runtime_p::kill::set_cancel(
                    gp,
                    cancel_join::<T>,
                    Arc::as_ptr(&self.shared) as *mut (),
                );
                runtime_p::proc::goparkunlock_g(
                    gp,
                    self.shared.state.raw(),
                    WaitReason::ChanReceive,
                );
                if runtime_p::kill::park_killed(gp) {
                    runtime_p::kill::goexit();
                }
            }
            st = self.shared.state.lock();
        }
        st.result.take().ok_or(JoinError)
    }

    /// Whether the goroutine has finished.
    /// Never switches goroutines (no preemption point): safe to call from
    /// `Debug` and other code that must not park.
    pub fn is_finished(&self) -> bool {
        self.shared.state.lock().done
    }
}

/// Awaiting a handle waits for the goroutine's value from async code (any
/// executor), woken through the task's `Waker`: no thread blocks.
impl<T> core::future::Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(
        self: core::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let mut st = self.shared.state.lock();
        if st.done {
            return std::task::Poll::Ready(st.result.take().ok_or(JoinError));
        }
        match &st.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => st.waker = Some(cx.waker().clone()),
        }
        std::task::Poll::Pending
    }
}

/// The shutdown's cancel function for a goroutine parked in
/// [`JoinHandle::join`]: takes it out of `waiter`, unless the finisher took
/// it first.
///
/// # Safety
/// `arg` is the `Shared<T>` the parked G waits on (its handle keeps it
/// alive); called with the world stopped.
unsafe fn cancel_join<T>(gp: *mut G, arg: *mut ()) -> bool {
    // SAFETY: per the contract.
    let shared = unsafe { &*(arg as *const Shared<T>) };
    let mut st = shared.state.lock();
    if st.waiter.0 == gp {
        st.waiter = Waiter(core::ptr::null_mut());
        true
    } else {
        false
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

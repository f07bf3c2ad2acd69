//! [`Handle`]: which runtime the calling goroutine runs on, for libraries
//! that use gort and may be called from inside a runtime or from outside
//! one (issue 18). No Go twin: a Go program has one runtime.

use std::fmt;

use runtime_p::Sched;

/// A handle to a running gort runtime: the one whose goroutine called
/// [`Handle::current`] or [`Handle::try_current`]. Handles compare equal
/// when they name the same runtime.
///
/// A library that may be called from plain code or from a goroutine runs
/// its work on the caller's runtime when there is one, and starts its own
/// otherwise:
///
/// ```
/// fn library_call() -> u64 {
///     let work = || (0..10u64).map(|i| gort::spawn(move || i).join().unwrap()).sum();
///     match gort::Handle::try_current() {
///         // Already on a goroutine: run here, on the caller's runtime.
///         Some(h) => h.block_on(work),
///         None => gort::Builder::new().block_on(work),
///     }
/// }
/// assert_eq!(library_call(), 45);
/// assert_eq!(gort::Builder::new().block_on(library_call), 45);
/// ```
pub struct Handle {
    /// One reference to the instance's struct (`Sched::retain`), given
    /// back on drop: a handle kept after its runtime ended still answers
    /// `gomaxprocs` and compares, and pointers of live handles stay unique.
    sched: core::ptr::NonNull<Sched>,
}

// SAFETY: a Sched is Sync and Send (its fields are atomics and runtime
// locks); the handle only reads it and owns one reference.
unsafe impl Send for Handle {}
// SAFETY: as above.
unsafe impl Sync for Handle {}

impl Clone for Handle {
    fn clone(&self) -> Handle {
        self.sched().retain();
        Handle { sched: self.sched }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle owns one reference, given back once.
        unsafe { Sched::release(self.sched.as_ptr()) };
    }
}

impl Handle {
    /// The runtime of the calling goroutine, or `None` when the caller is
    /// not a goroutine (a plain thread, or the closure of
    /// [`crate::syscall::blocking`], which runs off the runtime).
    pub fn try_current() -> Option<Handle> {
        let gp = runtime_g::getg();
        // SAFETY: a non-null g is live; goid is 0 exactly on g0s, where
        // user code never runs.
        if gp.is_null() || unsafe { (*gp).goid } == 0 {
            return None;
        }
        runtime_p::try_sched().map(|sched| {
            sched.retain();
            Handle {
                sched: core::ptr::NonNull::from(sched),
            }
        })
    }

    /// The runtime of the calling goroutine.
    ///
    /// # Panics
    /// When the caller is not a goroutine (see [`Handle::try_current`]).
    #[track_caller]
    pub fn current() -> Handle {
        Handle::try_current().unwrap_or_else(|| {
            panic!(
                "gort::Handle::current called outside a goroutine: use Handle::try_current, \
                 or start a runtime with gort::Builder"
            )
        })
    }

    /// Runs `f` on this runtime and returns its result. On a goroutine of
    /// this runtime, `f` runs right here, on the calling goroutine (a
    /// nested `block_on` is a plain call), so that library code can use
    /// it without knowing where it is called from.
    ///
    /// # Panics
    /// On a goroutine of another runtime (a goroutine cannot wait for a
    /// different runtime; call the function directly, or pass values
    /// through a channel, which runtimes may share); and outside any
    /// goroutine, which needs a runtime handle that outside threads can
    /// enter (not built yet: use `gort::Builder::block_on` there). The
    /// panic says which.
    #[track_caller]
    pub fn block_on<F, T>(&self, f: F) -> T
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.check("block_on");
        f()
    }

    /// Starts a goroutine on this runtime (as [`crate::spawn`]).
    ///
    /// # Panics
    /// As for [`Handle::block_on`]: the caller must be a goroutine of this
    /// runtime.
    #[track_caller]
    pub fn spawn<F, T>(&self, f: F) -> crate::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.check("spawn");
        crate::spawn(f)
    }

    /// This runtime's GOMAXPROCS.
    pub fn gomaxprocs(&self) -> usize {
        self.sched().gomaxprocs()
    }

    fn sched(&self) -> &Sched {
        // SAFETY: the handle's reference keeps the struct alive.
        unsafe { self.sched.as_ref() }
    }

    #[track_caller]
    fn check(&self, what: &str) {
        match Handle::try_current() {
            Some(h) if h == *self => {}
            Some(_) => panic!(
                "gort::Handle::{what} called on a goroutine of another runtime: a goroutine \
                 runs on its own runtime only; call the function directly, or hand values \
                 over through a channel (runtimes may share channels and locks)"
            ),
            None => panic!(
                "gort::Handle::{what} called outside a goroutine: entering a runtime from a \
                 plain thread through a handle is not supported yet; use \
                 gort::Builder::block_on to run a runtime on this thread"
            ),
        }
    }
}

// A handle only names a runtime: a panic that unwinds past one leaves
// nothing half-changed behind it (the runtime itself runs on after a
// goroutine's panic), so it may cross `catch_unwind` like a plain value.
impl std::panic::UnwindSafe for Handle {}
impl std::panic::RefUnwindSafe for Handle {}

impl PartialEq for Handle {
    fn eq(&self, other: &Handle) -> bool {
        self.sched == other.sched
    }
}

impl Eq for Handle {}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("runtime", &self.sched.as_ptr())
            .field("gomaxprocs", &self.gomaxprocs())
            .finish()
    }
}

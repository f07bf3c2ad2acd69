//! Groups of goroutines working on parts of one task: a port of
//! `golang.org/x/sync/errgroup` (errgroup.go).
//!
//! ```
//! use gort::sync::errgroup::Group;
//! gort::Builder::new().block_on(|| {
//!     let (g, ctx) = Group::<gort::context::Cause>::with_context(&gort::context::background());
//!     for i in 0..3 {
//!         g.go(move || if i == 1 { Err(std::sync::Arc::new(std::io::Error::other("part 1 failed")) as _) } else { Ok(()) });
//!     }
//!     let err = g.wait().unwrap_err();
//!     assert_eq!(err.to_string(), "part 1 failed");
//!     assert!(ctx.err().is_some(), "the first error cancelled the group's context");
//! });
//! ```

use std::sync::{Arc, OnceLock};

use crate::chan::Chan;
use crate::context::{self, CancelCauseFunc, Cause, Context};
use crate::sync::WaitGroup;

/// A collection of goroutines working on parts of one task (Go's
/// `errgroup.Group`). Cloning gives another handle on the same group.
///
/// A group made by [`Group::new`] has no limit and cancels nothing; one
/// made by [`Group::with_context`] cancels its context on the first error
/// or when [`wait`](Group::wait) returns. The error type is anything
/// `Clone` (`wait` returns the first error each time it is called, as
/// Go's does); [`Cause`] (`Arc<dyn Error>`) holds any error, and
/// `with_context` needs a `std::error::Error`, which becomes the context's
/// cause.
pub struct Group<E = Cause> {
    inner: Arc<Inner<E>>,
}

/// How an error of the group becomes its context's cause.
type ToCause<E> = fn(E) -> Cause;

struct Inner<E> {
    /// `with_context`'s cancel, and how an error becomes its cause.
    cancel: Option<(CancelCauseFunc, ToCause<E>)>,
    wg: WaitGroup,
    /// The limit's tokens (`sem`): `None` without a limit.
    sem: std::sync::Mutex<Option<Chan<()>>>,
    /// The first error (`errOnce` and `err`).
    err: OnceLock<E>,
}

impl<E> Clone for Group<E> {
    fn clone(&self) -> Self {
        Group {
            inner: self.inner.clone(),
        }
    }
}

impl<E> Default for Group<E> {
    fn default() -> Self {
        Group::new()
    }
}

impl<E> std::fmt::Debug for Group<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group")
            .field("failed", &self.inner.err.get().is_some())
            .finish_non_exhaustive()
    }
}

impl<E> Group<E> {
    /// A group with no limit that cancels nothing (Go's zero `Group`).
    pub fn new() -> Group<E> {
        Group::with_cancel(None)
    }

    /// A group with no limit and no error yet, cancelling `cancel`.
    fn with_cancel(cancel: Option<(CancelCauseFunc, ToCause<E>)>) -> Group<E> {
        Group {
            inner: Arc::new(Inner {
                cancel,
                wg: WaitGroup::new(),
                sem: std::sync::Mutex::new(None),
                err: OnceLock::new(),
            }),
        }
    }

    fn sem(&self) -> Option<Chan<()>> {
        self.inner
            .sem
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Go's `SetLimit`: at most `n` goroutines of the group run at once
    /// (`None`: no limit). `go` then waits for room; `try_go` fails.
    ///
    /// # Panics
    /// Setting a limit (`Some`) while goroutines of the group are running,
    /// as in Go
    /// (`errgroup: modify limit while N goroutines in the group are still
    /// active`).
    pub fn set_limit(&self, n: Option<usize>) {
        let mut sem = self.inner.sem.lock().unwrap_or_else(|e| e.into_inner());
        let Some(n) = n else {
            // Go's negative limit: no check, as in Go.
            *sem = None;
            return;
        };
        let active = sem.as_ref().map_or(0, Chan::len);
        if active != 0 {
            panic!(
                "errgroup: modify limit while {active} goroutines in the group are still active"
            );
        }
        *sem = Some(Chan::new(n));
    }
}

impl<E: std::error::Error + Clone + Send + Sync + 'static> Group<E> {
    /// Go's `WithContext`: a group and a context derived from `ctx` that
    /// is cancelled, with the error as its cause, the first time a
    /// function of the group fails, or when `wait` returns.
    pub fn with_context(ctx: &Context) -> (Group<E>, Context) {
        let (ctx, cancel) = context::with_cancel_cause(ctx);
        let g = Group::with_cancel(Some((cancel, to_cause::<E>)));
        (g, ctx)
    }
}

impl<E: Clone + Send + Sync + 'static> Group<E> {
    /// Go's `Go`: runs `f` in a new goroutine, after waiting for room
    /// under the limit. The first error is what `wait` returns; in a group
    /// made by `with_context` it cancels the context.
    #[track_caller]
    pub fn go<F>(&self, f: F)
    where
        F: FnOnce() -> Result<(), E> + Send + 'static,
    {
        // Before taking a token and counting the goroutine: a call that
        // cannot start one leaves the group as it was.
        crate::runtime_check("errgroup::Group::go");
        let sem = self.sem();
        if let Some(s) = &sem {
            s.send(());
        }
        self.start(sem, f);
    }

    /// Go's `TryGo`: runs `f` in a new goroutine only if the limit has
    /// room now; returns whether it did.
    #[track_caller]
    pub fn try_go<F>(&self, f: F) -> bool
    where
        F: FnOnce() -> Result<(), E> + Send + 'static,
    {
        crate::runtime_check("errgroup::Group::try_go");
        let sem = self.sem();
        if let Some(s) = &sem
            && s.try_send(()).is_err()
        {
            return false;
        }
        self.start(sem, f);
        true
    }

    #[track_caller]
    fn start<F>(&self, sem: Option<Chan<()>>, f: F)
    where
        F: FnOnce() -> Result<(), E> + Send + 'static,
    {
        self.inner.wg.add(1);
        let inner = self.inner.clone();
        crate::go(move || {
            // Go's `defer g.done()`: also when f panics or exits.
            let _done = Done(&inner, sem);
            if let Err(e) = f() {
                let first = inner.err.set(e.clone()).is_ok();
                if first && let Some((c, to_cause)) = &inner.cancel {
                    c.cancel(Some(to_cause(e)));
                }
            }
        });
    }

    /// Go's `Wait`: waits for every function of the group, then returns
    /// the first error (cancelling the group's context, if it has one).
    pub fn wait(&self) -> Result<(), E> {
        self.inner.wg.wait();
        let err = self.inner.err.get().cloned();
        if let Some((c, to_cause)) = &self.inner.cancel {
            c.cancel(err.clone().map(*to_cause));
        }
        match err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// `e` as a context's cause: itself if it is one already (so that
/// [`context::cause`] returns the very error), else in a new `Arc`.
fn to_cause<E: std::error::Error + Send + Sync + 'static>(e: E) -> Cause {
    match (&e as &dyn std::any::Any).downcast_ref::<Cause>() {
        Some(c) => c.clone(),
        None => Arc::new(e),
    }
}

/// `g.done()`: gives back the goroutine's token and counts it done.
struct Done<'a, E>(&'a Inner<E>, Option<Chan<()>>);

impl<E> Drop for Done<'_, E> {
    fn drop(&mut self) {
        if let Some(s) = &self.1 {
            s.recv();
        }
        self.0.wg.done();
    }
}

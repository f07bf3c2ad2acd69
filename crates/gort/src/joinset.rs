//! [`JoinSet`]: a collection of goroutines whose results are taken in the
//! order they finish (tokio's `JoinSet`, on goroutines). No Go twin: Go
//! programs collect results over a channel or with an errgroup
//! ([`crate::sync::errgroup`]).

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use hashbrown::HashMap;

use crate::spawn::{JoinError, JoinHandle, with_handle};
use crate::sync::{Cond, Mutex};

/// Goroutines started through the set, joined in the order they finish.
///
/// [`join_next`](Self::join_next) parks the calling goroutine until one of
/// them finishes (a plain thread blocks), and returns its value, or
/// [`JoinError`] if it ended by [`goexit`](crate::goexit). A panic in one
/// of them ends the program, as any goroutine's unrecovered panic does.
///
/// Dropping the set detaches the goroutines still running: gort cannot
/// stop a goroutine from outside (tokio's set aborts its tasks, which Go
/// and gort have no way to do); pass them a
/// [`Context`](crate::context::Context) to cancel them.
///
/// ```
/// gort::Builder::new().block_on(|| {
///     let mut set = gort::JoinSet::new();
///     for i in 0..3u64 {
///         set.spawn(move || {
///             gort::time::sleep(std::time::Duration::from_millis(300 - 100 * i));
///             i
///         });
///     }
///     let mut total = 0;
///     // Usually 2, 1, 0: the shortest sleep finishes first.
///     while let Some(r) = set.join_next() {
///         total += r.unwrap();
///     }
///     assert_eq!(total, 3);
/// });
/// ```
pub struct JoinSet<T> {
    handles: HashMap<u64, JoinHandle<T>>,
    done: Arc<Finished>,
    next_id: u64,
}

/// The ids of the goroutines that have finished and not been joined.
#[derive(Default)]
struct Finished {
    ids: Mutex<VecDeque<u64>>,
    cond: Cond,
}

/// Puts its goroutine's id on the finished list when dropped: after the
/// goroutine's handle is complete, whether it returned or called goexit.
struct Notify {
    done: Arc<Finished>,
    id: u64,
}

impl Drop for Notify {
    fn drop(&mut self) {
        // A goroutine that panics did not complete its handle (and ends
        // the program): it is not put on the list. (One that ends by
        // goexit, which unwinds too, completed it with a JoinError.)
        if runtime_p::panic::unwinding_from_panic() {
            return;
        }
        self.done.ids.lock().push_back(self.id);
        self.done.cond.signal();
    }
}

impl<T: Send + 'static> JoinSet<T> {
    /// Starts `f` in a new goroutine of the set (as [`crate::spawn`]
    /// does).
    ///
    /// # Panics
    /// Outside a goroutine of a gort runtime.
    #[inline(always)]
    #[track_caller]
    pub fn spawn<F>(&mut self, f: F)
    where
        F: FnOnce() -> T + Send + 'static,
    {
        let id = self.next_id;
        self.next_id += 1;
        let (handle, body) = with_handle(f);
        let notify = Notify {
            done: self.done.clone(),
            id,
        };
        self.handles.insert(id, handle);
        crate::spawn::start(Box::new(move || {
            // Dropped last: after the body completed the handle.
            let _notify = notify;
            body();
        }));
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            handles: HashMap::new(),
            done: Arc::new(Finished::default()),
            next_id: 0,
        }
    }

    /// How many goroutines of the set have not been joined (running or
    /// finished).
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Whether every goroutine of the set has been joined.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// Waits for the next goroutine of the set to finish and returns its
    /// result; `None` if the set is empty.
    pub fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        if self.handles.is_empty() {
            return None;
        }
        let id = {
            let mut ids = self.done.ids.lock();
            loop {
                if let Some(id) = ids.pop_front() {
                    break id;
                }
                self.done.cond.wait(&mut ids);
            }
        };
        let h = self
            .handles
            .remove(&id)
            .expect("a finished goroutine of the set has a handle");
        // Complete already: the goroutine finished its handle before it
        // put its id on the list.
        Some(h.join())
    }

    /// The result of a goroutine of the set that has finished, if any,
    /// without waiting (never switches goroutines).
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        let id = self.done.ids.lock().pop_front()?;
        let h = self.handles.remove(&id)?;
        Some(h.join())
    }

    /// Waits for every goroutine of the set and returns their values in
    /// the order they finished.
    ///
    /// # Panics
    /// If one of them ended by [`goexit`](crate::goexit) (tokio's
    /// `join_all` panics for a failed task too); use
    /// [`join_next`](Self::join_next) to see each result.
    pub fn join_all(mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len());
        while let Some(r) = self.join_next() {
            out.push(r.expect("a goroutine of the JoinSet exited by goexit"));
        }
        out
    }

    /// Lets every goroutine of the set run on without it: the set is empty
    /// afterwards.
    pub fn detach_all(&mut self) {
        self.handles.clear();
        // The detached goroutines keep the old list: a fresh one for the
        // goroutines started from now on.
        self.done = Arc::new(Finished::default());
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> Self {
        JoinSet::new()
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}

impl<T: Send + 'static, F: FnOnce() -> T + Send + 'static> Extend<F> for JoinSet<T> {
    /// Starts each function in a goroutine of the set.
    #[track_caller]
    fn extend<I: IntoIterator<Item = F>>(&mut self, iter: I) {
        for f in iter {
            self.spawn(f);
        }
    }
}

impl<T: Send + 'static, F: FnOnce() -> T + Send + 'static> FromIterator<F> for JoinSet<T> {
    /// A set running each function in a goroutine.
    #[track_caller]
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> Self {
        let mut set = JoinSet::new();
        set.extend(iter);
        set
    }
}

//! A weighted semaphore: a port of `golang.org/x/sync/semaphore`
//! (semaphore.go).

use std::collections::VecDeque;

use crate::chan::Chan;
use crate::context::{self, Context};
use crate::select;
use crate::sync::Mutex;

/// Bounds concurrent access to a resource by weight (Go's
/// `semaphore.Weighted`). Waiters are served in order (FIFO): a large
/// request at the head of the queue is not overtaken by smaller ones.
pub struct Weighted {
    size: i64,
    state: Mutex<State>,
}

struct State {
    cur: i64,
    /// Waiting acquirers: an id, the weight, and the channel closed when
    /// the weight is theirs.
    waiters: VecDeque<(u64, i64, Chan<()>)>,
    next_id: u64,
}

impl std::fmt::Debug for Weighted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Weighted")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Weighted {
    /// Go's `NewWeighted`: a semaphore of total weight `n`.
    pub fn new(n: i64) -> Weighted {
        Weighted {
            size: n,
            state: Mutex::new(State {
                cur: 0,
                waiters: VecDeque::new(),
                next_id: 0,
            }),
        }
    }

    /// Go's `Acquire`: takes weight `n`, waiting until it is free or `ctx`
    /// ends. On failure returns `ctx`'s error and leaves the semaphore as
    /// it was. A context that has already ended fails at once.
    pub fn acquire(&self, ctx: &Context, n: i64) -> Result<(), context::Error> {
        let done = ctx.done();
        let mut st = self.state.lock();
        if let Some(e) = ctx.err() {
            // Go checks `<-done` here: an ended context fails even when
            // the weight is free.
            return Err(e);
        }
        if self.size - st.cur >= n && st.waiters.is_empty() {
            st.cur += n;
            return Ok(());
        }
        if n > self.size {
            // It can never succeed: do not make later acquirers queue
            // behind it.
            drop(st);
            done.recv();
            return Err(ctx.err().expect("done is closed"));
        }
        let ready: Chan<()> = Chan::new(0);
        let id = st.next_id;
        st.next_id += 1;
        st.waiters.push_back((id, n, ready.clone()));
        drop(st);
        select! {
            recv(done) -> _v => {
                let mut st = self.state.lock();
                if ready.is_closed() {
                    // It was granted after the cancel: give it back.
                    st.cur -= n;
                    self.notify_waiters(&mut st);
                } else {
                    let pos = st
                        .waiters
                        .iter()
                        .position(|w| w.0 == id)
                        .expect("a waiter not granted is queued");
                    st.waiters.remove(pos);
                    // At the head with weight to spare: the next ones may
                    // fit now.
                    if pos == 0 && self.size > st.cur {
                        self.notify_waiters(&mut st);
                    }
                }
                Err(ctx.err().expect("done is closed"))
            }
            recv(ready) -> _v => {
                // Granted; but if the context ended meanwhile, the cancel
                // wins, as in Go.
                if let Some(e) = ctx.err() {
                    self.release(n);
                    return Err(e);
                }
                Ok(())
            }
        }
    }

    /// Go's `TryAcquire`: takes weight `n` if it is free now and nobody
    /// waits; returns whether it did.
    pub fn try_acquire(&self, n: i64) -> bool {
        let mut st = self.state.lock();
        let ok = self.size - st.cur >= n && st.waiters.is_empty();
        if ok {
            st.cur += n;
        }
        ok
    }

    /// Go's `Release`: gives back weight `n`, waking the waiters it makes
    /// room for.
    ///
    /// # Panics
    /// If more is released than held (`semaphore: released more than
    /// held`), as in Go.
    pub fn release(&self, n: i64) {
        let mut st = self.state.lock();
        st.cur -= n;
        if st.cur < 0 {
            drop(st);
            panic!("semaphore: released more than held");
        }
        self.notify_waiters(&mut st);
    }

    /// notifyWaiters: grants waiters in order while the head one fits.
    fn notify_waiters(&self, st: &mut State) {
        while let Some(&(_, n, _)) = st.waiters.front() {
            if self.size - st.cur < n {
                // The head does not fit: the ones behind it wait too, so
                // that a large request is not starved by small ones.
                break;
            }
            st.cur += n;
            let (_, _, ready) = st.waiters.pop_front().expect("front exists");
            ready.close();
        }
    }
}

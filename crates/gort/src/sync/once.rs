//! Port of go1.27 `sync/once.go` and `oncefunc.go`.

use core::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::mutex::RawMutex;

/// Go's `sync.Once`: runs an action exactly once.
#[derive(Default)]
pub struct Once {
    done: AtomicBool,
    m: RawMutex,
}

impl core::fmt::Debug for Once {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Once")
            .field("done", &self.done.load(Ordering::Relaxed))
            .finish()
    }
}

impl Once {
    /// A Once that has not run.
    pub const fn new() -> Once {
        Once {
            done: AtomicBool::new(false),
            m: RawMutex::new(),
        }
    }

    /// Calls `f` if and only if this is the first call of `call` on this
    /// Once: Go's `Do`. Every call returns only after `f` has returned. If
    /// `f` panics, the Once counts as done and the panic propagates.
    #[inline]
    pub fn call(&self, f: impl FnOnce()) {
        // The load must acquire what `f` wrote: a caller that sees done
        // must see f's effects.
        if !self.done.load(Ordering::Acquire) {
            self.call_slow(f);
        }
    }

    #[cold]
    fn call_slow(&self, f: impl FnOnce()) {
        struct Unlock<'a>(&'a RawMutex);
        impl Drop for Unlock<'_> {
            fn drop(&mut self) {
                self.0.unlock();
            }
        }
        struct MarkDone<'a>(&'a AtomicBool);
        impl Drop for MarkDone<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Release);
            }
        }
        self.m.lock();
        let _unlock = Unlock(&self.m);
        if !self.done.load(Ordering::Relaxed) {
            // Done is set when f returns or panics (Go's deferred store).
            let _mark = MarkDone(&self.done);
            f();
        }
    }

    /// Whether the action has run (Go has no such query).
    pub fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }
}

/// Go's `sync.OnceFunc`: a function that calls `f` only the first time it
/// is called. If `f` panicked, that first call panics with `f`'s own value
/// (Go re-panics with it) and every later call with the same text.
pub fn once_func<F>(f: F) -> impl Fn() + Send + Sync + 'static
where
    F: FnOnce() + Send + 'static,
{
    let v = once_value(f);
    move || v()
}

/// Go's `sync.OnceValue` (and `OnceValues`, with a tuple): a function that
/// calls `f` the first time and returns (a clone of) its result on every
/// call. If `f` panicked, that first call panics with `f`'s own value and
/// every later call with the same text. If `f` ended its goroutine
/// (`goexit`), the Goexit goes on, and later calls panic saying so (Go
/// leaves that case unspecified; it calls `f` once all the same).
pub fn once_value<T, F>(f: F) -> impl Fn() -> T + Send + Sync + 'static
where
    F: FnOnce() -> T + Send + 'static,
    T: Clone + Send + Sync + 'static,
{
    let once = Arc::new(Once::new());
    let f = super::Mutex::new(Some(f));
    let result: Arc<super::Mutex<Option<Result<T, String>>>> = Arc::new(super::Mutex::new(None));
    move || {
        // The first call's panic, raised again once the Once is done (Go's
        // `panic(recover())` in OnceFunc: `[recovered, repanicked]`).
        let mut first: Option<crate::Recovered> = None;
        once.call(|| {
            let f = f.lock().take().expect("once_value: function taken twice");
            let r = match crate::catch(std::panic::AssertUnwindSafe(f)) {
                Ok(v) => Ok(v),
                Err(p) => {
                    let text = p.text().to_string();
                    first = Some(p);
                    Err(text)
                }
            };
            *result.lock() = Some(r);
        });
        if let Some(p) = first {
            p.repanic();
        }
        match result.lock().as_ref() {
            Some(Ok(v)) => v.clone(),
            Some(Err(msg)) => panic!("{msg}"),
            // `f` ended its goroutine (a Goexit goes on through catch).
            None => panic!("sync: the function of once_func or once_value called goexit"),
        }
    }
}

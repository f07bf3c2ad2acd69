//! Go's `sync` package: [`Mutex`], [`RwLock`], [`WaitGroup`], [`Once`],
//! [`Cond`], on the runtime's semaphores (`runtime_p::sema`, a port of
//! `runtime/sema.go`). Waiting goroutines park; threads never block.
//!
//! The algorithms are Go's (go1.27 `internal/sync/mutex.go`,
//! `sync/rwmutex.go`, `waitgroup.go`, `once.go`, `cond.go`); the shapes are
//! Rust's. Each lock comes twice, as in `lock_api`:
//! - the raw lock, with Go's methods (`lock`, `try_lock`, `unlock`, and for
//!   [`RawRwMutex`] `rlock`/`runlock`), which protects no data and may be
//!   unlocked by any goroutine, as in Go — misuse ends the program with
//!   Go's fatal error (`fatal error: sync: unlock of unlocked mutex`);
//! - the data-owning lock, [`Mutex<T>`] = `lock_api::Mutex<RawMutex, T>`
//!   and [`RwLock<T>`], whose guards unlock on drop. Guards may be held
//!   across park points and move with their goroutine between threads.
//!
//! | Go | gort |
//! |---|---|
//! | `var mu sync.Mutex; mu.Lock(); mu.Unlock()` | `RawMutex::new()`, `lock()`, `unlock()` |
//! | a struct field guarded by `mu` | `Mutex<T>`: `let g = m.lock(); *g += 1;` |
//! | `sync.RWMutex` | [`RawRwMutex`] / [`RwLock<T>`] |
//! | `sync.WaitGroup` (`Add`, `Done`, `Wait`, `Go`) | [`WaitGroup`] |
//! | `sync.Once`, `OnceFunc`, `OnceValue` | [`Once`], [`once_func`], [`once_value`] |
//! | `sync.NewCond(&mu)` | [`Cond`] |
//! | `sync.Pool` (`Get`, `Put`, `New`) | [`Pool`] (`get`, `put`, [`Pool::with_new`]) |
//! | `golang.org/x/sync/errgroup` | [`errgroup::Group`] |
//! | `golang.org/x/sync/semaphore` | [`semaphore::Weighted`] |
//!
//! All of them must be used from goroutines of a gort runtime (the fast
//! paths of an uncontended lock work anywhere, but waiting needs a
//! goroutine).

mod cond;
pub mod errgroup;
mod mutex;
mod once;
pub mod pool;
mod rwmutex;
pub mod semaphore;
mod waitgroup;

pub use cond::{Cond, Locker};
pub use mutex::{Mutex, MutexGuard, RawMutex};
pub use once::{Once, once_func, once_value};
pub use pool::Pool;
pub use rwmutex::{RLocker, RawRwMutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use waitgroup::{WaitFuture, WaitGroup};

/// Go's `sync.fatal`: an unrecoverable error in the use of a sync value.
#[track_caller]
pub(crate) fn fatal(msg: &str) -> ! {
    runtime_g::throw::fatal_error(msg)
}

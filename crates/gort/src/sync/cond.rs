//! Port of go1.27 `sync/cond.go`: a condition variable on a notify list
//! (`runtime_p::sema::NotifyList`), so waiters wake in the order they
//! started waiting and a signal never wakes a later waiter.

use runtime_p::sema::NotifyList;

use super::mutex::{MutexGuard, RawMutex};

/// Go's `sync.Locker`: something that can be locked and unlocked.
pub trait Locker {
    /// Takes the lock, waiting as long as it takes.
    fn lock(&self);
    /// Releases the lock.
    fn unlock(&self);
}

impl Locker for RawMutex {
    fn lock(&self) {
        RawMutex::lock(self)
    }
    fn unlock(&self) {
        RawMutex::unlock(self)
    }
}

impl Locker for super::RawRwMutex {
    fn lock(&self) {
        super::RawRwMutex::lock(self)
    }
    fn unlock(&self) {
        super::RawRwMutex::unlock(self)
    }
}

/// Go's `sync.Cond`: a rendezvous point for goroutines waiting for, or
/// announcing, an event. Use it with a [`Mutex`](super::Mutex) guard
/// ([`wait`](Self::wait)) or, as in Go, with any [`Locker`]
/// ([`wait_locker`](Self::wait_locker)).
#[derive(Default)]
pub struct Cond {
    notify: NotifyList,
}

impl core::fmt::Debug for Cond {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Cond")
    }
}

impl Cond {
    /// A condition variable with no waiters.
    pub const fn new() -> Cond {
        Cond {
            notify: NotifyList::new(),
        }
    }

    /// Atomically unlocks the guard's mutex and parks until woken by
    /// [`signal`](Self::signal) or [`broadcast`](Self::broadcast), then
    /// locks it again: Go's `Wait`. As in Go, the condition must be checked
    /// again in a loop after waking.
    #[track_caller]
    pub fn wait<T: ?Sized>(&self, guard: &mut MutexGuard<'_, T>) {
        let t = self.notify.add();
        MutexGuard::unlocked(guard, || self.notify.wait(t));
    }

    /// Go's `Wait` with an explicit locker: `l` must be locked by the
    /// caller; it is unlocked while waiting and locked again before
    /// returning.
    #[track_caller]
    pub fn wait_locker(&self, l: &impl Locker) {
        let t = self.notify.add();
        l.unlock();
        self.notify.wait(t);
        l.lock();
    }

    /// Wakes one waiting goroutine, the one that has waited longest, if
    /// any: Go's `Signal`.
    pub fn signal(&self) {
        self.notify.notify_one();
    }

    /// Wakes every waiting goroutine: Go's `Broadcast`.
    pub fn broadcast(&self) {
        self.notify.notify_all();
    }
}

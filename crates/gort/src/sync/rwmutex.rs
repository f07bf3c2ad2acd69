//! Port of go1.27 `sync/rwmutex.go` (Go's `sync.RWMutex`).
//!
//! `reader_count` counts readers; a writer subtracts `MAX_READERS` from it,
//! which both announces the writer (the count goes negative, so new readers
//! queue on `reader_sem`) and tells it how many readers are still inside;
//! those are counted down in `reader_wait`, and the last one wakes the writer
//! through `writer_sem`. Writers exclude each other with a [`RawMutex`]. The
//! result prefers writers: once a writer waits, new readers wait for it.

use core::sync::atomic::{AtomicI32, AtomicU32, Ordering};

use runtime_g::WaitReason;
use runtime_p::sema::{semacquire1_nocancel, semrelease1};

use super::mutex::RawMutex;

/// Go's `rwmutexMaxReaders`.
const MAX_READERS: i32 = 1 << 30;

/// Go's `sync.RWMutex`: a reader/writer lock protecting no data of its own;
/// any goroutine may unlock it, as in Go. For the data-owning lock, use
/// [`RwLock<T>`](super::RwLock).
pub struct RawRwMutex {
    /// Held while writers are pending.
    w: RawMutex,
    /// Writers wait here for departing readers.
    writer_sem: AtomicU32,
    /// Readers wait here for the writer.
    reader_sem: AtomicU32,
    /// Pending readers (minus `MAX_READERS` while a writer is in).
    reader_count: AtomicI32,
    /// Readers the writer still waits for.
    reader_wait: AtomicI32,
}

impl Default for RawRwMutex {
    fn default() -> Self {
        RawRwMutex::new()
    }
}

impl core::fmt::Debug for RawRwMutex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RawRwMutex")
            .field("reader_count", &self.reader_count.load(Ordering::Relaxed))
            .finish()
    }
}

impl RawRwMutex {
    /// An unlocked reader/writer lock.
    pub const fn new() -> RawRwMutex {
        RawRwMutex {
            w: RawMutex::new(),
            writer_sem: AtomicU32::new(0),
            reader_sem: AtomicU32::new(0),
            reader_count: AtomicI32::new(0),
            reader_wait: AtomicI32::new(0),
        }
    }

    /// Locks for reading: Go's `RLock`. Waits while a writer holds the
    /// lock or waits for it.
    #[inline]
    #[track_caller]
    pub fn rlock(&self) {
        if self.reader_count.fetch_add(1, Ordering::Acquire) + 1 < 0 {
            // A writer is pending: wait for it.
            semacquire1_nocancel(&self.reader_sem, false, WaitReason::SyncRWMutexRLock);
        }
    }

    /// Locks for reading if that is possible now: Go's `TryRLock`.
    pub fn try_rlock(&self) -> bool {
        let mut c = self.reader_count.load(Ordering::Relaxed);
        loop {
            if c < 0 {
                return false;
            }
            match self.reader_count.compare_exchange_weak(
                c,
                c + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(x) => c = x,
            }
        }
    }

    /// Undoes one [`rlock`](Self::rlock): Go's `RUnlock`. Without a read
    /// lock held, ends the program with `fatal error: sync: RUnlock of
    /// unlocked RWMutex`.
    #[inline]
    #[track_caller]
    pub fn runlock(&self) {
        let r = self.reader_count.fetch_sub(1, Ordering::Release) - 1;
        if r < 0 {
            self.runlock_slow(r);
        }
    }

    #[cold]
    #[track_caller]
    fn runlock_slow(&self, r: i32) {
        if r + 1 == 0 || r + 1 == -MAX_READERS {
            super::fatal("sync: RUnlock of unlocked RWMutex");
        }
        // A writer is pending: the last departing reader wakes it.
        if self.reader_wait.fetch_sub(1, Ordering::AcqRel) - 1 == 0 {
            semrelease1(&self.writer_sem, false);
        }
    }

    /// Locks for writing: Go's `Lock`. Waits for other writers, then for
    /// the readers inside to leave.
    #[track_caller]
    pub fn lock(&self) {
        self.w.lock();
        // Announce the writer to readers.
        let r = self.reader_count.fetch_sub(MAX_READERS, Ordering::Acquire);
        // Wait for active readers.
        if r != 0 && self.reader_wait.fetch_add(r, Ordering::AcqRel) + r != 0 {
            semacquire1_nocancel(&self.writer_sem, false, WaitReason::SyncRWMutexLock);
        }
    }

    /// Locks for writing if that is possible now: Go's `TryLock`.
    pub fn try_lock(&self) -> bool {
        if !self.w.try_lock() {
            return false;
        }
        if self
            .reader_count
            .compare_exchange(0, -MAX_READERS, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.w.unlock();
            return false;
        }
        true
    }

    /// Unlocks for writing: Go's `Unlock`. Without the write lock held,
    /// ends the program with `fatal error: sync: Unlock of unlocked
    /// RWMutex`.
    #[track_caller]
    pub fn unlock(&self) {
        // Announce to readers that there is no active writer.
        let r = self.reader_count.fetch_add(MAX_READERS, Ordering::Release) + MAX_READERS;
        if r >= MAX_READERS {
            super::fatal("sync: Unlock of unlocked RWMutex");
        }
        // Unblock the readers that queued behind us.
        for _ in 0..r {
            semrelease1(&self.reader_sem, false);
        }
        // Let other writers proceed.
        self.w.unlock();
    }

    /// A [`Locker`](super::Locker) whose lock and unlock take and release
    /// a read lock: Go's `RLocker`.
    pub fn rlocker(&self) -> RLocker<'_> {
        RLocker(self)
    }

    fn is_locked_any(&self) -> bool {
        self.reader_count.load(Ordering::Relaxed) != 0 || self.w.is_locked()
    }
}

/// Read-lock view of a [`RawRwMutex`] (Go's `rlocker`).
#[derive(Clone, Copy, Debug)]
pub struct RLocker<'a>(&'a RawRwMutex);

impl super::Locker for RLocker<'_> {
    fn lock(&self) {
        self.0.rlock()
    }
    fn unlock(&self) {
        self.0.runlock()
    }
}

// SAFETY: Go's RWMutex algorithm: a write lock excludes every other lock,
// read locks exclude write locks.
unsafe impl lock_api::RawRwLock for RawRwMutex {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: RawRwMutex = RawRwMutex::new();
    /// Guards may move between threads with their goroutine.
    type GuardMarker = lock_api::GuardSend;

    fn lock_shared(&self) {
        self.rlock()
    }
    fn try_lock_shared(&self) -> bool {
        self.try_rlock()
    }
    unsafe fn unlock_shared(&self) {
        self.runlock()
    }
    fn lock_exclusive(&self) {
        self.lock()
    }
    fn try_lock_exclusive(&self) -> bool {
        self.try_lock()
    }
    unsafe fn unlock_exclusive(&self) {
        self.unlock()
    }
    fn is_locked(&self) -> bool {
        self.is_locked_any()
    }
}

/// A reader/writer lock that owns its data, with Go's `sync.RWMutex`
/// algorithm (writer preference): `lock_api::RwLock` over [`RawRwMutex`].
pub type RwLock<T> = lock_api::RwLock<RawRwMutex, T>;
/// Shared guard of an [`RwLock`].
pub type RwLockReadGuard<'a, T> = lock_api::RwLockReadGuard<'a, RawRwMutex, T>;
/// Exclusive guard of an [`RwLock`].
pub type RwLockWriteGuard<'a, T> = lock_api::RwLockWriteGuard<'a, RawRwMutex, T>;

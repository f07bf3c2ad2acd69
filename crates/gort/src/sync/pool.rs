//! [`Pool`]: a port of Go's `sync.Pool` (sync/pool.go).
//!
//! Each P has a local part: one private value, which only that P uses,
//! and a shared [`PoolChain`] (sync/poolqueue.go, in
//! `runtime_p::poolqueue`), which the P pushes and pops at its head and
//! other Ps steal from at its tail. A goroutine reaches its P's part by
//! pinning itself to the P (`runtime_p::proc::proc_pin`, Go's `procPin`),
//! so `put` and `get` take no lock and, when the P's own part has a value,
//! touch no memory another P writes.
//!
//! ## What clears a pool
//! Go clears pools at the start of every garbage collection
//! (`poolCleanup`): what was in the pool moves to a victim cache, and what
//! was already in the victim cache is dropped. A value thus survives one
//! collection, so a pool that is in use keeps its values, and one that is
//! not gives them back after two. gort has no collector, so the same
//! rotation ([`Pool::cleanup`]) happens
//! - when the program calls [`Pool::cleanup`] (for example after a burst,
//!   or under memory pressure), and
//! - on its own, when a `put` finds that two minutes have passed since the
//!   last rotation (Go's longest interval between two collections,
//!   `forcegcperiod`): it rotates the pool after it has unpinned, so that
//!   the values it drops are dropped on the calling goroutine (never on a
//!   runtime thread, never under a runtime lock). A pool nobody puts into
//!   does not rotate on its own.
//!
//! A rotation reaches the chains of every P, but a P's private value only
//! through that P (it is dropped once its P finds it two rotations old),
//! and chains keep the memory of their largest size: a P that stops using
//! the pool, or is gone, keeps one value and its chains' buffers until
//! the pool is dropped. Go's collector frees those too.
//!
//! Go rotates with the world stopped; here a rotation runs while other
//! goroutines use the pool, so each P's part holds two chains that swap
//! roles. Epoch `e` (a counter the rotation increments) makes chain
//! `e % 2` the pool and chain `(e + 1) % 2` the victim cache; a rotation
//! first empties the chain that becomes the pool (the old victim cache)
//! from its tail, which any thread may pop. A private value records the
//! epoch it was put in and is dropped by its P once two rotations have
//! passed; a P returns its private value of the previous epoch before
//! looking at its chain (Go looks at its victim private value only after
//! stealing). A goroutine that read the epoch just before a rotation puts its
//! value into what is now the victim cache, or a rotation drops a value
//! put just after it: both only lose a pooled value early, which a pool may
//! always do.
//!
//! Plain threads and goroutines inside `syscall::blocking` have no P; they
//! share one more local part, one at a time under a lock.

use core::cell::UnsafeCell;
use core::ptr::null_mut;
use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release, SeqCst};
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize};

use runtime_p::poolqueue::PoolChain;
use runtime_p::proc::proc_pin;

#[doc(hidden)]
pub use runtime_p::poolqueue::{PoolChain as RawPoolChain, PoolDequeue as RawPoolDequeue};

/// Local parts per chunk, and chunks: pin slots `0..SLOTS` each get a
/// part; a P with a higher slot (more than 4,032 live Ps in the process)
/// uses the shared part of plain threads.
const CHUNK: usize = 64;
const CHUNKS: usize = 63;
const SLOTS: usize = CHUNK * CHUNKS;
/// The part of callers without a P: the first of one more chunk.
const OUTSIDE: usize = SLOTS;

/// Go's `forcegcperiod`: two minutes, in nanoseconds.
const FORCE_PERIOD_NS: u64 = 2 * 60 * 1_000_000_000;
/// Every this many pushes into its chain, a P checks the clock.
const CHECK_EVERY: u32 = 256;

/// The rotation period; tests shorten it.
static PERIOD_NS: AtomicU64 = AtomicU64::new(FORCE_PERIOD_NS);

/// Sets the period of the automatic rotation (module docs), for tests.
#[doc(hidden)]
pub fn set_cleanup_period(d: core::time::Duration) {
    PERIOD_NS.store(d.as_nanos().min(u64::MAX as u128) as u64, Relaxed);
}

/// poolLocal: port of sync.poolLocal (pool.go): one P's part, on its own
/// cache lines (Go pads it to 128 bytes for the same reason).
#[repr(align(128))]
struct PoolLocal<T> {
    /// The P's own value and the epoch it was put in. Owner only.
    private: UnsafeCell<Option<(T, u64)>>,
    /// Pushes since the last clock check. Owner only.
    puts: UnsafeCell<u32>,
    /// The pool (`epoch % 2`) and the victim cache (module docs).
    chains: [PoolChain<T>; 2],
}

impl<T> PoolLocal<T> {
    fn new() -> Self {
        PoolLocal {
            private: UnsafeCell::new(None),
            puts: UnsafeCell::new(0),
            chains: [PoolChain::new(), PoolChain::new()],
        }
    }
}

/// A set of values to reuse: Go's `sync.Pool`. [`put`](Pool::put) a value
/// when done with it and [`get`](Pool::get) one back later (from any
/// goroutine or thread), instead of making a new one. A pool may drop any
/// value it holds at any time (module docs: what clears a pool), so it is
/// for values that can be made again, such as buffers.
///
/// ```
/// use gort::sync::Pool;
///
/// static BUFS: Pool<Vec<u8>> = Pool::with_new(|| Vec::with_capacity(4096));
///
/// gort::Builder::new().block_on(|| {
///     let mut b = BUFS.get().unwrap();
///     b.clear();
///     b.extend_from_slice(b"hello");
///     BUFS.put(b);
/// });
/// ```
pub struct Pool<T, F = fn() -> T> {
    /// Chunks of local parts, made on first use (the last one holds the
    /// part of callers without a P).
    chunks: [AtomicPtr<PoolLocal<T>>; CHUNKS + 1],
    /// One past the highest pin slot that has used the pool.
    high: AtomicUsize,
    /// Serialises callers without a P on the `OUTSIDE` part.
    outside: std::sync::Mutex<()>,
    /// Rotations so far (module docs).
    epoch: AtomicU64,
    /// `epoch + 1` when a search found the victim cache empty in that
    /// epoch (Go's `victimSize = 0`); searches skip it until the next
    /// rotation.
    victim_empty: AtomicU64,
    /// A rotation is running.
    cleaning: AtomicBool,
    /// When (monotonic clock, ns) the next automatic rotation is due; 0
    /// until the first clock check.
    next_auto: AtomicU64,
    /// Go's `New`: makes a value when the pool has none.
    new: Option<F>,
}

// SAFETY: values cross threads through the pool (T: Send); each local part's
// owner-only fields are used by the goroutine pinned to its P, or under
// `outside`, one at a time; `new` is called from any thread (F: Sync).
unsafe impl<T: Send, F: Sync> Sync for Pool<T, F> {}
// SAFETY: moving the pool moves its values (T: Send) and `new` (F: Send).
unsafe impl<T: Send, F: Send> Send for Pool<T, F> {}

impl<T> Pool<T> {
    /// An empty pool without `New`: [`get`](Pool::get) on an empty pool
    /// gives `None`.
    pub const fn new() -> Self {
        Self::make(None)
    }
}

impl<T> Default for Pool<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, F> Pool<T, F> {
    /// An empty pool whose [`get`](Pool::get) calls `new` when it has no
    /// value (Go's `Pool{New: new}`).
    pub const fn with_new(new: F) -> Self {
        Self::make(Some(new))
    }

    const fn make(new: Option<F>) -> Self {
        Pool {
            chunks: [const { AtomicPtr::new(null_mut()) }; CHUNKS + 1],
            high: AtomicUsize::new(0),
            outside: std::sync::Mutex::new(()),
            epoch: AtomicU64::new(0),
            victim_empty: AtomicU64::new(0),
            cleaning: AtomicBool::new(false),
            next_auto: AtomicU64::new(0),
            new,
        }
    }

    /// The local part of pin slot `i` (or `OUTSIDE`), made on first use.
    fn local(&self, i: usize) -> &PoolLocal<T> {
        let c = &self.chunks[i / CHUNK];
        let mut chunk = c.load(Acquire);
        if chunk.is_null() {
            let n = if i == OUTSIDE { 1 } else { CHUNK };
            let fresh: Box<[PoolLocal<T>]> = (0..n).map(|_| PoolLocal::new()).collect();
            let fresh = Box::into_raw(fresh) as *mut PoolLocal<T>;
            match c.compare_exchange(null_mut(), fresh, AcqRel, Acquire) {
                Ok(_) => chunk = fresh,
                Err(won) => {
                    // SAFETY: `fresh` was never shared; it is the box made
                    // above (n parts, no values yet).
                    drop(unsafe { Box::from_raw(core::ptr::slice_from_raw_parts_mut(fresh, n)) });
                    chunk = won;
                }
            }
        }
        // A load first: the common case writes nothing shared.
        if i < SLOTS && self.high.load(Relaxed) <= i {
            self.high.fetch_max(i + 1, Relaxed);
        }
        // SAFETY: a published chunk holds CHUNK parts (1 for OUTSIDE's,
        // whose index in it is 0) and lives as long as the pool.
        unsafe { &*chunk.add(i % CHUNK) }
    }

    /// The local part of slot `i` if its chunk exists.
    fn local_if_made(&self, i: usize) -> Option<&PoolLocal<T>> {
        let chunk = self.chunks[i / CHUNK].load(Acquire);
        // SAFETY: as in `local`.
        (!chunk.is_null()).then(|| unsafe { &*chunk.add(i % CHUNK) })
    }

    /// Every local part that exists, from slot `from` on: `from`'s own
    /// first if `own_first` (Go's victim search starts at the P's own
    /// index), else last (its steal starts at the next one); the part of
    /// callers without a P after the other Ps'.
    fn parts_from(&self, from: usize, own_first: bool) -> impl Iterator<Item = &PoolLocal<T>> {
        let high = self.high.load(Relaxed);
        let order = own_first
            .then_some(from)
            .into_iter()
            .chain(from + 1..high)
            .chain(0..from.min(high))
            .chain((from != OUTSIDE).then_some(OUTSIDE))
            .chain((!own_first).then_some(from));
        order.filter_map(|i| self.local_if_made(i))
    }

    /// Runs `f` on the caller's local part: the pinned P's, or the shared
    /// one of callers without a P, under its lock.
    fn with_local<R>(&self, f: impl FnOnce(usize, &PoolLocal<T>) -> R) -> R {
        match proc_pin() {
            Some(pin) if pin.slot() < SLOTS => {
                let r = f(pin.slot(), self.local(pin.slot()));
                drop(pin); // procUnpin
                r
            }
            pin => {
                drop(pin);
                let _g = self.outside.lock().unwrap_or_else(|e| e.into_inner());
                f(OUTSIDE, self.local(OUTSIDE))
            }
        }
    }

    /// Put: port of sync.(*Pool).Put (pool.go): adds `x` to the pool.
    pub fn put(&self, x: T) {
        let mut stale = None;
        let due = self.with_local(|_, l| {
            let e = self.epoch.load(SeqCst);
            // SAFETY: the caller owns this part (pinned to its P, or under
            // `outside`); no user code runs while it is held.
            unsafe {
                let private = &mut *l.private.get();
                match private {
                    None => {
                        *private = Some((x, e));
                        return false;
                    }
                    Some((_, pe)) if e.wrapping_sub(*pe) >= 2 => {
                        stale = private.replace((x, e));
                        return false;
                    }
                    Some(_) => l.chains[(e & 1) as usize].push_head(x),
                }
                let puts = &mut *l.puts.get();
                *puts += 1;
                if *puts < CHECK_EVERY {
                    return false;
                }
                *puts = 0;
            }
            self.auto_due()
        });
        // Outside the pin: a value's destructor is user code.
        drop(stale);
        if due {
            self.cleanup();
        }
    }

    /// Whether an automatic rotation is due (module docs); the caller that
    /// gets `true` has claimed it (the next one is set a period later), so
    /// two Ps that see the period over at once do not rotate twice.
    fn auto_due(&self) -> bool {
        let now = monotonic_ns();
        let period = PERIOD_NS.load(Relaxed);
        let next = self.next_auto.load(Relaxed);
        if next == 0 {
            let _ =
                self.next_auto
                    .compare_exchange(0, now.saturating_add(period), Relaxed, Relaxed);
            return false;
        }
        now >= next
            && self
                .next_auto
                .compare_exchange(next, now.saturating_add(period), Relaxed, Relaxed)
                .is_ok()
    }

    /// getSlow: port of sync.(*Pool).getSlow (pool.go): steals from the
    /// other Ps' chains, then looks in the victim cache.
    fn get_slow(&self, me: usize, e: u64) -> Option<T> {
        let primary = (e & 1) as usize;
        for l in self.parts_from(me, false) {
            if let Some(x) = l.chains[primary].pop_tail() {
                return Some(x);
            }
        }
        if self.victim_empty.load(Relaxed) == e + 1 {
            return None;
        }
        let victim = primary ^ 1;
        for l in self.parts_from(me, true) {
            if let Some(x) = l.chains[victim].pop_tail() {
                return Some(x);
            }
        }
        // Found empty in this epoch: later searches skip it until the next
        // rotation (a rotation since `e` makes this store harmless, as the
        // value names the old epoch).
        self.victim_empty.store(e + 1, Relaxed);
        None
    }

    /// Cleans: port of sync.poolCleanup (pool.go) for this pool: the pool's
    /// values move to the victim cache, and those already there are
    /// dropped (module docs). Go's collector does this at the start of each
    /// cycle; call it where a Go program would rely on that, for example
    /// after a burst of use. Values are dropped on the calling thread.
    /// A rotation already running elsewhere makes this call do nothing.
    pub fn cleanup(&self) {
        if self.cleaning.swap(true, Acquire) {
            return;
        }
        // Clears the flag however this ends: a value's destructor may
        // panic, and the pool must go on rotating after that.
        struct Done<'a>(&'a AtomicBool);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.store(false, Release);
            }
        }
        let _done = Done(&self.cleaning);
        let e = self.epoch.load(SeqCst) + 1;
        self.epoch.store(e, SeqCst);
        let period = PERIOD_NS.load(Relaxed);
        self.next_auto
            .store(monotonic_ns().saturating_add(period), Relaxed);
        // The old victim cache becomes the pool: empty it. Bounded, so that
        // a producer pushing into it meanwhile cannot keep this going (and
        // one call runs a bounded number of destructors); what is left
        // stays in the pool's chain, to be dropped two rotations later.
        let fresh = (e & 1) as usize;
        let mut budget = 1usize << 20;
        let high = self.high.load(Relaxed);
        for i in (0..high).chain([OUTSIDE]) {
            if let Some(l) = self.local_if_made(i) {
                while budget > 0 {
                    match l.chains[fresh].pop_tail() {
                        Some(x) => drop(x),
                        None => break,
                    }
                    budget -= 1;
                }
            }
        }
    }
}

impl<T, F: Fn() -> T> Pool<T, F> {
    /// Get: port of sync.(*Pool).Get (pool.go): takes a value from the
    /// pool, preferring the one this goroutine's P put last; if the pool
    /// has none, calls `New` (`None` when the pool has no `New`). The value
    /// may be any that was put, from any goroutine.
    pub fn get(&self) -> Option<T> {
        let mut stale = None;
        let x = self.with_local(|me, l| {
            let e = self.epoch.load(SeqCst);
            // SAFETY: the caller owns this part (as in `put`).
            let mine = unsafe { (*l.private.get()).take() };
            match mine {
                Some((x, pe)) if e.wrapping_sub(pe) < 2 => return Some(x),
                Some((x, _)) => stale = Some(x),
                None => {}
            }
            // SAFETY: as above: we are this chain's producer.
            if let Some(x) = unsafe { l.chains[(e & 1) as usize].pop_head() } {
                return Some(x);
            }
            self.get_slow(me, e)
        });
        drop(stale);
        x.or_else(|| self.new.as_ref().map(|f| f()))
    }
}

impl<T, F> Drop for Pool<T, F> {
    fn drop(&mut self) {
        for (k, c) in self.chunks.iter_mut().enumerate() {
            let p = *c.get_mut();
            if !p.is_null() {
                let n = if k == CHUNKS { 1 } else { CHUNK };
                // SAFETY: each chunk is the box `local` made with n parts;
                // `drop` has the pool alone.
                drop(unsafe { Box::from_raw(core::ptr::slice_from_raw_parts_mut(p, n)) });
            }
        }
    }
}

impl<T, F> core::fmt::Debug for Pool<T, F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pool")
            .field("epoch", &self.epoch.load(Relaxed))
            .field("has_new", &self.new.is_some())
            .finish_non_exhaustive()
    }
}

/// CLOCK_MONOTONIC in nanoseconds.
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec to write; CLOCK_MONOTONIC exists on
    // every Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

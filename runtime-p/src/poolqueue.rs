//! The lock-free queues under `gort::sync::Pool`: a port of Go's
//! `poolDequeue` and `poolChain` (sync/poolqueue.go). They live here, not
//! beside the Pool, so that the loom models (`tests/loom_poolqueue.rs`)
//! check this code itself with the crate's loom shim.
//!
//! A [`PoolDequeue`] is a fixed ring with one producer, which pushes and
//! pops at the head, and any number of consumers, which pop at the tail.
//! Head and tail share one 64-bit word (`head_tail`), so that a pop at
//! either end is one compare-and-swap and the last element goes to
//! exactly one side. A slot's `full` flag is the hand-off from a consumer
//! back to the producer: a consumer that won a slot reads its value and
//! then clears the flag (release); the producer reuses a slot only once it
//! sees the flag clear (acquire), so a wrapped push never writes a value a
//! consumer is still reading. Go uses the slot's type word for this flag.
//!
//! A [`PoolChain`] is a list of dequeues, each twice the size of the one
//! before: the producer pushes into the newest (`head`) and starts a new
//! one when it is full; consumers pop from the oldest (`tail`) and unlink
//! it once it is empty and a newer one exists. Go's collector frees an
//! unlinked dequeue; here the chain keeps every dequeue it made until it
//! is dropped, so a consumer or the producer that still holds a pointer
//! to an unlinked one never reads freed memory. Until sizes reach
//! [`DEQUEUE_LIMIT`] that costs at most the memory of the chain's largest
//! dequeue again (sizes double, so the ones before the newest add up to
//! less than it); past it, each further dequeue of the limit's size stays
//! too.
//!
//! Orderings are Go's: every `head_tail`, `next`, `prev` and `tail`
//! access is sequentially consistent, as Go's `atomic` package is.

use core::mem::MaybeUninit;
use core::ptr::null_mut;
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};

use crate::loom::{AtomicBool, AtomicPtr, AtomicU64, UnsafeCell};

/// dequeueBits: the width of each of the head and tail indexes.
const DEQUEUE_BITS: u32 = 32;

/// dequeueLimit: the largest dequeue a [`PoolChain`] makes. A quarter of
/// the index space, as in Go, so that a full ring is never mistaken for an
/// empty one after the indexes wrap.
pub const DEQUEUE_LIMIT: usize = 1 << (DEQUEUE_BITS - 2);

/// The first dequeue of a chain holds this many values (Go's 8).
#[cfg(not(loom))]
const CHAIN_FIRST: usize = 8;
/// The first dequeue of a chain, shrunk for model checking.
#[cfg(loom)]
const CHAIN_FIRST: usize = 2;

/// Test knob for the loom models' broken twin: the consumer's hand-off of
/// a slot (and the producer's check of it) relaxed instead of
/// release/acquire. Only under `--cfg loom`.
#[cfg(loom)]
pub static BROKEN_HANDOFF: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

#[cfg(loom)]
fn handoff(o: core::sync::atomic::Ordering) -> core::sync::atomic::Ordering {
    if BROKEN_HANDOFF.load(Relaxed) {
        Relaxed
    } else {
        o
    }
}

/// Test knob for the loom models' second broken twin: `pop_tail` loads a
/// dequeue's `next` after trying to pop it instead of before.
#[cfg(loom)]
pub static BROKEN_NEXT_ORDER: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

#[cfg(loom)]
fn next_after_pop() -> bool {
    BROKEN_NEXT_ORDER.load(Relaxed)
}

#[cfg(not(loom))]
#[inline(always)]
fn next_after_pop() -> bool {
    false
}

#[cfg(not(loom))]
#[inline(always)]
fn handoff(o: core::sync::atomic::Ordering) -> core::sync::atomic::Ordering {
    o
}

/// One slot of a ring.
struct Slot<T> {
    /// Set by the producer's push; cleared by whoever popped the value,
    /// once it has read it.
    full: AtomicBool,
    val: UnsafeCell<MaybeUninit<T>>,
}

/// poolDequeue: port of sync.poolDequeue (poolqueue.go): a fixed-size
/// single-producer, multi-consumer ring (module docs).
pub struct PoolDequeue<T> {
    /// The head index in the high 32 bits (the next slot to fill), the
    /// tail in the low 32 (the oldest value); both only grow, wrapping.
    head_tail: AtomicU64,
    vals: Box<[Slot<T>]>,
}

// SAFETY: values move between threads through the ring (T: Send); the
// slots' contents are handed over by the protocol in the module docs.
unsafe impl<T: Send> Send for PoolDequeue<T> {}
// SAFETY: as above: shared use is the point, and every access to a slot's
// value is ordered by `head_tail` and `full`.
unsafe impl<T: Send> Sync for PoolDequeue<T> {}

/// unpack: the head and tail of a `head_tail` word.
#[inline]
fn unpack(ptrs: u64) -> (u32, u32) {
    ((ptrs >> DEQUEUE_BITS) as u32, ptrs as u32)
}

/// pack: the `head_tail` word of a head and a tail.
#[inline]
fn pack(head: u32, tail: u32) -> u64 {
    ((head as u64) << DEQUEUE_BITS) | tail as u64
}

impl<T> PoolDequeue<T> {
    /// An empty ring of `n` slots; `n` is a power of two, at most
    /// [`DEQUEUE_LIMIT`] (Go's tests make one of 16).
    pub fn new(n: usize) -> Self {
        assert!(
            n.is_power_of_two() && n <= DEQUEUE_LIMIT,
            "PoolDequeue::new: size {n} is not a power of two up to {DEQUEUE_LIMIT}"
        );
        PoolDequeue {
            head_tail: AtomicU64::new(0),
            vals: (0..n)
                .map(|_| Slot {
                    full: AtomicBool::new(false),
                    val: UnsafeCell::new(MaybeUninit::uninit()),
                })
                .collect(),
        }
    }

    /// The number of slots.
    pub fn capacity(&self) -> usize {
        self.vals.len()
    }

    #[inline]
    fn slot(&self, i: u32) -> &Slot<T> {
        &self.vals[i as usize & (self.vals.len() - 1)]
    }

    /// pushHead: port of sync.(*poolDequeue).pushHead (poolqueue.go):
    /// adds `val` at the head, or gives it back if the ring is full (or
    /// its next slot is still being read by a consumer).
    ///
    /// # Safety
    /// Only the producer calls `push_head` and `pop_head`: one thread at a
    /// time, with a happens-before edge between successive producers.
    pub unsafe fn push_head(&self, val: T) -> Result<(), T> {
        let (head, tail) = unpack(self.head_tail.load(SeqCst));
        if tail.wrapping_add(self.vals.len() as u32) == head {
            return Err(val);
        }
        let slot = self.slot(head);
        // A consumer that took this slot's last value clears `full` only
        // after reading it; until then the slot is not ours.
        if slot.full.load(handoff(Acquire)) {
            return Err(val);
        }
        // SAFETY: the slot is free (its flag is clear, and the acquire
        // load orders this write after the last reader's read) and only
        // the producer writes slots, so nobody else touches it.
        slot.val.with_mut(|p| unsafe { (*p).write(val) });
        slot.full.store(true, Relaxed);
        // Publishes the value: a consumer reads it only after a successful
        // CAS on a `head_tail` that includes this increment.
        self.head_tail.fetch_add(1 << DEQUEUE_BITS, SeqCst);
        Ok(())
    }

    /// popHead: port of sync.(*poolDequeue).popHead (poolqueue.go): takes
    /// the newest value.
    ///
    /// # Safety
    /// As for [`push_head`](Self::push_head).
    pub unsafe fn pop_head(&self) -> Option<T> {
        let mut ptrs = self.head_tail.load(SeqCst);
        let slot = loop {
            let (head, tail) = unpack(ptrs);
            if tail == head {
                return None;
            }
            // Claims the newest slot by moving the head back; a consumer
            // racing for the same (last) value moves the tail instead, and
            // only one CAS wins.
            let head = head.wrapping_sub(1);
            match self
                .head_tail
                .compare_exchange(ptrs, pack(head, tail), SeqCst, SeqCst)
            {
                Ok(_) => break self.slot(head),
                Err(now) => ptrs = now,
            }
        };
        // SAFETY: the CAS gave this slot's value to us alone; the producer
        // (us) wrote it, so no ordering is needed beyond program order.
        let val = slot.val.with(|p| unsafe { (*p).assume_init_read() });
        // Only the producer reads `full` after this, so relaxed is enough.
        slot.full.store(false, Relaxed);
        Some(val)
    }

    /// popTail: port of sync.(*poolDequeue).popTail (poolqueue.go): takes
    /// the oldest value. Any thread may call it.
    pub fn pop_tail(&self) -> Option<T> {
        let mut ptrs = self.head_tail.load(SeqCst);
        let slot = loop {
            let (head, tail) = unpack(ptrs);
            if tail == head {
                return None;
            }
            match self.head_tail.compare_exchange(
                ptrs,
                pack(head, tail.wrapping_add(1)),
                SeqCst,
                SeqCst,
            ) {
                Ok(_) => break self.slot(tail),
                Err(now) => ptrs = now,
            }
        };
        // SAFETY: the CAS gave this slot's value to us alone. The push that
        // wrote it happened before the `head_tail` increment our CAS read
        // (SeqCst RMWs form one release sequence), and the producer does
        // not write the slot again until we clear `full` below.
        let val = slot.val.with(|p| unsafe { (*p).assume_init_read() });
        // Hands the slot back to the producer, after our read.
        slot.full.store(false, handoff(Release));
        Some(val)
    }
}

impl<T> Drop for PoolDequeue<T> {
    fn drop(&mut self) {
        let (head, tail) = unpack(self.head_tail.load(Relaxed));
        let mut i = tail;
        while i != head {
            let slot = self.slot(i);
            // SAFETY: `drop` has the ring alone; every slot from the tail
            // up to the head holds a value nobody took.
            slot.val.with_mut(|p| unsafe { (*p).assume_init_drop() });
            i = i.wrapping_add(1);
        }
    }
}

/// poolChainElt: port of sync.poolChainElt (poolqueue.go).
struct ChainElt<T> {
    d: PoolDequeue<T>,
    /// The next newer dequeue: written by the producer, read by consumers.
    next: AtomicPtr<ChainElt<T>>,
    /// The next older one: written by consumers (null once the older one
    /// is unlinked), read by the producer.
    prev: AtomicPtr<ChainElt<T>>,
}

/// poolChain: port of sync.poolChain (poolqueue.go): a growing queue of
/// [`PoolDequeue`]s with the same producer/consumer split (module docs).
pub struct PoolChain<T> {
    /// The newest dequeue. Producer only.
    head: UnsafeCell<*mut ChainElt<T>>,
    /// The oldest dequeue still linked. Consumers.
    tail: AtomicPtr<ChainElt<T>>,
    /// Every dequeue the chain made, freed when it is dropped (module
    /// docs). Producer only.
    all: UnsafeCell<Vec<*mut ChainElt<T>>>,
}

// SAFETY: as for PoolDequeue: values cross threads (T: Send), and the
// producer-only fields are used by one thread at a time per the contract
// of the producer methods.
unsafe impl<T: Send> Send for PoolChain<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for PoolChain<T> {}

impl<T> Default for PoolChain<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> PoolChain<T> {
    /// An empty chain; it allocates its first dequeue at the first push.
    pub fn new() -> Self {
        PoolChain {
            head: UnsafeCell::new(null_mut()),
            tail: AtomicPtr::new(null_mut()),
            all: UnsafeCell::new(Vec::new()),
        }
    }

    /// A new dequeue of `n` slots after `prev`, kept in `all`.
    ///
    /// # Safety
    /// Producer only.
    unsafe fn grow(&self, n: usize, prev: *mut ChainElt<T>) -> *mut ChainElt<T> {
        let d = Box::into_raw(Box::new(ChainElt {
            d: PoolDequeue::new(n),
            next: AtomicPtr::new(null_mut()),
            prev: AtomicPtr::new(prev),
        }));
        // SAFETY: producer only, per the contract.
        self.all.with_mut(|all| unsafe { (*all).push(d) });
        d
    }

    /// pushHead: port of sync.(*poolChain).pushHead (poolqueue.go).
    ///
    /// # Safety
    /// Only the producer calls `push_head` and `pop_head`: one thread at a
    /// time, with a happens-before edge between successive producers.
    pub unsafe fn push_head(&self, val: T) {
        // SAFETY: producer only, per the contract; every dequeue in `all`
        // lives as long as the chain.
        unsafe {
            let mut d = self.head.with(|h| *h);
            if d.is_null() {
                d = self.grow(CHAIN_FIRST, null_mut());
                self.head.with_mut(|h| *h = d);
                self.tail.store(d, SeqCst);
            }
            let val = match (*d).d.push_head(val) {
                Ok(()) => return,
                Err(val) => val,
            };
            // Full: a dequeue twice as big becomes the head. Consumers find
            // it through `next` once it is fully made.
            let n = ((*d).d.capacity() * 2).min(DEQUEUE_LIMIT);
            let d2 = self.grow(n, d);
            self.head.with_mut(|h| *h = d2);
            (*d).next.store(d2, SeqCst);
            if (*d2).d.push_head(val).is_err() {
                unreachable!("a new dequeue is empty");
            }
        }
    }

    /// popHead: port of sync.(*poolChain).popHead (poolqueue.go): the
    /// newest value, looking into older dequeues when the newest is empty.
    ///
    /// # Safety
    /// As for [`push_head`](Self::push_head).
    pub unsafe fn pop_head(&self) -> Option<T> {
        // SAFETY: producer only; dequeues live as long as the chain.
        unsafe {
            let mut d = self.head.with(|h| *h);
            while !d.is_null() {
                if let Some(v) = (*d).d.pop_head() {
                    return Some(v);
                }
                // Older dequeues only shrink (nobody pushes into them), so
                // one that is empty now stays empty.
                d = (*d).prev.load(SeqCst);
            }
            None
        }
    }

    /// popTail: port of sync.(*poolChain).popTail (poolqueue.go): the
    /// oldest value. Any thread may call it.
    pub fn pop_tail(&self) -> Option<T> {
        let mut d = self.tail.load(SeqCst);
        if d.is_null() {
            return None;
        }
        loop {
            // SAFETY: d came from `tail` or `next`, so it is one of the
            // chain's dequeues, which live as long as the chain.
            unsafe {
                // `next` first: if the pop below finds d empty and `next`
                // was still null, no push had overflowed d before the pop,
                // so the chain really was empty at that moment.
                let mut d2 = (*d).next.load(SeqCst);
                if let Some(v) = (*d).d.pop_tail() {
                    return Some(v);
                }
                if next_after_pop() {
                    d2 = (*d).next.load(SeqCst);
                }
                if d2.is_null() {
                    return None;
                }
                // d is empty for good (a newer head exists): unlink it, so
                // that later pops start at d2. The producer stops walking
                // back at d2 once its `prev` is cleared.
                if self.tail.compare_exchange(d, d2, SeqCst, SeqCst).is_ok() {
                    (*d2).prev.store(null_mut(), SeqCst);
                }
                d = d2;
            }
        }
    }
}

impl<T> Drop for PoolChain<T> {
    fn drop(&mut self) {
        // SAFETY: `drop` has the chain alone; `all` holds each dequeue the
        // chain made exactly once.
        self.all.with_mut(|all| unsafe {
            for d in (*all).drain(..) {
                drop(Box::from_raw(d));
            }
        });
    }
}

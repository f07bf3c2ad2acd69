//! loom model of the pollDesc protocol's store-buffering pair: a goroutine
//! that waits for I/O (`netpollblock`, runtime-p/src/netpoll.rs) against a
//! close or an expired deadline (`publish_info`, then `netpollunblock`),
//! Go's `netpollblock` / `netpollunblock` / `publishInfo` (netpoll.go).
//!
//! The waiter announces itself in `rg` (CAS `PD_NIL` → `PD_WAIT`) and then
//! looks at `info` (`checkerr`): if the descriptor is closing or its
//! deadline expired it does not park; otherwise it parks, its commit CAS
//! turning `PD_WAIT` into its G. The closer stores `info` (`publish_info`)
//! and then looks at `rg` (`netpollunblock` without I/O): a G there is
//! taken and readied; `PD_WAIT` is turned back to `PD_NIL`, so that the
//! waiter's commit fails and it looks again.
//!
//! Each side stores one word and then loads the other's. Without a SeqCst
//! fence between the two on both sides (Go's atomics are sequentially
//! consistent; gort's `publish_info` and `netpollblock` have the fences),
//! both loads may read the old values: the waiter parks on a descriptor
//! that is already closed and nobody wakes it (the stranded goroutines of
//! issue 17, by another road). The invariant: the waiter either sees the
//! close, or does not park, or is woken by the closer.
//!
//! `close_never_strands_a_waiter` models the code; its broken twin
//! `without_fences_a_waiter_is_stranded` drops both fences (and weakens the
//! accesses to acquire/release) and expects loom to find the stranded
//! waiter.
//!
//! The I/O side is a protocol on the one word `rg`: the poller's
//! `netpollunblock(ioready)` turns whatever is there into `PD_READY` with
//! a CAS, taking a parked G if there was one, and the waiter consumes a
//! `PD_READY` it finds, or finds its commit failed and looks again.
//! `io_readiness_is_never_lost` checks that the waiter either gets the
//! readiness without parking or is woken; its twin
//! `a_poller_that_stores_loses_the_waiter` has the poller store `PD_READY`
//! over the word instead (losing a G that parked in between), which loom
//! must catch. Built and run only with `RUSTFLAGS="--cfg loom" cargo test
//! --release -p gort-runtime-p --test loom_netpoll` (scripts/test.sh does).
#![cfg(loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering, fence};
use loom::thread;

/// netpoll.rs `PD_NIL`, `PD_READY`, `PD_WAIT`; a G is any larger value.
const PD_NIL: usize = 0;
const PD_READY: usize = 1;
const PD_WAIT: usize = 2;
const G: usize = 0x1000;
/// netpoll.rs `INFO_CLOSING`.
const INFO_CLOSING: u32 = 1;

struct Pd {
    rg: AtomicUsize,
    info: AtomicU32,
    /// Set by the closer when it took the parked G and readied it.
    woken: AtomicBool,
}

fn model(fences: bool) {
    let (st, ld, rmw) = if fences {
        (Ordering::SeqCst, Ordering::SeqCst, Ordering::SeqCst)
    } else {
        (Ordering::Release, Ordering::Acquire, Ordering::AcqRel)
    };
    loom::model(move || {
        let pd = Arc::new(Pd {
            rg: AtomicUsize::new(PD_NIL),
            info: AtomicU32::new(0),
            woken: AtomicBool::new(false),
        });
        // The closer: PollDesc close (or an expired deadline).
        let closer = {
            let pd = pd.clone();
            thread::spawn(move || {
                // publish_info (netpoll.rs): store, then the fence.
                pd.info.store(INFO_CLOSING, st);
                if fences {
                    fence(Ordering::SeqCst);
                }
                // netpollunblock(pd, 'r', ioready = false).
                loop {
                    let old = pd.rg.load(ld);
                    if old == PD_READY || old == PD_NIL {
                        return;
                    }
                    if pd
                        .rg
                        .compare_exchange(old, PD_NIL, rmw, Ordering::Acquire)
                        .is_ok()
                    {
                        if old > PD_WAIT {
                            // goready(g): the waiter runs again.
                            pd.woken.store(true, Ordering::SeqCst);
                        }
                        return;
                    }
                }
            })
        };
        // The waiter: poll_wait → netpollblock(pd, 'r', false).
        let mut parked = false;
        let announced = pd
            .rg
            .compare_exchange(PD_NIL, PD_WAIT, rmw, Ordering::Acquire)
            .is_ok();
        assert!(
            announced,
            "only the closer touches rg, and it never sets it"
        );
        if fences {
            fence(Ordering::SeqCst);
        }
        // checkerr.
        if pd.info.load(ld) & INFO_CLOSING == 0 {
            // gopark's commit, netpollblockcommit: PD_WAIT → G.
            parked = pd
                .rg
                .compare_exchange(PD_WAIT, G, rmw, Ordering::Acquire)
                .is_ok();
        }
        closer.join().unwrap();
        if parked {
            assert!(
                pd.woken.load(Ordering::SeqCst),
                "the waiter parked on a closed descriptor and nobody woke it"
            );
        }
    });
}

#[test]
fn close_never_strands_a_waiter() {
    model(true);
}

#[test]
#[should_panic(expected = "nobody woke it")]
fn without_fences_a_waiter_is_stranded() {
    model(false);
}

fn io_model(poller_cas: bool) {
    loom::model(move || {
        let pd = Arc::new(Pd {
            rg: AtomicUsize::new(PD_NIL),
            info: AtomicU32::new(0),
            woken: AtomicBool::new(false),
        });
        // The poller found the descriptor readable: netpollready →
        // netpollunblock(pd, 'r', ioready = true).
        let poller = {
            let pd = pd.clone();
            thread::spawn(move || {
                if !poller_cas {
                    let old = pd.rg.load(Ordering::SeqCst);
                    pd.rg.store(PD_READY, Ordering::SeqCst);
                    if old > PD_WAIT {
                        pd.woken.store(true, Ordering::SeqCst);
                    }
                    return;
                }
                loop {
                    let old = pd.rg.load(Ordering::SeqCst);
                    if old == PD_READY {
                        return;
                    }
                    if pd
                        .rg
                        .compare_exchange(old, PD_READY, Ordering::SeqCst, Ordering::SeqCst)
                        .is_ok()
                    {
                        if old > PD_WAIT {
                            pd.woken.store(true, Ordering::SeqCst);
                        }
                        return;
                    }
                }
            })
        };
        // The waiter: netpollblock(pd, 'r', false).
        let mut got_io = false;
        let mut parked = false;
        loop {
            if pd
                .rg
                .compare_exchange(PD_READY, PD_NIL, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                got_io = true;
                break;
            }
            if pd
                .rg
                .compare_exchange(PD_NIL, PD_WAIT, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                break;
            }
        }
        if !got_io {
            fence(Ordering::SeqCst);
            if pd.info.load(Ordering::SeqCst) == 0 {
                parked = pd
                    .rg
                    .compare_exchange(PD_WAIT, G, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok();
            }
            if !parked {
                // The commit failed: the poller got there first.
                got_io = pd.rg.swap(PD_NIL, Ordering::SeqCst) == PD_READY;
            }
        }
        poller.join().unwrap();
        if parked {
            assert!(
                pd.woken.load(Ordering::SeqCst),
                "the waiter parked, the readiness came, and nobody woke it"
            );
        } else {
            assert!(got_io, "the waiter neither parked nor saw the readiness");
        }
    });
}

#[test]
fn io_readiness_is_never_lost() {
    io_model(true);
}

#[test]
#[should_panic(expected = "nobody woke it")]
fn a_poller_that_stores_loses_the_waiter() {
    io_model(false);
}

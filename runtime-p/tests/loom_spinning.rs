//! loom model of the spinning-M protocol: the part of `wakep` and
//! `findRunnable` (proc.go; gort's `mp.rs` and `proc.rs`) that makes sure
//! new work never waits in a busy P's queue while another P idles with no
//! spinning M to steal it.
//!
//! The real functions reach the Ms, the OS layer and the run queues
//! through the runtime's globals, so this is a model: the same steps in
//! the same order on the same shared words (`nmspinning`, `npidle`,
//! `needspinning`, the idle-P list under `sched.lock`, the run queues'
//! lengths), each step named after the line of gort it stands for. The
//! scenario is the one behind TestGoroutineParallelism2 (proc_test.go):
//! M0 runs a goroutine on P0 that readies another G (runqput + wakep) and
//! then keeps running without looking at its queue; M1, on P1, has just
//! run out of work and is in findRunnable. Every interleaving must end
//! with the readied G taken by M1 or with wakep starting an M on an idle
//! P (which then steals it).
//!
//! Go's proc.go asks for a #StoreLoad barrier on each side: between
//! publishing work and reading `nmspinning` (the submitter), and between
//! dropping `nmspinning` and looking at the queues again (the spinner).
//! Go's atomics are sequentially consistent, so it has them for free;
//! gort's acquire/release atomics are not, so `wakep_from` and
//! `find_runnable` have a `fence(SeqCst)` at those two points.
//! `without_store_load_barriers_work_is_stranded` runs the model without
//! them and expects loom to find the stranded G. (loom treats SeqCst
//! *accesses* as AcqRel but models SeqCst fences, which is what the code
//! uses.)
//! Built and run only with `RUSTFLAGS="--cfg loom" cargo test --release
//! -p gort-runtime-p --test loom_spinning` (scripts/test.sh does).
#![cfg(loom)]

use loom::sync::atomic::{AtomicI32, AtomicU32, AtomicUsize, Ordering, fence};
use loom::sync::{Arc, Mutex};
use loom::thread;

const NPROCS: usize = 2;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Wakep {
    /// gort's (and Go's) wakep.
    Go,
    /// gort's wakep without its two fences (as it was until this model
    /// found the gap).
    NoFences,
}

struct Sched {
    nmspinning: AtomicI32,
    npidle: AtomicI32,
    needspinning: AtomicU32,
    /// `sched.lock` and what it guards here: the idle P list.
    pidle: Mutex<Vec<usize>>,
    /// The local run queues' lengths (the queues' own handshakes have
    /// their model in loom_runq.rs).
    runq: [AtomicUsize; NPROCS],
    /// Ms that wakep started with an idle P (`startm(pp, true)`).
    started: AtomicU32,
}

impl Sched {
    fn new() -> Sched {
        Sched {
            nmspinning: AtomicI32::new(0),
            npidle: AtomicI32::new(0),
            needspinning: AtomicU32::new(0),
            pidle: Mutex::new(Vec::new()),
            runq: [AtomicUsize::new(0), AtomicUsize::new(0)],
            started: AtomicU32::new(0),
        }
    }

    /// runqget / runqsteal of one G: false if the queue is empty.
    fn take(&self, p: usize) -> bool {
        let q = &self.runq[p];
        let mut n = q.load(Ordering::Acquire);
        while n > 0 {
            match q.compare_exchange(n, n - 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return true,
                Err(cur) => n = cur,
            }
        }
        false
    }

    /// pidleget under the lock (`pidleget_spinning` when `spinning`).
    fn pidleget(&self, l: &mut Vec<usize>, spinning: bool) -> Option<usize> {
        let pp = l.pop();
        match pp {
            Some(_) => {
                self.npidle.fetch_sub(1, Ordering::AcqRel);
            }
            None if spinning => self.needspinning.store(1, Ordering::Release),
            None => {}
        }
        pp
    }

    /// mp.rs `wakep_from` (the GOMAXPROCS=1 early return does not apply:
    /// two Ps).
    fn wakep(&self, variant: Wakep) {
        // The submitter's #StoreLoad barrier between publishing the work
        // and reading nmspinning.
        if variant != Wakep::NoFences {
            fence(Ordering::SeqCst);
        }
        if self.nmspinning.load(Ordering::Acquire) != 0
            || self
                .nmspinning
                .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let mut l = self.pidle.lock().unwrap();
        if self.pidleget(&mut l, true).is_none() {
            let n = self.nmspinning.fetch_sub(1, Ordering::AcqRel) - 1;
            assert!(n >= 0, "wakep: negative nmspinning");
            return;
        }
        drop(l);
        // startm(pp, true): a new M owns the P and spins; it will steal.
        self.started.fetch_add(1, Ordering::AcqRel);
    }

    /// mp.rs `become_spinning`.
    fn become_spinning(&self, spinning: &mut bool) {
        *spinning = true;
        self.nmspinning.fetch_add(1, Ordering::AcqRel);
        self.needspinning.store(0, Ordering::Release);
    }

    /// proc.rs `find_runnable` for an M that holds P `p` and is not
    /// spinning, reduced to the local queue, stealing and giving up the P
    /// (no global queue, timers or poller: nothing puts work there here).
    /// Returns whether it found a G.
    fn find_runnable(&self, p: usize, variant: Wakep) -> bool {
        let mut p = p;
        let mut spinning = false;
        'top: loop {
            // runqget(pp).
            if self.take(p) {
                return true;
            }
            // Spin and steal if fewer than half the busy Ps have spinners.
            let busy = NPROCS as i32 - self.npidle.load(Ordering::Acquire);
            if spinning || 2 * self.nmspinning.load(Ordering::Acquire) < busy {
                if !spinning {
                    self.become_spinning(&mut spinning);
                }
                // steal_work: every other P's queue.
                for q in 0..NPROCS {
                    if q != p && self.take(q) {
                        // resetspinning would now wake another spinner.
                        return true;
                    }
                }
            }
            // Give up the P: under the lock, a wakep that found no idle P
            // has left needspinning for us.
            let mut l = self.pidle.lock().unwrap();
            if !spinning && self.needspinning.load(Ordering::Acquire) == 1 {
                drop(l);
                self.become_spinning(&mut spinning);
                continue 'top;
            }
            // releasep + pidleput.
            l.push(p);
            self.npidle.fetch_add(1, Ordering::AcqRel);
            drop(l);
            if spinning {
                // Drop the spinning count first, then look again.
                spinning = false;
                let n = self.nmspinning.fetch_sub(1, Ordering::AcqRel) - 1;
                assert!(n >= 0, "findRunnable: negative nmspinning");
                // The spinner's #StoreLoad barrier between dropping the
                // count and looking at the queues again.
                if variant != Wakep::NoFences {
                    fence(Ordering::SeqCst);
                }
                // check_runqs_no_p: a busy P with work, and an idle P to
                // take it with.
                for q in 0..NPROCS {
                    if self.runq[q].load(Ordering::Acquire) > 0 {
                        let mut l = self.pidle.lock().unwrap();
                        if let Some(p2) = self.pidleget(&mut l, true) {
                            drop(l);
                            p = p2;
                            self.become_spinning(&mut spinning);
                            continue 'top;
                        }
                        break;
                    }
                }
            }
            // stopm: asleep until someone starts it.
            return false;
        }
    }
}

fn model(variant: Wakep) {
    loom::model(move || {
        let s = Arc::new(Sched::new());
        // M1 on P1, out of work.
        let m1 = {
            let s = s.clone();
            thread::spawn(move || s.find_runnable(1, variant))
        };
        // M0 on P0: ready a G (runqput into P0's queue, then wakep), then
        // keep running the current goroutine.
        s.runq[0].fetch_add(1, Ordering::Release);
        s.wakep(variant);
        let m1_found = m1.join().unwrap();
        let started = s.started.load(Ordering::Acquire) > 0;
        let waiting = s.runq[0].load(Ordering::Acquire);
        assert!(
            m1_found || started,
            "the readied G waits in P0's queue ({waiting}) while P1 idles and no M spins"
        );
    });
}

#[test]
fn readied_work_is_never_stranded() {
    model(Wakep::Go);
}

/// Without the barriers, M1 can read P0's queue as it was before the
/// runqput even after dropping its spinning count, while M0 reads
/// nmspinning as it was before the drop: each misses the other's write
/// (store buffering), M1 stops, and M0 leaves the G to a spinner that is
/// gone. Go relies on its atomics being sequentially consistent here; in
/// Rust's memory model acquire/release accesses are not enough.
#[test]
#[should_panic(expected = "while P1 idles and no M spins")]
fn without_store_load_barriers_work_is_stranded() {
    model(Wakep::NoFences);
}

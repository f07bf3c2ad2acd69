//! loom model of the safe scheduler mode's remote wake-up: a goroutine
//! pinned to an M is readied from another thread (`ready_remote`), while
//! that M may be giving up its P to go to sleep (`find_runnable`'s tail
//! and `pidleput_checked`).
//!
//! As in loom_spinning.rs, the real functions reach the runtime's globals,
//! so this is a model: the same steps in the same order on the same words,
//! each step commented with the gort line it stands for.
//!
//! The waker, `proc::ready_remote` (runtime-p/src/proc.rs:1130):
//! 1. `inbox_push` (proc.rs:1141; p.rs:413): a CAS loop (SeqCst) that
//!    pushes the G on its home P's inbox, a Treiber stack. Here the stack
//!    is a word of G bits (the model needs which Gs are in it, not their
//!    order), and the loop is its one successful RMW (see `ready_remote`
//!    below for why).
//! 2. `fence(SeqCst)` (proc.rs:1142).
//! 3. `M.unwind_parked == gp`, then a CAS of it to null (proc.rs:1143): if
//!    the home M waits for this G alone, wake its note (proc.rs:1150).
//!    Modelled as the CAS alone (same outcomes; see `ready_remote`).
//! 4. Load the home P's `status` (proc.rs:1153); if `_Pidle`, take
//!    `sched.lock`, `pidle_remove` (proc.rs:1155; mp.rs:130) and
//!    `startm_in` (proc.rs:1157; mp.rs:404), which hands the P to its
//!    bound M under the lock (`nextp`, `handoff`, mp.rs:426-432) and wakes
//!    its note (mp.rs:436).
//!
//! The home M going idle, `find_runnable` (proc.rs:592) after it found
//! nothing to run:
//! 1. `sched.lock` (proc.rs:665), then a look at the inbox (`pinned_work`,
//!    proc.rs:687; p.rs:472).
//! 2. `releasep` (proc.rs:691): the P's status becomes `_Pidle` (mp.rs:237,
//!    a Release store), still under the lock.
//! 3. `pidleput_checked` (proc.rs:694; mp.rs:117): `fence(SeqCst)`, then
//!    load the inbox (SeqCst). Not empty: the P is not put idle; the M
//!    takes it back (`acquirep`, proc.rs:698) and goes round again, where
//!    `runqget_safe` empties the inbox (p.rs:358; `inbox_take`, p.rs:386).
//!    Empty: `pidleput` (mp.rs:124), and the M sleeps in `stopm` on its
//!    note (mp.rs:366) until `startm_in` hands it its P back (mp.rs:368-381).
//!
//! The status store (step 2) comes before the fence and the inbox load
//! (step 3) in the real code, all under `sched.lock`, and that is the
//! order modelled here.
//!
//! This is a store-buffering pair: the waker stores the inbox and then
//! loads the status; the M stores the status and then loads the inbox.
//! With acquire/release accesses (the status store is a Release store in
//! gort, and loom treats SeqCst accesses as AcqRel) both loads may read
//! the old values: the M sees an empty inbox and
//! sleeps, the waker sees a running P and leaves, and the G waits in the
//! inbox of a P nobody runs. A `fence(SeqCst)` between the store and the
//! load on each side forbids that: whichever fence comes second in the
//! single order of SeqCst fences sees the other side's store.
//!
//! Invariant: every interleaving ends with each readied G either taken
//! from the inbox by its home M (which saw it before sleeping) or the home
//! M handed its P and woken (`startm_in`). Two scenarios check it:
//! `remote_wakeup_is_never_lost` (one waker, one pass of the M), and
//! `two_wakers_and_a_returning_m_lose_nothing` (two wakers; the M runs,
//! sleeps, is woken and goes idle again until both Gs ran, so a waker
//! that finds the P already handed out relies on the M's next check).
//! Their twins drop the fences (and use plain acquire/release accesses)
//! and loom must find the lost wake-up. (loom treats SeqCst *accesses* as
//! AcqRel but models SeqCst fences; the twins' accesses are weakened too,
//! so that they are broken in Rust's memory model and not only in loom's.)
//!
//! The `unwind_parked` word (a G parked mid-unwind keeps its M: gopark_g,
//! proc.rs:923; park_m, proc.rs:984; park_unwinding_wait, proc.rs:1011) is
//! not a store-buffering pair: the M stores it before `unlockf` releases
//! the lock that publishes the G, so a waker always finds it set, and the
//! waker's CAS and the M's swap then decide on that one word who consumes
//! the note. `unwinding_park_waits_for_its_goroutine` models it; loom
//! found a race there in the code as it was (park_m looked at the word
//! after `unlockf`, when a waker may already have claimed it), which
//! `unwinding_park_deciding_late_skips_the_wait` keeps as the broken twin.
//!
//! Built and run only with `RUSTFLAGS="--cfg loom" cargo test --release
//! -p gort-runtime-p --test loom_inbox` (scripts/test.sh does).
#![cfg(loom)]

use loom::sync::atomic::{AtomicU32, AtomicUsize, Ordering, fence};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;

/// p.rs `_Pidle` and `_Prunning`.
const PIDLE: u32 = 0;
const PRUNNING: u32 = 1;

/// Goroutines, as bits of the inbox word.
const G1: usize = 1;
const G2: usize = 2;

/// The preemption bound of `two_wakers` (LOOM_MAX_PREEMPTIONS overrides it):
/// 4 runs in about 20 s in release; unbounded, it ran for over 20 minutes.
const PREEMPTIONS: usize = 4;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// gort's code.
    Gort,
    /// gort's code without its SeqCst fences and with acquire/release
    /// accesses where it has SeqCst ones.
    NoFences,
}

impl Variant {
    /// A `fence(SeqCst)` of gort's; nothing in the twin.
    fn fence(self) {
        if self == Variant::Gort {
            fence(Ordering::SeqCst);
        }
    }

    /// SeqCst where gort has it; `weak` in the twin.
    fn sc(self, weak: Ordering) -> Ordering {
        match self {
            Variant::Gort => Ordering::SeqCst,
            Variant::NoFences => weak,
        }
    }
}

/// What `sched.lock` guards here.
#[derive(Default)]
struct Locked {
    /// The home P is on the idle list (`pidleput` / `pidle_remove`).
    idle_listed: bool,
    /// The home M's `nextp`/`handoff`: its P was handed to it.
    handoff: bool,
    /// `startm_in` calls that handed the P to its M.
    starts: u32,
}

/// The home M's note (`M.park`), and the model's count of wakers that are
/// done (no gort twin: it lets a sleeping M that nobody will wake end the
/// run and report the lost wake-up, instead of a loom deadlock).
#[derive(Default)]
struct NoteState {
    woken: bool,
    wakers_done: u32,
}

/// One M, its bound P and `sched.lock`.
struct Home {
    /// `P.inbox`.
    inbox: AtomicUsize,
    /// `P.status`.
    status: AtomicU32,
    /// `M.unwind_parked` (a G bit, or 0 for null).
    unwind_parked: AtomicUsize,
    /// `sched.lock`.
    sched: Mutex<Locked>,
    /// `M.park`.
    note: Mutex<NoteState>,
    note_cv: Condvar,
}

impl Home {
    /// An M running its P, with an empty inbox.
    fn new() -> Home {
        Home {
            inbox: AtomicUsize::new(0),
            status: AtomicU32::new(PRUNNING),
            unwind_parked: AtomicUsize::new(0),
            sched: Mutex::new(Locked::default()),
            note: Mutex::new(NoteState::default()),
            note_cv: Condvar::new(),
        }
    }

    /// runtime-m `notewakeup`, which throws on a second wake-up before a
    /// `noteclear`.
    fn notewakeup(&self) {
        let mut n = self.note.lock().unwrap();
        assert!(!n.woken, "notewakeup - double wakeup");
        n.woken = true;
        self.note_cv.notify_all();
    }

    /// runtime-m `notesleep`; with `until_wakers_done`, the model also
    /// stops waiting once every waker has returned (then false: nobody
    /// woke the note).
    fn notesleep(&self, until_wakers_done: Option<u32>) -> bool {
        let mut n = self.note.lock().unwrap();
        while !n.woken && until_wakers_done != Some(n.wakers_done) {
            n = self.note_cv.wait(n).unwrap();
        }
        n.woken
    }

    /// runtime-m `noteclear`.
    fn noteclear(&self) {
        self.note.lock().unwrap().woken = false;
    }

    /// The model's end of a waker thread.
    fn waker_done(&self) {
        self.note.lock().unwrap().wakers_done += 1;
        self.note_cv.notify_all();
    }

    /// p.rs `inbox_take` (p.rs:386): the owner takes the whole stack.
    fn inbox_take(&self) -> usize {
        self.inbox.swap(0, Ordering::Acquire)
    }

    /// p.rs `runqget_safe`'s look at the inbox (p.rs:358-360).
    fn runqget_inbox(&self) -> usize {
        if self.inbox.load(Ordering::Relaxed) != 0 {
            return self.inbox_take();
        }
        0
    }

    /// proc.rs `ready_remote` (proc.rs:1130) of G `g`, by a thread that is
    /// not its home M.
    fn ready_remote(&self, g: usize, v: Variant) {
        // inbox_push (proc.rs:1141; p.rs:414-425): a CAS loop whose
        // successful CAS (SeqCst) adds the G. Modelled as that one RMW: the
        // loop's first load and failed CASes are relaxed reads that change
        // nothing, and a read just before the RMW would hide from loom's
        // DPOR (which keeps only the last access of each atomic) every
        // race between the RMW and the M's loads.
        self.inbox.fetch_or(g, v.sc(Ordering::Release));
        // proc.rs:1142: the waker's half of the store-buffering pair.
        v.fence();
        // proc.rs:1143-1151: if the home M waits for this G alone
        // (park_unwinding_wait), claim the wake-up and wake its note.
        // Modelled as the CAS alone: the load before it only skips a CAS
        // that would fail (within one park the word never returns to gp),
        // and it would hide the CAS's race with park_m's load from loom,
        // as above.
        if self
            .unwind_parked
            .compare_exchange(g, 0, v.sc(Ordering::AcqRel), v.sc(Ordering::Acquire))
            .is_ok()
        {
            self.notewakeup();
            return;
        }
        // proc.rs:1153: is the home P idle?
        if self.status.load(v.sc(Ordering::Acquire)) == PIDLE {
            // proc.rs:1154-1155: sched.lock, pidle_remove.
            let mut l = self.sched.lock().unwrap();
            if l.idle_listed {
                l.idle_listed = false;
                drop(l);
                // proc.rs:1157, startm_in (mp.rs:404): under sched.lock
                // again, hand the P to its bound M (mp.rs:426-432).
                let mut l = self.sched.lock().unwrap();
                assert!(!l.handoff, "startm: bound m has p");
                l.handoff = true;
                l.starts += 1;
                drop(l);
                // mp.rs:436: notewakeup(&nmp.park).
                self.notewakeup();
            }
        }
    }

    /// The home M at the end of `find_runnable` (proc.rs:664-700), holding
    /// its P and having found nothing to run. Returns true if the P went
    /// idle (the M goes on to `stopm`), false if the M kept it because
    /// the inbox is not empty (it goes back to the top of find_runnable).
    fn go_idle(&self, v: Variant) -> bool {
        // proc.rs:665: sched.lock.
        let mut l = self.sched.lock().unwrap();
        // proc.rs:687: pinned_work(pp), a look at the inbox (SeqCst).
        if self.inbox.load(v.sc(Ordering::Acquire)) != 0 {
            drop(l);
            return false;
        }
        // proc.rs:691, releasep (mp.rs:237): the P is _Pidle.
        self.status.store(PIDLE, Ordering::Release);
        // proc.rs:694, pidleput_checked (mp.rs:119): the M's half of the
        // store-buffering pair.
        v.fence();
        // mp.rs:120: a pinned G arrived in the inbox: keep the P.
        if self.inbox.load(v.sc(Ordering::Acquire)) != 0 {
            drop(l);
            // proc.rs:698, acquirep (mp.rs:208).
            self.status.store(PRUNNING, Ordering::Release);
            return false;
        }
        // mp.rs:124: pidleput.
        l.idle_listed = true;
        drop(l);
        true
    }

    /// `stopm` after its sleep (mp.rs:367-381): the P handed over by
    /// `startm_in` is the M's again.
    fn woken_with_p(&self) {
        // mp.rs:367: noteclear.
        self.noteclear();
        // mp.rs:369-370: under sched.lock, the hand-off is taken.
        let mut l = self.sched.lock().unwrap();
        assert!(l.handoff, "stopm: woken without a P");
        l.handoff = false;
        drop(l);
        // mp.rs:381: acquirep (mp.rs:208).
        self.status.store(PRUNNING, Ordering::Release);
    }
}

/// One waker readies G1 while the home M, out of work, gives up its P.
fn one_waker(v: Variant) {
    loom::model(move || {
        let h = Arc::new(Home::new());
        let waker = {
            let h = h.clone();
            thread::spawn(move || h.ready_remote(G1, v))
        };
        // The home M: find_runnable's tail, then either the top of
        // find_runnable again (runqget_safe takes the inbox) or stopm.
        let ran = if h.go_idle(v) { 0 } else { h.runqget_inbox() };
        waker.join().unwrap();
        let started = h.sched.lock().unwrap().starts;
        assert!(
            ran == G1 || started == 1,
            "lost wake-up: G1 waits in the inbox of an idle P whose M sleeps"
        );
        assert!(
            !(ran == G1 && started == 1),
            "the P was handed to its M although the M kept it"
        );
    });
}

/// Two wakers ready G1 and G2; the home M runs what it finds, gives up its
/// P when it finds nothing, sleeps in stopm, and runs again when its P is
/// handed back, until both Gs ran. A waker may see `_Pidle` after another
/// waker has already taken the P off the idle list (the M is not running
/// yet, or has just run without seeing the second push): then it does
/// nothing and the M's next `pidleput_checked` must see the G.
fn two_wakers(v: Variant, preemptions: usize) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(preemptions);
    }
    b.check(move || {
        let h = Arc::new(Home::new());
        let wakers: Vec<_> = [G1, G2]
            .into_iter()
            .map(|g| {
                let h = h.clone();
                thread::spawn(move || {
                    h.ready_remote(g, v);
                    h.waker_done();
                })
            })
            .collect();
        let mut ran = 0;
        loop {
            // schedule → runqget_safe (p.rs:358).
            ran |= h.runqget_inbox();
            if ran == G1 | G2 {
                break;
            }
            if !h.go_idle(v) {
                continue;
            }
            // stopm (mp.rs:366): asleep until its P is handed back (or,
            // in the model, until both wakers returned without that).
            assert!(
                h.notesleep(Some(2)),
                "lost wake-up: a G waits in the inbox of an idle P whose M sleeps"
            );
            h.woken_with_p();
        }
        for w in wakers {
            w.join().unwrap();
        }
        assert!(
            !h.note.lock().unwrap().woken,
            "a stale wake-up is left on the M's note"
        );
    });
}

#[test]
fn remote_wakeup_is_never_lost() {
    one_waker(Variant::Gort);
}

/// Without the fences, the M's inbox load can read the inbox as it was
/// before the push while the waker's status load reads `_Prunning` from
/// before `releasep`: the M sleeps, the waker leaves, G1 is stranded.
#[test]
#[should_panic(expected = "lost wake-up")]
fn without_fences_the_wakeup_is_lost() {
    one_waker(Variant::NoFences);
}

#[test]
fn two_wakers_and_a_returning_m_lose_nothing() {
    two_wakers(Variant::Gort, PREEMPTIONS);
}

#[test]
#[should_panic(expected = "lost wake-up")]
fn two_wakers_without_fences_lose_a_wakeup() {
    two_wakers(Variant::NoFences, PREEMPTIONS);
}

/// G1 parks while a panic unwinds it, on a lock (a channel's, say) where
/// its waker, another thread, finds it; the home M then waits for G1 alone
/// in `park_unwinding_wait`. Every interleaving must end with the M
/// running G1 from that wait, and with the M's note clear (a wake-up left
/// on it would end the M's next `notesleep` at once: `stopm` would throw
/// "woken without a P").
///
/// park_m decides whether to wait from `M.unwind_wait`, a flag that only
/// the M writes (set in gopark_g, proc.rs:924), taken before `unlockf`
/// publishes G1; park_unwinding_wait then copes with a word that a waker
/// claimed first (its swap reads null and it consumes the note,
/// proc.rs:1018-1027). The broken twin (`late_look`) is the code as it
/// was: park_m loaded `unwind_parked` after `unlockf`, when a waker that
/// readied G1 in between had claimed it (CAS to null) and woken the note,
/// so park_m went on to `schedule()` (other goroutines then ran on this
/// thread while G1's unwind was suspended, seeing `thread::panicking()`)
/// and the wake-up stayed on the note for the next sleep to trip over.
/// loom found that race.
fn unwinding_park(v: Variant, late_look: bool) {
    loom::model(move || {
        let h = Arc::new(Home::new());
        // The lock that publishes the parked G to its waker: G1's bit
        // while it waits there.
        let waitq = Arc::new((Mutex::new(0usize), Condvar::new()));
        let waker = {
            let (h, waitq) = (h.clone(), waitq.clone());
            thread::spawn(move || {
                // The waker takes G1 off the wait queue, under its lock.
                let mut w = waitq.0.lock().unwrap();
                while *w == 0 {
                    w = waitq.1.wait(w).unwrap();
                }
                *w = 0;
                drop(w);
                // goready → ready → ready_remote (proc.rs:1102).
                h.ready_remote(G1, v);
            })
        };
        // gopark_g (proc.rs:923-924): G1 parks while unwinding.
        h.unwind_parked.store(G1, Ordering::SeqCst);
        let unwind_wait = true;
        // park_m: the decision from the M's own flag, before unlockf.
        let mut waited = unwind_wait;
        // park_m: unlockf releases the lock that publishes G1.
        *waitq.0.lock().unwrap() = G1;
        waitq.1.notify_all();
        if late_look {
            // The old park_m: the decision from the shared word, after
            // unlockf.
            waited = h.unwind_parked.load(Ordering::Relaxed) == G1;
        }
        if waited {
            // park_unwinding_wait (proc.rs:1011), with no timers (so its
            // loop runs once: notetsleep(-1) returns only when woken).
            // take_pinned (proc.rs:1017; p.rs:445): runnext is empty here.
            if h.inbox_take() & G1 != 0 {
                // proc.rs:1018-1027: clear unwind_parked; if a waker
                // claimed it first, consume its wake-up.
                if h.unwind_parked.swap(0, Ordering::SeqCst) == 0 {
                    h.notesleep(None);
                    h.noteclear();
                }
            } else {
                // proc.rs:1031-1034: notetsleep, noteclear.
                h.notesleep(None);
                h.noteclear();
                // proc.rs:1035: take_pinned must find G1 now.
                assert!(
                    h.inbox_take() & G1 != 0,
                    "park_unwinding_wait: woken without the goroutine"
                );
            }
            // proc.rs:1028 / 1038: execute(gp).
        }
        // Otherwise park_m goes on to schedule() (proc.rs:998).
        waker.join().unwrap();
        assert!(
            waited,
            "park_m went to schedule() with G1 parked mid-unwind: the waker claimed \
             unwind_parked before park_m looked at it"
        );
        assert!(
            !h.note.lock().unwrap().woken,
            "a stale wake-up is left on the M's note"
        );
    });
}

#[test]
fn unwinding_park_waits_for_its_goroutine() {
    unwinding_park(Variant::Gort, false);
}

#[test]
#[should_panic(expected = "park_m went to schedule()")]
fn unwinding_park_deciding_late_skips_the_wait() {
    unwinding_park(Variant::Gort, true);
}

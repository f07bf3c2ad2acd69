//! loom model of the signal queue (runtime-p/src/sigqueue.rs, Go's
//! sigqueue.go): `sigsend`, run by signal handlers on any thread, and
//! `signal_recv`, run by the one receiver thread.
//!
//! The real functions use process-wide statics and a futex, so this is the
//! same steps in the same order on the same words, with the note as a
//! loom mutex and condition variable (a receiver asleep with nobody left
//! to wake it is a deadlock loom reports):
//!
//! sigsend(bit): CAS the bit into `mask`; then move `state`:
//! `IDLE → SENDING`, or `RECEIVING → IDLE` and wake the note; on
//! `SENDING` nothing more.
//!
//! signal_recv: take a bit from the local copy if there is one; else move
//! `state` `IDLE → RECEIVING` and sleep on the note (then clear it), or
//! `SENDING → IDLE`; then swap `mask` with 0 into the local copy; again.
//!
//! Invariant: every bit sent is received. `every_signal_sent_is_received`
//! runs a sender against the receiver, `two_senders_are_both_received`
//! two against a receiver that asks twice (preemptions bounded). The
//! broken twin,
//! `moving_the_state_before_queuing_loses_a_signal`, lets the sender move
//! the state before it queues its bit: the receiver can then take an
//! empty mask, go back to sleep, and never be woken for the bit.
//!
//! Built and run only with `RUSTFLAGS="--cfg loom" cargo test --release
//! -p gort-runtime-p --test loom_sigqueue` (scripts/test.sh does).
#![cfg(loom)]

use loom::sync::atomic::{AtomicU32, Ordering::SeqCst};
use loom::sync::{Arc, Condvar, Mutex};

const IDLE: u32 = 0;
const RECEIVING: u32 = 1;
const SENDING: u32 = 2;

#[derive(Default)]
struct Queue {
    mask: AtomicU32,
    state: AtomicU32,
    note: Mutex<bool>,
    cv: Condvar,
}

impl Queue {
    fn queue_bit(&self, bit: u32) {
        let mut m = self.mask.load(SeqCst);
        while let Err(x) = self.mask.compare_exchange(m, m | bit, SeqCst, SeqCst) {
            m = x;
        }
    }

    fn move_state(&self) {
        loop {
            match self.state.load(SeqCst) {
                IDLE => {
                    if self
                        .state
                        .compare_exchange(IDLE, SENDING, SeqCst, SeqCst)
                        .is_ok()
                    {
                        return;
                    }
                }
                SENDING => return,
                _ => {
                    if self
                        .state
                        .compare_exchange(RECEIVING, IDLE, SeqCst, SeqCst)
                        .is_ok()
                    {
                        *self.note.lock().unwrap() = true;
                        self.cv.notify_one();
                        return;
                    }
                }
            }
        }
    }

    fn sigsend(&self, bit: u32, broken: bool) {
        if broken {
            self.move_state();
            self.queue_bit(bit);
        } else {
            self.queue_bit(bit);
            self.move_state();
        }
    }

    /// One signal_recv: a bit from `local`, waiting if there is none.
    fn signal_recv(&self, local: &mut u32) -> u32 {
        loop {
            if *local != 0 {
                let bit = *local & local.wrapping_neg();
                *local &= !bit;
                return bit;
            }
            loop {
                match self.state.load(SeqCst) {
                    IDLE => {
                        if self
                            .state
                            .compare_exchange(IDLE, RECEIVING, SeqCst, SeqCst)
                            .is_ok()
                        {
                            let mut n = self.note.lock().unwrap();
                            while !*n {
                                n = self.cv.wait(n).unwrap();
                            }
                            *n = false;
                            break;
                        }
                    }
                    _ => {
                        if self
                            .state
                            .compare_exchange(SENDING, IDLE, SeqCst, SeqCst)
                            .is_ok()
                        {
                            break;
                        }
                    }
                }
            }
            *local = self.mask.swap(0, SeqCst);
        }
    }
}

/// `bits` senders (one bit each) against a receiver that asks as many
/// times; with two senders the preemptions are bounded (3), which keeps
/// the model to seconds.
fn model(broken: bool, bits: &'static [u32]) {
    let mut b = loom::model::Builder::new();
    if bits.len() > 1 {
        b.preemption_bound = Some(3);
    }
    b.check(move || {
        let q = Arc::new(Queue::default());
        let senders: Vec<_> = bits
            .iter()
            .map(|&bit| {
                let q = q.clone();
                loom::thread::spawn(move || q.sigsend(bit, broken))
            })
            .collect();
        let mut local = 0;
        let mut got = 0;
        for _ in bits {
            got |= q.signal_recv(&mut local);
        }
        assert_eq!(got, bits.iter().fold(0, |a, b| a | b), "a signal was lost");
        for s in senders {
            s.join().unwrap();
        }
    });
}

#[test]
fn every_signal_sent_is_received() {
    model(false, &[1]);
}

#[test]
fn two_senders_are_both_received() {
    model(false, &[1, 2]);
}

#[test]
#[should_panic]
fn moving_the_state_before_queuing_loses_a_signal() {
    model(true, &[1]);
}

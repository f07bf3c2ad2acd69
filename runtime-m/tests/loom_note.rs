//! loom models of the note protocols of `lock_futex.go` and `lock_sema.go`
//! (runtime-m/src/note.rs), run on a model futex and a model per-M
//! semaphore built from loom's Mutex and Condvar. Run with
//! `RUSTFLAGS="--cfg loom" cargo test --release -p gort-runtime-m --test loom_note`
//! (scripts/test.sh does).
#![cfg(loom)]

use loom::sync::atomic::{AtomicI64, Ordering};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;
use runtime_m::note::{
    LOCKED, Note, Wake, sleep_futex, sleep_sema, tsleep_futex, tsleep_sema, wakeup_futex,
    wakeup_sema,
};

/// A fake M (never dereferenced by the models).
const MP: usize = 0x1000;

/// A futex on the note key and one M's counting semaphore, as models.
struct Model {
    futex: Mutex<()>,
    futex_cv: Condvar,
    sema: Mutex<u32>,
    sema_cv: Condvar,
    clock: AtomicI64,
}

impl Model {
    fn new() -> Model {
        Model {
            futex: Mutex::new(()),
            futex_cv: Condvar::new(),
            sema: Mutex::new(0),
            sema_cv: Condvar::new(),
            clock: AtomicI64::new(0),
        }
    }

    fn sema_count(&self) -> u32 {
        *self.sema.lock().unwrap()
    }
}

impl Wake for Model {
    fn futexsleep(&self, n: &Note, val: u32, ns: i64) {
        // Check and sleep atomically with respect to futexwakeup, as the
        // kernel does.
        let g = self.futex.lock().unwrap();
        if n.key() == val as usize && ns < 0 {
            drop(self.futex_cv.wait(g).unwrap());
        }
        // A timed sleep: the model lets its time pass at once.
    }

    fn futexwakeup(&self, _n: &Note, _cnt: u32) {
        let _g = self.futex.lock().unwrap();
        self.futex_cv.notify_all();
    }

    fn semasleep(&self, mp: usize, ns: i64) -> i32 {
        assert_eq!(mp, MP);
        let mut c = self.sema.lock().unwrap();
        if ns < 0 {
            while *c == 0 {
                c = self.sema_cv.wait(c).unwrap();
            }
        } else if *c == 0 {
            return -1; // timed out (the model's time passes at once)
        }
        *c -= 1;
        0
    }

    fn semawakeup(&self, mp: usize) {
        assert_eq!(mp, MP);
        *self.sema.lock().unwrap() += 1;
        self.sema_cv.notify_one();
    }

    fn nanotime(&self) -> i64 {
        self.clock.fetch_add(1_000, Ordering::Relaxed)
    }
}

#[test]
fn futex_note_wakeup_is_never_lost() {
    loom::model(|| {
        let (n, w) = (Arc::new(Note::new()), Arc::new(Model::new()));
        let (n2, w2) = (n.clone(), w.clone());
        let t = thread::spawn(move || wakeup_futex(&*w2, &n2));
        sleep_futex(&*w, &n, MP);
        assert_eq!(n.key(), 1);
        t.join().unwrap();
    });
}

#[test]
fn futex_timed_sleep_reports_the_key() {
    loom::model(|| {
        let (n, w) = (Arc::new(Note::new()), Arc::new(Model::new()));
        let (n2, w2) = (n.clone(), w.clone());
        let t = thread::spawn(move || wakeup_futex(&*w2, &n2));
        let woken = tsleep_futex(&*w, &n, MP, 1_500);
        if woken {
            assert_eq!(n.key(), 1);
        }
        t.join().unwrap();
        assert_eq!(n.key(), 1);
    });
}

#[test]
fn sema_note_wakeup_is_never_lost() {
    loom::model(|| {
        let (n, w) = (Arc::new(Note::new()), Arc::new(Model::new()));
        let (n2, w2) = (n.clone(), w.clone());
        let t = thread::spawn(move || wakeup_sema(&*w2, &n2));
        sleep_sema(&*w, &n, MP);
        t.join().unwrap();
        assert_eq!(n.key(), LOCKED);
        assert_eq!(w.sema_count(), 0, "a semaphore count was left behind");
    });
}

/// The subtle case of lock_sema.go: a timed sleep that times out while the
/// wakeup is racing must either take itself off the note or consume the
/// wakeup's semaphore count; either way no count is left for the M's next
/// sleep to find.
#[test]
fn sema_timed_sleep_racing_a_wakeup_leaves_no_count() {
    loom::model(|| {
        let (n, w) = (Arc::new(Note::new()), Arc::new(Model::new()));
        let (n2, w2) = (n.clone(), w.clone());
        let t = thread::spawn(move || wakeup_sema(&*w2, &n2));
        let _woken = tsleep_sema(&*w, &n, MP, 1_500);
        t.join().unwrap();
        assert_eq!(n.key(), LOCKED);
        assert_eq!(w.sema_count(), 0, "a semaphore count was left behind");
    });
}

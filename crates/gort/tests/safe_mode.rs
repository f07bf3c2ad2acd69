//! The safe scheduler mode's promises (issue 16): a goroutine that has
//! started stays on its OS thread, so thread-locals, std's per-thread state
//! and `!Send` values are sound across parks. Each test parks many times
//! at GOMAXPROCS >= 2; `scripts/test.sh` also runs this file in release,
//! where rustc hoists thread-local addresses across calls.
//!
//! The same programs in the migrating mode are the hazard the crate docs
//! describe ("Soundness"); they are not run here.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use gort::Chan;

fn gettid() -> i32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }
}

thread_local! {
    /// The id of the thread this copy belongs to.
    static MY_TID: Cell<i32> = Cell::new(gettid());
    /// A per-thread counter written around parks.
    static BUMPS: Cell<u64> = const { Cell::new(0) };
}

/// Reads and writes thread-locals before and after a receive, as the
/// review's program did: with the TLS address kept across the park, a
/// goroutine that resumed on another thread would read the old thread's
/// copy. Returns the number of mismatches seen in this step.
#[inline(never)]
fn step(c: &Chan<u32>) -> u32 {
    let before = gettid();
    let tls_before = MY_TID.with(|t| t.get());
    BUMPS.with(|b| b.set(b.get() + 1));
    c.recv();
    let after = gettid();
    let tls_after = MY_TID.with(|t| t.get());
    BUMPS.with(|b| b.set(b.get() + 1));
    u32::from(before != after) + u32::from(tls_before != before) + u32::from(tls_after != after)
}

/// 0 mismatches over at least 100,000 parks, in pairs spread over two Ps
/// (wake-ups come from the other thread as often as from this one).
#[gort::test(gomaxprocs = 2)]
fn thread_locals_stay_with_their_thread_across_parks() {
    const PAIRS: usize = 32;
    const ROUNDS: u32 = 2_000;
    let mismatches = Arc::new(AtomicUsize::new(0));
    let parks = Arc::new(AtomicUsize::new(0));
    let threads = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
    let wg = Arc::new(gort::sync::WaitGroup::new());
    for _ in 0..PAIRS {
        let (a, b) = (Chan::<u32>::new(0), Chan::<u32>::new(0));
        for (first, rx, tx) in [(true, a.clone(), b.clone()), (false, b, a)] {
            let (m, p, th) = (mismatches.clone(), parks.clone(), threads.clone());
            wg.add(1);
            let wg = wg.clone();
            gort::go(move || {
                for i in 0..ROUNDS {
                    if first {
                        tx.send(i);
                    }
                    m.fetch_add(step(&rx) as usize, Ordering::Relaxed);
                    p.fetch_add(1, Ordering::Relaxed);
                    if !first {
                        tx.send(i);
                    }
                }
                th.lock().unwrap().insert(gettid());
                wg.done();
            });
        }
    }
    wg.wait();
    let parks = parks.load(Ordering::Relaxed);
    assert!(parks >= 100_000, "only {parks} parks");
    assert_eq!(mismatches.load(Ordering::Relaxed), 0, "over {parks} parks");
    // The pairs really ran on more than one thread.
    assert!(threads.lock().unwrap().len() >= 2 || gort::gomaxprocs(0) < 2);
}

/// Formats by parking (a short sleep) in the middle of `write!`, while
/// std's stdout lock names this thread as its owner.
struct ParkingDisplay;

impl std::fmt::Display for ParkingDisplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        gort::time::sleep(Duration::from_micros(200));
        f.write_str("")
    }
}

/// `print!` with a `Display` that parks: std's stdout lock stays with the
/// thread that holds it, so no two threads use std's non-`Sync` buffer at
/// once. At worst a goroutine on the same thread re-enters the lock (std's
/// re-entrancy panic); a data race is impossible.
#[gort::test(gomaxprocs = 2)]
fn parking_display_inside_stdout_lock_is_no_data_race() {
    use std::io::Write;
    const G: usize = 8;
    const N: usize = 200;
    let done = Arc::new(AtomicUsize::new(0));
    let reentered = Arc::new(AtomicUsize::new(0));
    let wg = Arc::new(gort::sync::WaitGroup::new());
    for _ in 0..G {
        let (d, r) = (done.clone(), reentered.clone());
        wg.add(1);
        let wg = wg.clone();
        gort::go(move || {
            for _ in 0..N {
                let res = std::panic::catch_unwind(|| {
                    let _ = write!(std::io::stdout(), "{}", ParkingDisplay);
                });
                match res {
                    Ok(()) => {}
                    Err(p) => {
                        let msg = p
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        assert!(msg.contains("already borrowed"), "unexpected panic: {msg}");
                        r.fetch_add(1, Ordering::Relaxed);
                    }
                }
                d.fetch_add(1, Ordering::Relaxed);
            }
            wg.done();
        });
    }
    wg.wait();
    assert_eq!(done.load(Ordering::Relaxed), G * N);
}

/// Parks in its destructor, which runs while a panic unwinds.
struct ParkOnDrop {
    seen_after_park: Arc<AtomicBool>,
    tid_before: i32,
    same_thread: Arc<AtomicBool>,
}

impl Drop for ParkOnDrop {
    fn drop(&mut self) {
        assert!(std::thread::panicking());
        gort::time::sleep(Duration::from_millis(20));
        self.seen_after_park
            .store(std::thread::panicking(), Ordering::SeqCst);
        self.same_thread
            .store(gettid() == self.tid_before, Ordering::SeqCst);
    }
}

/// `thread::panicking()` is right for every goroutine while another one
/// parks in the middle of its unwind: the unwinding one still sees `true`
/// on the same thread after the park, and no other goroutine ever sees
/// `true` (its thread runs nothing else meanwhile).
#[gort::test(gomaxprocs = 2)]
fn panicking_is_right_while_a_goroutine_parks_mid_unwind() {
    let wrong = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let wg = Arc::new(gort::sync::WaitGroup::new());
    for _ in 0..4 {
        let (w, s) = (wrong.clone(), stop.clone());
        wg.add(1);
        let wg = wg.clone();
        gort::go(move || {
            while !s.load(Ordering::SeqCst) {
                if std::thread::panicking() {
                    w.fetch_add(1, Ordering::SeqCst);
                }
                gort::time::sleep(Duration::from_micros(100));
            }
            wg.done();
        });
    }
    for _ in 0..10 {
        let seen = Arc::new(AtomicBool::new(false));
        let same = Arc::new(AtomicBool::new(false));
        let (s2, t2) = (seen.clone(), same.clone());
        let h = gort::spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _guard = ParkOnDrop {
                    seen_after_park: s2,
                    tid_before: gettid(),
                    same_thread: t2,
                };
                std::panic::panic_any("unwinding with a parking destructor");
            }));
            assert!(r.is_err());
            assert!(!std::thread::panicking());
        });
        h.join().unwrap();
        assert!(
            seen.load(Ordering::SeqCst),
            "panicking() false after the park"
        );
        assert!(same.load(Ordering::SeqCst), "resumed on another thread");
    }
    stop.store(true, Ordering::SeqCst);
    wg.wait();
    assert_eq!(wrong.load(Ordering::SeqCst), 0);
}

static STD_LOCK: std::sync::Mutex<u64> = std::sync::Mutex::new(0);

/// `spawn_local`: an `Rc` and a std `MutexGuard` (which must be unlocked by
/// the thread that locked it) held across many parks.
#[gort::test(gomaxprocs = 2)]
fn spawn_local_holds_rc_and_mutex_guard_across_parks() {
    let shared = Rc::new(Cell::new(0u32));
    let s2 = shared.clone();
    let ticks = Chan::<u32>::new(0);
    let t2 = ticks.clone();
    gort::go(move || {
        for i in 0..1_000 {
            t2.send(i);
        }
    });
    let h = gort::spawn_local(move || {
        let tid = gettid();
        let mut guard = STD_LOCK.lock().unwrap();
        for _ in 0..1_000 {
            ticks.recv();
            gort::gosched();
            *guard += 1;
            s2.set(s2.get() + 1);
            assert_eq!(gettid(), tid);
        }
        drop(guard);
        Rc::new(s2.get())
    });
    let rc: Rc<u32> = h.join().unwrap();
    assert_eq!(*rc, 1_000);
    assert_eq!(shared.get(), 1_000);
    assert_eq!(*STD_LOCK.lock().unwrap(), 1_000);
}

/// `lock_os_thread` where other goroutines have run on the thread: Go's
/// promise (no other goroutine on the locked thread) cannot hold, so it
/// fails with a message saying why; `spawn_dedicated` always works.
#[gort::test(gomaxprocs = 1)]
fn lock_os_thread_fails_clearly_and_spawn_dedicated_works() {
    let main_tid = gettid();
    let r = gort::spawn(|| {
        std::panic::catch_unwind(gort::lock_os_thread)
            .map_err(|p| p.downcast_ref::<String>().cloned().unwrap_or_default())
    })
    .join()
    .unwrap();
    let msg = r.expect_err("lock_os_thread should fail beside main");
    assert!(msg.contains("spawn_dedicated"), "{msg}");
    let h = gort::spawn_dedicated(move || {
        let tid = gettid();
        let mut same = true;
        for _ in 0..100 {
            gort::time::sleep(Duration::from_micros(50));
            same &= gettid() == tid;
        }
        (tid, same)
    });
    let (tid, same) = h.join().unwrap();
    assert_ne!(tid, main_tid);
    assert!(same);
}

/// Safe-mode `syscall::blocking` runs the call on a helper thread: the
/// goroutine's thread keeps running the others (GOMAXPROCS=1), and the
/// closure may borrow from the caller's frame.
#[gort::test(gomaxprocs = 1)]
fn blocking_runs_on_a_helper_and_keeps_the_thread_busy() {
    let ticks = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (t2, s2) = (ticks.clone(), stop.clone());
    let ticker = gort::spawn(move || {
        while !s2.load(Ordering::SeqCst) {
            gort::time::sleep(Duration::from_millis(1));
            t2.fetch_add(1, Ordering::SeqCst);
        }
    });
    let mut buf = [0u8; 4];
    let me = gettid();
    let helper = gort::syscall::blocking(|| {
        std::thread::sleep(Duration::from_millis(200));
        buf[0] = 7;
        gettid()
    });
    assert_ne!(helper, me);
    assert_eq!(gettid(), me);
    assert_eq!(buf[0], 7);
    assert!(
        ticks.load(Ordering::SeqCst) >= 20,
        "ticker starved: {ticks:?}"
    );
    // A panic in the closure continues on the goroutine.
    let r = std::panic::catch_unwind(|| gort::syscall::blocking(|| panic!("in helper")));
    assert!(r.is_err());
    stop.store(true, Ordering::SeqCst);
    ticker.join().unwrap();
}

/// Queries never switch goroutines: `is_finished` and `num_goroutine`
/// called from `Debug` keep the stdout lock on this goroutine's watch.
#[gort::test(gomaxprocs = 2)]
fn queries_do_not_park() {
    let h = gort::spawn(|| ());
    for _ in 0..10_000 {
        let tid = gettid();
        let _ = format!("{h:?}");
        let _ = gort::num_goroutine();
        assert_eq!(gettid(), tid);
    }
    h.join().unwrap();
}

/// The migrating mode, opted into with `unsafe`, still runs Go's scheduler.
#[gort::test(migrating, gomaxprocs = 2)]
unsafe fn migrating_mode_runs() {
    let hs: Vec<_> = (0..1000u64).map(|i| gort::spawn(move || i)).collect();
    let sum: u64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, 999 * 1000 / 2);
}

/// Queries are not preemption points: a goroutine calling only
/// `num_goroutine` and `is_finished` for well over sysmon's 10 ms time
/// slice is never switched out, so at GOMAXPROCS=1 the other goroutine
/// cannot run meanwhile.
#[gort::test(gomaxprocs = 1)]
fn queries_never_switch() {
    let ran = Arc::new(AtomicBool::new(false));
    let r2 = ran.clone();
    let h = gort::spawn(move || r2.store(true, Ordering::SeqCst));
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_millis(50) {
        let _ = gort::num_goroutine();
        let _ = h.is_finished();
    }
    assert!(!ran.load(Ordering::SeqCst), "a query switched goroutines");
    h.join().unwrap();
    assert!(ran.load(Ordering::SeqCst));
}

/// The non-blocking channel operations never move their caller to another
/// thread, yet a loop of them does not keep the other goroutines out: at
/// GOMAXPROCS=1, 50 ms of `try_send`, `try_recv` and a `select!` with
/// `default` let the other goroutine run. In the safe mode they yield when
/// sysmon asks; in the migrating mode they are no preemption points (a
/// switch could resume the caller on another thread, inside code holding
/// thread state), but sysmon takes the P from the loop (retake.rs), and
/// the loop waits for a P on its own thread. Either way its thread never
/// changes.
fn try_ops_switch() {
    let ran = Arc::new(AtomicBool::new(false));
    let r2 = ran.clone();
    let h = gort::spawn(move || r2.store(true, Ordering::SeqCst));
    let full: gort::Chan<u8> = gort::Chan::new(0);
    let me = std::thread::current().id();
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_millis(500) && !ran.load(Ordering::SeqCst) {
        let _ = full.try_send(1);
        let _ = full.try_recv();
        gort::select! {
            recv(full) -> _v => {},
            default => {},
        }
        assert_eq!(
            std::thread::current().id(),
            me,
            "a non-blocking operation moved its caller"
        );
    }
    assert!(
        ran.load(Ordering::SeqCst),
        "the other goroutine never ran ({:?})",
        gort::runtime::metrics()
    );
    h.join().unwrap();
}

#[gort::test(migrating, gomaxprocs = 1)]
unsafe fn try_ops_keep_their_thread_and_let_others_run_in_the_migrating_mode() {
    try_ops_switch();
}

#[gort::test(gomaxprocs = 1)]
fn try_ops_yield_on_request_in_the_safe_mode() {
    try_ops_switch();
}

/// A goroutine locked to its thread (spawn_dedicated in the safe mode, `go`
/// + lock_os_thread in the migrating one) may park while a panic unwinds
/// it: its thread runs nothing else meanwhile and it resumes there, so
/// `thread::panicking()` stays right. It used to go through the unwinding
/// wait meant for shared threads, which its hand-off to its own M
/// confused ("park_unwinding_wait: woken without the goroutine"); the
/// migrating mode called it a fatal error.
#[gort::test(both, gomaxprocs = 2)]
unsafe fn locked_goroutine_parks_while_unwinding() {
    struct RecvOnDrop(Chan<u32>);
    impl Drop for RecvOnDrop {
        fn drop(&mut self) {
            assert!(std::thread::panicking());
            assert_eq!(self.0.recv(), Some(7));
            assert!(std::thread::panicking());
        }
    }
    let c: Chan<u32> = Chan::new(0);
    let c2 = c.clone();
    let body = move || {
        gort::lock_os_thread();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _g = RecvOnDrop(c2);
            panic!("unwinding on purpose");
        }));
        assert!(r.is_err());
        assert!(!std::thread::panicking());
    };
    let h = if gort::runtime::migrating() {
        gort::spawn(body)
    } else {
        gort::spawn_dedicated(body)
    };
    gort::time::sleep(Duration::from_millis(10));
    c.send(7);
    h.join().unwrap();
}

//! The multi-threaded scheduler: Ms and Ps running goroutines in parallel.
//! Go file: runtime/proc_test.go (and proc_runtime_test.go), go1.27.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use runtime_p::countdown::Countdown;
use runtime_p::mp::RandomOrder;
use runtime_p::{gosched, newproc, sched};

mod common;
use common::run;

/// Waits (yielding) until `n` reaches `want`.
fn wait_for(n: &AtomicUsize, want: usize) {
    while n.load(Ordering::Acquire) < want {
        gosched();
    }
}

// go-test: TestGoroutineParallelism (proc_test.go)
// Adapted: `<-done` four times becomes a countdown that parks main
// (the runtime-p tests run below gort's channels); P=4, N=10 as in Go.
#[test]
fn test_goroutine_parallelism() {
    if runtime_m::ncpu() == 1 {
        eprintln!("skipping on uniprocessor");
        return;
    }
    const P: u32 = 4;
    const N: usize = 10;
    run(P as usize, || {
        for _ in 0..N {
            let done = Arc::new(Countdown::new(P as usize));
            let x = Arc::new(AtomicU32::new(0));
            for p in 0..P {
                let (done, x) = (done.clone(), x.clone());
                newproc(Box::new(move || {
                    // All P goroutines must run at the same time: each
                    // waits, without yielding, for the others' turns.
                    for i in 0..3 {
                        let expected = P * i + p;
                        while x.load(Ordering::Acquire) != expected {
                            std::hint::spin_loop();
                        }
                        x.store(expected + 1, Ordering::Release);
                    }
                    done.done();
                }));
            }
            done.wait();
        }
        let ms = sched().lock.lock().mcount;
        assert!(ms >= P as i32, "{ms} Ms ran {P} goroutines in parallel");
    });
}

// go-test: TestStealOrder (proc_test.go)
#[test]
fn test_steal_order() {
    let mut ord = RandomOrder::default();
    for procs in 1..=64u32 {
        ord.reset(procs);
        assert!(!(procs >= 3 && ord.coprimes.len() < 2), "too few coprimes");
        for co in 0..ord.coprimes.len() as u32 {
            let mut e = ord.start(co);
            let mut checked = vec![false; procs as usize];
            for _ in 0..procs {
                let x = e.position() as usize;
                assert!(
                    !checked[x],
                    "duplicate during enumeration: procs {procs} inc {}",
                    e.inc
                );
                checked[x] = true;
                e.next();
            }
            assert!(e.done(), "not done");
        }
    }
    // Different seeds must not repeat pos+inc before procs*len(coprimes).
    for procs in 2..=64u32 {
        ord.reset(procs);
        let mut checked = vec![false; (procs * procs) as usize];
        for i in 0..procs * ord.coprimes.len() as u32 {
            let e = ord.start(i);
            let j = (e.pos * procs + e.inc) as usize;
            assert!(
                !checked[j],
                "duplicate pos+inc: procs {procs} pos {} inc {}",
                e.pos, e.inc
            );
            checked[j] = true;
        }
    }
}

/// Spawners on many Ms create goroutines that land on each other's queues,
/// overflow to the global queue, get stolen; every one runs exactly once.
fn spawn_storm(procs: usize, spawners: usize, per: usize, rounds: usize) {
    run(procs, move || {
        for _ in 0..rounds {
            let ran = Arc::new(AtomicUsize::new(0));
            let spawned = Arc::new(AtomicUsize::new(0));
            for _ in 0..spawners {
                let (ran, spawned) = (ran.clone(), spawned.clone());
                newproc(Box::new(move || {
                    for k in 0..per {
                        let r = ran.clone();
                        newproc(Box::new(move || {
                            r.fetch_add(1, Ordering::Relaxed);
                        }));
                        if k % 64 == 0 {
                            gosched();
                        }
                    }
                    spawned.fetch_add(1, Ordering::Release);
                }));
            }
            wait_for(&spawned, spawners);
            wait_for(&ran, spawners * per);
            assert_eq!(
                ran.load(Ordering::Acquire),
                spawners * per,
                "nothing lost, nothing twice"
            );
        }
    });
}

#[test]
fn spawn_storm_on_4_ps() {
    spawn_storm(4, 16, 5_000, 3);
}

/// The stress test: 8 Ms, 1,000,000 goroutines spawned from many
/// goroutines and joined, 20 times in a row. Run in release by .ci/run
/// (`scripts/test.sh`); ignored in the default debug run for time.
#[test]
#[ignore = "long: run with --release --ignored (scripts/test.sh does)"]
fn stress_8_ms_1m_goroutines_20_times() {
    spawn_storm(8, 100, 10_000, 20);
}

/// A runtime whose main returns while other Ms are busy or idle shuts down
/// cleanly, many times in a row (no M left behind holding the instance).
#[test]
fn block_on_runtimes_shut_down_with_many_ms() {
    for _ in 0..50 {
        let spun = Arc::new(AtomicUsize::new(0));
        let s2 = spun.clone();
        run(4, move || {
            for _ in 0..8 {
                let s = s2.clone();
                newproc(Box::new(move || {
                    s.fetch_add(1, Ordering::Relaxed);
                    for _ in 0..100 {
                        gosched();
                    }
                }));
            }
        });
        // Returning is the test; the spawned goroutines may or may not
        // have run.
        assert!(spun.load(Ordering::Relaxed) <= 8);
    }
}

fn fake_syscall(d: std::time::Duration) {
    runtime_p::syscall::entersyscall();
    let start = std::time::Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
    runtime_p::syscall::exitsyscall();
}

// go-test: TestPreemptionAfterSyscall (proc_test.go)
// Adapted: the channel hand-shakes become parking countdowns; the fake
// syscall is the same busy wait between entersyscall and exitsyscall. Go's
// 10 iterations and 5 s bound per iteration are kept.
#[test]
fn test_preemption_after_syscall() {
    for us in [10u64, 100, 1000] {
        let d = std::time::Duration::from_micros(us);
        run(2, move || {
            const NROUTINES: usize = 8;
            for _ in 0..10 {
                let started = Arc::new(Countdown::new(NROUTINES));
                let finished = Arc::new(Countdown::new(NROUTINES));
                let stop = Arc::new(AtomicU32::new(0));
                let begin = std::time::Instant::now();
                for _ in 0..NROUTINES {
                    let (s, f, stop) = (started.clone(), finished.clone(), stop.clone());
                    newproc(Box::new(move || {
                        s.done();
                        while stop.load(Ordering::Acquire) == 0 {
                            fake_syscall(d);
                        }
                        f.done();
                    }));
                }
                started.wait();
                stop.store(1, Ordering::Release);
                finished.wait();
                let took = begin.elapsed();
                assert!(
                    took < std::time::Duration::from_secs(5),
                    "timeout: {us}µs syscalls took {took:?}"
                );
            }
        });
    }
}

use runtime_p::lockosthread::{lock_os_counts, lock_os_thread, unlock_os_thread};

/// Starts a goroutine that will lock itself to its thread: Go's `go f()`
/// in the migrating mode; in the safe mode, where `go f()` may start `f`
/// on a thread that other goroutines are pinned to (and lock_os_thread then
/// fails by design), on a dedicated thread (gort's `spawn_dedicated`).
fn newproc_locked(f: Box<dyn FnOnce() + Send + 'static>) {
    if common::test_mode() == runtime_p::SchedMode::Safe {
        runtime_p::lockosthread::newproc_dedicated(f, None);
    } else {
        newproc(f);
    }
}

// go-test: TestLockOSThreadNesting (proc_test.go)
#[test]
fn test_lock_os_thread_nesting() {
    run(2, || {
        let h = Arc::new(Countdown::new(1));
        let h2 = h.clone();
        newproc_locked(Box::new(move || {
            assert_eq!(lock_os_counts(), (0, 0), "want (0, 0)");
            lock_os_thread();
            lock_os_thread();
            unlock_os_thread();
            assert_eq!(lock_os_counts(), (1, 0), "want (1, 0)");
            unlock_os_thread();
            assert_eq!(lock_os_counts(), (0, 0), "want (0, 0)");
            h2.done();
        }));
        h.wait();
    });
}

// go-test: TestYieldLocked (proc_test.go)
// The runtime layer's form (Go's form, with a timer and a channel, is
// conformance/tests/time_test.rs): time.Sleep(1ms) becomes a 1 ms blocking
// call, which takes the system-call path a locked goroutine leaves by
// `stoplockedm`; the channel becomes a countdown. Same 10 rounds; the
// goroutine exits still locked.
#[test]
fn test_yield_locked() {
    run(2, || {
        let done = Arc::new(Countdown::new(1));
        let d = done.clone();
        newproc_locked(Box::new(move || {
            lock_os_thread();
            for _ in 0..10 {
                gosched();
                runtime_p::syscall::blocking(|| {
                    std::thread::sleep(std::time::Duration::from_millis(1))
                });
            }
            d.done();
            // Exits locked: its thread goes with it.
        }));
        done.wait();
    });
}

// go-test: TestBlockLocked (proc_test.go)
// The runtime layer's form (Go's, with an unbuffered channel, is in
// conformance/tests/chan_test.rs): the channel becomes a pair of parking
// countdowns per round; the locked goroutine blocks 10 times and is woken
// each time.
#[test]
fn test_block_locked() {
    const N: usize = 10;
    run(2, || {
        let sent: Vec<_> = (0..N).map(|_| Arc::new(Countdown::new(1))).collect();
        let taken: Vec<_> = (0..N).map(|_| Arc::new(Countdown::new(1))).collect();
        let (s2, t2) = (sent.clone(), taken.clone());
        newproc_locked(Box::new(move || {
            lock_os_thread();
            for i in 0..N {
                s2[i].done();
                t2[i].wait(); // blocks the locked goroutine until main took it
            }
            unlock_os_thread();
        }));
        for i in 0..N {
            sent[i].wait();
            taken[i].done();
        }
    });
}

fn thread_alive(tid: i64) -> bool {
    std::path::Path::new(&format!("/proc/self/task/{tid}")).exists()
}

/// Go's rule (LockOSThreadAlt): the thread of a goroutine that exits while
/// locked is terminated; with balanced lock/unlock it survives. m0 (here the
/// test's own thread) cannot end: it parks until the runtime shuts down, so
/// the test retries until the locked goroutine ran on another M.
/// Migrating mode only: it locks goroutines started with `go` beside main
/// (see newproc_locked), and in the safe mode a dedicated thread ends with
/// its goroutine whether or not it unlocked (safe_mode.rs tests that).
#[test]
fn locked_exit_terminates_the_thread() {
    // SAFETY: gettid has no preconditions.
    let m0_tid = unsafe { libc::gettid() } as usize;
    common::run_in(2, runtime_p::SchedMode::Migrating, move || {
        // On Plan 9, Go keeps the thread of a goroutine that exits locked
        // (golang.org/issue/22227): the thread must stay alive there.
        let plan9 = std::env::var("GORT_OS").as_deref() == Ok("plan9");
        for (balanced, want_alive) in [(false, plan9), (true, true)] {
            let mut tid = m0_tid;
            for _ in 0..10 {
                let done = Arc::new(Countdown::new(1));
                let t = Arc::new(AtomicUsize::new(0));
                let (d, t2) = (done.clone(), t.clone());
                newproc(Box::new(move || {
                    lock_os_thread();
                    // SAFETY: gettid has no preconditions.
                    t2.store(unsafe { libc::gettid() } as usize, Ordering::Release);
                    if balanced {
                        unlock_os_thread();
                    }
                    d.done();
                }));
                done.wait();
                tid = t.load(Ordering::Acquire);
                if tid != m0_tid {
                    break;
                }
            }
            // Only the thread-death check needs a thread other than m0 (which
            // parks instead); a balanced goroutine may run anywhere.
            // (On Plan 9 nothing parks m0, so the goroutine may well run
            // there every time; the thread must simply survive.)
            if !balanced && !plan9 {
                assert_ne!(tid, m0_tid, "the locked goroutine never ran off m0");
            }
            let tid = tid as i64;
            let mut alive = thread_alive(tid);
            for _ in 0..200 {
                if alive == want_alive {
                    break;
                }
                runtime_p::syscall::blocking(|| {
                    std::thread::sleep(std::time::Duration::from_millis(5))
                });
                alive = thread_alive(tid);
            }
            assert_eq!(
                alive, want_alive,
                "balanced={balanced}: thread {tid} alive={alive}"
            );
        }
    });
    // m0 (this thread) parked if a locked goroutine exited on it, and the
    // shutdown woke it: we are here.
}

use runtime_p::procresize::set_gomaxprocs;

// go-test: TestStopTheWorldDeadlock (proc_test.go)
// Adapted: Go's 1000 runtime.GC() calls are dropped (no GC), and the
// 1000 GOMAXPROCS calls alternate 3 and 2 (GOMAXPROCS(3) when already 3
// returns early, which would stop nothing); perpetuumMobile keeps
// spawning throughout, as in Go.
#[test]
fn test_stop_the_world_deadlock() {
    run(2, || {
        let stop = Arc::new(AtomicU32::new(0));
        fn perpetuum_mobile(stop: Arc<AtomicU32>) {
            if stop.load(Ordering::Acquire) == 0 {
                newproc(Box::new(move || perpetuum_mobile(stop)));
            }
        }
        let s2 = stop.clone();
        newproc(Box::new(move || perpetuum_mobile(s2)));
        let compl = Arc::new(Countdown::new(1));
        let c = compl.clone();
        newproc(Box::new(move || {
            for i in 0..1000 {
                set_gomaxprocs(if i % 2 == 0 { 3 } else { 2 });
            }
            c.done();
        }));
        compl.wait();
        stop.store(1, Ordering::Release);
        set_gomaxprocs(2);
    });
}

/// Goroutines queued on Ps that a shrink removes still run, and growing
/// gives real parallelism again.
#[test]
fn gomaxprocs_shrink_keeps_work_and_grow_gives_parallelism() {
    run(4, || {
        assert_eq!(set_gomaxprocs(0), 4);
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..2000 {
            let r = ran.clone();
            newproc(Box::new(move || {
                r.fetch_add(1, Ordering::Relaxed);
            }));
        }
        assert_eq!(set_gomaxprocs(1), 4);
        wait_for(&ran, 2000);
        assert_eq!(set_gomaxprocs(4), 1);
        // Four goroutines that each wait for the others without yielding
        // finish only if four Ps run them at once.
        let x = Arc::new(AtomicU32::new(0));
        let done = Arc::new(Countdown::new(4));
        for p in 0..4u32 {
            let (x, d) = (x.clone(), done.clone());
            newproc(Box::new(move || {
                for i in 0..3 {
                    let expected = 4 * i + p;
                    while x.load(Ordering::Acquire) != expected {
                        std::hint::spin_loop();
                    }
                    x.store(expected + 1, Ordering::Release);
                }
                d.done();
            }));
        }
        done.wait();
    });
}

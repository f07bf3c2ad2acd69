//! Progress without cooperation (issue 21): a goroutine that keeps its P
//! without calling gort (a CPU loop, a raw blocking call) does not stop
//! the others in the migrating mode, where sysmon takes its P away
//! (runtime-p/src/retake.rs), and gives the outcomes ARCHITECTURE.md
//! promises in the safe mode, where the goroutines pinned to its thread
//! wait for it.
//!
//! The timed cases run in child processes, one at a time, so that no
//! other test's threads share the two CPUs with the loop being measured.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use test_child::Out;

const CASE_VAR: &str = "GORT_PROGRESS_CASE";
const MODE_VAR: &str = "GORT_PROGRESS_MODE";

/// One child at a time (the cases measure time).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn child(case: &str, migrating: bool) -> Out {
    child_env(case, migrating, &[])
}

fn child_env(case: &str, migrating: bool, env: &[(&str, &str)]) -> Out {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut c = test_child::Child::test("child_entry")
        .env(CASE_VAR, case)
        .env(MODE_VAR, if migrating { "migrating" } else { "safe" });
    for (k, v) in env {
        c = c.env(k, v);
    }
    c.run()
}

/// The value of `key=` on the child's `RESULT` line.
fn result(o: &Out, key: &str) -> u64 {
    o.stdout
        .lines()
        // The harness may print "test child_entry ... " before it.
        .filter_map(|l| l.split_once("RESULT ").map(|(_, r)| r))
        .flat_map(|l| l.split(' '))
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no {key}= in the child's output (status {:?})\n--- stdout ---\n{}\n--- stderr ---\n{}",
                o.code, o.stdout, o.stderr
            )
        })
}

/// A loop that never calls gort, for `d`.
fn hog(d: Duration) {
    let start = Instant::now();
    let mut x = 0u64;
    while start.elapsed() < d {
        x = std::hint::black_box(x.wrapping_add(1));
    }
}

/// Spawns a goroutine running a 3 s call-free loop; the flag says it has
/// started.
fn spawn_hog() -> (gort::JoinHandle<()>, Arc<AtomicBool>) {
    let started = Arc::new(AtomicBool::new(false));
    let s2 = started.clone();
    let h = gort::spawn(move || {
        s2.store(true, Ordering::SeqCst);
        hog(Duration::from_secs(3));
    });
    (h, started)
}

fn builder(gomaxprocs: usize) -> gort::Builder {
    let b = if std::env::var(MODE_VAR).as_deref() == Ok("migrating") {
        // SAFETY: the cases keep no thread-local state across a park.
        unsafe { gort::Builder::new().migrating() }
    } else {
        gort::Builder::new()
    };
    b.gomaxprocs(gomaxprocs)
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

fn run_case(case: &str) {
    match case {
        // A 10 ms sleep beside a 3 s call-free loop, at GOMAXPROCS=1.
        "sleep" => builder(1).block_on(|| {
            let slept = Arc::new(AtomicU64::new(u64::MAX));
            let s2 = slept.clone();
            let h = gort::spawn(move || {
                let t = Instant::now();
                gort::time::sleep(Duration::from_millis(10));
                s2.store(ms(t.elapsed()), Ordering::SeqCst);
            });
            // Let it start and park in its sleep.
            gort::gosched();
            hog(Duration::from_secs(3));
            h.join().unwrap();
            println!("RESULT slept_ms={}", slept.load(Ordering::SeqCst));
        }),
        // A spin-wait on a flag that another goroutine sets, at
        // GOMAXPROCS=1 (given up after 1 s).
        "spin1" | "spin2" => {
            let procs = if case == "spin1" { 1 } else { 2 };
            builder(procs).block_on(|| {
                let flag = Arc::new(AtomicBool::new(false));
                let f2 = flag.clone();
                gort::go(move || f2.store(true, Ordering::SeqCst));
                let t = Instant::now();
                while !flag.load(Ordering::SeqCst) && t.elapsed() < Duration::from_secs(1) {
                    std::hint::spin_loop();
                }
                println!(
                    "RESULT set={} waited_ms={}",
                    flag.load(Ordering::SeqCst) as u64,
                    ms(t.elapsed())
                );
            })
        }
        // A ticker goroutine beside a 2 s std::thread::sleep made without
        // syscall::blocking, at GOMAXPROCS=1.
        "thread_sleep" => builder(1).block_on(|| {
            let ticks = Arc::new(AtomicU64::new(0));
            let stop = Arc::new(AtomicBool::new(false));
            let without_p = Arc::new(AtomicU64::new(0));
            let (t2, s2, w2) = (ticks.clone(), stop.clone(), without_p.clone());
            let h = gort::spawn(move || {
                let tk = gort::time::Ticker::new(Duration::from_millis(10));
                while !s2.load(Ordering::SeqCst) {
                    let _ = tk.c().recv();
                    t2.fetch_add(1, Ordering::SeqCst);
                    // The sleeping thread, once its P is taken.
                    w2.fetch_max(gort::runtime::metrics().threads_without_p, Ordering::SeqCst);
                }
            });
            gort::gosched();
            let tracing = std::env::var_os("GORT_PROGRESS_TRACE").is_some();
            if tracing {
                gort::trace::start().unwrap();
            }
            let before = ticks.load(Ordering::SeqCst);
            std::thread::sleep(Duration::from_secs(2));
            let during = ticks.load(Ordering::SeqCst) - before;
            stop.store(true, Ordering::SeqCst);
            h.join().unwrap();
            let steals = if tracing {
                let json = gort::trace::stop().unwrap();
                json.matches("\"ProcSteal\"").count()
            } else {
                0
            };
            println!(
                "RESULT ticks={during} retakes={} trace_steals={steals} without_p={}",
                gort::runtime::metrics().retakes,
                without_p.load(Ordering::SeqCst)
            );
        }),
        // gomaxprocs(2) while a 3 s call-free loop runs, at GOMAXPROCS=1:
        // how long the call takes, and how long from the loop's start
        // until it returns (main can call it only once it has a P again).
        "gomaxprocs" => builder(1).block_on(|| {
            let t0 = Instant::now();
            let (h, started) = spawn_hog();
            while !started.load(Ordering::SeqCst) {
                gort::gosched();
            }
            let t = Instant::now();
            gort::gomaxprocs(2);
            let (took, since) = (ms(t.elapsed()), ms(t0.elapsed()));
            h.join().unwrap();
            println!("RESULT took_ms={took} since_loop_ms={since}");
        }),
        // gomaxprocs(3) at GOMAXPROCS=2 while the loop runs on the other
        // P (main spins without calling gort until the loop has started,
        // so that the other P steals it): the stop-the-world must stop
        // the loop's P.
        "gomaxprocs2" => builder(2).block_on(|| {
            let (h, started) = spawn_hog();
            while !started.load(Ordering::SeqCst) {
                std::hint::spin_loop();
            }
            let t = Instant::now();
            gort::gomaxprocs(3);
            let took = ms(t.elapsed());
            h.join().unwrap();
            println!("RESULT took_ms={took}");
        }),
        other => panic!("unknown case {other}"),
    }
}

#[test]
#[ignore = "child process entry point of the progress tests"]
fn child_entry() {
    let case = std::env::var(CASE_VAR).expect("run by the progress tests only");
    run_case(&case);
}

/// Migrating mode: Go's outcome (Go 1.27: the sleep took 15 ms; gort
/// 20-32 ms on an idle machine). The bound is 100 ms: a loaded 2-core CI
/// machine took 41 once against the 40 it used to be, and the failure
/// this guards against is the loop keeping the sleeper out for its whole
/// 3 s.
#[test]
fn sleep_beside_a_call_free_loop_migrating() {
    let slept = result(&child("sleep", true), "slept_ms");
    assert!(
        slept <= 100,
        "a 10 ms sleep took {slept} ms beside a call-free loop"
    );
}

/// Safe mode: the sleeper started on the loop's thread (GOMAXPROCS=1),
/// so it wakes when the loop ends, and sysmon names the loop's goroutine
/// (main) on stderr after a second.
#[test]
fn sleep_beside_a_call_free_loop_safe() {
    let o = child("sleep", false);
    let slept = result(&o, "slept_ms");
    assert!(
        slept >= 2_900,
        "the sleeper pinned to the loop's thread woke after {slept} ms"
    );
    let line = o
        .stderr
        .lines()
        .find(|l| l.starts_with("runtime: goroutine "))
        .unwrap_or_else(|| panic!("no stall report:\n{}", o.stderr));
    assert!(
        line.starts_with("runtime: goroutine 1 has kept P 0 for 1")
            && line.contains("without a runtime call"),
        "{line}"
    );
    assert_eq!(
        o.stderr.matches("runtime: goroutine ").count(),
        1,
        "{}",
        o.stderr
    );
}

#[test]
fn spin_wait_on_a_flag_finishes_migrating() {
    let o = child("spin1", true);
    assert_eq!(result(&o, "set"), 1, "{}", o.stdout);
}

/// Safe mode, GOMAXPROCS=1: the setter has not started, and the only P is
/// the loop's: it cannot run until the loop gives up.
#[test]
fn spin_wait_on_a_flag_safe_one_p() {
    let o = child("spin1", false);
    assert_eq!(result(&o, "set"), 0, "{}", o.stdout);
}

/// Safe mode, GOMAXPROCS=2: a goroutine that has not started is stolen
/// by the other P.
#[test]
fn spin_wait_on_a_flag_safe_two_ps() {
    let o = child("spin2", false);
    assert_eq!(result(&o, "set"), 1, "{}", o.stdout);
}

#[test]
fn ticker_beside_a_raw_thread_sleep_migrating() {
    let o = child("thread_sleep", true);
    let ticks = result(&o, "ticks");
    assert!(ticks >= 100, "{ticks} ticks of 10 ms in 2 s");
    assert!(result(&o, "retakes") >= 1, "{}", o.stdout);
    assert_eq!(result(&o, "without_p"), 1, "{}", o.stdout);
}

/// Retakes show in `GODEBUG=schedtrace` and in the trace (`ProcSteal`).
#[test]
fn retakes_show_in_schedtrace_and_trace() {
    let o = child_env(
        "thread_sleep",
        true,
        &[("GODEBUG", "schedtrace=200"), ("GORT_PROGRESS_TRACE", "1")],
    );
    assert!(result(&o, "trace_steals") >= 1, "{}", o.stdout);
    assert!(
        o.stderr
            .lines()
            .any(|l| l.starts_with("SCHED ") && l.ends_with(" retakes=1")),
        "{}",
        o.stderr
    );
}

/// Safe mode: the ticker goroutine runs on the sleeping thread.
#[test]
fn ticker_beside_a_raw_thread_sleep_safe() {
    let o = child("thread_sleep", false);
    let ticks = result(&o, "ticks");
    assert!(ticks <= 1, "{ticks} ticks while their thread slept");
    assert_eq!(result(&o, "retakes"), 0, "{}", o.stdout);
    assert_eq!(result(&o, "without_p"), 0, "{}", o.stdout);
}

/// Migrating mode, GOMAXPROCS=1 (Go 1.27: 4.6 ms). Main itself waits
/// for a retake to run at all.
#[test]
fn gomaxprocs_beside_a_call_free_loop_migrating() {
    let o = child("gomaxprocs", true);
    let (took, since) = (result(&o, "took_ms"), result(&o, "since_loop_ms"));
    assert!(took <= 50, "gomaxprocs(2) took {took} ms");
    assert!(since <= 100, "main ran {since} ms after the loop started");
}

/// Safe mode, GOMAXPROCS=1: main is pinned to the loop's thread, so it
/// calls gomaxprocs only when the loop ends.
#[test]
fn gomaxprocs_beside_a_call_free_loop_safe() {
    let o = child("gomaxprocs", false);
    let since = result(&o, "since_loop_ms");
    assert!(since >= 2_900, "main ran {since} ms after the loop started");
}

/// Migrating mode, GOMAXPROCS=2: the stop-the-world takes the loop's P.
#[test]
fn gomaxprocs_stops_a_call_free_loop_migrating() {
    let took = result(&child("gomaxprocs2", true), "took_ms");
    assert!(took <= 50, "gomaxprocs(3) took {took} ms");
}

/// Safe mode, GOMAXPROCS=2: the stop-the-world waits for the loop.
#[test]
fn gomaxprocs_waits_for_a_call_free_loop_safe() {
    let took = result(&child("gomaxprocs2", false), "took_ms");
    assert!(took >= 2_500, "gomaxprocs(3) took {took} ms");
}

/// The function Go's test calls in its loops: no runtime call inside.
#[inline(never)]
fn preempt() -> i64 {
    let a = std::hint::black_box([0i64; 128]);
    a.iter().sum()
}

/// Go's TestPreemption (proc_test.go). Go runs it at the test's
/// GOMAXPROCS; here it runs at GOMAXPROCS=1 in the migrating mode, where
/// only a retake lets the second goroutine run, and at GOMAXPROCS=2 in the
/// safe mode (at 1, both goroutines would be pinned to one thread and the
/// first one's loop would keep the other out for good: the safe mode's
/// documented limit).
fn preemption() {
    const N: u32 = 5;
    let c: gort::Chan<bool> = gort::Chan::new(0);
    let x = Arc::new(AtomicU32::new(0));
    for g in 0..2u32 {
        let (c, x) = (c.clone(), x.clone());
        gort::go(move || {
            for _ in 0..N {
                while x.load(Ordering::SeqCst) != g {
                    preempt();
                }
                x.store(1 - g, Ordering::SeqCst);
            }
            c.send(true);
        });
    }
    c.recv();
    c.recv();
}

// go-test: TestPreemption (proc_test.go)
#[gort::test(migrating, gomaxprocs = 1)]
unsafe fn test_preemption_migrating() {
    preemption();
}

// go-test: TestPreemption (proc_test.go)
#[gort::test(gomaxprocs = 2)]
fn test_preemption_safe() {
    preemption();
}

// go-test: TestPreemptionGC (proc_test.go)
// gort has no GC: each `runtime.GC()` becomes a stop-the-world of its
// own (a GOMAXPROCS change, alternating between P+1 and P+2), which
// needs every P stopped, the looping goroutines' too. Migrating mode
// only: in the safe mode a stop-the-world waits for a call-free loop.
#[gort::test(migrating)]
unsafe fn test_preemption_gc() {
    const P: usize = 5;
    const N: usize = 10;
    let old = gort::gomaxprocs(P + 1);
    let stop = Arc::new(AtomicU32::new(0));
    for _ in 0..P {
        let stop = stop.clone();
        gort::go(move || {
            while stop.load(Ordering::SeqCst) == 0 {
                preempt();
            }
        });
    }
    for i in 0..N {
        gort::gosched();
        gort::gomaxprocs(if i % 2 == 0 { P + 2 } else { P + 1 });
    }
    stop.store(1, Ordering::SeqCst);
    gort::gomaxprocs(old);
}

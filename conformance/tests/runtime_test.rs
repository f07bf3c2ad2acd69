//! Ports from go1.27 `runtime/proc_test.go`, `stack_test.go` and
//! `crash_test.go` that need channels, timers or `runtime.Stack`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use gort::Chan;
use gort::sync::WaitGroup;

/// `b` in the scheduler mode `GORT_SCHED` names (the safe mode unless it
/// says `migrating`), for the child processes, which the report runs in
/// each mode.
///
/// # Safety
/// The program the builder runs must keep the migrating mode's contract
/// (no thread-local state or `!Send` value held across a park).
unsafe fn env_mode(b: gort::Builder) -> gort::Builder {
    if std::env::var("GORT_SCHED").as_deref() == Ok("migrating") {
        // SAFETY: forwarded contract.
        unsafe { b.migrating() }
    } else {
        b
    }
}

mod proc_test {
    use super::*;

    fn goroutine_parallelism2(load: bool, netpoll: bool) {
        const P: u32 = 4;
        const N: usize = 10;
        let prev = gort::gomaxprocs(P as usize);
        // Go's `defer ln.Close()` in the loop: the listeners live until
        // the function returns.
        let mut listeners = Vec::new();
        for _ in 0..N {
            if load {
                // Make sure every P has run a goroutine (and parked its M).
                let done: Chan<bool> = Chan::new(0);
                let x = Arc::new(AtomicU32::new(0));
                for _ in 0..P {
                    let (done, x) = (done.clone(), x.clone());
                    gort::go(move || {
                        if x.fetch_add(1, Ordering::SeqCst) + 1 == P {
                            done.send(true);
                            return;
                        }
                        while x.load(Ordering::SeqCst) != P {}
                    });
                }
                done.recv();
            }
            if netpoll {
                // Brings the network poller in, which changes how idle Ms
                // wait.
                if let Ok(ln) = gort::net::TcpListener::bind("localhost:0") {
                    listeners.push(ln);
                }
            }
            // Goroutines created by goroutines must still all run at once.
            let done: Chan<bool> = Chan::new(0);
            let x = Arc::new(AtomicU32::new(0));
            for p in 0..P / 2 {
                let (done, x) = (done.clone(), x.clone());
                gort::go(move || {
                    for p2 in 0..2 {
                        let (done, x) = (done.clone(), x.clone());
                        gort::go(move || {
                            for i in 0..3 {
                                let expected = P * i + p * 2 + p2;
                                while x.load(Ordering::SeqCst) != expected {}
                                x.store(expected + 1, Ordering::SeqCst);
                            }
                            done.send(true);
                        });
                    }
                });
            }
            for _ in 0..P {
                done.recv();
            }
        }
        drop(listeners);
        gort::gomaxprocs(prev);
    }

    // go-test: TestGoroutineParallelism2 (proc_test.go)
    // Go's three variants: load, netpoll, and both.
    #[gort::test(both)]
    unsafe fn test_goroutine_parallelism2() {
        if std::thread::available_parallelism().map_or(1, |n| n.get()) == 1 {
            return; // Go skips on a uniprocessor
        }
        goroutine_parallelism2(true, false);
        goroutine_parallelism2(false, true);
        goroutine_parallelism2(true, true);
    }

    // go-test: TestNumGoroutine (proc_test.go)
    // The testprog half (`NumGoroutine` prints 1) is the num_goroutine
    // cross-check; here NumGoroutine must agree with the goroutines in
    // `gort::stack(true)`.
    #[gort::test(both)]
    unsafe fn test_num_goroutine() {
        assert_eq!(gort::num_goroutine(), 1);
        let block: Chan<()> = Chan::new(0);
        for _ in 0..5 {
            let b = block.clone();
            gort::go(move || {
                b.recv();
            });
        }
        let mut i = 0;
        loop {
            gort::gosched();
            let n = gort::num_goroutine();
            let buf = gort::stack(true);
            // As Go's test does: do not count the "in goroutine N" of
            // `created by` lines.
            let nstk = buf
                .replace("in goroutine", "")
                .matches("goroutine ")
                .count();
            if n == nstk && n == 6 {
                break;
            }
            i += 1;
            assert!(
                i < 10,
                "NumGoroutine={n}, but found {nstk} goroutines in stack dump: {buf}"
            );
        }
        block.close();
    }
}

mod proc_extra_test {
    use super::*;
    use std::sync::atomic::AtomicBool;

    // go-test: TestMexitSTW (proc_test.go)
    // testprog's mexitSTW: while two goroutines stay busy, 100 times a
    // goroutine exits locked to its thread (the thread ends) and the world
    // stops (Go's ReadMemStats; here a GOMAXPROCS change, gort's
    // stop-the-world). Adapted: Go's busy loops call ensureMorestack for a
    // prompt preemption; here a non-blocking channel receive, gort's
    // preemption point for a loop (the safe mode's stop-the-world waits
    // for running goroutines to reach one). In the safe mode the exiting
    // goroutine is started with spawn_dedicated (a `go` goroutine may
    // start on a thread it shares, where locking fails by design).
    #[gort::test(both)]
    unsafe fn test_mexit_stw() {
        let prev = gort::gomaxprocs(4);
        let stop = Arc::new(AtomicBool::new(false));
        let ping = Arc::new(AtomicU32::new(0));
        let pong: Arc<[AtomicU32; 2]> = Arc::new([AtomicU32::new(0), AtomicU32::new(0)]);
        let tick: Chan<()> = Chan::new(0);
        for i in 0..2 {
            let (stop, ping, pong, tick) = (stop.clone(), ping.clone(), pong.clone(), tick.clone());
            gort::go(move || {
                while !stop.load(Ordering::SeqCst) {
                    let _ = tick.try_recv();
                    pong[i].store(ping.load(Ordering::SeqCst), Ordering::SeqCst);
                }
            });
        }
        ping.store(1, Ordering::SeqCst);
        while pong[0].load(Ordering::SeqCst) != 1 || pong[1].load(Ordering::SeqCst) != 1 {
            gort::gosched();
        }
        for n in 0..100 {
            if gort::runtime::migrating() {
                gort::go(gort::lock_os_thread);
            } else {
                drop(gort::spawn_dedicated(gort::lock_os_thread));
            }
            gort::gomaxprocs(3 + n % 2);
        }
        stop.store(true, Ordering::SeqCst);
        gort::gomaxprocs(prev);
    }

    // go-test: TestLockOSThread (runtime_linux_test.go)
    // Adapted: Go checks that its test binary's init, which locks the
    // thread, runs on the process's main thread (pid == tid). gort's main
    // goroutine runs on the thread that starts the runtime (its m0), which
    // in a test is the test's thread: the same check, against that thread.
    #[test]
    fn test_lock_os_thread() {
        // SAFETY: gettid(2) has no preconditions.
        let tid = unsafe { libc::gettid() };
        let inner = gort::Builder::new().block_on(|| {
            gort::lock_os_thread();
            // SAFETY: as above.
            unsafe { libc::gettid() }
        });
        assert_eq!(
            inner, tid,
            "tid={tid} but the main goroutine ran on {inner}"
        );
    }
}

mod stack_test {
    use super::*;

    /// Go's growStack: recursion to every depth up to 1023, each checking
    /// its own result.
    fn grow_stack() {
        fn grow_stack_iter(n: usize) -> usize {
            if n == 0 {
                return 0;
            }
            let pad = std::hint::black_box([1u8; 64]);
            grow_stack_iter(n - 1) + pad[0] as usize
        }
        for i in 0..1 << 10 {
            assert_eq!(grow_stack_iter(i), i, "stack growth failed");
        }
    }

    // go-test: TestStackGrowth (stack_test.go)
    // Adapted: gort stacks are fixed (no growth to test), so this checks
    // that deep recursion in a goroutine and in a locked goroutine leaves
    // memory intact; the finalizer case is dropped (no GC). The stacks are
    // sized for 1023 unoptimised frames.
    // The safe mode starts the locked goroutine with spawn_dedicated (with
    // `go`, it may start on main's thread, where lock_os_thread fails by
    // design); the migrating mode uses Go's form.
    #[gort::test(both, stack_size = 4 << 20)]
    unsafe fn test_stack_growth() {
        let wg = Arc::new(WaitGroup::new());
        wg.go(grow_stack);
        wg.wait();
        let locked = || {
            gort::lock_os_thread();
            grow_stack();
            gort::unlock_os_thread();
        };
        if gort::runtime::migrating() {
            wg.go(locked);
            wg.wait();
        } else {
            gort::spawn_dedicated(locked).join().unwrap();
        }
    }

    /// A field of `/proc/self/status` in bytes (`VmRSS`).
    fn status_bytes(field: &str) -> i64 {
        let s = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = s.lines().find(|l| l.starts_with(field)).unwrap();
        let kib: i64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kib * 1024
    }

    /// f of TestStackMem: a 1 KiB array passed down `k` frames by value.
    #[inline(never)]
    fn stack_mem_f(k: usize, a: [u8; 1024]) -> u8 {
        if k == 0 {
            gort::time::sleep(std::time::Duration::from_millis(1));
            return a[0];
        }
        stack_mem_f(k - 1, std::hint::black_box(a)).wrapping_add(a[k % 1024])
    }

    /// The deepest `stack_mem_f` frame's distance from the first: one
    /// goroutine's stack use in this build.
    #[inline(never)]
    fn stack_mem_depth(k: usize, a: [u8; 1024], top: usize) -> usize {
        let here = &a as *const _ as usize;
        if k == 0 {
            return top - here;
        }
        stack_mem_depth(k - 1, std::hint::black_box(a), top)
    }

    // go-test: TestStackMem (stack_test.go)
    // Go reads MemStats.StackSys and StackInuse; gort has no stack-span
    // accounting, so both bounds apply to the resident memory (VmRSS) of a
    // child process that runs only this test: its growth over the whole
    // run (Go's `consumed`) and its growth from the end of the first batch
    // to the end (`inuse`: stacks kept between batches). Go's bounds are
    // in units of Go's 1 KiB frames (8 batches' worth, and one batch's:
    // 4 MiB); an unoptimised Rust frame is bigger, so each bound uses the
    // larger of Go's unit and the real stack use of one goroutine here.
    #[test]
    fn test_stack_mem() {
        let out = test_child::Child::test("stack_test::stack_mem_child").run();
        assert_eq!(out.code, Some(0), "the child failed:\n{}", out.combined());
        eprint!(
            "{}",
            out.stderr
                .lines()
                .filter(|l| l.contains("for stack mem"))
                .map(|l| format!("{l}\n"))
                .collect::<String>()
        );
    }

    #[test]
    #[ignore = "run by test_stack_mem as a child process"]
    fn stack_mem_child() {
        const BATCH_SIZE: usize = 32;
        const BATCH_COUNT: usize = 256;
        const ARRAY_SIZE: usize = 1024;
        const RECURSION_DEPTH: usize = 128;
        // SAFETY: the test holds no thread-local state across parks.
        let b = unsafe { env_mode(gort::Builder::new().gomaxprocs(BATCH_SIZE)) };
        b.block_on(|| {
            let per_g = gort::spawn(|| {
                let top = 0u8;
                stack_mem_depth(RECURSION_DEPTH, [0; ARRAY_SIZE], &top as *const _ as usize)
            })
            .join()
            .unwrap()
            .max(ARRAY_SIZE * RECURSION_DEPTH) as i64;
            let s0 = status_bytes("VmRSS:");
            let mut s_first = 0;
            for b in 0..BATCH_COUNT {
                let c: Chan<bool> = Chan::new(BATCH_SIZE);
                for _ in 0..BATCH_SIZE {
                    let c = c.clone();
                    gort::go(move || {
                        std::hint::black_box(stack_mem_f(RECURSION_DEPTH, [0; ARRAY_SIZE]));
                        c.send(true);
                    });
                }
                for _ in 0..BATCH_SIZE {
                    c.recv();
                }
                // The goroutines have signaled via c that they are ready
                // to exit. Give them a chance to exit by sleeping. If we
                // don't wait, we might not reuse them on the next batch.
                gort::time::sleep(std::time::Duration::from_millis(10));
                if b == 0 {
                    s_first = status_bytes("VmRSS:");
                }
            }
            let s1 = status_bytes("VmRSS:");
            let consumed = s1 - s0;
            eprintln!(
                "Consumed {}MB for stack mem (one goroutine's stack: {per_g} bytes)",
                consumed >> 20
            );
            // 8 is to reduce flakiness.
            let estimate = 8 * BATCH_SIZE as i64 * per_g;
            assert!(
                consumed <= estimate,
                "Stack mem: want {estimate}, got {consumed}"
            );
            let inuse = s1 - s_first;
            eprintln!("Inuse {}MB for stack mem", inuse >> 20);
            let bound = BATCH_SIZE as i64 * per_g;
            assert!(inuse <= bound, "Stack inuse: want {bound}, got {inuse}");
        });
    }

    // go-test: TestStackOutput (stack_test.go)
    #[gort::test(both)]
    unsafe fn test_stack_output() {
        let stk = gort::stack(false);
        assert!(
            stk.starts_with("goroutine "),
            "Stack (len {}):\n{stk}",
            stk.len()
        );
    }

    // go-test: TestStackAllOutput (stack_test.go)
    #[gort::test(both)]
    unsafe fn test_stack_all_output() {
        let stk = gort::stack(true);
        assert!(
            stk.starts_with("goroutine "),
            "Stack (len {}):\n{stk}",
            stk.len()
        );
    }

    /// Go's useStackAndCall: uses about `n` KiB of stack, then calls `f`.
    #[inline(never)]
    fn use_stack_and_call(n: usize, f: fn()) {
        if n == 0 {
            f();
            return;
        }
        let b = std::hint::black_box([0u8; 1024]);
        use_stack_and_call(n - 1 + b[99] as usize, f);
    }

    // go-test: TestDeferPtrsGoexit (stack_test.go)
    // Go's two deferred calls are destructors: the later one (run first)
    // stores 42 through a reference to the goroutine's local, carrying a
    // big value as Go's setBig does; the earlier one sends the local. The
    // goroutine uses i KiB of stack before Goexit (Go's stack then moves;
    // gort's does not, and the references must still be right).
    #[gort::test(both)]
    unsafe fn test_defer_ptrs_goexit() {
        struct SendY<'a>(&'a std::cell::Cell<i32>, Chan<i32>);
        impl Drop for SendY<'_> {
            fn drop(&mut self) {
                self.1.send(self.0.get());
            }
        }
        struct SetBig<'a>(&'a std::cell::Cell<i32>, i32, [u8; 1024]);
        impl Drop for SetBig<'_> {
            fn drop(&mut self) {
                std::hint::black_box(&self.2);
                self.0.set(self.1);
            }
        }
        for i in 0..100 {
            let c: Chan<i32> = Chan::new(1);
            let c2 = c.clone();
            gort::go(move || {
                let y = std::cell::Cell::new(0);
                let _send = SendY(&y, c2);
                let _set = SetBig(&y, 42, [0; 1024]);
                use_stack_and_call(i, || gort::goexit());
            });
            let n = c.recv();
            assert_eq!(
                n,
                Some(42),
                "defer's stack references were not adjusted appropriately (i={i} n={n:?})"
            );
        }
    }
}

mod crash_test {
    use super::*;

    // go-test: TestRuntimePanicWithRuntimeError (crash_test.go)
    // Adapted to the channel cases (Rust has no nil maps, and its index
    // panics are its own): each recovered value is a `gort::RuntimeError`
    // (Go's runtime.Error) with Go's text.
    #[gort::test(both)]
    unsafe fn test_runtime_panic_with_runtime_error() {
        type Case = (&'static str, Box<dyn Fn() + Send>);
        let cases: Vec<Case> = vec![
            (
                "close of closed channel",
                Box::new(|| {
                    let c: Chan<i32> = Chan::new(0);
                    c.close();
                    c.close();
                }),
            ),
            (
                "send on closed channel",
                Box::new(|| {
                    let c: Chan<i32> = Chan::new(0);
                    c.close();
                    c.send(0);
                }),
            ),
            (
                "close of nil channel",
                Box::new(|| Chan::<i32>::nil().close()),
            ),
            (
                "makechan: size out of range",
                Box::new(|| {
                    let _ = Chan::<u64>::new(usize::MAX / 2);
                }),
            ),
        ];
        for (want, f) in cases {
            let p =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("no panic");
            let e = p
                .downcast_ref::<gort::RuntimeError>()
                .unwrap_or_else(|| panic!("{want}: recovered value is not a runtime error"));
            assert_eq!(e.to_string(), want);
        }
    }

    // go-test: TestGoexitDefer (crash_test.go)
    // Adapted: the deferred call is a destructor; Go's `recover()` returning
    // nil during Goexit becomes: the destructor runs while the goroutine
    // unwinds, and no panic was recorded for it.
    #[gort::test(both)]
    unsafe fn test_goexit_defer() {
        let c: Chan<bool> = Chan::new(0);
        let c2 = c.clone();
        gort::go(move || {
            struct Deferred(Chan<bool>);
            impl Drop for Deferred {
                fn drop(&mut self) {
                    self.0
                        .send(runtime_p::panic::take_panic_location().is_none());
                }
            }
            let _d = Deferred(c2);
            gort::goexit();
        });
        // If the destructor does not run, this deadlocks.
        assert!(c.recv().unwrap(), "a panic was recorded during Goexit");
    }
}

/// Port of go1.27 `runtime/metrics_test.go`'s TestReadMetricsSched with
/// testprog's `SchedMetrics` (schedmetrics.go).
mod metrics_test {
    use super::*;
    use std::fmt::Write as _;
    use std::sync::atomic::AtomicBool;
    use std::time::{Duration, Instant};

    // go-test: TestReadMetricsSched (metrics_test.go)
    // Go's `metrics.Read` of the /sched/goroutines/... and
    // /sched/threads/total samples is `gort::runtime::metrics()`. In the
    // safe mode a started goroutine stays on the thread it started on, so
    // the ten spinning goroutines are `spawn_dedicated` there (a thread
    // each, the safe mode's way to run them in parallel as Go's do after
    // GOMAXPROCS grows), and those ten threads count in the "running"
    // phase's thread bound; the migrating mode keeps Go's `go`. There,
    // GOMAXPROCS(1) takes the Ps from goroutines in a CPU loop without
    // stopping them (gort cannot preempt Rust code; ARCHITECTURE
    // "Progress without cooperation"): they run on without a P until their
    // next runtime entry (`threads_without_p`), so the "runnable" phase
    // counts them with the runnable ones. Go's `runtime.GC()` and
    // SetGCPercent go (no collector).
    #[test]
    fn test_read_metrics_sched() {
        // This test is run in a subprocess to prevent other tests from
        // polluting the metrics.
        let out = test_child::Child::test("metrics_test::sched_metrics_child").run();
        let got: Vec<&str> = out.stderr.lines().filter(|l| !l.is_empty()).collect();
        assert!(
            out.code == Some(0) && got == ["OK"],
            "output:\n{}\n\nwanted:\nOK\n(status {:?})",
            out.stderr,
            out.code
        );
    }

    #[test]
    #[ignore = "run by test_read_metrics_sched as a child process"]
    fn sched_metrics_child() {
        // SAFETY: the program holds no thread-local state across parks.
        let b = unsafe { env_mode(gort::Builder::new()) };
        let (failed, log) = b.block_on(sched_metrics);
        if failed {
            eprintln!("{log}");
            std::process::exit(1);
        }
        eprintln!("OK");
    }

    /// testprog's SchedMetrics: returns whether a check failed, and the
    /// log.
    fn sched_metrics() -> (bool, String) {
        let mut out = String::new();
        let mut failed = false;
        let mut indent = 0;
        macro_rules! logf {
            ($($a:tt)*) => {{
                for _ in 0..indent {
                    out.push('\t');
                }
                let _ = writeln!(out, $($a)*);
            }};
        }
        macro_rules! check {
            ($name:expr, $val:expr, $min:expr, $max:expr) => {{
                let (val, min, max): (u64, u64, u64) = ($val, $min, $max);
                if val < min {
                    logf!("{} too low; {} < {}", $name, val, min);
                    failed = true;
                }
                if val > max {
                    logf!("{} too high; {} > {}", $name, val, max);
                    failed = true;
                }
            }};
        }
        macro_rules! log_metrics {
            ($m:expr) => {{
                let m = &$m;
                logf!(
                    "/sched/goroutines/not-in-go:goroutines: {}",
                    m.goroutines_not_in_go
                );
                logf!(
                    "/sched/goroutines/runnable:goroutines: {}",
                    m.goroutines_runnable
                );
                logf!(
                    "/sched/goroutines/running:goroutines: {}",
                    m.goroutines_running
                );
                logf!(
                    "/sched/goroutines/waiting:goroutines: {}",
                    m.goroutines_waiting
                );
                logf!(
                    "/sched/goroutines-created:goroutines: {}",
                    m.goroutines_created
                );
                logf!("/sched/threads/total:threads: {}", m.threads);
                logf!("(threads without a P: {})", m.threads_without_p);
            }};
        }
        let read = gort::runtime::metrics;
        let spin_until = |f: &mut dyn FnMut() -> bool| {
            while !f() {
                gort::time::sleep(Duration::from_millis(50));
            }
        };
        let initial_gmp = gort::gomaxprocs(0) as u64;
        logf!("Initial GOMAXPROCS={initial_gmp}");
        let general_slack = 4u64;
        let waiting_slack = general_slack + 2 * initial_gmp;
        let threads_slack = 5 + initial_gmp;

        logf!("=== Checking \"base\"");
        indent += 1;
        {
            let prev = gort::gomaxprocs(1);
            let m = read();
            log_metrics!(m);
            check!("not-in-go", m.goroutines_not_in_go, 0, general_slack);
            check!("runnable", m.goroutines_runnable, 0, general_slack);
            check!("running", m.goroutines_running, 1, 1);
            check!("waiting", m.goroutines_waiting, 0, waiting_slack);
            gort::gomaxprocs(prev);
        }
        indent -= 1;

        let created_after_base = read().goroutines_created;
        const COUNT: u64 = 10;
        let ready = Arc::new(AtomicU32::new(0));
        let exit = Arc::new(AtomicBool::new(false));
        let migrating = gort::runtime::migrating();
        for _ in 0..COUNT {
            let (ready, exit) = (ready.clone(), exit.clone());
            let f = move || {
                ready.fetch_add(1, Ordering::SeqCst);
                while !exit.load(Ordering::SeqCst) {
                    let start = Instant::now();
                    while start.elapsed() < Duration::from_millis(10)
                        && !exit.load(Ordering::SeqCst)
                    {}
                    gort::gosched();
                }
            };
            if migrating {
                gort::go(f);
            } else {
                drop(gort::spawn_dedicated(f));
            }
        }
        while (ready.load(Ordering::SeqCst) as u64) < COUNT {
            gort::gosched();
        }
        // testenv.HasParallelism: true on Linux.
        logf!("=== Checking \"created\"");
        indent += 1;
        {
            let m = read();
            log_metrics!(m);
            check!(
                "created",
                m.goroutines_created,
                created_after_base + COUNT,
                created_after_base + COUNT
            );
        }
        indent -= 1;
        logf!("=== Checking \"running\"");
        indent += 1;
        {
            let prev = gort::gomaxprocs(COUNT as usize + 4);
            let mut m = read();
            spin_until(&mut || {
                m = read();
                m.goroutines_running >= COUNT
            });
            log_metrics!(m);
            check!("running", m.goroutines_running, COUNT, COUNT + 4);
            // The safe mode's spinners each have a thread of their own,
            // beside the Ps' threads.
            let dedicated = if migrating { 0 } else { COUNT };
            check!(
                "threads",
                m.threads,
                COUNT,
                COUNT + 4 + threads_slack + dedicated
            );
            gort::gomaxprocs(prev);
        }
        indent -= 1;
        logf!("=== Checking \"runnable\"");
        indent += 1;
        {
            let prev = gort::gomaxprocs(1);
            let m = read();
            log_metrics!(m);
            check!("running", m.goroutines_running, 1, 1);
            check!(
                "runnable",
                m.goroutines_runnable + m.threads_without_p,
                COUNT - 1,
                COUNT + general_slack
            );
            gort::gomaxprocs(prev);
        }
        indent -= 1;
        exit.store(true, Ordering::SeqCst);

        logf!("=== Checking \"not-in-go\"");
        indent += 1;
        {
            let mut fds = [0; 2];
            // SAFETY: a valid array for the pipe's two descriptors.
            assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "creating pipe");
            let (pr, pw) = (fds[0], fds[1]);
            for _ in 0..COUNT {
                gort::go(move || {
                    let mut b = [0u8; 1];
                    // SAFETY: reads into a local buffer from our pipe.
                    gort::syscall::blocking(|| unsafe { libc::read(pr, b.as_mut_ptr().cast(), 1) });
                });
            }
            let mut m = read();
            spin_until(&mut || {
                m = read();
                m.goroutines_not_in_go >= COUNT
            });
            log_metrics!(m);
            check!(
                "not-in-go",
                m.goroutines_not_in_go,
                COUNT,
                COUNT + general_slack
            );
            // SAFETY: our pipe's descriptors; the readers see end of file
            // when the write end closes.
            unsafe {
                libc::close(pw);
            }
            // Go closes both ends at once; here the read end only once the
            // readers are out (a closed descriptor number could be reused
            // under a reader still in the call).
            spin_until(&mut || read().goroutines_not_in_go == 0);
            // SAFETY: as above.
            unsafe {
                libc::close(pr);
            }
        }
        indent -= 1;

        logf!("=== Checking \"waiting\"");
        indent += 1;
        {
            const WAITING_COUNT: u64 = 1000;
            let stop: Chan<bool> = Chan::new(0);
            for _ in 0..WAITING_COUNT {
                let stop = stop.clone();
                gort::go(move || {
                    stop.recv();
                });
            }
            let mut m = read();
            spin_until(&mut || {
                m = read();
                m.goroutines_waiting >= WAITING_COUNT
            });
            log_metrics!(m);
            check!(
                "waiting",
                m.goroutines_waiting,
                WAITING_COUNT,
                WAITING_COUNT + waiting_slack
            );
            stop.close();
        }
        (failed, out)
    }
}

/// Port of go1.27 `runtime/stack_test.go`'s TestTracebackAncestors with
/// testprog's `TracebackAncestors` (traceback_ancestors.go).
mod ancestors_test {
    use super::*;

    const NUM_GOROUTINES: usize = 3;
    const NUM_FRAMES: usize = 2;

    // go-test: TestTracebackAncestors (stack_test.go)
    // Rust frames print no argument values, so Go's check that the one
    // live frame of recurseThenCallGo shows its arguments (`(0x`) counts
    // the one frame printed as a live call (`()`) instead; ancestor frames
    // print `(...)` as Go's do. Go's `main.main` is the main goroutine's
    // closure here.
    #[test]
    fn test_traceback_ancestors() {
        for traceback_depth in [0usize, 1, 5, 50] {
            let out = test_child::Child::test("ancestors_test::traceback_ancestors_child")
                .env("GODEBUG", &format!("tracebackancestors={traceback_depth}"))
                .run();
            assert_eq!(out.code, Some(0), "{}", out.combined());
            let output = out.stdout;
            let ancestors_expected = NUM_GOROUTINES.min(traceback_depth);
            // Go's regexp `goroutine [0-9]+ \[`, anywhere (libtest's
            // "test ... " precedes the first header on its line).
            let headers = output
                .match_indices("goroutine ")
                .filter(|(i, m)| {
                    let r = &output[i + m.len()..];
                    let digits = r.bytes().take_while(u8::is_ascii_digit).count();
                    digits > 0 && r[digits..].starts_with(" [")
                })
                .count();
            assert_eq!(headers, 2, "want 2 goroutines, got:\n{output}");
            // Check functions in the traceback.
            for f in [
                "ancestors_test::recurse_then_call_go",
                "ancestors_test::traceback_ancestors_child::{{closure}}",
                "ancestors_test::print_stack",
                "ancestors_test::traceback_ancestors",
            ] {
                assert!(
                    output.contains(&format!("\n{f}(")) || output.contains(&format!("::{f}(")),
                    "expected {f:?} function in traceback:\n{output}"
                );
            }
            let count = output.matches("originating from goroutine").count();
            assert_eq!(
                count, ancestors_expected,
                "output does not contain {ancestors_expected} instances of \"originating from goroutine\":\n{output}"
            );
            let want = ancestors_expected * (NUM_FRAMES + 1);
            let count = output.matches("recurse_then_call_go(...)").count();
            assert_eq!(
                count, want,
                "output does not contain {want} instances of \"recurse_then_call_go(...)\":\n{output}"
            );
            let count = output.matches("recurse_then_call_go()").count();
            assert_eq!(
                count, 1,
                "output does not contain 1 instance of \"recurse_then_call_go()\":\n{output}"
            );
        }
    }

    static IGNORE: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

    #[test]
    #[ignore = "run by test_traceback_ancestors as a child process"]
    fn traceback_ancestors_child() {
        // SAFETY: the program holds no thread-local state across parks
        // (IGNORE's guard is dropped before any park).
        let b = unsafe { env_mode(gort::Builder::new()) };
        b.block_on(|| {
            traceback_ancestors();
        });
    }

    #[inline(never)]
    fn traceback_ancestors() {
        let w: Chan<()> = Chan::new(0);
        recurse_then_call_go(w.clone(), NUM_GOROUTINES, NUM_FRAMES, true);
        w.recv();
        print_stack();
        w.close();
    }

    #[inline(never)]
    fn print_stack() {
        let all = gort::stack(true);
        let ignore = IGNORE.lock().unwrap().clone();
        // Delete any ignored goroutines, if present.
        let saved: Vec<&str> = all
            .split("\n\n")
            .filter(|g| {
                let id = g
                    .strip_prefix("goroutine ")
                    .and_then(|r| r.split(' ').next())
                    .unwrap_or("");
                !ignore.iter().any(|i| i == id)
            })
            .collect();
        print!("{}", saved.join("\n\n"));
    }

    #[inline(never)]
    fn recurse_then_call_go(w: Chan<()>, frames: usize, goroutines: usize, main: bool) {
        if frames == 0 {
            // Signal to traceback_ancestors that we are done recursing and
            // starting goroutines.
            w.send(());
            w.recv();
            return;
        }
        if goroutines == 0 {
            // Record which goroutine this is so we can ignore it in the
            // traceback if it hasn't finished exiting by the time we
            // print_stack.
            if !main {
                IGNORE.lock().unwrap().push(goroutine_id());
            }
            // Start the next goroutine now that there are no more
            // recursions left for this current goroutine.
            gort::go(move || recurse_then_call_go(w, frames - 1, NUM_FRAMES, false));
            return;
        }
        recurse_then_call_go(w, frames, goroutines - 1, main);
        // Keeps the call above a real call (no tail call): Go's frames.
        std::hint::black_box(());
    }

    fn goroutine_id() -> String {
        let s = gort::stack(false);
        let rest = s
            .strip_prefix("goroutine ")
            .unwrap_or_else(|| panic!("expected \"goroutine \" at beginning of traceback:\n{s}"));
        rest.split(' ').next().unwrap().to_string()
    }
}

//! Programs that end the process, run as child processes (the pattern of
//! Go's runtime/crash_test.go with testdata/testprog): each case checks the
//! first lines of stderr and the exit status against what Go 1.27 prints
//! (../shared/go-reference/messages.md).

use std::sync::Arc;

use gort::Builder;

const CASE_VAR: &str = "GORT_CRASH_CASE";

use test_child::Out;

fn child(case: &str) -> Out {
    child_env(case, &[])
}

/// A backtrace of this test binary (and so of the child, the same binary)
/// taken in a function of its own, which tells what the build kept: its
/// name (symbols) and `crash.rs:` lines (debug info).
fn self_backtrace() -> &'static str {
    #[inline(never)]
    fn symbol_probe() -> String {
        std::backtrace::Backtrace::force_capture().to_string()
    }
    static TRACE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TRACE.get_or_init(symbol_probe)
}

/// Whether the binary has debug info. Without it (a user's plain `cargo
/// build --release`; the `release-nodebug` profile) frames print Go's
/// `?:0` for the unknown line.
fn has_line_info() -> bool {
    self_backtrace().contains("crash.rs:")
}

/// Whether `loc` is a frame's location line: a tab, then `file:line` in
/// `file` with debug info or Go's `?:0` without, then ` +0x<offset>`.
fn frame_loc_in(loc: &str, file: &str) -> bool {
    let Some(rest) = loc.strip_prefix('\t') else {
        return false;
    };
    let place = if has_line_info() {
        rest.contains(file) && rest.contains(".rs:")
    } else {
        rest.starts_with("?:0 ")
    };
    place && rest.contains(" +0x")
}

fn child_env(case: &str, env: &[(&str, &str)]) -> Out {
    let mut c = test_child::Child::test("child_entry").env(CASE_VAR, case);
    for (k, v) in env {
        c = c.env(k, v);
    }
    c.run()
}

/// Asserts that stderr starts with `lines` (each a full line) and the
/// status is `code`.
fn expect(o: &Out, lines: &[&str], code: i32) {
    let got: Vec<&str> = o.stderr.lines().collect();
    assert!(
        got.len() >= lines.len() && got[..lines.len()] == *lines,
        "stderr should start with {lines:#?}\n--- stderr ---\n{}\n--- stdout ---\n{}",
        o.stderr,
        o.stdout
    );
    assert_eq!(o.code, Some(code), "exit status; stderr:\n{}", o.stderr);
}

fn goroutine_header_id(line: &str) -> u64 {
    line.strip_prefix("goroutine ")
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a goroutine header: {line:?}"))
}

/// A deferred `panic(msg)`.
struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}

/// RecoveredPanicAfterGoexit's deferred call: it panics and recovers
/// (its own deferred `recover`) inside.
struct RecoverInDrop;

impl Drop for RecoverInDrop {
    fn drop(&mut self) {
        let r = std::panic::catch_unwind(|| panic!("hello"));
        if r.is_ok() {
            panic!("bad recover");
        }
    }
}

/// testprog's PanicRace: the panicking goroutine's deferred call (a
/// destructor) releases main's `wg.Wait` and yields; main must not return
/// (exit 0) before the panic is reported.
fn panic_race() {
    let wg = Arc::new(gort::sync::WaitGroup::new());
    wg.add(1);
    let wg2 = wg.clone();
    gort::go(move || {
        struct Deferred(Arc<gort::sync::WaitGroup>);
        impl Drop for Deferred {
            fn drop(&mut self) {
                self.0.done();
                gort::gosched();
            }
        }
        let _deferred = Deferred(wg2);
        panic!("crash");
    });
    wg.wait();
}

/// A trait whose implementation starts a goroutine from a method: the
/// goroutine's function is a closure of `<S as T>::m`.
trait Start {
    fn start(&self);
}

struct Spawner;

impl Start for Spawner {
    // The closure is the point: its name is the method's.
    #[allow(clippy::redundant_closure)]
    fn start(&self) {
        gort::go(|| block_forever());
    }
}

/// RecursivePanic3's deferred call: it panics, and its own deferred
/// `recover` takes that panic back while the first one unwinds.
struct RecoversItsOwnPanic;

impl Drop for RecoversItsOwnPanic {
    fn drop(&mut self) {
        let _recovered = gort::catch(|| panic!("second panic"));
    }
}

/// GoexitInPanic's deferred call: Goexit while a panic unwinds.
struct GoexitOnDrop;

impl Drop for GoexitOnDrop {
    fn drop(&mut self) {
        gort::goexit();
    }
}

// testprog's panicprint.go: named types of printable kinds (Go's `type
// MyBool bool`) are tuple structs here. (Their fields are read through
// Debug only.)
#[derive(Debug)]
#[allow(dead_code)]
struct MyBool(bool);
#[derive(Debug)]
#[allow(dead_code)]
struct MyInt(i64);
#[derive(Debug)]
#[allow(dead_code)]
struct MyUint8(u8);
#[derive(Debug)]
#[allow(dead_code)]
struct MyFloat64(f64);
#[derive(Debug)]
#[allow(dead_code)]
struct MyString(String);
/// Not a printable kind: Go prints `(main.MyStruct) 0x…`.
#[derive(Debug)]
#[allow(dead_code)]
struct MyStruct {
    a: i32,
}

/// testprog's errorThatGosched: an error whose text yields the processor
/// while the fatal panic prints it.
#[derive(Debug)]
struct ErrorThatGosched;

impl std::fmt::Display for ErrorThatGosched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        gort::gosched();
        f.write_str("errorThatGosched")
    }
}

impl std::error::Error for ErrorThatGosched {}

/// testprog's errorThatPrint: an error whose text writes to stdout (system
/// calls) while the fatal panic prints it.
#[derive(Debug)]
struct ErrorThatPrints;

// The point of the case: the text's code writes to stdout.
#[allow(clippy::print_in_format_impl)]
impl std::fmt::Display for ErrorThatPrints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        println!("1");
        println!("2");
        f.write_str("3")
    }
}

impl std::error::Error for ErrorThatPrints {}

/// Executes `ud2`, an illegal instruction: SIGILL.
#[inline(never)]
fn illegal_instruction() {
    // SAFETY: ud2 (udf on aarch64) raises SIGILL; gort's handler ends the
    // process.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        core::arch::asm!("ud2");
        #[cfg(target_arch = "aarch64")]
        core::arch::asm!("udf #0");
    }
}

/// A store to `addr` in assembly (the compiler may not assume it does not
/// fault, nor move it), inlined so that the fault's frame is the caller's.
///
/// # Safety
/// `addr` must fault; the handler ends the process.
#[inline(always)]
unsafe fn store_faults(addr: usize) {
    // SAFETY: the caller's contract.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        core::arch::asm!("mov qword ptr [{0}], 1", in(reg) addr);
        #[cfg(target_arch = "aarch64")]
        core::arch::asm!("str xzr, [{0}]", in(reg) addr);
    }
}

/// Installs a plain handler for `sig` that writes `msg` and exits with
/// `code`, as a host program would before starting a gort runtime.
fn install_host_handler(sig: libc::c_int, msg: &'static [u8], code: i32) {
    static MSG: std::sync::OnceLock<(&'static [u8], i32)> = std::sync::OnceLock::new();
    MSG.set((msg, code)).unwrap();
    extern "C" fn host(_sig: libc::c_int) {
        let (msg, code) = *MSG.get().unwrap();
        // SAFETY: write(2) and _exit(2) are async-signal-safe.
        unsafe {
            libc::write(2, msg.as_ptr().cast(), msg.len());
            libc::_exit(code);
        }
    }
    // SAFETY: a valid sigaction for a one-argument handler.
    unsafe {
        let mut sa: libc::sigaction = core::mem::zeroed();
        sa.sa_sigaction = host as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(sig, &sa, core::ptr::null_mut()), 0);
    }
}

/// Waits forever: parks on a list nobody reads (a receive from a channel
/// nobody sends to).
fn block_forever() {
    // SAFETY: no lock is held yet; the section ends with this frame.
    let (_, _rt) = unsafe { runtime_p::require_entered("block_forever") };
    let lock = Box::leak(Box::new(runtime_m::RawMutex::new()));
    lock.lock();
    // SAFETY: we hold the lock; nobody will ever wake us.
    unsafe { runtime_p::goparkunlock(lock, runtime_g::WaitReason::ChanReceive) };
    unreachable!();
}

#[inline(never)]
#[allow(unconditional_recursion)] // the point: run off the end of the stack
fn recurse_forever(n: u64) -> u64 {
    let buf = std::hint::black_box([n as u8; 256]);
    recurse_forever(n + 1) + buf[3] as u64
}

/// The Builder for a crash case: the safe mode (gort's default) unless
/// `GORT_SCHED=migrating`, which scripts/test.sh also runs. Four cases run
/// migrating always: their Go programs lock a goroutine started with `go`
/// to its thread (`go func() { LockOSThread() }`), which may start on a
/// thread where main is pinned; in the safe mode that lock fails by design
/// (see `lock_os_thread_fails_clearly_and_spawn_dedicated_works` in
/// safe_mode.rs), so their assertions (the deadlock report, the thread
/// limit, the SIGQUIT dump of a locked goroutine, a locked exit) hold in
/// the migrating mode only.
fn builder(case: &str) -> Builder {
    const LOCKING_BESIDE_OTHERS: [&str; 4] = [
        "locked_deadlock2",
        "thread_exhaustion",
        "sigquit",
        "lock_os_thread_main",
    ];
    if LOCKING_BESIDE_OTHERS.contains(&case)
        || std::env::var("GORT_SCHED").as_deref() == Ok("migrating")
    {
        // SAFETY: the crash cases touch no thread-local state around their
        // parks.
        unsafe { Builder::new().migrating() }
    } else {
        Builder::new()
    }
}

/// Goes on as the main (and only) thread of a fork of this process, whose
/// status the parent passes on as its own: for cases where the thread
/// that judges a deadlock must be the main thread (libtest runs cases on
/// a thread of its own, which the deadlock check would count as one of
/// the program's).
///
/// # Safety
/// The other threads (libtest's) hold no lock the child needs (glibc's
/// malloc resets its own at fork); the parent only waits.
unsafe fn continue_as_main_thread() {
    // SAFETY: per the contract.
    let pid = unsafe { libc::fork() };
    if pid != 0 {
        let mut st = 0;
        // SAFETY: waits for our own child.
        unsafe { libc::waitpid(pid, &mut st, 0) };
        std::process::exit(if libc::WIFEXITED(st) {
            libc::WEXITSTATUS(st)
        } else {
            99
        });
    }
}

fn run_case(case: &str) {
    // SAFETY: the cases hold no thread-local references across parks.
    unsafe {
        match case {
            // testprog's After1 (sleep.go): say ready, close stdout, and
            // wait for a one-second timer.
            "after1" => builder(case).run(|| {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                out.write_all(b"ready\n").unwrap();
                out.flush().unwrap();
                drop(out);
                // Closes the pipe's write end: stdout goes to /dev/null.
                let null = std::fs::File::open("/dev/null").unwrap();
                // (Inside the cases' unsafe block.) Both descriptors are
                // open; dup2 replaces fd 1.
                libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), 1);
                gort::time::after(std::time::Duration::from_secs(1)).recv();
            }),
            // Main says it is ready and returns soon after, while its
            // parent sends it signals (exit_under_signals_is_clean); this
            // child's runtime runs on the test's thread, not the main one.
            "exit_under_signals" => builder(case).run(|| {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                out.write_all(b"ready\n").unwrap();
                out.flush().unwrap();
                drop(out);
                gort::time::sleep(std::time::Duration::from_millis(20));
                print!("done, no newline");
            }),
            // Go's os.Exit from a goroutine other than main, mid-line.
            "exit_from_goroutine" => builder(case).run(|| {
                let h = gort::spawn(|| {
                    print!("partial line");
                    gort::exit(3)
                });
                let _ = h.join();
                unreachable!("gort::exit returned");
            }),
            // testprog's CrashDumpsAllThreads (crashdump.go): four
            // goroutines in endless loops, then main says it is ready and
            // blocks for good (the migrating mode: see the test).
            "crash_dumps_all_threads" => builder(case).gomaxprocs(5).run(|| {
                const COUNT: usize = 4;
                let chans: Vec<gort::Chan<bool>> = (0..COUNT).map(|_| gort::Chan::new(0)).collect();
                for (i, c) in chans.iter().enumerate() {
                    let c = c.clone();
                    gort::go(move || crash_dumps_all_threads_loop(i, c));
                }
                // Wait for all the goroutines to start executing.
                for c in &chans {
                    c.recv();
                }
                // Tell our parent that all the goroutines are executing.
                println!("READY");
                gort::select! {}
            }),
            "panic_main" => builder(case).run(|| panic!("boom")),
            "panic_goroutine" => builder(case).run(|| {
                gort::spawn(|| panic!("in goroutine")).join().unwrap();
            }),
            // A goroutine-local whose destructor panics when its goroutine
            // ends normally: the goroutine's panic, with its message.
            "panic_in_local_drop" => builder(case).run(|| {
                struct Boom;
                impl Drop for Boom {
                    fn drop(&mut self) {
                        panic!("boom in a goroutine-local's destructor");
                    }
                }
                struct Other;
                impl Drop for Other {
                    fn drop(&mut self) {
                        println!("the other local was dropped");
                    }
                }
                gort::goroutine_local! {
                    static BOOM: Boom = Boom;
                    static OTHER: Other = Other;
                }
                gort::spawn(|| {
                    OTHER.with(|_| ());
                    BOOM.with(|_| ());
                })
                .join()
                .unwrap();
                gort::time::sleep(std::time::Duration::from_secs(5));
            }),
            // A socket made in one runtime instance, waited on in another.
            "net_cross_instance" => {
                let l =
                    builder(case).block_on(|| gort::net::TcpListener::bind("127.0.0.1:0").unwrap());
                builder(case).run(move || {
                    let _ = l.accept();
                })
            }
            // One P: main is parked on the channel when the other panics.
            "panic_goroutine_1p" => builder(case).gomaxprocs(1).run(|| {
                let c: gort::Chan<()> = gort::Chan::new(0);
                gort::go(|| panic!("in goroutine"));
                c.recv();
            }),
            "panic_multiline" => builder(case).run(|| panic!("line1\nline2")),
            "stack_overflow" => builder(case).run(|| {
                gort::spawn(|| recurse_forever(0)).join().unwrap();
            }),
            // A store to address 0 (Go's nil dereference), or to an
            // unmapped high address, from a goroutine.
            "fault_nil" | "fault_far" => {
                let addr: usize = if case == "fault_nil" {
                    8
                } else {
                    0x7000_dead_0000
                };
                builder(case).run(move || {
                    gort::spawn(move || {
                        // SAFETY: the store faults and the handler ends the
                        // process; control never returns to Rust code.
                        store_faults(addr);
                    })
                    .join()
                    .unwrap();
                })
            }
            "stack_overflow_main" => builder(case).stack_size(64 * 1024).run(|| {
                recurse_forever(0);
            }),
            "deadlock" => builder(case).run(|| {
                let h = gort::spawn(block_forever);
                h.join().unwrap();
            }),
            "deadlock_after_other_runtime" => {
                // A runtime deadlocks while another one runs: no report
                // until the other ends; then the report, from the thread
                // that ran the other, shows the first one's goroutines.
                // That thread must not count as one of the program's that
                // might feed the first runtime: it is made the main thread
                // of a process of its own (a fork of this one, where it is
                // the only thread), which reports as the test's child.
                continue_as_main_thread();
                builder(case).block_on(|| {
                    std::thread::spawn(move || {
                        builder("deadlock").run(|| {
                            let h = gort::spawn(block_forever);
                            h.join().unwrap();
                        })
                    });
                    gort::time::sleep(std::time::Duration::from_millis(300));
                });
                std::thread::sleep(std::time::Duration::from_secs(30));
                std::process::exit(0)
            }
            "timer_handed_over_is_no_deadlock" => {
                // Runtime A heaps a timer channel; runtime B's goroutine
                // waits on it too; A ends first. B is not deadlocked: the
                // timer goes on firing from the gort-timers thread. (A
                // fork makes A's thread the main one, as above, so that no
                // thread of the program stands in for the timer.)
                continue_as_main_thread();
                let (tx, rx) = std::sync::mpsc::channel::<gort::RecvChan<std::time::Instant>>();
                let b = std::thread::spawn(move || {
                    let c = rx.recv().unwrap();
                    builder("deadlock").block_on(move || c.recv().is_some())
                });
                builder(case).block_on(move || {
                    let c = gort::time::after(std::time::Duration::from_millis(400));
                    let c2 = c.clone();
                    gort::go(move || {
                        let _ = c2.recv();
                    });
                    gort::time::sleep(std::time::Duration::from_millis(20));
                    tx.send(c).unwrap();
                    gort::time::sleep(std::time::Duration::from_millis(100));
                });
                assert!(b.join().unwrap(), "B got its tick");
                std::process::exit(0)
            }
            "block_on_deadlock" => {
                builder(case).block_on(|| {
                    let h = gort::spawn(block_forever);
                    h.join().unwrap();
                });
                std::process::exit(0)
            }
            "block_on_fed_by_a_thread" => {
                // Made inside the runtime and handed to a thread of the
                // program that touches it only after a while: the
                // goroutines wait for it, which is not a deadlock.
                let v = builder(case).block_on(|| {
                    let c: gort::Chan<u32> = gort::Chan::new(0);
                    let s = c.clone();
                    std::thread::spawn(move || {
                        std::thread::sleep(std::time::Duration::from_millis(300));
                        s.send(42);
                    });
                    c.recv()
                });
                assert_eq!(v, Some(42));
                std::process::exit(0)
            }
            "main_goexit" => builder(case).run(|| {
                for _ in 0..3 {
                    gort::go(gort::gosched);
                }
                gort::goexit();
            }),
            // testprog's Goexit/panic programs (deadlock.go); a deferred
            // call is a value's Drop, recover is catch_unwind.
            "gosched_in_panic" => builder(case).gomaxprocs(1).run(|| {
                let e: Box<dyn std::error::Error + Send + Sync> = Box::new(ErrorThatGosched);
                std::panic::panic_any(e);
            }),
            "syscall_in_panic" => builder(case).gomaxprocs(1).run(|| {
                let e: Box<dyn std::error::Error + Send + Sync> = Box::new(ErrorThatPrints);
                std::panic::panic_any(e);
            }),
            "recursive_panic" => builder(case).run(|| {
                {
                    let r = gort::catch(|| {
                        let _x = std::hint::black_box([0u8; 8192]);
                        let e = gort::catch(|| panic!("bad")).unwrap_err();
                        panic!("wrap: {}", e.text());
                    });
                    println!("{}", r.unwrap_err().text());
                }
                panic!("again");
            }),
            "recursive_panic2" => builder(case).run(|| {
                {
                    let r = gort::catch(|| {
                        let _x = std::hint::black_box([0u8; 8192]);
                        {
                            let first = gort::catch(|| panic!("first panic")).unwrap_err();
                            println!("{}", first.text());
                        }
                        panic!("second panic");
                    });
                    println!("{}", r.unwrap_err().text());
                }
                panic!("third panic");
            }),
            "recursive_panic3" => builder(case).run(|| {
                let _deferred = RecoversItsOwnPanic;
                panic!("first panic");
            }),
            "recursive_panic4" => builder(case).run(|| {
                let _recovered = gort::catch(|| panic!("first panic"));
                panic!("second panic");
            }),
            "recursive_panic5" => builder(case).run(|| {
                {
                    let r = gort::catch(|| {
                        let first = gort::catch(|| panic!("first panic")).unwrap_err();
                        println!("{}", first.text());
                        panic!("second panic");
                    });
                    println!("{}", r.unwrap_err().text());
                }
                panic!("third panic");
            }),
            "repanicked_panic" => builder(case).run(|| {
                gort::catch(|| panic!("message")).unwrap_err().repanic();
            }),
            "repanicked_middle_panic" => builder(case).run(|| {
                let _outer = gort::catch(|| {
                    let middle = gort::catch(|| {
                        let _inner = gort::catch(|| panic!("inner"));
                        panic!("middle");
                    });
                    middle.unwrap_err().repanic();
                });
                panic!("outer");
            }),
            "repanicked_panic_sandwich" => builder(case).run(|| {
                let mut outer = None;
                let _inner = gort::catch(std::panic::AssertUnwindSafe(|| {
                    outer = Some(gort::catch(|| panic!("outer")).unwrap_err());
                    panic!("inner");
                }));
                outer.unwrap().repanic();
            }),
            "double_panic_with_same_value" => builder(case).run(|| {
                let _deferred = PanicOnDrop("message");
                panic!("message");
            }),
            "goexit_in_panic" => builder(case).run(|| {
                gort::go(|| {
                    let _deferred = GoexitOnDrop;
                    panic!("hello");
                });
                gort::goexit();
            }),
            "panic_custom_bool" => builder(case).run(|| gort::panic_debug(MyBool(true))),
            "panic_custom_int" => builder(case).run(|| gort::panic_debug(MyInt(93))),
            "panic_custom_uint8" => builder(case).run(|| gort::panic_debug(MyUint8(93))),
            "panic_custom_float64" => builder(case).run(|| gort::panic_debug(MyFloat64(-93.7))),
            "panic_custom_string" => {
                builder(case).run(|| gort::panic_debug(MyString("Panic line two".into())))
            }
            "panic_custom_struct" => builder(case).run(|| gort::panic_debug(MyStruct { a: 1 })),
            "repanic_caught_again" => builder(case).run(|| {
                {
                    let r = gort::catch(|| panic!("a")).unwrap_err();
                    let _again = gort::catch(std::panic::AssertUnwindSafe(|| r.repanic()));
                }
                panic!("b");
            }),
            "deadlock_in_trait_impl" => builder(case).run(|| {
                Spawner.start();
                let c: gort::Chan<()> = gort::Chan::new(0);
                c.recv();
            }),
            "unwrap_in_goroutine" => builder(case).run(|| {
                gort::go(|| {
                    let v: Option<i32> = std::hint::black_box(None);
                    v.unwrap();
                });
                block_forever();
            }),
            "panic_after_goexit" => builder(case).run(|| {
                let _deferred = PanicOnDrop("hello");
                gort::goexit();
            }),
            "recovered_panic_after_goexit" => builder(case).run(|| {
                let _deferred = RecoverInDrop;
                gort::goexit();
            }),
            "recover_before_panic_after_goexit" => builder(case).run(|| {
                let _recovers = RecoverInDrop;
                let _panics = PanicOnDrop("hello");
                gort::goexit();
            }),
            "main_returns" => builder(case).gomaxprocs(1).run(|| {
                gort::go(|| {
                    loop {
                        gort::gosched();
                    }
                });
                let h = gort::spawn(|| 21 * 2);
                println!("answer {}", h.join().unwrap());
            }),
            "main_error" => {
                builder(case).run_main(|| -> Result<(), String> { Err("bad input".into()) })
            }
            "stack_exhaustion" => {
                // 1 GiB of address space: the arena reservation must shrink,
                // then fail with a message that names the limit.
                let lim = libc::rlimit {
                    rlim_cur: 1 << 30,
                    rlim_max: 1 << 30,
                };
                libc::setrlimit(libc::RLIMIT_AS, &lim);
                // Stacks are given at a goroutine's first run, so each one
                // must start (and then park, keeping its stack).
                builder(case).gomaxprocs(1).run(|| {
                    let keep = Arc::new(());
                    loop {
                        let k = keep.clone();
                        gort::go(move || {
                            let _k = k;
                            runtime_p::block();
                        });
                        gort::gosched();
                    }
                })
            }
            "simple_deadlock" => builder(case).run(|| runtime_p::block()),
            "locked_deadlock" => builder(case).run(|| {
                gort::lock_os_thread();
                runtime_p::block();
            }),
            "locked_deadlock2" => builder(case).run(|| {
                gort::go(|| {
                    gort::lock_os_thread();
                    runtime_p::block();
                });
                gort::gosched();
                runtime_p::block();
            }),
            "goexit_deadlock" => builder(case).run(|| {
                for _ in 0..2 {
                    gort::go(|| {});
                }
                gort::goexit();
            }),
            // An illegal instruction (what rustc emits for some UB, such
            // as a store through a literal null pointer) in a goroutine.
            "sigill" => builder(case).os(gort::OsLayer::Linux).run(|| {
                gort::spawn(illegal_instruction).join().unwrap();
            }),
            // stdout is a pipe nobody reads (`prog | head -0`).
            "stdout_epipe" => {
                let mut fds = [0; 2];
                assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
                libc::close(fds[0]);
                libc::dup2(fds[1], 1);
                builder(case).run(|| {
                    for i in 0.. {
                        println!("line {i}");
                    }
                })
            }
            // A host's own signal handlers (issue 18), on the Linux layer
            // (the Plan 9 personality owns its process's notes).
            "host_segv" => {
                install_host_handler(libc::SIGSEGV, b"host: SIGSEGV\n", 42);
                builder(case).os(gort::OsLayer::Linux).run(|| {
                    // A fault on a thread that is not gort's goes to the host.
                    std::thread::spawn(|| {
                        // SAFETY: the store faults; the host's handler exits.
                        store_faults(8);
                    })
                    .join()
                    .unwrap();
                })
            }
            "host_sigquit" => {
                install_host_handler(libc::SIGQUIT, b"host: SIGQUIT\n", 43);
                builder(case).os(gort::OsLayer::Linux).run(|| {
                    libc::raise(libc::SIGQUIT);
                    gort::time::sleep(std::time::Duration::from_secs(10));
                })
            }
            "sigquit_off" => builder(case)
                .os(gort::OsLayer::Linux)
                .sigquit_dump(false)
                .run(|| {
                    libc::raise(libc::SIGQUIT);
                    gort::time::sleep(std::time::Duration::from_secs(10));
                }),
            "fault_handler_off" => builder(case)
                .os(gort::OsLayer::Linux)
                .fault_handler(false)
                .run(|| {
                    gort::spawn(|| recurse_forever(0)).join().unwrap();
                }),
            // `ulimit -v 2000000`: the default stacks shrink to fit, the
            // runtime says so, and thousands of goroutines still park.
            "rlimit_as" => {
                let rl = libc::rlimit {
                    rlim_cur: 2_000_000 << 10,
                    rlim_max: 2_000_000 << 10,
                };
                // SAFETY: setrlimit reads the struct we pass.
                assert_eq!(libc::setrlimit(libc::RLIMIT_AS, &rl), 0);
                builder(case).run(|| {
                    const N: usize = 10_000;
                    let parked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
                    let gate: gort::Chan<()> = gort::Chan::new(0);
                    let wg = Arc::new(gort::sync::WaitGroup::new());
                    for _ in 0..N {
                        let (parked, gate) = (parked.clone(), gate.clone());
                        wg.go(move || {
                            parked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            gate.recv();
                        });
                    }
                    while parked.load(std::sync::atomic::Ordering::Relaxed) < N {
                        gort::gosched();
                    }
                    gate.close();
                    wg.wait();
                    let gp = runtime_g::getg();
                    // The running goroutine's own bounds (in run_case's
                    // unsafe block).
                    let size = (*gp).stack.hi - (*gp).stack.lo;
                    println!("{N} parked; stacks of {size} bytes");
                })
            }
            "stack_overflow_limit" => builder(case).stack_size(1474560).run(|| {
                recurse_forever(0);
            }),
            "thread_exhaustion" => builder(case).run(|| {
                gort::set_max_threads(10);
                let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
                for i in 0..100 {
                    let s = started.clone();
                    gort::go(move || {
                        gort::lock_os_thread();
                        s.fetch_add(1, std::sync::atomic::Ordering::Release);
                        runtime_p::block();
                    });
                    while started.load(std::sync::atomic::Ordering::Acquire) <= i {
                        gort::gosched();
                    }
                }
            }),
            "main_goroutine_id" => builder(case).run(|| panic!("test")),
            "goexit_exit" => builder(case).run(|| {
                // testprog GoexitExit, without the finalizer and GC steps.
                eprintln!("t1");
                gort::go(|| gort::time::sleep(std::time::Duration::from_millis(1)));
                eprintln!("t2");
                eprintln!("t3");
                eprintln!("t4");
                gort::goexit();
            }),
            "sigquit" => builder(case).gomaxprocs(2).run(|| {
                let c: gort::Chan<i32> = gort::Chan::new(0);
                let c2 = c.clone();
                gort::go(move || {
                    c2.recv();
                });
                let mu = Arc::new(gort::sync::RawMutex::new());
                mu.lock();
                let mu2 = mu.clone();
                gort::go(move || mu2.lock());
                gort::go(|| gort::time::sleep(std::time::Duration::from_secs(3600)));
                let (a, b): (gort::Chan<i32>, gort::Chan<i32>) =
                    (gort::Chan::new(0), gort::Chan::new(0));
                gort::go(move || {
                    gort::select! {
                        recv(a) -> _v => {}
                        recv(b) -> _v => {}
                    }
                });
                gort::go(|| {
                    gort::lock_os_thread();
                    gort::select! {}
                });
                // The signal comes from a plain thread once every
                // goroutine, main included, is parked: a goroutine caught
                // running has no stack to show (it is not stopped).
                std::thread::spawn(|| {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    // Signalling our own process (inside run_case's
                    // unsafe block).
                    libc::kill(libc::getpid(), libc::SIGQUIT);
                });
                gort::time::sleep(std::time::Duration::from_secs(5));
                drop(c);
            }),
            "schedtrace" => builder(case).gomaxprocs(2).run(|| {
                gort::time::sleep(std::time::Duration::from_millis(60));
            }),
            "no_helper_goroutines" => builder(case).run(|| {
                // testprog NoHelperGoroutines: a pending AfterFunc(1h) must
                // not show up as a goroutine in the crash dump.
                let _t = gort::time::after_func(std::time::Duration::from_secs(3600), || {});
                panic!("oops");
            }),
            "panic_race" => builder(case).run(panic_race),
            "big_gomaxprocs" => builder(case).run(|| {
                // testprog run with an unknown test name prints this.
                println!("gomaxprocs {}", gort::gomaxprocs(0));
                println!("unknown function: NonexistentTest");
            }),
            // testprog LockOSThreadAvoidsStatePropagation (GOMAXPROCS=1,
            // main locked to its thread as in Go's init): a locked
            // goroutine gives its thread a private working directory
            // (unshare(CLONE_FS), chdir) and exits locked; a goroutine that
            // then locks a thread must see the process's directory, which
            // fails if a thread was cloned from the tainted one. Go form
            // (`go` + LockOSThread) in the migrating mode; in the safe mode
            // the goroutines start with spawn_dedicated (the form that mode
            // offers). On Plan 9 a thread whose locked goroutine exits is
            // kept (golang.org/issue/22227), so, as Go's test does on other
            // systems than Linux, it only checks that nothing goes wrong.
            "lock_os_thread_state" => builder(case).gomaxprocs(1).run(|| {
                let plan9 = gort::OsLayer::from_env() == gort::OsLayer::Plan9;
                fn cwd() -> String {
                    std::env::current_dir()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                }
                fn start(f: impl FnOnce() + Send + 'static) {
                    if gort::runtime::migrating() {
                        gort::go(f);
                    } else {
                        drop(gort::spawn_dedicated(f));
                    }
                }
                gort::lock_os_thread();
                std::env::set_current_dir("/").unwrap();
                let want = cwd();
                let ready: gort::Chan<bool> = gort::Chan::new(1);
                let r2 = ready.clone();
                start(move || {
                    gort::lock_os_thread();
                    if !plan9 {
                        if libc::unshare(libc::CLONE_FS) != 0 {
                            println!("unshare not permitted");
                            std::process::exit(0);
                        }
                        std::env::set_current_dir("/tmp").unwrap();
                    }
                    r2.send(true);
                    // Exits locked: the tainted thread must go.
                });
                ready.recv();
                let done: gort::Chan<bool> = gort::Chan::new(0);
                let d2 = done.clone();
                start(move || {
                    gort::lock_os_thread();
                    if cwd() != want {
                        println!("bad state from old thread propagated after it should have died");
                        std::process::exit(1);
                    }
                    d2.recv();
                    gort::unlock_os_thread();
                });
                done.send(true);
                gort::unlock_os_thread();
                println!("OK");
            }),
            // testprog LockOSThreadTemplateThreadRace (golang.org/issue/
            // 38931): stops of the world (Go: ReadMemStats; here stopping a
            // trace, which stops the world to collect it) race with two
            // goroutines that start a goroutine and lock their threads, the
            // first locks of the process (which start the template thread).
            // It must not hang; a watchdog turns a hang into a failure.
            "lock_os_thread_template_race" => builder(case).gomaxprocs(4).run(|| {
                std::thread::spawn(|| {
                    std::thread::sleep(std::time::Duration::from_secs(20));
                    println!("hung");
                    std::process::exit(3);
                });
                gort::go(|| {
                    loop {
                        if gort::trace::start().is_ok() {
                            let _ = gort::trace::stop();
                        }
                        gort::gosched();
                    }
                });
                let start = std::time::Instant::now() + std::time::Duration::from_millis(10);
                let wg = Arc::new(gort::sync::WaitGroup::new());
                for _ in 0..2 {
                    let body = move || {
                        while std::time::Instant::now() < start {}
                        // Work on the local queue, for an early startm in
                        // handoffp.
                        gort::go(|| {});
                        gort::lock_os_thread();
                        gort::gosched();
                    };
                    if gort::runtime::migrating() {
                        wg.go(body);
                    } else {
                        wg.add(1);
                        let wg = wg.clone();
                        drop(gort::spawn_dedicated(move || {
                            body();
                            wg.done();
                        }));
                    }
                }
                wg.wait();
                println!("OK");
            }),
            "lock_os_thread_main" => {
                // testprog LockOSThreadMain, with m0 = this thread. As in Go,
                // the thread checks apply where a locked exit ends the thread
                // (not Plan 9, which keeps it: mainTID stays 0 there).
                let main_tid = if gort::OsLayer::from_env() == gort::OsLayer::Plan9 {
                    0
                } else {
                    libc::gettid()
                };
                builder(case).gomaxprocs(1).run(move || {
                    let h = gort::spawn(move || {
                        gort::lock_os_thread();
                        // GOMAXPROCS=1 and main blocked: we run on m0.
                        if main_tid != 0 && libc::gettid() != main_tid {
                            println!("failed to start goroutine on main thread");
                            std::process::exit(1);
                        }
                        // Exit locked: m0 must not run goroutines any more.
                    });
                    h.join().unwrap();
                    gort::syscall::blocking(|| {
                        std::thread::sleep(std::time::Duration::from_millis(1))
                    });
                    if main_tid != 0 && libc::gettid() == main_tid {
                        println!("goroutine migrated to locked thread");
                        std::process::exit(1);
                    }
                    println!("OK");
                })
            }
            other => panic!("unknown crash case {other}"),
        }
    }
}

#[test]
#[ignore = "entry point of the child processes; run by the other tests"]
fn child_entry() {
    let case = std::env::var(CASE_VAR).expect("run by the crash tests only");
    run_case(&case);
}

#[test]
fn panic_in_main_goroutine() {
    let o = child("panic_main");
    expect(&o, &["panic: boom", "", "goroutine 1 [running]:"], 2);
    assert!(
        o.stderr.contains("crash.rs:"),
        "the panic location is reported:\n{}",
        o.stderr
    );
    assert!(
        !o.stderr.contains("panicked at"),
        "std's panic message is replaced by Go's:\n{}",
        o.stderr
    );
}

#[test]
fn panic_in_other_goroutine_names_it() {
    let o = child("panic_goroutine");
    expect(&o, &["panic: in goroutine", ""], 2);
    let header = o.stderr.lines().nth(2).unwrap_or("");
    assert!(header.ends_with(" [running]:"), "{header:?}");
    assert_ne!(goroutine_header_id(header), 1);
}

/// A panic in a goroutine-local's destructor is reported as the
/// goroutine's panic, Go-style, with its message (it used to escape the
/// goroutine's entry and abort with "failed to initiate panic"), and does
/// not keep the goroutine's other locals from being dropped.
#[test]
fn panic_in_a_goroutine_local_destructor_is_reported() {
    let o = child("panic_in_local_drop");
    expect(
        &o,
        &["panic: boom in a goroutine-local's destructor", ""],
        2,
    );
    let header = o.stderr.lines().nth(2).unwrap_or("");
    assert!(header.ends_with(" [running]:"), "{header:?}");
    // The goroutine's other locals are still dropped.
    assert!(
        o.stdout.contains("the other local was dropped"),
        "{}",
        o.stdout
    );
}

#[test]
fn panic_with_multiline_message_indents() {
    let o = child("panic_multiline");
    expect(
        &o,
        &["panic: line1", "\tline2", "", "goroutine 1 [running]:"],
        2,
    );
}

/// sysmon names no stalled goroutine while a fatal report prints: a stack
/// overflow's report unwinds the goroutine's 8 MiB of frames, which in a
/// debug build takes longer than the 200 ms threshold set here (and took
/// over a second once in CI, in release under load), and the stall report
/// cut into the overflow's. (In release the unwinding is quicker than the
/// threshold, and the test passes either way.)
#[test]
fn no_stall_report_cuts_into_a_fatal_report() {
    let o = child_env("stack_overflow", &[("GODEBUG", "gortstall=200")]);
    assert_eq!(o.code, Some(2), "{}", o.stderr);
    assert!(
        o.stderr.contains("fatal error: stack overflow"),
        "{}",
        o.stderr
    );
    assert!(
        !o.stderr.contains("without a runtime call"),
        "a stall report in the fatal report:\n{}",
        o.stderr
    );
}

#[test]
fn stack_overflow_is_reported_like_go() {
    let o = child("stack_overflow");
    let lines: Vec<&str> = o.stderr.lines().collect();
    assert!(lines.len() >= 5, "stderr:\n{}", o.stderr);
    assert_eq!(
        lines[0],
        "runtime: goroutine stack exceeds 8388608-byte limit"
    );
    assert!(
        lines[1].starts_with("runtime: sp=0x") && lines[1].contains(" stack=[0x"),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2], "fatal error: stack overflow");
    assert_eq!(lines[3], "");
    let h = runtime_stack_section(&o.stderr, 4);
    assert!(
        lines[h].ends_with(" [running]:") && goroutine_header_id(lines[h]) > 1,
        "{}",
        lines[h]
    );
    // sp lies just below the reported stack: in the guard page.
    let nums: Vec<usize> = lines[1]
        .split(|c: char| !c.is_ascii_hexdigit() && c != 'x')
        .filter_map(|t| t.strip_prefix("0x"))
        .map(|h| usize::from_str_radix(h, 16).unwrap())
        .collect();
    let (sp, lo, hi) = (nums[0], nums[1], nums[2]);
    assert_eq!(hi - lo, 8 << 20);
    assert!(
        sp < lo + 4096 && sp + 8192 > lo,
        "sp {sp:#x} not near lo {lo:#x}"
    );
    overflow_frames_like_go(&o.stderr, h + 1, true);
    assert!(
        o.stderr.contains("\n\ngoroutine 1 [chan receive]:\n"),
        "the other goroutines follow, as in Go's fatal dumps:\n{}",
        o.stderr
    );
    assert_eq!(o.code, Some(2));
}

/// Go's `runtime stack:` section of a stack-overflow report (issue 20),
/// from line `at` of `stderr`: the header, the frames of the stack that
/// found the overflow (Go's runtime.throw, runtime.newstack; gort's are
/// the fault handler's, which reports it), a blank line. Returns the line
/// after it, the goroutine's header.
fn runtime_stack_section(stderr: &str, at: usize) -> usize {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.get(at).copied(), Some("runtime stack:"), "{stderr}");
    let end = at
        + 1
        + lines[at + 1..]
            .iter()
            .position(|l| l.is_empty())
            .unwrap_or_else(|| panic!("no end of the section:\n{stderr}"));
    let frames = &lines[at + 1..end];
    assert!(
        !frames.is_empty() && frames.len().is_multiple_of(2),
        "{stderr}"
    );
    for pair in frames.chunks(2) {
        assert!(
            pair[0].ends_with("()") && pair[1].starts_with('\t'),
            "{stderr}"
        );
    }
    assert!(
        frames.contains(&"runtime_g::signal::report_stack_overflow()"),
        "{stderr}"
    );
    end + 1
}

/// The frames of an overflow report (issue 17), from line `first` of
/// `stderr` on: as Go prints a deep stack, the innermost 50 frames (each a
/// function line and a tab-indented location), `...N frames elided...`,
/// the outermost ones, and for a goroutine that is not the main one, its
/// `created by` line.
fn overflow_frames_like_go(stderr: &str, first: usize, created_by: bool) {
    let lines: Vec<&str> = stderr.lines().collect();
    let elided = lines
        .iter()
        .position(|l| l.starts_with("...") && l.ends_with(" frames elided..."))
        .unwrap_or_else(|| panic!("no elision line:\n{stderr}"));
    assert_eq!(elided - first, 100, "50 inner frames:\n{stderr}");
    for (i, pair) in lines[first..elided].chunks(2).enumerate() {
        // The guard page may be hit inside the black_box call of the
        // innermost recursion (where it is a call: debug builds, and
        // where the frame sizes put the fault there, as on aarch64).
        if i == 0 && pair[0] == "core::hint::black_box()" {
            continue;
        }
        assert_eq!(pair[0], "crash::recurse_forever()", "{stderr}");
        assert!(frame_loc_in(pair[1], "crash.rs"), "{stderr}");
    }
    let n: usize = lines[elided][3..lines[elided].len() - " frames elided...".len()]
        .parse()
        .unwrap();
    assert!(n > 0, "{n} frames elided");
    let outer: Vec<&str> = lines[elided + 1..]
        .iter()
        .take_while(|l| !l.is_empty() && !l.starts_with("created by "))
        .copied()
        .collect();
    // 50 machine frames, less the runtime's hidden plumbing at the base,
    // plus any inlined frames.
    assert!(
        (60..=120).contains(&outer.len()) && outer.len().is_multiple_of(2),
        "about 50 outer frames:\n{stderr}"
    );
    let end = elided + 1 + outer.len();
    assert_eq!(
        lines
            .get(end)
            .is_some_and(|l| l.starts_with("created by crash::")),
        created_by,
        "{stderr}"
    );
}

#[test]
fn stack_overflow_in_main_goroutine() {
    let o = child("stack_overflow_main");
    expect(
        &o,
        &["runtime: goroutine stack exceeds 65536-byte limit"],
        2,
    );
    let lines: Vec<&str> = o.stderr.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == "fatal error: stack overflow")
        .unwrap_or_else(|| panic!("{}", o.stderr));
    assert_eq!(lines[at + 1], "", "{}", o.stderr);
    let h = runtime_stack_section(&o.stderr, at + 2);
    assert_eq!(lines[h], "goroutine 1 [running]:", "{}", o.stderr);
    overflow_frames_like_go(&o.stderr, h + 1, false);
}

/// A runtime whose goroutines all wait is judged when the other runtime
/// of the process ends (while it ran, it might have woken them): Go's
/// report, with the goroutine dump, though the judging thread is not one
/// of its Ms (the dump used to be missing).
#[test]
fn deadlock_found_when_the_other_runtime_ends_has_the_dump() {
    let o = child("deadlock_after_other_runtime");
    expect(
        &o,
        &[
            "fatal error: all goroutines are asleep - deadlock!",
            "",
            "goroutine 1 [chan receive]:",
        ],
        2,
    );
    assert!(
        o.stderr
            .lines()
            .filter(|l| l.starts_with("goroutine "))
            .count()
            >= 2,
        "every goroutine of the deadlocked runtime is shown:\n{}",
        o.stderr
    );
}

/// A runtime whose goroutines wait on a timer channel that another
/// runtime's heap held is not deadlocked when that runtime ends: the timer
/// is handed over and fires (it used to be reported as a deadlock, and
/// the timer never fired).
#[test]
fn a_timer_handed_over_by_an_ended_runtime_is_no_deadlock() {
    let o = child("timer_handed_over_is_no_deadlock");
    assert_eq!(o.code, Some(0), "{}", o.stderr);
}

/// `block_on` reports a deadlock as Go does when the program has no
/// thread of its own that could end it (only the caller and the main
/// thread), and none when one exists: a thread of the program may hand
/// the goroutines a value later (issue 18).
#[test]
fn block_on_deadlock_unless_a_thread_of_the_program_may_feed_it() {
    let o = child("block_on_deadlock");
    expect(
        &o,
        &[
            "fatal error: all goroutines are asleep - deadlock!",
            "",
            "goroutine 1 [chan receive]:",
        ],
        2,
    );
    let o = child("block_on_fed_by_a_thread");
    assert_eq!(o.code, Some(0), "stderr:\n{}", o.stderr);
}

#[test]
fn deadlock_is_reported_like_go() {
    let o = child("deadlock");
    expect(
        &o,
        &[
            "fatal error: all goroutines are asleep - deadlock!",
            "",
            "goroutine 1 [chan receive]:",
        ],
        2,
    );
    let others: Vec<&str> = o
        .stderr
        .lines()
        .skip(3)
        .filter(|l| l.starts_with("goroutine "))
        .collect();
    assert_eq!(
        others.len(),
        1,
        "the blocked goroutine is listed once:\n{}",
        o.stderr
    );
    assert!(others[0].ends_with(" [chan receive]:"));
    // Each blocked goroutine's frames follow its header, read from its own
    // stack: main's closure, and the spawned goroutine's function.
    let lines: Vec<&str> = o.stderr.lines().collect();
    let after = |header: &str| {
        let i = lines.iter().position(|l| *l == header).unwrap();
        (
            lines.get(i + 1).copied().unwrap_or(""),
            lines.get(i + 2).copied().unwrap_or(""),
        )
    };
    let (f1, l1) = after("goroutine 1 [chan receive]:");
    assert!(
        f1.starts_with("crash::run_case::") && f1.ends_with("()"),
        "{}",
        o.stderr
    );
    assert!(frame_loc_in(l1, "crash.rs"), "{}", o.stderr);
    let (f2, _) = after(others[0]);
    assert_eq!(f2, "crash::block_forever()", "{}", o.stderr);
    // Go's `created by` line names the function with the `go` statement
    // and the creating goroutine; goroutine 1 has none.
    let i = lines.iter().position(|l| *l == others[0]).unwrap();
    assert_eq!(
        lines.get(i + 3).copied(),
        Some("created by crash::run_case::{{closure}} in goroutine 1"),
        "{}",
        o.stderr
    );
    assert!(
        lines
            .get(i + 4)
            .is_some_and(|l| l.starts_with('\t') && l.contains("crash.rs:") && l.contains(" +0x")),
        "{}",
        o.stderr
    );
    assert_eq!(o.stderr.matches("created by").count(), 1, "{}", o.stderr);
}

#[test]
fn main_goexit_then_deadlock() {
    let o = child("main_goexit");
    expect(
        &o,
        &["fatal error: no goroutines (main called runtime.Goexit) - deadlock!"],
        2,
    );
}

#[test]
fn main_return_ends_program_while_others_run() {
    let o = child("main_returns");
    assert_eq!(o.code, Some(0), "stderr:\n{}", o.stderr);
    assert!(o.stdout.contains("answer 42\n"), "{}", o.stdout);
}

#[test]
fn main_returning_err_exits_1() {
    let o = child("main_error");
    expect(&o, &["Error: \"bad input\""], 1);
}

#[test]
fn stack_exhaustion_names_the_limit() {
    let o = child("stack_exhaustion");
    assert!(o.stderr.contains("runtime: cannot reserve"), "{}", o.stderr);
    assert!(o.stderr.contains("ulimit -v"), "{}", o.stderr);
    assert!(
        o.stderr
            .contains("fatal error: runtime: cannot allocate memory for goroutine stacks"),
        "{}",
        o.stderr
    );
    assert_eq!(o.code, Some(2));
}

// go-test: TestSimpleDeadlock (crash_test.go)
#[test]
fn test_simple_deadlock() {
    expect(
        &child("simple_deadlock"),
        &["fatal error: all goroutines are asleep - deadlock!"],
        2,
    );
}

// go-test: TestLockedDeadlock (crash_test.go)
#[test]
fn test_locked_deadlock() {
    expect(
        &child("locked_deadlock"),
        &["fatal error: all goroutines are asleep - deadlock!"],
        2,
    );
}

// go-test: TestLockedDeadlock2 (crash_test.go)
#[test]
fn test_locked_deadlock2() {
    expect(
        &child("locked_deadlock2"),
        &["fatal error: all goroutines are asleep - deadlock!"],
        2,
    );
}

// go-test: TestGoexitDeadlock (crash_test.go)
#[test]
fn test_goexit_deadlock() {
    let o = child("goexit_deadlock");
    assert!(
        o.stderr
            .contains("no goroutines (main called runtime.Goexit) - deadlock!"),
        "{}",
        o.stderr
    );
    assert_eq!(o.code, Some(2));
}

// go-test: TestStackOverflow (crash_test.go)
// Adapted: debug.SetMaxStack(1474560) becomes Builder::stack_size(1474560).
#[test]
fn test_stack_overflow() {
    let o = child("stack_overflow_limit");
    assert!(
        o.stderr
            .starts_with("runtime: goroutine stack exceeds 1474560-byte limit\n"),
        "{}",
        o.stderr
    );
    for want in ["runtime: sp=", "stack=[", "fatal error: stack overflow"] {
        assert!(o.stderr.contains(want), "missing {want:?}:\n{}", o.stderr);
    }
    assert_eq!(o.code, Some(2));
}

/// Under `ulimit -v 2000000` (issue 17: 7,800 goroutines of the old fixed
/// size fitted) the default stacks shrink to 128 KiB, the runtime says why
/// on stderr, and 10,000 goroutines park at once.
#[test]
fn low_rlimit_as_sizes_stacks_to_fit() {
    let o = child("rlimit_as");
    assert_eq!(
        o.stderr,
        "gort: the address-space limit (RLIMIT_AS, `ulimit -v`) is 1953 MiB, so goroutine \
         stacks are 128 KiB instead of 8 MiB; raise the limit, or choose a size with \
         gort::Builder::stack_size\n"
    );
    assert!(
        o.stdout
            .ends_with("\n10000 parked; stacks of 131072 bytes\n")
            || o.stdout
                .ends_with(" ... 10000 parked; stacks of 131072 bytes\n"),
        "{}",
        o.stdout
    );
    assert_eq!(o.code, Some(0));
}

/// SIGILL is reported as Go reports it (issue 20; checked against Go 1.27
/// with a `UD2` in assembly): the signal's name, `PC=… m=… sigcode=2`,
/// the instruction bytes, the goroutine with its frames, the other
/// goroutines, the registers; exit 2. (Before, the process died by SIGILL
/// with nothing on stderr, status 132.)
#[test]
fn sigill_is_reported_like_go() {
    let o = child("sigill");
    let lines: Vec<&str> = o.stderr.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&"SIGILL: illegal instruction"),
        "{}",
        o.stderr
    );
    // UD2 is 0f 0b with ILL_ILLOPN (2); aarch64's UDF #0 is four zero
    // bytes, whose si_code the kernel (or emulator) chooses.
    let (code, bytes) = if cfg!(target_arch = "x86_64") {
        (" sigcode=2", "instruction bytes: 0xf 0xb")
    } else {
        (" sigcode=", "instruction bytes: 0x0 0x0 0x0 0x0")
    };
    assert!(
        lines[1].starts_with("PC=0x") && lines[1].contains(" m=") && lines[1].contains(code),
        "{}",
        o.stderr
    );
    assert!(lines[2].starts_with(bytes), "{}", o.stderr);
    assert_eq!(lines[3], "");
    assert!(
        lines[4].starts_with("goroutine ") && lines[4].ends_with(" [running]:"),
        "{}",
        o.stderr
    );
    assert_eq!(
        lines[5], "crash::illegal_instruction()",
        "the faulting function is the first frame:\n{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("\ncreated by crash::run_case::"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("\ngoroutine 1 [chan receive]:\n"),
        "{}",
        o.stderr
    );
    // Go's dumpregs: amd64's names, or arm64's (r0-r29, lr, sp, pc, fault).
    let regs = if cfg!(target_arch = "x86_64") {
        ["\nrip    0x", "\nrflags 0x"]
    } else {
        ["\npc      0x", "\nfault   0x"]
    };
    assert!(regs.iter().all(|r| o.stderr.contains(r)), "{}", o.stderr);
    assert_eq!(o.code, Some(2));
}

/// Writing to a closed stdout ends the program by SIGPIPE, quietly, as
/// Go's write does (issue 20); Rust would panic with `failed printing to
/// stdout` and exit 2.
#[test]
fn stdout_epipe_ends_by_sigpipe() {
    let o = child("stdout_epipe");
    assert_eq!(o.signal, Some(libc::SIGPIPE), "{}", o.stderr);
    assert_eq!(o.stderr, "");
}

// go-test: TestPanicDeadlockGosched (crash_test.go)
// The panic value's text yields (Go's Error() calls runtime.Gosched) while
// the fatal panic prints it: no deadlock, and Go's report. Adapted: the Go
// value is an error; here a boxed `dyn Error`, which prints its text.
#[test]
fn test_panic_deadlock_gosched() {
    let o = child("gosched_in_panic");
    expect(&o, &["panic: errorThatGosched", ""], 2);
}

// go-test: TestPanicDeadlockSyscall (crash_test.go)
// The text writes to stdout while the panic prints it. Go's test reads
// stdout and stderr as one stream ("1\n2\npanic: 3\n\n"); here they are
// read apart, and each must hold its part.
#[test]
fn test_panic_deadlock_syscall() {
    let o = child("syscall_in_panic");
    assert!(o.stdout.ends_with("1\n2\n"), "{:?}", o.stdout);
    expect(&o, &["panic: 3", ""], 2);
}

// go-test: TestRecursivePanic (crash_test.go)
// Go's deferred recover() is gort::catch around the code it guards; the
// recovered value stays on the chain while its Recovered lives. (The
// child's stdout starts with the test harness's own lines.)
#[test]
fn test_recursive_panic() {
    let o = child("recursive_panic");
    assert!(o.stdout.ends_with(" wrap: bad\n"), "{:?}", o.stdout);
    expect(&o, &["panic: again", ""], 2);
}

// go-test: TestRecursivePanic2 (crash_test.go)
#[test]
fn test_recursive_panic2() {
    let o = child("recursive_panic2");
    assert!(
        o.stdout.ends_with(" first panic\nsecond panic\n"),
        "{:?}",
        o.stdout
    );
    expect(&o, &["panic: third panic", ""], 2);
}

// go-test: TestRecursivePanic3 (crash_test.go)
// A deferred call (a destructor) panics while a panic unwinds and
// recovers its own panic: the first panic goes on alone.
#[test]
fn test_recursive_panic3() {
    let o = child("recursive_panic3");
    expect(&o, &["panic: first panic", ""], 2);
}

// go-test: TestRecursivePanic4 (crash_test.go)
#[test]
fn test_recursive_panic4() {
    let o = child("recursive_panic4");
    expect(
        &o,
        &["panic: first panic [recovered]", "\tpanic: second panic"],
        2,
    );
}

// go-test: TestRecursivePanic5 (crash_test.go)
// Go's three deferred calls (print and panic, print) become two nested
// catches in `three`; the recoveries complete when it returns.
#[test]
fn test_recursive_panic5() {
    let o = child("recursive_panic5");
    assert!(
        o.stdout.ends_with(" first panic\nsecond panic\n"),
        "{:?}",
        o.stdout
    );
    expect(&o, &["panic: third panic", ""], 2);
}

// go-test: TestRepanickedPanic (crash_test.go)
#[test]
fn test_repanicked_panic() {
    let o = child("repanicked_panic");
    expect(&o, &["panic: message [recovered, repanicked]"], 2);
}

// go-test: TestRepanickedMiddlePanic (crash_test.go)
#[test]
fn test_repanicked_middle_panic() {
    let o = child("repanicked_middle_panic");
    expect(
        &o,
        &[
            "panic: inner [recovered]",
            "\tpanic: middle [recovered, repanicked]",
            "\tpanic: outer",
        ],
        2,
    );
}

// go-test: TestRepanickedPanicSandwich (crash_test.go)
#[test]
fn test_repanicked_panic_sandwich() {
    let o = child("repanicked_panic_sandwich");
    expect(
        &o,
        &[
            "panic: outer [recovered]",
            "\tpanic: inner [recovered]",
            "\tpanic: outer",
        ],
        2,
    );
}

// go-test: TestDoublePanicWithSameValue (crash_test.go)
// Adapted: Go's deferred call panics with the very value being unwound;
// here a destructor panics with an equal string (Rust cannot raise one
// value twice), which Go's rule also treats as the same for strings.
#[test]
fn test_double_panic_with_same_value() {
    let o = child("double_panic_with_same_value");
    expect(&o, &["panic: message", ""], 2);
}

// go-test: TestPanicWithDirectlyPrintableCustomTypes (panic_test.go)
// In spirit, as issue 20 asks: Go's named types of printable kinds are
// tuple structs raised with gort::panic_debug, which prints the type's
// path and the value as Go prints `main.MyInt(93)`. Differences: the path
// is Rust's (`crash::MyInt`), floats and strings print as Rust's Debug
// does (`-93.7`, a quoted string without Go's raw newline), and Rust has
// no complex or uintptr kinds; the two fatal-in-defer rows have no Rust
// form (a destructor cannot recover). A struct prints `(type) {Debug}`
// where Go prints `(main.T) 0x…`.
#[test]
fn test_panic_with_directly_printable_custom_types() {
    for (case, want) in [
        ("panic_custom_bool", "panic: crash::MyBool(true)\n"),
        ("panic_custom_int", "panic: crash::MyInt(93)\n"),
        ("panic_custom_uint8", "panic: crash::MyUint8(93)\n"),
        ("panic_custom_float64", "panic: crash::MyFloat64(-93.7)\n"),
        (
            "panic_custom_string",
            "panic: crash::MyString(\"Panic line two\")\n",
        ),
        (
            "panic_custom_struct",
            "panic: (crash::MyStruct) MyStruct { a: 1 }\n",
        ),
    ] {
        let o = child(case);
        assert!(o.stderr.starts_with(want), "{case}: {}", o.stderr);
        assert_eq!(o.code, Some(2), "{case}");
    }
}

/// A value re-raised (`Recovered::repanic`) and recovered again leaves the
/// chain when that recovery completes: a later panic prints alone, as in
/// Go, where the second recovery unwinds past the deferred call that
/// re-raised.
#[test]
fn repanic_recovered_again_leaves_the_chain() {
    let o = child("repanic_caught_again");
    expect(&o, &["panic: b", ""], 2);
}

/// A goroutine started in a trait method (`<S as T>::m`'s closure) prints
/// its function once, under that name, and `created by` names the method,
/// in every build.
#[test]
fn goroutine_of_a_trait_method_is_named_once() {
    let o = child("deadlock_in_trait_impl");
    let f = "<crash::Spawner as crash::Start>::start::{{closure}}()";
    assert_eq!(o.stderr.matches(f).count(), 1, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("\ncreated by <crash::Spawner as crash::Start>::start in goroutine 1\n"),
        "{}",
        o.stderr
    );
}

/// A panic in `unwrap` prints the panic's line at the program's frame (the
/// one that called `unwrap`), not at the standard library's helper before
/// it, also without debug info.
#[test]
fn unwrap_panic_line_is_on_the_callers_frame() {
    let o = child("unwrap_in_goroutine");
    let lines: Vec<&str> = o.stderr.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.starts_with("crash::"))
        .unwrap_or_else(|| panic!("no frame of the program:\n{}", o.stderr));
    assert!(lines[i + 1].contains("crash.rs:"), "{}", o.stderr);
    assert_eq!(o.code, Some(2));
}

// go-test: TestPanicAfterGoexit (crash_test.go)
// A deferred panic during Goexit still ends the program with it.
#[test]
fn test_panic_after_goexit() {
    let o = child("panic_after_goexit");
    assert!(o.stderr.starts_with("panic: hello\n"), "{}", o.stderr);
    assert_eq!(o.code, Some(2), "{}", o.stderr);
}

// go-test: TestRecoveredPanicAfterGoexit (crash_test.go)
// A panic recovered inside a deferred call leaves Goexit running: main's
// Goexit then ends in Go's deadlock report.
#[test]
fn test_recovered_panic_after_goexit() {
    let o = child("recovered_panic_after_goexit");
    assert!(
        o.stderr
            .starts_with("fatal error: no goroutines (main called runtime.Goexit) - deadlock!"),
        "{}",
        o.stderr
    );
    assert_eq!(o.code, Some(2));
}

// go-test: TestGoexitInPanic (crash_test.go)
// Adapted: in Go, Goexit in a deferred call during a panic ends the
// goroutine and the panic with it, and main's Goexit then ends in the
// deadlock report. Rust cannot end an unwind from a destructor (leaving
// it by another unwind aborts the process), so the destructor's Goexit
// cannot stop the panic. gort reports it as Go reports a fatal error
// during a panic: the panic, then an indented `fatal error:` line that
// says what happened and how to write it (recover first), status 2, not
// Rust's abort.
#[test]
fn test_goexit_in_panic() {
    let o = child("goexit_in_panic");
    assert!(
        o.stderr.starts_with(
            "panic: hello\n\tfatal error: runtime.Goexit called by a destructor while a panic unwinds"
        ),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("gort::catch"), "{}", o.stderr);
    assert_eq!(o.code, Some(2), "{}", o.stderr);
}

// go-test: TestRecoverBeforePanicAfterGoexit (crash_test.go)
// Adapted: Go recovers the deferred call's panic in an earlier-deferred
// call and lets Goexit go on (deadlock report). Rust cannot: a panic that
// escapes a destructor during an unwind (Goexit is one) aborts the
// process, and no frame can catch it. What gort promises instead is Go's
// report of the panic and status 2, not Rust's abort (status 134).
// TestRecoverBeforePanicAfterGoexit2 is the same program with the recover
// in a loop and meets the same rule; not ported.
#[test]
fn test_recover_before_panic_after_goexit() {
    let o = child("recover_before_panic_after_goexit");
    assert!(o.stderr.starts_with("panic: hello\n"), "{}", o.stderr);
    assert!(!o.stderr.contains("aborting"), "{}", o.stderr);
    assert_eq!(o.code, Some(2), "{}", o.stderr);
}

/// A host that handles SIGSEGV itself before the runtime starts (a wasm
/// runtime, say) still receives a fault from a thread that is not
/// gort's: gort's handler passes it on (issue 18).
#[test]
fn host_sigsegv_handler_still_gets_foreign_faults() {
    let o = child("host_segv");
    assert_eq!(o.stderr, "host: SIGSEGV\n");
    assert_eq!(o.code, Some(42));
}

/// A host's SIGQUIT handler is kept: gort installs its dump only over the
/// default action (issue 18).
#[test]
fn host_sigquit_handler_is_kept() {
    let o = child("host_sigquit");
    assert_eq!(o.stderr, "host: SIGQUIT\n");
    assert_eq!(o.code, Some(43));
}

/// `Builder::sigquit_dump(false)`: SIGQUIT keeps its default action (the
/// process dies by the signal, without Go's dump).
#[test]
fn sigquit_dump_can_be_turned_off() {
    let o = child("sigquit_off");
    assert_eq!(o.signal, Some(libc::SIGQUIT), "{}", o.stderr);
    assert!(!o.stderr.contains("SIGQUIT: quit"), "{}", o.stderr);
}

/// `Builder::fault_handler(false)`: no handler of gort's; a goroutine's
/// stack overflow then ends the process by SIGSEGV, without Go's report.
#[test]
fn fault_handler_can_be_turned_off() {
    let o = child("fault_handler_off");
    assert_eq!(o.signal, Some(libc::SIGSEGV), "{}", o.stderr);
    assert!(!o.stderr.contains("stack overflow"), "{}", o.stderr);
}

// go-test: TestThreadExhaustion (crash_test.go)
#[test]
fn test_thread_exhaustion() {
    let o = child("thread_exhaustion");
    assert!(
        o.stderr.starts_with(
            "runtime: program exceeds 10-thread limit\nfatal error: thread exhaustion"
        ),
        "{}",
        o.stderr
    );
    assert_eq!(o.code, Some(2));
}

/// Thread exhaustion is a runtime throw on the scheduler's stack, so the
/// report shows that stack first, as Go's does (`runtime stack:`, from
/// `runtime.throw` and `runtime.checkmcount` down to the M's start or the
/// switch from a goroutine; gort's frames are its ports of them), then the
/// goroutines (issue 20).
#[test]
fn thread_exhaustion_shows_the_runtime_stack() {
    let o = child("thread_exhaustion");
    let lines: Vec<&str> = o.stderr.lines().collect();
    assert_eq!(
        lines.get(2..5),
        Some(&["", "runtime stack:", "runtime_g::throw::throw()"][..]),
        "{}",
        o.stderr
    );
    let end = lines[4..]
        .iter()
        .position(|l| l.is_empty())
        .map(|i| i + 4)
        .expect("end of the section");
    assert!(
        lines[4..end].contains(&"runtime_p::mp::checkmcount()"),
        "{}",
        o.stderr
    );
    assert!(lines[end + 1].starts_with("goroutine "), "{}", o.stderr);
    assert_eq!(o.code, Some(2));
}

// go-test: TestMainGoroutineID (crash_test.go)
#[test]
fn test_main_goroutine_id() {
    let o = child("main_goroutine_id");
    assert!(
        o.stderr
            .starts_with("panic: test\n\ngoroutine 1 [running]:\n"),
        "{}",
        o.stderr
    );
    assert_eq!(o.code, Some(2));
}

// go-test: TestPanicRace (crash_test.go)
// The deferred func is a destructor that calls wg.Done and yields, as in
// Go; the report must name the panic, the program's function (Go's
// "PanicRace" is `panic_race` here) and `created by`. Go passes if one of
// 10 runs shows all three (the race loses about 0.05% of runs there);
// this asks it of every run.
#[test]
fn test_panic_race() {
    for i in 0..10 {
        let o = child("panic_race");
        for want in ["panic: crash", "panic_race", "created by "] {
            assert!(
                o.stderr.contains(want),
                "run {i}: no {want:?} (main exited before the panic was reported?):\n{}",
                o.stderr
            );
        }
        assert_eq!(o.code, Some(2), "run {i}");
    }
}

// go-test: TestBigGOMAXPROCS (proc_test.go)
// Adapted: the testprog's "unknown function" line is printed by the program;
// the point is that GOMAXPROCS=1024 from the environment starts normally.
#[test]
fn test_big_gomaxprocs() {
    let o = child_env("big_gomaxprocs", &[("GOMAXPROCS", "1024")]);
    for skip in ["failed to create new OS thread", "cannot allocate memory"] {
        if o.stderr.contains(skip) {
            eprintln!("failed to create 1024 threads; skipped");
            return;
        }
    }
    assert!(
        o.stdout.contains("unknown function: NonexistentTest"),
        "{}\n{}",
        o.stdout,
        o.stderr
    );
    assert!(o.stdout.contains("gomaxprocs 1024"), "{}", o.stdout);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
}

// go-test: TestLockOSThreadAvoidsStatePropagation (proc_test.go)
// In both modes (see the case for the safe mode's form); 20 runs, as the
// propagation depends on which thread creates the next M.
#[test]
fn test_lock_os_thread_avoids_state_propagation() {
    for _ in 0..20 {
        let o = child("lock_os_thread_state");
        if o.stdout.contains("unshare not permitted") {
            return;
        }
        assert!(o.stdout.contains("OK"), "{}\n{}", o.stdout, o.stderr);
        assert_eq!(o.code, Some(0), "{}", o.stderr);
    }
}

// go-test: TestLockOSThreadTemplateThreadRace (proc_test.go)
// Go runs it 10 times (the race hit about 2% of runs); so does this.
#[test]
fn test_lock_os_thread_template_thread_race() {
    for _ in 0..10 {
        let o = child("lock_os_thread_template_race");
        assert!(o.stdout.contains("OK"), "{}\n{}", o.stdout, o.stderr);
        assert_eq!(o.code, Some(0), "{}", o.stderr);
    }
}

// go-test: TestLockOSThreadExit (proc_test.go)
// The LockOSThreadMain half (testprog, GOMAXPROCS=1); the LockOSThreadAlt
// half is runtime-p/tests/mn.rs `locked_exit_terminates_the_thread`.
#[test]
fn test_lock_os_thread_exit() {
    let o = child("lock_os_thread_main");
    assert!(o.stdout.contains("OK"), "{}\n{}", o.stdout, o.stderr);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
}

// go-test: TestGoexitCrash (crash_test.go)
// Adapted: testprog GoexitExit without its finalizer and GC calls; the
// goroutine sleeping 1 ms keeps the program alive (a heaped timer), then
// main's Goexit ends it with Go's message.
#[test]
fn test_goexit_crash() {
    let o = child("goexit_exit");
    assert!(
        o.stderr
            .contains("no goroutines (main called runtime.Goexit) - deadlock!"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.starts_with("t1\nt2\nt3\nt4\n"), "{}", o.stderr);
    assert_eq!(o.code, Some(2));
}

// go-test: TestNoHelperGoroutines (crash_test.go)
// Adapted: a pending AfterFunc(1h) stands for Go's finalizer and timer
// helpers: the dump shows exactly one goroutine, goroutine 1.
#[test]
fn test_no_helper_goroutines() {
    let o = child("no_helper_goroutines");
    let headers: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| l.starts_with("goroutine ") && l.contains(" ["))
        .collect();
    assert_eq!(headers.len(), 1, "{}", o.stderr);
    assert!(headers[0].starts_with("goroutine 1 ["), "{}", o.stderr);
    assert_eq!(o.code, Some(2));
}

/// `GODEBUG=scheddetail=1` adds Go's per-P, per-M and per-G lines, with
/// `nil` for an absent link (as Go's schedtrace prints it).
#[test]
fn godebug_scheddetail_prints_p_m_g_lines() {
    let o = child_env("schedtrace", &[("GODEBUG", "schedtrace=10,scheddetail=1")]);
    let has = |prefix: &str, fields: &[&str]| {
        o.stderr
            .lines()
            .any(|l| l.starts_with(prefix) && fields.iter().all(|f| l.contains(f)))
    };
    assert!(
        has(
            "  P0: status=",
            &[
                " schedtick=",
                " syscalltick=",
                " m=",
                " runqsize=",
                " timerslen="
            ]
        ),
        "{}",
        o.stderr
    );
    assert!(has("  P1: status=", &[" m="]), "{}", o.stderr);
    assert!(
        has(
            "  M0: p=",
            &[" curg=", " locks=", " spinning=", " blocked=", " lockedg="]
        ),
        "{}",
        o.stderr
    );
    // The main goroutine sleeps: off any M, so both of its links are nil.
    assert!(
        has("  G1: status=4(sleep) m=nil lockedm=nil", &[]),
        "{}",
        o.stderr
    );
    assert_eq!(o.code, Some(0), "{}", o.stderr);
}

/// `GODEBUG=schedtrace=X` prints Go's SCHED line every X ms (sysmon keeps
/// ticking for it even when every P is idle, as in Go).
#[test]
fn godebug_schedtrace_prints_sched_lines() {
    let o = child_env("schedtrace", &[("GODEBUG", "schedtrace=10")]);
    let lines: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| l.starts_with("SCHED "))
        .collect();
    assert!(lines.len() >= 3, "{}", o.stderr);
    assert!(
        lines[0].starts_with("SCHED 0ms: gomaxprocs=2 idleprocs="),
        "{}",
        lines[0]
    );
    for l in &lines {
        for field in [
            " threads=",
            " spinningthreads=",
            " idlethreads=",
            " runqueue=",
            " schedticks=[ ",
        ] {
            assert!(l.contains(field), "{l}");
        }
    }
    assert_eq!(o.code, Some(0), "{}", o.stderr);
}

/// SIGQUIT dumps every goroutine as Go does and exits 2: each blocked
/// goroutine appears once, with Go's wait reason.
#[test]
fn sigquit_dumps_every_goroutine() {
    let o = child("sigquit");
    let lines: Vec<&str> = o.stderr.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some("SIGQUIT: quit"),
        "{}",
        o.stderr
    );
    assert!(
        lines.get(1).is_some_and(|l| l.starts_with("PC=0x")),
        "{}",
        o.stderr
    );
    let headers: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("goroutine "))
        .collect();
    // Every goroutine once: main and the five blocked ones.
    let mut ids: Vec<u64> = headers.iter().map(|l| goroutine_header_id(l)).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        ids.len(),
        headers.len(),
        "a goroutine appears twice:\n{}",
        o.stderr
    );
    assert_eq!(headers.len(), 6, "{}", o.stderr);
    for want in [
        "[chan receive]:",
        "[sync.Mutex.Lock]:",
        "[sleep]:",
        "[select]:",
        "[select (no cases), locked to thread]:",
    ] {
        assert!(
            headers.iter().any(|l| l.ends_with(want)),
            "no goroutine {want}\n{}",
            o.stderr
        );
    }
    // Each goroutine's frames follow its header (the dump thread walks
    // them; the handler itself only writes the first lines), down to the
    // test's own closures, and a sleeper shows the sleep call.
    for (i, l) in lines.iter().enumerate() {
        if !l.starts_with("goroutine ") {
            continue;
        }
        let frames: Vec<&str> = lines[i + 1..]
            .iter()
            .copied()
            .take_while(|f| !f.is_empty())
            .collect();
        assert!(
            frames.len() >= 2 && frames.len().is_multiple_of(2),
            "{l} has no frames:\n{}",
            o.stderr
        );
        assert!(
            frames.iter().any(|f| f.starts_with("crash::run_case::")),
            "{l}: the walk reaches the goroutine's own code:\n{}",
            o.stderr
        );
        if l.ends_with("[sleep]:") {
            assert_eq!(frames[0], "gort::time::sleep()", "{}", o.stderr);
        }
    }
    assert_eq!(o.code, Some(2), "{}", o.stderr);
}

/// An unrecovered panic prints the panicking goroutine's frames as Go does
/// (`function()`, then a tab, `file:line +0x<offset>`), from the panic site
/// down, without the panic machinery or the runtime's plumbing.
#[test]
fn panic_prints_the_goroutine_frames() {
    let o = child("panic_goroutine");
    let lines: Vec<&str> = o.stderr.lines().collect();
    let h = lines
        .iter()
        .position(|l| l.starts_with("goroutine ") && l.ends_with("[running]:"))
        .unwrap_or_else(|| panic!("no header:\n{}", o.stderr));
    let func = lines.get(h + 1).copied().unwrap_or("");
    let loc = lines.get(h + 2).copied().unwrap_or("");
    assert!(
        func.starts_with("crash::") && func.ends_with("()"),
        "{}",
        o.stderr
    );
    assert!(
        loc.starts_with('\t')
            && loc.contains("crates/gort/tests/crash.rs:")
            && loc.contains(" +0x"),
        "{}",
        o.stderr
    );
    assert!(!o.stderr.contains("core::panicking"), "{}", o.stderr);
    assert!(!o.stderr.contains("runtime_p::"), "{}", o.stderr);
    assert_eq!(o.code, Some(2));
}

/// Tracebacks of a binary without symbols (`strip = true`; the
/// `release-stripped` profile): each frame is `???()` and the object with
/// the offset in it that `addr2line` takes, one line says how to get
/// names, and `created by` keeps the creating function and the `go`
/// statement's line, which the compiler records in every build. With
/// symbols, no such line.
#[test]
fn stripped_binary_prints_addresses_and_a_hint() {
    let has_symbols = self_backtrace().contains("symbol_probe");
    let o = child("deadlock");
    expect(
        &o,
        &["fatal error: all goroutines are asleep - deadlock!", ""],
        2,
    );
    let hints = o.stderr.matches("(frames without names: ").count();
    if has_symbols {
        assert_eq!(hints, 0, "{}", o.stderr);
        return;
    }
    assert_eq!(hints, 1, "{}", o.stderr);
    let lines: Vec<&str> = o.stderr.lines().collect();
    let unnamed = lines.iter().position(|l| *l == "???()").expect("a frame");
    assert!(
        lines[unnamed + 1].starts_with('\t')
            && lines[unnamed + 1].contains("crash-")
            && lines[unnamed + 1].contains(" +0x"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("\ncreated by crash::run_case::{{closure}} in goroutine 1\n\tcrates/gort/tests/crash.rs:"),
        "{}",
        o.stderr
    );
}

/// `GOTRACEBACK=none`: Go prints only the panic line.
#[test]
fn gotraceback_none_prints_only_the_panic() {
    let o = child_env("main_goroutine_id", &[("GOTRACEBACK", "none")]);
    assert_eq!(o.stderr, "panic: test\n");
    assert_eq!(o.code, Some(2));
}

/// `GOTRACEBACK=none` after a fault (issue 20): Go prints the panic and
/// its `[signal …]` line and nothing after them.
#[test]
fn gotraceback_none_after_a_fault() {
    let o = child_env("fault_nil", &[("GOTRACEBACK", "none")]);
    let lines: Vec<&str> = o.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", o.stderr);
    assert_eq!(
        lines[0],
        "panic: runtime error: invalid memory address or nil pointer dereference"
    );
    // (`[signal sys: trap: fault write …]` on the Plan 9 layer.)
    assert!(lines[1].starts_with("[signal "), "{}", o.stderr);
    assert!(o.stderr.ends_with("]\n"));
    assert_eq!(o.code, Some(2));
}

/// `GOTRACEBACK=all`: a panic shows every goroutine, not only the one that
/// panicked (the default, `single`).
#[test]
fn gotraceback_all_shows_every_goroutine() {
    let single = child("panic_goroutine");
    assert!(
        !single.stderr.contains("goroutine 1 ["),
        "{}",
        single.stderr
    );
    let o = child_env("panic_goroutine_1p", &[("GOTRACEBACK", "all")]);
    expect(&o, &["panic: in goroutine", ""], 2);
    let lines: Vec<&str> = o.stderr.lines().collect();
    let main = lines
        .iter()
        .position(|l| *l == "goroutine 1 [chan receive]:")
        .unwrap_or_else(|| panic!("main is not listed:\n{}", o.stderr));
    assert!(
        lines
            .get(main + 1)
            .is_some_and(|f| f.starts_with("crash::run_case::")),
        "main's frames follow its header:\n{}",
        o.stderr
    );
}

/// `GOTRACEBACK=crash`: the full report, then death by SIGABRT (so that a
/// core dump can be kept), as Go's `crash` does.
#[test]
fn gotraceback_crash_aborts() {
    let o = child_env("panic_goroutine_1p", &[("GOTRACEBACK", "crash")]);
    assert!(
        o.stderr.starts_with("panic: in goroutine\n\ngoroutine "),
        "{}",
        o.stderr
    );
    // At this level Go's headers name the G and its M (`gp=… m=nil`).
    assert!(
        o.stderr
            .lines()
            .any(|l| l.starts_with("goroutine 1 gp=0x") && l.ends_with(" m=nil [chan receive]:")),
        "{}",
        o.stderr
    );
    assert_eq!(o.code, None, "{}", o.stderr);
    assert_eq!(o.signal, Some(libc::SIGABRT), "{}", o.stderr);
    let f = child_env("deadlock", &[("GOTRACEBACK", "crash")]);
    assert!(
        f.stderr
            .starts_with("fatal error: all goroutines are asleep - deadlock!"),
        "{}",
        f.stderr
    );
    assert_eq!(f.signal, Some(libc::SIGABRT), "{}", f.stderr);
}

/// A fault that is not a stack overflow is reported as Go's sigpanic
/// reports it, never as silent death: a nil dereference as the runtime
/// error panic, any other address as `unexpected fault address`.
#[test]
fn faults_are_reported_like_go() {
    let o = child("fault_nil");
    let lines: Vec<&str> = o.stderr.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some("panic: runtime error: invalid memory address or nil pointer dereference"),
        "{}",
        o.stderr
    );
    // Go on Linux names the signal; Go on Plan 9 (and gort's os-plan9
    // layer) quotes the note.
    let plan9 = std::env::var("GORT_OS").as_deref() == Ok("plan9");
    let (sig_nil, sig_far) = if plan9 {
        (
            "[signal sys: trap: fault write code=0x0 addr=0x8 pc=0x",
            "[signal sys: trap: fault write code=0x0 addr=0x7000dead0000 pc=0x",
        )
    } else {
        (
            "[signal SIGSEGV: segmentation violation code=0x1 addr=0x8 pc=0x",
            "[signal SIGSEGV: segmentation violation code=0x1 addr=0x7000dead0000 pc=0x",
        )
    };
    assert!(
        lines
            .get(1)
            .is_some_and(|l| l.starts_with(sig_nil) && l.ends_with(']')),
        "{}",
        o.stderr
    );
    assert_eq!(lines.get(2).copied(), Some(""), "{}", o.stderr);
    let header = lines.get(3).copied().unwrap_or("");
    assert!(
        header.ends_with(" [running]:") && goroutine_header_id(header) != 1,
        "{}",
        o.stderr
    );
    // As a panic: the goroutine's frames and `created by`, and no other
    // goroutine (GOTRACEBACK=single).
    assert!(
        lines
            .get(4)
            .is_some_and(|l| l.starts_with("crash::run_case::")),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("\ncreated by crash::run_case::"),
        "{}",
        o.stderr
    );
    assert!(!o.stderr.contains("goroutine 1 ["), "{}", o.stderr);
    assert_eq!(o.code, Some(2), "{}", o.stderr);

    let f = child("fault_far");
    let lines: Vec<&str> = f.stderr.lines().collect();
    assert_eq!(
        &lines[..2],
        [
            "unexpected fault address 0x7000dead0000",
            "fatal error: fault"
        ],
        "{}",
        f.stderr
    );
    assert!(
        lines.get(2).is_some_and(|l| l.starts_with(sig_far)),
        "{}",
        f.stderr
    );
    // As a throw: the goroutine's frames, then every other goroutine.
    assert!(f.stderr.contains("\ngoroutine 1 ["), "{}", f.stderr);
    assert_eq!(f.code, Some(2), "{}", f.stderr);
}

/// A socket registered with one runtime instance's poller and waited on by
/// a goroutine of another is a fatal runtime error with a clear message
/// (the other instance's Ms would run the woken goroutine), as sharing
/// channels between instances is. Without a poller (Plan 9) the socket is a
/// plain blocking descriptor and the case does not arise.
#[test]
fn socket_of_another_instance_is_fatal() {
    if std::env::var("GORT_OS").as_deref() == Ok("plan9") {
        return;
    }
    let o = child("net_cross_instance");
    assert!(
        o.stderr
            .contains("sockets must not be shared between runtime instances"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr
            .contains("fatal error: netpoll: descriptor of another runtime instance"),
        "{}",
        o.stderr
    );
    assert_eq!(o.code, Some(2), "{}", o.stderr);
}

// go-test: TestSpuriousWakeupsNeverHangSemasleep (semasleep_test.go)
// Go's bound is the test binary's deadline; here 20 s after the child is
// ready, past which the child gets SIGQUIT (for its dump) and the test
// fails, as Go's does after at least 2 s.
#[test]
fn test_spurious_wakeups_never_hang_semasleep() {
    use std::io::Read;
    use std::time::{Duration, Instant};
    let before_start = Instant::now();
    let mut c = test_child::Child::test("child_entry")
        .env(CASE_VAR, "after1")
        .spawn();
    // Wait for After1 to close its stdout, so that we know its signal
    // handlers are in place.
    let mut b = Vec::new();
    c.stdout.take().unwrap().read_to_end(&mut b).unwrap();
    assert!(
        String::from_utf8_lossy(&b).contains("ready"),
        "the child did not get ready: {}",
        String::from_utf8_lossy(&b)
    );
    let ready = Instant::now();
    let pid = c.id() as libc::pid_t;
    let mut signaled = 0;
    loop {
        if let Some(st) = c.try_wait().unwrap() {
            let mut err = String::new();
            c.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            assert!(
                st.success(),
                "The program returned but unfortunately with an error: {st}\n{err}"
            );
            assert!(
                before_start.elapsed() >= Duration::from_secs(1),
                "The program stopped too quickly."
            );
            assert!(signaled > 0, "the child was never signalled");
            return;
        }
        if ready.elapsed() > Duration::from_secs(20) {
            // SAFETY: signals our own child.
            unsafe { libc::kill(pid, libc::SIGQUIT) };
            let out = c.wait_with_output().unwrap();
            panic!(
                "program failed to return on time and has to be killed (signalled {signaled} times, waited {:?}), issue #27520 still exists\n{}",
                ready.elapsed(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // Send the pesky signal that, unfixed, keeps a timed sleep from
        // ever reaching its end.
        // SAFETY: signals our own child.
        unsafe { libc::kill(pid, libc::SIGIO) };
        signaled += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Reads a spawned child's stdout up to the line that ends in `marker`
/// (after libtest's own "test child_entry ... ", which has no newline of
/// its own), and returns the reader for the rest. Fails with the child's
/// stderr if its stdout ends first.
fn wait_ready(
    c: &mut std::process::Child,
    marker: &str,
) -> std::io::BufReader<std::process::ChildStdout> {
    use std::io::{BufRead, Read};
    let mut out = std::io::BufReader::new(c.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            let mut err = String::new();
            c.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            panic!("the child ended before it was ready:\n{err}");
        }
        if line.trim_end().ends_with(marker) {
            return out;
        }
    }
}

/// A program whose main goroutine returns while signals arrive exits 0,
/// with its unterminated last line of output, though its runtime runs off
/// the process's main thread (here the test's thread): on Rust 1.95,
/// `std::process::exit` there frees the main thread's signal stack while
/// it is still registered (rust-lang/rust#161018), and a signal delivered
/// to the main thread before the process ends killed it with SIGSEGV
/// (test_spurious_wakeups_never_hang_semasleep, 1 run in 25). The signals
/// come every 200 µs, from before main returns until the process is gone.
#[test]
fn exit_under_signals_is_clean() {
    use std::io::Read;
    use std::time::Duration;
    for run in 0..50 {
        let mut c = test_child::Child::test("child_entry")
            .env(CASE_VAR, "exit_under_signals")
            .spawn();
        let mut stdout = wait_ready(&mut c, "ready");
        let pid = c.id() as libc::pid_t;
        let st = loop {
            if let Some(st) = c.try_wait().unwrap() {
                break st;
            }
            // SAFETY: signals our own child (not yet reaped: try_wait
            // found it running).
            unsafe { libc::kill(pid, libc::SIGIO) };
            std::thread::sleep(Duration::from_micros(200));
        };
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        let mut err = String::new();
        c.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        assert!(st.success(), "run {run}: {st}\n{err}");
        assert!(
            rest.ends_with("done, no newline"),
            "run {run}: stdout {rest:?}"
        );
    }
}

/// `gort::exit` (Go's `os.Exit`) from a goroutine: the status is the
/// code, and the unterminated line printed before it is not lost.
#[test]
fn exit_from_a_goroutine_keeps_the_status_and_output() {
    let o = child("exit_from_goroutine");
    assert_eq!(o.code, Some(3), "stderr:\n{}", o.stderr);
    assert!(o.stdout.contains("partial line"), "stdout: {:?}", o.stdout);
    assert!(!o.stderr.contains("unreachable"), "{}", o.stderr);
}

/// testprog's crashDumpsAllThreadsLoop.
#[inline(never)]
fn crash_dumps_all_threads_loop(_i: usize, c: gort::Chan<bool>) {
    c.close();
    loop {
        for j in 0..0x7fff_ffffu32 {
            std::hint::black_box(j);
        }
    }
}

// go-test: TestCrashDumpsAllThreads (crash_unix_test.go)
// Go's child tells it is ready through an extra pipe; here through a line
// on stdout. Go skips the test on Plan 9, and so does the Plan 9 layer.
// The migrating mode only: four goroutines that never yield, beside a
// main that must still run, need Go's preemption or the migrating mode's
// retake; in the safe mode they keep the Ps they run on (issue 21's
// documented outcome; tried with dedicated threads: one of them took the P
// of main's thread and main never ran again).
#[gort::test(migrating)]
unsafe fn test_crash_dumps_all_threads() {
    use std::io::Read;
    if std::env::var("GORT_OS").as_deref() == Ok("plan9") {
        return;
    }
    let mut c = test_child::Child::test("child_entry")
        .env(CASE_VAR, "crash_dumps_all_threads")
        .env("GORT_SCHED", "migrating")
        .env("GOTRACEBACK", "crash")
        .spawn();
    let _out = wait_ready(&mut c, "READY");
    // SAFETY: signals our own child.
    unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGQUIT) };
    let mut err = String::new();
    c.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let st = c.wait().unwrap();
    // We want to see a stack trace for each thread.
    let n = err.matches("crash_dumps_all_threads_loop(").count();
    assert_eq!(
        n, 4,
        "found {n} instances of crash_dumps_all_threads_loop; expected 4\n{err}"
    );
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&st),
        Some(libc::SIGABRT),
        "{err}"
    );
}

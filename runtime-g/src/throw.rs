//! `throw`, `fatal` and low-level printing: port of runtime.throw,
//! runtime.fatal and `fatalthrow` (panic.go) and of `print` (print.go).
//!
//! Output goes straight to fd 2 with `write(2)`, bypassing std's locked and
//! buffered `Stderr`, because these paths run when the runtime is broken:
//! possibly with locks held, possibly in a signal handler.

use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

/// What to print after `fatal error: <msg>`: the goroutine dump. Installed by
/// the scheduler (runtime-p), which knows all goroutines. Must not allocate
/// if `in_signal` is true.
pub type TracebackHook = fn(in_signal: bool);

static TRACEBACK: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());
/// Non-zero once some thread has started dying; later ones stop quietly so
/// the first report is not interleaved with others (Go's `panicking`).
pub static DYING: AtomicU32 = AtomicU32::new(0);

/// Installs the goroutine-dump hook used by [`throw`] and [`fatal_error`].
pub fn set_traceback_hook(h: TracebackHook) {
    TRACEBACK.store(h as *mut (), Ordering::Release);
}

/// Writes all of `b` to stderr with `write(2)`. Async-signal-safe.
pub fn write_stderr(mut b: &[u8]) {
    while !b.is_empty() {
        // SAFETY: writing from a valid slice to fd 2.
        let n = unsafe { libc::write(2, b.as_ptr().cast(), b.len()) };
        if n <= 0 {
            if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return;
        }
        b = &b[n as usize..];
    }
}

/// print: writes `s` to stderr unbuffered (Go's builtin print).
pub fn print(s: &str) {
    write_stderr(s.as_bytes());
}

/// The thread (Linux thread id) that won [`start_dying`], or 0.
static DYING_TID: core::sync::atomic::AtomicI64 = core::sync::atomic::AtomicI64::new(0);

/// Claims the right to report a fatal condition; losers sleep forever while
/// the winner prints and exits. The winner itself coming back here (a
/// fault while it prints its report) cannot wait for itself: as Go's
/// startpanic_m does when printing fails, it says the stack trace is
/// unavailable and exits with status 4. Async-signal-safe.
pub fn start_dying() {
    // SAFETY: gettid has no preconditions and is async-signal-safe.
    let me = unsafe { libc::syscall(libc::SYS_gettid) } as i64;
    if DYING.fetch_add(1, Ordering::AcqRel) != 0 {
        if DYING_TID.load(Ordering::Acquire) == me {
            write_stderr(b"stack trace unavailable\n");
            // SAFETY: _exit ends the process at once; nothing else is safe
            // from here.
            unsafe { libc::_exit(4) };
        }
        loop {
            // SAFETY: plain sleep; another thread is exiting the process.
            unsafe { libc::pause() };
        }
    }
    DYING_TID.store(me, Ordering::Release);
}

/// Runs the installed traceback hook, if any.
pub fn traceback(in_signal: bool) {
    let h = TRACEBACK.load(Ordering::Acquire);
    if !h.is_null() {
        // SAFETY: only set_traceback_hook stores here, from a TracebackHook.
        let f: TracebackHook = unsafe { core::mem::transmute::<*mut (), TracebackHook>(h) };
        f(in_signal);
    }
}

/// Writes out buffered output before a fatal report: a hook the scheduler
/// installs (std's stdout buffer, flushed with a bounded wait). Not for
/// signal handlers.
static FLUSH: core::sync::atomic::AtomicPtr<()> =
    core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());

/// Installs the hook [`fatal_error`] calls before its first line.
pub fn set_flush_hook(f: fn()) {
    FLUSH.store(f as *mut (), Ordering::Release);
}

fn flush_before_fatal() {
    let h = FLUSH.load(Ordering::Acquire);
    if !h.is_null() {
        // SAFETY: only set_flush_hook stores here, from a `fn()`.
        let f: fn() = unsafe { core::mem::transmute::<*mut (), fn()>(h) };
        f();
    }
}

/// Whether fatal conditions end with SIGABRT (`GOTRACEBACK=crash`) instead
/// of exit status 2. Set at start-up, read from signal handlers.
static CRASH: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Records `GOTRACEBACK=crash` for [`exit_fatal`].
pub fn set_crash_on_fatal(crash: bool) {
    CRASH.store(crash, Ordering::Release);
}

/// Whether `GOTRACEBACK=none` (level 0) is in force, for the signal
/// handlers (which cannot read the environment). Set by the scheduler at
/// start-up.
static NO_TRACEBACK: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Records whether `GOTRACEBACK=none` is in force (see [`no_traceback`]).
pub fn set_no_traceback(none: bool) {
    NO_TRACEBACK.store(none, Ordering::Release);
}

/// `GOTRACEBACK=none`: reports print no goroutine. Async-signal-safe.
pub fn no_traceback() -> bool {
    NO_TRACEBACK.load(Ordering::Acquire)
}

/// The end of every fatal report: exit status 2, or with
/// `GOTRACEBACK=crash` death by SIGABRT (Go's `crash`), so that the
/// system can keep a core dump. Async-signal-safe.
pub fn exit_fatal() -> ! {
    if CRASH.load(Ordering::Acquire) {
        // SAFETY: restoring the default action and raising a signal are
        // async-signal-safe; unblock it in case we run in a handler that
        // masks it.
        unsafe {
            libc::signal(libc::SIGABRT, libc::SIG_DFL);
            let mut set: libc::sigset_t = core::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGABRT);
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, core::ptr::null_mut());
            libc::raise(libc::SIGABRT);
        }
    }
    exit(2)
}

/// Exits the process immediately with `code`, without running destructors
/// or atexit handlers (Go's `exit`).
pub fn exit(code: i32) -> ! {
    // SAFETY: _exit is always safe to call; it does not return.
    unsafe { libc::_exit(code) }
}

/// throw: port of runtime.throw (panic.go). Reports an internal runtime
/// error — a broken invariant — and exits with status 2. Not recoverable.
#[cold]
#[inline(never)]
pub fn throw(s: &str) -> ! {
    die(s, true)
}

/// Set by [`throw`] (Go's `throwTypeRuntime`), not by [`fatal_error`]
/// (`throwTypeUser`): a runtime throw on the scheduler's stack prints
/// Go's `runtime stack:` section.
static THROW_RUNTIME: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Whether the fatal error being reported is a runtime [`throw`].
pub fn throwing_runtime() -> bool {
    THROW_RUNTIME.load(Ordering::Acquire)
}

/// fatal: port of runtime.fatal (panic.go). Reports a fatal condition the
/// user caused (deadlock, misuse of sync types) the same way: `fatal error:
/// <msg>`, a blank line, the goroutine dump, exit status 2.
#[cold]
#[inline(never)]
pub fn fatal_error(s: &str) -> ! {
    die(s, false)
}

/// The report of [`throw`] (`runtime`) and [`fatal_error`].
#[cold]
#[inline(never)]
fn die(s: &str, runtime: bool) -> ! {
    start_dying();
    // Only the thread that won start_dying gets here.
    THROW_RUNTIME.store(runtime, Ordering::Release);
    // What the program printed before goes out first, as it does in Go,
    // whose output is unbuffered.
    flush_before_fatal();
    print("fatal error: ");
    print(s);
    print("\n");
    traceback(false);
    exit_fatal()
}

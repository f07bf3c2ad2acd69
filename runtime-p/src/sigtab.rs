//! The part of Go's signal table (sigtab_linux_generic.go) and `initsig`
//! (signal_unix.go) for the signals Go marks notify-only: Go installs its
//! handler for them at start-up, and its `sighandler` drops such a signal
//! when no `signal.Notify` asked for it, so a Go program survives a stray
//! SIGIO or SIGUSR1 that would end a C program. The signals Go ends the
//! program on (SIGHUP, SIGINT, SIGTERM) keep their default action, which
//! ends it the same way (Go re-raises them with the default action:
//! `dieFromSignal`).

/// The notify-only signals of Go's Linux table whose default action ends
/// the process (the others, such as SIGCHLD, SIGURG and SIGWINCH, are
/// ignored by default already). SIGPIPE is handled with writes
/// (`panic.rs`), as Go's `sigpipe` is.
pub const NOTIFY_ONLY: [libc::c_int; 9] = [
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGALRM,
    libc::SIGXCPU,
    libc::SIGXFSZ,
    libc::SIGVTALRM,
    libc::SIGPROF,
    libc::SIGIO,
    libc::SIGPWR,
];

/// The first and last real-time signals in Go's table as notify-only (32
/// to 34 are the C library's own).
const RT_FIRST: libc::c_int = 35;
const RT_LAST: libc::c_int = 64;

/// The handler: Go's `sighandler` for a notify-only signal that nothing
/// asked for does nothing. Async-signal-safe (it does nothing).
extern "C" fn sighandler_ignore(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {}

/// initsig (signal_unix.go), for [`NOTIFY_ONLY`] and the real-time
/// signals: installs the handler where the signal still has its default
/// action, with `SA_RESTART` as Go does, so that an interrupted system
/// call resumes. Go's program (not a library) replaces any handler it
/// finds; gort is embedded in Rust programs, so it keeps one the program
/// installed first, as Go does when it is a library (`isarchive`).
pub fn install_notify_handlers() {
    for sig in NOTIFY_ONLY.into_iter().chain(RT_FIRST..=RT_LAST) {
        // SAFETY: sigaction is plain old data; we read the current action
        // and, if it is the default, install a handler with the
        // SA_SIGINFO signature that touches nothing.
        unsafe {
            let mut old: libc::sigaction = core::mem::zeroed();
            if libc::sigaction(sig, core::ptr::null(), &mut old) != 0 {
                continue;
            }
            let mut sa: libc::sigaction = core::mem::zeroed();
            sa.sa_sigaction = sighandler_ignore as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            // Asked for already (gort::signal): this is what the signal
            // gets back when the program stops asking.
            if crate::sigqueue::install_under_notify(sig, &sa) || old.sa_sigaction != libc::SIG_DFL
            {
                continue;
            }
            libc::sigaction(sig, &sa, core::ptr::null_mut());
        }
    }
}

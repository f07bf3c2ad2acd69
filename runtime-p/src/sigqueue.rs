//! The runtime side of `os/signal`: a port of runtime/sigqueue.go.
//!
//! A signal that a program asked for (`signal_enable`) is caught by
//! [`sighandler_notify`], which queues it with [`sigsend`]: a bit in
//! `MASK`, then a wake-up of the receiver. The receiver, [`signal_recv`],
//! runs on one thread of the process (gort's `signal` module starts it)
//! and hands each signal to the channels that asked for it.
//!
//! ## Protocol (Go's)
//! `STATE` is `IDLE`, `RECEIVING` (the receiver sleeps on the note, or is
//! about to) or `SENDING` (a sender queued bits while the receiver was
//! not asleep). A sender first sets its bit in `MASK` (CAS), then moves
//! the state: `IDLE → SENDING`, or `RECEIVING → IDLE` and wakes the note;
//! `SENDING` needs nothing more. The receiver, with no bit of its own left,
//! moves `IDLE → RECEIVING` and sleeps until woken, or `SENDING → IDLE`;
//! either way it then takes every bit of `MASK` (swap with 0). So a bit
//! set before a state move is seen by the receiver's swap that follows
//! its own move, and a receiver never sleeps while a sender has moved the
//! state past its own. Every step is a sequentially consistent atomic, as
//! in Go. loom model: `tests/loom_sigqueue.rs` (and a broken twin whose
//! sender stores `IDLE` without the CAS, losing a wake-up).
//!
//! Differences from Go: the note is a futex word of its own rather than
//! runtime-m's `Note`, because the receiver is a plain thread (the signal
//! module serves every runtime of the process, and works with none),
//! which has no M to sleep on. The handlers chain nothing: a signal the
//! program asked for is the program's.

use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicUsize, Ordering};

/// Signals 1..=64 (Linux's `_NSIG` is 65).
pub const NSIG: u32 = 65;
const WORDS: usize = NSIG.div_ceil(32) as usize;

const IDLE: u32 = 0;
const RECEIVING: u32 = 1;
const SENDING: u32 = 2;

/// Signals queued for the receiver (`sig.mask`).
static MASK: [AtomicU32; WORDS] = [const { AtomicU32::new(0) }; WORDS];
/// Signals the program asked for (`sig.wanted`).
static WANTED: [AtomicU32; WORDS] = [const { AtomicU32::new(0) }; WORDS];
/// Signals the program ignores (`sig.ignored`).
static IGNORED: [AtomicU32; WORDS] = [const { AtomicU32::new(0) }; WORDS];
/// `sig.state`.
static STATE: AtomicU32 = AtomicU32::new(IDLE);
/// `sig.note`: 0 while nobody woke the receiver.
static NOTE: AtomicU32 = AtomicU32::new(0);
/// `sig.inuse`: set by the first `signal_enable`.
static INUSE: AtomicBool = AtomicBool::new(false);

/// Whether the program ever asked for a signal (Go's `sig.inuse`): from
/// then on a goroutine waiting for one is not deadlocked (`checkdead`).
pub fn in_use() -> bool {
    INUSE.load(Ordering::SeqCst)
}

fn word_bit(s: u32) -> (usize, u32) {
    ((s / 32) as usize, 1 << (s % 32))
}

/// sigsend: port of runtime.sigsend (sigqueue.go): queues signal `s` for
/// the receiver if the program asked for it; returns whether it did.
/// Async-signal-safe: atomics and one `futex` system call.
pub fn sigsend(s: u32) -> bool {
    if !INUSE.load(Ordering::SeqCst) || s >= NSIG {
        return false;
    }
    let (w, bit) = word_bit(s);
    if WANTED[w].load(Ordering::SeqCst) & bit == 0 {
        return false;
    }
    // Queue the bit; if it is queued already, the receiver will see it.
    let mut mask = MASK[w].load(Ordering::SeqCst);
    loop {
        if mask & bit != 0 {
            return true;
        }
        match MASK[w].compare_exchange(mask, mask | bit, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => break,
            Err(m) => mask = m,
        }
    }
    // Tell the receiver.
    loop {
        match STATE.load(Ordering::SeqCst) {
            IDLE => {
                if STATE
                    .compare_exchange(IDLE, SENDING, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    break;
                }
            }
            SENDING => break, // a wake-up is pending already
            RECEIVING => {
                if STATE
                    .compare_exchange(RECEIVING, IDLE, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    note_wakeup();
                    break;
                }
            }
            _ => runtime_g::throw::fatal_error("sigsend: inconsistent state"),
        }
    }
    true
}

/// The receiver's own copy of the queued bits (`sig.recv`); only the one
/// receiver thread touches it.
static RECV: [AtomicU32; WORDS] = [const { AtomicU32::new(0) }; WORDS];

/// signal_recv: port of os/signal.signal_recv (sigqueue.go): the next
/// signal queued by [`sigsend`], waiting for one. Called by one thread
/// only, the process's signal receiver.
pub fn signal_recv() -> u32 {
    loop {
        // A signal from the local copy first.
        for i in 0..NSIG {
            let (w, bit) = word_bit(i);
            let r = RECV[w].load(Ordering::Relaxed);
            if r & bit != 0 {
                RECV[w].store(r & !bit, Ordering::Relaxed);
                return i;
            }
        }
        // Wait for a sender.
        loop {
            match STATE.load(Ordering::SeqCst) {
                IDLE => {
                    if STATE
                        .compare_exchange(IDLE, RECEIVING, Ordering::SeqCst, Ordering::SeqCst)
                        .is_ok()
                    {
                        note_sleep();
                        NOTE.store(0, Ordering::SeqCst);
                        break;
                    }
                }
                SENDING => {
                    if STATE
                        .compare_exchange(SENDING, IDLE, Ordering::SeqCst, Ordering::SeqCst)
                        .is_ok()
                    {
                        break;
                    }
                }
                _ => runtime_g::throw::fatal_error("signal_recv: inconsistent state"),
            }
        }
        // Take what the senders queued.
        for (r, m) in RECV.iter().zip(&MASK) {
            r.store(m.swap(0, Ordering::SeqCst), Ordering::Relaxed);
        }
    }
}

/// Sleeps until [`note_wakeup`] (notetsleepg(&sig.note, -1)).
fn note_sleep() {
    while NOTE.load(Ordering::SeqCst) == 0 {
        // SAFETY: FUTEX_WAIT on a static word; returns at once if the
        // word is no longer 0, on a wake-up, or on a signal.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                NOTE.as_ptr(),
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                0u32,
                core::ptr::null::<libc::timespec>(),
            );
        }
    }
}

/// notewakeup(&sig.note). Async-signal-safe.
fn note_wakeup() {
    NOTE.store(1, Ordering::SeqCst);
    // SAFETY: FUTEX_WAKE on a static word wakes at most one waiter.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            NOTE.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            1i32,
        );
    }
}

/// The handler of the signals the program asked for (Go's `sighandler`
/// for a wanted signal: `sigsend`). A signal it does not queue (it came
/// while the program stopped asking) gets the action from before, as Go's
/// handler falls back to the default (`dieFromSignal`) or forwards it.
/// Async-signal-safe; keeps errno.
extern "C" fn sighandler_notify(
    sig: libc::c_int,
    info: *mut libc::siginfo_t,
    ctx: *mut libc::c_void,
) {
    // SAFETY: __errno_location is the thread's errno, valid here.
    let errno = unsafe { *libc::__errno_location() };
    if !sigsend(sig as u32) && (sig as u32) < NSIG {
        let s = sig as usize;
        // SAFETY: a zeroed sigaction with the saved handler and flags is a
        // valid description of the previous action; info and ctx are the
        // kernel's, passed on as chain_to requires.
        unsafe {
            let mut prev: libc::sigaction = core::mem::zeroed();
            prev.sa_sigaction = PREV_HANDLER[s].load(Ordering::Acquire);
            prev.sa_flags = PREV_FLAGS[s].load(Ordering::Acquire);
            runtime_g::signal::chain_to(Some(&prev), sig, info, ctx);
        }
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

/// The saved actions' handlers and flags, readable from a signal handler
/// (see [`SAVED`]); `SIG_DFL` (0) where nothing was saved.
static PREV_HANDLER: [AtomicUsize; NSIG as usize] = [const { AtomicUsize::new(0) }; NSIG as usize];
static PREV_FLAGS: [AtomicI32; NSIG as usize] = [const { AtomicI32::new(0) }; NSIG as usize];

/// Whether `sig`'s current action is gort's notify handler.
fn notify_installed(s: u32) -> bool {
    // SAFETY: reading the current action only.
    unsafe {
        let mut cur: libc::sigaction = core::mem::zeroed();
        libc::sigaction(s as libc::c_int, core::ptr::null(), &mut cur) == 0
            && cur.sa_sigaction == sighandler_notify as *const () as usize
    }
}

/// For the runtime's own handlers (the stray-signal handler, the SIGQUIT
/// dump, the Plan 9 layer's notes), installed at a runtime's start: if
/// the program asked for `sig` already, `sa` becomes the action the notify
/// handler falls back to and puts back at the end, instead of replacing
/// the notify handler. Returns whether it did (the caller then installs
/// nothing).
pub fn install_under_notify(sig: libc::c_int, sa: &libc::sigaction) -> bool {
    if sig <= 0 || sig as u32 >= NSIG {
        return false;
    }
    let mut saved = saved();
    if !notify_installed(sig as u32) {
        return false;
    }
    save(&mut saved, sig as u32, *sa);
    true
}

/// For an OS layer's start-up handlers (runtime-m's
/// `install_under_notify` hook): installs `sa` for `sig`, or, if the
/// program asked for `sig` already, makes `sa` what the notify handler
/// falls back to. Under the saved actions' lock, so that a concurrent
/// `signal_enable` cannot be overwritten. Returns true (it handled it).
pub fn install_or_under_notify(sig: libc::c_int, sa: &libc::sigaction) -> bool {
    if sig <= 0 || sig as u32 >= NSIG {
        return false;
    }
    let mut saved = saved();
    if notify_installed(sig as u32) {
        save(&mut saved, sig as u32, *sa);
    } else {
        // SAFETY: installing a valid action the OS layer built.
        unsafe { libc::sigaction(sig, sa, core::ptr::null_mut()) };
    }
    true
}

/// Registers [`install_or_under_notify`] as runtime-m's hook (at a
/// runtime's start and at the first `notify`, whichever comes first).
pub fn register_os_hook() {
    runtime_m::os::set_install_under_notify(install_or_under_notify);
}

/// Records `old` as `s`'s saved action (under `SAVED`'s lock).
fn save(saved: &mut [Option<SavedAction>; NSIG as usize], s: u32, old: libc::sigaction) {
    saved[s as usize] = Some(SavedAction(old));
    PREV_FLAGS[s as usize].store(old.sa_flags, Ordering::Release);
    PREV_HANDLER[s as usize].store(old.sa_sigaction, Ordering::Release);
}

/// The saved actions, under their lock.
fn saved() -> std::sync::MutexGuard<'static, [Option<SavedAction>; NSIG as usize]> {
    SAVED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Records `old`, the action a change replaced, as `s`'s saved one unless
/// one is saved already or `old` is the notify handler itself.
fn save_first(
    saved: &mut [Option<SavedAction>; NSIG as usize],
    s: u32,
    old: Option<libc::sigaction>,
) {
    if saved[s as usize].is_none()
        && let Some(old) = old
        && old.sa_sigaction != sighandler_notify as *const () as usize
    {
        save(saved, s, old);
    }
}

/// Puts back `s`'s saved action and forgets it, so that a later enable
/// saves whatever is current then (Go re-reads it each time).
fn restore(saved: &mut [Option<SavedAction>; NSIG as usize], s: u32) {
    if let Some(SavedAction(old)) = saved[s as usize].take() {
        // SAFETY: putting back an action read by sigaction.
        unsafe { libc::sigaction(s as libc::c_int, &old, core::ptr::null_mut()) };
    }
}

/// What a signal's action was before the program first asked for it, to
/// put back when it no longer does (`signal_disable`, `reset`): index
/// `s`, `None` until then. Written only under the signal module's lock.
static SAVED: std::sync::Mutex<[Option<SavedAction>; NSIG as usize]> =
    std::sync::Mutex::new([None; NSIG as usize]);

#[derive(Clone, Copy)]
struct SavedAction(libc::sigaction);

// SAFETY: a sigaction is plain data (a handler address and flags).
unsafe impl Send for SavedAction {}

fn set_action(s: u32, handler: usize) -> Option<libc::sigaction> {
    // SAFETY: sigaction with a zeroed struct filled in: a handler of the
    // SA_SIGINFO signature, SIG_IGN or SIG_DFL.
    unsafe {
        let mut sa: libc::sigaction = core::mem::zeroed();
        sa.sa_sigaction = handler;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        let mut old: libc::sigaction = core::mem::zeroed();
        if libc::sigaction(s as libc::c_int, &sa, &mut old) != 0 {
            return None;
        }
        Some(old)
    }
}

/// Signals the runtime keeps for itself: a program cannot ask for them
/// (Go refuses SIGKILL and SIGSTOP the same way, and its table does not
/// let `Notify` have the C library's 32-34; the others are the runtime's
/// faults and traps, SIGURG, with which gort::net interrupts a blocking
/// call at a deadline on the layer without a poller, and the crash
/// relay's SIGRTMAX-1).
fn reserved(s: u32) -> bool {
    let s = s as libc::c_int;
    s == libc::SIGKILL
        || s == libc::SIGSTOP
        || s == libc::SIGSEGV
        || s == libc::SIGBUS
        || s == libc::SIGFPE
        || s == libc::SIGILL
        || s == libc::SIGTRAP
        || s == libc::SIGSYS
        || s == libc::SIGURG
        || (32..=34).contains(&s)
        || s == libc::SIGRTMAX() - 1
        || s == 0
        || s >= NSIG as libc::c_int
}

/// signal_enable: port of os/signal.signal_enable: the program wants
/// signal `s` delivered; installs the handler. Returns false for a signal
/// that cannot be caught.
pub fn signal_enable(s: u32) -> bool {
    // OS layers install their start-up handlers under a notify.
    register_os_hook();
    if reserved(s) {
        return false;
    }
    let (w, bit) = word_bit(s);
    let mut saved = saved();
    // From now on sigsend queues (the receiver may not have started yet:
    // what it queues meanwhile waits for it).
    INUSE.store(true, Ordering::SeqCst);
    IGNORED[w].fetch_and(!bit, Ordering::SeqCst);
    WANTED[w].fetch_or(bit, Ordering::SeqCst);
    let old = set_action(s, sighandler_notify as *const () as usize);
    // Save what was there unless something is saved already: an earlier
    // ignore keeps the action from before it (after ignore, notify and
    // stop, the signal has its usual effect again, as in Go); a stop or a
    // reset forgot it, so this reads the action current now.
    save_first(&mut saved, s, old);
    true
}

/// signal_disable: port of os/signal.signal_disable: the program no
/// longer wants `s`; it gets the action it had before back (the default
/// action for SIGINT, say: the program then ends on it, as in Go).
pub fn signal_disable(s: u32) {
    if reserved(s) {
        return;
    }
    let (w, bit) = word_bit(s);
    let mut saved = saved();
    WANTED[w].fetch_and(!bit, Ordering::SeqCst);
    if IGNORED[w].load(Ordering::SeqCst) & bit == 0 {
        // A signal that arrives between the two steps finds WANTED clear
        // and gets the saved action from the handler (sighandler_notify).
        restore(&mut saved, s);
    }
}

/// signal_ignore: port of os/signal.signal_ignore: `s` is ignored
/// (`SIG_IGN`) and no longer delivered.
pub fn signal_ignore(s: u32) {
    if reserved(s) {
        return;
    }
    let (w, bit) = word_bit(s);
    let mut saved = saved();
    WANTED[w].fetch_and(!bit, Ordering::SeqCst);
    IGNORED[w].fetch_or(bit, Ordering::SeqCst);
    let old = set_action(s, libc::SIG_IGN);
    save_first(&mut saved, s, old);
}

/// Go's `sigpipe` rule for a write to standard output or error that
/// failed with EPIPE: whether the program handles SIGPIPE itself (it
/// ignored it, or asked for it, in which case it was just delivered);
/// otherwise the runtime ends the program by SIGPIPE.
pub fn sigpipe_handled() -> bool {
    let (w, bit) = word_bit(libc::SIGPIPE as u32);
    IGNORED[w].load(Ordering::SeqCst) & bit != 0 || sigsend(libc::SIGPIPE as u32)
}

/// signal_ignored: port of os/signal.signal_ignored: whether `s` is
/// ignored, by [`signal_ignore`] or because the process started with it
/// ignored (Go's `sigInitIgnored`: a `nohup`'d program's SIGHUP).
pub fn signal_ignored(s: u32) -> bool {
    if s == 0 || s >= NSIG {
        return false;
    }
    let (w, bit) = word_bit(s);
    if IGNORED[w].load(Ordering::SeqCst) & bit != 0 {
        return true;
    }
    if WANTED[w].load(Ordering::SeqCst) & bit != 0 || s == libc::SIGPIPE as u32 {
        // SIGPIPE: Rust's start-up ignores it, which is not the
        // program's doing (Go: not ignored unless the program said so).
        return false;
    }
    // SAFETY: reading the current action only.
    unsafe {
        let mut old: libc::sigaction = core::mem::zeroed();
        libc::sigaction(s as libc::c_int, core::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

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

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

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
/// for a wanted signal: `sigsend`). Async-signal-safe; keeps errno.
extern "C" fn sighandler_notify(sig: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: __errno_location is the thread's errno, valid here.
    let errno = unsafe { *libc::__errno_location() };
    sigsend(sig as u32);
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
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
/// (Go refuses SIGKILL and SIGSTOP the same way; the others are the
/// runtime's faults and the crash relay).
fn reserved(s: u32) -> bool {
    let s = s as libc::c_int;
    s == libc::SIGKILL
        || s == libc::SIGSTOP
        || s == libc::SIGSEGV
        || s == libc::SIGBUS
        || s == libc::SIGFPE
        || s == libc::SIGILL
        || s == libc::SIGRTMAX() - 1
        || s == 0
        || s >= NSIG as libc::c_int
}

/// signal_enable: port of os/signal.signal_enable: the program wants
/// signal `s` delivered; installs the handler. Returns false for a signal
/// that cannot be caught.
pub fn signal_enable(s: u32) -> bool {
    if reserved(s) {
        return false;
    }
    let (w, bit) = word_bit(s);
    let mut saved = SAVED.lock().unwrap_or_else(|e| e.into_inner());
    // From now on sigsend queues (the receiver may not have started yet:
    // what it queues meanwhile waits for it).
    INUSE.store(true, Ordering::SeqCst);
    IGNORED[w].fetch_and(!bit, Ordering::SeqCst);
    WANTED[w].fetch_or(bit, Ordering::SeqCst);
    let old = set_action(s, sighandler_notify as *const () as usize);
    if saved[s as usize].is_none()
        && let Some(old) = old
    {
        saved[s as usize] = Some(SavedAction(old));
    }
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
    let saved = SAVED.lock().unwrap_or_else(|e| e.into_inner());
    WANTED[w].fetch_and(!bit, Ordering::SeqCst);
    if IGNORED[w].load(Ordering::SeqCst) & bit == 0
        && let Some(SavedAction(old)) = saved[s as usize]
    {
        // SAFETY: putting back an action read by sigaction.
        unsafe { libc::sigaction(s as libc::c_int, &old, core::ptr::null_mut()) };
    }
}

/// signal_ignore: port of os/signal.signal_ignore: `s` is ignored
/// (`SIG_IGN`) and no longer delivered.
pub fn signal_ignore(s: u32) {
    if reserved(s) {
        return;
    }
    let (w, bit) = word_bit(s);
    let mut saved = SAVED.lock().unwrap_or_else(|e| e.into_inner());
    WANTED[w].fetch_and(!bit, Ordering::SeqCst);
    IGNORED[w].fetch_or(bit, Ordering::SeqCst);
    let old = set_action(s, libc::SIG_IGN);
    if saved[s as usize].is_none()
        && let Some(old) = old
    {
        saved[s as usize] = Some(SavedAction(old));
    }
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
    if WANTED[w].load(Ordering::SeqCst) & bit != 0 {
        return false;
    }
    // SAFETY: reading the current action only.
    unsafe {
        let mut old: libc::sigaction = core::mem::zeroed();
        libc::sigaction(s as libc::c_int, core::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

//! Incoming signals as channel values: a port of Go's `os/signal`
//! (signal.go, signal_unix.go), on the runtime side in
//! `runtime_p::sigqueue` (Go's sigqueue.go).
//!
//! [`notify`] asks for signals on a channel. Delivery follows Go: each
//! signal is sent without blocking, so a channel that is full misses it
//! (give it a buffer); a signal nobody asked for keeps its usual effect
//! (SIGINT and SIGTERM end the program). [`stop`] ends the deliveries to a
//! channel, [`ignore`] ignores signals, [`reset`] puts back their usual
//! effect. One thread of the process (`gort-signal`, started by the first
//! `notify`) receives every signal and sends it on, so this works from
//! any runtime and from plain threads.
//!
//! ```no_run
//! use gort::signal::{self, Signal};
//! gort::Builder::new().block_on(|| {
//!     let c = gort::Chan::new(1);
//!     signal::notify(&c, &[Signal::SIGINT, Signal::SIGTERM]);
//!     let s = c.recv().unwrap();
//!     println!("got {s}, shutting down");
//! });
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, Once};

use runtime_p::sigqueue::{self, NSIG};

use crate::chan::Chan;
use crate::context::{self, Context};

/// A signal number (Go's `syscall.Signal` as an `os.Signal`). It prints
/// as Go prints it: `interrupt`, `terminated`, `hangup`, …
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(pub i32);

impl Signal {
    /// SIGHUP (`hangup`).
    pub const SIGHUP: Signal = Signal(libc::SIGHUP);
    /// SIGINT (`interrupt`, Go's `os.Interrupt`).
    pub const SIGINT: Signal = Signal(libc::SIGINT);
    /// SIGQUIT (`quit`).
    pub const SIGQUIT: Signal = Signal(libc::SIGQUIT);
    /// SIGTERM (`terminated`).
    pub const SIGTERM: Signal = Signal(libc::SIGTERM);
    /// SIGUSR1 (`user defined signal 1`).
    pub const SIGUSR1: Signal = Signal(libc::SIGUSR1);
    /// SIGUSR2 (`user defined signal 2`).
    pub const SIGUSR2: Signal = Signal(libc::SIGUSR2);
    /// SIGPIPE (`broken pipe`).
    pub const SIGPIPE: Signal = Signal(libc::SIGPIPE);
    /// SIGALRM (`alarm clock`).
    pub const SIGALRM: Signal = Signal(libc::SIGALRM);
    /// SIGCHLD (`child exited`).
    pub const SIGCHLD: Signal = Signal(libc::SIGCHLD);
    /// SIGWINCH (`window changed`).
    pub const SIGWINCH: Signal = Signal(libc::SIGWINCH);
}

impl fmt::Display for Signal {
    /// Go's names (syscall's `signals` table for Linux).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            libc::SIGHUP => "hangup",
            libc::SIGINT => "interrupt",
            libc::SIGQUIT => "quit",
            libc::SIGILL => "illegal instruction",
            libc::SIGTRAP => "trace/breakpoint trap",
            libc::SIGABRT => "aborted",
            libc::SIGBUS => "bus error",
            libc::SIGFPE => "floating point exception",
            libc::SIGKILL => "killed",
            libc::SIGUSR1 => "user defined signal 1",
            libc::SIGSEGV => "segmentation fault",
            libc::SIGUSR2 => "user defined signal 2",
            libc::SIGPIPE => "broken pipe",
            libc::SIGALRM => "alarm clock",
            libc::SIGTERM => "terminated",
            libc::SIGSTKFLT => "stack fault",
            libc::SIGCHLD => "child exited",
            libc::SIGCONT => "continued",
            libc::SIGSTOP => "stopped (signal)",
            libc::SIGTSTP => "stopped",
            libc::SIGTTIN => "stopped (tty input)",
            libc::SIGTTOU => "stopped (tty output)",
            libc::SIGURG => "urgent I/O condition",
            libc::SIGXCPU => "CPU time limit exceeded",
            libc::SIGXFSZ => "file size limit exceeded",
            libc::SIGVTALRM => "virtual timer expired",
            libc::SIGPROF => "profiling timer expired",
            libc::SIGWINCH => "window changed",
            libc::SIGIO => "I/O possible",
            libc::SIGPWR => "power failure",
            libc::SIGSYS => "bad system call",
            n => return write!(f, "signal {n}"),
        };
        f.write_str(name)
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signal({}: {self})", self.0)
    }
}

/// Go's `handlers`: who wants which signal.
struct Handlers {
    /// Each channel's signals (`handler.mask`).
    m: HashMap<Chan<Signal>, [bool; NSIG as usize]>,
    /// How many channels want each signal (`handlers.ref`).
    refs: [u32; NSIG as usize],
}

static HANDLERS: Mutex<Option<Handlers>> = Mutex::new(None);

fn with_handlers<R>(f: impl FnOnce(&mut Handlers) -> R) -> R {
    let mut g = HANDLERS.lock().unwrap_or_else(|e| e.into_inner());
    let h = g.get_or_insert_with(|| Handlers {
        m: HashMap::new(),
        refs: [0; NSIG as usize],
    });
    f(h)
}

/// Go's `watchSignalLoop`: the thread that receives every signal the
/// program asked for and sends it on (`process`).
fn start_loop() {
    static LOOP: Once = Once::new();
    LOOP.call_once(|| {
        std::thread::Builder::new()
            .name("gort-signal".into())
            .spawn(|| {
                loop {
                    let s = sigqueue::signal_recv();
                    process(Signal(s as i32));
                }
            })
            .expect("cannot start the gort-signal thread");
    });
}

/// process: port of os/signal.process: sends `sig` to every channel that
/// asked for it, without blocking.
fn process(sig: Signal) {
    with_handlers(|h| {
        for (c, mask) in &h.m {
            if mask.get(sig.0 as usize).copied().unwrap_or(false) {
                let _ = c.try_send(sig);
            }
        }
    });
}

/// The signals `sigs` stands for: all catchable ones if it is empty.
fn signals(sigs: &[Signal]) -> Vec<usize> {
    if sigs.is_empty() {
        (1..NSIG as usize).collect()
    } else {
        sigs.iter()
            .filter(|s| s.0 > 0 && (s.0 as u32) < NSIG)
            .map(|s| s.0 as usize)
            .collect()
    }
}

/// Go's `signal.Notify`: from now on, each of `sigs` (every signal if
/// `sigs` is empty) that reaches the process is sent to `c`, without
/// blocking: a full channel misses it. Asking again for more signals adds
/// them. The runtime's own signals (faults, SIGKILL, SIGSTOP) cannot be
/// asked for.
pub fn notify(c: &Chan<Signal>, sigs: &[Signal]) {
    if c.is_nil() {
        panic!("os/signal: Notify using nil channel");
    }
    crate::builder::ensure_os_layer();
    start_loop();
    with_handlers(|h| {
        let mask = h.m.entry(c.clone()).or_insert([false; NSIG as usize]);
        let mut newly = Vec::new();
        for n in signals(sigs) {
            if !mask[n] {
                mask[n] = true;
                newly.push(n);
            }
        }
        for n in newly {
            if h.refs[n] == 0 && !sigqueue::signal_enable(n as u32) {
                // Not catchable: forget it.
                if let Some(m) = h.m.get_mut(c) {
                    m[n] = false;
                }
                continue;
            }
            h.refs[n] += 1;
        }
    });
}

/// Go's `signal.Stop`: no more signals are sent to `c` once this returns;
/// the signals nobody else asked for get their usual effect back.
pub fn stop(c: &Chan<Signal>) {
    with_handlers(|h| {
        let Some(mask) = h.m.remove(c) else {
            return;
        };
        for (n, &wanted) in mask.iter().enumerate() {
            if wanted {
                h.refs[n] -= 1;
                if h.refs[n] == 0 {
                    sigqueue::signal_disable(n as u32);
                }
            }
        }
    });
}

/// Go's `cancel`: `sigs` (all if empty) leave every channel, then `action`.
fn cancel(sigs: &[Signal], action: fn(u32)) {
    with_handlers(|h| {
        for n in signals(sigs) {
            for mask in h.m.values_mut() {
                mask[n] = false;
            }
            h.refs[n] = 0;
            action(n as u32);
        }
    });
}

/// Go's `signal.Ignore`: `sigs` (all if empty) are ignored from now on,
/// and no longer sent to any channel.
pub fn ignore(sigs: &[Signal]) {
    cancel(sigs, sigqueue::signal_ignore);
}

/// Go's `signal.Ignored`: whether `sig` is ignored, by [`ignore`] or
/// because the process started with it ignored (`nohup`).
pub fn ignored(sig: Signal) -> bool {
    sig.0 > 0 && sigqueue::signal_ignored(sig.0 as u32)
}

/// Go's `signal.Reset`: undoes [`notify`] for `sigs` (all if empty): they
/// get their usual effect back. As in Go, it does not undo an [`ignore`]
/// (Go's own tests note it; the cross-check pair `signal_notify` checks
/// it against Go).
pub fn reset(sigs: &[Signal]) {
    cancel(sigs, sigqueue::signal_disable);
}

/// The cause of a [`notify_context`] context that a signal ended (Go's
/// `signalError`): prints as `interrupt signal received`. Its context's
/// `err()` is [`context::Error::Canceled`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignalReceived(pub Signal);

impl fmt::Display for SignalReceived {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} signal received", self.0)
    }
}

impl std::error::Error for SignalReceived {}

/// Go's `signal.NotifyContext`: a context derived from `parent` that is
/// cancelled when one of `sigs` (any signal if empty) arrives, with a
/// [`SignalReceived`] cause, or when [`NotifyStop::stop`] is called. Its
/// signals keep being delivered to it until then; `stop` gives them
/// their usual effect back (a second SIGINT then ends the program, as in
/// Go).
///
/// # Panics
/// Outside a goroutine (the context's watcher is a goroutine).
#[track_caller]
pub fn notify_context(parent: &Context, sigs: &[Signal]) -> (Context, NotifyStop) {
    let names: Vec<String> = sigs.iter().map(Signal::to_string).collect();
    let suffix = if names.is_empty() {
        ")".to_string()
    } else {
        format!(", [{}])", names.join(" "))
    };
    let (ctx, cancel) =
        context::with_cancel_cause_named(parent, "signal.NotifyContext(".into(), suffix);
    let ch: Chan<Signal> = Chan::new(1);
    notify(&ch, sigs);
    if ctx.err().is_none() {
        let (c, k, ch2) = (ctx.clone(), cancel.clone(), ch.clone());
        crate::go(move || {
            crate::select! {
                recv(ch2) -> s => if let Some(s) = s {
                    k.cancel(Some(std::sync::Arc::new(SignalReceived(s))));
                },
                recv(c.done()) -> _v => {}
            }
        });
    }
    (ctx, NotifyStop { cancel, ch })
}

/// Stops a [`notify_context`] (Go's `stop` function): cancels its context
/// and stops its signals' delivery before it returns.
#[derive(Clone, Debug)]
pub struct NotifyStop {
    cancel: context::CancelCauseFunc,
    ch: Chan<Signal>,
}

impl NotifyStop {
    /// Cancels the context (`context canceled`, unless a signal or the
    /// parent ended it first) and stops the signals' delivery.
    pub fn stop(&self) {
        self.cancel.cancel(None);
        stop(&self.ch);
    }
}

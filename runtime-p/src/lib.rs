//! # runtime-p: processors and the scheduler
//!
//! Port of the P half of Go's runtime (go1.27 `runtime/proc.go`): the `p`
//! with its lock-free local run queue, the global run queue and free-G lists
//! of `schedt`, goroutine creation (`newproc`), the scheduler loop
//! (`schedule`, `findRunnable`, `execute`), parking (`gopark`, `goready`),
//! yielding (`Gosched`), goroutine exit (`Goexit`, `goexit0`) and deadlock
//! detection (`checkdead`), plus Go's report of unrecovered panics; and the
//! runtime services built on parking: channels and `select` (`chan.go`,
//! `select.go`, with `sudog`s), semaphores and notify lists (`sema.go`),
//! and timers (`time.go`).
//!
//! ## Vocabulary
//! - **P** — the right to run goroutines; it owns a run queue of 256 Gs and
//!   a `runnext` slot. An M needs a P to run user code; GOMAXPROCS is the
//!   number of Ps.
//! - **runnext** — a G made runnable by the running one (a new goroutine, a
//!   woken receiver) runs next and inherits the rest of the time slice; this
//!   is what makes a ping-pong between two goroutines cheap.
//! - **global queue** — overflow of the local queues, and where `Gosched`
//!   puts a goroutine; checked every 61 scheduler ticks for fairness.
//!
//! ## Design
//! - One instance ([`sched::Sched`]) per runtime, reached through the M.
//! - Owner-only state of a P lives in one `UnsafeCell` behind
//!   [`p::P::local`]; shared state is atomic.
//! - Every Rust panic is caught at the base of its goroutine; one that is
//!   not a [`proc::goexit`] ends the program as Go does (exit status 2).
//!
//! Ms come and go as in Go (`mp.rs`): idle Ms sleep on a note, `wakep`
//! starts a spinning M when new work appears and a P is idle, and spinning
//! Ms steal half of another P's queue.
#![deny(unsafe_op_in_unsafe_fn)]
#![allow(non_upper_case_globals)]

pub mod chan;
pub mod chan_async;
pub mod countdown;
pub mod gqueue;
pub mod kill;
pub mod lockosthread;
pub mod loom;
pub mod metrics;
pub mod mp;
pub mod netpoll;
pub mod outside;
pub mod p;
pub mod panic;
pub mod poolqueue;
pub mod proc;
pub mod procresize;
pub mod retake;
pub mod sched;
pub mod select;
pub mod sema;
pub mod sigqueue;
pub mod sigtab;
pub mod sudog;
pub mod syscall;
pub mod sysmon;
mod teardown;
pub mod time;
pub mod trace;
pub mod traceback;
pub mod waiter;

pub use proc::{
    GoexitUnwind, UnlockFn, block, goexit, gopark, goparkunlock, goready, gosched, newproc,
    preempt_check, require_entered, require_goroutine, run_goroutine_fn, start,
};
pub use sched::{Config, MainReturn, Sched, SchedMode, Signals, gcount, sched, try_sched};

/// Process-wide set-up, done once, by the first runtime: the scheduler
/// hook for mstart, the dump hook for throw, the panic hook, the dumper
/// thread, and the signal handlers `signals` asks for.
pub fn init_once(signals: Signals) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        runtime_m::set_schedule_hook(proc::mstart_schedule);
        runtime_g::throw::set_traceback_hook(traceback::traceback_hook);
        runtime_g::throw::set_flush_hook(panic::flush_stdout_bounded);
        panic::install_panic_hook();
        traceback::start_dumper();
        if signals.fault_handler {
            runtime_g::signal::install_stack_overflow_handler();
            traceback::install_sync_signal_handler();
        }
        if signals.sigquit_dump {
            traceback::install_sigquit_handler();
        }
        if signals.notify_signals {
            sigtab::install_notify_handlers();
        }
        runtime_g::throw::set_crash_on_fatal(panic::gotraceback().2);
        runtime_g::throw::set_no_traceback(panic::traceback_level() == 0);
    });
}

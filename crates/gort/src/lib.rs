//! # gort — Go's runtime, ported to Rust
//!
//! Goroutines for Rust programs, scheduled by a faithful port of Go's
//! runtime (go1.27 `runtime/proc.go` and friends): each goroutine has its own
//! stack and runs ordinary blocking-style Rust code; the scheduler multiplexes
//! them over OS threads with Go's algorithms — per-P run queues with
//! `runnext`, the global queue checked every 61 ticks, `gopark`/`goready` —
//! and Go's behaviour at the edges: the program ends when `main` returns, an
//! unrecovered panic prints `panic: …` and exits with status 2, a deadlock is
//! reported as `fatal error: all goroutines are asleep - deadlock!`.
//!
//! ```no_run
//! #[gort::main]
//! fn main() {
//!     let handles: Vec<_> = (0..1000u64).map(|i| gort::spawn(move || i * i)).collect();
//!     let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
//!     println!("{sum}");
//! }
//! ```
//!
//! ## Features
//! - [`spawn`] / [`go!`] / [`go()`]: start goroutines; [`JoinHandle`] for results.
//! - [`gosched`], [`goexit`], [`num_goroutine`]: Go's `runtime.Gosched`,
//!   `runtime.Goexit`, `runtime.NumGoroutine`.
//! - [`lock_os_thread`], [`unlock_os_thread`], [`set_max_threads`]: Go's
//!   `runtime.LockOSThread`, `runtime.UnlockOSThread`, `debug.SetMaxThreads`.
//! - [`Chan`], [`SendChan`], [`RecvChan`], [`select!`]: Go's channels and
//!   `select` (a port of `chan.go` and `select.go`).
//! - [`sync`]: Go's `Mutex` (with starvation mode), `RWMutex`, `WaitGroup`,
//!   `Once`, `Cond`, on the runtime's semaphores (`sema.go`).
//! - [`time`]: `sleep`, `Timer`, `Ticker`, `after`, `tick`, `after_func` on
//!   Go 1.23's timers (`time.go`).
//! - [`goroutine_local!`]: per-goroutine storage that follows the goroutine.
//! - [`runtime::metrics`]: goroutines, threads, Ps, run queues, context
//!   switches, steals, parks and timers of the running runtime.
//! - `instrument` (feature `tracing`): a `tracing` span per goroutine,
//!   entered while it runs, on the thread it runs on.
//! - [`net`]: TCP, UDP and Unix sockets whose operations park the goroutine
//!   (Go's network poller on epoll; blocking system calls on Plan 9).
//! - From outside goroutines: channels, `select!`, [`sync`] and timer
//!   channels work on plain threads (the thread blocks where a goroutine
//!   would park); async code awaits [`Chan::send_async`],
//!   [`Chan::recv_async`], [`JoinHandle`] and
//!   [`sync::WaitGroup::wait_async`] on any executor, woken through its
//!   `Waker`. [`Runtime`] and [`Handle`] let libraries and plain threads
//!   start goroutines.
//! - [`trace`]: a scheduler trace in Chrome trace-event JSON for Perfetto
//!   (`GORT_TRACE=out.json`, or `trace::start`/`trace::stop`).
//! - [`syscall::blocking`]: run thread-blocking code without stalling other
//!   goroutines (Go's `entersyscall`/`exitsyscall`, with sysmon's hand-off).
//! - [`Builder`]: GOMAXPROCS (also from the environment, with Go's rules) and
//!   the goroutine stack size; [`main`] and [`test`] attributes.
//! - Stacks of 8 MiB of address space, committed lazily, with guard pages
//!   that do not consume `vm.max_map_count`; an overflow is reported as Go
//!   reports one (`fatal error: stack overflow`, status 2).
//!
//! Goroutines run on several OS threads (Go's M:N scheduler with work
//! stealing, sysmon, cooperative preemption and the network poller), on
//! Linux or on a Plan 9 system-call personality; `docs/port-map.md` lists
//! what is ported.
//!
//! ## Soundness: two scheduler modes
//! **The safe mode (the default; no `unsafe` anywhere).** A goroutine that
//! has started running on an OS thread runs only on that thread until it
//! exits. Goroutines that have not started yet have no stack and no frames,
//! and move freely: they are stolen and balanced between threads as in Go.
//! A park is then, to everything tied to the thread, the same as a call
//! into other code on the same thread, which safe Rust already has to
//! tolerate: thread-locals, std's stdout lock and panic count, a
//! dependency's per-thread state and `!Send` values are all used on the
//! thread they belong to (the argument corosensei makes for its `!Send`
//! coroutines). What remains possible is re-entrancy, as with a callback:
//! a second goroutine on the same thread may find a `RefCell` borrowed or
//! re-enter std's re-entrant stdout lock; a data race or a use from the
//! wrong thread is not. Two cases need more than the rule:
//! - a goroutine that parks while a panic unwinds it (std counts panics per
//!   thread): its thread runs nothing else until it resumes;
//! - `lock_os_thread`, whose promise (no other goroutine on the thread)
//!   cannot hold when other goroutines have already started on the thread:
//!   it then panics, saying so; [`spawn_dedicated`] starts a goroutine on a
//!   thread of its own.
//!
//! [`spawn_local`] starts a goroutine from a `!Send` closure: it stays on
//! the caller's thread. [`syscall::blocking`] runs its closure on a helper
//! thread while the goroutine parks, so no thread of goroutines blocks.
//!
//! **The migrating mode (`unsafe`: [`Builder::migrating`],
//! `#[gort::main(migrating)] unsafe fn main`).** Go's exact scheduling: any
//! thread runs any goroutine after any park, and a woken goroutine runs
//! next on its waker's thread. rustc may compute a thread-local's address
//! once in a function's prologue and use it after a park
//! (rust-lang/rust#136044), so in this mode a function that may park must
//! not touch any thread-local before and after the park, its own or a
//! dependency's — including errno, std's stdout lock (never park inside a
//! `Display` or `Debug` that `print!` formats), std's panic count (a park
//! while unwinding is a fatal error here), a thread-local initialiser and
//! a panic hook. Common offenders: std `MutexGuard`s held across a park,
//! `tracing` span guards, `rand::ThreadRng`, crossbeam-epoch guards,
//! `Rc`s shared with thread-local state, another runtime's `block_on`.
//! [`goroutine_local!`] is the replacement for thread-locals in this mode:
//! its value belongs to the goroutine and moves with it.
//!
//! Queries never switch goroutines in either mode: `JoinHandle::is_finished`
//! (and so its `Debug`) and [`num_goroutine`]. The non-blocking channel
//! operations (`try_send`, `try_recv`, a [`select!`] with `default`) never
//! move their caller to another thread. In the migrating mode they are no
//! preemption points; a loop of them (or any loop that keeps its thread)
//! loses its P to sysmon after a time slice and, at its next runtime
//! call, waits for a P on that same thread while the others run. In the
//! safe mode they honour sysmon's request to yield (a goroutine that has
//! run for 10 ms): the caller keeps its thread, so that switch is as sound
//! as a call into other code, and it is the only way a loop spinning on
//! them (Go's `select` with `default`) lets the goroutines that share its
//! thread run.
//!
//! ## Panics
//! A Rust panic that escapes a goroutine ends the program as in Go:
//! `panic: <message>`, a blank line, `goroutine N [running]:`, status 2. A
//! panic caught with [`catch`] (Go's `recover`, with Go's panic chain:
//! `panic: first [recovered]`, [`Recovered::repanic`]) or with
//! `std::panic::catch_unwind` prints nothing. Tracebacks name every
//! goroutine's function and where it was started also in release builds
//! without debug info. This needs `panic = "unwind"` (the default); under
//! `panic = "abort"` Rust aborts first, and [`goexit`] cannot run
//! destructors.
#![deny(unsafe_op_in_unsafe_fn)]

mod builder;
// select! names the crate as `::gort`, also inside it.
extern crate self as gort;

pub mod chan;
pub mod context;
mod handle;
#[cfg(feature = "tracing")]
pub mod instrument;
mod joinset;
mod local;
pub mod net;
pub mod pprof;
mod recover;
mod rt;
pub mod runtime;
mod select;
mod select_dyn;
pub mod signal;
mod spawn;
pub mod sync;
pub mod syscall;
pub mod time;
pub mod trace;

pub use builder::{Builder, MAX_GOMAXPROCS, MainResult, OsLayer, default_gomaxprocs};
pub use chan::{Chan, RecvChan, RecvFuture, SendChan, SendFuture, TryRecvError, TrySendError};
pub use gort_macros::{main, test};
pub use handle::Handle;
pub use joinset::JoinSet;
pub use local::GoroutineLocal;
pub use recover::{Recovered, catch};
pub use rt::Runtime;
/// Go's `runtime.Error`: the payload of panics raised by the runtime
/// (`send on closed channel`, `close of closed channel`, `close of nil
/// channel`, `makechan: size out of range`).
pub use runtime_p::panic::RuntimeError;
pub use select_dyn::{SelectCase, Selected, select_dyn};

/// Panics with `v`'s `Display` text as the report's value, as Go prints a
/// panicking `error` (its `Error()`) or `Stringer`: `panic: <text>`. (A
/// plain `panic!("{v}")` prints the same; this keeps the value's own text
/// when the panic is caught and reported elsewhere, and mirrors
/// `panic(err)`.)
#[track_caller]
pub fn panic_display(v: impl std::fmt::Display) -> ! {
    std::panic::panic_any(runtime_p::panic::PanicValue(v.to_string()))
}

/// Panics with a value of a type of the program's own, printed as Go
/// prints one. A tuple struct (the form of Go's named type of a printable
/// kind, `type MyInt int`, around one value) prints as the type's path and
/// its `Debug` fields, `panic: my_crate::MyInt(93)` (Go: `panic:
/// main.MyInt(93)`); any other value as `panic: (<type>) <v:?>` (Go prints
/// the type and an address; the `Debug` text says more).
#[track_caller]
pub fn panic_debug<T: std::fmt::Debug>(v: T) -> ! {
    std::panic::panic_any(runtime_p::panic::PanicValue(debug_panic_text(&v)))
}

/// The text [`panic_debug`] raises.
fn debug_panic_text<T: std::fmt::Debug>(v: &T) -> String {
    let ty = std::any::type_name::<T>();
    let dbg = format!("{v:?}");
    // `MyInt(93)` from a type named `path::MyInt`: a tuple struct.
    let short = ty.rsplit("::").next().unwrap_or(ty);
    match dbg.strip_prefix(short) {
        Some(rest) if rest.starts_with('(') && !short.contains('<') => format!("{ty}{rest}"),
        _ => format!("({ty}) {dbg}"),
    }
}
pub use spawn::{
    JoinError, JoinHandle, MAX_STACK_SIZE, go, spawn, spawn_dedicated, spawn_local,
    spawn_with_stack_size,
};

/// Panics with gort's message when called outside a goroutine.
#[track_caller]
pub(crate) fn runtime_check(what: &str) {
    runtime_p::require_goroutine(what);
}

/// Yields the processor, allowing other goroutines to run: Go's
/// `runtime.Gosched`. The goroutine is not suspended; it goes to the global
/// run queue and resumes automatically.
///
/// In a `block_on` runtime whose main goroutine has returned, a yield
/// ends the goroutine as a park does (see [`Builder::block_on`]).
///
/// # Panics
/// Outside a goroutine of a gort runtime.
pub fn gosched() {
    runtime_p::gosched()
}

/// Ends the process with status `code` at once: Go's `os.Exit`. No
/// destructors of any goroutine's or thread's frames run (as Go runs no
/// deferred calls); std's stdout is flushed first, and C's `atexit`
/// handlers and the calling thread's thread-local destructors run, as with
/// [`std::process::exit`]. The flush waits for stdout's lock, where std's
/// exit gives up on it if another thread holds it.
///
/// Prefer it to `std::process::exit` in goroutines: from a thread other
/// than the process's main one (any M, in a runtime not started on the
/// main thread or in the migrating mode), std's exit frees the main
/// thread's signal stack while it is still in use (rust-lang/rust#161018,
/// up to Rust 1.95 at least), and a signal arriving before the process is
/// gone kills it with SIGSEGV instead.
///
/// Callable from any thread, in or out of a runtime.
pub fn exit(code: i32) -> ! {
    runtime_p::proc::exit_process(code)
}

/// Ends the calling goroutine: Go's `runtime.Goexit`. Destructors of its
/// frames run (as Go runs deferred calls) and other goroutines are not
/// affected. A [`JoinHandle`] of the goroutine then yields [`JoinError`].
/// If the main goroutine calls it, the program continues until all other
/// goroutines end and then fails with Go's message `fatal error: no
/// goroutines (main called runtime.Goexit) - deadlock!`.
///
/// # Panics
/// Outside a goroutine of a gort runtime.
pub fn goexit() -> ! {
    runtime_p::goexit()
}

/// Number of goroutines that currently exist: Go's `runtime.NumGoroutine`.
///
/// # Panics
/// Outside a goroutine of a gort runtime.
pub fn num_goroutine() -> usize {
    runtime_p::require_goroutine("num_goroutine");
    runtime_p::gcount(runtime_p::sched()) as usize
}

/// Sets the number of Ps — goroutines running Rust code at the same time —
/// and returns the previous number: Go's `runtime.GOMAXPROCS(n)`. With
/// `n == 0` it only reports the current number. Changing it stops the world
/// briefly; gort's preemption being cooperative, a goroutine that never
/// calls into gort delays the change until it does. Values above 1024 are
/// capped.
///
/// # Panics
/// Outside a goroutine of a gort runtime.
pub fn gomaxprocs(n: usize) -> usize {
    runtime_p::require_goroutine("gomaxprocs");
    runtime_p::preempt_check();
    runtime_p::procresize::set_gomaxprocs(n)
}

/// A dump of the calling goroutine (and with `all`, of every goroutine):
/// Go's `runtime.Stack`. Each goroutine appears as Go's header line,
/// `goroutine N [state]:`, its frames (`function()` then a tab,
/// `file:line +0x…`; runtime frames hidden unless `GOTRACEBACK=system`)
/// and Go's `created by F in goroutine N`. A goroutine running on another
/// thread cannot be walked without stopping it and is shown as Go shows
/// one: `goroutine running on other thread; stack unavailable`.
///
/// # Panics
/// Outside a goroutine of a gort runtime.
pub fn stack(all: bool) -> String {
    runtime_p::traceback::stack(all)
}

/// Identifier of the calling goroutine (1 is the main goroutine). Go hides
/// this number; gort exposes it because it appears in every report Go prints.
///
/// # Panics
/// Outside a goroutine of a gort runtime.
pub fn goid() -> u64 {
    let gp = runtime_p::require_goroutine("goid");
    // SAFETY: gp is the running goroutine; goid is fixed while it lives.
    unsafe { (*gp).goid }
}

/// Wires the calling goroutine to its current OS thread: Go's
/// `runtime.LockOSThread`. Until a matching number of
/// [`unlock_os_thread`] calls, the goroutine runs only on this thread and
/// no other goroutine runs on it. If the goroutine exits while locked, the
/// thread exits too (it may have been left in an unusual state).
///
/// # Panics
/// Outside a goroutine of a gort runtime.
pub fn lock_os_thread() {
    runtime_p::lockosthread::lock_os_thread()
}

/// Undoes one [`lock_os_thread`]: Go's `runtime.UnlockOSThread`. Extra
/// calls are no-ops.
///
/// # Panics
/// Outside a goroutine of a gort runtime.
pub fn unlock_os_thread() {
    runtime_p::lockosthread::unlock_os_thread()
}

/// Sets the maximum number of OS threads the runtime may use and returns
/// the previous limit: Go's `debug.SetMaxThreads` (default 10000). Going
/// over it ends the program with `fatal error: thread exhaustion`.
///
/// # Panics
/// Outside a goroutine of a gort runtime.
pub fn set_max_threads(n: usize) -> usize {
    runtime_p::require_goroutine("set_max_threads");
    let s = runtime_p::sched();
    let n = i32::try_from(n).unwrap_or(i32::MAX);
    s.maxmcount.swap(n, std::sync::atomic::Ordering::AcqRel) as usize
}

/// Go's `select` statement: waits until one of several channel operations
/// can proceed, performs it and runs its arm.
///
/// ```text
/// gort::select! {
///     recv(c1) -> v => { /* v: Option<T>, None when c1 is closed and drained */ }
///     recv(c2) => { /* the value is received and dropped */ }
///     send(c3, value) => { /* value was sent */ }
///     default => { /* nothing was ready: Go's default case */ }
/// }
/// ```
///
/// Go's semantics, from a port of `runtime/select.go`:
/// - all channel expressions and values to send are evaluated once, in
///   source order, before anything else happens;
/// - if several cases are ready, one is chosen uniformly at random;
/// - without `default`, the goroutine parks until a case can proceed; with
///   `default`, it never parks;
/// - cases on a nil channel ([`Chan::nil`]) are never chosen; `select! {}`
///   blocks forever (a program whose goroutines all do that ends with Go's
///   deadlock report);
/// - a send case on a closed channel panics with `send on closed channel`.
///
/// Arms are ordinary code in the enclosing function: `break`, `continue`,
/// `return` and `?` behave as they would outside the macro. Values of send
/// cases that were not chosen are dropped before the chosen arm runs.
/// Channels are given as [`Chan`], [`SendChan`] or [`RecvChan`] (or
/// references to them).
pub use gort_macros::select;

#[doc(hidden)]
pub mod __private {
    pub use crate::select::{Case, RecvSlot, SendSlot, select};
    pub use runtime_p::block;
}

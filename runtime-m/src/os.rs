//! The OS boundary: what the runtime needs from an operating system, as
//! Go's `os_*.go` files provide it (`newosproc`, `mStackIsSystemAllocated`,
//! `minit`, `osyield`, `usleep`, `nanotime`, `exit`, and a sleep/wake
//! primitive). An OS layer (crates/os-linux, os-plan9) implements [`Os`];
//! the runtime reaches the installed one through [`os`].
//!
//! Nothing outside an OS layer calls libc's thread or futex functions.
//!
//! Sleep and wake come in Go's two flavours:
//! - futex systems (`lock_futex.go`): [`Os::futexsleep`]/[`Os::futexwakeup`]
//!   on a 32-bit word; notes and the per-M semaphore are built on them;
//! - semaphore systems (`lock_sema.go`, Plan 9): [`Os::semasleep`] and
//!   [`Os::semawakeup`] on each M's semaphore; notes are built on those.
//!
//! Either way the runtime mutex (`lock_spinbit.go`) sleeps with
//! `semasleep(-1)` and wakes with `semawakeup(mp)`.

use core::sync::atomic::AtomicU32;
use std::sync::OnceLock;

use crate::m::M;

/// Which primitive the OS layer provides (Go: the build tag choosing
/// `lock_futex.go` or `lock_sema.go`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SleepKind {
    Futex,
    Sema,
}

/// An operating-system layer.
///
/// # Safety
/// Implementations must start threads exactly as [`Os::newosproc`]
/// describes and must implement the sleep/wake primitive they announce with
/// [`Os::sleep_kind`] with the stated semantics; the runtime's locks rely on
/// both for memory safety.
pub unsafe trait Os: Sync + Send + 'static {
    /// Short name (`linux`, `plan9`).
    fn name(&self) -> &'static str;

    /// mStackIsSystemAllocated: port of runtime.mStackIsSystemAllocated
    /// (proc.go). True if the OS gives each new thread its stack, in which
    /// case `allocm` gives g0 `malg(-1)`; false if the runtime allocates the
    /// g0 stack and the thread must run on exactly that stack.
    fn m_stack_is_system_allocated(&self) -> bool;

    /// newosproc: port of runtime.newosproc (os_*.go). Starts an OS thread
    /// that calls [`crate::proc::mstart_on_new_thread`]`(mp)`. With
    /// runtime-allocated g0 stacks the thread runs on `mp.g0.stack`.
    /// Returns the OS error on failure (the caller reports and throws).
    ///
    /// # Safety
    /// `mp` must be a fresh M from `allocm`, not yet running anywhere.
    unsafe fn newosproc(&self, mp: *mut M) -> Result<(), String>;

    /// Waits for the thread that `newosproc` started as `thread` (the
    /// value it stored in `M::thread`) to end, and releases it: the M is
    /// about to be reused, with its g0 stack (see `m::mfree`). Layers whose
    /// threads end on their own need nothing.
    ///
    /// # Safety
    /// `thread` was started by this layer's `newosproc`, has left or is
    /// leaving the runtime for good, and is joined once.
    unsafe fn join_thread(&self, _thread: usize) {}

    /// Whether a goroutine that exits while locked to its thread takes the
    /// thread with it (Go's gdestroy: yes, except on Plan 9, where the
    /// thread is reused; golang.org/issue/22227).
    fn locked_exit_kills_thread(&self) -> bool {
        true
    }

    /// initsig: port of runtime.initsig (signal_*.go): process-wide set-up
    /// of signal (Plan 9: note) handling, once the layer is installed and
    /// the runtime's own handlers are in place.
    fn initsig(&self) {}

    /// minit: per-thread set-up on the new thread (signal stack, ...).
    fn minit(&self) {}

    /// osyield: give up the CPU briefly (`sched_yield`, Plan 9 `sleep(0)`).
    fn osyield(&self);

    /// usleep: sleep at least `usec` microseconds.
    fn usleep(&self, usec: u32);

    /// nanotime: monotonic nanoseconds.
    fn nanotime(&self) -> i64;

    /// exit: end the process with `code`, running nothing.
    fn exit(&self, code: i32) -> !;

    /// The OS thread id of the caller (`procid`).
    fn gettid(&self) -> u64;

    /// Which sleep/wake primitive this layer provides.
    fn sleep_kind(&self) -> SleepKind;

    /// futexsleep: if `*addr == val`, sleep until woken or `ns` nanoseconds
    /// pass (`ns < 0`: no timeout). Spurious wake-ups are allowed. Only on
    /// futex systems.
    fn futexsleep(&self, _addr: &AtomicU32, _val: u32, _ns: i64) {
        unreachable!("futexsleep on a semaphore OS layer")
    }

    /// futexwakeup: wake up to `cnt` threads sleeping on `addr`.
    fn futexwakeup(&self, _addr: &AtomicU32, _cnt: u32) {
        unreachable!("futexwakeup on a semaphore OS layer")
    }

    /// semasleep: port of runtime.semasleep. Waits on the calling M's
    /// semaphore: returns 0 when acquired, -1 on timeout (`ns >= 0`).
    ///
    /// # Safety
    /// `mp` must be the calling thread's M.
    unsafe fn semasleep(&self, mp: *mut M, ns: i64) -> i32;

    /// semawakeup: port of runtime.semawakeup. Releases `mp`'s semaphore
    /// (a release before the sleep is remembered).
    ///
    /// # Safety
    /// `mp` must be a live M (Ms from `allocm` are never freed).
    unsafe fn semawakeup(&self, mp: *mut M);

    /// Prepares [`Os::process_barrier`] for this process; returns whether
    /// it works here. Called once per runtime, by sysmon. No Go twin (see
    /// `process_barrier`).
    fn process_barrier_init(&self) -> bool {
        false
    }

    /// A full memory barrier on every thread of the process at once: when
    /// this returns, each other thread of the process that was running
    /// has executed a full barrier (and one that was not running did at
    /// its last switch). Linux: `membarrier(PRIVATE_EXPEDITED)`. Only
    /// called after [`Os::process_barrier_init`] returned true. sysmon
    /// uses it to take the P from a goroutine stuck in user code without
    /// a fence on the goroutine's side; no Go twin, since Go preempts such
    /// a goroutine with a signal instead.
    fn process_barrier(&self) {
        unreachable!("process_barrier on an OS layer without one")
    }

    /// netpollinit: a new network poller for one runtime instance, or
    /// `None` where the OS has none (Go's `netpoll_stub.go`, Plan 9: network
    /// I/O then blocks in system calls). `Some(Err)` says why creating one
    /// failed.
    fn netpoll_new(&self) -> Option<Result<Box<dyn Netpoller>, String>> {
        None
    }
}

/// The platform half of Go's network poller (`netpoll_epoll.go`): an
/// instance's set of registered descriptors, waited on by one M at a time.
/// The runtime half (`pollDesc`, parking and waking goroutines) is
/// runtime-p's `netpoll`.
pub trait Netpoller: Send + Sync {
    /// netpollopen: registers `fd` for edge-triggered read and write
    /// readiness, with `data` as the cookie [`Netpoller::poll`] reports.
    /// Returns 0 or an errno.
    fn open(&self, fd: i32, data: u64) -> i32;
    /// netpollclose: unregisters `fd`. Returns 0 or an errno.
    fn close(&self, fd: i32) -> i32;
    /// netpoll: waits up to `delay` ns (`< 0`: until something happens or
    /// [`Netpoller::wake`]; `0`: not at all) and calls `ready(data, mode,
    /// err)` for each descriptor that became ready, `mode` being `'r'`,
    /// `'w'` or `'r' + 'w'` and `err` whether only an error was reported.
    fn poll(&self, delay: i64, ready: &mut dyn FnMut(u64, u8, bool));
    /// netpollBreak: makes a blocked or the next [`Netpoller::poll`] with
    /// a delay return early. Cheap if a wake-up is already pending.
    fn wake(&self);
    /// The runtime instance is gone (its last M has exited): release the
    /// OS resources, as soon as no call is in flight. Calls made after
    /// this do nothing (a `gort::net` value dropped on a plain thread
    /// later still calls `close`). Go has no twin: its poller lives as
    /// long as the process.
    fn shutdown(&self) {}
}

static OS: OnceLock<&'static dyn Os> = OnceLock::new();

/// Installs the process's OS layer. The first call wins; a later call with a
/// different layer is refused with an error naming both.
pub fn install(os: &'static dyn Os) -> Result<(), String> {
    let cur = *OS.get_or_init(|| os);
    if core::ptr::addr_eq(cur, os) || cur.name() == os.name() {
        Ok(())
    } else {
        Err(format!(
            "the {} OS layer is already installed in this process; cannot switch to {}",
            cur.name(),
            os.name()
        ))
    }
}

/// The runtime's rule for a handler an OS layer installs at start-up over
/// a signal the program may have asked for already (runtime-p's
/// `sigqueue::install_or_under_notify`), registered at a runtime's start
/// and at the program's first `notify`. OS layers cannot reach runtime-p.
static UNDER_NOTIFY: std::sync::OnceLock<fn(libc::c_int, &libc::sigaction) -> bool> =
    std::sync::OnceLock::new();

/// Registers the rule [`install_under_notify`] applies (the first call
/// wins).
pub fn set_install_under_notify(f: fn(libc::c_int, &libc::sigaction) -> bool) {
    let _ = UNDER_NOTIFY.set(f);
}

/// For an OS layer about to install `sa` for `sig`: installs it, or, if
/// the program asked for `sig` already (`gort::signal::notify`), records
/// `sa` as the action the program's handler falls back to and puts back
/// when it stops, atomically with respect to the program's requests.
/// Returns false if no runtime registered the rule; the layer then
/// installs `sa` itself.
pub fn install_under_notify(sig: libc::c_int, sa: &libc::sigaction) -> bool {
    UNDER_NOTIFY.get().is_some_and(|f| f(sig, sa))
}

/// The installed OS layer.
pub fn os() -> &'static dyn Os {
    match OS.get() {
        Some(o) => *o,
        None => runtime_g::throw("no OS layer installed (runtime started without one)"),
    }
}

/// Whether an OS layer is installed.
pub fn installed() -> bool {
    OS.get().is_some()
}

/// The threads that gort's runtimes made (Ms, helper threads), by Linux
/// thread id: a deadlock check tells them from a program's own threads
/// ([`foreign_threads_since`]).
static RUNTIME_TIDS: std::sync::Mutex<Vec<i32>> = std::sync::Mutex::new(Vec::new());

fn current_tid() -> i32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// Runtime threads that noted their end but may not have ended yet.
static RETIRED: std::sync::Mutex<Vec<i32>> = std::sync::Mutex::new(Vec::new());

/// Runtime threads created but not yet noted by themselves: while any is,
/// an unknown thread may be one of them ([`foreign_threads`] waits).
static STARTING: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// Threads started for Ms (newosproc) that have not left yet: counted by
/// their creator before they exist and by themselves as they leave, with
/// no work on the new thread (a system call there shifted the timing of
/// the thread-limit cross-check pair). The census counts them instead of
/// naming them.
static M_THREADS: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// An M's thread is about to be created (`newm1`).
pub fn m_thread_starting() {
    M_THREADS.fetch_add(1, core::sync::atomic::Ordering::SeqCst);
}

/// The announced M thread could not be created, or it is leaving.
pub fn m_thread_exiting() {
    use core::sync::atomic::Ordering::SeqCst;
    let _ = M_THREADS.fetch_update(SeqCst, SeqCst, |v| v.checked_sub(1));
}

/// Announces a runtime thread about to be created; it notes itself with
/// [`note_runtime_thread`]`(true)` first thing, or the creator calls
/// [`runtime_thread_failed`].
pub fn runtime_thread_starting() {
    STARTING.fetch_add(1, core::sync::atomic::Ordering::SeqCst);
}

/// The announced thread could not be created.
pub fn runtime_thread_failed() {
    started_one();
}

/// One announced thread less (never below zero: a thread that was not
/// announced, as runtime-m's own tests start, notes itself too).
fn started_one() {
    use core::sync::atomic::Ordering::SeqCst;
    let _ = STARTING.fetch_update(SeqCst, SeqCst, |v| v.checked_sub(1));
}

/// Spawns a runtime thread (std's; named `gort-…`), noted as one.
pub fn spawn_runtime_thread<F: FnOnce() + Send + 'static>(
    name: &str,
    f: F,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    runtime_thread_starting();
    let r = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            note_runtime_thread(true);
            struct Exit;
            impl Drop for Exit {
                fn drop(&mut self) {
                    note_runtime_thread(false);
                }
            }
            let _exit = Exit;
            f()
        });
    if r.is_err() {
        runtime_thread_failed();
    }
    r
}

/// Records the calling thread as one of the runtime's (`on`, first thing
/// on a thread announced with [`runtime_thread_starting`]), or forgets it
/// as it exits.
pub fn note_runtime_thread(on: bool) {
    let tid = current_tid();
    let mut v = RUNTIME_TIDS.lock().unwrap_or_else(|e| e.into_inner());
    if on {
        v.push(tid);
        started_one();
    } else if let Some(i) = v.iter().position(|&t| t == tid) {
        v.swap_remove(i);
        // Still in /proc/self/task until it has ended: it stays ours
        // until a census finds it gone.
        let mut r = RETIRED.lock().unwrap_or_else(|e| e.into_inner());
        if r.len() >= 64 {
            // Bounded: forget those that have ended.
            let now = process_tids();
            r.retain(|t| now.contains(t));
        }
        r.push(tid);
    }
}

/// The ids of the process's threads now (`/proc/self/task`); empty if
/// that cannot be read.
fn process_tids() -> Vec<i32> {
    let Ok(d) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// The calling thread's id.
pub fn thread_id() -> i32 {
    current_tid()
}

/// Whether the process has a live thread that no runtime made, other than
/// `caller` and the main thread: a program's own thread, which may hand
/// goroutines values at any time. gort's threads are those noted with
/// [`note_runtime_thread`] (helpers) or named `gort-…`, and as many more
/// as Ms' threads are alive (`M_THREADS`).
pub fn foreign_threads(caller: i32) -> bool {
    // A runtime thread just created has not noted itself yet: give it a
    // moment (it does so first thing).
    let t = std::time::Instant::now();
    while STARTING.load(core::sync::atomic::Ordering::SeqCst) > 0
        && t.elapsed() < std::time::Duration::from_millis(100)
    {
        std::thread::yield_now();
    }
    let now = process_tids();
    let mut ours = RUNTIME_TIDS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    {
        let mut r = RETIRED.lock().unwrap_or_else(|e| e.into_inner());
        // Those that are gone are forgotten (their ids may come back).
        r.retain(|t| now.contains(t));
        ours.extend_from_slice(&r);
    }
    // SAFETY: getpid cannot fail.
    let main = unsafe { libc::getpid() };
    let unknown = now
        .into_iter()
        .filter(|&t| {
            t != caller
                && t != main
                && !ours.contains(&t)
                // gort's named threads (`gort-sigquit`, `gort-template`, …).
                && !std::fs::read_to_string(format!("/proc/self/task/{t}/comm"))
                    .is_ok_and(|c| c.starts_with("gort-"))
        })
        .count();
    // Threads of Ms are counted, not named (M_THREADS); so are the
    // helper threads of an emulator the process runs under.
    unknown > M_THREADS.load(core::sync::atomic::Ordering::SeqCst) + emulator_threads()
}

/// Threads an emulator adds to the process (`GORT_EMULATOR_THREADS`;
/// qemu-user adds one, its RCU thread, and scripts/qemu-aarch64.sh says
/// so): the deadlock census does not take them for a program's own.
fn emulator_threads() -> usize {
    static N: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *N.get_or_init(|| {
        std::env::var("GORT_EMULATOR_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    })
}

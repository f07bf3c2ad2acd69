//! Starting a runtime: the settings Go takes from its environment and
//! `schedinit`, in a builder.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex as StdMutex};

use runtime_p::{Config, MainReturn};

/// Configures and starts a gort runtime.
///
/// ```no_run
/// let total = gort::Builder::new().gomaxprocs(1).block_on(|| {
///     let hs: Vec<_> = (0..10u64).map(|i| gort::spawn(move || i * i)).collect();
///     hs.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
/// });
/// assert_eq!(total, 285);
/// ```
///
/// The runtime runs in the safe scheduler mode unless
/// [`Builder::migrating`] is called (see the crate docs, "Soundness").
#[derive(Clone, Debug, Default)]
pub struct Builder {
    gomaxprocs: Option<usize>,
    stack_size: Option<usize>,
    os: Option<OsLayer>,
    migrating: bool,
    no_sigquit_dump: bool,
    no_fault_handler: bool,
    no_notify_signals: bool,
}

/// The operating-system layer a runtime runs on. One per process: the first
/// runtime started chooses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OsLayer {
    /// Go's Linux port: pthreads on runtime-allocated g0 stacks, futexes.
    Linux,
    /// Go's Plan 9 port on a Plan 9 personality hosted on Linux: `rfork`ed
    /// processes whose g0 runs on the stack the "kernel" gave them
    /// (`malg(-1)`), semaphores (`lock_sema.go`).
    Plan9,
}

impl OsLayer {
    /// The layer named by `GORT_OS` (`linux`, the default, or `plan9`).
    ///
    /// # Panics
    /// On any other value, naming it.
    pub fn from_env() -> OsLayer {
        match std::env::var("GORT_OS").as_deref() {
            Err(_) | Ok("") | Ok("linux") => OsLayer::Linux,
            Ok("plan9") => OsLayer::Plan9,
            Ok(other) => {
                panic!("gort: GORT_OS={other:?} is not an OS layer (expected linux or plan9)")
            }
        }
    }

    fn layer(self) -> &'static dyn runtime_m::Os {
        match self {
            OsLayer::Linux => &os_linux::LINUX,
            #[cfg(target_arch = "x86_64")]
            OsLayer::Plan9 => &os_plan9::PLAN9,
            #[cfg(not(target_arch = "x86_64"))]
            OsLayer::Plan9 => panic!(
                "gort: the Plan 9 layer (GORT_OS=plan9) runs on x86_64 only (its note trampolines and Ureg are amd64's)"
            ),
        }
    }
}

/// Installs the default OS layer (`GORT_OS`, else Linux) if none is yet:
/// for plain threads that use timer channels before any runtime started.
pub(crate) fn ensure_os_layer() {
    if !runtime_m::os::installed() {
        // A runtime that started meanwhile installed its layer; a layer
        // chosen later by a Builder that differs is refused then, clearly.
        let _ = runtime_m::os::install(OsLayer::from_env().layer());
    }
}

/// GOMAXPROCS as Go computes it at start-up (`schedinit`): the `GOMAXPROCS`
/// environment variable if it is a positive integer, otherwise the number of
/// CPUs this process may use (affinity and cgroup quota included); capped
/// at Go's limit of 1024.
pub fn default_gomaxprocs() -> usize {
    match std::env::var("GOMAXPROCS")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
    {
        Some(n) if n > 0 => (n as usize).min(MAX_GOMAXPROCS),
        _ => runtime_m::ncpu(),
    }
}

/// Go's `_MaxGomaxprocs`.
pub const MAX_GOMAXPROCS: usize = 1024;

/// What a main function may return, as Rust's `Termination`: `()` or a
/// `Result` whose error is reported like Rust's `main` does (`Error: …`,
/// status 1).
pub trait MainResult {
    /// Exit status for this result, after printing any error.
    fn exit_code(self) -> i32;
}

impl MainResult for () {
    fn exit_code(self) -> i32 {
        0
    }
}

impl<E: std::fmt::Debug> MainResult for Result<(), E> {
    fn exit_code(self) -> i32 {
        match self {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("Error: {e:?}");
                1
            }
        }
    }
}

impl Builder {
    /// Settings from the environment (GOMAXPROCS) and defaults.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Number of Ps (Go's GOMAXPROCS). Overrides the `GOMAXPROCS`
    /// environment variable, as calling `runtime.GOMAXPROCS(n)` first thing
    /// in `main` would. Values above Go's limit of 1024 are capped.
    ///
    /// # Panics
    /// If `n` is 0.
    pub fn gomaxprocs(mut self, n: usize) -> Builder {
        assert!(n > 0, "gort: gomaxprocs must be at least 1");
        self.gomaxprocs = Some(n.min(MAX_GOMAXPROCS));
        self
    }

    /// Usable stack size of every goroutine, in bytes (rounded up to whole
    /// pages, at least 16 KiB). Stacks are address space reserved up front
    /// and committed page by page as they are touched; they do not grow,
    /// and running past the end is reported as Go reports a stack overflow.
    ///
    /// The default is 8 MiB, as a Linux main thread has. Under a limit on
    /// the address space (`ulimit -v`, or `vm.overcommit_memory=2`) it is
    /// smaller, sized for 4,096 goroutines in half the limit, and the
    /// runtime says so on standard error when it starts. A parked
    /// goroutine costs its touched pages (usually one or two) and, with
    /// stacks of 2 MiB or more, a 4 KiB page-table page of its own (with
    /// 256 KiB stacks, eight goroutines share one).
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Whether SIGQUIT prints Go's dump of every goroutine and exits 2
    /// (default: yes, as in Go). Even when on, gort installs its handler
    /// only if SIGQUIT still has its default action: a program that
    /// handles SIGQUIT itself keeps its handler. Like the other signal
    /// settings, the first runtime of a process decides.
    pub fn sigquit_dump(mut self, on: bool) -> Builder {
        self.no_sigquit_dump = !on;
        self
    }

    /// Whether signals that Go's runtime ignores unless a program asks
    /// for them (`signal.Notify`) are ignored here too (default: yes, as
    /// in Go): SIGUSR1, SIGUSR2, SIGALRM, SIGXCPU, SIGXFSZ, SIGVTALRM,
    /// SIGPROF, SIGIO, SIGPWR and the real-time signals 35-64, whose
    /// default action would end the process. A system call they interrupt
    /// restarts. Installed only over a signal's default action, so a
    /// handler the program installed first is kept. The first runtime of a
    /// process decides.
    pub fn notify_signals(mut self, on: bool) -> Builder {
        self.no_notify_signals = !on;
        self
    }

    /// Whether gort installs its SIGSEGV/SIGBUS handler (default: yes).
    /// It reports a goroutine's stack overflow and other faults on
    /// goroutines as Go does, and passes every other fault (one on a
    /// thread that is not gort's, say, which a host such as a wasm
    /// runtime handles itself) to the handler installed before it. Off,
    /// a stack overflow ends the process by the previous handler or the
    /// default action, without Go's report. The first runtime of a
    /// process decides.
    pub fn fault_handler(mut self, on: bool) -> Builder {
        self.no_fault_handler = !on;
        self
    }

    /// The OS layer to run on (default: `GORT_OS`, else Linux). The first
    /// runtime of a process fixes the layer; asking another one later is
    /// an error.
    pub fn os(mut self, layer: OsLayer) -> Builder {
        self.os = Some(layer);
        self
    }

    /// Go's exact scheduling: a goroutine may resume on any thread after
    /// any park, and a woken goroutine runs next on the waker's P, as in
    /// Go. Without this call the runtime is in the safe mode, where a
    /// goroutine that has started stays on its thread.
    ///
    /// # Safety
    /// In this mode, a function that may park (any gort call that can
    /// block or yield: channel operations, `join`, `sleep`, locks, `net`,
    /// `gosched`, `spawn` and every runtime call that is a preemption
    /// point) must not touch thread-local state before and after the park,
    /// its own or any dependency's — rustc may compute a thread-local's
    /// address once and use it after the goroutine moved (rust-lang/rust
    /// #136044); errno counts. A goroutine must never park:
    /// - inside `Display`/`Debug` formatting that std's `print!` or a
    ///   logger runs under a thread-bound lock (std's stdout lock);
    /// - in a `Drop` that runs during unwinding (std's panic count is per
    ///   thread; gort makes such a park a fatal error);
    /// - in a thread-local's initialiser, or in a panic hook;
    /// - while it holds a value tied to its thread: a std `MutexGuard`
    ///   (std's mutexes must be unlocked by the thread that locked them),
    ///   a `tracing` span guard (its entered-span stack is per thread),
    ///   `rand::ThreadRng`, a crossbeam-epoch `Guard`, an `Rc` shared with
    ///   the thread, or another runtime's `block_on`.
    ///
    /// The checklist is in the crate docs ("Soundness"); the safe mode has
    /// none of these hazards.
    pub unsafe fn migrating(mut self) -> Builder {
        self.migrating = true;
        self
    }

    fn config(&self, main_return: MainReturn) -> Config {
        #[cfg(feature = "tracing")]
        crate::instrument::install();
        Config {
            gomaxprocs: self.gomaxprocs.unwrap_or_else(default_gomaxprocs),
            stack_size: self.stack_size.unwrap_or(0),
            main_return,
            os: self.os.unwrap_or_else(OsLayer::from_env).layer(),
            mode: if self.migrating {
                runtime_p::SchedMode::Migrating
            } else {
                runtime_p::SchedMode::Safe
            },
            signals: runtime_p::Signals {
                sigquit_dump: !self.no_sigquit_dump,
                fault_handler: !self.no_fault_handler,
                notify_signals: !self.no_notify_signals,
            },
        }
    }

    /// Runs `f` as the main goroutine and exits the process when it returns,
    /// as a Go program does: status 0, whatever other goroutines are doing.
    pub fn run<F: FnOnce() + Send + 'static>(self, f: F) -> ! {
        self.run_main(f)
    }

    /// Like [`Builder::run`] for a main function returning a
    /// [`MainResult`] (used by `#[gort::main]`).
    pub fn run_main<F, R>(self, f: F) -> !
    where
        F: FnOnce() -> R + Send + 'static,
        R: MainResult,
    {
        let cfg = self.config(MainReturn::ExitProcess);
        let main = Box::new(move || {
            let code = runtime_p::run_goroutine_fn(f).exit_code();
            if code != 0 {
                runtime_p::proc::exit_process(code);
            }
        });
        // SAFETY: the migrating mode is chosen only through the unsafe
        // `migrating`, whose caller accepted its contract; the safe mode
        // has none.
        unsafe { runtime_p::start(cfg, main) };
        unreachable!("gort: runtime returned in exit-on-main-return mode")
    }

    /// Runs `f` as the main goroutine of a new runtime on the calling thread
    /// and returns its result when it returns, once the runtime's other
    /// goroutines have ended.
    ///
    /// Where a Go program would exit, a runtime embedded in a Rust program
    /// ends its goroutines instead, so that what they own is dropped: when
    /// `f` returns, every other goroutine ends as if it called
    /// [`crate::goexit`] at the point where it waits (a channel operation,
    /// `select!`, a lock, `join`, `sleep`, network I/O, `gosched`), and
    /// the destructors of its frames run; one that has not started yet is
    /// dropped without running. A goroutine busy without any of those calls
    /// is waited for, as a tokio runtime waits for a task that does not
    /// yield. A goroutine that waits while it unwinds (in a destructor) is
    /// not ended a second time: if nothing wakes it, the runtime gives up
    /// on it and returns, leaking what it holds.
    ///
    /// A panic of the main goroutine is reported as std reports a panic and
    /// then continues on the calling thread, so that a failed assertion in a
    /// `#[gort::test]` fails that test only. A panic in any other goroutine
    /// ends the process with Go's report, as in Go.
    ///
    /// # Panics
    /// If called from a goroutine (runtimes do not nest: a library that may
    /// be called from either side uses [`crate::Handle::try_current`]),
    /// and with the main goroutine's panic, if it panics.
    pub fn block_on<F, T>(self, f: F) -> T
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        type Outcome<T> = Result<T, Box<dyn std::any::Any + Send>>;
        if crate::Handle::try_current().is_some() {
            panic!(
                "gort: Builder::block_on starts a new runtime, and a runtime cannot be started on \
                 a thread that already runs one (runtimes do not nest); on a goroutine, call the \
                 function directly, or use gort::Handle::current().block_on(f), which runs it \
                 on the calling goroutine"
            );
        }
        let cfg = self.config(MainReturn::ReturnToCaller);
        let slot: Arc<StdMutex<Option<Outcome<T>>>> = Arc::new(StdMutex::new(None));
        let out = slot.clone();
        let main = Box::new(move || {
            let r = std::panic::catch_unwind(AssertUnwindSafe(|| runtime_p::run_goroutine_fn(f)));
            if let Err(p) = &r {
                if p.is::<runtime_p::GoexitUnwind>() {
                    // Goexit of main: let the goroutine's base handle it,
                    // as Go does (the program goes on without main).
                    let Err(p) = r else { unreachable!() };
                    std::panic::resume_unwind(p);
                }
                let loc = runtime_p::panic::take_panic_location().unwrap_or_default();
                let thread = std::thread::current();
                let name = thread.name().unwrap_or("<unnamed>");
                eprintln!(
                    "thread '{name}' panicked at {loc}:\n{}\n(in gort's main goroutine)",
                    runtime_p::panic::payload_text(&**p)
                );
            }
            *out.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
        });
        // SAFETY: as in `run_main`.
        unsafe { runtime_p::start(cfg, main) };
        // Timers the ended runtime's scheduler released last are dropped on
        // this thread, now an ordinary one again.
        runtime_p::time::drain_graveyard();
        let r = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        match r.expect("gort: the main goroutine ended without a result") {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }
    }
}

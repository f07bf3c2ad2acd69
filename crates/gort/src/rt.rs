//! [`Runtime`]: a gort runtime built once and used from any thread (issue
//! 18). No Go twin: a Go program is its runtime.

use std::any::Any;
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex as StdMutex};

use runtime_p::outside::OutsideWake;

use crate::{Builder, Handle, JoinHandle};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// What the callers hand the runtime's main goroutine.
struct Mailbox {
    jobs: StdMutex<(VecDeque<Job>, bool)>,
    wake: OutsideWake,
}

impl Mailbox {
    fn submit(&self, job: Job) -> Result<(), Job> {
        {
            let mut q = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
            if q.1 {
                return Err(job);
            }
            q.0.push_back(job);
        }
        self.wake.wake();
        Ok(())
    }

    fn stop(&self) {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
        self.wake.wake();
    }
}

/// A gort runtime that lives until it is dropped: built once (with the
/// settings of a [`Builder`]), then used from any thread, any number of
/// times, with [`Runtime::block_on`] and [`Runtime::spawn`].
///
/// ```no_run
/// let rt = gort::Builder::new().gomaxprocs(2).build();
/// // From plain threads: each call runs its closure on a goroutine.
/// let n = rt.block_on(|| gort::spawn(|| 6 * 7).join().unwrap());
/// assert_eq!(n, 42);
/// let h = rt.spawn(|| "in the background");
/// assert_eq!(rt.block_on(move || h.join().unwrap()), "in the background");
/// drop(rt); // ends its goroutines (as `Builder::block_on` does) and frees it
/// ```
///
/// The runtime runs on a thread of its own, whose main goroutine starts the
/// goroutines that calls hand it. Dropping the runtime ends it as
/// [`Builder::block_on`] ends one: every goroutine still alive ends where
/// it waits, its destructors run, and then the runtime's threads, stacks
/// and memory are given back.
pub struct Runtime {
    mailbox: Arc<Mailbox>,
    handle: Handle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Builder {
    /// Starts a [`Runtime`] with these settings, on a thread of its own.
    ///
    /// # Panics
    /// If the runtime's thread cannot be started.
    pub fn build(self) -> Runtime {
        let mailbox = Arc::new(Mailbox {
            jobs: StdMutex::new((VecDeque::new(), false)),
            wake: OutsideWake::new(),
        });
        let (tx, rx) = std::sync::mpsc::sync_channel::<Handle>(1);
        let mb = mailbox.clone();
        let thread = std::thread::Builder::new()
            .name("gort-runtime".into())
            .spawn(move || {
                self.block_on(move || {
                    // Calls may come at any time: no deadlock reports.
                    runtime_p::proc::mark_library();
                    let _ = tx.send(Handle::current());
                    drop(tx);
                    main_loop(&mb);
                })
            })
            .unwrap_or_else(|e| panic!("gort: cannot start the runtime's thread: {e}"));
        let handle = rx
            .recv()
            .expect("gort: the runtime's main goroutine ended before it started");
        Runtime {
            mailbox,
            handle,
            thread: Some(thread),
        }
    }
}

/// The runtime's main goroutine: starts a goroutine for each job until the
/// runtime is dropped.
fn main_loop(mb: &Mailbox) {
    loop {
        let (jobs, stop) = {
            let mut q = mb.jobs.lock().unwrap_or_else(|e| e.into_inner());
            (core::mem::take(&mut q.0), q.1)
        };
        for job in jobs {
            crate::go(job);
        }
        if stop {
            return;
        }
        mb.wake.wait();
    }
}

type Outcome<T> = Result<T, Box<dyn Any + Send>>;

/// The outcome of a call whose goroutine ended by goexit.
struct Ended;

impl Runtime {
    /// A runtime with the default settings (see [`Builder::new`]).
    pub fn new() -> Runtime {
        Builder::new().build()
    }

    /// Runs `f` on a goroutine of this runtime and returns its result,
    /// blocking the calling thread meanwhile. Called on a goroutine of this
    /// runtime, it runs `f` right there. A panic in `f` is reported as
    /// std reports a panic and continues on the calling thread.
    ///
    /// # Panics
    /// On a goroutine of another runtime (its thread must not block: call
    /// the function directly, or hand values over through a channel), with
    /// `f`'s panic, and if the runtime ended meanwhile.
    #[track_caller]
    pub fn block_on<F, T>(&self, f: F) -> T
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match Handle::try_current() {
            Some(h) if h == self.handle => return f(),
            Some(_) => panic!(
                "gort::Runtime::block_on called on a goroutine of another runtime: a goroutine \
                 must not block its thread; call the function directly, or hand values over \
                 through a channel (runtimes may share channels and locks)"
            ),
            None => {}
        }
        let slot: Arc<(StdMutex<Option<Outcome<T>>>, std::sync::Condvar)> = Arc::default();
        let out = slot.clone();
        let job: Job = Box::new(move || {
            let r = std::panic::catch_unwind(AssertUnwindSafe(|| runtime_p::run_goroutine_fn(f)));
            // A goexit (or the runtime's end) ends the goroutine as usual;
            // the caller learns that the call did not return.
            let (r, goexit) = match r {
                Err(p) if p.is::<runtime_p::GoexitUnwind>() => {
                    (Err(Box::new(Ended) as Box<dyn Any + Send>), Some(p))
                }
                Err(p) => {
                    let loc = runtime_p::panic::take_panic_location().unwrap_or_default();
                    eprintln!(
                        "goroutine panicked at {loc}:\n{}\n(in gort::Runtime::block_on)",
                        runtime_p::panic::payload_text(&*p)
                    );
                    (Err(p), None)
                }
                ok => (ok, None),
            };
            *out.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            out.1.notify_all();
            drop(out);
            if let Some(p) = goexit {
                std::panic::resume_unwind(p);
            }
        });
        if self.mailbox.submit(job).is_err() {
            panic!("gort::Runtime::block_on: the runtime has ended");
        }
        let mut g = slot.0.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(r) = g.take() {
                match r {
                    Ok(v) => return v,
                    Err(p) if p.is::<Ended>() => panic!(
                        "gort::Runtime::block_on: the goroutine running the call ended without \
                         returning (goexit, or the runtime ended)"
                    ),
                    Err(p) => std::panic::resume_unwind(p),
                }
            }
            // The job is dropped unrun if the runtime ends first: its
            // goroutine never starts (then the slot stays empty).
            if Arc::strong_count(&slot) == 1 {
                panic!("gort::Runtime::block_on: the runtime ended before running the call");
            }
            g = slot
                .1
                .wait_timeout(g, std::time::Duration::from_millis(100))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Starts `f` on a new goroutine of this runtime, from any thread, and
    /// returns its handle (joined from a goroutine, for instance inside
    /// [`Runtime::block_on`]).
    ///
    /// # Panics
    /// If the runtime has ended.
    pub fn spawn<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (handle, body) = crate::spawn::with_handle(f);
        if self.mailbox.submit(Box::new(body)).is_err() {
            panic!("gort::Runtime::spawn: the runtime has ended");
        }
        handle
    }

    /// A handle to this runtime (see [`Handle`]).
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }
}

// A panic that unwinds past a runtime leaves nothing half-changed behind:
// its queue is used under a lock that shrugs off poisoning, and the
// runtime runs on. (Handle does the same.)
impl std::panic::UnwindSafe for Runtime {}
impl std::panic::RefUnwindSafe for Runtime {}

impl Default for Runtime {
    fn default() -> Runtime {
        Runtime::new()
    }
}

impl Drop for Runtime {
    /// Ends the runtime: every goroutine still alive ends where it waits
    /// (see [`Builder::block_on`]) and everything is freed. From a plain
    /// thread, the drop waits for that; on a goroutine (which must not
    /// block its thread, and may belong to this very runtime) it returns
    /// at once and the runtime ends in the background.
    fn drop(&mut self) {
        self.mailbox.stop();
        let thread = self.thread.take();
        if let Some(t) = thread.filter(|_| Handle::try_current().is_none()) {
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("handle", &self.handle)
            .finish()
    }
}

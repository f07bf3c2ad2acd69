//! A scheduler trace a person can look at: Go's `runtime/trace` `Start` and
//! `Stop`, writing Chrome trace-event JSON that <https://ui.perfetto.dev>
//! and `chrome://tracing` open.
//!
//! The trace records, per P and per M, goroutine creation, each run of a
//! goroutine, each park with Go's wait reason (`chan receive`, `sleep`,
//! `sync.Mutex.Lock`, …), each unpark (drawn as an arrow from the waker to
//! the run it caused), yields, system calls, and Ps passing between Ms. It
//! shows three groups of tracks: **Processors (P)** (which goroutine ran
//! where and when), **Goroutines** (each goroutine's states over time) and
//! **Threads (M)** (which P each thread held).
//!
//! Off, it costs one relaxed load per scheduling event. On, an event costs a
//! time-stamp read and a short (about 10-byte) append to the P's own buffer;
//! events stay in memory until [`stop`].
//!
//! Setting `GORT_TRACE=out.json` in the environment traces the whole run of
//! a program (from start until its main goroutine returns) into that file.
//!
//! ```no_run
//! # gort::Builder::new().block_on(|| {
//! gort::trace::start().unwrap();
//! let c = gort::Chan::<u32>::new(0);
//! let c2 = c.clone();
//! gort::go(move || c2.send(1));
//! c.recv();
//! let json = gort::trace::stop().unwrap();
//! std::fs::write("trace.json", json).unwrap();
//! # });
//! ```

pub use runtime_p::trace::TraceAlreadyEnabled;

/// Starts tracing the runtime the calling goroutine belongs to: Go's
/// `trace.Start`.
///
/// # Errors
/// [`TraceAlreadyEnabled`] ("tracing is already enabled", Go's text) if a
/// trace is being recorded already.
///
/// # Panics
/// Outside a goroutine of a gort runtime.
pub fn start() -> Result<(), TraceAlreadyEnabled> {
    runtime_p::trace::start_trace()
}

/// Stops tracing and returns the trace as Chrome trace-event JSON: Go's
/// `trace.Stop`. `None` if no trace was being recorded. Stops the world
/// briefly to collect the per-P buffers.
///
/// # Panics
/// Outside a goroutine of a gort runtime.
pub fn stop() -> Option<String> {
    runtime_p::trace::stop_trace()
}

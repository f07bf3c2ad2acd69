//! Go's `runtime` package, the parts about looking inside: [`metrics`] (in
//! the spirit of `runtime/metrics`) and [`stack`] (`runtime.Stack`).

pub use runtime_p::metrics::Metrics;

/// A snapshot of the calling goroutine's runtime: goroutine and thread
/// counts, idle and spinning threads, Ps and idle Ps, run-queue lengths,
/// and counters of context switches, steals and parks since it started,
/// and the number of timers. See [`Metrics`] for each field.
///
/// # Panics
/// Outside a goroutine of a gort runtime.
pub fn metrics() -> Metrics {
    runtime_p::require_goroutine("runtime.metrics");
    runtime_p::metrics::read_metrics(runtime_p::sched())
}

/// Go's `runtime.Stack`: the same as [`crate::stack`].
///
/// # Panics
/// Outside a goroutine of a gort runtime.
pub fn stack(all: bool) -> String {
    crate::stack(all)
}

/// Whether the calling goroutine's runtime is in the migrating scheduler
/// mode (opted into with the unsafe [`crate::Builder::migrating`]), where
/// any thread may resume any goroutine; `false` in the default safe mode,
/// where a started goroutine stays on its thread.
///
/// # Panics
/// Outside a goroutine of a gort runtime.
pub fn migrating() -> bool {
    runtime_p::require_goroutine("runtime.migrating");
    !runtime_p::sched().safe
}

/// Keeps the calling goroutine on its P until the result is dropped: Go's
/// `runtime_procPin`, which Go exports to its own tests only (sync's
/// `export_test.go`), for the same use here (`tests/pool.rs`). `None` off
/// a goroutine.
///
/// # Safety
/// Until the result is dropped, on the same goroutine, the caller must not
/// park, yield or call anything that might (a channel operation, a lock
/// that can wait, `time::sleep`, `gosched`, spawning): the goroutine holds
/// its P inside the runtime's section, and a park there would leave the
/// section on another thread in the migrating mode.
#[doc(hidden)]
pub unsafe fn proc_pin() -> Option<impl Sized> {
    runtime_p::proc::proc_pin()
}

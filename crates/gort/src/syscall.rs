//! Calling code that blocks the OS thread.

/// Runs `f`, which may block its OS thread — std file I/O,
/// `std::thread::sleep`, a blocking C call — without stalling other
/// goroutines.
///
/// - In the safe mode (the default), `f` runs on a helper thread while the
///   goroutine parks; the goroutine's thread goes on running the other
///   goroutines. `f` may borrow from the caller, as a closure given to
///   `std::thread::scope` may: the goroutine waits for it. A panic in `f`
///   continues on the goroutine.
/// - In the migrating mode, and on a goroutine locked to its thread, it is
///   Go's `entersyscall`/`exitsyscall`: `f` runs here, and the goroutine's P
///   is handed to another thread while `f` blocks (by sysmon, within about
///   20 µs).
///
/// `f` must not call into gort (spawn, join, yield): doing so panics with a
/// message saying so.
///
/// ```no_run
/// # gort::Builder::new().block_on(|| {
/// let text = gort::syscall::blocking(|| std::fs::read_to_string("/etc/hostname"));
/// # let _ = text; });
/// ```
///
/// # Panics
/// Outside a goroutine of a gort runtime.
pub fn blocking<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    runtime_p::syscall::blocking(f)
}

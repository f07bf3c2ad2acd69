//! Calling code that blocks the OS thread.

/// Runs `f`, which may block its OS thread — std file I/O,
/// `std::thread::sleep`, a blocking C call — without stalling other
/// goroutines: as Go wraps system calls in `entersyscall`/`exitsyscall`,
/// the goroutine's P is handed to another thread while `f` blocks (by
/// sysmon, within about 20 µs), and taken back, or another one, when `f`
/// returns.
///
/// `f` runs without a P, so it must not call into gort (spawn, join,
/// yield): doing so panics with a message saying so.
///
/// ```no_run
/// # // SAFETY: the example holds no thread-local reference across a park.
/// # unsafe { gort::Builder::new().block_on(|| {
/// let text = gort::syscall::blocking(|| std::fs::read_to_string("/etc/hostname"));
/// # let _ = text; }) }
/// ```
///
/// # Panics
/// Outside a goroutine of a gort runtime.
pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
    runtime_p::syscall::blocking(f)
}

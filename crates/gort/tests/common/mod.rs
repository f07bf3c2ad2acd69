//! What the network test files share: a runtime that returns to the test,
//! and the process's open descriptors.
#![allow(dead_code)]

/// Runs `f` as the main goroutine of a fresh runtime with `procs` Ps and
/// returns its result.
pub fn run<T: Send + 'static>(procs: usize, f: impl FnOnce() -> T + Send + 'static) -> T {
    gort::Builder::new().gomaxprocs(procs).block_on(f)
}

/// Number of open descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// What each open descriptor is (for messages when a count is off).
pub fn fd_targets() -> Vec<String> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| format!("{:?}", std::fs::read_link(e.path()).unwrap_or_default()))
        .collect()
}

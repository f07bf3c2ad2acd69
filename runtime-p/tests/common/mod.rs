//! What runtime-p's test files share: the OS layer to run on and a runtime
//! that returns to the test when its main goroutine does. (Each test file
//! uses part of it.)
#![allow(dead_code)]

use runtime_p::{Config, MainReturn, SchedMode};

/// The scheduler mode named by `GORT_SCHED` (`migrating`, the default
/// for these ports of Go's scheduler tests, or `safe`, under which some
/// still fail: see docs/safe-mode-status.md).
pub fn test_mode() -> SchedMode {
    match std::env::var("GORT_SCHED").as_deref() {
        Ok("safe") => SchedMode::Safe,
        _ => SchedMode::Migrating,
    }
}

/// The OS layer named by `GORT_OS` (scripts/test.sh runs every test under
/// both layers).
pub fn test_os() -> &'static dyn runtime_m::Os {
    match std::env::var("GORT_OS").as_deref() {
        Ok("plan9") => &os_plan9::PLAN9,
        _ => &os_linux::LINUX,
    }
}

/// Runs `f` as the main goroutine of a fresh runtime with `procs` Ps and
/// returns when it does.
pub fn run(procs: usize, f: impl FnOnce() + Send + 'static) {
    let cfg = Config {
        gomaxprocs: procs,
        stack_size: 256 * 1024,
        main_return: MainReturn::ReturnToCaller,
        os: test_os(),
        mode: test_mode(),
    };
    // SAFETY: in the migrating mode: the test code touches no thread-local
    // state in functions that park.
    unsafe { runtime_p::start(cfg, Box::new(f)) };
}

//! What runtime-p's test files share: the OS layer to run on and a runtime
//! that returns to the test when its main goroutine does. (Each test file
//! uses part of it.)
#![allow(dead_code)]

use runtime_p::{Config, MainReturn, SchedMode};

/// The scheduler mode named by `GORT_SCHED`: the safe mode (gort's
/// default) unless it says `migrating`; scripts/test.sh runs these ports of
/// Go's scheduler tests in both.
pub fn test_mode() -> SchedMode {
    match std::env::var("GORT_SCHED").as_deref() {
        Ok("migrating") => SchedMode::Migrating,
        _ => SchedMode::Safe,
    }
}

/// The OS layer named by `GORT_OS` (scripts/test.sh runs every test under
/// both layers).
pub fn test_os() -> &'static dyn runtime_m::Os {
    match std::env::var("GORT_OS").as_deref() {
        #[cfg(target_arch = "x86_64")]
        Ok("plan9") => &os_plan9::PLAN9,
        #[cfg(not(target_arch = "x86_64"))]
        Ok("plan9") => panic!("the Plan 9 layer runs on x86_64 only"),
        _ => &os_linux::LINUX,
    }
}

/// Runs `f` as the main goroutine of a fresh runtime with `procs` Ps and
/// returns when it does.
pub fn run(procs: usize, f: impl FnOnce() + Send + 'static) {
    run_in(procs, test_mode(), f)
}

/// [`run`] in the given scheduler mode, for tests whose assertions hold in
/// one mode only (each says why).
pub fn run_in(procs: usize, mode: SchedMode, f: impl FnOnce() + Send + 'static) {
    let cfg = Config {
        gomaxprocs: procs,
        stack_size: 256 * 1024,
        main_return: MainReturn::ReturnToCaller,
        os: test_os(),
        mode,
        signals: Default::default(),
    };
    // SAFETY: in the migrating mode: the test code touches no thread-local
    // state in functions that park.
    unsafe { runtime_p::start(cfg, Box::new(f)) };
}

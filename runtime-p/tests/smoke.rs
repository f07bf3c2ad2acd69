use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use runtime_p::{Config, MainReturn};

#[test]
fn smoke() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let cfg = Config {
        gomaxprocs: 1,
        stack_size: 256 * 1024,
        main_return: MainReturn::ReturnToCaller,
        os: test_os(),
    };
    // SAFETY: test code holds no thread-local references across parks.
    unsafe {
        runtime_p::start(
            cfg,
            Box::new(move || {
                for _ in 0..1000 {
                    let n3 = n2.clone();
                    runtime_p::newproc(Box::new(move || {
                        n3.fetch_add(1, Ordering::Relaxed);
                        runtime_p::gosched();
                        n3.fetch_add(1, Ordering::Relaxed);
                    }));
                }
                while n2.load(Ordering::Relaxed) < 2000 {
                    runtime_p::gosched();
                }
            }),
        )
    };
    assert_eq!(n.load(Ordering::Relaxed), 2000);
}

/// The OS layer named by `GORT_OS` (scripts/test.sh runs every test under
/// both layers).
fn test_os() -> &'static dyn runtime_m::Os {
    match std::env::var("GORT_OS").as_deref() {
        Ok("plan9") => &os_plan9::PLAN9,
        _ => &os_linux::LINUX,
    }
}

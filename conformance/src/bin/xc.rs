//! The gort side of the cross-checks: `xc <name>` runs the program
//! `crosscheck/<name>/main.rs`; `xc --list` prints the names it knows.

// `mod <name>;` for every crosscheck/<name>/main.rs, and `PROGRAMS`
// (written by build.rs).
include!(concat!(env!("OUT_DIR"), "/programs.rs"));

/// Runs `f` as the main goroutine of a program, exiting as Go does when it
/// returns. `gomaxprocs` 0 means the default (environment or CPU count).
pub fn run(gomaxprocs: usize, f: impl FnOnce() + Send + 'static) -> ! {
    let mut b = gort::Builder::new();
    if gomaxprocs > 0 {
        b = b.gomaxprocs(gomaxprocs);
    }
    // Pairs whose Go program locks a goroutine to its thread beside other
    // goroutines depend on the migrating mode (in the safe mode that lock
    // fails by design). Every pair runs migrating unless GORT_SCHED=safe
    // (docs/safe-mode-status.md).
    const MIGRATING_ONLY: [&str; 2] = ["lockosthread_balanced", "thread_exhaustion"];
    let name = std::env::args().nth(1).unwrap_or_default();
    if MIGRATING_ONLY.contains(&name.as_str())
        || std::env::var("GORT_SCHED").as_deref() != Ok("safe")
    {
        // SAFETY: the cross-check programs touch no thread-local state
        // around their parks.
        b = unsafe { b.migrating() };
    }
    b.run(f)
}

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    if name == "--list" {
        for (n, _) in PROGRAMS {
            println!("{n}");
        }
        return;
    }
    match PROGRAMS.iter().find(|(n, _)| *n == name) {
        Some((_, f)) => f(),
        None => {
            eprintln!("xc: unknown program {name:?}; `xc --list` shows the known ones");
            std::process::exit(64);
        }
    }
}

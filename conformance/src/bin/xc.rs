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
    // The safe mode (gort's default) unless GORT_SCHED=migrating, which
    // scripts/test.sh also runs. Pairs whose Go program locks a goroutine
    // started with `go` to its thread run migrating always: in the safe
    // mode that goroutine may start on main's thread, where the lock fails
    // by design.
    const MIGRATING_ONLY: [&str; 5] = [
        "lockosthread_balanced",
        "lockosthread_exit_ends_thread",
        "lockosthread_exit_reused",
        "many_ms_gomaxprocs8",
        "thread_exhaustion",
    ];
    let name = std::env::args().nth(1).unwrap_or_default();
    if MIGRATING_ONLY.contains(&name.as_str())
        || std::env::var("GORT_SCHED").as_deref() == Ok("migrating")
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

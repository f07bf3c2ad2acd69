//! The gort side of the cross-checks: `xc <name>` runs the program
//! `crosscheck/<name>/main.rs`; `xc --list` prints the names it knows.

#[path = "../../crosscheck/deadlock_locked/main.rs"]
mod deadlock_locked;
#[path = "../../crosscheck/deadlock_receive/main.rs"]
mod deadlock_receive;
#[path = "../../crosscheck/deadlock_select/main.rs"]
mod deadlock_select;
#[path = "../../crosscheck/goexit_goroutine/main.rs"]
mod goexit_goroutine;
#[path = "../../crosscheck/goexit_main/main.rs"]
mod goexit_main;
#[path = "../../crosscheck/gosched_turns/main.rs"]
mod gosched_turns;
#[path = "../../crosscheck/main_returns/main.rs"]
mod main_returns;
#[path = "../../crosscheck/many_goroutines/main.rs"]
mod many_goroutines;
#[path = "../../crosscheck/negative_exit_code/main.rs"]
mod negative_exit_code;
#[path = "../../crosscheck/nested_spawn/main.rs"]
mod nested_spawn;
#[path = "../../crosscheck/num_goroutine/main.rs"]
mod num_goroutine;
#[path = "../../crosscheck/os_exit_from_goroutine/main.rs"]
mod os_exit_from_goroutine;
#[path = "../../crosscheck/panic_goroutine/main.rs"]
mod panic_goroutine;
#[path = "../../crosscheck/panic_main/main.rs"]
mod panic_main;
#[path = "../../crosscheck/panic_multiline/main.rs"]
mod panic_multiline;
#[path = "../../crosscheck/runnext_order/main.rs"]
mod runnext_order;
#[path = "../../crosscheck/stack_overflow/main.rs"]
mod stack_overflow;
#[path = "../../crosscheck/thread_exhaustion/main.rs"]
mod thread_exhaustion;
#[path = "../../crosscheck/wake_runs_next/main.rs"]
mod wake_runs_next;

#[path = "../../crosscheck/gomaxprocs_previous/main.rs"]
mod gomaxprocs_previous;
#[path = "../../crosscheck/lockosthread_balanced/main.rs"]
mod lockosthread_balanced;
#[path = "../../crosscheck/nested_goexit/main.rs"]
mod nested_goexit;
#[path = "../../crosscheck/panic_runs_defers/main.rs"]
mod panic_runs_defers;

const PROGRAMS: &[(&str, fn())] = &[
    ("gomaxprocs_previous", gomaxprocs_previous::main),
    ("panic_runs_defers", panic_runs_defers::main),
    ("nested_goexit", nested_goexit::main),
    ("lockosthread_balanced", lockosthread_balanced::main),
    ("deadlock_locked", deadlock_locked::main),
    ("deadlock_receive", deadlock_receive::main),
    ("deadlock_select", deadlock_select::main),
    ("goexit_goroutine", goexit_goroutine::main),
    ("goexit_main", goexit_main::main),
    ("gosched_turns", gosched_turns::main),
    ("main_returns", main_returns::main),
    ("many_goroutines", many_goroutines::main),
    ("negative_exit_code", negative_exit_code::main),
    ("nested_spawn", nested_spawn::main),
    ("num_goroutine", num_goroutine::main),
    ("os_exit_from_goroutine", os_exit_from_goroutine::main),
    ("panic_goroutine", panic_goroutine::main),
    ("panic_main", panic_main::main),
    ("panic_multiline", panic_multiline::main),
    ("runnext_order", runnext_order::main),
    ("stack_overflow", stack_overflow::main),
    ("thread_exhaustion", thread_exhaustion::main),
    ("wake_runs_next", wake_runs_next::main),
];

/// Runs `f` as the main goroutine of a program, exiting as Go does when it
/// returns. `gomaxprocs` 0 means the default (environment or CPU count).
pub fn run(gomaxprocs: usize, f: impl FnOnce() + Send + 'static) -> ! {
    let mut b = gort::Builder::new();
    if gomaxprocs > 0 {
        b = b.gomaxprocs(gomaxprocs);
    }
    // SAFETY: the cross-check programs hold no thread-local references
    // across park points.
    unsafe { b.run(f) }
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

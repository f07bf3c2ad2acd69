//! `cargo run -p plan9-model -- old|new [--regs=amd64|386] [--variant=…] [--all]`
//!
//! Explores a protocol exhaustively. Prints the shortest counterexample and
//! exits 1 if the invariant can be broken; prints "no violation" with the
//! number of states explored and exits 0 otherwise. With `--all`, lists
//! every class of violation with the shortest trace of each.

use plan9_model::{Protocol, RegSemantics, Verdict, explore};

fn usage() -> ! {
    eprintln!(
        "usage: plan9-model old|new [--regs=amd64|386] [--variant=frame|registers|new-on-goroutine-stack|heap-g0] [--all]"
    );
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut proto = None;
    let mut regs = RegSemantics::NoPromiseAmd64;
    let mut variant = None;
    let mut all = false;
    for a in &args {
        match a.as_str() {
            "old" | "new" => proto = Some(a.clone()),
            "--regs=amd64" => regs = RegSemantics::NoPromiseAmd64,
            "--regs=386" => regs = RegSemantics::Preserved386,
            "--variant=frame" => variant = Some(Protocol::OldFrame),
            "--variant=registers" => variant = Some(Protocol::OldRegisters),
            "--variant=new-on-goroutine-stack" => variant = Some(Protocol::NewOnGoroutineStack),
            "--variant=heap-g0" => variant = Some(Protocol::NewHeapG0),
            "--all" => all = true,
            _ => usage(),
        }
    }
    let proto = match proto.as_deref() {
        Some("new") => variant
            .filter(|v| matches!(v, Protocol::NewOnGoroutineStack | Protocol::NewHeapG0))
            .unwrap_or(Protocol::New),
        // The code each architecture actually ran before 9f012e1.
        Some("old") => variant.unwrap_or(match regs {
            RegSemantics::Preserved386 => Protocol::OldRegisters,
            RegSemantics::NoPromiseAmd64 => Protocol::OldFrame,
        }),
        _ => usage(),
    };
    let regs_name = match regs {
        RegSemantics::Preserved386 => {
            "386 (the kernel copies the parent's registers into the child)"
        }
        RegSemantics::NoPromiseAmd64 => {
            "amd64 (no promise: any register may be clobbered by rfork)"
        }
    };
    println!("protocol:  {}", proto.name());
    println!("registers: {regs_name}");
    let start = std::time::Instant::now();
    if all {
        let (states, classes) = plan9_model::explore_all(proto, regs);
        let secs = start.elapsed().as_secs_f64();
        if classes.is_empty() {
            println!("no violation: {states} states explored in {secs:.3} s");
            return;
        }
        println!(
            "{} classes of violation ({states} states explored in {secs:.3} s):",
            classes.len()
        );
        for c in &classes {
            println!("\n== {} ({} violating steps)", c.class, c.count);
            println!("first: {}", c.what);
            for (i, s) in c.trace.iter().enumerate() {
                println!("  {:>2}. {s}", i + 1);
            }
        }
        std::process::exit(1);
    }
    let v = explore(proto, regs);
    let secs = start.elapsed().as_secs_f64();
    match v {
        Verdict::Safe { states } => {
            println!("no violation: {states} states explored in {secs:.3} s");
        }
        Verdict::Violation {
            states,
            trace,
            what,
        } => {
            println!("VIOLATION: {what}");
            println!("shortest counterexample ({} steps):", trace.len());
            for (i, s) in trace.iter().enumerate() {
                println!("  {:>2}. {s}", i + 1);
            }
            println!("({states} states explored in {secs:.3} s)");
            std::process::exit(1);
        }
    }
}

//! `gort::runtime::stack` (Go's `runtime.Stack`) with frames (issue 9): the
//! caller's frames, each parked goroutine's frames read from its own stack,
//! and Go's line for a goroutine running elsewhere.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[inline(never)]
fn parked_in_recv(c: gort::Chan<()>) {
    c.recv();
    std::hint::black_box(());
}

#[inline(never)]
fn nested_park(depth: u32, c: gort::Chan<()>) {
    if depth == 0 {
        parked_in_recv(c);
    } else {
        nested_park(depth - 1, c);
    }
    std::hint::black_box(depth);
}

/// The lines of the goroutine section that starts with a header matching
/// `pred`.
fn section(dump: &str, pred: impl Fn(&str) -> bool) -> Vec<&str> {
    let lines: Vec<&str> = dump.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("goroutine ") && pred(l))
        .unwrap_or_else(|| panic!("no such goroutine in:\n{dump}"));
    lines[start..]
        .iter()
        .take_while(|l| !l.is_empty())
        .copied()
        .collect()
}

#[test]
fn stack_all_shows_parked_frames() {
    {
        // SAFETY: these tests run Go's programs in Go's migrating mode (some
        // hold their thread, which the safe mode cannot work around); they
        // touch no thread-local state around their parks.
        unsafe { gort::Builder::new().migrating() }.gomaxprocs(2).block_on(|| {
            let c: gort::Chan<()> = gort::Chan::new(0);
            let c2 = c.clone();
            let h = gort::spawn(move || nested_park(3, c2));
            // Wait until it has parked.
            while !gort::runtime::stack(true).contains("[chan receive]:") {
                gort::gosched();
            }
            let dump = gort::runtime::stack(true);
            let me = section(&dump, |l| l.ends_with("[running]:"));
            assert!(
                me.get(1)
                    .is_some_and(|f| f.starts_with("stack::") && f.ends_with("()")),
                "the caller's first frame is its own code:\n{dump}"
            );
            assert!(!dump.contains("backtrace::"), "{dump}");
            let other = section(&dump, |l| l.ends_with("[chan receive]:"));
            let frames: Vec<&str> = other[1..]
                .iter()
                .copied()
                .take_while(|l| !l.starts_with("created by"))
                .collect();
            let funcs: Vec<&str> = frames.iter().step_by(2).copied().collect();
            assert_eq!(
                funcs.first().copied(),
                Some("stack::parked_in_recv()"),
                "innermost user frame first:\n{dump}"
            );
            let nested = funcs
                .iter()
                .filter(|f| **f == "stack::nested_park()")
                .count();
            assert_eq!(nested, 4, "every frame down to the base:\n{dump}");
            for loc in frames.iter().skip(1).step_by(2) {
                assert!(
                    loc.starts_with('\t') && loc.contains(".rs:") && loc.contains(" +0x"),
                    "{loc:?} in\n{dump}"
                );
            }
            assert!(
                !dump.contains("runtime_p::"),
                "runtime frames hidden:\n{dump}"
            );
            assert!(
                !dump.contains("goexit"),
                "the walk stops at the base:\n{dump}"
            );
            // Go's `created by` line ends the section.
            assert_eq!(
                other.iter().rev().nth(1).copied(),
                Some("created by stack::stack_all_shows_parked_frames::{{closure}} in goroutine 1"),
                "{dump}"
            );
            c.send(());
            h.join().unwrap();
        })
    }
}

#[test]
fn stack_all_says_when_a_goroutine_runs_elsewhere() {
    // Migrating mode: in the safe mode the spinning goroutine may start on
    // main's thread (it is main's runnext), and then main, pinned there,
    // waits for the loop to end (a goroutine that never calls into gort
    // holds its thread; issue 21).
    {
        // SAFETY: the test touches no thread-local state around its parks.
        unsafe { gort::Builder::new().migrating() }
            .gomaxprocs(2)
            .block_on(|| {
                let stop = Arc::new(AtomicBool::new(false));
                let running = Arc::new(AtomicBool::new(false));
                let (s, r) = (stop.clone(), running.clone());
                let h = gort::spawn(move || {
                    r.store(true, Ordering::Release);
                    // Never calls into gort: stays on its P.
                    while !s.load(Ordering::Acquire) {
                        std::hint::spin_loop();
                    }
                });
                while !running.load(Ordering::Acquire) {
                    gort::gosched();
                }
                let dump = gort::runtime::stack(true);
                stop.store(true, Ordering::Release);
                h.join().unwrap();
                let other = section(&dump, |l| {
                    l.contains("[running]:") && !l.starts_with("goroutine 1 ")
                });
                assert_eq!(
                    other.get(1).copied(),
                    Some("\tgoroutine running on other thread; stack unavailable"),
                    "{dump}"
                );
            })
    }
}

/// Dumps taken while goroutines park and wake as fast as they can: the
/// scan bit holds each walked goroutine, and the wakers wait for it
/// (casgstatus), so nothing is lost and nothing crashes.
#[test]
fn stack_all_races_with_wakeups() {
    {
        // SAFETY: these tests run Go's programs in Go's migrating mode (some
        // hold their thread, which the safe mode cannot work around); they
        // touch no thread-local state around their parks.
        unsafe { gort::Builder::new().migrating() }
            .gomaxprocs(2)
            .block_on(|| {
                let wg = Arc::new(gort::sync::WaitGroup::new());
                for _ in 0..4 {
                    let ping: gort::Chan<u32> = gort::Chan::new(0);
                    let pong: gort::Chan<u32> = gort::Chan::new(0);
                    let (pi, po) = (ping.clone(), pong.clone());
                    wg.go(move || {
                        while let Some(v) = pi.recv() {
                            po.send(v);
                        }
                    });
                    wg.go(move || {
                        for i in 0..20_000 {
                            ping.send(i);
                            assert_eq!(pong.recv(), Some(i));
                        }
                        ping.close();
                    });
                }
                let mut dumps = 0;
                let done = Arc::new(AtomicBool::new(false));
                let d = done.clone();
                let w = wg.clone();
                gort::go(move || {
                    w.wait();
                    d.store(true, Ordering::Release);
                });
                while !done.load(Ordering::Acquire) {
                    let dump = gort::runtime::stack(true);
                    assert!(dump.starts_with("goroutine "), "{dump}");
                    dumps += 1;
                }
                assert!(dumps > 0);
            })
    }
}

/// A goroutine seen waiting for a minute or more shows Go's ", N minutes"
/// in its header (sysmon marks `waitsince` every 10 s, as Go's GC does;
/// here the mark is made as if three minutes ago).
#[test]
fn long_waits_show_minutes() {
    {
        // SAFETY: these tests run Go's programs in Go's migrating mode (some
        // hold their thread, which the safe mode cannot work around); they
        // touch no thread-local state around their parks.
        unsafe { gort::Builder::new().migrating() }
            .gomaxprocs(1)
            .block_on(|| {
                let c: gort::Chan<()> = gort::Chan::new(0);
                let c2 = c.clone();
                let h = gort::spawn(move || c2.recv());
                gort::gosched();
                let s = runtime_p::sched();
                let three_min_ago = runtime_p::time::nanotime() - 3 * 60_000_000_000 - 1;
                runtime_p::sysmon::mark_waitsince(s, three_min_ago);
                let dump = gort::runtime::stack(true);
                assert!(dump.contains(" [chan receive, 3 minutes]:"), "{dump}");
                assert!(dump.starts_with("goroutine 1 [running]:"), "{dump}");
                c.send(());
                h.join().unwrap();
                // Running again: the mark is gone.
                let c3 = c.clone();
                let h = gort::spawn(move || c3.recv());
                gort::gosched();
                assert!(!gort::runtime::stack(true).contains(" minutes]:"));
                c.send(());
                h.join().unwrap();
            })
    }
}

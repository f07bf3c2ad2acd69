//! A runtime frees what it holds when it ends (issue 18): ten thousand
//! runtimes in a row, each with goroutines left parked forever, leave the
//! process's memory, address space and threads where they were. Each test
//! runs in a child process of its own, so that its numbers are its own.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gort::Chan;

const CASE_VAR: &str = "GORT_FREE_CASE";

fn status(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// (resident KiB, mapped KiB, threads) of this process.
///
/// glibc's malloc first gives back what it keeps free (`malloc_trim`):
/// which of its free chunks the next request takes depends on how the
/// threads' allocations and frees interleaved, so the pages it has touched
/// creep up by a bounded 50-150 KiB over the first few thousand calls with
/// two Ps (4 KiB with one), with the bytes allocated level all along (a
/// counting allocator showed it). That is the allocator's spare memory,
/// not what the runtime holds, and on a base of 3.4 MiB it is as large as
/// the 5% the test allows. Memory that is allocated is not trimmed: a leak
/// still shows.
fn usage() -> (u64, u64, u64) {
    // SAFETY: malloc_trim only releases free memory of malloc's arenas.
    unsafe { libc::malloc_trim(0) };
    (status("VmRSS:"), status("VmSize:"), status("Threads:"))
}

/// One runtime: 100 goroutines, of which 90 finish and 10 are left
/// parked forever (a receive, a sleep, `select {}`, a join), in the safe
/// or the migrating mode.
fn one_runtime(i: usize, dropped: &Arc<AtomicUsize>) {
    let b = if i % 2 == 1 {
        // SAFETY: the goroutines below touch no thread-local state in
        // functions that park.
        unsafe { gort::Builder::new().migrating() }
    } else {
        gort::Builder::new()
    };
    let d = dropped.clone();
    b.gomaxprocs(2).block_on(move || {
        let c = Chan::<u32>::new(0);
        let hs: Vec<_> = (0..90u64).map(|j| gort::spawn(move || j * j)).collect();
        for k in 0..10 {
            let (c, g) = (c.clone(), Guard(d.clone()));
            gort::go(move || {
                let _g = g;
                match k % 4 {
                    0 => {
                        let _ = c.recv();
                    }
                    1 => gort::time::sleep(Duration::from_secs(3600)),
                    2 => gort::select! {},
                    _ => {
                        let _ = gort::spawn(move || c.recv()).join();
                    }
                }
            });
        }
        let sum: u64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(sum, (0..90u64).map(|j| j * j).sum());
    });
}

struct Guard(Arc<AtomicUsize>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// The child's body for `ten_thousand_runtimes_free_everything`.
fn ten_thousand() {
    let dropped = Arc::new(AtomicUsize::new(0));
    // The first runtime starts the process-wide SIGQUIT dumper thread,
    // which stays: the thread count is taken after it.
    one_runtime(0, &dropped);
    let threads0 = usage().2;
    for i in 1..100 {
        one_runtime(i, &dropped);
    }
    let (rss100, vm100, _) = usage();
    for i in 100..10_000 {
        one_runtime(i, &dropped);
    }
    let (rss, vm, threads) = usage();
    println!(
        "RESULT after 100: rss={rss100} KiB vm={vm100} KiB; after 10000: rss={rss} KiB \
         vm={vm} KiB threads={threads} (start {threads0})"
    );
    assert_eq!(
        dropped.load(Ordering::Relaxed),
        100_000,
        "a parked goroutine's frame was not dropped"
    );
    assert_within_5_percent((rss100, vm100), (rss, vm));
    assert_eq!(threads, threads0, "threads were left behind");
}

/// Resident memory and mapped address space (KiB) at the end are within
/// 5% of where they were after the first 100 rounds.
fn assert_within_5_percent((rss100, vm100): (u64, u64), (rss, vm): (u64, u64)) {
    assert!(
        rss * 100 <= rss100 * 105,
        "resident memory grew from {rss100} KiB to {rss} KiB"
    );
    assert!(
        vm * 100 <= vm100 * 105,
        "mapped address space grew from {vm100} KiB to {vm} KiB"
    );
}

/// The child's body for `ten_thousand_calls_on_one_runtime`.
fn one_runtime_many_calls() {
    let threads0 = usage().2;
    let rt = gort::Builder::new().gomaxprocs(2).build();
    let call = |rt: &gort::Runtime| {
        rt.block_on(|| {
            let c = Chan::<u32>::new(0);
            let waiters: Vec<_> = (0..10)
                .map(|_| {
                    let c = c.clone();
                    gort::spawn(move || c.recv())
                })
                .collect();
            let hs: Vec<_> = (0..90u64).map(|j| gort::spawn(move || j * j)).collect();
            let sum: u64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
            assert_eq!(sum, (0..90u64).map(|j| j * j).sum());
            c.close();
            for w in waiters {
                assert_eq!(w.join().unwrap(), None);
            }
        })
    };
    for _ in 0..100 {
        call(&rt);
    }
    let (rss100, vm100, _) = usage();
    for _ in 100..10_000 {
        call(&rt);
    }
    let (rss, vm, _) = usage();
    drop(rt);
    let threads = usage().2;
    println!(
        "RESULT after 100 calls: rss={rss100} KiB vm={vm100} KiB; after 10000: rss={rss} KiB \
         vm={vm} KiB; threads after the drop {threads} (before the runtime {threads0})"
    );
    assert_within_5_percent((rss100, vm100), (rss, vm));
    // The first runtime of the process starts the SIGQUIT dumper thread,
    // which stays.
    assert!(threads <= threads0 + 1, "threads were left behind");
}

/// The child's body for `many_runtimes_print_nothing`.
fn quiet() {
    let dropped = Arc::new(AtomicUsize::new(0));
    for i in 0..300 {
        one_runtime(i, &dropped);
    }
}

#[test]
#[ignore = "child process entry point of the free tests"]
fn child_entry() {
    // glibc reserves 64 MiB of address space for each malloc arena, made
    // lazily whenever more threads allocate at once than before (up to 8
    // per CPU): a step of 64 MiB at some point of the run that is neither
    // the runtime's memory nor a leak (a CI run saw one). One arena keeps
    // the address-space figure about the runtime.
    // SAFETY: mallopt only sets a tuning parameter.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
    match std::env::var(CASE_VAR).as_deref() {
        Ok("ten_thousand") => ten_thousand(),
        Ok("quiet") => quiet(),
        Ok("one_runtime") => one_runtime_many_calls(),
        other => panic!("unknown case {other:?}"),
    }
}

fn run(case: &str) -> test_child::Out {
    let out = test_child::Child::test("child_entry")
        .env(CASE_VAR, case)
        .run();
    assert_eq!(out.code, Some(0), "{}", out.combined());
    assert!(out.stdout.contains("1 passed"), "{}", out.combined());
    out
}

/// Issue 18's acceptance: 10,000 runtimes of 100 goroutines each (10 of
/// them left parked forever) leave resident memory and mapped address
/// space within 5% of where they were after the first 100, and no thread
/// behind. Release only (scripts/test.sh): about 15 s.
#[test]
#[ignore = "release-only stress test; run by scripts/test.sh"]
fn ten_thousand_runtimes_free_everything() {
    stress("ten_thousand");
}

/// The same for 10,000 `block_on` calls from a plain thread on one
/// `Runtime` (each with 100 goroutines, 10 of them parked until the call
/// ends them), and its drop leaves no thread behind. Release only.
#[test]
#[ignore = "release-only stress test; run by scripts/test.sh"]
fn ten_thousand_calls_on_one_runtime() {
    stress("one_runtime");
}

/// Runs stress case `case` in its child and prints its figures.
fn stress(case: &str) {
    let out = run(case);
    for l in out.stdout.lines().filter(|l| l.contains("RESULT")) {
        println!("{l}");
    }
}

/// Runtimes that start and end one after another print nothing: sysmon
/// used to take a P it had not seen yet for one that had run since boot
/// and reported a stall of hours.
#[test]
fn many_runtimes_print_nothing() {
    let out = run("quiet");
    let stderr: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(stderr.is_empty(), "{}", out.stderr);
}

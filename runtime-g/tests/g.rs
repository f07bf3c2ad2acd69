//! Tests of the G layer: statuses, malg, stacks and guard pages.

use runtime_g::stack::{self, GUARD_SIZE, guard_hit, stackalloc, stackfree};
use runtime_g::status::*;
use runtime_g::{casgstatus, malg, readgstatus};

const CASE_VAR: &str = "GORT_G_CASE";

#[test]
#[ignore = "entry point of the child processes; run by the other tests"]
fn child_entry() {
    let case = std::env::var(CASE_VAR).expect("run by the tests only");
    if case == "map_count" {
        // Guards by mprotect split the arena's mapping at every stack, so
        // the default vm.max_map_count runs out near 32,000 stacks.
        let mut v = Vec::new();
        for _ in 0..200_000 {
            v.push(stackalloc(16 * 1024));
        }
        println!("allocated {} stacks", v.len());
        return;
    }
    let gp = malg(-1);
    // SAFETY: gp is a fresh G that this thread owns.
    unsafe {
        match case.as_str() {
            "same" => casgstatus(gp, _Gidle, _Gidle),
            "scan" => casgstatus(gp, _Gidle | _Gscan, _Gdead),
            "wrong_old" => {
                casgstatus(gp, _Gidle, _Gdead);
                casgstatus(gp, _Grunning, _Gwaiting);
            }
            "waiting_but_runnable" => {
                casgstatus(gp, _Gidle, _Gdead);
                casgstatus(gp, _Gdead, _Grunnable);
                casgstatus(gp, _Gwaiting, _Grunnable);
            }
            _ => unreachable!(),
        }
    }
    println!("casgstatus did not throw");
}

fn child(case: &str) -> (String, Option<i32>) {
    let out = test_child::Child::test("child_entry")
        .env(CASE_VAR, case)
        .env(
            "GORT_STACK_GUARD",
            if case == "map_count" { "mprotect" } else { "" },
        )
        .run();
    (out.stderr, out.code)
}

#[test]
fn casgstatus_rejects_bad_incoming_values() {
    let (err, code) = child("same");
    assert!(
        err.starts_with("runtime: casgstatus: oldval=0x0 newval=0x0\nfatal error: casgstatus: bad incoming values\n"),
        "{err}"
    );
    assert_eq!(code, Some(2));
    let (err, code) = child("scan");
    assert!(
        err.contains("fatal error: casgstatus: bad incoming values"),
        "{err}"
    );
    assert_eq!(code, Some(2));
}

#[test]
fn casgstatus_throws_on_an_illegal_transition() {
    let (err, code) = child("wrong_old");
    assert!(
        err.contains("fatal error: casgstatus: bad transition"),
        "{err}"
    );
    assert!(
        err.contains("gp.status=0x6 (dead)"),
        "the actual status is reported: {err}"
    );
    assert_eq!(code, Some(2));
    let (err, code) = child("waiting_but_runnable");
    assert!(
        err.contains("fatal error: casgstatus: waiting for Gwaiting but is Grunnable"),
        "{err}"
    );
    assert_eq!(code, Some(2));
}

#[test]
fn casgstatus_moves_through_a_goroutine_life() {
    let gp = malg(16 * 1024);
    // SAFETY: gp is a fresh G owned by this thread.
    unsafe {
        assert_eq!(readgstatus(gp), _Gidle);
        for (a, b) in [
            (_Gidle, _Gdead),
            (_Gdead, _Grunnable),
            (_Grunnable, _Grunning),
            (_Grunning, _Gwaiting),
            (_Gwaiting, _Grunnable),
            (_Grunnable, _Grunning),
            (_Grunning, _Gdead),
        ] {
            casgstatus(gp, a, b);
            assert_eq!(readgstatus(gp), b);
        }
    }
}

#[test]
fn malg_negative_has_no_stack_and_positive_rounds_up() {
    let g0 = malg(-1);
    // SAFETY: fresh Gs owned by this thread.
    unsafe {
        assert_eq!((*g0).stack.lo, 0);
        assert_eq!((*g0).stack.hi, 0);
        let gp = malg(100_000);
        let s = (*gp).stack;
        assert!(s.size() >= 100_000 && s.size().is_multiple_of(stack::PAGE_SIZE));
        assert_eq!((*gp).stackguard0, s.lo + runtime_g::STACK_GUARD);
    }
}

#[test]
fn stacks_have_a_guard_page_below_and_are_usable() {
    let s = stackalloc(64 * 1024);
    assert_eq!(
        guard_hit(s.lo - 1),
        Some(s),
        "the byte below lo is the guard"
    );
    assert_eq!(guard_hit(s.lo - GUARD_SIZE), Some(s));
    assert_eq!(guard_hit(s.lo), None);
    assert_eq!(guard_hit(s.hi - 1), None);
    assert_eq!(guard_hit(0x1000), None);
    // The whole usable range is writable and zeroed on first touch.
    // SAFETY: [lo, hi) is our stack, unused by anyone.
    unsafe {
        let p = s.lo as *mut u8;
        assert_eq!(*p, 0);
        std::ptr::write_bytes(p, 0xAB, s.size());
        assert_eq!(*(s.hi as *const u8).sub(1), 0xAB);
    }
    assert_ne!(stack::guard_mode(), stack::GuardMode::Unknown);
    // SAFETY: nothing uses s any more.
    unsafe { stackfree(s) };
}

#[test]
fn freed_stacks_are_reused_and_cleared() {
    let size = 48 * 1024;
    let a = stackalloc(size);
    // SAFETY: our stack.
    unsafe { *((a.hi - 8) as *mut u64) = 0xdead_beef };
    // SAFETY: nothing uses a any more.
    unsafe { stackfree(a) };
    let b = stackalloc(size);
    assert_eq!(a, b, "LIFO reuse of a freed stack of the same size");
    // SAFETY: our stack.
    let top = unsafe { *((b.hi - 8) as *const u64) };
    assert_eq!(top, 0, "pages were released (MADV_DONTNEED)");
}

#[test]
fn many_stacks_use_few_mappings() {
    let count = || {
        std::fs::read_to_string("/proc/self/maps")
            .unwrap()
            .lines()
            .count()
    };
    let before = count();
    let stacks: Vec<_> = (0..20_000).map(|_| stackalloc(32 * 1024)).collect();
    let after = count();
    if stack::guard_mode() == stack::GuardMode::GuardInstall {
        assert!(
            after - before < 50,
            "{before} -> {after} mappings for 20,000 stacks"
        );
    }
    for s in stacks {
        // SAFETY: unused.
        unsafe { stackfree(s) };
    }
}

#[test]
fn mprotect_guards_report_the_map_count_limit() {
    let max: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    if max > 400_000 {
        eprintln!("vm.max_map_count is {max}: the limit cannot be reached cheaply; skipped");
        return;
    }
    let (err, code) = child("map_count");
    assert!(
        err.contains("runtime: cannot install a goroutine stack guard page: mprotect:"),
        "{err}"
    );
    assert!(err.contains(&format!("vm.max_map_count ({max})")), "{err}");
    assert!(err.contains("sysctl -w vm.max_map_count="), "{err}");
    assert!(
        err.contains("fatal error: runtime: cannot allocate goroutine stack"),
        "{err}"
    );
    assert_eq!(code, Some(2));
}

/// Lazily freed stacks are reused warm; `scavenge` releases them in
/// coalesced batches (contents gone, guards intact).
#[test]
fn lazily_freed_stacks_are_scavenged_in_batches() {
    // A size of its own, so that other tests' stacks do not interfere.
    let size = 72 * 1024;
    let stacks: Vec<_> = (0..8).map(|_| stackalloc(size)).collect();
    for s in &stacks {
        // SAFETY: our stacks.
        unsafe { *((s.hi - 8) as *mut u64) = 0xfeed };
    }
    // Warm reuse: a lazily freed stack comes back with its contents.
    // SAFETY: nothing uses stacks[0] any more.
    unsafe { stack::stackfree_lazy(stacks[0]) };
    let again = stackalloc(size);
    assert_eq!(again, stacks[0]);
    // SAFETY: our stack.
    assert_eq!(unsafe { *((again.hi - 8) as *const u64) }, 0xfeed);
    for s in std::iter::once(again).chain(stacks[1..].iter().copied()) {
        // SAFETY: nothing uses them any more.
        unsafe { stack::stackfree_lazy(s) };
    }
    assert!(stack::dirty_stacks() >= 8);
    assert!(stack::scavenge() >= 8);
    for s in &stacks {
        // The guard below each stack survived the coalesced madvise.
        assert_eq!(stack::guard_hit(s.lo - 1), Some(*s));
    }
    // Released: a reused stack reads zero.
    let b = stackalloc(size);
    assert!(stacks.contains(&b));
    // SAFETY: our stack.
    let top = unsafe { *((b.hi - 8) as *const u64) };
    assert_eq!(top, 0, "pages not released");
    // SAFETY: unused.
    unsafe { stackfree(b) };
}

//! loom models of the run-queue handshakes (Go describes them in proc.go's
//! comments on runqput/runqget/runqgrab/runqempty). Built and run only with
//! `RUSTFLAGS="--cfg loom" cargo test --release -p gort-runtime-p --test loom_runq`
//! (scripts/test.sh does); the ring then has 4 slots.
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use runtime_g::{G, malg};
use runtime_p::p::{P, runqempty, runqget, runqput, runqsteal};

/// G pointers as plain numbers, so they can cross loom threads.
fn gs(n: usize) -> Vec<usize> {
    (0..n).map(|_| malg(-1) as usize).collect()
}

fn p(id: i32) -> Arc<P> {
    Arc::new(P::new(id, core::ptr::null()))
}

/// The owner keeps putting and getting while a thief steals (runnext
/// included): every G is taken exactly once, by someone.
#[test]
fn owner_and_thief_take_each_g_once() {
    loom::model(|| {
        let p1 = p(0);
        let p2 = p(1);
        let g = gs(3);
        // SAFETY: this thread owns p1 until the thief starts, then only
        // calls owner operations on it.
        unsafe {
            runqput(&p1, g[0] as *mut G, false);
            runqput(&p1, g[1] as *mut G, false);
        }
        let thief = {
            let (p1, p2) = (p1.clone(), p2.clone());
            thread::spawn(move || {
                let mut got = Vec::new();
                // SAFETY: the thief owns p2.
                unsafe {
                    let gp = runqsteal(&p2, &p1, true);
                    if !gp.is_null() {
                        got.push(gp as usize);
                    }
                    loop {
                        let (gp, _) = runqget(&p2);
                        if gp.is_null() {
                            break;
                        }
                        got.push(gp as usize);
                    }
                }
                got
            })
        };
        let mut mine = Vec::new();
        // SAFETY: the owner's operations on its own P.
        unsafe {
            runqput(&p1, g[2] as *mut G, true);
            loop {
                let (gp, _) = runqget(&p1);
                if gp.is_null() {
                    break;
                }
                mine.push(gp as usize);
            }
        }
        let mut all = thief.join().unwrap();
        all.extend(mine);
        all.sort();
        let mut want = g.clone();
        want.sort();
        assert_eq!(all, want, "every G exactly once");
    });
}

/// go-test: TestSchedLocalQueueEmpty (proc_test.go), as a model: while the
/// owner moves runnext into the ring and takes one G, an observer never sees
/// the queue empty (it always holds at least one G).
#[test]
fn runqempty_is_never_falsely_empty() {
    loom::model(|| {
        let p1 = p(0);
        let g = gs(2);
        // SAFETY: owner operations.
        unsafe { runqput(&p1, g[0] as *mut G, true) };
        let observer = {
            let p1 = p1.clone();
            thread::spawn(move || {
                assert!(!runqempty(&p1), "queue reported empty while holding a G")
            })
        };
        // SAFETY: owner operations.
        unsafe {
            runqput(&p1, g[1] as *mut G, true); // kicks g0 into the ring
            runqget(&p1);
        }
        observer.join().unwrap();
    });
}

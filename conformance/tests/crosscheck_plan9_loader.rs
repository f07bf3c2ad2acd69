//! Issue 23, item 2: every cross-check pair's Go program, built for
//! plan9/amd64 and run under the Plan 9 loader (`plan9-run`), against the
//! same program built for linux/amd64. A pair that cannot pass under the
//! loader says why in its `plan9-loader.txt`; every other pair must match.
//! The test prints the report: the pairs that pass, and the others with
//! their reasons.

use std::path::{Path, PathBuf};
use std::process::Command;

use conformance::{GoToolchain, check_pair_plan9_loader, crosscheck_dir, pairs, workspace_root};

/// Builds `plan9-run` (the loader is its own binary crate) and returns it.
fn loader() -> PathBuf {
    let st = Command::new(env!("CARGO"))
        .current_dir(workspace_root())
        .args(["build", "-q", "--release", "-p", "plan9-run"])
        .status()
        .expect("cargo runs");
    assert!(st.success(), "building plan9-run failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("release/plan9-run")
}

fn reason(name: &str) -> Option<String> {
    std::fs::read_to_string(crosscheck_dir().join(name).join("plan9-loader.txt"))
        .ok()
        .map(|s| {
            s.lines()
                .filter(|l| !l.starts_with('#'))
                .collect::<Vec<_>>()
                .join(" ")
        })
}

#[test]
fn pairs_built_for_plan9_match_linux_under_the_loader() {
    let tc = GoToolchain::get().unwrap_or_else(|e| panic!("cross-checks need real Go: {e}"));
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let linux = tmp.join("crosscheck-go-linux");
    tc.build_crosschecks(&linux)
        .unwrap_or_else(|e| panic!("{e}"));
    let p9 = tmp.join("crosscheck-go-plan9");
    let unbuilt = tc
        .build_crosschecks_plan9(&p9)
        .unwrap_or_else(|e| panic!("{e}"));
    let loader = loader();
    let names = pairs();
    let results: Vec<(String, Result<(), String>)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2)
            .map(|k| {
                let chunk: Vec<String> = names.iter().skip(k).step_by(2).cloned().collect();
                let (linux, p9, loader, unbuilt) = (&linux, &p9, &loader, &unbuilt);
                s.spawn(move || {
                    chunk
                        .into_iter()
                        .map(|n| {
                            if let Some((_, e)) = unbuilt.iter().find(|(u, _)| *u == n) {
                                return (
                                    n,
                                    Err(format!("Go does not build it for plan9/amd64: {e}")),
                                );
                            }
                            let r = check_pair_plan9_loader(&n, linux, p9, loader);
                            (n, r)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let passed: Vec<&String> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(n, _)| n)
        .collect();
    println!(
        "plan9-run cross-check: {} of {} pairs match Go's linux/amd64 run",
        passed.len(),
        results.len()
    );
    println!(
        "passing: {}",
        passed
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut unexplained = Vec::new();
    for (n, r) in &results {
        if let Err(e) = r {
            match reason(n) {
                Some(why) => println!("not passing, with its reason: {n}: {why}"),
                None => {
                    println!("--- {n} (no plan9-loader.txt) ---\n{e}");
                    unexplained.push(n.clone());
                }
            }
        }
    }
    assert!(
        passed.len() >= 30,
        "only {} pairs pass under the loader",
        passed.len()
    );
    assert!(
        unexplained.is_empty(),
        "pairs that differ under the loader with no recorded reason: {unexplained:?}"
    );
}

//! Runs every cross-check pair in real Go and in gort and compares them
//! (see `conformance::compare`). Fails, saying why, when Go cannot be had.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use conformance::{GoToolchain, check_pair, pairs};

/// Builds the Go side once per test process.
fn go_bins() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let tc = GoToolchain::get().unwrap_or_else(|e| panic!("cross-checks need real Go: {e}"));
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("crosscheck-go");
        tc.build_crosschecks(&dir).unwrap_or_else(|e| panic!("{e}"));
        dir
    })
}

fn xc() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_xc"))
}

fn layer() -> String {
    std::env::var("GORT_OS").unwrap_or_else(|_| "linux".into())
}

#[test]
fn every_pair_matches_real_go() {
    let names = pairs();
    assert!(!names.is_empty(), "no cross-check pairs found");
    let bins = go_bins();
    let layer = layer();
    let results: Vec<(String, Result<(), String>)> = std::thread::scope(|s| {
        let chunks: Vec<Vec<String>> = (0..2)
            .map(|k| names.iter().skip(k).step_by(2).cloned().collect())
            .collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let layer = layer.clone();
                s.spawn(move || {
                    chunk
                        .into_iter()
                        .map(|n| {
                            let r = check_pair(&n, bins, xc(), &layer);
                            (n, r)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let failed: Vec<_> = results.iter().filter(|(_, r)| r.is_err()).collect();
    println!(
        "crosscheck [{layer}]: {} of {} pairs match real Go",
        results.len() - failed.len(),
        results.len()
    );
    for (n, r) in &failed {
        println!("--- {n} ---\n{}", r.as_ref().unwrap_err());
    }
    assert!(
        failed.is_empty(),
        "{} cross-check pair(s) differ from Go; see above",
        failed.len()
    );
}

/// The harness itself: a gort program that exits 0 where Go exits 2 must be
/// reported, with both statuses named.
#[test]
fn harness_catches_a_wrong_program() {
    let err = check_pair("negative_exit_code", go_bins(), xc(), &layer())
        .expect_err("the harness must catch it");
    assert!(
        err.contains("exit status: Go Some(2), gort Some(0)"),
        "{err}"
    );
    assert!(err.contains("stderr head differs"), "{err}");
}

/// Every pair folder has its gort program registered in `xc`, and back.
#[test]
fn every_pair_is_registered_in_xc() {
    let out = std::process::Command::new(xc())
        .arg("--list")
        .output()
        .unwrap();
    let mut listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect();
    listed.retain(|n| !n.starts_with("negative_"));
    listed.sort();
    assert_eq!(listed, pairs());
}

#[test]
fn normalisation_keeps_goroutine_1_and_hides_other_ids_and_addresses() {
    use conformance::{normalize, stderr_head};
    assert_eq!(
        normalize("goroutine 1 [running]:"),
        "goroutine 1 [running]:"
    );
    assert_eq!(
        normalize("goroutine 18 [running]:"),
        "goroutine N [running]:"
    );
    assert_eq!(
        normalize("sp=0xc000123 stack=[0x1, 0xffff]"),
        "sp=0xX stack=[0xX, 0xX]"
    );
    let go = "fatal error: stack overflow\n\nruntime stack:\nruntime.throw(...)\n";
    assert_eq!(stderr_head(go), ["fatal error: stack overflow", ""]);
    let go = "panic: boom\n\ngoroutine 1 gp=0xc000002380 m=0 mp=0x5 [running]:\nmain.main()\n";
    assert_eq!(
        stderr_head(go),
        ["panic: boom", "", "goroutine 1 [running]:"]
    );
}

//! `cargo run -p conformance --bin report`: the conformance report, per OS
//! layer and scheduler mode, in three counts:
//!
//! 1. the catalogued Go tests (`shared/go-reference/tests.md`): ported and
//!    passing, or listed with the reason they cannot exist in Rust
//!    (`conformance/unportable.md`);
//! 2. the extra Go tests ported (markers naming tests outside the
//!    catalogue), passing;
//! 3. the cross-check pairs matching real Go.
//!
//! Each layer and mode runs `cargo test --workspace --no-fail-fast` once
//! (debug), then the marked release-only tests in release. A Go test passes
//! when every
//! Rust test carrying its `go-test:` marker passed in that run (the
//! `_migrating` twin of a `#[gort::test(both)]` test in the migrating
//! mode).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use conformance::catalogue::{
    Marker, find_markers, parse_results, read_catalogue, read_unportable,
};
use conformance::{GoToolchain, check_pair_in, pairs, workspace_root};

/// OS layers gort can run on today.
const LAYERS: &[&str] = &["linux", "plan9"];
/// Scheduler modes (`GORT_SCHED`).
const MODES: &[&str] = &["safe", "migrating"];

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// `ported N of M portable Go tests` from shared/tools/conformance-coverage.
fn coverage_line(root: &Path) -> String {
    let tool = root.join("../shared/tools/conformance-coverage");
    match Command::new(&tool).arg(root).output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .last()
            .unwrap_or("")
            .trim()
            .to_string(),
        _ => format!("(cannot run {})", tool.display()),
    }
}

/// Runs the workspace's tests under `layer` and `mode`.
fn run_tests(root: &Path, layer: &str, mode: &str) -> BTreeMap<(String, String), Option<bool>> {
    parse_results(&cargo_test(
        root,
        layer,
        mode,
        "--workspace --no-fail-fast -- --test-threads=2",
    ))
}

/// What `cargo test <args>` prints under `layer` and `mode`, as one
/// stream in order: cargo names each test binary on stderr (`Running …`)
/// and the binaries print their results on stdout.
fn cargo_test(root: &Path, layer: &str, mode: &str, args: &str) -> String {
    let out = Command::new("sh")
        .current_dir(root)
        .arg("-c")
        .arg(format!("'{}' test {args} 2>&1", cargo()))
        .env("GORT_OS", layer)
        .env("GORT_SCHED", mode)
        .output()
        .expect("run cargo test");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs, in release, the marked tests of `results` that the debug run
/// left out (`#[ignore = "release-only: …"]`), and merges their outcomes.
fn run_release_only(
    root: &Path,
    layer: &str,
    mode: &str,
    markers: &[Marker],
    results: &mut BTreeMap<(String, String), Option<bool>>,
) {
    let mut by_binary: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for m in markers {
        let Some(t) = m.rust_fn.as_ref().and_then(|(f, a)| a.test_in(f, mode)) else {
            continue;
        };
        if results.get(&(m.binary.clone(), t.clone())) == Some(&None) {
            by_binary.entry(&m.binary).or_default().push(t);
        }
    }
    for (binary, tests) in by_binary {
        let text = cargo_test(
            root,
            layer,
            mode,
            &format!(
                "--release --workspace --test {binary} -- --ignored --test-threads=1 {}",
                tests.join(" ")
            ),
        );
        let found = parse_results(&text);
        if found.is_empty() {
            let tail: Vec<&str> = text.lines().rev().take(5).collect();
            eprintln!("release run of {binary} ({layer}/{mode}) gave no results: {tail:?}");
        }
        // Say why a test the release run was for still has no outcome.
        for t in &tests {
            if !matches!(found.get(&(binary.to_string(), t.clone())), Some(Some(_))) {
                let tail: Vec<&str> = text.lines().rev().take(8).collect();
                eprintln!(
                    "release run of {binary} ({layer}/{mode}) gave no outcome for {t}: {tail:?}"
                );
            }
        }
        for (k, v) in found {
            if v.is_some() {
                results.insert(k, v);
            }
        }
    }
}

/// How a Go test fared in one mode's run.
enum Outcome {
    Passed,
    /// A marked Rust test failed, or did not run though it should have
    /// (its binary died, say): why.
    Failed(String),
    /// None of its Rust tests runs in this mode, or only a loom model.
    NotApplicable,
    /// Ignored in this profile even after the release run.
    NotRun,
}

/// The outcome of a Go test whose markers are `ms` in a run's `results`
/// in `mode`: every marked Rust test that runs in that mode must have
/// passed.
fn outcome(
    ms: &[&Marker],
    results: &BTreeMap<(String, String), Option<bool>>,
    mode: &str,
) -> Outcome {
    let (mut ran, mut ignored) = (false, false);
    for m in ms {
        let Some((f, attr)) = &m.rust_fn else {
            return Outcome::Failed(format!("the marker at {} is on no test", m.at));
        };
        let Some(t) = attr.test_in(f, mode) else {
            continue;
        };
        if m.binary.starts_with("loom_") {
            continue; // built only with --cfg loom (scripts/test.sh)
        }
        match results.get(&(m.binary.clone(), t.clone())) {
            Some(Some(true)) => ran = true,
            Some(Some(false)) => return Outcome::Failed(format!("{}::{t} failed", m.binary)),
            Some(None) => ignored = true,
            None => return Outcome::Failed(format!("{}::{t} did not run", m.binary)),
        }
    }
    match (ran, ignored) {
        (_, true) => Outcome::NotRun,
        (true, false) => Outcome::Passed,
        (false, false) => Outcome::NotApplicable,
    }
}

fn main() {
    let root = workspace_root();
    let status = Command::new(cargo())
        .current_dir(&root)
        .args(["build", "--quiet", "-p", "conformance", "--bin", "xc"])
        .status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "cannot build the xc binary"
    );
    let xc: PathBuf = std::env::current_exe().unwrap().with_file_name("xc");
    let catalogue = read_catalogue(&root.join("../shared/go-reference/tests.md"));
    let unportable = read_unportable(&root.join("conformance/unportable.md"));
    let markers = find_markers(&root);
    // Go tests: catalogued ones by name and section, extra ones by name.
    let mut catalogued: BTreeMap<String, Vec<&Marker>> = BTreeMap::new();
    let mut extra: BTreeMap<String, Vec<&Marker>> = BTreeMap::new();
    for c in &catalogue {
        let ms: Vec<&Marker> = markers.iter().filter(|m| m.ports(c)).collect();
        if !ms.is_empty() {
            catalogued.insert(format!("{} ({})", c.name, c.section), ms);
        }
    }
    for m in &markers {
        if !catalogue.iter().any(|c| c.name == m.go_name) {
            extra.entry(m.go_name.clone()).or_default().push(m);
        }
    }
    let missing: Vec<&str> = catalogue
        .iter()
        .filter(|c| !markers.iter().any(|m| m.ports(c)))
        .map(|c| c.name.as_str())
        .collect();
    let unlisted: Vec<&&str> = missing
        .iter()
        .filter(|n| !unportable.contains_key(**n))
        .collect();

    let names = pairs();
    let go_dir = root.join("target/crosscheck-report");
    let go_ok = GoToolchain::get().and_then(|tc| tc.build_crosschecks(&go_dir));

    println!("gort conformance report\n");
    println!(
        "Catalogued Go tests (shared/go-reference/tests.md): {}",
        catalogue.len()
    );
    println!(
        "- ported: {} (shared/tools/conformance-coverage: {})",
        catalogued.len(),
        coverage_line(&root)
    );
    println!(
        "- not portable, with a reason (conformance/unportable.md): {}",
        missing.len() - unlisted.len()
    );
    if !unlisted.is_empty() {
        println!("- neither ported nor listed: {unlisted:?}");
    }
    println!(
        "Extra Go tests ported (outside the catalogue): {}",
        extra.len()
    );
    println!("Cross-check pairs: {}\n", names.len());
    println!(
        "| OS layer | mode | catalogued tests ported and passing | extra tests passing | cross-check pairs matching real Go |"
    );
    println!("|---|---|---|---|---|");
    let mut notes = Vec::new();
    for layer in LAYERS {
        for mode in MODES {
            let mut results = run_tests(&root, layer, mode);
            run_release_only(&root, layer, mode, &markers, &mut results);
            let count = |tests: &BTreeMap<String, Vec<&Marker>>, notes: &mut Vec<String>| {
                let (mut ok, mut total, mut not_run, mut other_mode) = (0, 0, 0, 0);
                for (name, ms) in tests {
                    match outcome(ms, &results, mode) {
                        Outcome::Passed => {
                            ok += 1;
                            total += 1;
                        }
                        Outcome::Failed(why) => {
                            total += 1;
                            notes.push(format!("{layer}/{mode}: {name}: {why}"));
                        }
                        Outcome::NotRun => {
                            total += 1;
                            not_run += 1;
                            notes.push(format!("{layer}/{mode}: {name} not run"));
                        }
                        Outcome::NotApplicable => other_mode += 1,
                    }
                }
                let mut tail = Vec::new();
                if not_run > 0 {
                    tail.push(format!("{not_run} not run"));
                }
                if other_mode > 0 {
                    tail.push(format!(
                        "{other_mode} only in the other mode or a loom model"
                    ));
                }
                let tail = if tail.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", tail.join("; "))
                };
                format!("{ok} of {total}{tail}")
            };
            let cat_cell = count(&catalogued, &mut notes);
            let extra_cell = count(&extra, &mut notes);
            let pairs_cell = match &go_ok {
                Ok(()) => {
                    let mut good = 0;
                    for n in &names {
                        match check_pair_in(n, &go_dir, &xc, layer, Some(mode)) {
                            Ok(()) => good += 1,
                            Err(e) => notes.push(format!(
                                "{layer}/{mode}: pair {n} differs: {}",
                                e.lines().next().unwrap_or("")
                            )),
                        }
                    }
                    format!("{good} of {}", names.len())
                }
                Err(e) => format!("not run: {e}"),
            };
            println!("| {layer} | {mode} | {cat_cell} | {extra_cell} | {pairs_cell} |");
        }
    }
    if !notes.is_empty() {
        println!();
        for n in notes {
            println!("- {n}");
        }
    }
}

//! `cargo run -p conformance --bin report`: prints the conformance table —
//! Go tests ported and passing, and cross-check pairs matching real Go —
//! for each OS layer that exists.

use std::path::{Path, PathBuf};
use std::process::Command;

use conformance::{GoToolchain, check_pair, pairs, workspace_root};

/// OS layers gort can run on today.
const LAYERS: &[&str] = &["linux", "plan9"];

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// `ported N of M portable Go tests` from shared/tools/conformance-coverage.
fn ported_line(root: &Path) -> String {
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

/// Runs the workspace tests under `layer` and counts the ported Go tests
/// (functions named `test_<go name>`) that pass and fail.
fn ported_results(root: &Path, layer: &str) -> (usize, usize) {
    let out = Command::new(cargo())
        .current_dir(root)
        .args(["test", "--workspace", "--", "--test-threads=2"])
        .env("GORT_OS", layer)
        .output()
        .expect("run cargo test");
    let text = String::from_utf8_lossy(&out.stdout);
    let (mut ok, mut bad) = (0, 0);
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("test ") else {
            continue;
        };
        let Some((name, verdict)) = rest.split_once(" ... ") else {
            continue;
        };
        if !name.rsplit("::").next().unwrap_or("").starts_with("test_") {
            continue;
        }
        if verdict.starts_with("ok") {
            ok += 1;
        } else if verdict.starts_with("FAILED") {
            bad += 1;
        }
    }
    (ok, bad)
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
    let names = pairs();
    let go = GoToolchain::get();
    let go_dir = root.join("target/crosscheck-report");
    let go_ok = go
        .as_ref()
        .map_err(|e| e.clone())
        .and_then(|tc| tc.build_crosschecks(&go_dir));

    println!("gort conformance report\n");
    println!("Go tests: {}\n", ported_line(&root));
    println!("| OS layer | ported Go tests passing | cross-check pairs matching real Go |");
    println!("|---|---|---|");
    for layer in LAYERS {
        let (ok, bad) = ported_results(&root, layer);
        let pairs_cell = match &go_ok {
            Ok(()) => {
                let good = names
                    .iter()
                    .filter(|n| check_pair(n, &go_dir, &xc, layer).is_ok())
                    .count();
                format!("{good} of {}", names.len())
            }
            Err(e) => format!("not run: {e}"),
        };
        println!("| {layer} | {ok} passing, {bad} failing | {pairs_cell} |");
    }
}

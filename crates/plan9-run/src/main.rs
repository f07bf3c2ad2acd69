//! plan9-run: runs a Plan 9 amd64 a.out, as Go builds it with
//! `GOOS=plan9 GOARCH=amd64`, on Linux with Plan 9's process semantics.
//!
//! - Text is mapped private and read-only at `UTZERO`. Data, bss and the
//!   whole `brk` heap are one `MAP_SHARED` memfd mapping made before the
//!   first process starts, so every process sees the same memory there,
//!   as RFMEM gives on Plan 9. The stack segment is private: `rfork`'s
//!   child gets a copy at the same address, as on Plan 9.
//! - Every `SYSCALL` in the binary's text raises SIGSYS (Syscall User
//!   Dispatch); the handler reads Plan 9's call number from BP and the
//!   arguments from the stack and emulates the call ([`sys`]).
//! - `rfork(RFPROC|RFMEM|RFNOWAIT)` is `clone` without `CLONE_VM`: a real
//!   new process, sharing the file descriptor table as Plan 9 shares it.
//! - Notes are queued in shared memory and announced with a real-time
//!   signal; the binary's own `notify` handler runs with a real `Ureg`,
//!   and `noted` resumes or kills ([`note`]).
//! - The files Go's runtime and os package read (`/dev/bintime`,
//!   `#c/pid`, `/dev/sysstat`, `/env`, `/proc/N/note`, ...) are served by
//!   the loader's namespace ([`ns`]); other paths are the host's.
//!
//! The process the user starts stays outside the program as its
//! supervisor: a subreaper that waits for every process of the program,
//! exits with the first process's status, and reports (and ends)
//! processes still running after the first one exited.

mod aout;
mod note;
mod ns;
mod state;
mod sys;

use state::{Layout, PRIVATE, Shared};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;

/// Size of the shared data, bss and heap mapping (address space only; the
/// memfd is sparse).
const HEAP_SPAN: u64 = 64 << 30;
/// The private stack segment: Plan 9's 16 MiB, at an address of our own.
const STACK_SIZE: u64 = 16 << 20;
const STACK_TOP: u64 = 0x1000_0000_0000;
/// Plan 9's `Tos` (amd64): the profiling block, three clocks, pid, clock.
const TOS_SIZE: u64 = 72;
/// Where the loader keeps the shared state.
const SHARED_ADDR: u64 = 0x0f00_0000_0000;
/// How long processes may outlive the first one before the supervisor
/// ends them.
const GRACE_MS: u64 = 2000;

fn die(msg: impl std::fmt::Display) -> ! {
    eprintln!("plan9-run: {msg}");
    std::process::exit(1)
}

fn usage() -> ! {
    eprintln!(
        "usage: plan9-run [--trace] <plan9/amd64 binary> [args...]\n\
         \n\
         Runs a program built with GOOS=plan9 GOARCH=amd64 on Linux with Plan 9\n\
         process semantics. PLAN9_RUN_TRACE=1 (or --trace) traces system calls."
    );
    std::process::exit(2)
}

fn memfd(name: &str, size: u64) -> std::fs::File {
    let cname = std::ffi::CString::new(name).unwrap();
    // SAFETY: a valid NUL-terminated name; the fd is owned by the File.
    let fd = unsafe { libc::memfd_create(cname.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        die(format!("memfd_create: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: fd is a new descriptor nobody else owns.
    let f = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    if let Err(e) = f.set_len(size) {
        die(format!("sizing the {name} memfd to {size} bytes: {e}"));
    }
    f
}

/// Maps `len` bytes at exactly `addr`, failing if anything is there.
fn map_at(addr: u64, len: u64, prot: i32, flags: i32, fd: i32, off: u64, what: &str) {
    // SAFETY: MAP_FIXED_NOREPLACE never replaces a mapping; the result is
    // checked.
    let p = unsafe {
        libc::mmap(
            addr as *mut libc::c_void,
            len as usize,
            prot,
            flags | libc::MAP_FIXED_NOREPLACE,
            fd,
            off as libc::off_t,
        )
    };
    if p == libc::MAP_FAILED || p as u64 != addr {
        die(format!(
            "mapping the {what} at {addr:#x} ({len} bytes): {}",
            std::io::Error::last_os_error()
        ));
    }
}

fn main() {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let mut trace = std::env::var_os("PLAN9_RUN_TRACE").is_some_and(|v| v == "1");
    if args.first().is_some_and(|a| a == "--trace") {
        trace = true;
        args.remove(0);
    }
    if args.is_empty() || args[0] == "--help" || args[0] == "-h" {
        usage();
    }
    check_kernel();
    let path = std::path::PathBuf::from(&args[0]);
    let file =
        std::fs::File::open(&path).unwrap_or_else(|e| die(format!("{}: {e}", path.display())));
    let mut head = [0u8; 40];
    use std::io::Read;
    (&file)
        .read_exact(&mut head)
        .unwrap_or_else(|e| die(format!("{}: reading the header: {e}", path.display())));
    let h = aout::Header::parse(&head).unwrap_or_else(|e| die(format!("{}: {e}", path.display())));

    // The namespace's /env, filled from our environment.
    let env_dir = ns::make_env_dir().unwrap_or_else(|e| die(format!("making /env: {e}")));

    // Shared loader state.
    let shared_len = (std::mem::size_of::<Shared>() as u64).next_multiple_of(4096);
    let sfd = memfd("plan9-run shared", shared_len);
    map_at(
        SHARED_ADDR,
        shared_len,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_SHARED,
        sfd.as_raw_fd(),
        0,
        "loader's shared state",
    );
    // SAFETY: the mapping is zeroed, which is a valid Shared (atomics and
    // byte arrays), and lives as long as the process.
    let shared: &'static Shared = unsafe { &*(SHARED_ADDR as *const Shared) };

    // Text: private, read and execute, from the file (header included).
    let text_len = h.text_end() - aout::UTZERO;
    map_at(
        aout::UTZERO,
        text_len,
        libc::PROT_READ | libc::PROT_EXEC,
        libc::MAP_PRIVATE,
        file.as_raw_fd(),
        0,
        "text segment",
    );
    // Data, bss and heap: one shared memfd mapping.
    let dfd = memfd("plan9 data+bss+heap", HEAP_SPAN);
    {
        let mut data = vec![0u8; h.data as usize];
        use std::os::unix::fs::FileExt;
        file.read_exact_at(&mut data, aout::HEADR + h.text)
            .unwrap_or_else(|e| die(format!("{}: reading the data segment: {e}", path.display())));
        dfd.write_all_at(&data, 0)
            .unwrap_or_else(|e| die(format!("writing the data segment: {e}")));
    }
    map_at(
        h.data_start(),
        HEAP_SPAN,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_SHARED | libc::MAP_NORESERVE,
        dfd.as_raw_fd(),
        0,
        "data, bss and heap segment",
    );
    shared
        .brk
        .store(h.bss_end(), core::sync::atomic::Ordering::SeqCst);
    // Stack: private.
    map_at(
        STACK_TOP - STACK_SIZE,
        STACK_SIZE,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
        -1,
        0,
        "stack segment",
    );
    drop((file, dfd, sfd));

    let layout = Layout {
        text_start: aout::UTZERO,
        text_end: h.text_end(),
        data_start: h.data_start(),
        heap_limit: h.data_start() + HEAP_SPAN,
        stack_lo: STACK_TOP - STACK_SIZE,
        stack_hi: STACK_TOP,
        tos: STACK_TOP - TOS_SIZE,
    };
    let sp = build_stack(&layout, &args);

    // The supervisor: the process the user started stays outside the
    // program and reaps it.
    // SAFETY: plain prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let slot = shared.reserve_slot().expect("a fresh table has free slots");
    // SAFETY: single-threaded: fork is safe to call.
    let child = unsafe { libc::fork() };
    if child < 0 {
        die(format!("fork: {}", std::io::Error::last_os_error()));
    }
    if child > 0 {
        shared.procs[slot]
            .pid
            .store(child, core::sync::atomic::Ordering::SeqCst);
        shared
            .main_pid
            .store(child, core::sync::atomic::Ordering::SeqCst);
        let code = supervise(shared, child);
        let _ = std::fs::remove_dir_all(&env_dir);
        std::process::exit(code);
    }
    // The first process of the program.
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    shared.procs[slot]
        .pid
        .store(pid, core::sync::atomic::Ordering::SeqCst);
    shared
        .main_pid
        .store(pid, core::sync::atomic::Ordering::SeqCst);
    // SAFETY: the binary has not started and no handler is installed yet,
    // so nothing else uses the private state.
    let p = unsafe { PRIVATE.get() };
    p.pid = pid;
    p.slot = slot;
    p.shared = shared;
    p.layout = layout;
    p.trace = trace;
    ns::set_env_dir(env_dir);
    state::TEXT_LO.store(layout.text_start, core::sync::atomic::Ordering::SeqCst);
    state::TEXT_HI.store(layout.text_end, core::sync::atomic::Ordering::SeqCst);
    state::set_my_slot(&shared.procs[slot]);
    sys::set_tos_pid(&layout, pid);
    note::install();
    sys::enable_dispatch(p);
    // SAFETY: the image is mapped and the stack laid out as Plan 9's exec
    // leaves them; from here on the binary runs, and every system call it
    // makes comes back to the loader through SIGSYS.
    unsafe { enter(h.entry, sp, layout.tos) }
}

/// Fails clearly where the kernel lacks what the loader needs:
/// `futex_waitv` (Linux 5.16; Syscall User Dispatch came in 5.11).
fn check_kernel() {
    // SAFETY: futex_waitv with no waiters only validates its arguments.
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex_waitv,
            core::ptr::null::<u8>(),
            0u32,
            0u32,
            core::ptr::null::<libc::timespec>(),
            libc::CLOCK_MONOTONIC,
        )
    };
    if r < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS) {
        die("this kernel has no futex_waitv: Linux 5.16 or later is needed");
    }
}

/// Lays out the first process's stack as Plan 9's exec does: `Tos` at the
/// top, the argument strings below it, then `argv` (NULL-terminated) and
/// `argc` at the stack pointer.
fn build_stack(l: &Layout, args: &[std::ffi::OsString]) -> u64 {
    let mut sp = l.tos;
    let mut ptrs = Vec::new();
    for a in args.iter().rev() {
        let b = a.as_bytes();
        sp -= b.len() as u64 + 1;
        // SAFETY: inside the freshly mapped private stack segment.
        unsafe {
            core::ptr::copy_nonoverlapping(b.as_ptr(), sp as *mut u8, b.len());
            *((sp + b.len() as u64) as *mut u8) = 0;
        }
        ptrs.push(sp);
    }
    ptrs.reverse();
    sp &= !15;
    let words = ptrs.len() as u64 + 2;
    sp -= 8 * words;
    sp &= !15;
    // SAFETY: inside the stack segment, 8-byte aligned.
    unsafe {
        *(sp as *mut u64) = ptrs.len() as u64;
        for (i, p) in ptrs.iter().enumerate() {
            *((sp + 8 + 8 * i as u64) as *mut u64) = *p;
        }
        *((sp + 8 + 8 * ptrs.len() as u64) as *mut u64) = 0;
    }
    sp
}

/// Jumps to the binary's entry with Plan 9's exec registers: SP at argc,
/// AX the `Tos` address.
///
/// # Safety
/// `entry` must be the loaded binary's entry point and `sp` a stack laid
/// out by [`build_stack`].
unsafe fn enter(entry: u64, sp: u64, tos: u64) -> ! {
    // SAFETY: the caller's promise; the binary never returns here.
    unsafe {
        core::arch::asm!(
            "mov rsp, {sp}",
            "xor ebp, ebp",
            "jmp {entry}",
            sp = in(reg) sp,
            entry = in(reg) entry,
            in("rax") tos,
            options(noreturn)
        )
    }
}

/// Waits for the program: returns the exit status of its first process,
/// after every other process has ended too (or been ended, `GRACE_MS`
/// after the first one exited).
fn supervise(shared: &Shared, main: i32) -> i32 {
    // SAFETY: ignoring these signals in the supervisor only: the program's
    // processes get them from the terminal and turn them into notes.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGQUIT, libc::SIG_IGN);
    }
    let mut code = None;
    let mut deadline = None;
    loop {
        let mut status = 0;
        // SAFETY: waitpid with a valid status pointer.
        let r = unsafe {
            libc::waitpid(
                -1,
                &mut status,
                if deadline.is_some() { libc::WNOHANG } else { 0 },
            )
        };
        if r < 0 {
            break; // ECHILD: every process has ended
        }
        if r == main {
            code = Some(if libc::WIFEXITED(status) {
                exit_code(&shared.exit_msg(), libc::WEXITSTATUS(status))
            } else {
                let sig = libc::WTERMSIG(status);
                eprintln!("plan9-run: the program's first process was killed by signal {sig}");
                128 + sig
            });
            deadline = Some(std::time::Instant::now() + std::time::Duration::from_millis(GRACE_MS));
        }
        if r == 0 {
            if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                let left = shared.live_pids();
                eprintln!(
                    "plan9-run: {} process(es) of the program still running {GRACE_MS} ms after its first process exited; ending them: {left:?}",
                    left.len()
                );
                for p in left {
                    if sys::in_our_group(p) {
                        // SAFETY: kill of a process of the program's.
                        unsafe { libc::kill(p, libc::SIGKILL) };
                    }
                }
                deadline = Some(std::time::Instant::now() + std::time::Duration::from_secs(3600));
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
    code.unwrap_or(1)
}

/// The Linux exit status for a Plan 9 `exits` string: 0 for an empty one,
/// the number modulo 256 for a number (Go's runtime writes its exit code
/// so), 1 for any other text. `fallback` is what the process passed to
/// `_exit`, which already says the same.
fn exit_code(msg: &[u8], fallback: i32) -> i32 {
    if msg.is_empty() {
        return 0;
    }
    match std::str::from_utf8(msg)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        Some(n) => (n % 256) as i32,
        None => fallback.max(1),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn exit_strings_become_statuses() {
        assert_eq!(super::exit_code(b"", 0), 0);
        assert_eq!(super::exit_code(b"2", 2), 2);
        assert_eq!(super::exit_code(b"18446744073709551615", 255), 255);
        assert_eq!(super::exit_code(b"interrupt", 1), 1);
    }
}

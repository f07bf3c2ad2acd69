//! The Plan 9 system calls Go's runtime uses, with their Plan 9 meaning,
//! implemented on Linux: a "kernel" for a personality whose processes are
//! Linux threads of one Linux process.
//!
//! | Plan 9 | here |
//! |---|---|
//! | process (`rfork(RFPROC\|RFMEM)`) | a thread, with its own per-process block ([`Proc`]): pid, errstr, `Tos`, pending notes |
//! | private stack segment | a stack the personality maps for each child (with a guard page); the parent's stack is never touched by the child |
//! | `_tos` | [`tos`]: the calling process's `Tos` (see below) |
//! | `semacquire`/`tsemacquire`/`semrelease` | a counting semaphore on the 32-bit word, futex-backed |
//! | `errstr` | a per-process buffer, swapped as Plan 9 swaps it |
//! | notes (`postnote`) | a per-process queue; a note interrupts the target's blocking call, which returns -1 with errstr `interrupted` |
//! | `sleep`, `nsec`, `/dev/bintime` | futex-timed sleep (interruptible), `CLOCK_REALTIME`, and both clocks |
//! | `exits` | the end of a process: of the whole program for the first process, of the thread for a child |
//!
//! Where Plan 9 keeps the `Tos` at the top of each process's private stack
//! segment (so that one address, `_tos`, means "my Tos" in every process),
//! glibc needs that spot for its thread descriptor; so each process's `Tos`
//! lives in its [`Proc`] block, and [`tos`] returns the calling process's,
//! found through the thread pointer. The "kernel" writes `tos.pid` when the
//! process starts, as Plan 9's kernel writes it on every return to user
//! mode.

use core::cell::{Cell, RefCell};
use core::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::collections::VecDeque;
use std::sync::Mutex;

/// `rfork` flags (os2_plan9.go, matching Plan 9's `libc.h`).
pub const RFNAMEG: i32 = 1 << 0;
pub const RFENVG: i32 = 1 << 1;
pub const RFFDG: i32 = 1 << 2;
pub const RFNOTEG: i32 = 1 << 3;
pub const RFPROC: i32 = 1 << 4;
pub const RFMEM: i32 = 1 << 5;
pub const RFNOWAIT: i32 = 1 << 6;
pub const RFCNAMEG: i32 = 1 << 10;
pub const RFCENVG: i32 = 1 << 11;
pub const RFCFDG: i32 = 1 << 12;
pub const RFREND: i32 = 1 << 13;
pub const RFNOMNT: i32 = 1 << 14;

/// Plan 9's `ERRMAX`.
pub const ERRMAX: usize = 128;

/// `Ebadarg`.
pub const EBADARG: &str = "bad arg in system call";
/// `Eintr`.
pub const EINTR: &str = "interrupted";

/// Size of the stack segment the personality gives each child process
/// (Plan 9's stack segment is larger; the runtime uses the top 64 KiB of it
/// as g0's stack, as Go's `tstart_plan9` does).
pub const CHILD_STACK_SIZE: usize = 1 << 20;

/// Go's mirror of Plan 9's `struct Tos` (defs_plan9_amd64.go): 72 bytes,
/// `pid` at offset 64.
#[repr(C)]
pub struct Tos {
    pub prof_pp: u64,
    pub prof_next: u64,
    pub prof_last: u64,
    pub prof_first: u64,
    pub prof_pid: u32,
    pub prof_what: u32,
    pub cyclefreq: u64,
    pub kcycles: i64,
    pub pcycles: i64,
    /// The process's pid, which the kernel rewrites on every return to
    /// user mode (pc64's `kexit`); here, at every system call ([`up`]).
    pub pid: AtomicU32,
    pub clock: u32,
}

const _: () = assert!(core::mem::offset_of!(Tos, pid) == 64);
const _: () = assert!(size_of::<Tos>() == 72);

/// A process's kernel block.
pub struct Proc {
    pub pid: i32,
    tos: Box<Tos>,
    errstr: RefCell<Vec<u8>>,
    /// Pending notes, oldest first.
    notes: Mutex<VecDeque<String>>,
    /// Bumped by `postnote`; blocking calls sleep on it too (see `block`).
    notewake: AtomicU32,
    /// The word the process is blocked on, if any, for `postnote` to wake.
    waiting_on: AtomicU32Ptr,
    /// The child's stack segment (low address, size), or (0, 0) for the
    /// first process, which runs on the Linux main stack.
    pub stack: (usize, usize),
    /// Whether this is the first process (its `exits` ends the program).
    first: bool,
    /// The Linux thread of a child (`pthread_t`), for `reap`; 0 until
    /// `rfork` stored it.
    tid: core::sync::atomic::AtomicUsize,
}

/// An atomic pointer to a u32 (the address a blocked process waits on).
struct AtomicU32Ptr(core::sync::atomic::AtomicPtr<AtomicU32>);

// SAFETY: the errstr RefCell is only touched by its own process (thread);
// everything another process touches is atomic or behind a Mutex.
unsafe impl Sync for Proc {}
// SAFETY: as above.
unsafe impl Send for Proc {}

thread_local! {
    /// The calling process's block (the "current process" of the kernel,
    /// Plan 9's `up`). Read afresh at every call, never kept.
    static UP: Cell<*const Proc> = const { Cell::new(core::ptr::null()) };
}

/// All live processes, by pid (for `postnote`).
static PROCS: Mutex<Vec<(i32, usize)>> = Mutex::new(Vec::new());
static NEXT_PID: AtomicI32 = AtomicI32::new(0);
static FIRST_ATTACHED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

fn new_pid() -> i32 {
    // Plan 9 pids are 1..INT_MAX; the first process takes the Linux pid and
    // children count up from it.
    // SAFETY: no preconditions.
    let base = unsafe { libc::getpid() };
    let _ = NEXT_PID.compare_exchange(0, base + 1, Ordering::AcqRel, Ordering::Acquire);
    NEXT_PID.fetch_add(1, Ordering::AcqRel)
}

impl Proc {
    /// A fresh process block; its `Tos` carries the pid, as the kernel
    /// writes it there.
    fn new(pid: i32, stack: (usize, usize), first: bool) -> Proc {
        Proc {
            pid,
            tos: Box::new(Tos {
                prof_pp: 0,
                prof_next: 0,
                prof_last: 0,
                prof_first: 0,
                prof_pid: 0,
                prof_what: 0,
                cyclefreq: 0,
                kcycles: 0,
                pcycles: 0,
                pid: AtomicU32::new(pid as u32),
                clock: 0,
            }),
            errstr: RefCell::new(Vec::new()),
            notes: Mutex::new(VecDeque::new()),
            notewake: AtomicU32::new(0),
            waiting_on: AtomicU32Ptr(core::sync::atomic::AtomicPtr::new(core::ptr::null_mut())),
            stack,
            first,
            tid: core::sync::atomic::AtomicUsize::new(0),
        }
    }
}

/// Lists `p` in `PROCS`; a child's block is freed by `reap` after it
/// exited.
fn register(p: Proc) -> *const Proc {
    let pid = p.pid;
    let raw: *const Proc = Box::leak(Box::new(p));
    PROCS.lock().unwrap().push((pid, raw as usize));
    raw
}

/// The calling process, as a system call finds it: like Plan 9's kernel on
/// its way back to user mode (pc64's `kexit`), it rewrites the `Tos` pid,
/// so a stale or scribbled value does not outlive a system call.
pub fn up() -> &'static Proc {
    let p = current();
    p.tos.pid.store(p.pid as u32, Ordering::Relaxed);
    p
}

/// The calling process, attaching the calling thread as the first process
/// if it has none (the process `exec` made).
fn current() -> &'static Proc {
    let p = UP.with(|u| u.get());
    if !p.is_null() {
        // SAFETY: registered processes are leaked: valid forever.
        return unsafe { &*p };
    }
    // The first thread to make a system call is the process `exec` made
    // (the one whose `exits` status the host sees); it keeps the Linux pid.
    // SAFETY: no preconditions.
    let pid = unsafe { libc::getpid() };
    let first = !FIRST_ATTACHED.swap(true, Ordering::AcqRel);
    let raw = register(Proc::new(
        if first { pid } else { new_pid() },
        (0, 0),
        first,
    ));
    UP.with(|u| u.set(raw));
    // SAFETY: registered processes are leaked: valid forever.
    unsafe { &*raw }
}

/// `_tos`: the calling process's `Tos` (a memory read, not a system call:
/// it does not refresh the pid).
pub fn tos() -> &'static Tos {
    &current().tos
}

/// `_tos->pid`.
pub fn tos_pid() -> u32 {
    tos().pid.load(Ordering::Relaxed)
}

/// Sets the calling process's error string (the kernel's `error(...)`).
pub fn werrstr(msg: &str) {
    let mut e = up().errstr.borrow_mut();
    e.clear();
    e.extend_from_slice(&msg.as_bytes()[..msg.len().min(ERRMAX - 1)]);
}

fn fail(msg: &str) -> i32 {
    werrstr(msg);
    -1
}

/// What Plan 9's `validaddr` does with an address a system call cannot
/// use (port/sysproc.c): it tells the process's standard error (`pprint`:
/// "suicide: invalid address …", the symptom 9f012e1's commit message
/// quotes), posts the process the note `sys: bad address in syscall`, and
/// fails the call with `bad arg in system call`. Go's note handler throws
/// on a `sys:` note.
#[track_caller]
fn validaddr_failed(addr: usize, len: usize) -> i32 {
    let p = up();
    let at = core::panic::Location::caller();
    let msg = format!(
        "gort {}: suicide: invalid address {addr:#x}/{len} in sys call at {}:{}\n",
        p.pid,
        at.file(),
        at.line()
    );
    // SAFETY: write from a valid buffer to fd 2.
    unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
    postnote(p.pid, "sys: bad address in syscall");
    fail(EBADARG)
}

/// errstr(buf): Plan 9's swap. `buf` (NUL-terminated, up to its length)
/// becomes the process's error string, and receives the old one,
/// NUL-terminated and truncated to `buf.len() - 1` and `ERRMAX - 1` bytes.
/// Returns 0, or -1 (`bad arg in system call`) for an empty buffer.
pub fn errstr(buf: &mut [u8]) -> i32 {
    if buf.is_empty() {
        return fail(EBADARG);
    }
    let n = buf.len().min(ERRMAX);
    let newlen = buf[..n].iter().position(|&b| b == 0).unwrap_or(n - 1);
    let new: Vec<u8> = buf[..newlen].to_vec();
    let mut e = up().errstr.borrow_mut();
    let old = core::mem::replace(&mut *e, new);
    let k = old.len().min(n - 1);
    buf[..k].copy_from_slice(&old[..k]);
    buf[k] = 0;
    0
}

/// The calling process's error string, read without swapping (for
/// messages).
pub fn errstr_string() -> String {
    String::from_utf8_lossy(&up().errstr.borrow()).into_owned()
}

/// What a child process starts in: a function and its argument, passed by
/// value to the new process (the personality's stand-in for the snapshot
/// of the parent's frame that a Plan 9 child finds on its private stack).
struct Start {
    entry: fn(usize),
    arg: usize,
    proc_: *const Proc,
}

extern "C" fn child_trampoline(arg: *mut libc::c_void) -> *mut libc::c_void {
    // SAFETY: rfork passes a Box<Start> it leaked for us.
    let st = unsafe { Box::from_raw(arg.cast::<Start>()) };
    UP.with(|u| u.set(st.proc_));
    (st.entry)(st.arg);
    // Returning from the entry is exits(nil) for this process.
    exits_current_thread()
}

fn exits_current_thread() -> *mut libc::c_void {
    let p = up();
    let pid = p.pid;
    // On EXITED before it leaves PROCS, so that `reap` always finds it on
    // one of the two. `reap` waits for the thread's end (pthread_join)
    // before it frees the block, so the removal below may still use it.
    EXITED.lock().unwrap().push(p as *const Proc as usize);
    PROCS.lock().unwrap().retain(|&(q, _)| q != pid);
    core::ptr::null_mut()
}

/// Processes (made by `rfork`) that have exited and not yet been reaped.
static EXITED: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// Waits for the child process `pid` to have exited, then frees its
/// process block and stack segment, as Plan 9's kernel does when a process
/// ends (the runtime reuses the M it ran, and calls this first). Returns
/// false if `pid` is not a child made by `rfork` that exits.
pub fn reap(pid: i32) -> bool {
    // The pid of an exited block on EXITED (read with its lock held).
    fn pid_of(r: usize) -> i32 {
        // SAFETY: exited blocks are live until reaped, below, after they
        // are taken off EXITED.
        unsafe { (*(r as *const Proc)).pid }
    }
    let raw = loop {
        {
            let mut e = EXITED.lock().unwrap();
            if let Some(i) = e.iter().position(|&r| pid_of(r) == pid) {
                break e.swap_remove(i) as *const Proc;
            }
        }
        // Neither exited nor running (a process is put on EXITED before it
        // leaves PROCS): reaped already, or never ours.
        if !PROCS.lock().unwrap().iter().any(|&(p, _)| p == pid)
            && !EXITED.lock().unwrap().iter().any(|&r| pid_of(r) == pid)
        {
            return false;
        }
        std::thread::yield_now();
    };
    // SAFETY: the block came off EXITED, so it is ours alone; its thread
    // was created joinable by rfork and is joined once, here; then nothing
    // runs on its stack segment, our mapping.
    unsafe {
        let p = Box::from_raw(raw as *mut Proc);
        let mut tid = p.tid.load(Ordering::Acquire);
        while tid == 0 {
            // rfork stores it right after pthread_create.
            std::thread::yield_now();
            tid = p.tid.load(Ordering::Acquire);
        }
        libc::pthread_join(tid as libc::pthread_t, core::ptr::null_mut());
        if p.stack.0 != 0 {
            libc::munmap(p.stack.0 as *mut libc::c_void, p.stack.1);
        }
        drop(p);
    }
    true
}

/// rfork(flags): Plan 9's process creation, for the flags Go's runtime
/// uses. With `RFPROC|RFMEM` the child shares memory, gets a stack of its
/// own from the personality, and starts in `entry(arg)` (the personality's
/// form of "the child returns from rfork with 0": a Linux thread cannot be
/// given a private copy of the parent's stack at the same address, so the
/// child receives by value what it would have read from its copy).
/// Returns the child's pid to the parent.
///
/// Invalid combinations fail as on Plan 9 with `bad arg in system call`;
/// valid flags the personality does not implement fail with a message that
/// names them. Without `RFPROC` the supported flags (`RFNOTEG`, `RFREND`,
/// `RFNOWAIT`-free) change nothing here and return 0.
pub fn rfork(flags: i32, entry: Option<(fn(usize), usize)>) -> i32 {
    let known = RFNAMEG
        | RFENVG
        | RFFDG
        | RFNOTEG
        | RFPROC
        | RFMEM
        | RFNOWAIT
        | RFCNAMEG
        | RFCENVG
        | RFCFDG
        | RFREND
        | RFNOMNT;
    if flags & !known != 0
        || (flags & RFFDG != 0 && flags & RFCFDG != 0)
        || (flags & RFNAMEG != 0 && flags & RFCNAMEG != 0)
        || (flags & RFENVG != 0 && flags & RFCENVG != 0)
        || (flags & (RFMEM | RFNOWAIT) != 0 && flags & RFPROC == 0)
    {
        return fail(EBADARG);
    }
    let unsupported: Vec<&str> = [
        (RFNAMEG, "RFNAMEG"),
        (RFCNAMEG, "RFCNAMEG"),
        (RFENVG, "RFENVG"),
        (RFCENVG, "RFCENVG"),
        (RFFDG, "RFFDG"),
        (RFCFDG, "RFCFDG"),
        (RFNOMNT, "RFNOMNT"),
    ]
    .iter()
    .filter(|(f, _)| flags & f != 0)
    .map(|&(_, n)| n)
    .collect();
    if !unsupported.is_empty() {
        return fail(&format!(
            "rfork: {} not supported by the Linux personality",
            unsupported.join("|")
        ));
    }
    if flags & RFPROC == 0 {
        // RFNOTEG, RFREND: note and rendezvous groups are not modelled.
        return 0;
    }
    if flags & RFMEM == 0 {
        return fail(
            "rfork: RFPROC without RFMEM (a copied address space) is not supported by the Linux personality",
        );
    }
    let Some((entry, arg)) = entry else {
        return fail("rfork: RFPROC needs the child's entry in the Linux personality");
    };
    // The parent's process block must exist before the child's.
    let _ = up();
    // The child's stack segment: mapped here, a guard page at its low end.
    // SAFETY: a fresh anonymous mapping.
    let base = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            CHILD_STACK_SIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return fail(
            "rfork: no memory for the child's stack segment (mmap failed; see vm.max_map_count and ulimit -v)",
        );
    }
    // SAFETY: the first page of our fresh mapping becomes the guard.
    unsafe { libc::mprotect(base, 4096, libc::PROT_NONE) };
    let pid = new_pid();
    let raw = register(Proc::new(pid, (base as usize, CHILD_STACK_SIZE), false));
    let st = Box::into_raw(Box::new(Start {
        entry,
        arg,
        proc_: raw,
    }));
    // SAFETY: pthread objects are locals; the stack is our mapping above
    // the guard page, used by nothing else.
    unsafe {
        let mut attr: libc::pthread_attr_t = core::mem::zeroed();
        libc::pthread_attr_init(&mut attr);
        let lo = base as usize + 4096;
        let r = libc::pthread_attr_setstack(
            &mut attr,
            lo as *mut libc::c_void,
            CHILD_STACK_SIZE - 4096,
        );
        if r != 0 {
            libc::pthread_attr_destroy(&mut attr);
            drop(Box::from_raw(st));
            return fail(&format!("rfork: pthread_attr_setstack: errno={r}"));
        }
        let mut tid: libc::pthread_t = 0;
        let r = libc::pthread_create(&mut tid, &attr, child_trampoline, st.cast());
        libc::pthread_attr_destroy(&mut attr);
        if r != 0 {
            drop(Box::from_raw(st));
            PROCS.lock().unwrap().retain(|&(p, _)| p != pid);
            return fail(&format!(
                "rfork: cannot create process: errno={r}{}",
                if r == libc::EAGAIN {
                    " (thread limit: raise ulimit -u or kernel.threads-max)"
                } else {
                    ""
                }
            ));
        }
        // Joinable: `reap` joins it before freeing its stack segment.
        // SAFETY: raw is registered, and not reaped before it exited,
        // which comes after this store is awaited in reap.
        (*raw).tid.store(tid as usize, Ordering::Release);
    }
    pid
}

fn futex_wait(addr: &AtomicU32, val: u32, ns: Option<i64>) {
    let ts;
    let tsp = match ns {
        None => core::ptr::null(),
        Some(ns) => {
            ts = libc::timespec {
                tv_sec: ns / 1_000_000_000,
                tv_nsec: ns % 1_000_000_000,
            };
            &ts as *const libc::timespec
        }
    };
    // SAFETY: FUTEX_WAIT_PRIVATE on a valid, aligned word with a null or
    // valid relative timeout.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            addr.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            val,
            tsp,
        );
    }
}

/// Waits until `word` is no longer `val` or the process's note counter
/// `notes` is no longer `seen` (or a wake-up, or the absolute monotonic
/// `deadline`): Linux's `futex_waitv` on both words at once, so that a note
/// posted between the caller's last look and the wait still wakes it.
/// Where the kernel lacks `futex_waitv` (before 5.16), waits on `word` in
/// slices of 10 ms, bounding how late such a note is seen.
fn futex_wait_or_note(
    word: &AtomicU32,
    val: u32,
    notes: &AtomicU32,
    seen: u32,
    deadline: Option<i64>,
) {
    /// Linux's `struct futex_waitv`.
    #[repr(C)]
    struct FutexWaitv {
        val: u64,
        uaddr: u64,
        flags: u32,
        reserved: u32,
    }
    const FUTEX2_SIZE_U32: u32 = 0x02;
    const FUTEX2_PRIVATE: u32 = 128;
    static NO_WAITV: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
    if !NO_WAITV.load(Ordering::Relaxed) {
        let waiters = [
            FutexWaitv {
                val: u64::from(val),
                uaddr: word.as_ptr() as u64,
                flags: FUTEX2_SIZE_U32 | FUTEX2_PRIVATE,
                reserved: 0,
            },
            FutexWaitv {
                val: u64::from(seen),
                uaddr: notes.as_ptr() as u64,
                flags: FUTEX2_SIZE_U32 | FUTEX2_PRIVATE,
                reserved: 0,
            },
        ];
        let ts;
        let tsp = match deadline {
            None => core::ptr::null(),
            Some(d) => {
                ts = libc::timespec {
                    tv_sec: d / 1_000_000_000,
                    tv_nsec: d % 1_000_000_000,
                };
                &ts as *const libc::timespec
            }
        };
        // SAFETY: two valid waiters on live, aligned 32-bit words, and a
        // null or valid absolute timeout on CLOCK_MONOTONIC.
        let r = unsafe {
            libc::syscall(
                libc::SYS_futex_waitv,
                waiters.as_ptr(),
                2u32,
                0u32,
                tsp,
                libc::CLOCK_MONOTONIC,
            )
        };
        // Woken, or one word had changed, or the deadline passed, or a
        // signal: the caller looks again. Anything else (ENOSYS on an old
        // kernel, EPERM under a seccomp filter) means no futex_waitv.
        let e = std::io::Error::last_os_error().raw_os_error();
        if r >= 0 || matches!(e, Some(libc::EAGAIN | libc::ETIMEDOUT | libc::EINTR)) {
            return;
        }
        NO_WAITV.store(true, Ordering::Relaxed);
    }
    let slice = 10_000_000;
    let ns = match deadline {
        None => slice,
        Some(d) => (d - monotonic()).clamp(0, slice),
    };
    futex_wait(word, val, Some(ns));
}

fn futex_wake(addr: &AtomicU32, n: i32) {
    // SAFETY: FUTEX_WAKE_PRIVATE on a valid, aligned word.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            addr.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            n,
        );
    }
}

/// Checks a semaphore address as Plan 9 does (valid, 4-byte aligned) and
/// returns the word, or fails with errstr set.
///
/// # Safety
/// A non-null, aligned `addr` must point to a live 32-bit word.
unsafe fn sem_word<'a>(addr: *const i32) -> Result<&'a AtomicU32, i32> {
    if addr.is_null() {
        return Err(validaddr_failed(addr as usize, 4));
    }
    if !(addr as usize).is_multiple_of(4) {
        return Err(fail(EBADARG));
    }
    // SAFETY: the caller's contract; AtomicU32 has i32's layout.
    let w = unsafe { &*(addr as *const AtomicU32) };
    if (w.load(Ordering::Acquire) as i32) < 0 {
        return Err(fail(EBADARG));
    }
    Ok(w)
}

/// canacquire (Plan 9's sysproc.c).
fn canacquire(w: &AtomicU32) -> bool {
    let mut v = w.load(Ordering::Acquire) as i32;
    while v > 0 {
        match w.compare_exchange_weak(
            v as u32,
            (v - 1) as u32,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => return true,
            Err(x) => v = x as i32,
        }
    }
    false
}

/// Takes a pending note's interruption: true if a note is pending.
fn note_pending(p: &Proc) -> bool {
    !p.notes.lock().unwrap().is_empty()
}

/// The blocking core of semacquire/tsemacquire: 1 acquired, 0 timed out,
/// -1 interrupted by a note.
fn sem_block(w: &AtomicU32, deadline: Option<i64>) -> i32 {
    let p = up();
    p.waiting_on
        .0
        .store(w as *const AtomicU32 as *mut AtomicU32, Ordering::Release);
    let r = loop {
        if canacquire(w) {
            break 1;
        }
        // Read before the look at the notes: a note posted after the look
        // has changed the counter, and the wait below returns at once.
        let seen = p.notewake.load(Ordering::Acquire);
        if note_pending(p) {
            break fail(EINTR);
        }
        if deadline.is_some_and(|d| d <= monotonic()) {
            break 0;
        }
        futex_wait_or_note(w, 0, &p.notewake, seen, deadline);
    };
    p.waiting_on
        .0
        .store(core::ptr::null_mut(), Ordering::Release);
    r
}

/// semacquire(addr, block): 1 when a unit was taken, 0 when none was
/// available and `block` is false, -1 (`interrupted`) if a note arrived,
/// -1 (`bad arg in system call`) for a misaligned address or negative
/// value.
///
/// # Safety
/// A non-null, aligned `addr` must point to a live 32-bit word, used only
/// as a semaphore while anyone waits on it.
pub unsafe fn semacquire(addr: *const i32, block: bool) -> i32 {
    // SAFETY: forwarded contract.
    let w = match unsafe { sem_word(addr) } {
        Ok(w) => w,
        Err(r) => return r,
    };
    if canacquire(w) {
        return 1;
    }
    if !block {
        return 0;
    }
    sem_block(w, None)
}

/// tsemacquire(addr, ms): as `semacquire` with a timeout of `ms`
/// milliseconds: 1 acquired, 0 timed out (also at once for `ms == 0`),
/// -1 interrupted or bad argument.
///
/// # Safety
/// As for [`semacquire`].
pub unsafe fn tsemacquire(addr: *const i32, ms: u32) -> i32 {
    // SAFETY: forwarded contract.
    let w = match unsafe { sem_word(addr) } {
        Ok(w) => w,
        Err(r) => return r,
    };
    if canacquire(w) {
        return 1;
    }
    if ms == 0 {
        return 0;
    }
    sem_block(w, Some(monotonic() + ms as i64 * 1_000_000))
}

/// semrelease(addr, count): adds `count` and wakes up to `count` waiters;
/// returns the new value, or -1 (`bad arg in system call`) for a negative
/// count or value or a misaligned address.
///
/// # Safety
/// As for [`semacquire`].
pub unsafe fn semrelease(addr: *const i32, count: i32) -> i32 {
    if count < 0 {
        return fail(EBADARG);
    }
    // SAFETY: forwarded contract.
    let w = match unsafe { sem_word(addr) } {
        Ok(w) => w,
        Err(r) => return r,
    };
    let v = w.fetch_add(count as u32, Ordering::AcqRel) as i32 + count;
    if count > 0 {
        futex_wake(w, count);
    }
    v
}

/// sleep(ms): `ms <= 0` yields; otherwise sleeps at least `ms` ms. Returns
/// 0, or -1 (`interrupted`) if a note arrived.
pub fn sleep(ms: i32) -> i32 {
    if ms <= 0 {
        // SAFETY: no preconditions.
        unsafe { libc::sched_yield() };
        return 0;
    }
    let p = up();
    let deadline = monotonic() + ms as i64 * 1_000_000;
    loop {
        if note_pending(p) {
            return fail(EINTR);
        }
        let seen = p.notewake.load(Ordering::Acquire);
        let left = deadline - monotonic();
        if left <= 0 {
            return 0;
        }
        futex_wait(&p.notewake, seen, Some(left));
    }
}

fn clock(id: libc::clockid_t) -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes into a local.
    unsafe { libc::clock_gettime(id, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

fn monotonic() -> i64 {
    clock(libc::CLOCK_MONOTONIC)
}

/// nsec(): nanoseconds since the epoch (Plan 9's `nsec`).
pub fn nsec() -> i64 {
    clock(libc::CLOCK_REALTIME)
}

/// A read of `/dev/bintime`: `[epoch ns, ticks, hz, monotonic ns]`.
pub fn bintime() -> [u64; 4] {
    let mono = monotonic() as u64;
    [nsec() as u64, mono, 1_000_000_000, mono]
}

/// postnote(pid, note): queues `note` for process `pid` and interrupts its
/// blocking call. Returns 0, or -1 if there is no such process.
pub fn postnote(pid: i32, note: &str) -> i32 {
    // The registry stays locked while the note is posted: a process that
    // exits takes itself off under this lock, and its block is freed only
    // after that (`reap`).
    let procs = PROCS.lock().unwrap();
    let Some(raw) = procs.iter().find(|&&(p, _)| p == pid).map(|&(_, raw)| raw) else {
        drop(procs);
        return fail("process not found");
    };
    // SAFETY: a registered process's block lives at least until it is off
    // the registry, which we hold.
    let p = unsafe { &*(raw as *const Proc) };
    let n: String = note.chars().take(ERRMAX - 1).collect();
    p.notes.lock().unwrap().push_back(n);
    p.notewake.fetch_add(1, Ordering::AcqRel);
    futex_wake(&p.notewake, i32::MAX);
    let w = p.waiting_on.0.load(Ordering::Acquire);
    if !w.is_null() {
        // SAFETY: a blocked process's word stays valid while it waits (its
        // owner waits on it); a stale wake-up is harmless.
        futex_wake(unsafe { &*w }, i32::MAX);
    }
    drop(procs);
    0
}

/// `noted` arguments: resume (`NCONT`) or take the default action
/// (`NDFLT`).
pub const NCONT: i32 = 0;
pub const NDFLT: i32 = 1;

/// The part of Plan 9's `Ureg` a note handler needs: where the process
/// was, which the handler may change before `NCONT`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Ureg {
    pub ip: u64,
    pub sp: u64,
    /// The registers in the order Go's Plan 9 `dumpregs` prints them
    /// ([`UREG_NAMES`]).
    pub regs: [usize; 21],
}

/// The names Go's `dumpregs` (defs_plan9_amd64.go) prints [`Ureg::regs`]
/// under, padded as it pads them.
pub static UREG_NAMES: [&str; 21] = [
    "ax    ", "bx    ", "cx    ", "dx    ", "di    ", "si    ", "bp    ", "sp    ", "r8    ",
    "r9    ", "r10   ", "r11   ", "r12   ", "r13   ", "r14   ", "r15   ", "ip    ", "flags ",
    "cs    ", "fs    ", "gs    ",
];

/// A note handler (`notify`'s `f(ureg, note)`), which ends by returning
/// its `noted` argument. It runs on the process's signal stack and must be
/// async-signal-safe.
pub type NoteHandler = fn(ureg: &mut Ureg, note: &[u8]) -> i32;

/// The process-wide note handler. Plan 9 keeps one per process and rfork
/// copies it; Go registers its handler on the first process before any
/// rfork, so every process has the same one, which this models.
static HANDLER: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// notify(f): registers the note handler (`None` restores the default
/// action). Returns 0. Notes from faults and from the host's signals reach
/// it: SIGSEGV/SIGBUS → `sys: trap: fault read|write addr=0x… pc=0x…`,
/// SIGFPE → `sys: trap: divide error pc=0x…`, SIGILL → `sys: trap: invalid
/// opcode pc=0x…`, SIGINT → `interrupt`, SIGHUP → `hangup`, SIGALRM →
/// `alarm`, SIGTERM → `kill`.
pub fn notify(f: Option<NoteHandler>) -> i32 {
    HANDLER.store(f.map_or(0, |f| f as usize), Ordering::Release);
    install_note_signals();
    0
}

const NOTE_SIGNALS: [libc::c_int; 8] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGFPE,
    libc::SIGILL,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGALRM,
    libc::SIGTERM,
];

fn install_note_signals() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for sig in NOTE_SIGNALS {
            // SAFETY: a valid sigaction for an SA_SIGINFO handler that runs
            // on the thread's alternate stack (installed per M by minit).
            unsafe {
                let mut sa: libc::sigaction = core::mem::zeroed();
                sa.sa_sigaction = note_signal as *const () as usize;
                sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut sa.sa_mask);
                // A signal the program asked for already keeps its
                // handler; the note's becomes what it falls back to
                // (the runtime's rule, registered before the layer
                // starts).
                if !runtime_m::os::install_under_notify(sig, &sa) {
                    libc::sigaction(sig, &sa, core::ptr::null_mut());
                }
            }
        }
    });
}

/// A fixed buffer for building a note in a signal handler (no allocation).
struct NoteBuf {
    b: [u8; ERRMAX],
    n: usize,
}

impl NoteBuf {
    fn push(&mut self, s: &[u8]) {
        for &c in s {
            if self.n < ERRMAX - 1 {
                self.b[self.n] = c;
                self.n += 1;
            }
        }
    }
    fn hex(&mut self, v: u64) {
        let mut t = [0u8; 20];
        self.push(runtime_g::signal::hex(v as usize, &mut t));
    }
}

/// The host-signal side of notes: turns the signal into Plan 9's note
/// string and calls the process's handler (Plan 9's kernel does this on the
/// note stack). Async-signal-safe: no allocation, no locks.
extern "C" fn note_signal(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let uc = ctx as *mut libc::ucontext_t;
    // SAFETY: for SA_SIGINFO handlers the kernel passes a valid ucontext.
    let (ip, sp, err) = unsafe {
        let g = &(*uc).uc_mcontext.gregs;
        (
            g[libc::REG_RIP as usize] as u64,
            g[libc::REG_RSP as usize] as u64,
            g[libc::REG_ERR as usize] as u64,
        )
    };
    let mut note = NoteBuf {
        b: [0; ERRMAX],
        n: 0,
    };
    let sys_note = match sig {
        libc::SIGSEGV | libc::SIGBUS => {
            // SAFETY: a valid siginfo for a fault.
            let addr = unsafe { (*info).si_addr() } as u64;
            // x86 page-fault error code: bit 1 set for a write.
            note.push(if err & 2 != 0 {
                b"sys: trap: fault write addr="
            } else {
                b"sys: trap: fault read addr="
            });
            note.hex(addr);
            true
        }
        libc::SIGFPE => {
            note.push(b"sys: trap: divide error");
            true
        }
        libc::SIGILL => {
            note.push(b"sys: trap: invalid opcode");
            true
        }
        libc::SIGINT => {
            note.push(b"interrupt");
            false
        }
        libc::SIGHUP => {
            note.push(b"hangup");
            false
        }
        libc::SIGALRM => {
            note.push(b"alarm");
            false
        }
        _ => {
            note.push(b"kill");
            false
        }
    };
    if sys_note {
        note.push(b" pc=");
        note.hex(ip);
    }
    let note = &note.b[..note.n];
    let h = HANDLER.load(Ordering::Acquire);
    // SAFETY: as above.
    let regs = unsafe { runtime_g::signal::dumpregs_values(ctx) };
    let mut ureg = Ureg { ip, sp, regs };
    let action = if h == 0 {
        NDFLT
    } else {
        // SAFETY: HANDLER holds a NoteHandler stored by notify.
        let f: NoteHandler = unsafe { core::mem::transmute::<usize, NoteHandler>(h) };
        f(&mut ureg, note)
    };
    if action == NCONT {
        // SAFETY: resume where the handler says (it may redirect).
        unsafe {
            (*uc).uc_mcontext.gregs[libc::REG_RIP as usize] = ureg.ip as i64;
            (*uc).uc_mcontext.gregs[libc::REG_RSP as usize] = ureg.sp as i64;
        }
        return;
    }
    // The default action: a `sys:` note leaves the process broken with
    // `<prog> <pid>: suicide: <note>`; another note ends it with the note
    // as its status.
    let w = |b: &[u8]| {
        // SAFETY: write(2) to stderr from a buffer we own.
        unsafe { libc::write(2, b.as_ptr().cast(), b.len()) };
    };
    let pid = UP.with(|u| u.get());
    let mut t = [0u8; 20];
    if sys_note {
        w(b"gort ");
        let p = if pid.is_null() {
            0
        } else {
            // SAFETY: a registered process block is valid forever.
            unsafe { (*pid).pid as u64 }
        };
        let mut d = NoteBuf {
            b: [0; ERRMAX],
            n: 0,
        };
        let s = runtime_g::signal::dec(p, &mut t);
        d.push(s);
        w(&d.b[..d.n]);
        w(b": suicide: ");
        w(note);
        w(b"\n");
    }
    // SAFETY: ends the program.
    unsafe { libc::_exit(1) }
}

/// Takes the oldest pending note of the calling process.
pub fn take_note() -> Option<String> {
    up().notes.lock().unwrap().pop_front()
}

/// exits(msg): ends the calling process. For the first process this is the
/// end of the program: the host sees exit status 0 for an empty message,
/// the number for a decimal message (Go's `exit(e)` passes its code that
/// way), and 1 otherwise (Plan 9's `Waitmsg.ExitStatus`). For a child it
/// ends that process's thread.
pub fn exits(msg: &str) -> ! {
    if up().first {
        exits_program(msg)
    }
    exits_current_thread();
    // The kernel ends the process where it stands: no unwinding through its
    // frames (they are abandoned, as Plan 9 abandons a dead process's
    // stack; the stack segment stays mapped).
    // SAFETY: SYS_exit ends only the calling thread.
    unsafe {
        libc::syscall(libc::SYS_exit, 0);
    }
    unreachable!("SYS_exit returned")
}

/// The end of the program from any process (Go's `exit` after
/// `goexitsall`): on Plan 9 the other processes act on their `go: exit`
/// note and the main process's status reaches the shell; here the host
/// process ends at once with the status the main process would have
/// reported (0 for an empty message, the number for a decimal one, else 1).
pub fn exits_program(msg: &str) -> ! {
    let code = if msg.is_empty() {
        0
    } else {
        msg.parse::<i32>().unwrap_or(1)
    };
    // SAFETY: ends the program.
    unsafe { libc::_exit(code) }
}

/// The stack segment (low address, length) of process `pid`, if it is a
/// child the personality started (for tests).
pub fn proc_stack(pid: i32) -> Option<(usize, usize)> {
    let raw = PROCS
        .lock()
        .unwrap()
        .iter()
        .find(|&&(p, _)| p == pid)
        .map(|&(_, r)| r)?;
    // SAFETY: registered processes are leaked: valid forever.
    let st = unsafe { (*(raw as *const Proc)).stack };
    (st.1 != 0).then_some(st)
}

/// Pids of live processes (for tests and `goexitsall`).
pub fn pids() -> Vec<i32> {
    PROCS.lock().unwrap().iter().map(|&(p, _)| p).collect()
}

/// A host service of the personality, not a Plan 9 system call: Plan 9
/// has no process-wide barrier (Go preempts there with notes), but the
/// runtime's retake of a stuck goroutine's P needs one
/// (`Os::process_barrier`). The personality's processes share one
/// address space (`RFMEM` is `CLONE_VM`), which is what Linux's
/// `membarrier(PRIVATE_EXPEDITED)` covers. Returns whether registration
/// worked.
pub fn membarrier_init() -> bool {
    static OK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    // SAFETY: membarrier takes no pointers; registration is per address
    // space and idempotent.
    *OK.get_or_init(|| unsafe {
        libc::syscall(
            libc::SYS_membarrier,
            MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
            0,
            0,
        ) == 0
    })
}

/// `membarrier` commands (linux/membarrier.h; not in the libc crate).
const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

/// The barrier itself, after [`membarrier_init`].
pub fn membarrier() {
    // SAFETY: as above.
    if unsafe { libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) } != 0 {
        runtime_g::throw("membarrier(PRIVATE_EXPEDITED) failed after registration");
    }
}

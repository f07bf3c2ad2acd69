//! Plan 9's system calls, emulated. The binary's `SYSCALL` raises SIGSYS
//! (Syscall User Dispatch); [`dispatch`] reads Plan 9's call number from
//! BP and the arguments from the stack (one 8-byte slot each, above the
//! return address), runs the call, and leaves its result in AX.

use crate::note;
use crate::ns;
use crate::state::{ERRMAX, FdKind, Layout, Private};
use core::sync::atomic::{AtomicU32, Ordering};
use libc::ucontext_t;

/// Plan 9's system call numbers (Go's syscall/zsysnum_plan9.go).
mod nr {
    pub const CHDIR: u64 = 3;
    pub const CLOSE: u64 = 4;
    pub const DUP: u64 = 5;
    pub const ALARM: u64 = 6;
    pub const EXITS: u64 = 8;
    pub const SLEEP: u64 = 17;
    pub const RFORK: u64 = 19;
    pub const PIPE: u64 = 21;
    pub const CREATE: u64 = 22;
    pub const FD2PATH: u64 = 23;
    pub const BRK: u64 = 24;
    pub const REMOVE: u64 = 25;
    pub const NOTIFY: u64 = 28;
    pub const NOTED: u64 = 29;
    pub const SEMACQUIRE: u64 = 37;
    pub const SEMRELEASE: u64 = 38;
    pub const SEEK: u64 = 39;
    pub const ERRSTR: u64 = 41;
    pub const STAT: u64 = 42;
    pub const FSTAT: u64 = 43;
    pub const AWAIT: u64 = 47;
    pub const OPEN: u64 = 14;
    pub const PREAD: u64 = 50;
    pub const PWRITE: u64 = 51;
    pub const TSEMACQUIRE: u64 = 52;
    pub const NSEC: u64 = 53;
}

/// `rfork` flags (Plan 9's libc.h).
const RFNAMEG: u64 = 1 << 0;
const RFENVG: u64 = 1 << 1;
const RFFDG: u64 = 1 << 2;
const RFNOTEG: u64 = 1 << 3;
const RFPROC: u64 = 1 << 4;
const RFMEM: u64 = 1 << 5;
const RFNOWAIT: u64 = 1 << 6;
const RFCNAMEG: u64 = 1 << 10;
const RFCENVG: u64 = 1 << 11;
const RFCFDG: u64 = 1 << 12;
const RFREND: u64 = 1 << 13;
const RFNOMNT: u64 = 1 << 14;

/// Writes to fd 2 without the standard library's lock (the loader runs in
/// signal handlers).
pub fn write_stderr(b: &[u8]) {
    // SAFETY: write from a valid buffer.
    unsafe { libc::write(2, b.as_ptr().cast(), b.len()) };
}

/// Writes pid into `Tos.pid` (offset 64), as Plan 9's kernel keeps it for
/// each process: Go's `tstart_plan9` reads its M's procid there.
pub fn set_tos_pid(l: &Layout, pid: i32) {
    // SAFETY: tos is inside the private stack segment, 8-aligned.
    unsafe { *((l.tos + 64) as *mut u32) = pid as u32 };
}

/// Turns Syscall User Dispatch on: system calls from outside the loader's
/// allowed range (everything above the binary's text) raise SIGSYS while
/// the selector says BLOCK, which it always does.
pub fn enable_dispatch(p: &mut Private) {
    const PR_SET_SYSCALL_USER_DISPATCH: i32 = 59;
    const PR_SYS_DISPATCH_ON: u64 = 1;
    p.sud_selector = 1;
    let lo = p.layout.text_end.next_multiple_of(4096);
    let len = 0x7fff_ffff_f000u64 - lo;
    // SAFETY: the selector byte lives in the private state for the life of
    // the process.
    let r = unsafe {
        libc::prctl(
            PR_SET_SYSCALL_USER_DISPATCH,
            PR_SYS_DISPATCH_ON,
            lo,
            len,
            &raw const p.sud_selector,
        )
    };
    if r != 0 {
        crate::die(format!(
            "prctl(PR_SET_SYSCALL_USER_DISPATCH): {} (Linux 5.11 or later is needed)",
            std::io::Error::last_os_error()
        ));
    }
}

/// Whether [addr, addr+len) is memory the binary may write: the shared
/// data/heap segment below the break, or the stack segment.
pub fn writable(p: &Private, addr: u64, len: u64) -> bool {
    let end = match addr.checked_add(len) {
        Some(e) => e,
        None => return false,
    };
    let l = &p.layout;
    let brk = p.shared().brk.load(Ordering::SeqCst).max(l.data_start);
    (addr >= l.data_start && end <= brk.min(l.heap_limit))
        || (addr >= l.stack_lo && end <= l.stack_hi)
}

/// Whether [addr, addr+len) is memory the binary may read.
pub fn readable(p: &Private, addr: u64, len: u64) -> bool {
    let l = &p.layout;
    writable(p, addr, len) || (addr >= l.text_start && addr.saturating_add(len) <= l.text_end)
}

/// A system call's failure: the error string, or a bad address (which on
/// Plan 9 posts `sys: bad address in syscall` to the process).
pub enum Fail {
    Err(String),
    /// The address and length that failed Plan 9's `validaddr`.
    BadAddr(u64, u64),
}

pub type R = Result<i64, Fail>;

pub fn err<T>(s: impl Into<String>) -> Result<T, Fail> {
    Err(Fail::Err(s.into()))
}

/// Plan 9's error string for a host errno.
pub fn errno_str(e: i32) -> &'static str {
    match e {
        libc::ENOENT => "file does not exist",
        libc::EACCES | libc::EPERM | libc::EROFS => "permission denied",
        libc::EEXIST => "file already exists",
        libc::EISDIR => "is a directory",
        libc::ENOTDIR => "not a directory",
        libc::EBADF => "fd out of range or not open",
        libc::ENOTEMPTY => "directory not empty",
        libc::EPIPE => "write on closed pipe",
        libc::EMFILE | libc::ENFILE => "no free file descriptors",
        libc::ENOMEM => "no memory",
        libc::EINTR => "interrupted",
        libc::ENOSPC => "file system full",
        libc::ESPIPE => "seek on a stream",
        libc::ECONNRESET => "connection reset by peer",
        libc::ENAMETOOLONG => "file name too long",
        _ => "i/o error",
    }
}

fn last_err<T>() -> Result<T, Fail> {
    err(errno_str(
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
    ))
}

/// The bytes of the NUL-terminated string at `addr`, at most `max` of
/// them read, and whether its NUL came within them. A byte that is not
/// the binary's readable memory fails the call as a bad address.
pub fn user_cstr(p: &Private, addr: u64, max: u64) -> Result<(Vec<u8>, bool), Fail> {
    let mut out = Vec::new();
    for i in 0..max {
        let a = addr.wrapping_add(i);
        if !readable(p, a, 1) {
            return Err(Fail::BadAddr(a, 1));
        }
        // SAFETY: checked readable.
        let b = unsafe { *(a as *const u8) };
        if b == 0 {
            return Ok((out, true));
        }
        out.push(b);
    }
    Ok((out, false))
}

/// A checked range of the binary's memory. The binary's other processes
/// may write it at any time (data, bss and heap are shared), as they may
/// on Plan 9, so the loader never makes a Rust reference to it: it copies
/// bytes in and out through raw pointers, or hands the pointer to a
/// system call.
#[derive(Clone, Copy)]
pub struct UserBuf {
    ptr: *mut u8,
    len: usize,
}

impl UserBuf {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The start, for a system call that reads or writes the range.
    pub fn ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// A copy of the first `max` bytes (at most the range).
    pub fn copy_out(&self, max: usize) -> Vec<u8> {
        let n = self.len.min(max);
        let mut v = Vec::with_capacity(n);
        // SAFETY: the range is mapped memory of the binary (checked by
        // user_buf), at least n bytes; v has room for n.
        unsafe {
            core::ptr::copy_nonoverlapping(self.ptr, v.as_mut_ptr(), n);
            v.set_len(n);
        }
        v
    }

    /// Copies `src` to the start of the range, as much as fits; returns
    /// how much that was.
    pub fn fill(&self, src: &[u8]) -> usize {
        let n = self.len.min(src.len());
        // SAFETY: the range is writable memory of the binary (checked by
        // user_buf with `write`), at least n bytes; src is a local buffer,
        // which cannot overlap it.
        unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr, n) };
        n
    }
}

pub fn user_buf(p: &Private, addr: u64, len: u64, write: bool) -> Result<UserBuf, Fail> {
    if len == 0 {
        return Ok(UserBuf {
            ptr: core::ptr::NonNull::dangling().as_ptr(),
            len: 0,
        });
    }
    let ok = if write {
        writable(p, addr, len)
    } else {
        readable(p, addr, len)
    };
    if !ok {
        return Err(Fail::BadAddr(addr, len));
    }
    Ok(UserBuf {
        ptr: addr as *mut u8,
        len: len as usize,
    })
}

fn user_word(p: &Private, addr: u64) -> Result<&'static AtomicU32, Fail> {
    if !addr.is_multiple_of(4) || !writable(p, addr, 4) {
        return Err(Fail::BadAddr(addr, 4));
    }
    // SAFETY: aligned, writable shared memory of the binary (checked),
    // used atomically by the binary and the loader.
    Ok(unsafe { &*(addr as *const AtomicU32) })
}

fn monotonic() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

pub fn realtime() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// Whether a note should cut the current wait short: one is queued and
/// the process is not in its handler.
fn note_interrupts(p: &Private) -> bool {
    !p.notified && p.my_slot().pending()
}

/// Waits (shared futexes, `futex_waitv`) until `word` is no longer `val`,
/// the process's note counter is no longer `seen`, or the absolute
/// monotonic `deadline` passes.
fn wait2(word: Option<(&AtomicU32, u32)>, notes: &AtomicU32, seen: u32, deadline: Option<i64>) {
    #[repr(C)]
    struct FutexWaitv {
        val: u64,
        uaddr: u64,
        flags: u32,
        reserved: u32,
    }
    const FUTEX2_SIZE_U32: u32 = 0x02;
    let mut w = vec![FutexWaitv {
        val: u64::from(seen),
        uaddr: notes.as_ptr() as u64,
        flags: FUTEX2_SIZE_U32,
        reserved: 0,
    }];
    if let Some((word, val)) = word {
        w.push(FutexWaitv {
            val: u64::from(val),
            uaddr: word.as_ptr() as u64,
            flags: FUTEX2_SIZE_U32,
            reserved: 0,
        });
    }
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
    // With host signals unblocked: their handlers post the note, which
    // bumps `notes` and so ends this wait (or makes it return at once).
    // SAFETY: valid waiters on live, aligned 32-bit words (shared, so not
    // FUTEX2_PRIVATE), and a null or valid absolute CLOCK_MONOTONIC time.
    note::with_wake_signals(|| unsafe {
        libc::syscall(
            libc::SYS_futex_waitv,
            w.as_ptr(),
            w.len() as u32,
            0u32,
            tsp,
            libc::CLOCK_MONOTONIC,
        )
    });
}

/// Plan 9's `semacquire` and `tsemacquire`: 1 acquired, 0 not (no block,
/// or the time ran out), -1 interrupted by a note.
fn semacquire(p: &mut Private, addr: u64, block: bool, ms: Option<i64>) -> R {
    let w = user_word(p, addr)?;
    let deadline = ms.map(|ms| monotonic() + ms * 1_000_000);
    loop {
        let v = w.load(Ordering::SeqCst);
        if (v as i32) > 0 {
            if w.compare_exchange(v, v - 1, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                return Ok(1);
            }
            continue;
        }
        if !block {
            return Ok(0);
        }
        let slot = p.my_slot();
        let seen = slot.seq.load(Ordering::SeqCst);
        if note_interrupts(p) {
            return err("interrupted");
        }
        if deadline.is_some_and(|d| monotonic() >= d) {
            return Ok(0);
        }
        wait2(Some((w, v)), &slot.seq, seen, deadline);
    }
}

fn semrelease(p: &mut Private, addr: u64, count: i64) -> R {
    let w = user_word(p, addr)?;
    if count < 0 {
        return err("bad arg in system call");
    }
    let v = w
        .fetch_add(count as u32, Ordering::SeqCst)
        .wrapping_add(count as u32);
    // SAFETY: FUTEX_WAKE (shared) on a valid aligned word.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            w.as_ptr(),
            libc::FUTEX_WAKE,
            count.min(i32::MAX as i64) as i32,
        )
    };
    Ok(i64::from(v as i32))
}

fn sleep(p: &mut Private, ms: i64) -> R {
    if ms <= 0 {
        // SAFETY: no preconditions.
        unsafe { libc::sched_yield() };
        return Ok(0);
    }
    let deadline = monotonic() + ms * 1_000_000;
    loop {
        let slot = p.my_slot();
        let seen = slot.seq.load(Ordering::SeqCst);
        if note_interrupts(p) {
            return err("interrupted");
        }
        if monotonic() >= deadline {
            return Ok(0);
        }
        wait2(None, &slot.seq, seen, Some(deadline));
    }
}

/// `rfork`: with RFPROC, a new process by `clone` without `CLONE_VM`. Its
/// data, bss and heap are the shared memfd mapping, so RFMEM holds by
/// construction; its stack segment is its own copy, at the same address;
/// it shares the descriptor table unless RFFDG or RFCFDG asks for a copy.
fn rfork(p: &mut Private, uc: &mut ucontext_t, flags: u64) -> R {
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
    if flags & !known != 0 {
        return err("bad arg in system call");
    }
    if flags & RFPROC == 0 {
        // Changes to the calling process's groups: one namespace, one
        // environment and one note group serve the whole program here.
        return Ok(0);
    }
    if flags & RFMEM == 0 {
        return err("plan9-run: rfork without RFMEM is not supported (a fork+exec needs it)");
    }
    let shared = p.shared();
    let Some(slot) = shared.reserve_slot() else {
        return err("no free processes");
    };
    let mut cflags = libc::SIGCHLD as u64;
    if flags & (RFFDG | RFCFDG) == 0 {
        cflags |= libc::CLONE_FILES as u64;
    }
    // SAFETY: clone without CLONE_VM and without a new stack: like fork,
    // the child runs on a copy of this handler's frame. The process has
    // one thread, so nothing is mid-update in the copy.
    let r = unsafe { libc::syscall(libc::SYS_clone, cflags, 0u64, 0u64, 0u64, 0u64) };
    if r < 0 {
        shared.procs[slot].pid.store(0, Ordering::SeqCst);
        let e = std::io::Error::last_os_error();
        return err(format!("rfork: {e} (processes: ulimit -u)"));
    }
    if r == 0 {
        // The child: its own pid, Tos and dispatch setting.
        // SAFETY: no preconditions.
        let pid = unsafe { libc::getpid() };
        shared.procs[slot].clear();
        shared.procs[slot].pid.store(pid, Ordering::SeqCst);
        p.pid = pid;
        p.slot = slot;
        crate::state::set_my_slot(&shared.procs[slot]);
        p.notified = false;
        p.ureg = 0;
        set_tos_pid(&p.layout, pid);
        enable_dispatch(p);
        let _ = uc;
        return Ok(0);
    }
    // The child may have stored its pid already (and even exited and
    // freed the slot): only a slot still reserved takes it.
    let _ =
        shared.procs[slot]
            .pid
            .compare_exchange(-1, r as i32, Ordering::SeqCst, Ordering::SeqCst);
    Ok(r)
}

/// Ends this process with `msg` as its exit string.
pub fn exit_process(p: &mut Private, msg: &[u8]) -> ! {
    let shared = p.shared();
    if shared.main_pid.load(Ordering::SeqCst) == p.pid {
        shared.set_exit_msg(msg);
    }
    let slot = p.my_slot();
    slot.clear();
    slot.pid.store(0, Ordering::SeqCst);
    // SAFETY: ends the process.
    unsafe { libc::_exit(crate::exit_code(msg, 1)) }
}

/// Prints what went wrong in the loader's handling of the binary and
/// ends the process.
pub fn fatal_note(p: &mut Private, what: &[u8], note: &[u8]) -> ! {
    let mut m = b"plan9-run: ".to_vec();
    m.extend_from_slice(what);
    m.extend_from_slice(note);
    m.push(b'\n');
    write_stderr(&m);
    exit_process(p, b"plan9-run: fatal")
}

fn pread(p: &mut Private, fd: i32, buf: u64, n: u64, off: i64) -> R {
    let b = user_buf(p, buf, n, true)?;
    match p.shared().fd_kind(fd).0 {
        FdKind::Bintime => {
            // Whole words only, as many as fit.
            let words = ns::bintime();
            return Ok(b.fill(&words[..b.len().min(32) / 8 * 8]) as i64);
        }
        FdKind::Dir => {
            // Entries are built locally, then copied in (Go reads a
            // directory in STATMAX-sized pieces; a larger read may get
            // less, as any read may).
            let mut local = vec![0u8; b.len().min(1 << 20)];
            let r = ns::read_dir(fd, &mut local, off)?;
            b.fill(&local[..r as usize]);
            return Ok(r);
        }
        FdKind::Note | FdKind::Ctl => return err("permission denied"),
        FdKind::Host => {}
    }
    // A read that may block (pipe, socket, terminal) waits in ppoll
    // first, where a note or host signal cuts it short.
    if may_block(fd) && !wait_fd(p, fd, libc::POLLIN) {
        return err("interrupted");
    }
    loop {
        // SAFETY: b is writable memory of the binary of b.len() bytes.
        let r = unsafe {
            if off < 0 {
                libc::read(fd, b.ptr().cast(), b.len())
            } else {
                libc::pread(fd, b.ptr().cast(), b.len(), off)
            }
        };
        if r >= 0 {
            return Ok(r as i64);
        }
        let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        if e == libc::ESPIPE && off >= 0 {
            return pread(p, fd, buf, n, -1);
        }
        if e == libc::EAGAIN {
            // A non-blocking host fd: wait for it, a note cutting the
            // wait short.
            if !wait_fd(p, fd, libc::POLLIN) {
                return err("interrupted");
            }
            continue;
        }
        return err(errno_str(e));
    }
}

/// Whether I/O on `fd` may block: anything but a regular file or a block
/// device.
fn may_block(fd: i32) -> bool {
    // SAFETY: all-zero is a valid stat; fstat fills it.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: fstat into a local struct.
    if unsafe { libc::fstat(fd, &mut st) } < 0 {
        return false;
    }
    !matches!(st.st_mode & libc::S_IFMT, libc::S_IFREG | libc::S_IFBLK)
}

/// Waits until fd is ready for `ev` (or in error, which the I/O call then
/// reports), or a note arrives (false). `ppoll` unblocks the note and host
/// signals atomically, so one sent before the wait still ends it.
fn wait_fd(p: &mut Private, fd: i32, ev: i16) -> bool {
    let mask = note::wait_mask();
    loop {
        if note_interrupts(p) {
            return false;
        }
        let mut pfd = libc::pollfd {
            fd,
            events: ev,
            revents: 0,
        };
        // SAFETY: one valid pollfd and a valid mask.
        let r = unsafe { libc::ppoll(&mut pfd, 1, core::ptr::null(), &mask) };
        if r > 0 {
            return true;
        }
    }
}

fn pwrite(p: &mut Private, fd: i32, buf: u64, n: u64, off: i64) -> R {
    let b = user_buf(p, buf, n, false)?;
    match p.shared().fd_kind(fd) {
        (FdKind::Note, pid) => return ns::post_note(p, pid as i32, &b.copy_out(usize::MAX)),
        (FdKind::Ctl, pid) => return ns::write_ctl(p, pid as i32, &b.copy_out(usize::MAX)),
        (FdKind::Bintime | FdKind::Dir, _) => return err("permission denied"),
        (FdKind::Host, _) => {}
    }
    if may_block(fd) && !wait_fd(p, fd, libc::POLLOUT) {
        return err("interrupted");
    }
    // SAFETY: b is readable memory of the binary of b.len() bytes.
    let r = unsafe {
        if off < 0 {
            libc::write(fd, b.ptr().cast(), b.len())
        } else {
            libc::pwrite(fd, b.ptr().cast(), b.len(), off)
        }
    };
    if r >= 0 {
        return Ok(r as i64);
    }
    let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    if e == libc::ESPIPE && off >= 0 {
        return pwrite(p, fd, buf, n, -1);
    }
    if e == libc::EPIPE {
        // Plan 9 posts this note to the writer, then fails the write.
        p.my_slot().post(b"sys: write on closed pipe");
    }
    err(errno_str(e))
}

fn seek(p: &mut Private, retp: u64, fd: i32, off: i64, whence: i64) -> R {
    let out = user_buf(p, retp, 8, true)?;
    let r = if p.shared().fd_kind(fd).0 == FdKind::Dir {
        if off != 0 || whence != 0 {
            return err("seek on a directory");
        }
        // SAFETY: lseek on a descriptor.
        unsafe { libc::lseek(fd, 0, libc::SEEK_SET) }
    } else {
        if !(0..=2).contains(&whence) {
            return err("bad arg in system call");
        }
        // SAFETY: lseek on a descriptor; Plan 9's and Linux's whence
        // values 0-2 agree.
        unsafe { libc::lseek(fd, off, whence as i32) }
    };
    if r < 0 {
        return last_err();
    }
    out.fill(&r.to_ne_bytes());
    Ok(0)
}

fn close(p: &mut Private, fd: i32) -> R {
    // SAFETY: closing a descriptor of the program's.
    if unsafe { libc::close(fd) } < 0 {
        return last_err();
    }
    p.shared().set_fd_kind(fd, FdKind::Host, 0);
    Ok(0)
}

fn dup(p: &mut Private, old: i32, new: i32) -> R {
    // SAFETY: dup/dup2 on descriptors.
    let r = unsafe {
        if new < 0 {
            libc::dup(old)
        } else {
            libc::dup2(old, new)
        }
    };
    if r < 0 {
        return last_err();
    }
    let (k, a) = p.shared().fd_kind(old);
    p.shared().set_fd_kind(r, k, a);
    Ok(i64::from(r))
}

fn errstr(p: &mut Private, buf: u64, n: u64) -> R {
    let n = u64::from(n as u32).min(ERRMAX as u64);
    if n == 0 {
        return err("bad arg in system call");
    }
    let ub = user_buf(p, buf, n, true)?;
    let mut b = ub.copy_out(ERRMAX);
    // Plan 9 swaps: the caller gets the process's string and leaves its
    // own in its place.
    let mut theirs = [0u8; ERRMAX];
    let k = b
        .iter()
        .position(|&c| c == 0)
        .unwrap_or(b.len())
        .min(ERRMAX - 1);
    theirs[..k].copy_from_slice(&b[..k]);
    let mine = p.errstr;
    let m = mine
        .iter()
        .position(|&c| c == 0)
        .unwrap_or(ERRMAX)
        .min(b.len() - 1);
    b[..m].copy_from_slice(&mine[..m]);
    b[m] = 0;
    ub.fill(&b[..=m]);
    p.errstr = theirs;
    Ok(0)
}

fn brk(p: &mut Private, addr: u64) -> R {
    let l = p.layout;
    if addr < l.data_start || addr > l.heap_limit {
        return err(format!(
            "no memory: the break {addr:#x} is past the {} GiB heap segment",
            (l.heap_limit - l.data_start) >> 30
        ));
    }
    p.shared()
        .brk
        .fetch_max(addr.next_multiple_of(4096), Ordering::SeqCst);
    Ok(0)
}

fn await_(p: &mut Private, buf: u64, n: u64) -> R {
    let _ = user_buf(p, buf, n, true)?;
    err("no living children")
}

/// Handles the binary's system call whose registers are in `uc`.
pub fn dispatch(p: &mut Private, uc: &mut ucontext_t) {
    let g = uc.uc_mcontext.gregs;
    let num = g[libc::REG_RBP as usize] as u64;
    let sp = g[libc::REG_RSP as usize] as u64;
    let mut a = [0u64; 5];
    for (i, v) in a.iter_mut().enumerate() {
        let at = sp.wrapping_add(8 + 8 * i as u64);
        if readable(p, at, 8) {
            // SAFETY: readable, 8 bytes; unaligned, as SP may be anything.
            *v = unsafe { (at as *const u64).read_unaligned() };
        }
    }
    let i32a = |i: usize| a[i] as u32 as i32;
    let i64a = |i: usize| a[i] as i64;
    let r: R = match num {
        nr::OPEN => ns::open(p, a[0], i32a(1) as u32),
        nr::CREATE => ns::create(p, a[0], i32a(1) as u32, a[2] as u32),
        nr::CLOSE => close(p, i32a(0)),
        nr::DUP => dup(p, i32a(0), i32a(1)),
        nr::PREAD => pread(p, i32a(0), a[1], u64::from(a[2] as u32), i64a(3)),
        nr::PWRITE => pwrite(p, i32a(0), a[1], u64::from(a[2] as u32), i64a(3)),
        nr::SEEK => seek(p, a[0], i32a(1), i64a(2), i64::from(i32a(3))),
        nr::STAT => ns::stat(p, a[0], a[1], a[2]),
        nr::FSTAT => ns::fstat(p, i32a(0), a[1], a[2]),
        nr::FD2PATH => ns::fd2path(p, i32a(0), a[1], a[2]),
        nr::REMOVE => ns::remove(p, a[0]),
        nr::CHDIR => ns::chdir(p, a[0]),
        nr::PIPE => ns::pipe(p, a[0]),
        nr::ERRSTR => errstr(p, a[0], a[1]),
        nr::BRK => brk(p, a[0]),
        nr::SLEEP => sleep(p, i64::from(i32a(0))),
        nr::ALARM => Ok(0),
        nr::NSEC => {
            let t = realtime();
            if a[0] != 0
                && let Ok(b) = user_buf(p, a[0], 8, true)
            {
                b.fill(&t.to_ne_bytes());
            }
            Ok(t)
        }
        nr::SEMACQUIRE => semacquire(p, a[0], i32a(1) != 0, None),
        nr::TSEMACQUIRE => semacquire(p, a[0], true, Some(i64::from(i32a(1)))),
        nr::SEMRELEASE => semrelease(p, a[0], i64::from(i32a(1))),
        nr::RFORK => rfork(p, uc, u64::from(a[0] as u32)),
        nr::NOTIFY => {
            p.notify = a[0];
            Ok(0)
        }
        nr::NOTED => {
            if note::noted(p, uc, u64::from(a[0] as u32)) {
                trace(p, num, &a, None);
                return; // registers are the interrupted ones now
            }
            err("noted: not in a note handler")
        }
        nr::EXITS => {
            let msg = if a[0] == 0 {
                Vec::new()
            } else {
                exit_str(p, a[0])
            };
            trace(p, num, &a, Some(0));
            exit_process(p, &msg)
        }
        nr::AWAIT => await_(p, a[0], a[1]),
        _ => {
            let m = format!("plan9-run: system call {num} is not implemented\n");
            write_stderr(m.as_bytes());
            err(format!("plan9-run: system call {num} is not implemented"))
        }
    };
    let ret = match r {
        Ok(v) => v,
        Err(Fail::Err(s)) => {
            p.set_errstr(&s);
            -1
        }
        Err(Fail::BadAddr(addr, len)) => {
            // Plan 9's validaddr (port/sysproc.c): tell the process's
            // standard error (the "invalid address in sys call" that
            // 9f012e1's commit message quotes), post it `sys: bad address
            // in syscall`, and fail the call with Ebadarg.
            let pc = uc.uc_mcontext.gregs[libc::REG_RIP as usize];
            let m = format!(
                "plan9-run {}: suicide: invalid address {addr:#x}/{len} in sys call pc={pc:#x}\n",
                p.pid
            );
            write_stderr(m.as_bytes());
            p.set_errstr("bad arg in system call");
            p.my_slot().post(b"sys: bad address in syscall");
            -1
        }
    };
    trace(p, num, &a, Some(ret));
    uc.uc_mcontext.gregs[libc::REG_RAX as usize] = ret;
    // Plan 9's kernel rewrites Tos.pid on every return to user mode
    // (pc64 kexit), so a stale copy cannot survive a system call.
    set_tos_pid(&p.layout, p.pid);
    note::deliver_pending(p, uc);
}

/// An `exits` string: at most ERRMAX-1 bytes, as Plan 9 keeps; a bad
/// address still ends the process with a failure status.
fn exit_str(p: &Private, addr: u64) -> Vec<u8> {
    match user_cstr(p, addr, ERRMAX as u64 - 1) {
        Ok((s, _)) => s,
        Err(_) => b"sys: bad address in exits".to_vec(),
    }
}

/// Whether `pid` is a process of this program (the loader's process
/// group: the processes never leave it), so that a stale pid in the table
/// that the host has since given to another process is never signalled.
pub fn in_our_group(pid: i32) -> bool {
    // SAFETY: no preconditions.
    pid > 0 && unsafe { libc::getpgid(pid) == libc::getpgrp() }
}

fn trace(p: &Private, num: u64, a: &[u64; 5], ret: Option<i64>) {
    if !p.trace {
        return;
    }
    let e = if ret == Some(-1) {
        let n = p.errstr.iter().position(|&c| c == 0).unwrap_or(ERRMAX);
        format!(" '{}'", String::from_utf8_lossy(&p.errstr[..n]))
    } else {
        String::new()
    };
    let m = format!(
        "[{}] sys {num}({:#x}, {:#x}, {:#x}, {:#x}) = {}{e}\n",
        p.pid,
        a[0],
        a[1],
        a[2],
        a[3],
        ret.map_or("(resumed)".to_string(), |r| r.to_string())
    );
    write_stderr(m.as_bytes());
}

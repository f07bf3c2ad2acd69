//! The loader's namespace: the files Go's runtime and os package open on
//! Plan 9, served here, and the host's file system for every other path.
//!
//! | Plan 9 path | served as |
//! |---|---|
//! | `/dev/bintime` | the time, read as Plan 9's four big-endian words |
//! | `#c/pid`, `/dev/pid`, `/dev/ppid` | the process's pid (a memfd) |
//! | `/dev/sysstat` | one line per CPU the process may use |
//! | `/dev/swap` | the page size line Go looks for |
//! | `/dev/sysname`, `/dev/user` | the host name, the user |
//! | `/dev/cons` | the loader's standard input or output |
//! | `/dev/random` | the host's `/dev/urandom` |
//! | `/env`, `/env/NAME`, `#e/NAME` | a directory of the program's own, filled from the loader's environment |
//! | `/proc/N/note`, `/proc/N/ctl` | post a note to, or kill, process N |

use crate::state::{ERRMAX, FdKind, Private};
use crate::sys::{self, Fail, R, err, errno_str, user_cstr};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

fn last_err<T>(path: &[u8]) -> Result<T, Fail> {
    let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    if path.is_empty() {
        err(errno_str(e))
    } else {
        err(format!(
            "'{}' {}",
            String::from_utf8_lossy(path),
            errno_str(e)
        ))
    }
}

static ENV_DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Makes the program's `/env`: a fresh directory holding one file per
/// variable of the loader's environment.
pub fn make_env_dir() -> std::io::Result<PathBuf> {
    let base = std::env::temp_dir().join(format!("plan9-run.{}", std::process::id()));
    let env = base.join("env");
    std::fs::create_dir_all(&env)?;
    for (k, v) in std::env::vars_os() {
        let k = k.as_bytes();
        if k.is_empty() || k.contains(&b'/') || k == b"." || k == b".." {
            continue;
        }
        std::fs::write(env.join(std::ffi::OsStr::from_bytes(k)), v.as_bytes())?;
    }
    Ok(base)
}

/// Records the directory `make_env_dir` made.
pub fn set_env_dir(base: PathBuf) {
    let _ = ENV_DIR.set(base.join("env"));
}

/// What a Plan 9 path names.
enum Target {
    Host(Vec<u8>),
    Text(Vec<u8>),
    Bintime,
    Cons,
    Note(i32),
    Ctl(i32),
}

fn resolve(p: &Private, path: &[u8]) -> Result<Target, Fail> {
    let env = || {
        ENV_DIR
            .get()
            .map(|d| d.as_os_str().as_bytes().to_vec())
            .unwrap_or_default()
    };
    let proc_file = |rest: &[u8]| -> Option<(i32, Vec<u8>)> {
        let s = std::str::from_utf8(rest).ok()?;
        let (n, f) = s.split_once('/')?;
        Some((n.parse().ok()?, f.as_bytes().to_vec()))
    };
    Ok(match path {
        b"/dev/bintime" => Target::Bintime,
        b"#c/pid" | b"/dev/pid" => Target::Text(format!("{:>11} ", p.pid).into_bytes()),
        b"#c/ppid" | b"/dev/ppid" => {
            // SAFETY: no preconditions.
            Target::Text(format!("{:>11} ", unsafe { libc::getppid() }).into_bytes())
        }
        b"/dev/sysstat" => {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            Target::Text(
                (0..n)
                    .map(|i| format!("{i:>11} 0 0 0 0 0 0 0 0 0\n"))
                    .collect::<String>()
                    .into_bytes(),
            )
        }
        b"/dev/swap" => Target::Text(b"1073741824 memory\n4096 pagesize\n".to_vec()),
        b"/dev/sysname" | b"#c/sysname" => {
            let h = std::fs::read("/proc/sys/kernel/hostname").unwrap_or_else(|_| b"gort".to_vec());
            Target::Text(h.trim_ascii_end().to_vec())
        }
        b"/dev/user" | b"#c/user" => Target::Text(
            std::env::var("USER")
                .unwrap_or_else(|_| "none".into())
                .into_bytes(),
        ),
        b"/dev/cons" | b"#c/cons" => Target::Cons,
        b"/dev/random" => Target::Host(b"/dev/urandom".to_vec()),
        b"/env" | b"#e" => Target::Host(env()),
        _ => {
            if let Some(name) = path
                .strip_prefix(b"/env/")
                .or_else(|| path.strip_prefix(b"#e/"))
            {
                let mut h = env();
                h.push(b'/');
                h.extend_from_slice(name);
                Target::Host(h)
            } else if let Some((pid, f)) = path.strip_prefix(b"/proc/").and_then(proc_file) {
                if p.shared().slot_of(pid).is_none() {
                    return err(format!(
                        "'{}' file does not exist",
                        String::from_utf8_lossy(path)
                    ));
                }
                match f.as_slice() {
                    b"note" | b"notepg" => Target::Note(pid),
                    b"ctl" => Target::Ctl(pid),
                    _ => {
                        return err(format!(
                            "'{}' file does not exist",
                            String::from_utf8_lossy(path)
                        ));
                    }
                }
            } else if path.starts_with(b"#") {
                return err(format!(
                    "'{}' file does not exist",
                    String::from_utf8_lossy(path)
                ));
            } else {
                Target::Host(path.to_vec())
            }
        }
    })
}

/// A host path as a C string.
fn cstr(h: Vec<u8>) -> Result<CString, Fail> {
    CString::new(h).map_err(|_| Fail::Err("bad file name".into()))
}

/// The Plan 9 path at `addr` and the host path it names, for the calls
/// that work on host files only (`create`, `remove`, `chdir`); a file the
/// loader serves fails with `'path' why`.
fn host_path(p: &Private, addr: u64, why: &str) -> Result<(Vec<u8>, CString), Fail> {
    let path = user_path(p, addr)?;
    let Target::Host(h) = resolve(p, &path)? else {
        return err(format!("'{}' {why}", String::from_utf8_lossy(&path)));
    };
    Ok((path, cstr(h)?))
}

/// A file name: at most 4096 bytes before its NUL.
fn user_path(p: &Private, addr: u64) -> Result<Vec<u8>, Fail> {
    match user_cstr(p, addr, 4097)? {
        (s, true) => Ok(s),
        (_, false) => err("file name too long"),
    }
}

fn user_buf(p: &Private, addr: u64, len: u64) -> Result<sys::UserBuf, Fail> {
    sys::user_buf(p, addr, len, true)
}

fn memfd_with(text: &[u8]) -> Result<i32, Fail> {
    // SAFETY: a static NUL-terminated name.
    let fd = unsafe { libc::memfd_create(c"plan9-run file".as_ptr(), 0) };
    if fd < 0 {
        return last_err(b"");
    }
    // SAFETY: writes from a valid buffer, then rewinds.
    unsafe {
        libc::write(fd, text.as_ptr().cast(), text.len());
        libc::lseek(fd, 0, libc::SEEK_SET);
    }
    Ok(fd)
}

/// Plan 9 open modes.
const OWRITE: u32 = 1;
const ORDWR: u32 = 2;
const OTRUNC: u32 = 0x10;
const OCEXEC: u32 = 0x20;
const OEXCL: u32 = 0x1000;
const DMDIR: u32 = 0x8000_0000;

fn host_flags(mode: u32) -> i32 {
    let mut f = match mode & 3 {
        OWRITE => libc::O_WRONLY,
        ORDWR => libc::O_RDWR,
        _ => libc::O_RDONLY,
    };
    if mode & OTRUNC != 0 {
        f |= libc::O_TRUNC;
    }
    if mode & OCEXEC != 0 {
        f |= libc::O_CLOEXEC;
    }
    f
}

fn after_open(p: &Private, fd: i32) -> R {
    let mut st: libc::stat = unsafe_zeroed_stat();
    // SAFETY: fstat into a local struct.
    if unsafe { libc::fstat(fd, &mut st) } == 0 && st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        p.shared().set_fd_kind(fd, FdKind::Dir, 0);
    } else {
        p.shared().set_fd_kind(fd, FdKind::Host, 0);
    }
    Ok(i64::from(fd))
}

fn unsafe_zeroed_stat() -> libc::stat {
    // SAFETY: all-zero is a valid libc::stat.
    unsafe { core::mem::zeroed() }
}

pub fn open(p: &mut Private, path: u64, mode: u32) -> R {
    let path = user_path(p, path)?;
    match resolve(p, &path)? {
        Target::Host(h) => {
            let c = cstr(h)?;
            let mut flags = host_flags(mode);
            if mode & 3 == 0
                && std::fs::metadata(std::ffi::OsStr::from_bytes(c.as_bytes()))
                    .is_ok_and(|m| m.is_dir())
            {
                flags |= libc::O_DIRECTORY;
            }
            // SAFETY: a valid path.
            let fd = unsafe { libc::open(c.as_ptr(), flags) };
            if fd < 0 {
                return last_err(&path);
            }
            after_open(p, fd)
        }
        Target::Text(t) => {
            let fd = memfd_with(&t)?;
            p.shared().set_fd_kind(fd, FdKind::Host, 0);
            Ok(i64::from(fd))
        }
        Target::Cons => {
            let from = if mode & 3 == 0 { 0 } else { 1 };
            // SAFETY: dup of a standard descriptor.
            let fd = unsafe { libc::dup(from) };
            if fd < 0 {
                return last_err(&path);
            }
            p.shared().set_fd_kind(fd, FdKind::Host, 0);
            Ok(i64::from(fd))
        }
        t @ (Target::Bintime | Target::Note(_) | Target::Ctl(_)) => {
            // A descriptor number of our own for a file the loader serves.
            // SAFETY: a static path.
            let fd = unsafe {
                libc::open(
                    c"/dev/null".as_ptr(),
                    libc::O_RDWR
                        | if mode & OCEXEC != 0 {
                            libc::O_CLOEXEC
                        } else {
                            0
                        },
                )
            };
            if fd < 0 {
                return last_err(&path);
            }
            let (k, a) = match t {
                Target::Bintime => (FdKind::Bintime, 0),
                Target::Note(pid) => (FdKind::Note, pid as u64),
                Target::Ctl(pid) => (FdKind::Ctl, pid as u64),
                _ => unreachable!(),
            };
            p.shared().set_fd_kind(fd, k, a);
            Ok(i64::from(fd))
        }
    }
}

pub fn create(p: &mut Private, path: u64, mode: u32, perm: u32) -> R {
    let (path, c) = host_path(p, path, "permission denied")?;
    if perm & DMDIR != 0 {
        // SAFETY: a valid path.
        if unsafe { libc::mkdir(c.as_ptr(), perm & 0o777) } < 0 {
            return last_err(&path);
        }
        // SAFETY: a valid path.
        let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY) };
        if fd < 0 {
            return last_err(&path);
        }
        return after_open(p, fd);
    }
    let mut flags = host_flags(mode) | libc::O_CREAT | libc::O_TRUNC;
    if mode & OEXCL != 0 {
        flags |= libc::O_EXCL;
    }
    // SAFETY: a valid path.
    let fd = unsafe { libc::open(c.as_ptr(), flags, perm & 0o777) };
    if fd < 0 {
        return last_err(&path);
    }
    after_open(p, fd)
}

pub fn remove(p: &mut Private, path: u64) -> R {
    let (path, c) = host_path(p, path, "permission denied")?;
    // SAFETY: valid paths.
    let r = unsafe {
        let r = libc::unlink(c.as_ptr());
        if r < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EISDIR) {
            libc::rmdir(c.as_ptr())
        } else {
            r
        }
    };
    if r < 0 {
        return last_err(&path);
    }
    Ok(0)
}

pub fn chdir(p: &mut Private, path: u64) -> R {
    let (path, c) = host_path(p, path, "not a directory")?;
    // SAFETY: a valid path.
    if unsafe { libc::chdir(c.as_ptr()) } < 0 {
        return last_err(&path);
    }
    Ok(0)
}

pub fn pipe(p: &mut Private, fds: u64) -> R {
    let out = user_buf(p, fds, 8)?;
    let mut sv = [0i32; 2];
    // Plan 9 pipes carry data both ways: a stream socket pair.
    // SAFETY: a valid out array.
    if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, sv.as_mut_ptr()) } < 0 {
        return last_err(b"");
    }
    let mut both = [0u8; 8];
    both[..4].copy_from_slice(&sv[0].to_ne_bytes());
    both[4..].copy_from_slice(&sv[1].to_ne_bytes());
    out.fill(&both);
    for fd in sv {
        p.shared().set_fd_kind(fd, FdKind::Host, 0);
    }
    Ok(0)
}

pub fn fd2path(p: &mut Private, fd: i32, buf: u64, n: u64) -> R {
    let out = user_buf(p, buf, n)?;
    let name = match p.shared().fd_kind(fd) {
        (FdKind::Bintime, _) => b"/dev/bintime".to_vec(),
        (FdKind::Note, pid) => format!("/proc/{pid}/note").into_bytes(),
        (FdKind::Ctl, pid) => format!("/proc/{pid}/ctl").into_bytes(),
        _ => match std::fs::read_link(format!("/proc/self/fd/{fd}")) {
            Ok(l) => l.as_os_str().as_bytes().to_vec(),
            Err(_) => return err("fd out of range or not open"),
        },
    };
    if out.is_empty() {
        return err("buffer too small");
    }
    let k = name.len().min(out.len() - 1);
    let mut c = name[..k].to_vec();
    c.push(0);
    out.fill(&c);
    Ok(0)
}

/// `/dev/bintime`: wall-clock nanoseconds, clock ticks, their rate, and
/// monotonic nanoseconds, each a big-endian 64-bit word (Go reads all
/// four and takes the last for its monotonic clock).
pub fn bintime() -> [u8; 32] {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let mono = (ts.tv_sec * 1_000_000_000 + ts.tv_nsec) as u64;
    let words = [sys::realtime() as u64, mono, 1_000_000_000, mono];
    let mut b = [0u8; 32];
    for (i, w) in words.into_iter().enumerate() {
        b[8 * i..8 * i + 8].copy_from_slice(&w.to_be_bytes());
    }
    b
}

/// Plan 9's machine-independent directory entry (stat(5)) for `st`.
fn dir_entry(name: &[u8], st: &libc::stat) -> Vec<u8> {
    let isdir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
    let mut mode = st.st_mode & 0o777;
    if isdir {
        mode |= DMDIR;
    }
    let uid = uid_name(st.st_uid);
    let mut e = Vec::with_capacity(64 + name.len());
    e.extend_from_slice(&[0, 0]); // size, filled below
    e.extend_from_slice(&0u16.to_le_bytes()); // type
    e.extend_from_slice(&(st.st_dev as u32).to_le_bytes());
    e.push(if isdir { 0x80 } else { 0 }); // qid.type
    e.extend_from_slice(&(st.st_mtime as u32).to_le_bytes()); // qid.vers
    e.extend_from_slice(&(st.st_ino).to_le_bytes()); // qid.path
    e.extend_from_slice(&mode.to_le_bytes());
    e.extend_from_slice(&(st.st_atime as u32).to_le_bytes());
    e.extend_from_slice(&(st.st_mtime as u32).to_le_bytes());
    e.extend_from_slice(&(if isdir { 0 } else { st.st_size as u64 }).to_le_bytes());
    for s in [name, uid.as_bytes(), uid.as_bytes(), uid.as_bytes()] {
        e.extend_from_slice(&(s.len() as u16).to_le_bytes());
        e.extend_from_slice(s);
    }
    let size = (e.len() - 2) as u16;
    e[..2].copy_from_slice(&size.to_le_bytes());
    e
}

fn uid_name(uid: u32) -> String {
    // SAFETY: no preconditions.
    if uid == unsafe { libc::getuid() }
        && let Ok(u) = std::env::var("USER")
    {
        return u;
    }
    uid.to_string()
}

fn put_entry(out: sys::UserBuf, e: &[u8]) -> R {
    if out.len() < e.len() {
        // Plan 9 gives the size the entry needs in the first two bytes.
        if out.len() >= 2 {
            out.fill(&e[..2]);
        }
        return Ok(2);
    }
    out.fill(e);
    Ok(e.len() as i64)
}

fn virtual_stat(name: &[u8], dir: bool) -> Vec<u8> {
    let mut st = unsafe_zeroed_stat();
    st.st_mode = if dir {
        libc::S_IFDIR | 0o555
    } else {
        libc::S_IFREG | 0o444
    };
    // SAFETY: no preconditions.
    st.st_uid = unsafe { libc::getuid() };
    dir_entry(name, &st)
}

pub fn stat(p: &mut Private, path: u64, buf: u64, n: u64) -> R {
    let path = user_path(p, path)?;
    let out = user_buf(p, buf, n)?;
    let base = path.rsplit(|&c| c == b'/').next().unwrap_or(b"").to_vec();
    let e = match resolve(p, &path)? {
        Target::Host(h) => {
            let c = cstr(h)?;
            let mut st = unsafe_zeroed_stat();
            // SAFETY: a valid path and out struct.
            if unsafe { libc::stat(c.as_ptr(), &mut st) } < 0 {
                return last_err(&path);
            }
            dir_entry(if base.is_empty() { b"/" } else { &base }, &st)
        }
        _ => virtual_stat(&base, false),
    };
    put_entry(out, &e)
}

pub fn fstat(p: &mut Private, fd: i32, buf: u64, n: u64) -> R {
    let out = user_buf(p, buf, n)?;
    let e = match p.shared().fd_kind(fd).0 {
        FdKind::Bintime => virtual_stat(b"bintime", false),
        FdKind::Note => virtual_stat(b"note", false),
        FdKind::Ctl => virtual_stat(b"ctl", false),
        FdKind::Host | FdKind::Dir => {
            let mut st = unsafe_zeroed_stat();
            // SAFETY: fstat into a local struct.
            if unsafe { libc::fstat(fd, &mut st) } < 0 {
                return last_err(b"");
            }
            let name = std::fs::read_link(format!("/proc/self/fd/{fd}"))
                .ok()
                .and_then(|l| l.file_name().map(|n| n.as_bytes().to_vec()))
                .unwrap_or_else(|| b"/".to_vec());
            dir_entry(&name, &st)
        }
    };
    put_entry(out, &e)
}

/// Reads a directory as Plan 9 does: whole entries, as many as fit.
pub fn read_dir(fd: i32, out: &mut [u8], off: i64) -> R {
    if off == 0 {
        // SAFETY: lseek on a descriptor.
        unsafe { libc::lseek(fd, 0, libc::SEEK_SET) };
    }
    let mut buf = vec![0u8; 8192];
    let mut n = 0usize;
    loop {
        // Where this batch starts, to come back to if its first entry
        // does not fit.
        // SAFETY: lseek on a descriptor.
        let start = unsafe { libc::lseek(fd, 0, libc::SEEK_CUR) };
        // SAFETY: getdents64 into a valid buffer.
        let got = unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) };
        if got < 0 {
            return err(errno_str(
                std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
            ));
        }
        if got == 0 {
            return Ok(n as i64);
        }
        let mut at = 0usize;
        let mut resume: Option<i64> = None;
        while at < got as usize {
            let d_off = i64::from_ne_bytes(buf[at + 8..at + 16].try_into().unwrap());
            let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
            let name_bytes = &buf[at + 19..at + reclen];
            let name = &name_bytes[..name_bytes
                .iter()
                .position(|&c| c == 0)
                .unwrap_or(name_bytes.len())];
            if name != b"." && name != b".." {
                let c = CString::new(name).unwrap_or_default();
                let mut st = unsafe_zeroed_stat();
                // SAFETY: fstatat relative to the directory descriptor; a
                // dangling symlink lists as itself.
                if unsafe { libc::fstatat(fd, c.as_ptr(), &mut st, 0) } == 0
                    // SAFETY: as above.
                    || unsafe { libc::fstatat(fd, c.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) }
                        == 0
                {
                    let e = dir_entry(name, &st);
                    if n + e.len() > out.len() {
                        // Give back this entry and the rest of the batch.
                        resume = Some(prev_off(&buf, at).unwrap_or(start));
                        break;
                    }
                    out[n..n + e.len()].copy_from_slice(&e);
                    n += e.len();
                }
            }
            let _ = d_off;
            at += reclen;
        }
        if let Some(o) = resume {
            // SAFETY: lseek on a descriptor to a d_off getdents gave.
            unsafe { libc::lseek(fd, o, libc::SEEK_SET) };
            if n == 0 {
                return err("buffer too small for a directory entry");
            }
            return Ok(n as i64);
        }
        if n > 0 {
            return Ok(n as i64);
        }
    }
}

/// The d_off of the entry before the one at `at` in a getdents64 batch
/// (where reading resumes to see that entry again); none for the first.
fn prev_off(buf: &[u8], at: usize) -> Option<i64> {
    let mut i = 0usize;
    let mut prev = None;
    while i < at {
        prev = Some(i64::from_ne_bytes(buf[i + 8..i + 16].try_into().unwrap()));
        i += u16::from_ne_bytes([buf[i + 16], buf[i + 17]]) as usize;
    }
    prev
}

/// Writes to `/proc/N/note`: posts the note to N.
pub fn post_note(p: &mut Private, pid: i32, msg: &[u8]) -> R {
    let Some(slot) = p.shared().slot_of(pid).filter(|_| sys::in_our_group(pid)) else {
        return err(format!("'/proc/{pid}/note' process exited"));
    };
    let n = msg
        .iter()
        .position(|&c| c == 0)
        .unwrap_or(msg.len())
        .min(ERRMAX - 1);
    slot.post(&msg[..n]);
    if pid == p.pid {
        // To ourselves: the dispatcher delivers it on the way back.
        return Ok(msg.len() as i64);
    }
    // SAFETY: signalling a process of the program.
    unsafe { libc::kill(pid, crate::note::note_signal()) };
    Ok(msg.len() as i64)
}

/// Writes to `/proc/N/ctl`: `kill` ends N at once.
pub fn write_ctl(p: &mut Private, pid: i32, msg: &[u8]) -> R {
    if msg.trim_ascii() == b"kill" {
        let Some(slot) = p.shared().slot_of(pid).filter(|_| sys::in_our_group(pid)) else {
            return err(format!("'/proc/{pid}/ctl' process exited"));
        };
        // SAFETY: signalling a process of the program.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        // It cannot free its slot itself.
        slot.clear();
        let _ = slot.pid.compare_exchange(
            pid,
            0,
            core::sync::atomic::Ordering::SeqCst,
            core::sync::atomic::Ordering::SeqCst,
        );
        return Ok(msg.len() as i64);
    }
    err(format!(
        "plan9-run: ctl message '{}' is not supported",
        String::from_utf8_lossy(msg.trim_ascii())
    ))
}

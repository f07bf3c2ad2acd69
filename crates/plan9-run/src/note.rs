//! Notes: Plan 9's signals, delivered to the binary's own handler.
//!
//! A note for another process is queued in its shared slot and announced
//! with [`note_signal`], a real-time signal. The signal's handler, when it
//! interrupted the binary's code, builds on the binary's stack the frame
//! Plan 9's kernel builds (`notify` in pc64's trap.c): the interrupted
//! registers as a `Ureg`, the note text, and a call of the handler with
//! `(ureg, note)`, BP holding the `Ureg` too. `noted(NCONT)` puts the
//! registers back from the `Ureg`, which the handler may have changed (Go's
//! does, to enter `sigpanic`). A note that arrives while the process is in
//! the loader (a system call) waits there: the call sees the queue, ends
//! as interrupted, and the note is delivered on its way back.
//!
//! Faults in the binary (SIGSEGV, SIGFPE, ...) become Plan 9's `sys: trap:`
//! notes for the process itself, delivered at once.

use crate::state::{ERRMAX, PRIVATE, Private, in_text};
use crate::sys;
use libc::{c_int, c_void, siginfo_t, ucontext_t};

/// `noted` modes.
pub const NCONT: u64 = 0;
pub const NDFLT: u64 = 1;
pub const NRSTR: u64 = 3;

/// Plan 9's amd64 `Ureg`, as Go's defs_plan9_amd64.go describes it.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Ureg {
    pub ax: u64,
    pub bx: u64,
    pub cx: u64,
    pub dx: u64,
    pub si: u64,
    pub di: u64,
    pub bp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub ds: u16,
    pub es: u16,
    pub fs: u16,
    pub gs: u16,
    pub typ: u64,
    pub error: u64,
    pub pc: u64,
    pub cs: u64,
    pub flags: u64,
    pub sp: u64,
    pub ss: u64,
}

const _: () = assert!(core::mem::size_of::<Ureg>() == 184);

/// The real-time signal that announces a note.
pub fn note_signal() -> c_int {
    libc::SIGRTMIN() + 2
}

/// The flag bits `noted` lets a handler change (CF, PF, AF, ZF, SF, DF,
/// OF), as Plan 9's kernel does.
const USER_FLAGS: u64 = 0xCD5;

type Gregs = [i64; 23];

fn gregs(uc: &mut ucontext_t) -> &mut Gregs {
    &mut uc.uc_mcontext.gregs
}

fn ureg_from(g: &Gregs) -> Ureg {
    use libc::*;
    let r = |i: c_int| g[i as usize] as u64;
    Ureg {
        ax: r(REG_RAX),
        bx: r(REG_RBX),
        cx: r(REG_RCX),
        dx: r(REG_RDX),
        si: r(REG_RSI),
        di: r(REG_RDI),
        bp: r(REG_RBP),
        r8: r(REG_R8),
        r9: r(REG_R9),
        r10: r(REG_R10),
        r11: r(REG_R11),
        r12: r(REG_R12),
        r13: r(REG_R13),
        r14: r(REG_R14),
        r15: r(REG_R15),
        typ: r(REG_TRAPNO),
        error: r(REG_ERR),
        pc: r(REG_RIP),
        cs: 0x33,
        flags: r(REG_EFL),
        sp: r(REG_RSP),
        ss: 0x2b,
        ..Ureg::default()
    }
}

fn ureg_into(u: &Ureg, g: &mut Gregs) {
    use libc::*;
    let mut w = |i: c_int, v: u64| g[i as usize] = v as i64;
    w(REG_RAX, u.ax);
    w(REG_RBX, u.bx);
    w(REG_RCX, u.cx);
    w(REG_RDX, u.dx);
    w(REG_RSI, u.si);
    w(REG_RDI, u.di);
    w(REG_RBP, u.bp);
    w(REG_R8, u.r8);
    w(REG_R9, u.r9);
    w(REG_R10, u.r10);
    w(REG_R11, u.r11);
    w(REG_R12, u.r12);
    w(REG_R13, u.r13);
    w(REG_R14, u.r14);
    w(REG_R15, u.r15);
    w(REG_RIP, u.pc);
    w(REG_RSP, u.sp);
    let old = g[REG_EFL as usize] as u64;
    g[REG_EFL as usize] = ((old & !USER_FLAGS) | (u.flags & USER_FLAGS)) as i64;
}

/// The floating-point area of a signal frame: the FXSAVE image, and the
/// XSAVE extension after it when the kernel says there is one.
fn fp_area(uc: &ucontext_t) -> Option<(*mut u8, usize)> {
    let fp = uc.uc_mcontext.fpregs as *mut u8;
    if fp.is_null() {
        return None;
    }
    // The kernel marks an XSAVE frame in the FXSAVE area's software bytes
    // (offset 464): magic1, then the extended size.
    // SAFETY: the kernel's signal frame holds at least the 512-byte FXSAVE
    // image at fpregs.
    let (magic, ext) = unsafe { (*(fp.add(464) as *const u32), *(fp.add(468) as *const u32)) };
    const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
    let len = if magic == FP_XSTATE_MAGIC1 {
        ext as usize
    } else {
        512
    };
    Some((fp, len))
}

/// Delivers a pending note to the process whose interrupted registers are
/// in `uc`, if it has a handler and is not in one.
pub fn deliver_pending(p: &mut Private, uc: &mut ucontext_t) {
    if p.notified {
        return;
    }
    if let Some(msg) = p.my_slot().take() {
        deliver(p, uc, &msg);
    }
}

/// Runs the handler for note `msg` on return to the binary: builds Plan
/// 9's notify frame below the interrupted stack pointer. A process with no
/// handler, or whose stack cannot take the frame, ends with the note as
/// its exit string, as on Plan 9.
pub fn deliver(p: &mut Private, uc: &mut ucontext_t, msg: &[u8; ERRMAX]) {
    let text = &msg[..msg.iter().position(|&b| b == 0).unwrap_or(ERRMAX)];
    if p.notify == 0 || p.notified {
        if p.notified && text.starts_with(b"sys:") {
            sys::fatal_note(p, b"sys: trap in note handler: ", text);
        }
        sys::exit_process(p, text);
    }
    let g = gregs(uc);
    let u = ureg_from(g);
    // Plan 9 leaves 256 bytes to look at what was interrupted, then the
    // Ureg, the previous Ureg pointer, the note and the call's three words.
    let size = 256 + core::mem::size_of::<Ureg>() as u64 + 8 + ERRMAX as u64 + 24;
    let frame_lo = match u.sp.checked_sub(size) {
        Some(lo) if sys::writable(p, lo, u.sp - lo) => lo,
        _ => sys::fatal_note(p, b"note frame does not fit the stack: ", text),
    };
    let ureg_at = u.sp - 256 - core::mem::size_of::<Ureg>() as u64;
    let mut sp;
    // SAFETY: [frame_lo, u.sp) is writable memory of the binary (checked
    // above), below the interrupted stack pointer; unaligned writes, as
    // the binary's stack pointer may be anything.
    unsafe {
        (ureg_at as *mut Ureg).write_unaligned(u);
        ((ureg_at - 8) as *mut u64).write_unaligned(p.ureg);
        sp = ureg_at - 8 - ERRMAX as u64;
        core::ptr::copy_nonoverlapping(msg.as_ptr(), sp as *mut u8, ERRMAX);
        sp -= 24;
        debug_assert_eq!(sp, frame_lo);
        (sp as *mut u64).write_unaligned(0);
        ((sp + 8) as *mut u64).write_unaligned(ureg_at);
        ((sp + 16) as *mut u64).write_unaligned(sp + 24);
    }
    p.ureg = ureg_at;
    p.notified = true;
    if let Some((fp, len)) = fp_area(uc) {
        let len = len.min(p.fpsave.len());
        // SAFETY: fp holds len bytes (fp_area), fpsave has room for them.
        unsafe { core::ptr::copy_nonoverlapping(fp, p.fpsave.as_mut_ptr(), len) };
        p.fplen = len;
    }
    let g = gregs(uc);
    g[libc::REG_RSP as usize] = sp as i64;
    g[libc::REG_RIP as usize] = p.notify as i64;
    g[libc::REG_RBP as usize] = ureg_at as i64;
    // Plan 9 enters the handler with the direction flag clear.
    g[libc::REG_EFL as usize] &= !0x400;
}

/// `noted(mode)`: ends the handling of the current note. `NCONT` (and
/// `NRSTR`) resume with the `Ureg`'s registers; `NDFLT` ends the process.
/// Returns false if the process was not handling a note.
pub fn noted(p: &mut Private, uc: &mut ucontext_t, mode: u64) -> bool {
    if !p.notified {
        return false;
    }
    let at = p.ureg;
    if at < 8 || !sys::writable(p, at - 8, 192) {
        sys::fatal_note(p, b"noted: bad ureg", b"");
    }
    // SAFETY: checked above: the Ureg the frame holds, and the word under
    // it with the previous one (unaligned reads, as deliver wrote them).
    let (u, prev) = unsafe {
        (
            (at as *const Ureg).read_unaligned(),
            ((at - 8) as *const u64).read_unaligned(),
        )
    };
    match mode {
        NCONT | NRSTR => {
            ureg_into(&u, gregs(uc));
            if let Some((fp, len)) = fp_area(uc)
                && len == p.fplen
            {
                // SAFETY: the frame's area holds len bytes, as the
                // one saved did (same process, same layout).
                unsafe { core::ptr::copy_nonoverlapping(p.fpsave.as_ptr(), fp, len) };
            }
            p.ureg = prev;
            p.notified = false;
            deliver_pending(p, uc);
            true
        }
        NDFLT => {
            // SAFETY: the note text sits in the frame just below the word
            // under the Ureg (deliver wrote it there).
            let msg = unsafe {
                core::slice::from_raw_parts((at - 8 - ERRMAX as u64) as *const u8, ERRMAX)
            };
            let n = msg.iter().position(|&b| b == 0).unwrap_or(ERRMAX);
            sys::exit_process(p, &msg[..n]);
        }
        _ => {
            p.set_errstr("bad arg in system call");
            false
        }
    }
}

extern "C" fn on_sigsys(_sig: c_int, _info: *mut siginfo_t, ctx: *mut c_void) {
    // SAFETY: the kernel passes a valid ucontext to an SA_SIGINFO
    // handler. SIGSYS comes only from a system call in the binary's text,
    // so no other loader handler is running, and this one blocks the
    // others until it unblocks some for a wait, whose handlers then leave
    // the private state alone (ProcCell::get's rule).
    let (uc, p) = unsafe { (&mut *(ctx as *mut ucontext_t), PRIVATE.get()) };
    sys::dispatch(p, uc);
}

extern "C" fn on_note(_sig: c_int, _info: *mut siginfo_t, ctx: *mut c_void) {
    // SAFETY: the kernel passes a valid ucontext to an SA_SIGINFO handler.
    let uc = unsafe { &mut *(ctx as *mut ucontext_t) };
    let pc = uc.uc_mcontext.gregs[libc::REG_RIP as usize] as u64;
    if !in_text(pc) {
        // The loader is in a system call of the binary's: the call sees
        // the queue (the note's counter woke its wait) and the note goes
        // out on its way back.
        return;
    }
    // SAFETY: the binary's own code was interrupted, so no other loader
    // handler is running (ProcCell::get's rule).
    let p = unsafe { PRIVATE.get() };
    deliver_pending(p, uc);
}

extern "C" fn on_fault(sig: c_int, info: *mut siginfo_t, ctx: *mut c_void) {
    // SAFETY: valid ucontext and siginfo for an SA_SIGINFO handler.
    let (uc, info) = unsafe { (&mut *(ctx as *mut ucontext_t), &*info) };
    let pc = uc.uc_mcontext.gregs[libc::REG_RIP as usize] as u64;
    if !in_text(pc) {
        // The loader's own fault: let it kill us with its real cause.
        let msg = format!("plan9-run: fault (signal {sig}) in the loader at pc={pc:#x}\n");
        sys::write_stderr(msg.as_bytes());
        // SAFETY: restoring the default action; returning re-faults.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
        return;
    }
    // SAFETY: a fault in the binary's code: no loader handler is running.
    let p = unsafe { PRIVATE.get() };
    let text = match sig {
        libc::SIGSEGV | libc::SIGBUS => {
            // SAFETY: si_addr is valid for these signals.
            let addr = unsafe { info.si_addr() } as u64;
            let write = uc.uc_mcontext.gregs[libc::REG_ERR as usize] & 2 != 0;
            format!(
                "sys: trap: fault {} addr={addr:#x} pc={pc:#x}",
                if write { "write" } else { "read" }
            )
        }
        libc::SIGFPE => format!("sys: trap: divide error pc={pc:#x}"),
        libc::SIGILL => format!("sys: trap: invalid opcode pc={pc:#x}"),
        libc::SIGTRAP => format!("sys: trap: breakpoint pc={pc:#x}"),
        _ => format!("sys: trap: signal {sig} pc={pc:#x}"),
    };
    let mut msg = [0u8; ERRMAX];
    let n = text.len().min(ERRMAX - 1);
    msg[..n].copy_from_slice(&text.as_bytes()[..n]);
    deliver(p, uc, &msg);
}

/// Host signals that Plan 9 would send as notes to the process group.
extern "C" fn on_host_signal(sig: c_int, _info: *mut siginfo_t, ctx: *mut c_void) {
    // SAFETY: the kernel passes a valid ucontext to an SA_SIGINFO handler.
    let uc = unsafe { &mut *(ctx as *mut ucontext_t) };
    let text: &[u8] = match sig {
        libc::SIGINT => b"interrupt",
        libc::SIGHUP => b"hangup",
        libc::SIGALRM => b"alarm",
        _ => b"kill",
    };
    let slot = crate::state::MY_SLOT.load(core::sync::atomic::Ordering::SeqCst);
    if slot.is_null() {
        return;
    }
    // SAFETY: MY_SLOT points into the shared table, mapped for the life of
    // the process; posting is atomic (the slot's lock).
    unsafe { (*slot).post(text) };
    let pc = uc.uc_mcontext.gregs[libc::REG_RIP as usize] as u64;
    if in_text(pc) {
        // SAFETY: the binary's own code was interrupted (ProcCell::get's
        // rule).
        let p = unsafe { PRIVATE.get() };
        deliver_pending(p, uc);
    }
    // Otherwise the post woke the loader's wait, which ends interrupted.
}

/// The loader's signal stack, big enough for its handlers (which format
/// and do file I/O); each process has its own copy.
static mut ALT_STACK: [u8; 256 << 10] = [0; 256 << 10];

/// Installs the loader's handlers and its signal stack. The handlers
/// block one another, so a process's private state has one user at a time.
pub fn install() {
    let ss = libc::stack_t {
        ss_sp: (&raw mut ALT_STACK).cast(),
        ss_flags: 0,
        ss_size: 256 << 10,
    };
    // SAFETY: a static stack used only as this process's signal stack.
    if unsafe { libc::sigaltstack(&ss, core::ptr::null_mut()) } != 0 {
        crate::die("sigaltstack failed");
    }
    let ours = [
        libc::SIGSYS,
        note_signal(),
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGFPE,
        libc::SIGILL,
        libc::SIGTRAP,
        libc::SIGINT,
        libc::SIGHUP,
        libc::SIGTERM,
        libc::SIGALRM,
    ];
    // SAFETY: sigset operations on a local set.
    let mut mask: libc::sigset_t = unsafe { core::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::sigemptyset(&mut mask) };
    for s in ours {
        // SAFETY: as above.
        unsafe { libc::sigaddset(&mut mask, s) };
    }
    type H = extern "C" fn(c_int, *mut siginfo_t, *mut c_void);
    for s in ours {
        let h: H = match s {
            libc::SIGSYS => on_sigsys,
            libc::SIGSEGV | libc::SIGBUS | libc::SIGFPE | libc::SIGILL | libc::SIGTRAP => on_fault,
            libc::SIGINT | libc::SIGHUP | libc::SIGTERM | libc::SIGALRM => on_host_signal,
            _ => on_note,
        };
        // SAFETY: zeroed is a valid sigaction to fill in.
        let mut sa: libc::sigaction = unsafe { core::mem::zeroed() };
        sa.sa_sigaction = h as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESTART;
        sa.sa_mask = mask;
        // SAFETY: installing a handler with a valid sigaction.
        if unsafe { libc::sigaction(s, &sa, core::ptr::null_mut()) } != 0 {
            crate::die(format!("sigaction({s}) failed"));
        }
    }
    // Writes on a closed pipe become the note, not SIGPIPE; children are
    // RFNOWAIT and reaped by the kernel.
    // SAFETY: setting dispositions to SIG_IGN.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        libc::signal(libc::SIGCHLD, libc::SIG_IGN);
    }
}

/// The signals that end a wait in the loader: notes, and the host
/// signals that become notes.
fn wake_signals() -> [c_int; 5] {
    [
        note_signal(),
        libc::SIGINT,
        libc::SIGHUP,
        libc::SIGTERM,
        libc::SIGALRM,
    ]
}

/// The signal mask for waits in the loader that a note must cut short
/// (`ppoll`'s): the current one without [`wake_signals`]. Their handlers,
/// seeing the loader's pc, only queue (host signals) and return.
pub fn wait_mask() -> libc::sigset_t {
    // SAFETY: reading the current mask into a local set, then editing it.
    unsafe {
        let mut m: libc::sigset_t = core::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_SETMASK, core::ptr::null(), &mut m);
        for s in wake_signals() {
            libc::sigdelset(&mut m, s);
        }
        m
    }
}

/// Runs `f` (a wait) with [`wake_signals`] unblocked, so that a host
/// signal can post its note (and wake the wait) while the loader waits.
pub fn with_wake_signals<R>(f: impl FnOnce() -> R) -> R {
    let m = wait_mask();
    // SAFETY: sigset operations on valid sets.
    let mut old: libc::sigset_t = unsafe { core::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &m, &mut old) };
    let r = f();
    // SAFETY: restoring the mask saved above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, core::ptr::null_mut()) };
    r
}

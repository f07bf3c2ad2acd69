//! Goroutine dumps: ports of `tracebackothers`, `goroutineheader` and
//! `runtime.Stack` (traceback.go, mprof.go).
//!
//! Each goroutine appears as Go's header line followed by its symbolized
//! frames in Go's form, the current one first, then all others, runtime
//! helpers hidden. A goroutine that is not running is held where it is with
//! the scan bit (`castogscanstatus`, as Go's `suspendG` does for a stack
//! scan) and its stack is walked by the platform unwinder, started on that
//! stack by `call_on_parked_stack` so that the walk continues into the
//! goroutine's saved context and ends at `goexit`. A goroutine running on
//! another thread cannot be walked without stopping it (gort never
//! interrupts Rust code); it is printed as Go prints one it could not stop:
//! `goroutine running on other thread; stack unavailable`.

use runtime_g::arch::{NREGS, REG_NAMES};
use runtime_g::status::{
    _Gdead, _Grunnable, _Gscan, _Gwaiting, casfrom_gscanstatus, castogscanstatus,
};
use runtime_g::throw::print;
use runtime_g::{G, readgstatus};
use runtime_m::getm;

use crate::panic::{TRACEBACK_INNER_FRAMES, TRACEBACK_OUTER_FRAMES};
use crate::proc::goroutine_header;
use crate::sched::{for_each_g, try_sched};

/// The hook `throw`/`fatal` call after their first line.
pub fn traceback_hook(in_signal: bool) {
    if in_signal {
        return;
    }
    if crate::panic::traceback_level() == 0 {
        return;
    }
    let fatal = FATAL_SCHED.load(core::sync::atomic::Ordering::Acquire);
    let s = match try_sched() {
        Some(s) => s,
        // A deadlock found from a thread that is not an M (the end of
        // another runtime, `instance_ended`): that runtime's goroutines.
        // SAFETY: set_fatal_sched's caller keeps it alive while it dies.
        None if !fatal.is_null() => unsafe { &*fatal },
        None => return,
    };
    let mp = getm();
    let cur: *mut G = if mp.is_null() {
        core::ptr::null_mut()
    } else {
        // SAFETY: mp is this thread's M (try_sched found it); curg is read
        // for printing only.
        unsafe { (*mp).curg.load(core::sync::atomic::Ordering::Relaxed) }
    };
    let mut out = String::new();
    let g = runtime_g::getg();
    // SAFETY: a non-null g slot points at a live G; goid is 0 on g0s.
    let on_g0 = !g.is_null() && unsafe { (*g).goid == 0 };
    if on_g0 && (crate::panic::traceback_level() >= 2 || runtime_g::throw::throwing_runtime()) {
        // Go's dopanic_m: a runtime throw on the scheduler's stack shows
        // that stack first.
        out.push_str("\nruntime stack:\n");
        out.push_str(&crate::panic::format_runtime_stack(g0_frames()));
    }
    if !cur.is_null() {
        out.push('\n');
        // SAFETY: curg of this M is a live G.
        out.push_str(&unsafe { goroutine_header(cur) });
        // The frames of a goroutine that throws are its own stack as seen
        // from here; below the runtime's part of it when it called us.
        if runtime_g::getg() == cur {
            out.push_str(&crate::panic::format_frames(
                backtrace::Backtrace::new_unresolved(),
                // SAFETY: cur runs here; it owns its start_func.
                unsafe { (*cur).start_func },
            ));
        }
        // SAFETY: as above.
        out.push_str(&unsafe { crate::panic::created_by(cur) });
    }
    out.push_str(&others_of(s, cur));
    print(&out);
}

/// tracebackothers: every user goroutine but `me`, each as a blank line,
/// its header and its frames, for the calling goroutine's instance.
pub fn others(me: *mut G) -> String {
    match try_sched() {
        Some(s) => others_of(s, me),
        None => String::new(),
    }
}

fn others_of(s: &crate::sched::Sched, me: *mut G) -> String {
    let mut out = String::new();
    for_each_g(s, |gp| {
        // SAFETY: Gs on the list are live; reading for printing.
        let skip =
            gp == me || unsafe { (*gp).system || (*gp).goid == 0 || readgstatus(gp) == _Gdead };
        if !skip {
            out.push('\n');
            // SAFETY: Gs on the all-G list are live.
            out.push_str(&unsafe { goroutine_header(gp) });
            // SAFETY: as above.
            out.push_str(&unsafe { other_frames(gp) });
        }
    });
    out
}

/// This thread's frames on its g0 stack, innermost first, up to the
/// stack's base (the M's start, or the switch from a goroutine: the
/// `runtime stack:` section ends there). The walk stops there too: past a
/// switch lies a goroutine's stack, which the section does not show, and
/// a walk into it during a throw once faulted inside the unwinder and
/// left the dying process hanging.
fn g0_frames() -> backtrace::Backtrace {
    let stops = [
        runtime_g::gobuf::mcall_switch as *const () as usize,
        runtime_g::gobuf::systemstack_switch as *const () as usize,
        runtime_m::proc::mstart as *const () as usize,
    ];
    let mut frames: Vec<backtrace::BacktraceFrame> = Vec::with_capacity(64);
    backtrace::trace(|f| {
        frames.push(f.clone().into());
        !stops.contains(&(f.symbol_address() as usize)) && frames.len() < 256
    });
    backtrace::Backtrace::from(frames)
}

/// The frames of goroutine `gp`, which is not the caller's, in Go's form,
/// or Go's line for a goroutine whose stack cannot be read now.
///
/// # Safety
/// `gp` must point at a G of a live instance (its Gs are freed only at its teardown).
pub unsafe fn other_frames(gp: *mut G) -> String {
    // SAFETY: forwarded contract.
    let (mut out, ancestors) = match unsafe { parked_frames(gp) } {
        Some(f) => f,
        None => (
            "\tgoroutine running on other thread; stack unavailable\n".to_string(),
            String::new(),
        ),
    };
    // SAFETY: as above.
    out.push_str(&unsafe { crate::panic::created_by(gp) });
    out.push_str(&ancestors);
    out
}

/// What the capture running on a parked goroutine's stack fills in.
struct Capture {
    frames: Vec<backtrace::BacktraceFrame>,
}

/// Runs on the parked goroutine's stack (see `call_on_parked_stack`):
/// records the frames below the trampoline, unresolved (symbolizing is
/// deep and runs on the caller's own stack afterwards).
unsafe extern "C" fn capture_frames(arg: *mut u8) {
    // SAFETY: parked_frames passes its Capture, alive for this call.
    let cap = unsafe { &mut *(arg as *mut Capture) };
    let tramp = runtime_g::gobuf::call_on_parked_stack as *const () as usize;
    let mut past = false;
    // SAFETY: no other thread unwinds this stack (the goroutine is held).
    unsafe {
        backtrace::trace_unsynchronized(|f| {
            if !past {
                past = f.symbol_address() as usize == tramp;
                return true;
            }
            cap.frames.push(f.clone().into());
            cap.frames.len() < 128
        })
    };
}

/// Free stack a walk needs below a parked goroutine's saved SP (the
/// unwinder's contexts and the capture's frames).
const WALK_STACK: usize = 32 << 10;

/// The frames of a goroutine that is waiting or runnable, or `None` if it
/// is running (or in a system call), has not started, or changed state
/// while we looked.
///
/// # Safety
/// `gp` must point at a G of a live instance (its Gs are freed only at its teardown).
unsafe fn parked_frames(gp: *mut G) -> Option<(String, String)> {
    // SAFETY: the caller's contract; the status is atomic.
    let st = unsafe { readgstatus(gp) } & !_Gscan;
    if st != _Gwaiting && st != _Grunnable {
        return None;
    }
    // SAFETY: as above. From here until casfrom_gscanstatus nobody runs,
    // readies or frees gp, so its stack and gobuf stand still.
    if !unsafe { castogscanstatus(gp, st) } {
        return None;
    }
    // SAFETY: the G is held (scan bit); its stack and gobuf are not written
    // while held (execute sets up a first stack only after winning the
    // status CAS).
    let (lo, hi, sp) = unsafe { ((*gp).stack.lo, (*gp).stack.hi, (*gp).sched.sp) };
    let mut cap = Capture {
        frames: Vec::with_capacity(64),
    };
    let ok = lo != 0 && sp > lo + WALK_STACK && sp + 64 <= hi;
    if ok {
        // SAFETY: the goroutine is held off the CPU, sp is its save area
        // inside its stack with WALK_STACK free below, and capture_frames
        // does not unwind (it only records frames).
        unsafe {
            runtime_g::gobuf::call_on_parked_stack(
                sp,
                capture_frames,
                &mut cap as *mut Capture as *mut u8,
            )
        };
    }
    // SAFETY: written by the goroutine before it first parked, and read
    // while the scan bit keeps it from running or being reused.
    let start = unsafe { (*gp).start_func };
    // SAFETY: as above (written before the G was published).
    let ancestors = unsafe { (*gp).ancestors.as_deref().cloned() };
    // SAFETY: we set the bit above.
    unsafe { casfrom_gscanstatus(gp, st) };
    let ancestors = ancestors
        .map(|a| crate::panic::format_ancestors(&a))
        .unwrap_or_default();
    if !ok {
        // Never ran (no stack yet), or no room to walk: Go prints its
        // `created by` line here; gort prints nothing more.
        return Some((String::new(), ancestors));
    }
    Some((
        crate::panic::format_frames(backtrace::Backtrace::from(cap.frames), start),
        ancestors,
    ))
}

/// runtime.Stack: port (mprof.go / traceback.go): the calling goroutine's
/// header, frames and `created by` line, and with `all` every other user
/// goroutine's, separated by blank lines as Go separates them. The world
/// is not stopped (Go stops it for `all`): each other goroutine is held
/// with the scan bit only while it is walked, so statuses are a moment's.
pub fn stack(all: bool) -> String {
    let (me, _rt) = crate::proc::runtime_entry("runtime.Stack");
    // SAFETY: the running goroutine is live; it is "running" by definition.
    let mut out = unsafe { goroutine_header(me) };
    out.push_str(&crate::panic::format_frames(
        backtrace::Backtrace::new_unresolved(),
        // SAFETY: the running goroutine owns its start_func.
        unsafe { (*me).start_func },
    ));
    // SAFETY: the running goroutine is live.
    out.push_str(&unsafe { crate::panic::created_by(me) });
    // SAFETY: the running goroutine's own field.
    if let Some(a) = unsafe { (*me).ancestors.as_deref() } {
        out.push_str(&crate::panic::format_ancestors(a));
    }
    if all {
        out.push_str(&others_of(crate::sched::sched(), me));
    }
    out
}

/// The instance a fatal error reported from a thread that is not an M
/// dumps ([`set_fatal_sched`]).
static FATAL_SCHED: core::sync::atomic::AtomicPtr<crate::sched::Sched> =
    core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());

/// Names the instance whose goroutines the fatal error about to be
/// reported on this thread (not an M) shows. The caller keeps `s` alive:
/// the process ends with the report.
pub(crate) fn set_fatal_sched(s: &crate::sched::Sched) {
    FATAL_SCHED.store(
        s as *const crate::sched::Sched as *mut crate::sched::Sched,
        core::sync::atomic::Ordering::Release,
    );
}

/// The instance the SIGQUIT dump shows when the signal lands on a thread
/// that is not an M (the most recently started one).
static LAST_SCHED: core::sync::atomic::AtomicPtr<crate::sched::Sched> =
    core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());

/// Records `s` as the instance a SIGQUIT dump shows by default.
pub(crate) fn set_last_sched(s: &crate::sched::Sched) {
    LAST_SCHED.store(
        s as *const crate::sched::Sched as *mut crate::sched::Sched,
        core::sync::atomic::Ordering::Release,
    );
}

/// Forgets `s` as the instance a dump would show, when it is being freed
/// (teardown.rs).
pub(crate) fn forget_sched(s: &crate::sched::Sched) {
    let p = s as *const crate::sched::Sched as *mut crate::sched::Sched;
    let null = core::ptr::null_mut();
    use core::sync::atomic::Ordering::{AcqRel, Relaxed};
    let _ = LAST_SCHED.compare_exchange(p, null, AcqRel, Relaxed);
    let _ = DUMP_SCHED.compare_exchange(p, null, AcqRel, Relaxed);
}

/// Write end of the pipe that wakes the SIGQUIT dumper thread, or -1.
static DUMPER_FD: core::sync::atomic::AtomicI32 = core::sync::atomic::AtomicI32::new(-1);

/// The instance the SIGQUIT handler chose to dump.
static DUMP_SCHED: core::sync::atomic::AtomicPtr<crate::sched::Sched> =
    core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());

/// Starts the thread that prints a SIGQUIT dump with frames. A signal
/// handler may not allocate, take locks or unwind stacks (symbolizing does
/// all three), so the handler only prints its first lines and wakes this
/// thread through a pipe (`write(2)` is async-signal-safe); the thread
/// prints every goroutine with its frames and exits 2. Go stops the world
/// for its dump; here the other threads run on meanwhile, and each
/// goroutine is held only while it is walked (`other_frames`).
fn start_sigquit_dumper() -> std::io::Result<()> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: fds has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let rd = fds[0];
    runtime_m::os::spawn_runtime_thread("gort-sigquit", move || {
        let mut b = [0u8; 1];
        loop {
            // SAFETY: rd is our pipe's read end; b has room for a byte.
            let n = unsafe { libc::read(rd, b.as_mut_ptr().cast(), 1) };
            if n == 1 && b[0] == b'o' {
                print_overflow_frames();
            }
            if n == 1 {
                break;
            }
            if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return; // the pipe is gone: nothing to do
        }
        let s = DUMP_SCHED.load(core::sync::atomic::Ordering::Acquire);
        let mut out = String::new();
        if !s.is_null() {
            // Every goroutine: this thread runs none of them.
            // SAFETY: a dumped instance is not freed: `free_instance`
            // first takes it out of DUMP_SCHED (`forget_sched`), and a dump
            // that chose it ends the process (a free racing the choice is
            // the one window left, at a fatal signal).
            out = others_of(unsafe { &*s }, core::ptr::null_mut());
        }
        out.push('\n');
        print(&out);
        if crate::panic::gotraceback().2 && !s.is_null() {
            // SAFETY: as above.
            crash_relay(unsafe { &*s });
        }
        runtime_g::throw::exit_fatal()
    })?;
    DUMPER_FD.store(fds[1], core::sync::atomic::Ordering::Release);
    Ok(())
}

/// Return addresses from the interrupted PC `rip` outwards, as a Go
/// traceback keeps them: the innermost `TRACEBACK_INNER_FRAMES` into the
/// front of `pcs`, the outermost `TRACEBACK_OUTER_FRAMES` (in order) after
/// them. Frames before `rip` (the signal handler's own and the kernel's
/// signal frame) go to `before`. The walk ends after `max` frames. Returns
/// (inner, outer, elided between them), or `None` if the walk never
/// reached `rip`. For signal handlers: no allocation, no lock.
fn capture_signal_frames(
    rip: usize,
    max: usize,
    pcs: &[core::sync::atomic::AtomicUsize; TRACEBACK_INNER_FRAMES + TRACEBACK_OUTER_FRAMES],
    mut before: impl FnMut(usize),
) -> Option<(usize, usize, usize)> {
    use core::sync::atomic::Ordering::Relaxed;
    const IN: usize = TRACEBACK_INNER_FRAMES;
    const OUT: usize = TRACEBACK_OUTER_FRAMES;
    let mut inner = [0usize; IN];
    let mut ring = [0usize; OUT];
    let (mut started, mut total) = (false, 0usize);
    // SAFETY: trace_unsynchronized only lacks the crate's global lock, which
    // guards unwinders that are not thread-safe (Windows'); libgcc's is,
    // and its signal-safety is discussed above. The callback neither
    // allocates nor unwinds.
    unsafe {
        backtrace::trace_unsynchronized(|f| {
            let ip = f.ip() as usize;
            if !started {
                started = ip == rip;
                if !started {
                    before(ip);
                    return true;
                }
            }
            if total < IN {
                inner[total] = ip;
            } else {
                ring[(total - IN) % OUT] = ip;
            }
            total += 1;
            total < max
        })
    };
    if !started {
        return None;
    }
    let n_in = total.min(IN);
    let rest = total - n_in;
    let n_out = rest.min(OUT);
    for (slot, &pc) in pcs.iter().zip(&inner[..n_in]) {
        slot.store(pc, Relaxed);
    }
    // The ring's oldest kept entry comes first.
    for k in 0..n_out {
        pcs[IN + k].store(ring[(rest - n_out + k) % OUT], Relaxed);
    }
    Some((n_in, n_out, rest - n_out))
}

/// The signal that asks a thread running a goroutine for its stack, in a
/// `GOTRACEBACK=crash` dump (Go relays SIGQUIT from thread to thread for
/// this; gort asks each thread in turn with a signal of its own, installed
/// only then, so that the process's SIGQUIT disposition stays as it was).
fn stackreq_signal() -> libc::c_int {
    libc::SIGRTMAX() - 1
}

/// The hand-off between a requester ([`ask_thread_stack`]) and [`stackreq`]
/// (one request at a time). One word holds the request's sequence number
/// (bits 40-63), the thread asked (its Linux thread id, bits 8-39) and the
/// state (bits 0-7): IDLE → ASKED (the requester) → TAKEN (the thread's
/// handler, by CAS on the whole word, so that a handler of another
/// thread, or a late one of an earlier request, cannot take it) → DONE
/// (the handler, by CAS again, release: its stores are published). A
/// handler that is stuck past its request's end can no longer complete a
/// later one.
const REQ_IDLE: u64 = 0;
const REQ_ASKED: u64 = 1;
const REQ_TAKEN: u64 = 2;
const REQ_DONE: u64 = 3;
static REQ_STATE: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(REQ_IDLE);
/// The last request's sequence number.
static REQ_SEQ: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// A request word: `seq`, `tid`, `state`.
fn req_word(seq: u64, tid: u32, state: u64) -> u64 {
    ((seq & 0xff_ffff) << 40) | (u64::from(tid) << 8) | state
}
const REQ_IN: usize = TRACEBACK_INNER_FRAMES;
static REQ_PCS: [core::sync::atomic::AtomicUsize; TRACEBACK_INNER_FRAMES + TRACEBACK_OUTER_FRAMES] =
    [const { core::sync::atomic::AtomicUsize::new(0) };
        TRACEBACK_INNER_FRAMES + TRACEBACK_OUTER_FRAMES];
/// Inner frames, outer frames, frames elided between them, and the
/// interrupted PC.
static REQ_COUNTS: [core::sync::atomic::AtomicUsize; 4] =
    [const { core::sync::atomic::AtomicUsize::new(0) }; 4];
static REQ_G: core::sync::atomic::AtomicPtr<G> =
    core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());
/// That goroutine's id and its instance (read by the thread itself), so
/// that a requester can tell it is the one it asked about before it reads
/// the G.
static REQ_GOID: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
static REQ_SCHED: core::sync::atomic::AtomicPtr<()> =
    core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());
/// The answering thread's M id (-1 if it is not an M).
static REQ_M: core::sync::atomic::AtomicI64 = core::sync::atomic::AtomicI64::new(-1);
/// The most frames a handler walks (a stack being switched can have a
/// broken chain; the walk must end).
const REQ_MAX_FRAMES: usize = 100_000;
static REQ_REGS: [core::sync::atomic::AtomicUsize; NREGS] =
    [const { core::sync::atomic::AtomicUsize::new(0) }; NREGS];

/// The handler of [`stackreq_signal`], on the thread asked: records the
/// interrupted goroutine's return addresses (as the fault handler does for
/// an overflow: the walk starts at the interrupted PC) and its registers.
/// No allocation, no locks.
extern "C" fn stackreq(_sig: libc::c_int, _info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};
    // SAFETY: gettid has no preconditions and is async-signal-safe.
    let me = unsafe { libc::syscall(libc::SYS_gettid) } as u32;
    let cur = REQ_STATE.load(Acquire);
    let asked = cur & 0xff == REQ_ASKED && (cur >> 8) as u32 == me;
    let taken = cur & !0xff | REQ_TAKEN;
    if !asked
        || REQ_STATE
            .compare_exchange(cur, taken, Acquire, Relaxed)
            .is_err()
    {
        return; // not this thread's request, or one the requester gave up on
    }
    // SAFETY: the kernel passes a valid ucontext to SA_SIGINFO handlers.
    let regs = unsafe { runtime_g::signal::dumpregs_values(ctx) };
    let rip = regs[runtime_g::arch::PC_SLOT];
    // A walk that never reaches `rip` leaves an empty section.
    let (n_in, n_out, elided) =
        capture_signal_frames(rip, REQ_MAX_FRAMES, &REQ_PCS, |_| {}).unwrap_or((0, 0, 0));
    for (slot, v) in REQ_REGS.iter().zip(regs) {
        slot.store(v, Relaxed);
    }
    for (slot, v) in REQ_COUNTS.iter().zip([n_in, n_out, elided, rip]) {
        slot.store(v, Relaxed);
    }
    // The goroutine this thread runs now (none on g0: a thread between
    // goroutines), and its M, as seen from the thread itself.
    let gp = runtime_g::getg();
    let goid = if gp.is_null() {
        0
    } else {
        // SAFETY: this thread's own G: its id is stable while it runs.
        unsafe { (*gp).goid }
    };
    REQ_G.store(if goid != 0 { gp } else { core::ptr::null_mut() }, Relaxed);
    REQ_GOID.store(goid, Relaxed);
    let mp = getm();
    let (m_id, sched) = if mp.is_null() {
        (-1, core::ptr::null_mut())
    } else {
        // SAFETY: this thread's own M; its id is fixed, and its instance
        // does not change while it runs a goroutine of it.
        unsafe { ((*mp).id, (*mp).sched.load(Relaxed)) }
    };
    REQ_M.store(m_id, Relaxed);
    REQ_SCHED.store(sched, Relaxed);
    // Only if the request is still ours (not withdrawn as stuck).
    let _ = REQ_STATE.compare_exchange(taken, taken & !0xff | REQ_DONE, Release, Relaxed);
}

/// Set when a handler took a request and did not finish it: the slots
/// are no longer trustworthy.
static STACKREQ_BROKEN: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Serialises requests to threads for their stacks (a crash relay and a
/// stall report use the same static slots).
static STACKREQ_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Installs the handler of [`stackreq_signal`] (once; the signal is
/// reserved for the runtime, `sigqueue`).
fn install_stackreq() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: a valid sigaction for an SA_SIGINFO handler on the
        // alternate signal stack, for a signal only the runtime uses.
        unsafe {
            let mut sa: libc::sigaction = core::mem::zeroed();
            sa.sa_sigaction = stackreq as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(stackreq_signal(), &sa, core::ptr::null_mut());
        }
    });
}

/// What a thread asked for its stack answered.
struct ThreadStack {
    /// The interrupted PC.
    pc: usize,
    /// The answering thread's M id (-1 if it is not an M).
    m: i64,
    /// The goroutine it was running (null: none, on g0), its id, and the
    /// instance of the thread's M.
    gp: *mut G,
    goid: u64,
    sched: *mut (),
    /// Inner return addresses, elided frames, outer return addresses.
    inner: Vec<usize>,
    elided: usize,
    outer: Vec<usize>,
}

impl ThreadStack {
    /// The goroutine it ran, in Go's dump form: header, frames from the
    /// recorded return addresses, `created by` line.
    ///
    /// # Safety
    /// `gp` is non-null and a live G (its instance keeps it).
    unsafe fn goroutine_section(&self) -> String {
        // SAFETY: per the contract; start_func was set when its function
        // started, and the header reads the G as dumps do.
        unsafe {
            let mut out = goroutine_header(self.gp);
            out.push_str(&crate::panic::format_pcs(
                &self.inner,
                self.elided,
                &self.outer,
                (*self.gp).start_func,
            ));
            out.push_str(&crate::panic::created_by(self.gp));
            out
        }
    }
}

/// Why a thread gave no stack.
enum NoStack {
    /// It could not be signalled or did not answer in a second.
    Skipped,
    /// It took the request but did not finish within three seconds (its
    /// walk is stuck).
    Stuck,
}

/// Asks the host thread `tid` of this process for the stack of what it
/// runs ([`stackreq`]) and waits for the answer. The caller holds
/// [`STACKREQ_LOCK`]; the handler is installed.
fn ask_thread_stack(tid: libc::pid_t) -> Result<ThreadStack, NoStack> {
    use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};
    if STACKREQ_BROKEN.load(Relaxed) {
        return Err(NoStack::Stuck);
    }
    let seq = REQ_SEQ.fetch_add(1, Relaxed) + 1;
    let asked = req_word(seq, tid as u32, REQ_ASKED);
    REQ_STATE.store(asked, Release);
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    // SAFETY: tgkill on a thread of this process; a thread that has ended
    // since makes it fail with ESRCH.
    if unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, stackreq_signal()) } != 0 {
        REQ_STATE.store(REQ_IDLE, Relaxed);
        return Err(NoStack::Skipped);
    }
    let t = std::time::Instant::now();
    loop {
        let cur = REQ_STATE.load(Acquire);
        match cur & 0xff {
            REQ_DONE if cur & !0xff == asked & !0xff => break,
            // Taken but not finished: the walk is stuck (or faulted, and
            // the fault waits for a dump). Withdrawn, so that the handler
            // cannot complete a later request.
            REQ_TAKEN if t.elapsed() > std::time::Duration::from_secs(3) => {
                REQ_STATE.store(REQ_IDLE, Relaxed);
                // Its handler may still write the slots whenever it goes
                // on: no request is made again in this process.
                STACKREQ_BROKEN.store(true, Relaxed);
                return Err(NoStack::Stuck);
            }
            // No answer in a second: withdraw the request, unless the
            // handler has just taken it (then wait for it to finish).
            REQ_ASKED
                if t.elapsed() > std::time::Duration::from_secs(1)
                    && REQ_STATE
                        .compare_exchange(asked, REQ_IDLE, Relaxed, Relaxed)
                        .is_ok() =>
            {
                return Err(NoStack::Skipped);
            }
            _ => {}
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    REQ_STATE.store(REQ_IDLE, Relaxed);
    let c: Vec<usize> = REQ_COUNTS.iter().map(|v| v.load(Relaxed)).collect();
    let (n_in, n_out, elided, pc) = (c[0], c[1], c[2], c[3]);
    let pcs: Vec<usize> = REQ_PCS.iter().map(|p| p.load(Relaxed)).collect();
    Ok(ThreadStack {
        pc,
        m: REQ_M.load(Relaxed),
        gp: REQ_G.load(Relaxed),
        goid: REQ_GOID.load(Relaxed),
        sched: REQ_SCHED.load(Relaxed),
        inner: pcs[..n_in].to_vec(),
        elided,
        outer: pcs[REQ_IN..REQ_IN + n_out].to_vec(),
    })
}

/// The `GOTRACEBACK=crash` part of a SIGQUIT dump: every thread that runs
/// a goroutine shows that goroutine's stack, in a section of its own, as
/// Go's crash relay has each thread print (`-----`, `SIGQUIT: quit`, the
/// thread's PC and M, the goroutine with its frames, the registers). Go
/// also prints a section for each idle thread (its `g0` stack); gort's
/// idle threads have no goroutine to show and are left out. A thread that
/// does not answer within a second is skipped; one that answers but does
/// not finish within two more ends the relay. Linux layer only (Go has no
/// relay on Plan 9).
fn crash_relay(s: &crate::sched::Sched) {
    use core::sync::atomic::Ordering::{Acquire, Relaxed};
    if runtime_m::os().name() != "linux" {
        return;
    }
    // A stall report holds the slots for at most a few seconds.
    let _req = STACKREQ_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    install_stackreq();
    let mut targets = Vec::new();
    crate::sched::for_each_m(s, |mp| {
        // SAFETY: Ms are never freed; curg is atomic, and a non-null curg
        // (stored with release after the M's start) orders the M's
        // host_tid, written at its start and fixed since, before the read.
        unsafe {
            let gp = (*mp).curg.load(Acquire);
            if !gp.is_null()
                && (*mp).host_tid.load(Relaxed) != 0
                && readgstatus(gp) & !_Gscan == runtime_g::status::_Grunning
            {
                targets.push(((*mp).id, (*mp).host_tid.load(Relaxed)));
            }
        }
    });
    targets.sort_by_key(|t| t.0);
    for (id, tid) in targets {
        let ts = match ask_thread_stack(tid) {
            Ok(ts) => ts,
            Err(NoStack::Skipped) => continue,
            Err(NoStack::Stuck) => return,
        };
        let m = if ts.m < 0 { id } else { ts.m };
        let mut out = format!(
            "-----\n\nSIGQUIT: quit\nPC={:#x} m={m} sigcode=0\n\n",
            ts.pc
        );
        if !ts.gp.is_null() {
            // SAFETY: gp is the goroutine the asked thread was running, a
            // live G of the instance (its Gs are freed only at teardown).
            out.push_str(&unsafe { ts.goroutine_section() });
        }
        out.push_str(&format_regs(&REG_NAMES, &REQ_REGS));
        out.push('\n');
        print(&out);
    }
}

/// The stall report's frames: goroutine `goid` of instance `s`, which
/// runs on the M `mp` without entering the runtime, in Go's dump form
/// (header, frames, `created by`), taken from its thread by [`stackreq`].
/// Returns `None` if the thread did not answer or runs another goroutine
/// by now.
///
/// # Safety
/// `mp` is an M (Ms are never freed), and `s` stays live during the call
/// (sysmon waits for its reports before it leaves the instance).
pub(crate) unsafe fn running_goroutine_dump(
    s: &crate::sched::Sched,
    mp: *const runtime_m::M,
    goid: u64,
) -> Option<String> {
    // SAFETY: Ms are never freed; the word is atomic.
    let tid = unsafe { (*mp).host_tid.load(core::sync::atomic::Ordering::Relaxed) };
    if tid == 0 {
        return None;
    }
    let ts = {
        let _req = STACKREQ_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        // Looked at again now that it is our turn (the lock may have been
        // held for seconds): a thread that blocked since in a call a
        // signal would cut short is left alone.
        if !crate::sysmon::may_interrupt(tid) {
            return None;
        }
        install_stackreq();
        ask_thread_stack(tid).ok()?
    };
    // The thread said which goroutine of which instance it ran: only then
    // is the G one of `s`, alive while `s` is.
    if ts.gp.is_null()
        || ts.goid != goid
        || ts.sched != (s as *const crate::sched::Sched).cast_mut().cast()
    {
        return None;
    }
    // SAFETY: a G of `s` (checked above), which `s` keeps.
    Some(unsafe { ts.goroutine_section() })
}

/// Return addresses of an overflowing goroutine, kept by
/// [`overflow_traceback`] in the signal handler for the dumper thread: the
/// innermost [`TRACEBACK_INNER_FRAMES`] (the first is the faulting PC), then
/// the outermost [`TRACEBACK_OUTER_FRAMES`] in order.
static OVERFLOW_PCS: [core::sync::atomic::AtomicUsize;
    TRACEBACK_INNER_FRAMES + TRACEBACK_OUTER_FRAMES] = [const { core::sync::atomic::AtomicUsize::new(0) };
    TRACEBACK_INNER_FRAMES + TRACEBACK_OUTER_FRAMES];
/// How many of [`OVERFLOW_PCS`] are inner frames, how many outer, and how
/// many frames between them were skipped.
static OVERFLOW_COUNTS: [core::sync::atomic::AtomicUsize; 3] =
    [const { core::sync::atomic::AtomicUsize::new(0) }; 3];
/// Set (Release) once [`OVERFLOW_PCS`], [`OVERFLOW_COUNTS`], [`OVERFLOW_G`]
/// and the instance are stored, for the dumper to load (Acquire).
static OVERFLOW_READY: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
/// How many return addresses of the signal handler that caught an
/// overflow [`overflow_traceback`] keeps for the `runtime stack:` section.
const RUNTIME_PCS: usize = 16;
/// Those return addresses, innermost first, and how many there are.
static OVERFLOW_RUNTIME_PCS: [core::sync::atomic::AtomicUsize; RUNTIME_PCS] =
    [const { core::sync::atomic::AtomicUsize::new(0) }; RUNTIME_PCS];
static OVERFLOW_RUNTIME_N: core::sync::atomic::AtomicUsize =
    core::sync::atomic::AtomicUsize::new(0);
/// Whether the dumper prints the `runtime stack:` section and the
/// goroutine's header (a stack overflow) or only the frames (a
/// synchronous signal, whose handler printed the header).
static OVERFLOW_SECTION: core::sync::atomic::AtomicBool =
    core::sync::atomic::AtomicBool::new(false);
/// Whether the dumper lists the other goroutines whatever `GOTRACEBACK`
/// says (an overflow, a throwing signal) or only under `all` (a fault that
/// is Go's panic).
static OVERFLOW_OTHERS: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(true);
/// The goroutine whose stack overflowed.
static OVERFLOW_G: core::sync::atomic::AtomicPtr<G> =
    core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());

/// The part of Go's stack-overflow report that a signal handler cannot
/// print (port, in effect, of the `traceback` that `throw("stack
/// overflow")` runs in newstack, stack.go): the overflowing goroutine's
/// frames, 50 from each end of the stack as Go prints them, its `created
/// by` line, and every other goroutine. Runs in the SIGSEGV handler on
/// the faulting thread's alternate signal stack (installed with
/// `runtime_g::signal::set_overflow_traceback`): it walks the stack with
/// the platform unwinder, which reads the unwind tables and allocates
/// nothing, keeps the return addresses in static slots, and hands them to
/// the dumper thread, which symbolizes them (allocating, taking locks),
/// prints and exits 2. Returns only if there is no dumper or the walk
/// found no frames (saying so); after a hand-off it waits for the exit,
/// and after 10 s prints the raw PCs and returns, so that a symbolizer
/// stuck on a lock the faulting thread holds (malloc's, say, if the
/// overflow hit inside it) cannot hang the process or lose the frames.
///
/// The walk itself is signal-safe only as far as the unwinder is: with
/// glibc 2.35+ and libgcc 12+ it finds unwind tables through
/// `_dl_find_object`, without locks or allocation; older ones take the
/// loader's lock in `dl_iterate_phdr`, and an overflow inside the loader
/// or inside another unwind on this thread could then deadlock here.
fn overflow_traceback(rip: usize, gp: *mut G) {
    OVERFLOW_OTHERS.store(true, core::sync::atomic::Ordering::Relaxed);
    fault_traceback(rip, gp, true)
}

/// [`runtime_g::signal::fault_frames`]: keeps the registers for the
/// dumper, then [`fault_traceback`] without the `runtime stack:` section.
fn signal_frames(pc: usize, gp: *mut G, kind: runtime_g::signal::Fault<'_>) {
    use core::sync::atomic::Ordering::Relaxed;
    use runtime_g::signal::Fault;
    OVERFLOW_OTHERS.store(matches!(kind, Fault::Throw(_)), Relaxed);
    if let Fault::Throw(Some((names, values))) = kind {
        for (slot, &v) in SAVED_REGS.iter().zip(values) {
            slot.store(v, Relaxed);
        }
        SAVED_REG_NAMES.store((names as *const [&str; NREGS]).cast_mut(), Relaxed);
        REGS_SAVED.store(true, Relaxed);
    }
    fault_traceback(pc, gp, false)
}

/// [`overflow_traceback`], and with `section` false the frames of a
/// goroutine that took a synchronous signal, whose report has printed the
/// goroutine's header already (Go prints no `runtime stack:` there: the
/// signal is the goroutine's own).
fn fault_traceback(rip: usize, gp: *mut G, section: bool) {
    use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};
    let header = || {
        if section {
            // SAFETY: gp is the live G whose stack overflowed; goid is a
            // plain word fixed while it runs.
            runtime_g::signal::running_header(unsafe { (*gp).goid })
        }
    };
    let fd = DUMPER_FD.load(Acquire);
    if fd < 0 {
        header();
        return;
    }
    const IN: usize = TRACEBACK_INNER_FRAMES;
    let mut handler = [0usize; RUNTIME_PCS];
    let mut n_handler = 0usize;
    // The handler's own frames and the kernel's signal frame are the
    // report's `runtime stack:`.
    let got = capture_signal_frames(rip, usize::MAX, &OVERFLOW_PCS, |ip| {
        if n_handler < RUNTIME_PCS {
            handler[n_handler] = ip;
            n_handler += 1;
        }
    });
    let Some((n_in, n_out, elided)) = got else {
        header();
        runtime_g::throw::write_stderr(
            b"runtime: no frames: the unwinder could not walk past the signal frame\n",
        );
        return;
    };
    for (slot, &pc) in OVERFLOW_RUNTIME_PCS.iter().zip(&handler[..n_handler]) {
        slot.store(pc, Relaxed);
    }
    OVERFLOW_RUNTIME_N.store(n_handler, Relaxed);
    OVERFLOW_SECTION.store(section, Relaxed);
    OVERFLOW_COUNTS[0].store(n_in, Relaxed);
    OVERFLOW_COUNTS[1].store(n_out, Relaxed);
    OVERFLOW_COUNTS[2].store(elided, Relaxed);
    OVERFLOW_G.store(gp, Relaxed);
    let mp = getm();
    if !mp.is_null() {
        // SAFETY: an M's sched pointer names its leaked instance.
        DUMP_SCHED.store(unsafe { (*mp).sched.load(Relaxed) } as *mut _, Relaxed);
    }
    // Publishes the stores above to the dumper, which loads the flag with
    // Acquire after the byte arrives.
    OVERFLOW_READY.store(true, Release);
    // SAFETY: write(2) on our pipe is async-signal-safe.
    if unsafe { libc::write(fd, b"o".as_ptr().cast(), 1) } != 1 {
        header();
        return;
    }
    // Wait for the dumper to exit the process; 10 s of monotonic time,
    // whatever signals interrupt the sleeps.
    let now = || {
        let mut t = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime is async-signal-safe; t is a local.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
        t.tv_sec
    };
    let start = now();
    while now() - start < 10 {
        let ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 100_000_000,
        };
        // SAFETY: nanosleep with a valid timespec.
        unsafe { libc::nanosleep(&ts, core::ptr::null_mut()) };
    }
    use runtime_g::throw::write_stderr as w;
    let mut b = [0u8; 20];
    header();
    w(b"runtime: the frames could not be symbolized in time; their PCs:\n");
    for (i, slot) in OVERFLOW_PCS[..n_in]
        .iter()
        .chain(&OVERFLOW_PCS[IN..IN + n_out])
        .enumerate()
    {
        if i == n_in && elided > 0 {
            w(b"...\n");
        }
        w(b"pc=");
        w(runtime_g::signal::hex(slot.load(Relaxed), &mut b));
        w(b"\n");
    }
}

/// The dumper thread's half of [`overflow_traceback`]: prints the kept
/// frames, the `created by` line and every other goroutine.
fn print_overflow_frames() {
    use core::sync::atomic::Ordering::{Acquire, Relaxed};
    if !OVERFLOW_READY.load(Acquire) {
        return;
    }
    let n_in = OVERFLOW_COUNTS[0].load(Relaxed);
    let n_out = OVERFLOW_COUNTS[1].load(Relaxed);
    let elided = OVERFLOW_COUNTS[2].load(Relaxed);
    let pcs: Vec<usize> = OVERFLOW_PCS.iter().map(|p| p.load(Relaxed)).collect();
    let inner = &pcs[..n_in];
    let outer = &pcs[TRACEBACK_INNER_FRAMES..TRACEBACK_INNER_FRAMES + n_out];
    let gp = OVERFLOW_G.load(Relaxed);
    // SAFETY: gp set start_func when its function started, before the
    // fault; the fault handler's hand-off (the pipe and OVERFLOW_READY's
    // Release/Acquire) orders that write before this read, and gp is stuck
    // in the handler, so nothing writes it meanwhile.
    let start = unsafe { (*gp).start_func };
    // Go's report of a stack overflow (a runtime throw on the scheduler's
    // stack, in newstack) shows that stack first; gort's counterpart is
    // the signal handler that caught the fault.
    let n_rt = OVERFLOW_RUNTIME_N.load(Relaxed);
    let rt: Vec<usize> = OVERFLOW_RUNTIME_PCS[..n_rt]
        .iter()
        .map(|p| p.load(Relaxed))
        .collect();
    let mut out = String::new();
    if OVERFLOW_SECTION.load(Relaxed) {
        out.push_str("runtime stack:\n");
        out.push_str(&crate::panic::format_runtime_pcs(&rt));
        out.push('\n');
        // SAFETY: gp is a live G of the instance; the header reads atomics
        // and fixed fields.
        out.push_str(&unsafe { goroutine_header(gp) });
    }
    out.push_str(&crate::panic::format_pcs(inner, elided, outer, start));
    // SAFETY: an instance's Gs live until its teardown, after its last M left.
    out.push_str(&unsafe { crate::panic::created_by(gp) });
    let s = DUMP_SCHED.load(Relaxed);
    // A throw lists every goroutine; a fault that is Go's panic, only
    // under GOTRACEBACK=all.
    let others = OVERFLOW_OTHERS.load(Relaxed) || crate::panic::gotraceback().1;
    if !s.is_null() && others {
        // SAFETY: as in the SIGQUIT dumper: `forget_sched` takes an
        // instance out of DUMP_SCHED before it is freed.
        out.push_str(&others_of(unsafe { &*s }, gp));
    }
    out.push('\n');
    // A throw from a signal (SIGILL, SIGTRAP) ends with the registers, as
    // Go's dumpregs prints them.
    if REGS_SAVED.load(Relaxed) {
        // SAFETY: SAVED_REG_NAMES points at a static names array.
        let names = unsafe { &*SAVED_REG_NAMES.load(Relaxed) };
        out.push_str(&format_regs(names, &SAVED_REGS));
    }
    print(&out);
    runtime_g::throw::exit_fatal()
}

/// Starts the dumper thread that prints the frames of a SIGQUIT dump and
/// of a stack-overflow report (see [`start_sigquit_dumper`]).
pub fn start_dumper() {
    runtime_g::signal::set_overflow_traceback(overflow_traceback);
    runtime_g::signal::set_fault_frames(signal_frames);
    if let Err(e) = start_sigquit_dumper() {
        // Not fatal: the reports then print headers only.
        print(&format!(
            "gort: no dump thread ({e}); SIGQUIT dumps and stack-overflow reports will show goroutine headers without frames\n"
        ));
    }
}

/// Installs Go's SIGQUIT behaviour (signal_unix.go, `_SigKill|_SigThrow`
/// for SIGQUIT): print `SIGQUIT: quit`, the PC, and every goroutine with
/// its frames, then exit 2. A program that embeds gort and handles
/// SIGQUIT itself keeps its handler: gort installs its own only over the
/// default action (as Go, built as a library, leaves a host's handlers).
pub fn install_sigquit_handler() {
    // SAFETY: sigaction with a null new action only reads the current one
    // into a local.
    let current = unsafe {
        let mut old: libc::sigaction = core::mem::zeroed();
        libc::sigaction(libc::SIGQUIT, core::ptr::null(), &mut old);
        old.sa_sigaction
    };
    // SAFETY: a valid sigaction for an SA_SIGINFO handler on the alternate
    // signal stack.
    let sa = unsafe {
        let mut sa: libc::sigaction = core::mem::zeroed();
        sa.sa_sigaction = sigquit as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut sa.sa_mask);
        sa
    };
    // The program asked for SIGQUIT already (gort::signal): the dump is
    // what it gets back when it stops asking.
    if crate::sigqueue::install_under_notify(libc::SIGQUIT, &sa) || current != libc::SIG_DFL {
        return;
    }
    // SAFETY: as above.
    unsafe { libc::sigaction(libc::SIGQUIT, &sa, core::ptr::null_mut()) };
}

/// The SIGQUIT handler. Async-signal-safe: no allocation and no locks. It
/// prints the first lines and hands the rest to the dumper thread; without
/// one it walks the goroutine list lock-free (newest first) and writes
/// each header with `write(2)`.
extern "C" fn sigquit(_sig: libc::c_int, _info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    use runtime_g::signal::{dec, hex};
    use runtime_g::throw::write_stderr as w;
    if runtime_g::throw::DYING.fetch_add(1, core::sync::atomic::Ordering::AcqRel) != 0 {
        loop {
            // SAFETY: another thread is already dying.
            unsafe { libc::pause() };
        }
    }
    let mut b = [0u8; 20];
    // SAFETY: the kernel passes a valid ucontext to SA_SIGINFO handlers.
    let pc = unsafe { runtime_g::arch::ctx_pc(ctx) } as usize;
    let mp = getm();
    w(b"SIGQUIT: quit\nPC=");
    w(hex(pc, &mut b));
    w(b" m=");
    if mp.is_null() {
        w(b"nil");
    } else {
        // SAFETY: a non-null M is live; id is fixed.
        w(dec(unsafe { (*mp).id } as u64, &mut b));
    }
    w(b" sigcode=0\n");
    let s = if mp.is_null() {
        LAST_SCHED.load(core::sync::atomic::Ordering::Acquire) as *const crate::sched::Sched
    } else {
        // SAFETY: an M's sched pointer names its leaked instance.
        unsafe {
            (*mp).sched.load(core::sync::atomic::Ordering::Relaxed) as *const crate::sched::Sched
        }
    };
    let fd = DUMPER_FD.load(core::sync::atomic::Ordering::Acquire);
    if fd >= 0 {
        DUMP_SCHED.store(s as *mut _, core::sync::atomic::Ordering::Release);
        // SAFETY: write(2) on our pipe is async-signal-safe.
        if unsafe { libc::write(fd, b"q".as_ptr().cast(), 1) } == 1 {
            return;
        }
    }
    if !s.is_null() {
        // SAFETY: LAST_SCHED names a live instance: `forget_sched` takes
        // it out before it is freed (the handler racing a free is the one
        // window left, at a fatal signal).
        let mut gp = unsafe { (*s).allg.load(core::sync::atomic::Ordering::Acquire) };
        while !gp.is_null() {
            // SAFETY: Gs on the list live until their instance's teardown; fields are read for
            // printing (racily, as Go's dump reads them).
            unsafe {
                let st = readgstatus(gp);
                if !(*gp).system && (*gp).goid != 0 && st != _Gdead {
                    w(b"\ngoroutine ");
                    w(dec((*gp).goid, &mut b));
                    w(b" [");
                    let what = if st == runtime_g::status::_Gwaiting
                        && (*gp).waitreason.load() != runtime_g::WaitReason::Zero
                    {
                        (*gp).waitreason.load().as_str()
                    } else {
                        runtime_g::status::gstatus_name(st)
                    };
                    w(what.as_bytes());
                    if !(*gp)
                        .lockedm
                        .load(core::sync::atomic::Ordering::Relaxed)
                        .is_null()
                    {
                        w(b", locked to thread");
                    }
                    w(b"]:\n");
                }
                gp = (*gp).alllink;
            }
        }
    }
    w(b"\n");
    runtime_g::throw::exit_fatal()
}

/// The handlers that were installed for SIGILL, SIGTRAP and SIGFPE before
/// gort's (for faults on threads that are not gort's).
static SYNC_PREV: std::sync::OnceLock<[libc::sigaction; 3]> = std::sync::OnceLock::new();
const SYNC_SIGNALS: [libc::c_int; 3] = [libc::SIGILL, libc::SIGTRAP, libc::SIGFPE];

/// The interrupted context's registers in Go's `dumpregs` order, kept by
/// [`sync_signal`] for the dumper thread (0 when none were saved).
static SAVED_REGS: [core::sync::atomic::AtomicUsize; NREGS] =
    [const { core::sync::atomic::AtomicUsize::new(0) }; NREGS];
static REGS_SAVED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
/// The names [`SAVED_REGS`] print under: [`REG_NAMES`] (Linux's), or an
/// OS layer's (see `runtime_g::signal::fault_frames`).
static SAVED_REG_NAMES: core::sync::atomic::AtomicPtr<[&str; NREGS]> =
    core::sync::atomic::AtomicPtr::new(&REG_NAMES as *const [&str; NREGS] as *mut [&str; NREGS]);

/// Saved registers in Go's `dumpregs` form: a line per register, its
/// padded name and value.
fn format_regs(names: &[&str; NREGS], regs: &[core::sync::atomic::AtomicUsize; NREGS]) -> String {
    names
        .iter()
        .zip(regs)
        .map(|(name, v)| {
            format!(
                "{name}{:#x}\n",
                v.load(core::sync::atomic::Ordering::Relaxed)
            )
        })
        .collect()
}

/// Installs Go's handling of the synchronous signals other than SIGSEGV
/// and SIGBUS (signal_unix.go `sighandler` with sigtable's flags): SIGILL
/// and SIGTRAP throw (`SIGILL: illegal instruction`, `PC=… m=… sigcode=…`,
/// the instruction bytes, the goroutines, the registers; exit 2), SIGFPE
/// is Go's `sigpanic` (`panic: runtime error: integer divide by zero` or
/// `floating point error`, then the `[signal …]` line), which gort cannot
/// recover, so it ends the program as an unrecovered panic does. Signals
/// on threads that are not gort's go to the handler installed before.
pub fn install_sync_signal_handler() {
    let _ = SYNC_PREV.set(runtime_g::signal::install_handlers(
        SYNC_SIGNALS,
        sync_signal,
    ));
}

extern "C" fn sync_signal(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    use runtime_g::signal::{dec, hex};
    use runtime_g::throw::write_stderr as w;
    let gp = runtime_g::getg();
    if gp.is_null() {
        sync_chain(sig, info, ctx);
        return;
    }
    runtime_g::throw::start_dying();
    // SAFETY: the kernel passes valid siginfo and ucontext to SA_SIGINFO
    // handlers; the registers are plain slots.
    let (code, addr, pc) = unsafe {
        (
            (*info).si_code,
            (*info).si_addr() as usize,
            runtime_g::arch::ctx_pc(ctx),
        )
    };
    let mut b = [0u8; 20];
    if sig == libc::SIGFPE {
        // FPE_INTDIV (siginfo.h); not in every libc release.
        const FPE_INTDIV: libc::c_int = 1;
        w(if code == FPE_INTDIV {
            b"panic: runtime error: integer divide by zero\n"
        } else {
            b"panic: runtime error: floating point error\n"
        });
        w(b"[signal SIGFPE: floating-point exception code=");
        w(hex(code as u32 as usize, &mut b));
        w(b" addr=");
        w(hex(addr, &mut b));
        w(b" pc=");
        w(hex(pc, &mut b));
        w(b"]\n\n");
    } else {
        w(if sig == libc::SIGILL {
            b"SIGILL: illegal instruction\nPC="
        } else {
            b"SIGTRAP: trace trap\nPC="
        });
        w(hex(pc, &mut b));
        w(b" m=");
        let mp = getm();
        if mp.is_null() {
            w(b"nil");
        } else {
            // SAFETY: a non-null M is live; id is fixed.
            w(dec(unsafe { (*mp).id } as u64, &mut b));
        }
        w(b" sigcode=");
        w(dec(code as u32 as u64, &mut b));
        w(b"\n");
        if sig == libc::SIGILL {
            // Go prints the bytes from the PC to the end of its page, at
            // most 16, for SIGILL (the PC is the faulting instruction, in
            // a page the CPU fetched from; after a SIGTRAP it is past the
            // trap and may start an unmapped page, so Go prints none).
            w(b"instruction bytes:");
            let n = (4096 - pc % 4096).min(16);
            for i in 0..n {
                // SAFETY: [pc, pc+n) lies in the page the CPU fetched from.
                let byte = unsafe { *((pc + i) as *const u8) };
                w(b" ");
                w(hex(byte as usize, &mut b));
            }
            w(b"\n");
        }
        w(b"\n");
        // SAFETY: ctx is the kernel's ucontext for this handler.
        let regs = unsafe { runtime_g::signal::dumpregs_values(ctx) };
        for (slot, v) in SAVED_REGS.iter().zip(regs) {
            slot.store(v, core::sync::atomic::Ordering::Relaxed);
        }
        REGS_SAVED.store(true, core::sync::atomic::Ordering::Relaxed);
    }
    if runtime_g::throw::no_traceback() {
        // GOTRACEBACK=none: Go's report ends with those lines.
        runtime_g::throw::exit_fatal();
    }
    // SAFETY: a non-null g slot points at a live G; goid is fixed.
    let goid = unsafe { (*gp).goid };
    if goid == 0 {
        w(b"runtime stack:\n");
        runtime_g::throw::exit_fatal();
    }
    w(b"goroutine ");
    w(dec(goid, &mut b));
    w(b" [running]:\n");
    // Frames, created-by, the other goroutines and the registers, from the
    // dumper thread; returns only if that cannot be done.
    OVERFLOW_OTHERS.store(true, core::sync::atomic::Ordering::Relaxed);
    fault_traceback(pc, gp, false);
    runtime_g::throw::exit_fatal()
}

/// Passes a synchronous signal on a thread that is not gort's to the
/// handler installed before, or to the default action.
fn sync_chain(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let idx = SYNC_SIGNALS.iter().position(|&s| s == sig).unwrap_or(0);
    // SAFETY: info and ctx come from the kernel to `sync_signal`.
    unsafe { runtime_g::signal::chain_to(SYNC_PREV.get().map(|p| &p[idx]), sig, info, ctx) };
}

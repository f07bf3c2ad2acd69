//! Goroutine dumps after `fatal error:`: port of the header half of
//! `tracebackothers` and `goroutineheader` (traceback.go).
//!
//! Frames are not yet printed (symbolized frames come with the
//! observability work); each goroutine appears as Go's header line, the
//! current one first, then all others oldest first, runtime helpers hidden.

use runtime_g::status::_Gdead;
use runtime_g::throw::print;
use runtime_g::{G, readgstatus};
use runtime_m::getm;

use crate::proc::goroutine_header;
use crate::sched::{for_each_g, try_sched};

/// The hook `throw`/`fatal` call after their first line.
pub fn traceback_hook(in_signal: bool) {
    if in_signal || crate::panic::traceback_level() == 0 {
        return;
    }
    let Some(s) = try_sched() else { return };
    let mp = getm();
    // SAFETY: mp is this thread's M (try_sched found it); curg is read for
    // printing only.
    let cur: *mut G = unsafe { (*mp).curg };
    let mut out = String::new();
    if !cur.is_null() {
        out.push('\n');
        // SAFETY: curg of this M is a live G.
        out.push_str(&unsafe { goroutine_header(cur) });
    }
    for_each_g(s, |gp| {
        // SAFETY: Gs on the list are live; reading for printing.
        let skip =
            gp == cur || unsafe { (*gp).system || (*gp).goid == 0 || readgstatus(gp) == _Gdead };
        if !skip {
            out.push('\n');
            // SAFETY: Gs on the all-G list are live.
            out.push_str(&unsafe { goroutine_header(gp) });
        }
    });
    print(&out);
}

/// runtime.Stack: port of the header half (mprof.go / traceback.go): the
/// calling goroutine's header, and with `all` every other user goroutine's,
/// separated by blank lines as Go separates them. Frames come with the
/// observability work (issue 9). Statuses are read without stopping the
/// world (Go stops it for `all`), so a goroutine may be seen mid-change.
pub fn stack(all: bool) -> String {
    let me = crate::proc::require_goroutine("runtime.Stack");
    // SAFETY: the running goroutine is live; it is "running" by definition.
    let mut out = unsafe { goroutine_header(me) };
    if all {
        for_each_g(crate::sched::sched(), |gp| {
            // SAFETY: Gs on the list are live; reading for printing.
            let skip =
                gp == me || unsafe { (*gp).system || (*gp).goid == 0 || readgstatus(gp) == _Gdead };
            if !skip {
                out.push('\n');
                // SAFETY: as above.
                out.push_str(&unsafe { goroutine_header(gp) });
            }
        });
    }
    out
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

/// Installs Go's SIGQUIT behaviour (signal_unix.go, `_SigKill|_SigThrow`
/// for SIGQUIT): print `SIGQUIT: quit`, the PC, and every goroutine's
/// header, then exit 2.
pub fn install_sigquit_handler() {
    // SAFETY: a valid sigaction for an SA_SIGINFO handler on the alternate
    // signal stack.
    unsafe {
        let mut sa: libc::sigaction = core::mem::zeroed();
        sa.sa_sigaction = sigquit as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGQUIT, &sa, core::ptr::null_mut());
    }
}

/// The SIGQUIT dump. Async-signal-safe: no allocation and no locks; the
/// goroutine list is walked lock-free (newest first) and each header is
/// written with `write(2)`.
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
    let pc =
        unsafe { (*(ctx as *const libc::ucontext_t)).uc_mcontext.gregs[libc::REG_RIP as usize] }
            as usize;
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
        unsafe { (*mp).sched as *const crate::sched::Sched }
    };
    if !s.is_null() {
        // SAFETY: instances are leaked: valid forever.
        let mut gp = unsafe { (*s).allg.load(core::sync::atomic::Ordering::Acquire) };
        while !gp.is_null() {
            // SAFETY: Gs on the list are never freed; fields are read for
            // printing (racily, as Go's dump reads them).
            unsafe {
                let st = readgstatus(gp);
                if !(*gp).system && (*gp).goid != 0 && st != _Gdead {
                    w(b"\ngoroutine ");
                    w(dec((*gp).goid, &mut b));
                    w(b" [");
                    let what = if st == runtime_g::status::_Gwaiting
                        && (*gp).waitreason != runtime_g::WaitReason::Zero
                    {
                        (*gp).waitreason.as_str()
                    } else {
                        runtime_g::status::gstatus_name(st)
                    };
                    w(what.as_bytes());
                    if !(*gp).lockedm.is_null() {
                        w(b", locked to thread");
                    }
                    w(b"]:\n");
                }
                gp = (*gp).alllink;
            }
        }
    }
    w(b"\n");
    runtime_g::throw::exit(2)
}

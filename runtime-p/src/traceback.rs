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
    if in_signal {
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

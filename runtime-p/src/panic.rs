//! Unrecovered panics: port of `fatalpanic`, `printpanics` and
//! `printpanicval` (panic.go), for Rust panics that reach the base of a
//! goroutine.
//!
//! Go prints `panic: <value>` (each further line of the value indented with
//! a tab), a blank line, `goroutine N [running]:` and the frames, then exits
//! with status 2. A Rust panic that escapes a goroutine does the same; the
//! panic hook records where it happened instead of printing std's
//! `thread '…' panicked at` message, so that a panic caught with
//! `catch_unwind` (Go's `recover`) stays silent, as in Go.

use std::any::Any;
use std::sync::atomic::Ordering;

use runtime_g::throw::{exit, print, start_dying};
use runtime_g::{G, getg};

/// Lowers the instance's `running_panic_defers` (Go's
/// `runningPanicDefers`) for `gp` if its panic was counted: the count is
/// raised by the panic hook and lowered when the unwind reaches the
/// goroutine's base, or when the goroutine ends. Rust cannot tell when user
/// code catches a panic, so a goroutine that caught one stays counted until
/// it ends; main's wait for the count is bounded in time (`main_returned`).
///
/// # Safety
/// `gp` must be the running goroutine (or one its M is retiring).
pub unsafe fn end_panic(gp: *mut G) {
    // SAFETY: the goroutine's flag is owned by whoever runs or retires it.
    unsafe {
        if core::mem::replace(&mut (*gp).panicking, false) {
            crate::sched::sched()
                .running_panic_defers
                .fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// A panic raised by the runtime itself: Go's `runtime.Error` (its
/// `plainError` kind), e.g. `send on closed channel`. Recover it with
/// `catch_unwind` and `downcast_ref::<RuntimeError>()`; it prints as its
/// message, as Go prints a runtime error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuntimeError(pub &'static str);

impl core::fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for RuntimeError {}

/// Text of a panic payload, as Go's `printpanicval` prints a value.
pub fn payload_text(payload: &(dyn Any + Send)) -> String {
    if let Some(e) = payload.downcast_ref::<RuntimeError>() {
        e.0.to_string()
    } else if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_string()
    }
}

/// Formats `panic: <text>` with continuation lines indented by a tab.
pub fn format_panic(text: &str) -> String {
    let mut out = String::from("panic: ");
    out.push_str(&text.replace('\n', "\n\t"));
    out
}

/// fatalpanic: port of runtime.fatalpanic (panic.go): reports an
/// unrecovered panic of goroutine `gp` and exits with status 2.
///
/// # Safety
/// `gp` must be the goroutine running on this thread.
pub unsafe fn fatalpanic(gp: *mut G, payload: Box<dyn Any + Send>) -> ! {
    // Mark the process as dying before lowering the count, so that a main
    // that returns now sees one or the other (Go's order).
    start_dying();
    // SAFETY: gp is the running goroutine (the caller's contract).
    unsafe { end_panic(gp) };
    let mut msg = format_panic(&payload_text(&*payload));
    msg.push_str("\n\n");
    // SAFETY: gp is live (the caller's contract).
    msg.push_str(&unsafe { crate::proc::goroutine_header(gp) });
    // SAFETY: gp is the running goroutine, which owns panic_location.
    if let Some(loc) = unsafe { (*gp).panic_location.as_deref() } {
        msg.push('\t');
        msg.push_str(loc);
        msg.push('\n');
    }
    print(&msg);
    // The payload's destructor could run arbitrary code; Go runs nothing.
    std::mem::forget(payload);
    exit(2)
}

/// The panic hook: on a goroutine, remember where the panic happened and
/// stay quiet (the base of the goroutine, or `catch_unwind`, decides what
/// happens next); elsewhere, defer to the previous hook.
pub fn install_panic_hook() {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let gp = getg();
        // SAFETY: a non-null G is live; goid is 0 only on g0s. The running
        // goroutine owns its panic_location.
        let on_goroutine = !gp.is_null() && unsafe { (*gp).goid != 0 };
        if on_goroutine {
            // SAFETY: the running goroutine owns its flag.
            let newly = !unsafe { core::mem::replace(&mut (*gp).panicking, true) };
            if let Some(s) = crate::sched::try_sched().filter(|_| newly) {
                s.running_panic_defers.fetch_add(1, Ordering::AcqRel);
            }
            let loc = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
            // SAFETY: as above.
            unsafe { (*gp).panic_location = loc };
        } else {
            prev(info);
        }
    }));
}

/// Takes the location recorded by the panic hook for the running goroutine
/// (`file:line:col`), if any.
pub fn take_panic_location() -> Option<String> {
    let gp = crate::proc::require_goroutine("take_panic_location");
    // SAFETY: the running goroutine owns its panic_location.
    unsafe { (*gp).panic_location.take() }
}

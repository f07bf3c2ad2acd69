//! The `tracing` feature: one [`tracing`] span per goroutine, named
//! `goroutine` with a `goid` field, opened when the goroutine is created
//! (as a child of the span current where the `go` statement runs), entered
//! each time the goroutine runs and exited each time it stops (park, yield,
//! end), and closed when it ends.
//!
//! A span entered with `Span::enter` inside a goroutine and held across a
//! park would be exited on whatever thread the goroutine resumes on, which
//! confuses subscribers that keep a per-thread stack of current spans. The
//! goroutine span is instead entered and exited by the scheduler itself, on
//! the thread the goroutine runs on (`runtime_p::trace::GoroutineHooks`),
//! so every enter has its exit on the same thread. Inside a goroutine,
//! `tracing::Span::current()` is its goroutine span (or a span entered
//! within it).
//!
//! Enabled with `gort = { features = ["tracing"] }`; spans are recorded
//! once the first runtime starts. Without the feature nothing of this is
//! compiled, and the scheduler's hook point costs one load.

use runtime_g::G;
use runtime_p::trace::{GoroutineHooks, set_goroutine_hooks};
use tracing::Span;

unsafe fn create(gp: *mut G) {
    // SAFETY: the scheduler calls this with the new G owned by the caller.
    unsafe {
        let span = tracing::trace_span!("goroutine", goid = (*gp).goid);
        (*gp).hook_data = Box::into_raw(Box::new(span)).cast();
    }
}

/// The span of `gp`, if it has one.
///
/// # Safety
/// `gp` is live and its hook data is ours (set by `create`).
unsafe fn span<'a>(gp: *mut G) -> Option<&'a Span> {
    // SAFETY: hook_data is null or a Box<Span> made by `create`.
    unsafe { ((*gp).hook_data as *const Span).as_ref() }
}

unsafe fn run(gp: *mut G) {
    // SAFETY: the scheduler's contract: gp is about to run on this thread.
    if let Some(s) = unsafe { span(gp) } {
        s.with_subscriber(|(id, dispatch)| dispatch.enter(id));
    }
}

unsafe fn stop(gp: *mut G) {
    // SAFETY: gp just stopped running on this thread.
    if let Some(s) = unsafe { span(gp) } {
        s.with_subscriber(|(id, dispatch)| dispatch.exit(id));
    }
}

unsafe fn end(gp: *mut G) {
    // SAFETY: gp has ended; its hook data is ours to free.
    unsafe {
        let p = core::mem::replace(&mut (*gp).hook_data, core::ptr::null_mut());
        if !p.is_null() {
            drop(Box::from_raw(p as *mut Span));
        }
    }
}

static HOOKS: GoroutineHooks = GoroutineHooks {
    create,
    run,
    stop,
    end,
};

/// Installs the hooks (once per process, from the runtime builder).
pub(crate) fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| set_goroutine_hooks(&HOOKS));
}

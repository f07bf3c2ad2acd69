//! Go's `recover`, with Go's panic chain: [`catch`] and [`Recovered`].

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::panic::UnwindSafe;

/// Runs `f` and catches a panic that unwinds out of it, as a deferred
/// `recover()` in Go does: `Ok` with `f`'s value, or `Err` with the
/// recovered panic.
///
/// It is [`std::panic::catch_unwind`] that also keeps Go's panic chain:
/// while the [`Recovered`] value lives (Go: while the deferred call that
/// recovered runs), the panic stays on the goroutine's chain, so that a
/// panic raised meanwhile that ends the program is reported as Go reports
/// it, after the recovered one:
///
/// ```text
/// panic: first [recovered]
///     panic: second
/// ```
///
/// and [`Recovered::repanic`] (Go's `panic(recover())`) is reported as
/// `panic: first [recovered, repanicked]`. Dropping it completes the
/// recovery (Go: the deferred call returns) and takes the panic off the
/// chain, so keep it only while the code that handles the panic runs; to
/// keep the value longer, take it with [`Recovered::into_payload`]. A
/// panic caught with `catch_unwind` is not on the chain.
///
/// A [`goexit`](crate::goexit) (or the end of the goroutine's runtime,
/// which ends it the same way) is not a panic: it goes on through `catch`,
/// as Go's `recover()` returns nil during a Goexit.
///
/// ```
/// # gort::Builder::new().block_on(|| {
/// let r = gort::catch(|| panic!("boom"));
/// assert_eq!(r.unwrap_err().text(), "boom");
/// # });
/// ```
pub fn catch<F: FnOnce() -> R + UnwindSafe, R>(f: F) -> Result<R, Recovered> {
    let mut mark = runtime_p::panic::chain_mark();
    std::panic::catch_unwind(f).map_err(|payload| {
        if payload.is::<runtime_p::GoexitUnwind>() {
            std::panic::resume_unwind(payload);
        }
        let text = runtime_p::panic::payload_text(&*payload);
        if let Some(mark) = &mut mark {
            // SAFETY: chain_mark named the running goroutine, which is
            // still the one running here.
            unsafe { runtime_p::panic::recovered(mark, &*payload, text.clone()) };
        }
        Recovered {
            payload: Some(payload),
            text,
            mark,
            _goroutine: PhantomData,
        }
    })
}

/// A panic recovered by [`catch`]: its value, and its place on the
/// goroutine's panic chain while it lives. Not `Send`: the recovery
/// belongs to the goroutine that made it (dropped by another goroutine, it
/// leaves that chain alone).
pub struct Recovered {
    payload: Option<Box<dyn Any + Send>>,
    text: String,
    mark: Option<runtime_p::panic::ChainMark>,
    _goroutine: PhantomData<*const ()>,
}

impl Recovered {
    /// The panic's value (what `recover()` returns in Go).
    pub fn payload(&self) -> &(dyn Any + Send) {
        self.payload
            .as_deref()
            .expect("a Recovered holds its value")
    }

    /// The value as Go prints it in a panic report (`panic: <text>`).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The value, completing the recovery.
    pub fn into_payload(mut self) -> Box<dyn Any + Send> {
        self.payload.take().expect("a Recovered holds its value")
    }

    /// Raises the recovered value again: Go's `panic(recover())`. The
    /// recovery does not complete (the value stays on the chain), so an
    /// unrecovered re-raise is reported as `panic: <text> [recovered,
    /// repanicked]`, once.
    pub fn repanic(mut self) -> ! {
        let payload = self.payload.take().expect("a Recovered holds its value");
        // Not a completed recovery: the chain keeps the panic.
        self.mark = None;
        runtime_p::panic::repanicking(core::mem::take(&mut self.text));
        std::panic::resume_unwind(payload)
    }
}

impl Drop for Recovered {
    fn drop(&mut self) {
        // Completes the recovery, unless a newer panic unwinds past it
        // (see recovery_done).
        if let Some(mark) = self.mark {
            // SAFETY: the mark came from chain_mark and went to recovered.
            unsafe { runtime_p::panic::recovery_done(mark) };
        }
    }
}

impl fmt::Debug for Recovered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recovered")
            .field("text", &self.text)
            .finish()
    }
}

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

/// Whether the running goroutine is being unwound by a panic (not by
/// [`goexit`](crate::goexit)): destructors that would tell other
/// goroutines "this one finished" check it, because an unrecovered panic
/// ends the program and nobody may observe the goroutine as finished
/// first (gort's `JoinHandle`). False outside a goroutine or when not
/// unwinding.
pub fn unwinding_from_panic() -> bool {
    if !std::thread::panicking() {
        return false;
    }
    let gp = getg();
    // SAFETY: a non-null G is live; the running goroutine owns its flag.
    !gp.is_null() && unsafe { (*gp).goid != 0 && (*gp).panicking }
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
    // Go prints an error's Error() text.
    if let Some(e) = payload.downcast_ref::<Box<dyn std::error::Error + Send + Sync>>() {
        return e.to_string();
    }
    if let Some(e) = payload.downcast_ref::<Box<dyn std::error::Error + Send>>() {
        return e.to_string();
    }
    payload_text_plain(payload)
}

/// [`payload_text`] without running user code: an error value (whose
/// `Display` is user code) prints as `(error)`. For the panic hook.
pub fn payload_text_plain(payload: &(dyn Any + Send)) -> String {
    macro_rules! as_text {
        ($($t:ty),*) => {
            $(if let Some(v) = payload.downcast_ref::<$t>() {
                return v.to_string();
            })*
        };
    }
    if let Some(e) = payload.downcast_ref::<RuntimeError>() {
        return e.0.to_string();
    }
    if let Some(v) = payload.downcast_ref::<PanicValue>() {
        return v.0.clone();
    }
    as_text!(&'static str, String, bool);
    as_text!(
        i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize
    );
    // A Go rune is an int32: `panic('x')` prints 120.
    if let Some(c) = payload.downcast_ref::<char>() {
        return (*c as u32).to_string();
    }
    if let Some(v) = payload.downcast_ref::<f64>() {
        return go_float(*v, &format!("{v:e}"));
    }
    if let Some(v) = payload.downcast_ref::<f32>() {
        return go_float(f64::from(*v), &format!("{v:e}"));
    }
    if payload.is::<Box<dyn std::error::Error + Send + Sync>>()
        || payload.is::<Box<dyn std::error::Error + Send>>()
    {
        return "(error)".into();
    }
    // Go prints a value it cannot show as `(type) address`; a `dyn Any`
    // keeps no type name, so this says so (gort::panic_display and
    // gort::panic_debug raise values that print).
    format!(
        "(dyn Any) {:p}",
        payload as *const (dyn Any + Send) as *const u8
    )
}

/// A panic value that carries its own text: raised by
/// `gort::panic_display` (a `Display` value, as Go prints a `Stringer` or
/// an `error`) and `gort::panic_debug` (`(type) {:?}`, as Go prints
/// `(type) value` for other types).
#[derive(Debug, Clone)]
pub struct PanicValue(pub String);

/// A float as Go's runtime prints a panic value (`print(float64)` in Go
/// 1.27): the shortest digits that round-trip, in `%e` form (`1e+20`,
/// `1.234567e+06`, `1e-05`) when the decimal exponent is below -4 or 6 and
/// above, else plain (`123456`, `4.2`); `+Inf`, `-Inf`, `NaN`. `sci` is
/// Rust's shortest `{:e}` of the same value (of the f32 for an f32, whose
/// shortest digits differ).
fn go_float(v: f64, sci: &str) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let (mant, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mant) = match mant.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mant),
    };
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    if !(-4..6).contains(&exp) {
        let (d0, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{d0}{frac}e{esign}{:02}", exp.abs());
    }
    // Plain: place the point `exp + 1` digits in.
    let point = exp + 1;
    let body = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        let (a, b) = digits.split_at(point as usize);
        format!("{a}.{b}")
    };
    format!("{sign}{body}")
}

/// Formats `panic: <text>` with continuation lines indented by a tab.
pub fn format_panic(text: &str) -> String {
    let mut out = String::from("panic: ");
    out.push_str(&text.replace('\n', "\n\t"));
    out
}

/// Where a recovery starts (gort's `catch`): the running goroutine and its
/// panic chain's length, or `None` off a goroutine (a plain thread keeps
/// no chain).
pub fn chain_mark() -> Option<ChainMark> {
    let gp = getg();
    // SAFETY: a non-null G is live; goid is 0 only on g0s. The running
    // goroutine owns its chain.
    (!gp.is_null() && unsafe { (*gp).goid != 0 }).then(|| unsafe {
        ChainMark {
            gp,
            goid: (*gp).goid,
            base: (*gp).recovered.len(),
            inflight: 0,
        }
    })
}

/// A recovery's place on its goroutine's panic chain (see [`chain_mark`]).
#[derive(Clone, Copy, Debug)]
pub struct ChainMark {
    gp: *mut G,
    /// The goroutine's id: a G is reused by later goroutines.
    goid: u64,
    /// The chain's length before the recovery.
    base: usize,
    /// The goroutine's [`G::panic_inflight`] once it recovered.
    inflight: u32,
}

impl ChainMark {
    /// Whether the running goroutine is the one that made the mark.
    fn is_current(&self) -> bool {
        // SAFETY: a G outlives its instance's goroutines; goid is written
        // only when a G starts a new goroutine, by its creator, before it
        // runs, so a mismatch just means "another goroutine".
        getg() == self.gp && unsafe { (*self.gp).goid == self.goid }
    }
}

/// Sets [`G::panic_inflight`] of the running goroutine `gp` to 0 if the
/// thread is not unwinding (std's `catch_unwind` may have caught what it
/// counted).
///
/// # Safety
/// `gp` is the running goroutine.
unsafe fn settle_inflight(gp: *mut G) {
    if !std::thread::panicking() {
        // SAFETY: the caller's contract.
        unsafe { (*gp).panic_inflight = 0 };
    }
}

/// gorecover: port of runtime.gorecover's bookkeeping (panic.go): the
/// goroutine of `mark` recovered the panic whose value is `payload`,
/// printed as `text` ([`payload_text`]). The panic stays on the chain,
/// marked recovered, until the recovery completes ([`recovery_done`]); once
/// no other panic unwinds the goroutine it no longer counts as running its
/// deferred calls (`runningPanicDefers`). A value that is already on the
/// chain was re-raised ([`repanicking`]) and is recovered again: that
/// recovery's completion takes the earlier one off the chain too, as Go's
/// recovery unwinds past the deferred call that re-raised it.
///
/// # Safety
/// `mark` comes from [`chain_mark`] on the running goroutine.
pub unsafe fn recovered(mark: &mut ChainMark, payload: &(dyn Any + Send), text: String) {
    let p = payload as *const (dyn Any + Send);
    let gp = mark.gp;
    // SAFETY: the caller's contract: the running goroutine owns these.
    unsafe {
        let chain = &mut (*gp).recovered;
        if let Some(j) = chain.iter().position(|&(_, q)| core::ptr::eq(q, p)) {
            mark.base = mark.base.min(j);
        }
        chain.push((text, p));
        (*gp).panic_inflight = (*gp).panic_inflight.saturating_sub(1);
        settle_inflight(gp);
        mark.inflight = (*gp).panic_inflight;
        // The recovered panic was the last the hook saw: an older one,
        // if it still unwinds (a destructor that recovered), is last
        // again.
        let t = &mut (*gp).panic_texts;
        t[1] = t[0].take();
        if (*gp).panic_inflight == 0 {
            end_panic(gp);
        }
    }
}

/// The value of the recovery at `mark` is gone (gort's `Recovered`
/// dropped). If that completes the recovery (Go's `recovery`: the deferred
/// call that recovered returned), its panic and every panic raised inside
/// it leave the chain. It does not complete when a panic raised after the
/// recovery unwinds past it: in Go that deferred call has not returned,
/// and the recovered panic stays below the new one. (A drop while an older
/// panic unwinds, inside a destructor that recovered, completes.) A no-op
/// on another goroutine than the one that recovered.
///
/// # Safety
/// `mark` comes from [`chain_mark`] and was passed to [`recovered`].
pub unsafe fn recovery_done(mark: ChainMark) {
    if !mark.is_current() {
        return;
    }
    let gp = mark.gp;
    // SAFETY: gp is the running goroutine, which owns its chain.
    unsafe {
        settle_inflight(gp);
        if (*gp).panic_inflight > mark.inflight {
            return;
        }
        (*gp).recovered.truncate(mark.base);
    }
}

/// A recovered value raised again (`Recovered::repanic`, through
/// `resume_unwind`, which skips the panic hook): counts it as the hook
/// counts a new panic, with `text` as its printed value.
pub fn repanicking(text: String) {
    let gp = getg();
    // SAFETY: a non-null G is live; the running goroutine owns its panic
    // fields.
    if !gp.is_null() && unsafe { (*gp).goid != 0 } {
        // SAFETY: as above.
        let newly = unsafe {
            (*gp).panic_inflight += 1;
            let t = &mut (*gp).panic_texts;
            t[0] = t[1].take();
            t[1] = Some(text);
            !core::mem::replace(&mut (*gp).panicking, true)
        };
        if let Some(s) = crate::sched::try_sched().filter(|_| newly) {
            s.running_panic_defers.fetch_add(1, Ordering::AcqRel);
        }
    }
}

/// One panic of a chain to print: its text, whether it was recovered, and
/// its value where known (`None`: only the text is known, and two such
/// panics with equal texts count as one value, which is Go's rule for
/// the string values the hook sees).
type ChainEntry = (String, bool, Option<*const (dyn Any + Send)>);

/// printpanics: port of runtime.printpanics with preprintpanics'
/// marking (panic.go), for `all`, oldest first: each panic as `panic:
/// <value>` (later ones after a tab), recovered ones marked ` [recovered]`.
/// A panic whose value is the very value of the panic before it (a
/// re-raise) is not printed; the one before is marked ` [recovered,
/// repanicked]` instead if it was recovered.
fn printpanics(all: &[ChainEntry]) -> String {
    let same = |a: &ChainEntry, b: &ChainEntry| match (a.2, b.2) {
        (Some(x), Some(y)) => core::ptr::eq(x, y),
        (None, None) => a.0 == b.0,
        _ => false,
    };
    let mut out = String::new();
    let mut i = 0;
    while i < all.len() {
        // The panics after this one that re-raised its value.
        let mut j = i + 1;
        while j < all.len() && same(&all[j], &all[i]) {
            j += 1;
        }
        let (text, recovered, _) = &all[i];
        if !out.is_empty() {
            out.push_str("\n\t");
        }
        out.push_str(&format_panic(text));
        if *recovered && j > i + 1 {
            out.push_str(" [recovered, repanicked]");
        } else if *recovered {
            out.push_str(" [recovered]");
        }
        i = j;
    }
    out
}

/// The recovered panics on `gp`'s chain, as [`printpanics`] entries.
/// Cloned: printing may run user code (an error's `Display`), which may
/// recover panics of its own.
///
/// # Safety
/// `gp` is the running goroutine.
unsafe fn chain_entries(gp: *mut G) -> Vec<ChainEntry> {
    // SAFETY: the caller's contract; the running goroutine owns its chain.
    unsafe { &(*gp).recovered }
        .iter()
        .map(|(t, p)| (t.clone(), true, Some(*p)))
        .collect()
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
    flush_stdout_bounded();
    // SAFETY: gp is the running goroutine (the caller's contract).
    unsafe { end_panic(gp) };
    // The final panic's text first: an error's Display is user code.
    let text = payload_text(&*payload);
    // SAFETY: gp is the running goroutine.
    let mut all = unsafe { chain_entries(gp) };
    all.push((text, false, Some(&*payload as *const (dyn Any + Send))));
    let mut msg = printpanics(&all);
    if traceback_level() == 0 {
        // GOTRACEBACK=none: the panic line only, as Go prints it.
        msg.push('\n');
        print(&msg);
        std::mem::forget(payload);
        exit(2)
    }
    msg.push_str("\n\n");
    // SAFETY: gp is live (the caller's contract).
    msg.push_str(&unsafe { crate::proc::goroutine_header(gp) });
    // SAFETY: gp is the running goroutine, which owns its panic fields.
    let trace = unsafe { (*gp).panic_trace.take() };
    let frames = trace
        .and_then(|t| t.downcast::<backtrace::Backtrace>().ok())
        // SAFETY: gp is the running goroutine; it owns its start_func.
        .map(|t| format_frames(*t, unsafe { (*gp).start_func }))
        .filter(|f| !f.is_empty());
    match frames {
        Some(f) => {
            // SAFETY: as above.
            msg.push_str(&with_panic_line(f, unsafe {
                (*gp).panic_location.as_deref()
            }));
            // SAFETY: as above.
            msg.push_str(&unsafe { created_by(gp) });
            // SAFETY: as above.
            msg.push_str(&unsafe { ancestors_of(gp) });
        }
        None => {
            // SAFETY: as above.
            if let Some(loc) = unsafe { (*gp).panic_location.as_deref() } {
                msg.push('\t');
                msg.push_str(loc);
                msg.push('\n');
            }
        }
    }
    if gotraceback().1 {
        // GOTRACEBACK=all (and system, crash): every other goroutine too
        // (Go's tracebackothers).
        msg.push_str(&crate::traceback::others(gp));
    }
    print(&msg);
    // The payload's destructor could run arbitrary code; Go runs nothing.
    std::mem::forget(payload);
    runtime_g::throw::exit_fatal()
}

/// Frames without line info (no debug info) get the panic's own location
/// (`file:line`, which the compiler records in every build) on the first
/// frame of the program's code, the one that panicked (frames of the
/// standard library's panicking helpers, such as `unwrap_failed`, come
/// before it), so that the report still points at the line, as Go's
/// always does.
fn with_panic_line(frames: String, location: Option<&str>) -> String {
    let Some(loc) = location else {
        return frames;
    };
    // `file:line:col` → `file:line`.
    let file_line = loc.rsplit_once(':').map_or(loc, |(fl, _)| fl);
    let lines: Vec<&str> = frames.lines().collect();
    let first = lines.chunks(2).position(|pair| {
        ![
            "core::", "alloc::", "std::", "<core::", "<alloc::", "<std::",
        ]
        .iter()
        .any(|p| pair[0].starts_with(p))
    });
    let Some(i) = first.map(|k| 2 * k + 1) else {
        return frames;
    };
    match lines.get(i).and_then(|l| l.strip_prefix("\t?:0 ")) {
        Some(rest) => {
            let mut out = String::with_capacity(frames.len() + file_line.len());
            for (k, l) in lines.iter().enumerate() {
                if k == i {
                    out.push_str(&format!("\t{file_line} {rest}"));
                } else {
                    out.push_str(l);
                }
                out.push('\n');
            }
            out
        }
        None => frames,
    }
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
            epipe_check(info.payload());
            // No user code here (a `Display` that panicked inside the hook
            // would abort the process): error values keep a placeholder.
            let text = payload_text_plain(info.payload());
            // std's own message for a panic that escaped a destructor
            // during an unwind, raised from core (a user panic with the
            // same words comes from elsewhere).
            let from_core = info
                .location()
                .is_some_and(|l| l.file().contains("core/src/panicking.rs"));
            if from_core && text == "panic in a destructor during cleanup" {
                // SAFETY: gp is the running goroutine.
                unsafe { fatal_nested_panic(gp) };
            }
            // SAFETY: the running goroutine owns its panic fields.
            unsafe {
                let t = &mut (*gp).panic_texts;
                t[0] = t[1].take();
                t[1] = Some(text);
            }
            // SAFETY: the running goroutine owns its flag and count.
            let newly = unsafe {
                (*gp).panic_inflight += 1;
                !core::mem::replace(&mut (*gp).panicking, true)
            };
            if let Some(s) = crate::sched::try_sched().filter(|_| newly) {
                s.running_panic_defers.fetch_add(1, Ordering::AcqRel);
            }
            let loc = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
            // The stack as it is now, resolved only if the panic ends the
            // program (Go prints the panicking goroutine's frames).
            let trace = (traceback_level() > 0)
                .then(|| Box::new(backtrace::Backtrace::new_unresolved()) as Box<dyn Any + Send>);
            // SAFETY: as above.
            unsafe {
                (*gp).panic_location = loc;
                (*gp).panic_trace = trace;
            }
        } else {
            prev(info);
        }
    }));
}

/// A destructor panicked while a panic unwound the goroutine, and Rust is
/// about to abort (`panic in a destructor during cleanup`, then `thread
/// caused non-unwinding panic. aborting.`, status 134). Go's report of a
/// panic during a panic instead (printpanics, panic.go): both values, the
/// second indented, the goroutine's frames, status 2.
///
/// # Safety
/// `gp` must be the running goroutine.
unsafe fn fatal_nested_panic(gp: *mut G) -> ! {
    start_dying();
    flush_stdout_bounded();
    // SAFETY: the caller's contract; the running goroutine owns its panic
    // fields.
    let (first, second) = unsafe {
        let t = &mut (*gp).panic_texts;
        (t[0].take(), t[1].take())
    };
    // The recovered panics still on the chain come first, as in Go. A
    // destructor that panics with the value being unwound prints once
    // (printpanics compares these two by text: the hook sees no values).
    // SAFETY: as above.
    let mut all = unsafe { chain_entries(gp) };
    all.extend(
        [first, second]
            .into_iter()
            .flatten()
            .map(|t| (t, false, None)),
    );
    let mut msg = printpanics(&all);
    msg.push('\n');
    if traceback_level() > 0 {
        msg.push('\n');
        // SAFETY: gp is live.
        msg.push_str(&unsafe { crate::proc::goroutine_header(gp) });
        // The frames at the second panic, in the destructor (Go's first
        // frame is the deferred call that panicked), not those of the
        // abort in the unwind's cleanup.
        // SAFETY: as above.
        let trace = unsafe { (*gp).panic_trace.take() }
            .and_then(|t| t.downcast::<backtrace::Backtrace>().ok())
            .map(|t| *t)
            .unwrap_or_else(backtrace::Backtrace::new_unresolved);
        // SAFETY: as above.
        msg.push_str(&format_frames(trace, unsafe { (*gp).start_func }));
        // SAFETY: as above.
        msg.push_str(&unsafe { created_by(gp) });
        // SAFETY: as above.
        msg.push_str(&unsafe { ancestors_of(gp) });
    }
    print(&msg);
    runtime_g::throw::exit_fatal()
}

/// Goexit called by a destructor while a panic unwinds the goroutine. Go
/// ends the goroutine there and the panic with it (testprog's
/// GoexitInPanic); Rust cannot stop an unwind from a destructor, nor start
/// another one in it (it would abort), so gort reports it as Go reports a
/// fatal error during a panic (printPreFatalDeferPanic): the panics, then
/// `\tfatal error: …` saying what happened, the goroutine, status 2.
///
/// # Safety
/// `gp` must be the running goroutine.
pub unsafe fn fatal_goexit_in_panic(gp: *mut G) -> ! {
    start_dying();
    flush_stdout_bounded();
    // SAFETY: the caller's contract; the goroutine owns its panic fields.
    let mut all = unsafe { chain_entries(gp) };
    // SAFETY: as above.
    all.extend(unsafe { (*gp).panic_texts[1].take() }.map(|t| (t, false, None)));
    let mut msg = printpanics(&all);
    if !msg.is_empty() {
        msg.push_str("\n\t");
    }
    msg.push_str(
        "fatal error: runtime.Goexit called by a destructor while a panic unwinds (Go would end \
         the goroutine and the panic; a Rust unwind cannot be stopped there: recover the panic \
         with gort::catch first)\n",
    );
    if traceback_level() > 0 {
        msg.push('\n');
        // SAFETY: gp is live.
        msg.push_str(&unsafe { crate::proc::goroutine_header(gp) });
        msg.push_str(&format_frames(
            backtrace::Backtrace::new_unresolved(),
            // SAFETY: the running goroutine owns its start_func.
            unsafe { (*gp).start_func },
        ));
        // SAFETY: as above.
        msg.push_str(&unsafe { created_by(gp) });
        // SAFETY: as above.
        msg.push_str(&unsafe { ancestors_of(gp) });
    }
    print(&msg);
    runtime_g::throw::exit_fatal()
}

/// Writes out what std's stdout buffer holds before a fatal exit: Go's
/// `os.Stdout` has no buffer, so a partial line printed before a fatal
/// panic reaches the terminal there, and must here too. Bounded: a helper
/// thread flushes while this one waits at most 100 ms, because the stdout
/// lock may be held by this very goroutine (a panic inside a `Display`
/// that `print!` runs) or by a goroutine that will never run again. Not
/// for signal handlers (it spawns a thread).
pub fn flush_stdout_bounded() {
    use std::io::Write as _;
    let (tx, rx) = std::sync::mpsc::channel();
    let flusher = std::thread::Builder::new().spawn(move || {
        let _ = std::io::stdout().flush();
        let _ = tx.send(());
    });
    if flusher.is_ok() {
        let _ = rx.recv_timeout(std::time::Duration::from_millis(100));
    }
}

/// epipecheck: Go's rule (os/file_unix.go `epipecheck`, runtime
/// `os_sigpipe`): a write to standard output or standard error that fails
/// with `EPIPE` ends the program by SIGPIPE (status 141 in a shell), so
/// that `prog | head -1` ends quietly. Rust ignores SIGPIPE and std's
/// `print!` panics with `failed printing to stdout: Broken pipe` instead;
/// on a goroutine, that panic ends the program by SIGPIPE as Go's write
/// does. Writes to sockets and pipes opened by the program keep their
/// `EPIPE` error.
fn epipe_check(payload: &(dyn Any + Send)) {
    let text = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("");
    let std_stream = text.starts_with("failed printing to stdout")
        || text.starts_with("failed printing to stderr");
    if std_stream && text.contains("(os error 32)") && !crate::sigqueue::sigpipe_handled() {
        // SAFETY: restoring SIGPIPE's default action and raising it on
        // this thread ends the process; nothing runs after.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            libc::raise(libc::SIGPIPE);
            libc::_exit(2);
        }
    }
}

/// Takes the location recorded by the panic hook for the running goroutine
/// (`file:line:col`), if any.
pub fn take_panic_location() -> Option<String> {
    let gp = crate::proc::require_goroutine("take_panic_location");
    // SAFETY: the running goroutine owns its panic_location.
    unsafe { (*gp).panic_location.take() }
}

/// gotraceback: port of runtime.gotraceback (runtime1.go), from
/// `GOTRACEBACK`: the level (0 `none`: no frames; 1 `single`, the default,
/// and `all`; 2 `system` and `crash`: runtime frames too), whether a panic
/// shows every goroutine (`all`, `system`, `crash`), and whether fatal
/// reports end with SIGABRT (`crash`).
pub fn gotraceback() -> (u32, bool, bool) {
    static T: std::sync::OnceLock<(u32, bool, bool)> = std::sync::OnceLock::new();
    *T.get_or_init(|| match std::env::var("GOTRACEBACK").as_deref() {
        Ok("none") | Ok("0") => (0, false, false),
        Ok("all") | Ok("1") => (1, true, false),
        Ok("system") | Ok("2") => (2, true, false),
        Ok("crash") => (2, true, true),
        _ => (1, false, false),
    })
}

/// The level of [`gotraceback`].
pub fn traceback_level() -> u32 {
    gotraceback().0
}

/// `GODEBUG=tracebackancestors=N` (Go's `debug.tracebackancestors`): how
/// many ancestor goroutines each goroutine records for its tracebacks; 0,
/// the default, records none. Read once.
pub fn traceback_ancestors() -> usize {
    static N: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *N.get_or_init(|| {
        std::env::var("GODEBUG")
            .ok()
            .and_then(|v| {
                v.split(',').rev().find_map(|kv| match kv.split_once('=') {
                    Some(("tracebackancestors", x)) => x.trim().parse().ok(),
                    _ => None,
                })
            })
            .unwrap_or(0)
    })
}

/// The `[originating from goroutine N]:` sections of a goroutine's
/// traceback (Go's printAncestorTraceback): each ancestor's frames, as
/// Go prints them without arguments (`f(...)`), and its `created by` line.
pub fn format_ancestors(ancestors: &[runtime_g::Ancestor]) -> String {
    let mut out = String::new();
    for a in ancestors {
        out.push_str(&format!("[originating from goroutine {}]:\n", a.goid));
        let frames = format_pcs(&a.pcs, 0, &[], a.start_func);
        for line in frames.lines() {
            match line.strip_suffix("()") {
                Some(f) if !line.starts_with('\t') => {
                    out.push_str(f);
                    out.push_str("(...)");
                }
                _ => out.push_str(line),
            }
            out.push('\n');
        }
        if a.pcs.len() == TRACEBACK_INNER_FRAMES {
            out.push_str("...additional frames elided...\n");
        }
        out.push_str(&a.created_by);
    }
    out
}

/// The ancestor sections of goroutine `gp`'s traceback (empty unless
/// `GODEBUG=tracebackancestors` recorded some).
///
/// # Safety
/// `gp` is the running goroutine, or one that cannot be reused meanwhile.
pub unsafe fn ancestors_of(gp: *mut G) -> String {
    // SAFETY: per the contract, the field is not rewritten meanwhile.
    match unsafe { (*gp).ancestors.as_deref() } {
        Some(a) => format_ancestors(a),
        None => String::new(),
    }
}

/// saveAncestors: port of runtime.saveAncestors (proc.go): what a
/// goroutine created by the running goroutine `callergp` records of its
/// ancestry: `callergp` itself as it is now (its stack from this call
/// outwards), then `callergp`'s own ancestors, at most
/// [`traceback_ancestors`] in all. Never inlined and never parks: the
/// unwinder it calls keeps thread-local state (see the safe mode's rules).
///
/// # Safety
/// `callergp` is the running user goroutine.
#[inline(never)]
pub unsafe fn save_ancestors(callergp: *mut G) -> Option<Box<Vec<runtime_g::Ancestor>>> {
    let depth = traceback_ancestors();
    if depth == 0 {
        return None;
    }
    // SAFETY: the running goroutine's own fields.
    let (goid, start_func, prior) = unsafe {
        (
            (*callergp).goid,
            (*callergp).start_func,
            (*callergp)
                .ancestors
                .as_deref()
                .cloned()
                .unwrap_or_default(),
        )
    };
    if goid == 0 {
        return None;
    }
    // The goroutine's frames start past this function's own (the
    // unwinder's and this one are not the goroutine's: Go's gcallers
    // starts at the goroutine's saved PC).
    let me = save_ancestors as *const () as usize;
    let mut all = Vec::with_capacity(TRACEBACK_INNER_FRAMES + 8);
    let mut past = None;
    backtrace::trace(|f| {
        let ip = f.ip() as usize;
        if past.is_none() && function_start(ip.saturating_sub(1)) == Some(me) {
            past = Some(all.len() + 1);
        }
        all.push(ip);
        all.len() < TRACEBACK_INNER_FRAMES + past.unwrap_or(8)
    });
    let skip = past.unwrap_or(0).min(all.len());
    let pcs: Vec<usize> = all[skip..]
        .iter()
        .copied()
        .take(TRACEBACK_INNER_FRAMES)
        .collect();
    // SAFETY: as above.
    let created_by = unsafe { created_by(callergp) };
    // Go passes 0 for the goroutine here: the ancestor's own section
    // already names it.
    let created_by = match created_by.split_once('\n') {
        Some((first, rest)) => match first.rsplit_once(" in goroutine ") {
            Some((f, _)) => format!("{f}\n{rest}"),
            None => created_by,
        },
        None => created_by,
    };
    let mut v = Vec::with_capacity((prior.len() + 1).min(depth));
    v.push(runtime_g::Ancestor {
        pcs,
        goid,
        start_func,
        created_by,
    });
    v.extend(prior.into_iter().take(depth - 1));
    Some(Box::new(v))
}

/// Frames of the panic machinery itself: the trace starts below the last
/// of them.
const PANIC_MACHINERY: &[&str] = &[
    "core::panicking::",
    "std::panicking::begin_panic",
    "std::panicking::panic_with_hook",
    "std::panic::panic_any",
    "std::sys::backtrace::__rust_end_short_backtrace",
    "__rustc::rust_begin_unwind",
    // A stack captured for a dump rather than a panic starts in the
    // capture and the dump functions.
    "backtrace::",
    "runtime_p::traceback::",
    "runtime_g::throw::",
    "gort::stack",
    "gort::runtime::stack",
    // gort's panic helpers (Go's `panic` is no frame of the report).
    "gort::panic_display",
    "gort::panic_debug",
    "gort::recover::Recovered::repanic",
];

/// Runtime and closure-call plumbing, hidden as Go hides runtime frames
/// unless `GOTRACEBACK=system`.
const PLUMBING: &[&str] = &[
    "std::panicking::",
    "std::panic::",
    "__rust_try",
    "core::ops::function::",
    "<alloc::boxed::Box<F,A> as core::ops::function::",
    "<core::panic::unwind_safe::AssertUnwindSafe<F> as core::ops::function::",
    "runtime_p::",
    "runtime_m::",
    "gort::builder::",
    "gort::spawn::",
    // Channel operations are runtime functions in Go (`runtime.chanrecv1`,
    // `runtime.selectgo`), hidden from its traces; gort's are too.
    "gort::chan::",
    "gort::select::",
];

/// The name of the frame every goroutine's function runs in
/// ([`crate::proc::run_goroutine_fn`]).
const RUN_GOROUTINE_FN: &str = "runtime_p::proc::run_goroutine_fn";

/// The name of the function every goroutine starts in, where a walk of its
/// stack ends (found by address too, for binaries without symbols).
const GOROUTINE_ENTRY: &str = "runtime_p::proc::goroutine_entry";

/// The name a traceback prints for a function, as symbol tables give it:
/// without generic arguments (`S<T>::m` and `f::<T>` lose `<T>`: a `<`
/// right after a name, `>` or `::`), keeping qualified paths (`<S as
/// T>::m`: a `<` that starts a path). `type_name` and the demangler differ
/// in the generic arguments only, so names of both compare equal after it.
fn func_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    // For each open `<`: whether it is kept (a qualified path).
    let mut open: Vec<bool> = Vec::new();
    let mut dropped = 0usize;
    let mut prev: Option<char> = None;
    for c in name.chars() {
        match c {
            '<' => {
                let generic = prev.is_some_and(|p| p.is_alphanumeric() || "_>:".contains(p));
                if dropped > 0 || generic {
                    dropped += 1;
                    open.push(false);
                } else {
                    open.push(true);
                    out.push(c);
                }
            }
            '>' => match open.pop() {
                Some(false) => dropped -= 1,
                _ if dropped == 0 => out.push(c),
                _ => {}
            },
            _ if dropped == 0 => out.push(c),
            _ => {}
        }
        prev = Some(c);
    }
    out
}

/// Writes frames in Go's traceback form — `function()` then a tab and the
/// location — leaving out the runtime's plumbing (unless
/// `GOTRACEBACK=system`). Where the walk reaches the frame the goroutine's
/// function runs in ([`RUN_GOROUTINE_FN`]) and the function itself was
/// not the frame before it (the compiler merged it into that frame and
/// the binary has no debug info that says so), the function is printed
/// under its own name, so that every goroutine shows its function, as in
/// Go.
struct FrameWriter<'a> {
    out: String,
    /// The goroutine's function ([`G::start_func`]), or empty.
    start: &'a str,
    /// The last frame printed, as [`func_name`] gives it.
    last: String,
    system: bool,
    /// A frame had no symbol (a stripped binary).
    unnamed: bool,
}

impl<'a> FrameWriter<'a> {
    fn new(start: &'a str) -> Self {
        FrameWriter {
            out: String::new(),
            start,
            last: String::new(),
            system: traceback_level() >= 2,
            unnamed: false,
        }
    }

    /// One frame: its function's name (`None`: no symbol) and location.
    fn frame(&mut self, name: Option<&str>, loc: &str) {
        use std::fmt::Write as _;
        let Some(name) = name else {
            self.unnamed = true;
            let _ = writeln!(self.out, "???()\n\t{loc}");
            return;
        };
        if name.starts_with(RUN_GOROUTINE_FN) && !self.start.is_empty() {
            let f = func_name(self.start);
            if self.last != f {
                let _ = writeln!(self.out, "{f}()\n\t{loc}");
                self.last = f;
            }
            if !self.system {
                return;
            }
        }
        if !self.system && PLUMBING.iter().any(|p| name.starts_with(p)) {
            return;
        }
        let _ = writeln!(self.out, "{name}()\n\t{loc}");
        self.last = func_name(name);
    }

    fn line(&mut self, text: &str) {
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// The frames, and for a binary without symbols a line on how to name
    /// them.
    fn finish(mut self) -> String {
        if self.unnamed && !UNNAMED_HINT.swap(true, Ordering::Relaxed) {
            self.line(
                "(frames without names: the binary has no symbols; keep them (Cargo's default \
                 strip = \"debuginfo\") or name a frame with `addr2line -f -e <unstripped \
                 binary> <offset>`)",
            );
        }
        self.out
    }
}

/// Whether a report printed the hint for frames without names already.
static UNNAMED_HINT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The location line of the frame at `pc` (`tracepc` is inside the call,
/// `base` the function's entry): `file:line +0x<offset>` with debug info,
/// Go's `?:0 +0x<offset>` for unknown lines, and for a frame without a
/// symbol the object and the offset in it that `addr2line` takes.
fn frame_loc(
    sym: Option<(Option<&std::path::Path>, Option<u32>)>,
    pc: usize,
    base: usize,
) -> String {
    let off = pc.saturating_sub(base);
    match sym {
        Some((Some(f), Some(l))) => format!("{}:{l} +{off:#x}", f.display()),
        Some(_) => format!("?:0 +{off:#x}"),
        None => object_offset(pc),
    }
}

/// `<object> +0x<offset>` for an address: the file it was loaded from and
/// its offset from the load base, as `addr2line -e <object>` takes it.
fn object_offset(pc: usize) -> String {
    // SAFETY: dladdr reads the loader's tables; a zeroed Dl_info is valid.
    let mut info: libc::Dl_info = unsafe { core::mem::zeroed() };
    // SAFETY: info is a valid out-parameter.
    let found = unsafe { libc::dladdr(pc as *const libc::c_void, &mut info) } != 0;
    if found && !info.dli_fname.is_null() {
        // SAFETY: dladdr gives a NUL-terminated path that lives as long
        // as the object stays loaded.
        let file = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) }.to_string_lossy();
        format!("{file} +{:#x}", pc - info.dli_fbase as usize)
    } else {
        format!("?:0 pc={pc:#x}")
    }
}

/// The frames of a panic's backtrace in Go's traceback form (see
/// [`FrameWriter`]), from the frame that panicked down to the goroutine's
/// base (`goroutine_entry`), leaving out the panic machinery above it.
/// `start` is the goroutine's function ([`G::start_func`]).
pub fn format_frames(bt: backtrace::Backtrace, start: &str) -> String {
    let entry = crate::proc::goroutine_entry_addr();
    let frames = collect_frames(bt, |base| base == entry);
    let start_at = frames
        .iter()
        .rposition(|f| {
            f.name
                .as_deref()
                .is_some_and(|n| PANIC_MACHINERY.iter().any(|p| n.starts_with(p)))
        })
        .map_or(0, |i| i + 1);
    let mut w = FrameWriter::new(start);
    for f in &frames[start_at..] {
        w.frame(f.name.as_deref(), &f.loc);
    }
    w.finish()
}

/// One frame of a resolved backtrace (an inlined call is a frame of its
/// own): the function's name (`None`: no symbol), its location line, and
/// the entry of the machine frame's function.
struct ResolvedFrame {
    name: Option<String>,
    loc: String,
    base: usize,
}

/// The frames of `bt`, innermost first, up to (not including) the first
/// machine frame whose function's entry `stop` accepts (found by address,
/// so also without symbols) or that is `goroutine_entry` by name.
fn collect_frames(
    mut bt: backtrace::Backtrace,
    stop: impl Fn(usize) -> bool,
) -> Vec<ResolvedFrame> {
    bt.resolve();
    let mut frames = Vec::new();
    'all: for frame in bt.frames() {
        let ip = frame.ip() as usize;
        let base = frame.symbol_address() as usize;
        if stop(base) {
            break;
        }
        if frame.symbols().is_empty() {
            let loc = frame_loc(None, ip, base);
            frames.push(ResolvedFrame {
                name: None,
                loc,
                base,
            });
        }
        for sym in frame.symbols() {
            let name = sym.name().map(|n| format!("{n:#}"));
            if name
                .as_deref()
                .is_some_and(|n| n.starts_with(GOROUTINE_ENTRY))
            {
                break 'all;
            }
            let loc = frame_loc(Some((sym.filename(), sym.lineno())), ip, base);
            frames.push(ResolvedFrame { name, loc, base });
        }
    }
    frames
}

/// The frames (inlined ones included, innermost first) at the return
/// address `pc`, or with `at_fault` at the faulting instruction `pc`
/// itself; empty if no symbol covers it.
fn resolve_pc(pc: usize, at_fault: bool) -> Vec<ResolvedFrame> {
    // A return address follows its call: back up into the call for the
    // line, except at the faulting instruction.
    let tracepc = if at_fault { pc } else { pc - 1 };
    let base = function_start(tracepc).unwrap_or(pc);
    let mut frames = Vec::new();
    backtrace::resolve(tracepc as *mut core::ffi::c_void, |sym| {
        let name = sym.name().map(|n| format!("{n:#}"));
        let loc = frame_loc(Some((sym.filename(), sym.lineno())), pc, base);
        frames.push(ResolvedFrame { name, loc, base });
    });
    frames
}

/// Go's `runtime stack:` section (dopanic_m, panic.go): the frames of the
/// scheduler's own stack (g0) at a runtime throw, from the throw down to
/// the M's start or the switch from a goroutine, runtime frames included (Go prints its `runtime.throw`,
/// `runtime.checkmcount`, ...; these are gort's ports of them).
pub fn format_runtime_stack(bt: backtrace::Backtrace) -> String {
    use std::fmt::Write as _;
    let mstart = runtime_m::proc::mstart as *const () as usize;
    let frames = collect_frames(bt, |_| false);
    // From the throw itself (the outermost of the report's own frames),
    // found by address.
    let throws = [
        runtime_g::throw::throw as *const () as usize,
        runtime_g::throw::fatal_error as *const () as usize,
    ];
    let first = frames
        .iter()
        .rposition(|f| throws.contains(&f.base))
        .unwrap_or(0);
    let mut out = String::new();
    for f in frames[first..].iter().take(100) {
        let name = f.name.as_deref().unwrap_or("???");
        let _ = writeln!(out, "{name}()\n\t{}", f.loc);
        // The stack's base: the M's start, or the switch from a goroutine
        // (Go's `runtime.mstart`, `runtime.mcall`, `runtime.systemstack`).
        if f.base == mstart
            || name == "runtime_m::proc::mstart"
            || name.starts_with("runtime_g::gobuf::")
        {
            break;
        }
    }
    out
}

/// The `runtime stack:` frames at the return addresses `pcs` (innermost
/// first) of a signal handler, from the handler's entry into gort's
/// report on (the stack walker's own frames left out), down to the
/// kernel's signal frame.
pub fn format_runtime_pcs(pcs: &[usize]) -> String {
    use std::fmt::Write as _;
    let frames: Vec<ResolvedFrame> = pcs.iter().flat_map(|&pc| resolve_pc(pc, false)).collect();
    // Below the walker: from the outermost frame of the backtrace crate
    // and of the walk's callback on.
    let first = frames
        .iter()
        .rposition(|f| {
            f.name
                .as_deref()
                .is_some_and(|n| n.starts_with("backtrace::") || n.contains("{{closure}}"))
        })
        .map_or(0, |i| i + 1);
    let mut out = String::new();
    // (A frame without a symbol here is the C library's signal return
    // trampoline.)
    for f in &frames[first..] {
        if let Some(name) = &f.name {
            let _ = writeln!(out, "{name}()\n\t{}", f.loc);
        }
    }
    out
}

/// Frames an overflow report prints at each end of a deep stack, with
/// `...N frames elided...` between (Go's `tracebackInnerFrames` and
/// `tracebackOuterFrames`, traceback.go).
pub const TRACEBACK_INNER_FRAMES: usize = 50;
/// See [`TRACEBACK_INNER_FRAMES`].
pub const TRACEBACK_OUTER_FRAMES: usize = 50;

/// The frames at the return addresses `inner` (innermost first; the first
/// is the faulting instruction itself) and `outer` (the outermost frames,
/// innermost first), with `elided` frames between them that were not
/// kept, in Go's traceback form (as [`format_frames`]), ending at the
/// goroutine's base. Go's `traceback1` prints 50 frames from each end of a
/// deep stack and counts what it skipped; here the counts are of machine
/// frames (an inlined call shares its caller's), where Go counts inlined
/// ones too.
pub fn format_pcs(inner: &[usize], elided: usize, outer: &[usize], start: &str) -> String {
    let entry = crate::proc::goroutine_entry_addr();
    let mut w = FrameWriter::new(start);
    let mut done = false;
    let emit = |pcs: &[usize], first_is_fault: bool, w: &mut FrameWriter<'_>, done: &mut bool| {
        for (i, &pc) in pcs.iter().enumerate() {
            if *done {
                return;
            }
            let at_fault = first_is_fault && i == 0;
            let frames = resolve_pc(pc, at_fault);
            let tracepc = if at_fault { pc } else { pc - 1 };
            let base = frames
                .first()
                .map_or_else(|| function_start(tracepc).unwrap_or(pc), |f| f.base);
            if base == entry {
                *done = true;
                return;
            }
            if frames.is_empty() {
                w.frame(None, &frame_loc(None, pc, base));
            }
            for f in &frames {
                if f.name
                    .as_deref()
                    .is_some_and(|n| n.starts_with(GOROUTINE_ENTRY))
                {
                    *done = true;
                    return;
                }
                w.frame(f.name.as_deref(), &f.loc);
            }
        }
    };
    emit(inner, true, &mut w, &mut done);
    if elided > 0 && !done {
        w.line(&format!("...{elided} frames elided..."));
    }
    emit(outer, inner.is_empty(), &mut w, &mut done);
    w.finish()
}

/// printcreatedby: port of runtime.printcreatedby (traceback.go): Go's
/// `created by <function> in goroutine <parent>` line and the location of
/// the `go` statement, for a goroutine whose creator's PC was recorded
/// (`gopc`), except the main goroutine. The function is the innermost
/// frame at that PC that is not runtime plumbing (the always-inlined `go`
/// and `spawn` are skipped, so it is the function that contains the call);
/// where the symbols do not tell (no debug info, and the creator merged
/// into the frame its own function runs in, or no symbols at all), the
/// creating goroutine's function. The location is the `go` statement's
/// own (`#[track_caller]`), so it is right in every build.
///
/// # Safety
/// `gp` must point at a G of a running instance.
pub unsafe fn created_by(gp: *mut G) -> String {
    // SAFETY: the caller's contract; these fields are fixed while the
    // goroutine lives.
    let (pc, parent, goid, at, creator) = unsafe {
        (
            (*gp).gopc,
            (*gp).parent_goid,
            (*gp).goid,
            (*gp).go_at,
            (*gp).creator_func,
        )
    };
    if (pc == 0 && at.is_none()) || goid == 1 || traceback_level() == 0 {
        return String::new();
    }
    // The function: the symbol at the call (with debug info, the innermost
    // frame there that is not plumbing), else the creating goroutine's.
    let frames = if pc == 0 {
        Vec::new()
    } else {
        resolve_pc(pc, false)
    };
    let any = !frames.is_empty();
    let base = match frames.first() {
        Some(f) => f.base,
        None if pc == 0 => 0,
        None => function_start(pc - 1).unwrap_or(pc),
    };
    let found = frames.into_iter().find_map(|f| {
        let name = f.name?;
        (!PLUMBING.iter().any(|p| name.starts_with(p))).then_some((name, f.loc))
    });
    let (name, loc) = match found {
        Some(f) => f,
        None if !creator.is_empty() => (func_name(creator), String::new()),
        None => return String::new(),
    };
    // The line: the `go` statement's own location where it was recorded.
    let off = pc.saturating_sub(base);
    let loc = match at {
        Some(at) if pc == 0 => format!("{}:{}", at.file(), at.line()),
        Some(at) => format!("{}:{} +{off:#x}", at.file(), at.line()),
        None if loc.is_empty() && any => format!("?:0 +{off:#x}"),
        None if loc.is_empty() => object_offset(pc),
        None => loc,
    };
    let mut out = format!("created by {name}");
    if parent != 0 {
        out.push_str(&format!(" in goroutine {parent}"));
    }
    out.push_str(&format!("\n\t{loc}\n"));
    out
}

unsafe extern "C" {
    /// libgcc's unwinder (which std links on this target): the start of
    /// the function whose unwind entry covers `pc`.
    fn _Unwind_FindEnclosingFunction(pc: *mut core::ffi::c_void) -> *mut core::ffi::c_void;
}

/// The entry address of the function containing `pc`, as the unwinder sees
/// it (the same base `format_frames` measures `+0x…` offsets from).
fn function_start(pc: usize) -> Option<usize> {
    // SAFETY: a lookup in the unwind tables; any pc is accepted.
    let f = unsafe { _Unwind_FindEnclosingFunction(pc as *mut core::ffi::c_void) };
    (!f.is_null()).then_some(f as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Each expectation is what Go 1.27 prints for panic(<the value>).
    #[test]
    fn payloads_print_as_go_prints_panic_values() {
        let t = |v: Box<dyn Any + Send>| payload_text(&*v);
        assert_eq!(t(Box::new(42i64)), "42");
        assert_eq!(t(Box::new(7u8)), "7");
        assert_eq!(t(Box::new(true)), "true");
        assert_eq!(t(Box::new('x')), "120");
        assert_eq!(t(Box::new(4.2f64)), "4.2");
        assert_eq!(t(Box::new(1.5f32)), "1.5");
        assert_eq!(t(Box::new(0.1f32)), "0.1");
        assert_eq!(t(Box::new(1234567.0f64)), "1.234567e+06");
        assert_eq!(t(Box::new(123456.0f64)), "123456");
        assert_eq!(t(Box::new(1e20f64)), "1e+20");
        assert_eq!(t(Box::new(0.00001f64)), "1e-05");
        assert_eq!(t(Box::new(-0.5f64)), "-0.5");
        assert_eq!(t(Box::new(f64::INFINITY)), "+Inf");
        assert_eq!(t(Box::new(f64::NAN)), "NaN");
        let e: Box<dyn std::error::Error + Send + Sync> = "boom".into();
        assert_eq!(t(Box::new(e)), "boom");
        assert!(t(Box::new(vec![1u8])).starts_with("(dyn Any) 0x"));
    }
}

//! Go's `time` package, the part that belongs to the runtime: [`sleep`],
//! [`Timer`], [`Ticker`], [`after`], [`tick`], [`after_func`], on a port of
//! Go's timers (`runtime_p::time`, from go1.27 `runtime/time.go`): per-P
//! 4-ary heaps, timers run by the scheduler, idle threads that sleep until
//! the next timer. Durations and instants are std's.
//!
//! Go 1.23+ semantics throughout: a timer's channel is synchronous (`len`
//! and `cap` are 0), and after [`Timer::stop`] or [`Timer::reset`] no value
//! from before the call is received. A `Timer` or `Ticker` that nobody
//! waits on costs no heap space, and does not keep a deadlocked program
//! alive; a goroutine in `sleep` does.
//!
//! All of these must be used from goroutines of a gort runtime.

use std::sync::Arc;
pub use std::time::{Duration, Instant};

use runtime_p::chan::HChan;
use runtime_p::time::{MAX_WHEN, TimerFn, nanotime, time_sleep};

use crate::chan::{Chan, RecvChan};

/// Nanoseconds of `d`, saturated to Go's `Duration` range.
fn ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// Go's `when(d)`: the nanotime `d` from now, saturated.
fn when(d: Duration) -> i64 {
    let n = ns(d);
    let now = nanotime();
    if n <= 0 {
        return now;
    }
    now.checked_add(n).unwrap_or(MAX_WHEN)
}

/// Pauses the calling goroutine for at least `d`: Go's `time.Sleep`. The
/// goroutine parks; its thread runs other goroutines meanwhile. A zero
/// duration returns at once. On a plain thread, the thread sleeps.
///
/// # Panics
/// Inside `gort::syscall::blocking`.
#[track_caller]
#[inline(never)]
pub fn sleep(d: Duration) {
    if runtime_p::proc::on_plain_thread() {
        // A plain thread has no goroutine to park: it sleeps.
        std::thread::sleep(d);
        return;
    }
    time_sleep(ns(d));
    // A frame of its own in goroutine dumps, as Go's time.Sleep has: not
    // inlined, and the call above not turned into a tail jump (release
    // builds did both, and the dump lost the frame).
    core::hint::black_box(());
}

/// Go's `time.Timer`: a single event, delivered on a channel
/// ([`Timer::new`], [`after`]) or by running a function in a new goroutine
/// ([`after_func`]).
pub struct Timer {
    t: Arc<runtime_p::time::Timer>,
    /// The channel (Go's `C`); nil for an `after_func` timer.
    c: RecvChan<Instant>,
}

impl core::fmt::Debug for Timer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Timer").field("c", &self.c).finish()
    }
}

/// A channel timer armed for `when` with `period`.
fn new_chan_timer(when: i64, period: i64) -> (Arc<runtime_p::time::Timer>, RecvChan<Instant>) {
    let (c, t) = HChan::new_timer_chan();
    // SAFETY: new_timer_chan returns one handle to a fresh channel of
    // Instants, which we take over.
    let ch: Chan<Instant> = unsafe { Chan::from_raw(c) };
    t.modify(when, period, None);
    (t, ch.receiver())
}

impl Timer {
    /// A timer that sends the current time on its channel after at least
    /// `d`: Go's `time.NewTimer`.
    #[track_caller]
    pub fn new(d: Duration) -> Timer {
        time_entry("time::Timer::new");
        let (t, c) = new_chan_timer(when(d), 0);
        Timer { t, c }
    }

    /// The channel on which the time is delivered (Go's `t.C`); the nil
    /// channel for an [`after_func`] timer.
    pub fn c(&self) -> &RecvChan<Instant> {
        &self.c
    }

    /// Prevents the timer from firing: Go's `Stop`. Returns true if the
    /// call stopped it, false if it had already fired or been stopped. For
    /// a channel timer, no value is received after `stop` returns (Go 1.23).
    #[track_caller]
    pub fn stop(&self) -> bool {
        time_entry("Timer::stop");
        self.t.stop()
    }

    /// Changes the timer to fire after `d`: Go's `Reset`. Returns true if
    /// the timer had been active. For a channel timer, a value from before
    /// the reset is never received (Go 1.23).
    #[track_caller]
    pub fn reset(&self, d: Duration) -> bool {
        time_entry("Timer::reset");
        self.t.reset(when(d), 0)
    }
}

/// Waits for `d` and then sends the current time on the returned channel:
/// Go's `time.After`, the same as `Timer::new(d)`'s channel.
#[track_caller]
pub fn after(d: Duration) -> RecvChan<Instant> {
    Timer::new(d).c.clone()
}

/// Waits for `d` and then calls `f` in its own goroutine: Go's
/// `time.AfterFunc`. The returned timer's [`stop`](Timer::stop) cancels the
/// call; [`reset`](Timer::reset) schedules it again (also after it ran).
/// The call happens even if the returned `Timer` is dropped.
#[track_caller]
pub fn after_func<F>(d: Duration, f: F) -> Timer
where
    F: Fn() + Send + Sync + 'static,
{
    // Its function runs in a new goroutine: a runtime is needed.
    crate::runtime_check("time::after_func");
    time_entry("time::after_func");
    let t = runtime_p::time::Timer::new(
        TimerFn::Go {
            f: Arc::new(f),
            user_drop: core::mem::needs_drop::<F>(),
        },
        false,
    );
    t.modify(when(d), 0, None);
    Timer {
        t,
        c: RecvChan::default(),
    }
}

/// Go's `time.Ticker`: delivers the time on its channel every period.
/// Ticks that the receiver is too slow to take are dropped.
pub struct Ticker {
    t: Arc<runtime_p::time::Timer>,
    c: RecvChan<Instant>,
}

impl core::fmt::Debug for Ticker {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ticker").field("c", &self.c).finish()
    }
}

impl Ticker {
    /// A ticker with period `d`: Go's `time.NewTicker`.
    ///
    /// # Panics
    /// `non-positive interval for NewTicker` if `d` is zero.
    #[track_caller]
    pub fn new(d: Duration) -> Ticker {
        if d.is_zero() {
            panic!("non-positive interval for NewTicker");
        }
        time_entry("time::Ticker::new");
        let p = ns(d);
        let (t, c) = new_chan_timer(when(d), p);
        Ticker { t, c }
    }

    /// The channel of ticks (Go's `t.C`).
    pub fn c(&self) -> &RecvChan<Instant> {
        &self.c
    }

    /// Turns the ticker off: Go's `Stop`. No tick is received afterwards.
    #[track_caller]
    pub fn stop(&self) {
        time_entry("Ticker::stop");
        self.t.stop();
    }

    /// Stops the ticker and restarts it with period `d`: Go's `Reset`.
    ///
    /// # Panics
    /// `non-positive interval for Ticker.Reset` if `d` is zero.
    #[track_caller]
    pub fn reset(&self, d: Duration) {
        if d.is_zero() {
            panic!("non-positive interval for Ticker.Reset");
        }
        time_entry("Ticker::reset");
        self.t.reset(when(d), ns(d));
    }
}

/// The channel of a new ticker that is never stopped: Go's `time.Tick`.
/// Returns the nil channel when `d` is zero, as Go does for `d <= 0`.
#[track_caller]
pub fn tick(d: Duration) -> RecvChan<Instant> {
    if d.is_zero() {
        return RecvChan::default();
    }
    time_entry("time::tick");
    let (_t, c) = new_chan_timer(when(d), ns(d));
    c
}

/// The entry of the timer API: on a goroutine, timers the scheduler
/// released last get a goroutine to drop them (see `runtime_p::time`'s
/// docs). A plain thread may use channel timers (the thread that waits on
/// one runs it when due); `syscall::blocking` and g0 may not.
#[track_caller]
fn time_entry(what: &str) {
    if runtime_p::proc::on_plain_thread() {
        // Timers read the OS layer's clock: the layer a runtime would use.
        crate::builder::ensure_os_layer();
        return;
    }
    crate::runtime_check(what);
    runtime_p::time::reap_graveyard();
}

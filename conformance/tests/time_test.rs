//! Port of go1.27 `time/sleep_test.go` and `time/tick_test.go`, and of the
//! timer tests of `runtime/proc_test.go`.
//!
//! Go's `Duration` may be negative; std's may not, so the negative cases of
//! TestOverflowSleep and the `-1` of TestTick/TestNewTickerLtZeroDuration
//! use zero, which Go treats the same way. `runtime.GC()` in the stress
//! tests becomes `gosched` (gort has no collector). Go's export_test
//! `newTimerFunc` (an AfterFunc timer feeding a channel) is
//! [`new_timer_func`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gort::sync::WaitGroup;
use gort::time::{Ticker, Timer, after, after_func, sleep, tick};
use gort::{Chan, RecvChan, TryRecvError, select};

/// Go's export_test `newTimerFunc`: an AfterFunc timer whose function
/// sends the time on a channel of one.
fn new_timer_func(d: Duration) -> (Timer, RecvChan<Instant>) {
    let c: Chan<Instant> = Chan::new(1);
    let c2 = c.clone();
    let t = after_func(d, move || c2.send(Instant::now()));
    (t, c.receiver())
}

mod sleep_test {
    use super::*;

    // go-test: TestSleep (sleep_test.go)
    // Go's `Interrupt()` (time's sys_unix.go) sends SIGCHLD to the process
    // half-way; so does this.
    #[gort::test(both)]
    unsafe fn test_sleep() {
        let delay = Duration::from_millis(100);
        gort::go(move || {
            sleep(delay / 2);
            // SAFETY: kill(2) to our own process with a signal whose
            // default action is to be ignored.
            unsafe { libc::kill(libc::getpid(), libc::SIGCHLD) };
        });
        let start = Instant::now();
        sleep(delay);
        let duration = start.elapsed();
        assert!(
            duration >= delay,
            "Sleep({delay:?}) slept for only {duration:?}"
        );
    }

    // go-test: TestAfterFunc (sleep_test.go)
    #[gort::test(both)]
    unsafe fn test_after_func() {
        let i = Arc::new(AtomicI32::new(10));
        let c: Chan<bool> = Chan::new(0);
        fn f(i: Arc<AtomicI32>, c: Chan<bool>) {
            if i.fetch_sub(1, Ordering::SeqCst) > 0 {
                let (i2, c2) = (i.clone(), c.clone());
                after_func(Duration::ZERO, move || f(i2.clone(), c2.clone()));
                sleep(Duration::from_secs(1));
            } else {
                c.send(true);
            }
        }
        let (i2, c2) = (i.clone(), c.clone());
        after_func(Duration::ZERO, move || f(i2.clone(), c2.clone()));
        c.recv();
    }

    // go-test: TestTickerStress (sleep_test.go)
    #[gort::test(both)]
    unsafe fn test_ticker_stress() {
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        gort::go(move || {
            while !s2.load(Ordering::SeqCst) {
                gort::gosched();
                sleep(Duration::from_nanos(1));
            }
        });
        let ticker = Ticker::new(Duration::from_nanos(1));
        for _ in 0..100 {
            ticker.c().recv();
        }
        ticker.stop();
        stop.store(true, Ordering::SeqCst);
    }

    // go-test: TestTickerConcurrentStress (sleep_test.go)
    #[gort::test(both)]
    unsafe fn test_ticker_concurrent_stress() {
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        gort::go(move || {
            while !s2.load(Ordering::SeqCst) {
                gort::gosched();
                sleep(Duration::from_nanos(1));
            }
        });
        let ticker = Arc::new(Ticker::new(Duration::from_nanos(1)));
        let wg = Arc::new(WaitGroup::new());
        for _ in 0..10 {
            let t = ticker.clone();
            wg.go(move || {
                for _ in 0..100 {
                    t.c().recv();
                }
            });
        }
        wg.wait();
        ticker.stop();
        stop.store(true, Ordering::SeqCst);
    }

    // go-test: TestAfterFuncStarvation (sleep_test.go)
    #[gort::test(both, gomaxprocs = 1)]
    unsafe fn test_after_func_starvation() {
        let wg = Arc::new(WaitGroup::new());
        let stop = Arc::new(AtomicBool::new(false));
        let c: Chan<bool> = Chan::new(1);
        {
            let (stop, c) = (stop.clone(), c.clone());
            wg.go(move || {
                while !stop.load(Ordering::SeqCst) {
                    c.send(true);
                }
                c.close();
            });
        }
        {
            let c = c.clone();
            wg.go(move || for _ in &c {});
        }
        let s2 = stop.clone();
        after_func(Duration::from_micros(1), move || {
            s2.store(true, Ordering::SeqCst)
        });
        wg.wait();
    }

    // go-test: TestAfter (sleep_test.go)
    #[gort::test(both)]
    unsafe fn test_after() {
        let delay = Duration::from_millis(100);
        let start = Instant::now();
        let end = after(delay).recv().unwrap();
        let duration = start.elapsed();
        assert!(
            duration >= delay,
            "After({delay:?}) slept for only {duration:?}"
        );
        assert!(
            end >= start + delay,
            "After({delay:?}) expect >= start+delay"
        );
    }

    // go-test: TestAfterTick (sleep_test.go)
    #[gort::test(both)]
    unsafe fn test_after_tick() {
        const COUNT: u32 = 10;
        let delta = Duration::from_millis(100);
        let t0 = Instant::now();
        for _ in 0..COUNT {
            after(delta).recv();
        }
        let d = t0.elapsed();
        let target = delta * COUNT;
        assert!(
            d >= target * 9 / 10,
            "{COUNT} ticks of {delta:?} too fast: took {d:?}"
        );
        assert!(
            d <= target * 3,
            "{COUNT} ticks of {delta:?} too slow: took {d:?}"
        );
    }

    fn after_stop(new_timer: fn(Duration) -> (Timer, RecvChan<Instant>)) {
        let mut errs = Vec::new();
        for _ in 0..5 {
            after_func(Duration::from_millis(100), || {});
            let (t0, c0) = new_timer(Duration::from_millis(50));
            let c1: Chan<bool> = Chan::new(1);
            let c1s = c1.clone();
            let t1 = after_func(Duration::from_millis(150), move || c1s.send(true));
            let c2 = after(Duration::from_millis(200));
            if !t0.stop() {
                errs.push("failed to stop event 0");
                continue;
            }
            if !t1.stop() {
                errs.push("failed to stop event 1");
                continue;
            }
            c2.recv();
            let bad = select! {
                recv(c0) -> _v => Some("event 0 was not stopped"),
                recv(c1) -> _v => Some("event 1 was not stopped"),
                default => None,
            };
            if let Some(e) = bad {
                errs.push(e);
                continue;
            }
            if t1.stop() {
                errs.push("Stop returned true twice");
                continue;
            }
            return;
        }
        panic!("saw {} errors: {errs:?}", errs.len());
    }

    // go-test: TestAfterStop (sleep_test.go)
    #[gort::test(both)]
    unsafe fn test_after_stop() {
        after_stop(|d| {
            let t = Timer::new(d);
            let c = t.c().clone();
            (t, c)
        });
        after_stop(new_timer_func);
    }

    const SLOTS: [u32; 13] = [5, 3, 6, 6, 6, 1, 1, 2, 7, 9, 4, 8, 0];

    fn after_queuing1(
        delta: Duration,
        after: fn(Duration) -> RecvChan<Instant>,
    ) -> Result<(), String> {
        let result: Chan<(u32, Instant)> = Chan::new(SLOTS.len());
        let t0 = Instant::now();
        for slot in SLOTS {
            let (r, ac) = (result.clone(), after(delta * slot));
            gort::go(move || r.send((slot, ac.recv().unwrap())));
        }
        let mut order = Vec::new();
        let mut times = Vec::new();
        for _ in SLOTS {
            let (slot, t) = result.recv().unwrap();
            order.push(slot);
            times.push(t);
        }
        if order.windows(2).any(|w| w[1] < w[0]) {
            return Err(format!("After calls returned out of order: {order:?}"));
        }
        for (i, t) in times.iter().enumerate() {
            let dt = t.saturating_duration_since(t0);
            let target = delta * order[i];
            if dt + delta / 2 < target || dt > target + delta * 10 {
                return Err(format!("After({target:?}) arrived at {dt:?}"));
            }
        }
        Ok(())
    }

    fn after_queuing(after: fn(Duration) -> RecvChan<Instant>) {
        let mut err = Err(String::new());
        for i in 0..5u32 {
            let delta = Duration::from_millis((20 + i * 50) as u64);
            err = after_queuing1(delta, after);
            if err.is_ok() {
                break;
            }
        }
        err.unwrap();
    }

    // go-test: TestAfterQueuing (sleep_test.go)
    #[gort::test(both)]
    unsafe fn test_after_queuing() {
        after_queuing(after);
        after_queuing(|d| new_timer_func(d).1);
    }

    // go-test: TestTimerStopStress (sleep_test.go)
    #[gort::test(both)]
    unsafe fn test_timer_stop_stress() {
        let fired = Arc::new(AtomicUsize::new(0));
        for _ in 0..100 {
            let fired = fired.clone();
            gort::go(move || {
                let f = fired.clone();
                let timer = after_func(Duration::from_secs(2), move || {
                    f.fetch_add(1, Ordering::SeqCst);
                });
                sleep(Duration::from_secs(1));
                timer.stop();
            });
        }
        sleep(Duration::from_secs(3));
        assert_eq!(fired.load(Ordering::SeqCst), 0, "a timer was not stopped");
    }

    // go-test: TestSleepZeroDeadlock (sleep_test.go)
    #[gort::test(both, gomaxprocs = 4)]
    unsafe fn test_sleep_zero_deadlock() {
        let c: Chan<bool> = Chan::new(0);
        let c2 = c.clone();
        gort::go(move || {
            for _ in 0..100 {
                gort::gosched();
            }
            c2.send(true);
        });
        for _ in 0..100 {
            sleep(Duration::ZERO);
            let tmp: Chan<bool> = Chan::new(1);
            tmp.send(true);
            tmp.recv();
        }
        c.recv();
    }

    fn test_reset_once(d: Duration) -> Result<(), &'static str> {
        let t0 = Timer::new(2 * d);
        sleep(d);
        if !t0.reset(3 * d) {
            return Err("resetting unfired timer returned false");
        }
        sleep(2 * d);
        if t0.c().try_recv().is_ok() {
            return Err("timer fired early");
        }
        sleep(2 * d);
        if t0.c().try_recv().is_err() {
            return Err("reset timer did not fire");
        }
        if t0.reset(Duration::from_millis(50)) {
            return Err("resetting expired timer returned true");
        }
        Ok(())
    }

    // go-test: TestReset (sleep_test.go)
    #[gort::test(both)]
    unsafe fn test_reset() {
        let mut d = Duration::from_millis(1);
        loop {
            match test_reset_once(d) {
                Ok(()) => break,
                Err(e) => {
                    d *= 2;
                    assert!(d <= Duration::from_secs(10), "{e}");
                }
            }
        }
    }

    // go-test: TestOverflowPeriodRuntimeTimer (sleep_test.go)
    // Go's CheckRuntimeTimerPeriodOverflow (internal_test.go): a runtime
    // timer that is due now with a period of 1<<63-1, whose next `when`
    // overflows; a short timer must still fire (a broken heap would throw
    // or hang it).
    #[gort::test(both)]
    unsafe fn test_overflow_period_runtime_timer() {
        let t = runtime_p::time::Timer::new(
            runtime_p::time::TimerFn::Go {
                f: Arc::new(|| {}),
                user_drop: false,
            },
            false,
        );
        t.modify(runtime_p::time::nanotime(), i64::MAX, None);
        after(Duration::from_millis(25)).recv();
        t.stop();
    }

    /// The Duration::MAX variant (issue 19): a timer, a ticker and an
    /// `after` channel at gort's largest duration are accepted, never fire,
    /// and leave the other timers working.
    #[gort::test(both)]
    unsafe fn overflow_duration_max_timers() {
        let t = Timer::new(Duration::MAX);
        let k = Ticker::new(Duration::MAX);
        let a = after(Duration::MAX);
        let fired = AtomicBool::new(false);
        select! {
            recv(t.c()) -> _v => fired.store(true, Ordering::SeqCst),
            recv(k.c()) -> _v => fired.store(true, Ordering::SeqCst),
            recv(a) -> _v => fired.store(true, Ordering::SeqCst),
            recv(after(Duration::from_millis(25))) -> _v => {}
        }
        assert!(!fired.load(Ordering::SeqCst), "a Duration::MAX timer fired");
        assert!(t.stop(), "the Duration::MAX timer is still pending");
        k.stop();
    }

    // go-test: TestOverflowSleep (sleep_test.go)
    #[gort::test(both)]
    unsafe fn test_overflow_sleep() {
        let big = Duration::from_nanos(i64::MAX as u64);
        gort::go(move || {
            sleep(big);
            panic!("big sleep returned");
        });
        select! {
            recv(after(big)) -> _v => panic!("big timeout fired"),
            recv(after(Duration::from_millis(25))) -> _v => {}
        }
        // Go's negative durations: zero here, which Go treats alike.
        sleep(Duration::ZERO);
        select! {
            recv(after(Duration::ZERO)) -> _v => {}
            recv(after(Duration::from_secs(1))) -> _v => panic!("zero timeout didn't fire"),
        }
    }

    // go-test: TestTimerModifiedEarlier (sleep_test.go)
    #[gort::test(both)]
    unsafe fn test_timer_modified_earlier() {
        let count = 1000;
        let mut fail = 0;
        for _ in 0..count {
            let (timer, c) = new_timer_func(Duration::from_secs(3600));
            for _ in 0..10 {
                if !timer.stop() {
                    c.recv();
                }
                timer.reset(Duration::ZERO);
            }
            let deadline = Timer::new(Duration::from_secs(10));
            let now = Instant::now();
            select! {
                recv(c) -> _v => {
                    if now.elapsed() > Duration::from_secs(8) {
                        fail += 1;
                    }
                }
                recv(deadline.c()) -> _v => panic!("deadline expired"),
            }
            deadline.stop();
        }
        assert_eq!(fail, 0, "{fail} failures");
    }

    // go-test: TestAdjustTimers (sleep_test.go)
    #[gort::test(both)]
    unsafe fn test_adjust_timers() {
        let mut seed = Instant::now().elapsed().as_nanos() as u64 | 1;
        let mut rnd = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        const N: usize = 100;
        let mut timers: Vec<Option<(Timer, RecvChan<Instant>)>> = (0..N).map(|_| None).collect();
        let mut states = vec![0; N];
        let mut indices: Vec<usize> = (0..N).collect();
        for i in (1..N).rev() {
            indices.swap(i, rnd(i + 1));
        }
        while !indices.is_empty() {
            let ii = rnd(indices.len());
            let i = indices[ii];
            let state = states[i];
            states[i] += 1;
            match state {
                0 => timers[i] = Some(new_timer_func(Duration::ZERO)),
                1 => {
                    timers[i].as_ref().unwrap().1.recv(); // idle now
                }
                2 => assert!(
                    !timers[i].as_ref().unwrap().0.reset(Duration::from_secs(60)),
                    "shouldn't be active (1)"
                ),
                4 => assert!(
                    !timers[i]
                        .as_ref()
                        .unwrap()
                        .0
                        .reset(Duration::from_secs(180)),
                    "shouldn't be active (3)"
                ),
                6 => assert!(
                    !timers[i]
                        .as_ref()
                        .unwrap()
                        .0
                        .reset(Duration::from_secs(120)),
                    "shouldn't be active (2)"
                ),
                3 | 5 | 7 => {
                    let (t, c) = timers[i].as_ref().unwrap();
                    if !t.stop() {
                        c.recv();
                    }
                }
                8 => assert!(
                    !timers[i].as_ref().unwrap().0.reset(Duration::ZERO),
                    "timer.Reset returned true"
                ),
                9 => {
                    let now = Instant::now();
                    timers[i].as_ref().unwrap().1.recv();
                    let dur = now.elapsed();
                    assert!(
                        dur <= Duration::from_millis(750),
                        "timer {i} took {dur:?} to complete"
                    );
                }
                10 => {
                    let last = indices.len() - 1;
                    indices[ii] = indices[last];
                    indices.pop();
                }
                _ => unreachable!(),
            }
        }
    }

    fn stop_reset_result(test_stop: bool) {
        let stop_or_reset = move |t: &Timer| {
            if test_stop {
                t.stop()
            } else {
                t.reset(Duration::from_secs(3600))
            }
        };
        let start: Chan<()> = Chan::new(0);
        let wg = Arc::new(WaitGroup::new());
        const N: usize = 1000;
        for _ in 0..N {
            let start = start.clone();
            wg.go(move || {
                start.recv();
                for _ in 0..100 {
                    let timer1 = Timer::new(Duration::from_millis(1));
                    let timer2 = Timer::new(Duration::from_millis(1));
                    select! {
                        recv(timer1.c()) -> _v => {
                            if !stop_or_reset(&timer2) {
                                timer2.c().recv();
                            }
                        }
                        recv(timer2.c()) -> _v => {
                            if !stop_or_reset(&timer1) {
                                timer1.c().recv();
                            }
                        }
                    }
                }
            });
        }
        start.close();
        wg.wait();
    }

    // go-test: TestStopResult (sleep_test.go)
    #[gort::test(both)]
    unsafe fn test_stop_result() {
        stop_reset_result(true);
    }

    // go-test: TestResetResult (sleep_test.go)
    #[gort::test(both)]
    unsafe fn test_reset_result() {
        stop_reset_result(false);
    }

    fn zero_timer(mut new_timer: impl FnMut(Duration) -> RecvChan<Instant>) {
        for _ in 0..1_000_000 {
            let s = Instant::now();
            let c = new_timer(Duration::ZERO);
            c.recv();
            let diff = s.elapsed();
            assert!(
                diff <= Duration::from_secs(2),
                "Expected time to get value from Timer channel in less than 2 sec, took {diff:?}"
            );
        }
    }

    // go-test: TestZeroTimer (sleep_test.go)
    // Go's count (1e6 per variant); release-only, run by scripts/test.sh.
    #[gort::test(both)]
    #[ignore = "release-only: Go's 3 × 1,000,000 timers"]
    unsafe fn test_zero_timer() {
        zero_timer(|d| Timer::new(d).c().clone());
        zero_timer(|d| new_timer_func(d).1);
        let (timer, c) = new_timer_func(Duration::from_secs(3600));
        zero_timer(move |d| {
            timer.reset(d);
            c.clone()
        });
    }

    // go-test: TestMultiWakeupTicker (sleep_test.go)
    #[gort::test(both)]
    unsafe fn test_multi_wakeup_ticker() {
        let goroutines = gort::gomaxprocs(0);
        let timer = Arc::new(Ticker::new(Duration::from_micros(1)));
        let wg = Arc::new(WaitGroup::new());
        for _ in 0..goroutines {
            let timer = timer.clone();
            wg.go(move || {
                for _ in 0..100_000 {
                    select! {
                        recv(timer.c()) -> _v => {}
                        recv(after(Duration::from_millis(1))) -> _v => {}
                    }
                }
            });
        }
        wg.wait();
    }

    // go-test: TestMultiWakeupTimer (sleep_test.go)
    #[gort::test(both)]
    unsafe fn test_multi_wakeup_timer() {
        let goroutines = gort::gomaxprocs(0);
        let timer = Arc::new(Timer::new(Duration::from_nanos(1)));
        let wg = Arc::new(WaitGroup::new());
        for _ in 0..goroutines {
            let timer = timer.clone();
            wg.go(move || {
                for _ in 0..10_000 {
                    select! {
                        recv(timer.c()) -> _v => {}
                        default => {}
                    }
                    timer.reset(Duration::from_nanos(1));
                }
            });
        }
        wg.wait();
    }
}

mod tick_test {
    use super::*;

    // go-test: TestTicker (tick_test.go)
    #[gort::test(both)]
    unsafe fn test_ticker() {
        let mut errs = Vec::new();
        for (count, delta) in [
            (10u32, Duration::from_millis(20)),
            (8, Duration::from_secs(1)),
        ] {
            let ticker = Ticker::new(delta);
            let t0 = Instant::now();
            for _ in 0..count / 2 {
                ticker.c().recv();
            }
            ticker.reset(delta * 2);
            for _ in 0..count - count / 2 {
                ticker.c().recv();
            }
            ticker.stop();
            let dt = t0.elapsed();
            let target = 3 * delta * (count / 2);
            let slop = target * 3 / 10;
            if dt < target - slop || dt > target + slop {
                errs.push(format!(
                    "{} {delta:?} ticks then {} {:?} ticks took {dt:?}, expected [{:?},{:?}]",
                    count / 2,
                    count / 2,
                    delta * 2,
                    target - slop,
                    target + slop
                ));
                if dt > target + slop {
                    sleep(Duration::from_millis(500));
                }
                continue;
            }
            // No tick after Stop.
            sleep(2 * delta);
            if ticker.c().try_recv().is_ok() {
                errs.push("Ticker did not shut down".into());
                continue;
            }
            return;
        }
        panic!("saw {} errors: {errs:?}", errs.len());
    }

    // go-test: TestTeardown (tick_test.go)
    #[gort::test(both)]
    unsafe fn test_teardown() {
        for _ in 0..3 {
            let ticker = Ticker::new(Duration::from_millis(100));
            ticker.c().recv();
            ticker.stop();
        }
    }

    // go-test: TestTick (tick_test.go)
    #[gort::test(both)]
    unsafe fn test_tick() {
        assert!(tick(Duration::ZERO).is_nil(), "Tick(0) must be nil");
    }

    // go-test: TestNewTickerLtZeroDuration (tick_test.go)
    #[gort::test(both)]
    unsafe fn test_new_ticker_lt_zero_duration() {
        let r = std::panic::catch_unwind(|| Ticker::new(Duration::ZERO));
        assert!(r.is_err(), "NewTicker(0) should have panicked");
    }

    // go-test: TestTickerResetLtZeroDuration (tick_test.go)
    #[gort::test(both)]
    unsafe fn test_ticker_reset_lt_zero_duration() {
        let tk = Ticker::new(Duration::from_secs(1));
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tk.reset(Duration::ZERO)));
        assert!(r.is_err(), "Ticker.Reset(0) should have panicked");
    }

    // go-test: TestLongAdjustTimers (tick_test.go)
    // Go's counts; release-only, run by scripts/test.sh.
    #[gort::test(both)]
    #[ignore = "release-only: Go's 1,000,000 selects with a 5 s timer"]
    unsafe fn test_long_adjust_timers() {
        let wg = Arc::new(WaitGroup::new());
        const COUNT: usize = 5000;
        for _ in 0..COUNT {
            wg.go(|| sleep(Duration::from_micros(10)));
        }
        for _ in 0..COUNT {
            sleep(Duration::from_micros(1));
        }
        let done: Chan<bool> = Chan::new(0);
        let d2 = done.clone();
        let _deadline = after_func(Duration::from_secs(60), move || d2.close());
        let in_q: Chan<Box<dyn FnOnce() + Send>> = Chan::new(0);
        let out_q: Chan<Box<dyn FnOnce() + Send>> = Chan::new(0);
        {
            let (in_q, out_q, done) = (in_q.clone(), out_q.clone(), done.clone());
            wg.go(move || {
                let mut q: std::collections::VecDeque<Box<dyn FnOnce() + Send>> =
                    std::collections::VecDeque::new();
                loop {
                    // A nil channel disables the send case while q is empty.
                    let send_to = if q.is_empty() {
                        Chan::nil()
                    } else {
                        out_q.clone()
                    };
                    let next = q.pop_front();
                    let had = next.is_some();
                    let send: Box<dyn FnOnce() + Send> = next.unwrap_or_else(|| Box::new(|| {}));
                    let mut sent = false;
                    let stop = gort::select! {
                        send(send_to, send) => { sent = true; false }
                        recv(in_q) -> f => match f {
                            Some(f) => { q.push_back(f); false }
                            None => true,
                        },
                        recv(done) -> _v => true,
                    };
                    if had && !sent {
                        // The case was not chosen: its value was dropped;
                        // requeue a fresh item in its place (items are no-ops).
                        q.push_front(Box::new(|| {}));
                    }
                    if stop {
                        break;
                    }
                }
                out_q.close();
            });
        }
        for i in 0..50_000 {
            const TRY: usize = 20;
            for _ in 0..TRY {
                in_q.send(Box::new(|| {}));
            }
            for _ in 0..TRY {
                gort::select! {
                    recv(out_q) -> f => assert!(f.is_some(), "output channel is closed"),
                    recv(after(Duration::from_secs(5))) -> _v => panic!("failed to read work, iteration {i}"),
                    recv(done) -> _v => panic!("timer expired"),
                }
            }
        }
        in_q.close();
        wg.wait();
    }

    /// Both tests below: a channel made to fire after 10ms but read after
    /// 500ms must carry the time it fired, not the time it was read
    /// (retried, as Go does, since a loaded machine can delay the timer).
    fn delivers_fire_time(what: &str, make: fn(Duration) -> RecvChan<Instant>) {
        for _ in 0..10 {
            let start = Instant::now();
            let c = make(Duration::from_millis(10));
            sleep(Duration::from_millis(500));
            let dt = c.recv().unwrap().saturating_duration_since(start);
            if dt < Duration::from_millis(400) {
                return;
            }
        }
        panic!("{what}(10ms) delivers the read time, not the fire time");
    }

    // go-test: TestAfterTimes (tick_test.go)
    #[gort::test(both)]
    unsafe fn test_after_times() {
        delivers_fire_time("After", after);
    }

    // go-test: TestTickTimes (tick_test.go)
    #[gort::test(both)]
    unsafe fn test_tick_times() {
        delivers_fire_time("Tick", tick);
    }

    /// Go's `timer` interface of TestChan: Stop and Reset that report
    /// whether the timer was pending.
    trait TimerLike {
        fn stop(&mut self) -> bool;
        fn reset(&mut self, d: Duration) -> bool;
    }

    impl TimerLike for Timer {
        fn stop(&mut self) -> bool {
            Timer::stop(self)
        }
        fn reset(&mut self, d: Duration) -> bool {
            Timer::reset(self, d)
        }
    }

    /// Go's tickerTimer: a Ticker with Timer's signatures.
    struct TickerTimer {
        ticker: Ticker,
        stopped: bool,
    }

    impl TimerLike for TickerTimer {
        fn stop(&mut self) -> bool {
            let pending = !self.stopped;
            self.stopped = true;
            self.ticker.stop();
            pending
        }
        fn reset(&mut self, d: Duration) -> bool {
            let pending = !self.stopped;
            self.stopped = false;
            self.ticker.reset(d);
            pending
        }
    }

    // go-test: TestChan (tick_test.go)
    // Go's t.Errorf calls are assertions here (the test stops at the
    // first). Go's Reset(1) (one nanosecond) is 1 ns.
    #[gort::test(both)]
    unsafe fn test_chan() {
        let tim = Timer::new(Duration::from_secs(10000));
        let c = tim.c().clone();
        test_timer_chan(tim, c, false);
        let ticker = Ticker::new(Duration::from_secs(10000));
        let c = ticker.c().clone();
        test_timer_chan(
            TickerTimer {
                ticker,
                stopped: false,
            },
            c,
            true,
        );
    }

    fn test_timer_chan(mut tim: impl TimerLike, c: RecvChan<Instant>, is_ticker: bool) {
        const SCHED: Duration = Duration::from_millis(10);
        const TRIES: usize = 100;
        const NS: Duration = Duration::from_nanos(1);
        let no_tick = |c: &RecvChan<Instant>| {
            assert!(c.try_recv().is_err(), "extra tick");
        };
        let assert_tick = |c: &RecvChan<Instant>| {
            if c.try_recv().is_ok() {
                return;
            }
            for _ in 0..TRIES {
                sleep(SCHED);
                if c.try_recv().is_ok() {
                    return;
                }
            }
            panic!("missing tick");
        };
        // Go's `case <-done:` is ready for a value or a closed channel.
        let ready = |done: &Chan<bool>| !matches!(done.try_recv(), Err(TryRecvError::Empty));
        let not_done = |done: &Chan<bool>| {
            assert!(!ready(done), "early done");
        };
        let wait_done = |done: &Chan<bool>| {
            for _ in 0..TRIES {
                sleep(SCHED);
                if ready(done) {
                    return;
                }
            }
            panic!("never got done");
        };

        // Simple stop; timer never in heap.
        tim.stop();
        no_tick(&c);
        // Modify of timer not in heap.
        tim.reset(Duration::from_secs(10000));
        no_tick(&c);
        // Modify of timer in heap.
        tim.reset(NS);
        sleep(SCHED);
        assert_eq!((c.len(), c.cap()), (0, 0), "len(C), cap(C)");
        assert_tick(&c);
        // Long enough that a ticker must tick again: Reset keeps no stale
        // tick.
        sleep(SCHED);
        tim.reset(Duration::from_secs(10000));
        no_tick(&c);

        tim.reset(Duration::from_secs(10000));
        // Stop while the timer is in the heap (a goroutine blocked on C).
        let done: Chan<bool> = Chan::new(0);
        not_done(&done);
        {
            let (c, done) = (c.clone(), done.clone());
            gort::go(move || {
                c.recv();
                done.close();
            });
        }
        sleep(SCHED);
        not_done(&done);
        // Reset far away while in the heap.
        tim.reset(Duration::from_secs(20000));
        sleep(SCHED);
        not_done(&done);
        // Imminent reset while in the heap.
        tim.reset(NS);
        wait_done(&done);
        // A ticker has ticked again already (1 ns apart); a timer stopped.
        if is_ticker {
            assert_tick(&c);
        } else {
            no_tick(&c);
        }
        tim.stop();
        no_tick(&c);

        // Again with select and two goroutines waiting.
        tim.reset(Duration::from_secs(10000));
        let done: Chan<bool> = Chan::new(2);
        let done1: Chan<bool> = Chan::new(0);
        let done2: Chan<bool> = Chan::new(0);
        let stop: Chan<bool> = Chan::new(0);
        for d in [done1.clone(), done2.clone()] {
            let (c, done, stop) = (c.clone(), done.clone(), stop.clone());
            gort::go(move || {
                select! {
                    recv(c) -> _v => done.send(true),
                    recv(stop) -> _v => {}
                }
                d.close();
            });
        }
        sleep(SCHED);
        not_done(&done);
        tim.reset(SCHED / 2);
        sleep(SCHED);
        wait_done(&done);
        tim.stop();
        stop.close();
        wait_done(&done1);
        wait_done(&done2);
        if is_ticker {
            // An extra send might have sent done again (done is buffered),
            // and one after that might have filled C.
            let _ = done.try_recv();
            let _ = c.try_recv();
        }
        not_done(&done);

        // enqueueTimerChan while the timer is stopped.
        let stop: Chan<bool> = Chan::new(0);
        let done: Chan<bool> = Chan::new(2);
        for _ in 0..2 {
            let (c, done, stop) = (c.clone(), done.clone(), stop.clone());
            gort::go(move || {
                select! {
                    recv(c) -> _v => panic!("unexpected data"),
                    recv(stop) -> _v => {}
                }
                done.send(true);
            });
        }
        sleep(SCHED);
        stop.close();
        wait_done(&done);
        wait_done(&done);

        // Stop and Reset keep old values from being received (Go's
        // proposal 37196).
        tim.reset(NS);
        sleep(Duration::from_millis(10));
        assert!(tim.stop(), "tim.stop() = false, want true");
        no_tick(&c);
        tim.reset(Duration::from_secs(3600));
        no_tick(&c);
        assert!(tim.reset(NS), "tim.reset() = false, want true");
        assert_tick(&c);
        sleep(Duration::from_millis(10));
        if is_ticker {
            assert_tick(&c);
            sleep(Duration::from_millis(10));
        } else {
            no_tick(&c);
        }
        assert_eq!(
            tim.reset(Duration::from_secs(3600)),
            is_ticker,
            "tim.reset(hour)"
        );
        no_tick(&c);
    }
}

mod proc_test {
    use super::*;

    // go-test: TestTimerFairness (proc_test.go)
    #[gort::test(both)]
    unsafe fn test_timer_fairness() {
        let done: Chan<bool> = Chan::new(0);
        let c: Chan<bool> = Chan::new(0);
        for _ in 0..2 {
            let (done, c) = (done.clone(), c.clone());
            gort::go(move || {
                loop {
                    select! {
                        send(c, true) => {}
                        recv(done) -> _v => return,
                    }
                }
            });
        }
        let timer = after(Duration::from_millis(20));
        loop {
            select! {
                recv(c) -> _v => {}
                recv(timer) -> _v => {
                    done.close();
                    return;
                }
            }
        }
    }

    // go-test: TestTimerFairness2 (proc_test.go)
    // Adapted: Go's zero-length syscall.Read is `gort::syscall::blocking`
    // around nothing (an entersyscall/exitsyscall pair).
    #[gort::test(both)]
    unsafe fn test_timer_fairness2() {
        let done: Chan<bool> = Chan::new(0);
        let c: Chan<bool> = Chan::new(0);
        for _ in 0..2 {
            let (done, c) = (done.clone(), c.clone());
            gort::go(move || {
                let timer = after(Duration::from_millis(20));
                loop {
                    gort::syscall::blocking(|| {});
                    select! {
                        send(c, true) => {}
                        recv(c) -> _v => {}
                        recv(timer) -> _v => {
                            done.send(true);
                            return;
                        }
                    }
                }
            });
        }
        done.recv();
        done.recv();
    }

    // go-test: TestYieldLocked (proc_test.go)
    // Migrating mode only in Go's form (in the safe mode the goroutine may
    // start on main's thread, where lock_os_thread fails by design); the
    // safe variant starts it with spawn_dedicated.
    #[gort::test(migrating)]
    unsafe fn test_yield_locked() {
        yield_locked(false);
    }

    #[gort::test]
    fn test_yield_locked_dedicated() {
        yield_locked(true);
    }

    fn yield_locked(dedicated: bool) {
        const N: usize = 10;
        let c: Chan<bool> = Chan::new(0);
        let c2 = c.clone();
        let body = move || {
            gort::lock_os_thread();
            for _ in 0..N {
                gort::gosched();
                sleep(Duration::from_millis(1));
            }
            c2.send(true);
            // The goroutine exits locked.
        };
        if dedicated {
            drop(gort::spawn_dedicated(body));
        } else {
            gort::go(body);
        }
        c.recv();
    }
}

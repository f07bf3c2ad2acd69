//! Port of go1.27 `context/x_test.go`, `context/context_test.go` and
//! `context/net_test.go` (gort::context).
//!
//! Adaptations, throughout: Go's `otherContext` and custom contexts wrap
//! the `Context` interface, which gort's single `Context` type does not
//! have (TestCustomContext*, TestCustomContextAfterFunc*, the custom rows
//! of TestCause are not ported); Go's tests that read `cancelCtx.children`
//! use the hidden `Context::__children_len`. TestAllocs counts Go's heap
//! allocations, TestWithValueChecksKey and TestInvalidDerivedFail check
//! run-time panics that Rust's types rule out at compile time (a key must
//! be `PartialEq`; there is no nil parent): not ported.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gort::context::{
    self, Cause, Context, Error, after_func, background, cause, todo, with_cancel,
    with_cancel_cause, with_deadline, with_timeout, with_timeout_cause, with_value, without_cancel,
};
use gort::sync::WaitGroup;
use gort::{Chan, select};

const SHORT: Duration = Duration::from_millis(1);
const VERY_LONG: Duration = Duration::from_secs(1000 * 3600);
/// Go's quiescent(t) without a test deadline.
const QUIESCENT: Duration = Duration::from_secs(5);

fn is_done(c: &Context) -> bool {
    select! {
        recv(c.done()) -> _v => true,
        default => false,
    }
}

fn err_cause(msg: &str) -> Cause {
    Arc::new(std::io::Error::other(msg.to_string()))
}

// go-test: TestBackground (x_test.go)
#[gort::test(both)]
unsafe fn test_background() {
    let c = background();
    assert!(!is_done(&c), "<-c.Done() should block");
    assert!(c.done().is_nil());
    assert_eq!(c.to_string(), "context.Background");
}

// go-test: TestTODO (x_test.go)
#[gort::test(both)]
unsafe fn test_todo() {
    let c = todo();
    assert!(!is_done(&c), "<-c.Done() should block");
    assert_eq!(c.to_string(), "context.TODO");
}

// go-test: TestWithCancel (x_test.go)
// Go's `otherContext{c1}` (an interface wrapper) is a value node here,
// which passes everything through to its parent as the wrapper does.
#[gort::test(both)]
unsafe fn test_with_cancel() {
    let (c1, cancel) = with_cancel(&background());
    assert_eq!(c1.to_string(), "context.Background.WithCancel");
    let o = with_value(&c1, OtherKey, None::<()>);
    let (c2, _c2cancel) = with_cancel(&o);
    let contexts = [c1, o, c2];
    for (i, c) in contexts.iter().enumerate() {
        assert!(!c.done().is_nil(), "c[{i}].Done() is nil");
        assert_eq!(c.err(), None, "c[{i}].Err()");
        assert!(!is_done(c), "c[{i}] done before cancel");
    }
    cancel.cancel(); // propagates synchronously
    for (i, c) in contexts.iter().enumerate() {
        assert!(is_done(c), "<-c[{i}].Done() blocked");
        assert_eq!(c.err(), Some(Error::Canceled), "c[{i}].Err()");
    }
}

/// The key of the value nodes that stand in for Go's `otherContext`.
#[derive(PartialEq)]
struct OtherKey;

// go-test: TestParentFinishesChild (x_test.go)
#[gort::test(both)]
unsafe fn test_parent_finishes_child() {
    // parent -> cancel_child; parent -> value_child -> timer_child;
    // parent -> an after_func
    let (parent, cancel) = with_cancel(&background());
    let (cancel_child, stop1) = with_cancel(&parent);
    let value_child = with_value(&parent, "key", Some("value"));
    let (timer_child, stop2) = with_timeout(&value_child, VERY_LONG);
    let after_stop = after_func(&parent, || {});
    for (c, name) in [
        (&parent, "parent"),
        (&cancel_child, "cancel_child"),
        (&timer_child, "timer_child"),
        (&value_child, "value_child"),
    ] {
        assert!(!is_done(c), "<-{name}.Done() should block");
    }
    assert_eq!(
        parent.__children_len(),
        Some(3),
        "the parent's children are the three cancellable ones"
    );
    cancel.cancel();
    assert_eq!(
        parent.__children_len(),
        Some(0),
        "cancel did not clear them"
    );
    for (c, name) in [
        (&parent, "parent"),
        (&cancel_child, "cancel_child"),
        (&value_child, "value_child"),
        (&timer_child, "timer_child"),
    ] {
        assert!(is_done(c), "<-{name}.Done() blocked");
        assert_eq!(c.err(), Some(Error::Canceled), "{name}.Err()");
    }
    // A child of a cancelled parent is cancelled at once.
    let precancelled = with_value(&parent, "key", Some("value"));
    assert!(is_done(&precancelled));
    assert_eq!(precancelled.err(), Some(Error::Canceled));
    stop1.cancel();
    stop2.cancel();
    after_stop.stop();
}

// go-test: TestChildFinishesFirst (x_test.go)
#[gort::test(both)]
unsafe fn test_child_finishes_first() {
    let (cancellable, stop) = with_cancel(&background());
    for parent in [background(), cancellable.clone()] {
        let (child, cancel) = with_cancel(&parent);
        assert!(!is_done(&parent) && !is_done(&child));
        let pcok = parent.__same(&cancellable);
        if pcok {
            assert_eq!(parent.__children_len(), Some(1), "bad linkage");
        } else {
            assert_eq!(parent.__children_len(), None);
        }
        cancel.cancel();
        if pcok {
            assert_eq!(
                parent.__children_len(),
                Some(0),
                "child's cancel didn't remove self from the parent's children"
            );
        }
        assert!(is_done(&child), "<-child.Done() blocked");
        assert_eq!(child.err(), Some(Error::Canceled));
        assert!(!is_done(&parent), "the parent should not be finished");
        assert_eq!(parent.err(), None);
    }
    stop.cancel();
}

// go-test: TestCancelRemoves (x_test.go)
#[gort::test(both)]
unsafe fn test_cancel_removes() {
    let check = |when: &str, ctx: &Context, want: usize| {
        assert_eq!(ctx.__children_len(), Some(want), "{when}");
    };
    let (ctx, _c) = with_cancel(&background());
    check("after creation", &ctx, 0);
    let (_child, cancel) = with_cancel(&ctx);
    check("with WithCancel child", &ctx, 1);
    cancel.cancel();
    check("after canceling WithCancel child", &ctx, 0);

    let (ctx, _c) = with_cancel(&background());
    check("after creation", &ctx, 0);
    let (_child, cancel) = with_timeout(&ctx, Duration::from_secs(3600));
    check("with WithTimeout child", &ctx, 1);
    cancel.cancel();
    check("after canceling WithTimeout child", &ctx, 0);

    let (ctx, _c) = with_cancel(&background());
    check("after creation", &ctx, 0);
    let stop = after_func(&ctx, || {});
    check("with AfterFunc child", &ctx, 1);
    stop.stop();
    check("after stopping AfterFunc child", &ctx, 0);
}

/// testDeadline: `c` ends with DeadlineExceeded within the quiescent time.
fn check_deadline(c: &Context, name: &str) {
    select! {
        recv(gort::time::after(QUIESCENT)) -> _v => panic!("{name}: context not timed out after {QUIESCENT:?}"),
        recv(c.done()) -> _v => {}
    }
    assert_eq!(c.err(), Some(Error::DeadlineExceeded), "{name}: c.Err()");
}

// go-test: TestDeadline (x_test.go)
#[gort::test(both)]
unsafe fn test_deadline() {
    let (c, _x) = with_deadline(&background(), Instant::now() + SHORT);
    assert!(
        c.to_string()
            .starts_with("context.Background.WithDeadline("),
        "{c}"
    );
    check_deadline(&c, "WithDeadline");

    let (c, _x) = with_deadline(&background(), Instant::now() + SHORT);
    let o = with_value(&c, OtherKey, None::<()>);
    check_deadline(&o, "WithDeadline+otherContext");

    let (c, _x) = with_deadline(&background(), Instant::now() + SHORT);
    let o = with_value(&c, OtherKey, None::<()>);
    let (c, _y) = with_deadline(&o, Instant::now() + VERY_LONG);
    check_deadline(&c, "WithDeadline+otherContext+WithDeadline");

    let (c, _x) = with_deadline(&background(), Instant::now() - SHORT);
    check_deadline(&c, "WithDeadline+inthepast");

    let (c, _x) = with_deadline(&background(), Instant::now());
    check_deadline(&c, "WithDeadline+now");
}

// go-test: TestTimeout (x_test.go)
#[gort::test(both)]
unsafe fn test_timeout() {
    let (c, _x) = with_timeout(&background(), SHORT);
    assert!(
        c.to_string()
            .starts_with("context.Background.WithDeadline("),
        "{c}"
    );
    check_deadline(&c, "WithTimeout");

    let (c, _x) = with_timeout(&background(), SHORT);
    let o = with_value(&c, OtherKey, None::<()>);
    check_deadline(&o, "WithTimeout+otherContext");

    let (c, _x) = with_timeout(&background(), SHORT);
    let o = with_value(&c, OtherKey, None::<()>);
    let (c, _y) = with_timeout(&o, VERY_LONG);
    check_deadline(&c, "WithTimeout+otherContext+WithTimeout");
}

// go-test: TestCanceledTimeout (x_test.go)
#[gort::test(both)]
unsafe fn test_canceled_timeout() {
    let (c, _x) = with_timeout(&background(), Duration::from_secs(1));
    let o = with_value(&c, OtherKey, None::<()>);
    let (c, cancel) = with_timeout(&o, VERY_LONG);
    cancel.cancel(); // propagates synchronously
    assert!(is_done(&c), "<-c.Done() blocked");
    assert_eq!(c.err(), Some(Error::Canceled));
}

#[derive(PartialEq, Clone, Copy)]
struct Key1(i32);
#[derive(PartialEq, Clone, Copy)]
struct Key2(i32);

// go-test: TestValues (x_test.go)
// Go's keys key1(1), key2(1) (same int, other type) and key2(3); a type's
// name stands for Go's `%T` in the String() form (key2's String method
// has no counterpart: its name prints too).
#[gort::test(both)]
unsafe fn test_values() {
    const K1: Key1 = Key1(1);
    const K2: Key2 = Key2(1);
    const K3: Key2 = Key2(3);
    let check = |c: &Context, nm: &str, v1: &str, v2: &str, v3: &str| {
        let get1 = c.value::<Key1, &str>(&K1).copied().unwrap_or("");
        let get2 = c.value::<Key2, &str>(&K2).copied().unwrap_or("");
        let get3 = c.value::<Key2, &str>(&K3).copied().unwrap_or("");
        assert_eq!((get1, get2, get3), (v1, v2, v3), "{nm}");
    };
    let c0 = background();
    check(&c0, "c0", "", "", "");
    let c1 = with_value(&background(), K1, Some("c1k1"));
    check(&c1, "c1", "c1k1", "", "");
    assert_eq!(
        c1.to_string(),
        "context.Background.WithValue(context_test::Key1, c1k1)"
    );
    let c2 = with_value(&c1, K2, Some("c2k2"));
    check(&c2, "c2", "c1k1", "c2k2", "");
    let c3 = with_value(&c2, K3, Some("c3k3"));
    check(&c3, "c3", "c1k1", "c2k2", "c3k3");
    let c4 = with_value(&c3, K1, None::<&str>);
    check(&c4, "c4", "", "c2k2", "c3k3");
    assert_eq!(
        c4.to_string(),
        "context.Background.WithValue(context_test::Key1, c1k1).WithValue(context_test::Key2, c2k2)\
         .WithValue(context_test::Key2, c3k3).WithValue(context_test::Key1, <nil>)"
    );
    let o0 = with_value(&background(), OtherKey, None::<()>);
    check(&o0, "o0", "", "", "");
    let o1 = with_value(
        &with_value(&background(), K1, Some("c1k1")),
        OtherKey,
        None::<()>,
    );
    check(&o1, "o1", "c1k1", "", "");
    let o2 = with_value(&o1, K2, Some("o2k2"));
    check(&o2, "o2", "c1k1", "o2k2", "");
    let o3 = with_value(&c4, OtherKey, None::<()>);
    check(&o3, "o3", "", "c2k2", "c3k3");
    let o4 = with_value(&o3, K3, None::<&str>);
    check(&o4, "o4", "", "c2k2", "");
}

// go-test: TestSimultaneousCancels (x_test.go)
#[gort::test(both, gomaxprocs = 4)]
unsafe fn test_simultaneous_cancels() {
    let (root, cancel) = with_cancel(&background());
    let mut m = vec![(root.clone(), cancel)];
    let mut q = std::collections::VecDeque::from([root]);
    while let Some(parent) = q.pop_front() {
        if m.len() >= 100 {
            break;
        }
        for _ in 0..4 {
            let (ctx, cancel) = with_cancel(&parent);
            m.push((ctx.clone(), cancel));
            q.push_back(ctx);
        }
    }
    // Start all the cancels in a random order (Go's map order).
    let mut order: Vec<usize> = (0..m.len()).collect();
    shuffle(&mut order);
    let wg = Arc::new(WaitGroup::new());
    wg.add(m.len() as i32);
    for &i in &order {
        let (cancel, wg) = (m[i].1.clone(), wg.clone());
        gort::go(move || {
            cancel.cancel();
            wg.done();
        });
    }
    let stuck: Chan<()> = Chan::new(0);
    let st = stuck.clone();
    let timer = gort::time::after_func(QUIESCENT, move || st.close());
    shuffle(&mut order);
    for &i in &order {
        select! {
            recv(m[i].0.done()) -> _v => {}
            recv(stuck) -> _v => panic!(
                "timed out waiting for <-ctx.Done(); stacks:\n{}",
                gort::runtime::stack(true)
            ),
        }
    }
    let done: Chan<()> = Chan::new(0);
    let d = done.clone();
    gort::go(move || {
        wg.wait();
        d.close();
    });
    select! {
        recv(done) -> _v => {}
        recv(stuck) -> _v => panic!("timed out waiting for cancel functions"),
    }
    timer.stop();
}

fn shuffle(v: &mut [usize]) {
    let mut x = Instant::now().elapsed().as_nanos() as u64 | 1;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
}

// go-test: TestInterlockedCancels (x_test.go)
#[gort::test(both)]
unsafe fn test_interlocked_cancels() {
    let (parent, cancel_parent) = with_cancel(&background());
    let (child, cancel_child) = with_cancel(&parent);
    let p = parent.clone();
    gort::go(move || {
        p.done().recv();
        cancel_child.cancel();
    });
    cancel_parent.cancel();
    select! {
        recv(child.done()) -> _v => {}
        recv(gort::time::after(QUIESCENT)) -> _v => panic!("timed out waiting for child.Done()"),
    }
}

/// testLayers: a random stack of at least 30 value, cancel and timeout
/// layers; values stay readable, and a cancel (or the timeouts) end the
/// top.
fn test_layers(seed: u64, test_timeout: bool) {
    let mut x = seed | 1;
    let mut rnd = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    #[derive(PartialEq)]
    struct Val(usize);
    let mut vals = 0usize;
    let mut cancels = Vec::new();
    let mut num_timers = 0;
    let mut ctx = background();
    let mut i = 0;
    while i < 30 || num_timers == 0 || cancels.is_empty() || vals == 0 {
        match rnd(3) {
            0 => {
                ctx = with_value(&ctx, Val(vals), Some(vals));
                vals += 1;
            }
            1 => {
                let (c, cancel) = with_cancel(&ctx);
                ctx = c;
                cancels.push(cancel);
            }
            _ => {
                let d = if test_timeout { SHORT } else { VERY_LONG };
                let (c, cancel) = with_timeout(&ctx, d);
                ctx = c;
                cancels.push(cancel);
                num_timers += 1;
            }
        }
        i += 1;
    }
    let check_values = |when: &str| {
        for k in 0..vals {
            assert_eq!(
                ctx.value::<Val, usize>(&Val(k)),
                Some(&k),
                "seed={seed} {when}"
            );
        }
    };
    if !test_timeout {
        assert!(
            !is_done(&ctx),
            "seed={seed}: ctx should not be canceled yet"
        );
    }
    assert!(ctx.to_string().starts_with("context.Background."), "{ctx}");
    check_values("before cancel");
    if test_timeout {
        select! {
            recv(ctx.done()) -> _v => {}
            recv(gort::time::after(QUIESCENT)) -> _v => panic!("seed={seed}: ctx should have timed out"),
        }
        check_values("after timeout");
    } else {
        let n = cancels.len() as u64;
        cancels[rnd(n) as usize].cancel();
        assert!(is_done(&ctx), "seed={seed}: ctx should be canceled");
        check_values("after cancel");
    }
}

fn seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

// go-test: TestLayersCancel (x_test.go)
#[gort::test(both)]
unsafe fn test_layers_cancel() {
    test_layers(seed(), false);
}

// go-test: TestLayersTimeout (x_test.go)
#[gort::test(both)]
unsafe fn test_layers_timeout() {
    test_layers(seed(), true);
}

// go-test: TestWithCancelCanceledParent (x_test.go)
#[gort::test(both)]
unsafe fn test_with_cancel_canceled_parent() {
    let (parent, pcancel) = with_cancel_cause(&background());
    let because = err_cause("Because!");
    pcancel.cancel(Some(because.clone()));
    let (c, _x) = with_cancel(&parent);
    assert!(is_done(&c), "child not done immediately upon construction");
    assert_eq!(c.err(), Some(Error::Canceled));
    assert!(
        Arc::ptr_eq(&cause(&c).unwrap(), &because),
        "child has wrong cause"
    );
}

// go-test: TestWithCancelSimultaneouslyCanceledParent (x_test.go)
#[gort::test(both, gomaxprocs = 2)]
unsafe fn test_with_cancel_simultaneously_canceled_parent() {
    for _ in 0..100 {
        let (parent, pcancel) = with_cancel_cause(&background());
        let because = err_cause("Because!");
        let b = because.clone();
        gort::go(move || pcancel.cancel(Some(b)));
        let (c, _x) = with_cancel(&parent);
        c.done().recv();
        assert_eq!(c.err(), Some(Error::Canceled));
        assert!(
            Arc::ptr_eq(&cause(&c).unwrap(), &because),
            "child has wrong cause"
        );
    }
}

// go-test: TestDeadlineExceededSupportsTimeout (x_test.go)
#[gort::test(both)]
unsafe fn test_deadline_exceeded_supports_timeout() {
    assert!(Error::DeadlineExceeded.is_timeout());
    assert!(!Error::Canceled.is_timeout());
}

// go-test: TestDeadlineExceededIsNetError (net_test.go)
// Go checks that DeadlineExceeded is a net.Error with Timeout(); here: it
// converts to an io::Error of kind TimedOut that prints the same.
#[gort::test(both)]
unsafe fn test_deadline_exceeded_is_net_error() {
    let e: std::io::Error = Error::DeadlineExceeded.into();
    assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    assert_eq!(e.to_string(), "context deadline exceeded");
    let e: std::io::Error = Error::Canceled.into();
    assert_eq!(e.to_string(), "context canceled");
}

// go-test: TestCause (x_test.go)
// Every row but the three about custom contexts.
#[gort::test(both)]
unsafe fn test_cause() {
    let forever = Duration::from_secs(1_000_000);
    let parent_cause = err_cause("parentCause");
    let child_cause = err_cause("childCause");
    let too_slow = err_cause("tooSlow");
    let finished_early = err_cause("finishedEarly");
    /// The expected cause: none, or one of `err`'s, or a given one.
    enum Want {
        None,
        Err(Error),
        Given(Cause),
    }
    type Row = (&'static str, Box<dyn Fn() -> Context>, Option<Error>, Want);
    let rows: Vec<Row> = vec![
        ("Background", Box::new(background), None, Want::None),
        ("TODO", Box::new(todo), None, Want::None),
        (
            "WithCancel",
            Box::new(|| {
                let (ctx, cancel) = with_cancel(&background());
                cancel.cancel();
                ctx
            }),
            Some(Error::Canceled),
            Want::Err(Error::Canceled),
        ),
        (
            "WithCancelCause",
            Box::new({
                let c = parent_cause.clone();
                move || {
                    let (ctx, cancel) = with_cancel_cause(&background());
                    cancel.cancel(Some(c.clone()));
                    ctx
                }
            }),
            Some(Error::Canceled),
            Want::Given(parent_cause.clone()),
        ),
        (
            "WithCancelCause nil",
            Box::new(|| {
                let (ctx, cancel) = with_cancel_cause(&background());
                cancel.cancel(None);
                ctx
            }),
            Some(Error::Canceled),
            Want::Err(Error::Canceled),
        ),
        (
            "WithCancelCause: parent cause before child",
            Box::new({
                let (p, c) = (parent_cause.clone(), child_cause.clone());
                move || {
                    let (ctx, cancel_parent) = with_cancel_cause(&background());
                    let (ctx, cancel_child) = with_cancel_cause(&ctx);
                    cancel_parent.cancel(Some(p.clone()));
                    cancel_child.cancel(Some(c.clone()));
                    ctx
                }
            }),
            Some(Error::Canceled),
            Want::Given(parent_cause.clone()),
        ),
        (
            "WithCancelCause: parent cause after child",
            Box::new({
                let (p, c) = (parent_cause.clone(), child_cause.clone());
                move || {
                    let (ctx, cancel_parent) = with_cancel_cause(&background());
                    let (ctx, cancel_child) = with_cancel_cause(&ctx);
                    cancel_child.cancel(Some(c.clone()));
                    cancel_parent.cancel(Some(p.clone()));
                    ctx
                }
            }),
            Some(Error::Canceled),
            Want::Given(child_cause.clone()),
        ),
        (
            "WithCancelCause: parent cause before nil",
            Box::new({
                let p = parent_cause.clone();
                move || {
                    let (ctx, cancel_parent) = with_cancel_cause(&background());
                    let (ctx, cancel_child) = with_cancel(&ctx);
                    cancel_parent.cancel(Some(p.clone()));
                    cancel_child.cancel();
                    ctx
                }
            }),
            Some(Error::Canceled),
            Want::Given(parent_cause.clone()),
        ),
        (
            "WithCancelCause: parent cause after nil",
            Box::new({
                let p = parent_cause.clone();
                move || {
                    let (ctx, cancel_parent) = with_cancel_cause(&background());
                    let (ctx, cancel_child) = with_cancel(&ctx);
                    cancel_child.cancel();
                    cancel_parent.cancel(Some(p.clone()));
                    ctx
                }
            }),
            Some(Error::Canceled),
            Want::Err(Error::Canceled),
        ),
        (
            "WithCancelCause: child cause after nil",
            Box::new({
                let c = child_cause.clone();
                move || {
                    let (ctx, cancel_parent) = with_cancel(&background());
                    let (ctx, cancel_child) = with_cancel_cause(&ctx);
                    cancel_parent.cancel();
                    cancel_child.cancel(Some(c.clone()));
                    ctx
                }
            }),
            Some(Error::Canceled),
            Want::Err(Error::Canceled),
        ),
        (
            "WithCancelCause: child cause before nil",
            Box::new({
                let c = child_cause.clone();
                move || {
                    let (ctx, cancel_parent) = with_cancel(&background());
                    let (ctx, cancel_child) = with_cancel_cause(&ctx);
                    cancel_child.cancel(Some(c.clone()));
                    cancel_parent.cancel();
                    ctx
                }
            }),
            Some(Error::Canceled),
            Want::Given(child_cause.clone()),
        ),
        (
            "WithTimeout",
            Box::new(|| {
                let (ctx, cancel) = with_timeout(&background(), Duration::ZERO);
                cancel.cancel();
                ctx
            }),
            Some(Error::DeadlineExceeded),
            Want::Err(Error::DeadlineExceeded),
        ),
        (
            "WithTimeout canceled",
            Box::new(move || {
                let (ctx, cancel) = with_timeout(&background(), forever);
                cancel.cancel();
                ctx
            }),
            Some(Error::Canceled),
            Want::Err(Error::Canceled),
        ),
        (
            "WithTimeoutCause",
            Box::new({
                let t = too_slow.clone();
                move || {
                    let (ctx, cancel) =
                        with_timeout_cause(&background(), Duration::ZERO, Some(t.clone()));
                    cancel.cancel();
                    ctx
                }
            }),
            Some(Error::DeadlineExceeded),
            Want::Given(too_slow.clone()),
        ),
        (
            "WithTimeoutCause canceled",
            Box::new({
                let t = too_slow.clone();
                move || {
                    let (ctx, cancel) = with_timeout_cause(&background(), forever, Some(t.clone()));
                    cancel.cancel();
                    ctx
                }
            }),
            Some(Error::Canceled),
            Want::Err(Error::Canceled),
        ),
        (
            "WithTimeoutCause stacked",
            Box::new({
                let (t, f) = (too_slow.clone(), finished_early.clone());
                move || {
                    let (ctx, cancel) = with_cancel_cause(&background());
                    let (ctx, _x) = with_timeout_cause(&ctx, Duration::ZERO, Some(t.clone()));
                    cancel.cancel(Some(f.clone()));
                    ctx
                }
            }),
            Some(Error::DeadlineExceeded),
            Want::Given(too_slow.clone()),
        ),
        (
            "WithTimeoutCause stacked canceled",
            Box::new({
                let (t, f) = (too_slow.clone(), finished_early.clone());
                move || {
                    let (ctx, cancel) = with_cancel_cause(&background());
                    let (ctx, _x) = with_timeout_cause(&ctx, forever, Some(t.clone()));
                    cancel.cancel(Some(f.clone()));
                    ctx
                }
            }),
            Some(Error::Canceled),
            Want::Given(finished_early.clone()),
        ),
        (
            "WithoutCancel",
            Box::new(|| without_cancel(&background())),
            None,
            Want::None,
        ),
        (
            "WithoutCancel canceled",
            Box::new({
                let f = finished_early.clone();
                move || {
                    let (ctx, cancel) = with_cancel_cause(&background());
                    let ctx = without_cancel(&ctx);
                    cancel.cancel(Some(f.clone()));
                    ctx
                }
            }),
            None,
            Want::None,
        ),
        (
            "WithoutCancel timeout",
            Box::new({
                let t = too_slow.clone();
                move || {
                    let (ctx, cancel) =
                        with_timeout_cause(&background(), Duration::ZERO, Some(t.clone()));
                    let ctx = without_cancel(&ctx);
                    cancel.cancel();
                    ctx
                }
            }),
            None,
            Want::None,
        ),
    ];
    for (name, mk, err, want) in rows {
        let ctx = mk();
        assert_eq!(ctx.err(), err, "{name}: ctx.Err()");
        let got = cause(&ctx);
        match (&want, &got) {
            (Want::None, None) => {}
            (Want::Err(e), Some(g)) => {
                assert_eq!(
                    g.downcast_ref::<Error>(),
                    Some(e),
                    "{name}: Cause(ctx) = {g}"
                )
            }
            (Want::Given(w), Some(g)) => {
                assert!(Arc::ptr_eq(w, g), "{name}: Cause(ctx) = {g}, want {w}")
            }
            _ => panic!("{name}: Cause(ctx) = {got:?}"),
        }
    }
}

// go-test: TestCauseRace (x_test.go)
#[gort::test(both)]
unsafe fn test_cause_race() {
    let because = err_cause("TestCauseRace");
    let (ctx, cancel) = with_cancel_cause(&background());
    let b = because.clone();
    gort::go(move || cancel.cancel(Some(b)));
    loop {
        if let Some(err) = cause(&ctx) {
            assert!(Arc::ptr_eq(&err, &because), "Cause returned {err}");
            break;
        }
        gort::gosched();
    }
}

// go-test: TestWithoutCancel (x_test.go)
#[gort::test(both)]
unsafe fn test_without_cancel() {
    let ctx = with_value(&background(), "key", Some("value"));
    let ctx = without_cancel(&ctx);
    assert_eq!(ctx.deadline(), None);
    assert!(ctx.done().is_nil());
    assert_eq!(ctx.err(), None);
    assert_eq!(ctx.value::<&str, &str>(&"key"), Some(&"value"));
}

// go-test: TestAfterFuncCalledAfterCancel (x_test.go)
#[gort::test(both)]
unsafe fn test_after_func_called_after_cancel() {
    let (ctx, cancel) = with_cancel(&background());
    let donec: Chan<()> = Chan::new(0);
    let d = donec.clone();
    let stop = after_func(&ctx, move || d.close());
    select! {
        recv(donec) -> _v => panic!("AfterFunc called before context is done"),
        recv(gort::time::after(SHORT)) -> _v => {}
    }
    cancel.cancel();
    select! {
        recv(donec) -> _v => {}
        recv(gort::time::after(VERY_LONG)) -> _v => panic!("AfterFunc not called after context is canceled"),
    }
    assert!(!stop.stop(), "stop() = true, want false");
}

// go-test: TestAfterFuncCalledAfterTimeout (x_test.go)
#[gort::test(both)]
unsafe fn test_after_func_called_after_timeout() {
    let (ctx, _cancel) = with_timeout(&background(), SHORT);
    let donec: Chan<()> = Chan::new(0);
    let d = donec.clone();
    after_func(&ctx, move || d.close());
    select! {
        recv(donec) -> _v => {}
        recv(gort::time::after(VERY_LONG)) -> _v => panic!("AfterFunc not called after context is canceled"),
    }
}

// go-test: TestAfterFuncCalledImmediately (x_test.go)
#[gort::test(both)]
unsafe fn test_after_func_called_immediately() {
    let (ctx, cancel) = with_cancel(&background());
    cancel.cancel();
    let donec: Chan<()> = Chan::new(0);
    let d = donec.clone();
    after_func(&ctx, move || d.close());
    select! {
        recv(donec) -> _v => {}
        recv(gort::time::after(VERY_LONG)) -> _v => panic!("AfterFunc not called for already-canceled context"),
    }
}

// go-test: TestAfterFuncNotCalledAfterStop (x_test.go)
#[gort::test(both)]
unsafe fn test_after_func_not_called_after_stop() {
    let (ctx, cancel) = with_cancel(&background());
    let donec: Chan<()> = Chan::new(0);
    let d = donec.clone();
    let stop = after_func(&ctx, move || d.close());
    assert!(stop.stop(), "stop() = false, want true");
    cancel.cancel();
    select! {
        recv(donec) -> _v => panic!("AfterFunc called for already-canceled context"),
        recv(gort::time::after(SHORT)) -> _v => {}
    }
    assert!(!stop.stop(), "stop() = true, want false");
}

// go-test: TestAfterFuncCalledAsynchronously (x_test.go)
// Cancelling does not wait for the function to finish.
#[gort::test(both)]
unsafe fn test_after_func_called_asynchronously() {
    let (ctx, cancel) = with_cancel(&background());
    let donec: Chan<()> = Chan::new(0);
    let d = donec.clone();
    let stop = after_func(&ctx, move || d.send(()));
    cancel.cancel();
    select! {
        recv(donec) -> _v => {}
        recv(gort::time::after(VERY_LONG)) -> _v => panic!("AfterFunc not called after context is canceled"),
    }
    stop.stop();
}

// go-test: TestContextErrDoneRace (x_test.go)
// Go's loop spins on ctx.Err() while `go cancel()` runs elsewhere: two Ps
// here (a loop that never calls the runtime keeps its P, as on wasm,
// where Go's test yields).
#[gort::test(both, gomaxprocs = 2)]
unsafe fn test_context_err_done_race() {
    for _ in 0..10 {
        let (ctx, cancel) = with_cancel(&background());
        let donec = ctx.done();
        gort::go(move || cancel.cancel());
        while ctx.err().is_none() {
            std::hint::spin_loop();
        }
        select! {
            recv(donec) -> _v => {}
            default => panic!("ctx.Err is non-nil, but ctx.Done is not closed"),
        }
    }
}

/// Not in Go: contexts from plain threads, and an after-func on a thread
/// when the cancel happens off the runtime.
#[test]
fn plain_thread_cancel_and_after_func() {
    let (ctx, cancel) = with_cancel(&background());
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    after_func(&ctx, move || {
        r.fetch_add(1, Ordering::SeqCst);
        tx.send(()).unwrap();
    });
    let c2 = ctx.clone();
    let waiter = std::thread::spawn(move || c2.done().recv());
    cancel.cancel();
    assert_eq!(waiter.join().unwrap(), None, "done is closed");
    rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 1);
    assert_eq!(ctx.err(), Some(Error::Canceled));
    let _ = context::todo();
}

/// Not in Go: a derived context dropped without a cancel leaves nothing
/// alive; its parent forgets it when more children come.
#[test]
fn dropped_children_are_freed() {
    let (parent, cancel) = with_cancel(&background());
    let weak_probe = Arc::new(());
    for _ in 0..1000 {
        let (c, _cancel) = with_cancel(&parent);
        let _v = with_value(&c, 1u8, Some(weak_probe.clone()));
    }
    assert_eq!(
        Arc::strong_count(&weak_probe),
        1,
        "a dropped child is alive"
    );
    assert!(
        parent.__children_len().unwrap() <= 1000 / 2 + 16,
        "{} children remembered",
        parent.__children_len().unwrap()
    );
    cancel.cancel();
    assert_eq!(parent.__children_len(), Some(0));
}

/// Not in Go's tests: whoever sees `done()` closed finds `err()` and
/// `cause()` set, from another goroutine and from a plain thread.
#[gort::test(both, gomaxprocs = 2)]
unsafe fn done_then_err_agree() {
    for i in 0..300 {
        let (ctx, cancel) = with_cancel_cause(&background());
        let c = ctx.clone();
        let seen = gort::spawn(move || {
            c.done().recv();
            (c.err(), cause(&c).is_some())
        });
        let c = ctx.clone();
        let plain = std::thread::spawn(move || {
            c.done().recv();
            (c.err(), cause(&c).is_some())
        });
        if i % 2 == 0 {
            gort::gosched();
        }
        cancel.cancel(Some(err_cause("bye")));
        assert_eq!(seen.join().unwrap(), (Some(Error::Canceled), true));
        assert_eq!(plain.join().unwrap(), (Some(Error::Canceled), true));
    }
}

/// Not in Go's tests: a timeout past what an `Instant` holds means no
/// deadline (Go's WithTimeout(ctx, math.MaxInt64) works too).
#[gort::test(both)]
unsafe fn huge_timeout_is_no_deadline() {
    let (ctx, cancel) = with_timeout(&background(), Duration::MAX);
    assert_eq!(ctx.deadline(), None);
    assert_eq!(ctx.err(), None);
    cancel.cancel();
    assert_eq!(ctx.err(), Some(Error::Canceled));
}

/// Not in Go's tests: an after-func registered on a context that is
/// dropped uncancelled (with its stop handle, which keeps it as Go's
/// `stop` closure does) is freed with it, and never runs.
#[gort::test(both)]
unsafe fn after_func_of_a_dropped_context_is_freed() {
    let probe = Arc::new(());
    let (ctx, cancel) = with_cancel(&background());
    let p = probe.clone();
    let stop = after_func(&ctx, move || drop(p));
    assert_eq!(Arc::strong_count(&probe), 2);
    drop(ctx);
    drop(cancel);
    assert_eq!(Arc::strong_count(&probe), 2, "the stop handle keeps it");
    drop(stop);
    assert_eq!(Arc::strong_count(&probe), 1, "the after-func was kept");
}

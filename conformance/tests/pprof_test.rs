//! Port of go1.27 `runtime/pprof/label_test.go` and
//! `runtime/pprof/runtime_test.go` (gort::pprof), and the places Go 1.27
//! shows labels outside profiles: goroutine headers in dumps
//! (`goroutineheader`, traceback.go).
//!
//! Adaptation, throughout: Go's tests read the goroutine's labels with
//! the package-private `runtime_getProfLabel`; gort's tests use the public
//! `pprof::goroutine_labels`, which returns the same set.

use std::collections::BTreeMap;

use gort::context::background;
use gort::pprof::{
    self, do_labeled, for_labels, goroutine_labels, label, labels, set_goroutine_labels,
    with_labels,
};
use gort::{Chan, context::Context};

fn labels_sorted(ctx: &Context) -> Vec<(String, String)> {
    let mut ls = Vec::new();
    for_labels(ctx, |k, v| {
        ls.push((k.to_string(), v.to_string()));
        true
    });
    ls.sort();
    ls
}

fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn prof_label() -> BTreeMap<String, String> {
    goroutine_labels().into_iter().collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv(pairs).into_iter().collect()
}

// go-test: TestContextLabels (label_test.go)
#[test]
fn test_context_labels() {
    let ctx = background();
    assert!(
        labels_sorted(&ctx).is_empty(),
        "labels on background context"
    );

    let ctx = with_labels(&ctx, labels([("key", "value")]));
    assert_eq!(label(&ctx, "key").as_deref(), Some("value"));
    assert_eq!(labels_sorted(&ctx), kv(&[("key", "value")]));

    let ctx = with_labels(&ctx, labels([("key2", "value2")]));
    assert_eq!(label(&ctx, "key2").as_deref(), Some("value2"));
    assert_eq!(
        labels_sorted(&ctx),
        kv(&[("key", "value"), ("key2", "value2")])
    );

    let ctx = with_labels(&ctx, labels([("key", "value3")]));
    assert_eq!(label(&ctx, "key").as_deref(), Some("value3"));
    assert_eq!(
        labels_sorted(&ctx),
        kv(&[("key", "value3"), ("key2", "value2")])
    );

    // Two labels with the same key: the second wins.
    let ctx = with_labels(&ctx, labels([("key4", "value4a"), ("key4", "value4b")]));
    assert_eq!(label(&ctx, "key4").as_deref(), Some("value4b"));
    assert_eq!(
        labels_sorted(&ctx),
        kv(&[("key", "value3"), ("key2", "value2"), ("key4", "value4b")])
    );
}

// go-test: TestLabelMapStringer (label_test.go)
// Go builds labelMaps directly; here they come from contexts.
#[test]
fn test_label_map_stringer() {
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], "{}"),
        (vec![("foo", "bar")], r#"{"foo":"bar"}"#),
        (
            vec![
                ("foo", "bar"),
                ("key1", "value1"),
                ("key2", "value2"),
                ("key3", "value3"),
                ("key4WithNewline", "\nvalue4"),
            ],
            r#"{"foo":"bar", "key1":"value1", "key2":"value2", "key3":"value3", "key4WithNewline":"\nvalue4"}"#,
        ),
    ];
    for (pairs, want) in cases {
        let ctx = if pairs.is_empty() {
            background()
        } else {
            with_labels(&background(), labels(pairs))
        };
        assert_eq!(pprof::__label_map_string(&ctx), want);
    }
}

// go-test: TestSetGoroutineLabels (runtime_test.go)
#[gort::test(both)]
unsafe fn test_set_goroutine_labels() {
    let sync: Chan<()> = Chan::new(0);
    let check_child = |want: BTreeMap<String, String>| {
        let s = sync.clone();
        gort::go(move || {
            assert_eq!(prof_label(), want, "child goroutine's profile labels");
            s.send(());
        });
        sync.recv();
    };
    assert_eq!(prof_label(), map(&[]), "parent's labels before the test");
    check_child(map(&[]));

    let ctx = with_labels(&background(), labels([("key", "value")]));
    set_goroutine_labels(&ctx);
    assert_eq!(prof_label(), map(&[("key", "value")]));
    check_child(map(&[("key", "value")]));

    set_goroutine_labels(&background());
    assert_eq!(prof_label(), map(&[]));
    check_child(map(&[]));
}

// go-test: TestDo (runtime_test.go)
#[gort::test(both)]
unsafe fn test_do() {
    assert_eq!(prof_label(), map(&[]), "labels before Do");
    do_labeled(
        &background(),
        labels([("key1", "value1"), ("key2", "value2")]),
        |_ctx| {
            let want = map(&[("key1", "value1"), ("key2", "value2")]);
            assert_eq!(prof_label(), want, "parent goroutine's labels");
            let sync: Chan<()> = Chan::new(0);
            let s = sync.clone();
            gort::go(move || {
                assert_eq!(prof_label(), want, "child goroutine's labels");
                s.send(());
            });
            sync.recv();
        },
    );
    assert_eq!(prof_label(), map(&[]), "labels after Do");
}

/// Go 1.27's goroutine header shows the labels after the status, quoting
/// a key or value only if it needs it; both the calling goroutine and a
/// parked one show them, and an unlabelled goroutine shows none.
#[gort::test(both)]
unsafe fn labels_appear_in_goroutine_headers() {
    let ctx = with_labels(
        &background(),
        labels([
            ("worker", "3"),
            ("peer", "10.0.0.1:80"),
            ("path", "a/b.c_d"),
        ]),
    );
    set_goroutine_labels(&ctx);
    let me = gort::stack(false);
    let first = me.lines().next().unwrap();
    assert_eq!(
        first,
        format!(
            "goroutine {} [running] {{path: a/b.c_d, peer: \"10.0.0.1:80\", worker: 3}}:",
            gort::goid()
        ),
        "{me}"
    );
    // A child inherits them and shows them while parked.
    let park: Chan<()> = Chan::new(0);
    let (p2, started) = (park.clone(), Chan::<u64>::new(1));
    let s2 = started.clone();
    gort::go(move || {
        s2.send(gort::goid());
        p2.recv();
    });
    let child = started.recv().unwrap();
    set_goroutine_labels(&background());
    let mut all = String::new();
    for _ in 0..1000 {
        all = gort::stack(true);
        if all.contains(&format!("goroutine {child} [chan receive]")) {
            break;
        }
        gort::gosched();
    }
    let line = all
        .lines()
        .find(|l| l.starts_with(&format!("goroutine {child} ")))
        .unwrap_or_else(|| panic!("no goroutine {child}:\n{all}"));
    assert_eq!(
        line,
        format!(
            "goroutine {child} [chan receive] {{path: a/b.c_d, peer: \"10.0.0.1:80\", worker: 3}}:"
        )
    );
    assert!(
        all.lines().next().unwrap().ends_with("[running]:"),
        "the caller's labels were reset:\n{all}"
    );
    park.send(());
}

/// Go's `quoted`: escapes in a header's label value.
#[gort::test(both)]
unsafe fn label_quoting_follows_go() {
    do_labeled(
        &background(),
        labels([("k", "tab\there \"q\" é\u{1}")]),
        |_| {
            let first = gort::stack(false).lines().next().unwrap().to_string();
            assert!(
                first.ends_with(r#"[running] {k: "tab\there \"q\" \u00e9\x01"}:"#),
                "{first}"
            );
        },
    );
}

/// A panic inside `do_labeled` still restores the goroutine's labels.
#[gort::test(both)]
unsafe fn do_restores_labels_on_panic() {
    let outer = with_labels(&background(), labels([("outer", "1")]));
    set_goroutine_labels(&outer);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        do_labeled(&outer, labels([("inner", "2")]), |_| {
            assert_eq!(prof_label(), map(&[("inner", "2"), ("outer", "1")]));
            panic!("boom");
        })
    }));
    assert!(r.is_err());
    assert_eq!(prof_label(), map(&[("outer", "1")]));
    set_goroutine_labels(&background());
}

/// The table of TestTracebackGoroutineLabels: labels, and how a header
/// shows them.
fn traceback_label_cases() -> Vec<(Vec<(&'static str, &'static str)>, &'static str)> {
    vec![
        (vec![("foobar", "baz")], r#"{foobar: baz}"#),
        (
            vec![("foobar", "baz"), ("fizzle", "bit")],
            r#"{fizzle: bit, foobar: baz}"#,
        ),
        (
            vec![("foo_bar", "baz."), ("/fizzle", "bit")],
            r#"{/fizzle: bit, foo_bar: baz.}"#,
        ),
        (
            vec![("foobar:", "baz"), ("fizzle", "bit")],
            r#"{fizzle: bit, "foobar:": baz}"#,
        ),
        (
            vec![("fizzle", "bit"), ("foobar", "baz\n")],
            r#"{fizzle: bit, foobar: "baz\n"}"#,
        ),
        (
            vec![("fizzle", "b\x1bit"), ("foo\"ba\x00r", "baz\n")],
            r#"{fizzle: "b\x1bit", "foo\"ba\x00r": "baz\n"}"#,
        ),
        (
            vec![("fizzle", "\u{1234}Σ"), ("fooba\x00r", "baz\n")],
            r#"{fizzle: "\u1234\u03a3", "fooba\x00r": "baz\n"}"#,
        ),
        (
            vec![("fizz\tle", "\u{45678}boop"), ("fooba\x00r", "baz\n")],
            r#"{"fizz\tle": "\U00045678boop", "fooba\x00r": "baz\n"}"#,
        ),
        (
            vec![("fiz\\zl\re", "\u{45678}boop"), ("fooba\x00r", "baz\n")],
            r#"{"fiz\\zl\re": "\U00045678boop", "fooba\x00r": "baz\n"}"#,
        ),
    ]
}

/// Whether the calling goroutine's own `stack` shows `want` as its labels,
/// checked in it and in a child it starts (Go's verifyLabels, called both
/// ways).
fn stack_shows_labels_here_and_in_a_child(want: &'static str) -> (bool, bool) {
    let shows = move || gort::stack(false).contains(&format!("{want}:"));
    let res: Chan<bool> = Chan::new(1);
    let r2 = res.clone();
    gort::go(move || r2.send(shows()));
    let here = shows();
    (here, res.recv().unwrap())
}

// go-test: TestTracebackGoroutineLabels (traceback_test.go)
// Go sets GODEBUG=tracebacklabels=1, which is Go 1.27's default and
// gort's; gort reads GODEBUG once per process, so the test runs with the
// default.
#[gort::test(both)]
unsafe fn test_traceback_goroutine_labels() {
    for (l, want) in traceback_label_cases() {
        set_goroutine_labels(&with_labels(&background(), labels(l)));
        let (here, child) = stack_shows_labels_here_and_in_a_child(want);
        assert!(here, "parent: no {want}:\n{}", gort::stack(false));
        assert!(child, "child: no {want}");
    }
    set_goroutine_labels(&background());
}

const LABELS_CHILD: &str = "GORT_PPROF_CHILD";

// go-test: TestTracebackGoroutineLabelsDisabledGODEBUG (traceback_test.go)
// In a child process started with GODEBUG=tracebacklabels=0 (gort reads
// GODEBUG once per process; Go's test sets it with t.Setenv).
#[test]
fn test_traceback_goroutine_labels_disabled_godebug() {
    for mode in ["safe", "migrating"] {
        let out = test_child::Child::test("labels_disabled_child")
            .env(LABELS_CHILD, mode)
            .env("GODEBUG", "tracebacklabels=0")
            .run();
        assert_eq!(out.code, Some(0), "{}", out.combined());
        assert!(
            out.stdout.contains("here=false child=false\n"),
            "{}",
            out.combined()
        );
        // The same child without the setting shows them (the check can fail).
        let out = test_child::Child::test("labels_disabled_child")
            .env(LABELS_CHILD, mode)
            .run();
        assert!(
            out.stdout.contains("here=true child=true\n"),
            "{}",
            out.combined()
        );
    }
}

#[test]
#[ignore = "child process of test_traceback_goroutine_labels_disabled_godebug"]
fn labels_disabled_child() {
    let mut b = gort::Builder::new();
    if std::env::var(LABELS_CHILD).unwrap() == "migrating" {
        // SAFETY: the closure keeps no thread state across parks.
        b = unsafe { b.migrating() };
    }
    b.block_on(|| {
        set_goroutine_labels(&with_labels(&background(), labels([("foobar", "baz")])));
        let (here, child) = stack_shows_labels_here_and_in_a_child(" {foobar: baz}");
        println!("here={here} child={child}");
    });
}

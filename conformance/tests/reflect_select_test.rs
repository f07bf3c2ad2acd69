//! Port of go1.27 `reflect/all_test.go`'s select tests (gort::select_dyn,
//! Go's `reflect.Select`).
//!
//! Adaptation, throughout: `reflect.Select` takes cases of any channel
//! type; `select_dyn` takes cases of one element type, so where Go mixes
//! `chan int` and `chan string` every channel here carries `String`.
//! Go's zero `Chan` value (a case that is ignored) is a nil channel here,
//! which selectgo ignores the same way.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gort::{Chan, SelectCase, Selected, select_dyn};

/// Go's `exhaustive` tester: enumerates the choices of successive runs,
/// each list of choices starting at a random offset.
struct Exhaustive {
    rng: u64,
    pos: usize,
    last: Option<Vec<(usize, usize, usize)>>, // (off, n, max)
}

impl Exhaustive {
    fn new() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        Exhaustive {
            rng: seed | 1,
            pos: 0,
            last: None,
        }
    }

    fn rand(&mut self, max: usize) -> usize {
        // xorshift64
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng % max as u64) as usize
    }

    fn next(&mut self) -> bool {
        self.pos = 0;
        let Some(last) = &mut self.last else {
            self.last = Some(Vec::new());
            return true;
        };
        for i in (0..last.len()).rev() {
            let c = &mut last[i];
            if c.1 + 1 < c.2 {
                c.1 += 1;
                last.truncate(i + 1);
                return true;
            }
        }
        false
    }

    fn choose(&mut self, max: usize) -> usize {
        let pos = self.pos;
        if pos >= self.last.as_ref().unwrap().len() {
            let off = self.rand(max);
            self.last.as_mut().unwrap().push((off, 0, max));
        }
        let c = self.last.as_ref().unwrap()[pos];
        self.pos += 1;
        assert_eq!(c.2, max, "inconsistent use of exhaustive tester");
        (c.1 + c.0) % max
    }

    fn maybe(&mut self) -> bool {
        self.choose(2) == 1
    }
}

#[derive(Clone, Default)]
struct CaseInfo {
    desc: &'static str,
    can_select: bool,
    /// The value the case receives (`None`: a closed channel's zero).
    recv: Option<String>,
    closed: bool,
    helper: Option<Arc<dyn Fn() + Send + Sync>>,
    panic: bool,
}

enum Dir {
    Send(Chan<String>, String),
    Recv(Chan<String>),
    Default,
}

fn fmt_select(info: &[CaseInfo]) -> String {
    let mut s = String::from("\nselect {\n");
    for (i, c) in info.iter().enumerate() {
        s.push_str(&format!("{i}: {}", c.desc));
        if let Some(v) = &c.recv {
            s.push_str(&format!(" val={v:?}"));
        }
        if c.can_select {
            s.push_str(" canselect");
        }
        if c.panic {
            s.push_str(" panic");
        }
        s.push('\n');
    }
    s.push('}');
    s
}

// go-test: TestSelect (all_test.go)
// Go runs 1000 selects in -short mode and 100,000 otherwise; this port
// runs 2000 (or until the exhaustive tester has tried every combination).
// Go's watchdog (a select blocked for 10 s fails) is the test harness's
// timeout here.
#[gort::test(both)]
unsafe fn test_select() {
    let mut x = Exhaustive::new();
    let mut nch = 0usize;
    let mut n = 0usize;
    while x.next() {
        if n >= 2000 {
            break;
        }
        n += 1;
        let mut newop = |k: usize, cap: usize| -> (Chan<String>, String) {
            nch += 1;
            (Chan::new(cap), k.to_string())
        };
        let mut cases: Vec<Dir> = Vec::new();
        let mut info: Vec<CaseInfo> = Vec::new();

        if x.maybe() {
            let (ch, val) = newop(cases.len(), 1);
            cases.push(Dir::Send(ch, val));
            info.push(CaseInfo {
                desc: "ready send",
                can_select: true,
                ..Default::default()
            });
        }
        if x.maybe() {
            let (ch, val) = newop(cases.len(), 1);
            ch.send(val.clone());
            cases.push(Dir::Recv(ch));
            info.push(CaseInfo {
                desc: "ready recv",
                can_select: true,
                recv: Some(val),
                ..Default::default()
            });
        }
        if x.maybe() {
            let (ch, val) = newop(cases.len(), 0);
            cases.push(Dir::Send(ch.clone(), val));
            if x.maybe() {
                let f = move || {
                    ch.recv();
                };
                info.push(CaseInfo {
                    desc: "blocking send",
                    helper: Some(Arc::new(f)),
                    ..Default::default()
                });
            } else {
                info.push(CaseInfo {
                    desc: "blocking send",
                    ..Default::default()
                });
            }
        }
        if x.maybe() {
            let (ch, val) = newop(cases.len(), 0);
            cases.push(Dir::Recv(ch.clone()));
            if x.maybe() {
                let v2 = val.clone();
                let f = move || ch.send(v2.clone());
                info.push(CaseInfo {
                    desc: "blocking recv",
                    recv: Some(val),
                    helper: Some(Arc::new(f)),
                    ..Default::default()
                });
            } else {
                info.push(CaseInfo {
                    desc: "blocking recv",
                    ..Default::default()
                });
            }
        }
        // Zero Chan send (Go: with or without a value to send).
        if x.maybe() {
            let _with_value = x.maybe();
            cases.push(Dir::Send(Chan::nil(), "100".into()));
            info.push(CaseInfo {
                desc: "zero Chan send",
                ..Default::default()
            });
        }
        if x.maybe() {
            cases.push(Dir::Recv(Chan::nil()));
            info.push(CaseInfo {
                desc: "zero Chan recv",
                ..Default::default()
            });
        }
        if x.maybe() {
            cases.push(Dir::Send(Chan::nil(), "101".into()));
            info.push(CaseInfo {
                desc: "nil Chan send",
                ..Default::default()
            });
        }
        if x.maybe() {
            cases.push(Dir::Recv(Chan::nil()));
            info.push(CaseInfo {
                desc: "nil Chan recv",
                ..Default::default()
            });
        }
        if x.maybe() {
            let ch: Chan<String> = Chan::new(0);
            ch.close();
            cases.push(Dir::Send(ch, "101".into()));
            info.push(CaseInfo {
                desc: "closed Chan send",
                can_select: true,
                panic: true,
                ..Default::default()
            });
        }
        if x.maybe() {
            let (ch, _val) = newop(cases.len(), 0);
            ch.close();
            cases.push(Dir::Recv(ch));
            info.push(CaseInfo {
                desc: "closed Chan recv",
                can_select: true,
                closed: true,
                recv: None,
                ..Default::default()
            });
        }

        let mut helper: Option<Arc<dyn Fn() + Send + Sync>> = None;
        let mut num_can_select = 0;
        let mut can_proceed = false;
        let mut can_block = true;
        let mut can_panic = false;
        let mut helpers = Vec::new();
        for (i, c) in info.iter().enumerate() {
            if c.can_select {
                can_proceed = true;
                can_block = false;
                num_can_select += 1;
                if c.panic {
                    can_panic = true;
                }
            } else if c.helper.is_some() {
                can_proceed = true;
                helpers.push(i);
            }
        }
        if !can_proceed || x.maybe() {
            cases.push(Dir::Default);
            info.push(CaseInfo {
                desc: "default",
                can_select: can_block,
                ..Default::default()
            });
            num_can_select += 1;
        } else if can_block {
            let k = helpers[x.choose(helpers.len())];
            helper = info[k].helper.clone();
            info[k].can_select = true;
            num_can_select += 1;
        }

        for _ in 0..2 {
            let i = x.choose(cases.len());
            let j = x.choose(cases.len());
            cases.swap(i, j);
            info.swap(i, j);
        }

        if let Some(h) = helper {
            gort::time::after_func(Duration::from_micros(100), move || h());
        }

        let is_recv: Vec<bool> = cases.iter().map(|c| matches!(c, Dir::Recv(_))).collect();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let sc: Vec<SelectCase<'_, String>> = cases
                .iter()
                .map(|c| match c {
                    Dir::Send(ch, v) => SelectCase::send(ch, v.clone()),
                    Dir::Recv(ch) => SelectCase::recv(ch),
                    Dir::Default => SelectCase::default_case(),
                })
                .collect();
            select_dyn(sc)
        }));
        let Selected { index: i, value } = match r {
            Ok(s) => s,
            Err(_) => {
                assert!(can_panic, "{}\npanicked unexpectedly", fmt_select(&info));
                continue;
            }
        };
        assert!(
            !(can_panic && num_can_select == 1),
            "{}\nselected #{i} incorrectly (should panic)",
            fmt_select(&info)
        );
        let cas = &info[i];
        assert!(
            cas.can_select,
            "{}\nselected #{i} incorrectly, received {value:?}",
            fmt_select(&info)
        );
        assert!(
            !cas.panic,
            "{}\nselected #{i} incorrectly (case should panic)",
            fmt_select(&info)
        );
        if is_recv[i] {
            assert_eq!(
                (value.clone(), value.is_some()),
                (cas.recv.clone(), !cas.closed),
                "{}\nselected #{i}",
                fmt_select(&info)
            );
        } else {
            assert!(value.is_none(), "{}", fmt_select(&info));
        }
    }
    let _ = nch;
}

// go-test: TestSelectMaxCases (all_test.go)
#[gort::test(both)]
unsafe fn test_select_max_cases() {
    let ch: Chan<i32> = Chan::new(0);
    ch.close();
    let cases = |n: usize| (0..n).map(|_| SelectCase::recv(&ch)).collect::<Vec<_>>();
    // Should not panic.
    let r = select_dyn(cases(65536));
    assert!(r.index < 65536 && r.value.is_none());
    let p = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| select_dyn(cases(65537))))
        .expect_err("expected select call to panic with greater than max supported cases");
    let msg = p
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str));
    assert_eq!(msg, Some("reflect.Select: too many cases (max 65536)"));
}

// go-test: TestSelectNop (all_test.go)
#[gort::test(both)]
unsafe fn test_select_nop() {
    let r = select_dyn::<i32>(vec![SelectCase::default_case()]);
    assert_eq!(r.index, 0);
}

/// Every ready case is chosen about as often (selectgo's random poll
/// order), and the index is the caller's, whatever the reordering of
/// sends and receives inside.
#[gort::test(both)]
unsafe fn select_dyn_is_fair_and_keeps_indices() {
    let chans: Vec<Chan<usize>> = (0..4).map(|_| Chan::new(1)).collect();
    let sink: Chan<usize> = Chan::new(100_000);
    let mut counts = [0usize; 5];
    let start = Instant::now();
    for _ in 0..4000 {
        for (i, c) in chans.iter().enumerate() {
            if c.is_empty() {
                c.send(i);
            }
        }
        // recv, recv, send, recv, recv: the send is case 2.
        let cases = vec![
            SelectCase::recv(&chans[0]),
            SelectCase::recv(&chans[1]),
            SelectCase::send(&sink, 99),
            SelectCase::recv(&chans[2]),
            SelectCase::recv(&chans[3]),
        ];
        let r = select_dyn(cases);
        counts[r.index] += 1;
        match r.index {
            2 => assert_eq!(r.value, None),
            k => {
                let want = if k < 2 { k } else { k - 1 };
                assert_eq!(r.value, Some(want));
            }
        }
    }
    for (i, &c) in counts.iter().enumerate() {
        assert!(
            (600..=1000).contains(&c),
            "case {i} chosen {c} of 4000: {counts:?}"
        );
    }
    assert_eq!(sink.len(), counts[2]);
    assert!(start.elapsed() < Duration::from_secs(30));
}

/// A send case that was not chosen drops its value; nothing leaks and
/// nothing is dropped twice.
#[gort::test(both)]
unsafe fn unsent_values_are_dropped_once() {
    let token = Arc::new(());
    let full: Chan<Arc<()>> = Chan::new(0);
    let ready: Chan<Arc<()>> = Chan::new(1);
    ready.send(token.clone());
    for _ in 0..100 {
        let r = select_dyn(vec![
            SelectCase::send(&full, token.clone()),
            SelectCase::recv(&ready),
            SelectCase::default_case(),
        ]);
        if r.index == 1 {
            drop(r.value);
            ready.send(token.clone());
        }
    }
    drop(ready.recv());
    assert_eq!(Arc::strong_count(&token), 1);
}

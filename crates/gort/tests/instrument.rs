//! The `tracing` feature (issue 9): a span per goroutine, entered while it
//! runs and exited when it stops, always on the same OS thread, with the
//! creating goroutine's span as parent, closed when the goroutine ends.
#![cfg(feature = "tracing")]

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::ThreadId;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ev {
    Enter,
    Exit,
    Close,
}

#[derive(Default)]
struct Rec {
    next: AtomicU64,
    /// span id → (goid, parent span id)
    spans: Mutex<HashMap<u64, (u64, Option<u64>)>>,
    log: Mutex<Vec<(u64, Ev, ThreadId)>>,
}

thread_local! {
    /// This subscriber's per-thread stack of entered spans, as real
    /// subscribers keep one.
    static STACK: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

struct Goid(u64);
impl Visit for Goid {
    fn record_u64(&mut self, f: &Field, v: u64) {
        if f.name() == "goid" {
            self.0 = v;
        }
    }
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

impl Subscriber for &'static Rec {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, a: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut g = Goid(0);
        a.record(&mut g);
        let parent = if let Some(p) = a.parent() {
            Some(p.into_u64())
        } else if a.is_contextual() {
            STACK.with(|s| s.borrow().last().copied())
        } else {
            None
        };
        self.spans.lock().unwrap().insert(id, (g.0, parent));
        Id::from_u64(id)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, id: &Id) {
        STACK.with(|s| s.borrow_mut().push(id.into_u64()));
        self.log
            .lock()
            .unwrap()
            .push((id.into_u64(), Ev::Enter, std::thread::current().id()));
    }
    fn exit(&self, id: &Id) {
        let top = STACK.with(|s| s.borrow_mut().pop());
        assert_eq!(
            top,
            Some(id.into_u64()),
            "exit of a span that is not this thread's current one"
        );
        self.log
            .lock()
            .unwrap()
            .push((id.into_u64(), Ev::Exit, std::thread::current().id()));
    }
    fn try_close(&self, id: Id) -> bool {
        self.log
            .lock()
            .unwrap()
            .push((id.into_u64(), Ev::Close, std::thread::current().id()));
        true
    }
}

#[test]
fn goroutine_spans_are_balanced_per_thread() {
    let rec: &'static Rec = Box::leak(Box::default());
    tracing::subscriber::set_global_default(rec).unwrap();
    let (parent_goid, child_goids) = {
        gort::Builder::new().gomaxprocs(2).block_on(|| {
            let c: gort::Chan<u32> = gort::Chan::new(0);
            let mut hs = Vec::new();
            for _ in 0..4 {
                let c = c.clone();
                hs.push(gort::spawn(move || {
                    let me = gort::goid();
                    // One yield before the loop, so every goroutine runs at
                    // least twice even if the others take all 400 values
                    // (a late starter may find the channel already closed).
                    gort::gosched();
                    // Park and yield many times: each stop exits the span
                    // on the thread it was entered on.
                    while let Some(v) = c.recv() {
                        if v % 3 == 0 {
                            gort::gosched();
                        }
                    }
                    me
                }));
            }
            for i in 0..400 {
                c.send(i);
            }
            c.close();
            let kids: Vec<u64> = hs.into_iter().map(|h| h.join().unwrap()).collect();
            (gort::goid(), kids)
        })
    };
    let spans = rec.spans.lock().unwrap().clone();
    let log = rec.log.lock().unwrap().clone();
    let span_of = |goid: u64| {
        spans
            .iter()
            .find(|(_, (g, _))| *g == goid)
            .map(|(id, _)| *id)
            .unwrap_or_else(|| panic!("no span for goroutine {goid}"))
    };
    let main_span = span_of(parent_goid);
    for &k in &child_goids {
        let s = span_of(k);
        assert_eq!(
            spans[&s].1,
            Some(main_span),
            "goroutine {k}'s span is a child of main's"
        );
        // Enter/exit strictly alternate, each exit on its enter's thread,
        // then the span closes.
        let evs: Vec<(Ev, ThreadId)> = log
            .iter()
            .filter(|(id, _, _)| *id == s)
            .map(|(_, e, t)| (*e, *t))
            .collect();
        let runs = evs.iter().filter(|(e, _)| *e == Ev::Enter).count();
        assert!(runs >= 2, "goroutine {k} ran {runs} times: {evs:?}");
        for pair in evs[..evs.len() - 1].chunks(2) {
            assert_eq!(pair[0].0, Ev::Enter, "{evs:?}");
            assert_eq!(pair[1].0, Ev::Exit, "{evs:?}");
            assert_eq!(pair[0].1, pair[1].1, "exit on another thread: {evs:?}");
        }
        assert_eq!(evs.last().map(|e| e.0), Some(Ev::Close), "{evs:?}");
    }
}

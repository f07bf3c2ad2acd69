//! The scheduler trace (issue 9): a ping-pong program's trace is valid
//! Chrome trace-event JSON and shows, per goroutine, the sequence of states
//! the program must go through.

use std::collections::BTreeMap;

use serde_json::Value;

const ROUNDS: usize = 5;

/// Runs a ping-pong between main and one partner goroutine over two
/// unbuffered channels, traced; returns the partner's goid and the trace.
fn traced_ping_pong(procs: usize) -> (u64, String) {
    {
        gort::Builder::new().gomaxprocs(procs).block_on(|| {
            gort::trace::start().unwrap();
            assert_eq!(
                gort::trace::start().unwrap_err().to_string(),
                "tracing is already enabled"
            );
            let ping: gort::Chan<usize> = gort::Chan::new(0);
            let pong: gort::Chan<usize> = gort::Chan::new(0);
            let (pi, po) = (ping.clone(), pong.clone());
            let partner = gort::spawn(move || {
                let me = gort::goid();
                while let Some(v) = pi.recv() {
                    po.send(v + 1);
                }
                me
            });
            for i in 0..ROUNDS {
                ping.send(i);
                assert_eq!(pong.recv(), Some(i + 1));
            }
            ping.close();
            let goid = partner.join().unwrap();
            let json = gort::trace::stop().expect("a trace was started");
            assert!(gort::trace::stop().is_none(), "a second stop has nothing");
            (goid, json)
        })
    }
}

/// The state slices of each goroutine's track, in time order.
fn goroutine_tracks(v: &Value) -> BTreeMap<u64, Vec<String>> {
    let evs = v["traceEvents"].as_array().expect("traceEvents array");
    let mut pid_g = None;
    for e in evs {
        if e["ph"] == "M" && e["name"] == "process_name" && e["args"]["name"] == "Goroutines" {
            pid_g = e["pid"].as_u64();
        }
    }
    let pid_g = pid_g.expect("a Goroutines process");
    let mut slices: Vec<(f64, u64, String)> = evs
        .iter()
        .filter(|e| e["ph"] == "X" && e["pid"].as_u64() == Some(pid_g))
        .map(|e| {
            (
                e["ts"].as_f64().unwrap(),
                e["tid"].as_u64().unwrap(),
                e["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    slices.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    let mut tracks: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for (_, g, name) in slices {
        // "running on P0" → "running": the P varies with GOMAXPROCS.
        let name = if name.starts_with("running on P") {
            "running".to_string()
        } else {
            name
        };
        tracks.entry(g).or_default().push(name);
    }
    tracks
}

fn check(procs: usize) {
    let (partner, json) = traced_ping_pong(procs);
    let v: Value = serde_json::from_str(&json).expect("the trace is valid JSON");
    let tracks = goroutine_tracks(&v);
    let p = tracks.get(&partner).unwrap_or_else(|| {
        panic!("no track for the partner goroutine {partner}; tracks: {tracks:?}")
    });
    // Created, then runs; every park is on one of the two channels, and
    // is followed by an unpark and a run; it ends running (the close).
    assert_eq!(&p[..2], ["runnable", "running"], "{p:?}");
    assert_eq!(p.last().map(String::as_str), Some("running"), "{p:?}");
    let mut waits = 0;
    for w in p[2..].chunks(3) {
        assert!(
            w[0] == "waiting: chan send" || w[0] == "waiting: chan receive",
            "{p:?}"
        );
        assert_eq!(&w[1..], ["runnable", "running"], "{p:?}");
        waits += 1;
    }
    assert!(
        (1..=2 * ROUNDS + 1).contains(&waits),
        "{waits} waits: {p:?}"
    );
    if procs == 1 {
        // One P: main's send always finds the partner not yet receiving
        // (main parks, the partner takes the value from main's sudog) and
        // the partner's reply finds main not yet receiving: the partner
        // parks in `chan send` once per round, as a Go program does.
        let want: Vec<String> = ["runnable", "running"]
            .into_iter()
            .chain((0..ROUNDS).flat_map(|_| ["waiting: chan send", "runnable", "running"]))
            .map(String::from)
            .collect();
        assert_eq!(p, &want);
    }
    // Main (goid 1 is this instance's main goroutine) waits on a channel.
    let main = &tracks[&1];
    let waits = main
        .iter()
        .filter(|s| s.starts_with("waiting: chan"))
        .count();
    assert!(waits >= 1, "main never waited on a channel: {main:?}");
    // Every P slice names a goroutine and lasts a non-negative time; the
    // unpark arrows are paired.
    let evs = v["traceEvents"].as_array().unwrap();
    let starts = evs.iter().filter(|e| e["ph"] == "s").count();
    let ends = evs.iter().filter(|e| e["ph"] == "f").count();
    assert!(
        starts >= ROUNDS && ends >= ROUNDS,
        "flows: {starts} starts, {ends} ends"
    );
    for e in evs.iter().filter(|e| e["ph"] == "X") {
        assert!(e["dur"].as_f64().unwrap() >= 0.0, "{e}");
    }
    let threads = evs
        .iter()
        .filter(|e| e["ph"] == "X" && e["name"].as_str().is_some_and(|n| n.starts_with('P')))
        .count();
    assert!(threads >= 1, "no M held a P in the trace");
}

#[test]
fn ping_pong_trace_gomaxprocs_1() {
    check(1);
}

#[test]
fn ping_pong_trace_gomaxprocs_2() {
    check(2);
}

/// Stops of the world from several goroutines at once (GOMAXPROCS changes
/// and trace stops) take turns (Go's worldsema) instead of interleaving.
#[test]
fn concurrent_stops_take_turns() {
    {
        gort::Builder::new().gomaxprocs(2).block_on(|| {
            let wg = std::sync::Arc::new(gort::sync::WaitGroup::new());
            for i in 0..4 {
                wg.go(move || {
                    for k in 0..30 {
                        gort::gomaxprocs(1 + (i + k) % 3);
                        gort::gosched();
                    }
                });
            }
            for _ in 0..20 {
                gort::trace::start().unwrap();
                gort::gosched();
                let json = gort::trace::stop().unwrap();
                serde_json::from_str::<serde_json::Value>(&json).unwrap();
            }
            wg.wait();
            assert!((1..=3).contains(&gort::gomaxprocs(0)));
        })
    }
}

/// A goroutine's track is named after its function and its pprof labels
/// (issue 22), the labels as a dump header shows them.
#[test]
fn goroutine_tracks_are_named_after_function_and_labels() {
    let (goid, json) = gort::Builder::new().gomaxprocs(2).block_on(|| {
        gort::trace::start().unwrap();
        let h = gort::spawn(|| {
            use gort::pprof;
            pprof::do_labeled(
                &gort::context::background(),
                pprof::labels([("worker", "7")]),
                |_| {
                    gort::gosched();
                    gort::goid()
                },
            )
        });
        let goid = h.join().unwrap();
        (goid, gort::trace::stop().unwrap())
    });
    let v: Value = serde_json::from_str(&json).unwrap();
    let names: Vec<String> = v["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name" && e["tid"].as_u64() == Some(goid))
        .filter_map(|e| e["args"]["name"].as_str().map(str::to_string))
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with(&format!("G{goid} "))
            && n.contains("goroutine_tracks_are_named_after_function_and_labels")
            && n.ends_with(" {worker: 7}")),
        "{names:?}"
    );
}

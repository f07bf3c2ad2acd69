//! Where goroutines ran, from a gort trace (`GORT_TRACE`, Chrome
//! trace-event JSON): per goroutine, the threads (Ms) and Ps it ran on, and
//! an SVG timeline with a lane per thread, each run of a goroutine a bar
//! in the goroutine's colour. Used for the safe mode's placement pictures
//! in docs/performance.md (`--bin trace-svg`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The P group of gort's trace (`PID_P` in runtime-p's trace.rs): one
/// complete ("X") event per run of a goroutine on a P, with the goroutine
/// and the M in its arguments.
const PID_P: u64 = 1;

/// One run of a goroutine: on which P and M, from `t0` for `dur` µs.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub goid: u64,
    pub p: u64,
    pub m: u64,
    pub t0: f64,
    pub dur: f64,
}

/// The runs in a trace, in time order.
///
/// # Errors
/// If the text is not a trace-event array (or `{"traceEvents": [...]}`).
pub fn runs(json: &str) -> Result<Vec<Run>, String> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let events = match &v {
        serde_json::Value::Array(a) => a,
        serde_json::Value::Object(o) => o
            .get("traceEvents")
            .and_then(|e| e.as_array())
            .ok_or("no traceEvents array")?,
        _ => return Err("not a trace-event array".into()),
    };
    let mut out = Vec::new();
    for e in events {
        if e["ph"] != "X" || e["pid"].as_u64() != Some(PID_P) {
            continue;
        }
        let (Some(goid), Some(m), Some(p), Some(t0), Some(dur)) = (
            e["args"]["goid"].as_u64(),
            e["args"]["m"].as_u64(),
            e["tid"].as_u64(),
            e["ts"].as_f64(),
            e["dur"].as_f64(),
        ) else {
            continue;
        };
        out.push(Run {
            goid,
            p,
            m,
            t0,
            dur,
        });
    }
    out.sort_by(|a, b| a.t0.total_cmp(&b.t0));
    Ok(out)
}

/// Per goroutine: its number of runs, and the Ms and Ps they were on.
pub fn summary(runs: &[Run]) -> BTreeMap<u64, (usize, BTreeSet<u64>, BTreeSet<u64>)> {
    let mut s: BTreeMap<u64, (usize, BTreeSet<u64>, BTreeSet<u64>)> = BTreeMap::new();
    for r in runs {
        let e = s.entry(r.goid).or_default();
        e.0 += 1;
        e.1.insert(r.m);
        e.2.insert(r.p);
    }
    s
}

/// A Markdown table of [`summary`]: goroutine, runs, threads, Ps; and a
/// last line counting the goroutines that ran on more than one thread.
pub fn summary_table(runs: &[Run]) -> String {
    let s = summary(runs);
    let mut out = String::from("| goroutine | runs | threads (M) | Ps |\n|---|---|---|---|\n");
    let list = |set: &BTreeSet<u64>| {
        set.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (g, (n, ms, ps)) in &s {
        let _ = writeln!(out, "| G{g} | {n} | {} | {} |", list(ms), list(ps));
    }
    let moved = s.values().filter(|(_, ms, _)| ms.len() > 1).count();
    let _ = writeln!(
        out,
        "\n{moved} of {} goroutines ran on more than one thread.",
        s.len()
    );
    out
}

/// An SVG timeline: a lane per thread (M), each run a bar coloured by its
/// goroutine and labelled with its goroutine where it is wide enough.
/// Only `window_us` microseconds are drawn, from the start of the middle
/// run (the steady state; a whole run has too many bars to see).
pub fn svg(runs: &[Run], title: &str, window_us: f64) -> String {
    const PALETTE: [&str; 10] = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
        "#bcbd22", "#17becf",
    ];
    let (left, top, lane, width) = (60.0, 40.0, 28.0, 900.0);
    let t_start = runs.get(runs.len() / 2).map_or(0.0, |r| r.t0);
    let t_end = t_start + window_us;
    let ms: BTreeSet<u64> = runs.iter().map(|r| r.m).collect();
    let lanes: BTreeMap<u64, usize> = ms.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    let goids: BTreeSet<u64> = runs.iter().map(|r| r.goid).collect();
    let colour: BTreeMap<u64, &str> = goids
        .iter()
        .enumerate()
        .map(|(i, g)| (*g, PALETTE[i % PALETTE.len()]))
        .collect();
    let height = top + lane * lanes.len() as f64 + 50.0;
    let x = |t: f64| left + (t - t_start) / window_us * width;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"10\">\n",
        left + width + 20.0
    );
    let _ = writeln!(
        out,
        "<text x=\"{left}\" y=\"20\" font-size=\"13\">{}</text>",
        escape(title)
    );
    for (m, i) in &lanes {
        let y = top + lane * *i as f64;
        let _ = writeln!(
            out,
            "<text x=\"4\" y=\"{}\">M{m}</text><line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#ddd\"/>",
            y + lane / 2.0 + 3.0,
            y + lane,
            left + width,
            y + lane
        );
    }
    for r in runs
        .iter()
        .filter(|r| r.t0 < t_end && r.t0 + r.dur > t_start)
    {
        let (x0, x1) = (x(r.t0.max(t_start)), x((r.t0 + r.dur).min(t_end)));
        let y = top + lane * lanes[&r.m] as f64 + 3.0;
        let w = (x1 - x0).max(0.5);
        let _ = writeln!(
            out,
            "<rect x=\"{x0:.2}\" y=\"{y}\" width=\"{w:.2}\" height=\"{}\" fill=\"{}\"><title>G{} on P{} M{}, {:.1} µs</title></rect>",
            lane - 6.0,
            colour[&r.goid],
            r.goid,
            r.p,
            r.m,
            r.dur
        );
        if w > 18.0 {
            let _ = writeln!(
                out,
                "<text x=\"{:.2}\" y=\"{}\" fill=\"white\">G{}</text>",
                x0 + 2.0,
                y + lane / 2.0,
                r.goid
            );
        }
    }
    let _ = writeln!(
        out,
        "<text x=\"{left}\" y=\"{}\">0 µs</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{window_us:.0} µs</text>",
        height - 20.0,
        left + width,
        height - 20.0
    );
    out.push_str("</svg>\n");
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = r#"[
        {"ph":"M","name":"thread_name","pid":1,"tid":0,"args":{"name":"P0"}},
        {"ph":"X","pid":1,"tid":0,"name":"G1","ts":10.0,"dur":5.0,"args":{"goid":1,"m":0}},
        {"ph":"X","pid":1,"tid":1,"name":"G2","ts":12.0,"dur":3.0,"args":{"goid":2,"m":1}},
        {"ph":"X","pid":1,"tid":0,"name":"G2","ts":20.0,"dur":1.0,"args":{"goid":2,"m":0}},
        {"ph":"X","pid":2,"tid":2,"name":"running on P0","ts":20.0,"dur":1.0,"args":{}}
    ]"#;

    #[test]
    fn runs_come_from_the_p_group_only_in_time_order() {
        let r = runs(TRACE).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!((r[1].goid, r[1].p, r[1].m), (2, 1, 1));
        assert!(runs("{}").is_err());
    }

    #[test]
    fn summary_counts_threads_per_goroutine() {
        let r = runs(TRACE).unwrap();
        let t = summary_table(&r);
        assert!(t.contains("| G1 | 1 | 0 | 0 |"), "{t}");
        assert!(t.contains("| G2 | 2 | 0, 1 | 0, 1 |"), "{t}");
        assert!(
            t.contains("1 of 2 goroutines ran on more than one thread."),
            "{t}"
        );
        // From the middle run (G2 at 12 µs): every run that overlaps
        // 12..112 µs, then only those that overlap 12..17 µs.
        let svg = svg(&r, "t", 100.0);
        assert_eq!(svg.matches("<rect").count(), 3);
        assert_eq!(super::svg(&r, "t", 5.0).matches("<rect").count(), 2);
        assert!(svg.contains(">M1<"), "{svg}");
    }
}

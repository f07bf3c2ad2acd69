//! # gort-bench: gort side by side with Go, tokio and may
//!
//! `cargo bench -p gort-bench` runs every workload with GOMAXPROCS 1 and 2
//! (worker threads for the Rust peers), five times per system, interleaving
//! the systems so that drift on a noisy machine hits all alike. Each
//! measurement runs in a fresh process. gort runs in both scheduler modes:
//! `gort` is the safe mode (the default), `gort-mig` the migrating one. It
//! prints medians, spreads and the ratios gort/gort-mig (the price of the
//! safe mode), gort/Go, gort/tokio, gort/may and gort-mig/Go, and writes
//! `target/bench/results.json` and `target/bench/chart.svg`.
//!
//! Options (after `--`): `--quick` (a tenth of the work, 3 runs),
//! `--only <workload>[,<workload>...]` (unknown names are an error), `--systems gort,go,...`.
//!
//! This library holds what the runner and its tests share: statistics,
//! the table, JSON and the chart.

use std::fmt::Write as _;

pub mod placement;

/// One measured figure: lower is better for every workload here.
#[derive(Clone, Debug)]
pub struct Sample {
    pub workload: String,
    pub unit: &'static str,
    pub procs: usize,
    pub system: String,
    /// `None` when the system cannot run the workload or the run failed
    /// (the reason is in `note`).
    pub values: Vec<f64>,
    pub note: String,
}

/// Median of `v` (which must not be empty).
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// Spread as (max - min) / median, in percent.
pub fn spread_pct(v: &[f64]) -> f64 {
    let (lo, hi) = v
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    100.0 * (hi - lo) / median(v)
}

fn cell(s: Option<&Sample>) -> String {
    match s {
        Some(s) if !s.values.is_empty() => {
            format!("{:.1} ±{:.0}%", median(&s.values), spread_pct(&s.values))
        }
        Some(s) => s.note.clone(),
        None => "n/a".into(),
    }
}

fn ratio(a: Option<&Sample>, b: Option<&Sample>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if !a.values.is_empty() && !b.values.is_empty() => {
            format!("{:.2}", median(&a.values) / median(&b.values))
        }
        _ => "-".into(),
    }
}

/// The results table, in Markdown: a column per system, then gort's ratio
/// to each other system.
pub fn table(samples: &[Sample], systems: &[&str]) -> String {
    let peers: Vec<&str> = systems.iter().copied().filter(|s| *s != "gort").collect();
    let mut out = String::new();
    let _ = write!(out, "| workload | unit | procs |");
    for s in systems {
        let _ = write!(out, " {s} |");
    }
    for p in &peers {
        let _ = write!(out, " gort/{p} |");
    }
    // The migrating mode against Go: with gort/gort-mig (the price of the
    // safe mode's soundness) it shows whether the safe mode stays ahead
    // of Go wherever the migrating mode is.
    let mig_go = systems.contains(&"gort-mig") && systems.contains(&"go");
    if mig_go {
        out.push_str(" gort-mig/go |");
    }
    out.push_str("\n|---|---|---|");
    for _ in systems.iter().chain(&peers) {
        out.push_str("---|");
    }
    if mig_go {
        out.push_str("---|");
    }
    out.push('\n');
    let mut keys: Vec<(String, usize)> = samples
        .iter()
        .map(|s| (s.workload.clone(), s.procs))
        .collect();
    keys.dedup();
    for (w, p) in keys {
        let find = |sys: &str| {
            samples
                .iter()
                .find(|s| s.workload == w && s.procs == p && s.system == sys)
        };
        let unit = samples
            .iter()
            .find(|s| s.workload == w)
            .map(|s| s.unit)
            .unwrap_or("");
        let _ = write!(out, "| {w} | {unit} | {p} |");
        for s in systems {
            let _ = write!(out, " {} |", cell(find(s)));
        }
        let g = find("gort");
        for p in &peers {
            let _ = write!(out, " {} |", ratio(g, find(p)));
        }
        if mig_go {
            let _ = write!(out, " {} |", ratio(find("gort-mig"), find("go")));
        }
        out.push('\n');
    }
    out
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// The samples as JSON (an array of objects).
pub fn to_json(samples: &[Sample]) -> String {
    let mut o = String::from("[\n");
    for (i, s) in samples.iter().enumerate() {
        let vals: Vec<String> = s.values.iter().map(|v| format!("{v}")).collect();
        let med = if s.values.is_empty() {
            "null".to_string()
        } else {
            format!("{}", median(&s.values))
        };
        let _ = writeln!(
            o,
            "  {{\"workload\": {}, \"unit\": {}, \"procs\": {}, \"system\": {}, \"median\": {}, \"values\": [{}], \"note\": {}}}{}",
            json_str(&s.workload),
            json_str(s.unit),
            s.procs,
            json_str(&s.system),
            med,
            vals.join(", "),
            json_str(&s.note),
            if i + 1 < samples.len() { "," } else { "" }
        );
    }
    o.push(']');
    o
}

fn json_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let k = format!("\"{key}\": ");
    let start = line.find(&k)? + k.len();
    let rest = &line[start..];
    if let Some(r) = rest.strip_prefix('"') {
        let mut end = 0;
        let b = r.as_bytes();
        while end < b.len() && !(b[end] == b'"' && (end == 0 || b[end - 1] != b'\\')) {
            end += 1;
        }
        Some(&r[..end])
    } else if let Some(r) = rest.strip_prefix('[') {
        Some(&r[..r.find(']')?])
    } else {
        Some(rest.split([',', '}']).next()?.trim())
    }
}

/// Reads back what [`to_json`] wrote (one object per line), e.g. to redraw
/// the chart without measuring again (`--rechart`).
pub fn from_json(text: &str, unit_of: impl Fn(&str) -> &'static str) -> Vec<Sample> {
    text.lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .filter_map(|l| {
            let workload = json_field(l, "workload")?.to_string();
            let values = json_field(l, "values")?
                .split(',')
                .filter_map(|v| v.trim().parse::<f64>().ok())
                .collect();
            Some(Sample {
                unit: unit_of(&workload),
                procs: json_field(l, "procs")?.parse().ok()?,
                system: json_field(l, "system")?.to_string(),
                note: json_field(l, "note")?
                    .replace("\\\"", "\"")
                    .replace("\\n", "\n"),
                workload,
                values,
            })
        })
        .collect()
}

/// A grouped bar chart (SVG): one group per workload and GOMAXPROCS, bars
/// normalised to Go's median (Go = 1.0), so workloads of different units
/// share one axis.
pub fn chart_svg(samples: &[Sample], systems: &[&str]) -> String {
    let colors = [
        "#1f77b4", "#17becf", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
    ];
    let mut keys: Vec<(String, usize)> = samples
        .iter()
        .map(|s| (s.workload.clone(), s.procs))
        .collect();
    keys.dedup();
    let (w_group, bar, top, left, h) =
        (28.0 + 14.0 * systems.len() as f64, 12.0, 40.0, 50.0, 260.0);
    let width = left + w_group * keys.len() as f64 + 160.0;
    let height = top + h + 120.0;
    let mut maxr: f64 = 1.0;
    let ratio_of = |w: &str, p: usize, sys: &str| -> Option<f64> {
        let f = |s: &str| {
            samples
                .iter()
                .find(|x| x.workload == w && x.procs == p && x.system == s && !x.values.is_empty())
        };
        Some(median(&f(sys)?.values) / median(&f("go")?.values))
    };
    for (w, p) in &keys {
        for s in systems {
            if let Some(r) = ratio_of(w, *p, s) {
                maxr = maxr.max(r);
            }
        }
    }
    // Cap the axis so one outlier does not flatten the rest; capped bars
    // carry their value.
    let maxr = maxr.min(6.0);
    let mut o = String::new();
    let _ = writeln!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" font-family=\"sans-serif\" font-size=\"11\">"
    );
    let _ = writeln!(o, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        o,
        "<text x=\"{left}\" y=\"20\" font-size=\"14\">gort vs Go, tokio, may — time or memory relative to Go (lower is better; Go = 1)</text>"
    );
    let y_of = |r: f64| top + h - h * (r.min(maxr) / maxr);
    for t in 0..=4 {
        let r = maxr * t as f64 / 4.0;
        let y = y_of(r);
        let _ = writeln!(
            o,
            "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>",
            width - 160.0
        );
        let _ = writeln!(
            o,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{r:.1}</text>",
            left - 4.0,
            y + 4.0
        );
    }
    let y1 = y_of(1.0);
    let _ = writeln!(
        o,
        "<line x1=\"{left}\" y1=\"{y1:.1}\" x2=\"{:.1}\" y2=\"{y1:.1}\" stroke=\"#000\" stroke-dasharray=\"4 3\"/>",
        width - 160.0
    );
    for (gi, (w, p)) in keys.iter().enumerate() {
        let gx = left + gi as f64 * w_group + 8.0;
        for (si, s) in systems.iter().enumerate() {
            if let Some(r) = ratio_of(w, *p, s) {
                let y = y_of(r);
                let x = gx + si as f64 * (bar + 2.0);
                let _ = writeln!(
                    o,
                    "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar}\" height=\"{:.1}\" fill=\"{}\"><title>{s} {w} p={p}: {r:.2}× Go</title></rect>",
                    top + h - y,
                    colors[si % colors.len()]
                );
                if r > maxr {
                    let _ = writeln!(
                        o,
                        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" text-anchor=\"middle\">{r:.0}×</text>",
                        x + bar / 2.0,
                        y - 3.0
                    );
                }
            }
        }
        let lx = gx + 10.0;
        let ly = top + h + 10.0;
        let _ = writeln!(
            o,
            "<text transform=\"translate({lx:.1},{ly:.1}) rotate(45)\">{w} p={p}</text>"
        );
    }
    for (si, s) in systems.iter().enumerate() {
        let y = top + 14.0 * si as f64;
        let x = width - 140.0;
        let _ = writeln!(
            o,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"10\" height=\"10\" fill=\"{}\"/>",
            colors[si % colors.len()]
        );
        let _ = writeln!(
            o,
            "<text x=\"{:.1}\" y=\"{:.1}\">{s}</text>",
            x + 14.0,
            y + 9.0
        );
    }
    o.push_str("</svg>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_spread() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(spread_pct(&[90.0, 100.0, 110.0]), 20.0);
    }

    #[test]
    fn table_has_ratios_and_marks_missing_systems() {
        let mk = |sys: &str, v: f64| Sample {
            workload: "w".into(),
            unit: "ns/op",
            procs: 1,
            system: sys.into(),
            values: vec![v, v],
            note: String::new(),
        };
        let t = table(
            &[mk("gort", 50.0), mk("go", 100.0)],
            &["gort", "go", "tokio"],
        );
        assert!(
            t.contains("| w | ns/op | 1 | 50.0 ±0% | 100.0 ±0% | n/a | 0.50 | - |"),
            "{t}"
        );
        let j = to_json(&[mk("gort", 50.0)]);
        assert!(j.contains("\"median\": 50"), "{j}");
        let back = from_json(&to_json(&[mk("gort", 50.0), mk("go", 100.0)]), |_| "ns/op");
        assert_eq!(back.len(), 2);
        assert_eq!(
            (
                back[0].system.as_str(),
                back[0].procs,
                back[0].values.clone()
            ),
            ("gort", 1, vec![50.0, 50.0])
        );
        assert!(t.contains("| gort/go | gort/tokio |\n"), "{t}");
        // Both scheduler modes: the safe mode's price (gort/gort-mig) and
        // the migrating mode against Go.
        let t = table(
            &[mk("gort", 60.0), mk("gort-mig", 40.0), mk("go", 100.0)],
            &["gort", "gort-mig", "go"],
        );
        assert!(
            t.contains("| gort/gort-mig | gort/go | gort-mig/go |\n"),
            "{t}"
        );
        assert!(t.contains("| 1.50 | 0.60 | 0.40 |\n"), "{t}");
        let svg = chart_svg(&[mk("gort", 50.0), mk("go", 100.0)], &["gort", "go"]);
        assert!(svg.starts_with("<svg") && svg.contains("0.50× Go"), "{svg}");
    }
}

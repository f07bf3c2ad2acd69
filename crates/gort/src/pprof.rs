//! Goroutine labels: port of the label half of Go's `runtime/pprof`
//! (label.go, runtime.go).
//!
//! A [`LabelSet`] is a set of key/value strings. [`with_labels`] attaches
//! one to a [`Context`] (merged with the labels it already carries);
//! [`set_goroutine_labels`] gives the calling goroutine the labels of a
//! context, and [`do_labeled`] (Go's `pprof.Do`) does both around a
//! function and restores the goroutine's labels afterwards. Goroutines
//! inherit their creator's labels when they are started.
//!
//! gort has no CPU profiler; labels show where Go 1.27 shows them besides
//! profiles: in goroutine dumps (`goroutine 7 [chan receive] {worker:
//! 3}:`, in [`crate::stack`], SIGQUIT dumps, fatal errors and the stall
//! report; `GODEBUG=tracebacklabels=0` leaves them out, as in Go), and in
//! the names of goroutine tracks of a `GORT_TRACE` trace.
//!
//! ```
//! use gort::{context, pprof};
//! gort::Builder::new().block_on(|| {
//!     let ctx = context::background();
//!     pprof::do_labeled(&ctx, pprof::labels([("worker", "3")]), |ctx| {
//!         assert_eq!(pprof::label(ctx, "worker").as_deref(), Some("3"));
//!         assert!(gort::stack(false).contains("{worker: 3}"));
//!     });
//!     assert!(!gort::stack(false).contains("worker"));
//! });
//! ```

use std::sync::Arc;

use crate::context::{Context, with_value};

/// A set of labels (Go's `LabelSet`): key/value pairs sorted by key, each
/// key once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSet {
    list: Vec<(String, String)>,
}

impl LabelSet {
    /// The pairs, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.list.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Go's `Labels(args ...string)`: a set of the given pairs. A key given
/// twice keeps its last value.
pub fn labels<K, V, I>(pairs: I) -> LabelSet
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<String>,
{
    let mut list: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    // A stable sort keeps a repeated key's values in order: the last wins.
    list.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out: Vec<(String, String)> = Vec::with_capacity(list.len());
    for kv in list {
        match out.last_mut() {
            Some(last) if last.0 == kv.0 => *last = kv,
            _ => out.push(kv),
        }
    }
    LabelSet { list: out }
}

/// The context key of the labels (Go's `labelContextKey`).
#[derive(PartialEq)]
struct LabelContextKey;

/// The labels a context carries (Go's `labelMap`), shared with the
/// goroutines that take them.
#[derive(Clone)]
struct LabelMap(runtime_g::Labels);

impl std::fmt::Display for LabelMap {
    /// Go's `labelMap.String`: `{"k":"v", ...}`, Go-quoted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kv: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| format!("{:?}:{:?}", GoStr(k), GoStr(v)))
            .collect();
        // Go sorts the quoted pairs, not the keys.
        kv.sort();
        write!(f, "{{{}}}", kv.join(", "))
    }
}

/// A string printed with `{:?}` as Go's `%q` prints it.
struct GoStr<'a>(&'a str);

impl std::fmt::Debug for GoStr<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&go_quote(self.0))
    }
}

/// Go's `strconv.Quote`: printable characters as they are, `\a \b \f \n
/// \r \t \v \\ \"` escaped, other control characters as `\xNN`, and
/// control characters beyond ASCII as `\uNNNN` or `\UNNNNNNNN` (Go also
/// escapes the other characters Unicode calls non-printing, such as
/// U+00AD; Rust's std has no such table, so they print as they are).
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            '\\' | '"' => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c == '\x7f' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() && (c as u32) < 0x1_0000 => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\U{:08x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn label_value(ctx: &Context) -> Option<&LabelMap> {
    ctx.value::<LabelContextKey, LabelMap>(&LabelContextKey)
}

/// Go's `WithLabels`: a child of `ctx` carrying its labels merged with
/// `labels` (a key in both takes the value from `labels`).
pub fn with_labels(ctx: &Context, labels: LabelSet) -> Context {
    let merged: Vec<(Box<str>, Box<str>)> = match label_value(ctx) {
        None => labels
            .list
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect(),
        Some(left) => {
            // Go's mergeLabelSets: both are sorted by key.
            let (l, r) = (&left.0, labels.list);
            let mut out: Vec<(Box<str>, Box<str>)> = Vec::with_capacity(l.len() + r.len());
            let mut li = l.iter().peekable();
            let mut ri = r.into_iter().peekable();
            loop {
                match (li.peek(), ri.peek()) {
                    (Some(a), Some(b)) => match (*a.0).cmp(b.0.as_str()) {
                        std::cmp::Ordering::Less => out.push(li.next().unwrap().clone()),
                        std::cmp::Ordering::Greater => {
                            let (k, v) = ri.next().unwrap();
                            out.push((k.into(), v.into()));
                        }
                        std::cmp::Ordering::Equal => {
                            li.next();
                            let (k, v) = ri.next().unwrap();
                            out.push((k.into(), v.into()));
                        }
                    },
                    (Some(_), None) => out.push(li.next().unwrap().clone()),
                    (None, Some(_)) => {
                        let (k, v) = ri.next().unwrap();
                        out.push((k.into(), v.into()));
                    }
                    (None, None) => break,
                }
            }
            out
        }
    };
    with_value(
        ctx,
        LabelContextKey,
        Some(LabelMap(Arc::from(merged.into_boxed_slice()))),
    )
}

/// Go's `Label`: the value of `key` among `ctx`'s labels.
pub fn label(ctx: &Context, key: &str) -> Option<String> {
    label_value(ctx)?
        .0
        .iter()
        .find(|(k, _)| &**k == key)
        .map(|(_, v)| v.to_string())
}

/// Go's `ForLabels`: calls `f` with each of `ctx`'s labels, in key order,
/// until it returns false.
pub fn for_labels(ctx: &Context, mut f: impl FnMut(&str, &str) -> bool) {
    if let Some(m) = label_value(ctx) {
        for (k, v) in m.0.iter() {
            if !f(k, v) {
                break;
            }
        }
    }
}

/// Go's `SetGoroutineLabels`: the calling goroutine takes `ctx`'s labels
/// (none if it has none); goroutines it starts from now on inherit them.
///
/// # Panics
/// Outside a goroutine.
pub fn set_goroutine_labels(ctx: &Context) {
    runtime_p::proc::set_prof_label(label_value(ctx).map(|m| m.0.clone()));
}

/// Go's `pprof.Do`: runs `f` with a child of `ctx` that carries `labels`
/// too, the calling goroutine labelled with them meanwhile; afterwards
/// (also if `f` panics) the goroutine takes `ctx`'s labels again.
pub fn do_labeled<R>(ctx: &Context, labels: LabelSet, f: impl FnOnce(&Context) -> R) -> R {
    struct Restore<'a>(&'a Context);
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            set_goroutine_labels(self.0);
        }
    }
    let _restore = Restore(ctx);
    let child = with_labels(ctx, labels);
    set_goroutine_labels(&child);
    f(&child)
}

/// The calling goroutine's labels (Go's `runtime_getProfLabel`, which
/// Go's tests read), in key order; empty outside a goroutine.
pub fn goroutine_labels() -> Vec<(String, String)> {
    runtime_p::proc::get_prof_label()
        .map(|l| {
            l.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

#[doc(hidden)]
/// Go's `labelMap.String` of `ctx`'s labels (`{}` if none), for the port
/// of TestLabelMapStringer.
pub fn __label_map_string(ctx: &Context) -> String {
    label_value(ctx).map_or_else(|| "{}".to_string(), |m| m.to_string())
}

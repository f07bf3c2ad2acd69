//! Cancellation, deadlines and request-scoped values: a port of Go's
//! `context` package (context.go).
//!
//! A [`Context`] is a node of a tree rooted at [`background`] or [`todo()`].
//! [`with_cancel`], [`with_deadline`] and [`with_timeout`] derive a node that
//! can be cancelled; cancelling it closes its [`done`](Context::done)
//! channel and cancels every node derived from it, synchronously, as in
//! Go. [`with_value`] derives a node that carries one key and value.
//!
//! ```
//! use std::time::Duration;
//! gort::Builder::new().block_on(|| {
//!     let (ctx, _cancel) = gort::context::with_timeout(&gort::context::background(), Duration::from_millis(10));
//!     gort::select! {
//!         recv(ctx.done()) -> _ => assert_eq!(ctx.err(), Some(gort::context::Error::DeadlineExceeded)),
//!         recv(gort::time::after(Duration::from_secs(10))) -> _ => unreachable!(),
//!     }
//! });
//! ```
//!
//! Differences from Go:
//! - `Context` is one type, not an interface: a program cannot implement
//!   its own contexts, so Go's paths for foreign contexts (a goroutine per
//!   foreign parent, the `afterFuncer` hook) have no counterpart.
//! - Memory: a node holds its parent; a cancellable parent refers to its
//!   cancellable children weakly, so a child dropped without being
//!   cancelled costs its parent only a map entry (freed when the parent is
//!   cancelled, or pruned as children are added), where Go's collector
//!   frees the child. An [`after_func`] registration is held by its
//!   context (and holds it weakly): it lives until the context ends, the
//!   registration is stopped, or the context is dropped uncancelled (its
//!   function then never runs, as in Go once the collector frees both).
//! - The deadline's timer of [`with_deadline`] needs a runtime: on a plain
//!   thread these functions panic.
//! - [`after_func`]'s function runs in its own goroutine, or, when the
//!   cancel happens on a plain thread, on a thread of its own.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, OnceLock, Weak};
use std::time::{Duration, Instant};

use crate::chan::{Chan, RecvChan};
use crate::sync::Mutex;

/// Why a context ended: Go's `context.Canceled` and
/// `context.DeadlineExceeded`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// The context was cancelled (`context canceled`).
    Canceled,
    /// The context's deadline passed (`context deadline exceeded`).
    DeadlineExceeded,
}

impl Error {
    /// Whether the error is a timeout (Go's `Timeout() bool`, true for
    /// `DeadlineExceeded`, which is how `net` recognises it).
    pub fn is_timeout(&self) -> bool {
        *self == Error::DeadlineExceeded
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Canceled => "context canceled",
            Error::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl std::error::Error for Error {}

/// For `?` in I/O code: `DeadlineExceeded` is a timeout
/// ([`ErrorKind::TimedOut`](std::io::ErrorKind::TimedOut), as Go's
/// `net.Error` with `Timeout()`), `Canceled` an
/// [`ErrorKind::Other`](std::io::ErrorKind::Other); both print as Go's.
impl From<Error> for std::io::Error {
    fn from(e: Error) -> std::io::Error {
        let kind = match e {
            Error::DeadlineExceeded => std::io::ErrorKind::TimedOut,
            Error::Canceled => std::io::ErrorKind::Other,
        };
        std::io::Error::new(kind, e)
    }
}

/// The cause given to a [`CancelCauseFunc`] (Go's `cause error`), as
/// [`cause`] returns it.
pub type Cause = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// A context: a cancellation signal, an optional deadline and values, to
/// pass down a call tree and across goroutines (Go's `context.Context`).
/// Cloning is cheap and gives the same context.
#[derive(Clone)]
pub struct Context(Arc<Node>);

enum Node {
    /// `Background()` (false) or `TODO()` (true).
    Empty {
        todo: bool,
    },
    Cancel(CancelCtx),
    Value {
        parent: Context,
        key: Box<dyn Any + Send + Sync>,
        key_name: String,
        val: Option<Box<dyn Any + Send + Sync>>,
        val_name: String,
    },
    WithoutCancel(Context),
}

/// cancelCtx, timerCtx and afterFuncCtx of Go's context.go.
struct CancelCtx {
    parent: Context,
    kind: Kind,
    /// Created lazily (by `done` or `cancel`), under `mu`; the shared
    /// closed channel if cancelled before anyone asked.
    done: OnceLock<Chan<()>>,
    /// Set by the first cancel, under `mu`, just before `done` is closed
    /// (`err()` waits for the close, as Go's `Err` does).
    err: OnceLock<Error>,
    mu: Mutex<CancelState>,
}

enum Kind {
    Plain,
    /// A cancellable context that prints as `{prefix}{parent}{suffix}`
    /// (`signal::notify_context`'s, as Go's `signalCtx`).
    Named {
        prefix: String,
        suffix: String,
    },
    Timer(Instant),
    /// `f` starts once, on the first cancel, unless `stop` won `once`.
    /// The node's `parent` is `background()`: the context it watches is
    /// `watched`, held weakly, since that context holds the node strongly
    /// (a context dropped uncancelled frees its registrations, as Go's
    /// collector does).
    AfterFunc {
        watched: Weak<Node>,
        once: AtomicBool,
        f: std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>>,
    },
}

#[derive(Default)]
struct CancelState {
    /// Cancellable children, by address; `None` once cancelled.
    children: Option<HashMap<usize, Child>>,
    /// The number of children after the last pruning of dropped ones.
    pruned_len: usize,
    cause: Option<Cause>,
    timer: Option<crate::time::Timer>,
}

enum Child {
    /// A derived context: it lives as long as someone can observe it.
    Weak(Weak<Node>),
    /// An `after_func` registration: nobody else holds it.
    Strong(Arc<Node>),
}

impl Child {
    fn get(&self) -> Option<Arc<Node>> {
        match self {
            Child::Weak(w) => w.upgrade(),
            Child::Strong(a) => Some(a.clone()),
        }
    }
}

/// closedchan: the channel of a context cancelled before its `done` was
/// asked for.
static CLOSED: LazyLock<Chan<()>> = LazyLock::new(|| {
    let c = Chan::new(0);
    c.close();
    c
});

/// Go's `context.Background()`: never cancelled, no deadline, no values;
/// the root of a program's contexts.
pub fn background() -> Context {
    static BG: LazyLock<Context> = LazyLock::new(|| Context(Arc::new(Node::Empty { todo: false })));
    BG.clone()
}

/// Go's `context.TODO()`: as [`background`], for code that does not know
/// yet which context to use.
pub fn todo() -> Context {
    static TODO: LazyLock<Context> =
        LazyLock::new(|| Context(Arc::new(Node::Empty { todo: true })));
    TODO.clone()
}

/// Cancels the context it came with (Go's `CancelFunc`). Cloning gives
/// another handle on the same cancel; dropping it does not cancel.
#[derive(Clone)]
pub struct CancelFunc {
    node: Arc<Node>,
    remove_from_parent: bool,
}

impl CancelFunc {
    /// Cancels the context (`context canceled`), its children, and stops
    /// its timer; later calls do nothing.
    pub fn cancel(&self) {
        cancel(&self.node, self.remove_from_parent, Error::Canceled, None);
    }
}

impl fmt::Debug for CancelFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CancelFunc({})", Context(self.node.clone()))
    }
}

/// Cancels the context it came with, recording a cause (Go's
/// `CancelCauseFunc`).
#[derive(Clone)]
pub struct CancelCauseFunc(CancelFunc);

impl CancelCauseFunc {
    /// Cancels the context with `cause` ([`cause`] returns it; `None`
    /// stands for Go's nil cause: the cause is then `context canceled`).
    pub fn cancel(&self, cause: Option<Cause>) {
        cancel(&self.0.node, true, Error::Canceled, cause);
    }
}

impl fmt::Debug for CancelCauseFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CancelCauseFunc({})", Context(self.0.node.clone()))
    }
}

/// Go's `WithCancel`: a child of `parent` that ends when `cancel` is
/// called or `parent` ends, whichever happens first.
pub fn with_cancel(parent: &Context) -> (Context, CancelFunc) {
    let node = new_cancel(parent, Kind::Plain);
    let f = CancelFunc {
        node: node.clone(),
        remove_from_parent: true,
    };
    (Context(node), f)
}

/// Go's `WithCancelCause`: [`with_cancel`] whose cancel records a cause.
pub fn with_cancel_cause(parent: &Context) -> (Context, CancelCauseFunc) {
    let (ctx, f) = with_cancel(parent);
    (ctx, CancelCauseFunc(f))
}

/// [`with_cancel_cause`] for a context that prints as
/// `{prefix}{parent}{suffix}` (Go's `signalCtx.String`).
pub(crate) fn with_cancel_cause_named(
    parent: &Context,
    prefix: String,
    suffix: String,
) -> (Context, CancelCauseFunc) {
    let node = new_cancel(parent, Kind::Named { prefix, suffix });
    let f = CancelFunc {
        node: node.clone(),
        remove_from_parent: true,
    };
    (Context(node), CancelCauseFunc(f))
}

/// withCancel + propagateCancel: a new cancellable node under `parent`.
fn new_cancel(parent: &Context, kind: Kind) -> Arc<Node> {
    let strong = matches!(kind, Kind::AfterFunc { .. });
    let node = Arc::new(Node::Cancel(CancelCtx {
        parent: if strong { background() } else { parent.clone() },
        kind,
        done: OnceLock::new(),
        err: OnceLock::new(),
        mu: Mutex::new(CancelState::default()),
    }));
    propagate_cancel(parent, &node, strong);
    node
}

/// propagateCancel: port of cancelCtx.propagateCancel (context.go):
/// cancels `child` now if `parent` has ended, else registers it with the
/// nearest cancellable ancestor (none: the parent is never cancelled).
fn propagate_cancel(parent: &Context, child: &Arc<Node>, strong: bool) {
    let Some(p) = parent.nearest_cancel() else {
        return;
    };
    let pc = p.cancel_ctx();
    if let Some(&err) = pc.err.get() {
        cancel(child, false, err, cause(parent));
        return;
    }
    let mut st = pc.mu.lock();
    if let Some(&err) = pc.err.get() {
        let c = st.cause.clone();
        drop(st);
        cancel(child, false, err, c);
        return;
    }
    let st = &mut *st;
    let children = st.children.get_or_insert_with(HashMap::new);
    if children.len() >= 16.max(2 * st.pruned_len) {
        // Forget children that nobody can observe any more (without
        // upgrading: a node must not be dropped under this lock).
        children.retain(|_, c| match c {
            Child::Weak(w) => w.strong_count() > 0,
            Child::Strong(_) => true,
        });
        st.pruned_len = children.len();
    }
    let entry = if strong {
        Child::Strong(child.clone())
    } else {
        Child::Weak(Arc::downgrade(child))
    };
    children.insert(Arc::as_ptr(child) as usize, entry);
}

/// cancelCtx.cancel, timerCtx.cancel and afterFuncCtx.cancel: records
/// `err` and the cause, closes `node`'s done channel, cancels its
/// children, and, if `remove_from_parent`, leaves its parent's children.
fn cancel(node: &Arc<Node>, remove_from_parent: bool, err: Error, cause: Option<Cause>) {
    let mut aftermath = Aftermath::default();
    cancel_locked_tree(node, err, cause, &mut aftermath);
    if remove_from_parent {
        let c = node.cancel_ctx();
        match &c.kind {
            Kind::AfterFunc { watched, .. } => {
                if let Some(w) = watched.upgrade() {
                    remove_child(&Context(w), node);
                }
            }
            _ => remove_child(&c.parent, node),
        }
    }
    aftermath.run();
}

/// What a cancel leaves to do once it holds no context's lock: drop the
/// cancelled children (their values and causes are a program's, whose
/// destructors may call back into contexts), stop the timers (which frees
/// other timers' functions), start the after-functions.
#[derive(Default)]
struct Aftermath {
    nodes: Vec<Arc<Node>>,
    timers: Vec<crate::time::Timer>,
    funcs: Vec<Box<dyn FnOnce() + Send>>,
}

impl Aftermath {
    fn run(self) {
        drop(self.nodes);
        for t in self.timers {
            t.stop();
        }
        for f in self.funcs {
            if crate::Handle::try_current().is_some() {
                crate::go(f);
            } else {
                std::thread::spawn(f);
            }
        }
    }
}

/// The part of [`cancel`] done under the locks: `node`, then each child
/// under `node`'s lock (Go's order: parent before child).
fn cancel_locked_tree(node: &Arc<Node>, err: Error, cause: Option<Cause>, after: &mut Aftermath) {
    let c = node.cancel_ctx();
    let cause = cause.unwrap_or_else(|| Arc::new(err));
    let mut st = c.mu.lock();
    if c.err.get().is_some() {
        return; // already cancelled
    }
    // err first, then the close: whoever sees the channel closed finds
    // err set; err() waits for the close (Go's order).
    let _ = c.err.set(err);
    if c.done.set(CLOSED.clone()).is_err() {
        c.done.get().expect("set failed, so it is set").close();
    }
    st.cause = Some(cause.clone());
    let children: Vec<Arc<Node>> = st
        .children
        .take()
        .into_iter()
        .flat_map(|m| m.into_values())
        .filter_map(|ch| ch.get())
        .collect();
    for ch in &children {
        cancel_locked_tree(ch, err, Some(cause.clone()), after);
    }
    after.nodes.extend(children);
    after.timers.extend(st.timer.take());
    drop(st);
    if let Kind::AfterFunc { once, f, .. } = &c.kind
        && !once.swap(true, Ordering::AcqRel)
    {
        let f = f.lock().unwrap_or_else(|e| e.into_inner()).take();
        after.funcs.extend(f);
    }
}

/// removeChild: `child` leaves the children of `parent`'s nearest
/// cancellable ancestor.
fn remove_child(parent: &Context, child: &Arc<Node>) {
    let Some(p) = parent.nearest_cancel() else {
        return;
    };
    let removed = {
        let mut st = p.cancel_ctx().mu.lock();
        st.children
            .as_mut()
            .and_then(|m| m.remove(&(Arc::as_ptr(child) as usize)))
    };
    drop(removed);
}

/// Go's `WithDeadline`: a child of `parent` that also ends at `deadline`
/// with [`Error::DeadlineExceeded`]. A parent's earlier deadline wins: the
/// result is then [`with_cancel`]'s.
///
/// # Panics
/// On a plain thread (the deadline's timer needs a runtime).
#[track_caller]
pub fn with_deadline(parent: &Context, deadline: Instant) -> (Context, CancelFunc) {
    with_deadline_cause(parent, deadline, None)
}

/// Go's `WithDeadlineCause`: [`with_deadline`], recording `cause` when the
/// deadline passes.
///
/// # Panics
/// As [`with_deadline`].
#[track_caller]
pub fn with_deadline_cause(
    parent: &Context,
    deadline: Instant,
    cause: Option<Cause>,
) -> (Context, CancelFunc) {
    if let Some(cur) = parent.deadline()
        && cur < deadline
    {
        return with_cancel(parent);
    }
    let node = new_cancel(parent, Kind::Timer(deadline));
    let dur = deadline.saturating_duration_since(Instant::now());
    if dur.is_zero() {
        cancel(&node, true, Error::DeadlineExceeded, cause);
        let f = CancelFunc {
            node: node.clone(),
            remove_from_parent: false,
        };
        return (Context(node), f);
    }
    // The timer is made outside the node's lock (making one frees other
    // timers' functions); if it fires or the node is cancelled before it
    // is stored, the cancel finds no timer and this one is stopped here.
    let weak = Arc::downgrade(&node);
    let timer = crate::time::after_func(dur, move || {
        if let Some(n) = weak.upgrade() {
            cancel(&n, true, Error::DeadlineExceeded, cause.clone());
        }
    });
    let unused = {
        let c = node.cancel_ctx();
        let mut st = c.mu.lock();
        if c.err.get().is_none() {
            st.timer = Some(timer);
            None
        } else {
            Some(timer)
        }
    };
    if let Some(t) = unused {
        t.stop();
    }
    let f = CancelFunc {
        node: node.clone(),
        remove_from_parent: true,
    };
    (Context(node), f)
}

/// Go's `WithTimeout`: [`with_deadline`] at now + `timeout`.
///
/// # Panics
/// As [`with_deadline`].
#[track_caller]
pub fn with_timeout(parent: &Context, timeout: Duration) -> (Context, CancelFunc) {
    with_timeout_cause(parent, timeout, None)
}

/// Go's `WithTimeoutCause`.
///
/// # Panics
/// As [`with_deadline`].
#[track_caller]
pub fn with_timeout_cause(
    parent: &Context,
    timeout: Duration,
    cause: Option<Cause>,
) -> (Context, CancelFunc) {
    match Instant::now().checked_add(timeout) {
        Some(d) => with_deadline_cause(parent, d, cause),
        // Beyond what an Instant holds: never.
        None => with_cancel(parent),
    }
}

/// Go's `WithValue`: a child of `parent` whose [`value`](Context::value)
/// for `key` is `val` (`None` is Go's nil value: it hides a parent's value
/// of the same key). Keys are compared by type and value, as in Go; use a
/// type of your own as the key to avoid clashes between packages.
pub fn with_value<K, V>(parent: &Context, key: K, val: Option<V>) -> Context
where
    K: Any + PartialEq + Send + Sync,
    V: Any + Send + Sync,
{
    let key_name = stringify(&key);
    let val_name = match &val {
        Some(v) => stringify(v),
        None => "<nil>".to_string(),
    };
    Context(Arc::new(Node::Value {
        parent: parent.clone(),
        key: Box::new(KeyBox(key)),
        key_name,
        val: val.map(|v| Box::new(v) as Box<dyn Any + Send + Sync>),
        val_name,
    }))
}

/// A key with its equality, behind `dyn Any`.
struct KeyBox<K>(K);

/// Go's stringify: a string as itself, anything else by its type's name.
fn stringify<T: Any>(v: &T) -> String {
    let a = v as &dyn Any;
    if let Some(s) = a.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = a.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else {
        std::any::type_name::<T>().to_string()
    }
}

/// Go's `WithoutCancel`: a child of `parent` that keeps its values but is
/// never cancelled and has no deadline.
pub fn without_cancel(parent: &Context) -> Context {
    Context(Arc::new(Node::WithoutCancel(parent.clone())))
}

/// Go's `context.Cause`: why `ctx` ended — the cause given to its
/// [`CancelCauseFunc`] or deadline, else its [`err`](Context::err); `None`
/// while it has not ended.
pub fn cause(ctx: &Context) -> Option<Cause> {
    let err = ctx.err()?;
    if let Some(p) = ctx.nearest_cancel() {
        let c = p.cancel_ctx().mu.lock().cause.clone();
        if c.is_some() {
            return c;
        }
    }
    Some(Arc::new(err))
}

/// Stops an [`after_func`] registration (Go's `stop func() bool`).
#[derive(Clone)]
pub struct AfterFuncStop(Arc<Node>);

impl AfterFuncStop {
    /// Unregisters the function: true if that kept it from running, false
    /// if it has already started (or was stopped before).
    pub fn stop(&self) -> bool {
        let Kind::AfterFunc { once, .. } = &self.0.cancel_ctx().kind else {
            unreachable!("an AfterFuncStop holds an after-func node");
        };
        let stopped = !once.swap(true, Ordering::AcqRel);
        if stopped {
            cancel(&self.0, true, Error::Canceled, None);
        }
        stopped
    }
}

impl fmt::Debug for AfterFuncStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AfterFuncStop")
    }
}

/// Go's `context.AfterFunc`: calls `f` in its own goroutine once `ctx`
/// ends (at once if it has ended). [`AfterFuncStop::stop`] unregisters it.
pub fn after_func<F: FnOnce() + Send + 'static>(ctx: &Context, f: F) -> AfterFuncStop {
    let node = new_cancel(
        ctx,
        Kind::AfterFunc {
            watched: ctx.nearest_cancel().map_or_else(Weak::new, Arc::downgrade),
            once: AtomicBool::new(false),
            f: std::sync::Mutex::new(Some(Box::new(f))),
        },
    );
    AfterFuncStop(node)
}

impl Node {
    fn cancel_ctx(&self) -> &CancelCtx {
        match self {
            Node::Cancel(c) => c,
            _ => unreachable!("not a cancellable context"),
        }
    }
}

impl Context {
    /// A channel that is closed when the context ends (Go's `Done()`), to
    /// receive on or use in [`select!`](crate::select); the nil channel
    /// (never ready) for a context that is never cancelled.
    pub fn done(&self) -> RecvChan<()> {
        match self.nearest_cancel() {
            None => RecvChan::default(),
            Some(n) => {
                let c = n.cancel_ctx();
                if let Some(d) = c.done.get() {
                    return d.receiver();
                }
                let _st = c.mu.lock();
                c.done.get_or_init(|| Chan::new(0)).receiver()
            }
        }
    }

    /// Why the context ended, or `None` while it has not (Go's `Err()`).
    pub fn err(&self) -> Option<Error> {
        let n = self.nearest_cancel()?;
        let e = *n.cancel_ctx().err.get()?;
        // The cancel closes done just after setting err: wait for that,
        // so that err() and done() agree (Go's `<-c.Done()` in Err).
        self.done().recv();
        Some(e)
    }

    /// When the context ends by itself, if it has a deadline (Go's
    /// `Deadline()`).
    pub fn deadline(&self) -> Option<Instant> {
        let mut c = self;
        loop {
            match &*c.0 {
                Node::Empty { .. } | Node::WithoutCancel(_) => return None,
                Node::Value { parent, .. } => c = parent,
                Node::Cancel(cc) => match cc.kind {
                    Kind::Timer(d) => return Some(d),
                    _ => c = &cc.parent,
                },
            }
        }
    }

    /// The value of `key` (Go's `Value(key)`): from the nearest
    /// [`with_value`] with an equal key of the same type, if its value is
    /// a `V`; `None` if there is none, its value is nil, or of another
    /// type.
    pub fn value<K, V>(&self, key: &K) -> Option<&V>
    where
        K: Any + PartialEq,
        V: Any,
    {
        let mut c = self;
        loop {
            match &*c.0 {
                Node::Empty { .. } => return None,
                Node::WithoutCancel(p) => c = p,
                Node::Cancel(cc) => c = &cc.parent,
                Node::Value {
                    parent,
                    key: k,
                    val,
                    ..
                } => {
                    if let Some(k) = k.downcast_ref::<KeyBox<K>>()
                        && k.0 == *key
                    {
                        return val.as_ref().and_then(|v| v.downcast_ref::<V>());
                    }
                    c = parent;
                }
            }
        }
    }

    /// The nearest cancellable node, through value nodes (Go's
    /// `parent.Value(&cancelCtxKey)`); none past a `WithoutCancel`.
    fn nearest_cancel(&self) -> Option<&Arc<Node>> {
        let mut c = self;
        loop {
            match &*c.0 {
                Node::Empty { .. } | Node::WithoutCancel(_) => return None,
                Node::Value { parent, .. } => c = parent,
                Node::Cancel(_) => return Some(&c.0),
            }
        }
    }

    /// For tests: the number of cancellable children registered with this
    /// context (Go's tests read `len(cancelCtx.children)`), `None` if it is
    /// not a cancellable context. Children dropped unobserved still count.
    #[doc(hidden)]
    pub fn __children_len(&self) -> Option<usize> {
        match &*self.0 {
            Node::Cancel(c) => Some(c.mu.lock().children.as_ref().map_or(0, HashMap::len)),
            _ => None,
        }
    }

    /// For tests: whether `self` and `other` are the same context.
    #[doc(hidden)]
    pub fn __same(&self, other: &Context) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Go's `String()` of each context type: `context.Background`,
/// `….WithCancel`, `….WithDeadline(… [left])`, `….WithValue(key, val)`,
/// `….WithoutCancel`.
impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            Node::Empty { todo: false } => f.write_str("context.Background"),
            Node::Empty { todo: true } => f.write_str("context.TODO"),
            Node::WithoutCancel(p) => write!(f, "{p}.WithoutCancel"),
            Node::Value {
                parent,
                key_name,
                val_name,
                ..
            } => write!(f, "{parent}.WithValue({key_name}, {val_name})"),
            Node::Cancel(c) => match &c.kind {
                Kind::Named { prefix, suffix } => write!(f, "{prefix}{}{suffix}", c.parent),
                &Kind::Timer(d) => write!(
                    f,
                    "{}.WithDeadline({:?} [{:?}])",
                    c.parent,
                    d,
                    d.saturating_duration_since(Instant::now())
                ),
                _ => write!(f, "{}.WithCancel", c.parent),
            },
        }
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

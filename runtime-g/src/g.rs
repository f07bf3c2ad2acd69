//! The goroutine descriptor: port of `g` (runtime2.go) and `malg` (proc.go).

use core::any::Any;
use core::ptr::NonNull;
use core::sync::atomic::AtomicU32;

use crate::gobuf::Gobuf;
use crate::stack::{Stack, stackalloc};
use crate::status::{_Gidle, WaitReason};

/// Stack space kept free above `stackguard0` (Go's `stackGuard`). gort does
/// not grow stacks, so the guard is informational: it tells tools where the
/// usable stack ends.
pub const STACK_GUARD: usize = 928;

/// Goroutine-local values, keyed by the address of their `goroutine_local!`
/// static.
///
/// Each value lives in its own heap allocation held as a raw pointer, not a
/// `Box`: references handed out by `get` must stay valid while the map
/// rehashes, and moving a `Box` would assert uniqueness over the value.
#[derive(Default)]
pub struct Locals {
    map: hashbrown::HashMap<usize, NonNull<dyn Any>>,
}

impl Locals {
    /// The value stored under `key`, if any.
    pub fn get(&self, key: usize) -> Option<NonNull<dyn Any>> {
        self.map.get(&key).copied()
    }

    /// Stores `v` under `key` unless a value is already there, and returns
    /// the stored value. The allocation stays put until the map is dropped.
    pub fn insert(&mut self, key: usize, v: Box<dyn Any>) -> NonNull<dyn Any> {
        *self
            .map
            .entry(key)
            .or_insert_with(|| NonNull::from(Box::leak(v)))
    }
}

impl Drop for Locals {
    /// Drops every value, also when one's destructor panics (that panic is
    /// resumed after the others are dropped; a second one is dropped with
    /// the value). Runs on the goroutine's stack, never while it unwinds
    /// (`drop_locals`).
    fn drop(&mut self) {
        let mut first = None;
        for (_, p) in self.map.drain() {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                // SAFETY: every pointer came from Box::leak in insert and is
                // dropped exactly once, here.
                drop(unsafe { Box::from_raw(p.as_ptr()) });
            }));
            if let Err(e) = r {
                first.get_or_insert(e);
            }
        }
        if let Some(e) = first {
            std::panic::resume_unwind(e);
        }
    }
}

/// ancestorInfo: port of runtime.ancestorInfo (runtime2.go): a goroutine
/// that led to another's creation, as it was when it created the next.
#[derive(Clone, Debug, Default)]
pub struct Ancestor {
    /// Its return addresses when it ran the `go` statement, innermost
    /// first.
    pub pcs: Vec<usize>,
    /// Its goroutine id.
    pub goid: u64,
    /// Its function's name (its `start_func`).
    pub start_func: &'static str,
    /// Its own `created by` line, ready to print (Go keeps `gopc` and
    /// prints it then); empty for the main goroutine.
    pub created_by: String,
}

/// A goroutine's profiling labels (Go's `gp.labels`, a pprof label set):
/// key/value pairs sorted by key, without repeated keys.
pub type Labels = std::sync::Arc<[(Box<str>, Box<str>)]>;

/// Where a G keeps its [`Labels`]: written by the goroutine itself (and by
/// its creator before it is published), read from any thread by dumps and
/// the tracer. A one-word spin lock guards the slot for the moment a
/// pointer is cloned or swapped; labels themselves are immutable. Readers
/// from other threads give up rather than wait ([`LabelSlot::peek`]), so a
/// dump never blocks on a goroutine.
pub struct LabelSlot {
    busy: core::sync::atomic::AtomicBool,
    val: core::cell::UnsafeCell<Option<Labels>>,
}

// SAFETY: `val` is only touched while `busy` is held (acquire on taking
// it, release on giving it back), and `Labels` is Send + Sync.
unsafe impl Sync for LabelSlot {}

impl LabelSlot {
    /// An empty slot.
    pub const fn new() -> LabelSlot {
        LabelSlot {
            busy: core::sync::atomic::AtomicBool::new(false),
            val: core::cell::UnsafeCell::new(None),
        }
    }

    fn with<R>(&self, tries: Option<u32>, f: impl FnOnce(&mut Option<Labels>) -> R) -> Option<R> {
        use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};
        let mut n = 0u32;
        while self
            .busy
            .compare_exchange_weak(false, true, Acquire, Relaxed)
            .is_err()
        {
            n += 1;
            if tries.is_some_and(|t| n >= t) {
                return None;
            }
            core::hint::spin_loop();
        }
        // SAFETY: we hold `busy`, so nobody else touches `val`.
        let r = f(unsafe { &mut *self.val.get() });
        self.busy.store(false, Release);
        Some(r)
    }

    /// The labels (the owner, or its creator before publication: holders
    /// of the slot for a moment only, so this waits).
    pub fn get(&self) -> Option<Labels> {
        self.with(None, |v| v.clone()).flatten()
    }

    /// The labels, read from another thread: `None` also if the owner is
    /// swapping them just now.
    pub fn peek(&self) -> Option<Labels> {
        self.with(Some(1000), |v| v.clone()).flatten()
    }

    /// Replaces the labels and returns the old ones, for the caller to
    /// drop outside the slot.
    pub fn replace(&self, new: Option<Labels>) -> Option<Labels> {
        self.with(None, |v| core::mem::replace(v, new)).flatten()
    }
}

impl Default for LabelSlot {
    fn default() -> Self {
        LabelSlot::new()
    }
}

/// A goroutine: port of `g` (runtime2.go).
///
/// Gs are allocated by [`malg`] and never freed (as in Go): a G pointer stays
/// valid for the life of the process, so any thread may read its atomic
/// status. Every other field is owned according to the status table in
/// [`crate::status`]: only the owner of the G in its current status may read
/// or write them, always through the raw pointer, never through a `&mut G`.
#[repr(C)]
pub struct G {
    /// Bounds of the stack; `{0, 0}` for a g0 that runs on an OS stack until
    /// `mstart` fills in the thread's real bounds.
    pub stack: Stack,
    /// `stack.lo + STACK_GUARD` while the G may run; Go's preemption check
    /// compares SP against it.
    pub stackguard0: usize,
    /// Same for C/system code (g0, gsignal); `usize::MAX` on user Gs.
    pub stackguard1: usize,
    /// Saved context while not running.
    pub sched: Gobuf,
    /// One of the `_G*` statuses; changed only with `casgstatus`.
    pub atomicstatus: AtomicU32,
    /// Goroutine id; 1 is the main goroutine; 0 for g0s.
    pub goid: u64,
    /// The M running this G (`muintptr`, an `*mut M` of runtime-m); null
    /// unless `_Grunning`/`_Gsyscall`.
    pub m: *mut (),
    /// Next G on whatever queue or list holds this one (`guintptr`).
    pub schedlink: *mut G,
    /// Next G on its runtime's list of all Gs (Go's `allgs` slice, here an
    /// append-only list so that dumps can walk it without a lock). Written
    /// once before the G is published.
    pub alllink: *mut G,
    /// Why the G is `_Gwaiting`.
    pub waitreason: crate::status::AtomicWaitReason,
    /// Whether the G is a runtime helper, hidden from counts and dumps.
    pub system: bool,
    /// With `GODEBUG=tracebackancestors=N`, the goroutines that led to this
    /// one, its creator first (Go's `ancestors`). Written before the G is
    /// published; replaced when a dead G is reused.
    pub ancestors: Option<Box<Vec<Ancestor>>>,
    /// Its pprof labels (Go's `labels`): inherited from its creator,
    /// changed by `pprof::set_goroutine_labels`, shown in dump headers.
    pub labels: LabelSlot,
    /// A preemption request from sysmon, honoured at the goroutine's next
    /// runtime call (atomic: sysmon writes it from its own thread).
    pub preempt: core::sync::atomic::AtomicBool,
    /// About when the G was first seen waiting (nanotime; 0: not seen), for
    /// Go's "N minutes" in dumps (`waitsince`). Go's GC marks it; gort's
    /// sysmon does (`sysmon::mark_waitsince`). Atomic: dumps read it from
    /// other threads.
    pub waitsince: core::sync::atomic::AtomicI64,
    /// Value passed by the waker (`param`): for a channel operation, the
    /// `sudog` that completed it (or null when it was woken by `close`).
    pub param: *mut (),
    /// The sudogs this G is parked on (`waiting`), an `*mut Sudog` of
    /// runtime-p, linked through `waitlink` in lock order. Owned by the G.
    pub waiting: *mut (),
    /// Set by whichever party wins a blocked `select` of this G
    /// (`selectDone`): CAS 0 → 1 claims it, so exactly one case completes.
    pub select_done: AtomicU32,
    /// The runtime instance (`*const Sched` of runtime-p) the G belongs
    /// to; set when the G is first published and never changed (free Gs are
    /// reused only by the same instance).
    pub instance: *const (),
    /// The G's sleep timer (`timer`): an `Arc<Timer>` of runtime-p leaked
    /// into the G (Gs are never freed), made at the first `time.Sleep`.
    pub timer: *mut (),
    /// When the current sleep ends (`sleepWhen`), in nanotime.
    pub sleep_when: i64,
    /// The M this G is locked to (`lockedm`), an `*mut M`. Atomic (relaxed)
    /// because other threads read it (dumps, schedtrace, `pinned`); the
    /// order that matters comes with the run queues and the status.
    pub lockedm: core::sync::atomic::AtomicPtr<()>,
    /// Goid of the goroutine that created this one.
    pub parent_goid: u64,
    /// Where the `go` statement that created it is (`gopc`): a return
    /// address in the creating function, or 0 (created by the runtime, or
    /// through an entry that does not record it).
    pub gopc: usize,
    /// The goroutine's own function as `core::any::type_name` names it
    /// (Go's `startpc`), set when that function starts; empty until then,
    /// and for goroutines of the runtime's own. Tracebacks print it where
    /// the compiler merged the function into gort's call of it and the
    /// binary has no debug info to tell them apart.
    pub start_func: &'static str,
    /// The creating goroutine's [`G::start_func`], for the `created by`
    /// line of a binary without debug info.
    pub creator_func: &'static str,
    /// Where the `go` statement is (`#[track_caller]`), for the `created
    /// by` line; `None` for entries that do not record it.
    pub go_at: Option<&'static core::panic::Location<'static>>,
    /// The usable stack size this goroutine asked for at creation, or 0 for
    /// its runtime's default (gort's `spawn_with_stack_size`; Go's stacks
    /// grow instead). Read at the first run, when the stack is allocated.
    pub stack_request: usize,
    /// Opaque per-goroutine state of the instrumentation hooks
    /// (`runtime_p::trace::GoroutineHooks`; gort's `tracing` span), or
    /// null. Set by the `create` hook, freed by the `end` hook.
    pub hook_data: *mut (),
    /// The function the goroutine runs (`startpc` + closure). Taken by the
    /// goroutine when it starts.
    pub startfn: Option<Box<dyn FnOnce() + Send + 'static>>,
    /// Goroutine-local storage (see `gort::goroutine_local!`); dropped when
    /// the goroutine exits, on its own stack.
    pub locals: Option<Box<Locals>>,
    /// Where the goroutine last panicked (`file:line:col`), recorded by the
    /// panic hook so that an unrecovered panic can say where it came from.
    pub panic_location: Option<String>,
    /// The stack at that panic (an unresolved `backtrace::Backtrace` of
    /// runtime-p), printed as the goroutine's frames if the panic ends the
    /// program.
    pub panic_trace: Option<Box<dyn Any + Send>>,
    /// The texts of the goroutine's last two panics, oldest first: when a
    /// destructor panics while a panic unwinds (Rust then aborts), the
    /// report names both, as Go's `panic: first` / `\tpanic: second`.
    pub panic_texts: [Option<String>; 2],
    /// Go's panic chain below the running panic: the panics this goroutine
    /// recovered (gort's `catch`) whose recovery has not completed, oldest
    /// first, each as its printed text and its value (only compared: Go
    /// tells a re-raised value by its identity). An unrecovered panic
    /// prints them first, marked ` [recovered]`.
    pub recovered: Vec<(String, *const (dyn Any + Send))>,
    /// Panics unwinding this goroutine now, as far as gort sees: raised
    /// (the panic hook, a re-raise) and not yet recovered by `catch`. Reset
    /// whenever the thread is not unwinding (std's `catch_unwind` catches
    /// without telling).
    pub panic_inflight: u32,
    /// Set by the panic hook while a panic may be unwinding this goroutine
    /// (counted in runtime-p's `RUNNING_PANIC_DEFERS`); cleared when the
    /// unwind reaches the goroutine's base or the goroutine exits.
    pub panicking: bool,
    /// The M (an `*mut M` of runtime-m) this goroutine is pinned to, or null.
    /// No Go twin: in gort's safe scheduler mode a goroutine that has
    /// started runs only on the M it started on, so that thread-locals and
    /// `!Send` values on its stack stay on their thread. Written once, by
    /// the M that first runs the G (or by `spawn_local` before it is
    /// published); atomic because thieves peek at it in `runnext`.
    pub homem: core::sync::atomic::AtomicPtr<()>,
    /// How the shutdown of a `block_on` runtime takes this G off what it
    /// waits on while it is parked (no Go twin: Go's goroutines end with
    /// the process): a `fn(*mut G, *mut ()) -> bool` stored as a word, 0
    /// when the park cannot be cancelled. Written by the G before it parks,
    /// read with the world stopped.
    pub cancel: core::sync::atomic::AtomicUsize,
    /// The argument of `cancel` (the object waited on).
    pub cancel_arg: core::sync::atomic::AtomicPtr<()>,
    /// Set by a successful `cancel`: the G was readied by the shutdown, not
    /// by the object, and ends as `runtime.Goexit` does once it resumes.
    pub killed: core::sync::atomic::AtomicBool,
}

impl G {
    /// A G with no stack that will never run: it stands for a waiter that
    /// is not a goroutine (runtime-p's outside waiters).
    pub fn new_detached() -> G {
        G::new()
    }

    fn new() -> G {
        G {
            stack: Stack::default(),
            stackguard0: 0,
            stackguard1: usize::MAX,
            sched: Gobuf::default(),
            atomicstatus: AtomicU32::new(_Gidle),
            goid: 0,
            m: core::ptr::null_mut(),
            schedlink: core::ptr::null_mut(),
            alllink: core::ptr::null_mut(),
            waitreason: crate::status::AtomicWaitReason::new(WaitReason::Zero),
            system: false,
            ancestors: None,
            labels: LabelSlot::new(),
            preempt: core::sync::atomic::AtomicBool::new(false),
            waitsince: core::sync::atomic::AtomicI64::new(0),
            param: core::ptr::null_mut(),
            waiting: core::ptr::null_mut(),
            select_done: AtomicU32::new(0),
            instance: core::ptr::null(),
            timer: core::ptr::null_mut(),
            sleep_when: 0,
            lockedm: core::sync::atomic::AtomicPtr::new(core::ptr::null_mut()),
            parent_goid: 0,
            gopc: 0,
            start_func: "",
            creator_func: "",
            go_at: None,
            stack_request: 0,
            hook_data: core::ptr::null_mut(),
            startfn: None,
            locals: None,
            panic_location: None,
            panic_trace: None,
            panic_texts: [None, None],
            recovered: Vec::new(),
            panic_inflight: 0,
            panicking: false,
            homem: core::sync::atomic::AtomicPtr::new(core::ptr::null_mut()),
            cancel: core::sync::atomic::AtomicUsize::new(0),
            cancel_arg: core::sync::atomic::AtomicPtr::new(core::ptr::null_mut()),
            killed: core::sync::atomic::AtomicBool::new(false),
        }
    }
}

/// malg: port of runtime.malg (proc.go). Allocates a G in `_Gidle` with a
/// stack of at least `stacksize` usable bytes, or, when `stacksize < 0`,
/// with no stack of its own: a g0 that will run on an OS thread's stack
/// (Go's `mStackIsSystemAllocated` case, and m0 everywhere).
pub fn malg(stacksize: isize) -> *mut G {
    let gp = Box::into_raw(Box::new(G::new()));
    if let Ok(n) = usize::try_from(stacksize) {
        let s = stackalloc(n);
        // SAFETY: gp was just allocated and is not yet shared.
        unsafe {
            (*gp).stack = s;
            (*gp).stackguard0 = s.lo + STACK_GUARD;
        }
    }
    gp
}

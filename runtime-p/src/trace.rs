//! The scheduler trace: the event points of Go's execution tracer
//! (`traceGoCreate`, `traceGoStart`, `traceGoPark`, `traceGoUnpark`,
//! `traceGoSched`, `traceGoEnd`, `traceGoSysCall`, `traceGoSysExit`,
//! `traceProcStart`, `traceProcStop`, M start and stop; trace.go and
//! traceruntime.go), recorded into per-P buffers and written out as Chrome
//! trace-event JSON, which Perfetto (ui.perfetto.dev) and `chrome://tracing`
//! open. Go writes its own binary format for `go tool trace`; a Rust user has
//! no such tool, so gort writes the format their browser already reads.
//!
//! ## Cost
//! Off, every event point is one relaxed load of [`TRACING`] and a branch
//! that is never taken. On, an event is a `rdtsc` and about 10 bytes
//! (see [`TraceBuf`]) appended to the buffer of the P the M holds — no lock and no atomic
//! read-modify-write, because only the owner of a P writes its buffer. The
//! few events that happen without a P (an M starting, stopping or leaving a
//! system call with no P to return to) go to one locked buffer per instance.
//!
//! ## Ownership of the buffers
//! A P's buffer lives in its owner-only [`crate::p::PLocal`]. The trace is
//! collected by [`stop_trace`] with the world stopped (`stop_the_world`):
//! then every P is `_Pgcstop` and no M writes to any P's buffer, and the
//! stopper, which acquired each P's state through `sched.lock`, may read
//! them all. The instance's flag is cleared before the stop, so Ms that
//! restart afterwards write nothing.
//!
//! ## Time
//! Events carry the time-stamp counter, as Go's carry `cputicks`; the
//! counter is mapped to nanoseconds with the two (counter, `nanotime`) pairs
//! taken at start and stop, as Go estimates the tick frequency.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use runtime_g::{G, WaitReason};
use runtime_m::{Mutex, getm};

use crate::p::P;
use crate::sched::Sched;

/// Number of runtime instances in the process that are tracing. The event
/// points test this first; only when it is non-zero do they look at their
/// instance.
pub static TRACING: AtomicUsize = AtomicUsize::new(0);

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum EvKind {
    /// `g` was created by goroutine `arg` (0: by the runtime).
    GoCreate,
    /// `g` started running on the P.
    GoStart,
    /// `g` parked for `reason`.
    GoPark,
    /// `g` was made runnable by goroutine `arg` (0: by the scheduler).
    GoUnpark,
    /// `g` yielded (`Gosched`, or a preemption request honoured).
    GoSched,
    /// `g` ended.
    GoEnd,
    /// `g` entered a system call.
    GoSysCall,
    /// `g` came back from a system call.
    GoSysExit,
    /// The M acquired the P.
    ProcStart,
    /// The M released the P.
    ProcStop,
    /// An M (thread) started scheduling.
    MStart,
    /// An M left the scheduler for good.
    MStop,
    /// sysmon took the P from goroutine `g`, which kept it without
    /// entering the runtime, on M `arg` (Go's `ProcSteal`, for a P taken
    /// from a system call).
    ProcSteal,
}

/// One event: 32 bytes.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    /// Time-stamp counter (see the module docs).
    pub ts: u64,
    /// The goroutine concerned (0: none).
    pub g: u64,
    /// Another goroutine (creator, waker), or 0.
    pub arg: u64,
    /// The M that recorded it.
    pub m: i32,
    /// The P it was recorded on, or -1.
    pub p: i16,
    pub kind: EvKind,
    pub reason: WaitReason,
}

/// A P's recorded events, encoded compactly (as Go's tracer encodes its
/// events, though not in Go's format): a kind byte, a wait-reason byte,
/// then the time-stamp delta from the P's previous event, the goroutine,
/// the other goroutine and the M as LEB128 varints — typically 8 to 10
/// bytes instead of a 32-byte [`Event`]. Fresh memory is what an event
/// costs (the pages must be faulted in and zeroed), so a quarter of the
/// bytes is most of the saving. The P is implied by the buffer. Chunks
/// have a fixed size, so recording never moves what it recorded before.
#[derive(Default)]
pub struct TraceBuf {
    full: Vec<Vec<u8>>,
    cur: Vec<u8>,
    /// Time stamp of the last event encoded (the base of the next delta).
    last_ts: u64,
}

/// Bytes per chunk.
const CHUNK: usize = 1 << 20;
/// The most one encoded event takes: two bytes and four varints of at
/// most 10 bytes.
const MAX_ENCODED: usize = 2 + 4 * 10;

/// Appends `v` as an unsigned LEB128 varint at `p`; returns the end.
///
/// # Safety
/// `p` must have room for 10 bytes.
#[inline(always)]
unsafe fn put_uvarint(mut p: *mut u8, mut v: u64) -> *mut u8 {
    // SAFETY: at most 10 bytes are written, as the caller allows.
    unsafe {
        while v >= 0x80 {
            p.write(v as u8 | 0x80);
            p = p.add(1);
            v >>= 7;
        }
        p.write(v as u8);
        p.add(1)
    }
}

/// Reads an unsigned LEB128 varint from `b` at `*i`.
fn get_uvarint(b: &[u8], i: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let byte = b[*i];
        *i += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return v;
        }
        shift += 7;
    }
}

/// Zig-zag: small negative numbers (an M id of -1, a time stamp slightly
/// behind the previous one when the P moved to a core whose counter
/// lags) stay short.
#[inline(always)]
fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    (v >> 1) as i64 ^ -((v & 1) as i64)
}

impl EvKind {
    fn from_u8(b: u8) -> EvKind {
        const ALL: [EvKind; 13] = [
            EvKind::GoCreate,
            EvKind::GoStart,
            EvKind::GoPark,
            EvKind::GoUnpark,
            EvKind::GoSched,
            EvKind::GoEnd,
            EvKind::GoSysCall,
            EvKind::GoSysExit,
            EvKind::ProcStart,
            EvKind::ProcStop,
            EvKind::MStart,
            EvKind::MStop,
            EvKind::ProcSteal,
        ];
        match ALL.get(b as usize) {
            Some(&k) if k as u8 == b => k,
            _ => runtime_g::throw("trace: corrupt event buffer"),
        }
    }
}

impl TraceBuf {
    #[inline]
    fn push(&mut self, e: &Event) {
        if self.cur.capacity() - self.cur.len() < MAX_ENCODED {
            self.next_chunk();
        }
        let delta = e.ts.wrapping_sub(self.last_ts) as i64;
        self.last_ts = e.ts;
        let len = self.cur.len();
        // SAFETY: the chunk has MAX_ENCODED spare bytes (checked above),
        // which bounds what is written; the bytes up to the returned end
        // are initialised before set_len.
        unsafe {
            let start = self.cur.as_mut_ptr().add(len);
            start.write(e.kind as u8);
            start.add(1).write(e.reason as u8);
            let mut p = start.add(2);
            p = put_uvarint(p, zigzag(delta));
            p = put_uvarint(p, e.g);
            p = put_uvarint(p, e.arg);
            p = put_uvarint(p, zigzag(i64::from(e.m)));
            self.cur.set_len(len + p.offset_from(start) as usize);
        }
    }

    #[cold]
    #[inline(never)]
    fn next_chunk(&mut self) {
        let done = core::mem::replace(&mut self.cur, Vec::with_capacity(CHUNK));
        if !done.is_empty() {
            self.full.push(done);
        }
    }

    /// Decodes every event (recorded on P `p`) into `out`, in recording
    /// order, and frees the chunks.
    fn drain_into(&mut self, p: i16, out: &mut Vec<Event>) {
        let mut ts = 0u64;
        let chunks = core::mem::take(&mut self.full);
        let cur = core::mem::take(&mut self.cur);
        for c in chunks.iter().chain(core::iter::once(&cur)) {
            let mut i = 0;
            while i < c.len() {
                let kind = EvKind::from_u8(c[i]);
                let rb = c[i + 1];
                i += 2;
                ts = ts.wrapping_add(unzigzag(get_uvarint(c, &mut i)) as u64);
                let g = get_uvarint(c, &mut i);
                let arg = get_uvarint(c, &mut i);
                let m = unzigzag(get_uvarint(c, &mut i)) as i32;
                // SAFETY: `rb` was written by `push` as `reason as u8` of a
                // `#[repr(u8)]` WaitReason, so it is a valid discriminant.
                let reason: WaitReason = unsafe { core::mem::transmute::<u8, WaitReason>(rb) };
                out.push(Event {
                    ts,
                    g,
                    arg,
                    m,
                    p,
                    kind,
                    reason,
                });
            }
        }
        self.last_ts = 0;
    }
}

/// An instance's tracing state.
pub struct TraceState {
    /// Whether this instance records events now.
    pub on: AtomicBool,
    /// Events recorded without a P, and the clock pairs of start and stop.
    global: Mutex<TraceGlobal>,
}

#[derive(Default)]
struct TraceGlobal {
    events: Vec<Event>,
    start: (u64, i64),
    /// Track names of goroutines that have a function name or labels
    /// (`G12 chat::serve {conn: 7}`), by goroutine id.
    names: std::collections::HashMap<u64, String>,
}

impl Default for TraceState {
    fn default() -> Self {
        TraceState {
            on: AtomicBool::new(false),
            global: Mutex::new(TraceGlobal::default()),
        }
    }
}

/// The time-stamp counter (Go's `cputicks`).
#[inline]
fn cputicks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: rdtsc has no preconditions on x86_64.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        crate::time::nanotime() as u64
    }
}

fn m_id() -> i32 {
    let mp = getm();
    if mp.is_null() {
        -1
    } else {
        // SAFETY: a non-null M is live; its id is fixed.
        unsafe { (*mp).id as i32 }
    }
}

/// Records an event on `pp`'s buffer, if `pp`'s instance is tracing.
///
/// # Safety
/// The caller owns `pp` (its M holds it) and holds no reference into its
/// `PLocal`.
#[inline]
pub unsafe fn ev_p(pp: &P, kind: EvKind, g: u64, arg: u64, reason: WaitReason) {
    if TRACING.load(Ordering::Relaxed) != 0 {
        // SAFETY: forwarded contract.
        unsafe { ev_p_slow(pp, kind, g, arg, reason) }
    }
}

#[cold]
#[inline(never)]
unsafe fn ev_p_slow(pp: &P, kind: EvKind, g: u64, arg: u64, reason: WaitReason) {
    // SAFETY: a P's instance pointer is set at creation; instances are
    // leaked.
    let s = unsafe { &*pp.sched };
    if !s.trace.on.load(Ordering::Acquire) {
        return;
    }
    // The P's owner is the recording M: no TLS read needed.
    let mp = pp.m.load(Ordering::Relaxed);
    let m = if mp.is_null() {
        m_id()
    } else {
        // SAFETY: Ms are never freed; the id is fixed.
        unsafe { (*mp).id as i32 }
    };
    let e = Event {
        ts: cputicks(),
        g,
        arg,
        m,
        p: pp.id as i16,
        kind,
        reason,
    };
    // SAFETY: the caller owns pp and holds no other reference into it.
    unsafe { pp.local().trace.push(&e) };
}

/// Records an event that happens without a P, on the instance's shared
/// buffer.
pub fn ev_nop(s: &Sched, kind: EvKind, g: u64) {
    if TRACING.load(Ordering::Relaxed) == 0 || !s.trace.on.load(Ordering::Acquire) {
        return;
    }
    let e = Event {
        ts: cputicks(),
        g,
        arg: 0,
        m: m_id(),
        p: -1,
        kind,
        reason: WaitReason::Zero,
    };
    s.trace.global.lock().events.push(e);
}

/// The goroutine id of a G, or 0 for none.
///
/// # Safety
/// `gp` is null or points at a G of a running instance (freed only once
/// the instance ended and its Ms left).
pub unsafe fn goid(gp: *mut G) -> u64 {
    if gp.is_null() {
        0
    } else {
        // SAFETY: the caller's contract.
        unsafe { (*gp).goid }
    }
}

/// Error of [`start_trace`]: Go's `StartTrace` text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceAlreadyEnabled;

impl core::fmt::Display for TraceAlreadyEnabled {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("tracing is already enabled")
    }
}

impl std::error::Error for TraceAlreadyEnabled {}

/// StartTrace: port of runtime.StartTrace (trace.go): starts recording
/// the calling goroutine's instance. Goroutines that exist already appear
/// from their next event on (Go emits their state first; gort's trace shows
/// each G's track from the first thing it does).
pub fn start_trace() -> Result<(), TraceAlreadyEnabled> {
    let (_, _rt) = crate::proc::runtime_entry("trace.Start");
    start_trace_on(crate::sched::sched())
}

/// [`start_trace`] for an instance that is being built (`GORT_TRACE`).
pub fn start_trace_on(s: &Sched) -> Result<(), TraceAlreadyEnabled> {
    let mut g = s.trace.global.lock();
    if s.trace.on.load(Ordering::Acquire) {
        return Err(TraceAlreadyEnabled);
    }
    g.events.clear();
    g.start = (cputicks(), crate::time::nanotime());
    s.trace.on.store(true, Ordering::Release);
    TRACING.fetch_add(1, Ordering::AcqRel);
    // What is already under way (Go's StartTrace emits the status of every
    // P and G first): which M holds which P, and each goroutine's state.
    // Read without stopping the world, so a state may be a moment stale.
    let ts = g.start.0;
    for pp in s.procs() {
        let mp = pp.m.load(Ordering::Acquire);
        if !mp.is_null() && pp.status.load(Ordering::Acquire) == crate::p::_Prunning {
            g.events.push(Event {
                ts,
                g: 0,
                arg: 0,
                // SAFETY: Ms are never freed; the id is fixed.
                m: unsafe { (*mp).id as i32 },
                p: pp.id as i16,
                kind: EvKind::ProcStart,
                reason: WaitReason::Zero,
            });
        }
    }
    crate::sched::for_each_g(s, |gp| {
        // SAFETY: Gs on the all-G list live while their instance runs; fields are read for
        // the picture only.
        unsafe {
            if (*gp).system || (*gp).goid == 0 {
                return;
            }
            let st = runtime_g::readgstatus(gp) & !runtime_g::status::_Gscan;
            let (kind, p, m) = match st {
                runtime_g::status::_Grunning => {
                    let mp = (*gp).m as *mut runtime_m::M;
                    let (p, m) = if mp.is_null() {
                        (-1, -1)
                    } else {
                        let pp = (*mp).p as *const P;
                        let p = if pp.is_null() { -1 } else { (*pp).id as i16 };
                        (p, (*mp).id as i32)
                    };
                    (EvKind::GoStart, p, m)
                }
                runtime_g::status::_Grunnable => (EvKind::GoSched, -1, -1),
                runtime_g::status::_Gwaiting => (EvKind::GoPark, -1, -1),
                runtime_g::status::_Gsyscall => (EvKind::GoSysCall, -1, -1),
                _ => return,
            };
            g.events.push(Event {
                ts,
                g: (*gp).goid,
                arg: 0,
                m,
                p,
                kind,
                reason: (*gp).waitreason.load(),
            });
        }
    });
    Ok(())
}

/// `GORT_TRACE=out.json`: the file the instance's trace goes to when its
/// main goroutine returns. Read once per process.
fn env_trace_path() -> Option<&'static std::path::Path> {
    static PATH: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        std::env::var_os("GORT_TRACE")
            .filter(|v| !v.is_empty())
            .map(Into::into)
    })
    .as_deref()
}

/// Starts the trace of a new instance if `GORT_TRACE` names a file (as if
/// `trace.Start` were the first thing the program did).
pub(crate) fn start_from_env(s: &Sched) {
    if env_trace_path().is_some() {
        // A fresh instance is not tracing yet.
        let _ = start_trace_on(s);
    }
}

/// At the return of the main goroutine: stops the trace `GORT_TRACE`
/// started and writes it to that file. A failure to write is reported on
/// standard error with the path and the reason (the program's own exit
/// status is not changed). A program that ends otherwise (a fatal panic,
/// `os::exit`) loses its trace, as a Go program that never calls
/// `trace.Stop` does.
pub(crate) fn stop_to_env_file() {
    let Some(path) = env_trace_path() else { return };
    if let Some(json) = stop_trace()
        && let Err(e) = std::fs::write(path, json)
    {
        runtime_g::throw::print(&format!(
            "gort: cannot write GORT_TRACE file {}: {e}\n",
            path.display()
        ));
    }
}

/// StopTrace: port of runtime.StopTrace (trace.go): stops recording and
/// returns the trace as Chrome trace-event JSON, or `None` if the instance
/// was not tracing. Stops the world to collect the P buffers.
pub fn stop_trace() -> Option<String> {
    let (_, _rt) = crate::proc::runtime_entry("trace.Stop");
    let s = crate::sched::sched();
    if !s.trace.on.swap(false, Ordering::AcqRel) {
        return None;
    }
    TRACING.fetch_sub(1, Ordering::AcqRel);
    let end = (cputicks(), crate::time::nanotime());
    let mut events = crate::procresize::with_world_stopped(s, || {
        let mut all = Vec::new();
        for pp in s.procs_all() {
            // SAFETY: the world is stopped: no M owns or writes any P (see
            // the module docs).
            unsafe { pp.local().trace.drain_into(pp.id as i16, &mut all) };
        }
        all
    });
    let (start, mut global, names) = {
        let mut g = s.trace.global.lock();
        (
            g.start,
            core::mem::take(&mut g.events),
            core::mem::take(&mut g.names),
        )
    };
    events.append(&mut global);
    events.sort_by_key(|e| e.ts);
    Some(to_chrome_json(&events, start, end, &names))
}

/// `s` as the inside of a JSON string.
fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Names goroutine `gp`'s track in the running trace of its instance, if
/// any: `G<id>`, its function's name if known, and the last labels it
/// had, as a dump header shows them. Called when either changes.
///
/// Like the event points, it looks at [`TRACING`] first: a goroutine
/// start costs one load when nothing traces.
///
/// # Safety
/// `gp` is the running user goroutine (it reads its own G).
pub unsafe fn name_goroutine(gp: *mut runtime_g::G) {
    if TRACING.load(Ordering::Relaxed) == 0 {
        return;
    }
    let s = crate::sched::sched();
    if !s.trace.on.load(Ordering::Acquire) {
        return;
    }
    // SAFETY: per the contract.
    let (goid, func, labels) =
        unsafe { ((*gp).goid, (*gp).start_func, crate::proc::format_labels(gp)) };
    let mut name = format!("G{goid}");
    if !func.is_empty() {
        name.push(' ');
        name.push_str(func);
    }
    let mut g = s.trace.global.lock();
    if labels.is_empty() {
        // Labels that were taken away (the end of `pprof::do_labeled`)
        // leave the track named after the last ones it had.
        g.names.entry(goid).or_insert(name);
    } else {
        name.push_str(&labels);
        g.names.insert(goid, name);
    }
}

/// The Chrome trace-event JSON of `events` (sorted by time).
///
/// Three processes: "Processors (P)", one track per P with a slice for
/// each run of a goroutine; "Goroutines", one track per goroutine with
/// slices for its states (runnable, running, waiting with Go's wait reason,
/// syscall); "Threads (M)", one track per M with a slice for each time it
/// held a P. Flow arrows go from an unpark (or a creation) to the run it
/// caused. A goroutine's track is named from `names` (its function and
/// labels, [`name_goroutine`]) or `G<id>`.
pub fn to_chrome_json(
    events: &[Event],
    start: (u64, i64),
    end: (u64, i64),
    names: &std::collections::HashMap<u64, String>,
) -> String {
    use std::collections::HashMap;
    use std::fmt::Write;
    const PID_P: u32 = 1;
    const PID_G: u32 = 2;
    const PID_M: u32 = 3;
    let ticks = end.0.saturating_sub(start.0).max(1) as f64;
    let ns = (end.1 - start.1).max(1) as f64;
    // Microseconds since the start, as the format wants.
    let us = |ts: u64| -> f64 { (ts.saturating_sub(start.0) as f64) * ns / ticks / 1000.0 };
    let mut out = String::from("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
    let mut first = true;
    let mut emit = |out: &mut String, s: String| {
        if !first {
            out.push_str(",\n");
        }
        first = false;
        out.push_str(&s);
    };
    for (pid, name) in [
        (PID_P, "Processors (P)"),
        (PID_G, "Goroutines"),
        (PID_M, "Threads (M)"),
    ] {
        emit(
            &mut out,
            format!(
                "{{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":{pid},\"args\":{{\"name\":\"{name}\"}}}}"
            ),
        );
        emit(
            &mut out,
            format!(
                "{{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":{pid},\"args\":{{\"sort_index\":{pid}}}}}"
            ),
        );
    }
    // Per goroutine: its current state slice (name, start, P) and the flow
    // id waiting for its next run.
    struct GState {
        state: String,
        since: f64,
        p: i16,
        flow: Option<u64>,
    }
    let mut gs: HashMap<u64, GState> = HashMap::new();
    let mut ms: HashMap<i32, (i16, f64)> = HashMap::new();
    let mut named_g: HashMap<u64, ()> = HashMap::new();
    let mut named_p: HashMap<i16, ()> = HashMap::new();
    let mut named_m: HashMap<i32, ()> = HashMap::new();
    let mut next_flow = 1u64;
    let slice = |out: &mut String,
                 emit: &mut dyn FnMut(&mut String, String),
                 pid: u32,
                 tid: i64,
                 name: &str,
                 t0: f64,
                 t1: f64,
                 args: &str| {
        emit(
            out,
            format!(
                "{{\"ph\":\"X\",\"pid\":{pid},\"tid\":{tid},\"name\":\"{name}\",\"ts\":{t0:.3},\"dur\":{:.3},\"args\":{{{args}}}}}",
                (t1 - t0).max(0.0)
            ),
        );
    };
    for e in events {
        let t = us(e.ts);
        if e.g != 0 && named_g.insert(e.g, ()).is_none() {
            let name = names
                .get(&e.g)
                .map_or_else(|| format!("G{}", e.g), |n| json_escape(n));
            emit(
                &mut out,
                format!(
                    "{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{PID_G},\"tid\":{},\"args\":{{\"name\":\"{name}\"}}}}",
                    e.g
                ),
            );
        }
        if e.p >= 0 && named_p.insert(e.p, ()).is_none() {
            emit(
                &mut out,
                format!(
                    "{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{PID_P},\"tid\":{},\"args\":{{\"name\":\"P{}\"}}}}",
                    e.p, e.p
                ),
            );
        }
        if e.m >= 0 && named_m.insert(e.m, ()).is_none() {
            emit(
                &mut out,
                format!(
                    "{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{PID_M},\"tid\":{},\"args\":{{\"name\":\"M{}\"}}}}",
                    e.m, e.m
                ),
            );
        }
        // Closes the goroutine's current state slice and opens `next`.
        let mut transition =
            |out: &mut String, emit: &mut dyn FnMut(&mut String, String), next: String| {
                let g = gs.entry(e.g).or_insert(GState {
                    state: String::new(),
                    since: t,
                    p: -1,
                    flow: None,
                });
                if !g.state.is_empty() {
                    if g.state == "running" && g.p >= 0 {
                        slice(
                            out,
                            emit,
                            PID_P,
                            g.p as i64,
                            &format!("G{}", e.g),
                            g.since,
                            t,
                            &format!("\"goid\":{},\"m\":{}", e.g, e.m),
                        );
                    }
                    let label = if g.state == "running" {
                        format!("running on P{}", g.p)
                    } else {
                        g.state.clone()
                    };
                    slice(out, emit, PID_G, e.g as i64, &label, g.since, t, "");
                }
                g.state = next;
                g.since = t;
                g.p = e.p;
            };
        let instant = |out: &mut String,
                       emit: &mut dyn FnMut(&mut String, String),
                       pid: u32,
                       tid: i64,
                       name: &str,
                       args: String| {
            emit(
                out,
                format!(
                    "{{\"ph\":\"i\",\"s\":\"t\",\"pid\":{pid},\"tid\":{tid},\"name\":\"{name}\",\"ts\":{t:.3},\"args\":{{{args}}}}}"
                ),
            );
        };
        let flow_start = |out: &mut String,
                          emit: &mut dyn FnMut(&mut String, String),
                          id: u64,
                          name: &str| {
            let tid = if e.p >= 0 { e.p as i64 } else { 0 };
            emit(
                out,
                format!(
                    "{{\"ph\":\"s\",\"id\":{id},\"cat\":\"sched\",\"name\":\"{name}\",\"pid\":{PID_P},\"tid\":{tid},\"ts\":{t:.3}}}"
                ),
            );
        };
        match e.kind {
            EvKind::GoCreate => {
                transition(&mut out, &mut emit, "runnable".into());
                let id = next_flow;
                next_flow += 1;
                flow_start(&mut out, &mut emit, id, "go");
                gs.get_mut(&e.g).unwrap().flow = Some(id);
                if e.p >= 0 {
                    instant(
                        &mut out,
                        &mut emit,
                        PID_P,
                        e.p as i64,
                        "GoCreate",
                        format!("\"goid\":{},\"parent\":{}", e.g, e.arg),
                    );
                }
            }
            EvKind::GoStart => {
                transition(&mut out, &mut emit, "running".into());
                if let Some(id) = gs.get_mut(&e.g).unwrap().flow.take() {
                    emit(
                        &mut out,
                        format!(
                            "{{\"ph\":\"f\",\"bp\":\"e\",\"id\":{id},\"cat\":\"sched\",\"name\":\"run\",\"pid\":{PID_P},\"tid\":{},\"ts\":{t:.3}}}",
                            e.p
                        ),
                    );
                }
            }
            EvKind::GoPark => {
                transition(
                    &mut out,
                    &mut emit,
                    format!("waiting: {}", e.reason.as_str()),
                );
            }
            EvKind::GoUnpark => {
                transition(&mut out, &mut emit, "runnable".into());
                let id = next_flow;
                next_flow += 1;
                flow_start(&mut out, &mut emit, id, "unpark");
                gs.get_mut(&e.g).unwrap().flow = Some(id);
            }
            EvKind::GoSched => transition(&mut out, &mut emit, "runnable".into()),
            EvKind::GoSysCall => transition(&mut out, &mut emit, "syscall".into()),
            // Back with a P (`exitsyscallfast`): it runs on; without one
            // (`exitsyscall0`): it waits for a P like any runnable G.
            EvKind::GoSysExit if e.p >= 0 => transition(&mut out, &mut emit, "running".into()),
            EvKind::GoSysExit => transition(&mut out, &mut emit, "runnable".into()),
            EvKind::GoEnd => {
                transition(&mut out, &mut emit, String::new());
                gs.remove(&e.g);
            }
            EvKind::ProcStart => {
                ms.insert(e.m, (e.p, t));
            }
            EvKind::ProcStop | EvKind::ProcSteal => {
                // A steal (recorded by sysmon) ends the stuck M's time on
                // the P; its goroutine runs on without a P until its next
                // runtime call.
                let m = if e.kind == EvKind::ProcSteal {
                    e.arg as i32
                } else {
                    e.m
                };
                if let Some((p, t0)) = ms.remove(&m) {
                    slice(
                        &mut out,
                        &mut emit,
                        PID_M,
                        m as i64,
                        &format!("P{p}"),
                        t0,
                        t,
                        "",
                    );
                }
                if e.kind == EvKind::ProcSteal {
                    instant(
                        &mut out,
                        &mut emit,
                        PID_P,
                        e.p as i64,
                        "ProcSteal",
                        format!("\"goid\":{},\"m\":{}", e.g, e.arg),
                    );
                }
            }
            EvKind::MStart | EvKind::MStop => {
                let name = if e.kind == EvKind::MStart {
                    "MStart"
                } else {
                    "MStop"
                };
                instant(&mut out, &mut emit, PID_M, e.m as i64, name, String::new());
            }
        }
    }
    // Close what is still open at the stop.
    let t_end = us(end.0);
    let mut open: Vec<_> = gs.into_iter().collect();
    open.sort_by_key(|(g, _)| *g);
    for (g, st) in open {
        if st.state.is_empty() {
            continue;
        }
        if st.state == "running" && st.p >= 0 {
            slice(
                &mut out,
                &mut emit,
                PID_P,
                st.p as i64,
                &format!("G{g}"),
                st.since,
                t_end,
                &format!("\"goid\":{g}"),
            );
        }
        let label = if st.state == "running" {
            format!("running on P{}", st.p)
        } else {
            st.state.clone()
        };
        slice(
            &mut out, &mut emit, PID_G, g as i64, &label, st.since, t_end, "",
        );
    }
    let mut open_m: Vec<_> = ms.into_iter().collect();
    open_m.sort_by_key(|(m, _)| *m);
    for (m, (p, t0)) in open_m {
        slice(
            &mut out,
            &mut emit,
            PID_M,
            m as i64,
            &format!("P{p}"),
            t0,
            t_end,
            "",
        );
    }
    let _ = write!(out, "\n]}}\n");
    out
}

/// Instrumentation hooks called at a goroutine's life events, on the thread
/// concerned: `create` in `newproc1` (on the creator's thread, the new G
/// owned and not yet runnable), `run` in `execute` just before the switch
/// to the G, `stop` when it leaves the CPU (park, yield, end, a system
/// call that lost its P), `end` when it has ended. `run` and the matching
/// `stop` happen on the same OS thread, so an instrumentation that keeps
/// per-thread state (a `tracing` subscriber's current span) sees balanced
/// enters and exits even though the goroutine moves between threads.
/// The hooks must not call into the scheduler.
pub struct GoroutineHooks {
    pub create: unsafe fn(gp: *mut G),
    pub run: unsafe fn(gp: *mut G),
    pub stop: unsafe fn(gp: *mut G),
    pub end: unsafe fn(gp: *mut G),
}

static HOOKS: core::sync::atomic::AtomicPtr<GoroutineHooks> =
    core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());

/// Installs the goroutine hooks for the process (the last call wins; Gs
/// created before have no hook data, which the hooks must accept).
pub fn set_goroutine_hooks(h: &'static GoroutineHooks) {
    HOOKS.store(
        h as *const GoroutineHooks as *mut GoroutineHooks,
        Ordering::Release,
    );
}

/// Which hook to call.
#[derive(Clone, Copy)]
pub enum Hook {
    Create,
    Run,
    Stop,
    End,
}

/// Calls hook `which` for `gp`, if hooks are installed: one load when not.
///
/// # Safety
/// `gp` is live and the call site is the life event `which` names.
#[inline]
pub unsafe fn hook(which: Hook, gp: *mut G) {
    let h = HOOKS.load(Ordering::Acquire);
    if !h.is_null() {
        // SAFETY: installed hooks are 'static; forwarded contract.
        unsafe {
            let h = &*h;
            match which {
                Hook::Create => (h.create)(gp),
                Hook::Run => (h.run)(gp),
                Hook::Stop => (h.stop)(gp),
                Hook::End => (h.end)(gp),
            }
        }
    }
}

/// A GoUnpark for `gp` made runnable by the poller: on the current M's P
/// if it has one, else on the instance's shared buffer.
///
/// # Safety
/// `gp` is a live G; the caller's M owns its P, if any.
pub unsafe fn ev_unpark_here(s: &Sched, gp: *mut G) {
    if TRACING.load(Ordering::Relaxed) == 0 {
        return;
    }
    let mp = getm();
    // SAFETY: mp is this thread's M; gp is live.
    unsafe {
        let pp = (*mp).p as *const P;
        if pp.is_null() {
            ev_nop(s, EvKind::GoUnpark, (*gp).goid);
        } else {
            ev_p(&*pp, EvKind::GoUnpark, (*gp).goid, 0, WaitReason::Zero);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ts: u64, g: u64, arg: u64, m: i32, kind: EvKind, reason: WaitReason) -> Event {
        Event {
            ts,
            g,
            arg,
            m,
            p: 3,
            kind,
            reason,
        }
    }

    /// The compact encoding gives back exactly what was recorded, across
    /// chunk boundaries, with extreme values and time stamps that go
    /// backwards (a P moving to a core whose counter lags).
    #[test]
    fn trace_buf_round_trips() {
        let mut want = vec![
            ev(1000, 1, 0, 0, EvKind::GoCreate, WaitReason::Zero),
            ev(
                990,
                u64::MAX,
                u64::MAX,
                -1,
                EvKind::GoPark,
                WaitReason::ChanReceive,
            ),
            ev(u64::MAX, 7, 1, i32::MAX, EvKind::GoUnpark, WaitReason::Zero),
            ev(0, 0, 0, i32::MIN, EvKind::MStop, WaitReason::Select),
        ];
        // Enough events to fill several chunks.
        let kinds = [EvKind::GoStart, EvKind::GoSched, EvKind::ProcStop];
        for i in 0..(3 * CHUNK / 8) as u64 {
            want.push(ev(
                5_000 + i * 37,
                i % 1000,
                i / 3,
                (i % 5) as i32,
                kinds[(i % 3) as usize],
                WaitReason::Zero,
            ));
        }
        let mut buf = TraceBuf::default();
        for e in &want {
            buf.push(e);
        }
        assert!(buf.full.len() >= 2, "several chunks were used");
        let mut got = Vec::new();
        buf.drain_into(3, &mut got);
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                (g.ts, g.g, g.arg, g.m, g.p, g.kind, g.reason),
                (w.ts, w.g, w.arg, w.m, w.p, w.kind, w.reason),
                "event {i}"
            );
        }
        // Drained: empty, and a new recording starts afresh.
        let mut again = Vec::new();
        buf.drain_into(3, &mut again);
        assert!(again.is_empty());
        buf.push(&want[0]);
        buf.drain_into(3, &mut again);
        assert_eq!(again[0].ts, want[0].ts);
    }
}

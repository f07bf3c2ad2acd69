//! The system monitor: port of `sysmon`, `retake` and `preemptone`
//! (proc.go). sysmon runs on its own M without a P, wakes every 20 µs
//! (backing off to 10 ms when nothing happens) and
//! - retakes Ps from Ms blocked in system calls (Go's 20 µs rule: a P that
//!   has been in the same syscall for a whole sysmon tick is handed off if
//!   there is other work or nobody else spins, and after 10 ms in any case);
//! - asks goroutines that have run for more than 10 ms (`forcePreemptNS`)
//!   to yield. gort's preemption is cooperative: the request is honoured at
//!   the goroutine's next runtime call (`preempt_check`), never by a signal
//!   in the middle of Rust code.
//!
//! When every P is idle it sleeps on `sched.sysmonnote` until work appears.

use core::sync::atomic::Ordering;

use runtime_m::{getm, mreturn, noteclear, notetsleep, os};

use crate::mp::handoffp;
use crate::p::{_Pidle, _Prunning, _Psyscall, runqempty};
use crate::sched::{Sched, sched};

/// Go's `forcePreemptNS`: a time slice.
pub const FORCE_PREEMPT_NS: i64 = 10_000_000;

/// What sysmon last saw of a P (`sysmontick`).
#[derive(Clone, Copy, Default)]
struct SysmonTick {
    schedtick: u32,
    /// The P's `idletick` when the slice began.
    idletick: u32,
    schedwhen: i64,
    syscalltick: u32,
    syscallwhen: i64,
    /// Whether the goroutine now on the P (same `schedtick`) was already
    /// asked to yield; sysmon takes the P if it is asked twice.
    preempted: bool,
    /// No retake attempt before this time (after one that found the
    /// goroutine inside the runtime).
    retake_after: i64,
    /// The stall of the goroutine now on the P was reported.
    stall_reported: bool,
    /// The stall detector's look at the goroutine's thread.
    probe: Option<Probe>,
}

impl SysmonTick {
    /// What sysmon assumes of a P it has not seen yet: a slice and a
    /// system call that start at `now`.
    fn starting(now: i64) -> SysmonTick {
        SysmonTick {
            schedwhen: now,
            syscallwhen: now,
            ..SysmonTick::default()
        }
    }

    /// A new goroutine's turn on the P (or a new slice for whoever runs
    /// it next, after a retake) starts at `now`.
    fn new_slice(&mut self, now: i64) {
        self.schedwhen = now;
        self.preempted = false;
        self.stall_reported = false;
        self.probe = None;
    }
}

/// How long a goroutine may run without a runtime call before sysmon
/// names it on stderr, by default; `GODEBUG=gortstall=<ms>` sets it, and
/// `gortstall=0` turns the report off.
pub const STALL_REPORT_NS: i64 = 1_000_000_000;

/// sysmon: port of runtime.sysmon (proc.go); the `mstartfn` of its M.
pub fn sysmon() {
    let s = sched();
    {
        // Go's sysmon counts itself out of checkdead's arithmetic, then
        // checks once: a deadlock may have happened while it started.
        let mut l = s.lock.lock();
        l.nmsys += 1;
        crate::proc::checkdead(s, &mut l);
    }
    let mut ticks: Vec<SysmonTick> = Vec::new();
    let mut idle = 0u32;
    let mut delay: u32 = 0;
    let (trace_ms, detailed) = godebug_schedtrace();
    // Go's starttime: set by the first trace, which therefore says 0ms.
    let mut start = 0i64;
    let mut lasttrace = 0i64;
    let mut lastscavenge = 0i64;
    let mut lastmark = 0i64;
    let can_retake = crate::retake::retake_enabled(s);
    let mut stall = Stall::new(stall_threshold_ns());
    loop {
        if s.shutting_down.load(Ordering::Acquire) {
            let mp = getm();
            {
                let mut l = s.lock.lock();
                l.nmsys -= 1;
                crate::mp::m_exited(s, &mut l);
            }
            drop(ticks);
            // A report reads the instance's Gs: it ends before they go.
            stall.finish();
            crate::mp::m_release(s, mp);
            // SAFETY: sysmon runs on g0 of its own M, from mstart1; nothing
            // on this stack owns resources any more (`ticks` was dropped).
            unsafe { mreturn(mp) };
        }
        delay = if idle == 0 {
            20
        } else if idle > 50 {
            (delay * 2).min(10_000)
        } else {
            delay
        };
        os().usleep(delay);
        let now = os().nanotime();
        if trace_ms > 0 && lasttrace + trace_ms * 1_000_000 <= now {
            lasttrace = now;
            if start == 0 {
                start = now;
            }
            schedtrace(s, start, now, detailed);
        }
        // With schedtrace on, sysmon keeps ticking to print (as in Go).
        // A retaken goroutine still running is watched even with every P
        // idle.
        if trace_ms <= 0
            && s.npidle.load(Ordering::Acquire) == s.gomaxprocs() as i32
            && !stall.watching()
        {
            // Nothing runs: sleep until someone enters a syscall or the
            // runtime shuts down (Go: sysmonwait + sysmonnote).
            let l = s.lock.lock();
            // Go sleeps until the next timer at the latest (a timer that
            // fires makes a P run again), and at most half forcegc's period.
            let next = crate::time::time_sleep_until(s);
            if s.npidle.load(Ordering::Acquire) == s.gomaxprocs() as i32
                && !s.shutting_down.load(Ordering::Acquire)
                && next > now
            {
                s.sysmonwait.store(true, Ordering::Release);
                drop(l);
                notetsleep(&s.sysmonnote, (next - now).min(60_000_000_000));
                let _l = s.lock.lock();
                s.sysmonwait.store(false, Ordering::Release);
                noteclear(&s.sysmonnote);
                idle = 0;
                delay = 20;
                continue;
            }
        }
        // Note when goroutines were first seen waiting, for the "N
        // minutes" of dumps (Go's GC does this as it marks stacks).
        if now - lastmark > 10_000_000_000 {
            lastmark = now;
            mark_waitsince(s, now);
        }
        // Return the memory of exited goroutines' stacks now and then (Go's
        // background scavenger), in coalesced batches.
        if now - lastscavenge > 100_000_000 {
            lastscavenge = now;
            runtime_g::stack::scavenge();
        }
        // Poll the network if no M has for more than 10 ms (Go's sysmon
        // does, so that ready connections are not left waiting behind busy
        // Ps).
        let lastpoll = s.lastpoll.load(Ordering::Acquire);
        if lastpoll != 0 && lastpoll + 10_000_000 < now && crate::netpoll::poller(s).is_some() {
            let _ = s
                .lastpoll
                .compare_exchange(lastpoll, now, Ordering::AcqRel, Ordering::Relaxed);
            let (list, delta) = crate::netpoll::netpoll(s, 0);
            if list.is_empty() {
                crate::netpoll::injectglist(s, list, delta);
            } else {
                // An M about to run these must not look deadlocked to
                // checkdead meanwhile (Go brackets this the same way).
                crate::lockosthread::incidlelocked(s, -1);
                crate::netpoll::injectglist(s, list, delta);
                crate::lockosthread::incidlelocked(s, 1);
            }
        }
        if ticks.len() < s.gomaxprocs() {
            // A P seen for the first time starts its slice now: with the
            // zero time, a P whose tick is still 0 looked as if it had run
            // since the clock began, and sysmon preempted it at once and
            // reported a stall of hours (the clock's uptime).
            ticks.resize(s.gomaxprocs(), SysmonTick::starting(now));
        }
        stall.check_retaken(s, now);
        if retake(s, &mut ticks, now, can_retake, &mut stall) != 0 {
            idle = 0;
        } else {
            idle += 1;
        }
    }
}

/// retake: port of runtime.retake (proc.go). Returns how many Ps it took
/// from system calls and, with `running` (retake.rs), from goroutines that
/// ignored a request to yield for a whole sysmon tick, plus the first
/// such requests (so that sysmon's next tick is not backed off). Names a
/// goroutine that keeps its P too long (`stall`).
fn retake(s: &Sched, ticks: &mut [SysmonTick], now: i64, running: bool, stall: &mut Stall) -> u32 {
    let mut n = 0;
    for (i, pp) in s.procs().enumerate() {
        // GOMAXPROCS may have grown since the caller sized `ticks`: a P
        // beyond it is seen from the next tick on.
        let Some(pd) = ticks.get_mut(i) else {
            break;
        };
        let st = pp.status.load(Ordering::Acquire);
        let mut sysretake = false;
        if st == _Prunning || st == _Psyscall {
            // Preempt a G that has run for too long.
            let t = pp.schedtick.load(Ordering::Relaxed);
            // Difference from Go: a P that went idle since sysmon last
            // looked starts a new slice too. A goroutine that a timer or a
            // wake-up puts in runnext inherits the slice (no schedtick),
            // so a ticker goroutine that runs for microseconds every 10 ms
            // looked to Go's rule like one that had run for 10 ms; Go then
            // only asks it to yield, but gort's migrating mode would take
            // its P from it (retake.rs). sysmon sees such idling only now
            // that it stays awake while timers are pending.
            let it = pp.idletick.load(Ordering::Relaxed);
            if pd.schedtick != t || pd.idletick != it {
                pd.schedtick = t;
                pd.idletick = it;
                pd.new_slice(now);
            } else if pd.schedwhen + FORCE_PREEMPT_NS <= now {
                if running && st == _Prunning && pd.preempted && pd.retake_after <= now {
                    if let Some((mp, goid)) = crate::retake::retake_running(pp) {
                        n += 1;
                        // It runs on without a P: watched from now on.
                        stall.retaken(mp, goid, pd.schedwhen, pd.stall_reported, pd.probe);
                        // Whoever runs the P next starts a new slice.
                        pd.new_slice(now);
                        continue;
                    }
                    // Inside the runtime just now: try again in a while
                    // rather than at every tick (each try costs a barrier
                    // on every CPU).
                    pd.retake_after = now + 1_000_000;
                }
                if st == _Prunning
                    && !pd.stall_reported
                    && stall.due(pd.schedwhen, now)
                    && stuck(pp.m.load(Ordering::Acquire), &mut pd.probe, now)
                {
                    pd.stall_reported = stall.report_p(s, pp, now - pd.schedwhen);
                }
                preemptone(pp);
                if running && !pd.preempted {
                    // Look again soon: the retake comes a tick after the
                    // request, and sysmon may have backed off to 10 ms.
                    n += 1;
                }
                pd.preempted = true;
                // A P in a syscall gets the same treatment as long-running.
                sysretake = true;
            }
        }
        if st == _Psyscall {
            let t = pp.syscalltick.load(Ordering::Relaxed);
            if !sysretake && pd.syscalltick != t {
                pd.syscalltick = t;
                pd.syscallwhen = now;
                continue;
            }
            // Leave it alone if it has no work, someone else can look for
            // work, and it has not been long (the 10 ms bound).
            if runqempty(pp)
                && s.nmspinning.load(Ordering::Acquire) + s.npidle.load(Ordering::Acquire) > 0
                && pd.syscallwhen + 10_000_000 > now
            {
                continue;
            }
            if pp
                .status
                .compare_exchange(_Psyscall, _Pidle, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                n += 1;
                pp.syscalltick.fetch_add(1, Ordering::Relaxed);
                // Go's retake brackets the hand-off the same way: the P is
                // in nobody's count meanwhile, and checkdead must not
                // call that a deadlock.
                crate::lockosthread::incidlelocked(s, -1);
                // SAFETY: the CAS made the P ours; no M holds it.
                unsafe { handoffp(pp as *const crate::p::P as *mut crate::p::P) };
                crate::lockosthread::incidlelocked(s, 1);
            }
        }
    }
    n
}

/// The stall report's threshold from `GODEBUG=gortstall=<ms>` (0: off),
/// or [`STALL_REPORT_NS`]. A value that is not a number is ignored, as Go
/// ignores a malformed `GODEBUG` setting.
fn stall_threshold_ns() -> i64 {
    std::env::var("GODEBUG")
        .unwrap_or_default()
        .split(',')
        .filter_map(|kv| kv.trim().strip_prefix("gortstall="))
        .filter_map(|v| v.parse::<i64>().ok())
        .next_back()
        .map_or(STALL_REPORT_NS, |ms| ms.max(0).saturating_mul(1_000_000))
}

/// What the stall detector saw of a thread's CPU time.
#[derive(Clone, Copy)]
struct Probe {
    at: i64,
    cpu: i64,
}

/// How long the stall detector watches a thread before it decides.
const PROBE_NS: i64 = 100_000_000;

/// The CPU time host thread `tid` of this process has used (its
/// `CLOCK_THREAD_CPUTIME_ID`, read from outside as `pthread_getcpuclockid`
/// names it: `~tid << 3 | CPUCLOCK_SCHED | CPUCLOCK_PERTHREAD`).
fn thread_cpu_ns(tid: libc::pid_t) -> Option<i64> {
    let clock = ((!tid) << 3) | 6;
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid out-parameter; a bad clock id fails (EINVAL).
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return None;
    }
    Some(ts.tv_sec * 1_000_000_000 + ts.tv_nsec)
}

/// The system calls a signal does not disturb: with `SA_RESTART` the
/// kernel restarts them after the handler (futex waits, wait4, flock,
/// fcntl locks). Others (poll, epoll_wait, nanosleep, socket calls, which
/// fail with EINTR once the socket has a timeout) would be cut short,
/// which a diagnostic must not do: a thread blocked in one is reported
/// without frames.
const RESTARTED_SYSCALLS: [i64; 5] = [
    libc::SYS_futex,
    libc::SYS_futex_waitv,
    libc::SYS_wait4,
    libc::SYS_flock,
    libc::SYS_fcntl,
];

/// Whether host thread `tid` may be asked for its frames with a signal:
/// it runs, or it is blocked in a call the kernel restarts
/// ([`RESTARTED_SYSCALLS`]; `/proc/self/task/<tid>/syscall` names it).
pub(crate) fn may_interrupt(tid: libc::pid_t) -> bool {
    if !thread_blocked(tid) {
        return true;
    }
    std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall"))
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<i64>().ok())
        .is_some_and(|nr| RESTARTED_SYSCALLS.contains(&nr))
}

/// Whether host thread `tid` is blocked in the kernel (`S` or `D` in
/// `/proc/self/task/<tid>/stat`) rather than running or waiting for a CPU.
fn thread_blocked(tid: libc::pid_t) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")) else {
        return false;
    };
    // The state follows the parenthesised name, which may hold spaces.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|st| st == "S" || st == "D")
}

/// Whether the thread of M `mp`, whose goroutine has run past the stall
/// threshold, is really stuck: over the last [`PROBE_NS`] it used at least
/// half a CPU, or it is blocked in the kernel. A thread that the machine
/// starves of CPU (a loaded host) is neither and is not reported: only
/// the goroutine's own doing counts. The first call starts the probe.
fn stuck(mp: *const runtime_m::M, probe: &mut Option<Probe>, now: i64) -> bool {
    if mp.is_null() {
        return false;
    }
    // SAFETY: Ms are never freed; the word is atomic.
    let tid = unsafe { (*mp).host_tid.load(Ordering::Relaxed) };
    let Some(cpu) = (tid != 0).then(|| thread_cpu_ns(tid)).flatten() else {
        // No clock to read (a thread that is gone): wall time decides.
        return true;
    };
    match *probe {
        Some(p) if now - p.at < PROBE_NS => false,
        Some(p) if (cpu - p.cpu) * 2 >= now - p.at || thread_blocked(tid) => true,
        _ => {
            *probe = Some(Probe { at: now, cpu });
            false
        }
    }
}

/// A goroutine whose P sysmon took while it ran (migrating mode,
/// retake.rs): it runs on, on its thread, until its next runtime entry.
struct Retaken {
    mp: *const runtime_m::M,
    goid: u64,
    /// When its time slice began.
    since: i64,
    reported: bool,
    probe: Option<Probe>,
}

/// The stall detector: names, once on stderr, a goroutine that runs for
/// longer than the threshold without a runtime call, with its frames as a
/// SIGQUIT dump shows them. No Go twin: Go preempts such a goroutine with
/// a signal, which gort never does to Rust code (retake.rs). Two cases:
/// - the goroutine keeps its P (any P in the safe mode, where its thread's
///   pinned goroutines wait for it; in the migrating mode where the OS
///   layer cannot retake);
/// - the migrating mode took its P, and it keeps its thread busy.
///
/// The frames are taken from the goroutine's thread with a signal whose
/// handler only records return addresses (`traceback::stackreq`) and are
/// printed by a thread of their own, so sysmon does not wait; sysmon waits
/// for those threads before it leaves the instance, whose Gs they read.
struct Stall {
    /// 0: off.
    threshold: i64,
    retaken: Vec<Retaken>,
    reports: Vec<std::thread::JoinHandle<()>>,
}

impl Stall {
    fn new(threshold: i64) -> Stall {
        Stall {
            threshold,
            retaken: Vec::new(),
            reports: Vec::new(),
        }
    }

    /// Whether a slice that began at `since` has gone on too long by `now`.
    fn due(&self, since: i64, now: i64) -> bool {
        self.threshold > 0 && now - since >= self.threshold
    }

    /// Whether a retaken goroutine is still to be reported.
    fn watching(&self) -> bool {
        self.threshold > 0 && self.retaken.iter().any(|r| !r.reported)
    }

    /// sysmon took the P of goroutine `goid` running on `mp`, whose slice
    /// began at `since` (`reported`: its stall was named already).
    fn retaken(
        &mut self,
        mp: *const runtime_m::M,
        goid: u64,
        since: i64,
        reported: bool,
        probe: Option<Probe>,
    ) {
        if self.threshold > 0 {
            // An older entry for this M is stale: its goroutine came back
            // into the runtime before this retake.
            self.retaken.retain(|r| r.mp != mp);
            self.retaken.push(Retaken {
                mp,
                goid,
                since,
                reported,
                probe,
            });
        }
    }

    /// Forgets the retaken goroutines that came back into the runtime and
    /// reports those that have run too long.
    fn check_retaken(&mut self, s: &Sched, now: i64) {
        if self.retaken.is_empty() {
            return;
        }
        let mut list = core::mem::take(&mut self.retaken);
        list.retain(|r| {
            // SAFETY: Ms are never freed; the word is atomic. A goroutine
            // that came back into the runtime has seen DONE and put NONE
            // back (retake.rs), so DONE means it is still out there (and
            // its M still ours: an M is freed only after its goroutine
            // came back). A later retake of the M replaced this entry.
            unsafe {
                (*r.mp).retake.load(Ordering::Acquire) == runtime_m::m::RETAKE_DONE
                    && (*r.mp).sched.load(Ordering::Acquire)
                        == (s as *const Sched).cast_mut().cast()
            }
        });
        for r in &mut list {
            if !r.reported && self.due(r.since, now) && stuck(r.mp, &mut r.probe, now) {
                r.reported = true;
                // SAFETY: Ms are never freed; the id is fixed.
                let mid = unsafe { (*r.mp).id };
                let first = format!(
                    "runtime: goroutine {} has run for {}ms without a runtime call; \
                     sysmon gave its P to another thread, and its thread (M{mid}) stays \
                     busy until it calls into the runtime\n",
                    r.goid,
                    (now - r.since) / 1_000_000
                );
                self.report(s, r.mp, r.goid, first);
            }
        }
        self.retaken = list;
    }

    /// Names the goroutine that has kept `pp` for `held` ns without a
    /// runtime call. Returns whether it did (false: no user goroutine on
    /// the P by now).
    fn report_p(&mut self, s: &Sched, pp: &crate::p::P, held: i64) -> bool {
        let mp = pp.m.load(Ordering::Acquire);
        if mp.is_null() {
            return false;
        }
        // SAFETY: Ms are never freed, and the Gs of sysmon's instance are
        // not freed before sysmon left it (teardown.rs); curg and goid are
        // read as a moment's picture (a stale one at worst names the
        // goroutine that just left, and the frames are then not shown).
        let (goid, mid) = unsafe {
            let gp = (*mp).curg.load(Ordering::Acquire);
            if gp.is_null() || (*gp).goid == 0 || (*gp).system {
                return false;
            }
            ((*gp).goid, (*mp).id)
        };
        let who = if s.safe {
            format!("the goroutines pinned to its thread (M{mid}) wait for it")
        } else {
            "the goroutines queued on its P wait for other threads to take them".to_string()
        };
        let first = format!(
            "runtime: goroutine {goid} has kept P {} for {}ms without a runtime call; {who}\n",
            pp.id,
            held / 1_000_000
        );
        self.report(s, mp, goid, first);
        true
    }

    /// Prints `first`, the advice, and goroutine `goid`'s frames, taken
    /// from its thread `mp`, from a thread of its own.
    fn report(&mut self, s: &Sched, mp: *const runtime_m::M, goid: u64, first: String) {
        // A fatal report is being printed (a stack overflow's unwinding,
        // say, keeps the goroutine from the runtime meanwhile): this one
        // would only cut into it.
        if dying() {
            return;
        }
        let mut text = first;
        // SAFETY: Ms are never freed; the word is atomic.
        let tid = unsafe { (*mp).host_tid.load(Ordering::Relaxed) };
        let ask = tid != 0 && may_interrupt(tid);
        if tid != 0 && thread_blocked(tid) {
            text.push_str(
                "\t(its thread is blocked in the kernel: a blocking call not made through \
                 gort::syscall::blocking, or a std lock held by a goroutine that is parked)\n",
            );
        }
        text.push_str(
            "\t(make blocking calls through gort::syscall::blocking and yield in long loops; \
             GODEBUG=gortstall=<ms> sets this report's threshold, 0 turns it off)\n\n",
        );
        self.reports.retain(|h| !h.is_finished());
        let (m_addr, s_addr) = (mp as usize, s as *const Sched as usize);
        let spawned = runtime_m::os::spawn_runtime_thread("gort-stall", {
            move || {
                let mut text = text;
                let dump = ask
                    .then(|| {
                        // SAFETY: the M is never freed, and sysmon, which
                        // keeps the instance alive, waits for this thread
                        // (`finish`).
                        unsafe {
                            crate::traceback::running_goroutine_dump(
                                &*(s_addr as *const Sched),
                                m_addr as *const runtime_m::M,
                                goid,
                            )
                        }
                    })
                    .flatten();
                text.push_str(&dump.unwrap_or_else(|| {
                    format!(
                        "goroutine {goid} [running]:\n\tgoroutine running on other thread; \
                         stack unavailable\n"
                    )
                }));
                if !dying() {
                    runtime_g::throw::print(&text);
                }
            }
        });
        match spawned {
            Ok(h) => self.reports.push(h),
            // No thread for the frames (threads are exhausted): the
            // report without them.
            Err(_) => runtime_g::throw::print(&format!(
                "runtime: goroutine {goid} has run too long without a runtime call \
                 (no thread to print its frames)\n"
            )),
        }
    }

    /// Waits for the report threads.
    fn finish(&mut self) {
        for h in self.reports.drain(..) {
            let _ = h.join();
        }
    }
}

/// Whether a fatal error's report is being printed (the process is about
/// to exit).
fn dying() -> bool {
    runtime_g::throw::DYING.load(Ordering::Acquire) != 0
}

/// preemptone: port of runtime.preemptone (proc.go): asks the G running on
/// `pp` to yield at its next runtime call. As in Go, whatever the G's
/// status: a G in a system call that keeps its P (the safe mode's pinned
/// goroutines) honours the request in `exitsyscall`, and `execute` clears
/// a request that reaches a G after it parked.
pub(crate) fn preemptone(pp: &crate::p::P) -> bool {
    let mp = pp.m.load(Ordering::Acquire);
    if mp.is_null() || pp.status.load(Ordering::Acquire) == _Pidle {
        return false;
    }
    // SAFETY: Ms are never freed, and the Gs of sysmon's instance are not
    // freed before sysmon left it (teardown.rs); curg may change under us, which at
    // worst asks the wrong G to yield once (Go accepts the same race).
    unsafe {
        let gp = (*mp).curg.load(Ordering::Relaxed);
        if gp.is_null() {
            return false;
        }
        (*gp).preempt.store(true, Ordering::Release);
    }
    true
}

/// `schedtrace=X` and `scheddetail=1` from `GODEBUG` (Go's `debug`
/// variables): the period in milliseconds (0: off) and the detail flag.
pub fn godebug_schedtrace() -> (i64, bool) {
    let mut ms = 0i64;
    let mut detail = false;
    if let Ok(v) = std::env::var("GODEBUG") {
        for kv in v.split(',') {
            match kv.split_once('=') {
                Some(("schedtrace", x)) => ms = x.trim().parse().unwrap_or(0),
                Some(("scheddetail", x)) => detail = x.trim() == "1",
                _ => {}
            }
        }
    }
    (ms, detail)
}

/// schedtrace: port of runtime.schedtrace (proc.go): Go's `SCHED` line
/// (and with `detailed`, one line per P, M and G), on stderr.
pub fn schedtrace(s: &crate::sched::Sched, start: i64, now: i64, detailed: bool) {
    use std::fmt::Write as _;
    let mut out = String::new();
    let l = s.lock.lock();
    let _ = write!(
        out,
        "SCHED {}ms: gomaxprocs={} idleprocs={} threads={} spinningthreads={} needspinning={} idlethreads={} runqueue={}",
        (now - start) / 1_000_000,
        s.gomaxprocs(),
        s.npidle.load(Ordering::Relaxed),
        l.mcount,
        s.nmspinning.load(Ordering::Relaxed),
        s.needspinning.load(Ordering::Relaxed),
        l.nmidle,
        l.runq.size
    );
    if detailed {
        let _ = writeln!(
            out,
            " gcwaiting={} nmidlelocked={} stopwait={} sysmonwait={}",
            s.gcwaiting.load(Ordering::Relaxed),
            l.nmidlelocked,
            l.stopwait,
            s.sysmonwait.load(Ordering::Relaxed)
        );
    }
    let n = s.gomaxprocs();
    for (i, pp) in s.procs().enumerate() {
        let h = pp.runqhead.load(Ordering::Acquire);
        let t = pp.runqtail.load(Ordering::Acquire);
        if detailed {
            let mp = pp.m.load(Ordering::Acquire);
            // SAFETY: Ms are never freed; id is fixed.
            let m = unsafe { id_or_nil(mp, |m| m.id) };
            let _ = writeln!(
                out,
                "  P{i}: status={} schedtick={} syscalltick={} retakes={} m={m} runqsize={} timerslen={}",
                pp.status.load(Ordering::Relaxed),
                pp.schedtick.load(Ordering::Relaxed),
                pp.syscalltick.load(Ordering::Relaxed),
                pp.stats.retakes.load(Ordering::Relaxed),
                t.wrapping_sub(h),
                pp.timers.len()
            );
        } else {
            out.push(' ');
            if i == 0 {
                out.push_str("[ ");
            }
            let _ = write!(out, "{}", t.wrapping_sub(h));
            if i == n - 1 {
                out.push_str(" ]");
            }
        }
    }
    if !detailed {
        out.push_str(" schedticks=[ ");
        for pp in s.procs() {
            let _ = write!(out, "{} ", pp.schedtick.load(Ordering::Relaxed));
        }
        out.push(']');
        // gort's addition, only once it has happened (retake.rs).
        let retakes: u64 = s
            .procs_all()
            .map(|pp| pp.stats.retakes.load(Ordering::Relaxed))
            .sum();
        if retakes > 0 {
            let _ = write!(out, " retakes={retakes}");
        }
        out.push('\n');
    } else {
        crate::sched::for_each_m(s, |mp| {
            // SAFETY: Ms are never freed; fields are read for printing only
            // (Go reads them racily too).
            unsafe {
                let p = id_or_nil((*mp).p as *const crate::p::P, |p| p.id);
                let curg = id_or_nil((*mp).curg.load(Ordering::Relaxed), |g| g.goid);
                let lockedg = id_or_nil((*mp).lockedg as *const runtime_g::G, |g| g.goid);
                let _ = writeln!(
                    out,
                    "  M{}: p={p} curg={curg} locks={} spinning={} blocked={} lockedg={lockedg}",
                    (*mp).id,
                    (*mp).locks,
                    (*mp).spinning,
                    (*mp).blocked.load(Ordering::Relaxed)
                );
            }
        });
        crate::sched::for_each_g(s, |gp| {
            // SAFETY: the instance's Gs are freed only once it ended and
            // its Ms left (teardown.rs); read for printing.
            unsafe {
                if (*gp).goid == 0 || (*gp).system {
                    return;
                }
                let st = runtime_g::readgstatus(gp);
                let m = id_or_nil((*gp).m as *const runtime_m::M, |m| m.id);
                let lockedm = id_or_nil(
                    (*gp).lockedm.load(Ordering::Relaxed) as *const runtime_m::M,
                    |m| m.id,
                );
                let _ = writeln!(
                    out,
                    "  G{}: status={}({}) m={m} lockedm={lockedm}",
                    (*gp).goid,
                    st,
                    (*gp).waitreason.load().as_str(),
                );
            }
        });
    }
    drop(l);
    runtime_g::throw::print(&out);
}

/// How schedtrace shows a link: the id of what `p` points to, or `nil`.
///
/// # Safety
/// `p` is null or points to a live object (Ms are never freed; a running
/// instance's Ps and Gs are freed only once it ended and its Ms left).
unsafe fn id_or_nil<T, D: core::fmt::Display>(p: *const T, id: impl FnOnce(&T) -> D) -> String {
    if p.is_null() {
        "nil".to_string()
    } else {
        // SAFETY: the caller's contract.
        id(unsafe { &*p }).to_string()
    }
}

/// Marks `waitsince` of every waiting goroutine that has none yet (Go's
/// markroot does it during a GC), holding each with the scan bit so that
/// it cannot be readied meanwhile.
pub fn mark_waitsince(s: &Sched, now: i64) {
    crate::sched::for_each_g(s, |gp| {
        // SAFETY: Gs on the list live while their instance runs; the scan bit holds a
        // waiting G in place while we write.
        unsafe {
            if runtime_g::readgstatus(gp) != runtime_g::status::_Gwaiting
                || (*gp).waitsince.load(Ordering::Relaxed) != 0
            {
                return;
            }
            if runtime_g::status::castogscanstatus(gp, runtime_g::status::_Gwaiting) {
                if (*gp).waitsince.load(Ordering::Relaxed) == 0 {
                    (*gp).waitsince.store(now, Ordering::Relaxed);
                }
                runtime_g::status::casfrom_gscanstatus(gp, runtime_g::status::_Gwaiting);
            }
        }
    });
}

//! Runtime metrics: a snapshot of the scheduler's counts, in the spirit of
//! Go's `runtime/metrics` (`/sched/goroutines:goroutines`,
//! `/sched/gomaxprocs:threads`) and of the numbers `schedtrace` prints,
//! plus event counters Go keeps only inside its tracer.
//!
//! Reading is lock-free except for one short hold of `sched.lock` for the
//! M counts; the values are read one after another while the scheduler runs,
//! so they are a consistent picture only on a quiet runtime (Go's `SCHED`
//! lines have the same caveat).

use core::sync::atomic::Ordering;

use crate::sched::{Sched, gcount};
use runtime_g::G;

/// A snapshot of one runtime instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Goroutines that exist (`runtime.NumGoroutine`).
    pub goroutines: u64,
    /// Goroutines running on a P (`/sched/goroutines/running:goroutines`);
    /// at most GOMAXPROCS. A goroutine whose P sysmon took runs on without
    /// one (the migrating mode; see `threads_without_p`) and is not
    /// counted here, nor in any other state (it is in
    /// `threads_without_p`).
    pub goroutines_running: u64,
    /// Goroutines ready to run, in a run queue
    /// (`/sched/goroutines/runnable:goroutines`).
    pub goroutines_runnable: u64,
    /// Goroutines parked: on a channel, a lock, a timer, the network
    /// poller (`/sched/goroutines/waiting:goroutines`). The runtime's own
    /// goroutines are left out, as in `goroutines`.
    pub goroutines_waiting: u64,
    /// Goroutines in a system call or `syscall::blocking`, outside the
    /// scheduler's hands (`/sched/goroutines/not-in-go:goroutines`).
    pub goroutines_not_in_go: u64,
    /// Goroutines created since the runtime started, the main one
    /// included (`/sched/goroutines-created:goroutines`).
    pub goroutines_created: u64,
    /// OS threads (Ms) the runtime has started and not retired
    /// (`threads=` in `schedtrace`).
    pub threads: u64,
    /// Ms asleep with nothing to do (`idlethreads=`).
    pub idle_threads: u64,
    /// Ms looking for work (`spinningthreads=`).
    pub spinning_threads: u64,
    /// GOMAXPROCS.
    pub procs: u64,
    /// Ps with no M (`idleprocs=`).
    pub idle_procs: u64,
    /// Goroutines in the global run queue (`runqueue=`).
    pub global_runqueue: u64,
    /// Goroutines in each P's local run queue, `runnext` included.
    pub local_runqueues: Vec<u64>,
    /// Times a goroutine was started or resumed on a P (context switches
    /// into goroutines), summed over the Ps.
    pub context_switches: u64,
    /// Successful steals of run-queue work from another P.
    pub steals: u64,
    /// Goroutines parked (`gopark`).
    pub parks: u64,
    /// Timers in the Ps' heaps (`timerslen` in `scheddetail`).
    pub timers: u64,
    /// Times sysmon took a P from a goroutine that kept it without
    /// entering the runtime (a CPU loop, a raw blocking call); the
    /// goroutine went on without a P. No Go twin (Go preempts it).
    pub retakes: u64,
    /// Threads running a goroutine whose P sysmon took, which has not
    /// called gort since: they run beside the GOMAXPROCS threads that
    /// hold a P, as threads in system calls do in Go.
    pub threads_without_p: u64,
}

/// The metrics of instance `s`.
pub fn read_metrics(s: &Sched) -> Metrics {
    let (threads, idle_threads) = {
        let l = s.lock.lock();
        (l.mcount.max(0) as u64, l.nmidle.max(0) as u64)
    };
    let mut m = Metrics {
        goroutines: gcount(s) as u64,
        threads,
        idle_threads,
        spinning_threads: s.nmspinning.load(Ordering::Relaxed).max(0) as u64,
        procs: s.gomaxprocs() as u64,
        idle_procs: s.npidle.load(Ordering::Relaxed).max(0) as u64,
        global_runqueue: s.runqsize.load(Ordering::Relaxed).max(0) as u64,
        ..Metrics::default()
    };
    for pp in s.procs_all() {
        // Counters of Ps beyond GOMAXPROCS still count: they are history.
        m.context_switches += pp.stats.switches.load(Ordering::Relaxed);
        m.steals += pp.stats.steals.load(Ordering::Relaxed);
        m.parks += pp.stats.parks.load(Ordering::Relaxed);
        m.retakes += pp.stats.retakes.load(Ordering::Relaxed);
        m.goroutines_created += pp.stats.created.load(Ordering::Relaxed);
    }
    // Go counts the states from its per-state counters; here from a walk
    // of every goroutine's status. Only atomics are read: a goroutine's
    // plain fields (its id, its M) may be rewritten meanwhile. Goroutines
    // running without a P (retake.rs) are found from their Ms' side.
    let mut without_p: Vec<*mut G> = Vec::new();
    crate::sched::for_each_m(s, |mp| {
        // SAFETY: Ms are never freed; `retake` and `curg` are atomic.
        unsafe {
            if (*mp).retake.load(Ordering::Relaxed) == runtime_m::m::RETAKE_DONE {
                without_p.push((*mp).curg.load(Ordering::Relaxed));
            }
        }
    });
    crate::sched::for_each_g(s, |gp| {
        // SAFETY: Gs on the list are live; the status and the wait reason
        // are atomic.
        let (st, reason) = unsafe {
            (
                runtime_g::readgstatus(gp) & !runtime_g::status::_Gscan,
                (*gp).waitreason.load(),
            )
        };
        match st {
            // One whose P sysmon took runs on without a P until its next
            // runtime entry: it is in `threads_without_p`, not here, as Go
            // counts only goroutines on a P as running.
            runtime_g::status::_Grunning if without_p.contains(&gp) => {}
            runtime_g::status::_Grunning => m.goroutines_running += 1,
            runtime_g::status::_Grunnable => m.goroutines_runnable += 1,
            runtime_g::status::_Gsyscall => m.goroutines_not_in_go += 1,
            // The safe mode parks a goroutine in `syscall::blocking` while
            // a helper thread makes the call: Go's not-in-go.
            runtime_g::status::_Gwaiting if reason == runtime_g::WaitReason::Syscall => {
                m.goroutines_not_in_go += 1
            }
            runtime_g::status::_Gwaiting | runtime_g::status::_Gpreempted => {
                m.goroutines_waiting += 1
            }
            _ => {}
        }
    });
    // The runtime's own goroutines (the timer reaper) are not the
    // program's, as `goroutines` leaves them out: they spend their time
    // parked, so they come off the waiting count.
    let sys = s.ngsys.load(Ordering::Relaxed).max(0) as u64;
    m.goroutines_waiting = m.goroutines_waiting.saturating_sub(sys);
    crate::sched::for_each_m(s, |mp| {
        // SAFETY: Ms are never freed; `retake` is atomic.
        if unsafe { (*mp).retake.load(Ordering::Relaxed) } == runtime_m::m::RETAKE_DONE {
            m.threads_without_p += 1;
        }
    });
    for pp in s.procs() {
        let h = pp.runqhead.load(Ordering::Acquire);
        let t = pp.runqtail.load(Ordering::Acquire);
        let next = !pp.runnext.load(Ordering::Acquire).is_null();
        m.local_runqueues
            .push(t.wrapping_sub(h).min(crate::p::RUNQ_SIZE) as u64 + next as u64);
        m.timers += pp.timers.len() as u64;
    }
    m
}

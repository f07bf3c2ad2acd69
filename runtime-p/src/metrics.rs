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

/// A snapshot of one runtime instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Goroutines that exist (`runtime.NumGoroutine`).
    pub goroutines: u64,
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
    }
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

//! Exhaustive exploration: breadth-first over every interleaving of the
//! processes and every register outcome of each `rfork`, with states
//! interned (encoded bytes in a bump arena, keys of a hash map), so the
//! first violation found comes with a shortest trace.

use bumpalo::Bump;
use hashbrown::HashMap;

use crate::machine::{
    Field, Ins, JUNK, Line, MAXPROC, MSTART, NREG, OWN_STACK_SP, Proc, Reg, RegSemantics, Src,
    State, Val, g0, m, name, pid, priv_sp, private, shared, stk,
};
use crate::protocols::{Protocol, initial_shared, parent_sp, program};

/// Result of an exploration.
#[derive(Debug)]
pub enum Verdict {
    /// Every reachable state keeps the invariant.
    Safe { states: usize },
    /// A reachable violation, with the steps that lead to it (shortest).
    Violation {
        states: usize,
        trace: Vec<String>,
        what: String,
    },
}

impl Verdict {
    pub fn states(&self) -> usize {
        match self {
            Verdict::Safe { states } | Verdict::Violation { states, .. } => *states,
        }
    }
}

struct Node {
    state: State,
    parent: u32,
    step: String,
}

/// The successors of `s` when process `i` takes one step: each with a
/// description, or `Err` with the violation it commits.
fn step(
    prog: &[Line],
    proto: Protocol,
    regs: RegSemantics,
    s: &State,
    i: usize,
) -> Result<Vec<(State, String)>, String> {
    let p = s.procs[i];
    let line = prog[p.pc as usize];
    let who = if p.pid == 1 {
        "parent".to_string()
    } else {
        format!("child{} (pid {})", p.for_m, p.pid)
    };
    let mut n = *s;
    let me = &mut n.procs[i];
    me.pc += 1;
    let desc = |what: String| format!("{who:<16} {what:<44} | {}", line.note);
    let src = |me: &Proc, x: Src| match x {
        Src::Const(v) => v,
        Src::Reg(r) => me.regs[r as usize],
    };
    match line.ins {
        Ins::StoreShared(a, x) => {
            let v = src(me, x);
            n.shared[a as usize] = v;
            Ok(vec![(
                n,
                desc(format!("shared[{}] = {}", shared_name(a), name(v))),
            )])
        }
        Ins::StorePrivate(a, x) => {
            let v = src(me, x);
            me.private[a as usize] = v;
            Ok(vec![(
                n,
                desc(format!("own private[{}] = {}", private_name(a), name(v))),
            )])
        }
        Ins::LoadShared(r, a) => {
            let v = n.shared[a as usize];
            n.procs[i].regs[r as usize] = v;
            Ok(vec![(
                n,
                desc(format!(
                    "{} = shared[{}] -> {}",
                    r.name(),
                    shared_name(a),
                    name(v)
                )),
            )])
        }
        Ins::LoadPrivate(r, a) => {
            let v = me.private[a as usize];
            me.regs[r as usize] = v;
            Ok(vec![(
                n,
                desc(format!(
                    "{} = own private[{}] -> {}",
                    r.name(),
                    private_name(a),
                    name(v)
                )),
            )])
        }
        Ins::LoadField(dst, obj, f) => {
            let o = me.regs[obj as usize];
            let Some(k) = m_index(o) else {
                return Err(format!("{who} dereferences {} as an M", name(o)));
            };
            let v = n.shared[field_addr(f, k) as usize];
            n.procs[i].regs[dst as usize] = v;
            Ok(vec![(
                n,
                desc(format!(
                    "{} = {}.{:?} -> {}",
                    dst.name(),
                    name(o),
                    f,
                    name(v)
                )),
            )])
        }
        Ins::StoreField(obj, f, x) => {
            let o = me.regs[obj as usize];
            let v = me.regs[x as usize];
            let Some(k) = m_index(o) else {
                return Err(format!("{who} writes through {} as an M", name(o)));
            };
            n.shared[field_addr(f, k) as usize] = v;
            Ok(vec![(
                n,
                desc(format!("{}.{:?} = {}", name(o), f, name(v))),
            )])
        }
        Ins::G0StackFromSp(g) => {
            let gv = me.regs[g as usize];
            let Some(k) = g0_index(gv) else {
                return Err(format!("{who} treats {} as a g0", name(gv)));
            };
            // SP is a virtual address; in the private segment it names the
            // segment of the process that runs this instruction.
            let hi = if me.sp == OWN_STACK_SP {
                priv_sp(me.pid)
            } else {
                me.sp
            };
            n.shared[shared::g0_stack_hi(k) as usize] = hi;
            Ok(vec![(
                n,
                desc(format!("{}.stack.hi = SP = {}", name(gv), name(hi))),
            )])
        }
        Ins::LoadG0StackHi(dst, g) => {
            let gv = me.regs[g as usize];
            let Some(k) = g0_index(gv) else {
                return Err(format!("{who} treats {} as a g0", name(gv)));
            };
            let v = n.shared[shared::g0_stack_hi(k) as usize];
            n.procs[i].regs[dst as usize] = v;
            Ok(vec![(
                n,
                desc(format!(
                    "{} = {}.stack.hi -> {}",
                    dst.name(),
                    name(gv),
                    name(v)
                )),
            )])
        }
        Ins::SetSp(r) => {
            me.sp = me.regs[r as usize];
            let v = me.sp;
            Ok(vec![(n, desc(format!("SP = {} = {}", r.name(), name(v))))])
        }
        Ins::SetTlsG(r) => {
            me.tls_g = me.regs[r as usize];
            let v = me.tls_g;
            Ok(vec![(n, desc(format!("TLS g = {}", name(v))))])
        }
        Ins::JzChild(t) => {
            let child = me.regs[Reg::Ax as usize] == 0;
            if child {
                me.pc = t as u8;
            }
            let what = if child {
                "AX == 0: child path"
            } else {
                "AX != 0: parent path"
            };
            Ok(vec![(n, desc(what.into()))])
        }
        Ins::Halt => {
            me.halted = true;
            Ok(vec![(n, desc("done".into()))])
        }
        Ins::Rfork => {
            let parent = *me;
            let slot = n
                .procs
                .iter()
                .position(|p| !p.live)
                .expect("process table full");
            n.forks += 1;
            let child_pid = slot as u8 + 1;
            let for_m = n.forks;
            n.procs[i].regs[Reg::Ax as usize] = pid(child_pid);
            // The child: a copy of the private segment (copy-on-write), the
            // same SP, AX = 0, and registers per the kernel's semantics.
            let mut child = Proc {
                live: true,
                halted: false,
                pid: child_pid,
                for_m,
                pc: parent.pc,
                regs: parent.regs,
                sp: parent.sp,
                tls_g: parent.tls_g,
                private: parent.private,
            };
            child.regs[Reg::Ax as usize] = 0;
            child.private[private::TOS_PID as usize] = pid(child_pid);
            let mut out = Vec::new();
            let clobberable: Vec<usize> = (1..NREG).collect();
            let outcomes: u32 = match regs {
                RegSemantics::Preserved386 => 1,
                RegSemantics::NoPromiseAmd64 => 1 << clobberable.len(),
            };
            for mask in 0..outcomes {
                let mut c = child;
                let mut lost = Vec::new();
                for (b, &r) in clobberable.iter().enumerate() {
                    if mask & (1 << b) != 0 {
                        c.regs[r] = JUNK;
                        lost.push(REGS[r].name());
                    }
                }
                let mut ns = n;
                ns.procs[slot] = c;
                let regs_note = if lost.is_empty() {
                    String::new()
                } else {
                    format!("; child's {} clobbered", lost.join(","))
                };
                out.push((
                    ns,
                    desc(format!(
                        "rfork -> child{for_m} (pid {child_pid}){regs_note}"
                    )),
                ));
            }
            Ok(out)
        }
        Ins::Mstart { m: mr, g: gr, func } => {
            let k = me.for_m;
            let (mv, gv) = (me.regs[mr as usize], me.regs[gr as usize]);
            let mut bad = Vec::new();
            if mv != m(k) {
                bad.push(format!("m = {} (created for M{k})", name(mv)));
            }
            if gv != g0(k) {
                bad.push(format!("g = {} (want g0(M{k}))", name(gv)));
            }
            if let Some(f) = func {
                let fv = me.regs[f as usize];
                if fv != MSTART {
                    bad.push(format!("calls {} instead of mstart", name(fv)));
                }
            }
            let procid_check = |bad: &mut Vec<String>| {
                let procid = n.shared[shared::m_procid(k) as usize];
                if procid != pid(me.pid) {
                    bad.push(format!(
                        "M{k}.procid = {} (want pid {})",
                        name(procid),
                        me.pid
                    ));
                }
            };
            match proto {
                Protocol::New => {
                    let hi = n.shared[shared::g0_stack_hi(k) as usize];
                    if hi != priv_sp(me.pid) {
                        bad.push(format!(
                            "g0(M{k}).stack is {} (want its own private stack)",
                            name(hi)
                        ));
                    }
                    if me.sp != OWN_STACK_SP {
                        bad.push(format!("SP = {}", name(me.sp)));
                    }
                    procid_check(&mut bad);
                }
                // The counterfactual runs on a shared stack by construction,
                // so the stack checks would fire without any race: left out,
                // so that what is caught (and printed) is the race itself.
                Protocol::NewOnGoroutineStack => procid_check(&mut bad),
                Protocol::NewHeapG0 => {
                    if me.sp != stk(k) {
                        bad.push(format!(
                            "runs on {} (want stk{k}, M{k}'s own g0 stack)",
                            name(me.sp)
                        ));
                    }
                    procid_check(&mut bad);
                }
                _ => {
                    if me.sp != stk(k) {
                        bad.push(format!(
                            "runs on {} (want stk{k}, M{k}'s own g0 stack)",
                            name(me.sp)
                        ));
                    }
                }
            }
            if me.tls_g != g0(k) {
                bad.push(format!("TLS g = {}", name(me.tls_g)));
            }
            if !bad.is_empty() {
                return Err(format!(
                    "child{k} (pid {}) enters mstart wrongly: {}",
                    me.pid,
                    bad.join("; ")
                ));
            }
            me.halted = true;
            Ok(vec![(n, desc(format!("mstart(M{k}) on its own g0: ok")))])
        }
    }
}

const REGS: [Reg; NREG] = [Reg::Ax, Reg::Bx, Reg::Cx, Reg::Dx, Reg::Si];

fn m_index(v: Val) -> Option<u8> {
    (v == m(1) || v == m(2)).then(|| v - m(0))
}

fn g0_index(v: Val) -> Option<u8> {
    (v == g0(1) || v == g0(2)).then(|| v - g0(0))
}

fn field_addr(f: Field, k: u8) -> u8 {
    match f {
        Field::MG0 => shared::m_g0(k),
        Field::MProcid => shared::m_procid(k),
    }
}

fn shared_name(a: u8) -> String {
    match a {
        shared::FRAME_STK => "frame.stack".into(),
        shared::FRAME_MM => "frame.mm".into(),
        shared::FRAME_GG => "frame.gg".into(),
        shared::FRAME_FN => "frame.fn".into(),
        _ => format!("{a}"),
    }
}

fn private_name(a: u8) -> &'static str {
    match a {
        private::FRAME_MP => "frame.mp",
        private::TOS_PID => "_tos.pid",
        _ => "?",
    }
}

/// The state the program starts in: the parent about to run `newosproc`.
pub fn initial(proto: Protocol) -> State {
    let mut parent = Proc {
        live: true,
        pid: 1,
        sp: parent_sp(proto),
        ..Default::default()
    };
    parent.private[private::TOS_PID as usize] = pid(1);
    let mut procs = [Proc::default(); MAXPROC];
    procs[0] = parent;
    State {
        shared: initial_shared(proto),
        procs,
        forks: 0,
    }
}

/// A class of violation (`--all`): the kinds of wrongness a child enters
/// `mstart` with, how many violating steps fall in it, and the shortest
/// trace to one of them.
#[derive(Debug)]
pub struct ViolationClass {
    pub class: String,
    pub count: usize,
    pub what: String,
    pub trace: Vec<String>,
}

/// The class of a violation's text: each of its items reduced to its kind
/// (which M or which stack it got wrong does not matter), sorted.
fn classify(what: &str) -> String {
    let items = what.split(": ").nth(1).unwrap_or(what);
    let mut kinds: Vec<&str> = items
        .split("; ")
        .map(|it| {
            if it.starts_with("m = ") {
                "wrong M"
            } else if it.starts_with("g = ") {
                "wrong g0"
            } else if it.starts_with("calls ") {
                "wrong function"
            } else if it.starts_with("runs on ") {
                "another M's stack"
            } else if it.contains(".stack is ") {
                "g0 stack not its own segment"
            } else if it.starts_with("SP = ") {
                "SP outside its private segment"
            } else if it.contains(".procid = ") {
                "wrong procid"
            } else if it.starts_with("TLS g = ") {
                "wrong TLS g"
            } else if it.contains(" as an M") || it.contains(" as a g0") {
                "junk pointer dereferenced"
            } else {
                "other"
            }
        })
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    kinds.join(" + ")
}

/// Explores every reachable state of `proto` under `regs`, listing every
/// class of violation (with the shortest trace of each) instead of
/// stopping at the first. Returns the states explored and the classes,
/// in the order they were first reached.
pub fn explore_all(proto: Protocol, regs: RegSemantics) -> (usize, Vec<ViolationClass>) {
    let mut classes: Vec<ViolationClass> = Vec::new();
    let states = run(proto, regs, &mut |what, trace| {
        let class = classify(&what);
        match classes.iter_mut().find(|c| c.class == class) {
            Some(c) => c.count += 1,
            None => classes.push(ViolationClass {
                class,
                count: 1,
                what,
                trace: trace(),
            }),
        }
        true
    });
    (states, classes)
}

/// Explores every reachable state of `proto` under `regs`.
pub fn explore(proto: Protocol, regs: RegSemantics) -> Verdict {
    let mut first = None;
    let states = run(proto, regs, &mut |what, trace| {
        first = Some((what, trace()));
        false
    });
    match first {
        Some((what, trace)) => Verdict::Violation {
            states,
            trace,
            what,
        },
        None => Verdict::Safe { states },
    }
}

/// What the search calls at each violating step: its text and a builder
/// of its shortest trace; the search goes on while it returns true.
type OnViolation<'a> = dyn FnMut(String, &dyn Fn() -> Vec<String>) -> bool + 'a;

/// The breadth-first search. `on_violation(what, trace)` is called for
/// each violating step (`trace` builds its shortest trace); the search
/// goes on while it returns true. Returns the states explored.
fn run(proto: Protocol, regs: RegSemantics, on_violation: &mut OnViolation<'_>) -> usize {
    let prog = program(proto);
    let arena = Bump::new();
    let mut seen: HashMap<&[u8], u32> = HashMap::new();
    let mut nodes: Vec<Node> = Vec::new();
    let mut buf = Vec::new();
    let start = initial(proto);
    start.encode(&mut buf);
    seen.insert(arena.alloc_slice_copy(&buf), 0);
    nodes.push(Node {
        state: start,
        parent: u32::MAX,
        step: String::new(),
    });
    let mut next = 0;
    while next < nodes.len() {
        let s = nodes[next].state;
        for i in 0..MAXPROC {
            let p = s.procs[i];
            if !p.live || p.halted {
                continue;
            }
            match step(&prog, proto, regs, &s, i) {
                Ok(succs) => {
                    for (ns, desc) in succs {
                        ns.encode(&mut buf);
                        if seen.contains_key(buf.as_slice()) {
                            continue;
                        }
                        let id = nodes.len() as u32;
                        seen.insert(arena.alloc_slice_copy(&buf), id);
                        nodes.push(Node {
                            state: ns,
                            parent: next as u32,
                            step: desc,
                        });
                    }
                }
                Err(what) => {
                    let trace = || {
                        let mut trace =
                            vec![format!("{} -> VIOLATION", violating_step(&prog, &s, i))];
                        let mut at = next as u32;
                        while at != 0 {
                            trace.push(nodes[at as usize].step.clone());
                            at = nodes[at as usize].parent;
                        }
                        trace.reverse();
                        trace
                    };
                    if !on_violation(what, &trace) {
                        return nodes.len();
                    }
                }
            }
        }
        next += 1;
    }
    nodes.len()
}

fn violating_step(prog: &[Line], s: &State, i: usize) -> String {
    let p = s.procs[i];
    format!(
        "child{} (pid {})  {}",
        p.for_m, p.pid, prog[p.pc as usize].note
    )
}

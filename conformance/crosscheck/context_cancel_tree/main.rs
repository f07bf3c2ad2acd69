//! Cross-check: cancelling a node of a context tree ends exactly its
//! subtree, synchronously; causes travel down; a parent's earlier
//! deadline wins; after_func runs once the context ends and stop then
//! reports false.

use std::sync::Arc;
use std::time::Duration;

use gort::context::{self, Context, background, cause};

fn fmt_err(e: Option<context::Error>) -> String {
    e.map_or("<nil>".into(), |e| e.to_string())
}

fn fmt_cause(c: Option<context::Cause>) -> String {
    c.map_or("<nil>".into(), |c| c.to_string())
}

pub fn main() {
    crate::run(0, || {
        let (root, cancel_root) = context::with_cancel(&background());
        let (a, cancel_a) = context::with_cancel(&root);
        let (b, cancel_b) = context::with_timeout(&a, Duration::from_secs(3600));
        let c = context::with_value(&b, "k".to_string(), Some("v"));
        let (d, cancel_d) = context::with_cancel_cause(&root);
        let (e, cancel_e) = context::with_cancel(&d);
        let show = |when: &str| {
            println!("{when}");
            for (name, ctx) in [("root", &root), ("a", &a), ("b", &b), ("c", &c), ("d", &d), ("e", &e)] {
                println!("  {name}: err={} cause={}", fmt_err(ctx.err()), fmt_cause(cause(ctx)));
            }
        };
        println!("{root} {a}");
        show("before");
        let ran: gort::Chan<&'static str> = gort::Chan::new(1);
        let r = ran.clone();
        let stop = context::after_func(&c, move || r.send("afterfunc ran"));
        cancel_a.cancel();
        show("after cancel(a)");
        println!("{}", ran.recv().unwrap());
        println!("stop after it ran: {}", stop.stop());
        println!(
            "value through the cancelled chain: {}",
            c.value::<String, &str>(&"k".to_string()).unwrap()
        );
        cancel_d.cancel(Some(Arc::new(std::io::Error::other("shutdown"))));
        show("after cancel(d, shutdown)");
        cancel_root.cancel();
        show("after cancel(root)");

        let (p, cancel_p) = context::with_timeout(&background(), Duration::from_millis(20));
        let (q, cancel_q) = context::with_timeout(&p, Duration::from_secs(3600));
        println!(
            "child keeps the parent's earlier deadline: {}",
            p.deadline() == q.deadline()
        );
        q.done().recv();
        println!(
            "q: {} / {} / p: {}",
            fmt_err(q.err()),
            fmt_cause(cause(&q)),
            fmt_err(p.err())
        );
        let w: Context = context::without_cancel(&q);
        println!("without cancel: {} {}", fmt_err(w.err()), w.done().is_nil());

        let (s, cancel_s) = context::with_timeout_cause(
            &background(),
            Duration::from_millis(1),
            Some(Arc::new(std::io::Error::other("too slow"))),
        );
        s.done().recv();
        println!("s: {} / {}", fmt_err(s.err()), fmt_cause(cause(&s)));
        for f in [cancel_b, cancel_e, cancel_p, cancel_q, cancel_s] {
            f.cancel();
        }
    })
}

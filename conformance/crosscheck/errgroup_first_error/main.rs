//! Cross-check: an errgroup's wait returns the first error; that error
//! cancels the group's context (its cause), and the others see it; a
//! limit of 2 keeps at most two functions running; a weighted semaphore
//! serves a large request before later small ones.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use gort::context::{self, Cause, background};
use gort::sync::errgroup::Group;
use gort::sync::semaphore::Weighted;
use gort::time::sleep;

fn err(msg: String) -> Cause {
    Arc::new(std::io::Error::other(msg))
}

fn show(r: Result<(), impl std::fmt::Display>) -> String {
    match r {
        Ok(()) => "<nil>".into(),
        Err(e) => e.to_string(),
    }
}

pub fn main() {
    crate::run(0, || {
        let (g, ctx) = Group::<Cause>::with_context(&background());
        let first: gort::Chan<()> = gort::Chan::new(0);
        let f = first.clone();
        g.go(move || {
            f.close();
            Err(err("part 1 failed".into()))
        });
        let (f, c) = (first.clone(), ctx.clone());
        g.go(move || {
            f.recv();
            c.done().recv();
            Err(err(format!("part 2 saw: {}", context::cause(&c).unwrap())))
        });
        println!("wait: {}", show(g.wait()));
        println!(
            "ctx: {} / {}",
            ctx.err().unwrap(),
            context::cause(&ctx).unwrap()
        );

        let g2: Group = Group::new();
        g2.set_limit(Some(2));
        let active = Arc::new(AtomicI32::new(0));
        let most = Arc::new(AtomicI32::new(0));
        for _ in 0..20 {
            let (active, most) = (active.clone(), most.clone());
            g2.go(move || {
                let n = active.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(n, Ordering::SeqCst);
                sleep(Duration::from_millis(1));
                active.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            });
        }
        let w = show(g2.wait());
        println!("limited wait: {w} most at once: {}", most.load(Ordering::SeqCst));
        println!("try after wait: {}", g2.try_go(|| Ok(())));
        g2.wait().unwrap();

        let sem = Arc::new(Weighted::new(3));
        sem.acquire(&background(), 2).unwrap();
        let order: gort::Chan<&'static str> = gort::Chan::new(2);
        {
            let (sem, order) = (sem.clone(), order.clone());
            gort::go(move || {
                sem.acquire(&background(), 3).unwrap();
                order.send("large");
                sem.release(3);
            });
        }
        while sem.try_acquire(1) {
            sem.release(1);
            sleep(Duration::from_millis(1));
        }
        {
            let (sem, order) = (sem.clone(), order.clone());
            gort::go(move || {
                sem.acquire(&background(), 1).unwrap();
                order.send("small");
                sem.release(1);
            });
        }
        sleep(Duration::from_millis(10));
        sem.release(2);
        let a = order.recv().unwrap();
        println!("first served: {a} then: {}", order.recv().unwrap());
        let (tctx, cancel) = context::with_timeout(&background(), Duration::from_millis(5));
        sem.acquire(&background(), 3).unwrap();
        println!("acquire with timeout: {}", show(sem.acquire(&tctx, 1)));
        cancel.cancel();
    })
}

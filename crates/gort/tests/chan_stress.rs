//! Channel stress: 16 producers and 16 consumers move 10,000,000 values
//! through a buffered channel, an unbuffered one, and a pair of channels
//! driven by `select!` on both sides; the sum and the count of what arrives
//! must be exact. Release-only (`cargo test --release -p gort --test
//! chan_stress -- --ignored`, run by scripts/test.sh).

use std::sync::Arc;
use std::time::Instant;

use gort::{Chan, select};
use runtime_p::countdown::Countdown;

const PRODUCERS: u64 = 16;
const CONSUMERS: usize = 16;
const VALUES: u64 = 10_000_000;

#[derive(Clone, Copy, Debug)]
enum Mode {
    Buffered,
    Unbuffered,
    Select,
}

fn expected_sum() -> u64 {
    // Values are 1..=VALUES, each sent once.
    VALUES * (VALUES + 1) / 2
}

fn run(mode: Mode) {
    let start = Instant::now();
    let cap = match mode {
        Mode::Buffered => 128,
        Mode::Unbuffered | Mode::Select => 0,
    };
    let a: Chan<u64> = Chan::new(cap);
    let b: Chan<u64> = Chan::new(cap);
    let results: Chan<(u64, u64)> = Chan::new(CONSUMERS);
    let producers = Arc::new(Countdown::new(PRODUCERS as usize));
    let per = VALUES / PRODUCERS;
    for p in 0..PRODUCERS {
        let (a, b, wg) = (a.clone(), b.clone(), producers.clone());
        gort::go(move || {
            let lo = p * per + 1;
            let hi = if p == PRODUCERS - 1 {
                VALUES
            } else {
                lo + per - 1
            };
            for v in lo..=hi {
                match mode {
                    Mode::Buffered | Mode::Unbuffered => a.send(v),
                    Mode::Select => select! {
                        send(a, v) => {}
                        send(b, v) => {}
                    },
                }
            }
            wg.done();
        });
    }
    for _ in 0..CONSUMERS {
        let (a, b, results) = (a.clone(), b.clone(), results.clone());
        gort::go(move || {
            let (mut sum, mut n) = (0u64, 0u64);
            match mode {
                Mode::Buffered | Mode::Unbuffered => {
                    for v in &a {
                        sum += v;
                        n += 1;
                    }
                }
                Mode::Select => {
                    let (mut a, mut b) = (a, b);
                    while !(a.is_nil() && b.is_nil()) {
                        select! {
                            recv(a) -> v => match v {
                                Some(v) => { sum += v; n += 1; }
                                None => a = Chan::nil(),
                            },
                            recv(b) -> v => match v {
                                Some(v) => { sum += v; n += 1; }
                                None => b = Chan::nil(),
                            },
                        }
                    }
                }
            }
            results.send((sum, n));
        });
    }
    producers.wait();
    a.close();
    b.close();
    let (mut sum, mut n) = (0u64, 0u64);
    for _ in 0..CONSUMERS {
        let (s, k) = results.recv().unwrap();
        sum += s;
        n += k;
    }
    assert_eq!(n, VALUES, "{mode:?}: count");
    assert_eq!(sum, expected_sum(), "{mode:?}: checksum");
    eprintln!(
        "{mode:?}: {VALUES} values in {:.2?} ({:.0} ns/value)",
        start.elapsed(),
        start.elapsed().as_nanos() as f64 / VALUES as f64
    );
}

#[gort::test]
#[ignore = "release-only stress test; run by scripts/test.sh"]
fn stress_buffered() {
    run(Mode::Buffered);
}

#[gort::test]
#[ignore = "release-only stress test; run by scripts/test.sh"]
fn stress_unbuffered() {
    run(Mode::Unbuffered);
}

#[gort::test]
#[ignore = "release-only stress test; run by scripts/test.sh"]
fn stress_select() {
    run(Mode::Select);
}

//! `trace-svg TRACE.json OUT.svg [WINDOW_US] [TITLE]`: draws where the
//! goroutines of a gort trace (`GORT_TRACE`) ran, a lane per thread, and
//! prints per goroutine the threads and Ps it ran on (Markdown).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: trace-svg TRACE.json OUT.svg [WINDOW_US] [TITLE]");
        std::process::exit(2);
    }
    let text = std::fs::read_to_string(&args[0]).unwrap_or_else(|e| {
        eprintln!("trace-svg: {}: {e}", args[0]);
        std::process::exit(1)
    });
    let runs = gort_bench::placement::runs(&text).unwrap_or_else(|e| {
        eprintln!("trace-svg: {}: {e}", args[0]);
        std::process::exit(1)
    });
    let window = match args.get(2).map(|w| w.parse::<f64>()) {
        None => 2_000.0,
        Some(Ok(w)) if w > 0.0 => w,
        Some(_) => {
            eprintln!("trace-svg: WINDOW_US must be a positive number of microseconds");
            std::process::exit(2);
        }
    };
    let title = args.get(3).cloned().unwrap_or_else(|| args[0].clone());
    let svg = gort_bench::placement::svg(&runs, &title, window);
    std::fs::write(&args[1], svg).unwrap_or_else(|e| {
        eprintln!("trace-svg: {}: {e}", args[1]);
        std::process::exit(1)
    });
    print!("{}", gort_bench::placement::summary_table(&runs));
}

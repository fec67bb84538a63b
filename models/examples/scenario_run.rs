//! Runs one teaching scenario (`ARGS: <name> [seed] [trace]`) and prints the checker's verdict,
//! the metrics and, with `trace`, every trace event as a JSON line.

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "acks0-lost".to_owned());
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let show_trace = args.next().is_some();
    let config = match models::scenarios::build(&name) {
        Ok(c) => c,
        Err(e) => {
            println!("{e}");
            return;
        }
    };
    let trace = if show_trace {
        sim::Trace::with_sink(Box::new(sim::trace::JsonLinesSink::new(std::io::stdout())))
    } else {
        sim::Trace::off()
    };
    let mut config = config;
    if let Ok(max) = std::env::var("MAX_EVENTS") {
        config.run.max_events = max.parse().expect("MAX_EVENTS is a number");
    }
    let result = models::world::run(&config, seed, trace);
    println!("{:?}", result.checker);
    for (name, value) in &result.metrics {
        println!("{name:28} {value}");
    }
    println!(
        "events {} virtual_time_ns {} warnings {:?}",
        result.events, result.virtual_time_ns, result.warnings
    );
}

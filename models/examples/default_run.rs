//! Runs the default experiment once (or `ARGS: <virtual seconds> <seed>`) and prints the
//! metrics; used to measure the world's speed with `time`.

fn main() {
    let mut args = std::env::args().skip(1);
    let secs: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(60.0);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let mut config = models::world::default_config();
    config.run.duration_ms = secs * 1000.0;
    // For measurements only: request.timeout.ms sets the brokers' purgatory deadlines; with one
    // re-armable purgatory timer per broker it no longer changes the event queue's size, and it
    // does not change a fault-free run.
    if let Some(ms) = std::env::var("REQUEST_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config.producer.request_timeout_ms = ms;
    }
    let result = models::world::run(&config, seed, sim::Trace::off());
    for (name, value) in &result.metrics {
        println!("{name:28} {value}");
    }
    println!(
        "events {} virtual_time_ns {} warnings {:?}",
        result.events, result.virtual_time_ns, result.warnings
    );
}

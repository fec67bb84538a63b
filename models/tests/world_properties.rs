//! Property: any small world, with random producer settings and random response loss, ends with
//! every record accounted for, nothing left unfinished, and the guarantees its settings promise.

use models::batching::config::{Acks, ProducerConfig};
use models::cluster::config::DistConfig;
use models::producer::workload::{Arrivals, Keys, ValueBytes};
use models::world::{default_config, run};
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Case {
    acks: Acks,
    idempotence: bool,
    max_in_flight: u32,
    linger_ms: u64,
    batch_size: u32,
    per_sec: f64,
    value_bytes: u32,
    loss_ppm: u32,
    seed: u64,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop_oneof![Just(Acks::Zero), Just(Acks::One), Just(Acks::All)],
        any::<bool>(),
        1u32..=5,
        0u64..=20,
        prop_oneof![Just(1u32), Just(1024), Just(16_384)],
        500.0f64..5_000.0,
        1u32..2_000,
        0u32..30_000,
        any::<u64>(),
    )
        .prop_map(
            |(
                acks,
                idempotence,
                max_in_flight,
                linger_ms,
                batch_size,
                per_sec,
                value_bytes,
                loss_ppm,
                seed,
            )| Case {
                acks,
                idempotence: idempotence && acks == Acks::All,
                max_in_flight,
                linger_ms,
                batch_size,
                per_sec,
                value_bytes,
                loss_ppm,
                seed,
            },
        )
}

fn producer(c: &Case) -> ProducerConfig {
    ProducerConfig {
        acks: c.acks,
        enable_idempotence: c.idempotence,
        max_in_flight_requests_per_connection: c.max_in_flight,
        linger_ms: c.linger_ms,
        batch_size: c.batch_size,
        request_timeout_ms: 200,
        delivery_timeout_ms: 120_000,
        ..ProducerConfig::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64), ..ProptestConfig::default() })]

    #[test]
    fn every_record_is_accounted_for_and_guarantees_hold(c in case()) {
        let mut config = default_config();
        config.producer = producer(&c);
        config.workload.arrivals = Arrivals::Poisson { per_sec: c.per_sec };
        config.workload.keys = Keys::Uniform { count: 5 };
        config.workload.value_bytes = ValueBytes::Constant(c.value_bytes);
        config.workload.records = 150;
        config.run.duration_ms = 0.0;
        config.network.latency = DistConfig::Lognormal { median_ms: 0.5, sigma: 0.5 };
        // Responses only: a request lost while a later one on the same connection arrives is
        // something TCP never does, and with it a new producer's later batch can land first and
        // be re-sent after a KIP-360 epoch bump (a duplicate the real client would make too).
        config.network.response_loss = f64::from(c.loss_ppm) / 1e6;
        let r = run(&config, c.seed, sim::Trace::off());
        let k = &r.checker;
        prop_assert!(r.warnings.iter().all(|w| !w.contains("did not start") && !w.contains("stopped in phase")), "{:?}", r.warnings);
        prop_assert_eq!(k.sent, 150);
        prop_assert_eq!(k.unfinished_absent + k.unfinished_present, 0, "the drain phase finishes every send: {:?}", k);
        prop_assert_eq!(r.metric("records_sent"), Some(150.0));
        if c.acks == Acks::All {
            prop_assert_eq!(k.acked_lost, 0, "{:?}", k);
        }
        if c.idempotence {
            prop_assert_eq!(k.duplicated, 0, "{:?}", k);
            prop_assert_eq!(k.reordered, 0, "{:?}", k);
        }
        if c.max_in_flight == 1 {
            prop_assert_eq!(k.reordered, 0, "{:?}", k);
        }
        if c.loss_ppm == 0 {
            prop_assert_eq!(k.delivered_once, 150, "no faults, every record once: {:?}", k);
        }
    }
}

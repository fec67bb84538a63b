//! The simulated Kafka world: the producer's main thread and sender driving the real batching
//! core, the network, replicated brokers with a controller, faults, and the delivery checker.
//!
//! The batching core lives in its own crate (`batching`, re-exported here as
//! [`batching`]) so the compiler enforces that it never imports the engine.

pub use batching;

pub mod checker;
pub mod cluster;
pub mod faults;
pub mod network;
pub mod producer;
pub mod protocol;
pub mod scenarios;
pub mod txn_checker;
pub mod world;

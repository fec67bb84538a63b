//! The simulated Kafka world: the producer's main thread and sender driving the real batching
//! core, the network, replicated brokers with a controller, faults, and the delivery checker.
//!
//! The batching core lives in its own crate (`batching`, re-exported here as
//! [`batching`]) so the compiler enforces that it never imports the engine.

pub use batching;

pub mod protocol;
pub mod producer;
pub mod scenarios;
pub mod world;
pub mod network;
pub mod cluster;
pub mod faults;
pub mod checker;

//! The real Kafka producer batching core, sans-IO.
//!
//! This crate makes the same decisions as the Apache Kafka Java producer's
//! `clients/.../producer/internals` (record accumulator, buffer pool, built-in partitioner,
//! idempotent sequencing) and its `ProducerConfig` validation. It uses `std` only: it never
//! imports the engine, an RNG crate or a clock. Time comes in as a value, randomness comes in
//! through a caller-supplied source, and every call that can make something ready later says
//! when to look again.

#![deny(missing_docs)]

pub mod config;

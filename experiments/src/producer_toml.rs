//! Reads a `[producer]` TOML table into the batching core's producer config.

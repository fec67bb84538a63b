//! Experiment files, sweeps, the runner and result files behind the `linger` command line.

pub mod producer_toml;

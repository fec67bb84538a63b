//! Experiment files, sweeps, the runner and result files behind the `linger` command line.

pub mod allowed;
pub mod catalog;
pub mod crosscheck;
pub mod error;
pub mod fuzz;
pub mod guarantee;
pub mod hunt;
pub mod journal;
pub mod lock;
pub mod perf_test;
pub mod producer_toml;
pub mod progress_line;
pub mod reference;
pub mod results;
pub mod runner;
pub mod scheduler;
pub mod spec;
pub mod stats;
pub mod summary;
pub mod sweep;
pub mod tune;
pub mod world;

//! tgload's harness: runs a scenario against a Telegram bot through mock-telegram and measures it, and compares
//! two runs.
//!
//! `run::run` is the whole of `tgload run`, `compare::run` the whole of `tgload compare`. The pure parts (scenario
//! parsing, schedules, the collector, SLO judging, the summary, the comparison's verdicts) know nothing of
//! processes or sockets; `driver` (goose users), `bot`, `sampler`, `services`, `control` and `rundir` do the I/O,
//! and `run` ties them together in one event loop.

pub mod ab;
pub mod answers;
pub mod bot;
pub mod capacity;
pub mod ci;
pub mod collector;
pub mod compare;
pub mod control;
pub mod degradation;
pub mod driver;
pub mod duration;
pub mod error;
pub mod generator;
pub mod history;
pub mod journey;
pub mod junit;
pub mod leak;
pub mod limits;
pub mod link;
pub mod merge;
pub mod meta;
pub mod metrics;
pub mod progress;
pub mod recovery;
pub mod repeats;
pub mod report;
pub mod run;
pub mod rundir;
pub mod sampler;
pub mod scenario;
pub mod schedule;
pub mod services;
pub mod shard;
pub mod shift;
pub mod signals;
pub mod slo;
pub mod steps;
pub mod summary;
pub mod supervise;
pub mod timer;

pub use error::Error;
pub use run::{run, Finished, Options};

/// The cores this process may use: what the generator's CPU verdict measures against.
pub fn machine_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

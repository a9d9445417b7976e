//! tgload's harness: runs a scenario against a Telegram bot through mock-telegram and measures it.
//!
//! `run::run` is the whole of `tgload run`. The pure parts (scenario parsing, schedules, the collector, SLO
//! judging, the summary) know nothing of processes or sockets; `driver` (goose users), `bot`, `sampler`,
//! `services`, `control` and `rundir` do the I/O, and `run` ties them together in one event loop.

pub mod bot;
pub mod collector;
pub mod control;
pub mod driver;
pub mod duration;
pub mod error;
pub mod meta;
pub mod progress;
pub mod run;
pub mod rundir;
pub mod sampler;
pub mod scenario;
pub mod schedule;
pub mod services;
pub mod slo;
pub mod summary;
pub mod timer;

pub use error::Error;
pub use run::{run, Finished, Options};

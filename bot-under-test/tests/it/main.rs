//! End-to-end tests of the bot under test: the real mock-telegram over loopback, the real external API mock,
//! and the bot either in-process (through `run`) or as the built binary (for exit codes, signals and RSS).
//!
//! Timing assertions are lower bounds only (a fault that adds N ms must show at least N ms), never upper bounds,
//! so a loaded machine cannot make them fail.

mod binary;
mod external;
mod faults;
mod handlers;
mod support;
mod webhook;

//! The crate's single integration-test binary: one module per area, each starting the real server on 127.0.0.1:0.

mod api;
mod cli;
mod compat;
mod control_fuzz;
mod fuzz;
mod kinds;
mod spec;
mod support;

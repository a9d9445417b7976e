//! mock-telegram: the Telegram Bot API, faithful enough that real bots run on it unmodified, plus a control API
//! through which synthetic users act and the load generator reads what happened.
//!
//! Start with `Server::new`, register tokens with `Server::add_bot`, and run `serve` on a bound listener, or call
//! `app` to get the router for in-process tests. It never talks to the real Telegram.

mod bot;
mod chats;
mod clock;
pub mod control;
mod delivery;
pub mod error;
pub mod faults;
mod files;
pub mod flood;
mod ledger;
mod methods;
pub mod params;
mod server;
pub mod spec;
mod stats;
mod updates;
pub mod wire;

pub use bot::{Bot, Mode};
pub use clock::now_us;
pub use ledger::Timings;
pub use server::{app, serve, Config, Error, Server};

//! The signals that stop a run in order: SIGINT (a terminal's Ctrl-C), SIGTERM (CI runners, Kubernetes,
//! `timeout`) and SIGHUP (a closed terminal). Each stops the load, stops the bot and completes the directory with
//! status `interrupted`; the exit code is the shell's 128 + the signal's number, so a caller can tell which.

use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::error::Error;

/// Which signal interrupted the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interruption {
    Interrupt,
    Terminate,
    Hangup,
}

impl Interruption {
    /// The signal's name, as `events.jsonl` records it.
    pub fn name(self) -> &'static str {
        match self {
            Interruption::Interrupt => "SIGINT",
            Interruption::Terminate => "SIGTERM",
            Interruption::Hangup => "SIGHUP",
        }
    }

    /// 128 + the signal's number: 130, 143, 129.
    pub fn exit_code(self) -> u8 {
        match self {
            Interruption::Interrupt => 130,
            Interruption::Terminate => 143,
            Interruption::Hangup => 129,
        }
    }

    pub fn from_name(name: &str) -> Option<Interruption> {
        [Interruption::Interrupt, Interruption::Terminate, Interruption::Hangup].into_iter().find(|i| i.name() == name)
    }
}

/// Listens for all three from creation on: a signal that arrives is handled, never the default (death).
pub struct Signals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl Signals {
    pub fn listen() -> Result<Signals, Error> {
        let listen = |kind: SignalKind| signal(kind).map_err(Error::io("listen for signals"));
        Ok(Signals {
            interrupt: listen(SignalKind::interrupt())?,
            terminate: listen(SignalKind::terminate())?,
            hangup: listen(SignalKind::hangup())?,
        })
    }

    /// Waits for the next of them.
    pub async fn recv(&mut self) -> Interruption {
        tokio::select! {
            _ = self.interrupt.recv() => Interruption::Interrupt,
            _ = self.terminate.recv() => Interruption::Terminate,
            _ = self.hangup.recv() => Interruption::Hangup,
        }
    }
}

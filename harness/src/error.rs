//! The harness's one error type. Each variant carries the context a user needs to act on it; `main` maps
//! them to exit codes (a bad scenario or flag is bad usage, everything else a harness error).

use std::path::PathBuf;

/// The exit code of a run that could not be ready by its `--start-at`.
pub const START_MISSED_EXIT: u8 = 97;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A scenario file that does not parse or validate, located down to line, column and field.
    #[error("{}:{line}:{column}: {field}: {message}", path.display())]
    Scenario { path: PathBuf, line: usize, column: usize, field: String, message: String },
    #[error("cannot read scenario {}: {source}", path.display())]
    ReadScenario { path: PathBuf, source: std::io::Error },
    /// A command-line value that makes no sense (the parser accepted its shape).
    #[error("{0}")]
    Usage(String),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("mock-telegram: {0}")]
    Mock(String),
    #[error("control api: {0}")]
    Control(String),
    #[error("bot: {0}")]
    Bot(String),
    #[error("load generator: {0}")]
    Load(String),
    #[error("interrupted by {} before the load started", .0.name())]
    Interrupted(crate::signals::Interruption),
    /// `--start-at` came, or was too near, before this generator was ready to start the load (exit code 97).
    #[error("--start-at: {0}")]
    StartMissed(String),
}

impl Error {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }

    /// The exit code of a command that failed with this: 128 + the signal for an interruption, 97 for a missed
    /// `--start-at`, 2 for bad usage or input, 1 for anything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Interrupted(by) => by.exit_code(),
            Error::StartMissed(_) => START_MISSED_EXIT,
            e if e.is_usage() => 2,
            _ => 1,
        }
    }

    /// True when the user got the input wrong (exit code 2) rather than the run failing (exit code 1).
    pub fn is_usage(&self) -> bool {
        matches!(self, Error::Scenario { .. } | Error::ReadScenario { .. } | Error::Usage(_))
    }
}

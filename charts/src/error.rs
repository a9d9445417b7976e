//! The crate's one error type. Every variant names the file it is about, because the person reading the error
//! has a run directory in front of them and needs to know which file to open.

use std::io;
use std::path::{Path, PathBuf};

/// Everything that can go wrong while reading a run directory or writing its charts.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file exists but could not be read.
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    /// A file does not follow the run-directory format; `line` counts from 1.
    #[error("malformed {path} at line {line}: {reason}")]
    Malformed { path: PathBuf, line: usize, reason: String },
    /// A chart could not be drawn (a plotters or font failure, not a data problem).
    #[error("cannot draw {path}: {reason}")]
    Draw { path: PathBuf, reason: String },
    /// A chart file or its folder could not be written.
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

impl Error {
    /// A parse error about the file `name` (as the run-directory contract names it) at `line`.
    pub(crate) fn malformed(name: &str, line: usize, reason: impl Into<String>) -> Error {
        Error::Malformed { path: PathBuf::from(name), line, reason: reason.into() }
    }

    /// Parsers only know the file's name; the loader knows its folder and completes the path with this.
    /// The same error, naming the file `name` (a rotated part of a log) instead of the base name.
    pub(crate) fn named(self, name: &str) -> Error {
        match self {
            Error::Malformed { line, reason, .. } => Error::Malformed { path: PathBuf::from(name), line, reason },
            other => other,
        }
    }

    pub(crate) fn in_dir(self, dir: &Path) -> Error {
        match self {
            Error::Malformed { path, line, reason } if path.is_relative() => {
                Error::Malformed { path: dir.join(path), line, reason }
            }
            other => other,
        }
    }
}

/// A JSON error's message without serde_json's "at line L column C" suffix: the line is reported by `Malformed`
/// itself, and in events.jsonl serde_json's line would count within the one line being parsed.
pub(crate) fn json_reason(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(m, _)| m);
    format!("{message} (column {})", error.column())
}

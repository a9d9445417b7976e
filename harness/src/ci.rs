//! The outputs CI systems read, written once a command is done: the JUnit file `--junit FILE` asks for (built by
//! `junit`), and the Markdown report appended to the file `GITHUB_STEP_SUMMARY` names, which GitHub Actions shows
//! on the job's page. This is the I/O; what goes in them is decided elsewhere.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::error::Error;
use crate::junit::{self, Stamp, Suite};

/// The variable GitHub Actions sets to the step's summary file.
pub const STEP_SUMMARY_VAR: &str = "GITHUB_STEP_SUMMARY";

/// Where a command's CI outputs go.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    /// `--junit FILE`.
    pub junit: Option<PathBuf>,
    /// `$GITHUB_STEP_SUMMARY`, when set and not empty.
    pub step_summary: Option<PathBuf>,
}

impl Outputs {
    /// The JUnit file asked for, and the step summary from the environment.
    pub fn new(junit: Option<PathBuf>) -> Outputs {
        let step_summary = std::env::var_os(STEP_SUMMARY_VAR).filter(|v| !v.is_empty()).map(PathBuf::from);
        Outputs { junit, step_summary }
    }

    /// Writes both: `suites` is only built when a JUnit file is asked for. Both are tried; the first failure is
    /// returned.
    pub fn write(&self, markdown: &str, suites: impl FnOnce() -> Vec<Suite>) -> Result<(), Error> {
        let summary = self.step_summary.as_deref().map(|path| append_step_summary(path, markdown));
        let junit = self.junit.as_deref().map(|path| write_junit(path, &suites()));
        summary.transpose().and(junit.transpose()).map(|_| ())
    }

    /// For a command that failed before it judged anything: a JUnit file with one case in error, so that CI
    /// shows the failure rather than a missing file. The step summary gets nothing (the error is on stderr).
    pub fn write_error(&self, command: &str, error: &dyn std::fmt::Display) -> Result<(), Error> {
        match &self.junit {
            Some(path) => write_junit(path, &[junit::error_suite(command, &error.to_string())]),
            None => Ok(()),
        }
    }
}

/// Writes the JUnit document to `path` (through `path.tmp`, then renamed).
pub fn write_junit(path: &Path, suites: &[Suite]) -> Result<(), Error> {
    let stamp = Stamp { timestamp: utc_stamp(SystemTime::now()), hostname: hostname() };
    let text = junit::render(suites, &stamp).map_err(Error::io(format!("render junit {}", path.display())))?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(Error::io(format!("create {}", parent.display())))?;
    }
    crate::rundir::write_atomic(path, text.as_bytes())
}

/// Appends `markdown` to the step summary file, with a blank line before it so that a second report starts a
/// block of its own.
pub fn append_step_summary(path: &Path, markdown: &str) -> Result<(), Error> {
    let context = || format!("append to {STEP_SUMMARY_VAR} file {}", path.display());
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(Error::io(context()))?;
    let text = format!("\n{}\n", markdown.trim_end());
    file.write_all(text.as_bytes()).map_err(Error::io(context()))
}

/// UTC without its zone, as the Ant schema wants it: `2026-11-24T21:38:00`.
fn utc_stamp(t: SystemTime) -> String {
    crate::meta::rfc3339(t).trim_end_matches('Z').to_string()
}

fn hostname() -> String {
    sysinfo::System::host_name().filter(|h| !h.trim().is_empty()).unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_step_summary_is_appended_not_replaced() {
        let path = std::env::temp_dir().join(format!("tgload-step-summary-{}.md", std::process::id()));
        std::fs::write(&path, "# earlier step\n").unwrap();
        append_step_summary(&path, "# tgload run: smoke\n\n**Verdict: PASS**\n\n").unwrap();
        append_step_summary(&path, "# second").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "# earlier step\n\n# tgload run: smoke\n\n**Verdict: PASS**\n\n# second\n");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn an_unwritable_junit_path_is_an_error_naming_it() {
        let dir = std::env::temp_dir().join(format!("tgload-junit-blocked-{}", std::process::id()));
        std::fs::write(&dir, "a file, not a directory").unwrap();
        let path = dir.join("junit.xml");
        let error = write_junit(&path, &[]).unwrap_err().to_string();
        assert!(error.contains(&dir.display().to_string()), "{error}");
        let _ = std::fs::remove_file(&dir);
    }

    #[test]
    fn the_timestamp_has_no_zone() {
        assert_eq!(
            utc_stamp(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000)),
            "2023-11-14T22:13:20"
        );
    }
}

//! Loads a run directory: the files the charts read, parsed, plus the names a chart shows for the run. Every input
//! is optional, because a run stopped early may lack some; a file that exists but is malformed is an error.

use std::fs;
use std::io;
use std::path::Path;

use serde_json::Value;

use crate::error::json_reason;
use crate::events::{self, Event};
use crate::hlog::{self, Latency};
use crate::resources::{self, Resources};
use crate::series::{self, Timeseries};
use crate::Error;

/// How many hex digits of a commit a legend shows.
const SHORT_COMMIT: usize = 7;

/// One run directory as the charts see it.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// The directory's last path component, e.g. `2025-06-01T12-00-00-load-1k`.
    pub name: String,
    /// What a chart title says about the run: scenario, status and verdict from `summary.json`, else the name.
    pub title: String,
    /// The short commit from `meta.json`, when the run recorded one.
    pub commit: Option<String>,
    pub timeseries: Timeseries,
    pub events: Vec<Event>,
    pub latency: Latency,
    /// The bot's and the harness's memory and CPU samples.
    pub resources: Resources,
    /// `summary.json` as written, for the HTML report's verdict and figures; `None` before it exists.
    pub summary: Option<Value>,
}

impl Run {
    /// Reads and parses every file the charts use. Missing files give empty data. A repeats directory (`r1/`,
    /// `r2/`, ... and no `timeseries.csv` of its own) reads as its first run, with every run's latency merged.
    pub fn load(dir: &Path) -> Result<Run, Error> {
        let repeats = repeats(dir);
        if repeats.is_empty() || dir.join(series::FILE).is_file() {
            return Run::load_one(dir);
        }
        let mut run = Run::load_one(&repeats[0])?;
        for other in &repeats[1..] {
            let loaded = Run::load_one(other)?;
            let parts =
                [(&mut run.latency.e2e, loaded.latency.e2e), (&mut run.latency.service, loaded.latency.service)];
            for (total, part) in parts {
                match (total.as_mut(), part) {
                    (Some(total), Some(part)) => total.add(&part).map_err(|e| Error::Malformed {
                        path: other.join(hlog::FILE),
                        line: 1,
                        reason: format!("histogram cannot be merged with the first run's: {e:?}"),
                    })?,
                    (None, part) => *total = part,
                    (Some(_), None) => {}
                }
            }
        }
        run.name = dir.file_name().map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned());
        run.title = format!("{} ({} runs)", run.title, repeats.len());
        Ok(run)
    }

    fn load_one(dir: &Path) -> Result<Run, Error> {
        if !dir.is_dir() {
            return Err(Error::Read {
                path: dir.to_path_buf(),
                source: io::Error::new(io::ErrorKind::NotFound, "not a run directory"),
            });
        }
        let name = dir.file_name().map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned());
        let parse_in_dir = |e: Error| e.in_dir(dir);
        let timeseries = match read_optional(dir, series::FILE)? {
            Some(text) => Timeseries::from_csv(&text).map_err(parse_in_dir)?,
            None => Timeseries::default(),
        };
        let events = match read_optional(dir, events::FILE)? {
            Some(text) => Event::from_jsonl(&text).map_err(parse_in_dir)?,
            None => Vec::new(),
        };
        let resources = match read_optional(dir, resources::FILE)? {
            Some(text) => Resources::from_csv(&text).map_err(parse_in_dir)?,
            None => Resources::default(),
        };
        let mut latency = Latency::default();
        for part in hlog::parts(dir) {
            let name = part.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if let Some(text) = read_optional(dir, &name)? {
                latency.add_hlog(&text).map_err(|e| e.named(&name)).map_err(parse_in_dir)?;
            }
        }
        let summary = read_json(dir, "summary.json")?;
        let meta = read_json(dir, "meta.json")?;
        Ok(Run {
            title: summary.as_ref().and_then(title).unwrap_or_else(|| name.clone()),
            commit: meta.as_ref().and_then(short_commit),
            name,
            timeseries,
            events,
            latency,
            resources,
            summary,
        })
    }

    /// How a comparison's legend names this run: its short commit, else its directory name.
    pub fn label(&self) -> &str {
        self.commit.as_deref().unwrap_or(&self.name)
    }
}

/// The runs of a repeats directory (`r1/`, `r2/`, ... each with a `summary.json`), in order; empty for a run
/// directory.
pub fn repeats(dir: &Path) -> Vec<std::path::PathBuf> {
    (1..).map(|k| dir.join(format!("r{k}"))).take_while(|d| d.join("summary.json").is_file()).collect()
}

/// `load-1k · completed · pass`, from whichever of the three fields are there.
fn title(summary: &Value) -> Option<String> {
    let parts: Vec<String> = [("scenario", ""), ("status", ""), ("verdict", "verdict ")]
        .iter()
        .filter_map(|(field, prefix)| Some(format!("{prefix}{}", summary.get(*field)?.as_str()?)))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" \u{b7} "))
}

fn short_commit(meta: &Value) -> Option<String> {
    let commit = meta.get("commit")?.as_str()?.trim();
    (!commit.is_empty()).then(|| commit.chars().take(SHORT_COMMIT).collect())
}

fn read_optional(dir: &Path, name: &str) -> Result<Option<String>, Error> {
    let path = dir.join(name);
    match fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Read { path, source }),
    }
}

/// A whole-file JSON document; an empty file counts as missing, since the harness may not have written it yet.
fn read_json(dir: &Path, name: &str) -> Result<Option<Value>, Error> {
    let Some(text) = read_optional(dir, name)? else {
        return Ok(None);
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(&text).map(Some).map_err(|e| Error::Malformed {
        path: dir.join(name),
        line: e.line(),
        reason: json_reason(&e),
    })
}

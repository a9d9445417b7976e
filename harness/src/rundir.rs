//! The run directory (`docs/run-directory.md`): its files and how they are written. Streams (`events.jsonl`,
//! `timeseries.csv`, `resources.csv`, `latency.hlog`) are appended and flushed a line at a time, and the latency
//! log starts a new file every hour (`latency.1.hlog`, ...) so that no file of a 72-hour run grows past a few MB;
//! whole files are written to `*.tmp` and renamed, so a run stopped at any point leaves a readable directory.
//! Nothing here decides what to write.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::Histogram;

use crate::collector::ErrorCounts;
use crate::error::Error;
use crate::sampler::Usage;

pub const TIMESERIES_HEADER: &str = charts::series::HEADER;
pub const RESOURCES_HEADER: &str = charts::resources::HEADER;
/// Seconds of latency intervals in one file of the log.
const LATENCY_PART_S: u64 = 3600;

pub struct RunDir {
    path: PathBuf,
    /// The load's start (unix µs), once known: event times and latency intervals count from it.
    t0_us: Option<u64>,
    /// Events that happened before the load's start was known, with their unix µs.
    early_events: Vec<(u64, String, serde_json::Value)>,
    events: BufWriter<File>,
    timeseries: BufWriter<File>,
    resources: BufWriter<File>,
    latency: BufWriter<File>,
    /// Which hour's file `latency` writes, and the load's start that each file's header gives.
    latency_part: u64,
    t0: Option<SystemTime>,
    serializer: V2DeflateSerializer,
}

/// One row of `timeseries.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Row<'a> {
    pub t_s: u64,
    pub phase: &'a str,
    pub active_users: usize,
    pub sent: u64,
    pub answered: u64,
    pub errors: u64,
    pub errors_by: ErrorCounts,
    /// That second's e2e p50/p95/p99 in ms; `None` when nothing was answered.
    pub percentiles_ms: Option<[f64; 3]>,
    /// The bot's RSS in MB (10^6 bytes) and CPU (100 = one core); `None` without a sample.
    pub bot: Option<(f64, f64)>,
}

impl RunDir {
    /// Creates `dir` (which must not hold a previous run) and opens its streams.
    pub fn create(dir: &Path) -> Result<RunDir, Error> {
        if dir.join("summary.json").exists() {
            return Err(Error::Usage(format!("{} already holds a run; choose another --out", dir.display())));
        }
        std::fs::create_dir_all(dir).map_err(Error::io(format!("create {}", dir.display())))?;
        let open = |name: &str| -> Result<BufWriter<File>, Error> {
            let path = dir.join(name);
            File::create(&path).map(BufWriter::new).map_err(Error::io(format!("create {}", path.display())))
        };
        let mut run = RunDir {
            path: dir.to_path_buf(),
            t0_us: None,
            early_events: Vec::new(),
            events: open("events.jsonl")?,
            timeseries: open("timeseries.csv")?,
            resources: open("resources.csv")?,
            latency: open(charts::hlog::FILE)?,
            latency_part: 0,
            t0: None,
            serializer: V2DeflateSerializer::new(),
        };
        writeln!(run.timeseries, "{TIMESERIES_HEADER}")
            .and_then(|_| run.timeseries.flush())
            .map_err(run.err("timeseries.csv"))?;
        writeln!(run.resources, "{RESOURCES_HEADER}")
            .and_then(|_| run.resources.flush())
            .map_err(run.err("resources.csv"))?;
        Ok(run)
    }

    /// The load starts at `t0`: the latency log's base time, and time zero of every `t_s`. Events
    /// recorded before are written now, with negative times.
    pub fn begin_load(&mut self, t0: SystemTime) -> Result<(), Error> {
        self.t0_us = Some(unix_us(t0));
        self.t0 = Some(t0);
        self.latency_header()?;
        self.flush_early_events()
    }

    /// The header of the current latency log file: every part counts its intervals from the load's start.
    fn latency_header(&mut self) -> Result<(), Error> {
        let name = charts::hlog::part_name(self.latency_part as usize);
        let t0 = self.t0.unwrap_or(SystemTime::UNIX_EPOCH);
        IntervalLogWriterBuilder::new()
            .add_comment("tgload latency log: values in microseconds; tags e2e (due -> answer), service (send -> answer), queue (mock queue wait)")
            .with_start_time(t0)
            .with_base_time(t0)
            .begin_log_with(&mut self.latency, &mut self.serializer)
            .map_err(Error::io(format!("write {}", self.path.join(&name).display())))?;
        self.latency.flush().map_err(self.err(&name))
    }

    /// Moves the latency log on to the file of the hour holding second `index`, if it is not there yet.
    fn rotate_latency(&mut self, index: u64) -> Result<(), Error> {
        let part = index / LATENCY_PART_S;
        if part <= self.latency_part {
            return Ok(());
        }
        self.latency.flush().map_err(self.err(&charts::hlog::part_name(self.latency_part as usize)))?;
        self.latency_part = part;
        let path = self.path.join(charts::hlog::part_name(part as usize));
        self.latency =
            File::create(&path).map(BufWriter::new).map_err(Error::io(format!("create {}", path.display())))?;
        self.latency_header()
    }

    /// Writes events still waiting for the load's start, counting from the first of them (a run that
    /// never started its load).
    pub fn flush_early_events(&mut self) -> Result<(), Error> {
        let base = self.t0_us.or(self.early_events.first().map(|e| e.0)).unwrap_or(0);
        for (at, kind, fields) in std::mem::take(&mut self.early_events) {
            let t_s = (at as f64 - base as f64) / 1e6;
            self.write_event(t_s, &kind, fields)?;
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, name: &str) -> impl FnOnce(std::io::Error) -> Error {
        Error::io(format!("write {}", self.path.join(name).display()))
    }

    /// Records an event that happened at `at_us` (unix µs) in `events.jsonl`: `{"t_s", "kind", ...fields}`.
    pub fn event(&mut self, at_us: u64, kind: &str, fields: serde_json::Value) -> Result<(), Error> {
        match self.t0_us {
            Some(t0) => self.write_event((at_us as f64 - t0 as f64) / 1e6, kind, fields),
            None => {
                self.early_events.push((at_us, kind.to_string(), fields));
                Ok(())
            }
        }
    }

    fn write_event(&mut self, t_s: f64, kind: &str, fields: serde_json::Value) -> Result<(), Error> {
        // `t_s` and `kind` first, for people reading the file; serde_json's maps would sort them.
        let mut line = format!(
            "{{\"t_s\":{},\"kind\":{}",
            serde_json::json!((t_s * 1000.0).round() / 1000.0),
            serde_json::json!(kind)
        );
        if let serde_json::Value::Object(fields) = fields {
            for (key, value) in fields {
                line.push_str(&format!(",{}:{value}", serde_json::json!(key)));
            }
        }
        line.push('}');
        writeln!(self.events, "{line}").and_then(|_| self.events.flush()).map_err(self.err("events.jsonl"))
    }

    pub fn row(&mut self, row: &Row<'_>) -> Result<(), Error> {
        let line = format_row(row);
        writeln!(self.timeseries, "{line}").and_then(|_| self.timeseries.flush()).map_err(self.err("timeseries.csv"))
    }

    /// Appends one resource sample, `t_s` seconds after the load's start, to `resources.csv`.
    pub fn resources(&mut self, t_s: f64, bot: Option<Usage>, harness: Usage) -> Result<(), Error> {
        let mb = |u: &Usage| u.rss_bytes as f64 / 1e6;
        let bot = bot.map_or(",".to_string(), |b| format!("{:.3},{:.1}", mb(&b), b.cpu_pct));
        writeln!(self.resources, "{t_s:.3},{bot},{:.3},{:.1}", mb(&harness), harness.cpu_pct)
            .and_then(|_| self.resources.flush())
            .map_err(self.err("resources.csv"))
    }

    /// Appends one second's histograms, tagged, to the latency log (the file of that second's hour).
    pub fn latency(&mut self, index: u64, tagged: &[(&str, &Histogram<u64>)]) -> Result<(), Error> {
        self.rotate_latency(index)?;
        let name = charts::hlog::part_name(self.latency_part as usize);
        let context = format!("write {}", self.path.join(&name).display());
        let mut writer = IntervalLogWriterBuilder::new()
            .begin_log_with(&mut self.latency, &mut self.serializer)
            .map_err(Error::io(context.clone()))?;
        for (tag, histogram) in tagged {
            writer
                .write_histogram(histogram, Duration::from_secs(index), Duration::from_secs(1), Tag::new(tag))
                .map_err(|e| Error::Io { context: context.clone(), source: std::io::Error::other(e.to_string()) })?;
        }
        self.latency.flush().map_err(self.err(&name))
    }

    /// Writes a whole file atomically (`name.tmp`, then rename).
    pub fn write_file(&self, name: &str, contents: &[u8]) -> Result<(), Error> {
        write_atomic(&self.path.join(name), contents)
    }
}

pub fn unix_us(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension(format!("{}.tmp", path.extension().and_then(|e| e.to_str()).unwrap_or("")));
    std::fs::write(&tmp, contents).map_err(Error::io(format!("write {}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(Error::io(format!("rename {}", tmp.display())))
}

fn format_row(row: &Row<'_>) -> String {
    let [p50, p95, p99] = match row.percentiles_ms {
        Some(p) => p.map(|v| format!("{v:.3}")),
        None => [String::new(), String::new(), String::new()],
    };
    let (rss, cpu) = match row.bot {
        Some((rss, cpu)) => (format!("{rss:.3}"), format!("{cpu:.1}")),
        None => (String::new(), String::new()),
    };
    let phase = row.phase.replace([',', '\n', '"'], " ");
    let e = &row.errors_by;
    format!(
        "{},{phase},{},{},{},{},{p50},{p95},{p99},{rss},{cpu},{},{},{},{},{},{}",
        row.t_s,
        row.active_users,
        row.sent,
        row.answered,
        row.errors,
        e.timeout,
        e.bot_api_error,
        e.bot_crashed,
        e.sent_late,
        e.transport,
        e.wrong_answer
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    use hdrhistogram::serialization::Deserializer;

    fn check_row(row: Row<'_>, expected: &str) {
        assert_eq!(format_row(&row), expected);
        assert_eq!(expected.split(',').count(), TIMESERIES_HEADER.split(',').count());
    }

    #[test]
    fn rows_follow_the_header() {
        let full = Row {
            t_s: 3,
            phase: "hold",
            active_users: 10,
            sent: 5,
            answered: 4,
            errors: 1,
            errors_by: ErrorCounts { timeout: 1, ..ErrorCounts::default() },
            percentiles_ms: Some([1.5, 20.25, 99.0]),
            bot: Some((52.4288, 12.34)),
        };
        check_row(full.clone(), "3,hold,10,5,4,1,1.500,20.250,99.000,52.429,12.3,1,0,0,0,0,0");
        check_row(Row { percentiles_ms: None, bot: None, phase: "a,b", ..full }, "3,a b,10,5,4,1,,,,,,1,0,0,0,0,0");
    }

    #[test]
    fn writes_a_readable_directory() {
        let dir = std::env::temp_dir().join(format!("tgload-rundir-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut run = RunDir::create(&dir).unwrap();
        run.event(unix_us(t0) - 1_500_000, "bot_started", serde_json::json!({})).unwrap();
        run.begin_load(t0).unwrap();
        run.event(unix_us(t0), "phase", serde_json::json!({"label": "hold"})).unwrap();
        let mut h = crate::collector::histogram();
        h.record(1500).unwrap();
        run.latency(0, &[("e2e", &h), ("service", &h)]).unwrap();
        run.latency(1, &[("e2e", &h)]).unwrap();
        run.write_file("summary.json", b"{}").unwrap();
        let events = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
        assert_eq!(
            events,
            "{\"t_s\":-1.5,\"kind\":\"bot_started\"}\n{\"t_s\":0.0,\"kind\":\"phase\",\"label\":\"hold\"}\n"
        );
        let log = std::fs::read(dir.join("latency.hlog")).unwrap();
        let mut intervals = Vec::new();
        for entry in IntervalLogIterator::new(&log) {
            if let LogEntry::Interval(i) = entry.unwrap() {
                let bytes = base64_decode(i.encoded_histogram());
                let h: Histogram<u64> = Deserializer::new().deserialize(&mut bytes.as_slice()).unwrap();
                intervals.push((i.tag().map(|t| t.as_str().to_string()), i.start_timestamp().as_secs(), h.len()));
            }
        }
        assert_eq!(
            intervals,
            vec![(Some("e2e".into()), 0, 1), (Some("service".into()), 0, 1), (Some("e2e".into()), 1, 1)]
        );
        assert!(String::from_utf8_lossy(&log).contains("#[BaseTime: 1700000000.000"));
        assert!(RunDir::create(&dir).is_err(), "a finished run is never overwritten");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_latency_log_starts_a_file_each_hour_and_readers_follow_them() {
        let dir = std::env::temp_dir().join(format!("tgload-rundir-rotate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut run = RunDir::create(&dir).unwrap();
        run.begin_load(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)).unwrap();
        let mut h = crate::collector::histogram();
        h.record(2_000).unwrap();
        for index in [0, 3599, 3600, 7300] {
            run.latency(index, &[("e2e", &h)]).unwrap();
        }
        let parts = charts::hlog::parts(&dir);
        let names: Vec<String> = parts.iter().map(|p| p.file_name().unwrap().to_string_lossy().into()).collect();
        assert_eq!(names, ["latency.hlog", "latency.1.hlog", "latency.2.hlog"]);
        let mut seen = Vec::new();
        for part in &parts {
            let text = std::fs::read_to_string(part).unwrap();
            charts::hlog::for_each_interval(&text, |tag, start_s, h| {
                seen.push((tag.to_string(), start_s, h.len()));
                Ok(())
            })
            .unwrap();
        }
        let expected: Vec<(String, u64, u64)> = [0, 3599, 3600, 7300].map(|s| ("e2e".to_string(), s, 1)).into();
        assert_eq!(seen, expected, "every part counts from the load's start");
        let merged = charts::Run::load(&dir).unwrap().latency.e2e.unwrap();
        assert_eq!(merged.len(), 4);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Standard base64, enough for the test (the crate's own base64 is not re-exported).
    fn base64_decode(text: &str) -> Vec<u8> {
        let value = |c: u8| match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            _ => 63,
        };
        let bytes: Vec<u8> = text.bytes().filter(|c| *c != b'=').map(value).collect();
        bytes
            .chunks(4)
            .flat_map(|c| {
                let n = c.iter().enumerate().fold(0u32, |n, (i, v)| n | (u32::from(*v) << (18 - 6 * i)));
                [(n >> 16) as u8, (n >> 8) as u8, n as u8].into_iter().take(c.len() - 1)
            })
            .collect()
    }
}

//! Hand-made run directories for the tests: a small one whose every number is known, and a two-minute one shaped
//! like a real load test (ramp, hold, a stall, a restart) for the rendering tests and for looking at the charts.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::{Serializer, V2DeflateSerializer, V2Serializer};
use hdrhistogram::Histogram;

/// The original 11-column header; the current one adds the error categories (see `parse.rs`).
pub const HEADER: &str = charts::series::HEADER_V1;

/// A directory under the system temp dir, removed when dropped unless `CHARTS_KEEP_TEST_OUTPUT` is set (then its
/// path is printed, so that the rendered charts can be looked at).
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let unique = format!("tgload-charts-{}-{}-{name}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let path = std::env::temp_dir().join(unique);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn write(&self, file: &str, contents: impl AsRef<[u8]>) {
        fs::write(self.0.join(file), contents).unwrap();
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("CHARTS_KEEP_TEST_OUTPUT").is_some() {
            eprintln!("kept {}", self.0.display());
        } else {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

/// One interval of a log: its start second, its tag and the latencies recorded in it, in microseconds.
pub struct Interval {
    pub second: u64,
    pub tag: &'static str,
    pub micros: Vec<u64>,
}

/// An interval log as the harness writes it: V2 compressed (deflate) histograms with a BaseTime header, or plain
/// V2 when `compressed` is false.
pub fn hlog(intervals: &[Interval], compressed: bool) -> Vec<u8> {
    if compressed {
        write_log(&mut V2DeflateSerializer::new(), intervals)
    } else {
        write_log(&mut V2Serializer::new(), intervals)
    }
}

fn write_log<S: Serializer>(serializer: &mut S, intervals: &[Interval]) -> Vec<u8> {
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000);
    let mut out = Vec::new();
    let mut writer = IntervalLogWriterBuilder::new()
        .add_comment("tgload latency, microseconds")
        .with_start_time(start)
        .with_base_time(start)
        .begin_log_with(&mut out, serializer)
        .unwrap();
    for interval in intervals {
        let mut histogram = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for &micros in &interval.micros {
            histogram.record(micros).unwrap();
        }
        let start = Duration::from_secs(interval.second);
        let tag = Tag::new(interval.tag);
        writer.write_histogram(&histogram, start, Duration::from_secs(1), tag).unwrap();
    }
    drop(writer);
    out
}

/// The small run's e2e latencies: 1, 2, ..., 1000 ms, spread over ten intervals, so the merged distribution's
/// p-th percentile is p * 10 ms. Service time is 5 ms for 100 actions; a `queue` tag is there to be ignored.
pub fn small_hlog(compressed: bool) -> Vec<u8> {
    let mut intervals: Vec<Interval> = (0..10)
        .map(|second| Interval {
            second,
            tag: "e2e",
            micros: (1..=1000).filter(|ms| ms % 10 == second).map(|ms| ms * 1000).collect(),
        })
        .collect();
    intervals.push(Interval { second: 0, tag: "service", micros: vec![5_000; 100] });
    intervals.push(Interval { second: 0, tag: "queue", micros: vec![900_000_000; 3] });
    hlog(&intervals, compressed)
}

pub const SMALL_CSV: &str = "\
t_s,phase,active_users,sent,answered,errors,p50_ms,p95_ms,p99_ms,bot_rss_mb,bot_cpu_pct
1,ramp,10,5,4,0,12.000,20.500,30.000,50.125,12.5
2,ramp,20,10,10,1,13.000,22.000,35.000,51.000,20.0
3,hold,20,10,0,2,,,,52.000,
4,hold,20,10,9,0,11.000,19.000,25.000,,30.0
";

pub const SMALL_EVENTS: &str = r#"{"t_s": 0.0, "kind": "bot_started"}
{"t_s": 2.5, "kind": "fault", "fault": "stall", "duration_s": 1.0}

{"t_s": 3.0, "kind": "slo_breach", "slo": "p95 < 200ms"}
"#;

/// A run directory with the small run's files; `meta.json` and `summary.json` name it.
pub fn small_run(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    dir.write("timeseries.csv", SMALL_CSV);
    dir.write("events.jsonl", SMALL_EVENTS);
    dir.write("latency.hlog", small_hlog(true));
    dir.write(
        "summary.json",
        r#"{"schema_version": 1, "scenario": "smoke", "status": "completed", "verdict": "pass"}"#,
    );
    dir.write("meta.json", r#"{"commit": "0123456789abcdef0123456789abcdef01234567"}"#);
    dir
}

const REALISTIC_EVENTS: &str = r#"{"t_s": 0.0, "kind": "phase", "phase": "ramp"}
{"t_s": 30.0, "kind": "phase", "phase": "hold"}
{"t_s": 60.0, "kind": "fault", "fault": "stall"}
{"t_s": 62.0, "kind": "slo_breach", "slo": "p95 < 200ms"}
{"t_s": 64.0, "kind": "bot_restarted"}
{"t_s": 100.0, "kind": "phase", "phase": "ramp-down"}
"#;

/// A two-minute run: users ramp to 1000 over 30 s, hold, and ramp down from 100 s; the bot stalls from 60 s to
/// 65 s (nothing answered at 62 s, errors, RSS not sampled at 63 s) and is restarted at 64 s. `slowdown` scales
/// latency and memory growth, so two of these make a comparison.
pub fn realistic_run(name: &str, slowdown: f64, commit: Option<&str>) -> TempDir {
    let dir = TempDir::new(name);
    let mut csv = format!("{HEADER}\n");
    let mut intervals = Vec::new();
    let mut noise = Noise(17);
    for t in 1..=120u64 {
        let (row, interval) = realistic_second(t, slowdown, &mut noise);
        csv.push_str(&row);
        intervals.push(interval);
    }
    dir.write("timeseries.csv", csv);
    dir.write("latency.hlog", hlog(&intervals, true));
    dir.write("events.jsonl", REALISTIC_EVENTS);
    let summary = r#"{"schema_version": 1, "scenario": "load-1k", "status": "completed", "verdict": "fail"}"#;
    dir.write("summary.json", summary);
    let meta = match commit {
        Some(commit) => format!(r#"{{"commit": "{commit}"}}"#),
        None => r#"{"commit": null}"#.to_string(),
    };
    dir.write("meta.json", meta);
    dir
}

/// Second `t` of the realistic run: its timeseries.csv row and its e2e interval.
fn realistic_second(t: u64, slowdown: f64, noise: &mut Noise) -> (String, Interval) {
    let (phase, users) = match t {
        0..=30 => ("ramp", t * 1000 / 30),
        31..=100 => ("hold", 1000),
        _ => ("ramp-down", (120 - t) * 1000 / 20),
    };
    let stalled = (60..65).contains(&t);
    let sent = users / 2;
    let answered = match t {
        62 => 0,
        _ if stalled => sent / 3,
        _ => sent,
    };
    let errors = sent - answered;
    let typical_ms = slowdown * (40.0 + users as f64 / 100.0) * if stalled { 8.0 } else { 1.0 };
    let micros: Vec<u64> = (0..answered).map(|_| (typical_ms * noise.lognormal() * 1000.0) as u64).collect();
    let [p50, p95, p99] = [0.50, 0.95, 0.99].map(|q| quantile_ms(&micros, q));
    let rss = match t {
        63 => String::new(),
        _ => format!("{:.3}", 40.0 + t as f64 * 0.05 * slowdown),
    };
    let cpu = format!("{:.1}", users as f64 / 12.0 + noise.next() * 5.0);
    let row = format!("{t},{phase},{users},{sent},{answered},{errors},{p50},{p95},{p99},{rss},{cpu}\n");
    (row, Interval { second: t - 1, tag: "e2e", micros })
}

/// The q-quantile of the values in ms with 3 decimals, or empty when there are none, as timeseries.csv has it.
fn quantile_ms(micros: &[u64], q: f64) -> String {
    if micros.is_empty() {
        return String::new();
    }
    let mut sorted = micros.to_vec();
    sorted.sort_unstable();
    let index = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    format!("{:.3}", sorted[index] as f64 / 1000.0)
}

/// A small deterministic generator, so the fixture is the same on every run.
struct Noise(u64);

impl Noise {
    /// Uniform in [0, 1).
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A right-skewed factor with median 1, like service times.
    fn lognormal(&mut self) -> f64 {
        let (u1, u2) = (self.next().max(1e-12), self.next());
        let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        (0.35 * normal).exp()
    }
}

//! Project automation, run as `cargo xtask <task>`. Today that is the benchmarks recorded in
//! `harness/BENCHMARKS.md`: each is a real `tgload run` of a committed scenario against the bundled bot, measured
//! from its run directory and, for what a process cannot report about itself, from outside (the tgload process's
//! peak RSS and open files, read from /proc while it runs). It measures and prints; it asserts nothing.

mod compare;
mod cpu;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

const USAGE: &str =
    "usage: cargo xtask bench [all | users | echo [RATE...] | overhead | cpu | soak [MINUTES] | compare [SESSIONS]]

  users     10,000 users, 1-3 s think time, the full mix (scenarios/load-10k.toml): tgload's peak RSS and open files
  echo      the highest answer rate: harness/benches/echo.toml at each offered rate (`tgload run --rate`;
            default 4000 5000 6000 7000)
  overhead  the harness's own latency against the mock's in-process timing (harness/benches/overhead.toml)
  cpu       tgload's CPU per answered action at 10, 1,000 and 3,000 actions/s of the echo benchmark, against a bare
            axum server's CPU per JSON request under wrk measured in the same session (the unit: on 64 connections,
            and one at a time on one), then `users`
  soak      the endurance mix (scenarios/endurance-72h.toml) for MINUTES (default 30): tgload's RSS every 10 s and
            its Theil-Sen slope after a warm-up (goal: under 1 MB per hour); not part of `all`
  compare   SESSIONS (default 20) A/A `tgload ab` sessions of the bundled bot, and as many against a candidate 20 %
            slower at p95 (harness/benches/compare.toml): how often each is judged worse; not part of `all`

Results are printed as Markdown and appended to target/bench/results.md; run directories go to target/bench/.";

/// No benchmark run may take longer than this; tgload bounds itself, this is the backstop.
const RUN_LIMIT: Duration = Duration::from_secs(15 * 60);
const DEFAULT_RATES: [u32; 4] = [4000, 5000, 6000, 7000];
const DEFAULT_SOAK_MINUTES: u64 = 30;
/// How often the soak reads tgload's RSS, and how much of its start it leaves out of the slope.
const SOAK_SAMPLE: Duration = Duration::from_secs(10);
const SOAK_WARM_UP: Duration = Duration::from_secs(5 * 60);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["bench"] | ["bench", "all"] => Bench::new().and_then(|b| b.all()),
        ["bench", "users"] => Bench::new().and_then(|b| b.users()),
        ["bench", "echo", rates @ ..] => parse_rates(rates).and_then(|r| Bench::new()?.echo(&r)),
        ["bench", "overhead"] => Bench::new().and_then(|b| b.overhead()),
        ["bench", "cpu"] => Bench::new().and_then(|b| b.cpu()),
        ["axum-unit"] => cpu::serve_unit(),
        ["bench", "soak"] => Bench::new().and_then(|b| b.soak(DEFAULT_SOAK_MINUTES)),
        ["bench", "soak", minutes] => match minutes.parse::<u64>() {
            Ok(minutes) if minutes >= 1 => Bench::new().and_then(|b| b.soak(minutes)),
            _ => Err(anyhow::anyhow!("`{minutes}` is not a whole number of minutes")),
        },
        ["bench", "compare"] => Bench::new().and_then(|b| b.compare(compare::DEFAULT_SESSIONS)),
        ["bench", "compare", n] => match n.parse::<usize>() {
            Ok(n) if n >= 1 => Bench::new().and_then(|b| b.compare(n)),
            _ => Err(anyhow::anyhow!("`{n}` is not a number of sessions")),
        },
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn parse_rates(rates: &[&str]) -> Result<Vec<u32>> {
    if rates.is_empty() {
        return Ok(DEFAULT_RATES.to_vec());
    }
    rates.iter().map(|r| r.parse().with_context(|| format!("`{r}` is not a rate in actions per second"))).collect()
}

struct Bench {
    root: PathBuf,
    out: PathBuf,
}

/// One finished `tgload run`: its files, and what was seen of its process from outside.
struct Measured {
    summary: Value,
    mock: Value,
    /// The peak resident set (`VmHWM`) in MiB, 2^20 bytes.
    peak_rss_mib: f64,
    peak_open_files: usize,
    /// tgload's resident set (`VmRSS`, MB of 10^6 bytes) every `SOAK_SAMPLE`, seconds since its start.
    rss_mb: Vec<(f64, f64)>,
}

impl Bench {
    /// Builds the release binaries the benchmarks run.
    fn new() -> Result<Bench> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("xtask has no parent directory")?;
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(root)
            .args(["build", "--release", "-p", "harness", "-p", "bot-under-test"])
            .status()
            .context("run cargo build")?;
        if !status.success() {
            bail!("cargo build --release failed");
        }
        let out = root.join("target/bench");
        std::fs::create_dir_all(&out).with_context(|| format!("create {}", out.display()))?;
        Ok(Bench { root: root.to_path_buf(), out })
    }

    /// Everything but the soak and the compare calibration; `cpu` runs the 10k users too.
    fn all(&self) -> Result<()> {
        self.echo(&DEFAULT_RATES)?;
        self.overhead()?;
        self.cpu()
    }

    fn cpu(&self) -> Result<()> {
        let xtask = std::env::current_exe().context("locate xtask")?;
        let script = self.out.join("unit.lua");
        let (unit_us, unit_rate) = cpu::axum_unit(&xtask, &script, cpu::UNIT_CONNECTIONS)?;
        let (alone_us, alone_rate) = cpu::axum_unit(&xtask, &script, cpu::ALONE_CONNECTIONS)?;
        let scenario = self.root.join("harness/benches/echo.toml");
        let mut table = Table::new(
            &format!(
                "tgload's CPU per answered action (echo, open pacing, 2,000 users, 20 s; the unit: a bare axum server \
                 under wrk, {unit_us:.1} µs of CPU per JSON request at {unit_rate:.0} requests/s on {} connections; \
                 one at a time, on {} connection: {alone_us:.1} µs at {alone_rate:.0}/s), on {}",
                cpu::UNIT_CONNECTIONS,
                cpu::ALONE_CONNECTIONS,
                cpu_model()
            ),
            &[
                "offered /s",
                "answered /s",
                "tgload CPU",
                "per answered action",
                "in units",
                "in units one at a time",
                "e2e p99",
                "send lateness p99",
            ],
        );
        for rate in cpu::RATES {
            let s = self.run(&scenario, &format!("cpu-{rate}"), &["--rate".into(), rate.to_string()])?.summary;
            let per_action = |s: &Value| {
                let cpu = s.pointer("/generator/cpu_pct")?.as_f64()? / 100.0;
                let answered = s.pointer("/actions/answered")?.as_f64()?;
                let seconds = s.pointer("/duration_s")?.as_f64()?;
                (answered > 0.0).then(|| cpu * seconds * 1e6 / answered)
            };
            let us = per_action(&s);
            table.row(vec![
                rate.to_string(),
                num(&s, "/throughput_per_s", 0, ""),
                num(&s, "/generator/cpu_pct", 1, " %"),
                us.map_or("-".into(), |us| format!("{us:.0} µs")),
                us.map_or("-".into(), |us| format!("{:.1}", us / unit_us)),
                us.map_or("-".into(), |us| format!("{:.1}", us / alone_us)),
                num(&s, "/latency_ms/p99", 1, " ms"),
                num(&s, "/generator/late_p99_ms", 2, " ms"),
            ]);
        }
        self.record(&table)?;
        // Issue 13's third goal: the 10k users' peak RSS and send lateness, on the same machine.
        self.users()
    }

    fn users(&self) -> Result<()> {
        let m = self.run(&self.root.join("scenarios/load-10k.toml"), "users", &[])?;
        let s = &m.summary;
        let mut table = Table::new(
            &format!("10,000 users, 1-3 s think time, full mix (scenarios/load-10k.toml), on {}", cpu_model()),
            &[
                "sent",
                "answered",
                "errors",
                "answered/s",
                "e2e p50",
                "p95",
                "p99",
                "send lateness p99",
                "tgload CPU",
                "bot CPU",
                "tgload peak RSS",
                "open files",
            ],
        );
        table.row(vec![
            int(s, "/actions/sent"),
            int(s, "/actions/answered"),
            int(s, "/actions/errors"),
            num(s, "/throughput_per_s", 0, ""),
            num(s, "/latency_ms/p50", 1, " ms"),
            num(s, "/latency_ms/p95", 1, " ms"),
            num(s, "/latency_ms/p99", 1, " ms"),
            num(s, "/generator/late_p99_ms", 2, " ms"),
            num(s, "/generator/cpu_pct", 0, " %"),
            num(s, "/bot/cpu_mean_pct", 0, " %"),
            format!("{:.0} MiB ({:.0} MB)", m.peak_rss_mib, m.peak_rss_mib * 1.048_576),
            m.peak_open_files.to_string(),
        ]);
        self.record(&table)
    }

    fn echo(&self, rates: &[u32]) -> Result<()> {
        let scenario = self.root.join("harness/benches/echo.toml");
        let mut table = Table::new(
            &format!(
                "Highest answer rate, echo only (harness/benches/echo.toml, 2,000 users, open pacing, 20 s), on {}",
                cpu_model()
            ),
            &["offered /s", "answered /s", "errors", "e2e p50", "e2e p99", "service p99", "tgload CPU", "bot CPU"],
        );
        for rate in rates {
            let s = self.run(&scenario, &format!("echo-{rate}"), &["--rate".into(), rate.to_string()])?.summary;
            table.row(vec![
                rate.to_string(),
                num(&s, "/throughput_per_s", 0, ""),
                int(&s, "/actions/errors"),
                num(&s, "/latency_ms/p50", 1, " ms"),
                num(&s, "/latency_ms/p99", 1, " ms"),
                num(&s, "/service_ms/p99", 1, " ms"),
                num(&s, "/generator/cpu_pct", 0, " %"),
                num(&s, "/bot/cpu_mean_pct", 0, " %"),
            ]);
        }
        self.record(&table)
    }

    fn overhead(&self) -> Result<()> {
        let m = self.run(&self.root.join("harness/benches/overhead.toml"), "overhead", &[])?;
        let (s, mock) = (&m.summary, &m.mock);
        let handling = |q: &str| {
            mock.pointer(&format!("/timings/handling_us/{q}"))
                .and_then(Value::as_f64)
                .map_or("-".into(), |us| format!("{:.2} ms", us / 1e3))
        };
        let mut table = Table::new(
            &format!(
                "The harness's own latency (harness/benches/overhead.toml: 200 actions/s, the bot waits 50 ms), on {}",
                cpu_model()
            ),
            &["", "p50", "p99"],
        );
        table.row(vec![
            "end to end, as tgload reports it".into(),
            num(s, "/latency_ms/p50", 2, " ms"),
            num(s, "/latency_ms/p99", 2, " ms"),
        ]);
        table.row(vec!["the bot's handling, timed in the mock".into(), handling("p50"), handling("p99")]);
        table.row(vec![
            "harness overhead (due → enqueued in the mock)".into(),
            num(s, "/generator/overhead_p50_ms", 2, " ms"),
            num(s, "/generator/overhead_p99_ms", 2, " ms"),
        ]);
        self.record(&table)
    }

    fn soak(&self, minutes: u64) -> Result<()> {
        let duration = format!("{minutes}m");
        let limit = Duration::from_secs(minutes * 60) + RUN_LIMIT;
        let m = self.run_for(
            &self.root.join("scenarios/endurance-72h.toml"),
            &format!("soak-{minutes}m"),
            &["--duration".into(), duration],
            limit,
        )?;
        let s = &m.summary;
        // From outside (/proc, every 10 s) during the load only: tgload's wrap-up (charts) is not the soak.
        let load_s = (minutes * 60) as f64;
        let kept: Vec<(f64, f64)> =
            m.rss_mb.iter().copied().filter(|(t, _)| *t >= SOAK_WARM_UP.as_secs_f64() && *t <= load_s).collect();
        let slope = sen_slope(&kept).map_or("-".into(), |per_s| format!("{:.2} MB/h", per_s * 3600.0));
        let inside = harness_rss(&self.out.join(format!("soak-{minutes}m/resources.csv")));
        let inside: Vec<(f64, f64)> =
            inside.into_iter().filter(|(t, _)| *t >= SOAK_WARM_UP.as_secs_f64()).step_by(10).collect();
        let inside_slope = sen_slope(&inside).map_or("-".into(), |per_s| format!("{:.2} MB/h", per_s * 3600.0));
        let at = |t: f64| m.rss_mb.iter().find(|(at, _)| *at >= t).map_or("-".into(), |(_, mb)| format!("{mb:.1} MB"));
        let mut table = Table::new(
            &format!("Soak: the endurance mix for {minutes} min (scenarios/endurance-72h.toml), on {}", cpu_model()),
            &[
                "answered/s",
                "errors",
                "e2e p99",
                "tgload RSS at 5 min",
                "at the end",
                "tgload RSS slope after 5 min (/proc)",
                "the same from resources.csv",
                "tgload peak RSS",
                "harness.leak",
                "bot.leak",
            ],
        );
        table.row(vec![
            num(s, "/throughput_per_s", 0, ""),
            int(s, "/actions/errors"),
            num(s, "/latency_ms/p99", 1, " ms"),
            at(SOAK_WARM_UP.as_secs_f64()),
            m.rss_mb.last().map_or("-".into(), |(_, mb)| format!("{mb:.1} MB")),
            slope,
            inside_slope,
            format!("{:.0} MiB", m.peak_rss_mib),
            leak(s, "/harness/leak"),
            leak(s, "/bot/leak"),
        ]);
        self.record(&table)
    }

    /// Runs `tgload run <scenario> <extra...>` into `target/bench/<name>`, sampling its process until it exits.
    fn run(&self, scenario: &Path, name: &str, extra: &[String]) -> Result<Measured> {
        self.run_for(scenario, name, extra, RUN_LIMIT)
    }

    fn run_for(&self, scenario: &Path, name: &str, extra: &[String], limit: Duration) -> Result<Measured> {
        let dir = self.out.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        let mut child = Command::new(self.root.join("target/release/tgload"))
            .arg("run")
            .arg(scenario)
            .arg("--out")
            .arg(&dir)
            .args(extra)
            .stdout(Stdio::null())
            .spawn()
            .context("start target/release/tgload")?;
        let proc = PathBuf::from(format!("/proc/{}", child.id()));
        let (mut peak_rss_kb, mut peak_open_files) = (0_u64, 0_usize);
        let mut rss_mb = Vec::new();
        let started = Instant::now();
        let mut next_sample = Duration::ZERO;
        let status = loop {
            if let Some(status) = child.try_wait().context("wait for tgload")? {
                break status;
            }
            peak_rss_kb = peak_rss_kb.max(status_kb(&proc, "VmHWM:").unwrap_or(0));
            peak_open_files = peak_open_files.max(std::fs::read_dir(proc.join("fd")).map_or(0, |d| d.count()));
            if started.elapsed() >= next_sample {
                if let Some(kb) = status_kb(&proc, "VmRSS:") {
                    rss_mb.push((started.elapsed().as_secs_f64(), kb as f64 * 1024.0 / 1e6));
                }
                next_sample += SOAK_SAMPLE;
            }
            if started.elapsed() > limit {
                let _ = child.kill();
                bail!("{name}: tgload ran longer than {} s", limit.as_secs());
            }
            std::thread::sleep(Duration::from_millis(250));
        };
        // 0 objectives held, 99 they did not: both are measurements. Anything else is a failed run.
        if !matches!(status.code(), Some(0 | 99)) {
            bail!("{name}: tgload exited with {status}; see {}", dir.display());
        }
        Ok(Measured {
            summary: read_json(&dir.join("summary.json"))?,
            mock: read_json(&dir.join("mock-stats.json"))?,
            peak_rss_mib: peak_rss_kb as f64 / 1024.0,
            peak_open_files,
            rss_mb,
        })
    }

    /// Prints a table and appends it to `target/bench/results.md`.
    fn record(&self, table: &Table) -> Result<()> {
        let text = table.markdown();
        println!("{text}");
        let path = self.out.join("results.md");
        let mut all = std::fs::read_to_string(&path).unwrap_or_default();
        all.push_str(&text);
        std::fs::write(&path, all).with_context(|| format!("write {}", path.display()))
    }
}

/// A kB figure of the process's status: `VmHWM:` (peak resident set so far), `VmRSS:` (resident now).
fn status_kb(proc: &Path, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(proc.join("status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A leak verdict with its slope and interval: `no_leak, 0.4 MB/h [-1.2, 2.0]`.
fn leak(summary: &Value, pointer: &str) -> String {
    let Some(leak) = summary.pointer(pointer) else { return "-".into() };
    let verdict = leak["verdict"].as_str().unwrap_or("-");
    match (leak["slope_mb_per_h"].as_f64(), leak["ci95"][0].as_f64(), leak["ci95"][1].as_f64()) {
        (Some(slope), Some(low), Some(high)) => format!("{verdict}, {slope:.2} MB/h [{low:.2}, {high:.2}]"),
        _ => verdict.to_string(),
    }
}

/// The harness's RSS (MB) by seconds since the load started, from a run's `resources.csv`.
fn harness_rss(path: &Path) -> Vec<(f64, f64)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            Some((cells.first()?.parse().ok()?, cells.get(3)?.parse().ok()?))
        })
        .collect()
}

/// The median of all pairwise slopes (Theil-Sen), per second; `None` with fewer than two points.
fn sen_slope(points: &[(f64, f64)]) -> Option<f64> {
    let mut slopes = Vec::new();
    for (i, (t1, y1)) in points.iter().enumerate() {
        for (t2, y2) in &points[i + 1..] {
            if t2 > t1 {
                slopes.push((y2 - y1) / (t2 - t1));
            }
        }
    }
    slopes.sort_by(f64::total_cmp);
    let n = slopes.len();
    (n > 0).then(|| if n % 2 == 1 { slopes[n / 2] } else { (slopes[n / 2 - 1] + slopes[n / 2]) / 2.0 })
}

/// The machine's CPU, for every recorded result (`/proc/cpuinfo`'s model name, and how many).
fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let models: Vec<&str> = info.lines().filter_map(|l| l.strip_prefix("model name")).collect();
    let name = models.first().map_or("an unknown CPU", |m| m.trim_start_matches([' ', '\t', ':']).trim());
    format!("{} × {name}", models.len())
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parse {}", path.display()))
}

fn int(v: &Value, pointer: &str) -> String {
    v.pointer(pointer).and_then(Value::as_u64).map_or("-".into(), |n| n.to_string())
}

fn num(v: &Value, pointer: &str, decimals: usize, unit: &str) -> String {
    v.pointer(pointer).and_then(Value::as_f64).map_or("-".into(), |x| format!("{x:.decimals$}{unit}"))
}

struct Table {
    title: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(title: &str, header: &[&str]) -> Table {
        Table { title: title.into(), header: header.iter().map(|h| h.to_string()).collect(), rows: Vec::new() }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn markdown(&self) -> String {
        let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
        let mut text = format!("\n### {}\n\n", self.title);
        text.push_str(&line(&self.header));
        // The first column names the row, the others are numbers.
        let align: Vec<String> = (0..self.header.len()).map(|i| if i == 0 { "---" } else { "---:" }.into()).collect();
        text.push_str(&line(&align));
        for row in &self.rows {
            text.push_str(&line(row));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_markdown() {
        let mut table = Table::new("t", &["a", "b"]);
        table.row(vec!["1".into(), "2".into()]);
        assert_eq!(table.markdown(), "\n### t\n\n| a | b |\n| --- | ---: |\n| 1 | 2 |\n");
    }

    #[test]
    fn sen_slope_is_the_median_pairwise_slope() {
        assert_eq!(sen_slope(&[(0.0, 1.0)]), None);
        // One outlier does not move it: the line is y = 2t.
        let points = [(0.0, 0.0), (1.0, 2.0), (2.0, 40.0), (3.0, 6.0), (4.0, 8.0)];
        assert_eq!(sen_slope(&points), Some(2.0));
    }

    #[test]
    fn rates_parse() {
        assert_eq!(parse_rates(&[]).unwrap(), DEFAULT_RATES);
        assert_eq!(parse_rates(&["10", "20"]).unwrap(), [10, 20]);
        assert!(parse_rates(&["fast"]).is_err());
    }
}

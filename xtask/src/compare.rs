//! `cargo xtask bench compare [SESSIONS]`: the comparison's calibration on known truth. SESSIONS A/A sessions
//! (`tgload ab` of the bundled bot against itself, the default repeats) and SESSIONS sessions against a candidate
//! given 20 % of the base's p95 more work per answer; it counts each side's p95 verdicts and exit codes. Goals
//! (harness/BENCHMARKS.md): at most 1 in 20 A/A sessions `worse`, the +20 % change `worse` in at least 19 of 20.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use super::{cpu_model, read_json, Bench, Table};

/// The work the bundled bot does per answer on the base side, ms.
const BASE_DELAY_MS: f64 = 10.0;
/// The candidate's slowdown, as a fraction of the base's p95.
const SLOWDOWN: f64 = 0.2;
pub const DEFAULT_SESSIONS: usize = 20;
/// Runs a side: `tgload ab`'s default (`harness::ab::DEFAULT_REPEAT`), passed explicitly so the table states it.
const REPEAT: usize = 3;

/// What one kind of session gave: the p95 row's verdicts, the exit codes, and the p95 shifts.
#[derive(Default)]
struct Tally {
    verdicts: Vec<String>,
    exit_codes: Vec<i32>,
    shifts: Vec<f64>,
    base_p95: Vec<f64>,
}

impl Tally {
    fn add(&mut self, compare: &Value, exit_code: i32) {
        let row = compare["rows"].as_array().and_then(|rows| rows.iter().find(|r| r["metric"] == "latency_ms.p95"));
        let row = row.cloned().unwrap_or_default();
        self.verdicts.push(row["verdict"].as_str().unwrap_or("missing").to_string());
        self.exit_codes.push(exit_code);
        self.shifts.extend(row["relative"].as_f64());
        self.base_p95.extend(row["base"].as_f64());
    }

    fn count(&self, verdict: &str) -> usize {
        self.verdicts.iter().filter(|v| *v == verdict).count()
    }

    fn exits(&self, code: i32) -> usize {
        self.exit_codes.iter().filter(|c| **c == code).count()
    }
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

impl Bench {
    pub(super) fn compare(&self, sessions: usize) -> Result<()> {
        let scenario = self.root.join("harness/benches/compare.toml");
        let bot = self.root.join("target/release/bot-under-test");
        let with_delay = |ms: f64| format!("env TGLOAD_DELAY_MS={ms:.3} {}", bot.display());
        let base = with_delay(BASE_DELAY_MS);
        let mut aa = Tally::default();
        for i in 1..=sessions {
            let (compare, code) = self.ab(&scenario, &format!("compare/aa-{i:02}"), &base, &base)?;
            aa.add(&compare, code);
            eprintln!("xtask: A/A {i} of {sessions}: p95 {}", aa.verdicts.last().map_or("", String::as_str));
        }
        let p95 = median(&aa.base_p95);
        let candidate = with_delay(BASE_DELAY_MS + SLOWDOWN * p95);
        let mut slower = Tally::default();
        for i in 1..=sessions {
            let (compare, code) = self.ab(&scenario, &format!("compare/slower-{i:02}"), &base, &candidate)?;
            slower.add(&compare, code);
            eprintln!("xtask: +20% {i} of {sessions}: p95 {}", slower.verdicts.last().map_or("", String::as_str));
        }
        let mut table = Table::new(
            &format!(
                "Comparison calibration (harness/benches/compare.toml: 100 actions/s, 2 s ramp + 10 s hold per run, \
                 {} runs a side, ABBA, threshold 10%), base p95 {p95:.2} ms (the bot sleeps {BASE_DELAY_MS} ms), \
                 candidate +{:.2} ms, on {}",
                REPEAT,
                SLOWDOWN * p95,
                cpu_model()
            ),
            &["sessions", "p95 worse", "same", "inconclusive", "better", "exit 0", "98", "99", "median p95 shift"],
        );
        for (name, tally) in [("A/A", &aa), ("+20 % p95", &slower)] {
            table.row(vec![
                format!("{name}: {sessions}"),
                tally.count("worse").to_string(),
                tally.count("same").to_string(),
                tally.count("inconclusive").to_string(),
                tally.count("better").to_string(),
                tally.exits(0).to_string(),
                tally.exits(98).to_string(),
                tally.exits(99).to_string(),
                format!("{:+.1}%", 100.0 * median(&tally.shifts)),
            ]);
        }
        self.record(&table)
    }

    /// Runs `tgload ab` into `target/bench/<name>` and reads its `compare.json`.
    fn ab(&self, scenario: &Path, name: &str, base: &str, candidate: &str) -> Result<(Value, i32)> {
        let dir = self.out.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        let status = Command::new(self.root.join("target/release/tgload"))
            .arg("ab")
            .arg(scenario)
            .args(["--base-bot-cmd", base, "--candidate-bot-cmd", candidate, "--repeat", &REPEAT.to_string(), "--out"])
            .arg(&dir)
            .stdout(Stdio::null())
            .status()
            .context("run target/release/tgload ab")?;
        let code = status.code().unwrap_or(-1);
        if !matches!(code, 0 | 98 | 99) {
            bail!("{name}: tgload ab exited with {status}; see {}", dir.display());
        }
        Ok((read_json(&dir.join("compare/compare.json"))?, code))
    }
}

//! The `tgload` binary's tests. `run` and `accuracy` are end-to-end tests of `tgload run`: the real binary, the
//! in-process mock and the bundled bot, on loopback. They take seconds each, so they run only with `TGLOAD_E2E=1`
//! (CI sets it); without it they pass at once. Runs are serialized: latency assertions must not compete with each
//! other for two cores. `compare` runs `tgload compare` on synthetic run directories, always, and `fuzz` feeds the
//! scenario parser arbitrary and mutated files. `conversations` walks Python framework bots (the compatibility
//! suite's, from ci/setup-compat.sh's venv) through their state machines with `--bot-cmd`. `report_html` opens a
//! run's `report.html` and a comparison's `compare.html` in headless Chromium. `ci` checks the JUnit file against
//! its schemas, the step summary, and scrapes the live metrics during a run.
//! `attach` runs tgload against a standalone mock-telegram and a bot it did not start (`--mock-url`), and `shards`
//! three tgloads against one (`--shard`, `--start-at`), merged with `tgload merge`, on loopback and across network
//! namespaces.

mod ab;
mod accuracy;
mod attach;
mod bot;
mod capacity;
mod ci;
mod compare;
mod conversations;
mod fuzz;
mod journeys;
mod report_html;
mod run;
mod shards;
mod survive;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// `None` (skip) unless `TGLOAD_E2E=1`; otherwise the guard that keeps runs apart, with the bot built.
pub fn e2e() -> Option<MutexGuard<'static, ()>> {
    if std::env::var("TGLOAD_E2E").as_deref() != Ok("1") {
        eprintln!("skipped: set TGLOAD_E2E=1 to run the end-to-end tests");
        return None;
    }
    let guard = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    build_bot();
    Some(guard)
}

/// tgload finds the bundled bot next to itself; cargo builds only this package's binaries for its tests, so
/// the bot is built here, every time: a stale bot would run without the faults a test switches on.
fn build_bot() {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(build_bot_now);
}

fn build_bot_now() {
    let tgload = tgload_bin();
    if std::env::var_os("TGLOAD_BIN").is_some() {
        // Whoever chose the binary built its bot beside it (ci/test.sh builds both in one cargo call; building
        // the bot alone here would resolve features differently and rebuild it).
        let bot = tgload.with_file_name("bot-under-test");
        assert!(bot.is_file(), "TGLOAD_BIN is set but {} does not exist", bot.display());
        return;
    }
    let profile = tgload.parent().and_then(|p| p.file_name()).and_then(|p| p.to_str()).unwrap_or("debug");
    let mut cargo = Command::new(env!("CARGO"));
    cargo.args(["build", "-p", "bot-under-test", "--bin", "bot-under-test"]);
    if profile != "debug" {
        cargo.args(["--profile", if profile == "release" { "release" } else { profile }]);
    }
    let status = cargo.status().expect("cargo runs");
    assert!(status.success(), "building bot-under-test failed");
}

/// The `tgload` under test: `TGLOAD_BIN` when set (CI points it at the release build, the one whose accuracy
/// the README claims), else the build of this test run.
pub fn tgload_bin() -> PathBuf {
    std::env::var_os("TGLOAD_BIN").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_tgload")), PathBuf::from)
}

/// A fresh, empty directory for one run.
pub fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tgload-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs `tgload run <scenario> --out <dir> <extra...>`.
pub fn tgload(scenario: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(tgload_bin()).arg("run").arg(scenario).arg("--out").arg(out).args(extra).output().expect("tgload runs")
}

/// A shipped scenario.
pub fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios").join(format!("{name}.toml"))
}

/// Writes a scenario for one test: `body` after a common header of 1 s answer timeout.
pub fn scenario(out: &Path, body: &str) -> PathBuf {
    let path = out.with_extension("toml");
    std::fs::write(&path, body).unwrap();
    path
}

pub fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

pub fn text(output: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

//! Runs that end badly still leave a readable directory and no bot behind: SIGTERM and SIGHUP stop a run in
//! order (status `interrupted`, exit 128 + the signal), SIGKILL of tgload takes the bot with it, and
//! `tgload report` rebuilds a killed run's summary from the rows it wrote.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::*;

/// `tgload run <scenario> --out <out> <extra>` in the background.
fn start(scenario: &Path, out: &Path, extra: &[&str]) -> Child {
    Command::new(tgload_bin())
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tgload starts")
}

/// The processes whose environment names `out`: the bot (and anything it started) gets `DATABASE_PATH` in it.
fn processes_of(out: &Path) -> Vec<u32> {
    let needle = out.display().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // A zombie has no environment left to read; and it is not running.
            String::from_utf8_lossy(&environ).contains(&needle) && !state.contains(") Z ")
        })
        .collect()
}

/// The bundled bot among `pids` runs at nice +10 from this test's own (tgload's priority comes first).
fn check_niced(pids: &[u32]) {
    let nice = |pid: &str| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // After the command's `(name)`: state is field 3 of stat(5), nice field 19.
        let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
        fields.get(16).and_then(|n| n.parse::<i32>().ok())
    };
    let bots: Vec<&u32> = pids
        .iter()
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "bot-under-test"))
        .collect();
    assert!(!bots.is_empty(), "no bot-under-test among {pids:?}");
    let ours = nice("self").unwrap();
    for pid in bots {
        assert_eq!(nice(&pid.to_string()), Some((ours + 10).min(19)), "bot {pid}");
    }
}

fn alive(pid: u32) -> bool {
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    !state.is_empty() && !state.contains(") Z ")
}

/// Waits (up to `limit`) until the load has written `rows` rows of `timeseries.csv`.
fn wait_rows(out: &Path, rows: usize, limit: Duration) {
    let start = Instant::now();
    while start.elapsed() < limit {
        let text = std::fs::read_to_string(out.join("timeseries.csv")).unwrap_or_default();
        if text.lines().count() > rows {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{} rows not written within {limit:?}", rows);
}

fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    None
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill").arg(format!("-{name}")).arg(child.id().to_string()).status().unwrap();
    assert!(status.success());
}

fn rows_of(out: &Path) -> Vec<charts::series::Row> {
    charts::series::Timeseries::from_csv(&std::fs::read_to_string(out.join("timeseries.csv")).unwrap()).unwrap().rows
}

#[test]
fn sigterm_and_sighup_stop_the_run_in_order() {
    let Some(_guard) = e2e() else { return };
    for (name, code) in [("TERM", 143), ("HUP", 129)] {
        let out = out_dir(&format!("sig{name}"));
        let mut tgload = start(&shipped("smoke"), &out, &["--duration", "60s"]);
        wait_rows(&out, 3, Duration::from_secs(60));
        let bots = processes_of(&out);
        assert!(!bots.is_empty(), "the bot runs");
        check_niced(&bots);
        signal(&tgload, name);
        let status = wait_exit(&mut tgload, Duration::from_secs(40)).expect("tgload stops after SIG{name}");
        assert_eq!(status.code(), Some(code), "SIG{name}");
        let s = summary(&out);
        assert_eq!((s["status"].as_str(), s["verdict"].as_str()), (Some("interrupted"), Some("fail")), "{s}");
        assert!(s["duration_s"].as_f64().unwrap() < 30.0, "{s}");
        for file in ["report.md", "charts/latency.svg", "checkpoint.json", "resources.csv"] {
            assert!(out.join(file).is_file(), "{file} missing after SIG{name}");
        }
        let events = std::fs::read_to_string(out.join("events.jsonl")).unwrap();
        assert!(events.contains(&format!("\"name\":\"SIG{name}\"")), "{events}");
        let rows = rows_of(&out);
        assert_eq!(rows.iter().map(|r| r.sent).sum::<u64>(), s["actions"]["sent"].as_u64().unwrap());
        assert!(bots.iter().all(|pid| !alive(*pid)), "bot processes {bots:?} outlived tgload");
    }
}

#[test]
fn sigkill_takes_the_bot_along_and_report_rebuilds_the_run() {
    let Some(_guard) = e2e() else { return };
    let out = out_dir("sigkill");
    let mut tgload = start(&shipped("smoke"), &out, &["--duration", "60s"]);
    wait_rows(&out, 4, Duration::from_secs(60));
    let bots = processes_of(&out);
    assert!(!bots.is_empty(), "the bot runs");
    signal(&tgload, "KILL");
    wait_exit(&mut tgload, Duration::from_secs(5)).expect("SIGKILL ends tgload");
    let deadline = Instant::now() + Duration::from_secs(10);
    while bots.iter().any(|pid| alive(*pid)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(bots.iter().all(|pid| !alive(*pid)), "bot processes {bots:?} outlived a SIGKILLed tgload");
    assert!(!out.join("summary.json").exists(), "a killed run wrote no summary");

    let report = Command::new(tgload_bin()).arg("report").arg(&out).output().unwrap();
    assert_eq!(report.status.code(), Some(0), "{}", text(&report));
    let s = summary(&out);
    assert_eq!((s["status"].as_str(), s["verdict"].as_str()), (Some("killed"), Some("fail")), "{s}");
    let rows = rows_of(&out);
    let sum = |f: fn(&charts::series::Row) -> u64| rows.iter().map(f).sum::<u64>();
    assert_eq!(s["actions"]["sent"].as_u64(), Some(sum(|r| r.sent)), "{s}");
    assert_eq!(s["actions"]["answered"].as_u64(), Some(sum(|r| r.answered)), "{s}");
    assert_eq!(s["actions"]["errors"].as_u64(), Some(sum(|r| r.errors)), "{s}");
    assert!(s["actions"]["answered"].as_u64().unwrap() > 0, "{s}");
    assert!(s["latency_ms"]["p50"].as_f64().unwrap() > 0.0, "{s}");
    assert!(s["harness"]["rss_peak_mb"].as_f64().unwrap() > 1.0, "{s}");
    // The rows stop at most the answer-timeout grace plus a second before the kill; the rest are missing.
    let missing = s["rebuilt"]["missing_seconds"].as_array().unwrap();
    let last_row = rows.last().unwrap().t_s as u64;
    assert_eq!(missing[0][0].as_u64(), Some(last_row + 1), "{s}");
    let last_written = s["rebuilt"]["last_written_s"].as_f64().unwrap();
    let timeout = 5.0; // smoke.toml's answer_timeout
    assert!(last_written - last_row as f64 <= timeout + 3.0 + 1.5, "rows lag {last_written} s by too much: {s}");
    assert!(String::from_utf8_lossy(&report.stdout).contains("Rebuilt by `tgload report`. The run was killed"));
    assert!(out.join("charts/latency.svg").is_file());
}

#[test]
fn report_on_a_completed_run_gives_its_numbers_again() {
    let Some(_guard) = e2e() else { return };
    let out = out_dir("report-complete");
    let output = tgload(&shipped("smoke"), &out, &["--duration", "6s"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let live = summary(&out);
    let report = Command::new(tgload_bin()).arg("report").arg(&out).output().unwrap();
    assert_eq!(report.status.code(), Some(0), "{}", text(&report));
    let rebuilt = summary(&out);
    for pointer in ["/status", "/actions", "/errors", "/latency_ms", "/service_ms", "/by_action", "/by_phase", "/slos"]
    {
        assert_eq!(rebuilt.pointer(pointer), live.pointer(pointer), "{pointer}");
    }
    assert_eq!(rebuilt["rebuilt"]["missing_seconds"], serde_json::json!([]));
    let bad = Command::new(tgload_bin()).arg("report").arg(out.join("charts")).output().unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no meta.json"), "{}", text(&bad));
}

#[test]
fn a_full_disk_stops_the_load_and_names_the_file() {
    let Some(_guard) = e2e() else { return };
    let out = out_dir("disk-full");
    std::fs::create_dir_all(&out).unwrap();
    // Every write to /dev/full fails with ENOSPC, as on a full disk: the first checkpoint (once ten seconds are
    // written) is where this run meets it.
    std::os::unix::fs::symlink("/dev/full", out.join("checkpoint.json.tmp")).unwrap();
    let mut tgload = Command::new(tgload_bin())
        .arg("run")
        .arg(shipped("smoke"))
        .arg("--out")
        .arg(&out)
        .args(["--duration", "60s"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_rows(&out, 0, Duration::from_secs(60));
    let bots = processes_of(&out);
    let status = wait_exit(&mut tgload, Duration::from_secs(40)).expect("tgload stops by itself on a full disk");
    let mut stderr = String::new();
    std::io::Read::read_to_string(tgload.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("checkpoint.json.tmp") && stderr.contains("No space left on device"), "{stderr}");
    let s = summary(&out);
    assert_eq!(s["status"], "error", "{s}");
    assert!(s["duration_s"].as_f64().unwrap() < 30.0, "the load stopped at once: {s}");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("## Errors") && report.contains("No space left on device"), "{report}");
    assert!(bots.iter().all(|pid| !alive(*pid)), "bot processes {bots:?} outlived the run");
}

//! `meta.json`: what was run, where and when, so that two runs can be told apart and a run reproduced:
//! the commit, tool and dependency versions, the machine, the scenario (its path, text hash and parsed
//! form), the seed, the start time, the command line and where the live metrics are served.

use std::path::Path;
use std::time::SystemTime;

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::scenario::Scenario;

/// The workspace's lock file, read at build time: the dependency versions actually compiled in.
const CARGO_LOCK: &str = include_str!("../../Cargo.lock");

pub struct Meta<'a> {
    pub scenario_path: &'a Path,
    pub scenario_text: &'a str,
    pub scenario: Option<&'a Scenario>,
    pub started: SystemTime,
    pub command: &'a [String],
    /// The live metrics' URL (`--metrics-addr`), when they are served.
    pub metrics_url: Option<&'a str>,
    /// The part of the scenario this generator drives (`--shard`).
    pub shard: crate::shard::Shard,
}

impl Meta<'_> {
    pub fn to_json(&self) -> serde_json::Value {
        let mut system = sysinfo::System::new();
        system.refresh_memory();
        json!({
            "commit": commit(),
            "tgload_version": env!("CARGO_PKG_VERSION"),
            "build_sha256": (!self.shard.is_whole()).then(build_sha256).flatten(),
            "dependencies": {
                "goose": locked_version("goose"),
                "teloxide": locked_version("teloxide"),
                "hdrhistogram": locked_version("hdrhistogram"),
                "reqwest": locked_version("reqwest"),
                "tokio": locked_version("tokio"),
            },
            "machine": {
                "os": sysinfo::System::long_os_version().unwrap_or_else(|| std::env::consts::OS.to_string()),
                "kernel": sysinfo::System::kernel_version(),
                "arch": std::env::consts::ARCH,
                "cpus": crate::machine_cpus(),
                "cpu_model": cpu_model(),
                "memory_bytes": system.total_memory(),
            },
            "scenario_path": self.scenario_path.display().to_string(),
            "scenario_sha256": sha256_hex(self.scenario_text.as_bytes()),
            "scenario": self.scenario,
            "seed": self.scenario.map(|s| s.seed),
            "start_time": rfc3339(self.started),
            "command_line": self.command,
            "shard": (!self.shard.is_whole()).then(|| json!({"index": self.shard.index, "count": self.shard.count})),
            // The mock's is added once it listens.
            "metrics": {"harness": self.metrics_url, "mock": null},
        })
    }
}

/// The CPU's model name from `/proc/cpuinfo` (`AMD EPYC 7B13`, `Intel(R) Xeon(R) Processor`), or `None`: runs
/// on different CPUs compare the machines, not the code.
fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_string())
}

/// The SHA-256 of the running tgload executable: which build ran, even without a repository. Only a shard's
/// meta.json has it (`tgload merge` refuses shards of different builds): reading a release binary with its debug
/// information takes about a second, too long for every run's start.
fn build_sha256() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    Some(sha256_hex(&std::fs::read(exe).ok()?))
}

/// `git rev-parse HEAD` in the working directory, or `None` outside a repository (or before a commit).
fn commit() -> Option<String> {
    let output = std::process::Command::new("git").args(["rev-parse", "HEAD"]).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

/// The versions of `name` in the lock file, comma separated when several are locked.
pub fn locked_version(name: &str) -> Option<String> {
    let needle = format!("name = \"{name}\"\nversion = \"");
    let versions: Vec<&str> = CARGO_LOCK
        .match_indices(&needle)
        .filter_map(|(at, _)| {
            let start = at + needle.len();
            CARGO_LOCK[start..].find('"').map(|len| &CARGO_LOCK[start..start + len])
        })
        .collect();
    (!versions.is_empty()).then(|| versions.join(", "))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 3339 in UTC with whole seconds, e.g. `2026-11-24T21:38:00Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// A compact UTC stamp for directory names, e.g. `20261124-213800`.
pub fn compact_stamp(t: SystemTime) -> String {
    rfc3339(t).replace(['-', ':'], "").replace('T', "-").trim_end_matches('Z').to_string()
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn check_time(unix: u64, expected: &str) {
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(unix)), expected);
    }

    #[test]
    fn formats_times() {
        check_time(0, "1970-01-01T00:00:00Z");
        check_time(951_782_400, "2000-02-29T00:00:00Z");
        check_time(1_700_000_000, "2023-11-14T22:13:20Z");
        check_time(4_102_444_799, "2099-12-31T23:59:59Z");
        assert_eq!(compact_stamp(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)), "20231114-221320");
    }

    #[test]
    fn reads_versions_and_hashes() {
        assert!(locked_version("goose").is_some_and(|v| v.starts_with("0.19")));
        assert!(locked_version("reqwest").is_some_and(|v| v.contains("0.13")));
        assert_eq!(locked_version("no-such-crate"), None);
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}

//! `tgload run --shard I/N --start-at T` and `tgload merge`: three shards attached to one standalone mock-telegram
//! and the bundled bot, started together, then merged. The merged run has exactly the actions one generator
//! would have sent, and its SLOs are judged once on all of them (a throughput objective no shard meets alone
//! holds for the whole). A shard killed mid-run makes the merge fail, naming it. The same load again with each
//! shard a host of its own in a network namespace, the mock and the bot in another, joined by veth pairs.

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, SystemTime};

use super::attach::{bundled_bot_in, command_in, standalone_mock_in, Running, TOKEN};
use super::*;

/// 30 users, a third of them in groups of 3, at 60 actions/s for 4 s: exactly 240 actions in all. No shard
/// answers 45/s alone; the three together do.
const PLAN: &str = "name = \"shards\"\nanswer_timeout = \"5s\"\n\
    [load]\nusers = 30\nduration = \"4s\"\n[pacing]\nmode = \"open\"\nrate_per_s = 60\n\
    [chats]\ngroup_share = 0.3\ngroup_size = 3\n\
    [[actions]]\nkind = \"text\"\ntext = \"hello\"\nweight = 3\n[[actions]]\nkind = \"command\"\ncommand = \"start\"\n\
    [slo]\nrules = [\"throughput > 45/s\", \"error_rate < 1%\", \"p99 < 3s\"]\n";

const PLANNED: u64 = 240;

/// A start every shard can make: far enough ahead for three tgloads to start on two busy cores.
fn start_at() -> String {
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    (now + 12).to_string()
}

fn shard(prefix: &[&str], plan: &Path, out: &Path, url: &str, index: usize, start: &str) -> Child {
    command_in(prefix, &tgload_bin())
        .arg("run")
        .arg(plan)
        .arg("--out")
        .arg(out)
        .args(["--mock-url", url, "--token", TOKEN, "--shard", &format!("{index}/3"), "--start-at", start])
        .args(["--metrics-addr", "off"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tgload runs")
}

fn merge(out: &Path, shards: &[PathBuf]) -> Output {
    Command::new(tgload_bin()).arg("merge").arg(out).args(shards).output().expect("tgload merge runs")
}

fn count(s: &serde_json::Value, key: &str) -> u64 {
    s["actions"][key].as_u64().unwrap_or_else(|| panic!("no actions.{key}: {s}"))
}

/// Runs the three shards to their end, merges them, and checks the merged run against the shards and the plan.
fn three_shards_merge_exactly(name: &str, prefixes: [&[&str]; 3], urls: [&str; 3]) {
    let base = out_dir(name);
    std::fs::create_dir_all(&base).unwrap();
    let plan = scenario(&base.join("plan"), PLAN);
    let start = start_at();
    let dirs: Vec<PathBuf> = (0..3).map(|i| base.join(format!("s{i}"))).collect();
    let children: Vec<Child> = (0..3).map(|i| shard(prefixes[i], &plan, &dirs[i], urls[i], i, &start)).collect();
    let mut shard_summaries = Vec::new();
    for (i, child) in children.into_iter().enumerate() {
        let output = child.wait_with_output().unwrap();
        // Completed, but no shard meets the throughput objective alone.
        assert_eq!(output.status.code(), Some(99), "shard {i}: {}", text(&output));
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dirs[i].join("meta.json")).unwrap()).unwrap();
        assert_eq!(meta["shard"], serde_json::json!({"index": i, "count": 3}));
        assert_eq!(meta["start"]["unix_us"].as_u64(), Some(start.parse::<u64>().unwrap() * 1_000_000), "{meta}");
        let offset = meta["start"]["clock_offset_us"].as_i64().expect("the clock offset is measured");
        assert!(offset.abs() < 5_000, "one machine's clock is off by {offset} µs from itself");
        shard_summaries.push(summary(&dirs[i]));
    }
    let merged = base.join("merged");
    let output = merge(&merged, &dirs);
    assert_eq!(output.status.code(), Some(0), "the whole load meets every objective: {}", text(&output));
    let s = summary(&merged);
    let sum = |key: &str| shard_summaries.iter().map(|s| count(s, key)).sum::<u64>();
    assert_eq!(count(&s, "sent"), sum("sent"), "{s}");
    assert_eq!(count(&s, "answered"), sum("answered"), "{s}");
    // Exactly the actions one generator would have sent: none lost, none sent twice.
    assert_eq!(count(&s, "sent"), PLANNED, "{s}");
    assert_eq!(count(&s, "answered"), PLANNED, "{s}");
    for action in ["text", "/start"] {
        let of = |s: &serde_json::Value| {
            s["by_action"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["action"] == action)
                .map_or(0, |a| a["sent"].as_u64().unwrap())
        };
        assert_eq!(of(&s), shard_summaries.iter().map(of).sum::<u64>(), "{action}: {s}");
    }
    let phase_sent: u64 = s["by_phase"].as_array().unwrap().iter().map(|p| p["sent"].as_u64().unwrap()).sum();
    assert_eq!(phase_sent, PLANNED, "{s}");
    assert_eq!(s["verdict"], "pass", "{s}");
    assert!(s["slos"].as_array().unwrap().iter().all(|v| v["passed"] == true), "{s}");
    let throughput = s["throughput_per_s"].as_f64().unwrap();
    assert!((50.0..=70.0).contains(&throughput), "the merged throughput is the shards' sum: {throughput}");
    assert_eq!(s["merged"]["shards"].as_array().unwrap().len(), 3, "{s}");
    // The merged latency log's seconds add up to the run, and the report and page are there.
    let rows = std::fs::read_to_string(merged.join("timeseries.csv")).unwrap();
    let row_sent: u64 = rows.lines().skip(1).map(|l| l.split(',').nth(3).unwrap().parse::<u64>().unwrap()).sum();
    assert_eq!(row_sent, PLANNED, "{rows}");
    for file in ["report.md", "report.html", "latency.hlog", "events.jsonl", "checkpoint.json"] {
        assert!(merged.join(file).is_file(), "merged/{file}");
    }
}

#[test]
fn three_shards_started_together_merge_into_exactly_one_load() {
    let Some(_guard) = e2e() else { return };
    let base = out_dir("shards-bot");
    let (mock, url) = standalone_mock_in(&[], "127.0.0.1:0");
    let bot = bundled_bot_in(&[], &url, &base);
    let _running = Running(vec![mock, bot]);
    three_shards_merge_exactly("shards", [&[], &[], &[]], [&url, &url, &url]);
}

#[test]
fn a_killed_shard_makes_the_merge_fail_and_names_it() {
    let Some(_guard) = e2e() else { return };
    let base = out_dir("shards-killed");
    std::fs::create_dir_all(&base).unwrap();
    let (mock, url) = standalone_mock_in(&[], "127.0.0.1:0");
    let bot = bundled_bot_in(&[], &url, &base.join("bot"));
    let _running = Running(vec![mock, bot]);
    let plan = scenario(&base.join("plan"), PLAN);
    let start = start_at();
    let dirs: Vec<PathBuf> = (0..3).map(|i| base.join(format!("s{i}"))).collect();
    let mut children: Vec<Child> = (0..3).map(|i| shard(&[], &plan, &dirs[i], &url, i, &start)).collect();
    // Into the load, then SIGKILL shard 1: it writes no summary.
    let start_s: u64 = start.parse().unwrap();
    while SystemTime::now() < SystemTime::UNIX_EPOCH + Duration::from_secs(start_s + 2) {
        std::thread::sleep(Duration::from_millis(100));
    }
    children[1].kill().unwrap();
    for child in children {
        let _ = child.wait_with_output();
    }
    assert!(!dirs[1].join("summary.json").exists());
    let output = merge(&base.join("merged"), &dirs);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let named = format!("{}: no summary.json: the shard was killed", dirs[1].display());
    assert!(stderr.contains(&named), "{stderr}");
    // A shard left out is named too.
    let output = merge(&base.join("merged-2"), &[dirs[0].clone(), dirs[2].clone()]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("shard 1/3 is missing"), "{}", text(&output));
}

/// Network namespaces the test created, deleted (with their veth pairs) however it ends.
struct Namespaces(Vec<String>);

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let output = Command::new("ip").args(args).output().map_err(|e| format!("ip: {e}"))?;
    match output.status.success() {
        true => Ok(()),
        false => Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim())),
    }
}

/// A hub namespace for the mock and the bot, and three shard namespaces, each joined to the hub by a veth pair:
/// shard `i` is 10.201.i.2 and reaches the hub at 10.201.i.1.
fn hosts(tag: &str) -> Result<Namespaces, String> {
    let hub = format!("{tag}-hub");
    let mut made = Namespaces(Vec::new());
    ip(&["netns", "add", &hub])?;
    made.0.push(hub.clone());
    ip(&["-n", &hub, "link", "set", "lo", "up"])?;
    for i in 0..3 {
        let ns = format!("{tag}-s{i}");
        ip(&["netns", "add", &ns])?;
        made.0.push(ns.clone());
        let (hub_end, shard_end) = (format!("{tag}h{i}"), format!("{tag}s{i}"));
        ip(&["link", "add", &hub_end, "type", "veth", "peer", "name", &shard_end])?;
        ip(&["link", "set", &hub_end, "netns", &hub])?;
        ip(&["link", "set", &shard_end, "netns", &ns])?;
        ip(&["-n", &hub, "addr", "add", &format!("10.201.{i}.1/24"), "dev", &hub_end])?;
        ip(&["-n", &hub, "link", "set", &hub_end, "up"])?;
        ip(&["-n", &ns, "addr", "add", &format!("10.201.{i}.2/24"), "dev", &shard_end])?;
        ip(&["-n", &ns, "link", "set", &shard_end, "up"])?;
        ip(&["-n", &ns, "link", "set", "lo", "up"])?;
    }
    Ok(made)
}

#[test]
fn three_shards_on_hosts_of_their_own_reach_the_mock_across_a_network() {
    let Some(_guard) = e2e() else { return };
    let tag = format!("tg{}", std::process::id() % 100_000);
    let namespaces = match hosts(&tag) {
        Ok(namespaces) => namespaces,
        Err(why) => {
            eprintln!("skipped: cannot create network namespaces here (needs root and `ip`): {why}");
            return;
        }
    };
    let hub = namespaces.0[0].clone();
    let in_hub = ["ip", "netns", "exec", hub.as_str()];
    // The mock listens on the hub's own interfaces only (its loopback and the veth ends).
    let (mock, url) = standalone_mock_in(&in_hub, "0.0.0.0:0");
    let port = url.rsplit(':').next().unwrap().to_string();
    let base = out_dir("shards-netns");
    let bot = bundled_bot_in(&in_hub, &format!("http://127.0.0.1:{port}"), &base);
    let _running = Running(vec![mock, bot]);
    let urls: Vec<String> = (0..3).map(|i| format!("http://10.201.{i}.1:{port}")).collect();
    let prefixes: Vec<[&str; 4]> = namespaces.0[1..].iter().map(|ns| ["ip", "netns", "exec", ns.as_str()]).collect();
    three_shards_merge_exactly(
        "shards-netns",
        [&prefixes[0], &prefixes[1], &prefixes[2]],
        [&urls[0], &urls[1], &urls[2]],
    );
}

#[test]
fn a_start_at_that_cannot_be_kept_exits_97_and_says_why() {
    let Some(_guard) = e2e() else { return };
    let out = out_dir("start-missed");
    let past = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() - 5;
    let output = tgload(&shipped("smoke"), &out, &["--start-at", &past.to_string()]);
    assert_eq!(output.status.code(), Some(97), "{}", text(&output));
    assert!(text(&output).contains("--start-at: ") && text(&output).contains("s too soon"), "{}", text(&output));
    let s = summary(&out);
    assert_eq!(s["status"], "error", "{s}");
    // Not a time at all is bad usage, before anything runs.
    let output = tgload(&shipped("smoke"), &out_dir("start-bad"), &["--start-at", "tomorrow"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
}

//! The whole path on the `smoke` scenario, and the ways a run ends: completed, bot crashed, bad scenario.

use super::*;

#[test]
fn smoke_with_the_bundled_bot_writes_a_complete_run_directory() {
    let Some(_guard) = e2e() else { return };
    let out = out_dir("smoke");
    let output = tgload(&shipped("smoke"), &out, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let s = summary(&out);
    assert_eq!(
        (s["schema_version"].as_u64(), s["status"].as_str(), s["verdict"].as_str()),
        (Some(2), Some("completed"), Some("pass"))
    );
    let (sent, answered) = (s["actions"]["sent"].as_u64().unwrap(), s["actions"]["answered"].as_u64().unwrap());
    assert!(sent > 50, "{s}");
    assert_eq!(answered, sent, "the bundled bot answers everything: {s}");
    assert!(s["latency_ms"]["p50"].as_f64().unwrap() > 0.0);
    assert!(s["bot"]["rss_peak_mb"].as_f64().unwrap() > 1.0, "the bot was sampled: {s}");

    // The files charts reads, read by charts' own parsers.
    let series =
        charts::series::Timeseries::from_csv(&std::fs::read_to_string(out.join("timeseries.csv")).unwrap()).unwrap();
    assert!(series.rows.len() >= 6, "{series:?}");
    assert_eq!(series.rows.iter().map(|r| r.sent).sum::<u64>(), sent);
    assert_eq!(series.rows.iter().map(|r| r.answered).sum::<u64>(), answered);
    assert_eq!(series.rows[2].active_users, 10);
    let latency =
        charts::hlog::Latency::from_hlog(&std::fs::read_to_string(out.join("latency.hlog")).unwrap()).unwrap();
    assert_eq!(latency.e2e.unwrap().len(), answered, "every answer is in the latency log once");
    let events = std::fs::read_to_string(out.join("events.jsonl")).unwrap();
    assert!(events.contains("\"kind\":\"bot_started\"") && events.contains("\"label\":\"hold\""), "{events}");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta["scenario"]["name"], "smoke");
    assert_eq!(meta["scenario_sha256"].as_str().map(str::len), Some(64));
    for file in ["report.md", "bot.stderr.log", "charts/latency.svg", "charts/distribution.png"] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    assert!(String::from_utf8_lossy(&output.stdout).contains("**Verdict: PASS**"));
}

/// `kinds`: photos and documents the bot downloads, locations, contacts, forwards, replies, inline queries,
/// reactions, joins and leaves in groups, blocks. The bundled bot handles each, so every one is answered (or, for
/// the notifications, delivered), and nothing is an error.
#[test]
fn every_kind_of_user_action_is_answered_by_the_bundled_bot() {
    let Some(_guard) = e2e() else { return };
    let out = out_dir("kinds");
    let output = tgload(&shipped("kinds"), &out, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let s = summary(&out);
    assert_eq!((s["errors"]["transport"].as_u64(), s["errors"]["timeout"].as_u64()), (Some(0), Some(0)), "{s}");
    assert_eq!(s["actions"]["answered"], s["actions"]["sent"], "{s}");
    let by_action = s["by_action"].as_array().unwrap();
    for kind in ["photo", "document", "location", "inline_query", "contact", "forward", "reply", "reaction", "join"] {
        let row = by_action.iter().find(|r| r["action"] == kind).unwrap_or_else(|| panic!("no {kind} in {s}"));
        assert!(row["sent"].as_u64() > Some(0) && row["answered"] == row["sent"], "{kind}: {row}");
    }
}

/// Telegram's limits, known truth both ways: ten users acting every few hundred milliseconds in their own chats
/// go past ~1 message/s per chat, which the run states with limits off and meets as 429s with them on; two users
/// acting every two seconds stay within them.
#[test]
fn telegram_limits_are_measured_always_and_enforced_on_request() {
    let Some(_guard) = e2e() else { return };
    let smoke = std::fs::read_to_string(shipped("smoke")).unwrap();
    let run = |name: &str, body: &str, args: &[&str]| {
        let out = out_dir(name);
        let output = tgload(&scenario(&out, body), &out, args);
        (summary(&out), text(&output), std::fs::read_to_string(out.join("report.md")).unwrap_or_default())
    };
    let (s, output, report) = run("limits-off", &smoke, &["--duration", "4s"]);
    let limits = &s["telegram_limits"];
    assert_eq!(limits["mode"], "off", "{output}");
    assert!(limits["over_limit"]["per_chat"].as_u64() > Some(0), "{limits}");
    assert_eq!(s["errors"]["bot_api_error"], 0, "measured only, nothing is refused: {s}");
    assert!(report.contains("Telegram would have refused"), "{report}");

    let enforced = smoke.replace("[slo]", "[telegram]\nlimits = \"real\"\n\n[slo]");
    let (s, output, report) = run("limits-real", &enforced, &["--duration", "4s"]);
    let limits = &s["telegram_limits"];
    assert_eq!(limits["mode"], "real", "{output}");
    let refused =
        limits["over_limit"]["per_chat"].as_u64().unwrap() + limits["over_limit"]["per_group"].as_u64().unwrap();
    assert!(refused > 0, "{limits}");
    assert!(s["errors"]["bot_api_error"].as_u64() > Some(0), "the bundled bot does not retry a 429: {s}");
    assert!(report.contains("were answered 429"), "{report}");

    let slow = smoke
        .replace("think = \"100ms..400ms\"", "think = \"2s..2500ms\"")
        .replace("group_share = 0.2", "group_share = 0.0");
    let (s, output, report) = run("limits-slow", &slow, &["--users", "2", "--duration", "5s"]);
    assert_eq!(
        s["telegram_limits"]["over_limit"],
        serde_json::json!({"per_chat": 0, "per_group": 0, "global": 0}),
        "{output}"
    );
    assert!(report.contains("stayed within Telegram's limits"), "{report}");
}

#[test]
fn a_command_bot_runs_through_the_shell() {
    let Some(_guard) = e2e() else { return };
    let out = out_dir("bot-cmd");
    let bot = tgload_bin().with_file_name("bot-under-test");
    let command = format!("exec {}", bot.display());
    let output = tgload(&shipped("smoke"), &out, &["--bot-cmd", &command, "--users", "3", "--duration", "3s"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let s = summary(&out);
    assert_eq!(s["actions"]["answered"], s["actions"]["sent"], "{s}");
}

#[test]
fn a_crashing_bot_ends_the_run_and_counts_its_unanswered_actions() {
    let Some(_guard) = e2e() else { return };
    let out = out_dir("crash");
    let body = std::fs::read_to_string(shipped("smoke"))
        .unwrap()
        .replace("[slo]", "[bot]\nenv = { TGLOAD_EXIT_AFTER = \"40\" }\n\n[slo]");
    let output = tgload(&scenario(&out, &body), &out, &[]);
    assert_eq!(output.status.code(), Some(99), "{}", text(&output));
    let s = summary(&out);
    assert_eq!((s["status"].as_str(), s["bot"]["exits"].as_u64()), (Some("bot_crashed"), Some(1)), "{s}");
    let (sent, answered) = (s["actions"]["sent"].as_u64().unwrap(), s["actions"]["answered"].as_u64().unwrap());
    assert_eq!(answered, 40, "the bot answered exactly 40 updates: {s}");
    assert_eq!(s["errors"]["bot_crashed"].as_u64(), Some(sent - answered), "{s}");
    let events = std::fs::read_to_string(out.join("events.jsonl")).unwrap();
    assert!(events.contains("\"kind\":\"bot_exited\",\"name\":\"exit code 3\""), "{events}");
}

#[test]
fn a_bad_scenario_is_bad_usage_and_still_leaves_a_directory() {
    let Some(_guard) = e2e() else { return };
    let out = out_dir("bad");
    let body = "[load]\nusers = 10\nduration = \"5s\"\nspeed = 3\n[pacing]\nmode = \"closed\"\n[[actions]]\nkind = \"text\"\ntext = \"x\"\n";
    let output = tgload(&scenario(&out, body), &out, &[]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(":4:1: load.speed: unknown field `speed`"), "{stderr}");
    assert_eq!(summary(&out)["status"], "error");
    // An override that does not fit the scenario is bad usage too: a closed-paced load has no rate to set.
    let out = out_dir("bad-rate");
    let output = tgload(&shipped("smoke"), &out, &["--rate", "50"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--rate: the scenario's pacing is closed"),
        "{}",
        text(&output)
    );
    assert_eq!(summary(&out)["status"], "error");
}

#[test]
fn a_python_telegram_bot_runs_through_bot_cmd() {
    let Some(_guard) = e2e() else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".venv/bin/python");
    let bot = root.join("mock-telegram/tests/compat/python/ptb_bot.py");
    assert!(python.is_file(), "no {} (.ci/run creates the venv with python-telegram-bot)", python.display());
    let out = out_dir("ptb");
    // That bot echoes text and has a /menu with buttons; nothing else.
    let body = "answer_timeout = \"5s\"\n[load]\nusers = 5\nduration = \"5s\"\n[pacing]\nmode = \"closed\"\n\
                think = \"100ms..300ms\"\n[[actions]]\nkind = \"text\"\nweight = 3\ntext = \"hello\"\n\
                [[actions]]\nkind = \"menu\"\ncommand = \"menu\"\n";
    let command = format!("exec {} {}", python.display(), bot.display());
    let output = tgload(&scenario(&out, body), &out, &["--bot-cmd", &command]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let s = summary(&out);
    assert!(s["actions"]["sent"].as_u64().unwrap() > 20, "{s}");
    assert_eq!(s["actions"]["answered"], s["actions"]["sent"], "{s}");
    assert_eq!(s["actions"]["errors"], 0, "{s}");
}

#[test]
fn ctrl_c_stops_the_run_and_keeps_what_was_measured() {
    let Some(_guard) = e2e() else { return };
    let out = out_dir("interrupt");
    let child = Command::new(tgload_bin())
        .arg("run")
        .arg(shipped("smoke"))
        .args(["--duration", "60s", "--out"])
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("tgload runs");
    // Wait until the load has produced a few seconds of results, then interrupt as a terminal's Ctrl-C would.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::fs::read_to_string(out.join("timeseries.csv")).map_or(0, |t| t.lines().count()) < 4 {
        assert!(std::time::Instant::now() < deadline, "the load never started");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let interrupted = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(interrupted.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "an interrupted run is not a verdict: 128 + SIGINT: {}", text(&output));
    let s = summary(&out);
    assert_eq!(s["status"], "interrupted", "{s}");
    let sent = s["actions"]["sent"].as_u64().unwrap();
    assert!(sent > 0, "what was measured before Ctrl-C is kept: {s}");
    let series =
        charts::series::Timeseries::from_csv(&std::fs::read_to_string(out.join("timeseries.csv")).unwrap()).unwrap();
    assert_eq!(series.rows.iter().map(|r| r.sent).sum::<u64>(), sent);
    let events = std::fs::read_to_string(out.join("events.jsonl")).unwrap();
    assert!(events.contains("\"kind\":\"interrupted\""), "{events}");
    for file in ["meta.json", "report.md", "latency.hlog", "charts/latency.png"] {
        assert!(out.join(file).is_file(), "{file} missing after Ctrl-C");
    }
}

#[test]
fn webhook_mode_delivers_by_webhook() {
    let Some(_guard) = e2e() else { return };
    let out = out_dir("webhook");
    let output = tgload(&shipped("smoke"), &out, &["--webhook", "--users", "4", "--duration", "4s"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let s = summary(&out);
    assert!(s["actions"]["sent"].as_u64().unwrap() > 10, "{s}");
    assert_eq!(s["actions"]["answered"], s["actions"]["sent"], "{s}");
    let bot_log = std::fs::read_to_string(out.join("bot.stderr.log")).unwrap();
    assert!(bot_log.to_lowercase().contains("webhook"), "the bot ran in webhook mode: {bot_log}");
}

/// A webhook bot that registers an https URL, as telegraf always does, and serves plain http on loopback.
const HTTPS_WEBHOOK_BOT: &str = r#"
import http.server, json, os, urllib.request
api, token = os.environ["TELEGRAM_API_URL"].rstrip("/"), os.environ["TELEGRAM_BOT_TOKEN"]
def call(method, **params):
    request = urllib.request.Request(f"{api}/bot{token}/{method}", data=json.dumps(params).encode(),
                                     headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request))
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        update = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.end_headers()
        message = update.get("message") or {}
        if "chat" in message:
            call("sendMessage", chat_id=message["chat"]["id"], text="echo")
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["WEBHOOK_PORT"])), Hook)
print(call("setWebhook", url=os.environ["WEBHOOK_URL"].replace("http://", "https://", 1)), flush=True)
server.serve_forever()
"#;

#[test]
fn a_bot_registering_an_https_webhook_is_delivered_to_over_http() {
    let Some(_guard) = e2e() else { return };
    let out = out_dir("https-webhook");
    let bot = out.with_extension("py");
    std::fs::write(&bot, HTTPS_WEBHOOK_BOT).unwrap();
    let plan = scenario(
        &out,
        "name = \"https-webhook\"\nanswer_timeout = \"5s\"\n[load]\nusers = 4\nhatch_rate = 4\nduration = \"3s\"\n\
         [pacing]\nmode = \"closed\"\nthink = \"100ms..200ms\"\n[[actions]]\nkind = \"text\"\ntext = \"hi\"\n",
    );
    let bot_cmd = format!("python3 {}", bot.display());
    let output = tgload(&plan, &out, &["--webhook", "--bot-cmd", &bot_cmd]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let s = summary(&out);
    assert!(s["actions"]["sent"].as_u64().unwrap() > 10, "{s}");
    assert_eq!(s["actions"]["answered"], s["actions"]["sent"], "{s}");
}

/// The compatibility suite's telegraf bot (mock-telegram/tests/compat/node), unmodified: it reads the
/// TELEGRAM_API_URL, TELEGRAM_BOT_TOKEN, WEBHOOK_URL and WEBHOOK_PORT that `--bot-cmd` gives every bot, and
/// registers an https webhook that tgload's mock delivers to over http. Without its node_modules it is skipped
/// unless TGLOAD_COMPAT is set: then a missing framework is a failure, as in the compatibility suite.
#[test]
fn telegraf_webhook_runs_through_tgload() {
    let Some(_guard) = e2e() else { return };
    let node_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mock-telegram/tests/compat/node");
    let telegraf = node_dir.join("node_modules/telegraf");
    if !telegraf.is_dir() {
        let missing = format!("no {} (run ci/setup-compat.sh)", telegraf.display());
        assert!(std::env::var_os("TGLOAD_COMPAT").is_none(), "TGLOAD_COMPAT is set but there is {missing}");
        eprintln!("skipped: {missing}");
        return;
    }
    let out = out_dir("telegraf-webhook");
    // That bot echoes text and has a /menu with buttons (and handles photos, inline queries and blocks, which
    // scenarios do not send).
    let plan = scenario(
        &out,
        "name = \"telegraf-webhook\"\nanswer_timeout = \"5s\"\n[load]\nusers = 4\nhatch_rate = 4\nduration = \"4s\"\n\
         [pacing]\nmode = \"closed\"\nthink = \"100ms..300ms\"\n[[actions]]\nkind = \"text\"\nweight = 3\n\
         text = \"hello\"\n[[actions]]\nkind = \"menu\"\ncommand = \"menu\"\n",
    );
    let bot_cmd = format!("exec node {}", node_dir.join("telegraf_bot.js").display());
    let output = tgload(&plan, &out, &["--webhook", "--bot-cmd", &bot_cmd]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let s = summary(&out);
    assert!(s["actions"]["sent"].as_u64().unwrap() > 10, "{s}");
    assert_eq!(s["actions"]["answered"], s["actions"]["sent"], "{s}");
    assert_eq!(s["actions"]["errors"], 0, "{s}");
    let bot_log = std::fs::read_to_string(out.join("bot.stderr.log")).unwrap();
    assert!(bot_log.contains("launched with a webhook"), "the bot ran in webhook mode: {bot_log}");
}

#[test]
fn a_starved_generator_is_inconclusive_not_a_slow_bot() {
    let Some(_guard) = e2e() else { return };
    let out = out_dir("starved");
    let echo = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/echo.toml");
    // tgload and the bot share one core (as in a one-CPU container), at far more than the two of them can
    // keep: the generator is starved by the bot and sends late. On two cores of its own it no longer is: the
    // bot is the bottleneck there.
    let output = Command::new("taskset")
        .args(["--cpu-list", "0"])
        .arg(tgload_bin())
        .arg("run")
        .arg(&echo)
        .arg("--out")
        .arg(&out)
        .args(["--rate", "40000", "--duration", "4s"])
        .output()
        .expect("taskset runs (util-linux)");
    assert_eq!(output.status.code(), Some(98), "{}", text(&output));
    let s = summary(&out);
    assert_eq!((s["verdict"].as_str(), s["generator"]["verdict"].as_str()), (Some("inconclusive"), Some("saturated")));
    assert!(!s["generator"]["reasons"].as_array().unwrap().is_empty(), "{s}");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.lines().nth(4).unwrap_or_default().starts_with("**The generator was saturated"), "{report}");
}

#[test]
fn a_restarted_bot_settles_and_the_time_it_took_is_judged() {
    let Some(_guard) = e2e() else { return };
    let out = out_dir("restart");
    // 20 actions a second; the bot exits after 300 updates (about 15 s in) and is restarted once more after 300
    // more; each restart is judged like a fault window, from the new bot's start to the run settling again.
    let body = "answer_timeout = \"3s\"\n[load]\nusers = 40\nduration = \"45s\"\n[pacing]\nmode = \"open\"\n\
        rate_per_s = 20\n[[actions]]\nkind = \"text\"\ntext = \"hi\"\n[bot]\nenv = { TGLOAD_EXIT_AFTER = \"300\" }\n";
    let output = tgload(&scenario(&out, body), &out, &["--restart"]);
    assert!(matches!(output.status.code(), Some(0 | 99)), "{}", text(&output));
    let s = summary(&out);
    assert!(s["bot"]["restarts"].as_u64().unwrap() >= 1, "{s}");
    let first = s["faults"].as_array().unwrap().iter().find(|f| f["name"] == "bot restart 1").cloned().unwrap();
    assert_eq!(first["verdict"], "recovered", "{first}");
    // The bundled bot starts and polls within a second or two; the first healthy window begins soon after.
    assert!(first["seconds"].as_f64().is_some_and(|t| t < 8.0), "{first}");
    assert!(first["start_s"].as_f64().is_some_and(|t| (10.0..20.0).contains(&t)), "{first}");
    // tgload report judges the same restart from the events.
    let report = std::process::Command::new(tgload_bin()).arg("report").arg(&out).output().unwrap();
    assert_eq!(report.status.code(), Some(0), "{}", text(&report));
    let rebuilt = summary(&out);
    let again = rebuilt["faults"].as_array().unwrap().iter().find(|f| f["name"] == "bot restart 1").cloned().unwrap();
    assert_eq!(again["verdict"], first["verdict"], "{again}");
}

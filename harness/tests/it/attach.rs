//! `tgload run --mock-url`: tgload attached to a mock-telegram and a bot that it did not start, the control API
//! reached over the network (loopback h2c). The test starts the standalone mock and the bundled bot itself.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use super::*;

pub const TOKEN: &str = "7000002:tgload-attach-test-AAAAAAAAAAAAAAAAAAA";

/// Kills what the test started, however it ends.
pub struct Running(pub Vec<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `binary`, run through `prefix` (e.g. `ip netns exec NS`) when one is given.
pub fn command_in(prefix: &[&str], binary: &Path) -> Command {
    match prefix {
        [] => Command::new(binary),
        [program, rest @ ..] => {
            let mut command = Command::new(program);
            command.args(rest).arg(binary);
            command
        }
    }
}

/// The standalone mock on a free loopback port, and its root URL (from the line it prints).
pub fn standalone_mock() -> (Child, String) {
    standalone_mock_in(&[], "127.0.0.1:0")
}

/// The standalone mock bound to `bind`, started through `prefix` (e.g. `ip netns exec NS`), and its root URL.
pub fn standalone_mock_in(prefix: &[&str], bind: &str) -> (Child, String) {
    let binary = tgload_bin().with_file_name("mock-telegram");
    assert!(binary.is_file(), "no {} (cargo build --release -p mock-telegram)", binary.display());
    let mut command = command_in(prefix, &binary);
    let mut mock =
        command.args(["--bind", bind, "--token", TOKEN]).stdout(Stdio::piped()).spawn().expect("mock-telegram starts");
    let mut line = String::new();
    BufReader::new(mock.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url =
        line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected line {line:?}")).to_string();
    (mock, url)
}

pub fn bundled_bot(url: &str, out: &Path) -> Child {
    bundled_bot_in(&[], url, out)
}

/// The bundled bot pointed at `url`, started through `prefix`.
pub fn bundled_bot_in(prefix: &[&str], url: &str, out: &Path) -> Child {
    let binary = tgload_bin().with_file_name("bot-under-test");
    let mut command = command_in(prefix, &binary);
    command
        .env("TELEGRAM_API_URL", url)
        .env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("DATABASE_PATH", out.with_extension("sqlite"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the bundled bot starts")
}

#[test]
fn a_run_attached_to_a_running_mock_and_bot_drives_them_and_starts_neither() {
    let Some(_guard) = e2e() else { return };
    let out = out_dir("attach");
    let plan = scenario(
        &out,
        "name = \"attach\"\nanswer_timeout = \"5s\"\n[load]\nusers = 20\nduration = \"3s\"\n[pacing]\nmode = \"open\"\n\
         rate_per_s = 40\n[[actions]]\nkind = \"text\"\ntext = \"hello\"\nweight = 3\n[[actions]]\nkind = \"menu\"\n\
         command = \"menu\"\n",
    );
    let (mock, url) = standalone_mock();
    let bot = bundled_bot(&url, &out);
    let bot_pid = bot.id().to_string();
    let _running = Running(vec![mock, bot]);
    let output = tgload(&plan, &out, &["--mock-url", &url, "--token", TOKEN, "--bot-pid", &bot_pid]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let s = summary(&out);
    assert!(s["actions"]["sent"].as_u64().unwrap() >= 100, "{s}");
    assert_eq!(s["actions"]["answered"], s["actions"]["sent"], "{s}");
    assert!(s["bot"]["rss_peak_mb"].as_f64().unwrap() > 1.0, "the bot named by --bot-pid was sampled: {s}");
    // tgload started no bot of its own: the attached one answered everything.
    assert!(
        !out.join("bot.stderr.log").exists() || std::fs::read_to_string(out.join("bot.stderr.log")).unwrap().is_empty()
    );
    let events = std::fs::read_to_string(out.join("events.jsonl")).unwrap();
    assert!(events.contains("\"bot_attached\"") && !events.contains("\"bot_started\""), "{events}");

    // Without --bot-pid the bot's resources are not measured, and the report says so.
    let second = out_dir("attach-no-pid");
    let output = tgload(&plan, &second, &["--mock-url", &url, "--token", TOKEN, "--duration", "1s"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let report = std::fs::read_to_string(second.join("report.md")).unwrap();
    assert!(report.contains("Not measured: no sample of the bot's process"), "{report}");
}

#[test]
fn an_attached_run_refuses_what_only_its_own_mock_can_do() {
    let out = out_dir("attach-refused");
    let plan = scenario(
        &out,
        "name = \"attach-refused\"\n[load]\nusers = 1\nduration = \"1s\"\n[pacing]\nmode = \"closed\"\nthink = \"1s\"\n\
         [telegram]\nlimits = \"real\"\n\
         [[actions]]\nkind = \"text\"\ntext = \"hi\"\n",
    );
    let output = tgload(&plan, &out, &["--mock-url", "http://127.0.0.1:9", "--token", TOKEN]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("--flood-limits"), "{}", text(&output));
    let output = tgload(&plan, &out, &["--mock-url", "http://127.0.0.1:9", "--bot-cmd", "true", "--token", TOKEN]);
    assert_eq!(output.status.code(), Some(2), "--mock-url with --bot-cmd is bad usage: {}", text(&output));
}

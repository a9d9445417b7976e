//! The compatibility suite: an echo and button bot in each of python-telegram-bot, aiogram, pyTelegramBotAPI,
//! teloxide, grammY, telegraf and node-telegram-bot-api, unmodified but for the API URL and token, runs against an
//! in-process mock, by long polling and (but for grammY) by webhook, and is driven through the control API like a
//! synthetic user.
//!
//! It is slow and needs the frameworks installed (`ci/setup-compat.sh`), so it runs only with `TGLOAD_COMPAT=1`;
//! without it every case prints that it was skipped. It checks what a bot *answers*, not how fast.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, ensure, Context as _};
use serde_json::{json, Value};
use tokio::process::{Child, Command};

use crate::support::{self, TOKEN};

const CHAT_ID: i64 = 1001;
/// How long a bot may take to start: Python imports and a cold teloxide start on a busy 2-core machine.
const STARTUP: Duration = Duration::from_secs(60);
/// How long one action waits for the bot's answer.
const ANSWER_WAIT_MS: u64 = 10_000;

#[derive(Debug, Clone, Copy)]
enum Framework {
    Ptb,
    Aiogram,
    Telebot,
    Teloxide,
    Grammy,
    Telegraf,
    Ntba,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Polling,
    Webhook,
}

impl Mode {
    fn control_name(self) -> &'static str {
        match self {
            Mode::Polling => "polling",
            Mode::Webhook => "webhook",
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ptb_polling() {
    check(Framework::Ptb, Mode::Polling).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ptb_webhook() {
    check(Framework::Ptb, Mode::Webhook).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiogram_polling() {
    check(Framework::Aiogram, Mode::Polling).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiogram_webhook() {
    check(Framework::Aiogram, Mode::Webhook).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telebot_polling() {
    check(Framework::Telebot, Mode::Polling).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telebot_webhook() {
    check(Framework::Telebot, Mode::Webhook).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teloxide_polling() {
    check(Framework::Teloxide, Mode::Polling).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teloxide_webhook() {
    check(Framework::Teloxide, Mode::Webhook).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grammy_polling() {
    check(Framework::Grammy, Mode::Polling).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegraf_polling() {
    check(Framework::Telegraf, Mode::Polling).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegraf_webhook() {
    check(Framework::Telegraf, Mode::Webhook).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ntba_polling() {
    check(Framework::Ntba, Mode::Polling).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ntba_webhook() {
    check(Framework::Ntba, Mode::Webhook).await;
}

/// Runs one framework in one mode end to end; panics with the tail of the bot's output on any failure.
async fn check(framework: Framework, mode: Mode) {
    if std::env::var_os("TGLOAD_COMPAT").is_none_or(|value| value != "1") {
        eprintln!("skipped: set TGLOAD_COMPAT=1");
        return;
    }
    // Missing frameworks are a failure, never a silent pass: CI sets TGLOAD_COMPAT=1 only after installing them.
    let command = bot_command(framework).unwrap_or_else(|error| panic!("{framework:?}: {error:#}"));
    let log = std::env::temp_dir().join(format!("tgload-compat-{framework:?}-{mode:?}-{}.log", std::process::id()));
    match run(framework, mode, command, &log).await {
        // The output is kept only when it explains a failure.
        Ok(()) => {
            let _ = std::fs::remove_file(&log);
        }
        Err(error) => panic!(
            "{framework:?} {mode:?}: {error:#}\n--- last lines of the bot's output ({}) ---\n{}",
            log.display(),
            tail(&log, 40)
        ),
    }
}

async fn run(framework: Framework, mode: Mode, command: Command, log: &Path) -> anyhow::Result<()> {
    let mock = Mock::start().await;
    let webhook_port = match mode {
        Mode::Polling => None,
        Mode::Webhook => Some(free_port()?),
    };
    let mut bot = spawn_bot(command, &mock, webhook_port, log)?;
    mock.wait_for_mode(mode, &mut bot).await?;
    if let Some(port) = webhook_port {
        // Some frameworks register the webhook before they listen; real Telegram would retry, the suite waits.
        wait_for_listener(port, &mut bot).await?;
    }
    let user = User { mock: &mock, framework, mode };
    user.check_echo().await?;
    user.check_menu_and_button().await?;
    mock.check_stats().await?;
    // Dropping `bot` kills the process (`kill_on_drop`).
    drop(bot);
    Ok(())
}

/// The command that starts `framework`'s bot, or why it cannot be started.
fn bot_command(framework: Framework) -> anyhow::Result<Command> {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let compat = crate_dir.join("tests/compat");
    let setup_hint = "run ci/setup-compat.sh to install the compatibility suite's frameworks";
    let command = match framework {
        Framework::Ptb | Framework::Aiogram | Framework::Telebot => {
            let python = crate_dir.join("../.venv/bin/python");
            ensure!(python.exists(), "{} is missing: {setup_hint}", python.display());
            let script = match framework {
                Framework::Ptb => "ptb_bot.py",
                Framework::Telebot => "telebot_bot.py",
                _ => "aiogram_bot.py",
            };
            let mut command = Command::new(python);
            command.arg(compat.join("python").join(script)).env("PYTHONUNBUFFERED", "1");
            command
        }
        Framework::Grammy | Framework::Telegraf | Framework::Ntba => {
            let node_dir = compat.join("node");
            let (package, script) = match framework {
                Framework::Grammy => ("grammy", "grammy_bot.js"),
                Framework::Ntba => ("node-telegram-bot-api", "ntba_bot.js"),
                _ => ("telegraf", "telegraf_bot.js"),
            };
            let installed = node_dir.join("node_modules").join(package);
            ensure!(installed.exists(), "{} is missing: {setup_hint}", installed.display());
            let mut command = Command::new("node");
            command.arg(node_dir.join(script)).current_dir(node_dir);
            command
        }
        Framework::Teloxide => Command::new(teloxide_example()?),
    };
    Ok(command)
}

/// The `teloxide_compat` example, which `cargo test` builds next to this test binary (`target/<profile>/deps`).
fn teloxide_example() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the test binary")?;
    let profile_dir = exe.parent().and_then(Path::parent).context("the test binary has no target directory")?;
    let example = profile_dir.join("examples").join(format!("teloxide_compat{}", std::env::consts::EXE_SUFFIX));
    ensure!(
        example.exists(),
        "{} is missing: build it with `cargo build -p mock-telegram --examples`",
        example.display()
    );
    Ok(example)
}

fn spawn_bot(mut command: Command, mock: &Mock, webhook_port: Option<u16>, log: &Path) -> anyhow::Result<Child> {
    let output = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let api_url = mock.api_url();
    command
        .env("TELEGRAM_API_URL", api_url)
        .env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("TELOXIDE_API_URL", api_url)
        .env("TELOXIDE_TOKEN", TOKEN)
        // Loopback must never go through a proxy the environment may configure (httpx and aiohttp honour them).
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .stdout(output.try_clone()?)
        .stderr(output)
        .kill_on_drop(true);
    for var in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"] {
        command.env_remove(var);
    }
    if let Some(port) = webhook_port {
        command.env("WEBHOOK_URL", format!("http://127.0.0.1:{port}/webhook")).env("WEBHOOK_PORT", port.to_string());
    }
    command.spawn().with_context(|| format!("starting {:?}", command.as_std().get_program()))
}

/// A port that was free a moment ago, for the bot's webhook listener.
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

async fn wait_for_listener(port: u16, bot: &mut Child) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + STARTUP;
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(());
        }
        exited(bot)?;
        ensure!(tokio::time::Instant::now() < deadline, "the bot registered its webhook but never listened on {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Fails if the bot process has already exited.
fn exited(bot: &mut Child) -> anyhow::Result<()> {
    match bot.try_wait()? {
        Some(status) => bail!("the bot exited early with {status}"),
        None => Ok(()),
    }
}

/// The last `lines` lines of the bot's output, for failure messages.
fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(error) => format!("(unreadable: {error})"),
    }
}

/// The mock, served in-process on an ephemeral loopback port with the bot registered (`support`).
struct Mock {
    inner: support::Mock,
}

impl Mock {
    async fn start() -> Mock {
        // telegraf always registers an https:// webhook URL; the mock delivers it over http on loopback.
        let config = mock_telegram::Config { webhook_https_to_http: true, ..mock_telegram::Config::default() };
        Mock { inner: support::start_with(config).await }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/control/bots/{TOKEN}{path}", self.inner.url)
    }

    fn api_url(&self) -> &str {
        &self.inner.url
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let response = self.inner.http.get(self.url(path)).send().await?;
        let status = response.status();
        let body = response.text().await?;
        ensure!(status.is_success(), "GET {path}: {status} {body}");
        serde_json::from_str(&body).with_context(|| format!("GET {path}: not JSON: {body}"))
    }

    /// Waits until the control API reports the bot polling or with its webhook set.
    async fn wait_for_mode(&self, mode: Mode, bot: &mut Child) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + STARTUP;
        loop {
            let state = self.get("").await?;
            if state["mode"] == mode.control_name() {
                return Ok(());
            }
            exited(bot)?;
            ensure!(
                tokio::time::Instant::now() < deadline,
                "the bot did not reach mode {:?} within {STARTUP:?}; last state {state}",
                mode.control_name()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every action was answered, none timed out, exactly one call (the edit after answerCallbackQuery, or the
    /// reverse) was a follow-up, and the mock rejected none of the bot's calls. The follow-up may still be on its
    /// way when the edit is already visible, so this waits for it.
    async fn check_stats(&self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(ANSWER_WAIT_MS);
        loop {
            let stats = self.get("/stats").await?;
            let actions = &stats["actions"];
            ensure!(actions["answered"] == 3 && actions["timed_out"] == 0, "unexpected action counts: {stats}");
            let rejected: u64 =
                stats["bot_errors"].as_object().into_iter().flatten().filter_map(|(_, n)| n.as_u64()).sum();
            ensure!(rejected == 0, "the mock rejected {rejected} of the bot's calls: {stats}");
            if stats["unprompted"] == 1 {
                return Ok(());
            }
            ensure!(tokio::time::Instant::now() < deadline, "expected exactly one follow-up call: {stats}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A synthetic user in a private chat with the bot.
struct User<'a> {
    mock: &'a Mock,
    framework: Framework,
    mode: Mode,
}

impl User<'_> {
    /// Performs an action and waits for the bot's answer; returns the whole control API response.
    async fn act(&self, action: Value) -> anyhow::Result<Value> {
        let body = json!({"chat_id": CHAT_ID, "action": action, "wait_ms": ANSWER_WAIT_MS});
        let response = self.mock.inner.http.post(self.mock.url("/actions")).json(&body).send().await?;
        let status = response.status();
        let text = response.text().await?;
        ensure!(status.is_success(), "action {action}: {status} {text}");
        let reply: Value = serde_json::from_str(&text).with_context(|| format!("action {action}: not JSON: {text}"))?;
        ensure!(reply["outcome"] == "answered", "action {action}: not answered: {reply}");
        Ok(reply)
    }

    async fn check_echo(&self) -> anyhow::Result<()> {
        let text = format!("hello from {:?} ü🙂", self.framework);
        let reply = self.act(json!({"kind": "text", "text": text})).await?;
        let answer = &reply["answer"];
        ensure!(answer["method"] == "sendMessage", "echo answered by {}, not sendMessage: {reply}", answer["method"]);
        ensure!(answer["text"] == text.as_str(), "echo answered {} instead of {text:?}: {reply}", answer["text"]);
        Ok(())
    }

    /// `/menu` gets a keyboard; pressing "opt:1" is answered by answerCallbackQuery, and the bot then edits the
    /// menu message to "You chose 1".
    async fn check_menu_and_button(&self) -> anyhow::Result<()> {
        let reply = self.act(json!({"kind": "command", "command": "menu"})).await?;
        let answer = &reply["answer"];
        ensure!(answer["method"] == "sendMessage", "/menu answered by {}, not sendMessage: {reply}", answer["method"]);
        let buttons: Vec<&Value> = answer["reply_markup"]["inline_keyboard"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|row| row.as_array().into_iter().flatten())
            .collect();
        let data: Vec<&str> = buttons.iter().filter_map(|button| button["callback_data"].as_str()).collect();
        ensure!(data == ["opt:1", "opt:2"], "/menu keyboard has callback data {data:?}: {reply}");
        let menu_id = answer["message_id"].as_i64().context("the /menu answer has no message_id")?;

        let reply = self.act(json!({"kind": "callback", "message_id": menu_id, "data": "opt:1"})).await?;
        let method = &reply["answer"]["method"];
        // telegraf answers the query in the webhook response, which races its editMessageText over HTTP; the mock
        // takes whichever arrives first as the answer and counts the other as a follow-up (see `check_stats`).
        let race = matches!((self.framework, self.mode), (Framework::Telegraf, Mode::Webhook));
        let answered = method == "answerCallbackQuery" || (race && method == "editMessageText");
        ensure!(answered, "the button press answered by {method}: {reply}");
        self.wait_for_edit(menu_id, "You chose 1").await
    }

    /// Waits for the bot's edit of the menu message, read from the chat's history because it is normally a
    /// follow-up that answers no action. An edit without `reply_markup` removes the keyboard, as on Telegram.
    async fn wait_for_edit(&self, message_id: i64, want: &str) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(ANSWER_WAIT_MS);
        loop {
            let messages = self.mock.get(&format!("/chats/{CHAT_ID}/messages")).await?;
            let message = messages.as_array().into_iter().flatten().find(|m| m["message_id"] == message_id);
            if let Some(message) = message.filter(|m| m["text"] == want) {
                ensure!(message.get("reply_markup").is_none(), "the edit kept the keyboard: {message}");
                return Ok(());
            }
            ensure!(
                tokio::time::Instant::now() < deadline,
                "message {message_id} never read {want:?}; it is {}",
                message.map_or("missing".to_owned(), Value::to_string)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

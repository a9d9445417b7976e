//! The compatibility suite: an echo and button bot in each of python-telegram-bot, aiogram, pyTelegramBotAPI,
//! teloxide, grammY, telegraf and node-telegram-bot-api, unmodified but for the API URL and token, runs against an
//! in-process mock, by long polling and (but for grammY) by webhook, and is driven through the control API like a
//! synthetic user.
//!
//! The python-telegram-bot, aiogram, teloxide, grammY and telegraf bots do more, each with its framework's own
//! calls: a photo is downloaded and its bytes sent back as a new document, an inline query is answered with one
//! article, and a user blocking the bot makes it try to say "bye" (which Telegram refuses with 403, and the bot
//! survives) and unblocking it makes it say "welcome back".
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

impl Framework {
    /// Whether the framework's bot also handles photos, inline queries and blocks (`check_inline`, `check_block`);
    /// the others only echo and show a menu.
    fn handles_media_inline_and_blocks(self) -> bool {
        matches!(
            self,
            Framework::Ptb | Framework::Aiogram | Framework::Teloxide | Framework::Grammy | Framework::Telegraf
        )
    }
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
    let user = User { mock: &mock, framework, mode, log };
    user.check_echo(&format!("hello from {framework:?} ü🙂")).await?;
    user.check_menu_and_button().await?;
    // The echo, the menu and the button are answered; the one unprompted call is the edit after
    // answerCallbackQuery (or the reverse).
    let mut expected = Expected { answered: 3, notified: 0, unprompted: 1, bot_errors: json!({}) };
    if framework.handles_media_inline_and_blocks() {
        user.check_media().await?;
        expected.answered += 1;
    }
    if framework.handles_media_inline_and_blocks() {
        user.check_inline().await?;
        user.check_block().await?;
        // The inline query and the echo after the unblock are answered; the block and the unblock are
        // notifications; the "bye" the block refused (a failed send answers no action) and the "welcome back" are
        // unprompted.
        expected.answered += 2;
        expected.notified += 2;
        expected.unprompted += 2;
        expected.bot_errors = json!({"403": 1});
    }
    mock.check_stats(&expected).await?;
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

/// What the mock's stats must say at the end of a case.
struct Expected {
    answered: u64,
    notified: u64,
    unprompted: u64,
    /// `bot_errors` exactly: the count of each status code the mock refused the bot's calls with.
    bot_errors: Value,
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

    /// A Bot API call made as the bot (reading what it sent); returns `result`.
    async fn bot_call(&self, method: &str, params: Value) -> anyhow::Result<Value> {
        let url = format!("{}/bot{TOKEN}/{method}", self.inner.url);
        let response = self.inner.http.post(url).json(&params).send().await?;
        let body: Value = response.json().await?;
        ensure!(body["ok"] == true, "{method} {params}: {body}");
        Ok(body["result"].clone())
    }

    /// The bytes of a file the mock stores, by its id: getFile, then the download route.
    async fn download(&self, file_id: &Value) -> anyhow::Result<Vec<u8>> {
        let file = self.bot_call("getFile", json!({"file_id": file_id})).await?;
        let path = file["file_path"].as_str().with_context(|| format!("getFile gave no file_path: {file}"))?;
        let response = self.inner.http.get(format!("{}/file/bot{TOKEN}/{path}", self.inner.url)).send().await?;
        let status = response.status();
        ensure!(status.is_success(), "downloading {path}: {status}");
        Ok(response.bytes().await?.to_vec())
    }

    /// The chat's recent messages, oldest first.
    async fn messages(&self) -> anyhow::Result<Vec<Value>> {
        let messages = self.get(&format!("/chats/{CHAT_ID}/messages")).await?;
        messages.as_array().cloned().with_context(|| format!("the chat's messages are not a list: {messages}"))
    }

    /// Every action was answered as `expected` says, none timed out or was answered with an error, the
    /// notifications were delivered, the mock refused exactly `expected.bot_errors` of the bot's calls, and
    /// exactly `expected.unprompted` calls answered no action. A follow-up may still be on its way when its
    /// message is already visible, so this waits for the unprompted count to reach what is expected.
    async fn check_stats(&self, expected: &Expected) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(ANSWER_WAIT_MS);
        loop {
            let stats = self.get("/stats").await?;
            let actions = &stats["actions"];
            ensure!(
                actions["answered"] == expected.answered
                    && actions["notified"] == expected.notified
                    && actions["answered_with_error"] == 0
                    && actions["timed_out"] == 0,
                "unexpected action counts (want {} answered, {} notified): {stats}",
                expected.answered,
                expected.notified
            );
            ensure!(
                stats["bot_errors"] == expected.bot_errors,
                "the mock refused the bot's calls {} times by status, not {}: {stats}",
                stats["bot_errors"],
                expected.bot_errors
            );
            let unprompted = stats["unprompted"].as_u64().context("stats have no unprompted count")?;
            ensure!(unprompted <= expected.unprompted, "expected {} unprompted calls: {stats}", expected.unprompted);
            if unprompted == expected.unprompted {
                return Ok(());
            }
            ensure!(
                tokio::time::Instant::now() < deadline,
                "expected {} unprompted calls: {stats}",
                expected.unprompted
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the mock has refused `count` of the bot's calls with `code`.
    async fn wait_for_bot_errors(&self, code: &str, count: u64) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(ANSWER_WAIT_MS);
        loop {
            let stats = self.get("/stats").await?;
            if stats["bot_errors"][code] == count {
                return Ok(());
            }
            ensure!(
                tokio::time::Instant::now() < deadline,
                "the mock never refused {count} of the bot's calls with {code}: {stats}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A synthetic user in a private chat with the bot.
struct User<'a> {
    mock: &'a Mock,
    framework: Framework,
    mode: Mode,
    /// The bot's output, where it says what it did with a refused send.
    log: &'a Path,
}

impl User<'_> {
    /// Performs an action and waits for the bot's answer; returns the whole control API response.
    async fn act(&self, action: Value) -> anyhow::Result<Value> {
        self.act_until(action, "answered").await
    }

    /// Performs an action and waits until it ends with `outcome` (`answered`, or `delivered` for a notification);
    /// returns the whole control API response.
    async fn act_until(&self, action: Value, outcome: &str) -> anyhow::Result<Value> {
        let body = json!({"chat_id": CHAT_ID, "action": action, "wait_ms": ANSWER_WAIT_MS});
        let response = self.mock.inner.http.post(self.mock.url("/actions")).json(&body).send().await?;
        let status = response.status();
        let text = response.text().await?;
        ensure!(status.is_success(), "action {action}: {status} {text}");
        let reply: Value = serde_json::from_str(&text).with_context(|| format!("action {action}: not JSON: {text}"))?;
        ensure!(reply["outcome"] == outcome, "action {action}: not {outcome}: {reply}");
        Ok(reply)
    }

    async fn check_echo(&self, text: &str) -> anyhow::Result<()> {
        let reply = self.act(json!({"kind": "text", "text": text})).await?;
        let answer = &reply["answer"];
        ensure!(answer["method"] == "sendMessage", "echo answered by {}, not sendMessage: {reply}", answer["method"]);
        ensure!(answer["text"] == text, "echo answered {} instead of {text:?}: {reply}", answer["text"]);
        Ok(())
    }

    /// A 30 KiB photo is answered by sendDocument with the caption "got 30720 bytes", and the document the bot
    /// uploaded is the photo's bytes: it downloaded the photo and sent what it got as a new file.
    async fn check_media(&self) -> anyhow::Result<()> {
        const SIZE: usize = 30 * 1024;
        let reply = self.act(json!({"kind": "photo", "size": "30KB"})).await?;
        let answer = &reply["answer"];
        ensure!(
            answer["method"] == "sendDocument",
            "the photo answered by {}, not sendDocument: {reply}",
            answer["method"]
        );
        let caption = format!("got {SIZE} bytes");
        ensure!(
            answer["text"] == caption.as_str(),
            "the photo answered {} instead of {caption:?}: {reply}",
            answer["text"]
        );

        let messages = self.mock.messages().await?;
        let find = |id: &Value| messages.iter().find(|m| m["message_id"] == *id);
        let photo =
            find(&reply["message_id"]).with_context(|| format!("the user's photo is not in the chat: {reply}"))?;
        let sent =
            find(&answer["message_id"]).with_context(|| format!("the bot's document is not in the chat: {reply}"))?;
        let document = &sent["document"];
        ensure!(
            document["file_name"] == "photo.png" && document["file_size"] == SIZE,
            "the bot's document is not a {SIZE}-byte photo.png: {sent}"
        );
        ensure!(
            document["file_id"] != photo["photo"][0]["file_id"],
            "the bot sent the photo's file id, not an upload: {sent}"
        );
        let uploaded = self.mock.download(&document["file_id"]).await?;
        let original = self.mock.download(&photo["photo"][0]["file_id"]).await?;
        ensure!(uploaded.len() == SIZE, "the bot's document has {} bytes, not {SIZE}", uploaded.len());
        ensure!(uploaded == original, "the bot's document is not the photo's bytes");
        Ok(())
    }

    /// An inline query "cats" is answered by answerInlineQuery with one result.
    async fn check_inline(&self) -> anyhow::Result<()> {
        let reply = self.act(json!({"kind": "inline_query", "query": "cats"})).await?;
        let answer = &reply["answer"];
        ensure!(
            answer["method"] == "answerInlineQuery" && answer["results"] == 1,
            "the inline query answered by {} with {} results, not answerInlineQuery with 1: {reply}",
            answer["method"],
            answer["results"]
        );
        Ok(())
    }

    /// Blocking the bot is done when the bot has the `my_chat_member` update; its "bye" is refused with 403 and
    /// the bot carries on: unblocking it gets "welcome back", and the echo still works.
    async fn check_block(&self) -> anyhow::Result<()> {
        self.act_until(json!({"kind": "block"}), "delivered").await?;
        self.mock.wait_for_bot_errors("403", 1).await?;
        // The bot caught the error itself (every framework would survive an error escaping a handler too).
        self.wait_for_output(&format!("could not say bye to {CHAT_ID}: Forbidden: bot was blocked by the user"))
            .await?;
        self.act_until(json!({"kind": "unblock"}), "delivered").await?;
        self.wait_for_message("welcome back").await?;
        let messages = self.mock.messages().await?;
        let bye = messages.iter().find(|m| m["text"] == "bye");
        ensure!(
            bye.is_none(),
            "the blocked chat got the bot's message: {}",
            bye.map_or(String::new(), Value::to_string)
        );
        self.check_echo("back again").await
    }

    /// Waits for a line of the bot's output that contains `want`.
    async fn wait_for_output(&self, want: &str) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(ANSWER_WAIT_MS);
        loop {
            let output = std::fs::read(self.log).with_context(|| format!("reading {}", self.log.display()))?;
            if String::from_utf8_lossy(&output).lines().any(|line| line.contains(want)) {
                return Ok(());
            }
            ensure!(tokio::time::Instant::now() < deadline, "the bot never logged {want:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for a message of the bot's reading `want` in the chat's history.
    async fn wait_for_message(&self, want: &str) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(ANSWER_WAIT_MS);
        loop {
            let messages = self.mock.messages().await?;
            if messages.iter().any(|m| m["text"] == want && m["from"]["is_bot"] == true) {
                return Ok(());
            }
            ensure!(tokio::time::Instant::now() < deadline, "the bot never sent {want:?}; the chat has {messages:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
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
            let messages = self.mock.messages().await?;
            let message = messages.iter().find(|m| m["message_id"] == message_id);
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

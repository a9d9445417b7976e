//! The bot's life during a run: starting it under its supervisor and waiting until it polls, and what its exit
//! means (a crash that ends the run, or a restart with `--restart`, whose recovery is judged later).

use serde_json::json;
use tokio::sync::watch;

use super::super::setup::{free_port, wait_ready};
use super::Session;
use crate::bot::{self, Bot, Program, Surroundings};
use crate::driver::now_us;
use crate::error::Error;
use crate::signals::Signals;
use crate::summary::Status;

/// How often a crashing bot is restarted before the run gives up on it.
const MAX_RESTARTS: u32 = 10;

impl Session {
    /// Starts the bot and waits until it polls (or has set its webhook); `None` when attached to a mock whose bot
    /// runs elsewhere, once that bot is connected.
    pub(super) async fn launch_bot(&mut self, signals: &mut Signals) -> Result<Option<Bot>, Error> {
        self.control.register_bot().await?;
        if self.mock.is_none() {
            return self.attach_bot(signals).await.map(|()| None);
        }
        self.launch.supervisor =
            std::env::current_exe().map_err(|e| Error::Bot(format!("cannot locate tgload itself: {e}")))?;
        if let Program::Bundled(path) = &mut self.launch.program {
            *path = bot::bundled_path()?;
        }
        let webhook = if self.webhook { Some(free_port()?) } else { None };
        let webhook_url = webhook.map(|port| format!("http://127.0.0.1:{port}/webhook"));
        let external_api_url = self.external.as_ref().map(|e| e.uri());
        self.launch.env = bot::environment(&Surroundings {
            mock_url: self.control.base(),
            token: self.control.token(),
            external_api_url: external_api_url.as_deref(),
            database_path: &self.dir.path().join("bot.sqlite"),
            webhook: webhook_url.as_deref().zip(webhook),
            extra: &self.scenario.bot.env,
        });
        let mut bot = Bot::spawn(&self.launch, &self.bot_pid)?;
        let (name, command) = match &self.launch.program {
            Program::Bundled(path) => ("bundled bot", path.display().to_string()),
            Program::Shell(line) => ("bot command", line.clone()),
        };
        self.event(now_us(), "bot_started", json!({"name": name, "command": command}))?;
        wait_ready(&self.control, Some(&mut bot), Some(self.webhook), signals).await.map_err(|e| match e {
            Error::Bot(m) => {
                Error::Bot(format!("{m}; last lines of bot.stderr.log:\n{}", bot::tail(&self.launch.stderr, 20)))
            }
            other => other,
        })?;
        Ok(Some(bot))
    }

    /// A bot that runs elsewhere, connected to the attached mock: noted, and waited for until it polls or has set
    /// its webhook.
    async fn attach_bot(&mut self, signals: &mut Signals) -> Result<(), Error> {
        let pid = self.bot_pid.load(std::sync::atomic::Ordering::Relaxed);
        let resources = if pid == 0 { "not measured (no --bot-pid)".to_string() } else { format!("pid {pid}") };
        let fields = json!({"name": "attached bot", "mock": self.control.base(), "resources": resources});
        self.event(now_us(), "bot_attached", fields)?;
        wait_ready(&self.control, None, None, signals).await.map_err(|e| match e {
            Error::Bot(m) => {
                Error::Bot(format!("{m} at {} (is it connected to that mock with this token?)", self.control.base()))
            }
            other => other,
        })
    }

    pub(super) fn on_bot_exit(
        &mut self,
        how: String,
        bot: &mut Option<Bot>,
        stop: &watch::Sender<bool>,
    ) -> Result<(), Error> {
        let now = now_us();
        *bot = None;
        self.bot_pid.store(0, std::sync::atomic::Ordering::Relaxed);
        self.load.exits += 1;
        self.load.collector.bot_down(now);
        self.event(now, "bot_exited", json!({"name": how}))?;
        if self.load.stopping.is_some() {
            return Ok(());
        }
        if self.restart && self.load.restarts < MAX_RESTARTS {
            if let Ok(restarted) = Bot::spawn(&self.launch, &self.bot_pid) {
                *bot = Some(restarted);
                self.load.restarts += 1;
                self.load.awaiting_recovery = Some(now_us());
                self.load.restarted.push((now, now_us()));
                return self.event(now_us(), "bot_started", json!({"name": "restart", "restart": self.load.restarts}));
            }
        }
        self.load.status = Status::BotCrashed;
        self.stop(stop);
        Ok(())
    }
}

//! Getting a run ready: the in-process services (or a mock elsewhere, attached with `--mock-url`), waiting for the
//! bot to poll, a port for its webhook, the group chats.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use super::{Attach, TOKEN};
use crate::bot::Bot;
use crate::control::{is_ready, Control};
use crate::driver::USER_ID_BASE;
use crate::error::Error;
use crate::scenario::{Chats, Scenario, Target};
use crate::services::{self, Mock};
use crate::signals::Signals;

/// How long the bot may take to start polling (or set its webhook).
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// What a run talks to: the mock and the external API mock in this process, or only a mock elsewhere.
pub(super) struct Services {
    pub mock: Option<Mock>,
    /// Kept alive for the run: dropping it stops the external API.
    pub external: Option<bot_under_test::external_api::ExternalApi>,
    /// The mock's control API; its root URL and the bot's token there too.
    pub control: Control,
}

pub(super) async fn start_services(scenario: &Scenario) -> Result<Services, Error> {
    let mock = Mock::start(scenario.telegram_limits.enforced()).await?;
    let external = services::start_external_api(&scenario.external_api, &scenario.faults, scenario.seed).await?;
    let control = Control::new(&mock.url, TOKEN)?;
    Ok(Services { mock: Some(mock), external: Some(external), control })
}

/// A mock that already runs: only what its control API can do applies. The external API and the enforcement of
/// Telegram's limits belong to processes tgload does not start, so a scenario that needs them is refused.
pub(super) fn attach_services(scenario: &Scenario, attach: &Attach) -> Result<Services, Error> {
    let refuse = |what: &str| Error::Usage(format!("scenario {}: with --mock-url, {what}", scenario.name));
    if scenario.faults.iter().any(|f| matches!(f.target, Target::ExternalApi { .. })) {
        return Err(refuse("faults on the external API cannot apply: its mock is started only with the bundled bot (Bot API faults do apply)"));
    }
    if scenario.telegram_limits.enforced().is_some() {
        return Err(refuse("[telegram] limits cannot be enforced from here: start mock-telegram with --flood-limits (they are measured either way)"));
    }
    let control = Control::new(&attach.mock_url, &attach.token)?;
    Ok(Services { mock: None, external: None, control })
}

/// Creates the groups of `users` (those this generator drives: a shard's groups are whole), members in user order;
/// returns their chat ids by group index.
pub(super) async fn create_groups(
    control: &Control,
    chats: &Chats,
    users: &[usize],
) -> Result<BTreeMap<usize, i64>, Error> {
    let mut members: BTreeMap<usize, Vec<i64>> = BTreeMap::new();
    for &user in users {
        if let Some(group) = chats.group_of(user) {
            members.entry(group).or_default().push(USER_ID_BASE + user as i64);
        }
    }
    let mut ids = BTreeMap::new();
    for (group, m) in members {
        ids.insert(group, control.create_group(&format!("tgload group {}", group + 1), &m).await?);
    }
    Ok(ids)
}

/// Polls the bot's status until it is ready, the bot (if tgload started it) exits, or `READY_TIMEOUT` passes.
/// `webhook` is how the bot was told to take its updates; `None` for a bot attached elsewhere, which may do either.
pub(super) async fn wait_ready(
    control: &Control,
    mut bot: Option<&mut Bot>,
    webhook: Option<bool>,
    signals: &mut Signals,
) -> Result<(), Error> {
    let give_up = Instant::now() + READY_TIMEOUT;
    let ready = |s: &crate::control::BotStatus| match webhook {
        Some(webhook) => is_ready(s, webhook),
        None => is_ready(s, true) || is_ready(s, false),
    };
    loop {
        if control.bot_status().await.is_ok_and(|s| ready(&s)) {
            return Ok(());
        }
        if Instant::now() >= give_up {
            let what = match webhook {
                Some(true) => "set its webhook",
                Some(false) => "poll getUpdates",
                None => "poll getUpdates or set its webhook",
            };
            return Err(Error::Bot(format!("did not {what} within {}s", READY_TIMEOUT.as_secs())));
        }
        let exited = async {
            match bot.as_deref_mut() {
                Some(bot) => bot.exited().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            how = exited => return Err(Error::Bot(format!("exited before it was ready ({how})"))),
            signal = signals.recv() => return Err(Error::Interrupted(signal)),
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
}

pub(super) async fn wait_exit(bot: &mut Option<Bot>) -> String {
    match bot {
        Some(bot) => bot.exited().await,
        None => std::future::pending().await,
    }
}

pub(super) fn free_port() -> Result<u16, Error> {
    let listener =
        std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(Error::io("find a free port for the webhook"))?;
    listener.local_addr().map(|a| a.port()).map_err(Error::io("find a free port for the webhook"))
}

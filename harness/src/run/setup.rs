//! Getting a run ready: the in-process services, waiting for the bot to poll, a port for its webhook, the group
//! chats.

use std::time::Duration;

use tokio::time::Instant;

use super::TOKEN;
use crate::bot::Bot;
use crate::control::{is_ready, Control};
use crate::driver::USER_ID_BASE;
use crate::error::Error;
use crate::scenario::{Chats, Scenario};
use crate::services::{self, Mock};
use crate::signals::Signals;

/// How long the bot may take to start polling (or set its webhook).
const READY_TIMEOUT: Duration = Duration::from_secs(60);

pub(super) async fn start_services(
    scenario: &Scenario,
) -> Result<(Mock, bot_under_test::external_api::ExternalApi, Control), Error> {
    let mock = Mock::start(scenario.telegram_limits.enforced()).await?;
    let external = services::start_external_api(&scenario.external_api, &scenario.faults, scenario.seed).await?;
    let control = Control::new(&mock.url, TOKEN)?;
    Ok((mock, external, control))
}

/// Creates the scenario's group chats, members in user order; returns their chat ids.
pub(super) async fn create_groups(control: &Control, chats: &Chats, n_users: usize) -> Result<Vec<i64>, Error> {
    let mut members = vec![Vec::new(); chats.n_groups(n_users)];
    for user in 0..n_users {
        if let Some(group) = chats.group_of(user) {
            members[group].push(USER_ID_BASE + user as i64);
        }
    }
    let mut ids = Vec::with_capacity(members.len());
    for (i, m) in members.iter().enumerate() {
        ids.push(control.create_group(&format!("tgload group {}", i + 1), m).await?);
    }
    Ok(ids)
}

/// Polls the bot's status until it is ready, the bot exits, or `READY_TIMEOUT` passes.
pub(super) async fn wait_ready(
    control: &Control,
    bot: &mut Bot,
    webhook: bool,
    signals: &mut Signals,
) -> Result<(), Error> {
    let give_up = Instant::now() + READY_TIMEOUT;
    loop {
        if control.bot_status().await.is_ok_and(|s| is_ready(&s, webhook)) {
            return Ok(());
        }
        if Instant::now() >= give_up {
            let what = if webhook { "set its webhook" } else { "poll getUpdates" };
            return Err(Error::Bot(format!("did not {what} within {}s", READY_TIMEOUT.as_secs())));
        }
        tokio::select! {
            how = bot.exited() => return Err(Error::Bot(format!("exited before it was ready ({how})"))),
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

//! Wiring the handlers to teloxide's dispatcher: command registration, long polling or webhook, and shutdown.
//!
//! Shutdown comes from outside (the caller's future) or from the exit-after fault; either way it goes through the
//! dispatcher's `ShutdownToken`, so in-flight handlers finish before [`run`] returns. The listener is stopped
//! as well: teloxide 0.17's dispatcher looks for a shutdown only while it waits for the next update, so one asked
//! while it hands an update to a worker is missed, and it would go on dispatching (about one exit in six under the
//! exit-after fault); a stopped listener ends the update stream either way.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use teloxide::dispatching::{DefaultKey, ShutdownToken};
use teloxide::prelude::*;
use teloxide::stop::StopToken;
use teloxide::update_listeners::{webhooks, Polling, UpdateListener};
use teloxide::utils::command::BotCommands;

use crate::handlers::{self, Command};
use crate::{App, Error, Stop, Updates};

/// The long-poll timeout: how long one getUpdates waits on an idle server.
const POLL_TIMEOUT: Duration = Duration::from_secs(10);

type BotDispatcher = Dispatcher<Bot, Error, DefaultKey>;

/// Dispatches updates until stopped; returns why it stopped.
pub(crate) async fn run(
    bot: Bot,
    app: Arc<App>,
    updates: Updates,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Stop, Error> {
    register_commands(&bot).await;
    let mut dispatcher = Dispatcher::builder(bot.clone(), handlers::schema())
        .dependencies(dptree::deps![app.clone()])
        .default_handler(|update| async move { tracing::debug!(update_id = update.id.0, "update ignored") })
        .build();
    let requested = Arc::new(OnceLock::new());
    let listener_stop = Arc::new(OnceLock::new());
    let stopper =
        tokio::spawn(stop_on(dispatcher.shutdown_token(), listener_stop.clone(), shutdown, app, requested.clone()));
    let listened = listen(&mut dispatcher, bot, updates, &listener_stop).await;
    stopper.abort();
    listened?;
    Ok(requested.get().copied().unwrap_or(Stop::ListenerEnded))
}

/// setMyCommands, so clients show the menu; a bot that cannot do it still works, so a failure is only logged.
async fn register_commands(bot: &Bot) {
    // teloxide's derive prefixes each command with `/`; the Bot API documents the bare name (`start`), and the
    // real server merely tolerates the slash.
    let commands = Command::bot_commands().into_iter().map(|mut command| {
        command.command = command.command.trim_start_matches('/').to_owned();
        command
    });
    if let Err(error) = bot.set_my_commands(commands).await {
        tracing::warn!(%error, "setMyCommands failed");
    }
}

/// Dispatches from long polling or the webhook; `listener_stop` gets the listener's stop token before it starts.
async fn listen(
    dispatcher: &mut BotDispatcher,
    bot: Bot,
    updates: Updates,
    listener_stop: &OnceLock<StopToken>,
) -> Result<(), Error> {
    let on_error = LoggingErrorHandler::with_custom_text("cannot get updates");
    match updates {
        Updates::Polling => {
            let mut polling = Polling::builder(bot).timeout(POLL_TIMEOUT).delete_webhook().await.build();
            let _ = listener_stop.set(polling.stop_token());
            tracing::info!("bot started, long polling");
            dispatcher.try_dispatch_with_listener(polling, on_error).await?;
        }
        Updates::Webhook { url, listener } => {
            let address = listener
                .local_addr()
                .map_err(|source| Error::WebhookListen { address: "the given listener".to_owned(), source })?;
            let options = webhooks::Options::new(address, url.clone());
            let (mut updates, stopped, router) = webhooks::axum_to_router(bot, options).await?;
            let _ = listener_stop.set(updates.stop_token());
            let server =
                tokio::spawn(async move { axum::serve(listener, router).with_graceful_shutdown(stopped).await });
            tracing::info!(%address, %url, "bot started, webhook");
            let dispatched = dispatcher.try_dispatch_with_listener(updates, on_error).await;
            if dispatched.is_err() {
                server.abort();
            } else if let Ok(Err(error)) = server.await {
                tracing::warn!(%error, "webhook server failed");
            }
            dispatched?;
        }
    }
    Ok(())
}

/// Waits for the caller's shutdown or the exit-after fault, records which, and shuts the dispatcher and its
/// listener down.
async fn stop_on(
    token: ShutdownToken,
    listener_stop: Arc<OnceLock<StopToken>>,
    shutdown: impl Future<Output = ()>,
    app: Arc<App>,
    requested: Arc<OnceLock<Stop>>,
) {
    let stop = tokio::select! {
        () = shutdown => Stop::Shutdown,
        () = app.faults.exit_requested() => Stop::ExitAfter,
    };
    let _ = requested.set(stop);
    tracing::info!(?stop, "stopping: finishing the updates in hand");
    // The token refuses while the dispatcher is idle, i.e. before it has started; retry until it runs.
    loop {
        match token.shutdown() {
            Ok(done) => {
                // Set before the dispatcher runs, so it is here once the token accepts.
                if let Some(listener) = listener_stop.get() {
                    listener.stop();
                }
                return done.await;
            }
            Err(_idle) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

//! Webhook mode: the bot registers its URL with setWebhook and the mock pushes updates to it.

use std::time::Duration;

use bot_under_test::external_api::ExternalApi;
use bot_under_test::{quotes, Config, Database, FaultConfig, Stop, Updates};
use tokio::sync::oneshot;

use crate::support::{answer_text, remove_db, temp_db, Control, Mock, Setup, TOKEN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_mode_answers_and_deletes_its_webhook_on_shutdown() -> anyhow::Result<()> {
    let mock = Mock::start();
    let api = ExternalApi::start(Setup::default().external).await.expect("start the external api mock");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/webhook", listener.local_addr()?).parse()?;
    let db_path = temp_db();
    let config = Config {
        token: TOKEN.to_owned(),
        api_url: mock.url().parse()?,
        updates: Updates::Webhook { url, listener },
        database: Database::Sqlite { path: db_path.clone() },
        external_api: quotes::Config { url: Some(api.uri().parse()?), ..quotes::Config::default() },
        faults: FaultConfig::default(),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let bot = tokio::spawn(bot_under_test::run(config, async move {
        let _ = stopped.await;
    }));
    let control = Control::new(&mock.url());
    control.wait_for_mode("webhook").await?;

    let echo = control.answered(4001, "over the webhook").await?;
    assert_eq!(answer_text(&echo), "over the webhook");
    let quote = control.answered(4001, "/quote").await?;
    assert!(!answer_text(&quote).is_empty());

    let _ = stop.send(());
    let report = tokio::time::timeout(Duration::from_secs(20), bot).await???;
    assert_eq!((report.stop, report.updates), (Stop::Shutdown, 2));
    let status = control.get("").await?;
    assert!(status["webhook_url"].is_null(), "webhook still set after shutdown: {status}");
    remove_db(&db_path);
    Ok(())
}

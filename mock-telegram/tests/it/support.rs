//! What the integration tests share: a real mock on 127.0.0.1:0 with one bot, and small HTTP helpers for
//! playing the bot (Bot API calls) and the user (control API calls).

use std::sync::Arc;

use serde_json::{json, Value};

pub const TOKEN: &str = "123456:TEST-token_abc";

pub struct Mock {
    pub url: String,
    pub _server: Arc<mock_telegram::Server>,
    pub http: reqwest::Client,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

pub async fn start() -> Mock {
    start_with(mock_telegram::Config::default()).await
}

pub async fn start_with(config: mock_telegram::Config) -> Mock {
    let server = mock_telegram::Server::new(config).unwrap();
    server.add_bot(TOKEN, None).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(mock_telegram::serve(listener, server.clone(), async move {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    Mock { url, _server: server, http, _shutdown: shutdown }
}

impl Mock {
    /// A Bot API call with a JSON body; returns the HTTP status and the envelope.
    pub async fn call(&self, method: &str, params: Value) -> (u16, Value) {
        let url = format!("{}/bot{TOKEN}/{method}", self.url);
        let response = self.http.post(url).json(&params).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// A Bot API call that must succeed; returns `result`.
    pub async fn ok(&self, method: &str, params: Value) -> Value {
        let (status, body) = self.call(method, params).await;
        assert_eq!((status, &body["ok"]), (200, &json!(true)), "{method}: {body}");
        body["result"].clone()
    }

    pub async fn control(&self, path: &str, body: Value) -> (u16, Value) {
        let url = format!("{}/control/bots/{TOKEN}/{path}", self.url);
        let response = self.http.post(url).json(&body).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    pub async fn get(&self, path: &str) -> Value {
        let response = self.http.get(format!("{}{path}", self.url)).send().await.unwrap();
        assert!(response.status().is_success(), "GET {path}: {}", response.status());
        response.json().await.unwrap()
    }

    /// Sends a user's text without waiting for the answer.
    pub async fn user_says(&self, chat_id: i64, text: &str) -> Value {
        let action = json!({"chat_id": chat_id, "action": {"kind": "text", "text": text}});
        let (status, body) = self.control("actions", action).await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

//! How synthetic users' actions reach the mock's control API. `tgload run` starts the mock in its own process,
//! so by default an action is handed straight to the function behind the mock's actions route
//! (`mock_telegram::control::perform`): no socket, no JSON written and parsed again, no routing, no thread
//! hand-off. A mock elsewhere is reached over HTTP/2 (h2c). Either way the mock performs the same action and
//! gives the same reply, and a refusal comes back with the route's status and error text: only the transport
//! differs (the tests below hold both to the JSON the route would carry).

use std::sync::Arc;
use std::time::Duration;

use axum::http::header;
use mock_telegram::control::{self as mock, ActionResponse};
use serde_json::value::RawValue;

use crate::control::{error_text, ActionReply, ActionRequest, Answer, Timings, WireAction};

/// Where actions go.
pub enum Link {
    /// The in-process mock, called directly.
    InProcess { server: Arc<mock_telegram::Server>, token: String, timeout: Duration },
    /// A mock reached over the network: one HTTP/2 client multiplexes every waiting user.
    Network { client: reqwest::Client, url: String },
}

/// Why an action brought back no reply.
#[derive(Debug, PartialEq)]
pub enum Failed {
    /// The control API refused it: its status and its error text.
    Refused { status: u16, error: String },
    /// No reply came, or one that could not be read.
    Transport(String),
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failed::Refused { status, error } => write!(f, "{status}: {error}"),
            Failed::Transport(text) => f.write_str(text),
        }
    }
}

impl Link {
    /// The in-process mock's `server`, for the bot with `token`. An action still waiting after `timeout` fails,
    /// as one over the network would.
    pub fn in_process(server: Arc<mock_telegram::Server>, token: String, timeout: Duration) -> Link {
        Link::InProcess { server, token, timeout }
    }

    /// A mock at `url` (its actions route), over one HTTP/2 connection (h2c, prior knowledge).
    pub fn network(url: String, timeout: Duration) -> Result<Link, String> {
        let client = http2_client(timeout)?;
        Ok(Link::Network { client, url })
    }

    /// Performs one action and brings back the mock's reply.
    pub async fn act(&self, request: ActionRequest<'_>) -> Result<ActionReply, Failed> {
        match self {
            Link::InProcess { server, token, timeout } => {
                let request = mock_request(request).map_err(|e| refused(&e))?;
                match tokio::time::timeout(*timeout, mock::perform(server, token, request)).await {
                    Ok(Ok(response)) => reply_of(response),
                    Ok(Err(error)) => Err(refused(&error)),
                    Err(_) => Err(Failed::Transport(format!("request failed: no reply within {timeout:?}"))),
                }
            }
            Link::Network { client, url } => {
                let body = serde_json::to_vec(&request)
                    .map_err(|e| Failed::Transport(format!("cannot write the action: {e}")))?;
                let response = client
                    .post(url)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| Failed::Transport(format!("request failed: {e}")))?;
                let status = response.status().as_u16();
                // Always read the whole body: an unread one would reset the h2 stream.
                let body =
                    response.bytes().await.map_err(|e| Failed::Transport(format!("reading the reply failed: {e}")))?;
                if !(200..300).contains(&status) {
                    return Err(Failed::Refused { status, error: error_text(&body) });
                }
                serde_json::from_slice(&body).map_err(|e| Failed::Transport(format!("unreadable reply: {e}")))
            }
        }
    }
}

fn refused(error: &mock::ControlError) -> Failed {
    Failed::Refused { status: error.status().as_u16(), error: error.to_string() }
}

/// The mock's own form of the request the route would parse from `request`'s JSON. A journey's action that does
/// not read as one is refused as the route refuses a body it cannot read.
fn mock_request(request: ActionRequest<'_>) -> Result<mock::ActionRequest, mock::ControlError> {
    let action = match request.action {
        WireAction::Callback { message_id, data } => {
            mock::Action::Callback { message_id, data: data.map(str::to_owned) }
        }
        WireAction::Json(value) => serde_json::from_value(value)
            .map_err(|e| mock::ControlError::Invalid(format!("invalid JSON body: action: {e}")))?,
    };
    Ok(mock::ActionRequest {
        chat_id: request.chat_id,
        from: Some(request.from),
        action,
        due_us: Some(request.due_us),
        wait_ms: Some(request.wait_ms),
        collect: request.collect,
    })
}

/// The reply the harness would read from `response`'s JSON.
fn reply_of(response: ActionResponse) -> Result<ActionReply, Failed> {
    let answer = |raw: &RawValue| {
        serde_json::from_str::<Answer>(raw.get()).map_err(|e| Failed::Transport(format!("unreadable reply: {e}")))
    };
    let t = response.timings_us;
    Ok(ActionReply {
        outcome: response.outcome.name().to_owned(),
        message_id: response.message_id,
        answer: response.answer.as_deref().map(answer).transpose()?,
        timings_us: Timings {
            due: Some(t.due),
            enqueued: Some(t.enqueued),
            delivered: t.delivered,
            answered: t.answered,
        },
        answers: response.answers.iter().map(|raw| answer(raw)).collect::<Result<_, _>>()?,
        messages: response.messages,
        last_answered_us: response.last_answered_us,
    })
}

/// The HTTP/2 client (h2c, prior knowledge) that multiplexes every waiting user over one connection; goose's
/// users hold it too.
pub fn http2_client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .tcp_nodelay(true)
        .timeout(timeout)
        .build()
        .map_err(|e| format!("cannot build the http/2 client: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mock_telegram::control::Collect;

    const TOKEN: &str = "42:link-test";

    fn text(chat_id: i64, wait_ms: u64) -> ActionRequest<'static> {
        let action = WireAction::Json(serde_json::json!({"kind": "text", "text": "hello"}));
        ActionRequest { chat_id, from: chat_id, action, due_us: 1, wait_ms, collect: None }
    }

    /// A mock with the bot registered, served on a socket too; the two links to it for the bot with `token`.
    async fn links(token: &str) -> (Link, Link) {
        let server = mock_telegram::Server::new(mock_telegram::Config::default()).unwrap();
        server.add_bot(TOKEN, None).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/control/bots/{token}/actions", listener.local_addr().unwrap());
        tokio::spawn(mock_telegram::serve(listener, server.clone(), std::future::pending()));
        let timeout = Duration::from_secs(5);
        (Link::in_process(server, token.into(), timeout), Link::network(url, timeout).unwrap())
    }

    /// Both links bring back the same reply and the same refusals; only the mock's clock and ids differ.
    #[tokio::test]
    async fn in_process_and_over_the_network_an_action_gets_the_same_reply() {
        let (local, remote) = links(TOKEN).await;
        for reply in [local.act(text(7, 0)).await.unwrap(), remote.act(text(7, 0)).await.unwrap()] {
            assert_eq!(
                (reply.outcome.as_str(), reply.message_id.is_some(), reply.timings_us.due),
                ("queued", true, Some(1))
            );
        }
        let unknown_kind = || {
            let action = WireAction::Json(serde_json::json!({"kind": "dance"}));
            ActionRequest { chat_id: 7, from: 7, action, due_us: 1, wait_ms: 0, collect: None }
        };
        for failed in [local.act(unknown_kind()).await.unwrap_err(), remote.act(unknown_kind()).await.unwrap_err()] {
            assert!(
                matches!(failed, Failed::Refused { status: 400, ref error } if error.contains("dance")),
                "{failed:?}"
            );
        }
        let gone = || {
            let action = WireAction::Callback { message_id: 999, data: Some("x") };
            ActionRequest { chat_id: 7, from: 7, action, due_us: 1, wait_ms: 0, collect: None }
        };
        let (a, b) = (local.act(gone()).await.unwrap_err(), remote.act(gone()).await.unwrap_err());
        assert!(matches!(a, Failed::Refused { status: 404, .. }), "{a:?}");
        assert_eq!(a, b);
        let (local, remote) = links("43:unregistered").await;
        let (a, b) = (local.act(text(7, 0)).await.unwrap_err(), remote.act(text(7, 0)).await.unwrap_err());
        assert!(matches!(a, Failed::Refused { status: 404, ref error } if error.contains("no bot")), "{a:?}");
        assert_eq!(a, b);
    }

    /// The request handed over is the one the route parses from the request's JSON, and the reply the one the
    /// harness parses from the route's JSON.
    #[test]
    fn the_handed_over_request_and_reply_are_the_ones_the_json_carries() {
        let collect = Some(Collect { messages: Some(2), quiet_ms: Some(300) });
        let requests = [
            ActionRequest { collect, ..text(5, 900) },
            ActionRequest {
                chat_id: -100,
                from: 9,
                action: WireAction::Callback { message_id: 3, data: None },
                due_us: 17,
                wait_ms: 0,
                collect: None,
            },
        ];
        for request in requests {
            let json = serde_json::to_vec(&request).unwrap();
            let parsed: mock::ActionRequest = serde_json::from_slice(&json).unwrap();
            let handed = mock_request(request).unwrap();
            assert_eq!(serde_json::to_value(&handed).unwrap(), serde_json::to_value(&parsed).unwrap());
        }
        let answer = r#"{"method":"sendMessage","message_id":12,"text":"hi","reply_markup":{"inline_keyboard":[]}}"#;
        let response: ActionResponse = serde_json::from_value(serde_json::json!({
            "action_id": 4, "update_id": 8, "message_id": 11, "outcome": "answered",
            "answer": serde_json::from_str::<serde_json::Value>(answer).unwrap(),
            "timings_us": {"due": 1, "enqueued": 2, "delivered": 3, "answered": 4},
            "answers": [serde_json::from_str::<serde_json::Value>(answer).unwrap()],
            "messages": 1, "last_answered_us": 4,
        }))
        .unwrap();
        let parsed: ActionReply = serde_json::from_slice(&serde_json::to_vec(&response).unwrap()).unwrap();
        assert_eq!(reply_of(response).unwrap(), parsed);
        assert_eq!(parsed.answer.as_ref().and_then(|a| a.text.as_deref()), Some("hi"));
    }
}

//! The harness's side of mock-telegram's control API (`docs/control-api.md`): registering the bot, waiting for it
//! to poll, creating group chats, scheduling Bot API faults, and the wire shape of an action and its answer. This is
//! the only way the harness talks to the mock. Replies are read leniently (unknown fields ignored): the mock owns
//! them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::scenario::{BotApiEffect, Fault, Target};

/// A control API client for one bot.
#[derive(Clone)]
pub struct Control {
    client: reqwest::Client,
    base: String,
    token: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BotStatus {
    pub mode: String,
    #[serde(default)]
    pub polls: u64,
    #[serde(default)]
    pub pending_updates: u64,
}

/// One synthetic user's action, as posted to `/control/bots/{token}/actions`.
#[derive(Debug, Serialize)]
pub struct ActionRequest<'a> {
    pub chat_id: i64,
    pub from: i64,
    pub action: WireAction<'a>,
    pub due_us: u64,
    pub wait_ms: u64,
    /// Wait on for the rest of an answer of several messages, or of a stream of edits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collect: Option<mock_telegram::control::Collect>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WireAction<'a> {
    Callback {
        message_id: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<&'a str>,
    },
    /// Any kind, built by the user's journey (`journey::Progress::action`) with its `${...}` filled in.
    #[serde(untagged)]
    Json(serde_json::Value),
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ActionReply {
    pub outcome: String,
    /// The user's own message (a text, a command, a photo, ...), which a later step may edit.
    #[serde(default)]
    pub message_id: Option<i64>,
    #[serde(default)]
    pub answer: Option<Answer>,
    #[serde(default)]
    pub timings_us: Timings,
    /// With `collect`: every call of the answer, how many were messages, and when the last came.
    #[serde(default)]
    pub answers: Vec<Answer>,
    #[serde(default)]
    pub messages: Option<u32>,
    #[serde(default)]
    pub last_answered_us: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Answer {
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub message_id: Option<i64>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub reply_markup: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Timings {
    #[serde(default)]
    pub due: Option<u64>,
    #[serde(default)]
    pub enqueued: Option<u64>,
    #[serde(default)]
    pub delivered: Option<u64>,
    #[serde(default)]
    pub answered: Option<u64>,
}

/// One Bot API fault window, as put to `/control/bots/{token}/faults`: the scenario's window at its moment.
#[derive(Debug, Serialize)]
pub struct FaultWindow<'a> {
    pub methods: &'a [String],
    pub start_us: u64,
    pub duration_ms: u64,
    pub effect: FaultEffect,
}

#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultEffect {
    Error {
        error_code: u16,
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
    },
    Delay {
        delay_ms: u64,
    },
}

impl FaultWindow<'_> {
    /// The Bot API window of `fault` in a load that started at `t0_us` (unix µs); `None` for other targets.
    pub fn of(fault: &Fault, t0_us: u64) -> Option<FaultWindow<'_>> {
        let Target::BotApi { methods, effect } = &fault.target else { return None };
        let effect = match *effect {
            BotApiEffect::Error { error_code, retry_after } => FaultEffect::Error { error_code, retry_after },
            BotApiEffect::Delay { delay } => FaultEffect::Delay { delay_ms: delay.as_millis() as u64 },
        };
        Some(FaultWindow {
            methods,
            start_us: t0_us + fault.start.as_micros() as u64,
            duration_ms: fault.duration.as_millis() as u64,
            effect,
        })
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

impl Control {
    /// `base` is the mock's root URL, e.g. `http://127.0.0.1:41234`.
    pub fn new(base: &str, token: &str) -> Result<Control, Error> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| Error::Control(format!("cannot build an http client: {e}")))?;
        Ok(Control { client, base: base.trim_end_matches('/').to_string(), token: token.to_string() })
    }

    /// The mock's root URL (no trailing slash).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The bot's token at that mock.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Where synthetic users post their actions, from the mock's root.
    pub fn actions_path(&self) -> String {
        format!("/control/bots/{}/actions", self.token)
    }

    /// Registers the bot's token with the mock (a no-op if it is already known).
    pub async fn register_bot(&self) -> Result<(), Error> {
        let url = format!("{}/control/bots", self.base);
        let response = self.client.post(&url).json(&serde_json::json!({"token": self.token})).send().await;
        let response = response.map_err(|e| Error::Control(format!("POST {url}: {e}")))?;
        let status = response.status();
        let body = response.bytes().await.unwrap_or_default();
        if status.is_success() || status.as_u16() == 409 {
            return Ok(());
        }
        Err(Error::Control(format!("POST {url}: {status}: {}", error_text(&body))))
    }

    pub async fn bot_status(&self) -> Result<BotStatus, Error> {
        self.get_json(&format!("/control/bots/{}", self.token)).await
    }

    /// How far the mock's clock is ahead of this machine's, from the exchange with the shortest round trip of
    /// `CLOCK_SAMPLES` (Cristian's method: the mock read its clock about halfway through): the offset and that
    /// round trip, µs. Due times are this machine's clock and answers the mock's, so the offset adds to every
    /// latency measured across two machines.
    pub async fn clock_offset(&self) -> Result<ClockOffset, Error> {
        #[derive(Deserialize)]
        struct Health {
            now_us: u64,
        }
        let mut best: Option<ClockOffset> = None;
        for _ in 0..CLOCK_SAMPLES {
            let sent = crate::driver::now_us();
            let health: Health = self.get_json("/control/health").await?;
            let received = crate::driver::now_us();
            let rtt_us = received.saturating_sub(sent);
            let offset_us = health.now_us as i64 - (sent / 2 + received / 2) as i64;
            if best.is_none_or(|b| rtt_us < b.rtt_us) {
                best = Some(ClockOffset { offset_us, rtt_us });
            }
        }
        best.ok_or_else(|| Error::Control("no clock sample".into()))
    }

    /// The mock's own counters and histograms for this bot, for the report's cross-check.
    pub async fn stats(&self) -> Result<serde_json::Value, Error> {
        self.get_json(&format!("/control/bots/{}/stats", self.token)).await
    }

    /// Creates a group with these members; returns its (negative) chat id.
    pub async fn create_group(&self, title: &str, members: &[i64]) -> Result<i64, Error> {
        #[derive(Deserialize)]
        struct Created {
            chat_id: i64,
        }
        let url = format!("{}/control/bots/{}/chats", self.base, self.token);
        let members: Vec<_> = members.iter().map(|id| serde_json::json!({"id": id})).collect();
        let body = serde_json::json!({"type": "group", "title": title, "members": members});
        let response =
            self.client.post(&url).json(&body).send().await.map_err(|e| Error::Control(format!("POST {url}: {e}")))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| Error::Control(format!("POST {url}: {e}")))?;
        if !status.is_success() {
            return Err(Error::Control(format!("POST {url}: {status}: {}", error_text(&bytes))));
        }
        let created: Created =
            serde_json::from_slice(&bytes).map_err(|e| Error::Control(format!("POST {url}: {e}")))?;
        Ok(created.chat_id)
    }

    /// Replaces the bot's Bot API fault windows in the mock.
    pub async fn set_faults(&self, windows: &[FaultWindow<'_>]) -> Result<(), Error> {
        let url = format!("{}/control/bots/{}/faults", self.base, self.token);
        let body = serde_json::json!({ "windows": windows });
        let response =
            self.client.put(&url).json(&body).send().await.map_err(|e| Error::Control(format!("PUT {url}: {e}")))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let bytes = response.bytes().await.unwrap_or_default();
        Err(Error::Control(format!("PUT {url}: {status}: {}", error_text(&bytes))))
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(&self, path: &str) -> Result<T, Error> {
        let url = format!("{}{path}", self.base);
        let response = self.client.get(&url).send().await.map_err(|e| Error::Control(format!("GET {url}: {e}")))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| Error::Control(format!("GET {url}: {e}")))?;
        if !status.is_success() {
            return Err(Error::Control(format!("GET {url}: {status}: {}", error_text(&bytes))));
        }
        serde_json::from_slice(&bytes).map_err(|e| Error::Control(format!("GET {url}: {e}")))
    }
}

/// How many health requests `Control::clock_offset` times.
const CLOCK_SAMPLES: usize = 5;

/// The mock's clock minus this machine's, and the round trip it was measured over (the offset's error is at most
/// half of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClockOffset {
    pub offset_us: i64,
    pub rtt_us: u64,
}

/// The `error` of a control API error body, or the body itself.
pub fn error_text(body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => e.error,
        Err(_) => String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
    }
}

/// The bot has polled (or set its webhook) once it leaves `idle`.
pub fn is_ready(status: &BotStatus, webhook: bool) -> bool {
    if webhook {
        status.mode == "webhook"
    } else {
        status.mode == "polling"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shapes_match_the_control_api() {
        let request = ActionRequest {
            chat_id: -5,
            from: 1001,
            action: WireAction::Callback { message_id: 17, data: None },
            due_us: 1,
            wait_ms: 5000,
            collect: None,
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            serde_json::json!({"chat_id": -5, "from": 1001, "action": {"kind": "callback", "message_id": 17}, "due_us": 1, "wait_ms": 5000})
        );
        let command = WireAction::Json(serde_json::json!({"kind": "command", "command": "ask", "args": "why"}));
        assert_eq!(
            serde_json::to_value(&command).unwrap(),
            serde_json::json!({"kind": "command", "command": "ask", "args": "why"})
        );
        let reply: ActionReply = serde_json::from_str(
            r#"{"action_id": 42, "update_id": 7, "message_id": 18, "outcome": "answered",
                "answer": {"method": "sendMessage", "message_id": 19, "text": "hi", "reply_markup": {"inline_keyboard": []}},
                "timings_us": {"due": 1, "enqueued": 2, "delivered": 3, "answered": 4}}"#,
        )
        .unwrap();
        assert_eq!((reply.outcome.as_str(), reply.answer.unwrap().message_id), ("answered", Some(19)));
        assert_eq!(reply.timings_us.answered, Some(4));
        let timeout: ActionReply = serde_json::from_str(
            r#"{"outcome": "timeout", "answer": null, "timings_us": {"due": 1, "enqueued": 2, "delivered": null, "answered": null}}"#,
        )
        .unwrap();
        assert!(timeout.answer.is_none() && timeout.timings_us.delivered.is_none());
        assert_eq!(error_text(br#"{"error": "chat not found"}"#), "chat not found");
        let methods = vec!["sendMessage".to_string()];
        let flood = BotApiEffect::Error { error_code: 429, retry_after: Some(3) };
        let fault = Fault {
            start: Duration::from_secs(2),
            duration: Duration::from_millis(1500),
            target: Target::BotApi { methods, effect: flood },
        };
        assert_eq!(
            serde_json::to_value(FaultWindow::of(&fault, 1_000_000).unwrap()).unwrap(),
            serde_json::json!({"methods": ["sendMessage"], "start_us": 3_000_000, "duration_ms": 1500,
                               "effect": {"kind": "error", "error_code": 429, "retry_after": 3}})
        );
    }
}

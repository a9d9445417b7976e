//! One bot (one token) as the mock knows it: identity, update queue, chats, files, webhook and the ledger of
//! actions in flight.
//!
//! Each part has its own lock, held briefly and never across an await, so long polls, sends and control actions
//! of the same bot do not serialize on one mutex.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::chats::Chats;
use crate::faults::Faults;
use crate::files::FileStore;
use crate::flood::{Flood, FloodLimits};
use crate::ledger::Ledger;
use crate::updates::UpdateQueue;
use crate::wire::{BotCommand, Me, User};

/// The webhook as setWebhook left it.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    pub url: String,
    pub secret_token: Option<String>,
    pub max_connections: u32,
}

#[derive(Debug, Default)]
pub struct WebhookState {
    pub current: Option<Webhook>,
    /// Bumped on every change, so delivery tasks of an old webhook stop.
    pub generation: u64,
    pub last_error: Option<(i64, String)>,
}

/// A pre-checkout query waiting for answerPreCheckoutQuery: what the successful payment it leads to carries.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub query_id: String,
    pub chat_id: i64,
    pub from: Arc<User>,
    pub currency: String,
    pub total_amount: i64,
    pub payload: String,
}

/// The most pre-checkout queries kept waiting for an answer; older ones are forgotten.
const MAX_CHECKOUTS: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Idle,
    Polling,
    Webhook,
}

#[derive(Debug)]
pub struct Bot {
    pub id: i64,
    pub token: String,
    pub username: String,
    pub updates: UpdateQueue,
    pub ledger: Ledger,
    pub chats: Mutex<Chats>,
    pub files: Mutex<FileStore>,
    pub webhook: Mutex<WebhookState>,
    pub commands: Mutex<Vec<BotCommand>>,
    pub polls: AtomicU64,
    /// Telegram's sending limits: enforced when configured, measured always.
    pub flood: Flood,
    pub faults: Faults,
    checkouts: Mutex<std::collections::VecDeque<Checkout>>,
    /// What `set<X>` methods stored for their `get<X>`.
    pub settings: crate::methods::state::Settings,
    user: Arc<User>,
    query_seq: AtomicU64,
}

/// Locks a mutex, recovering from poisoning: the mock's state stays usable after a panicking request.
pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Bot {
    /// A bot for a well-formed token (`<id>:<secret>`); `None` for a malformed one.
    pub fn new(token: &str, username: Option<String>, history: usize, flood: Option<FloodLimits>) -> Option<Bot> {
        let id = parse_token(token)?;
        let username = username.unwrap_or_else(|| format!("tgload_{id}_bot"));
        let user = User {
            id,
            is_bot: true,
            first_name: "tgload bot".into(),
            username: Some(username.clone()),
            language_code: None,
        };
        Some(Bot {
            id,
            token: token.to_owned(),
            username,
            updates: UpdateQueue::new(),
            ledger: Ledger::default(),
            chats: Mutex::new(Chats::new(history)),
            files: Mutex::new(FileStore::default()),
            webhook: Mutex::new(WebhookState::default()),
            commands: Mutex::new(Vec::new()),
            polls: AtomicU64::new(0),
            flood: Flood::new(flood.unwrap_or_default(), flood.is_some(), std::time::Instant::now()),
            faults: Faults::default(),
            checkouts: Mutex::new(std::collections::VecDeque::new()),
            settings: Default::default(),
            user: Arc::new(user),
            query_seq: AtomicU64::new(0),
        })
    }

    pub fn user(&self) -> Arc<User> {
        self.user.clone()
    }

    pub fn me(&self) -> Me {
        Me {
            user: (*self.user).clone(),
            can_join_groups: true,
            can_read_all_group_messages: false,
            supports_inline_queries: true,
            can_connect_to_business: false,
            has_main_web_app: false,
        }
    }

    pub fn mode(&self) -> Mode {
        if lock(&self.webhook).current.is_some() {
            Mode::Webhook
        } else if self.polls.load(Ordering::Relaxed) > 0 {
            Mode::Polling
        } else {
            Mode::Idle
        }
    }

    /// A new id for a query a user sends (inline, pre-checkout, shipping): unique per bot, as Telegram's are.
    pub fn next_query_id(&self) -> String {
        let seq = self.query_seq.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{}{:012}", self.id, seq)
    }

    pub fn add_checkout(&self, checkout: Checkout) {
        let mut checkouts = lock(&self.checkouts);
        checkouts.push_back(checkout);
        if checkouts.len() > MAX_CHECKOUTS {
            checkouts.pop_front();
        }
    }

    pub fn take_checkout(&self, query_id: &str) -> Option<Checkout> {
        let mut checkouts = lock(&self.checkouts);
        let at = checkouts.iter().position(|c| c.query_id == query_id)?;
        checkouts.remove(at)
    }
}

/// The bot id of a well-formed token: digits, a colon, then letters, digits, `_` or `-`.
pub fn parse_token(token: &str) -> Option<i64> {
    let (id, secret) = token.split_once(':')?;
    let valid_secret =
        !secret.is_empty() && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid_secret || id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_digits_colon_secret() {
        assert_eq!(parse_token("123:ABC-def_9"), Some(123));
        for bad in ["123", ":abc", "12a:abc", "123:", "123:a b", "123:a/b"] {
            assert_eq!(parse_token(bad), None, "{bad}");
        }
    }
}

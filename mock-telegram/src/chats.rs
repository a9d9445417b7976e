//! A bot's chats: private chats and groups, their members and a bounded history of recent messages.
//!
//! The history exists so that users can press buttons on, and bots can edit, recent messages; it keeps the last
//! `history` messages per chat, so memory stays bounded over a long run. Message ids stay unique per chat. An edit
//! of a message that existed but has left the history is accepted, since on Telegram it would still exist.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use crate::error::ApiError;
use crate::wire::{Chat, ChatKind, Message, User};

#[derive(Debug)]
pub struct ChatState {
    pub chat: Arc<Chat>,
    next_message_id: i64,
    history: VecDeque<Message>,
    /// A group's members (users; the bot is always one).
    pub members: BTreeSet<i64>,
    /// A private chat whose user blocked the bot: the bot's sends fail with 403.
    pub blocked: bool,
}

impl ChatState {
    fn new(chat: Chat) -> ChatState {
        let (members, blocked) = (BTreeSet::new(), false);
        ChatState { chat: Arc::new(chat), next_message_id: 1, history: VecDeque::new(), members, blocked }
    }

    /// The newest message in the history sent by `user_id` that `matches`.
    pub fn last_from(&self, user_id: i64, matches: impl Fn(&Message) -> bool) -> Option<&Message> {
        self.history.iter().rev().find(|m| m.from.id == user_id && matches(m))
    }

    pub fn next_message_id(&mut self) -> i64 {
        let id = self.next_message_id;
        self.next_message_id += 1;
        id
    }

    /// Whether `message_id` was ever given out in this chat.
    pub fn existed(&self, message_id: i64) -> bool {
        message_id > 0 && message_id < self.next_message_id
    }

    pub fn find(&self, message_id: i64) -> Option<&Message> {
        self.history.iter().rev().find(|m| m.message_id == message_id)
    }

    pub fn find_mut(&mut self, message_id: i64) -> Option<&mut Message> {
        self.history.iter_mut().rev().find(|m| m.message_id == message_id)
    }

    pub fn remove(&mut self, message_id: i64) -> bool {
        let before = self.history.len();
        self.history.retain(|m| m.message_id != message_id);
        before != self.history.len()
    }

    pub fn recent(&self, limit: usize) -> Vec<Message> {
        let skip = self.history.len().saturating_sub(limit);
        self.history.iter().skip(skip).cloned().collect()
    }
}

#[derive(Debug)]
pub struct Chats {
    chats: HashMap<i64, ChatState>,
    users: HashMap<i64, Arc<User>>,
    next_group_id: i64,
    history: usize,
}

impl Chats {
    pub fn new(history: usize) -> Chats {
        Chats { chats: HashMap::new(), users: HashMap::new(), next_group_id: -1_000_000_001, history: history.max(1) }
    }

    /// A user as the bot sees them; unknown ids get a synthetic name.
    pub fn user(&mut self, id: i64) -> Arc<User> {
        self.users
            .entry(id)
            .or_insert_with(|| {
                Arc::new(User {
                    id,
                    is_bot: false,
                    first_name: format!("User{id}"),
                    username: Some(format!("user{id}")),
                    language_code: Some("en".into()),
                })
            })
            .clone()
    }

    /// Whether a user has acted, been added to a chat, or has a private chat with the bot.
    pub fn knows_user(&self, id: i64) -> bool {
        self.users.contains_key(&id) || self.chats.contains_key(&id)
    }

    pub fn add_user(&mut self, user: User) {
        self.users.insert(user.id, Arc::new(user));
    }

    /// The private chat with `user_id`, created on first use.
    pub fn private(&mut self, user_id: i64) -> &mut ChatState {
        let user = self.user(user_id);
        self.chats.entry(user_id).or_insert_with(|| {
            ChatState::new(Chat {
                id: user_id,
                kind: ChatKind::Private,
                title: None,
                first_name: Some(user.first_name.clone()),
                username: user.username.clone(),
            })
        })
    }

    pub fn create_group(&mut self, title: String, members: impl IntoIterator<Item = i64>) -> i64 {
        let id = self.next_group_id;
        self.next_group_id -= 1;
        let chat = Chat { id, kind: ChatKind::Group, title: Some(title), first_name: None, username: None };
        let mut state = ChatState::new(chat);
        state.members.extend(members);
        self.chats.insert(id, state);
        id
    }

    /// An existing chat, as the Bot API side looks it up.
    pub fn get(&mut self, chat_id: i64) -> Result<&mut ChatState, ApiError> {
        self.chats.get_mut(&chat_id).ok_or_else(ApiError::chat_not_found)
    }

    /// An existing chat the bot may post to: a user who blocked the bot is Telegram's 403.
    pub fn for_send(&mut self, chat_id: i64) -> Result<&mut ChatState, ApiError> {
        let chat = self.get(chat_id)?;
        match chat.blocked {
            true => Err(ApiError::blocked()),
            false => Ok(chat),
        }
    }

    /// A chat as a synthetic user acts in it: private chats come into being, groups must exist.
    pub fn for_action(&mut self, chat_id: i64) -> Option<&mut ChatState> {
        if chat_id > 0 {
            Some(self.private(chat_id))
        } else {
            self.chats.get_mut(&chat_id)
        }
    }

    pub fn store(&mut self, message: Message) {
        let history = self.history;
        if let Some(state) = self.chats.get_mut(&message.chat.id) {
            state.history.push_back(message);
            while state.history.len() > history {
                // Messages with a keyboard are the ones users press long after they arrive (a busy group
                // moves on meanwhile), so the oldest message without one goes first; but keyboards keep at most
                // about half the history, or over a long run every chat would slowly fill up with them (the biggest
                // messages), which reads as a leak for the first tens of minutes.
                let keyboards = state.history.iter().filter(|m| m.reply_markup.is_some()).count();
                let victim = match keyboards > history / 2 {
                    true => state.history.iter().position(|m| m.reply_markup.is_some()),
                    false => state.history.iter().position(|m| m.reply_markup.is_none()),
                };
                state.history.remove(victim.unwrap_or(0));
            }
        }
    }

    pub fn len(&self) -> usize {
        self.chats.len()
    }

    pub fn is_empty(&self) -> bool {
        self.chats.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(chat: &Arc<Chat>, id: i64) -> Message {
        let user = Arc::new(User { id: 1, is_bot: false, first_name: "a".into(), username: None, language_code: None });
        Message { text: Some(id.to_string()), ..Message::new(id, user, chat.clone()) }
    }

    #[test]
    fn messages_with_keyboards_outlive_the_others() {
        let mut chats = Chats::new(2);
        let chat = chats.private(5).chat.clone();
        let mut menu = message(&chat, 1);
        menu.reply_markup = Some(crate::wire::Json::new(&serde_json::json!({"inline_keyboard": []})));
        chats.store(menu);
        chats.store(message(&chat, 2));
        chats.store(message(&chat, 3));
        let kept: Vec<i64> = chats.get(5).unwrap().recent(10).iter().map(|m| m.message_id).collect();
        assert_eq!(kept, [1, 3]);
        // But they keep about half the history: with room for 4, menus beyond two make the oldest menu go.
        let mut chats = Chats::new(4);
        let chat = chats.private(5).chat.clone();
        for id in 1..=6 {
            let mut m = message(&chat, id);
            m.reply_markup = (id != 4).then(|| crate::wire::Json::new(&serde_json::json!({"inline_keyboard": []})));
            chats.store(m);
        }
        let kept: Vec<i64> = chats.get(5).unwrap().recent(10).iter().map(|m| m.message_id).collect();
        assert_eq!(kept, [3, 4, 5, 6], "the oldest menus went once menus were more than half");
        chats.store(message(&chat, 7));
        let kept: Vec<i64> = chats.get(5).unwrap().recent(10).iter().map(|m| m.message_id).collect();
        assert_eq!(kept, [4, 5, 6, 7], "and a plain message brings them back to half");
    }

    #[test]
    fn history_is_bounded_but_ids_are_remembered() {
        let mut chats = Chats::new(2);
        let chat = chats.private(5).chat.clone();
        for _ in 0..3 {
            let id = chats.private(5).next_message_id();
            chats.store(message(&chat, id));
        }
        let state = chats.get(5).unwrap();
        assert!(state.find(1).is_none());
        assert!(state.existed(1));
        assert_eq!(state.recent(10).iter().map(|m| m.message_id).collect::<Vec<_>>(), [2, 3]);
        assert!(chats.get(-5).is_err());
        assert!(chats.for_action(-5).is_none());
    }
}

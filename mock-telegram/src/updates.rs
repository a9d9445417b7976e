//! A bot's update queue with the official getUpdates semantics: offset confirmation, `allowed_updates` that
//! persists, one long poll at a time (a newer poll terminates the older with a 409), and in webhook mode one
//! update in flight per chat.
//!
//! Updates are serialized once when enqueued; delivery only copies text. The queue does not know about actions or
//! timings: callers pass an opaque `action_id` and get it back on delivery.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use tokio::sync::Notify;

use crate::wire::UpdateKind;

#[derive(Debug, Clone)]
pub struct Queued {
    pub update_id: i64,
    pub chat_id: i64,
    pub action_id: Option<u64>,
    pub json: std::sync::Arc<str>,
}

#[derive(Debug)]
struct State {
    queue: VecDeque<Queued>,
    next_update_id: i64,
    /// `None` (never set) or empty: every kind Telegram sends by default.
    allowed: Option<Vec<String>>,
    poll_generation: u64,
    in_flight_chats: HashSet<i64>,
}

#[derive(Debug)]
pub struct UpdateQueue {
    state: Mutex<State>,
    /// Woken when an update arrives, when a poll is taken over, and at shutdown.
    pub changed: Notify,
}

impl Default for UpdateQueue {
    fn default() -> Self {
        UpdateQueue::new()
    }
}

impl UpdateQueue {
    pub fn new() -> UpdateQueue {
        let state = State {
            queue: VecDeque::new(),
            next_update_id: 1,
            allowed: None,
            poll_generation: 0,
            in_flight_chats: HashSet::new(),
        };
        UpdateQueue { state: Mutex::new(state), changed: Notify::new() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        crate::bot::lock(&self.state)
    }

    /// Enqueues an update unless `allowed_updates` excludes its kind (Telegram never stores those).
    /// Returns the update id, or `None` when filtered out.
    pub fn push(
        &self,
        kind: UpdateKind,
        chat_id: i64,
        action_id: Option<u64>,
        to_json: impl FnOnce(i64) -> String,
    ) -> Option<i64> {
        let mut state = self.lock();
        let allowed = match state.allowed.as_deref() {
            None | Some([]) => kind.sent_by_default(),
            Some(names) => names.iter().any(|name| name == kind.name()),
        };
        if !allowed {
            return None;
        }
        let update_id = state.next_update_id;
        state.next_update_id += 1;
        let json = to_json(update_id).into();
        state.queue.push_back(Queued { update_id, chat_id, action_id, json });
        drop(state);
        self.changed.notify_waiters();
        Some(update_id)
    }

    pub fn set_allowed(&self, allowed: Option<Vec<String>>) {
        if let Some(allowed) = allowed {
            self.lock().allowed = Some(allowed);
        }
    }

    pub fn allowed(&self) -> Option<Vec<String>> {
        self.lock().allowed.clone()
    }

    /// Applies a getUpdates `offset`: positive confirms everything below it, negative keeps the last `-offset`.
    pub fn confirm(&self, offset: i64) {
        let mut state = self.lock();
        if offset > 0 {
            while state.queue.front().is_some_and(|u| u.update_id < offset) {
                state.queue.pop_front();
            }
        } else if offset < 0 {
            let keep = offset.unsigned_abs() as usize;
            while state.queue.len() > keep {
                state.queue.pop_front();
            }
        }
    }

    /// Starts a poll, terminating any older one; the returned generation identifies it.
    pub fn begin_poll(&self) -> u64 {
        let generation = {
            let mut state = self.lock();
            state.poll_generation += 1;
            state.poll_generation
        };
        self.changed.notify_waiters();
        generation
    }

    /// Ends any parked poll (setWebhook, shutdown) without starting another.
    pub fn terminate_polls(&self) {
        self.begin_poll();
    }

    pub fn is_current_poll(&self, generation: u64) -> bool {
        self.lock().poll_generation == generation
    }

    /// The first `limit` updates, left in the queue until confirmed.
    pub fn peek(&self, limit: usize) -> Vec<Queued> {
        self.lock().queue.iter().take(limit).cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn drop_all(&self) {
        let mut state = self.lock();
        state.queue.clear();
        state.in_flight_chats.clear();
    }

    /// Webhook mode: the oldest update whose chat has nothing in flight, now marked in flight.
    pub fn next_for_webhook(&self) -> Option<Queued> {
        let mut state = self.lock();
        let State { queue, in_flight_chats, .. } = &mut *state;
        let next = queue.iter().find(|u| !in_flight_chats.contains(&u.chat_id))?.clone();
        in_flight_chats.insert(next.chat_id);
        Some(next)
    }

    /// Webhook mode: the update was delivered; its chat may send the next one.
    pub fn delivered(&self, update_id: i64, chat_id: i64) {
        {
            let mut state = self.lock();
            state.queue.retain(|u| u.update_id != update_id);
            state.in_flight_chats.remove(&chat_id);
        }
        self.changed.notify_waiters();
    }

    /// Webhook mode: a delivery was abandoned (the webhook changed); the update stays queued.
    pub fn release(&self, chat_id: i64) {
        self.lock().in_flight_chats.remove(&chat_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue_with(n: i64) -> UpdateQueue {
        let queue = UpdateQueue::new();
        for i in 0..n {
            queue.push(UpdateKind::Message, i % 2, None, |id| format!("{{\"update_id\":{id}}}"));
        }
        queue
    }

    fn ids(queue: &UpdateQueue) -> Vec<i64> {
        queue.peek(100).iter().map(|u| u.update_id).collect()
    }

    #[test]
    fn offsets_confirm_like_the_official_server() {
        let queue = queue_with(5);
        queue.confirm(0);
        assert_eq!(ids(&queue), [1, 2, 3, 4, 5]);
        queue.confirm(3);
        assert_eq!(ids(&queue), [3, 4, 5]);
        queue.confirm(1);
        assert_eq!(ids(&queue), [3, 4, 5]);
        queue.confirm(-1);
        assert_eq!(ids(&queue), [5]);
        queue.confirm(100);
        assert!(queue.is_empty());
    }

    #[test]
    fn allowed_updates_filter_and_persist() {
        let queue = UpdateQueue::new();
        queue.set_allowed(Some(vec!["callback_query".into()]));
        assert_eq!(queue.push(UpdateKind::Message, 1, None, |_| String::new()), None);
        queue.set_allowed(None);
        assert_eq!(queue.push(UpdateKind::Message, 1, None, |_| String::new()), None);
        queue.set_allowed(Some(vec![]));
        assert_eq!(queue.push(UpdateKind::Message, 1, None, |_| String::new()), Some(1));
        // As on Telegram, chat_member and message_reaction come only when asked for by name.
        assert_eq!(queue.push(UpdateKind::ChatMember, 1, None, |_| String::new()), None);
        assert_eq!(queue.push(UpdateKind::MyChatMember, 1, None, |_| String::new()), Some(2));
        queue.set_allowed(Some(vec!["chat_member".into()]));
        assert_eq!(queue.push(UpdateKind::ChatMember, 1, None, |_| String::new()), Some(3));
        let fresh = UpdateQueue::new();
        assert_eq!(fresh.push(UpdateKind::MessageReaction, 1, None, |_| String::new()), None);
    }

    #[test]
    fn webhook_mode_keeps_one_update_per_chat_in_flight() {
        let queue = queue_with(4);
        let first = queue.next_for_webhook().unwrap();
        let second = queue.next_for_webhook().unwrap();
        assert_eq!((first.update_id, second.update_id), (1, 2));
        assert!(queue.next_for_webhook().is_none());
        queue.delivered(1, first.chat_id);
        assert_eq!(queue.next_for_webhook().unwrap().update_id, 3);
    }
}

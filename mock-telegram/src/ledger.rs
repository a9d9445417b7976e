//! The ledger of actions in flight: which bot call answers which synthetic user's action, and the timings of
//! each (due, enqueued, delivered, answered) folded into fixed-size histograms.
//!
//! An answering call completes the oldest unanswered action of its chat, or the action it names (a query id:
//! callback, inline, pre-checkout, shipping, join request; a `reply_to` message id). A call that finds none is
//! unprompted and never completes a later action. A notification bots do not answer (a reaction, a block) is
//! done when it is delivered.
//! Actions leave the ledger when answered or after a time-to-live, so memory is bounded by what is in flight.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::stats::Stats;

/// What the control API learns about the bot's answer.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct Answer {
    pub method: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_markup: Option<crate::wire::Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub show_alert: Option<bool>,
    /// How many results an answerInlineQuery gave, or whether an answerPreCheckoutQuery/answerShippingQuery said ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ok: Option<bool>,
    /// Set when the mock rejected the answering call with a Bot API error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, Default, PartialEq, Eq)]
pub struct Timings {
    pub due: u64,
    pub enqueued: u64,
    pub delivered: Option<u64>,
    pub answered: Option<u64>,
}

#[derive(Debug)]
pub struct Completion {
    pub answer: Answer,
    pub timings: Timings,
}

/// Which action a bot call answers.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// The oldest unanswered action of the chat, unless `reply_to` names one of its actions' messages.
    Chat { chat_id: i64, reply_to: Option<i64> },
    /// An edit or deletion of one of the bot's messages: it answers a button press on that message, and is a
    /// follow-up (unprompted) otherwise, never an answer to some other action.
    Message { chat_id: i64, message_id: i64 },
    /// A query by its id: answerCallbackQuery, answerInlineQuery, answerPreCheckoutQuery, answerShippingQuery,
    /// approveChatJoinRequest or declineChatJoinRequest.
    Query(&'a str),
}

impl Target<'_> {
    fn chat_id(&self) -> Option<i64> {
        match *self {
            Target::Chat { chat_id, .. } | Target::Message { chat_id, .. } => Some(chat_id),
            Target::Query(_) => None,
        }
    }
}

/// Where a user collecting an answer hears of each follow-up call, with its time.
type Follower = mpsc::UnboundedSender<(Answer, u64)>;

/// What answers an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// The chat's next answering call, or one that replies to the action's message.
    Reply,
    /// A button press (the callback query id): answerCallbackQuery, an edit of the pressed message, or the chat's
    /// next answering call.
    Press(String),
    /// A query that only its own answering method answers (an inline query, a pre-checkout query, ...).
    Query(String),
    /// Nothing: a notification (a reaction, a poll answer, a block) is done when the bot has it.
    Delivery,
}

impl Expect {
    fn query(&self) -> Option<&str> {
        match self {
            Expect::Press(id) | Expect::Query(id) => Some(id),
            Expect::Reply | Expect::Delivery => None,
        }
    }

    /// Whether the chat's answering calls may answer it.
    fn by_chat(&self) -> bool {
        matches!(self, Expect::Reply | Expect::Press(_))
    }
}

#[derive(Debug)]
struct Pending {
    chat_id: i64,
    /// The user's message, or for a button press the bot's message that was pressed.
    message_id: Option<i64>,
    expect: Expect,
    timings: Timings,
    waiter: Option<oneshot::Sender<Completion>>,
    /// The last answering call that failed with an error that says "try again" (429, 5xx), and when: the action
    /// stays open for the bot's retry, and ends with this error only if no answer comes.
    failed: Option<(Answer, u64)>,
}

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    pending: HashMap<u64, Pending>,
    by_chat: HashMap<i64, VecDeque<u64>>,
    by_query: HashMap<String, u64>,
    /// Query ids their answering method may still answer, with when they were sent. Kept apart from `by_query`
    /// because a bot may edit a pressed message (answering the action) before it answers the callback query.
    live_queries: HashMap<String, u64>,
    /// Users collecting a multi-message or streamed answer: every call in their chat that answers no action (a
    /// second message, an edit of the first) is sent to them, with its time.
    followers: HashMap<i64, Vec<(u64, Follower)>>,
    stats: Stats,
}

#[derive(Debug, Default)]
pub struct Ledger {
    state: Mutex<State>,
}

pub struct Registered {
    pub action_id: u64,
    pub completion: oneshot::Receiver<Completion>,
}

impl Ledger {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        crate::bot::lock(&self.state)
    }

    pub fn next_action_id(&self) -> u64 {
        let mut state = self.lock();
        state.next_id += 1;
        state.next_id
    }

    /// Records an action before its update is enqueued, so an answer can never arrive before its waiter.
    pub fn register(
        &self,
        action_id: u64,
        chat_id: i64,
        message_id: Option<i64>,
        expect: Expect,
        due_us: u64,
        now_us: u64,
    ) -> Registered {
        let (sender, completion) = oneshot::channel();
        let mut state = self.lock();
        state.stats.sent += 1;
        if let Some(query) = expect.query() {
            state.by_query.insert(query.to_owned(), action_id);
            state.live_queries.insert(query.to_owned(), now_us);
        }
        if expect.by_chat() {
            state.by_chat.entry(chat_id).or_default().push_back(action_id);
        }
        let timings = Timings { due: due_us, enqueued: now_us, delivered: None, answered: None };
        let pending = Pending { chat_id, message_id, expect, timings, waiter: Some(sender), failed: None };
        state.pending.insert(action_id, pending);
        Registered { action_id, completion }
    }

    /// The update was filtered out by `allowed_updates`; the action will never be delivered.
    pub fn forget(&self, action_id: u64) {
        let mut state = self.lock();
        if let Some(pending) = state.pending.remove(&action_id) {
            unlink(&mut state, action_id, &pending);
            state.stats.dropped += 1;
        }
    }

    /// The bot has the action's update. A notification (`Expect::Delivery`) is done now: its completion has no
    /// `answered` time.
    pub fn delivered(&self, action_id: u64, now_us: u64) {
        let mut state = self.lock();
        let State { pending, stats, .. } = &mut *state;
        let Some(action) = pending.get_mut(&action_id) else { return };
        if action.timings.delivered.is_some() {
            return;
        }
        action.timings.delivered = Some(now_us);
        stats.record_delivery(&action.timings);
        if action.expect != Expect::Delivery {
            return;
        }
        stats.notified += 1;
        if let Some(mut done) = state.pending.remove(&action_id) {
            unlink(&mut state, action_id, &done);
            if let Some(waiter) = done.waiter.take() {
                let _ = waiter.send(Completion { answer: Answer::default(), timings: done.timings });
            }
        }
    }

    /// Takes a live query id (sent, not yet answered by its answering method, not expired).
    pub fn take_query(&self, query_id: &str) -> bool {
        self.lock().live_queries.remove(query_id).is_some()
    }

    /// A bot call answered `target`; completes the action it answers, or counts it as unprompted.
    pub fn answer(&self, target: Target<'_>, answer: Answer, now_us: u64) {
        let mut state = self.lock();
        state.stats.bot_answers += 1;
        let Some(action_id) = find(&state, target) else {
            state.stats.unprompted += 1;
            if let Some(followers) = target.chat_id().and_then(|chat_id| state.followers.get(&chat_id)) {
                for (_, follower) in followers {
                    let _ = follower.send((answer.clone(), now_us));
                }
            }
            return;
        };
        let Some(mut pending) = state.pending.remove(&action_id) else { return };
        unlink(&mut state, action_id, &pending);
        pending.timings.answered = Some(now_us);
        state.stats.record_answer(&pending.timings, answer.error.is_some());
        if let Some(waiter) = pending.waiter.take() {
            // The waiter may have timed out and gone; the answer still counted above.
            let _ = waiter.send(Completion { answer, timings: pending.timings });
        }
    }

    /// Starts sending `action_id`'s user the follow-ups in `chat_id` (calls that answer no action), until
    /// `unfollow`.
    pub fn follow(&self, chat_id: i64, action_id: u64) -> mpsc::UnboundedReceiver<(Answer, u64)> {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.lock().followers.entry(chat_id).or_default().push((action_id, sender));
        receiver
    }

    pub fn unfollow(&self, chat_id: i64, action_id: u64) {
        let mut state = self.lock();
        if let Some(followers) = state.followers.get_mut(&chat_id) {
            followers.retain(|(id, _)| *id != action_id);
            if followers.is_empty() {
                state.followers.remove(&chat_id);
            }
        }
    }

    /// A bot call that would have answered `target` failed with a transient error (429, 5xx): the action stays
    /// open, so a retry that succeeds answers it, and remembers the failure.
    pub fn failed_attempt(&self, target: Target<'_>, answer: Answer, now_us: u64) {
        let mut state = self.lock();
        state.stats.failed_attempts += 1;
        let Some(action_id) = find(&state, target) else { return };
        if let Some(pending) = state.pending.get_mut(&action_id) {
            pending.failed = Some((answer, now_us));
        }
    }

    /// The user stopped waiting for `action_id`. An action whose answer failed transiently and was never retried
    /// ends now, answered with that failure (as of when it happened); any other stays open for a late answer.
    pub fn give_up(&self, action_id: u64) -> Option<Completion> {
        let mut state = self.lock();
        if state.pending.get(&action_id).is_none_or(|p| p.failed.is_none()) {
            state.stats.timed_out += 1;
            return None;
        }
        let pending = state.pending.remove(&action_id)?;
        unlink(&mut state, action_id, &pending);
        Some(end_failed(&mut state.stats, pending))
    }

    /// Drops actions enqueued before `cutoff_us`: the bot will not answer them any more. One whose answer failed
    /// transiently ends as answered with that failure; the others count as expired. Returns how many left.
    pub fn expire(&self, cutoff_us: u64) -> usize {
        let mut state = self.lock();
        let old: Vec<u64> =
            state.pending.iter().filter(|(_, p)| p.timings.enqueued < cutoff_us).map(|(id, _)| *id).collect();
        for action_id in &old {
            if let Some(pending) = state.pending.remove(action_id) {
                unlink(&mut state, *action_id, &pending);
                match pending.failed {
                    Some(_) => drop(end_failed(&mut state.stats, pending)),
                    None => state.stats.expired += 1,
                }
            }
        }
        state.live_queries.retain(|_, sent| *sent >= cutoff_us);
        old.len()
    }

    pub fn stats(&self) -> Stats {
        let state = self.lock();
        let mut stats = state.stats.clone();
        stats.pending = state.pending.len() as u64;
        stats
    }

    pub fn count_bot_error(&self, code: u16) {
        *self.lock().stats.bot_errors.entry(code).or_default() += 1;
    }

    pub fn count_bot_call(&self) {
        self.lock().stats.bot_calls += 1;
    }

    /// A call met an injected fault: its error (`delayed` false) or a delay.
    pub fn count_injected(&self, delayed: bool) {
        let stats = &mut self.lock().stats;
        match delayed {
            true => stats.injected_delays += 1,
            false => stats.injected_errors += 1,
        }
    }
}

fn find(state: &State, target: Target<'_>) -> Option<u64> {
    match target {
        Target::Query(query_id) => state.by_query.get(query_id).copied(),
        Target::Chat { chat_id, reply_to } => {
            let queue = state.by_chat.get(&chat_id)?;
            let named = reply_to.and_then(|message_id| {
                queue.iter().copied().find(|id| {
                    state.pending.get(id).is_some_and(|p| p.expect == Expect::Reply && p.message_id == Some(message_id))
                })
            });
            named.or_else(|| queue.front().copied())
        }
        Target::Message { chat_id, message_id } => state.by_chat.get(&chat_id)?.iter().copied().find(|id| {
            state
                .pending
                .get(id)
                .is_some_and(|p| matches!(p.expect, Expect::Press(_)) && p.message_id == Some(message_id))
        }),
    }
}

/// Ends an action with its last transient failure: answered with that error, at the time it happened. A user
/// still waiting for it (its wait outlived the ledger's time-to-live) hears so too.
fn end_failed(stats: &mut Stats, mut pending: Pending) -> Completion {
    let (answer, at) = pending.failed.take().unwrap_or_default();
    pending.timings.answered = Some(at);
    stats.record_answer(&pending.timings, true);
    if let Some(waiter) = pending.waiter.take() {
        let _ = waiter.send(Completion { answer: answer.clone(), timings: pending.timings });
    }
    Completion { answer, timings: pending.timings }
}

fn unlink(state: &mut State, action_id: u64, pending: &Pending) {
    if let Some(queue) = state.by_chat.get_mut(&pending.chat_id) {
        queue.retain(|id| *id != action_id);
        if queue.is_empty() {
            state.by_chat.remove(&pending.chat_id);
        }
    }
    if let Some(query) = pending.expect.query() {
        state.by_query.remove(query);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(method: &str) -> Answer {
        Answer { method: method.into(), ..Answer::default() }
    }

    #[test]
    fn answers_complete_the_oldest_action_of_the_chat() {
        let ledger = Ledger::default();
        let mut first = ledger.register(1, 7, Some(1), Expect::Reply, 100, 100);
        let mut second = ledger.register(2, 7, Some(2), Expect::Reply, 100, 100);
        ledger.answer(Target::Chat { chat_id: 7, reply_to: None }, answer("sendMessage"), 500);
        assert_eq!(first.completion.try_recv().unwrap().timings.answered, Some(500));
        assert!(second.completion.try_recv().is_err());
        ledger.answer(Target::Chat { chat_id: 8, reply_to: None }, answer("sendMessage"), 600);
        assert_eq!(ledger.stats().unprompted, 1);
    }

    #[test]
    fn reply_to_and_callback_ids_name_their_action() {
        let ledger = Ledger::default();
        let mut first = ledger.register(1, 7, Some(1), Expect::Reply, 0, 0);
        let mut second = ledger.register(2, 7, Some(2), Expect::Reply, 0, 0);
        let mut press = ledger.register(3, 7, None, Expect::Press("cb".into()), 0, 0);
        ledger.answer(Target::Chat { chat_id: 7, reply_to: Some(2) }, answer("sendMessage"), 1);
        assert!(second.completion.try_recv().is_ok());
        ledger.answer(Target::Query("cb"), answer("answerCallbackQuery"), 1);
        assert!(press.completion.try_recv().is_ok());
        assert!(first.completion.try_recv().is_err());
        let mut edit_press = ledger.register(4, 7, Some(10), Expect::Press("cb2".into()), 0, 0);
        ledger.answer(Target::Message { chat_id: 7, message_id: 11 }, answer("editMessageText"), 1);
        assert!(first.completion.try_recv().is_err(), "an edit of another message answers nothing");
        ledger.answer(Target::Message { chat_id: 7, message_id: 10 }, answer("editMessageText"), 1);
        assert!(edit_press.completion.try_recv().is_ok());
        assert_eq!(ledger.stats().unprompted, 1);
        assert!(ledger.take_query("cb"));
        assert!(!ledger.take_query("cb"));
    }

    #[test]
    fn queries_are_answered_only_by_their_id_and_notifications_on_delivery() {
        let ledger = Ledger::default();
        let mut inline = ledger.register(1, 7, None, Expect::Query("q1".into()), 0, 0);
        let mut reaction = ledger.register(2, 7, None, Expect::Delivery, 0, 0);
        ledger.answer(Target::Chat { chat_id: 7, reply_to: None }, answer("sendMessage"), 1);
        assert!(inline.completion.try_recv().is_err(), "a message into the chat does not answer an inline query");
        assert_eq!(ledger.stats().unprompted, 1);
        ledger.answer(Target::Query("q1"), answer("answerInlineQuery"), 2);
        assert_eq!(inline.completion.try_recv().unwrap().answer.method, "answerInlineQuery");
        assert!(reaction.completion.try_recv().is_err());
        ledger.delivered(2, 5);
        let done = reaction.completion.try_recv().unwrap();
        assert_eq!((done.timings.delivered, done.timings.answered), (Some(5), None));
        let stats = ledger.stats();
        assert_eq!((stats.notified, stats.answered, stats.pending), (1, 1, 0));
    }

    #[test]
    fn expired_actions_leave_and_are_counted() {
        let ledger = Ledger::default();
        let _old = ledger.register(1, 7, Some(1), Expect::Reply, 0, 10);
        let _new = ledger.register(2, 7, Some(2), Expect::Reply, 0, 20);
        assert_eq!(ledger.expire(15), 1);
        ledger.answer(Target::Chat { chat_id: 7, reply_to: None }, answer("sendMessage"), 30);
        let stats = ledger.stats();
        assert_eq!((stats.expired, stats.answered, stats.pending), (1, 1, 0));
    }

    #[test]
    fn a_transient_failure_leaves_the_action_open_for_the_retry() {
        let ledger = Ledger::default();
        let chat = Target::Chat { chat_id: 7, reply_to: None };
        let flood = || Answer { error: Some(serde_json::json!({"error_code": 429})), ..answer("sendMessage") };
        // Retried: the retry answers, and the latency runs to it.
        let mut retried = ledger.register(1, 7, Some(1), Expect::Reply, 0, 0);
        ledger.failed_attempt(chat, flood(), 10);
        assert!(retried.completion.try_recv().is_err());
        ledger.answer(chat, answer("sendMessage"), 1010);
        let done = retried.completion.try_recv().unwrap();
        assert_eq!((done.answer.error, done.timings.answered), (None, Some(1010)));
        // Not retried: when the user gives up, the action ends with the failure, as of when it happened.
        let _abandoned = ledger.register(2, 7, Some(2), Expect::Reply, 0, 2000);
        ledger.failed_attempt(chat, flood(), 2010);
        let ended = ledger.give_up(2).unwrap();
        assert_eq!((ended.answer.error.is_some(), ended.timings.answered), (true, Some(2010)));
        // Without a failure, giving up is a timeout and the action stays open for a late answer.
        let mut late = ledger.register(3, 7, Some(3), Expect::Reply, 0, 3000);
        assert!(ledger.give_up(3).is_none());
        ledger.answer(chat, answer("sendMessage"), 9000);
        assert!(late.completion.try_recv().is_ok());
        // A failed action that outlives the time-to-live ends with its failure too, and its waiter hears it.
        let mut expiring = ledger.register(4, 7, Some(4), Expect::Reply, 0, 4000);
        ledger.failed_attempt(chat, flood(), 4010);
        assert_eq!(ledger.expire(5000), 1);
        assert!(expiring.completion.try_recv().unwrap().answer.error.is_some());
        let stats = ledger.stats();
        assert_eq!(
            (stats.failed_attempts, stats.answered, stats.answered_with_error, stats.timed_out, stats.expired),
            (3, 4, 2, 1, 0)
        );
    }
}

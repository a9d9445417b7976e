//! The synthetic users, run by goose. goose starts the users and loops each one's transaction; everything
//! that is measured happens here: each call of the transaction waits for the user's next due time, posts
//! one action to the control API (waiting for the bot's answer), reads the whole reply and sends an
//! `ActionResult` to the collector. goose's own metrics, logs and reports are switched off: they would be
//! per-request data we do not want, and our numbers come from the collector.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use goose::client::GooseClientBuilder;
use goose::config::GooseConfiguration;
use goose::prelude::*;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::collector::{ActionResult, Outcome};
use crate::control::{ActionReply, ActionRequest, Answer, WireAction};
use crate::error::Error;
use crate::journey::{Judged, Progress};
use crate::link::{Failed, Link};
use crate::scenario::{Action, Scenario, BUTTON_LABEL, UNSENT_LABEL};
use crate::schedule::Schedule;
use crate::steps::StepRef;
use crate::timer::Timer;
use mock_telegram::control::Collect;

/// Synthetic users' Telegram ids are this plus their index, so they never collide with small test ids.
pub const USER_ID_BASE: i64 = 1_000_000;

/// How many distinct control API failures are kept for the report.
const MAX_FAILURE_NOTES: usize = 10;

/// How many times an action that cannot apply in its chat now is replaced by another pick before it counts as
/// a failure.
const MAX_REPICKS: usize = 3;

/// State shared by every user of a run.
pub struct Driver {
    /// The client goose's users hold; actions go through `link`.
    client: reqwest::Client,
    link: Link,
    schedule: Schedule,
    scenario: Scenario,
    /// The (negative) chat ids of the groups this generator drives, by group index.
    groups: BTreeMap<usize, i64>,
    /// The start of the load; due times are offsets from it.
    t0: Instant,
    results: mpsc::Sender<ActionResult>,
    stop: watch::Receiver<bool>,
    started: AtomicUsize,
    finished: AtomicUsize,
    failures: Mutex<Vec<String>>,
    callbacks_lost: AtomicUsize,
    replaced: AtomicUsize,
    /// Each sequential feed's next row, shared by all users.
    cursors: Vec<AtomicUsize>,
    timer: Timer,
}

/// Why an action could not be posted.
enum Failure {
    /// A button press on a message the mock no longer keeps (404).
    MessageGone,
    /// The action cannot apply in its chat now (409: a join in a private chat, a reply before the bot has
    /// written, a block of a bot already blocked), with the mock's reason.
    NotNow(String),
    /// Anything else; the details go to the failure notes.
    Other,
}

/// One user's state between transactions (goose session data).
#[derive(Clone)]
struct UserState {
    index: usize,
    chat_id: i64,
    from: i64,
    rng: SmallRng,
    windows: Vec<Range<Duration>>,
    next_due: Option<Duration>,
    free_at: Duration,
    /// A menu the bot answered with: the next action presses its button.
    menu: Option<(i64, Option<String>)>,
    /// The journey under way, if one is.
    journey: Option<Progress>,
    finished: bool,
}

/// The unix time in microseconds: the mock's clock, since due and answer times are compared across the two.
pub use mock_telegram::now_us;

impl Driver {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: reqwest::Client,
        link: Link,
        scenario: Scenario,
        schedule: Schedule,
        groups: BTreeMap<usize, i64>,
        t0: Instant,
        results: mpsc::Sender<ActionResult>,
        stop: watch::Receiver<bool>,
    ) -> Driver {
        let cursors = (0..scenario.feeds.feeds.len()).map(|_| AtomicUsize::new(0)).collect();
        Driver {
            client,
            link,
            schedule,
            scenario,
            groups,
            t0,
            results,
            stop,
            started: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
            failures: Mutex::new(Vec::new()),
            callbacks_lost: AtomicUsize::new(0),
            replaced: AtomicUsize::new(0),
            cursors,
            timer: Timer::start(),
        }
    }

    /// Users goose has started so far.
    pub fn started(&self) -> usize {
        self.started.load(Ordering::Relaxed)
    }

    /// Users that have no action left in the schedule.
    pub fn finished(&self) -> usize {
        self.finished.load(Ordering::Relaxed)
    }

    /// Button presses replaced by another action because their message had left the mock's history.
    pub fn callbacks_lost(&self) -> usize {
        self.callbacks_lost.load(Ordering::Relaxed)
    }

    /// Actions replaced by another pick because they could not apply in their chat at that moment.
    pub fn replaced(&self) -> usize {
        self.replaced.load(Ordering::Relaxed)
    }

    /// The first few distinct control API failures, for the report.
    pub fn failures(&self) -> Vec<String> {
        self.failures.lock().map(|f| f.clone()).unwrap_or_default()
    }

    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// goose `on_start`: give the user the shared client and its schedule.
    async fn start_user(self: Arc<Self>, user: &mut GooseUser) -> TransactionResult {
        user.client = self.client.clone();
        let users = self.schedule.users();
        let index = users.get(user.weighted_users_index % users.len().max(1)).copied().unwrap_or(0);
        let id = USER_ID_BASE + index as i64;
        let chat_id = match self.scenario.chats.group_of(index) {
            Some(group) => self.groups.get(&group).copied().unwrap_or(id),
            None => id,
        };
        let seed = self.scenario.seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut rng = SmallRng::seed_from_u64(seed);
        let windows = self.schedule.windows(index);
        let next_due = self.schedule.first_due(index, &windows, &mut rng);
        let free_at = windows.first().map_or(Duration::ZERO, |w| w.start);
        user.set_session_data(UserState {
            index,
            chat_id,
            from: id,
            rng,
            windows,
            next_due,
            free_at,
            menu: None,
            journey: None,
            finished: false,
        });
        self.started.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// goose transaction: at most one action. Returns quickly once the run stops, so goose can end the user.
    async fn act(self: Arc<Self>, user: &mut GooseUser) -> TransactionResult {
        let Some(state) = user.get_session_data_mut::<UserState>() else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            return Ok(());
        };
        match state.next_due {
            Some(due) if !self.stopped() => self.next_action(state, due).await,
            _ => self.idle(state).await,
        }
        Ok(())
    }

    /// Nothing left to do: wait for the stop, then a little, so goose's loop does not spin while it ends the
    /// users. The wait has no timeout of its own: thousands of idle users each waking once a second were most of
    /// a quiet run's CPU. The run always sends the stop (or drops its sender, which ends the wait too), and goose's
    /// run time is the backstop.
    async fn idle(&self, state: &mut UserState) {
        if !state.finished && state.next_due.is_none() {
            state.finished = true;
            self.finished.fetch_add(1, Ordering::Relaxed);
        }
        let mut stop = self.stop.clone();
        let _ = stop.wait_for(|s| *s).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    async fn next_action(&self, state: &mut UserState, due: Duration) {
        let mut stop = self.stop.clone();
        tokio::select! {
            () = self.timer.sleep_until(self.t0 + due) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        // Wall-clock times are derived from the monotonic schedule at the moment of use, so a wall clock
        // slewed by NTP during a long run cannot bend the latencies (the mock stamps answers in wall time).
        let (now, now_wall) = (Instant::now(), now_us());
        let wall = |at: Instant| now_wall.saturating_sub(now.saturating_duration_since(at).as_micros() as u64);
        let due_at = self.t0 + due;
        let due_us = wall(due_at);
        let ready_us = wall(due_at.max(self.t0 + state.free_at));
        let result = if now > due_at + self.scenario.answer_timeout {
            // Its user was busy until after the answer timeout had passed: it can no longer be answered in
            // time, so it counts as a timeout without loading the bot with it.
            // A journey under way stops at the step its user could not make in time.
            let step = state.journey.take().map(|p| StepRef { journey: p.journey, step: p.step, ends: Some(false) });
            ActionResult {
                due_us,
                ready_us,
                sent_us: None,
                done_us: now_wall,
                outcome: Outcome::Expired,
                queue_us: None,
                enqueued_us: None,
                kind: UNSENT_LABEL.into(),
                step,
                last_us: None,
                said: None,
            }
        } else {
            self.send(state, due_us, ready_us).await
        };
        state.free_at = Instant::now().saturating_duration_since(self.t0);
        // The next step of a journey under way may have a think time of its own.
        let think = state.journey.as_ref().and_then(|p| p.step(&self.scenario.mix).think.as_ref());
        state.next_due = self.schedule.next_due(state.index, &state.windows, due, state.free_at, think, &mut state.rng);
        let _ = self.results.send(result).await;
    }

    async fn send(&self, state: &mut UserState, due_us: u64, ready_us: u64) -> ActionResult {
        let wait_ms = self.scenario.answer_timeout.as_millis() as u64;
        let (chat_id, from) = (state.chat_id, state.from);
        if let Some((message_id, data)) = state.menu.take() {
            let action = WireAction::Callback { message_id, data: data.as_deref() };
            let sent_us = now_us();
            match self.post(ActionRequest { chat_id, from, action, due_us, wait_ms, collect: None }).await {
                // The mock keeps a bounded history per chat; in a busy group the menu may have left it. That
                // is no fault of the bot: the user does something else in this slot instead.
                Err(Failure::MessageGone) => {
                    self.callbacks_lost.fetch_add(1, Ordering::Relaxed);
                }
                posted => return self.result(posted, due_us, ready_us, sent_us, BUTTON_LABEL.into()),
            }
        }
        let mut repicks = 0;
        loop {
            let (mix, feeds) = (&self.scenario.mix, &self.scenario.feeds);
            let rng = &mut state.rng;
            let progress = state.journey.get_or_insert_with(|| Progress::start(mix, feeds, &self.cursors, rng));
            let single = mix.journey(progress.journey).single;
            let steps = mix.journey(progress.journey).steps.len();
            let step = progress.step(mix);
            let mut at = StepRef { journey: progress.journey, step: progress.step, ends: None };
            let sent_us = now_us();
            let action = match progress.action(step) {
                Ok(action) => action,
                // The button the step presses is not on the last answer: that answer was wrong.
                Err(why) => {
                    state.journey = None;
                    at.ends = Some(false);
                    let outcome = Outcome::WrongAnswer { answered_us: sent_us };
                    let base = self.result(Err(Failure::Other), due_us, ready_us, sent_us, step.action.label());
                    return ActionResult { outcome, step: Some(at), said: Some(why), ..base };
                }
            };
            let collect = step.expect.collects().then(|| Collect {
                messages: step.expect.messages,
                quiet_ms: step.expect.quiet.map(|q| q.as_millis() as u64),
            });
            let request = ActionRequest { chat_id, from, action: WireAction::Json(action), due_us, wait_ms, collect };
            let posted = self.post(request).await;
            // A one-step journey that cannot apply now is replaced by another pick; a longer one stops here.
            if matches!(posted, Err(Failure::NotNow(_))) && single && repicks < MAX_REPICKS {
                repicks += 1;
                self.replaced.fetch_add(1, Ordering::Relaxed);
                state.journey = None;
                continue;
            }
            let judged = match &posted {
                Ok(reply) if reply.outcome == "answered" => Some(progress.judge(step, reply)),
                _ => None,
            };
            if let (Action::Menu { data, .. }, Ok(reply), true) = (&step.action, &posted, single) {
                if let Some(Answer { message_id: Some(message_id), reply_markup: Some(_), .. }) = &reply.answer {
                    state.menu = Some((*message_id, data.clone()));
                }
            }
            let mut result = self.result(posted, due_us, ready_us, sent_us, step.action.label());
            if let (Some(Judged::Wrong(why)), Some(answered_us)) = (judged, result.outcome.answered_us()) {
                result.outcome = Outcome::WrongAnswer { answered_us };
                result.said = Some(why);
            }
            let right = matches!(result.outcome, Outcome::Answered { .. });
            if !right || at.step + 1 == steps {
                at.ends = Some(right);
                state.journey = None;
            } else {
                progress.step += 1;
            }
            result.step = Some(at);
            return result;
        }
    }

    fn result(
        &self,
        posted: Result<ActionReply, Failure>,
        due_us: u64,
        ready_us: u64,
        sent_us: u64,
        kind: String,
    ) -> ActionResult {
        let done_us = now_us();
        let base = ActionResult {
            due_us,
            ready_us,
            sent_us: Some(sent_us),
            done_us,
            outcome: Outcome::Transport,
            queue_us: None,
            enqueued_us: None,
            kind,
            step: None,
            last_us: None,
            said: None,
        };
        let reply = match posted {
            Ok(reply) => reply,
            Err(Failure::NotNow(why)) => {
                self.note_failure(format!("{}: {why}", base.kind));
                return base;
            }
            Err(_) => return base,
        };
        let t = &reply.timings_us;
        let queue_us = t.delivered.zip(t.enqueued).map(|(d, e)| d.saturating_sub(e));
        let answered_us = t.answered.unwrap_or(done_us);
        let outcome = match reply.outcome.as_str() {
            "answered" => Outcome::Answered { answered_us },
            // A notification (a reaction, a block) expects no answer: it is done when the bot has it.
            "delivered" => Outcome::Answered { answered_us: t.delivered.unwrap_or(done_us) },
            "bot_error" => Outcome::BotError { answered_us },
            "timeout" => Outcome::Timeout,
            "filtered" => {
                let kind = &base.kind;
                self.note_failure(format!("{kind}: the bot's allowed_updates leave this kind out; it never sees it"));
                Outcome::Transport
            }
            other => {
                self.note_failure(format!("unexpected outcome `{other}`"));
                Outcome::Transport
            }
        };
        ActionResult { outcome, queue_us, enqueued_us: t.enqueued, last_us: reply.last_answered_us, ..base }
    }

    /// Performs an action and brings back the mock's reply, or why there is none.
    async fn post(&self, request: ActionRequest<'_>) -> Result<ActionReply, Failure> {
        let callback = matches!(request.action, WireAction::Callback { .. });
        match self.link.act(request).await {
            Ok(reply) => Ok(reply),
            Err(Failed::Refused { status: 404, .. }) if callback => Err(Failure::MessageGone),
            Err(Failed::Refused { status: 409, error }) => Err(Failure::NotNow(error)),
            Err(failed) => {
                self.note_failure(failed.to_string());
                Err(Failure::Other)
            }
        }
    }

    fn note_failure(&self, text: String) {
        if let Ok(mut failures) = self.failures.lock() {
            if failures.len() < MAX_FAILURE_NOTES && !failures.contains(&text) {
                failures.push(text);
            }
        }
    }
}

type UserFuture<'r> = std::pin::Pin<Box<dyn std::future::Future<Output = TransactionResult> + Send + 'r>>;

/// Gives a closure goose's transaction signature (the bound makes the closure generic over the user's
/// borrow, which plain inference would not).
fn transaction<F>(f: F) -> Transaction
where
    F: for<'r> Fn(&'r mut GooseUser) -> UserFuture<'r> + Send + Sync + 'static,
{
    Transaction::new(Arc::new(f))
}

/// Builds the goose attack: one scenario, all users started within about a second (their own schedules
/// decide when they act), goose's telnet, metrics and logs off. `run_time` is only a backstop; the run
/// loop stops goose with the killswitch.
pub fn attack(driver: &Arc<Driver>, host: &str, run_time: Duration) -> Result<GooseAttack, Error> {
    let goose = |e: GooseError| Error::Load(e.to_string());
    let n_users = driver.schedule.users().len().max(1);
    let mut config = GooseConfiguration::default();
    config.no_telnet = true;
    config.no_websocket = true;
    config.no_metrics = true;
    config.no_print_metrics = true;
    config.no_error_summary = true;
    config.quiet = 1;
    let (d1, d2) = (driver.clone(), driver.clone());
    let start = transaction(move |user| Box::pin(d1.clone().start_user(user)));
    let act = transaction(move |user| Box::pin(d2.clone().act(user)));
    let scenario = goose::goose::Scenario::new("TelegramUser")
        .register_transaction(start.set_name("start").set_on_start())
        .register_transaction(act.set_name("act"));
    GooseAttack::initialize_with_config(config)
        .map_err(goose)?
        .set_client_builder_without_cookies(
            GooseClientBuilder::new().without_cookies().timeout(driver.scenario.answer_timeout),
        )
        .map_err(goose)?
        .register_scenario(scenario)
        .set_default(GooseDefault::Host, host)
        .map_err(goose)?
        .set_default(GooseDefault::Users, n_users)
        .map_err(goose)?
        .set_default(GooseDefault::IncreaseRate, n_users.to_string().as_str())
        .map_err(goose)?
        .set_default(GooseDefault::RunTime, run_time.as_secs().max(1) as usize)
        .map(|attack| *attack)
        .map_err(goose)
}

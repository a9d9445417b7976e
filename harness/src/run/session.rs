//! One run from the services' start to the finished directory: the set-up (mock, external API, bot, wait
//! until it polls, groups), the event loop, and the wrap-up (summary, report, charts). Every loop here is
//! bounded in time: the load by the schedule, the stop by the answer timeout, the wait for goose by a
//! hard deadline.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::json;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::resources::Resources;
use super::setup::{attach_services, create_groups, start_services, wait_exit, Services};
use super::timeline::Timeline;
use super::wrapup::{first_second_judged, write_failed};
use super::{Finished, Options};
use crate::bot::{Bot, Launch, Program};
use crate::collector::{ActionResult, Collector};
use crate::control::{ClockOffset, Control, FaultWindow};
use crate::driver::{self, now_us, Driver};
use crate::error::Error;
use crate::link::Link;
use crate::progress::{self, Progress};
use crate::recovery;
use crate::rundir::RunDir;
use crate::sampler::{self, BotPid, Sample};
use crate::scenario::Scenario;
use crate::schedule::Schedule;
use crate::signals::{Interruption, Signals};
use crate::slo::Judge;
use crate::summary::{Phases, Status};

/// Results queued between the users and the loop; a full queue slows the users (and shows as lateness).
const RESULT_QUEUE: usize = 65_536;

/// Everything the loop reacts to.
enum Event {
    Tick,
    Result(ActionResult),
    Sample(Sample),
    BotExited(String),
    Interrupted(Interruption),
    LoadDone(Result<(), String>),
    Deadline,
}

pub(super) struct Session {
    scenario: Scenario,
    schedule: Schedule,
    dir: RunDir,
    /// The in-process mock; `None` when attached to one elsewhere (`--mock-url`).
    mock: Option<crate::services::Mock>,
    // Kept alive for the run: dropping it stops the external API.
    external: Option<bot_under_test::external_api::ExternalApi>,
    control: Control,
    launch: Launch,
    bot_pid: BotPid,
    restart: bool,
    webhook: bool,
    command: String,
    timeline: Timeline,
    /// The stepped load's reductions (a step followed by a lighter one), judged like fault windows.
    reductions: Vec<(String, Duration, Duration)>,
    /// The first second a recovery may look at (a fault window's or a load reduction's baseline, any with
    /// --restart); `None` when nothing will be judged, and no per-second record is kept.
    judged_from: Option<u64>,
    load: Load,
    /// The live metrics endpoint and what feeds it.
    live: LiveMetrics,
    start_at: Option<SystemTime>,
}

/// The state of the load itself.
struct Load {
    started: bool,
    t0: Instant,
    t0_us: u64,
    collector: Collector,
    /// Per journey and step.
    steps: crate::steps::Tally,
    judge: Judge,
    status: Status,
    /// The signal that interrupted the run, if one did.
    interrupted_by: Option<Interruption>,
    exits: u32,
    restarts: u32,
    awaiting_recovery: Option<u64>,
    stopping: Option<(Instant, u64)>,
    resources: Resources,
    /// Each closed second's p95 and errors from the earliest fault window's baseline on, for the recoveries
    /// (none without fault windows; at most about 6 MB in a 72-hour run with a window near its start).
    seconds: Vec<recovery::Second>,
    /// How many seconds have been closed and written.
    closed: u64,
    /// Each restart of the bot: when it exited and when it was started again (unix µs).
    restarted: Vec<(u64, u64)>,
    /// The closed seconds folded into buckets for the degradation verdict.
    buckets: crate::degradation::Buckets,
    phases: Phases,
    progress: Progress,
    /// The first distinct control API failures the users saw.
    failures: Vec<String>,
    /// What went wrong with the run itself, for the report.
    errors: Vec<String>,
    callbacks_lost: usize,
    replaced: usize,
}

impl Session {
    pub(super) async fn start(
        scenario: Scenario,
        dir: RunDir,
        options: &Options,
        mut live: LiveMetrics,
    ) -> Result<Finished, Error> {
        let name = scenario.name.clone();
        let services = match &options.attach {
            Some(attach) => attach_services(&scenario, attach),
            None => start_services(&scenario).await,
        };
        let services = match services.and_then(|s| live.record_mock(&dir, s.control.base()).map(|()| s)) {
            Ok(services) => services,
            Err(error) => {
                write_failed(dir, &name, &error)?;
                return Err(error);
            }
        };
        // Listen for SIGINT, SIGTERM and SIGHUP from here on, so they stop the run in order instead of killing
        // the process.
        let mut signals = match Signals::listen() {
            Ok(signals) => signals,
            Err(error) => {
                write_failed(dir, &name, &error)?;
                return Err(error);
            }
        };
        let mut session = Session::new(scenario, dir, services, options, live);
        match session.launch_bot(&mut signals).await {
            Ok(bot) => session.run(bot, signals).await,
            Err(error) => {
                session.note_error(&error);
                session.finish(None).await?;
                Err(error)
            }
        }
    }

    fn new(
        scenario: Scenario,
        dir: RunDir,
        Services { mock, external, control }: Services,
        options: &Options,
        live: LiveMetrics,
    ) -> Session {
        let program = match &options.bot_cmd {
            Some(line) => Program::Shell(line.clone()),
            None => Program::Bundled(std::path::PathBuf::new()),
        };
        let launch = Launch {
            program,
            args: scenario.bot.args.clone(),
            env: Vec::new(),
            stdout: dir.path().join("bot.stdout.log"),
            stderr: dir.path().join("bot.stderr.log"),
            supervisor: std::path::PathBuf::new(),
        };
        let schedule = Schedule::new(scenario.steps.clone(), scenario.pacing.clone())
            .driving(options.shard.users(scenario.peak_users(), &scenario.chats));
        let timeout_us = scenario.answer_timeout.as_micros() as u64;
        let load = Load {
            started: false,
            t0: Instant::now(),
            t0_us: now_us(),
            collector: Collector::new(now_us(), timeout_us + 3_000_000, scenario.late_tolerance.as_micros() as u64),
            steps: crate::steps::Tally::new(&scenario.mix),
            judge: Judge::new(scenario.slos.clone(), scenario.sustained.map(|d| d.as_secs() as usize)),
            status: Status::Completed,
            interrupted_by: None,
            exits: 0,
            restarts: 0,
            awaiting_recovery: None,
            stopping: None,
            resources: Resources::default(),
            seconds: Vec::new(),
            closed: 0,
            restarted: Vec::new(),
            buckets: crate::degradation::Buckets::new(crate::degradation::bucket_s(schedule.duration().as_secs())),
            phases: Phases::default(),
            progress: Progress::default(),
            failures: Vec::new(),
            errors: Vec::new(),
            callbacks_lost: 0,
            replaced: 0,
        };
        let timeline = Timeline::new(&schedule, &scenario);
        let steps: Vec<(String, Duration, usize)> =
            scenario.steps.iter().map(|s| (s.label.clone(), s.ramp + s.hold, s.users)).collect();
        let reductions = recovery::load_reductions(&steps);
        let first_reduction = reductions.iter().map(|w| w.1.as_secs().saturating_sub(recovery::BASELINE_S)).min();
        let judged_from = match options.restart {
            true => Some(0),
            false => first_second_judged(&scenario.faults).into_iter().chain(first_reduction).min(),
        };
        Session {
            reductions,
            judged_from,
            scenario,
            schedule,
            timeline,
            dir,
            mock,
            external,
            control,
            launch,
            // An attached bot is sampled only if its process is named (and on this machine).
            bot_pid: Arc::new(AtomicU32::new(options.attach.as_ref().and_then(|a| a.bot_pid).unwrap_or(0))),
            restart: options.restart,
            webhook: options.webhook,
            command: options.command_line.join(" "),
            load,
            live,
            start_at: options.start_at,
        }
    }

    fn event(&mut self, at_us: u64, kind: &str, fields: serde_json::Value) -> Result<(), Error> {
        self.dir.event(at_us, kind, fields)
    }

    /// A signal, caught by our handler (or SIGINT by goose's).
    fn interrupted(&mut self, by: Interruption) -> Result<(), Error> {
        self.load.status = Status::Interrupted;
        self.load.interrupted_by = Some(by);
        self.event(now_us(), "interrupted", json!({"name": by.name()}))
    }

    fn note_error(&mut self, error: &Error) {
        match error {
            Error::Interrupted(by) => {
                let _ = self.interrupted(*by);
            }
            _ => {
                self.load.status = Status::Error;
                self.load.errors.push(error.to_string());
                let _ = self.event(now_us(), "error", json!({"name": error.to_string()}));
            }
        }
    }

    /// The load: set up goose and the sampler, run the loop, and wrap up.
    async fn run(mut self, bot: Option<Bot>, signals: Signals) -> Result<Finished, Error> {
        let groups = match create_groups(&self.control, &self.scenario.chats, self.schedule.users()).await {
            Ok(groups) => groups,
            Err(error) => {
                self.note_error(&error);
                self.finish(bot).await?;
                return Err(error);
            }
        };
        let result = self.drive(bot, groups, signals).await;
        match result {
            Ok(bot) => self.finish(bot).await,
            Err((error, bot)) => {
                self.note_error(&error);
                self.finish(bot).await?;
                Err(error)
            }
        }
    }

    /// Runs the event loop until goose has finished (or would not); hands back the bot if it still runs.
    async fn drive(
        &mut self,
        mut bot: Option<Bot>,
        groups: BTreeMap<usize, i64>,
        signals: Signals,
    ) -> Result<Option<Bot>, (Error, Option<Bot>)> {
        let (results_tx, results) = mpsc::channel(RESULT_QUEUE);
        let (stop_tx, stop_rx) = watch::channel(false);
        // Measured before the start is fixed: a shard on another machine records how far its clock is off.
        let clock = self.control.clock_offset().await.ok();
        let (driver, attack) = match self.prepare_load(groups, results_tx, stop_rx, clock) {
            Ok(prepared) => prepared,
            Err(e) => return Err((e, bot)),
        };
        if let Err(e) = self.schedule_bot_api_faults().await {
            return Err((e, bot));
        }
        let outcome = self.event_loop(&driver, attack, results, &stop_tx, &mut bot, signals).await;
        self.load.progress.finish();
        self.load.failures = driver.failures();
        self.load.callbacks_lost = driver.callbacks_lost();
        self.load.replaced = driver.replaced();
        if !self.load.failures.is_empty() {
            let failures = self.load.failures.clone();
            let _ = self.event(now_us(), "error", json!({"name": "control api failures", "failures": failures}));
        }
        match outcome {
            Ok(()) => Ok(bot),
            Err(e) => Err((e, bot)),
        }
    }

    /// Fixes the load's start a moment ahead (goose starts every user within about a second before it) and
    /// builds the users' shared driver and the goose attack.
    fn prepare_load(
        &mut self,
        groups: BTreeMap<usize, i64>,
        results: mpsc::Sender<ActionResult>,
        stop: watch::Receiver<bool>,
        clock: Option<ClockOffset>,
    ) -> Result<(Arc<Driver>, goose::GooseAttack), Error> {
        let n_users = self.schedule.users().len();
        let lead_in = Duration::from_secs(1) + Duration::from_micros(100 * n_users as u64);
        let timeout = self.scenario.answer_timeout + Duration::from_secs(2);
        let client = crate::link::http2_client(timeout).map_err(Error::Load)?;
        let lead_in = self.begin_load(lead_in, clock)?;
        let link = match &self.mock {
            Some(mock) => Link::in_process(mock.server(), self.control.token().to_owned(), timeout),
            None => Link::network(format!("{}{}", self.control.base(), self.control.actions_path()), timeout)
                .map_err(Error::Load)?,
        };
        let (scenario, schedule) = (self.scenario.clone(), self.schedule.clone());
        let driver = Arc::new(Driver::new(client, link, scenario, schedule, groups, self.load.t0, results, stop));
        let backstop = lead_in + self.schedule.duration() + 2 * self.scenario.answer_timeout + Duration::from_secs(30);
        let attack = driver::attack(&driver, self.control.base(), backstop)?;
        Ok((driver, attack))
    }

    /// Hands the scenario's Bot API fault windows to the mock, timed from the load's start (still ahead).
    async fn schedule_bot_api_faults(&self) -> Result<(), Error> {
        let windows: Vec<_> = self.scenario.faults.iter().filter_map(|f| FaultWindow::of(f, self.load.t0_us)).collect();
        if windows.is_empty() {
            return Ok(());
        }
        self.control.set_faults(&windows).await
    }

    /// The one loop: waits for the next event and handles it, until goose is done (or will not be).
    async fn event_loop(
        &mut self,
        driver: &Driver,
        attack: goose::GooseAttack,
        mut results: mpsc::Receiver<ActionResult>,
        stop: &watch::Sender<bool>,
        bot: &mut Option<Bot>,
        mut signals: Signals,
    ) -> Result<(), Error> {
        // A previous run in this process (a capacity probe) left goose's killswitch set; it is not a Ctrl-C.
        goose::reset_killswitch();
        let goose = attack.execute();
        tokio::pin!(goose);
        let (samples_tx, mut samples) = mpsc::channel(16);
        let sampler = sampler::spawn(self.bot_pid.clone(), now_us, samples_tx);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut goose_done = false;
        // One timer entry for the whole loop, moved only when the deadline does: a new one per result was
        // a timer registration and removal for every action.
        let deadline = tokio::time::sleep_until(self.deadline());
        tokio::pin!(deadline);
        let outcome = loop {
            let due = self.deadline();
            if deadline.deadline() != due {
                deadline.as_mut().reset(due);
            }
            let event = tokio::select! {
                _ = tick.tick() => Event::Tick,
                Some(r) = results.recv() => Event::Result(r),
                Some(s) = samples.recv() => Event::Sample(s),
                how = wait_exit(bot) => Event::BotExited(how),
                by = signals.recv() => Event::Interrupted(by),
                done = &mut goose, if !goose_done => Event::LoadDone(done.map(|_| ()).map_err(|e| e.to_string())),
                () = &mut deadline => Event::Deadline,
            };
            goose_done |= matches!(event, Event::LoadDone(_));
            match self.handle(event, driver, stop, bot).await {
                Ok(true) => continue,
                Ok(false) => break Ok(()),
                Err(e) => {
                    // A write that failed (a full disk): the load stops now, in order.
                    self.stop(stop);
                    break Err(e);
                }
            }
        };
        // Results that arrived while goose wound down.
        while let Ok(r) = results.try_recv() {
            self.on_result(&r);
        }
        sampler.abort();
        outcome
    }

    /// Fixes the load's start: `--start-at`, if at least `lead_in` ahead, or else the first whole second
    /// `lead_in` ahead, so that seconds are unix seconds (every shard's line up). Records it, and the clock's
    /// offset from the mock's, in `meta.json`; returns how far ahead it is.
    fn begin_load(&mut self, lead_in: Duration, clock: Option<ClockOffset>) -> Result<Duration, Error> {
        let (now, now_instant) = (SystemTime::now(), Instant::now());
        let t0_system = match self.start_at {
            Some(at) if at < now + lead_in => {
                let late = (now + lead_in).duration_since(at).unwrap_or_default();
                return Err(Error::StartMissed(format!(
                    "{} is {:.1}s too soon: this generator starts its {} users {:.1}s ahead of the load",
                    crate::meta::rfc3339(at),
                    late.as_secs_f64(),
                    self.schedule.users().len(),
                    lead_in.as_secs_f64(),
                )));
            }
            Some(at) => at,
            None => {
                let earliest = crate::rundir::unix_us(now + lead_in);
                SystemTime::UNIX_EPOCH + Duration::from_secs(earliest.div_ceil(1_000_000))
            }
        };
        let lead_in = t0_system.duration_since(now).unwrap_or_default();
        let load = &mut self.load;
        load.t0 = now_instant + lead_in;
        load.t0_us = crate::rundir::unix_us(t0_system);
        let start = json!({
            "unix_us": load.t0_us,
            "rfc3339": crate::meta::rfc3339(t0_system),
            "requested": self.start_at.is_some(),
            "clock_offset_us": clock.map(|c| c.offset_us),
            "clock_rtt_us": clock.map(|c| c.rtt_us),
        });
        self.live.record(&self.dir, "start", start)?;
        let timeout_us = self.scenario.answer_timeout.as_micros() as u64;
        load.collector =
            Collector::new(load.t0_us, timeout_us + 3_000_000, self.scenario.late_tolerance.as_micros() as u64);
        load.started = true;
        if let Some(external) = &self.external {
            external.set_origin(load.t0.into_std());
        }
        self.dir.begin_load(t0_system)?;
        Ok(lead_in)
    }

    /// When the loop must act even without an event: the end of the drain, or the give-up point.
    fn deadline(&self) -> Instant {
        let timeout = self.scenario.answer_timeout;
        match self.load.stopping {
            None => self.load.t0 + self.schedule.duration() + timeout + Duration::from_secs(1),
            Some((since, _)) => since + timeout + Duration::from_secs(10),
        }
    }

    /// Handles one event; `false` ends the loop.
    async fn handle(
        &mut self,
        event: Event,
        driver: &Driver,
        stop: &watch::Sender<bool>,
        bot: &mut Option<Bot>,
    ) -> Result<bool, Error> {
        match event {
            Event::Tick => self.on_tick(driver, stop)?,
            Event::Result(r) => self.on_result(&r),
            Event::Sample(s) => self.on_sample(&s)?,
            Event::BotExited(how) => self.on_bot_exit(how, bot, stop)?,
            Event::Interrupted(by) => {
                if self.load.stopping.is_none() {
                    self.interrupted(by)?;
                    self.stop(stop);
                }
            }
            Event::LoadDone(result) => {
                // goose ended by itself: its own Ctrl-C handler may have caught the signal.
                if self.load.stopping.is_none() && goose::is_killswitch_triggered() {
                    self.interrupted(Interruption::Interrupt)?;
                }
                if let Err(e) = result {
                    self.load.status = Status::Error;
                    self.event(now_us(), "error", json!({"name": format!("goose: {e}")}))?;
                }
                self.stop(stop);
                return Ok(false);
            }
            Event::Deadline => {
                if self.load.stopping.is_some() {
                    self.event(
                        now_us(),
                        "error",
                        json!({"name": "goose did not stop in time; results still in flight are lost"}),
                    )?;
                    return Ok(false);
                }
                self.stop(stop);
            }
        }
        Ok(true)
    }

    /// Signals the users to stop and goose to end them. In-flight actions still complete and count.
    fn stop(&mut self, stop: &watch::Sender<bool>) {
        if self.load.stopping.is_none() {
            self.load.stopping = Some((Instant::now(), now_us()));
        }
        let _ = stop.send(true);
        goose::trigger_killswitch("tgload: the load is over");
    }

    fn on_tick(&mut self, driver: &Driver, stop: &watch::Sender<bool>) -> Result<(), Error> {
        let now = now_us();
        for interval in self.load.collector.close_until(now) {
            self.write_interval(&interval)?;
        }
        self.timeline_events(now)?;
        let elapsed = Duration::from_micros(now.saturating_sub(self.load.t0_us));
        let n_users = self.schedule.users().len();
        match self.load.stopping {
            // goose's own Ctrl-C handler may have caught the signal before ours.
            None if goose::is_killswitch_triggered() => {
                self.interrupted(Interruption::Interrupt)?;
                self.stop(stop);
            }
            // Every user is done before the drain deadline: no need to wait for it.
            None if elapsed >= self.schedule.duration() && driver.finished() >= n_users => self.stop(stop),
            // goose resets the killswitch when it starts; keep it set until goose is done.
            Some(_) => goose::trigger_killswitch("tgload: the load is over"),
            None => {}
        }
        let live = self.load.collector.take_live();
        self.publish_live(now, elapsed, &live, driver.started());
        let totals = self.load.collector.totals();
        let status = progress::Status {
            elapsed_s: elapsed.as_secs(),
            total_s: self.schedule.duration().as_secs(),
            phase: self.schedule.phase(elapsed),
            active_users: self.schedule.active_users(elapsed),
            started_users: driver.started(),
            live: &live,
            errors: totals.errors.total(),
            sent: totals.sent,
        };
        self.load.progress.show(&status);
        Ok(())
    }

    /// Writes the timeline's events whose time has come by `now`.
    fn timeline_events(&mut self, now: u64) -> Result<(), Error> {
        for (at, kind, fields) in self.timeline.take_due(self.load.t0_us, now) {
            self.dir.event(at, kind, fields)?;
        }
        Ok(())
    }

    fn on_result(&mut self, r: &ActionResult) {
        self.load.steps.record(r, self.load.collector.classify(r));
        self.load.collector.record(r);
        let Some(answered) = r.outcome.answered_us() else { return };
        if let Some(restarted) = self.load.awaiting_recovery.filter(|t| answered >= *t) {
            self.load.awaiting_recovery = None;
            self.load.collector.bot_up(answered);
            let recovery_s = (answered - restarted) as f64 / 1e6;
            let _ = self.dir.event(answered, "bot_restarted", json!({"recovery_s": recovery_s}));
        }
    }

    fn on_sample(&mut self, s: &Sample) -> Result<(), Error> {
        self.live.sampled(s);
        if self.load.stopping.is_some() {
            return Ok(());
        }
        match self.load.resources.record(s, self.load.t0_us) {
            Some(t_s) => self.dir.resources(t_s, s.bot, s.harness),
            None => Ok(()),
        }
    }
}

mod bot_life;
mod closing;
mod live;

pub(super) use live::LiveMetrics;

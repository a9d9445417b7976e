//! A scenario: who acts, how often, doing what, and which objectives the run must meet. Parsed once from
//! TOML (`file` holds the raw shape) and validated into the domain types below; every error names the file,
//! line, column and field. `scenarios/README.md` documents the format; this module is its authority.

mod faults;
mod feeds;
mod file;
mod journeys;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use toml::Spanned;

use crate::duration;
use crate::error::Error;
use crate::slo::Rule;

pub use faults::{BotApiEffect, Endpoint, ExternalApi, ExternalFault, Fault, Target};
pub use feeds::{Feed, Feeds, Order};
pub use journeys::{render, Action, Capture, Expectation, Journey, JourneyStep, Mix, Pattern, BUTTON_LABEL};

/// Upper bound on users, so a typo cannot ask goose to pre-build a million users.
pub const MAX_USERS: u64 = 100_000;
/// Upper bound on an open-paced arrival rate, actions per second.
pub const MAX_RATE: f64 = 1e6;

#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub name: String,
    pub description: Option<String>,
    pub seed: u64,
    pub steps: Vec<Step>,
    pub pacing: Pacing,
    pub mix: Mix,
    /// Test data for the steps' `${feed.column}` (`[[feeds]]`).
    pub feeds: Feeds,
    pub chats: Chats,
    #[serde(serialize_with = "ser::secs")]
    pub answer_timeout: Duration,
    #[serde(serialize_with = "ser::secs")]
    pub late_tolerance: Duration,
    #[serde(serialize_with = "ser::rules")]
    pub slos: Vec<Rule>,
    #[serde(serialize_with = "ser::opt_secs")]
    pub sustained: Option<Duration>,
    /// The practical floor of the leak verdicts, MB per hour (`[slo] leak_floor = "20MB/h"`).
    pub leak_floor_mb_per_h: f64,
    pub bot: BotSettings,
    pub external_api: ExternalApi,
    /// Fault windows on the external API and on the Bot API, in the order the file gives them.
    pub faults: Vec<Fault>,
    /// How `tgload compare` judges runs of this scenario (`[compare]`).
    pub compare: CompareSettings,
    /// Whether the mock enforces Telegram's sending limits (`[telegram] limits`); they are measured always.
    pub telegram_limits: Limits,
}

/// Telegram's sending limits in a run (`[telegram] limits`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Limits {
    /// Not enforced, only measured: the report says when the bot went past them.
    #[default]
    Off,
    /// About 1 message/s per chat, 20/min per group, 30/s overall, answered with 429 past them.
    Real,
    /// The same with paid broadcasts: up to 1,000/s overall.
    Paid,
}

impl Limits {
    /// The limits the mock enforces, if any.
    pub fn enforced(self) -> Option<mock_telegram::flood::FloodLimits> {
        match self {
            Limits::Off => None,
            Limits::Real => Some(mock_telegram::flood::FloodLimits::default()),
            Limits::Paid => Some(mock_telegram::flood::FloodLimits::paid()),
        }
    }
}

/// A scenario's `[compare]` table: the margin as a fraction and the gated metrics; `None` leaves the default.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CompareSettings {
    pub threshold: Option<f64>,
    pub gate: Option<Vec<String>>,
}

/// One step of the load: ramp from the previous step's users to `users` over `ramp`, then hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub label: String,
    pub users: usize,
    #[serde(serialize_with = "ser::secs")]
    pub ramp: Duration,
    #[serde(serialize_with = "ser::secs")]
    pub hold: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Pacing {
    /// Each user waits for the answer, then thinks for a random time in the range.
    Closed {
        #[serde(serialize_with = "ser::range")]
        think: Range<Duration>,
    },
    /// Actions are due on a fixed schedule at this total rate (at peak users), answered or not.
    Open { rate_per_s: f64 },
}

/// The report label of an action that expired before its user could send it.
pub const UNSENT_LABEL: &str = "unsent";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chats {
    /// The share of users who act in a group rather than in their private chat.
    pub group_share: f64,
    pub group_size: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BotSettings {
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
}

impl Chats {
    /// The group `user` acts in, or `None` for its private chat. Group users are spread evenly over the
    /// user indices, and fill groups of `group_size` in index order.
    pub fn group_of(&self, user: usize) -> Option<usize> {
        let before = (user as f64 * self.group_share).floor();
        let through = ((user + 1) as f64 * self.group_share).floor();
        (through > before).then(|| before as usize / self.group_size)
    }
}

impl Scenario {
    /// Reads and validates a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ReadScenario { path: path.into(), source })?;
        Scenario::parse(path, &text)
    }

    /// Validates scenario text; `path` is used for its name and in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Scenario, Error> {
        let raw: file::File = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            located(path, text, &span, file::field_at(text, &span), e.message().to_string())
        })?;
        let fail = |span: &Range<usize>, field: &str, message: String| located(path, text, span, field.into(), message);
        let stem = path.file_stem().map_or("scenario".into(), |s| s.to_string_lossy().into_owned());
        build(raw, stem, path.parent().unwrap_or(Path::new(".")), &fail)
    }

    /// The users at the busiest step.
    pub fn peak_users(&self) -> usize {
        self.steps.iter().map(|s| s.users).max().unwrap_or(0)
    }

    /// Scales every step so the busiest has `n_users` (for `--users`).
    pub fn set_users(&mut self, n_users: usize) {
        let peak = self.peak_users().max(1) as f64;
        for step in &mut self.steps {
            step.users = (step.users as f64 * n_users as f64 / peak).round() as usize;
        }
    }

    /// Sets an open-paced scenario's arrival rate (for `--rate`); a closed-paced one has none to set.
    pub fn set_rate(&mut self, rate: f64) -> Result<(), String> {
        match &mut self.pacing {
            Pacing::Open { rate_per_s } if rate > 0.0 && rate <= MAX_RATE => {
                *rate_per_s = rate;
                Ok(())
            }
            Pacing::Open { .. } => Err(format!("must lie between 0 (excluded) and {MAX_RATE}, got {rate}")),
            Pacing::Closed { .. } => Err("the scenario's pacing is closed: users act after each answer, at no set \
                                          rate (use mode = \"open\" with rate_per_s)"
                .into()),
        }
    }

    /// How long the load lasts, ramps and holds together.
    pub fn duration(&self) -> Duration {
        self.steps.iter().map(|s| s.ramp + s.hold).sum()
    }

    /// Scales every ramp and hold so the load lasts `total` (for `--duration`), and the fault windows with
    /// them, so they keep their place in the load.
    pub fn set_duration(&mut self, total: Duration) {
        let factor = total.as_secs_f64() / self.duration().as_secs_f64().max(1e-9);
        for step in &mut self.steps {
            step.ramp = step.ramp.mul_f64(factor);
            step.hold = step.hold.mul_f64(factor);
        }
        for fault in &mut self.faults {
            fault.start = fault.start.mul_f64(factor);
            fault.duration = fault.duration.mul_f64(factor);
        }
    }
}

fn located(path: &Path, text: &str, span: &Range<usize>, field: String, message: String) -> Error {
    let at = file::key_within(text, span, &field).unwrap_or(span.start);
    let (line, column) = file::line_col(text, at);
    Error::Scenario { path: path.into(), line, column, field, message }
}

type Fail<'a> = &'a dyn Fn(&Range<usize>, &str, String) -> Error;

fn build(raw: file::File, stem: String, dir: &Path, fail: Fail<'_>) -> Result<Scenario, Error> {
    let span_of = |s: &Option<Spanned<String>>| s.as_ref().map_or(0..0, Spanned::span);
    let answer_timeout = opt_duration(&raw.answer_timeout, "answer_timeout", "10s", fail)?;
    if answer_timeout < Duration::from_millis(1) || answer_timeout > Duration::from_secs(600) {
        return Err(fail(&span_of(&raw.answer_timeout), "answer_timeout", "must lie between 1ms and 10m".into()));
    }
    let sustained = match &raw.slo.sustained {
        None => None,
        Some(s) => {
            let span = spanned_duration(s, "slo.sustained", fail)?;
            if span.as_secs() < 1 || span.subsec_nanos() != 0 {
                return Err(fail(&s.span(), "slo.sustained", "must be a whole number of seconds, at least 1s".into()));
            }
            Some(span)
        }
    };
    let slos: Vec<Rule> = raw
        .slo
        .rules
        .iter()
        .map(|r| Rule::parse(r.get_ref()).map_err(|m| fail(&r.span(), "slo.rules", m)))
        .collect::<Result<_, _>>()?;
    let leak_floor_mb_per_h = match &raw.slo.leak_floor {
        None => crate::leak::DEFAULT_FLOOR_MB_PER_H,
        Some(text) => parse_rate_mb_per_h(text.get_ref()).map_err(|m| fail(&text.span(), "slo.leak_floor", m))?,
    };
    let steps = build_steps(&raw.load, fail)?;
    let load_duration = steps.iter().map(|s| s.ramp + s.hold).sum();
    let feeds = feeds::build(&raw.feeds, dir, fail)?;
    let mix = journeys::build_mix(raw.actions.as_ref(), &raw.journeys, &feeds, fail)?;
    let chats = build_chats(&raw.chats, fail)?;
    for (rule, raw_rule) in slos.iter().zip(&raw.slo.rules) {
        let journey = |name: &String| mix.journeys().find(|j| !j.single && &j.name == name);
        let missing = match &rule.scope {
            None => None,
            Some(crate::slo::Scope::Journey(name)) => journey(name).is_none().then(|| format!("no journey `{name}`")),
            Some(crate::slo::Scope::Step { journey: name, step }) => match journey(name) {
                None => Some(format!("no journey `{name}`")),
                Some(j) => {
                    (!j.steps.iter().any(|s| &s.name == step)).then(|| format!("journey `{name}` has no step `{step}`"))
                }
            },
        };
        if let Some(missing) = missing {
            return Err(fail(&raw_rule.span(), "slo.rules", format!("`{}`: {missing}", rule.name)));
        }
    }
    if chats.group_share == 0.0 {
        let actions = raw.actions.as_ref().map(|a| a.get_ref().as_slice()).unwrap_or_default();
        let entries = actions.iter().enumerate().map(|(i, a)| (format!("actions[{i}]"), a));
        let steps = raw.journeys.iter().enumerate().flat_map(|(i, j)| {
            j.get_ref().steps.get_ref().iter().enumerate().map(move |(k, s)| (format!("journeys[{i}].steps[{k}]"), s))
        });
        let mut all = entries.chain(steps).zip(mix.journeys().flat_map(|j| j.steps.iter()));
        if let Some(((prefix, entry), _)) = all.find(|(_, step)| step.action.needs_group()) {
            let message = "acts in a group chat: set [chats] group_share above 0".to_string();
            return Err(fail(&entry.get_ref().kind.span(), &format!("{prefix}.kind"), message));
        }
    }
    Ok(Scenario {
        name: raw.name.unwrap_or(stem),
        description: raw.description,
        seed: raw.seed.unwrap_or(1),
        steps,
        pacing: build_pacing(&raw.pacing, fail)?,
        mix,
        feeds,
        chats,
        answer_timeout,
        late_tolerance: opt_duration(&raw.late_tolerance, "late_tolerance", "100ms", fail)?,
        slos,
        sustained,
        leak_floor_mb_per_h,
        bot: BotSettings { args: raw.bot.args, env: raw.bot.env },
        external_api: faults::build_external_api(&raw.external_api, fail)?,
        faults: faults::build_faults(&raw.external_api.faults, &raw.bot_api.faults, load_duration, fail)?,
        compare: build_compare(&raw.compare, fail)?,
        telegram_limits: match &raw.telegram.limits {
            None => Limits::Off,
            Some(limits) => match limits.get_ref().as_str() {
                "off" => Limits::Off,
                "real" => Limits::Real,
                "paid" => Limits::Paid,
                other => {
                    let message = format!("unknown limits `{other}` (use \"real\", \"paid\" or \"off\")");
                    return Err(fail(&limits.span(), "telegram.limits", message));
                }
            },
        },
    })
}

fn build_compare(raw: &file::Compare, fail: Fail<'_>) -> Result<CompareSettings, Error> {
    let threshold = match &raw.threshold {
        None => None,
        Some(text) => Some(
            crate::compare::Threshold::parse(text.get_ref())
                .map_err(|m| fail(&text.span(), "compare.threshold", m))?
                .fraction(),
        ),
    };
    if let Some(gate) = &raw.gate {
        crate::compare::check_gate(gate.get_ref()).map_err(|m| fail(&gate.span(), "compare.gate", m))?;
    }
    Ok(CompareSettings { threshold, gate: raw.gate.as_ref().map(|g| g.get_ref().clone()) })
}

/// `20MB/h`, `0.5 MB/h`: a memory growth rate in MB (10^6 bytes) per hour.
fn parse_rate_mb_per_h(text: &str) -> Result<f64, String> {
    let number = text.trim().strip_suffix("MB/h").map(str::trim).ok_or("expected a rate like `20MB/h`")?;
    match number.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate >= 0.0 => Ok(rate),
        _ => Err(format!("`{number}` is not a rate in MB/h of zero or more")),
    }
}

fn spanned_duration(value: &Spanned<String>, field: &str, fail: Fail<'_>) -> Result<Duration, Error> {
    duration::parse(value.get_ref()).map_err(|m| fail(&value.span(), field, m))
}

fn opt_duration(
    value: &Option<Spanned<String>>,
    field: &str,
    default: &str,
    fail: Fail<'_>,
) -> Result<Duration, Error> {
    match value {
        Some(v) => spanned_duration(v, field, fail),
        None => Ok(duration::parse(default).expect("default durations parse")),
    }
}

fn build_steps(load: &Spanned<file::Load>, fail: Fail<'_>) -> Result<Vec<Step>, Error> {
    let raw = load.get_ref();
    let check_users = |users: &Spanned<u64>, field: &str| -> Result<usize, Error> {
        match *users.get_ref() {
            n if n > MAX_USERS => Err(fail(&users.span(), field, format!("at most {MAX_USERS} users"))),
            n => Ok(n as usize),
        }
    };
    if let Some(steps) = &raw.steps {
        if let Some(extra) = raw.users.as_ref().map(Spanned::span).or(raw.duration.as_ref().map(Spanned::span)) {
            return Err(fail(&extra, "load", "use either `steps` or `users`/`hatch_rate`/`duration`, not both".into()));
        }
        if steps.is_empty() {
            return Err(fail(&load.span(), "load.steps", "needs at least one step".into()));
        }
        let mut out = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let s = step.get_ref();
            let field = |name: &str| format!("load.steps[{i}].{name}");
            out.push(Step {
                label: s.label.as_ref().map_or(format!("step{}", i + 1), |l| l.get_ref().replace(',', " ")),
                users: check_users(&s.users, &field("users"))?,
                ramp: s.ramp.as_ref().map_or(Ok(Duration::ZERO), |r| spanned_duration(r, &field("ramp"), fail))?,
                hold: s.hold.as_ref().map_or(Ok(Duration::ZERO), |h| spanned_duration(h, &field("hold"), fail))?,
            });
        }
        if out.iter().all(|s| s.users == 0) || out.iter().all(|s| s.ramp + s.hold == Duration::ZERO) {
            return Err(fail(&load.span(), "load.steps", "the steps add up to no users or no time".into()));
        }
        return Ok(out);
    }
    let users =
        raw.users.as_ref().ok_or_else(|| fail(&load.span(), "load.users", "missing (or give `steps`)".into()))?;
    let n_users = check_users(users, "load.users")?;
    if n_users == 0 {
        return Err(fail(&users.span(), "load.users", "must be at least 1".into()));
    }
    let total = raw.duration.as_ref().ok_or_else(|| fail(&load.span(), "load.duration", "missing".into()))?;
    let total_span = total.span();
    let total = spanned_duration(total, "load.duration", fail)?;
    let ramp = match &raw.hatch_rate {
        None => Duration::ZERO,
        Some(rate) if *rate.get_ref() > 0.0 && rate.get_ref().is_finite() => {
            // A positive rate can still be so small that the ramp overflows a `Duration`, and converting would panic.
            Duration::try_from_secs_f64(n_users as f64 / rate.get_ref())
                .map_err(|_| fail(&rate.span(), "load.hatch_rate", "too low: the ramp would outlast any load".into()))?
        }
        Some(rate) => {
            return Err(fail(&rate.span(), "load.hatch_rate", "must be a positive number of users per second".into()))
        }
    };
    if total <= ramp {
        return Err(fail(
            &total_span,
            "load.duration",
            format!("must be longer than the ramp ({} at hatch_rate)", duration::format(ramp)),
        ));
    }
    let hatch = Step { label: "ramp".into(), users: n_users, ramp, hold: Duration::ZERO };
    let hold = Step { label: "hold".into(), users: n_users, ramp: Duration::ZERO, hold: total - ramp };
    Ok(if ramp.is_zero() { vec![hold] } else { vec![hatch, hold] })
}

fn build_pacing(pacing: &Spanned<file::Pacing>, fail: Fail<'_>) -> Result<Pacing, Error> {
    let raw = pacing.get_ref();
    match raw.mode.get_ref().as_str() {
        "closed" => {
            if let Some(rate) = &raw.rate_per_s {
                return Err(fail(&rate.span(), "pacing.rate_per_s", "only applies to mode = \"open\"".into()));
            }
            let think = match &raw.think {
                Some(t) => duration::parse_range(t.get_ref()).map_err(|m| fail(&t.span(), "pacing.think", m))?,
                None => Duration::from_secs(1)..Duration::from_secs(3),
            };
            Ok(Pacing::Closed { think })
        }
        "open" => {
            if let Some(think) = &raw.think {
                return Err(fail(&think.span(), "pacing.think", "only applies to mode = \"closed\"".into()));
            }
            let rate = raw.rate_per_s.as_ref().ok_or_else(|| {
                fail(&pacing.span(), "pacing.rate_per_s", "missing (open pacing needs a rate)".into())
            })?;
            match *rate.get_ref() {
                r if r > 0.0 && r <= MAX_RATE => Ok(Pacing::Open { rate_per_s: r }),
                _ => Err(fail(&rate.span(), "pacing.rate_per_s", "must lie between 0 (excluded) and 1000000".into())),
            }
        }
        other => {
            Err(fail(&raw.mode.span(), "pacing.mode", format!("unknown mode `{other}` (use \"closed\" or \"open\")")))
        }
    }
}

fn build_chats(chats: &file::Chats, fail: Fail<'_>) -> Result<Chats, Error> {
    let group_share = match &chats.group_share {
        None => 0.0,
        Some(s) if (0.0..=1.0).contains(s.get_ref()) => *s.get_ref(),
        Some(s) => return Err(fail(&s.span(), "chats.group_share", "must lie between 0 and 1".into())),
    };
    let group_size = match &chats.group_size {
        None => 10,
        Some(s) if (1..=10_000).contains(s.get_ref()) => *s.get_ref() as usize,
        Some(s) => return Err(fail(&s.span(), "chats.group_size", "must lie between 1 and 10000".into())),
    };
    Ok(Chats { group_share, group_size })
}

/// Serializers for `meta.json`: spans as seconds, rules as their text.
mod ser {
    use std::ops::Range;
    use std::time::Duration;

    use serde::Serializer;

    pub fn secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn opt_secs<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_f64(d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    pub fn range<S: Serializer>(r: &Range<Duration>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq([r.start.as_secs_f64(), r.end.as_secs_f64()])
    }

    pub fn rules<S: Serializer>(rules: &[crate::slo::Rule], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(rules.iter().map(|r| r.name.as_str()))
    }
}

#[cfg(test)]
mod tests;

//! What users do: journeys, each an ordered list of steps, picked by weight. A step is one action of any kind
//! (the harness's `text`, `command`, `menu` and `button`, or any kind of the mock's control API), with an
//! optional think time before it, expectations on its answer, and a capture that later steps can use as
//! `${name}`, as they can a feed's columns as `${feed.column}`. Each `[[actions]]` entry is a journey of one step.

use std::collections::BTreeSet;
use std::ops::Range;
use std::time::Duration;

use rand::Rng;
use regex::Regex;
use serde::{Serialize, Serializer};
use toml::Spanned;

use super::feeds::Feeds;
use super::{file, Fail};
use crate::duration;
use crate::error::Error;

/// The report label of a button press.
pub const BUTTON_LABEL: &str = "button press";

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    Text {
        text: String,
    },
    Command {
        command: String,
        args: Option<String>,
    },
    /// Send the command, then press a button (`data`, or the first one) on the keyboard it answers with.
    Menu {
        command: String,
        data: Option<String>,
    },
    /// Press a button of the previous step's answer: the one labelled `label`, or with callback data `data`, or
    /// the first.
    Button {
        label: Option<String>,
        data: Option<String>,
    },
    /// Edit the user's last message of the journey to `text`.
    Edit {
        text: String,
    },
    /// Any other kind of user action, as mock-telegram's control API takes it (`photo`, `inline_query`, ...).
    #[serde(untagged)]
    User(mock_telegram::control::Action),
}

impl Action {
    /// The action's name in reports: `text`, the command with its slash, or the kind (`photo`).
    pub fn label(&self) -> String {
        match self {
            Action::Text { .. } => "text".into(),
            Action::Command { command, .. } | Action::Menu { command, .. } => {
                format!("/{}", command.trim_start_matches('/'))
            }
            Action::Button { .. } => BUTTON_LABEL.into(),
            Action::Edit { .. } => "edit".into(),
            Action::User(action) => action.name().into(),
        }
    }

    /// Whether the action only makes sense in a group chat (a join, a leave, a join request).
    pub fn needs_group(&self) -> bool {
        use mock_telegram::control::Action as Kind;
        matches!(self, Action::User(Kind::Join | Kind::Leave | Kind::JoinRequest))
    }
}

/// A regular expression, compared and written as its text.
#[derive(Debug, Clone)]
pub struct Pattern(pub Regex);

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Serialize for Pattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}

/// What a step's answer must be; a step without any expects only an answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Expectation {
    /// A regular expression the text or caption of one of the answer's messages must match.
    pub text: Option<Pattern>,
    /// Button labels the answer's keyboards must have, all of them.
    pub buttons: Vec<String>,
    /// The method of the answering call (`sendPhoto`).
    pub method: Option<String>,
    /// How many bot messages make the answer: the user waits for that many.
    pub messages: Option<u32>,
    /// Wait until the bot has been quiet this long: a streamed answer's last edit ends it.
    #[serde(serialize_with = "super::ser::opt_secs")]
    pub quiet: Option<Duration>,
}

impl Expectation {
    /// Whether the user waits past the first answering call (several messages, or a stream).
    pub fn collects(&self) -> bool {
        self.messages.is_some_and(|n| n > 1) || self.quiet.is_some()
    }

    pub fn is_empty(&self) -> bool {
        *self == Expectation::default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Capture {
    pub name: String,
    /// Its first group (or the whole match) becomes `${name}`.
    pub pattern: Pattern,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JourneyStep {
    pub name: String,
    pub action: Action,
    /// Waited before the step (closed pacing); `None` leaves the pacing's think time.
    #[serde(serialize_with = "opt_range")]
    pub think: Option<Range<Duration>>,
    pub expect: Expectation,
    pub capture: Option<Capture>,
    /// Whether any of its texts has `${...}` to fill in.
    #[serde(skip)]
    pub templated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Journey {
    pub name: String,
    pub steps: Vec<JourneyStep>,
    /// An `[[actions]]` entry: reported by action, not as a journey.
    #[serde(skip)]
    pub single: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mix {
    pub entries: Vec<(u32, Journey)>,
    total: u32,
}

impl Mix {
    /// Picks a journey with probability proportional to its weight; returns its index too.
    pub fn pick(&self, rng: &mut impl Rng) -> (usize, &Journey) {
        let mut ticket = rng.random_range(0..self.total);
        for (i, (weight, journey)) in self.entries.iter().enumerate() {
            if ticket < *weight {
                return (i, journey);
            }
            ticket -= weight;
        }
        let last = self.entries.len() - 1;
        (last, &self.entries[last].1)
    }

    pub fn journey(&self, index: usize) -> &Journey {
        &self.entries[index].1
    }

    pub fn journeys(&self) -> impl Iterator<Item = &Journey> {
        self.entries.iter().map(|(_, journey)| journey)
    }
}

fn opt_range<S: Serializer>(r: &Option<Range<Duration>>, s: S) -> Result<S::Ok, S::Error> {
    match r {
        Some(r) => s.collect_seq([r.start.as_secs_f64(), r.end.as_secs_f64()]),
        None => s.serialize_none(),
    }
}

/// Fills in `${name}` from `lookup`; an unknown name stays as written.
pub fn render(text: &str, mut lookup: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                out.push_str(&lookup(name).unwrap_or_else(|| format!("${{{name}}}")));
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `${...}` names in `text`.
fn names_in(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    render(text, |name| {
        names.push(name.to_owned());
        None
    });
    names
}

pub(super) fn build_mix(
    actions: Option<&Spanned<Vec<Spanned<file::Action>>>>,
    journeys: &[Spanned<file::Journey>],
    feeds: &Feeds,
    fail: Fail<'_>,
) -> Result<Mix, Error> {
    let mut entries = Vec::new();
    let weight = |w: &Option<Spanned<u32>>, field: String| {
        w.as_ref().map_or(Ok(1), |w| match *w.get_ref() {
            0 => Err(fail(&w.span(), &field, "must be at least 1".into())),
            n => Ok(n),
        })
    };
    for (i, spanned) in actions.map(|a| a.get_ref().as_slice()).unwrap_or_default().iter().enumerate() {
        let prefix = format!("actions[{i}]");
        let step = build_step(&prefix, spanned, &[], feeds, true, fail)?;
        let journey = Journey { name: step.name.clone(), steps: vec![step], single: true };
        entries.push((weight(&spanned.get_ref().weight, format!("{prefix}.weight"))?, journey));
    }
    let mut names = BTreeSet::new();
    for (i, spanned) in journeys.iter().enumerate() {
        let raw = spanned.get_ref();
        let prefix = format!("journeys[{i}]");
        let name = raw.name.get_ref().trim().to_owned();
        if name.is_empty() || name.contains(char::is_whitespace) || !names.insert(name.clone()) {
            let message = "must be one word, unique among the journeys".to_owned();
            return Err(fail(&raw.name.span(), &format!("{prefix}.name"), message));
        }
        if raw.steps.get_ref().is_empty() {
            return Err(fail(&raw.steps.span(), &format!("{prefix}.steps"), "needs at least one step".into()));
        }
        let (mut steps, mut captures) = (Vec::<JourneyStep>::new(), Vec::new());
        for (j, entry) in raw.steps.get_ref().iter().enumerate() {
            let step_prefix = format!("{prefix}.steps[{j}]");
            if entry.get_ref().weight.is_some() {
                return Err(fail(
                    &entry.span(),
                    &format!("{step_prefix}.weight"),
                    "a journey's steps have no weight".into(),
                ));
            }
            let mut step = build_step(&step_prefix, entry, &captures, feeds, j == 0, fail)?;
            if steps.iter().any(|s| s.name == step.name) {
                if entry.get_ref().name.is_some() {
                    return Err(fail(&entry.span(), &format!("{step_prefix}.name"), "two steps have this name".into()));
                }
                step.name = format!("{}#{}", step.name, j + 1);
            }
            captures.extend(step.capture.as_ref().map(|c| c.name.clone()));
            steps.push(step);
        }
        entries.push((weight(&raw.weight, format!("{prefix}.weight"))?, Journey { name, steps, single: false }));
    }
    if entries.is_empty() {
        return Err(fail(&(0..0), "actions", "needs at least one [[actions]] entry or [[journeys]]".into()));
    }
    let total = entries.iter().map(|(w, _)| *w).sum();
    Ok(Mix { entries, total })
}

/// One step (an `[[actions]]` entry or a journey's step) at `prefix`: its action, then what it expects and
/// captures. `captures` are the names earlier steps of its journey capture.
fn build_step(
    prefix: &str,
    spanned: &Spanned<file::Action>,
    captures: &[String],
    feeds: &Feeds,
    first: bool,
    fail: Fail<'_>,
) -> Result<JourneyStep, Error> {
    let a = spanned.get_ref();
    let field = |name: &str| format!("{prefix}.{name}");
    let action = build_action(prefix, spanned, fail)?;
    if matches!(action, Action::Button { .. } | Action::Edit { .. }) && first {
        let message = "a button press or an edit needs a step before it (the answer with the buttons, the message to \
                       edit)"
            .to_owned();
        return Err(fail(&a.kind.span(), &field("kind"), message));
    }
    let strings = serde_json::to_value(&action).map(|v| strings_of(&v)).unwrap_or_default();
    let mut templated = false;
    for name in strings.iter().flat_map(|s| names_in(s)) {
        templated = true;
        let known = captures.contains(&name) || name.strip_prefix("feed.").is_some_and(|c| feeds.has_column(c));
        if !known {
            let message = format!("`${{{name}}}` is neither captured by an earlier step nor a feed's column");
            return Err(fail(&spanned.span(), prefix, message));
        }
    }
    let think = match &a.think {
        None => None,
        Some(t) => Some(duration::parse_range(t.get_ref()).map_err(|m| fail(&t.span(), &field("think"), m))?),
    };
    let regex = |s: &Spanned<String>, name: &str| {
        Regex::new(s.get_ref()).map(Pattern).map_err(|e| fail(&s.span(), &field(name), format!("bad regex: {e}")))
    };
    let method = match &a.expect_method {
        Some(m) if mock_telegram::spec::spec().method(m.get_ref()).is_none() => {
            let message = format!("`{}` is not a Bot API method", m.get_ref());
            return Err(fail(&m.span(), &field("expect_method"), message));
        }
        m => m.as_ref().map(|m| m.get_ref().clone()),
    };
    let messages = match &a.expect_messages {
        Some(n) if *n.get_ref() == 0 || *n.get_ref() > 100 => {
            return Err(fail(&n.span(), &field("expect_messages"), "must lie between 1 and 100".into()));
        }
        n => n.as_ref().map(|n| *n.get_ref()),
    };
    let quiet = match &a.quiet {
        None => None,
        Some(q) => Some(duration::parse(q.get_ref()).map_err(|m| fail(&q.span(), &field("quiet"), m))?),
    };
    let expect = Expectation {
        text: a.expect.as_ref().map(|e| regex(e, "expect")).transpose()?,
        buttons: a.expect_buttons.as_ref().map(|b| b.get_ref().clone()).unwrap_or_default(),
        method,
        messages,
        quiet,
    };
    let capture = match &a.capture {
        None => None,
        Some(c) => {
            let raw = c.get_ref();
            let valid = !raw.name.is_empty() && raw.name.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
            if !valid || raw.name == "feed" {
                let message = "its name must be letters, digits and `_` (and not `feed`)".to_owned();
                return Err(fail(&c.span(), &field("capture"), message));
            }
            Some(Capture { name: raw.name.clone(), pattern: regex(&raw.regex, "capture.regex")? })
        }
    };
    let name = a.name.as_ref().map_or_else(|| action.label(), |n| n.get_ref().clone());
    Ok(JourneyStep { name, action, think, expect, capture, templated })
}

/// Every string in a JSON value.
fn strings_of(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(items) => items.iter().flat_map(strings_of).collect(),
        serde_json::Value::Object(fields) => fields.values().flat_map(strings_of).collect(),
        _ => Vec::new(),
    }
}

/// A mock kind from its table, or serde's complaint about it (`unknown variant` read as `unknown kind`).
fn mock_kind(table: toml::Table) -> Result<mock_telegram::control::Action, String> {
    <mock_telegram::control::Action as serde::Deserialize>::deserialize(toml::Value::Table(table))
        .map_err(|error| error.message().replace("unknown variant", "unknown kind"))
}

/// One step's action: its kind decides which keys it needs and which it refuses.
fn build_action(prefix: &str, spanned: &Spanned<file::Action>, fail: Fail<'_>) -> Result<Action, Error> {
    let a = spanned.get_ref();
    let field = |name: &str| format!("{prefix}.{name}");
    let required = |v: &Option<Spanned<String>>, name: &str| -> Result<String, Error> {
        v.as_ref().map(|s| s.get_ref().clone()).ok_or_else(|| fail(&spanned.span(), &field(name), "missing".into()))
    };
    let refuse = |v: &Option<Spanned<String>>, name: &str| -> Result<(), Error> {
        let kind = a.kind.get_ref();
        v.as_ref().map_or(Ok(()), |s| Err(fail(&s.span(), &field(name), format!("does not apply to kind `{kind}`"))))
    };
    let command = || -> Result<String, Error> {
        let c = required(&a.command, "command")?.trim_start_matches('/').to_string();
        if c.is_empty() || c.contains(char::is_whitespace) {
            let span = a.command.as_ref().map_or(spanned.span(), Spanned::span);
            return Err(fail(&span, &field("command"), "must be one word, like \"start\"".into()));
        }
        Ok(c)
    };
    let text = |v: &Option<Spanned<String>>| v.as_ref().map(|s| s.get_ref().clone());
    let kind = a.kind.get_ref().as_str();
    let own_kind = matches!(kind, "text" | "command" | "menu" | "button" | "edit");
    if let Some(key) = a.rest.keys().next().filter(|_| own_kind) {
        return Err(fail(&spanned.span(), &field(key), format!("does not apply to kind `{kind}`")));
    }
    if kind != "button" {
        refuse(&a.label, "label")?;
    }
    match kind {
        "text" => {
            refuse(&a.command, "command")?;
            refuse(&a.args, "args")?;
            refuse(&a.data, "data")?;
            Ok(Action::Text { text: required(&a.text, "text")? })
        }
        "command" => {
            refuse(&a.text, "text")?;
            refuse(&a.data, "data")?;
            Ok(Action::Command { command: command()?, args: text(&a.args) })
        }
        "menu" => {
            refuse(&a.text, "text")?;
            refuse(&a.args, "args")?;
            Ok(Action::Menu { command: command()?, data: text(&a.data) })
        }
        "button" => {
            refuse(&a.text, "text")?;
            refuse(&a.command, "command")?;
            refuse(&a.args, "args")?;
            Ok(Action::Button { label: text(&a.label), data: text(&a.data) })
        }
        "edit" => {
            refuse(&a.command, "command")?;
            refuse(&a.args, "args")?;
            refuse(&a.data, "data")?;
            Ok(Action::Edit { text: required(&a.text, "text")? })
        }
        "callback" => {
            let message = "kind `callback` needs a message id; a `button` step presses its answer's button".to_owned();
            Err(fail(&a.kind.span(), &field("kind"), message))
        }
        other => {
            let mut table = a.rest.clone();
            table.insert("kind".into(), other.into());
            if let Some(text) = &a.text {
                table.insert("text".into(), text.get_ref().clone().into());
            }
            // toml hands a date-time over as text, which a string key would take: no key of a kind is one.
            if let Some((key, _)) = a.rest.iter().find(|(_, v)| v.is_datetime()) {
                let message = "invalid type: date-time, expected a string, a number or a boolean".to_owned();
                return Err(fail(&spanned.span(), &field(key), message));
            }
            let user = mock_kind(table.clone());
            if let Err(message) = user.as_ref().map_err(String::as_str) {
                if message.starts_with("unknown kind") {
                    return Err(fail(&a.kind.span(), &field("kind"), message.to_owned()));
                }
            }
            refuse(&a.command, "command")?;
            refuse(&a.args, "args")?;
            refuse(&a.data, "data")?;
            user.map(Action::User).map_err(|message| {
                // The raw shape keeps these keys without spans: the key that alone fails names the line.
                let alone = |key: &String| {
                    let probe =
                        toml::Table::from_iter([("kind".to_owned(), other.into()), (key.clone(), table[key].clone())]);
                    mock_kind(probe).is_err_and(|m| !m.starts_with("missing field"))
                };
                match table.keys().filter(|k| *k != "kind").find(|k| alone(k)) {
                    Some(key) => fail(&spanned.span(), &field(key), message),
                    None => fail(&spanned.span(), prefix, message),
                }
            })
        }
    }
}

//! One user's way through a journey: which journey and step it is at, what earlier steps captured and which
//! feed rows it took, and the last answer (whose buttons a `button` step presses). It turns the current step into
//! the control API's action, with `${...}` filled in, and judges the step's reply against its expectations.
//! No I/O: the driver posts what it builds and hands back what came.

use std::sync::atomic::{AtomicUsize, Ordering};

use rand::Rng;
use serde_json::{json, Value};

use crate::control::{ActionReply, Answer};
use crate::scenario::{render, Action, Feeds, JourneyStep, Mix, Order};

/// A user's journey in progress.
#[derive(Debug, Clone)]
pub struct Progress {
    pub journey: usize,
    pub step: usize,
    /// `name` → value: the captures so far, and `feed.column` for the rows this journey took.
    vars: Vec<(String, String)>,
    /// The last answer's calls, for the next step's button press.
    last: Vec<Answer>,
    /// The user's last message in the journey, for an edit.
    mine: Option<i64>,
}

/// What became of a step.
#[derive(Debug, Clone, PartialEq)]
pub enum Judged {
    /// As expected; the journey goes on (or is done, when this was its last step).
    Right,
    /// Answered, but not as expected (or nothing to capture): what was wrong, with what the bot said.
    Wrong(String),
}

impl Progress {
    /// Starts a journey picked by weight, taking a row of each feed: the next one in turn (`cursors`, shared by
    /// all users) or a random one.
    pub fn start(mix: &Mix, feeds: &Feeds, cursors: &[AtomicUsize], rng: &mut impl Rng) -> Progress {
        let (journey, _) = mix.pick(rng);
        let mut vars = Vec::new();
        for (f, feed) in feeds.feeds.iter().enumerate() {
            let row = match feed.order {
                Order::Sequential => cursors.get(f).map_or(0, |c| c.fetch_add(1, Ordering::Relaxed)) % feed.rows.len(),
                Order::Random => rng.random_range(0..feed.rows.len()),
            };
            for (column, value) in feed.columns.iter().zip(&feed.rows[row]) {
                vars.push((format!("feed.{column}"), value.clone()));
            }
        }
        Progress { journey, step: 0, vars, last: Vec::new(), mine: None }
    }

    pub fn step<'m>(&self, mix: &'m Mix) -> &'m JourneyStep {
        &mix.journey(self.journey).steps[self.step]
    }

    fn fill(&self, text: &str) -> String {
        render(text, |name| self.vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()))
    }

    /// The control API action of `step`, its `${...}` filled in; for a button press, why it cannot be made
    /// (the last answer has no such button).
    pub fn action(&self, step: &JourneyStep) -> Result<Value, String> {
        let fill = |text: &str| if step.templated { self.fill(text) } else { text.to_owned() };
        Ok(match &step.action {
            Action::Text { text } => json!({"kind": "text", "text": fill(text)}),
            Action::Command { command, args } => {
                json!({"kind": "command", "command": command, "args": args.as_deref().map(fill)})
            }
            Action::Menu { command, .. } => json!({"kind": "command", "command": command}),
            Action::Button { label, data } => self.press(label.as_deref().map(fill), data.as_deref().map(fill))?,
            Action::Edit { text } => {
                let message_id = self.mine.ok_or("no message of the user's to edit")?;
                json!({"kind": "edit", "message_id": message_id, "text": fill(text)})
            }
            Action::User(action) => {
                let value = serde_json::to_value(action).unwrap_or_default();
                if step.templated {
                    fill_strings(value, &|text| self.fill(text))
                } else {
                    value
                }
            }
        })
    }

    /// A press of the last answer's button labelled `label`, or with callback data `data`, or its first.
    fn press(&self, label: Option<String>, data: Option<String>) -> Result<Value, String> {
        for answer in self.last.iter().rev() {
            let Some(message_id) = answer.message_id else { continue };
            let buttons = crate::answers::buttons(answer);
            let found = buttons.iter().find(|(l, d)| match (&label, &data) {
                (Some(label), _) => l == label,
                (None, Some(data)) => d.as_ref() == Some(data),
                (None, None) => d.is_some(),
            });
            if let Some((_, Some(data))) = found {
                return Ok(json!({"kind": "callback", "message_id": message_id, "data": data}));
            }
        }
        let wanted = label.map(|l| format!("labelled {l:?}")).or(data.map(|d| format!("with data {d:?}")));
        Err(format!("no button {} on the last answer", wanted.unwrap_or_else(|| "at all".into())))
    }

    /// Judges an answered step's reply: its expectations, then its capture. Keeps the answer for the next step.
    pub fn judge(&mut self, step: &JourneyStep, reply: &ActionReply) -> Judged {
        self.mine = reply.message_id.or(self.mine);
        let answers = match (&reply.answers, &reply.answer) {
            (all, _) if !all.is_empty() => all.clone(),
            (_, Some(first)) => vec![first.clone()],
            (_, None) => Vec::new(),
        };
        if let Err(why) = crate::answers::check(&step.expect, &answers, reply.messages) {
            return Judged::Wrong(why);
        }
        if let Some(capture) = &step.capture {
            match crate::answers::capture(capture, &answers) {
                Some(value) => self.vars.push((capture.name.clone(), value)),
                None => return Judged::Wrong(format!("nothing to capture as `{}` in the answer", capture.name)),
            }
        }
        // A press answered by answerCallbackQuery keeps the message with the keyboard for the next press.
        if answers.iter().any(|a| a.message_id.is_some()) {
            self.last = answers;
        }
        Judged::Right
    }
}

/// `value` with every string passed through `fill`.
fn fill_strings(value: Value, fill: &dyn Fn(&str) -> String) -> Value {
    match value {
        Value::String(s) => Value::String(fill(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| fill_strings(v, fill)).collect()),
        Value::Object(fields) => Value::Object(fields.into_iter().map(|(k, v)| (k, fill_strings(v, fill))).collect()),
        other => other,
    }
}

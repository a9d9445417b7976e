//! Parses `events.jsonl`, the run's log of phase changes, bot exits, faults and SLO breaches, into the few facts a
//! chart marks: when, what kind, and a short label. Fields beyond `t_s` and `kind` are read only to name the marker.

use serde_json::Value;

use crate::error::json_reason;
use crate::series::numbered_lines;
use crate::Error;

/// The file's name in a run directory.
pub const FILE: &str = "events.jsonl";

/// The fields that may name an event, tried in this order; the first string found becomes part of the label.
const DETAIL_FIELDS: [&str; 5] = ["label", "name", "phase", "fault", "slo"];

/// Labels longer than this are cut, because they are drawn inside the plot.
const MAX_LABEL_CHARS: usize = 28;

/// One line of `events.jsonl`.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Seconds since the load started.
    pub t_s: f64,
    /// `phase`, `bot_started`, `bot_exited`, `bot_restarted`, `fault`, `slo_breach`, `interrupted`, `error`, or a
    /// kind added later; unknown kinds are kept, not rejected.
    pub kind: String,
    /// What the chart writes next to the marker, e.g. `hold` for a phase or `fault: stall` for a fault.
    pub label: String,
}

impl Event {
    /// Parses the whole file. Blank lines are skipped; a torn final line (no newline, not JSON) is dropped.
    pub fn from_jsonl(text: &str) -> Result<Vec<Event>, Error> {
        let mut events = Vec::new();
        for (number, line, torn) in numbered_lines(text) {
            if line.trim().is_empty() {
                continue;
            }
            match Event::parse(line) {
                Ok(event) => events.push(event),
                Err(_) if torn => break,
                Err(reason) => return Err(Error::malformed(FILE, number, reason)),
            }
        }
        Ok(events)
    }

    fn parse(line: &str) -> Result<Event, String> {
        let value: Value = serde_json::from_str(line).map_err(|e| json_reason(&e))?;
        let t_s = value.get("t_s").and_then(Value::as_f64).ok_or("expected a number field `t_s`")?;
        let kind = value.get("kind").and_then(Value::as_str).ok_or("expected a string field `kind`")?;
        let detail = DETAIL_FIELDS.iter().find_map(|field| value.get(*field).and_then(Value::as_str));
        let label = match (kind, detail) {
            ("phase", Some(phase)) => phase.to_string(),
            (kind, Some(detail)) => format!("{}: {detail}", kind.replace('_', " ")),
            (kind, None) => kind.replace('_', " "),
        };
        Ok(Event { t_s, kind: kind.to_string(), label: shorten(&label) })
    }
}

fn shorten(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL_CHARS {
        return label.to_string();
    }
    let cut: String = label.chars().take(MAX_LABEL_CHARS - 3).collect();
    format!("{cut}...")
}

//! The scenario file exactly as TOML spells it: every table refuses unknown keys, and every value that
//! is validated later keeps its span so its error can name the line. Nothing here has meaning yet; the
//! parent module turns these into domain types.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    pub name: Option<String>,
    pub description: Option<String>,
    pub seed: Option<u64>,
    pub answer_timeout: Option<Spanned<String>>,
    pub late_tolerance: Option<Spanned<String>>,
    pub load: Spanned<Load>,
    pub pacing: Spanned<Pacing>,
    #[serde(default)]
    pub chats: Chats,
    pub actions: Option<Spanned<Vec<Spanned<Action>>>>,
    #[serde(default)]
    pub journeys: Vec<Spanned<Journey>>,
    #[serde(default)]
    pub feeds: Vec<Spanned<Feed>>,
    #[serde(default)]
    pub slo: Slo,
    #[serde(default)]
    pub bot: Bot,
    #[serde(default)]
    pub external_api: ExternalApi,
    #[serde(default)]
    pub bot_api: BotApi,
    #[serde(default)]
    pub compare: Compare,
    #[serde(default)]
    pub telegram: Telegram,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Telegram {
    pub limits: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Compare {
    pub threshold: Option<Spanned<String>>,
    pub gate: Option<Spanned<Vec<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Load {
    pub users: Option<Spanned<u64>>,
    pub hatch_rate: Option<Spanned<f64>>,
    pub duration: Option<Spanned<String>>,
    pub steps: Option<Vec<Spanned<Step>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Step {
    pub label: Option<Spanned<String>>,
    pub users: Spanned<u64>,
    pub ramp: Option<Spanned<String>>,
    pub hold: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Pacing {
    pub mode: Spanned<String>,
    pub think: Option<Spanned<String>>,
    pub rate_per_s: Option<Spanned<f64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Chats {
    pub group_share: Option<Spanned<f64>>,
    pub group_size: Option<Spanned<u64>>,
}

/// An `[[actions]]` entry or a journey's step: the keys of the harness's own kinds (`text`, `command`, `menu`,
/// `button`) and of a step (name, think time, expectations, capture) with their spans, and every other key as
/// written, for the mock's kinds (`photo`, `inline_query`, ...) to take or refuse.
#[derive(Debug, Deserialize)]
pub(super) struct Action {
    pub kind: Spanned<String>,
    pub weight: Option<Spanned<u32>>,
    pub name: Option<Spanned<String>>,
    pub text: Option<Spanned<String>>,
    pub command: Option<Spanned<String>>,
    pub args: Option<Spanned<String>>,
    pub data: Option<Spanned<String>>,
    pub label: Option<Spanned<String>>,
    pub think: Option<Spanned<String>>,
    pub expect: Option<Spanned<String>>,
    pub expect_buttons: Option<Spanned<Vec<String>>>,
    pub expect_method: Option<Spanned<String>>,
    pub expect_messages: Option<Spanned<u32>>,
    pub quiet: Option<Spanned<String>>,
    pub capture: Option<Spanned<Capture>>,
    #[serde(flatten)]
    pub rest: toml::Table,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Capture {
    pub name: String,
    pub regex: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Journey {
    pub name: Spanned<String>,
    pub weight: Option<Spanned<u32>>,
    pub steps: Spanned<Vec<Spanned<Action>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Feed {
    pub file: Spanned<String>,
    pub order: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Slo {
    #[serde(default)]
    pub rules: Vec<Spanned<String>>,
    pub sustained: Option<Spanned<String>>,
    pub leak_floor: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Bot {
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExternalApi {
    pub quote_latency: Option<Spanned<String>>,
    pub ask_latency: Option<Spanned<String>>,
    #[serde(default)]
    pub faults: Vec<Spanned<ExternalFault>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExternalFault {
    pub endpoint: Spanned<String>,
    pub kind: Spanned<String>,
    pub start: Spanned<String>,
    pub duration: Spanned<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BotApi {
    #[serde(default)]
    pub faults: Vec<Spanned<BotApiFault>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BotApiFault {
    #[serde(default)]
    pub methods: Vec<Spanned<String>>,
    pub kind: Spanned<String>,
    pub error_code: Option<Spanned<u16>>,
    pub retry_after: Option<Spanned<u64>>,
    pub delay: Option<Spanned<String>>,
    pub start: Spanned<String>,
    pub duration: Spanned<String>,
}

/// Where the last key of `field` (`size` of `actions[1].size`) is assigned in the table whose span starts at
/// `span` (an array-of-tables entry's span is its header alone): errors about keys the raw shape keeps without
/// spans (the mock's kinds' keys) point at their own line this way.
pub(super) fn key_within(source: &str, span: &Range<usize>, field: &str) -> Option<usize> {
    let key = field.rsplit('.').next().filter(|k| !k.is_empty() && !k.contains('['))?;
    let region = source.get(span.start..)?;
    let mut offset = span.start;
    for (i, line) in region.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_start();
        if i > 0 && trimmed.starts_with('[') {
            return None;
        }
        if trimmed.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with('=')) {
            return Some(offset + line.len() - trimmed.len());
        }
        offset += line.len();
    }
    None
}

/// 1-based line and column of a byte offset.
pub(super) fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The dotted key at `span` as far as the text shows it: the enclosing `[table]` header plus the key on
/// that line, e.g. `load.users`. toml's own errors carry a span but no key path; this recovers one.
pub(super) fn field_at(source: &str, span: &Range<usize>) -> String {
    let start = span.start.min(source.len());
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let line = source[line_start..].lines().next().unwrap_or("").trim();
    let header = |l: &str| l.starts_with('[').then(|| l.trim_matches(['[', ']', ' ']).to_string());
    if let Some(table) = header(line) {
        return table;
    }
    let key = line.split_once('=').map(|(k, _)| k.trim().trim_matches('"').to_string());
    let table = source[..line_start].lines().rev().find_map(|l| header(l.trim()));
    match (table, key) {
        (Some(t), Some(k)) => format!("{t}.{k}"),
        (Some(t), None) => t,
        (None, Some(k)) => k,
        (None, None) => "(file)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_keys() {
        let src = "name = \"x\"\n[load]\nusers = 10\n\n[[actions]]\nkind = \"text\"\n";
        let at = |needle: &str| {
            let i = src.find(needle).unwrap();
            (line_col(src, i), field_at(src, &(i..i + 1)))
        };
        assert_eq!(at("\"x\""), ((1, 8), "name".to_string()));
        assert_eq!(at("10"), ((3, 9), "load.users".to_string()));
        assert_eq!(at("kind"), ((6, 1), "actions.kind".to_string()));
        assert_eq!(at("[load]"), ((2, 1), "load".to_string()));
    }
}

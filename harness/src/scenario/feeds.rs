//! `[[feeds]]`: rows of test data from a CSV (with a header) or JSON-lines file, so that users send different
//! inputs. A step writes `${feed.city}` for the `city` column; each journey a user starts takes the next row in
//! turn (`order = "sequential"`, shared by all users, so 10,000 users starting journeys send 10,000 different
//! rows) or a random one (`order = "random"`). Files are read once, when the scenario is.

use std::path::Path;

use serde::Serialize;
use toml::Spanned;

use super::{file, Fail};
use crate::error::Error;

/// Feeds larger than this are refused: they are read whole into memory.
const MAX_ROWS: usize = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    Sequential,
    Random,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Feed {
    pub file: String,
    pub order: Order,
    pub columns: Vec<String>,
    pub row_count: usize,
    #[serde(skip)]
    pub rows: Vec<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Feeds {
    pub feeds: Vec<Feed>,
}

impl Feeds {
    pub fn has_column(&self, name: &str) -> bool {
        self.column(name).is_some()
    }

    /// The feed and the column index of `name`.
    pub fn column(&self, name: &str) -> Option<(usize, usize)> {
        self.feeds.iter().enumerate().find_map(|(f, feed)| feed.columns.iter().position(|c| c == name).map(|c| (f, c)))
    }

    pub fn is_empty(&self) -> bool {
        self.feeds.is_empty()
    }
}

pub(super) fn build(raw: &[Spanned<file::Feed>], dir: &Path, fail: Fail<'_>) -> Result<Feeds, Error> {
    let mut feeds = Feeds::default();
    for (i, spanned) in raw.iter().enumerate() {
        let entry = spanned.get_ref();
        let field = |name: &str| format!("feeds[{i}].{name}");
        let order = match entry.order.as_ref().map(|o| o.get_ref().as_str()) {
            None | Some("sequential") => Order::Sequential,
            Some("random") => Order::Random,
            Some(other) => {
                let span = entry.order.as_ref().map_or(spanned.span(), Spanned::span);
                let message = format!("unknown order `{other}` (use \"sequential\" or \"random\")");
                return Err(fail(&span, &field("order"), message));
            }
        };
        let name = entry.file.get_ref();
        let path = dir.join(name);
        let bad = |message: String| fail(&entry.file.span(), &field("file"), message);
        let text = std::fs::read_to_string(&path).map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
        let (columns, rows) = match path.extension().and_then(|e| e.to_str()) {
            Some("csv") => csv_rows(&text),
            Some("jsonl" | "ndjson") => json_rows(&text),
            _ => Err("a feed is a .csv file with a header, or a .jsonl file of objects".to_owned()),
        }
        .map_err(|m| bad(format!("{}: {m}", path.display())))?;
        if rows.is_empty() || rows.len() > MAX_ROWS {
            return Err(bad(format!("{} has {} rows; a feed needs 1 to {MAX_ROWS}", path.display(), rows.len())));
        }
        if let Some(taken) = columns.iter().find(|c| feeds.has_column(c)) {
            return Err(bad(format!("column `{taken}` is in an earlier feed too")));
        }
        feeds.feeds.push(Feed { file: name.clone(), order, columns, row_count: rows.len(), rows });
    }
    Ok(feeds)
}

fn csv_rows(text: &str) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    let columns: Vec<String> =
        reader.headers().map_err(|e| e.to_string())?.iter().map(|c| c.trim().to_owned()).collect();
    if columns.iter().any(String::is_empty) {
        return Err("the header names an empty column".into());
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| e.to_string())?;
        rows.push(record.iter().map(str::to_owned).collect());
    }
    Ok((columns, rows))
}

fn json_rows(text: &str) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let mut columns: Vec<String> = Vec::new();
    let mut objects = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(line).map_err(|e| format!("line {}: not a JSON object: {e}", n + 1))?;
        for key in object.keys() {
            if !columns.contains(key) {
                columns.push(key.clone());
            }
        }
        objects.push(object);
    }
    let cell = |value: Option<&serde_json::Value>| match value {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let rows = objects.iter().map(|o| columns.iter().map(|c| cell(o.get(c))).collect()).collect();
    Ok((columns, rows))
}

//! Parses `timeseries.csv`, the run's one-row-per-second table, into typed rows. It checks the file against the
//! run-directory contract (docs/run-directory.md) and nothing more: which columns get plotted is decided elsewhere.

use crate::Error;

/// The file's name in a run directory.
pub const FILE: &str = "timeseries.csv";

/// The header the harness writes, exactly: the errors of each second by category close the row.
pub const HEADER: &str = "t_s,phase,active_users,sent,answered,errors,p50_ms,p95_ms,p99_ms,bot_rss_mb,bot_cpu_pct,\
timeout,bot_api_error,bot_crashed,sent_late,transport,wrong_answer";

/// The header of runs written before answers were checked (no `wrong_answer`, which reads as 0).
pub const HEADER_V2: &str = "t_s,phase,active_users,sent,answered,errors,p50_ms,p95_ms,p99_ms,bot_rss_mb,bot_cpu_pct,\
timeout,bot_api_error,bot_crashed,sent_late,transport";

/// The header of runs written before the categories were added; their rows have `errors_by: None`.
pub const HEADER_V1: &str = "t_s,phase,active_users,sent,answered,errors,p50_ms,p95_ms,p99_ms,bot_rss_mb,bot_cpu_pct";

/// One second's errors by category, as `summary.json` `errors` names them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErrorKinds {
    pub timeout: u64,
    pub bot_api_error: u64,
    pub bot_crashed: u64,
    pub sent_late: u64,
    pub transport: u64,
    pub wrong_answer: u64,
}

/// One second of a run. Latency percentiles are `None` for a second in which nothing was answered; RSS and CPU
/// are `None` when the bot was not sampled.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Seconds since the load started, at the end of this 1-second interval.
    pub t_s: f64,
    pub phase: String,
    pub active_users: u64,
    pub sent: u64,
    pub answered: u64,
    pub errors: u64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub bot_rss_mb: Option<f64>,
    pub bot_cpu_pct: Option<f64>,
    /// `None` in a run directory written before the columns existed.
    pub errors_by: Option<ErrorKinds>,
}

/// All rows of `timeseries.csv`, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeseries {
    pub rows: Vec<Row>,
}

impl Timeseries {
    /// Parses the file's text. An empty text is an empty series, and so is a header alone. A final line without
    /// its newline that does not parse is dropped: it is a write torn by a crash, which the contract allows.
    pub fn from_csv(text: &str) -> Result<Timeseries, Error> {
        let mut rows = Vec::new();
        let mut columns = HEADER;
        for (number, line, torn) in numbered_lines(text) {
            if number == 1 {
                if torn {
                    break;
                }
                columns = match [HEADER, HEADER_V2, HEADER_V1].into_iter().find(|h| *h == line) {
                    Some(header) => header,
                    None => {
                        let reason = format!("expected the header `{HEADER}`, found `{line}`");
                        return Err(Error::malformed(FILE, 1, reason));
                    }
                };
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
            match Row::parse(line, columns) {
                Ok(row) => rows.push(row),
                Err(_) if torn => break,
                Err(reason) => return Err(Error::malformed(FILE, number, reason)),
            }
        }
        Ok(Timeseries { rows })
    }

    /// One column as (t_s, value) points; `None` values stay in place so that a chart can leave a gap there.
    pub fn column(&self, value: impl Fn(&Row) -> Option<f64>) -> Vec<(f64, Option<f64>)> {
        self.rows.iter().map(|row| (row.t_s, value(row))).collect()
    }

    /// Where each phase begins: the start of the first second labelled with it, and its label.
    pub fn phase_starts(&self) -> Vec<(f64, String)> {
        let mut starts: Vec<(f64, String)> = Vec::new();
        for row in &self.rows {
            if starts.last().is_none_or(|(_, phase)| *phase != row.phase) {
                starts.push(((row.t_s - 1.0).max(0.0), row.phase.clone()));
            }
        }
        starts
    }
}

impl Row {
    fn parse(line: &str, header: &str) -> Result<Row, String> {
        let fields: Vec<&str> = line.split(',').collect();
        let names: Vec<&str> = header.split(',').collect();
        if fields.len() != names.len() {
            return Err(format!("expected {} fields, found {}", names.len(), fields.len()));
        }
        let field = |i: usize| Field { name: names[i], text: fields[i].trim() };
        Ok(Row {
            t_s: field(0).number()?,
            phase: field(1).text.to_string(),
            active_users: field(2).count()?,
            sent: field(3).count()?,
            answered: field(4).count()?,
            errors: field(5).count()?,
            p50_ms: field(6).optional()?,
            p95_ms: field(7).optional()?,
            p99_ms: field(8).optional()?,
            bot_rss_mb: field(9).optional()?,
            bot_cpu_pct: field(10).optional()?,
            errors_by: match names.len() > 11 {
                true => Some(ErrorKinds {
                    timeout: field(11).count()?,
                    bot_api_error: field(12).count()?,
                    bot_crashed: field(13).count()?,
                    sent_late: field(14).count()?,
                    transport: field(15).count()?,
                    wrong_answer: if names.len() > 16 { field(16).count()? } else { 0 },
                }),
                false => None,
            },
        })
    }
}

/// One cell with its column name, so that a parse failure can say which column was wrong.
struct Field<'a> {
    name: &'a str,
    text: &'a str,
}

impl Field<'_> {
    fn count(&self) -> Result<u64, String> {
        self.text.parse().map_err(|_| format!("`{}` is not a count: `{}`", self.name, self.text))
    }

    fn number(&self) -> Result<f64, String> {
        match self.text.parse::<f64>() {
            Ok(value) if value.is_finite() => Ok(value),
            _ => Err(format!("`{}` is not a number: `{}`", self.name, self.text)),
        }
    }

    fn optional(&self) -> Result<Option<f64>, String> {
        if self.text.is_empty() {
            Ok(None)
        } else {
            self.number().map(Some)
        }
    }
}

/// The text's lines numbered from 1, without line endings. The flag marks a final line that has no newline, which a
/// run killed mid-write can leave behind; parsers drop such a line when it does not parse instead of failing.
pub(crate) fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str, bool)> {
    let torn_tail = !text.is_empty() && !text.ends_with('\n');
    let n_lines = text.lines().count();
    text.lines().enumerate().map(move |(i, line)| (i + 1, line, torn_tail && i + 1 == n_lines))
}

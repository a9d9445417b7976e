//! Parses `resources.csv`, the bot's and the harness's memory and CPU, one row per sample (about one a second),
//! into typed rows. It checks the file against the run-directory contract and nothing more; `timeseries.csv` has
//! the bot's columns too, but only this file has the harness's.

use crate::series::numbered_lines;
use crate::Error;

/// The file's name in a run directory.
pub const FILE: &str = "resources.csv";

/// The header the harness writes, exactly.
pub const HEADER: &str = "t_s,bot_rss_mb,bot_cpu_pct,harness_rss_mb,harness_cpu_pct";

/// One sample: MB are 10^6 bytes, 100 % is one core. The bot's cells are `None` while no bot runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Seconds since the load started.
    pub t_s: f64,
    pub bot_rss_mb: Option<f64>,
    pub bot_cpu_pct: Option<f64>,
    pub harness_rss_mb: Option<f64>,
    pub harness_cpu_pct: Option<f64>,
}

/// All samples of `resources.csv`, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    pub samples: Vec<Sample>,
}

impl Resources {
    /// Parses the file's text. An empty text, or a header alone, is no samples; a torn final line (no newline,
    /// does not parse) is dropped, as a write cut by a crash.
    pub fn from_csv(text: &str) -> Result<Resources, Error> {
        let mut samples = Vec::new();
        for (number, line, torn) in numbered_lines(text) {
            if number == 1 {
                if torn {
                    break;
                }
                if line != HEADER {
                    return Err(Error::malformed(FILE, 1, format!("expected the header `{HEADER}`, found `{line}`")));
                }
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
            match parse(line) {
                Ok(sample) => samples.push(sample),
                Err(_) if torn => break,
                Err(reason) => return Err(Error::malformed(FILE, number, reason)),
            }
        }
        Ok(Resources { samples })
    }

    /// One column as (t_s, value) points; an empty cell stays in place as `None`, a gap in a line.
    pub fn column(&self, value: impl Fn(&Sample) -> Option<f64>) -> Vec<(f64, Option<f64>)> {
        self.samples.iter().map(|sample| (sample.t_s, value(sample))).collect()
    }
}

fn parse(line: &str) -> Result<Sample, String> {
    let names: Vec<&str> = HEADER.split(',').collect();
    let cells: Vec<&str> = line.split(',').map(str::trim).collect();
    if cells.len() != names.len() {
        return Err(format!("expected {} fields, found {}", names.len(), cells.len()));
    }
    let number = |i: usize| -> Result<Option<f64>, String> {
        match cells[i] {
            "" => Ok(None),
            text => match text.parse::<f64>() {
                Ok(value) if value.is_finite() => Ok(Some(value)),
                _ => Err(format!("`{}` is not a number: `{text}`", names[i])),
            },
        }
    };
    let t_s = number(0)?.ok_or_else(|| "`t_s` is empty".to_string())?;
    Ok(Sample {
        t_s,
        bot_rss_mb: number(1)?,
        bot_cpu_pct: number(2)?,
        harness_rss_mb: number(3)?,
        harness_cpu_pct: number(4)?,
    })
}

//! A comparison (`tgload compare`, `tgload ab`) and a capacity search as JUnit suites. Each compared metric is a
//! case: `worse` fails with both sides' values, the shift and its 95 % interval and the margin; `inconclusive` and
//! `n/a` are skipped; `same` and `better` pass. The gated metrics (those that decide the exit code) have the
//! classname `tgload.compare.gated`, the others `tgload.compare`; a comparison that is not like for like adds a
//! skipped `like for like` case naming why.

use super::{Case, Outcome, Suite};
use crate::capacity::{Capacity, LimitedBy};
use crate::compare::{percent, signed, with_unit, Comparison, Row, Verdict};

/// The comparison's one suite, named after the sides' directories.
pub fn comparison_suite(c: &Comparison) -> Suite {
    let mut cases = vec![likeness_case(c)];
    cases.extend(c.rows.iter().map(row_case));
    Suite {
        name: format!("compare {} -> {}", c.base.dir, c.candidate.dir),
        package: "tgload.compare".into(),
        time_s: 0.0,
        cases,
    }
}

fn likeness_case(c: &Comparison) -> Case {
    let outcome = match (c.mismatches.is_empty(), c.gating) {
        (true, _) | (false, true) => Outcome::Passed,
        (false, false) => Outcome::Skipped {
            message: format!(
                "inconclusive: the sides are not like for like, so nothing is gated ({})",
                c.mismatches.join("; ")
            ),
        },
    };
    Case::new("tgload.compare.gated", "like for like", outcome)
}

fn row_case(row: &Row) -> Case {
    let classname = if row.gated { "tgload.compare.gated" } else { "tgload.compare" };
    let value = |v: Option<f64>| v.map_or("n/a".to_string(), |v| with_unit(crate::compare::number(v), row.unit));
    let shift = match (row.relative, row.delta) {
        (Some(relative), Some(delta)) => format!("{} ({})", signed(delta, row.unit), percent(relative)),
        (None, Some(delta)) => signed(delta, row.unit),
        _ => "n/a".to_string(),
    };
    let interval = row
        .delta_ci
        .map_or("n/a".to_string(), |[low, high]| format!("{} to {}", signed(low, row.unit), signed(high, row.unit)));
    let margin = row.margin.map_or("n/a".to_string(), |m| format!("±{}", value(Some(m))));
    let figures = format!(
        "base {}, candidate {}, shift {shift}, 95% interval {interval}, margin {margin}",
        value(row.base),
        value(row.candidate)
    );
    let outcome = match row.verdict {
        Verdict::Same | Verdict::Better => Outcome::Passed,
        Verdict::Worse => Outcome::Failed { kind: "worse", message: format!("worse: {figures}") },
        Verdict::Inconclusive => {
            let decide = row.repeats_needed.map_or(String::new(), |n| format!("; about {n} runs a side would decide"));
            Outcome::Skipped { message: format!("inconclusive: {figures}{decide}") }
        }
        Verdict::NotComparable => {
            Outcome::Skipped { message: format!("not comparable, a side has no value: {figures}") }
        }
    };
    Case::new(classname, row.label.replace('`', ""), outcome)
}

/// A capacity search's one case: the bot's limit found passes; a search the generator or the probes' range could
/// not settle is skipped.
pub fn capacity_suite(capacity: &Capacity, label: &str) -> Suite {
    let rate = |v: Option<f64>| v.map_or("none".to_string(), |v| format!("{v:.0}/s"));
    let found = format!(
        "highest sustainable {}, first unsustainable {}",
        rate(capacity.max_sustainable_per_s),
        rate(capacity.first_unsustainable_per_s)
    );
    let outcome = match capacity.limited_by {
        LimitedBy::Bot => Outcome::Passed,
        LimitedBy::Generator => {
            Outcome::Skipped { message: format!("inconclusive: the generator gave out before the bot ({found})") }
        }
        LimitedBy::Inconclusive => Outcome::Skipped { message: format!("inconclusive: no limit was found ({found})") },
    };
    Suite {
        name: format!("capacity {label}"),
        package: "tgload.capacity".into(),
        time_s: 0.0,
        cases: vec![Case::new("tgload.capacity", "the bot's limit found", outcome)],
    }
}

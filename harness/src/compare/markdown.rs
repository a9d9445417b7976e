//! `compare.md`, the comparison for people: the verdict, what makes the runs not like for like, which runs they
//! are, and one table row per metric. Pure: it formats a `Comparison` and the charts' outcome it is handed.

use std::fmt::Write;
use std::path::Path;

use super::{
    short, Comparison, Identity, Row, Unit, Verdict, CPU_FLOOR_PCT, DRIFT_FLOOR_MB_PER_H, ERROR_RATE_FLOOR_PP,
    LATENCY_FLOOR_MS, RECOVERY_FLOOR_S, RSS_FLOOR_MB, SHORT_COMMIT, SHORT_HASH, THROUGHPUT_FLOOR_PER_S,
};

/// The comparison charts' file names, or why they could not be rendered.
pub type Charts = Result<Vec<String>, String>;

pub fn markdown(c: &Comparison, charts: &Charts) -> String {
    let mut r = String::new();
    let _ = writeln!(r, "# tgload compare: {} → {}\n", name(&c.base), name(&c.candidate));
    let _ = writeln!(
        r,
        "**Verdict: {}** · {} worse, {} better, {} same · threshold {}\n",
        c.verdict.as_str().to_uppercase(),
        c.count(Verdict::Worse),
        c.count(Verdict::Better),
        c.count(Verdict::Same),
        c.threshold
    );
    if !c.warnings.is_empty() {
        let _ = writeln!(r, "> **Warning: these runs are not like for like.**");
        for w in &c.warnings {
            let _ = writeln!(r, "> - {w}");
        }
        let _ = writeln!(r);
    }
    write_identities(&mut r, &c.base, &c.candidate);
    write_rows(&mut r, &c.rows);
    write_only_in(&mut r, c);
    let _ = writeln!(
        r,
        "\nA change within {} or under its noise floor is `same`. Floors: latency {LATENCY_FLOOR_MS} ms, error rate \
         {ERROR_RATE_FLOOR_PP} pp, throughput {THROUGHPUT_FLOOR_PER_S}/s, RSS {RSS_FLOOR_MB} MB, drift \
         {DRIFT_FLOOR_MB_PER_H} MB/h, CPU {CPU_FLOOR_PCT} pp, recovery {RECOVERY_FLOOR_S} s.",
        c.threshold
    );
    write_charts(&mut r, charts);
    r
}

/// The run directory's last component, which is what people call a run.
fn name(id: &Identity) -> String {
    Path::new(&id.dir).file_name().map_or_else(|| id.dir.clone(), |n| n.to_string_lossy().into_owned())
}

fn write_identities(r: &mut String, base: &Identity, candidate: &Identity) {
    let _ = writeln!(r, "| | base | candidate |\n|---|---|---|");
    let line = |r: &mut String, what: &str, value: fn(&Identity) -> String| {
        let _ = writeln!(r, "| {what} | {} | {} |", value(base), value(candidate));
    };
    line(r, "run", |id| format!("`{}`", id.dir));
    line(r, "commit", |id| id.commit.as_deref().map_or("unknown".into(), |c| format!("`{}`", short(c, SHORT_COMMIT))));
    line(r, "scenario", |id| match &id.scenario_sha256 {
        Some(hash) => format!("`{}` (sha256 {})", id.scenario, short(hash, SHORT_HASH)),
        None => format!("`{}`", id.scenario),
    });
    line(r, "status", |id| format!("{}, {:.1} s", id.status, id.duration_s));
    let _ = writeln!(r);
}

fn write_rows(r: &mut String, rows: &[Row]) {
    let _ = writeln!(r, "| metric | base | candidate | delta | change | verdict |\n|---|---:|---:|---:|---:|---|");
    for row in rows {
        let value = |v: Option<f64>| v.map_or("n/a".to_string(), |v| with_unit(number(v), row.unit));
        let delta = row.delta.map_or("n/a".to_string(), |d| {
            let sign = if d > 0.0 {
                "+"
            } else if d < 0.0 {
                "-"
            } else {
                ""
            };
            let delta = format!("{sign}{}", number(d.abs()));
            match row.unit {
                Unit::Percent => format!("{delta} pp"),
                unit => with_unit(delta, unit),
            }
        });
        let change = row.relative.map_or("n/a".to_string(), |c| match c {
            0.0 => "0%".to_string(),
            c => format!("{:+.1}%", c * 100.0),
        });
        let verdict = match row.verdict {
            Verdict::Worse => "**worse**".to_string(),
            v => v.as_str().to_string(),
        };
        let (base, candidate) = (value(row.base), value(row.candidate));
        let _ = writeln!(r, "| {} | {base} | {candidate} | {delta} | {change} | {verdict} |", row.label);
    }
}

fn write_only_in(r: &mut String, c: &Comparison) {
    for (side, actions) in [("base", &c.only_in_base), ("candidate", &c.only_in_candidate)] {
        if !actions.is_empty() {
            let list: Vec<String> = actions.iter().map(|a| format!("`{a}`")).collect();
            let _ = writeln!(r, "\nOnly in the {side} run, not compared: {}.", list.join(", "));
        }
    }
}

fn write_charts(r: &mut String, charts: &Charts) {
    let _ = writeln!(r, "\n## Charts\n");
    match charts {
        Ok(files) if files.is_empty() => {
            let _ = writeln!(r, "No charts were rendered.");
        }
        Ok(files) => {
            for file in files {
                let _ = writeln!(r, "- [{file}]({file})");
            }
        }
        Err(e) => {
            let _ = writeln!(r, "The charts could not be rendered: {e}");
        }
    }
}

/// Three significant digits or so: 0.450, 4.50, 45.0, 450.0, 4500; and 0.
fn number(v: f64) -> String {
    match v.abs() {
        0.0 => "0".to_string(),
        a if a < 1.0 => format!("{v:.3}"),
        a if a < 10.0 => format!("{v:.2}"),
        a if a < 1000.0 => format!("{v:.1}"),
        _ => format!("{v:.0}"),
    }
}

fn with_unit(number: String, unit: Unit) -> String {
    match unit {
        Unit::Ms => format!("{number} ms"),
        Unit::Percent => format!("{number}%"),
        Unit::PerSecond => format!("{number}/s"),
        Unit::Mb => format!("{number} MB"),
        Unit::MbPerHour => format!("{number} MB/h"),
        Unit::Seconds => format!("{number} s"),
    }
}

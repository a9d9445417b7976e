//! `compare.md`, the comparison for people: the verdict, what makes the sides not like for like, which runs they
//! are, and one table row per metric with its shift, the shift's 95 % interval and the verdict. Pure: it formats a
//! `Comparison` and the charts' outcome it is handed.

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
    let gated: Vec<&str> = c.gate.iter().map(String::as_str).collect();
    let _ = writeln!(
        r,
        "**Verdict: {}** · {} worse, {} better, {} same, {} inconclusive · threshold {} · {} vs {} runs · gated: {}\n",
        c.verdict.as_str().to_uppercase(),
        c.count(Verdict::Worse),
        c.count(Verdict::Better),
        c.count(Verdict::Same),
        c.count(Verdict::Inconclusive),
        c.threshold,
        c.base.runs,
        c.candidate.runs,
        if gated.is_empty() { "nothing".to_string() } else { format!("`{}`", gated.join("`, `")) },
    );
    if !c.mismatches.is_empty() {
        let gating = if c.gating {
            "Gated anyway (--allow-mismatch)."
        } else {
            "Not gated: the verdict is inconclusive (pass --allow-mismatch to gate anyway)."
        };
        let _ = writeln!(r, "> **Warning: these sides are not like for like.** {gating}");
        for w in &c.mismatches {
            let _ = writeln!(r, "> - {w}");
        }
        let _ = writeln!(r);
    }
    for w in &c.warnings {
        let _ = writeln!(r, "> {w}\n");
    }
    write_identities(&mut r, &c.base, &c.candidate);
    write_rows(&mut r, &c.rows);
    write_only_in(&mut r, c);
    let _ = writeln!(
        r,
        "\nEach value is the median over the side's runs; latency p50, p95 and p99 are each run's median over its \
         steady seconds (the holds, after the ramps). The shift is the Hodges-Lehmann estimate over runs, its 95 % \
         interval a bootstrap over runs and, within each run, over blocks of seconds. `worse` or `better`: the whole \
         interval is beyond the margin, which is {} of the base or the metric's floor if larger; `same`: the whole \
         interval is inside it; `inconclusive`: neither, with the runs per side that would likely decide it. \
         Rows marked ● decide the exit code. Floors: latency {LATENCY_FLOOR_MS} ms, error rate \
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
    line(r, "directory", |id| format!("`{}`", id.dir));
    line(r, "runs", |id| id.runs.to_string());
    line(r, "commit", |id| id.commit.as_deref().map_or("unknown".into(), |c| format!("`{}`", short(c, SHORT_COMMIT))));
    line(r, "scenario", |id| match &id.scenario_sha256 {
        Some(hash) => format!("`{}` (sha256 {})", id.scenario, short(hash, SHORT_HASH)),
        None => format!("`{}`", id.scenario),
    });
    line(r, "status", |id| format!("{}, {:.1} s", id.status, id.duration_s));
    line(r, "CPU", |id| id.cpu_model.clone().unwrap_or_else(|| "unknown".into()));
    line(r, "tgload", |id| id.tgload_version.clone().unwrap_or_else(|| "unknown".into()));
    let _ = writeln!(r);
}

fn write_rows(r: &mut String, rows: &[Row]) {
    let _ = writeln!(
        r,
        "| | metric | base | candidate | shift | 95 % interval | verdict |\n|---|---|---:|---:|---:|---:|---|"
    );
    for row in rows {
        let value = |v: Option<f64>| v.map_or("n/a".to_string(), |v| with_unit(number(v), row.unit));
        let shift = match (row.relative, row.delta) {
            (Some(relative), _) => percent(relative),
            (None, Some(delta)) => signed(delta, row.unit),
            (None, None) => "n/a".to_string(),
        };
        let interval = match (row.relative_ci, row.delta_ci) {
            (Some([low, high]), _) => format!("{} to {}", percent(low), percent(high)),
            (None, Some([low, high])) => format!("{} to {}", signed(low, row.unit), signed(high, row.unit)),
            (None, None) => "n/a".to_string(),
        };
        let verdict = match (row.verdict, row.repeats_needed) {
            (Verdict::Worse, _) => "**worse**".to_string(),
            (Verdict::Inconclusive, Some(n)) => format!("inconclusive (~{n} runs a side would decide)"),
            (v, _) => v.as_str().to_string(),
        };
        let gate = if row.gated { "●" } else { "" };
        let (base, candidate) = (value(row.base), value(row.candidate));
        let _ = writeln!(r, "| {gate} | {} | {base} | {candidate} | {shift} | {interval} | {verdict} |", row.label);
    }
}

pub(crate) fn percent(fraction: f64) -> String {
    match fraction {
        0.0 => "0%".to_string(),
        f => format!("{:+.1}%", f * 100.0),
    }
}

pub(crate) fn signed(value: f64, unit: Unit) -> String {
    let sign = if value > 0.0 {
        "+"
    } else if value < 0.0 {
        "-"
    } else {
        ""
    };
    let magnitude = format!("{sign}{}", number(value.abs()));
    match unit {
        Unit::Percent => format!("{magnitude} pp"),
        unit => with_unit(magnitude, unit),
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
pub(crate) fn number(v: f64) -> String {
    match v.abs() {
        0.0 => "0".to_string(),
        a if a < 1.0 => format!("{v:.3}"),
        a if a < 10.0 => format!("{v:.2}"),
        a if a < 1000.0 => format!("{v:.1}"),
        _ => format!("{v:.0}"),
    }
}

pub(crate) fn with_unit(number: String, unit: Unit) -> String {
    match unit {
        Unit::Ms => format!("{number} ms"),
        Unit::Percent => format!("{number}%"),
        Unit::PerSecond => format!("{number}/s"),
        Unit::Mb => format!("{number} MB"),
        Unit::MbPerHour => format!("{number} MB/h"),
        Unit::Seconds => format!("{number} s"),
    }
}

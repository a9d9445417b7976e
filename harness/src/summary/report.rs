//! `report.md`: the summary's numbers for people, in the order a reader asks about them (is the verdict
//! trustworthy, how fast, where it broke, what it cost, what went wrong). Pure: text from a `Summary` and its
//! `Notes`.

use std::fmt::Write;

use super::{Calls, Merged, Notes, Process, Rebuilt, Summary};
use crate::{generator, leak};

fn ms(v: f64) -> String {
    match v {
        v if v < 10.0 => format!("{v:.2}"),
        v if v < 1000.0 => format!("{v:.1}"),
        v => format!("{v:.0}"),
    }
}

/// The human summary.
pub fn report(s: &Summary, notes: &Notes) -> String {
    let mut r = String::new();
    let status = serde_json::to_value(s.status).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
    let _ = writeln!(r, "# tgload run: {}\n", s.scenario);
    let _ = writeln!(
        r,
        "**Verdict: {}** · status {status} · {:.1} s · {} users · `{}`\n",
        s.verdict.to_uppercase(),
        s.duration_s,
        notes.users,
        notes.command
    );
    if s.generator.verdict == generator::Verdict::Saturated {
        let _ = writeln!(
            r,
            "**The generator was saturated: these numbers are partly the harness's, not only the bot's.** {}.\n",
            s.generator.reasons.join("; ")
        );
    }
    if let Some(rebuilt) = &s.rebuilt {
        write_rebuilt(&mut r, rebuilt);
    }
    if let Some(merged) = &s.merged {
        write_merged(&mut r, merged);
    }
    if !notes.errors.is_empty() {
        let _ = writeln!(r, "## Errors\n");
        for e in &notes.errors {
            let _ = writeln!(r, "- {e}");
        }
        let _ = writeln!(r);
    }
    write_latency(&mut r, s);
    write_by_action(&mut r, s);
    write_journeys(&mut r, s);
    write_by_phase(&mut r, s);
    write_first_failed_step(&mut r, s);
    write_actions(&mut r, s);
    write_resources(&mut r, s);
    write_external_api(&mut r, s);
    write_faults(&mut r, s);
    write_degradation(&mut r, s);
    write_objectives(&mut r, s);
    write_notes(&mut r, notes);
    r
}

fn write_rebuilt(r: &mut String, rebuilt: &Rebuilt) {
    let how = match rebuilt.killed {
        true => format!(
            "The run was killed: no end was recorded, and its files end at {:.0} s of the {} s planned.",
            rebuilt.last_written_s, rebuilt.planned_s
        ),
        false => "The run's end was recorded.".to_string(),
    };
    let missing = match rebuilt.missing_seconds.as_slice() {
        [] => "No second is missing.".to_string(),
        ranges => {
            let ranges: Vec<String> =
                ranges.iter().map(|(a, b)| if a == b { format!("{a}") } else { format!("{a}-{b}") }).collect();
            format!("Seconds with no row: {}.", ranges.join(", "))
        }
    };
    let checkpoint = rebuilt.checkpoint_through_s.map_or_else(
        || "No checkpoint.json: the per-action figures and send lateness are unknown.".to_string(),
        |s| format!("Per-action figures and send lateness are as of second {s}."),
    );
    let _ = writeln!(r, "Rebuilt by `tgload report`. {how} {missing} {checkpoint}\n");
}

fn write_merged(r: &mut String, merged: &Merged) {
    let _ =
        writeln!(r, "Merged by `tgload merge` from {} shards, every histogram added exactly:\n", merged.shards.len());
    let _ =
        writeln!(r, "| shard | directory | sent | answered | generator | clock offset |\n|---|---|---:|---:|---|---:|");
    for shard in &merged.shards {
        let offset = shard.clock_offset_us.map_or("unknown".to_string(), |us| format!("{us} µs"));
        let generator = serde_json::to_value(shard.generator).ok().and_then(|v| v.as_str().map(String::from));
        let _ = writeln!(
            r,
            "| {} | {} | {} | {} | {} | {offset} |",
            shard.shard,
            shard.dir,
            shard.sent,
            shard.answered,
            generator.unwrap_or_default()
        );
    }
    let _ = writeln!(r);
}

fn write_latency(r: &mut String, s: &Summary) {
    let _ = writeln!(r, "## Latency (ms)\n");
    let _ = writeln!(r, "| | p50 | p95 | p99 | p99.9 | max | mean |\n|---|---:|---:|---:|---:|---:|---:|");
    for (name, p) in [("end to end (due → answer)", &s.latency_ms), ("service (sent → answer)", &s.service_ms)] {
        let row = [p.p50, p.p95, p.p99, p.p999, p.max, p.mean].map(ms).join(" | ");
        let _ = writeln!(r, "| {name} | {row} |");
    }
}

fn write_by_action(r: &mut String, s: &Summary) {
    if s.by_action.len() < 2 {
        return;
    }
    let _ = writeln!(r, "\n## By action (end to end, ms)\n");
    let _ = writeln!(
        r,
        "| action | sent | answered | errors | p50 | p95 | p99 | max |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for a in &s.by_action {
        let p = &a.latency_ms;
        let row = [p.p50, p.p95, p.p99, p.max].map(ms).join(" | ");
        let _ = writeln!(r, "| `{}` | {} | {} | {} | {row} |", a.action, a.sent, a.answered, a.errors);
    }
}

fn write_by_phase(r: &mut String, s: &Summary) {
    if s.by_phase.len() < 2 {
        return;
    }
    let _ = writeln!(r, "\n## By phase (end to end, ms)\n");
    let header = "| phase | from | seconds | users | sent | answered/s | errors | p50 | p95 | p99 | max |";
    let _ = writeln!(r, "{header}\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for p in &s.by_phase {
        let l = &p.latency_ms;
        let row = [l.p50, l.p95, l.p99, l.max].map(ms).join(" | ");
        let _ = writeln!(
            r,
            "| {} | {} s | {} | {} | {} | {:.1} | {} | {row} |",
            p.phase, p.start_s, p.duration_s, p.users, p.sent, p.throughput_per_s, p.errors
        );
    }
}

fn write_first_failed_step(r: &mut String, s: &Summary) {
    if s.by_phase.len() < 2 {
        return;
    }
    match &s.first_failed_step {
        Some(step) => {
            let _ = writeln!(
                r,
                "\nThe first step that did not keep up: **{}** (from {} s): {}.",
                step.phase,
                step.start_s,
                step.reasons.join("; ")
            );
        }
        None => {
            let _ = writeln!(r, "\nEvery step kept up (answers, errors and the latency objectives).");
        }
    }
}

/// Each journey's success and its steps, then a few of each step's wrong answers.
fn write_journeys(r: &mut String, s: &Summary) {
    if s.journeys.is_empty() {
        return;
    }
    let _ = writeln!(r, "\n## Journeys (end to end, ms)\n");
    let _ = writeln!(r, "| journey · step | started / sent | ended / answered | success / errors | wrong | p50 | p95 | p99 | last p95 |");
    let _ = writeln!(r, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for j in &s.journeys {
        let rate = j.success_rate.map_or("-".to_owned(), |r| format!("{:.2}%", r * 100.0));
        let _ = writeln!(r, "| **{}** | {} | {} | {rate} | | | | | |", j.name, j.started, j.ended);
        for step in &j.steps {
            let l = &step.latency_ms;
            let last = step.last_ms.as_ref().map_or("-".to_owned(), |p| ms(p.p95));
            let _ = writeln!(
                r,
                "| · {} | {} | {} | {} | {} | {} | {} | {} | {last} |",
                step.name,
                step.sent,
                step.answered,
                step.errors.total(),
                step.errors.wrong_answer,
                ms(l.p50),
                ms(l.p95),
                ms(l.p99)
            );
        }
    }
    let wrong: Vec<String> = s
        .journeys
        .iter()
        .flat_map(|j| {
            j.steps
                .iter()
                .flat_map(move |st| st.wrong_answers.iter().map(move |w| format!("- {} · {}: {w}", j.name, st.name)))
        })
        .collect();
    if !wrong.is_empty() {
        let _ = writeln!(r, "\nWrong answers (a few per step):\n\n{}", wrong.join("\n"));
    }
}

fn write_actions(r: &mut String, s: &Summary) {
    let (a, e) = (&s.actions, &s.errors);
    let _ = writeln!(r, "\n## Actions\n");
    let _ = writeln!(r, "| sent | answered | errors | error rate | answered/s |\n|---:|---:|---:|---:|---:|");
    let rate = s.error_rate * 100.0;
    let _ = writeln!(r, "| {} | {} | {} | {rate:.3}% | {:.1} |", a.sent, a.answered, a.errors, s.throughput_per_s);
    let _ =
        writeln!(r, "\n| timeout | bot API error | bot crashed | sent late | transport | wrong answer |\n|---:|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        r,
        "| {} | {} | {} | {} | {} | {} |",
        e.timeout, e.bot_api_error, e.bot_crashed, e.sent_late, e.transport, e.wrong_answer
    );
    if let Some(limits) = &s.telegram_limits {
        let _ = writeln!(r, "\n{}", limits.statement());
    }
}

fn write_resources(r: &mut String, s: &Summary) {
    let (g, b) = (&s.generator, &s.bot);
    let overhead = format!("{} / {} ms", ms(g.overhead_p50_ms), ms(g.overhead_p99_ms));
    let _ = writeln!(r, "\n## Generator health\n");
    let header = "| send lateness p99 | max | harness overhead p50 / p99 | CPU (harness + mock) | RSS peak |";
    let _ = writeln!(r, "{header}\n|---:|---:|---:|---:|---:|");
    let (late_p99, late_max) = (ms(g.late_p99_ms), ms(g.late_max_ms));
    let _ = writeln!(r, "| {late_p99} ms | {late_max} ms | {overhead} | {:.1}% | {:.1} MB |", g.cpu_pct, g.rss_mb);
    let _ = writeln!(r, "\n## Bot resources (with child processes)\n");
    if b.process.measured {
        write_process(r, &b.process, &format!(" {} | {} |", b.exits, b.restarts), " exits | restarts |");
    } else {
        let _ = writeln!(r, "Not measured: no sample of the bot's process (a bot attached with `--mock-url` is sampled only with `--bot-pid`).");
    }
    let _ = writeln!(r, "\n## Harness resources (tgload and the mock it hosts)\n");
    write_process(r, &s.harness, "", "");
}

/// One process's table (with `extra` cells under `extra_header`) and its leak verdict.
fn write_process(r: &mut String, p: &Process, extra: &str, extra_header: &str) {
    let columns = extra_header.matches('|').count();
    let _ = writeln!(
        r,
        "| RSS start | peak | end | drift | CPU mean | CPU peak |{extra_header}\n|---:|---:|---:|---:|---:|---:|{}",
        "---:|".repeat(columns)
    );
    let drift = p.rss_drift_mb_per_h.map_or("- (run too short)".to_string(), |d| format!("{d:.1} MB/h"));
    let _ = writeln!(
        r,
        "| {:.1} MB | {:.1} MB | {:.1} MB | {drift} | {:.1}% | {:.1}% |{extra}",
        p.rss_start_mb, p.rss_peak_mb, p.rss_end_mb, p.cpu_mean_pct, p.cpu_peak_pct
    );
    let _ = writeln!(r, "\nLeak: **{}**: {}.", verdict_name(p.leak.verdict), p.leak.reason);
}

fn verdict_name(v: leak::Verdict) -> &'static str {
    match v {
        leak::Verdict::Leak => "leak",
        leak::Verdict::NoLeak => "no leak",
        leak::Verdict::Inconclusive => "inconclusive",
    }
}

fn write_external_api(r: &mut String, s: &Summary) {
    let calls = [("/quote", &s.external_api.quote), ("/ask", &s.external_api.ask)];
    if calls.iter().all(|(_, c)| **c == Calls::default()) {
        return;
    }
    let _ = writeln!(r, "\n## External API (called by the bot)\n");
    let _ = writeln!(r, "| endpoint | ok | errors (500) | timeouts |\n|---|---:|---:|---:|");
    for (name, c) in calls {
        let _ = writeln!(r, "| `{name}` | {} | {} | {} |", c.ok, c.errors, c.timeouts);
    }
    if let Some(ratio) = s.quote_cache_hit_ratio {
        let _ = writeln!(
            r,
            "\n`/quote` cache hit ratio: {:.1}% (answers that made no call to the quote API).",
            ratio * 100.0
        );
    }
}

fn write_faults(r: &mut String, s: &Summary) {
    if s.faults.is_empty() {
        return;
    }
    let _ = writeln!(r, "\n## Fault windows\n");
    let header = "| fault | window | p95 before | worst p95 | errors | settled after |";
    let _ = writeln!(r, "{header}\n|---|---|---:|---:|---:|---:|");
    let or_dash = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map_or("-".to_string(), f);
    for f in &s.faults {
        let _ = writeln!(
            r,
            "| {} | {:.1}-{:.1} s | {} | {} | {} | {} |",
            f.name,
            f.start_s,
            f.end_s,
            or_dash(f.baseline_p95_ms, &|v| format!("{} ms", ms(v))),
            or_dash(f.peak_p95_ms, &|v| format!("{} ms", ms(v))),
            f.errors,
            f.seconds.map_or("not recovered".to_string(), |v| format!("{v:.1} s")),
        );
    }
    let _ = writeln!(
        r,
        "\nSettled: from the window's end to the moment after which every health window (at least 59 answers) \
         through the hold period had p95 within max(1.5 × the median p95 of the 10 s before the window, that \
         + 5 ms) and no more errors than the rate before it explains; `not recovered` when the run ended first."
    );
}

fn write_degradation(r: &mut String, s: &Summary) {
    // A run too short to split into an early and a late part has nothing to show.
    if s.degradation.iter().all(|d| d.change_pct.is_none()) {
        return;
    }
    let bucket = s.degradation.first().map_or(0, |d| d.bucket_s);
    let _ = writeln!(r, "\n## Degradation (late against early, after the warm-up, {bucket} s buckets)\n");
    let _ = writeln!(r, "| metric | early | late | change | 95 % CI | verdict |\n|---|---:|---:|---:|---:|---|");
    for d in &s.degradation {
        let num = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
        let ci = d.ci95.map_or("-".to_string(), |[a, b]| format!("{a:+.1} % to {b:+.1} %"));
        let verdict = match d.verdict {
            crate::degradation::Verdict::Degraded => "**degraded**",
            crate::degradation::Verdict::NotDegraded => "not degraded",
            crate::degradation::Verdict::Inconclusive => "inconclusive",
        };
        let change = d.change_pct.map_or("-".to_string(), |c| format!("{c:+.1} %"));
        let _ = writeln!(r, "| {} | {} | {} | {change} | {ci} | {verdict} |", d.metric, num(d.early), num(d.late));
    }
    let budget = s.degradation.first().map_or(0.0, |d| d.budget_pct);
    let _ = writeln!(
        r,
        "\nDegraded: the whole interval of the change is worse than {budget} %; not degraded: all of it is better \
         than that (p95, p99 and CPU per action in ms, goodput in answers without error per second)."
    );
}

fn write_objectives(r: &mut String, s: &Summary) {
    if s.slos.is_empty() {
        return;
    }
    let _ = writeln!(r, "\n## Objectives\n\n| objective | observed | |\n|---|---:|---|");
    for v in &s.slos {
        let observed = match (v.observed, v.metric.as_str()) {
            (None, _) => "none".to_string(),
            (Some(o), "error_rate" | "success") => format!("{:.3}%", o * 100.0),
            (Some(o), "throughput") => format!("{o:.1}/s"),
            (Some(o), m) if m.starts_with("degradation_") => format!("up to {o:+.1} %"),
            (Some(o), m) if m.ends_with("_leak") => format!("up to {o:.1} MB/h"),
            (Some(o), _) => format!("{} ms", ms(o)),
        };
        let _ = writeln!(r, "| `{}` | {observed} | {} |", v.name, if v.passed { "pass" } else { "**FAIL**" });
    }
}

fn write_notes(r: &mut String, notes: &Notes) {
    if notes.callbacks_lost > 0 {
        let _ = writeln!(
            r,
            "\n{} menu button presses found their message gone from the mock's chat history (busy groups) and \
             were replaced by another action; they are not counted as errors.",
            notes.callbacks_lost
        );
    }
    if notes.replaced > 0 {
        let _ = writeln!(
            r,
            "\n{} actions could not apply in their user's chat at that moment (a join in a private chat, a reply \
             before the bot had written, a block of a bot already blocked) and were replaced by another pick.",
            notes.replaced
        );
    }
    if !notes.failures.is_empty() {
        let _ = writeln!(r, "\n## Control API failures (first {})\n", notes.failures.len());
        for f in &notes.failures {
            let _ = writeln!(r, "- {f}");
        }
    }
    if let Some(stats) = &notes.mock_stats {
        let n = |path: &[&str]| path.iter().try_fold(stats, |v, k| v.get(k)).and_then(|v| v.as_u64()).unwrap_or(0);
        let _ = writeln!(
            r,
            "\n## The mock's view\n\nactions sent {}, answered {} (and {} notifications delivered), timed out {}; \
             unprompted bot calls {}; bot calls {}.",
            n(&["actions", "sent"]),
            n(&["actions", "answered"]),
            n(&["actions", "notified"]),
            n(&["actions", "timed_out"]),
            n(&["unprompted"]),
            n(&["bot_calls"])
        );
        let us = |timing: &str, q: &str| n(&["timings", timing, q]) as f64 / 1e3;
        let _ = writeln!(
            r,
            "Its own timings (ms): end to end p50 {} p99 {}; queue wait p50 {} p99 {}; bot handling p50 {} p99 {}.",
            ms(us("end_to_end_us", "p50")),
            ms(us("end_to_end_us", "p99")),
            ms(us("queue_wait_us", "p50")),
            ms(us("queue_wait_us", "p99")),
            ms(us("handling_us", "p50")),
            ms(us("handling_us", "p99"))
        );
    }
    if !notes.charts.is_empty() {
        let _ = writeln!(r, "\n## Charts\n");
        for c in &notes.charts {
            let _ = writeln!(r, "- [{c}]({c})");
        }
    }
}

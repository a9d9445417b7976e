//! What makes two sides not like for like: another scenario (name, text, steps as run, delivery), another CPU
//! model or another tgload, which stop the gating; and runs that did not complete or lack `meta.json`, which are
//! only warned about. Pure: it reads the views `input` parsed.

use super::{short, Run, Side, SHORT_HASH};

/// Whether both sides ran the same load on the same kind of machine with the same tgload, and what says they did
/// not: the scenario's name, its text's hash, its steps as run (`--users` and `--duration` rescale them), the
/// delivery mode, the CPU model and tgload's version.
pub(super) fn scenario_check(base: &Run, candidate: &Run) -> (Option<bool>, Vec<String>) {
    let (b, c) = (&base.summary.scenario, &candidate.summary.scenario);
    let mut warnings = Vec::new();
    if b != c {
        warnings.push(format!("different scenarios: base ran `{b}`, candidate ran `{c}`"));
    }
    let (Some(bm), Some(cm)) = (&base.meta, &candidate.meta) else {
        // Different names already tell; the same name may still be a different file or load (`status_warnings`
        // says so), but an unknown is no mismatch.
        let same = if b == c { None } else { Some(false) };
        return (same, warnings);
    };
    match (&bm.scenario_sha256, &cm.scenario_sha256) {
        (Some(x), Some(y)) if x != y => warnings.push(format!(
            "different scenario files: sha256 {} in base, {} in candidate",
            short(x, SHORT_HASH),
            short(y, SHORT_HASH)
        )),
        _ => {}
    }
    match (bm.load(), cm.load()) {
        (Some(x), Some(y)) if x != y => warnings.push(format!(
            "different loads (--users or --duration): base peaks at {} users over {} s, candidate at {} users over {} s",
            x.peak_users, x.duration_s, y.peak_users, y.duration_s
        )),
        _ => {}
    }
    if bm.webhook() != cm.webhook() {
        let mode = |webhook: bool| if webhook { "webhook" } else { "long polling" };
        warnings.push(format!(
            "different delivery: base by {}, candidate by {}",
            mode(bm.webhook()),
            mode(cm.webhook())
        ));
    }
    let same_scenario = warnings.is_empty();
    match (&bm.machine.cpu_model, &cm.machine.cpu_model) {
        (Some(x), Some(y)) if x != y => {
            warnings.push(format!("different CPUs: base ran on `{x}`, candidate on `{y}`"));
        }
        _ => {}
    }
    match (&bm.tgload_version, &cm.tgload_version) {
        (Some(x), Some(y)) if x != y => warnings.push(format!("different tgload versions: base {x}, candidate {y}")),
        _ => {}
    }
    (Some(same_scenario), warnings)
}

/// Runs that did not complete, and a first run without `meta.json` (what it ran cannot be checked).
pub(super) fn status_warnings(base: &Side, candidate: &Side) -> Vec<String> {
    let no_meta = [("base", base), ("candidate", candidate)]
        .into_iter()
        .filter(|(_, s)| s.first().meta.is_none())
        .map(|(side, _)| format!("no meta.json in the {side} run: whether both ran the same scenario is unknown"));
    let incomplete = [("base", base), ("candidate", candidate)]
        .into_iter()
        .flat_map(|(side, s)| s.runs.iter().map(move |run| (side, run)))
        .filter(|(_, run)| run.summary.status != "completed")
        .map(|(side, run)| {
            format!(
                "the {side} run {} did not complete (status {}): its numbers cover part of the load",
                run.dir, run.summary.status
            )
        });
    no_meta.chain(incomplete).collect()
}

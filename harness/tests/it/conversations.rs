//! Conversations with state, on the frameworks' own state machines, through `tgload run --bot-cmd`: an aiogram 3
//! FSM bot and a python-telegram-bot ConversationHandler bot (mock-telegram/tests/compat/python), each walked by
//! five users through its sign-up (harness/tests/fixtures), every answer checked, with names and cities from a feed.
//! Known truth beyond the expectations: every registration the bot logs pairs a name and a city of one row of the
//! feed (each user's state stayed its own), numbered 1, 2, 3, ... once each; and a scenario expecting the wrong
//! question has every answer of that step counted wrong. Without the repo's .venv (ci/setup-compat.sh) they are
//! skipped unless TGLOAD_COMPAT is set: then a missing framework is a failure, as in the compatibility suite.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use super::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// The venv's python when it can import `module`; `None` (skip) otherwise, unless TGLOAD_COMPAT is set.
fn python_with(module: &str) -> Option<PathBuf> {
    let python = repo().join(".venv/bin/python");
    let importable = python.is_file()
        && Command::new(&python).args(["-c", &format!("import {module}")]).output().is_ok_and(|o| o.status.success());
    if importable {
        return Some(python);
    }
    let missing = format!("no {} that imports {module} (run ci/setup-compat.sh)", python.display());
    assert!(std::env::var_os("TGLOAD_COMPAT").is_none(), "TGLOAD_COMPAT is set but there is {missing}");
    eprintln!("skipped: {missing}");
    None
}

/// Runs `plan` against the compatibility suite's Python bot `bot` in polling mode.
fn run_bot(python: &Path, bot: &str, plan: &Path, out: &Path) -> (Output, Value) {
    let bot = repo().join("mock-telegram/tests/compat/python").join(bot);
    let bot_cmd = format!("PYTHONUNBUFFERED=1 exec '{}' '{}'", python.display(), bot.display());
    let output = tgload(plan, out, &["--bot-cmd", &bot_cmd]);
    let s = summary(out);
    (output, s)
}

/// The bot's log and the journey: what went wrong, for a failure's message.
fn context(out: &Path, journey: &Value) -> String {
    let log = std::fs::read_to_string(out.join("bot.stderr.log")).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect();
    format!("journey: {journey}\nbot.stderr.log (last lines):\n{}", tail.join("\n"))
}

/// The only journey of `s`, `signup`, passed every time: each of its steps (named `steps`) answered every time, as
/// expected.
fn assert_all_passed<'s>(s: &'s Value, out: &Path, steps: &[&str]) -> &'s Value {
    let journey = &s["journeys"][0];
    let why = || context(out, journey);
    assert_eq!(journey["name"], "signup", "{}", why());
    assert!(journey["ended"].as_u64() > Some(5), "{}", why());
    assert_eq!(journey["success_rate"], 1.0, "{}", why());
    assert_eq!(journey["succeeded"], journey["ended"], "{}", why());
    let names: Vec<&str> = journey["steps"].as_array().unwrap().iter().filter_map(|st| st["name"].as_str()).collect();
    assert_eq!(names, steps, "{}", why());
    for step in journey["steps"].as_array().unwrap() {
        assert!(step["sent"].as_u64() >= journey["ended"].as_u64(), "{step}\n{}", why());
        assert_eq!(step["answered"], step["sent"], "{step}\n{}", why());
        assert_eq!(step["errors"]["wrong_answer"], 0, "{step}\n{}", why());
        assert_eq!(step["errors"]["timeout"], 0, "{step}\n{}", why());
    }
    assert_eq!(s["errors"]["wrong_answer"], 0, "{}", why());
    journey
}

/// The feed's rows: (name, city).
fn people() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(fixture("people.csv")).unwrap();
    let rows = text.lines().skip(1).filter_map(|line| line.split_once(','));
    rows.map(|(name, city)| (name.to_owned(), city.to_owned())).collect()
}

/// The registrations the bot logged (`registered #3: Ada from London`), in their order.
fn registrations(out: &Path) -> Vec<(u64, String, String)> {
    let log = std::fs::read_to_string(out.join("bot.stderr.log")).unwrap();
    log.lines()
        .filter_map(|line| line.split_once("registered #").map(|(_, rest)| rest))
        .filter_map(|rest| {
            let (number, rest) = rest.split_once(": ")?;
            let (name, city) = rest.split_once(" from ")?;
            Some((number.parse().ok()?, name.to_owned(), city.to_owned()))
        })
        .collect()
}

/// Each journey that succeeded registered one row of the feed, its own name with its own city, under the next
/// number.
fn assert_registered_as_fed(out: &Path, journey: &Value) {
    let (people, registered) = (people(), registrations(out));
    let why = context(out, journey);
    assert_eq!(registered.len() as u64, journey["succeeded"].as_u64().unwrap(), "{registered:?}\n{why}");
    for (i, (number, name, city)) in registered.iter().enumerate() {
        assert_eq!(*number, i as u64 + 1, "numbered in turn: {registered:?}");
        assert!(people.contains(&(name.clone(), city.clone())), "{name} from {city} is no row of the feed: {why}");
    }
    // Sequential feed rows, one per journey: as many journeys as rows took every row.
    for person in people.iter().filter(|_| registered.len() >= people.len()) {
        assert!(registered.iter().any(|(_, n, c)| (n, c) == (&person.0, &person.1)), "{person:?}: {registered:?}");
    }
}

#[test]
fn aiogram_fsm_journeys_pass() {
    let Some(_guard) = e2e() else { return };
    let Some(python) = python_with("aiogram") else { return };
    let out = out_dir("aiogram-fsm");
    let started = std::time::Instant::now();
    let (output, s) = run_bot(&python, "aiogram_fsm_bot.py", &fixture("aiogram-fsm.toml"), &out);
    assert_eq!(output.status.code(), Some(0), "{}\n{}", text(&output), context(&out, &s["journeys"][0]));
    let journey = assert_all_passed(&s, &out, &["start", "name", "city"]);
    assert_registered_as_fed(&out, journey);
    eprintln!("aiogram FSM: {} journeys in {:.1?}", journey["ended"], started.elapsed());

    // The same scenario, expecting a question the bot never asks: every answer of that step is wrong, so no
    // journey gets further, and the objective on the journey's success fails the run.
    let out = out_dir("aiogram-fsm-wrong");
    let right = std::fs::read_to_string(fixture("aiogram-fsm.toml")).unwrap();
    let wrong = right.replacen("Which city do you live in", "Which country do you live in", 1).replacen(
        "file = \"people.csv\"",
        &format!("file = {:?}", fixture("people.csv").display().to_string()),
        1,
    );
    assert_eq!(wrong.matches("Which country").count() + wrong.matches("fixtures/people.csv").count(), 2);
    let (output, s) = run_bot(&python, "aiogram_fsm_bot.py", &scenario(&out, &wrong), &out);
    assert_eq!(output.status.code(), Some(99), "{}", text(&output));
    let journey = &s["journeys"][0];
    let why = context(&out, journey);
    let [start, name, city] = [0, 1, 2].map(|i| &journey["steps"][i]);
    assert!(journey["ended"].as_u64() > Some(5), "{why}");
    assert_eq!((journey["success_rate"].as_f64(), journey["succeeded"].as_u64()), (Some(0.0), Some(0)), "{why}");
    assert_eq!(start["errors"]["wrong_answer"], 0, "{why}");
    assert!(name["sent"].as_u64() > Some(5), "{why}");
    assert_eq!(name["errors"]["wrong_answer"], name["sent"], "{why}");
    assert_eq!(name["answered"], name["sent"], "{why}");
    assert_eq!(s["errors"]["wrong_answer"], name["sent"], "{why}");
    assert_eq!(city["sent"], 0, "a failed step ends its journey: {why}");
    let example = name["wrong_answers"][0].as_str().unwrap_or_default();
    assert!(example.contains("Which city do you live in?"), "the bot's own words: {why}");
    assert!(registrations(&out).is_empty(), "{why}");
}

#[test]
fn ptb_conversation_journeys_pass() {
    let Some(_guard) = e2e() else { return };
    let Some(python) = python_with("telegram") else { return };
    let out = out_dir("ptb-conversation");
    let started = std::time::Instant::now();
    let (output, s) = run_bot(&python, "ptb_conversation_bot.py", &fixture("ptb-conversation.toml"), &out);
    assert_eq!(output.status.code(), Some(0), "{}\n{}", text(&output), context(&out, &s["journeys"][0]));
    let journey = assert_all_passed(&s, &out, &["start", "name", "city", "confirm"]);
    assert_registered_as_fed(&out, journey);
    eprintln!("python-telegram-bot ConversationHandler: {} journeys in {:.1?}", journey["ended"], started.elapsed());
}

//! Journeys and checked answers against known truth: the bundled bot walked through its conversations, a bot that
//! answers every Nth message wrongly, and a bot that streams its answer by edits with a known timing.

use super::*;

#[test]
fn journeys_walk_their_steps_and_time_a_streamed_answer_to_its_last_edit() {
    let Some(_guard) = e2e() else { return };
    let out = out_dir("journeys");
    let output = tgload(&shipped("journeys"), &out, &["--duration", "6s"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let s = summary(&out);
    assert_eq!(s["errors"]["wrong_answer"], 0, "{s}");
    let journeys = s["journeys"].as_array().unwrap();
    let journey = |name: &str| journeys.iter().find(|j| j["name"] == name).unwrap_or_else(|| panic!("{name}: {s}"));
    for name in ["greet", "menu", "stream"] {
        let j = journey(name);
        assert!(j["ended"].as_u64() > Some(3) && j["success_rate"] == 1.0, "{j}");
    }
    // The menu's second step pressed the button its first step's answer had, and its answer said so.
    let choose = &journey("menu")["steps"][1];
    assert_eq!(
        (choose["name"].as_str(), choose["answered"].clone()),
        (Some("choose"), choose["sent"].clone()),
        "{choose}"
    );
    // `/stream` sends a message, then edits it five times 100 ms apart: about 500 ms from the first to the last.
    let ask = &journey("stream")["steps"][0];
    let (first, last) = (ask["latency_ms"]["p50"].as_f64().unwrap(), ask["last_ms"]["p50"].as_f64().unwrap());
    assert!(first < 100.0, "the first message comes at once: {ask}");
    assert!((480.0..800.0).contains(&(last - first)), "five edits 100 ms apart: {ask}");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("## Journeys") && report.contains("`journey.greet.success > 99%` | 100.000% | pass"),
        "{report}"
    );
}

#[test]
fn a_bot_answering_every_fifth_message_wrongly_has_exactly_those_counted() {
    let Some(_guard) = e2e() else { return };
    let out = out_dir("wrong-every");
    let body = "name = \"wrong\"\nanswer_timeout = \"5s\"\n[load]\nusers = 5\nhatch_rate = 5\nduration = \"4s\"\n\
        [pacing]\nmode = \"closed\"\nthink = \"50ms..150ms\"\n[[actions]]\nkind = \"text\"\ntext = \"hello\"\n\
        expect = \"^hello$\"\n[bot]\nenv = { TGLOAD_WRONG_EVERY = \"5\" }\n";
    let output = tgload(&scenario(&out, body), &out, &[]);
    let s = summary(&out);
    let (sent, answered) = (s["actions"]["sent"].as_u64().unwrap(), s["actions"]["answered"].as_u64().unwrap());
    assert_eq!(answered, sent, "{}", text(&output));
    assert!(sent >= 20, "{s}");
    assert_eq!(s["errors"]["wrong_answer"].as_u64(), Some(answered / 5), "every fifth of {answered}: {s}");
    assert_eq!(s["errors"]["timeout"], 0, "{s}");
    let journey = &s["journeys"][0];
    assert_eq!(journey["steps"][0]["errors"]["wrong_answer"], s["errors"]["wrong_answer"], "{journey}");
    let example = journey["steps"][0]["wrong_answers"][0].as_str().unwrap_or_default();
    assert!(example.contains("Sorry, something went wrong."), "{journey}");
    assert_eq!(output.status.code(), Some(0), "no objective to fail: {}", text(&output));
}

/// The bundled bot caches quotes per topic: 10,000 different topics from a feed miss every time, one topic hits
/// nearly always. The hit ratio the run reports is checked against both.
#[test]
fn a_feed_of_distinct_topics_shows_in_the_quote_cache_hit_ratio() {
    let Some(_guard) = e2e() else { return };
    let run = |name: &str, body: &str| {
        let out = out_dir(name);
        let output = tgload(&scenario(&out, body), &out, &["--users", "10", "--duration", "4s"]);
        assert_eq!(output.status.code(), Some(0), "{}", text(&output));
        summary(&out)
    };
    let topics = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/data/topics.csv");
    let quotes =
        std::fs::read_to_string(shipped("quotes")).unwrap().replace("data/topics.csv", &topics.display().to_string());
    let distinct = run("quotes-distinct", &quotes);
    assert!(distinct["by_action"][0]["answered"].as_u64() > Some(30), "{distinct}");
    assert_eq!(distinct["quote_cache_hit_ratio"], 0.0, "every topic is new: {distinct}");
    let constant = quotes.replace("${feed.topic}", "cats");
    let same = run("quotes-constant", &constant);
    assert!(same["quote_cache_hit_ratio"].as_f64() > Some(0.8), "one topic, cached for 5 s: {same}");
}

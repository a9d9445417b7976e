//! The harness is a measuring instrument: these runs put known faults into the bot and check that the
//! numbers show exactly those, and nothing else.

use super::*;

/// Open pacing at 50 actions/s for 6 s, plain text (the bot echoes), with `env` switching a bot fault on.
fn open_text(users: usize, env: &str) -> String {
    format!(
        "answer_timeout = \"1s\"\nlate_tolerance = \"50ms\"\n[load]\nusers = {users}\nduration = \"6s\"\n\
         [pacing]\nmode = \"open\"\nrate_per_s = 50\n[[actions]]\nkind = \"text\"\ntext = \"hi\"\n[bot]\nenv = {{ {env} }}\n"
    )
}

/// Runs `body` as a scenario into a fresh directory named after `name`; the run must pass (these scenarios have no
/// objectives). Returns the directory and its `summary.json`.
fn passing_run(name: &str, body: &str) -> (PathBuf, serde_json::Value) {
    let out = out_dir(name);
    let output = tgload(&scenario(&out, body), &out, &[]);
    assert_eq!(output.status.code(), Some(0), "no objectives, so the run passes: {}", text(&output));
    let s = summary(&out);
    (out, s)
}

#[test]
fn a_fixed_bot_delay_shows_in_the_percentiles() {
    let Some(_guard) = e2e() else { return };
    // 1,200 actions (100/s for 12 s), so that p99 rests on a dozen samples rather than three.
    let body = open_text(20, "TGLOAD_DELAY_MS = \"50\"")
        .replace("rate_per_s = 50", "rate_per_s = 100")
        .replace("duration = \"6s\"", "duration = \"12s\"");
    let (out, s) = passing_run("delay", &body);
    assert_eq!(s["actions"]["sent"].as_u64(), Some(1_200), "open pacing sends exactly rate × duration: {s}");
    let (p50, p99) = (s["latency_ms"]["p50"].as_f64().unwrap(), s["latency_ms"]["p99"].as_f64().unwrap());
    // The delay is a floor; what the bot, the mock and the generator add on top stays small on loopback.
    assert!((50.0..65.0).contains(&p50), "p50 {p50}: {s}");
    assert!((50.0..100.0).contains(&p99), "p99 {p99}: {s}");
    assert_eq!(s["errors"]["sent_late"].as_u64(), Some(0), "{s}");
    // The truth: how long the bot took, timed inside the mock from the update's delivery to the answer.
    let mock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("mock-stats.json")).unwrap()).unwrap();
    let truth = |q: &str| mock["timings"]["handling_us"][q].as_f64().unwrap() / 1e3;
    for (reported, q) in [(p50, "p50"), (p99, "p99")] {
        let error = reported - truth(q);
        assert!((0.0..2.0).contains(&error), "{q}: reported {reported} ms, truth {} ms: {mock}", truth(q));
    }
}

#[test]
fn a_periodic_stall_shows_in_p99_under_open_pacing() {
    let Some(_guard) = e2e() else { return };
    // The bot stalls 1 s every 5 s. Actions keep arriving on schedule during a stall, so about a fifth of them
    // wait up to a second: p99 must show most of that second, while the median stays fast.
    let env = "TGLOAD_STALL_EVERY_MS = \"5000\", TGLOAD_STALL_MS = \"1000\"";
    let body = open_text(10, env).replace("duration = \"6s\"", "duration = \"11s\"").replace("\"1s\"", "\"3s\"");
    let (_, s) = passing_run("stall", &body);
    let (p50, p99) = (s["latency_ms"]["p50"].as_f64().unwrap(), s["latency_ms"]["p99"].as_f64().unwrap());
    assert!(p50 < 50.0, "most actions miss the stalls: p50 {p50}: {s}");
    assert!((800.0..1_100.0).contains(&p99), "the stall shows in p99: {p99}: {s}");
    assert_eq!(s["errors"]["timeout"].as_u64(), Some(0), "{s}");
}

#[test]
fn dropped_updates_are_counted_as_timeouts_one_for_one() {
    let Some(_guard) = e2e() else { return };
    // 300 users with one action each. The mock completes the oldest unanswered action of a chat, so once an
    // update is dropped, later answers in that chat would be credited to the dropped action; one action per
    // chat keeps this test about the harness's counting, not the mock's correlation.
    let (_, s) = passing_run("fail-every", &open_text(300, "TGLOAD_FAIL_EVERY = \"10\""));
    assert_eq!(s["actions"]["sent"].as_u64(), Some(300), "{s}");
    assert_eq!(s["errors"]["timeout"].as_u64(), Some(30), "every 10th of 300 updates was dropped: {s}");
    assert_eq!(s["actions"]["errors"].as_u64(), Some(30), "and nothing else failed: {s}");
    assert_eq!(s["actions"]["answered"].as_u64(), Some(270), "{s}");
}

#[test]
fn an_external_api_outage_shows_where_and_as_long_as_it_was_scheduled() {
    let Some(_guard) = e2e() else { return };
    // `/ask` at 20 actions/s for 20 s; the API answers in 50 ms, except from 2 s to 4 s, when it stalls. The bot
    // gives up on it after 500 ms and answers politely. 40 users act every 2 s each, so no action waits for its
    // user's previous one and every call reaches the API a few ms after its action was due.
    let body = "answer_timeout = \"3s\"\n[load]\nusers = 40\nduration = \"20s\"\n\
        [pacing]\nmode = \"open\"\nrate_per_s = 20\n[[actions]]\nkind = \"command\"\ncommand = \"ask\"\nargs = \"why?\"\n\
        [bot]\nenv = { EXTERNAL_API_TIMEOUT_MS = \"500\" }\n[external_api]\nask_latency = \"50ms\"\n\
        [[external_api.faults]]\nendpoint = \"ask\"\nkind = \"timeout\"\nstart = \"2s\"\nduration = \"2s\"\n";
    let (out, s) = passing_run("external-fault", body);
    assert_eq!(s["actions"]["sent"].as_u64(), Some(400), "{s}");
    assert_eq!(s["actions"]["errors"].as_u64(), Some(0), "the bot answered every action, politely or not: {s}");
    let ask = &s["external_api"]["ask"];
    assert_eq!(
        (ask["ok"].as_u64(), ask["errors"].as_u64(), ask["timeouts"].as_u64()),
        (Some(360), Some(0), Some(40)),
        "the 40 calls due in the two seconds stalled, the 360 others did not: {s}"
    );
    // The last stalled call, due just before 4 s, was answered about 4.46 s in: from the second after it on,
    // users are served as before the outage, so the run settles 1 s after the window's end, at 5 s. At 20 answers
    // a second the health windows are 3-4 s (59 answers at least) and the hold 9-12 s, which the run's 20 s leave room
    // for; one slow answer from a busy machine can spoil a window and push the settling a second or two later.
    let fault = &s["faults"][0];
    assert_eq!(fault["name"].as_str(), Some("/ask timeout"), "{s}");
    // The baseline's 2 s hold about 40 answers (fewer if the first second started late): windows of 3-4 s.
    let window = fault["window_s"].as_u64().unwrap_or(0);
    assert!((3..=4).contains(&window) && fault["hold_s"].as_u64() == Some(3 * window), "{s}");
    assert_eq!(fault["verdict"].as_str(), Some("recovered"), "{s}");
    assert!(fault["seconds"].as_f64().is_some_and(|r| (1.0..=3.0).contains(&r)), "{s}");
    assert!(fault["peak_p95_ms"].as_f64().is_some_and(|p| (500.0..700.0).contains(&p)), "{s}");
    assert!(fault["baseline_p95_ms"].as_f64().is_some_and(|p| (50.0..100.0).contains(&p)), "{s}");
    // A fifth of the actions waited for the bot's 500 ms timeout: p50 stays near the API's 50 ms, p99 does not.
    let (p50, p99) = (s["latency_ms"]["p50"].as_f64().unwrap(), s["latency_ms"]["p99"].as_f64().unwrap());
    assert!((50.0..100.0).contains(&p50), "p50 {p50}: {s}");
    assert!((500.0..700.0).contains(&p99), "p99 {p99}: {s}");
    let events = std::fs::read_to_string(out.join("events.jsonl")).unwrap();
    let at = |kind: &str| {
        events
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|e| e["kind"] == kind)
            .and_then(|e| e["t_s"].as_f64())
    };
    assert_eq!((at("fault_start"), at("fault_end")), (Some(2.0), Some(4.0)), "{events}");
    assert!(
        events.contains(r#""fault":{"endpoint":"ask","kind":"timeout","target":"external_api"},"name":"/ask timeout""#),
        "{events}"
    );
}

#[test]
fn an_injected_leak_shows_as_its_drift() {
    let Some(_guard) = e2e() else { return };
    // 100 updates/s for 25 s, each leaking 50,000 bytes: the bot's RSS grows 5 MB/s, 18,000 MB/h.
    let body = open_text(20, "TGLOAD_LEAK_BYTES = \"50000\"")
        .replace("rate_per_s = 50", "rate_per_s = 100")
        .replace("duration = \"6s\"", "duration = \"25s\"");
    let (_, s) = passing_run("leak", &body);
    assert_eq!(s["actions"]["sent"].as_u64(), Some(2_500), "{s}");
    let drift = s["bot"]["rss_drift_mb_per_h"].as_f64().unwrap_or(f64::NAN);
    assert!((16_200.0..19_800.0).contains(&drift), "drift {drift} MB/h, truth 18,000: {}", s["bot"]);
    let growth = s["bot"]["rss_end_mb"].as_f64().unwrap() - s["bot"]["rss_start_mb"].as_f64().unwrap();
    assert!(growth > 100.0, "about 125 MB leaked in all: {}", s["bot"]);
}

#[test]
fn bot_api_faults_show_as_errors_and_latency_where_they_were_scheduled() {
    let Some(_guard) = e2e() else { return };
    // Plain text at 20 actions/s for 6 s (the bot echoes with sendMessage). sendMessage answers 429 (retry after
    // 1 s) from 1 s to 3 s, and answers 200 ms late from 4 s to 5 s. The bundled bot does not retry a failed send.
    // (Not a 5xx: teloxide sleeps 10 s after any 5xx before it returns the error, which stalls the chat.) A failed
    // answer leaves its action open for a retry until the user's 1 s answer timeout, well before the user's next
    // action 2 s later.
    let body = "answer_timeout = \"1s\"\n[load]\nusers = 40\nduration = \"6s\"\n\
        [pacing]\nmode = \"open\"\nrate_per_s = 20\n[[actions]]\nkind = \"text\"\ntext = \"hi\"\n\
        [[bot_api.faults]]\nmethods = [\"sendMessage\"]\nkind = \"error\"\nerror_code = 429\nretry_after = 1\n\
        start = \"1s\"\nduration = \"2s\"\n\
        [[bot_api.faults]]\nmethods = [\"sendMessage\"]\nkind = \"delay\"\ndelay = \"200ms\"\nstart = \"4s\"\nduration = \"1s\"\n";
    let (out, s) = passing_run("bot-api-fault", body);
    assert_eq!(s["actions"]["sent"].as_u64(), Some(120), "{s}");
    assert_eq!(s["errors"]["bot_api_error"].as_u64(), Some(40), "the 40 answers due in the flood wait failed: {s}");
    assert_eq!(s["actions"]["errors"].as_u64(), Some(40), "and nothing else: {s}");
    let mock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("mock-stats.json")).unwrap()).unwrap();
    assert_eq!(mock["injected"]["errors"].as_u64(), Some(40), "{mock}");
    // The 20 answers due in the slow second (a sixth of them) waited 200 ms: p95 shows it, p50 does not.
    let (p50, p95) = (s["latency_ms"]["p50"].as_f64().unwrap(), s["latency_ms"]["p95"].as_f64().unwrap());
    assert!(p50 < 20.0, "p50 {p50}: {s}");
    assert!((200.0..230.0).contains(&p95), "p95 {p95}: {s}");
    let events = std::fs::read_to_string(out.join("events.jsonl")).unwrap();
    for name in ["sendMessage 429", "sendMessage +200ms"] {
        assert!(events.contains(&format!(r#""name":"{name}""#)), "{name}: {events}");
    }
}

#[test]
fn a_bot_that_slows_down_over_the_run_is_degraded_and_a_steady_one_is_not() {
    let Some(_guard) = e2e() else { return };
    // 20 actions a second for 80 s (eight 10 s buckets, six at least after the warm-up). The slowing bot waits
    // 400 ms more per minute of uptime, so its p95 goes from near nothing to about half a second; the steady one
    // answers at once throughout.
    let body = |env: &str| {
        format!(
            "answer_timeout = \"5s\"\n[load]\nusers = 40\nduration = \"80s\"\n[pacing]\nmode = \"open\"\n\
             rate_per_s = 20\n[[actions]]\nkind = \"text\"\ntext = \"hi\"\n[bot]\nenv = {{ {env} }}\n"
        )
    };
    let (_, slowing) = passing_run("degrading", &body("TGLOAD_DELAY_GROWTH_MS_PER_MIN = \"400\""));
    let verdict = |s: &serde_json::Value, metric: &str| {
        let entry = s["degradation"].as_array().unwrap().iter().find(|d| d["metric"] == metric).cloned();
        entry.and_then(|d| d["verdict"].as_str().map(String::from)).unwrap_or_default()
    };
    assert_eq!(verdict(&slowing, "p95"), "degraded", "{}", slowing["degradation"]);
    assert_eq!(verdict(&slowing, "p99"), "degraded", "{}", slowing["degradation"]);
    let (_, steady) = passing_run("steady", &body("BOT_UNUSED = \"1\""));
    for metric in ["p95", "p99", "goodput"] {
        assert_ne!(verdict(&steady, metric), "degraded", "{metric}: {}", steady["degradation"]);
    }
    assert_ne!(verdict(&slowing, "goodput"), "degraded", "answers kept coming: {}", slowing["degradation"]);
}

#[test]
fn recovery_after_a_load_spike_is_the_backlog_draining() {
    let Some(_guard) = e2e() else { return };
    // The bot answers at most 100 a second (one runtime thread, blocked 10 ms per update). 20/s for 15 s, a spike
    // of 150/s for 8 s, then 20/s again: the spike leaves a backlog of about 8 × 50 = 400 updates, which drains at
    // 100 − 20 = 80 a second, so the run settles about 5 s after the spike ends.
    let body = "answer_timeout = \"20s\"\n[load]\nsteps = [{ label = \"base\", users = 20, hold = \"15s\" }, \
        { label = \"spike\", users = 150, hold = \"8s\" }, { label = \"after\", users = 20, hold = \"30s\" }]\n\
        [pacing]\nmode = \"open\"\nrate_per_s = 150\n[[actions]]\nkind = \"text\"\ntext = \"hi\"\n\
        [bot]\nenv = { TGLOAD_BLOCK_MS = \"10\", TOKIO_WORKER_THREADS = \"1\" }\n";
    let (_, s) = passing_run("spike", body);
    let spike = s["faults"].as_array().unwrap().iter().find(|f| f["name"] == "load reduction after spike").cloned();
    let spike = spike.unwrap_or_else(|| panic!("no load reduction judged: {s}"));
    assert_eq!(spike["verdict"], "recovered", "{spike}");
    assert!(spike["seconds"].as_f64().is_some_and(|t| (2.0..=12.0).contains(&t)), "about 5 s: {spike}");
    assert!(spike["peak_p95_ms"].as_f64().is_some_and(|p| p > 1000.0), "the backlog showed: {spike}");
}

//! Scenario parsing: good files become the expected domain values, bad ones name line and field.

use std::path::Path;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::SeedableRng;

use super::*;

const GOOD: &str = r#"
name = "demo"
seed = 7
answer_timeout = "2s"

[load]
users = 10
hatch_rate = 5
duration = "10s"

[pacing]
mode = "closed"
think = "100ms..300ms"

[chats]
group_share = 0.2
group_size = 2

[[actions]]
kind = "text"
weight = 3
text = "hello"

[[actions]]
kind = "command"
command = "/ask"
args = "why?"

[[actions]]
kind = "menu"
command = "menu"

[slo]
rules = ["p95 < 200ms", "error_rate < 0.1%"]
sustained = "3s"
"#;

fn parse(text: &str) -> Result<Scenario, Error> {
    Scenario::parse(Path::new("scenarios/demo.toml"), text)
}

/// Parses `text` and expects an error at `line` naming `field`, whose message contains `message`.
fn check_error(text: &str, line: usize, field: &str, message: &str) {
    match parse(text) {
        Err(Error::Scenario { line: l, field: f, message: m, path, .. }) => {
            assert_eq!(path, Path::new("scenarios/demo.toml"));
            assert_eq!((l, f.as_str()), (line, field), "message: {m}");
            assert!(m.contains(message), "`{m}` lacks `{message}`");
        }
        other => panic!("expected a scenario error, got {other:?}"),
    }
}

/// `GOOD` with one line replaced.
fn good_with(find: &str, replace: &str) -> String {
    assert!(GOOD.contains(find), "{find}");
    GOOD.replacen(find, replace, 1)
}

#[test]
fn parses_a_full_scenario() {
    let s = parse(GOOD).unwrap();
    assert_eq!((s.name.as_str(), s.seed, s.answer_timeout), ("demo", 7, Duration::from_secs(2)));
    assert_eq!(
        s.steps,
        vec![
            Step { label: "ramp".into(), users: 10, ramp: Duration::from_secs(2), hold: Duration::ZERO },
            Step { label: "hold".into(), users: 10, ramp: Duration::ZERO, hold: Duration::from_secs(8) },
        ]
    );
    assert_eq!(s.pacing, Pacing::Closed { think: Duration::from_millis(100)..Duration::from_millis(300) });
    assert_eq!(
        s.mix.entries[1].1.steps[0].action,
        Action::Command { command: "ask".into(), args: Some("why?".into()) }
    );
    assert_eq!(s.mix.entries[2].1.steps[0].action, Action::Menu { command: "menu".into(), data: None });
    assert_eq!(s.slos.len(), 2);
    assert_eq!(s.sustained, Some(Duration::from_secs(3)));
    assert_eq!(s.late_tolerance, Duration::from_millis(100));
    assert_eq!(s.chats, Chats { group_share: 0.2, group_size: 2 });
    // The parsed scenario is what meta.json records.
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["pacing"], serde_json::json!({"mode": "closed", "think": [0.1, 0.3]}));
    assert_eq!(json["slos"], serde_json::json!(["p95 < 200ms", "error_rate < 0.1%"]));
}

#[test]
fn name_defaults_to_the_file_stem_and_steps_parse() {
    let text = GOOD.replace("name = \"demo\"\n", "").replace(
        "users = 10\nhatch_rate = 5\nduration = \"10s\"",
        "steps = [{ users = 5, ramp = \"5s\", hold = \"10s\", label = \"warm\" }, { users = 20, ramp = \"1s\" }]",
    );
    let s = parse(&text).unwrap();
    assert_eq!(s.name, "demo");
    assert_eq!(s.peak_users(), 20);
    assert_eq!(s.steps[1].label, "step2");
    assert_eq!(s.steps[0].hold, Duration::from_secs(10));
}

#[test]
fn open_pacing() {
    let s = parse(&good_with("mode = \"closed\"\nthink = \"100ms..300ms\"", "mode = \"open\"\nrate_per_s = 250.5"))
        .unwrap();
    assert_eq!(s.pacing, Pacing::Open { rate_per_s: 250.5 });
}

#[test]
fn bad_files_name_line_and_field() {
    check_error(&good_with("users = 10", "users = 10\nspeed = 3"), 8, "load.speed", "unknown field `speed`");
    check_error(&good_with("seed = 7", "seed = 7\ncolour = \"red\""), 4, "colour", "unknown field `colour`");
    check_error(&good_with("users = 10", "users = \"ten\""), 7, "load.users", "invalid type");
    check_error(&good_with("duration = \"10s\"", "duration = \"10 days\""), 9, "load.duration", "unknown unit");
    check_error(&good_with("duration = \"10s\"", "duration = \"1s\""), 9, "load.duration", "longer than the ramp");
    check_error(&good_with("mode = \"closed\"", "mode = \"sometimes\""), 12, "pacing.mode", "unknown mode");
    check_error(&good_with("think = \"100ms..300ms\"", "think = \"3s..1s\""), 13, "pacing.think", "lower bound");
    check_error(&good_with("think = \"100ms..300ms\"", "rate_per_s = 5.0"), 13, "pacing.rate_per_s", "only applies");
    check_error(&good_with("kind = \"menu\"", "kind = \"selfie\""), 30, "actions[2].kind", "unknown kind");
    check_error(&good_with("text = \"hello\"", "command = \"x\""), 22, "actions[0].command", "does not apply");
    check_error(&good_with("weight = 3", "weight = 0"), 21, "actions[0].weight", "at least 1");
    check_error(&good_with("\"p95 < 200ms\"", "\"p95 ~ 200ms\""), 34, "slo.rules", "no comparison");
    check_error(&good_with("sustained = \"3s\"", "sustained = \"1.5s\""), 35, "slo.sustained", "whole number");
    check_error(&good_with("group_share = 0.2", "group_share = 2.0"), 16, "chats.group_share", "between 0 and 1");
    check_error(&good_with("users = 10", "users = 1000000"), 7, "load.users", "at most");
    check_error(&good_with("hatch_rate = 5", "hatch_rate = 1e-300"), 8, "load.hatch_rate", "too low");
    check_error("[load\nusers = 1", 1, "load", "");
}

#[test]
fn every_kind_of_the_mock_is_an_action_and_checked_as_the_mock_checks_it() {
    use mock_telegram::control::{Action as Kind, Media};
    let s = parse(&good_with("kind = \"menu\"\ncommand = \"menu\"", "kind = \"photo\"\nsize = \"200KB\"")).unwrap();
    assert_eq!(
        s.mix.entries[2].1.steps[0].action,
        Action::User(Kind::Photo(Media { size: Some(204_800), caption: None }))
    );
    assert_eq!(s.mix.entries[2].1.steps[0].action.label(), "photo");
    let s = parse(&good_with("kind = \"menu\"\ncommand = \"menu\"", "kind = \"reply\"\ntext = \"yes\"")).unwrap();
    assert_eq!(s.mix.entries[2].1.steps[0].action, Action::User(Kind::Reply { text: "yes".into(), message_id: None }));
    let s = parse(&good_with("kind = \"menu\"\ncommand = \"menu\"", "kind = \"join\"")).unwrap();
    assert!(s.mix.entries[2].1.steps[0].action.needs_group());

    let photo = |line: &str| good_with("kind = \"menu\"\ncommand = \"menu\"", &format!("kind = \"photo\"\n{line}"));
    check_error(&photo("sise = \"1KB\""), 31, "actions[2].sise", "unknown field `sise`");
    check_error(&photo("size = \"2GB\""), 31, "actions[2].size", "unknown unit");
    check_error(&photo("command = \"x\""), 31, "actions[2].command", "does not apply");
    check_error(&photo("caption = 1979-05-27T07:32:00Z"), 31, "actions[2].caption", "date-time");
    check_error(&good_with("kind = \"menu\"", "kind = \"callback\""), 30, "actions[2].kind", "a `button` step");
    check_error(&good_with("text = \"hello\"", "text = \"hello\"\nsize = 3"), 23, "actions[0].size", "does not apply");
    let joins = good_with("group_share = 0.2", "group_share = 0.0")
        .replace("kind = \"menu\"\ncommand = \"menu\"", "kind = \"join\"");
    check_error(&joins, 30, "actions[2].kind", "group_share above 0");
}

#[test]
fn missing_sections_are_errors() {
    let no_actions: String = GOOD.split("[[actions]]").next().unwrap().to_string() + "[slo]\n";
    match parse(&no_actions) {
        Err(Error::Scenario { message, .. }) => {
            assert!(message.contains("needs at least one [[actions]] entry or [[journeys]]"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn overrides_scale_users_and_time() {
    let mut s = parse(GOOD).unwrap();
    s.set_users(100);
    s.set_duration(Duration::from_secs(20));
    assert_eq!(s.peak_users(), 100);
    assert_eq!(s.steps[0].ramp, Duration::from_secs(4));
    assert_eq!(s.steps[1].hold, Duration::from_secs(16));
    // Only an open-paced scenario has a rate to set.
    assert!(s.set_rate(50.0).unwrap_err().contains("closed"));
    let mut open =
        parse(&good_with("mode = \"closed\"\nthink = \"100ms..300ms\"", "mode = \"open\"\nrate_per_s = 5")).unwrap();
    open.set_rate(7000.0).unwrap();
    assert_eq!(open.pacing, Pacing::Open { rate_per_s: 7000.0 });
    assert!(open.set_rate(0.0).is_err() && open.set_rate(f64::NAN).is_err());
}

#[test]
fn mix_follows_weights() {
    let s = parse(GOOD).unwrap();
    let mut rng = SmallRng::seed_from_u64(1);
    let mut texts = 0;
    for _ in 0..10_000 {
        if matches!(s.mix.pick(&mut rng).1.steps[0].action, Action::Text { .. }) {
            texts += 1;
        }
    }
    // Weight 3 of 5.
    assert!((5_700..6_300).contains(&texts), "{texts}");
}

#[test]
fn groups_are_spread_and_filled_in_order() {
    let chats = Chats { group_share: 0.2, group_size: 2 };
    let groups: Vec<Option<usize>> = (0..20).map(|u| chats.group_of(u)).collect();
    let members: Vec<usize> = (0..20).filter(|u| groups[*u].is_some()).collect();
    assert_eq!(members, vec![4, 9, 14, 19]);
    assert_eq!((groups[4], groups[9], groups[14], groups[19]), (Some(0), Some(0), Some(1), Some(1)));
}

#[test]
fn shipped_scenarios_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let scenario = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(Some(scenario.name.as_str()), path.file_stem().and_then(|s| s.to_str()));
            names.push(scenario.name);
        }
    }
    names.sort();
    assert_eq!(
        names,
        [
            "endurance-72h",
            "endurance-ci",
            "faults",
            "journeys",
            "kinds",
            "load-10k",
            "load-1k",
            "load-5k",
            "quotes",
            "smoke",
            "stress"
        ]
    );
    // The benchmarks' scenarios (`cargo xtask bench`) too.
    for name in ["echo", "overhead"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("benches/{name}.toml"));
        Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// An `[external_api]` section for `GOOD`, whose last line is 35.
const EXTERNAL: &str = r#"[external_api]
quote_latency = "10ms"
ask_latency = "1s..2s"

[[external_api.faults]]
endpoint = "ask"
kind = "timeout"
start = "2s"
duration = "3s"

[[external_api.faults]]
endpoint = "/quote"
kind = "error"
start = "8s"
duration = "1m"
"#;

/// `GOOD` followed by `section` with one line replaced.
fn appended(section: &str, find: &str, replace: &str) -> String {
    assert!(section.contains(find), "{find}");
    format!("{GOOD}{}", section.replacen(find, replace, 1))
}

#[test]
fn external_api_latencies_and_fault_windows() {
    let s = parse(&format!("{GOOD}{EXTERNAL}")).unwrap();
    let ms = Duration::from_millis;
    assert_eq!(s.external_api.quote_latency, ms(10)..ms(10));
    assert_eq!(s.external_api.ask_latency, ms(1000)..ms(2000));
    let external = |endpoint, kind| Target::ExternalApi { endpoint, kind };
    let expected = vec![
        Fault { start: ms(2000), duration: ms(3000), target: external(Endpoint::Ask, ExternalFault::Timeout) },
        Fault { start: ms(8000), duration: ms(60_000), target: external(Endpoint::Quote, ExternalFault::Error) },
    ];
    assert_eq!(s.faults, expected);
    assert_eq!((s.faults[0].name(), s.faults[1].name()), ("/ask timeout".into(), "/quote error".into()));
    let json = serde_json::to_value(&s).unwrap();
    let expected = serde_json::json!({"target": "external_api", "endpoint": "ask", "kind": "timeout", "start": 2.0, "duration": 3.0});
    assert_eq!(json["faults"][0], expected);
    // Without the section: the bundled defaults and no faults.
    let plain = parse(GOOD).unwrap();
    assert_eq!(plain.external_api.quote_latency, ms(5)..ms(30));
    assert_eq!(plain.external_api.ask_latency, ms(200)..ms(800));
    assert!(plain.faults.is_empty());
}

/// A `[[bot_api.faults]]` table for `GOOD`, whose last line is 35.
const BOT_API: &str = r#"[[bot_api.faults]]
methods = ["sendMessage", "editMessageText"]
kind = "error"
error_code = 429
retry_after = 3
start = "1s"
duration = "2s"

[[bot_api.faults]]
kind = "delay"
delay = "500ms"
start = "4s"
duration = "1s"

[[bot_api.faults]]
kind = "error"
start = "6s"
duration = "1s"
"#;

#[test]
fn bot_api_fault_windows() {
    let s = parse(&format!("{GOOD}{BOT_API}")).unwrap();
    let ms = Duration::from_millis;
    let methods = vec!["sendMessage".to_string(), "editMessageText".to_string()];
    let flood = BotApiEffect::Error { error_code: 429, retry_after: Some(3) };
    let expected = vec![
        Fault { start: ms(1000), duration: ms(2000), target: Target::BotApi { methods, effect: flood } },
        Fault {
            start: ms(4000),
            duration: ms(1000),
            target: Target::BotApi { methods: vec![], effect: BotApiEffect::Delay { delay: ms(500) } },
        },
        Fault {
            start: ms(6000),
            duration: ms(1000),
            target: Target::BotApi {
                methods: vec![],
                effect: BotApiEffect::Error { error_code: 502, retry_after: None },
            },
        },
    ];
    assert_eq!(s.faults, expected);
    let names: Vec<String> = s.faults.iter().map(Fault::name).collect();
    assert_eq!(names, ["sendMessage,editMessageText 429", "Bot API +500ms", "Bot API 502"]);
}

#[test]
fn fault_windows_keep_their_place_when_the_duration_changes() {
    let mut s = parse(&format!("{GOOD}{EXTERNAL}")).unwrap();
    s.set_duration(Duration::from_secs(20));
    let fault = &s.faults[0];
    assert_eq!((fault.start, fault.duration), (Duration::from_secs(4), Duration::from_secs(6)));
}

#[test]
fn bad_fault_sections_name_line_and_field() {
    let cases = [
        (
            EXTERNAL,
            "endpoint = \"ask\"",
            "endpoint = \"weather\"",
            41,
            "external_api.faults[0].endpoint",
            "unknown endpoint `weather`",
        ),
        (EXTERNAL, "kind = \"error\"", "kind = \"slow\"", 48, "external_api.faults[1].kind", "unknown kind `slow`"),
        (
            EXTERNAL,
            "start = \"8s\"",
            "start = \"10s\"",
            49,
            "external_api.faults[1].start",
            "after the load is over (it lasts 10s)",
        ),
        (EXTERNAL, "duration = \"3s\"", "duration = \"0s\"", 44, "external_api.faults[0].duration", "longer than 0s"),
        (
            EXTERNAL,
            "ask_latency = \"1s..2s\"",
            "ask_latency = \"2s..1s\"",
            38,
            "external_api.ask_latency",
            "lower bound",
        ),
        (
            EXTERNAL,
            "kind = \"timeout\"",
            "kind = \"timeout\"\ncolour = 1",
            43,
            "external_api.faults.colour",
            "unknown field `colour`",
        ),
        (EXTERNAL, "start = \"2s\"\n", "", 40, "external_api.faults", "missing field `start`"),
        (BOT_API, "kind = \"delay\"", "kind = \"drop\"", 45, "bot_api.faults[1].kind", "unknown kind `drop`"),
        (BOT_API, "error_code = 429", "error_code = 200", 39, "bot_api.faults[0].error_code", "between 400 and 599"),
        (BOT_API, "error_code = 429", "error_code = 500", 40, "bot_api.faults[0].retry_after", "error_code 429"),
        (BOT_API, "delay = \"500ms\"", "delay = \"5m\"", 46, "bot_api.faults[1].delay", "between 1ms and 2m"),
        (BOT_API, "delay = \"500ms\"\n", "", 44, "bot_api.faults[1].delay", "missing"),
        (BOT_API, "start = \"6s\"", "start = \"6s\"\ndelay = \"1s\"", 53, "bot_api.faults[2].delay", "only applies"),
        (BOT_API, "start = \"4s\"", "start = \"11s\"", 47, "bot_api.faults[1].start", "after the load is over"),
        (BOT_API, "kind = \"error\"\nstart", "kind = \"error\"\nwhen = 1\nstart", 52, "bot_api.faults.when", "unknown"),
    ];
    for (section, find, replace, line, field, message) in cases {
        check_error(&appended(section, find, replace), line, field, message);
    }
}

#[test]
fn compare_settings_are_parsed_and_checked() {
    assert_eq!(parse(GOOD).unwrap().compare, CompareSettings::default());
    let text = format!("{GOOD}\n[compare]\nthreshold = \"5%\"\ngate = [\"latency_ms.p99\", \"error_rate\"]\n");
    let settings = parse(&text).unwrap().compare;
    assert_eq!(settings.gate, Some(vec!["latency_ms.p99".to_string(), "error_rate".to_string()]));
    assert!(settings.threshold.is_some_and(|t| (t - 0.05).abs() < 1e-12), "{settings:?}");
    let lines = GOOD.lines().count();
    check_error(&format!("{GOOD}\n[compare]\nthreshold = \"10\"\n"), lines + 3, "compare.threshold", "ambiguous");
    check_error(
        &format!("{GOOD}\n[compare]\ngate = [\"p95\"]\n"),
        lines + 3,
        "compare.gate",
        "`p95` is not a compared metric",
    );
}

/// A scenario of one journey, in a directory of its own with a feed file.
fn journey_scenario(steps: &str, extra: &str) -> (tempdir::Dir, String) {
    let dir = tempdir::Dir::new();
    std::fs::write(dir.path().join("people.csv"), "name,city\nAda,Paris\nAlan,London\n").unwrap();
    let text = format!(
        "name = \"j\"\n[load]\nusers = 2\nduration = \"5s\"\n[pacing]\nmode = \"closed\"\n\
         [[feeds]]\nfile = \"people.csv\"\n[[journeys]]\nname = \"signup\"\n{steps}{extra}"
    );
    (dir, text)
}

/// A throwaway directory under the system's temp dir, removed when dropped.
mod tempdir {
    pub struct Dir(std::path::PathBuf);

    impl Dir {
        pub fn new() -> Dir {
            static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!("tgload-scenario-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&path).unwrap();
            Dir(path)
        }

        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

const STEPS: &str = r#"
[[journeys.steps]]
name = "start"
kind = "command"
command = "start"
expect = "^Hello"
expect_buttons = ["Sign up"]

[[journeys.steps]]
kind = "button"
label = "Sign up"
expect_method = "editMessageText"
capture = { name = "order", regex = "order #(\\d+)" }

[[journeys.steps]]
name = "city"
kind = "text"
text = "${feed.city}, order ${order}"
think = "1s..2s"
expect_messages = 2
quiet = "300ms"
"#;

#[test]
fn journeys_parse_with_their_expectations_captures_and_feeds() {
    let (dir, text) =
        journey_scenario(STEPS, "[slo]\nrules = [\"journey.signup.success > 99%\", \"step.signup.city.p95 < 1s\"]\n");
    let s = Scenario::parse(&dir.path().join("j.toml"), &text).unwrap();
    let journey = s.mix.journey(0);
    assert_eq!((journey.name.as_str(), journey.single, journey.steps.len()), ("signup", false, 3));
    let names: Vec<&str> = journey.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["start", "button press", "city"]);
    assert_eq!(journey.steps[1].action, Action::Button { label: Some("Sign up".into()), data: None });
    assert_eq!(journey.steps[0].expect.buttons, ["Sign up"]);
    let city = &journey.steps[2];
    assert!(city.templated && city.expect.collects());
    assert_eq!(city.think, Some(Duration::from_secs(1)..Duration::from_secs(2)));
    assert_eq!((city.expect.messages, city.expect.quiet), (Some(2), Some(Duration::from_millis(300))));
    assert_eq!((s.feeds.feeds[0].row_count, s.feeds.column("city")), (2, Some((0, 1))));

    let bad = |steps: &str, extra: &str, field: &str, says: &str| {
        let (dir, text) = journey_scenario(steps, extra);
        match Scenario::parse(&dir.path().join("j.toml"), &text) {
            Err(Error::Scenario { field: f, message, .. }) => {
                assert!(f == field && message.contains(says), "{field}/{says}: got {f}: {message}")
            }
            other => panic!("{field}: {other:?}"),
        }
    };
    let step = |body: &str| format!("[[journeys.steps]]\n{body}\n");
    bad(&step("kind = \"text\"\ntext = \"${nope}\""), "", "journeys[0].steps[0]", "neither captured");
    bad(&step("kind = \"button\"\nlabel = \"x\""), "", "journeys[0].steps[0].kind", "needs a step before it");
    bad(
        &step("kind = \"text\"\ntext = \"x\"\nexpect_method = \"sendTelepathy\""),
        "",
        "journeys[0].steps[0].expect_method",
        "not a Bot API method",
    );
    bad(&step("kind = \"text\"\ntext = \"x\"\nexpect = \"(\""), "", "journeys[0].steps[0].expect", "bad regex");
    bad(&step("kind = \"text\"\ntext = \"x\"\nweight = 2"), "", "journeys[0].steps[0].weight", "no weight");
    bad(STEPS, "[slo]\nrules = [\"step.signup.town.p95 < 1s\"]\n", "slo.rules", "has no step `town`");
    bad(STEPS, "[slo]\nrules = [\"journey.login.success > 1%\"]\n", "slo.rules", "no journey `login`");
    let no_feed = STEPS.to_owned() + "[[feeds]]\nfile = \"missing.csv\"\n";
    bad(&no_feed, "", "feeds[1].file", "cannot read");
}

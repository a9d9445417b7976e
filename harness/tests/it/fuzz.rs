//! Property tests of the scenario parser, the input people type most: whatever the text, `Scenario::parse`
//! returns a scenario or an error that says where, and never panics. Besides arbitrary text, the inputs are the
//! shipped scenarios with a few mutations each, so that most cases get past the TOML grammar into validation.
//! These are not tests of which errors a file gets; the parser's unit tests pin those.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use harness::scenario::Scenario;
use harness::Error;
use proptest::prelude::*;

/// The shipped scenarios, read once: name and text.
fn shipped() -> &'static [(String, String)] {
    static SHIPPED: OnceLock<Vec<(String, String)>> = OnceLock::new();
    SHIPPED.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "toml"))
            .map(|path| {
                let name = path.file_stem().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read_to_string(&path).unwrap())
            })
            .collect();
        files.sort();
        // Fewer than this means the directory moved, and the mutations would quietly test nothing.
        assert!(files.len() >= 5, "shipped scenarios not found in {}", dir.display());
        files
    })
}

/// Parses `text` as `scenarios/<name>.toml` and checks the error, if any; returns the error's line and field.
fn check(name: &str, text: &str) -> Option<(usize, String)> {
    let path = PathBuf::from(format!("scenarios/{name}.toml"));
    let error = match Scenario::parse(&path, text) {
        Ok(_) => return None,
        Err(error) => error,
    };
    let display = error.to_string();
    let Error::Scenario { line, column, field, message, .. } = error else {
        panic!("parsing text gave a non-scenario error: {display}");
    };
    let n_lines = text.split('\n').count();
    assert!((1..=n_lines).contains(&line) && column >= 1, "{display}: line {line} of {n_lines}, column {column}");
    // No check that `field` is non-empty: for a TOML syntax error it is recovered from the line's text, and a
    // line with an empty key (`= 1`) gives an empty one. The line and column still place the error.
    assert!(message.chars().next().is_some_and(|c| !c.is_uppercase()), "{display}: message not lowercase-first");
    assert!(!message.trim().is_empty(), "{display}: empty message");
    let prefix = format!("{}:{line}:{column}: {field}: ", path.display());
    assert!(display.starts_with(&prefix), "`{display}` does not start with `{prefix}`");
    Some((line, field))
}

/// Values at the edges of what the scenario expects, and values of the types no key has.
const EDGE_VALUES: &[&str] = &[
    "\"\"",
    "\"0s\"",
    "\"1ms\"",
    "\"999999999h\"",
    "\"1e3s\"",
    "\"..\"",
    "\"1s..\"",
    "\"3s..1s\"",
    "\"p95 <\"",
    "\"p0 < 1s\"",
    "\"error_rate < -1%\"",
    "\"throughput > nan/s\"",
    "\"p99.99999 <= 0s\"",
    "\"open\"",
    "\"closed\"",
    "\"text\"",
    "\"command\"",
    "\"menu\"",
    "\"delay\"",
    "\"error\"",
    "\"ask\"",
    "0",
    "-1",
    "1",
    "429",
    "100001",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "99999999999999999999999",
    "1e-300",
    "5e-324",
    "1e300",
    "1e400",
    "-0.0",
    "nan",
    "inf",
    "-inf",
    "0.5",
    "true",
    "[]",
    "[1, \"a\", [2]]",
    "{}",
    "{ a = 1, b = { c = \"d\" } }",
    "[[1]]",
    "1979-05-27T07:32:00Z",
];

/// Text for the right-hand side of `key = ...`: values of every TOML type, valid and not, and the edge values
/// of the ones the scenario expects (durations, counts, rates).
fn value() -> impl Strategy<Value = String> {
    let quoted = |s: String| serde_json::to_string(&s).unwrap();
    prop_oneof![
        ".{0,12}".prop_map(quoted),
        "[0-9.]{1,6}(h|m|s|ms|us|µs|d|)([0-9]{1,3}(s|ms))?(\\.\\.[0-9.]{1,6}(s|ms|h))?".prop_map(quoted),
        prop::sample::select(EDGE_VALUES).prop_map(str::to_owned),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|x| format!("{x:?}")),
        "[^\n]{0,12}",
    ]
}

/// Lines that open tables, for moving keys to where they do not belong.
const HEADERS: &[&str] = &[
    "[load]",
    "[pacing]",
    "[chats]",
    "[[actions]]",
    "[[load.steps]]",
    "[slo]",
    "[bot]",
    "[bot.env]",
    "[external_api]",
    "[[external_api.faults]]",
    "[[bot_api.faults]]",
    "[bot_api]",
    "[load",
    "[]",
    "[[actions]",
];

#[derive(Debug, Clone)]
enum Mutation {
    DropLine(prop::sample::Index),
    DuplicateLine(prop::sample::Index),
    /// Replaces the value of the chosen `key = value` line.
    ReplaceValue(prop::sample::Index, String),
    /// Inserts `key = value` at the chosen line, the key one the scenario format does not know, or one it
    /// knows in a table that does not have it.
    InsertKey(prop::sample::Index, String, String),
    InsertHeader(prop::sample::Index, &'static str),
    Truncate(prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let key = prop_oneof![
        "[a-z_]{1,10}",
        prop::sample::select(&["users", "kind", "weight", "start", "rules", "mode", "seed", "\"\"", "a.b"][..])
            .prop_map(str::to_owned),
    ];
    let header = prop::sample::select(HEADERS);
    prop_oneof![
        1 => any::<prop::sample::Index>().prop_map(Mutation::DropLine),
        1 => any::<prop::sample::Index>().prop_map(Mutation::DuplicateLine),
        4 => (any::<prop::sample::Index>(), value()).prop_map(|(i, v)| Mutation::ReplaceValue(i, v)),
        1 => (any::<prop::sample::Index>(), key, value()).prop_map(|(i, k, v)| Mutation::InsertKey(i, k, v)),
        1 => (any::<prop::sample::Index>(), header).prop_map(|(i, h)| Mutation::InsertHeader(i, h)),
        1 => any::<prop::sample::Index>().prop_map(Mutation::Truncate),
    ]
}

/// Applies `mutation` to `text`.
fn apply(text: &str, mutation: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if lines.is_empty() {
        // An earlier truncation left nothing to drop or copy; a new line still goes in.
        lines.push(String::new());
    }
    match mutation {
        Mutation::DropLine(i) => {
            lines.remove(i.index(lines.len()));
        }
        Mutation::DuplicateLine(i) => {
            let i = i.index(lines.len());
            lines.insert(i, lines[i].clone());
        }
        Mutation::ReplaceValue(i, value) => return with_value(text, i.index(n_assignments(text).max(1)), value),
        Mutation::InsertKey(i, key, value) => lines.insert(i.index(lines.len() + 1), format!("{key} = {value}")),
        Mutation::InsertHeader(i, header) => lines.insert(i.index(lines.len() + 1), (*header).to_owned()),
        Mutation::Truncate(i) => {
            let mut end = i.index(text.len() + 1);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            return text[..end].to_owned();
        }
    }
    lines.join("\n")
}

/// `text` with the value of its `n`th one-line assignment replaced by `value`.
fn with_value(text: &str, n: usize, value: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if let Some(line) = lines.iter_mut().filter(|line| assignment(line).is_some()).nth(n) {
        let key = assignment(line).unwrap().to_owned();
        *line = format!("{key} = {value}");
    }
    lines.join("\n")
}

fn n_assignments(text: &str) -> usize {
    text.lines().filter(|line| assignment(line).is_some()).count()
}

/// The key of a one-line `key = value` line: not a comment, a header, a line inside a multi-line array, or the
/// first line of one (replacing that value would leave the array's other lines stranded).
fn assignment(line: &str) -> Option<&str> {
    let (key, value) = line.split_once('=')?;
    let key = key.trim();
    let value = value.trim();
    let bare = |c: char| c.is_ascii_alphanumeric() || "_-.\"".contains(c);
    let opens = |open: char, close: char| value.starts_with(open) && !value.ends_with(close);
    (!key.is_empty() && key.chars().all(bare) && !opens('[', ']') && !opens('{', '}')).then_some(key)
}

/// Every edge value on every one-line assignment of every shipped scenario, one at a time: a few thousand parses,
/// so none is left to chance (a random case seldom lands a tiny `hatch_rate`, which once overflowed the ramp).
#[test]
fn every_edge_value_in_every_place_gives_a_scenario_or_a_located_error() {
    for (name, text) in shipped() {
        for n in 0..n_assignments(text) {
            for value in EDGE_VALUES {
                check(name, &with_value(text, n, value));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_gives_a_scenario_or_a_located_error(text in "(?s).{0,200}") {
        check("fuzz", &text);
    }

    #[test]
    fn arbitrary_bytes_give_a_scenario_or_a_located_error(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check("fuzz", &String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_scenarios_give_a_scenario_or_a_located_error(
        file in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let (name, text) = file.get(shipped());
        let mutated = mutations.iter().fold(text.clone(), |text, m| apply(&text, m));
        check(name, &mutated);
    }

    /// A value of a type no key of the format has, in place of a valid one: refused, at that line, naming the
    /// key. The file was valid before, so this is the only error it can have.
    #[test]
    fn a_value_of_the_wrong_type_is_refused_at_its_line_and_key(
        file in any::<prop::sample::Index>(),
        line in any::<prop::sample::Index>(),
        value in prop::sample::select(&["true", "1979-05-27T07:32:00Z", "{ a = 1 }", "[[1]]"][..]),
    ) {
        let (name, text) = file.get(shipped());
        let mutated = apply(text, &Mutation::ReplaceValue(line, value.to_owned()));
        let changed = mutated.lines().zip(text.lines()).position(|(a, b)| a != b).unwrap();
        let key = assignment(mutated.lines().nth(changed).unwrap()).unwrap();
        let located = check(name, &mutated);
        prop_assert!(
            located.as_ref().is_some_and(|(at, field)| *at == changed + 1 && field.ends_with(key)),
            "{name}: line {} now `{}`, got {located:?}",
            changed + 1,
            mutated.lines().nth(changed).unwrap()
        );
    }
}

//! Parsing `timeseries.csv`, `events.jsonl` and `latency.hlog`: what is read, and which line an error names.

use charts::events::Event;
use charts::hlog::Latency;
use charts::series::{Row, Timeseries};
use charts::Error;

use crate::fixtures::{self, Interval, HEADER, SMALL_CSV, SMALL_EVENTS};

/// What a parse should give: the number of items, or the failing line and a fragment of its reason.
enum Expect<'a> {
    Items(usize),
    Fails(usize, &'a str),
}

fn check<T>(parsed: Result<Vec<T>, Error>, expected: Expect<'_>) -> Vec<T> {
    match (parsed, expected) {
        (Ok(items), Expect::Items(n)) => {
            assert_eq!(items.len(), n);
            items
        }
        (Err(Error::Malformed { line, reason, .. }), Expect::Fails(at, fragment)) => {
            assert_eq!(line, at, "{reason}");
            assert!(reason.contains(fragment), "`{reason}` does not contain `{fragment}`");
            Vec::new()
        }
        (Ok(items), Expect::Fails(..)) => panic!("expected an error, parsed {} items", items.len()),
        (Err(e), _) => panic!("unexpected error `{e}`"),
    }
}

fn rows(text: &str) -> Result<Vec<Row>, Error> {
    Timeseries::from_csv(text).map(|ts| ts.rows)
}

#[test]
fn timeseries_rows() {
    let parsed = check(rows(SMALL_CSV), Expect::Items(4));
    let third = Row {
        t_s: 3.0,
        phase: "hold".to_string(),
        active_users: 20,
        sent: 10,
        answered: 0,
        errors: 2,
        p50_ms: None,
        p95_ms: None,
        p99_ms: None,
        bot_rss_mb: Some(52.0),
        bot_cpu_pct: None,
        errors_by: None,
    };
    assert_eq!(parsed[2], third);
    assert_eq!(parsed[0].p95_ms, Some(20.5));
    assert_eq!(parsed[0].bot_rss_mb, Some(50.125));
    check(rows(&SMALL_CSV.replace('\n', "\r\n")), Expect::Items(4));
}

#[test]
fn timeseries_with_error_categories() {
    let header = charts::series::HEADER;
    let text = format!("{header}\n1,hold,5,10,8,3,1,2,3,40,50,1,2,0,0,0,4\n");
    let parsed = Timeseries::from_csv(&text).unwrap().rows;
    let kinds = charts::series::ErrorKinds { timeout: 1, bot_api_error: 2, wrong_answer: 4, ..Default::default() };
    assert_eq!(parsed[0].errors_by, Some(kinds));
    check(
        rows(&format!("{header}\n1,hold,5,10,8,3,1,2,3,40,50,1,x,0,0,0,0\n")),
        Expect::Fails(2, "`bot_api_error` is not a count"),
    );
    check(rows(&format!("{header}\n1,hold,5,10,8,3,1,2,3,40,50\n")), Expect::Fails(2, "expected 17 fields, found 11"));
    // A run written before answers were checked has no wrong_answer column: it reads as 0.
    let before = format!("{}\n1,hold,5,10,8,3,1,2,3,40,50,1,2,0,0,0\n", charts::series::HEADER_V2);
    let parsed = Timeseries::from_csv(&before).unwrap().rows;
    let kinds = charts::series::ErrorKinds { timeout: 1, bot_api_error: 2, ..Default::default() };
    assert_eq!(parsed[0].errors_by, Some(kinds));
}

#[test]
fn timeseries_without_rows() {
    check(rows(""), Expect::Items(0));
    check(rows(&format!("{HEADER}\n")), Expect::Items(0));
    // A header torn by a crash before its first newline is an empty file, not a wrong header.
    check(rows("t_s,phase,act"), Expect::Items(0));
}

#[test]
fn timeseries_errors_name_the_line() {
    check(rows("t_s,phase,users\n1,ramp,1\n"), Expect::Fails(1, "expected the header"));
    let short = format!("{HEADER}\n1,ramp,1,1,1,0,1,1,1,1,1\n2,ramp,1,1,1,0,1,1,1,1\n");
    check(rows(&short), Expect::Fails(3, "expected 11 fields, found 10"));
    let bad_count = format!("{HEADER}\n1,ramp,1,x,1,0,1,1,1,1,1\n");
    check(rows(&bad_count), Expect::Fails(2, "`sent` is not a count: `x`"));
    let bad_number = format!("{HEADER}\n1,ramp,1,1,1,0,1,fast,1,1,1\n");
    check(rows(&bad_number), Expect::Fails(2, "`p95_ms` is not a number"));
}

#[test]
fn timeseries_torn_last_line() {
    // The last line has no newline: dropped when it does not parse, kept when it does.
    check(rows(&format!("{SMALL_CSV}5,hold,20,1")), Expect::Items(4));
    check(rows(&format!("{SMALL_CSV}5,hold,20,1,1,0,1,1,1,1,1")), Expect::Items(5));
    // A bad line followed by more lines is an error, torn tail or not.
    let bad_middle = format!("{HEADER}\n1,ramp,1\n2,ramp,1,1,1,0,1,1,1,1,1");
    check(rows(&bad_middle), Expect::Fails(2, "expected 11 fields"));
}

#[test]
fn timeseries_phase_starts() {
    let ts = Timeseries::from_csv(SMALL_CSV).unwrap();
    let expected = vec![(0.0, "ramp".to_string()), (2.0, "hold".to_string())];
    assert_eq!(ts.phase_starts(), expected);
}

#[test]
fn events_and_labels() {
    let events = check(Event::from_jsonl(SMALL_EVENTS), Expect::Items(3));
    let labels: Vec<(f64, &str, &str)> = events.iter().map(|e| (e.t_s, e.kind.as_str(), e.label.as_str())).collect();
    let expected = vec![
        (0.0, "bot_started", "bot started"),
        (2.5, "fault", "fault: stall"),
        (3.0, "slo_breach", "slo breach: p95 < 200ms"),
    ];
    assert_eq!(labels, expected);
    let phase = check(Event::from_jsonl(r#"{"t_s":30,"kind":"phase","phase":"hold"}"#), Expect::Items(1));
    assert_eq!(phase[0].label, "hold");
    let long = r#"{"t_s":1,"kind":"error","name":"a very long description of what went wrong"}"#;
    let long = check(Event::from_jsonl(long), Expect::Items(1));
    assert_eq!(long[0].label, "error: a very long descri...");
}

#[test]
fn events_errors_name_the_line() {
    let no_time = format!("{SMALL_EVENTS}{{\"kind\":\"fault\"}}\n");
    check(Event::from_jsonl(&no_time), Expect::Fails(5, "`t_s`"));
    let no_kind = "{\"t_s\": 1.0}\n";
    check(Event::from_jsonl(no_kind), Expect::Fails(1, "`kind`"));
    let not_json = "{\"t_s\": 1.0, \"kind\": \"phase\"}\nnot json\n{\"t_s\": 2.0, \"kind\": \"phase\"}\n";
    check(Event::from_jsonl(not_json), Expect::Fails(2, "expected"));
    let torn = format!("{SMALL_EVENTS}{{\"t_s\": 4.0, \"ki");
    check(Event::from_jsonl(&torn), Expect::Items(3));
}

/// The merged e2e and service histograms' sample counts and their p50, p99 and max in ms.
fn summary(latency: &Latency) -> [Option<(u64, [u64; 3])>; 2] {
    [&latency.e2e, &latency.service].map(|h| {
        h.as_ref().map(|h| {
            let ms = |q: f64| h.value_at_quantile(q) / 1000;
            (h.len(), [ms(0.5), ms(0.99), h.max() / 1000])
        })
    })
}

#[test]
fn hlog_merges_intervals_per_tag() {
    let expected = [Some((1000, [500, 990, 1000])), Some((100, [5, 5, 5]))];
    for compressed in [true, false] {
        let text = String::from_utf8(fixtures::small_hlog(compressed)).unwrap();
        let latency = Latency::from_hlog(&text).unwrap();
        assert_eq!(summary(&latency), expected, "compressed: {compressed}");
    }
    assert_eq!(summary(&Latency::from_hlog("").unwrap()), [None, None]);
}

/// The outcome of parsing a log, as a one-item list for `check`.
fn latency(text: &str) -> Result<Vec<Latency>, Error> {
    Latency::from_hlog(text).map(|latency| vec![latency])
}

#[test]
fn hlog_errors_name_the_line() {
    let text = String::from_utf8(fixtures::small_hlog(true)).unwrap();
    check(latency(&text), Expect::Items(1));
    let first_interval = text.lines().position(|l| l.starts_with("Tag=e2e")).unwrap() + 1;
    let with_garbage = text.replacen("Tag=e2e", "garbage\nTag=e2e", 1);
    check(latency(&with_garbage), Expect::Fails(first_interval, "not an interval log line"));
    let appended_line = text.lines().count() + 1;
    let bad_base64 = format!("{text}Tag=e2e,10.000,1.000,1.000,%%%%\n");
    check(latency(&bad_base64), Expect::Fails(appended_line, "not base64"));
    let not_a_histogram = format!("{text}Tag=e2e,10.000,1.000,1.000,AAAA\n");
    check(latency(&not_a_histogram), Expect::Fails(appended_line, "does not decode"));
}

#[test]
fn hlog_torn_last_line() {
    let one = |second, ms: u64| Interval { second, tag: "e2e", micros: vec![ms * 1000] };
    let text = String::from_utf8(fixtures::hlog(&[one(0, 10), one(1, 20), one(2, 30)], true)).unwrap();
    let torn = &text[..text.len() - 10];
    let latency = Latency::from_hlog(torn).unwrap();
    assert_eq!(summary(&latency)[0].map(|(n, _)| n), Some(2));
}

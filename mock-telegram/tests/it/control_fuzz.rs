//! Property tests of the control API: whatever the route, method, path segments, content type and body, it answers
//! without a panic and without a 5xx, and every refusal is the control API's JSON error, naming what was wrong. Bodies are mostly the routes'
//! own shapes with some fields wrong, so that they get past deserialization into the handlers; the rest is
//! arbitrary. The mock has a chat with a user message and a button message in it, so callbacks and edits find one.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use tower::ServiceExt;

use crate::support::TOKEN;

/// The private chat the setup writes to: message 1 is the user's, message 2 the bot's, with a button `b`.
const CHAT: i64 = 1001;
/// The group the setup creates (the mock's first group id), with users `CHAT` and 1002.
const GROUP: i64 = -1_000_000_001;
/// Longest a generated action may wait for an answer. No bot answers here, so every wait runs out.
const MAX_WAIT_MS: u64 = 50;
/// The control API's field names but `wait_ms`, which in an arbitrary object could make a request wait minutes.
const KEYS: &str = "token username type user id first_name title members chat_id from action kind text command args \
                    message_id data due_us windows methods start_us duration_ms effect error_code description \
                    retry_after delay_ms";

/// Any JSON value, nested a few levels, with the numbers and strings that trip up number parsing.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
        prop::sample::select(&["NaN", "-Infinity", "1e999", "-0", "18446744073709551616", "0x10", ""][..])
            .prop_map(Value::from),
    ];
    let key = prop_oneof![
        prop::sample::select(KEYS.split_whitespace().collect::<Vec<_>>()).prop_map(str::to_owned),
        "[a-z_]{0,8}"
    ];
    leaf.prop_recursive(3, 24, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..4)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// An integer at the edges (zero, negative, the extremes, past i64) or an ordinary one.
fn int() -> impl Strategy<Value = Value> {
    prop_oneof![
        2 => prop::sample::select(&[0, 1, -1, i64::MIN, i64::MAX][..]).prop_map(Value::from),
        1 => Just(Value::from(u64::MAX)),
        3 => (0..2000_i64).prop_map(Value::from),
        2 => any::<i64>().prop_map(Value::from),
    ]
}

fn text() -> impl Strategy<Value = Value> {
    prop_oneof![".{0,30}".prop_map(Value::from), Just(Value::from("/start")), Just(Value::from(""))]
}

/// Mostly the `valid` kind of value, sometimes anything, sometimes left out.
fn field(valid: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Option<Value>> {
    prop_oneof![12 => valid.prop_map(Some), 1 => any_json().prop_map(Some), 1 => Just(None)].boxed()
}

/// A field that must have this value to select a variant (`kind`, `type`), but sometimes has another.
fn tag(value: &'static str) -> BoxedStrategy<Option<Value>> {
    field(Just(Value::from(value)))
}

/// An object of these fields, the absent ones left out, sometimes with a key its route does not know.
fn object(fields: Vec<(&'static str, BoxedStrategy<Option<Value>>)>) -> BoxedStrategy<Value> {
    let (names, values): (Vec<_>, Vec<_>) = fields.into_iter().unzip();
    let extra =
        prop::option::weighted(0.05, (prop::sample::select(KEYS.split_whitespace().collect::<Vec<_>>()), any_json()));
    (values, extra)
        .prop_map(move |(values, extra)| {
            let mut object: Map<String, Value> =
                names.iter().zip(values).filter_map(|(name, value)| Some(((*name).to_owned(), value?))).collect();
            object.extend(extra.map(|(key, value)| (key.to_owned(), value)));
            Value::Object(object)
        })
        .boxed()
}

fn register() -> impl Strategy<Value = Value> {
    let token = prop_oneof![Just(TOKEN.to_owned()), "[0-9]{1,20}:[A-Za-z0-9_-]{1,36}", ".{0,30}"];
    object(vec![("token", field(token.prop_map(Value::from))), ("username", field(text()))])
}

fn user() -> BoxedStrategy<Value> {
    let id = prop_oneof![prop::sample::select(&[CHAT, 1002, 1003][..]).prop_map(Value::from), int()];
    object(vec![("id", field(id)), ("first_name", field(text())), ("username", field(text()))])
}

fn chat() -> impl Strategy<Value = Value> {
    let members = prop::collection::vec(user(), 0..4).prop_map(Value::Array);
    prop_oneof![
        object(vec![("type", tag("private")), ("user", field(user()))]),
        object(vec![("type", tag("group")), ("title", field(text())), ("members", field(members))]),
    ]
}

fn action() -> impl Strategy<Value = Value> {
    let message_id = || field(prop_oneof![3 => prop::sample::select(&[1, 2, 3][..]).prop_map(Value::from), 1 => int()]);
    let kind = prop_oneof![
        object(vec![("kind", tag("text")), ("text", field(text()))]),
        object(vec![("kind", tag("command")), ("command", field(text())), ("args", field(text()))]),
        object(vec![("kind", tag("callback")), ("message_id", message_id()), ("data", field(Just(json!("b"))))]),
        object(vec![("kind", tag("edit")), ("message_id", message_id()), ("text", field(text()))]),
    ];
    let chat_id = prop_oneof![3 => prop::sample::select(&[CHAT, GROUP, 1002][..]).prop_map(Value::from), 1 => int()];
    let from = prop_oneof![3 => prop::sample::select(&[CHAT, 1002][..]).prop_map(Value::from), 1 => int()];
    let due_us = prop_oneof![any::<u64>().prop_map(Value::from), Just(Value::from(0))];
    // A wait is capped here, and anything else in its place is not an integer, so no request waits long.
    let wait_ms = prop_oneof![
        3 => (0..=MAX_WAIT_MS).prop_map(|ms| Some(Value::from(ms))),
        1 => prop::sample::select(vec![json!(-1), json!(1.5), json!("10"), json!(null), json!([]), json!(1e300)])
            .prop_map(Some),
        3 => Just(None),
    ];
    object(vec![
        ("chat_id", field(chat_id)),
        ("from", field(from)),
        ("action", field(kind)),
        ("due_us", field(due_us)),
        ("wait_ms", wait_ms.boxed()),
    ])
}

fn faults() -> impl Strategy<Value = Value> {
    let method =
        prop_oneof![prop::sample::select(&["sendMessage", "getUpdates", ""][..]).prop_map(Value::from), text()];
    let methods = prop::collection::vec(method, 0..3).prop_map(Value::Array);
    let code = prop::sample::select(&[400, 429, 502, 599, 399, 600, 0, 65535, 65536][..]).prop_map(Value::from);
    let delay_ms = prop::sample::select(&[0, 1, 120_000, 120_001][..]).prop_map(Value::from);
    let effect = prop_oneof![
        object(vec![
            ("kind", tag("error")),
            ("error_code", field(prop_oneof![code, int()])),
            ("description", field(text())),
            ("retry_after", field(int())),
        ]),
        object(vec![("kind", tag("delay")), ("delay_ms", field(prop_oneof![delay_ms, int()]))]),
    ];
    let window = object(vec![
        ("methods", field(methods)),
        ("start_us", field(int())),
        ("duration_ms", field(int())),
        ("effect", field(effect)),
    ]);
    object(vec![("windows", field(prop::collection::vec(window, 0..4).prop_map(Value::Array)))])
}

/// A path segment: the bot's token, another well-formed one, or odd characters (percent-encoded or raw).
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => Just(TOKEN.to_owned()),
        1 => Just("42:unknown".to_owned()),
        1 => prop::sample::select(&["%FF", "%00", "..", "a%2Fb", "%E2%82", ";", "~", "%20", ":", "123:%C3%A9"][..])
            .prop_map(str::to_owned),
        1 => ".{0,12}".prop_map(|s| utf8_percent_encode(&s, NON_ALPHANUMERIC).to_string()),
    ]
}

fn chat_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(&[CHAT, GROUP, 1002, 0, i64::MIN, i64::MAX][..]).prop_map(|id| id.to_string()),
        prop::sample::select(&["abc", "1e3", "-0", "99999999999999999999", "%20", "1.0", ""][..])
            .prop_map(str::to_owned),
    ]
}

fn query() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        prop::sample::select(&["0", "1", "-1", "abc", "", "18446744073709551616", "1.5"][..])
            .prop_map(|n| format!("?limit={n}")),
        ".{0,12}".prop_map(|s| format!("?{}", utf8_percent_encode(&s, NON_ALPHANUMERIC))),
    ]
}

/// One request: its method, the methods its path allows (none for a path no control route has), its URI and body.
#[derive(Debug, Clone)]
struct Case {
    verb: &'static str,
    allowed: &'static [&'static str],
    uri: String,
    body: Vec<u8>,
}

/// A request to one of the routes, mostly with the route's method and a body of its shape (`shaped`).
fn case(allowed: &'static [&'static str], uri: String, shaped: Value) -> impl Strategy<Value = Case> {
    let any_verb = prop::sample::select(&["GET", "POST", "PUT", "DELETE", "PATCH"][..]);
    let verb = prop_oneof![8 => Just(allowed.first().copied().unwrap_or("GET")), 1 => any_verb];
    (verb, body(shaped)).prop_map(move |(verb, body)| Case { verb, allowed, uri: uri.clone(), body })
}

fn route() -> impl Strategy<Value = Case> {
    const GET: &[&str] = &["GET"];
    const POST: &[&str] = &["POST"];
    const GET_FAULTS: &[&str] = &["GET", "PUT"];
    const SET_FAULTS: &[&str] = &["PUT", "GET"];
    let bot = |suffix: &'static str, allowed| {
        token().prop_flat_map(move |t| case(allowed, format!("/control/bots/{t}{suffix}"), Value::Null))
    };
    let bot_with = |suffix: &'static str, allowed, body: BoxedStrategy<Value>| {
        (token(), body).prop_flat_map(move |(t, b)| case(allowed, format!("/control/bots/{t}{suffix}"), b))
    };
    let messages = (token(), chat_segment(), query())
        .prop_flat_map(|(t, c, q)| case(GET, format!("/control/bots/{t}/chats/{c}/messages{q}"), Value::Null));
    prop_oneof![
        1 => case(GET, "/control/health".to_owned(), Value::Null),
        1 => case(GET, "/metrics".to_owned(), Value::Null),
        1 => register().prop_flat_map(|b| case(POST, "/control/bots".to_owned(), b)),
        1 => bot("", GET),
        1 => bot("/stats", GET),
        1 => bot("/faults", GET_FAULTS),
        2 => bot_with("/chats", POST, chat().boxed()),
        6 => bot_with("/actions", POST, action().boxed()),
        3 => bot_with("/faults", SET_FAULTS, faults().boxed()),
        1 => messages,
        1 => "[a-z/]{0,12}".prop_flat_map(|p| case(&[], format!("/control/{p}"), Value::Null)),
    ]
}

/// The body as sent: the route's shape, any JSON value, JSON text that does not parse as a value, or bytes.
fn body(shaped: Value) -> impl Strategy<Value = Vec<u8>> {
    let raw = &[
        "",
        "{",
        "{\"chat_id\": 1e400}",
        "{\"chat_id\": 1.0}",
        "{\"windows\": [{}]}",
        "[]",
        "\"\"",
        "null",
        "\u{feff}{}",
        "{\"chat_id\": 1001, \"action\": {\"kind\": \"text\", \"text\": \"a\"}, \"chat_id\": 1002}",
    ][..];
    prop_oneof![
        20 => Just(shaped.to_string().into_bytes()),
        1 => any_json().prop_map(|v| v.to_string().into_bytes()),
        1 => prop::sample::select(raw).prop_map(|s| s.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..200),
    ]
}

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    let types = &[
        "application/json",
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=B",
        "application/json; charset=utf-16",
        "",
    ][..];
    prop::option::weighted(0.8, prop::sample::select(types))
}

/// A fresh mock with one bot, and in chat `CHAT` a user message (1) and a bot message with a button `b` (2).
async fn setup() -> axum::Router {
    let server = mock_telegram::Server::new(mock_telegram::Config::default()).unwrap();
    server.add_bot(TOKEN, None).unwrap();
    let app = mock_telegram::app(server);
    let keyboard = json!({"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]});
    let steps = [
        ("/control/bots/{TOKEN}/actions", json!({"chat_id": CHAT, "action": {"kind": "text", "text": "hi"}})),
        ("/bot{TOKEN}/sendMessage", json!({"chat_id": CHAT, "text": "menu", "reply_markup": keyboard})),
        (
            "/control/bots/{TOKEN}/chats",
            json!({"type": "group", "title": "g", "members": [{"id": CHAT}, {"id": 1002}]}),
        ),
    ];
    for (uri, body) in steps {
        let uri = uri.replace("{TOKEN}", TOKEN);
        let request = Request::post(&uri).header("content-type", "application/json").body(Body::from(body.to_string()));
        let response = app.clone().oneshot(request.unwrap()).await.unwrap();
        assert!(response.status().is_success(), "setup {uri}: {}", response.status());
    }
    app
}

/// Sends `case` with `bytes` and checks the answer: no 5xx, and a refusal in one of the shapes below.
async fn check(case: Case, content_type: Option<&str>) {
    let app = setup().await;
    let mut request = Request::builder().method(case.verb).uri(&case.uri);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let sent = String::from_utf8_lossy(&case.body).into_owned();
    let request = request.body(Body::from(case.body.clone())).unwrap();
    // Waits are capped at `MAX_WAIT_MS`: a request still running after a second is stuck.
    let response = tokio::time::timeout(Duration::from_secs(1), app.oneshot(request))
        .await
        .unwrap_or_else(|_| panic!("{case:?}: no answer within 1 s"))
        .unwrap();
    let status = response.status();
    let json_type = response.headers().get(header::CONTENT_TYPE).is_some_and(|t| t == "application/json");
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let got = String::from_utf8_lossy(&body);
    let what = format!("{} {} {sent:?}: {status} {got}", case.verb, case.uri);
    assert!(status.as_u16() < 500, "{what}");
    if status.is_success() {
        assert!(case.uri == "/metrics" || serde_json::from_slice::<Value>(&body).is_ok(), "{what}");
        return;
    }
    // Every refusal is the control API's own: JSON `{"error": "..."}`, lowercase, naming what was wrong.
    let json: Value = serde_json::from_slice(&body).unwrap_or_default();
    let error = json.get("error").and_then(Value::as_str).unwrap_or_default();
    assert!(json_type && error.chars().next().is_some_and(|c| !c.is_uppercase()), "{what}");
    if status == StatusCode::METHOD_NOT_ALLOWED {
        assert!(!case.allowed.contains(&case.verb) && error.contains("does not take"), "{what}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_control_request_gets_a_server_error_or_an_unexplained_refusal(
        case in route(),
        content_type in content_type(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(check(case, content_type));
    }
}

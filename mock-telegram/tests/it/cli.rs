//! The `mock-telegram` binary: flags, the `listening on` line, and serving the tokens it was given.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn the_binary_prints_its_address_first_and_serves_its_tokens() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_mock-telegram"))
        .args(["--bind", "127.0.0.1:0", "--token", "1:A", "--token", "2:B"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().unwrap();
    let url = first.strip_prefix("listening on ").unwrap_or_else(|| panic!("first line was {first:?}"));
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    for (token, id) in [("1:A", 1), ("2:B", 2)] {
        let me: serde_json::Value =
            reqwest::get(format!("{url}/bot{token}/getMe")).await.unwrap().json().await.unwrap();
        assert_eq!(me["result"]["id"], id);
    }
}

#[tokio::test]
async fn a_malformed_token_is_a_clear_error() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_mock-telegram"))
        .args(["--token", "not-a-token"])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("malformed bot token \"not-a-token\""), "{stderr}");
}

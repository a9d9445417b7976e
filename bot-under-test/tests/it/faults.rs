//! Each fault switch does exactly what it says, seen from the mock's side as the harness would see it.

use std::num::NonZeroU64;
use std::time::Duration;

use bot_under_test::{FaultConfig, Stop};
use serde_json::json;

use crate::support::{answer_text, handling, Rig, Setup, NO_ANSWER_WAIT_MS};

fn with(faults: FaultConfig) -> Setup {
    Setup { faults, ..Setup::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_adds_at_least_its_duration_to_every_answer() -> anyhow::Result<()> {
    let delay = Duration::from_millis(150);
    let rig = Rig::start(with(FaultConfig { delay, ..FaultConfig::default() })).await?;
    for text in ["a", "/start", "/quote"] {
        let response = rig.control.answered(3001, text).await?;
        assert!(handling(&response) >= delay, "{text:?} handled in {:?}: {response}", handling(&response));
    }
    rig.stop().await?;
    Ok(())
}

/// On a single-threaded bot runtime, a blocking sleep serializes everything: with two users acting at once,
/// the last answer comes at least two blocks after the first delivery, however the updates were batched.
#[tokio::test(flavor = "current_thread")]
async fn block_stalls_the_runtime_thread() -> anyhow::Result<()> {
    let block = Duration::from_millis(200);
    let rig = Rig::start(with(FaultConfig { block, ..FaultConfig::default() })).await?;
    let (first, second) = tokio::join!(rig.control.answered(3002, "one"), rig.control.answered(3003, "two"));
    let (first, second) = (first?, second?);
    for response in [&first, &second] {
        assert!(handling(response) >= block, "handled in {:?}: {response}", handling(response));
    }
    let timing = |r: &serde_json::Value, name: &str| r["timings_us"][name].as_u64().expect("timing");
    let first_delivered = timing(&first, "delivered").min(timing(&second, "delivered"));
    let last_answered = timing(&first, "answered").max(timing(&second, "answered"));
    let span = Duration::from_micros(last_answered - first_delivered);
    assert!(span >= 2 * block, "both answered within {span:?}: the blocks overlapped");
    rig.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_every_drops_exactly_every_nth_update() -> anyhow::Result<()> {
    let faults = FaultConfig { fail_every: NonZeroU64::new(3), ..FaultConfig::default() };
    let rig = Rig::start(with(faults)).await?;
    let mut outcomes = Vec::new();
    for n in 1..=7 {
        let wait_ms = if n % 3 == 0 { NO_ANSWER_WAIT_MS } else { crate::support::ANSWER_WAIT_MS };
        let response = rig.control.act(3004, json!({"kind": "text", "text": format!("message {n}")}), wait_ms).await?;
        if response["outcome"] == "answered" {
            assert_eq!(answer_text(&response), format!("message {n}"), "answered with another message's echo");
        }
        outcomes.push(response["outcome"].as_str().unwrap_or_default().to_owned());
    }
    let expected = ["answered", "answered", "timeout", "answered", "answered", "timeout", "answered"];
    assert_eq!(outcomes, expected);
    let stats = rig.control.get("/stats").await?;
    assert_eq!((stats["actions"]["answered"].as_u64(), stats["unprompted"].as_u64()), (Some(5), Some(0)), "{stats}");
    let report = rig.stop().await?;
    assert_eq!((report.updates, report.dropped), (7, 2));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_after_answers_n_updates_then_stops() -> anyhow::Result<()> {
    let faults = FaultConfig { exit_after: NonZeroU64::new(2), ..FaultConfig::default() };
    let mut rig = Rig::start(with(faults)).await?;
    rig.control.answered(3005, "one").await?;
    rig.control.answered(3005, "two").await?;
    let report = rig.join().await?;
    assert_eq!(report.stop, Stop::ExitAfter);
    assert_eq!(report.updates, 2);
    let after = rig.control.act(3005, json!({"kind": "text", "text": "three"}), NO_ANSWER_WAIT_MS).await?;
    assert_eq!(after["outcome"], "timeout", "{after}");
    Ok(())
}

//! Repeats, `tgload ab` and `tgload compare` on real runs of the bundled bot, both ways round: the same bot on both
//! sides of an A/B session is not judged worse, and the bot given 25 % of its p95 more work per answer is. Each run
//! is 100 text actions a second for 1.5 s of ramp and 6 s of hold; the bot does 10 ms of work per answer.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::*;

const SCENARIO: &str = r#"
name = "ab"
seed = 1
answer_timeout = "5s"

[load]
steps = [{ label = "ramp", users = 100, ramp = "1500ms" }, { label = "hold", users = 100, hold = "6s" }]

[pacing]
mode = "open"
rate_per_s = 100

[[actions]]
kind = "text"
text = "hello there"
"#;

/// The bundled bot doing `ms` of work per answer, as a `--bot-cmd`.
fn bot_with_delay(ms: f64) -> String {
    format!("env TGLOAD_DELAY_MS={ms} {}", tgload_bin().with_file_name("bot-under-test").display())
}

fn p95_row(compare_json: &Path) -> Value {
    let json: Value = serde_json::from_str(&std::fs::read_to_string(compare_json).unwrap()).unwrap();
    json["rows"].as_array().unwrap().iter().find(|r| r["metric"] == "latency_ms.p95").unwrap().clone()
}

#[test]
fn the_same_bot_is_not_worse_and_a_slower_one_is() {
    let Some(_guard) = e2e() else { return };
    let out = out_dir("ab");
    let scenario = scenario(&out, SCENARIO);
    let base = bot_with_delay(10.0);
    let output = Command::new(tgload_bin())
        .arg("ab")
        .arg(&scenario)
        .args(["--base-bot-cmd", &base, "--candidate-bot-cmd", &base, "--repeat", "3", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(matches!(output.status.code(), Some(0 | 98)), "the same bot judged worse: {}", text(&output));
    let aa = p95_row(&out.join("compare/compare.json"));
    assert_ne!(aa["verdict"], "worse", "{aa}");
    for side in ["base", "candidate"] {
        let set = summary(&out.join(side));
        assert_eq!((set["kind"].as_str(), set["repeats"].as_u64()), (Some("repeats"), Some(3)), "{set}");
        assert!(out.join(side).join("r3/latency.hlog").is_file());
    }

    // 25 % of the base's p95 more work per answer, run as a set of its own and compared with the A/B's base side.
    let base_p95 = aa["base"].as_f64().unwrap();
    let slower = out.with_file_name(format!("{}-slower", out.file_name().unwrap().to_string_lossy()));
    let _ = std::fs::remove_dir_all(&slower);
    let slower_bot = bot_with_delay(10.0 + 0.25 * base_p95);
    let output = tgload(&scenario, &slower, &["--repeat", "3", "--bot-cmd", &slower_bot]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let output = Command::new(tgload_bin()).arg("compare").arg(out.join("base")).arg(&slower).output().unwrap();
    assert_eq!(output.status.code(), Some(99), "a bot 25 % slower is not judged worse: {}", text(&output));
    let row = p95_row(&slower.join("compare-base/compare.json"));
    assert_eq!(row["verdict"], "worse", "{row}");
    // The two sets run a minute apart on a shared machine, and the interval (from the repeats within each set) does
    // not hold what drifts between them: p95 has been seen about 1 ms (7 %) above base + 25 %.
    let [low, high] = [row["relative_ci"][0].as_f64().unwrap(), row["relative_ci"][1].as_f64().unwrap()];
    assert!(low > 0.1 && low < 0.3 && high > 0.2, "the interval {low}..{high} should hold about +25 %: {row}");
}

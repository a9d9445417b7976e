//! `tgload capacity` against known truth: the bundled bot on one runtime thread that blocks it for 10 ms per
//! update can answer at most 100 updates a second, and the search must find that, within 10 %.

use std::process::Command;

use super::*;

#[test]
fn capacity_of_a_bot_with_a_known_service_time() {
    let Some(_guard) = e2e() else { return };
    let out = out_dir("capacity");
    let body = "answer_timeout = \"3s\"\n[load]\nusers = 500\nduration = \"10s\"\n\
        [pacing]\nmode = \"open\"\nrate_per_s = 40\n[[actions]]\nkind = \"text\"\ntext = \"hi\"\n\
        [bot]\nenv = { TGLOAD_BLOCK_MS = \"10\", TOKIO_WORKER_THREADS = \"1\" }\n";
    let scenario = scenario(&out, body);
    let output = Command::new(tgload_bin())
        .arg("capacity")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .args(["--probe", "12s", "--precision", "5%"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let s = summary(&out);
    let c = &s["capacity"];
    assert_eq!(c["limited_by"], "bot", "{s}");
    let low = c["max_sustainable_per_s"].as_f64().unwrap();
    let high = c["first_unsustainable_per_s"].as_f64().unwrap();
    assert!((90.0..=110.0).contains(&low), "capacity 100/s, found {low}/s: {s}");
    assert!(high > low && high <= 115.0, "{s}");
    let probes = c["probes"].as_array().unwrap();
    assert!(probes.iter().all(|p| out.join(p["dir"].as_str().unwrap()).join("summary.json").is_file()));
    assert!(out.join("charts/capacity.svg").is_file() && out.join("capacity.md").is_file());
    let closed = scenario_closed(&out);
    let refused = Command::new(tgload_bin()).arg("capacity").arg(&closed).output().unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("open-paced"), "{}", text(&refused));
}

fn scenario_closed(out: &Path) -> PathBuf {
    let path = out.with_extension("closed.toml");
    std::fs::write(&path, "[load]\nusers = 1\nduration = \"2s\"\n[pacing]\nmode = \"closed\"\n[[actions]]\nkind = \"text\"\ntext = \"hi\"\n").unwrap();
    path
}

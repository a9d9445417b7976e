//! `tgload capacity` against known truth: the bundled bot on one runtime thread that blocks it for 20 ms per
//! update can answer at most 50 updates a second, and at least 1 / (20 ms + the bot's own CPU time per update),
//! measured in the highest probe the bot kept up with (about 1.5 ms on the project's slower machine). The search
//! must find a capacity in that range, to its precision.

use std::process::Command;

use super::*;

#[test]
fn capacity_of_a_bot_with_a_known_service_time() {
    let Some(_guard) = e2e() else { return };
    let out = out_dir("capacity");
    let body = "answer_timeout = \"3s\"\n[load]\nusers = 500\nduration = \"10s\"\n\
        [pacing]\nmode = \"open\"\nrate_per_s = 20\n[[actions]]\nkind = \"text\"\ntext = \"hi\"\n\
        [bot]\nenv = { TGLOAD_BLOCK_MS = \"20\", TOKIO_WORKER_THREADS = \"1\" }\n";
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
    let probes = c["probes"].as_array().unwrap();
    // The bot's CPU per update where it is busiest and still keeps up: the highest sustainable probe.
    let busiest = probes
        .iter()
        .filter(|p| p["verdict"] == "sustainable")
        .max_by(|a, b| a["offered_per_s"].as_f64().unwrap().total_cmp(&b["offered_per_s"].as_f64().unwrap()))
        .unwrap();
    let busiest_summary = summary(&out.join(busiest["dir"].as_str().unwrap()));
    let cpu_s_per_update =
        busiest_summary["bot"]["cpu_mean_pct"].as_f64().unwrap() / 100.0 / busiest["offered_per_s"].as_f64().unwrap();
    // The search stops on a bracket of 5 % (the precision asked), and the CPU figure is a mean of per-second
    // samples: 7 % below the floor is still right.
    let (floor, ceiling) = (1.0 / (0.020 + cpu_s_per_update), 1.0 / 0.020);
    assert!(
        (floor * 0.93..=ceiling).contains(&low),
        "capacity between {floor:.1}/s and {ceiling:.1}/s, found {low}/s: {s}"
    );
    assert!(high > low && high <= ceiling * 1.1, "{s}");
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

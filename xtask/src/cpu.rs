//! `cargo xtask bench cpu`: tgload's own CPU per answered action (goose, the mock and the harness in its one
//! process, from the `generator.cpu_pct` it samples of itself in `/proc`) at 10, 1,000 and 3,000 actions/s of the
//! echo benchmark, beside a unit measured in the same session: the CPU a bare axum server spends per JSON request
//! when wrk keeps it busy (issue 13's definition), so that the figure carries over to other machines as a ratio;
//! and the same server's CPU per request one at a time (one connection), which is what each of the bot's two
//! HTTP exchanges per action costs the mock at 1,000 actions/s, a wake-up each: the floor an action stands on.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// The offered rates, and how long the unit's load runs.
pub const RATES: [u32; 3] = [10, 1000, 3000];
const UNIT_SECONDS: u64 = 5;
/// wrk's connections for the unit: enough that the server is never idle, so it reads and answers many requests
/// per wake-up.
pub const UNIT_CONNECTIONS: usize = 64;
/// And for the unit one at a time: one connection, so every request is read after a wake-up of its own and
/// written alone, as the bot's calls come to the mock at 1,000 actions/s.
pub const ALONE_CONNECTIONS: usize = 1;
/// The JSON body every unit request carries, about the size of a control API action.
const BODY: &str =
    r#"{"chat_id":1000001,"from":1000001,"action":{"kind":"text","text":"hello there"},"due_us":1,"wait_ms":10000}"#;

/// CPU microseconds a bare axum server (`xtask axum-unit`, its own process) spends per JSON request it parses and
/// answers while wrk (one thread, `connections` keep-alive connections) posts `BODY` for `UNIT_SECONDS`; and
/// the requests per second. `script` is where wrk's request script is written.
pub fn axum_unit(xtask: &Path, script: &Path, connections: usize) -> Result<(f64, f64)> {
    let wrk = wrk()?;
    let lua =
        format!("wrk.method = \"POST\"\nwrk.body = '{BODY}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n");
    std::fs::write(script, lua).with_context(|| format!("write {}", script.display()))?;
    let mut server =
        Command::new(xtask).arg("axum-unit").stdout(Stdio::piped()).spawn().context("start the axum unit server")?;
    let mut port = String::new();
    BufReader::new(server.stdout.take().context("no stdout")?).read_line(&mut port)?;
    let port: u16 = port.trim().parse().context("the unit server printed no port")?;
    let cpu_before = process_cpu_s(server.id())?;
    let output = Command::new(wrk)
        .args(["-t1", &format!("-c{connections}"), &format!("-d{UNIT_SECONDS}s"), "-s"])
        .arg(script)
        .arg(format!("http://127.0.0.1:{port}/echo"))
        .output()
        .context("run wrk");
    let cpu = process_cpu_s(server.id())? - cpu_before;
    let _ = server.kill();
    let _ = server.wait();
    let text = String::from_utf8_lossy(&output?.stdout).into_owned();
    let requests = wrk_figure(&text, "requests in").context("wrk printed no request count")?;
    let rate = wrk_figure(&text, "Requests/sec:").context("wrk printed no rate")?;
    if requests == 0.0 {
        bail!("the axum unit server answered nothing:\n{text}");
    }
    Ok((cpu * 1e6 / requests, rate))
}

/// wrk on the PATH, installed from Debian's packages if it is missing (as root, which the benchmarks run as).
fn wrk() -> Result<&'static str> {
    let found = || Command::new("wrk").arg("--version").output().is_ok();
    if !found() {
        eprintln!("xtask: installing wrk (apt-get) for the unit");
        let _ = Command::new("apt-get").args(["install", "-y", "wrk"]).status();
    }
    if !found() {
        bail!("the unit needs wrk: `apt-get install wrk`");
    }
    Ok("wrk")
}

/// The number on the line of wrk's report that holds `label`: first on the line ("705366 requests in 5.00s") or
/// after the label ("Requests/sec: 141073.20").
fn wrk_figure(report: &str, label: &str) -> Option<f64> {
    let line = report.lines().find(|line| line.contains(label))?;
    let after = line.split_once(label).map(|(before, after)| if before.trim().is_empty() { after } else { before })?;
    after.split_whitespace().next()?.parse().ok()
}

/// A process's user + system CPU so far, in seconds (`/proc/<pid>/stat`, clock ticks of 1/100 s).
pub fn process_cpu_s(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces; the fields after its closing parenthesis are fixed.
    let rest = stat.rsplit_once(')').context("malformed stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
    Ok((ticks(11) + ticks(12)) / 100.0)
}

/// `xtask axum-unit`: a bare axum server on 127.0.0.1:0, two worker threads as tgload has, that parses each
/// posted JSON body and answers it back; it prints its port and serves until killed.
pub fn serve_unit() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        println!("{}", listener.local_addr()?.port());
        let app = axum::Router::new().route(
            "/echo",
            axum::routing::post(|axum::Json(body): axum::Json<serde_json::Value>| async move { axum::Json(body) }),
        );
        axum::serve(listener, app).await?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_figures_are_read_from_its_report() {
        let report = "Running 5s test @ http://127.0.0.1:1/echo\n  1 threads and 64 connections\n  \
                      705366 requests in 5.00s, 101.58MB read\nRequests/sec: 141073.20\nTransfer/sec:     20.32MB\n";
        assert_eq!(wrk_figure(report, "requests in"), Some(705366.0));
        assert_eq!(wrk_figure(report, "Requests/sec:"), Some(141073.2));
        assert_eq!(wrk_figure(report, "Latency"), None);
    }
}

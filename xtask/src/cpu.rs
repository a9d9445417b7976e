//! `cargo xtask bench cpu`: tgload's own CPU per answered action (goose, the mock and the harness in its one
//! process, from the `generator.cpu_pct` it samples of itself in `/proc`) at 10, 1,000 and 3,000 actions/s of the
//! echo benchmark, beside a unit measured in the same session: the CPU a bare axum server spends per JSON request,
//! so that the figure carries over to other machines as a ratio.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// The offered rates, and how long the unit's load runs.
pub const RATES: [u32; 3] = [10, 1000, 3000];
const UNIT_SECONDS: u64 = 5;
const UNIT_CONNECTIONS: usize = 8;
/// The JSON body every unit request carries, about the size of a control API action.
const BODY: &str =
    r#"{"chat_id":1000001,"from":1000001,"action":{"kind":"text","text":"hello there"},"due_us":1,"wait_ms":10000}"#;

/// CPU microseconds a bare axum server (`xtask axum-unit`, its own process) spends per JSON request it parses and
/// answers, under `UNIT_CONNECTIONS` keep-alive connections for `UNIT_SECONDS`; and the requests per second.
pub fn axum_unit(xtask: &Path) -> Result<(f64, f64)> {
    let mut server =
        Command::new(xtask).arg("axum-unit").stdout(Stdio::piped()).spawn().context("start the axum unit server")?;
    let mut port = String::new();
    BufReader::new(server.stdout.take().context("no stdout")?).read_line(&mut port)?;
    let port: u16 = port.trim().parse().context("the unit server printed no port")?;
    let cpu_before = process_cpu_s(server.id())?;
    let deadline = Instant::now() + Duration::from_secs(UNIT_SECONDS);
    let started = Instant::now();
    let workers: Vec<_> = (0..UNIT_CONNECTIONS).map(|_| std::thread::spawn(move || hammer(port, deadline))).collect();
    let mut requests = 0_u64;
    for worker in workers {
        requests += worker.join().map_err(|_| anyhow::anyhow!("a unit client panicked"))??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = process_cpu_s(server.id())? - cpu_before;
    let _ = server.kill();
    let _ = server.wait();
    if requests == 0 {
        bail!("the axum unit server answered nothing");
    }
    Ok((cpu * 1e6 / requests as f64, requests as f64 / elapsed))
}

/// One keep-alive connection posting `BODY` until `deadline`; returns how many answers it read.
fn hammer(port: u16, deadline: Instant) -> Result<u64> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_nodelay(true)?;
    let request = format!(
        "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut n = 0;
    while Instant::now() < deadline {
        stream.write_all(request.as_bytes())?;
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse()?;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        n += 1;
    }
    Ok(n)
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

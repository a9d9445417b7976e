//! Benchmark of mock-telegram on this machine: sendMessage calls per second over keep-alive connections against
//! a bare axum handler that only parses the same JSON (the ceiling), updates per second delivered to one
//! long-polling bot, and the latency from an action's arrival to its delivery to a waiting long poll.
//!
//! `cargo bench -p mock-telegram --bench throughput [-- SECONDS CONNECTIONS]`. The client is a minimal raw
//! HTTP/1.1 loop so that it costs the shared 2 cores as little as possible; it measures, it asserts nothing.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TOKEN: &str = "123456:BENCH";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let seconds: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(5);
    let connections: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(32);
    let duration = Duration::from_secs(seconds);

    let mock = start_mock().await;
    let http = reqwest::Client::new();
    let action = serde_json::json!({"chat_id": 1, "action": {"kind": "text", "text": "hi"}});
    http.post(format!("http://{mock}/control/bots/{TOKEN}/actions")).json(&action).send().await.unwrap();
    let ceiling_addr = start_ceiling().await;

    let body = r#"{"chat_id":1,"text":"Hello from the bot under test, echoing what the user said."}"#;
    let ceiling = hammer(ceiling_addr, body, connections, duration).await;
    let mock_rate = hammer(mock, body, connections, duration).await;
    println!("sendMessage over {connections} keep-alive connections, {seconds} s each:");
    println!("  bare axum JSON handler (ceiling): {ceiling:>9.0} calls/s");
    println!(
        "  mock-telegram sendMessage:        {mock_rate:>9.0} calls/s ({:.0}% of ceiling)",
        100.0 * mock_rate / ceiling
    );

    let delivered = updates_per_second(mock, duration).await;
    println!("updates delivered to one long-polling bot: {delivered:>9.0} updates/s");

    let (client_p50, client_p99, mock_p99) = delivery_latency(mock, 2_000).await;
    println!("idle action → delivery to a parked long poll, 2000 actions:");
    println!("  seen by the poller (includes the control request): p50 {client_p50} µs, p99 {client_p99} µs");
    println!("  mock's own queue wait (enqueued → delivered):       p99 {mock_p99} µs");
}

async fn start_mock() -> std::net::SocketAddr {
    let server = mock_telegram::Server::new(mock_telegram::Config::default()).unwrap();
    server.add_bot(TOKEN, None).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(mock_telegram::serve(listener, server, std::future::pending()));
    addr
}

/// The ceiling: the same route shape and JSON parsing, nothing else.
async fn start_ceiling() -> std::net::SocketAddr {
    async fn handler(axum::Json(_): axum::Json<serde_json::Value>) -> &'static str {
        r#"{"ok":true,"result":true}"#
    }
    let app = axum::Router::new().route("/{bot}/{method}", axum::routing::post(handler));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Calls sendMessage in a loop on `connections` keep-alive connections for `duration`; returns calls per second.
async fn hammer(addr: std::net::SocketAddr, body: &str, connections: usize, duration: Duration) -> f64 {
    let request = format!(
        "POST /bot{TOKEN}/sendMessage HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let request: Arc<[u8]> = request.into_bytes().into();
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (request, done, stop) = (request.clone(), done.clone(), stop.clone());
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let mut buffer = vec![0u8; 64 * 1024];
                while !stop.load(Ordering::Relaxed) {
                    stream.write_all(&request).await.unwrap();
                    read_response(&mut stream, &mut buffer).await;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let count = done.load(Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    count as f64 / elapsed.as_secs_f64()
}

/// Reads one HTTP/1.1 response with a Content-Length body.
async fn read_response(stream: &mut TcpStream, buffer: &mut [u8]) {
    let mut filled = 0;
    loop {
        let n = stream.read(&mut buffer[filled..]).await.unwrap();
        assert!(n > 0, "connection closed");
        filled += n;
        let text = &buffer[..filled];
        let Some(head_end) = text.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = std::str::from_utf8(&text[..head_end]).unwrap().to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .map(|v| v.trim().parse().unwrap())
            .unwrap_or(0);
        assert!(head.starts_with("http/1.1 200"), "{head}");
        if filled >= head_end + 4 + length {
            return;
        }
    }
}

/// Producers enqueue actions as fast as they can while one bot long-polls with offsets; returns updates/s.
async fn updates_per_second(mock: std::net::SocketAddr, duration: Duration) -> f64 {
    let http = reqwest::Client::new();
    let stop = Arc::new(AtomicBool::new(false));
    let producers: Vec<_> = (0..8)
        .map(|i| {
            let (http, stop) = (http.clone(), stop.clone());
            tokio::spawn(async move {
                let url = format!("http://{mock}/control/bots/{TOKEN}/actions");
                let action = serde_json::json!({"chat_id": 100 + i, "action": {"kind": "text", "text": "load"}});
                while !stop.load(Ordering::Relaxed) {
                    http.post(&url).json(&action).send().await.unwrap().bytes().await.unwrap();
                }
            })
        })
        .collect();
    let url = format!("http://{mock}/bot{TOKEN}/getUpdates");
    let mut offset = 0i64;
    let mut received = 0u64;
    let started = Instant::now();
    while started.elapsed() < duration {
        let body: serde_json::Value = http
            .post(&url)
            .json(&serde_json::json!({"offset": offset, "timeout": 1}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let updates = body["result"].as_array().unwrap();
        received += updates.len() as u64;
        if let Some(last) = updates.last() {
            offset = last["update_id"].as_i64().unwrap() + 1;
        }
    }
    let rate = received as f64 / started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for producer in producers {
        let _ = producer.await;
    }
    http.post(&url).json(&serde_json::json!({"offset": -1})).send().await.unwrap();
    rate
}

/// Sends actions one at a time to an idle bot whose poll is parked; returns (p50, p99) seen by the poller and
/// the mock's own p99 queue wait, in microseconds.
async fn delivery_latency(mock: std::net::SocketAddr, samples: usize) -> (u64, u64, u64) {
    let token = "654321:LATENCY";
    let http = reqwest::Client::new();
    http.post(format!("http://{mock}/control/bots")).json(&serde_json::json!({"token": token})).send().await.unwrap();
    let poll_url = format!("http://{mock}/bot{token}/getUpdates");
    let act_url = format!("http://{mock}/control/bots/{token}/actions");
    let mut histogram = hdrhistogram::Histogram::<u64>::new(3).unwrap();
    let mut offset = 0i64;
    for _ in 0..samples {
        let poll = http.post(&poll_url).json(&serde_json::json!({"offset": offset, "timeout": 10})).send();
        let poll = tokio::spawn(poll);
        // Let the poll park before the action arrives: this measures the idle path.
        tokio::time::sleep(Duration::from_millis(2)).await;
        let sent = Instant::now();
        let action = serde_json::json!({"chat_id": 1, "action": {"kind": "text", "text": "ping"}});
        let send = http.post(&act_url).json(&action).send();
        let (response, _) = tokio::join!(poll, send);
        let body: serde_json::Value = response.unwrap().unwrap().json().await.unwrap();
        histogram.record(sent.elapsed().as_micros() as u64).unwrap();
        offset = body["result"][0]["update_id"].as_i64().unwrap() + 1;
    }
    let stats: serde_json::Value =
        http.get(format!("http://{mock}/control/bots/{token}/stats")).send().await.unwrap().json().await.unwrap();
    let mock_p99 = stats["timings"]["queue_wait_us"]["p99"].as_u64().unwrap();
    (histogram.value_at_quantile(0.5), histogram.value_at_quantile(0.99), mock_p99)
}

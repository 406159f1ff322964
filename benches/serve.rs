//! Load test of `quotasim serve`: requests per second with a zero-latency service model, and
//! the latency the emulator adds on top of the service model's.
//!
//! ```text
//! cargo bench --bench serve                       # 5 s per phase
//! QUOTASIM_BENCH_SECS=2 cargo bench --bench serve
//! ```
//!
//! The server runs in-process on a 2-thread runtime; the load comes from keep-alive HTTP/1.1
//! connections (one OS thread each), or from HTTP/2 connections (prior knowledge, the `h2`
//! crate on a 2-thread runtime, one call at a time per connection as the AWS SDK for
//! JavaScript's default handler sends them), each sending Converse calls with their own
//! `amz-sdk-invocation-id`. Client and server share the machine, so the figures are a lower
//! bound for the server alone.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use quotasim::Scenario;
use quotasim::serve::{Config, Limits, Options, Server};

fn scenario(service: &str) -> Scenario {
    Scenario::from_toml_str(
        &format!(
            r#"
duration = "1m"
[model]
preset = "claude-sonnet-4-5"
[quota]
tokens_per_minute = 1000000000000
[service]
{service}
[arrivals]
process = "constant"
rate_per_minute = 1
[requests.chat]
input_tokens = 100
output_tokens = 20
"#
        ),
        "bench.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

const BODY: &[u8] = br#"{"messages":[{"role":"user","content":[{"text":"Say hello in twenty tokens."}]}],"inferenceConfig":{"maxTokens":256}}"#;

/// One keep-alive connection sending calls until `stop`; returns latencies in µs.
fn client(addr: SocketAddr, id: usize, stop: Arc<AtomicBool>) -> Vec<u64> {
    let s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
    let _ = s.set_nodelay(true);
    let mut w = s.try_clone().unwrap_or_else(|e| panic!("{e}"));
    let mut r = BufReader::new(s);
    let path = "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse";
    let mut lat = Vec::with_capacity(100_000);
    let mut n = 0u64;
    let mut line = String::new();
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n\
             amz-sdk-invocation-id: {id:08x}-0000-4000-8000-{n:012x}\r\nContent-Length: {}\r\n\r\n",
            BODY.len()
        );
        let t = Instant::now();
        w.write_all(req.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        w.write_all(BODY).unwrap_or_else(|e| panic!("{e}"));
        let mut len = 0usize;
        line.clear();
        r.read_line(&mut line).unwrap_or_else(|e| panic!("{e}"));
        assert!(line.starts_with("HTTP/1.1 200"), "{line}");
        loop {
            line.clear();
            r.read_line(&mut line).unwrap_or_else(|e| panic!("{e}"));
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body).unwrap_or_else(|e| panic!("{e}"));
        lat.push(t.elapsed().as_micros() as u64);
    }
    lat
}

/// One HTTP/2 connection sending calls one after another until `stop`; latencies in µs.
async fn h2_client(addr: SocketAddr, id: usize, stop: Arc<AtomicBool>) -> Vec<u64> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = tcp.set_nodelay(true);
    let (mut client, conn) = h2::client::handshake(tcp)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let uri =
        format!("http://{addr}/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse");
    let mut lat = Vec::with_capacity(100_000);
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let req = hyper::Request::builder()
            .method("POST")
            .uri(&uri)
            .header("content-type", "application/json")
            .header(
                "amz-sdk-invocation-id",
                format!("{id:08x}-0000-4000-8000-{n:012x}"),
            )
            .body(())
            .unwrap_or_else(|e| panic!("{e}"));
        let t = Instant::now();
        client = client.ready().await.unwrap_or_else(|e| panic!("{e}"));
        let (resp, mut send) = client
            .send_request(req, false)
            .unwrap_or_else(|e| panic!("{e}"));
        send.send_data(Bytes::from_static(BODY), true)
            .unwrap_or_else(|e| panic!("{e}"));
        let resp = resp.await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(resp.status(), 200);
        let mut body = resp.into_body();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.unwrap_or_else(|e| panic!("{e}"));
            let _ = body.flow_control().release_capacity(chunk.len());
        }
        lat.push(t.elapsed().as_micros() as u64);
    }
    lat
}

#[derive(Clone, Copy, PartialEq)]
enum Protocol {
    Http1,
    Http2,
}

fn phase(
    name: &str,
    protocol: Protocol,
    service: &str,
    connections: usize,
    secs: f64,
    service_us: u64,
) {
    let server = Server::start(
        Config::from_scenario(&scenario(service)),
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            time_scale: 1.0,
            limits: Limits::default(),
            threads: 2,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let stop = Arc::new(AtomicBool::new(false));
    let t = Instant::now();
    let mut lat: Vec<u64> = if protocol == Protocol::Http1 {
        let handles: Vec<_> = (0..connections)
            .map(|i| {
                let (addr, stop) = (server.addr(), stop.clone());
                std::thread::spawn(move || client(addr, i, stop))
            })
            .collect();
        std::thread::sleep(Duration::from_secs_f64(secs));
        stop.store(true, Ordering::Relaxed);
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    } else {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = server.addr();
        let stop2 = stop.clone();
        rt.block_on(async move {
            let tasks: Vec<_> = (0..connections)
                .map(|i| tokio::spawn(h2_client(addr, i, stop2.clone())))
                .collect();
            tokio::time::sleep(Duration::from_secs_f64(secs)).await;
            stop2.store(true, Ordering::Relaxed);
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await.unwrap_or_default());
            }
            all
        })
    };
    let wall = t.elapsed().as_secs_f64();
    let report = server.shutdown();
    lat.sort_unstable();
    let pct = |q: f64| {
        let i = ((lat.len() as f64 * q).ceil() as usize).clamp(1, lat.len().max(1)) - 1;
        lat.get(i).copied().unwrap_or(0)
    };
    let added = |us: u64| us.saturating_sub(service_us) as f64 / 1000.0;
    let succeeded = report
        .pointer("/requests/succeeded")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    assert_eq!(succeeded, lat.len() as u64, "server and clients disagree");
    println!(
        "{name}: {} connections, {:.0} requests/s over {wall:.1} s; added latency p50 {:.2} ms, p99 {:.2} ms (service model {:.0} ms)",
        connections,
        lat.len() as f64 / wall,
        added(pct(0.50)),
        added(pct(0.99)),
        service_us as f64 / 1000.0,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: run briefly then.
    let benching = std::env::args().any(|a| a == "--bench");
    let secs: f64 = std::env::var("QUOTASIM_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if benching { 5.0 } else { 0.3 });
    let zero = "ttft = \"0s\"\nttft_per_1k_input = \"0s\"\noutput_tokens_per_second = 1000000000\nthrottle_latency = \"0s\"";
    // 20 ms to first token, 20 tokens at 1,000 tokens/s: 40 ms of modelled service time.
    let modelled = "ttft = \"20ms\"\nttft_per_1k_input = \"0s\"\noutput_tokens_per_second = 1000\nthrottle_latency = \"0s\"";
    for (protocol, label) in [(Protocol::Http1, "HTTP/1.1"), (Protocol::Http2, "HTTP/2")] {
        phase(
            &format!("{label}, zero-latency service, saturated"),
            protocol,
            zero,
            32,
            secs,
            0,
        );
        phase(
            &format!("{label}, 40 ms service model, 16 connections"),
            protocol,
            modelled,
            16,
            secs,
            40_000,
        );
    }
}

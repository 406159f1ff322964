//! The emulator in-process, over raw HTTP: hostile-input limits (body size, header timeout,
//! connection cap, header size), requests versus attempts, and the charge of a stream the
//! client abandons.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use quotasim::Scenario;
use quotasim::serve::{Config, Limits, Options, Server};
use serde_json::Value;

mod common;

use common::u;

const MODEL: &str = "global.anthropic.claude-sonnet-4-5-20250929-v1:0";

fn scenario(tpm: u64, service: &str) -> Scenario {
    Scenario::from_toml_str(
        &format!(
            r#"
duration = "1m"
[model]
preset = "claude-sonnet-4-5"
[quota]
tokens_per_minute = {tpm}
[service]
{service}
[arrivals]
process = "constant"
rate_per_minute = 1
[requests.chat]
input_tokens = 100
output_tokens = 300
"#
        ),
        "test.toml",
    )
    .unwrap()
}

const FAST: &str = r#"ttft = "0s"
ttft_per_1k_input = "0s"
output_tokens_per_second = 100000
throttle_latency = "0s""#;

fn start(s: &Scenario, limits: Limits) -> Server {
    Server::start(
        Config::from_scenario(s),
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            time_scale: 1.0,
            limits,
            threads: 2,
        },
    )
    .unwrap()
}

/// One HTTP/1.1 exchange on a fresh connection: (status, head, body).
fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&out[..split]).to_string();
    let status = head[9..12].parse().unwrap();
    (status, head, out[split + 4..].to_vec())
}

fn converse_path() -> String {
    format!("/model/{}/converse", MODEL.replace(':', "%3A"))
}

const BODY: &[u8] = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":100}}"#;

/// A good Converse call; authentication in any form is accepted and never checked.
fn good_call(addr: SocketAddr) -> u16 {
    call(
        addr,
        "POST",
        &converse_path(),
        &[("Authorization", "Bearer not-checked")],
        BODY,
    )
    .0
}

/// Whether the server closed `s` (read returns end of file) within `within`.
fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 256];
    matches!(s.read(&mut buf), Ok(0)) || matches!(s.read(&mut buf), Ok(0))
}

#[test]
fn health_and_report_answer() {
    let server = start(&scenario(100_000, FAST), Limits::default());
    let (status, _, body) = call(server.addr(), "GET", "/quotasim/health", &[], b"");
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["status"],
        "ok"
    );
    let (status, _, body) = call(server.addr(), "GET", "/quotasim/report", &[], b"");
    assert_eq!(status, 200);
    let r: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(u(&r, "/requests/arrived"), 0);
    assert!(r["timeline"].is_array());
    let (status, head, _) = call(server.addr(), "GET", "/nothing/here", &[], b"");
    assert_eq!(status, 404, "{head}");
}

#[test]
fn a_body_over_the_limit_gets_413_even_without_content_length() {
    let limits = Limits {
        max_body_bytes: 1000,
        ..Limits::default()
    };
    let server = start(&scenario(100_000, FAST), limits);
    // Declared too large: refused before it is read.
    let (status, _, _) = call(server.addr(), "POST", &converse_path(), &[], &[b' '; 1001]);
    assert_eq!(status, 413);
    // Chunked, no length: refused once 1,000 bytes have arrived.
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let chunk = vec![b' '; 600];
    let mut req = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
        converse_path()
    )
    .into_bytes();
    for _ in 0..2 {
        req.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        req.extend_from_slice(&chunk);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    s.write_all(&req).unwrap();
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"HTTP/1.1 413");
    // A body within the limit is served.
    assert_eq!(good_call(server.addr()), 200);
    let r = server.shutdown();
    assert_eq!(u(&r, "/serve/invalid_requests"), 2);
    assert_eq!(u(&r, "/requests/arrived"), 1);
}

#[test]
fn unfinished_headers_are_dropped_and_do_not_delay_others() {
    let limits = Limits {
        header_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let server = start(&scenario(100_000, FAST), limits);
    let mut slow: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut s = TcpStream::connect(server.addr()).unwrap();
            s.write_all(b"POST /model/x/converse HTTP/1.1\r\nHost: x\r\nContent-Le")
                .unwrap();
            s
        })
        .collect();
    // Meanwhile, good calls are answered.
    for _ in 0..5 {
        assert_eq!(good_call(server.addr()), 200);
    }
    // The slow ones are disconnected once the header timeout passes.
    for s in &mut slow {
        assert!(closed_within(s, Duration::from_secs(5)));
    }
    // A connection that sends nothing at all is dropped too.
    let mut idle = TcpStream::connect(server.addr()).unwrap();
    assert!(closed_within(&mut idle, Duration::from_secs(5)));
}

#[test]
fn connections_over_the_cap_are_closed_at_once_and_slots_come_back() {
    let limits = Limits {
        max_connections: 3,
        ..Limits::default()
    };
    let server = start(&scenario(100_000, FAST), limits);
    let held: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(server.addr()).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut over = TcpStream::connect(server.addr()).unwrap();
    let t = Instant::now();
    assert!(closed_within(&mut over, Duration::from_secs(5)));
    assert!(t.elapsed() < Duration::from_secs(5));
    drop(held);
    // Slots are given back when connections close.
    let mut ok = false;
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(50));
        let mut s = TcpStream::connect(server.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let req = format!(
            "POST {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
            converse_path(),
            BODY.len()
        );
        if s.write_all(req.as_bytes()).is_err() || s.write_all(BODY).is_err() {
            continue;
        }
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        if out.starts_with(b"HTTP/1.1 200") {
            ok = true;
            break;
        }
    }
    assert!(ok, "no connection accepted after the held ones closed");
    let r = server.shutdown();
    assert!(u(&r, "/serve/refused_connections") >= 1);
}

#[test]
fn oversized_headers_get_431() {
    let server = start(&scenario(100_000, FAST), Limits::default());
    let big = "a".repeat(100 << 10);
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(
        format!("GET /quotasim/health HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n").as_bytes(),
    );
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert!(
        out.starts_with(b"HTTP/1.1 431"),
        "{:?}",
        String::from_utf8_lossy(&out[..out.len().min(40)])
    );
}

#[test]
fn attempts_with_one_invocation_id_are_one_request() {
    // TPM 1,000: a reservation of 2 + 999 fits once a minute.
    let server = start(&scenario(1_000, FAST), Limits::default());
    let addr = server.addr();
    let big = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":999}}"#;
    let small = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":10}}"#;
    let id = [
        (
            "amz-sdk-invocation-id",
            "6f3b2c1a-0000-4000-8000-000000000001",
        ),
        ("x-quotasim-output-tokens", "1"),
    ];
    assert_eq!(call(addr, "POST", &converse_path(), &id, big).0, 200);
    // The same request again, now throttled: one request, failed while its latest failed.
    let (status, head, body) = call(addr, "POST", &converse_path(), &id, big);
    assert_eq!(status, 429);
    assert!(
        head.to_ascii_lowercase()
            .contains("x-amzn-errortype: throttlingexception"),
        "{head}"
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["message"],
        "Too many tokens, please wait before trying again."
    );
    let r = server.report();
    assert_eq!(u(&r, "/requests/arrived"), 1);
    assert_eq!(
        u(&r, "/requests/succeeded"),
        1,
        "succeeded once an attempt succeeded"
    );
    assert_eq!(u(&r, "/attempts/sent"), 2);
    // Another request: throttled (failed), then its retry succeeds (succeeded, not failed).
    let id2 = [
        (
            "amz-sdk-invocation-id",
            "6f3b2c1a-0000-4000-8000-000000000002",
        ),
        ("x-quotasim-output-tokens", "1"),
    ];
    assert_eq!(call(addr, "POST", &converse_path(), &id2, big).0, 429);
    let r = server.report();
    assert_eq!(u(&r, "/requests/arrived"), 2);
    assert_eq!(u(&r, "/requests/failed"), 1);
    assert_eq!(u(&r, "/requests/failed_by/throttled"), 1);
    assert_eq!(call(addr, "POST", &converse_path(), &id2, small).0, 200);
    let r = server.report();
    assert_eq!(u(&r, "/requests/arrived"), 2);
    assert_eq!(u(&r, "/requests/failed"), 0);
    assert_eq!(u(&r, "/requests/succeeded"), 2);
    assert_eq!(u(&r, "/attempts/sent"), 4);
    assert_eq!(u(&r, "/attempts/throttled"), 2);
    // Attempts per request when it finished: the first succeeded at once (its later
    // throttled attempt changes nothing), the second after a throttle.
    assert_eq!(u(&r, "/attempts/per_request/1"), 1);
    assert_eq!(u(&r, "/attempts/per_request/2"), 1);
    // Calls without an ID are each their own request.
    assert_eq!(call(addr, "POST", &converse_path(), &[], small).0, 200);
    assert_eq!(call(addr, "POST", &converse_path(), &[], small).0, 200);
    assert_eq!(u(&server.report(), "/requests/arrived"), 4);
}

#[test]
fn a_stream_the_client_abandons_is_charged_for_what_was_generated() {
    // 200 output tokens per second; the client asks for 1,000 and leaves after ~0.5 s.
    let server = start(
        &scenario(
            1_000_000,
            "ttft = \"0s\"\nttft_per_1k_input = \"0s\"\noutput_tokens_per_second = 200",
        ),
        Limits::default(),
    );
    let body = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":2000}}"#;
    let mut s = TcpStream::connect(server.addr()).unwrap();
    let path = format!("/model/{}/converse-stream", MODEL.replace(':', "%3A"));
    s.write_all(
        format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nx-quotasim-input-tokens: 50\r\nx-quotasim-output-tokens: 1000\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).unwrap();
    assert!(
        std::str::from_utf8(&buf[..n.min(12)])
            .unwrap()
            .starts_with("HTTP/1.1 200")
    );
    std::thread::sleep(Duration::from_millis(500));
    drop(s);
    // The server notices at its next delta (every 50 ms).
    let mut r = server.report();
    for _ in 0..100 {
        if u(&r, "/serve/disconnected/attempts") == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        r = server.report();
    }
    assert_eq!(u(&r, "/serve/disconnected/attempts"), 1);
    let out = u(&r, "/serve/disconnected/output_tokens");
    assert!(out > 0 && out < 1000, "{out}");
    assert_eq!(u(&r, "/serve/disconnected/quota_consumed"), 50 + 5 * out);
    // Settled: the minute's charge is the cost of what was generated, not the reservation.
    let charged: i64 = r["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["quota_charged"].as_i64().unwrap())
        .sum();
    assert_eq!(charged, (50 + 5 * out) as i64);
    assert_eq!(u(&r, "/requests/succeeded"), 0);
    assert_eq!(u(&r, "/requests/unfinished"), 1);
}

#[test]
fn a_body_that_stalls_gets_408_while_others_are_served() {
    let limits = Limits {
        body_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let server = start(&scenario(100_000, FAST), limits);
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(
        format!(
            "POST {} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{{\"messages\"",
            converse_path()
        )
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(good_call(server.addr()), 200);
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"HTTP/1.1 408");
}

#[test]
fn the_time_scale_shortens_quota_minutes() {
    // --time-scale 60: a quota minute lasts one wall-clock second.
    let server = Server::start(
        Config::from_scenario(&scenario(1_000, FAST)),
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            time_scale: 60.0,
            limits: Limits::default(),
            threads: 2,
        },
    )
    .unwrap();
    let big = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":990}}"#;
    let h = [("x-quotasim-output-tokens", "200")];
    // Reservation 1 + 990 fits; it settles to 1 + 5 × 200 = 1,001, the minute is full.
    assert_eq!(
        call(server.addr(), "POST", &converse_path(), &h, big).0,
        200
    );
    assert_eq!(
        call(server.addr(), "POST", &converse_path(), &h, big).0,
        429
    );
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        call(server.addr(), "POST", &converse_path(), &h, big).0,
        200
    );
    let r = server.shutdown();
    let rows = r["timeline"].as_array().unwrap();
    assert!(rows.len() >= 2, "{rows:?}");
    assert_eq!(rows[0]["admitted"], 1);
    assert_eq!(rows[0]["throttled"], 1);
    assert!(r["simulated_seconds"].as_f64().unwrap() >= 60.0);
}

#[test]
fn shutdown_lets_a_stream_in_flight_finish() {
    // 1,000 tokens/s; 400 tokens take 0.4 s.
    let server = start(
        &scenario(
            1_000_000,
            "ttft = \"0s\"\nttft_per_1k_input = \"0s\"\noutput_tokens_per_second = 1000",
        ),
        Limits::default(),
    );
    let addr = server.addr();
    let reader = std::thread::spawn(move || {
        let path = format!("/model/{}/converse-stream", MODEL.replace(':', "%3A"));
        call(
            addr,
            "POST",
            &path,
            &[("x-quotasim-output-tokens", "400")],
            br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":1000}}"#,
        )
    });
    std::thread::sleep(Duration::from_millis(100));
    let r = server.shutdown();
    let (status, _, body) = reader.join().unwrap();
    assert_eq!(status, 200);
    // The stream ran to its last event (`metadata`, with the usage).
    let tail = String::from_utf8_lossy(&body[body.len().saturating_sub(300)..]).to_string();
    assert!(
        tail.contains("metadata") && tail.contains("\"outputTokens\":400"),
        "{tail}"
    );
    assert_eq!(u(&r, "/requests/succeeded"), 1);
    assert_eq!(u(&r, "/tokens/output"), 400);
    // New connections are refused once it has stopped.
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn max_tokens_above_the_model_maximum_is_a_validation_error() {
    let server = start(&scenario(100_000_000, FAST), Limits::default());
    // Claude Sonnet 4.5 answers at most 64,000 tokens.
    let over = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":64001}}"#;
    let (status, head, body) = call(server.addr(), "POST", &converse_path(), &[], over);
    assert_eq!(status, 400);
    assert!(
        head.to_ascii_lowercase()
            .contains("x-amzn-errortype: validationexception")
    );
    assert!(String::from_utf8_lossy(&body).contains("64000"));
    let at = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":64000}}"#;
    assert_eq!(
        call(server.addr(), "POST", &converse_path(), &[], at).0,
        200
    );
    let path = format!("/model/{}/invoke", MODEL.replace(':', "%3A"));
    let over = br#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":64001,"messages":[]}"#;
    assert_eq!(call(server.addr(), "POST", &path, &[], over).0, 400);
    let r = server.shutdown();
    assert_eq!(u(&r, "/serve/invalid_requests"), 2);
    assert_eq!(u(&r, "/requests/arrived"), 1);
}

#[test]
fn the_class_header_picks_the_output_length_and_weights_pick_otherwise() {
    let s = Scenario::from_toml_str(
        r#"
duration = "1m"
[model]
preset = "claude-haiku-4-5"
[quota]
tokens_per_minute = 100000000
[service]
ttft = "0s"
ttft_per_1k_input = "0s"
output_tokens_per_second = 100000
[arrivals]
process = "constant"
rate_per_minute = 1
[requests.never]
weight = 0
input_tokens = 10
output_tokens = 900
[requests.usual]
weight = 1
input_tokens = 10
output_tokens = 7
cache_read_tokens = 30
"#,
        "classes.toml",
    )
    .unwrap();
    let server = start(&s, Limits::default());
    let path = "/model/eu.anthropic.claude-haiku-4-5-20251001-v1%3A0/converse";
    let usage = |headers: &[(&str, &str)]| {
        let (status, _, body) = call(server.addr(), "POST", path, headers, BODY);
        assert_eq!(status, 200);
        serde_json::from_slice::<Value>(&body).unwrap()["usage"].clone()
    };
    // By weight: always `usual` (7 tokens, 30 cache reads).
    for _ in 0..5 {
        let got = usage(&[]);
        assert_eq!(got["outputTokens"], 7, "{got}");
        assert_eq!(got["cacheReadInputTokens"], 30, "{got}");
    }
    // The header picks `never`: 900 tokens, cut at maxTokens 100.
    let got = usage(&[("x-quotasim-class", "never")]);
    assert_eq!(got["outputTokens"], 100);
    assert!(got.get("cacheReadInputTokens").is_none(), "{got}");
    // A header length wins over the class; an unknown class is a 400.
    assert_eq!(
        usage(&[("x-quotasim-output-tokens", "3")])["outputTokens"],
        3
    );
    let (status, _, body) = call(
        server.addr(),
        "POST",
        path,
        &[("x-quotasim-class", "nope")],
        BODY,
    );
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("never, usual"));
    let (status, _, _) = call(
        server.addr(),
        "POST",
        path,
        &[("x-quotasim-input-tokens", "lots")],
        BODY,
    );
    assert_eq!(status, 400);
    let r = server.shutdown();
    assert_eq!(u(&r, "/requests/succeeded"), 7);
    assert_eq!(u(&r, "/requests/truncated"), 1);
    assert_eq!(u(&r, "/serve/invalid_requests"), 2);
}

/// A body of `len` bytes (BODY padded with trailing spaces, still valid JSON) sent chunked,
/// without a length: the response status.
fn chunked_call(addr: SocketAddr, len: usize) -> u16 {
    let mut body = BODY.to_vec();
    body.resize(len, b' ');
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n",
        converse_path()
    )
    .into_bytes();
    for part in body.chunks(300) {
        req.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        req.extend_from_slice(part);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    s.write_all(&req).unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    String::from_utf8_lossy(&head[9..12]).parse().unwrap()
}

/// `max_body_bytes` is the largest body accepted: exactly that many bytes are served, one
/// more is a 413, whether the length is declared or the body is chunked.
#[test]
fn a_body_of_exactly_the_limit_is_accepted_and_one_byte_more_is_not() {
    let limits = Limits {
        max_body_bytes: 1000,
        ..Limits::default()
    };
    let server = start(&scenario(100_000, FAST), limits);
    let addr = server.addr();
    let padded = |len: usize| {
        let mut b = BODY.to_vec();
        b.resize(len, b' ');
        b
    };
    assert_eq!(
        call(addr, "POST", &converse_path(), &[], &padded(1000)).0,
        200
    );
    assert_eq!(
        call(addr, "POST", &converse_path(), &[], &padded(1001)).0,
        413
    );
    assert_eq!(chunked_call(addr, 1000), 200);
    assert_eq!(chunked_call(addr, 1001), 413);
    let r = server.shutdown();
    assert_eq!(u(&r, "/requests/arrived"), 2);
    assert_eq!(u(&r, "/serve/invalid_requests"), 2);
}

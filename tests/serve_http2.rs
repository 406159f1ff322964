//! The emulator in-process over HTTP/2 (prior knowledge, no TLS) and HTTP/1.1 keep-alive:
//! the `h2` crate as a client, and raw frames for what no client library sends (malformed
//! and oversized frames, a flood of header continuations). Whatever one connection sends,
//! a second connection keeps being served.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bytes::Bytes;
use quotasim::Scenario;
use quotasim::serve::{Config, Limits, Options, Server};
use serde_json::Value;

mod common;

use common::u;

const MODEL: &str = "global.anthropic.claude-sonnet-4-5-20250929-v1%3A0";
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn scenario(tokens_per_second: u64, output: u64) -> Scenario {
    Scenario::from_toml_str(
        &format!(
            r#"
duration = "1m"
[model]
preset = "claude-sonnet-4-5"
[quota]
tokens_per_minute = 10000000
[service]
ttft = "0s"
ttft_per_1k_input = "0s"
output_tokens_per_second = {tokens_per_second}
throttle_latency = "0s"
[arrivals]
process = "constant"
rate_per_minute = 1
[requests.chat]
input_tokens = 100
output_tokens = {output}
"#
        ),
        "test.toml",
    )
    .unwrap()
}

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

const CONVERSE: &str = r#"{"messages":[{"role":"user","content":[{"text":"12345678"}]}],"inferenceConfig":{"maxTokens":500}}"#;

/// An HTTP/2 connection made with the `h2` crate.
async fn h2_connect(addr: SocketAddr) -> h2::client::SendRequest<Bytes> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (client, conn) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// A POST over `client`; the status, headers and whole body.
async fn h2_post(
    client: &mut h2::client::SendRequest<Bytes>,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, hyper::HeaderMap, Vec<u8>) {
    let mut req = hyper::Request::builder()
        .method("POST")
        .uri(format!("http://quotasim{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let ready = client.clone().ready().await.unwrap();
    *client = ready;
    let (resp, mut send) = client.send_request(req.body(()).unwrap(), false).unwrap();
    send.send_data(Bytes::copy_from_slice(body.as_bytes()), true)
        .unwrap();
    let resp = resp.await.unwrap();
    let (parts, mut recv) = resp.into_parts();
    let mut out = Vec::new();
    while let Some(chunk) = recv.data().await {
        let chunk = chunk.unwrap();
        let _ = recv.flow_control().release_capacity(chunk.len());
        out.extend_from_slice(&chunk);
    }
    (parts.status.as_u16(), parts.headers, out)
}

fn converse_path() -> String {
    format!("/model/{MODEL}/converse")
}

/// One Converse call over a fresh HTTP/1.1 connection; its status.
fn h1_call(addr: SocketAddr) -> u16 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{CONVERSE}",
        converse_path(),
        CONVERSE.len()
    )
    .unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// One Converse call over a fresh HTTP/2 connection; its status.
async fn h2_call(addr: SocketAddr) -> u16 {
    let mut c = h2_connect(addr).await;
    h2_post(&mut c, &converse_path(), &[], CONVERSE).await.0
}

/// A raw frame: 24-bit length, type, flags, stream ID, payload.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Reads frames until the server closes the connection (or 10 s pass); the error code of
/// the GOAWAY frame among them, if one came.
fn goaway_code(s: &mut TcpStream) -> Option<u32> {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let mut i = 0;
    while i + 9 <= buf.len() {
        let len =
            (usize::from(buf[i]) << 16) | (usize::from(buf[i + 1]) << 8) | usize::from(buf[i + 2]);
        let kind = buf[i + 3];
        if kind == 7 && i + 9 + 8 <= buf.len() {
            let p = &buf[i + 9..];
            return Some(u32::from_be_bytes([p[4], p[5], p[6], p[7]]));
        }
        i += 9 + len;
    }
    None
}

/// HPACK integer with an `n`-bit prefix (RFC 7541 §5.1).
fn hpack_int(first: u8, n: u32, mut v: usize, out: &mut Vec<u8>) {
    let max = (1usize << n) - 1;
    if v < max {
        out.push(first | v as u8);
        return;
    }
    out.push(first | max as u8);
    v -= max;
    while v >= 128 {
        out.push((v % 128) as u8 | 0x80);
        v /= 128;
    }
    out.push(v as u8);
}

/// A literal header field without indexing, new name.
fn hpack_literal(name: &str, value: &str, out: &mut Vec<u8>) {
    out.push(0);
    hpack_int(0, 7, name.len(), out);
    out.extend_from_slice(name.as_bytes());
    hpack_int(0, 7, value.len(), out);
    out.extend_from_slice(value.as_bytes());
}

fn report_of(server: Server) -> Value {
    server.shutdown()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_and_http2_share_the_port_and_answer_alike() {
    let server = start(&scenario(100_000, 30), Limits::default());
    let addr = server.addr();
    let mut c = h2_connect(addr).await;
    // Several calls on one HTTP/2 connection, two of them at once.
    let (s1, h1, b1) = h2_post(&mut c, &converse_path(), &[], CONVERSE).await;
    assert_eq!(s1, 200);
    // No connection-specific header on HTTP/2.
    assert!(h1.get("keep-alive").is_none());
    let v: Value = serde_json::from_slice(&b1).unwrap();
    assert_eq!(u(&v, "/usage/outputTokens"), 30);
    // "12345678": 8 characters, 2 input tokens.
    assert_eq!(u(&v, "/usage/inputTokens"), 2);
    let mut c2 = c.clone();
    let path = converse_path();
    let (a, b) = tokio::join!(
        h2_post(&mut c, &path, &[], CONVERSE),
        h2_post(&mut c2, &path, &[], CONVERSE)
    );
    assert_eq!((a.0, b.0), (200, 200));
    assert_eq!(
        tokio::task::spawn_blocking(move || h1_call(addr))
            .await
            .unwrap(),
        200
    );
    let r = tokio::task::spawn_blocking(move || report_of(server))
        .await
        .unwrap();
    assert_eq!(u(&r, "/serve/http_calls/http2"), 3);
    assert_eq!(u(&r, "/serve/http_calls/http1"), 1);
    assert_eq!(u(&r, "/requests/succeeded"), 4);
}

#[test]
fn keep_alive_is_announced_and_idle_connections_close_only_after_it() {
    let limits = Limits {
        header_timeout: Duration::from_secs(3),
        ..Limits::default()
    };
    let server = start(&scenario(100_000, 30), limits);
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let send = |s: &mut TcpStream| {
        write!(
            s,
            "POST {} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{CONVERSE}",
            converse_path(),
            CONVERSE.len()
        )
        .unwrap();
        // Head and body of one response.
        let mut got = Vec::new();
        let mut b = [0u8; 1];
        while !got.ends_with(b"\r\n\r\n") {
            assert_eq!(s.read(&mut b).unwrap(), 1, "closed early");
            got.push(b[0]);
        }
        let head = String::from_utf8(got).unwrap();
        let len: usize = head
            .to_ascii_lowercase()
            .split("\r\n")
            .find_map(|l| {
                l.strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap())
            })
            .unwrap();
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).unwrap();
        head
    };
    let first = send(&mut s);
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert!(
        first
            .to_ascii_lowercase()
            .contains("\r\nkeep-alive: timeout=3\r\n"),
        "{first}"
    );
    // Idle for less than the announced 3 s: the connection is still served.
    std::thread::sleep(Duration::from_millis(1000));
    let again = send(&mut s);
    assert!(again.starts_with("HTTP/1.1 200"), "{again}");
    let idle_from = Instant::now();
    // Then left idle: closed, but not before the announced timeout.
    let mut b = [0u8; 1];
    let n = s.read(&mut b).unwrap_or(0);
    assert_eq!(n, 0, "expected the server to close the idle connection");
    let after = idle_from.elapsed();
    assert!(
        after >= Duration::from_millis(2900),
        "closed after {after:?}"
    );
    let r = server.shutdown();
    assert_eq!(u(&r, "/requests/succeeded"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_http2_connection_gets_goaway_after_the_keep_alive_timeout() {
    let limits = Limits {
        header_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let server = start(&scenario(100_000, 30), limits);
    let addr = server.addr();
    let code = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(PREFACE).unwrap();
        s.write_all(&frame(4, 0, 0, &[])).unwrap();
        let t = Instant::now();
        let code = goaway_code(&mut s);
        (code, t.elapsed())
    })
    .await
    .unwrap();
    // GOAWAY with NO_ERROR, once the connection has been idle for the timeout.
    assert_eq!(code.0, Some(0));
    assert!(code.1 >= Duration::from_millis(900), "{:?}", code.1);
    assert_eq!(h2_call(addr).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_frames_end_only_their_own_connection() {
    let server = start(&scenario(100_000, 30), Limits::default());
    let addr = server.addr();
    // A connection kept open alongside, used after each bad one.
    let mut good = h2_connect(addr).await;
    let path = converse_path();
    // Each ends its connection with GOAWAY and an error code (RFC 9113 §7): the exact code
    // is the h2 crate's choice, so any error (not NO_ERROR, 0) is accepted.
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // A PING must carry 8 bytes.
        ("short PING", frame(6, 0, 0, &[1, 2, 3])),
        // A DATA frame of 1 MiB where 16 KiB is the maximum.
        ("oversized DATA", {
            let mut f = frame(0, 0, 1, &[]);
            f[0..3].copy_from_slice(&[0x10, 0, 0]);
            f.extend(std::iter::repeat_n(0u8, 1000));
            f
        }),
        // HEADERS on stream 0.
        ("HEADERS on stream 0", frame(1, 0x4, 0, &[0x83])),
        // A header block that does not decode.
        (
            "bad HPACK",
            frame(1, 0x5, 1, &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        ),
        // A SETTINGS frame whose length is not a multiple of 6.
        ("ragged SETTINGS", frame(4, 0, 0, &[0, 3, 0, 0, 0])),
    ];
    for (name, bad) in cases {
        let code = tokio::task::spawn_blocking(move || {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(PREFACE).unwrap();
            s.write_all(&frame(4, 0, 0, &[])).unwrap();
            let _ = s.write_all(&bad);
            goaway_code(&mut s)
        })
        .await
        .unwrap();
        assert!(code.is_some_and(|c| c != 0), "{name}: {code:?}");
        assert_eq!(
            h2_post(&mut good, &path, &[], CONVERSE).await.0,
            200,
            "{name}"
        );
        assert_eq!(
            tokio::task::spawn_blocking(move || h1_call(addr))
                .await
                .unwrap(),
            200
        );
    }
    // Not HTTP at all after the preface.
    tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(PREFACE).unwrap();
        let _ = s.write_all(&[0xAB; 4096]);
        let _ = goaway_code(&mut s);
    })
    .await
    .unwrap();
    assert_eq!(h2_post(&mut good, &path, &[], CONVERSE).await.0, 200);
    let r = tokio::task::spawn_blocking(move || report_of(server))
        .await
        .unwrap();
    assert_eq!(u(&r, "/requests/arrived"), 11);
    assert_eq!(u(&r, "/requests/succeeded"), 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_header_blocks_are_refused_without_buffering_them() {
    let server = start(&scenario(100_000, 30), Limits::default());
    let addr = server.addr();
    let mut good = h2_connect(addr).await;
    // A header block over the 64 KiB limit, in frames of legal size: 431 for that stream
    // (or the connection ends), and the connection's other streams still work.
    let big = "a".repeat(100 << 10);
    let mut c = h2_connect(addr).await;
    let req = hyper::Request::builder()
        .method("POST")
        .uri(format!("http://quotasim{}", converse_path()))
        .header("x-padding", big.as_str())
        .body(())
        .unwrap();
    let status = match c.send_request(req, true) {
        Ok((resp, _)) => resp.await.map(|r| r.status().as_u16()).ok(),
        Err(_) => None,
    };
    assert!(matches!(status, Some(431) | None), "{status:?}");
    // A flood of CONTINUATION frames that never ends the block.
    let flooded = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(PREFACE).unwrap();
        s.write_all(&frame(4, 0, 0, &[])).unwrap();
        let mut block = vec![0x83, 0x86]; // :method POST, :scheme http
        hpack_literal(":path", "/model/x/converse", &mut block);
        s.write_all(&frame(1, 0, 1, &block)).unwrap();
        let mut piece = Vec::new();
        hpack_literal("x-pad", &"b".repeat(16_000), &mut piece);
        let mut sent = 0usize;
        for _ in 0..512 {
            if s.write_all(&frame(9, 0, 1, &piece)).is_err() {
                break;
            }
            sent += piece.len();
        }
        let code = goaway_code(&mut s);
        (sent, code)
    })
    .await
    .unwrap();
    // It ends the connection with an error (h2 answers ENHANCE_YOUR_CALM) before 8 MiB of
    // one header block went in.
    assert!(flooded.1.is_some_and(|c| c != 0), "{flooded:?}");
    assert!(flooded.0 < 8 << 20, "{flooded:?}");
    assert_eq!(
        h2_post(&mut good, &converse_path(), &[], CONVERSE).await.0,
        200
    );
    assert_eq!(
        tokio::task::spawn_blocking(move || h1_call(addr))
            .await
            .unwrap(),
        200
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_reset_mid_answer_is_charged_for_what_was_sent_and_the_connection_goes_on() {
    // 1,000 output tokens at 200 tokens/s: a 5 s stream.
    let server = start(&scenario(200, 1000), Limits::default());
    let addr = server.addr();
    let mut c = h2_connect(addr).await;
    let req = hyper::Request::builder()
        .method("POST")
        .uri(format!("http://quotasim/model/{MODEL}/converse-stream"))
        .body(())
        .unwrap();
    let (resp, mut send) = c.send_request(req, false).unwrap();
    send.send_data(Bytes::from_static(CONVERSE.as_bytes()), true)
        .unwrap();
    let resp = resp.await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    // Read a few events, then reset the stream (RST_STREAM CANCEL).
    let mut got = 0usize;
    while got < 3 {
        let chunk = body.data().await.unwrap().unwrap();
        let _ = body.flow_control().release_capacity(chunk.len());
        got += 1;
    }
    send.send_reset(h2::Reason::CANCEL);
    drop(body);
    // The same connection serves the next call, and so does another.
    let mut c2 = c.clone();
    assert_eq!(
        h2_post(
            &mut c2,
            &converse_path(),
            &[("x-quotasim-output-tokens", "10")],
            CONVERSE
        )
        .await
        .0,
        200
    );
    assert_eq!(
        tokio::task::spawn_blocking(move || h1_call(addr))
            .await
            .unwrap(),
        200
    );
    // Give the abandoned stream's task a moment to settle.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = tokio::task::spawn_blocking(move || report_of(server))
        .await
        .unwrap();
    assert_eq!(u(&r, "/serve/disconnected/attempts"), 1, "{}", r["serve"]);
    let charged = u(&r, "/serve/disconnected/output_tokens");
    // Some output went out (the 3 events held at least one delta), far from all 1,000.
    assert!((1..1000).contains(&charged), "{charged}");
    // Quota: 2 input tokens + 5 x the output charged.
    assert_eq!(u(&r, "/serve/disconnected/quota_consumed"), 2 + 5 * charged);
    assert_eq!(u(&r, "/requests/succeeded"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttle_after_header_that_is_not_a_number_is_a_validation_error() {
    let server = start(&scenario(100_000, 30), Limits::default());
    let addr = server.addr();
    let mut c = h2_connect(addr).await;
    let path = format!("/model/{MODEL}/converse-stream");
    for bad in ["abc", "-1", "1.5", "", "99999999999999999999999"] {
        let (status, headers, body) = h2_post(
            &mut c,
            &path,
            &[("x-quotasim-mid-stream-throttle-after", bad)],
            CONVERSE,
        )
        .await;
        assert_eq!(status, 400, "{bad:?}");
        let kind = headers["x-amzn-errortype"].to_str().unwrap();
        assert!(kind.starts_with("ValidationException:"), "{kind}");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("x-quotasim-mid-stream-throttle-after"),
            "{v}"
        );
    }
    // The same connection goes on; a valid value ends the stream after that many tokens.
    let (status, _, body) = h2_post(
        &mut c,
        &path,
        &[("x-quotasim-mid-stream-throttle-after", "12")],
        CONVERSE,
    )
    .await;
    assert_eq!(status, 200);
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains(":exception-type"), "{text}");
    assert!(text.contains("throttlingException"), "{text}");
    let r = tokio::task::spawn_blocking(move || report_of(server))
        .await
        .unwrap();
    assert_eq!(u(&r, "/serve/invalid_requests"), 5);
    assert_eq!(u(&r, "/attempts/throttled_mid_stream"), 1);
    assert_eq!(u(&r, "/serve/throttled_mid_stream/output_tokens"), 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_marked_by_x_stainless_retry_count_are_one_request() {
    let server = start(&scenario(100_000, 30), Limits::default());
    let addr = server.addr();
    let mut c = h2_connect(addr).await;
    let path = format!("/model/{MODEL}/invoke");
    let body = |text: &str| {
        format!(
            r#"{{"anthropic_version":"bedrock-2023-05-31","max_tokens":100,"messages":[{{"role":"user","content":"{text}"}}]}}"#
        )
    };
    let (a, b) = (body("first"), body("second"));
    // Two callers sending the same body (attempts 0, 0, then 1, 1, then 2), a third with
    // another body (0, 1), and two with an idempotency key (0 and 1 of one key, 0 of
    // another), and a plain call without any marker.
    let calls: Vec<(&str, Option<&str>, &str)> = vec![
        ("0", None, &a),
        ("0", None, &a),
        ("1", None, &a),
        ("1", None, &a),
        ("2", None, &a),
        ("0", None, &b),
        ("1", None, &b),
        ("0", Some("key-1"), &a),
        ("1", Some("key-1"), &b),
        ("0", Some("key-2"), &a),
    ];
    for (n, key, body) in &calls {
        let mut h = vec![("x-stainless-retry-count", *n)];
        if let Some(k) = key {
            h.push(("idempotency-key", k));
        }
        assert_eq!(h2_post(&mut c, &path, &h, body).await.0, 200);
    }
    assert_eq!(h2_post(&mut c, &path, &[], &a).await.0, 200);
    // An invocation ID wins over the marker: its own request.
    let h = [
        ("x-stainless-retry-count", "1"),
        ("amz-sdk-invocation-id", "inv-1"),
    ];
    assert_eq!(h2_post(&mut c, &path, &h, &a).await.0, 200);
    let r = tokio::task::spawn_blocking(move || report_of(server))
        .await
        .unwrap();
    assert_eq!(u(&r, "/attempts/sent"), 12);
    // a: 2 requests (3 + 2 attempts); b: 1 (2); key-1: 1 (2); key-2: 1; plain: 1; inv-1: 1.
    assert_eq!(u(&r, "/requests/arrived"), 7, "{}", r["requests"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_an_http2_stream_in_flight_finish() {
    // 200 output tokens at 400 tokens/s: a half-second stream.
    let server = start(&scenario(400, 200), Limits::default());
    let addr = server.addr();
    let mut c = h2_connect(addr).await;
    let path = format!("/model/{MODEL}/converse-stream");
    let call = tokio::spawn(async move { h2_post(&mut c, &path, &[], CONVERSE).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let report = tokio::task::spawn_blocking(move || report_of(server));
    let (status, _, body) = call.await.unwrap();
    assert_eq!(status, 200);
    // The whole stream arrived: its last event carries the usage.
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("metadata"), "{text}");
    assert!(text.contains(r#""outputTokens":200"#), "{text}");
    let r = report.await.unwrap();
    assert_eq!(u(&r, "/requests/succeeded"), 1);
    // No new connection is accepted once stopped.
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(1))
            .map(|mut s| {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = s.write_all(PREFACE);
                let mut b = [0u8; 1];
                matches!(s.read(&mut b), Ok(0) | Err(_))
            })
            .unwrap_or(true)
    );
}

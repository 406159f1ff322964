//! The HTTP server: tokio + hyper, HTTP/1.1 and HTTP/2 (prior knowledge) on one port, one
//! task per connection, so a slow client only ever holds up itself.

// An early `Err` here is the HTTP response itself, built once per call and returned at
// once; boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::{Frame, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::sync::{Semaphore, mpsc, watch};

use super::api::{self, Operation, StreamEvents, Usage};
use super::state::{Admit, Attempt, Clock, End, Sizes, State};
use super::{Config, Limits, Options};
use crate::quota::ThrottleCause;
use crate::quota::models::Tier;
use crate::scenario::Service;

/// How long calls in flight may take to finish after a shutdown request.
const DRAIN: Duration = Duration::from_secs(5);

/// Streaming deltas are sent at most this often per stream (wall clock); tokens generated
/// in between go out together.
const DELTA_EVERY: Duration = Duration::from_millis(50);

/// A running emulator.
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    limits: Limits,
    listen: String,
    ids: AtomicU64,
    refused_connections: AtomicU64,
    /// HTTP calls received over HTTP/1.x and over HTTP/2.
    http1_calls: AtomicU64,
    http2_calls: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the counters half-updated in a way
        // that matters more than stopping the server would; keep serving.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn request_id(&self) -> String {
        let n = self.ids.fetch_add(1, Ordering::Relaxed);
        // Shaped like a UUID; unique within the session.
        let x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5175_6f74_6173_696d;
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            (x >> 32) as u32,
            (x >> 16) as u16,
            (x & 0xfff) as u16,
            ((n >> 12) & 0xfff) as u16,
            n & 0xffff_ffff_ffff
        )
    }

    fn report(&self) -> serde_json::Value {
        let mut v = self.lock().report(&self.listen);
        if let Some(s) = v.get_mut("serve").and_then(|s| s.as_object_mut()) {
            s.insert(
                "refused_connections".into(),
                self.refused_connections.load(Ordering::Relaxed).into(),
            );
            s.insert(
                "http_calls".into(),
                serde_json::json!({
                    "http1": self.http1_calls.load(Ordering::Relaxed),
                    "http2": self.http2_calls.load(Ordering::Relaxed),
                }),
            );
        }
        v
    }
}

impl Server {
    /// Binds `options.listen` and starts serving on a background runtime.
    pub fn start(config: Config, options: Options) -> Result<Server, crate::Error> {
        let scale = options.time_scale;
        if !(scale.is_finite() && scale > 0.0 && scale <= super::MAX_TIME_SCALE) {
            return Err(crate::Error::Usage(format!(
                "--time-scale must be greater than 0 and at most {} (a simulated day in 8.64 s), got {scale}",
                super::MAX_TIME_SCALE
            )));
        }
        let io_err = |context: String| move |source| crate::Error::Io { context, source };
        let std_listener = std::net::TcpListener::bind(options.listen)
            .map_err(io_err(format!("cannot listen on {}", options.listen)))?;
        std_listener
            .set_nonblocking(true)
            .map_err(io_err("configuring the listening socket".into()))?;
        let addr = std_listener
            .local_addr()
            .map_err(io_err("reading the bound address".into()))?;
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        if options.threads > 0 {
            builder.worker_threads(options.threads);
        }
        let runtime = builder
            .enable_all()
            .thread_name("quotasim-serve")
            .build()
            .map_err(io_err("starting the async runtime".into()))?;
        let clock = Clock::new(options.time_scale);
        let state = State::new(config, clock);
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            limits: options.limits,
            listen: addr.to_string(),
            ids: AtomicU64::new(1),
            refused_connections: AtomicU64::new(0),
            http1_calls: AtomicU64::new(0),
            http2_calls: AtomicU64::new(0),
        });
        let (stop, stop_rx) = watch::channel(false);
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(std_listener)
                .map_err(io_err("registering the listening socket".into()))?
        };
        let sh = shared.clone();
        let thread = std::thread::Builder::new()
            .name("quotasim-serve".into())
            .spawn(move || {
                runtime.block_on(accept_loop(listener, sh, stop_rx));
                runtime.shutdown_timeout(Duration::from_millis(100));
            })
            .map_err(io_err("starting the server thread".into()))?;
        Ok(Server {
            addr,
            shared,
            stop,
            thread: Some(thread),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The live report (what `GET /quotasim/report` returns).
    pub fn report(&self) -> serde_json::Value {
        self.shared.report()
    }

    /// Stops accepting, lets calls in flight finish (up to 5 s) and returns the final
    /// report.
    pub fn shutdown(mut self) -> serde_json::Value {
        self.stop_and_join();
        self.shared.report()
    }

    fn stop_and_join(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let max = shared.limits.max_connections;
    let slots = Arc::new(Semaphore::new(max));
    // One port, two protocols: HTTP/1.1, and HTTP/2 when the client opens with the HTTP/2
    // connection preface (prior knowledge, no TLS).
    let mut http = auto::Builder::new(TokioExecutor::new());
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(shared.limits.header_timeout)
        .max_buf_size(shared.limits.max_header_bytes.max(8192))
        .keep_alive(true);
    http.http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(shared.limits.max_header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(MAX_STREAMS);
    let http = Arc::new(http);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => {
                        // Out of file descriptors or similar: back off briefly instead of
                        // spinning.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    // Over the cap: close at once rather than make the others wait.
                    shared.refused_connections.fetch_add(1, Ordering::Relaxed);
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(connection(
                    http.clone(),
                    stream,
                    shared.clone(),
                    stop.clone(),
                    permit,
                ));
            }
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    // Every connection holds a slot until it ends: all slots back means all calls finished.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    tokio::select! {
        _ = slots.acquire_many(all) => {}
        _ = tokio::time::sleep(DRAIN) => {}
    }
}

/// Streams one HTTP/2 connection may carry at once.
const MAX_STREAMS: u32 = 128;

/// Serves one connection until the client closes it, it stays idle for the keep-alive
/// timeout (the header timeout: no call in flight and no new one), or the server stops
/// (then calls in flight finish first: HTTP/1.1 closes after the current response, HTTP/2
/// sends GOAWAY).
async fn connection(
    http: Arc<auto::Builder<TokioExecutor>>,
    stream: tokio::net::TcpStream,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    permit: tokio::sync::OwnedSemaphorePermit,
) {
    let idle_after = shared.limits.header_timeout;
    let activity = Arc::new(Activity::new());
    let act = activity.clone();
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let sh = shared.clone();
        let busy = Busy::start(act.clone());
        async move {
            let r = handle(sh, req).await;
            Ok::<_, Infallible>(r.map(|body| Counted { body, _busy: busy }))
        }
    });
    let conn = http.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let mut closing = *stop.borrow();
    if closing {
        conn.as_mut().graceful_shutdown();
    }
    let mut check = tokio::time::Instant::now() + idle_after;
    loop {
        tokio::select! {
            _ = conn.as_mut() => break,
            changed = stop.changed(), if !closing => {
                if changed.is_err() || *stop.borrow() {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
            _ = tokio::time::sleep_until(check), if !closing => {
                match activity.idle_since() {
                    // A call is in flight: look again a timeout from now.
                    None => check = tokio::time::Instant::now() + idle_after,
                    Some(t) if t.elapsed() >= idle_after => {
                        closing = true;
                        conn.as_mut().graceful_shutdown();
                    }
                    Some(t) => check = tokio::time::Instant::from_std(t + idle_after),
                }
            }
        }
    }
    drop(permit);
}

/// Calls in flight on one connection, and when the last one ended.
struct Activity {
    inner: Mutex<(usize, Instant)>,
}

impl Activity {
    fn new() -> Self {
        Activity {
            inner: Mutex::new((0, Instant::now())),
        }
    }

    fn lock(&self) -> MutexGuard<'_, (usize, Instant)> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Since when the connection has had no call in flight (`None`: one is in flight).
    fn idle_since(&self) -> Option<Instant> {
        let g = self.lock();
        (g.0 == 0).then_some(g.1)
    }
}

/// One call in flight, from its request head until its response body is done with (sent,
/// or dropped when the client reset the stream or went away).
struct Busy(Arc<Activity>);

impl Busy {
    fn start(a: Arc<Activity>) -> Busy {
        a.lock().0 += 1;
        Busy(a)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut g = self.0.lock();
        g.0 = g.0.saturating_sub(1);
        g.1 = Instant::now();
    }
}

/// A response body that keeps its call counted as in flight until it is dropped.
pub(crate) struct Counted {
    body: Body,
    _busy: Busy,
}

impl hyper::body::Body for Counted {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// A response body: whole, or a stream of event-stream messages from a generator task.
pub(crate) enum Body {
    Full(Option<Bytes>),
    Stream(mpsc::Receiver<Bytes>),
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Body::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Body::Stream(rx) => rx.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(None))
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            Body::Full(Some(b)) => hyper::body::SizeHint::with_exact(b.len() as u64),
            Body::Full(None) => hyper::body::SizeHint::with_exact(0),
            Body::Stream(_) => hyper::body::SizeHint::default(),
        }
    }
}

fn response(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response<Body> {
    let mut r = Response::new(Body::Full(Some(Bytes::from(body))));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// An error as Bedrock sends it: the code in `x-amzn-ErrorType`, `{"message": …}` as body.
fn error(status: StatusCode, code: &str, message: &str, request_id: &str) -> Response<Body> {
    let mut r = response(status, "application/json", api::error_body(message));
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{code}:http://internal.amazon.com/coral/com.amazon.bedrock/"
    )) {
        h.insert("x-amzn-errortype", v);
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    r
}

fn validation(message: &str, request_id: &str) -> Response<Body> {
    error(
        StatusCode::BAD_REQUEST,
        "ValidationException",
        message,
        request_id,
    )
}

/// Percent-decodes a path segment (botocore escapes the `:` of model IDs as `%3A`).
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The Messages-API paths: `/anthropic/v1/messages` (where a Bedrock base URL ending in
/// `/anthropic` sends it) and `/v1/messages` (a base URL without it).
fn is_messages_path(path: &str) -> bool {
    matches!(path, "/anthropic/v1/messages" | "/v1/messages")
}

/// An error response rewritten in the Anthropic API's shape
/// (`{"type":"error","error":{"type":…,"message":…}}`), status and headers kept.
fn anthropic_shaped(r: Response<Body>) -> Response<Body> {
    let (parts, body) = r.into_parts();
    let message = match &body {
        Body::Full(Some(b)) => serde_json::from_slice::<serde_json::Value>(b)
            .ok()
            .and_then(|v| {
                v.get("message")
                    .and_then(|m| m.as_str())
                    .map(str::to_string)
            }),
        _ => None,
    };
    let Some(message) = message else {
        return Response::from_parts(parts, body);
    };
    let kind = api::anthropic_error_type(parts.status.as_u16());
    let text = api::anthropic_error(kind, &message).to_string();
    let mut r = Response::from_parts(parts, Body::Full(Some(Bytes::from(text))));
    r.headers_mut().remove(CONTENT_LENGTH);
    r
}

/// A response either way: `Err` ends a call early.
type Reply = Result<Response<Body>, Response<Body>>;

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    let rid = shared.request_id();
    let http1 = req.version() < hyper::Version::HTTP_2;
    if http1 {
        &shared.http1_calls
    } else {
        &shared.http2_calls
    }
    .fetch_add(1, Ordering::Relaxed);
    let messages_api = is_messages_path(req.uri().path());
    let idle = shared.limits.header_timeout.as_secs();
    let mut r = match route(&shared, req, &rid).await {
        Ok(r) | Err(r) => r,
    };
    if messages_api && !r.status().is_success() {
        r = anthropic_shaped(r);
    }
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&rid) {
        h.insert("x-amzn-requestid", v);
    }
    if http1 {
        // How long an idle connection stays open, so that a client never reuses a socket
        // the server is closing (HTTP/2 has no such header: GOAWAY says it).
        if let Ok(v) = HeaderValue::from_str(&format!("timeout={idle}")) {
            h.insert("keep-alive", v);
        }
    }
    r
}

async fn route(shared: &Arc<Shared>, req: Request<Incoming>, rid: &str) -> Reply {
    let path = req.uri().path().to_string();
    match (req.method(), path.as_str()) {
        (&Method::GET, "/quotasim/health") => {
            let body = serde_json::json!({ "status": "ok" }).to_string();
            return Ok(response(
                StatusCode::OK,
                "application/json",
                body.into_bytes(),
            ));
        }
        (&Method::GET, "/quotasim/report") => {
            let body = serde_json::to_vec_pretty(&shared.report()).unwrap_or_default();
            return Ok(response(StatusCode::OK, "application/json", body));
        }
        _ => {}
    }
    let (mut op, raw_id) = if is_messages_path(&path) {
        if req.method() != Method::POST {
            return Err(error(
                StatusCode::METHOD_NOT_ALLOWED,
                "UnknownOperationException",
                "Use POST",
                rid,
            ));
        }
        (Operation::Messages, "")
    } else {
        operation(req.method(), &path, rid)?
    };
    // From here on a refusal is a malformed call: counted apart, never an attempt.
    let invalid = |r: Response<Body>| {
        shared.lock().invalid();
        r
    };
    let mut model_id = percent_decode(raw_id)
        .ok_or_else(|| validation("The provided model identifier is invalid.", rid))
        .map_err(invalid)?;
    let (head, body) = req.into_parts();
    let body = read_body(shared.limits, &head, body, rid)
        .await
        .map_err(invalid)?;
    let mut call = Call::parse(&head, &body, op).map_err(|m| invalid(validation(&m, rid)))?;
    if let Some((model, stream)) = call.messages.take() {
        model_id = model;
        if stream {
            op = Operation::MessagesStream;
        }
    }
    let started = Instant::now();
    let (admit, service, clock) = admit(shared, &call, &model_id, op, rid)?;
    let attempt = match admit {
        Admit::Throttled {
            cause,
            latency_us,
            retry_after_s,
        } => {
            sleep(clock.wall(latency_us)).await;
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "ThrottlingException",
                api::throttle_message(cause),
                rid,
            );
            if let Some(s) = retry_after_s {
                // `x-amz-retry-after` in milliseconds (botocore 1.44.8 reads it),
                // `retry-after` in seconds (the Anthropic and OpenAI SDKs read it).
                let h = r.headers_mut();
                h.insert("x-amz-retry-after", s.saturating_mul(1000).into());
                h.insert("retry-after", s.into());
            }
            return Err(r);
        }
        Admit::Admitted(mut a) => {
            a.stream = op.streams();
            a
        }
    };
    let guard = Guard {
        shared: shared.clone(),
        attempt: Some(*attempt),
        started,
        gen_start: None,
        speed: service.output_tokens_per_second * clock.scale(),
        delivered: 0,
        streaming: op.streams(),
    };
    answer(
        guard,
        &service,
        clock,
        op,
        &model_id,
        rid,
        call.throttle_after,
    )
    .await
}

/// The operation a path names, and the model ID in it (still percent-encoded).
fn operation<'a>(
    method: &Method,
    path: &'a str,
    rid: &str,
) -> Result<(Operation, &'a str), Response<Body>> {
    let not_found = || {
        error(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            &format!("No operation at {path}"),
            rid,
        )
    };
    let mut parts = path.trim_start_matches('/').splitn(3, '/');
    let (Some("model"), Some(raw_id), Some(op)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(not_found());
    };
    let op = Operation::from_suffix(op).ok_or_else(not_found)?;
    if method != Method::POST {
        return Err(error(
            StatusCode::METHOD_NOT_ALLOWED,
            "UnknownOperationException",
            "Use POST",
            rid,
        ));
    }
    Ok((op, raw_id))
}

fn too_large(limits: Limits, rid: &str) -> Response<Body> {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "ValidationException",
        &format!(
            "The request body is larger than this server's limit of {} bytes.",
            limits.max_body_bytes
        ),
        rid,
    )
}

/// Reads a body of at most `max_body_bytes` within `body_timeout` (413 and 408 otherwise;
/// a declared length over the limit is refused before reading).
async fn read_body(
    limits: Limits,
    head: &hyper::http::request::Parts,
    body: Incoming,
    rid: &str,
) -> Result<Bytes, Response<Body>> {
    let declared = head
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body_bytes as u64) {
        return Err(too_large(limits, rid));
    }
    let body = Limited::new(body, limits.max_body_bytes);
    match tokio::time::timeout(limits.body_timeout, body.collect()).await {
        Ok(Ok(b)) => Ok(b.to_bytes()),
        Ok(Err(e))
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(too_large(limits, rid))
        }
        Ok(Err(_)) => Err(validation("The request body could not be read.", rid)),
        Err(_) => Err(error(
            StatusCode::REQUEST_TIMEOUT,
            "RequestTimeoutException",
            "The request body did not arrive in time.",
            rid,
        )),
    }
}

/// What one call asks for: its body and its `x-quotasim-*` and invocation headers.
struct Call {
    prompt: api::Prompt,
    input: Option<u64>,
    output: Option<u64>,
    class: Option<String>,
    invocation: Option<String>,
    /// `x-quotasim-mid-stream-throttle-after`: end a stream with a throttle after this many
    /// output tokens.
    throttle_after: Option<u64>,
    /// `x-stainless-retry-count` (the Anthropic and OpenAI SDKs' attempt number), with the
    /// key its attempts share: the `idempotency-key` header when sent, else a hash of the
    /// path and body (which an SDK's retry repeats byte for byte).
    stainless: Option<(u32, u64)>,
    /// Messages API: the body's model and whether it asks for a stream.
    messages: Option<(String, bool)>,
    /// The service tier asked for: `serviceTier.type` of a Converse body, the
    /// `X-Amzn-Bedrock-Service-Tier` header of InvokeModel (none on the Messages API).
    tier: Option<api::ServiceTier>,
}

impl Call {
    fn parse(
        head: &hyper::http::request::Parts,
        body: &[u8],
        op: Operation,
    ) -> Result<Call, String> {
        let header = |name: &str| head.headers.get(name).and_then(|v| v.to_str().ok());
        let number = |name: &str| -> Result<Option<u64>, String> {
            match header(name) {
                None => Ok(None),
                Some(v) => v.trim().parse::<u64>().map(Some).map_err(|_| {
                    format!("Header {name} must be a whole number of tokens, got {v:?}.")
                }),
            }
        };
        let mut messages = None;
        let prompt = if op.messages_api() {
            let (prompt, model, stream) = api::parse_messages(body)?;
            messages = Some((model, stream));
            prompt
        } else if op.anthropic_body() {
            api::parse_anthropic(body)?
        } else {
            api::parse_converse(body)?
        };
        let stainless = header("x-stainless-retry-count")
            .and_then(|v| v.trim().parse::<u32>().ok())
            .map(|n| {
                use std::hash::{Hash, Hasher};
                let mut h = std::collections::hash_map::DefaultHasher::new();
                match header("idempotency-key") {
                    Some(k) => ("key", k).hash(&mut h),
                    None => ("body", head.uri.path(), body).hash(&mut h),
                }
                (n, h.finish())
            });
        let tier = if op.messages_api() {
            None
        } else if op.anthropic_body() {
            header("x-amzn-bedrock-service-tier")
                .map(|v| api::ServiceTier::parse(v, "serviceTier"))
                .transpose()?
        } else {
            prompt.service_tier
        };
        Ok(Call {
            tier,
            prompt,
            input: number("x-quotasim-input-tokens")?,
            output: number("x-quotasim-output-tokens")?,
            class: header("x-quotasim-class").map(str::to_string),
            invocation: header("amz-sdk-invocation-id").map(str::to_string),
            throttle_after: number("x-quotasim-mid-stream-throttle-after")?,
            stainless,
            messages,
        })
    }
}

/// Picks the pool, checks the call against its model, draws the sizes and checks the
/// quota, all under the lock.
fn admit(
    shared: &Shared,
    call: &Call,
    model_id: &str,
    op: Operation,
    rid: &str,
) -> Result<(Admit, Service, Clock), Response<Body>> {
    let mut st = shared.lock();
    checked_admit(&mut st, call, model_id, op).map_err(|m| {
        st.invalid();
        validation(&m, rid)
    })
}

fn checked_admit(
    st: &mut State,
    call: &Call,
    model_id: &str,
    op: Operation,
) -> Result<(Admit, Service, Clock), String> {
    let unknown = || "The provided model identifier is invalid.".to_string();
    if st.is_profile_only_bare(model_id) {
        return Err(profile_only_message(model_id));
    }
    let pool = st.pool_of(model_id).ok_or_else(unknown)?;
    let model = st.model(pool).cloned().ok_or_else(unknown)?;
    let mut service = st.service(pool).cloned().ok_or_else(unknown)?;
    let tier = service_tier(call.tier, &model, st.pool_is_reserved(pool), model_id)?;
    if let Some(row) = model.tiers.get(tier).filter(|_| tier != Tier::Standard) {
        // The tier's decode speed, as in a run.
        service.output_tokens_per_second *= row.speed_factor;
    }
    if let Some(c) = call.class.as_deref().filter(|c| !st.has_class(c)) {
        let names = st.class_names().join(", ");
        return Err(format!(
            "Header x-quotasim-class names no request class: {c:?} (classes: {names})."
        ));
    }
    let limit = model.max_output_tokens;
    if let Some(m) = call.prompt.max_tokens.filter(|&m| m > limit) {
        return Err(if op.anthropic_body() {
            format!(
                "max_tokens: {m} > {limit}, which is the maximum allowed number of output tokens for {model_id}"
            )
        } else {
            format!(
                "The maximum tokens you requested exceeds the model limit of {limit}. Try again with a maximum tokens value that is lower than {limit}."
            )
        });
    }
    let drawn = st.draw(call.class.as_deref());
    // An SDK without invocation IDs: its retries are one request by their retry marker.
    let retry_key = match (&call.invocation, call.stainless) {
        (None, Some((count, key))) => Some(st.retry_key(key, count)),
        _ => None,
    };
    let sizes = Sizes {
        input: call
            .input
            .unwrap_or_else(|| tokenized(call.prompt.estimated_input, model.tokenizer_factor)),
        output: call.output.or(drawn.map(|d| d.output)).unwrap_or(limit),
        cache_write: drawn.map_or(0, |d| d.cache_write),
        cache_read: drawn.map_or(0, |d| d.cache_read),
        max_tokens: call.prompt.max_tokens.unwrap_or(limit),
    };
    let clock = st.clock;
    Ok((
        st.admit(
            pool,
            call.invocation.as_deref().or(retry_key.as_deref()),
            sizes,
            tier,
        ),
        service,
        clock,
    ))
}

/// The tier a call is served in: `default` (or none) is standard; `priority` and `flex`
/// when the model's row offers them; `reserved` only on a reserved pool (served there as
/// any call to it is). Otherwise the 400 message, naming the model.
fn service_tier(
    asked: Option<api::ServiceTier>,
    model: &crate::scenario::Model,
    reserved_pool: bool,
    model_id: &str,
) -> Result<Tier, String> {
    let tier = match asked {
        None | Some(api::ServiceTier::Default) => return Ok(Tier::Standard),
        Some(api::ServiceTier::Reserved) if reserved_pool => return Ok(Tier::Standard),
        Some(api::ServiceTier::Reserved) => {
            return Err(format!(
                "The reserved service tier is not available for model {model_id}: no reserved capacity serves it."
            ));
        }
        Some(api::ServiceTier::Priority) => Tier::Priority,
        Some(api::ServiceTier::Flex) => Tier::Flex,
    };
    if model.tiers.get(tier).is_some() {
        return Ok(tier);
    }
    let offered: Vec<&str> = Tier::ALL
        .iter()
        .filter(|t| model.tiers.get(**t).is_some())
        .map(|t| match t {
            Tier::Standard => "default",
            other => other.name(),
        })
        .collect();
    Err(format!(
        "The {} service tier is not supported for model {model_id} ({}). Supported service tiers: {}.",
        tier.name(),
        model.preset,
        offered.join(", ")
    ))
}

/// Bedrock's answer to an on-demand call naming a profile-only model by its bare ID.
pub(crate) fn profile_only_message(model_id: &str) -> String {
    format!(
        "Invocation of model ID {model_id} with on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference profile that contains this model."
    )
}

/// The text estimate `ceil(characters / 4)` in the model's tokens: times its tokenizer
/// factor (about 1.3 on Anthropic's newer tokenizer), rounded up; unchanged at 1.0.
pub(crate) fn tokenized(estimate: u64, factor: f64) -> u64 {
    if factor == 1.0 {
        return estimate;
    }
    crate::num::round_u64((estimate as f64 * factor).ceil()).max(1)
}

/// Serves an admitted attempt: a 503 after the time to first token, a whole answer after
/// the service time, or a stream.
async fn answer(
    mut guard: Guard,
    service: &Service,
    clock: Clock,
    op: Operation,
    model_id: &str,
    rid: &str,
    throttle_after: Option<u64>,
) -> Reply {
    let internal = || validation("internal error", rid);
    let (input, output, fails, cuts_off) = match guard.attempt.as_ref() {
        Some(a) => (a.input, a.output, a.fails, a.cuts_off),
        None => return Err(internal()),
    };
    let started = guard.started;
    let prefill_us = service.service_time_us(input, 0);
    let msg_id = format!("msg_bdrk_{}", rid.replace('-', ""));
    if fails {
        sleep(clock.wall(service.ttft_us)).await;
        guard.end(End::ServerError);
        return Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailableException",
            "Service Unavailable. Please try your request again.",
            rid,
        ));
    }
    if !op.streams() {
        guard.gen_start = started.checked_add(clock.wall(prefill_us));
        if cuts_off {
            generate_in_ticks(&mut guard, service, clock, input, output).await;
        } else {
            sleep(clock.wall(service.service_time_us(input, output))).await;
        }
        let a = guard.end(End::Success).ok_or_else(internal)?;
        let u = Usage {
            input: a.input,
            output: a.output,
            cache_read: a.cache_read,
            cache_write: a.cache_write,
            truncated: a.truncated,
            latency_ms: started.elapsed().as_millis() as u64,
        };
        let body = if op == Operation::Converse {
            api::converse_response(&u)
        } else {
            api::invoke_response(&u, model_id, &msg_id)
        };
        let mut r = response(StatusCode::OK, "application/json", body);
        if op == Operation::InvokeModel {
            let h = r.headers_mut();
            h.insert("x-amzn-bedrock-input-token-count", u.input.into());
            h.insert("x-amzn-bedrock-output-token-count", u.output.into());
            h.insert("x-amzn-bedrock-invocation-latency", u.latency_ms.into());
        }
        return Ok(r);
    }
    // Streaming: the head goes out at the first byte, deltas as tokens are generated.
    sleep(clock.wall(prefill_us)).await;
    guard.gen_start = Some(Instant::now());
    let first_byte_ms = started.elapsed().as_millis() as u64;
    let (tx, rx) = mpsc::channel::<Bytes>(8);
    tokio::spawn(stream_answer(
        guard,
        op,
        tx,
        model_id.to_string(),
        msg_id,
        first_byte_ms,
        throttle_after,
    ));
    let mut r = Response::new(Body::Stream(rx));
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(if op.messages_api() {
            "text/event-stream"
        } else {
            "application/vnd.amazon.eventstream"
        }),
    );
    if op == Operation::InvokeModelWithResponseStream {
        h.insert(
            "x-amzn-bedrock-content-type",
            HeaderValue::from_static("application/json"),
        );
    }
    Ok(r)
}

/// A non-streamed answer from a pool with an output budget that cuts answers off: generated
/// (and charged) every [`DELTA_EVERY`] as a stream would be, stopping where the budget runs
/// out.
async fn generate_in_ticks(
    guard: &mut Guard,
    service: &Service,
    clock: Clock,
    input: u64,
    output: u64,
) {
    let start = guard.started;
    let gen_start = start
        .checked_add(clock.wall(service.service_time_us(input, 0)))
        .unwrap_or_else(far_future);
    let end = start
        .checked_add(clock.wall(service.service_time_us(input, output)))
        .unwrap_or_else(far_future);
    tokio::time::sleep_until(gen_start.into()).await;
    loop {
        let due = Instant::now()
            .checked_add(DELTA_EVERY)
            .unwrap_or_else(far_future)
            .min(end);
        tokio::time::sleep_until(due.into()).await;
        let g = if Instant::now() >= end {
            output
        } else {
            let g = (gen_start.elapsed().as_secs_f64() * guard.speed).floor();
            if g.is_finite() && g >= 0.0 {
                (g as u64).min(output)
            } else {
                output
            }
        };
        let reached = guard.tick(g);
        if reached < g || reached >= output {
            return;
        }
    }
}

async fn sleep(d: Duration) {
    if !d.is_zero() {
        // tokio caps a sleep far in the future (a tiny --time-scale) instead of overflowing.
        tokio::time::sleep_until(
            Instant::now()
                .checked_add(d)
                .unwrap_or_else(far_future)
                .into(),
        )
        .await;
    }
}

/// An instant about a year from now: "never" for a sleep.
fn far_future() -> Instant {
    let now = Instant::now();
    now.checked_add(Duration::from_secs(365 * 86_400))
        .unwrap_or(now)
}

/// Generates a streamed answer; stops early (charging what was generated) when the client
/// goes away, or with a throttle event after `throttle_after` output tokens when the answer
/// is longer.
async fn stream_answer(
    mut guard: Guard,
    op: Operation,
    tx: mpsc::Sender<Bytes>,
    model_id: String,
    msg_id: String,
    first_byte_ms: u64,
    throttle_after: Option<u64>,
) {
    let Some(a) = guard.attempt.as_ref() else {
        return;
    };
    let (total, started) = (a.output, guard.started);
    let head_usage = Usage {
        input: a.input,
        output: 0,
        cache_read: a.cache_read,
        cache_write: a.cache_write,
        truncated: false,
        latency_ms: 0,
    };
    if tx
        .send(Bytes::from(StreamEvents::head(
            op,
            &head_usage,
            &model_id,
            &msg_id,
        )))
        .await
        .is_err()
    {
        return; // The guard charges what was generated (nothing yet).
    }
    let gen_start = guard.gen_start.unwrap_or_else(Instant::now);
    let speed = guard.speed;
    let per_event = if speed.is_finite() {
        (speed * DELTA_EVERY.as_secs_f64()).ceil().max(1.0) as u64
    } else {
        total.max(1)
    };
    let throttle_at = throttle_after.filter(|&n| n < total);
    let goal = throttle_at.unwrap_or(total);
    let mut sent = 0u64;
    let mut cut = false;
    while sent < goal {
        let next = sent.saturating_add(per_event).min(goal);
        let wait = Duration::try_from_secs_f64(next as f64 / speed).unwrap_or(Duration::MAX);
        let due = gen_start.checked_add(wait).unwrap_or_else(far_future);
        tokio::select! {
            _ = tokio::time::sleep_until(due.into()) => {}
            _ = tx.closed() => return,
        }
        // Charged before it goes out: an output budget may cut the answer off here, and a
        // refused tick (`quota.mid_stream_throttle`) ends the stream as Bedrock does.
        let reached = guard.tick(next);
        if guard
            .attempt
            .as_ref()
            .is_some_and(|a| a.throttled_mid_stream)
        {
            // What the ticks charged went out; the quota keeps it (see `State::end`).
            guard.end(End::ThrottledMidStream { delivered: sent });
            let _ = tx
                .send(Bytes::from(StreamEvents::throttled(
                    op,
                    api::throttle_message(ThrottleCause::TokensPerMinute),
                )))
                .await;
            return;
        }
        if reached > sent
            && tx
                .send(Bytes::from(StreamEvents::delta(op, sent, reached - sent)))
                .await
                .is_err()
        {
            return;
        }
        sent = reached.max(sent);
        guard.delivered = sent;
        if reached < next {
            cut = true;
            break;
        }
    }
    if throttle_at.is_some() && !cut {
        // The output so far went out and is billed; the stream ends with a throttle.
        guard.end(End::ThrottledMidStream { delivered: sent });
        let _ = tx
            .send(Bytes::from(StreamEvents::throttled(
                op,
                api::throttle_message(ThrottleCause::TokensPerMinute),
            )))
            .await;
        return;
    }
    let Some(a) = guard.end(End::Success) else {
        return;
    };
    let u = Usage {
        input: a.input,
        output: a.output,
        cache_read: a.cache_read,
        cache_write: a.cache_write,
        truncated: a.truncated,
        latency_ms: started.elapsed().as_millis() as u64,
    };
    let _ = tx
        .send(Bytes::from(StreamEvents::tail(op, &u, first_byte_ms)))
        .await;
}

/// Settles an admitted attempt exactly once: when it ends normally, or, if its task is
/// dropped first (the client went away), for the output generated by then.
struct Guard {
    shared: Arc<Shared>,
    attempt: Option<Attempt>,
    started: Instant,
    /// When generation started (after the time to first token).
    gen_start: Option<Instant>,
    /// Output tokens per wall-clock second.
    speed: f64,
    /// Output tokens sent on a stream.
    delivered: u64,
    /// Whether the answer streams (then `delivered` is what was generated).
    streaming: bool,
}

impl Guard {
    fn end(&mut self, end: End) -> Option<Attempt> {
        let a = self.attempt.take()?;
        self.shared.lock().end(&a, end);
        Some(a)
    }

    /// Charges output generated so far; returns the count reached (less when an output
    /// budget cut the answer off).
    fn tick(&mut self, generated: u64) -> u64 {
        match self.attempt.as_mut() {
            Some(a) => self.shared.lock().tick(a, generated),
            None => generated,
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let Some(a) = self.attempt.take() else {
            return;
        };
        // Tokens generated by now: for a stream, what it sent; otherwise what the decode
        // speed produced since generation started.
        let generated = match self.gen_start {
            Some(t) if !self.streaming => {
                let g = (t.elapsed().as_secs_f64() * self.speed).floor();
                if g.is_finite() && g >= 0.0 {
                    (g as u64).min(a.output)
                } else {
                    0
                }
            }
            _ => self.delivered,
        };
        self.shared.lock().end(
            &a,
            End::Disconnected {
                delivered: generated,
            },
        );
    }
}

#[cfg(test)]
mod tokenizer_tests {
    use super::tokenized;

    /// The text estimate ceil(chars / 4) times the row's tokenizer factor, rounded up: 400
    /// characters are 100 tokens on the older tokenizer, 130 on the newer (factor 1.3); 7
    /// tokens become ceil(9.1) = 10. A factor of 1.0 changes nothing.
    #[test]
    fn the_newer_tokenizer_counts_about_thirty_percent_more() {
        assert_eq!(tokenized(100, 1.3), 130);
        assert_eq!(tokenized(7, 1.3), 10);
        assert_eq!(tokenized(7, 1.0), 7);
        assert_eq!(tokenized(1, 1.3), 2);
    }
}

//! The Bedrock Runtime wire format: request bodies in, response bodies and stream events
//! out. Shapes follow the `bedrock-runtime` 2023-09-30 service model (botocore's
//! `service-2.json`) and the Anthropic Messages body that `InvokeModel` carries; the
//! Messages-API path (`/anthropic/v1/messages`) speaks the Anthropic Messages API itself,
//! with server-sent events when streaming.

use serde_json::{Value, json};

use super::eventstream;
use crate::quota::ThrottleCause;

/// The operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `POST /model/{modelId}/invoke`.
    InvokeModel,
    /// `POST /model/{modelId}/invoke-with-response-stream`.
    InvokeModelWithResponseStream,
    /// `POST /model/{modelId}/converse`.
    Converse,
    /// `POST /model/{modelId}/converse-stream`.
    ConverseStream,
    /// `POST /anthropic/v1/messages` (or `/v1/messages`), the model in the body.
    Messages,
    /// The same with `"stream": true`: server-sent events.
    MessagesStream,
}

impl Operation {
    /// The operation a path suffix names.
    pub fn from_suffix(s: &str) -> Option<Self> {
        Some(match s {
            "invoke" => Operation::InvokeModel,
            "invoke-with-response-stream" => Operation::InvokeModelWithResponseStream,
            "converse" => Operation::Converse,
            "converse-stream" => Operation::ConverseStream,
            _ => return None,
        })
    }

    /// Whether the response is an event stream.
    pub fn streams(self) -> bool {
        matches!(
            self,
            Operation::InvokeModelWithResponseStream
                | Operation::ConverseStream
                | Operation::MessagesStream
        )
    }

    /// Whether it is the Messages API (errors and streams in Anthropic's format).
    pub fn messages_api(self) -> bool {
        matches!(self, Operation::Messages | Operation::MessagesStream)
    }

    /// Whether the body is an Anthropic Messages body (else a Converse body).
    pub fn anthropic_body(self) -> bool {
        !matches!(self, Operation::Converse | Operation::ConverseStream)
    }
}

/// What the emulator needs from a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prompt {
    /// Input tokens estimated from the prompt text: ceil(characters / 4), at least 1.
    pub estimated_input: u64,
    /// `max_tokens` (`inferenceConfig.maxTokens` for Converse), if given.
    pub max_tokens: Option<u64>,
    /// The service tier a Converse body asks for (`serviceTier.type`), if any.
    pub service_tier: Option<ServiceTier>,
}

/// A service tier as Bedrock Runtime's API names it: `serviceTier.type` in a Converse body,
/// the `X-Amzn-Bedrock-Service-Tier` header of InvokeModel and
/// InvokeModelWithResponseStream (botocore's `ServiceTierType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceTier {
    /// `default`: the standard tier.
    Default,
    /// `priority`.
    Priority,
    /// `flex`.
    Flex,
    /// `reserved`: reserved capacity.
    Reserved,
}

impl ServiceTier {
    /// The API's values, in its order.
    pub const VALUES: &'static str = "[priority, default, flex, reserved]";

    /// The tier named `v` on the wire; at `field` for the validation message otherwise.
    pub fn parse(v: &str, field: &str) -> Result<ServiceTier, String> {
        match v {
            "default" => Ok(ServiceTier::Default),
            "priority" => Ok(ServiceTier::Priority),
            "flex" => Ok(ServiceTier::Flex),
            "reserved" => Ok(ServiceTier::Reserved),
            _ => Err(format!(
                "1 validation error detected: Value '{v}' at '{field}' failed to satisfy constraint: Member must satisfy enum value set: {}",
                Self::VALUES
            )),
        }
    }

    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            ServiceTier::Default => "default",
            ServiceTier::Priority => "priority",
            ServiceTier::Flex => "flex",
            ServiceTier::Reserved => "reserved",
        }
    }
}

/// The suffix Bedrock puts on "Malformed input request" messages.
fn malformed(what: &str) -> String {
    format!("Malformed input request: {what}, please reformat your input and try again.")
}

/// Characters of prompt text: every `text` string and every string `content`, anywhere
/// under `v`.
fn text_chars(v: &Value, key: Option<&str>) -> u64 {
    match v {
        Value::String(s) if matches!(key, Some("text" | "content")) => s.chars().count() as u64,
        Value::Array(a) => a.iter().map(|x| text_chars(x, key)).sum(),
        Value::Object(m) => m.iter().map(|(k, x)| text_chars(x, Some(k))).sum(),
        _ => 0,
    }
}

/// The input-token estimate: ceil(chars / 4), at least 1.
pub fn estimate_tokens(chars: u64) -> u64 {
    chars.div_ceil(4).max(1)
}

/// Parses an Anthropic Messages body (InvokeModel). `max_tokens` is required, as on Bedrock.
pub fn parse_anthropic(body: &[u8]) -> Result<Prompt, String> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| malformed(&format!("#: expected a JSON object ({e})")))?;
    let Value::Object(m) = &v else {
        return Err(malformed("#: expected type: JSONObject"));
    };
    let messages = match m.get("messages") {
        Some(Value::Array(a)) => a,
        Some(_) => return Err(malformed("#/messages: expected type: JSONArray")),
        None => return Err(malformed("#: required key [messages] not found")),
    };
    let max_tokens = match m.get("max_tokens") {
        Some(x) => match x.as_u64() {
            Some(n) if n >= 1 => n,
            _ => return Err(malformed("#/max_tokens: expected an integer of at least 1")),
        },
        None => return Err(malformed("#: required key [max_tokens] not found")),
    };
    let chars = text_chars(&Value::Array(messages.clone()), None)
        + m.get("system").map_or(0, |s| text_chars(s, Some("text")));
    Ok(Prompt {
        estimated_input: estimate_tokens(chars),
        max_tokens: Some(max_tokens),
        service_tier: None,
    })
}

/// Parses a Messages-API body: an Anthropic Messages body that also names its `model` and
/// may ask for a stream. Returns the prompt, the model ID and whether it streams.
pub fn parse_messages(body: &[u8]) -> Result<(Prompt, String, bool), String> {
    let prompt = parse_anthropic(body)?;
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let model = match v.get("model") {
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        _ => return Err("model: Field required".into()),
    };
    let stream = match v.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("stream: Input should be a valid boolean".into()),
    };
    Ok((prompt, model, stream))
}

/// Parses a Converse body. Without `inferenceConfig.maxTokens` the caller reserves the
/// model's maximum output.
pub fn parse_converse(body: &[u8]) -> Result<Prompt, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        format!("1 validation error detected: the request body is not valid JSON ({e})")
    })?;
    let Value::Object(m) = &v else {
        return Err("1 validation error detected: the request body must be a JSON object".into());
    };
    let messages = match m.get("messages") {
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(
                "1 validation error detected: Value at 'messages' failed to satisfy constraint: Member must be a list"
                    .into(),
            );
        }
        None => {
            return Err(
                "1 validation error detected: Value null at 'messages' failed to satisfy constraint: Member must not be null"
                    .into(),
            );
        }
    };
    let max_tokens = match m.get("inferenceConfig").and_then(|c| c.get("maxTokens")) {
        None | Some(Value::Null) => None,
        Some(x) => match x.as_u64() {
            Some(n) if n >= 1 => Some(n),
            _ => {
                return Err(format!(
                    "1 validation error detected: Value '{x}' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1"
                ));
            }
        },
    };
    let service_tier = match m.get("serviceTier") {
        None | Some(Value::Null) => None,
        Some(t) => match t.get("type") {
            Some(Value::String(v)) => Some(ServiceTier::parse(v, "serviceTier.type")?),
            _ => {
                return Err(
                    "1 validation error detected: Value null at 'serviceTier.type' failed to satisfy constraint: Member must not be null"
                        .into(),
                );
            }
        },
    };
    let chars = text_chars(&Value::Array(messages.clone()), None)
        + m.get("system").map_or(0, |s| text_chars(s, None));
    Ok(Prompt {
        estimated_input: estimate_tokens(chars),
        max_tokens,
        service_tier,
    })
}

/// The generated answer: `n` tokens of 4 characters each, so that the estimate above gives
/// `n` back for it.
pub fn answer_text(from: u64, n: u64) -> String {
    const TEXT: &[u8; 80] =
        b"This answer was generated by quotasim serve to stand in for a real model reply. ";
    let mut s = String::with_capacity(n as usize * 4);
    for k in from..from.saturating_add(n) {
        let i = (k % 20) as usize * 4;
        if let Some(piece) = TEXT.get(i..i + 4) {
            s.push_str(std::str::from_utf8(piece).unwrap_or("word"));
        }
    }
    s
}

/// What a finished attempt reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Input tokens I.
    pub input: u64,
    /// Output tokens A.
    pub output: u64,
    /// Cache-read tokens.
    pub cache_read: u64,
    /// Cache-write tokens.
    pub cache_write: u64,
    /// Whether the output was cut at `max_tokens`.
    pub truncated: bool,
    /// Wall-clock latency, ms.
    pub latency_ms: u64,
}

impl Usage {
    fn stop_reason(&self) -> &'static str {
        if self.truncated {
            "max_tokens"
        } else {
            "end_turn"
        }
    }

    /// Converse's `TokenUsage`.
    fn converse(&self) -> Value {
        let mut u = json!({
            "inputTokens": self.input,
            "outputTokens": self.output,
            "totalTokens": self.input + self.output,
        });
        if let Value::Object(m) = &mut u {
            if self.cache_read > 0 {
                m.insert("cacheReadInputTokens".into(), self.cache_read.into());
            }
            if self.cache_write > 0 {
                m.insert("cacheWriteInputTokens".into(), self.cache_write.into());
            }
        }
        u
    }

    /// The Anthropic body's `usage`.
    fn anthropic(&self, output: u64) -> Value {
        let mut u = json!({ "input_tokens": self.input, "output_tokens": output });
        if let Value::Object(m) = &mut u {
            m.insert(
                "cache_creation_input_tokens".into(),
                self.cache_write.into(),
            );
            m.insert("cache_read_input_tokens".into(), self.cache_read.into());
        }
        u
    }
}

/// The body of a successful `Converse`.
pub fn converse_response(u: &Usage) -> Vec<u8> {
    json!({
        "output": { "message": { "role": "assistant",
                                 "content": [ { "text": answer_text(0, u.output) } ] } },
        "stopReason": u.stop_reason(),
        "usage": u.converse(),
        "metrics": { "latencyMs": u.latency_ms },
    })
    .to_string()
    .into_bytes()
}

/// The body of a successful `InvokeModel` (an Anthropic Messages response).
pub fn invoke_response(u: &Usage, model_id: &str, id: &str) -> Vec<u8> {
    json!({
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": model_id,
        "content": [ { "type": "text", "text": answer_text(0, u.output) } ],
        "stop_reason": u.stop_reason(),
        "stop_sequence": null,
        "usage": u.anthropic(u.output),
    })
    .to_string()
    .into_bytes()
}

/// The events of a streamed answer, in order. The HTTP layer sends the head first, then
/// the deltas as they are generated, then the tail.
pub struct StreamEvents;

impl StreamEvents {
    /// Events before the first delta.
    pub fn head(op: Operation, u: &Usage, model_id: &str, id: &str) -> Vec<u8> {
        match op {
            // Bedrock sends `contentBlockStart` only for tool use; a text block starts with
            // its first delta.
            Operation::ConverseStream => {
                eventstream::event("messageStart", br#"{"role":"assistant"}"#)
            }
            Operation::MessagesStream => {
                let mut out = sse(&json!({
                    "type": "message_start",
                    "message": {
                        "id": id, "type": "message", "role": "assistant", "model": model_id,
                        "content": [], "stop_reason": null, "stop_sequence": null,
                        "usage": u.anthropic(0),
                    }
                }));
                out.extend(sse(&json!({
                    "type": "content_block_start", "index": 0,
                    "content_block": { "type": "text", "text": "" }
                })));
                out.extend(sse(&json!({ "type": "ping" })));
                out
            }
            _ => {
                let mut out = chunk(&json!({
                    "type": "message_start",
                    "message": {
                        "id": id, "type": "message", "role": "assistant", "model": model_id,
                        "content": [], "stop_reason": null, "stop_sequence": null,
                        "usage": u.anthropic(0),
                    }
                }));
                out.extend(chunk(&json!({
                    "type": "content_block_start", "index": 0,
                    "content_block": { "type": "text", "text": "" }
                })));
                out
            }
        }
    }

    /// One delta carrying output tokens `[from, from + n)`.
    pub fn delta(op: Operation, from: u64, n: u64) -> Vec<u8> {
        let text = answer_text(from, n);
        match op {
            Operation::ConverseStream => eventstream::event(
                "contentBlockDelta",
                json!({ "contentBlockIndex": 0, "delta": { "text": text } })
                    .to_string()
                    .as_bytes(),
            ),
            Operation::MessagesStream => sse(&json!({
                "type": "content_block_delta", "index": 0,
                "delta": { "type": "text_delta", "text": text }
            })),
            _ => chunk(&json!({
                "type": "content_block_delta", "index": 0,
                "delta": { "type": "text_delta", "text": text }
            })),
        }
    }

    /// The event that ends a stream with a throttle: Bedrock's `throttlingException`
    /// exception message on the event-stream operations, an `error` event of type
    /// `rate_limit_error` on the Messages API.
    pub fn throttled(op: Operation, message: &str) -> Vec<u8> {
        if op == Operation::MessagesStream {
            return sse(&anthropic_error("rate_limit_error", message));
        }
        eventstream::exception(
            "throttlingException",
            json!({ "message": message }).to_string().as_bytes(),
        )
    }

    /// Events after the last delta, with the final usage.
    pub fn tail(op: Operation, u: &Usage, first_byte_ms: u64) -> Vec<u8> {
        match op {
            Operation::ConverseStream => {
                let mut out = eventstream::event("contentBlockStop", br#"{"contentBlockIndex":0}"#);
                out.extend(eventstream::event(
                    "messageStop",
                    json!({ "stopReason": u.stop_reason() })
                        .to_string()
                        .as_bytes(),
                ));
                out.extend(eventstream::event(
                    "metadata",
                    json!({ "usage": u.converse(), "metrics": { "latencyMs": u.latency_ms } })
                        .to_string()
                        .as_bytes(),
                ));
                out
            }
            Operation::MessagesStream => {
                let mut out = sse(&json!({ "type": "content_block_stop", "index": 0 }));
                out.extend(sse(&json!({
                    "type": "message_delta",
                    "delta": { "stop_reason": u.stop_reason(), "stop_sequence": null },
                    "usage": { "output_tokens": u.output }
                })));
                out.extend(sse(&json!({ "type": "message_stop" })));
                out
            }
            _ => {
                let mut out = chunk(&json!({ "type": "content_block_stop", "index": 0 }));
                out.extend(chunk(&json!({
                    "type": "message_delta",
                    "delta": { "stop_reason": u.stop_reason(), "stop_sequence": null },
                    "usage": { "output_tokens": u.output }
                })));
                out.extend(chunk(&json!({
                    "type": "message_stop",
                    "amazon-bedrock-invocationMetrics": {
                        "inputTokenCount": u.input,
                        "outputTokenCount": u.output,
                        "invocationLatency": u.latency_ms,
                        "firstByteLatency": first_byte_ms,
                    }
                })));
                out
            }
        }
    }
}

/// An `InvokeModelWithResponseStream` `chunk` event carrying one Anthropic stream event.
fn chunk(v: &Value) -> Vec<u8> {
    let payload = json!({ "bytes": eventstream::base64(v.to_string().as_bytes()) });
    eventstream::event("chunk", payload.to_string().as_bytes())
}

/// One server-sent event named after the JSON's `type`.
fn sse(v: &Value) -> Vec<u8> {
    let name = v.get("type").and_then(Value::as_str).unwrap_or("message");
    format!("event: {name}\ndata: {v}\n\n").into_bytes()
}

/// An error in the Anthropic API's shape.
pub fn anthropic_error(kind: &str, message: &str) -> Value {
    json!({ "type": "error", "error": { "type": kind, "message": message } })
}

/// The Anthropic API's error type for an HTTP status.
pub fn anthropic_error_type(status: u16) -> &'static str {
    match status {
        400 | 405 | 408 | 431 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        _ => "api_error",
    }
}

/// The throttle message Bedrock sends for a refusal by a limit of kind `cause`: one for
/// request limits, one for token limits over a minute, one for token limits over a day.
pub fn throttle_message(cause: ThrottleCause) -> &'static str {
    match cause {
        ThrottleCause::RequestsPerMinute => "Too many requests, please wait before trying again.",
        ThrottleCause::TokensPerMinute => "Too many tokens, please wait before trying again.",
        ThrottleCause::TokensPerDay => "Too many tokens per day, please wait before trying again.",
    }
}

/// An error body: `{"message": …}` (the code travels in `x-amzn-ErrorType`).
pub fn error_body(message: &str) -> Vec<u8> {
    json!({ "message": message }).to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_body_needs_max_tokens_and_messages() {
        let ok = parse_anthropic(
            br#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":100,
                 "system":"abcd","messages":[{"role":"user","content":"hello world"}]}"#,
        )
        .unwrap();
        // 4 + 11 characters: ceil(15 / 4) = 4.
        assert_eq!(ok.estimated_input, 4);
        assert_eq!(ok.max_tokens, Some(100));
        let e = parse_anthropic(br#"{"messages":[]}"#).unwrap_err();
        assert!(e.contains("required key [max_tokens] not found"), "{e}");
        assert!(parse_anthropic(br#"{"max_tokens":1}"#).is_err());
        assert!(parse_anthropic(b"{not json").is_err());
        assert!(parse_anthropic(br#"{"max_tokens":0,"messages":[]}"#).is_err());
    }

    #[test]
    fn converse_counts_text_blocks_and_max_tokens_is_optional() {
        let p = parse_converse(
            br#"{"messages":[{"role":"user","content":[{"text":"12345678"}]}],
                 "system":[{"text":"1234"}]}"#,
        )
        .unwrap();
        assert_eq!(p.estimated_input, 3);
        assert_eq!(p.max_tokens, None);
        let p = parse_converse(br#"{"messages":[],"inferenceConfig":{"maxTokens":7}}"#).unwrap();
        assert_eq!((p.estimated_input, p.max_tokens), (1, Some(7)));
        assert!(parse_converse(br#"{"inferenceConfig":{"maxTokens":7}}"#).is_err());
        assert!(parse_converse(br#"{"messages":[],"inferenceConfig":{"maxTokens":-1}}"#).is_err());
    }

    #[test]
    fn answer_text_round_trips_through_the_estimate() {
        for n in [1, 2, 19, 20, 21, 500] {
            let t = answer_text(0, n);
            assert_eq!(t.chars().count() as u64, 4 * n);
            assert_eq!(estimate_tokens(t.chars().count() as u64), n);
        }
        // Deltas concatenate to the whole answer.
        assert_eq!(answer_text(0, 7) + &answer_text(7, 30), answer_text(0, 37));
    }
}

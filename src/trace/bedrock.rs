//! Amazon Bedrock model-invocation log records (one JSON object per line). Only a few
//! fields are read; the rest, prompts and completions included, are skipped without being
//! stored:
//!
//! ```text
//! { "timestamp": "2025-06-01T12:00:00Z",
//!   "input":  { "inputTokenCount": 812, "cacheReadInputTokenCount": 0,
//!               "cacheWriteInputTokenCount": 0,
//!               "inputBodyJson": { "max_tokens": 1024, … } },
//!   "output": { "outputTokenCount": 230, … }, … }
//! ```
//!
//! `max_tokens` is read from `inputBodyJson.max_tokens` (InvokeModel with the Anthropic
//! Messages body) or `inputBodyJson.inferenceConfig.maxTokens` (Converse).

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::{Fields, MAX_TOKENS};

#[derive(Deserialize)]
struct Record<'a> {
    // A `Cow` so that a timestamp with escapes is a clear error below, not serde's
    // "expected a borrowed string".
    #[serde(borrow)]
    timestamp: Option<Text<'a>>,
    #[serde(borrow, rename = "modelId")]
    model_id: Option<std::borrow::Cow<'a, str>>,
    input: Option<Input>,
    output: Option<Output>,
}

/// A string, borrowed from the line unless it has escapes (serde borrows a `Cow` only as a
/// field of its own, not inside an `Option`).
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] std::borrow::Cow<'a, str>);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    input_token_count: Option<u64>,
    cache_read_input_token_count: Option<u64>,
    cache_write_input_token_count: Option<u64>,
    #[serde(default)]
    input_body_json: Body,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Output {
    output_token_count: Option<u64>,
}

/// The request body: only `max_tokens` matters; anything that is not an object is ignored.
#[derive(Default)]
struct Body {
    max_tokens: Option<u64>,
}

impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Body;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a request body")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Body, A::Error> {
                let mut body = Body::default();
                while let Some(key) = m.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "max_tokens" => body.max_tokens = m.next_value::<Option<u64>>()?,
                        "inferenceConfig" => {
                            let c: InferenceConfig = m.next_value()?;
                            if body.max_tokens.is_none() {
                                body.max_tokens = c.max_tokens;
                            }
                        }
                        _ => {
                            m.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(body)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Body, E> {
                Ok(Body::default())
            }
            fn visit_unit<E: de::Error>(self) -> Result<Body, E> {
                Ok(Body::default())
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut s: A) -> Result<Body, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Body::default())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Body, E> {
                Ok(Body::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Body, E> {
                Ok(Body::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Body, E> {
                Ok(Body::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Body, E> {
                Ok(Body::default())
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct InferenceConfig {
    max_tokens: Option<u64>,
}

type ParseError = (Option<usize>, String);

/// Parses one log line into a record's fields.
pub(crate) fn parse(text: &str) -> Result<Fields<'_>, ParseError> {
    // The line is the file's line (the caller knows it); serde's own "at line 1 column C"
    // would contradict it, so it is cut and the column kept.
    let fail = |path: String, e: serde_json::Error| {
        let col = (e.column() > 0).then_some(e.column());
        let full = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        // serde names Rust types; say what the log should hold.
        let msg = full
            .strip_suffix(&suffix)
            .unwrap_or(&full)
            .replace("expected u64", "expected a non-negative integer");
        let at = if path.is_empty() || path == "." {
            String::new()
        } else {
            format!("`{path}`: ")
        };
        (col, format!("invalid invocation-log record: {at}{msg}"))
    };
    // Fast path without the key path (which would also lose the borrowed strings); on an
    // error, parse again to say which key it was.
    let rec: Record = serde_json::from_str(text).map_err(|e| {
        let mut de = serde_json::Deserializer::from_str(text);
        match serde_path_to_error::deserialize::<_, serde::de::IgnoredAny>(&mut de).and(
            serde_path_to_error::deserialize::<_, Record>(&mut serde_json::Deserializer::from_str(
                text,
            )),
        ) {
            Err(p) => {
                let path = p.path().to_string();
                fail(path, e)
            }
            Ok(_) => fail(String::new(), e),
        }
    })?;
    let timestamp = match rec.timestamp {
        Some(Text(std::borrow::Cow::Borrowed(t))) => t,
        Some(Text(std::borrow::Cow::Owned(_))) => {
            return Err((
                None,
                "`timestamp` has a JSON escape sequence; write the timestamp as plain text, \
                 e.g. \"2025-06-01T12:00:00Z\""
                    .into(),
            ));
        }
        None => return Err((None, "the record has no `timestamp`".into())),
    };
    let Some(input) = rec.input else {
        return Err((None, "the record has no `input` object".into()));
    };
    let Some(in_tokens) = input.input_token_count else {
        return Err((None, "the record has no `input.inputTokenCount`".into()));
    };
    let out_tokens = rec.output.and_then(|o| o.output_token_count).ok_or((
        None,
        "the record has no `output.outputTokenCount` (a failed invocation?); remove such records from the trace"
            .to_string(),
    ))?;
    let check = |n: u64, what: &str| {
        if n > MAX_TOKENS {
            Err((None, format!("`{what}` = {n} is too large")))
        } else {
            Ok(n)
        }
    };
    let max_tokens = match input.input_body_json.max_tokens {
        Some(0) => {
            return Err((
                None,
                "`max_tokens` in `input.inputBodyJson` is 0; expected ≥ 1".into(),
            ));
        }
        Some(m) => Some(check(m, "max_tokens")?),
        None => None,
    };
    Ok(Fields {
        timestamp,
        ts_col: None,
        input: check(in_tokens, "input.inputTokenCount")?,
        output: check(out_tokens, "output.outputTokenCount")?,
        max_tokens,
        cache_read: input
            .cache_read_input_token_count
            .map(|n| check(n, "input.cacheReadInputTokenCount"))
            .transpose()?,
        cache_write: input
            .cache_write_input_token_count
            .map(|n| check(n, "input.cacheWriteInputTokenCount"))
            .transpose()?,
        class: None,
        model: rec.model_id.as_deref().map(crate::trace::model_key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_fields_it_needs() {
        let line = r#"{"schemaType":"ModelInvocationLog","timestamp":"2025-06-01T12:00:00Z","modelId":"anthropic.claude-sonnet-4","input":{"inputContentType":"application/json","inputBodyJson":{"anthropic_version":"bedrock-2023-05-31","max_tokens":1024,"messages":[{"role":"user","content":"hi, \"there\""}]},"inputTokenCount":812,"cacheReadInputTokenCount":100},"output":{"outputBodyJson":{"content":[]},"outputTokenCount":230}}"#;
        let f = parse(line).unwrap();
        assert_eq!(f.timestamp, "2025-06-01T12:00:00Z");
        assert_eq!((f.input, f.output, f.max_tokens), (812, 230, Some(1024)));
        assert_eq!((f.cache_read, f.cache_write), (Some(100), None));
        let converse = r#"{"timestamp":"2025-06-01T12:00:00Z","input":{"inputBodyJson":{"inferenceConfig":{"maxTokens":512}},"inputTokenCount":5},"output":{"outputTokenCount":7}}"#;
        assert_eq!(parse(converse).unwrap().max_tokens, Some(512));
        let no_body = r#"{"timestamp":"2025-06-01T12:00:00Z","input":{"inputBodyJson":"text","inputTokenCount":5},"output":{"outputTokenCount":7}}"#;
        assert_eq!(parse(no_body).unwrap().max_tokens, None);
    }

    #[test]
    fn missing_fields_are_named() {
        let e = parse(
            r#"{"timestamp":"2025-06-01T12:00:00Z","input":{"inputTokenCount":5},"output":{}}"#,
        )
        .unwrap_err();
        assert!(e.1.contains("outputTokenCount"), "{}", e.1);
        let e = parse(r#"{"timestamp":"x","input":{"inputTokenCount":-5}}"#).unwrap_err();
        assert!(e.0.is_some() && e.1.contains("invalid"), "{e:?}");
    }
}

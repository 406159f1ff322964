//! The emulator with several pools and account-wide limits, in-process over raw HTTP: the
//! model ID (its `us.`/`eu.`/`apac.`/`global.` prefix) picks the pool, account limits refuse
//! after the pool admits and are charged at the serving pool's rates, and the report carries
//! `pools.NAME` blocks as a run's does. Every expected number is derived in the comment above
//! it; each call fixes its sizes with the `x-quotasim-*` headers and the service takes no
//! time, so all calls fall in quota minute 0 (the default fixed windows).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use quotasim::Scenario;
use quotasim::serve::{Config, Limits, Options, Server};
use serde_json::Value;

mod common;

use common::n;

const SONNET: &str = "anthropic.claude-sonnet-4-5-20250929-v1:0";
/// Claude Sonnet 4.5 is profile-only: Bedrock refuses its bare ID, so the calls that go to a
/// pool serving every form use the `eu.` profile.
const SONNET_EU: &str = "eu.anthropic.claude-sonnet-4-5-20250929-v1:0";
const HAIKU_35: &str = "anthropic.claude-3-5-haiku-20241022-v1:0";

const FAST: &str = r#"[service]
ttft = "0s"
ttft_per_1k_input = "0s"
output_tokens_per_second = 1000000
throttle_latency = "0s"
"#;

const WORKLOAD: &str = r#"
[workloads.app]
route = "region"
[workloads.app.arrivals]
process = "constant"
rate_per_minute = 1
[workloads.app.requests.chat]
input_tokens = 100
output_tokens = 100
"#;

fn scenario(pools: &str) -> Scenario {
    let text = format!(
        "duration = \"1m\"\n[model]\npreset = \"claude-sonnet-4-5\"\n{FAST}\n{pools}\n{WORKLOAD}"
    );
    Scenario::from_toml_str(&text, "serve-pools-test.toml").unwrap()
}

fn start(s: &Scenario) -> Server {
    Server::start(
        Config::from_scenario(s),
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            time_scale: 1.0,
            limits: Limits::default(),
            threads: 2,
        },
    )
    .unwrap()
}

/// One Converse call of I = 100 input tokens, O = 100 output tokens and `max_tokens` 100 to
/// `model`: (status, `x-amzn-ErrorType` or "", body).
fn converse(addr: SocketAddr, model: &str) -> (u16, String, Value) {
    let (status, kind, body) = call(addr, model, "converse");
    (
        status,
        kind,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

/// [`converse`] for operation `op` (`converse` or `converse-stream`), the body as bytes.
fn call(addr: SocketAddr, model: &str, op: &str) -> (u16, String, Vec<u8>) {
    let body = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":100}}"#;
    let path = format!("/model/{}/{op}", model.replace(':', "%3A"));
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\
         x-quotasim-input-tokens: 100\r\nx-quotasim-output-tokens: 100\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&out[..split]).to_string();
    let status = head[9..12].parse().unwrap();
    let error_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("x-amzn-errortype:")
                .then(|| {
                    // `ThrottlingException:http://internal.amazon.com/…`, as Bedrock sends it.
                    let v = l.split_once(':').unwrap().1.trim();
                    v.split(':').next().unwrap().to_string()
                })
        })
        .unwrap_or_default();
    (status, error_type, out[split + 4..].to_vec())
}

/// `region` serves Sonnet 4.5's every profile by default (6 IDs: us., eu., apac., jp., au.,
/// global.; not the bare ID, which Bedrock refuses for this profile-only model); `global`
/// lists only the `global.` ID, which as the more specific list wins that ID.
#[test]
fn the_model_id_prefix_picks_the_pool() {
    let s = scenario(&format!(
        r#"
[pools.region]
tokens_per_minute = 1000
[pools.global]
tokens_per_minute = 100000
model_ids = ["global.{SONNET}"]
"#
    ));
    let server = start(&s);
    let addr = server.addr();
    // Each call reserves I + M = 200 and settles to C = I + 5 × A = 600.
    // 0. The bare ID of a profile-only model: Bedrock's 400, not an attempt.
    let (status, kind, body) = converse(addr, SONNET);
    assert_eq!((status, kind.as_str()), (400, "ValidationException"));
    assert_eq!(
        body["message"],
        format!(
            "Invocation of model ID {SONNET} with on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference profile that contains this model."
        )
    );
    // 1. `eu.` → region: 0 + 200 ≤ 1000, admitted; settles to 600.
    assert_eq!(converse(addr, SONNET_EU).0, 200);
    // 2. `us.` → region: 600 + 200 = 800 ≤ 1000, admitted; settles to 1200.
    let (status, _, body) = converse(addr, &format!("us.{SONNET}"));
    assert_eq!(status, 200);
    assert_eq!(body["usage"]["inputTokens"], 100);
    assert_eq!(body["usage"]["outputTokens"], 100);
    // 3. `eu.` again: 1200 + 200 > 1000, throttled by region's tokens per minute.
    let (status, kind, body) = converse(addr, SONNET_EU);
    assert_eq!((status, kind.as_str()), (429, "ThrottlingException"));
    assert_eq!(
        body["message"],
        "Too many tokens, please wait before trying again."
    );
    // 4. `global.` → the global pool, untouched by region's usage: admitted, 600.
    assert_eq!(converse(addr, &format!("global.{SONNET}")).0, 200);
    // 5. `apac.` → region: throttled like 3.
    assert_eq!(converse(addr, &format!("apac.{SONNET}")).0, 429);
    // 6. An ID no pool lists is a 400, not an attempt.
    let (status, kind, _) = converse(addr, &format!("eu.{HAIKU_35}"));
    assert_eq!((status, kind.as_str()), (400, "ValidationException"));

    let r = server.report();
    // Totals: 5 attempts, 3 admitted, 2 throttled; C = 3 × 600.
    assert_eq!(n(&r, "attempts.sent"), 5);
    assert_eq!(n(&r, "attempts.admitted"), 3);
    assert_eq!(n(&r, "attempts.throttled"), 2);
    assert_eq!(n(&r, "attempts.throttled_by.tokens_per_minute"), 2);
    assert_eq!(n(&r, "attempts.throttled_by_limit.tokens_per_minute"), 2);
    assert_eq!(n(&r, "requests.arrived"), 5);
    assert_eq!(n(&r, "requests.succeeded"), 3);
    assert_eq!(n(&r, "requests.failed"), 2);
    assert_eq!(n(&r, "tokens.quota_consumed"), 1800);
    assert_eq!(n(&r, "tokens.reserved"), 600);
    assert_eq!(n(&r, "serve.invalid_requests"), 2);
    // Per pool, summing to the totals.
    assert_eq!(n(&r, "pools.region.admitted"), 2);
    assert_eq!(n(&r, "pools.region.throttled"), 2);
    assert_eq!(
        n(&r, "pools.region.throttled_by_limit.tokens_per_minute"),
        2
    );
    assert_eq!(n(&r, "pools.region.quota_consumed"), 1200);
    assert_eq!(n(&r, "pools.region.reserved"), 400);
    assert_eq!(n(&r, "pools.global.admitted"), 1);
    assert_eq!(n(&r, "pools.global.throttled"), 0);
    assert_eq!(n(&r, "pools.global.quota_consumed"), 600);
    assert_eq!(n(&r, "pools.global.reserved"), 200);
    // Timelines: each pool's primary limit, reservations then settlements, in minute 0.
    assert_eq!(r["timeline"][0]["quota_charged"], 1800);
    assert_eq!(r["pools"]["region"]["timeline"][0]["quota_charged"], 1200);
    assert_eq!(r["pools"]["region"]["timeline"][0]["throttled"], 2);
    assert_eq!(r["pools"]["global"]["timeline"][0]["quota_charged"], 600);
    // The pool's resolved model IDs, as the serve block lists them.
    assert_eq!(
        r["serve"]["pools"]["global"]["model_ids"],
        serde_json::json!([format!("global.{SONNET}")])
    );
    assert_eq!(
        r["serve"]["pools"]["region"]["model_ids"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    // Cost: Sonnet 4.5 at both pools ($3 in, $15 out per million tokens, as Anthropic
    // publishes them); 100 in and 100 out per success: (100 × 3 + 100 × 15) / 1e6.
    let one = 0.0018;
    let usd = |path: &str| r.pointer(path).and_then(Value::as_f64).unwrap();
    assert!((usd("/pools/region/cost/usd") - 2.0 * one).abs() < 1e-12);
    assert!((usd("/pools/global/cost/usd") - one).abs() < 1e-12);
    assert!((usd("/cost/usd") - 3.0 * one).abs() < 1e-12);
    assert!((usd("/cost/usd_per_success") - one).abs() < 1e-12);
    let fin = server.shutdown();
    // The final report agrees with the live one (rates aside: the session went on).
    for pool in ["region", "global"] {
        for key in [
            "admitted",
            "throttled",
            "throttled_by_limit",
            "quota_consumed",
            "timeline",
        ] {
            assert_eq!(
                fin["pools"][pool][key], r["pools"][pool][key],
                "{pool}.{key}"
            );
        }
    }
    assert_eq!(fin["attempts"], r["attempts"]);
}

/// The account's quota-tokens limit is checked after the pool's own and charged at the
/// serving pool's rates: `old` serves Claude 3.5 Haiku (1× output burndown), `region`
/// Sonnet 4.5 (5×).
#[test]
fn an_account_limit_refuses_after_the_pool_admits() {
    let s = scenario(
        r#"
[pools.region]
tokens_per_minute = 100000
[pools.old]
model = "claude-3-5-haiku"
tokens_per_minute = 100000
[[account.limits]]
name = "account_tpm"
counts = "quota-tokens"
limit = 1100
"#,
    );
    let server = start(&s);
    let addr = server.addr();
    // Every call reserves I + M = 200 in its pool and in the account.
    // 1. region: account 0 + 200 ≤ 1100; settles to 100 + 5 × 100 = 600.
    assert_eq!(converse(addr, SONNET_EU).0, 200);
    // 2. old: account 600 + 200 ≤ 1100; settles at old's rates to 100 + 1 × 100 = 200 → 800.
    //    (At Sonnet's rates it would be 600 → 1200, and call 3 would be refused.)
    assert_eq!(converse(addr, HAIKU_35).0, 200);
    // 3. region: 800 + 200 = 1000 ≤ 1100, admitted; settles to 600 → 1400.
    assert_eq!(converse(addr, &format!("us.{SONNET}")).0, 200);
    // 4. old: its own limit admits (200 + 200 ≤ 100000), the account refuses
    //    (1400 + 200 > 1100): a token limit, so "Too many tokens".
    let (status, kind, body) = converse(addr, &format!("global.{HAIKU_35}"));
    assert_eq!((status, kind.as_str()), (429, "ThrottlingException"));
    assert_eq!(
        body["message"],
        "Too many tokens, please wait before trying again."
    );

    let r = server.shutdown();
    assert_eq!(n(&r, "attempts.admitted"), 3);
    assert_eq!(n(&r, "attempts.throttled"), 1);
    assert_eq!(n(&r, "attempts.throttled_by.tokens_per_minute"), 1);
    assert_eq!(n(&r, "attempts.throttled_by_limit.account_tpm"), 1);
    assert_eq!(n(&r, "attempts.throttled_by_limit.tokens_per_minute"), 0);
    // The refusal is the serving pool's throttle, filed under the account's limit.
    assert_eq!(n(&r, "pools.old.throttled"), 1);
    assert_eq!(n(&r, "pools.old.throttled_by_limit.account_tpm"), 1);
    assert_eq!(n(&r, "pools.old.throttled_by_limit.tokens_per_minute"), 0);
    assert_eq!(n(&r, "pools.region.throttled"), 0);
    // Nothing was charged to old's own limit for the refused call: its primary limit holds
    // call 2's 200 only.
    assert_eq!(r["pools"]["old"]["timeline"][0]["quota_charged"], 200);
    assert_eq!(n(&r, "pools.old.quota_consumed"), 200);
    assert_eq!(n(&r, "pools.region.quota_consumed"), 1200);
    // Account limits never add to the timeline: 1200 + 200.
    assert_eq!(r["timeline"][0]["quota_charged"], 1400);
    // Each pool billed at its own model, at the published prices per million tokens:
    // 2 Sonnet 4.5 answers ($3 in, $15 out: (100 × 3 + 100 × 15) / 1e6 = $0.0018 each),
    // 1 Claude 3.5 Haiku answer ($0.80 in, $4 out: (100 × 0.8 + 100 × 4) / 1e6 = $0.00048).
    let usd = |path: &str| r.pointer(path).and_then(Value::as_f64).unwrap();
    assert!((usd("/pools/region/cost/usd") - 0.0036).abs() < 1e-12);
    assert!((usd("/pools/old/cost/usd") - 0.000_48).abs() < 1e-12);
    assert!((usd("/cost/usd") - 0.004_08).abs() < 1e-12);
}

/// A requests-kind account limit refusing gives Bedrock's "Too many requests" message and
/// files the throttle under requests_per_minute, whichever pool the call was sent to.
#[test]
fn an_account_request_limit_gives_too_many_requests() {
    let s = scenario(&format!(
        r#"
[pools.region]
tokens_per_minute = 100000
[pools.global]
tokens_per_minute = 100000
model_ids = ["global.{SONNET}"]
[[account.limits]]
name = "account_rpm"
counts = "requests"
limit = 2
"#
    ));
    let server = start(&s);
    let addr = server.addr();
    // Two admissions count 1 each toward the account's 2 (never given back).
    assert_eq!(converse(addr, SONNET_EU).0, 200);
    assert_eq!(converse(addr, &format!("global.{SONNET}")).0, 200);
    // The third, to either pool, is refused by the account.
    let (status, kind, body) = converse(addr, &format!("global.{SONNET}"));
    assert_eq!((status, kind.as_str()), (429, "ThrottlingException"));
    assert_eq!(
        body["message"],
        "Too many requests, please wait before trying again."
    );
    let r = server.shutdown();
    assert_eq!(n(&r, "attempts.throttled_by.requests_per_minute"), 1);
    assert_eq!(n(&r, "attempts.throttled_by_limit.account_rpm"), 1);
    assert_eq!(n(&r, "pools.global.throttled_by_limit.account_rpm"), 1);
    assert_eq!(n(&r, "pools.global.admitted"), 1);
    assert_eq!(n(&r, "pools.region.admitted"), 1);
}

/// A `[quota]` scenario is the single pool `default`: no `pools` key, as in a run.
#[test]
fn a_single_pool_report_has_no_pools_block() {
    let s = Scenario::from_toml_str(
        &format!(
            "duration = \"1m\"\n[model]\npreset = \"claude-sonnet-4-5\"\n{FAST}\n\
             [quota]\ntokens_per_minute = 1000\n[arrivals]\nprocess = \"constant\"\n\
             rate_per_minute = 1\n[requests.chat]\ninput_tokens = 1\noutput_tokens = 1\n"
        ),
        "t.toml",
    )
    .unwrap();
    let server = start(&s);
    assert_eq!(converse(server.addr(), &format!("eu.{SONNET}")).0, 200);
    let r = server.shutdown();
    assert!(r.get("pools").is_none(), "{r:#}");
    assert_eq!(n(&r, "attempts.admitted"), 1);
    assert_eq!(
        r["serve"]["pools"]["default"]["model"],
        Value::from("claude-sonnet-4-5")
    );
}

/// bedrock-mantle's output tokens per minute cuts an answer off where it runs out (streamed
/// or not), counted as truncated, as in a run; admission only checks input tokens per minute.
#[test]
fn an_output_budget_cuts_answers_off() {
    let s = Scenario::from_toml_str(
        &format!(
            "duration = \"1m\"\n[model]\npreset = \"claude-sonnet-4-5\"\n{FAST}\n\
             [quota]\nprovider = \"bedrock-mantle\"\ntokens_per_minute = 100000\n\
             output_tokens_per_minute = 250\n[arrivals]\nprocess = \"constant\"\n\
             rate_per_minute = 1\n[requests.chat]\ninput_tokens = 1\noutput_tokens = 1\n"
        ),
        "t.toml",
    )
    .unwrap();
    let server = start(&s);
    let addr = server.addr();
    // Each call wants A = 100 output tokens; the minute's output budget is 250.
    // 1. Converse: 100 fit (100 used).
    let (status, _, body) = converse(addr, SONNET_EU);
    assert_eq!(status, 200);
    assert_eq!(body["usage"]["outputTokens"], 100);
    assert_eq!(body["stopReason"], "end_turn");
    // 2. ConverseStream: 100 fit (200 used).
    let (status, _, bytes) = call(addr, SONNET_EU, "converse-stream");
    assert_eq!(status, 200);
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains(r#""outputTokens":100"#), "{text}");
    // 3. Converse: 50 left, so the answer stops at 50, truncated (250 used).
    let (status, _, body) = converse(addr, SONNET_EU);
    assert_eq!(status, 200);
    assert_eq!(body["usage"]["outputTokens"], 50);
    assert_eq!(body["stopReason"], "max_tokens");
    // 4. ConverseStream: admitted (input budget), nothing left: 0 tokens, truncated.
    let (status, _, bytes) = call(addr, SONNET_EU, "converse-stream");
    assert_eq!(status, 200);
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains(r#""outputTokens":0"#), "{text}");
    assert!(text.contains(r#""stopReason":"max_tokens""#), "{text}");
    let r = server.shutdown();
    assert_eq!(n(&r, "attempts.admitted"), 4);
    assert_eq!(n(&r, "attempts.throttled"), 0);
    assert_eq!(n(&r, "requests.succeeded"), 4);
    assert_eq!(n(&r, "requests.truncated"), 2);
    assert_eq!(n(&r, "requests.truncated_by_output_budget"), 2);
    assert_eq!(n(&r, "tokens.output"), 250);
}

/// The account's limits are admitted at the serving pool's rates, its `reserve` included.
///
/// `region` (Sonnet 4.5, output burndown 5) reserves `I + 5 × M`; `old` (Claude 3.5 Haiku,
/// burndown 1) keeps the default `I + M`. Account: 500 quota tokens per minute. Each call
/// to `old` reserves 100 + 100 = 200 and settles to 100 + 1 × 100 = 200:
/// 1. 0 + 200 ≤ 500: admitted (200).
/// 2. 400 ≤ 500: admitted (400).
/// 3. 600 > 500: refused.
///
/// At `region`'s rates the first call would already need 100 + 5 × 100 = 600 > 500.
#[test]
fn an_account_limit_admits_at_the_serving_pools_rates() {
    let s = scenario(
        r#"
[pools.region]
tokens_per_minute = 100000
reserve = "input+max_tokens*burndown"
[pools.old]
model = "claude-3-5-haiku"
tokens_per_minute = 100000
[[account.limits]]
name = "account_tpm"
counts = "quota-tokens"
limit = 500
"#,
    );
    let server = start(&s);
    let addr = server.addr();
    assert_eq!(converse(addr, HAIKU_35).0, 200);
    assert_eq!(converse(addr, HAIKU_35).0, 200);
    assert_eq!(converse(addr, HAIKU_35).0, 429);
    let r = server.shutdown();
    assert_eq!(n(&r, "attempts.admitted"), 2);
    assert_eq!(n(&r, "attempts.throttled_by_limit.account_tpm"), 1);
    assert_eq!(n(&r, "pools.old.reserved"), 400);
}

/// A pool limit with `count_rejected = true` counts a call the account refuses.
///
/// `region`: `pool_requests` 3 per minute, counting refusals; account: `account_requests`
/// 1 per minute. Four calls:
/// 1. pool 1, account 1: admitted.
/// 2. pool 2 admits, the account refuses; the pool counts it (2).
/// 3. The same (pool 3).
/// 4. pool 4 > 3: refused by the pool.
///
/// Without the pool's charge on an account refusal, call 4 would be the account's too.
#[test]
fn a_pools_count_rejected_limit_counts_an_account_refusal() {
    let s = scenario(
        r#"
[pools.region]
[[pools.region.limits]]
name = "pool_requests"
counts = "requests"
per = "minute"
limit = 3
count_rejected = true
[[account.limits]]
name = "account_requests"
counts = "requests"
per = "minute"
limit = 1
"#,
    );
    let server = start(&s);
    let addr = server.addr();
    let statuses: Vec<u16> = (0..4).map(|_| converse(addr, SONNET_EU).0).collect();
    assert_eq!(statuses, [200, 429, 429, 429]);
    let r = server.shutdown();
    assert_eq!(n(&r, "attempts.throttled_by_limit.account_requests"), 2);
    assert_eq!(n(&r, "attempts.throttled_by_limit.pool_requests"), 1);
}

/// Each kind of limit gives Bedrock's message for it: a tokens-per-day refusal says "Too
/// many tokens per day" (as Bedrock answers a daily token quota), a tokens-per-minute one
/// "Too many tokens", a requests-per-minute one "Too many requests".
///
/// `region`: 100,000 TPM and 300 tokens per day; `rpm`: 1 request per minute. Each call
/// reserves I + M = 200 and settles to 100 + 5 × 100 = 600 (Sonnet 4.5).
/// 1. region: 200 ≤ 300 a day: admitted; the day holds 600.
/// 2. region: 800 > 300: refused by tokens_per_day.
/// 3. global (`rpm`): admitted.
/// 4. global: refused by its request limit.
#[test]
fn each_kind_of_limit_has_its_own_throttle_message() {
    let s = scenario(&format!(
        r#"
[pools.region]
tokens_per_minute = 100000
tokens_per_day = 300
[pools.rpm]
tokens_per_minute = 100000
requests_per_minute = 1
model_ids = ["global.{SONNET}"]
"#
    ));
    let server = start(&s);
    let addr = server.addr();
    assert_eq!(converse(addr, SONNET_EU).0, 200);
    let (status, kind, body) = converse(addr, SONNET_EU);
    assert_eq!((status, kind.as_str()), (429, "ThrottlingException"));
    assert_eq!(
        body["message"],
        "Too many tokens per day, please wait before trying again."
    );
    assert_eq!(converse(addr, &format!("global.{SONNET}")).0, 200);
    let (status, _, body) = converse(addr, &format!("global.{SONNET}"));
    assert_eq!(status, 429);
    assert_eq!(
        body["message"],
        "Too many requests, please wait before trying again."
    );
    let r = server.shutdown();
    assert_eq!(n(&r, "attempts.throttled_by.tokens_per_day"), 1);
    assert_eq!(n(&r, "attempts.throttled_by.requests_per_minute"), 1);
}

/// `throttled_by_limit` when pools have different limit lists, as in a run: the totals list
/// each pool's limits, then the account's (r_requests, g_tokens, g_requests,
/// account_requests); each pool its own, then the account's.
///
/// `region`: `r_requests` 3 per minute. `global`: `g_tokens` (100,000 quota tokens) and
/// `g_requests` 1 per minute. Account: `account_requests` 3 per minute.
/// 1. global: admitted (g 1, account 1).
/// 2. global: refused by g_requests (its second limit, the totals' third).
/// 3. region: admitted (r 1, account 2). 4. region: admitted (r 2, account 3).
/// 5. region: its own limit admits (3 ≤ 3), the account refuses (4 > 3): region's second
///    entry, the totals' fourth.
#[test]
fn throttled_by_limit_numbers_each_pools_limits_and_the_accounts() {
    let s = scenario(&format!(
        r#"
[pools.region]
[[pools.region.limits]]
name = "r_requests"
counts = "requests"
per = "minute"
limit = 3
[pools.global]
model_ids = ["global.{SONNET}"]
[[pools.global.limits]]
name = "g_tokens"
counts = "quota-tokens"
per = "minute"
limit = 100000
[[pools.global.limits]]
name = "g_requests"
counts = "requests"
per = "minute"
limit = 1
[[account.limits]]
name = "account_requests"
counts = "requests"
per = "minute"
limit = 3
"#
    ));
    let server = start(&s);
    let addr = server.addr();
    let global = format!("global.{SONNET}");
    let statuses: Vec<u16> = [&global, &global, SONNET_EU, SONNET_EU, SONNET_EU]
        .iter()
        .map(|m| converse(addr, m).0)
        .collect();
    assert_eq!(statuses, [200, 429, 200, 200, 429]);
    let r = server.shutdown();
    assert_eq!(
        r["attempts"]["throttled_by_limit"],
        serde_json::json!({"r_requests": 0, "g_tokens": 0, "g_requests": 1, "account_requests": 1})
    );
    assert_eq!(
        r["pools"]["region"]["throttled_by_limit"],
        serde_json::json!({"r_requests": 0, "account_requests": 1})
    );
    assert_eq!(
        r["pools"]["global"]["throttled_by_limit"],
        serde_json::json!({"g_tokens": 0, "g_requests": 1, "account_requests": 0})
    );
}

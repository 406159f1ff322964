//! Service tiers and reserved capacity in `quotasim serve`, driven by boto3
//! (tests/serve/tiers.py): the tier a call asks for through Bedrock Runtime's API
//! (`serviceTier` on Converse, the `X-Amzn-Bedrock-Service-Tier` header on InvokeModel)
//! prices and speeds it by the model row, draws from the pool's one quota, and a tier the
//! model lacks is a 400 ValidationException; a reserved pool's fixed hourly charge is in the
//! report's cost, as in a run. Every expected number is derived in the comments.
//!
//! The interpreter is `$QUOTASIM_PYTHON`, else `.venv/bin/python` (made by `.ci/run`). Without
//! one the test is ignored with the reason, except under `CI`, where it runs and fails.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;

use quotasim::Scenario;
use quotasim::serve::{Config, Limits, Options, Server};
use serde_json::Value;

mod common;

use common::{close, n, usd};

/// Sonnet 4.5 on `global.` (list price), on `eu.` only (the 10% regional premium), Opus 4.8
/// (standard tier only) and a reserved Sonnet 4.5 pool of 100,000 input + 20,000 output
/// TPM at $730 per 1,000 TPM-month: $120 an hour; and a `tight` Sonnet 4.5 pool of 5,000
/// TPM on `apac.` only. Decode at 100 tokens/s, no TTFT; flex attempts on a busy pool fail
/// with probability 0.9999999.
const SCENARIO: &str = r#"
name = "serve-tiers"
duration = "1m"
[model]
preset = "claude-sonnet-4-5"
[service]
ttft = "0s"
ttft_per_1k_input = "0s"
output_tokens_per_second = 100
throttle_latency = "0s"
flex_error_rate = 0.9999999
[pools.sonnet]
tokens_per_minute = 1000000
model_ids = ["global.anthropic.claude-sonnet-4-5-20250929-v1:0"]
[pools.geo]
tokens_per_minute = 1000000
model_ids = ["eu.anthropic.claude-sonnet-4-5-20250929-v1:0"]
[pools.opus]
model = "claude-opus-4-8"
tokens_per_minute = 1000000
model_ids = ["global.anthropic.claude-opus-4-8"]
[pools.reserved]
provider = "bedrock-reserved"
input_tokens_per_minute = 100000
output_tokens_per_minute = 20000
price_reserved_per_1k_tpm_month = 730.0
model_ids = ["us.anthropic.claude-sonnet-4-5-20250929-v1:0"]
[pools.tight]
tokens_per_minute = 5000
model_ids = ["apac.anthropic.claude-sonnet-4-5-20250929-v1:0"]
[workloads.app]
route = "sonnet"
[workloads.app.arrivals]
process = "constant"
rate_per_minute = 1
[workloads.app.requests.chat]
input_tokens = 100
output_tokens = 100
"#;

fn f(v: &Value, path: &str) -> f64 {
    v.pointer(path)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{path} missing in {v}"))
}

#[test]
#[cfg_attr(
    not(any(has_venv, ci)),
    ignore = "needs .venv/bin/python with boto3 (run .ci/run or set QUOTASIM_PYTHON)"
)]
fn boto3_service_tiers_price_speed_and_refuse_by_the_row_and_reserved_pools_bill_by_the_hour() {
    let py = common::python();
    let s = Scenario::from_toml_str(SCENARIO, "serve-tiers.toml").unwrap();
    let server = Server::start(
        Config::from_scenario(&s),
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            time_scale: 1.0,
            limits: Limits::default(),
            threads: 2,
        },
    )
    .unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/serve/tiers.py");
    let out = Command::new(&py)
        .arg(script)
        .arg(format!("http://{}", server.addr()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tiers.py failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = server.shutdown();

    // Decode speed: A = 200 at 100 tokens/s is 2 s (standard, flex: speed factor 1.0);
    // priority decodes 1.25x faster, 200 / 125 = 1.6 s. The upper bound leaves 0.3 s for
    // the machine.
    let secs = |k: &str| f(&seen, &format!("/seconds/{k}"));
    for k in [
        "standard",
        "default",
        "flex_invoke",
        "geo",
        "reserved",
        "standard_busy",
    ] {
        assert!(secs(k) >= 2.0, "{k}: {seen}");
    }
    assert!(secs("priority") >= 1.6 && secs("priority") < 1.9, "{seen}");

    // Refusals: 400 ValidationException. Opus 4.8 offers the standard tier only (named in
    // the message); "turbo" is not one of the API's values; "reserved" needs a reserved pool.
    for k in [
        "opus_priority",
        "opus_flex_invoke",
        "unknown",
        "reserved_on_demand",
    ] {
        assert_eq!(
            seen["errors"][k]["code"], "ValidationException",
            "{k}: {seen}"
        );
        assert_eq!(seen["errors"][k]["status"], 400, "{k}: {seen}");
    }
    let msg = |k: &str| seen["errors"][k]["message"].as_str().unwrap().to_string();
    assert!(msg("opus_priority").contains("claude-opus-4-8"), "{seen}");
    assert!(msg("opus_priority").contains("priority"), "{seen}");
    assert!(msg("opus_flex_invoke").contains("flex"), "{seen}");
    assert!(
        msg("unknown").contains("'turbo'") && msg("unknown").contains("enum value set"),
        "{seen}"
    );
    assert!(msg("reserved_on_demand").contains("reserved"), "{seen}");
    assert_eq!(n(&r, "serve.invalid_requests"), 4);
    // The `tight` pool: I + M = 10,000 + 500 > 5,000 is refused (429), which makes the pool
    // busy for a minute; the flex call then fails with a 503 (flex_error_rate), the
    // standard one (error_rate 0) is served.
    assert_eq!(
        seen["errors"]["hog"]["code"], "ThrottlingException",
        "{seen}"
    );
    assert_eq!(seen["errors"]["hog"]["status"], 429, "{seen}");
    assert_eq!(
        seen["errors"]["flex_busy"]["code"], "ServiceUnavailableException",
        "{seen}"
    );
    assert_eq!(seen["errors"]["flex_busy"]["status"], 503, "{seen}");
    // The text estimate: 400 characters are 100 tokens, times the tokenizer factor: 1.0
    // on Sonnet 4.5, 1.3 on Opus 4.8 (Anthropic's newer tokenizer): 130.
    assert_eq!(seen["estimate_sonnet"], 100, "{seen}");
    assert_eq!(seen["estimate_opus"], 130, "{seen}");
    assert_eq!(n(&r, "attempts.sent"), 11);
    assert_eq!(n(&r, "attempts.throttled"), 1);
    assert_eq!(n(&r, "attempts.server_errors"), 1);
    assert_eq!(n(&r, "requests.succeeded"), 9);

    // Every tier draws from the pool's one quota: four calls of C = I + 5·A = 1000 + 1000,
    // and the estimated one 100 + 1000.
    assert_eq!(n(&r, "pools.sonnet.admitted"), 5);
    assert_eq!(n(&r, "pools.sonnet.quota_consumed"), 9_100);

    // Prices: one call of I = 1000, A = 200 on Sonnet 4.5 ($3 / $15 per million) is
    // 3000 + 3000 = 6000 µ$. Standard and `default` pay it, priority 1.75x = 10,500 µ$,
    // flex 0.5x = 3000 µ$; the estimated call (I = 100) 300 + 3000 = 3300 µ$: the `sonnet`
    // pool $0.0288. Opus 4.8's estimated call ($5 / $25): 130 × 5 + 200 × 25 = 5650 µ$.
    // The `eu.`-only pool pays the 10%
    // regional premium, 6600 µ$, and so does the `apac.`-only `tight` pool's one success;
    // the reserved pool nothing per token.
    let one = usd([3.0, 15.0, 3.75, 0.3], 1000, 200, 0, 0);
    assert!(close(one, 0.006));
    assert!(
        close(f(&r, "/pools/sonnet/cost/usd"), 0.0288),
        "{}",
        r["pools"]
    );
    assert!(
        close(f(&r, "/pools/geo/cost/usd"), 0.0066),
        "{}",
        r["pools"]
    );
    assert!(
        close(f(&r, "/pools/tight/cost/usd"), 0.0066),
        "{}",
        r["pools"]
    );
    // The reservation: 120 thousand TPM × $730 / 730 h = $120 an hour, over the session's
    // simulated time (time scale 1).
    let hours = f(&r, "/simulated_seconds") / 3600.0;
    assert!(hours > 0.0);
    let fixed = 120.0 * hours;
    assert!(close(f(&r, "/cost/reserved_usd"), fixed), "{}", r["cost"]);
    assert!(
        close(f(&r, "/pools/reserved/cost/usd"), fixed),
        "{}",
        r["pools"]
    );
    assert!(
        (f(&r, "/cost/usd") - (0.0288 + 0.0066 + 0.0066 + 0.00565 + fixed)).abs() < 1e-12,
        "{}",
        r["cost"]
    );
    let prices = r["cost"]["prices"].as_str().unwrap();
    assert!(prices.contains("geo: list price +10%"), "{prices}");
    assert!(
        prices.contains("reserved: reserved, 120000 TPM at $730"),
        "{prices}"
    );
    assert!(prices.contains("priority, flex"), "{prices}");
}

//! The newest model rows, profile-only IDs, service tiers, reserved capacity, the
//! reservation floor and the regional premium (docs/models.md). Every expected number is
//! derived by hand in the comments: the burndowns from AWS's token-counting page as quoted
//! in 2026 sources (15x for Opus 4.8; 10x for Sonnet 5, Opus 5 and Fable 5.1), the prices
//! from Anthropic's model pages.

mod common;

use common::{close, json, load_err, log_record, n, qs, usd, write_log, write_str};
use quotasim::{Scenario, simulate};
use serde_json::Value;

fn f(v: &Value, path: &str) -> f64 {
    v.pointer(path)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{path} missing"))
}

/// One request at t = 0 of I input, W cache-write and A output tokens (max_tokens 4000).
fn one_request(preset: &str, input: u64, write: u64, output: u64) -> String {
    format!(
        r#"
duration = "1m"
[model]
preset = "{preset}"
[quota]
tokens_per_minute = 1000000
[client]
max_tokens = 4000
retry = "none"
[arrivals]
process = "constant"
rate_per_minute = 1
[requests.one]
input_tokens = {input}
cache_write_tokens = {write}
output_tokens = {output}
"#
    )
}

/// One request of I = 1000, W = 200, A = 300 consumes I + W + b·A quota tokens:
/// Opus 4.8: 1200 + 15 × 300 = 5700; Sonnet 5, Opus 5, Fable 5.1: 1200 + 10 × 300 = 4200;
/// Opus 4.7 (5x): 1200 + 1500 = 2700. It reserves I + W + M = 1200 + 4000 = 5200 on all.
#[test]
fn the_newest_rows_burn_output_at_15x_and_10x() {
    for (preset, consumed) in [
        ("claude-opus-4-8", 5_700),
        ("claude-sonnet-5", 4_200),
        ("claude-opus-5", 4_200),
        ("claude-fable-5-1", 4_200),
        ("claude-opus-4-7", 2_700),
    ] {
        let r = json(&one_request(preset, 1000, 200, 300));
        assert_eq!(n(&r, "requests.succeeded"), 1, "{preset}");
        assert_eq!(n(&r, "tokens.quota_consumed"), consumed, "{preset}");
        assert_eq!(n(&r, "tokens.reserved"), 5_200, "{preset}");
    }
    // Opus 4.8's bill: 1000 × $5 + 300 × $25 + 200 × $6.25 per million = $0.01375.
    let r = json(&one_request("claude-opus-4-8", 1000, 200, 300));
    assert!(close(f(&r, "/cost/usd"), 0.01375), "{}", r["cost"]);
}

/// The same traffic on Opus 4.8 at 15x and with the 5x of the older rows: output drains
/// three times the quota. 10 requests of I = 1000, A = 2000 in one minute consume
/// 10 × (1000 + 15 × 2000) = 310,000 at 15x, 10 × (1000 + 5 × 2000) = 110,000 at 5x; with a
/// 150,000 quota, 15x throttles (fixed window: the minute's charges pass 150k) and 5x not.
#[test]
fn fifteen_x_throttles_traffic_that_five_x_serves() {
    let text = |burndown: &str| {
        format!(
            r#"
duration = "1m"
[model]
preset = "claude-opus-4-8"
{burndown}
[quota]
tokens_per_minute = 150000
[service]
ttft = "100ms"
ttft_per_1k_input = "0s"
output_tokens_per_second = 1000
[client]
max_tokens = 2000
retry = "none"
[arrivals]
process = "constant"
rate_per_minute = 10
[requests.one]
input_tokens = 1000
output_tokens = 2000
"#
        )
    };
    // 5x: each reserves 3000 and settles to 11,000 within 2.1 s; the 10 arrivals 6 s apart
    // add up to 110,000 ≤ 150,000: all admitted.
    let r5 = json(&text("output_burndown = 5"));
    assert_eq!(n(&r5, "requests.succeeded"), 10);
    assert_eq!(n(&r5, "tokens.quota_consumed"), 110_000);
    // 15x: each settles to 31,000. After k successes the window holds 31,000·k; the next
    // needs 3000 more: 31,000·k + 3000 ≤ 150,000 holds for k ≤ 4, so 5 are admitted
    // (155,000 charged) and the other 5 are throttled.
    let r15 = json(&text(""));
    assert_eq!(n(&r15, "requests.succeeded"), 5);
    assert_eq!(n(&r15, "attempts.throttled"), 5);
    assert_eq!(n(&r15, "tokens.quota_consumed"), 155_000);
}

/// `quota.reservation_floor = 4096`: the max_tokens part of a reservation is
/// max(100, 4096). Three arrivals at 0, 0.5 and 1.0 s (I = 500, M = 100, A = 50), none done
/// before 1.8 s (1 s TTFT + 50 tokens at 60/s): with the floor each reserves 4596, so
/// 4596 + 4596 = 9192 ≤ 10,000 and the third (13,788) is throttled; without it each
/// reserves 600 and all three are admitted (1800).
#[test]
fn the_reservation_floor_raises_every_reservation() {
    let text = |floor: &str| {
        format!(
            r#"
duration = "1200ms"
[model]
preset = "claude-sonnet-4"
[quota]
tokens_per_minute = 10000
{floor}
[service]
ttft = "1s"
ttft_per_1k_input = "0s"
[client]
retry = "none"
[arrivals]
process = "constant"
rate_per_minute = 120
[requests.one]
input_tokens = 500
output_tokens = 50
max_tokens = 100
"#
        )
    };
    let with = json(&text("reservation_floor = 4096"));
    assert_eq!(n(&with, "attempts.admitted"), 2);
    assert_eq!(n(&with, "attempts.throttled"), 1);
    assert_eq!(n(&with, "tokens.reserved"), 9_192);
    let without = json(&text(""));
    assert_eq!(n(&without, "attempts.admitted"), 3);
    assert_eq!(n(&without, "tokens.reserved"), 1_800);
    // The floor is written back by `check` and reloads to the same run.
    let s = Scenario::from_toml_str(&text("reservation_floor = 4096"), "t.toml").unwrap();
    let again = Scenario::from_toml_str(&s.to_toml(), "t.toml").unwrap();
    assert_eq!(
        serde_json::to_value(simulate(&again)).unwrap()["tokens"],
        with["tokens"]
    );
}

fn reserved_text(itpm: u64, otpm: u64, output: u64, arrivals: &str) -> String {
    format!(
        r#"
duration = "{arrivals}"
[model]
preset = "claude-sonnet-4-5"
[service]
ttft = "100ms"
ttft_per_1k_input = "0s"
output_tokens_per_second = 100
[pools.reserved]
provider = "bedrock-reserved"
input_tokens_per_minute = {itpm}
output_tokens_per_minute = {otpm}
price_reserved_per_1k_tpm_month = 100.0
[pools.on_demand]
tokens_per_minute = 1000000
[workloads.app]
route = {{ pools = ["reserved", "on_demand"], policy = "spillover" }}
[workloads.app.client]
max_tokens = 500
retry = "none"
[workloads.app.arrivals]
process = "constant"
rate_per_minute = 60
[workloads.app.requests.one]
input_tokens = 400
output_tokens = {output}
"#
    )
}

/// Reserved input tokens per minute count I + W at admission and never give them back:
/// arrivals at 0, 1 and 2 s of I = 400 charge 400, 800, then 1200 > 1000: the third spills
/// over to on-demand at once (not a throttle).
#[test]
fn reserved_input_tokens_per_minute_count_input_and_spill_over() {
    let r = json(&reserved_text(1000, 100_000, 100, "3s"));
    assert_eq!(n(&r, "pools.reserved.admitted"), 2);
    assert_eq!(n(&r, "pools.on_demand.admitted"), 1);
    assert_eq!(n(&r, "attempts.throttled"), 0);
    // C = I + 5·A = 400 + 500 = 900 per success, wherever it was served.
    assert_eq!(n(&r, "pools.reserved.quota_consumed"), 1_800);
    // Reserved successes cost nothing per token; the on-demand one 400 × $3 + 100 × $15.
    let on_demand = usd([3.0, 15.0, 3.75, 0.3], 400, 100, 0, 0);
    assert!(close(f(&r, "/pools/on_demand/cost/usd"), on_demand));
    // The fixed charge: (1000 + 100,000) TPM / 1000 × $100 / 730 h × 3 s.
    let fixed = 101_000.0 / 1000.0 * 100.0 / 730.0 * (3.0 / 3600.0);
    assert!(close(f(&r, "/cost/reserved_usd"), fixed), "{}", r["cost"]);
    assert!(
        close(f(&r, "/cost/usd"), on_demand + fixed),
        "{}",
        r["cost"]
    );
    assert!(
        r["cost"]["prices"]
            .as_str()
            .unwrap()
            .contains("reserved, 101000 TPM at $100"),
        "{}",
        r["cost"]
    );
}

/// Reserved output tokens per minute (our reading): max_tokens reserved at admission,
/// settled to 5·A at completion. M = 500, A = 40, 0.5 s per answer: arrivals at 0, 1, 2
/// and 3 s find 0, 200, 400 and 600 charged (each settled to 5 × 40 = 200 before the next
/// arrives); 600 + 500 > 1000, so the fourth spills over. Without the settlement the third
/// would already have found 1000 + 500.
#[test]
fn reserved_output_tokens_per_minute_reserve_max_tokens_and_settle_to_burndown() {
    let r = json(&reserved_text(100_000, 1000, 40, "4s"));
    assert_eq!(n(&r, "pools.reserved.admitted"), 3);
    assert_eq!(n(&r, "pools.on_demand.admitted"), 1);
    assert_eq!(n(&r, "attempts.throttled"), 0);
}

fn tiers_text(tpm: u64, tiers: [&str; 2]) -> String {
    let [a, b] = tiers;
    format!(
        r#"
duration = "1s"
[model]
preset = "claude-sonnet-4-5"
[service]
ttft = "1s"
ttft_per_1k_input = "0s"
output_tokens_per_second = 50
[pools.sonnet]
tokens_per_minute = {tpm}
[workloads.a]
route = "sonnet"
tier = "{a}"
[workloads.a.client]
max_tokens = 200
retry = "none"
[workloads.a.arrivals]
process = "constant"
rate_per_minute = 1
[workloads.a.requests.one]
input_tokens = 1000
output_tokens = 100
[workloads.b]
route = "sonnet"
tier = "{b}"
[workloads.b.client]
max_tokens = 200
retry = "none"
[workloads.b.arrivals]
process = "constant"
rate_per_minute = 1
[workloads.b.requests.one]
input_tokens = 1000
output_tokens = 100
"#
    )
}

/// Priority costs 1.75x and decodes 1.25x faster; flex costs 0.5x. One request per
/// workload of I = 1000, A = 100 on Sonnet 4.5 ($3 / $15): standard 3000 + 1500 = 4500 µ$;
/// priority 7875 µ$; flex 2250 µ$. Service time 1 s + 100 / 50 = 3 s (standard, flex);
/// 1 s + 100 / 62.5 = 2.6 s (priority).
#[test]
fn tiers_price_and_speed_by_the_row() {
    let r = json(&tiers_text(1_000_000, ["standard", "priority"]));
    let std = usd([3.0, 15.0, 3.75, 0.3], 1000, 100, 0, 0);
    assert!(close(f(&r, "/workloads/a/cost/usd"), std));
    assert!(close(f(&r, "/workloads/b/cost/usd"), std * 1.75));
    assert!(close(f(&r, "/tiers/priority/cost/usd"), std * 1.75));
    assert!(close(f(&r, "/tiers/standard/cost/usd"), std));
    assert!(close(f(&r, "/cost/usd"), std + std * 1.75), "{}", r["cost"]);
    // Latency: the histogram keeps 3 significant digits.
    let ms = |p: &str| f(&r, p);
    assert!((ms("/tiers/standard/latency_ms/e2e/max") - 3000.0).abs() < 5.0);
    assert!((ms("/tiers/priority/latency_ms/e2e/max") - 2600.0).abs() < 5.0);
    let r = json(&tiers_text(1_000_000, ["standard", "flex"]));
    assert!(close(f(&r, "/tiers/flex/cost/usd"), std * 0.5));
    // One tier only: no `tiers` block, and standard keeps the list price exactly.
    let r = json(&tiers_text(1_000_000, ["standard", "standard"]));
    assert!(r.get("tiers").is_none());
    assert_eq!(f(&r, "/cost/usd"), std + std);
}

/// All tiers share the pool's one quota: with 2000 tokens per minute, the two requests at
/// t = 0 each reserve I + M = 1200; the second finds 1200 + 1200 > 2000 and is throttled,
/// whatever its tier.
#[test]
fn tiers_share_one_quota() {
    let r = json(&tiers_text(2000, ["standard", "priority"]));
    assert_eq!(n(&r, "attempts.admitted"), 1);
    assert_eq!(n(&r, "attempts.throttled"), 1);
    assert_eq!(n(&r, "pools.sonnet.throttled"), 1);
}

/// Flex attempts fail with `service.flex_error_rate` while the pool is busy (it refused an
/// attempt within the last minute). A `hog` request at t = 0 can never fit (200,000 input
/// tokens, quota 100,000) and is refused at once; flex requests arrive at 0, 1, 2, 3 and
/// 4 s. Those at 1-4 s find the pool busy and fail with probability 0.9999999 (the one at
/// t = 0 may come before the refusal): 4 or 5 server errors. As standard, or with no
/// refusal, they see error_rate = 0: none.
#[test]
fn flex_fails_with_flex_error_rate_while_the_pool_is_busy() {
    let text = |tier: &str, hog_input: u64| {
        format!(
            r#"
duration = "5s"
[model]
preset = "claude-haiku-4-5"
[service]
flex_error_rate = 0.9999999
[pools.haiku]
tokens_per_minute = 100000
[workloads.hog]
route = "haiku"
[workloads.hog.client]
retry = "none"
max_tokens = 100
[workloads.hog.arrivals]
process = "constant"
rate_per_minute = 1
[workloads.hog.requests.big]
input_tokens = {hog_input}
output_tokens = 10
[workloads.batch]
route = "haiku"
tier = "{tier}"
[workloads.batch.client]
retry = "none"
max_tokens = 100
[workloads.batch.arrivals]
process = "constant"
rate_per_minute = 60
[workloads.batch.requests.small]
input_tokens = 100
output_tokens = 10
"#
        )
    };
    let r = json(&text("flex", 200_000));
    let errors = n(&r, "workloads.batch.attempts.server_errors");
    assert!((4..=5).contains(&errors), "{errors}");
    assert_eq!(
        n(&json(&text("standard", 200_000)), "attempts.server_errors"),
        0
    );
    assert_eq!(n(&json(&text("flex", 1000)), "attempts.server_errors"), 0);
}

/// A pool whose model IDs are all geographic profiles pays the row's regional premium
/// (10% for Sonnet 4.5): 4500 µ$ × 1.1; one listing a `global.` ID, and the default pool,
/// keep the list price.
#[test]
fn geographic_pools_pay_the_regional_premium() {
    let id = "anthropic.claude-sonnet-4-5-20250929-v1:0";
    let text = |ids: &str| {
        format!(
            r#"
duration = "1m"
[model]
preset = "claude-sonnet-4-5"
[pools.p]
tokens_per_minute = 1000000
model_ids = {ids}
[workloads.w]
route = "p"
[workloads.w.arrivals]
process = "constant"
rate_per_minute = 1
[workloads.w.requests.one]
input_tokens = 1000
output_tokens = 100
max_tokens = 200
"#
        )
    };
    let list = usd([3.0, 15.0, 3.75, 0.3], 1000, 100, 0, 0);
    let geo = json(&text(&format!(r#"["us.{id}", "eu.{id}"]"#)));
    assert!(close(f(&geo, "/cost/usd"), list * 1.1), "{}", geo["cost"]);
    assert!(geo["cost"]["prices"].as_str().unwrap().contains("+10%"));
    let global = json(&text(&format!(r#"["us.{id}", "global.{id}"]"#)));
    assert_eq!(f(&global, "/cost/usd"), list);
    assert!(global["cost"].get("prices").is_none());
    // An explicit premium wins.
    let own = json(
        &text(&format!(r#"["us.{id}"]"#)).replace("model_ids", "price_premium = 0.25\nmodel_ids"),
    );
    assert!(close(f(&own, "/cost/usd"), list * 1.25));
}

/// `quotasim models --format json` keeps its keys and adds `profile_only`,
/// `tokenizer_factor`, `rpm_enforced` and `tiers`.
#[test]
fn models_json_has_the_new_keys() {
    let out = qs().args(["models", "--format", "json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["models"].as_array().unwrap();
    let row = |name: &str| {
        rows.iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    for r in rows {
        for k in [
            "name",
            "bedrock_ids",
            "output_burndown",
            "max_output_tokens",
            "ttft",
            "output_tokens_per_second",
            "source",
            "as_of",
            "confidence",
            "profile_only",
            "tokenizer_factor",
            "rpm_enforced",
            "tiers",
        ] {
            assert!(r.get(k).is_some(), "{} lacks {k}", r["name"]);
        }
    }
    let o = row("claude-opus-4-8");
    assert_eq!(o["output_burndown"], 15);
    assert_eq!(o["max_output_tokens"], 128_000);
    assert_eq!(o["profile_only"], true);
    assert_eq!(o["tokenizer_factor"], 1.3);
    assert_eq!(o["rpm_enforced"], false);
    assert_eq!(o["price_output"], 25.0);
    assert_eq!(
        o["tiers"],
        serde_json::json!({"standard": {"price_factor": 1.0, "speed_factor": 1.0}})
    );
    for name in ["claude-sonnet-5", "claude-opus-5", "claude-fable-5-1"] {
        assert_eq!(row(name)["output_burndown"], 10, "{name}");
        assert_eq!(row(name)["burndown_status"], "cited", "{name}");
    }
    for name in [
        "claude-fable-5",
        "claude-opus-5-5",
        "claude-sonnet-5-5",
        "claude-haiku-5-5",
    ] {
        assert_eq!(row(name)["burndown_status"], "unconfirmed", "{name}");
    }
    assert_eq!(row("claude-sonnet-4-6")["max_output_tokens"], 128_000);
    assert_eq!(row("claude-sonnet-4")["rpm_enforced"], "unknown");
    assert_eq!(row("claude-sonnet-4")["profile_only"], false);
    assert_eq!(row("claude-sonnet-4")["tokenizer_factor"], 1.0);
    assert_eq!(
        row("claude-sonnet-4-5")["tiers"]["priority"],
        serde_json::json!({"price_factor": 1.75, "speed_factor": 1.25})
    );
    let text = String::from_utf8(qs().arg("models").output().unwrap().stdout).unwrap();
    assert!(text.contains("claude-opus-4-8*"), "{text}");
    assert!(text.contains("10?"), "{text}");
}

/// `check` and `run` warn about an unconfirmed burndown (unless the scenario sets its own),
/// a requests-per-minute limit on a model whose RPM Bedrock does not enforce, and a bare
/// profile-only model ID in a pool's list.
#[test]
fn check_and_run_warn_about_the_facts_a_scenario_relies_on() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = |model: &str, quota: &str| {
        format!(
            "duration = \"1m\"\n[model]\n{model}\n[quota]\ntokens_per_minute = 100000\n{quota}\n\
             [arrivals]\nprocess = \"constant\"\nrate_per_minute = 1\n[requests.one]\n\
             input_tokens = 10\noutput_tokens = 10\nmax_tokens = 10\n"
        )
    };
    let stderr = |cmd: &str, text: &str| {
        let p = write_str(dir.path(), "s.toml", text);
        let out = qs().args([cmd, &p]).output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stderr).unwrap()
    };
    let fable = scenario("preset = \"claude-fable-5\"", "");
    for cmd in ["check", "run"] {
        let err = stderr(cmd, &fable);
        assert!(
            err.contains("\"claude-fable-5\"") && err.contains("unconfirmed"),
            "{err}"
        );
    }
    let own = scenario("preset = \"claude-fable-5\"\noutput_burndown = 12", "");
    assert!(!stderr("check", &own).contains("unconfirmed"));
    let rpm = scenario("preset = \"claude-opus-4-8\"", "requests_per_minute = 50");
    let err = stderr("check", &rpm);
    assert!(err.contains("requests_per_minute = 50"), "{err}");
    assert!(
        !stderr(
            "check",
            &scenario("preset = \"claude-sonnet-4\"", "requests_per_minute = 50")
        )
        .contains("does not enforce")
    );
    let bare = "duration = \"1m\"\n[model]\npreset = \"claude-opus-4-8\"\n[pools.p]\n\
                tokens_per_minute = 100000\nmodel_ids = [\"anthropic.claude-opus-4-8\"]\n\
                [workloads.w]\nroute = \"p\"\n[workloads.w.arrivals]\nprocess = \"constant\"\n\
                rate_per_minute = 1\n[workloads.w.requests.one]\ninput_tokens = 10\n\
                output_tokens = 10\nmax_tokens = 10\n";
    let err = stderr("check", bare);
    assert!(
        err.contains("bare model ID \"anthropic.claude-opus-4-8\""),
        "{err}"
    );
}

/// An old invocation log naming Sonnet 4.5 by its bare ID (Bedrock refuses it today) is
/// replayed on the pool serving its profiles, with one warning. Route [global, geo]: a
/// record no pool lists would take `global`, the route's first; the bare ID goes to `geo`,
/// the first pool (by the precedence rule) listing one of its profiles.
#[test]
fn trace_replay_maps_a_bare_id_from_an_old_log_with_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    let id = "anthropic.claude-sonnet-4-5-20250929-v1:0";
    write_log(
        dir.path(),
        &[
            log_record(0, id),
            log_record(1, id),
            log_record(2, &format!("global.{id}")),
        ],
    );
    let text = format!(
        r#"
duration = "1m"
[model]
preset = "claude-sonnet-4-5"
[pools.geo]
tokens_per_minute = 1000000
model_ids = ["us.{id}"]
[pools.global]
tokens_per_minute = 1000000
model_ids = ["global.{id}"]
[workloads.replay]
route = {{ pools = ["global", "geo"], policy = "fallback" }}
[workloads.replay.arrivals]
process = "trace"
file = "log.jsonl"
"#
    );
    let path = write_str(dir.path(), "s.toml", &text);
    let s = Scenario::from_toml_str(&text, &path).unwrap();
    let r = serde_json::to_value(simulate(&s)).unwrap();
    assert_eq!(n(&r, "pools.geo.admitted"), 2);
    assert_eq!(n(&r, "pools.global.admitted"), 1);
    let warnings: Vec<&String> = s
        .fact_warnings
        .iter()
        .filter(|w| w.contains("bare model IDs"))
        .collect();
    assert_eq!(warnings.len(), 1, "{:?}", s.fact_warnings);
    assert!(warnings[0].contains("pool `geo`"), "{}", warnings[0]);
}

/// Bad input: an unknown tier, a tier the model lacks (named), a negative floor, a reserved
/// pool without its two limits.
#[test]
fn bad_tiers_floors_and_reserved_pools_are_refused_with_their_key() {
    let d = load_err(&tiers_text(1000, ["standard", "turbo"]));
    assert_eq!(d.key_path.as_deref(), Some("workloads.b.tier"));
    assert!(d.message.contains("\"standard\", \"priority\", \"flex\""));
    let opus =
        tiers_text(1000, ["standard", "priority"]).replace("claude-sonnet-4-5", "claude-opus-4-8");
    let d = load_err(&opus);
    assert_eq!(d.key_path.as_deref(), Some("workloads.b.tier"));
    assert!(d.message.contains("\"claude-opus-4-8\""), "{}", d.message);
    let d = load_err(&one_request("claude-sonnet-4", 1, 0, 1).replace(
        "tokens_per_minute = 1000000",
        "tokens_per_minute = 1000000\nreservation_floor = -1",
    ));
    assert_eq!(d.key_path.as_deref(), Some("quota.reservation_floor"));
    let d = load_err(
        &reserved_text(1000, 1000, 10, "3s").replace("output_tokens_per_minute = 1000\n", ""),
    );
    assert_eq!(d.key_path.as_deref(), Some("pools.reserved.provider"));
    assert!(d.message.contains("output_tokens_per_minute"));
}

/// `run --format csv` carries the per-tier split as `tiers.NAME.*` rows (the JSON's
/// `tiers.NAME` numbers, laid out like `pools.NAME.*` and `workloads.NAME.*`), after the
/// workloads' rows, standard before priority. One request per workload at t = 0 of
/// I = 100,000 and A = 20,000 on Sonnet 4.5 ($3 / $15 per million): standard 0.3 + 0.3 =
/// $0.600, priority 1.75x = $1.050; per hour of the 1 s run 2160 and 3780. Latency: TTFT
/// 1 s + 20,000 / 10,000 tokens/s = 3000 ms; priority decodes 1.25x faster, 1 s + 1.6 s =
/// 2600 ms. With one tier there are no `tiers.` rows.
#[test]
fn csv_reports_split_by_tier_when_more_than_one_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let text = |b: &str| {
        tiers_text(1_000_000, ["standard", b])
            .replace(
                "output_tokens_per_second = 50",
                "output_tokens_per_second = 10000",
            )
            .replace("max_tokens = 200", "max_tokens = 20000")
            .replace("input_tokens = 1000\n", "input_tokens = 100000\n")
            .replace("output_tokens = 100\n", "output_tokens = 20000\n")
    };
    let csv = |b: &str| {
        let p = write_str(dir.path(), "t.toml", &text(b));
        let out = qs().args(["run", &p, "--format", "csv"]).output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let two = csv("priority");
    let rows: Vec<(&str, &str)> = two.lines().filter_map(|l| l.split_once(',')).collect();
    let get = |k: &str| {
        rows.iter()
            .find(|(m, _)| *m == k)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("no row {k} in\n{two}"))
    };
    for (k, v) in [
        ("tiers.standard.requests.arrived", "1"),
        ("tiers.standard.requests.succeeded", "1"),
        ("tiers.standard.requests.failed", "0"),
        ("tiers.standard.latency_ms.e2e.mean", "3000"),
        ("tiers.standard.cost.usd", "0.6"),
        ("tiers.standard.cost.usd_per_success", "0.6"),
        ("tiers.standard.cost.usd_per_hour", "2160"),
        ("tiers.priority.requests.arrived", "1"),
        ("tiers.priority.requests.succeeded", "1"),
        ("tiers.priority.latency_ms.e2e.mean", "2600"),
        ("tiers.priority.cost.usd", "1.05"),
        ("tiers.priority.cost.usd_per_hour", "3780"),
        ("cost.usd", "1.65"),
    ] {
        assert_eq!(get(k), v, "{k}");
    }
    // The histogram keeps 3 significant digits: the percentiles are within 0.1%.
    let ms = |k: &str| get(k).parse::<f64>().unwrap();
    assert!((ms("tiers.standard.latency_ms.e2e.p50") - 3000.0).abs() < 3.0);
    assert!((ms("tiers.priority.latency_ms.e2e.max") - 2600.0).abs() < 2.6);
    // Per tier: 9 request counts, 10 latency figures, 3 cost figures; in report order,
    // after the last workload row.
    let tier_rows: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, (m, _))| m.starts_with("tiers."))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(tier_rows.len(), 2 * 22, "{two}");
    let last_workload = rows
        .iter()
        .rposition(|(m, _)| m.starts_with("workloads."))
        .unwrap();
    assert_eq!(tier_rows[0], last_workload + 1);
    assert!(rows[tier_rows[0]].0.starts_with("tiers.standard."));
    assert!(rows[tier_rows[43]].0.starts_with("tiers.priority."));
    // One tier: no split.
    let one = csv("standard");
    assert!(!one.contains("tiers."), "{one}");
}

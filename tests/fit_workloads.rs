//! `fit --workload NAME` and `fit --by FIELD` print `[workloads.*]` fragments that paste
//! into a scenario with several workloads and load back; bad split fields exit 2.

use assert_cmd::Command;
use serde_json::Value;

fn quotasim() -> Command {
    let mut c = Command::cargo_bin("quotasim").unwrap();
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn fit(args: &[&str]) -> String {
    let out = quotasim().arg("fit").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Writes `text` as a scenario, checks it (exit 0) and runs it; returns the JSON report.
fn check_and_run(text: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, text).unwrap();
    let out = quotasim().arg("check").arg(&path).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = quotasim()
        .args(["run", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The `N records` each split fragment states in its header comment.
fn stated_records(text: &str) -> Vec<u64> {
    text.lines()
        .filter(|l| l.starts_with("# Fitted by"))
        .map(|l| {
            let (_, rest) = l.split_once(" (").unwrap();
            rest.split(' ').next().unwrap().parse().unwrap()
        })
        .collect()
}

#[test]
fn a_workload_fragment_pastes_beside_another_workload() {
    let frag = fit(&["scenarios/traces/chat-4h.csv", "--workload", "chat"]);
    assert!(frag.contains("[workloads.chat.arrivals]"), "{frag}");
    assert!(
        frag.contains("[[workloads.chat.arrivals.schedule]]"),
        "{frag}"
    );
    assert!(frag.contains("[workloads.chat.requests.chat]"), "{frag}");
    assert!(frag.contains("[workloads.chat.requests.rag]"), "{frag}");
    // No top-level tables, which a multi-workload scenario refuses.
    assert!(
        !frag
            .lines()
            .any(|l| l.starts_with("[arrivals") || l.starts_with("[requests")),
        "{frag}"
    );
    let frag = frag.replace("# route = \"POOL\"", "route = \"a\"");
    let text = format!(
        "duration = \"30m\"\nseed = 1\n[model]\npreset = \"claude-sonnet-4\"\n\
         [pools.a]\ntokens_per_minute = 2000000\n[pools.b]\ntokens_per_minute = 400000\n\
         [workloads.batch]\nroute = \"b\"\n[workloads.batch.arrivals]\nprocess = \"poisson\"\n\
         rate_per_minute = 5\n[workloads.batch.requests.big]\ninput_tokens = 2000\n\
         output_tokens = 300\nmax_tokens = 1000\n\n{frag}"
    );
    let r = check_and_run(&text);
    assert!(
        r["workloads"]["chat"]["requests"]["arrived"]
            .as_u64()
            .unwrap()
            > 0,
        "{r}"
    );
    assert!(r["workloads"]["batch"].is_object(), "{r}");
}

/// `--by class` on the bundled CSV trace: one workload per class (`chat`, `rag`), their
/// stated record counts add up to the trace's (2,980 chat + 721 rag = 3,701), and the
/// fragments load into a one-pool `[quota]` scenario.
#[test]
fn split_by_a_csv_column_gives_one_workload_per_value() {
    let frag = fit(&["scenarios/traces/chat-4h.csv", "--by", "class"]);
    assert!(frag.contains("[workloads.chat.arrivals]"), "{frag}");
    assert!(frag.contains("[workloads.rag.arrivals]"), "{frag}");
    assert_eq!(stated_records(&frag), [2980, 721]);
    // Each workload holds only its own class.
    assert!(frag.contains("[workloads.chat.requests.chat]"), "{frag}");
    assert!(!frag.contains("[workloads.chat.requests.rag]"), "{frag}");
    let text = format!(
        "duration = \"20m\"\n[model]\npreset = \"claude-sonnet-4\"\n\
         [quota]\ntokens_per_minute = 2000000\n\n{frag}"
    );
    let r = check_and_run(&text);
    for w in ["chat", "rag"] {
        assert!(
            r["workloads"][w]["requests"]["arrived"].as_u64().unwrap() > 0,
            "{w}: {r}"
        );
    }
}

/// `--by modelId` on an invocation log: the workload is named after the model ID (its
/// `us.` prefix kept, other characters made `_`), and the header names the value.
#[test]
fn split_an_invocation_log_by_model_id() {
    let frag = fit(&["scenarios/traces/invocations.jsonl", "--by", "modelId"]);
    let name = "us_anthropic_claude-sonnet-4-20250514-v1_0";
    assert!(
        frag.contains(&format!("[workloads.{name}.arrivals]")),
        "{frag}"
    );
    assert!(
        frag.contains("`modelId` = \"us.anthropic.claude-sonnet-4-20250514-v1:0\""),
        "{frag}"
    );
    assert_eq!(stated_records(&frag), [316]);
    let text = format!(
        "duration = \"10m\"\n[model]\npreset = \"claude-sonnet-4\"\n\
         [pools.geo]\ntokens_per_minute = 2000000\n\n{frag}"
    );
    let r = check_and_run(&text);
    // One pool and one workload: the report has no per-workload section (as a scenario
    // without `[workloads]` would), so the run's own count is the workload's.
    assert!(r["requests"]["arrived"].as_u64().unwrap() > 0, "{r}");
}

/// A split by a nested field (`identity.arn`) of a log whose records name two roles.
#[test]
fn split_an_invocation_log_by_a_nested_field() {
    let dir = tempfile::tempdir().unwrap();
    let rec = |t: u32, role: &str| {
        format!(
            r#"{{"timestamp":"2025-06-02T14:00:{t:02}Z","modelId":"global.anthropic.claude-sonnet-4-20250514-v1:0","identity":{{"arn":"arn:aws:sts::1:assumed-role/{role}/s"}},"input":{{"inputTokenCount":{}}},"output":{{"outputTokenCount":50}}}}"#,
            100 + t
        )
    };
    let log: Vec<String> = (0..12)
        .map(|t| rec(t, if t % 3 == 0 { "batch" } else { "chat" }))
        .collect();
    let path = dir.path().join("log.jsonl");
    std::fs::write(&path, log.join("\n")).unwrap();
    let frag = fit(&[path.to_str().unwrap(), "--by", "identity.arn"]);
    assert!(
        frag.contains("[workloads.arn_aws_sts_1_assumed-role_batch_s.arrivals]"),
        "{frag}"
    );
    assert!(
        frag.contains("[workloads.arn_aws_sts_1_assumed-role_chat_s.arrivals]"),
        "{frag}"
    );
    assert_eq!(stated_records(&frag), [4, 8]);
}

fn fails_with_2(args: &[&str], needle: &str) {
    let out = quotasim().arg("fit").args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(needle), "{needle:?} not in\n{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_missing_split_field_exits_2_with_a_clear_message() {
    fails_with_2(
        &["scenarios/traces/chat-4h.csv", "--by", "app"],
        "the header has no column `app` to split by; its columns are `timestamp`, `class`",
    );
    fails_with_2(
        &["scenarios/traces/chat-4h.csv", "--by", "clas"],
        "did you mean `class`?",
    );
    fails_with_2(
        &[
            "scenarios/traces/invocations.jsonl",
            "--by",
            "identity.role",
        ],
        "invocations.jsonl:1:1: the record has no `identity.role`",
    );
    // One workload per request is not a split.
    fails_with_2(
        &["scenarios/traces/chat-4h.csv", "--by", "input_tokens"],
        "more than 32 distinct values",
    );
    // Every value a single record: nothing to fit.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(
        &path,
        "timestamp,app,input_tokens,output_tokens\n0,a,1,1\n1,b,1,1\n",
    )
    .unwrap();
    fails_with_2(
        &[path.to_str().unwrap(), "--by", "app"],
        "no value of `app` has the two records a fit needs",
    );
    fails_with_2(
        &[
            "scenarios/traces/chat-4h.csv",
            "--by",
            "class",
            "--workload",
            "x",
        ],
        "cannot be used with",
    );
}

/// A value with a single record has no rate to fit: it is named in a comment and a warning,
/// and the other values' workloads are still printed.
///
/// Five records: `app` = a, b, a, a, c → `a` (3 records) and `b`, `c` (1 each) left out.
#[test]
fn a_value_with_one_record_is_named_not_fitted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(
        &path,
        "timestamp,app,input_tokens,output_tokens\n0,a,10,5\n1,b,10,5\n2,a,20,5\n3,a,30,5\n4,c,1,1\n",
    )
    .unwrap();
    let out = quotasim()
        .args(["fit", path.to_str().unwrap(), "--by", "app"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stated_records(&text), [3]);
    assert!(text.contains("[workloads.a.arrivals]"), "{text}");
    assert!(!text.contains("[workloads.b"), "{text}");
    assert!(text.contains("# Not fitted: `app` = \"b\""), "{text}");
    assert!(text.contains("# Not fitted: `app` = \"c\""), "{text}");
    assert!(err.contains("`app` = \"b\" has a single record"), "{err}");
}

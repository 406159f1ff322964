//! End-to-end tests of the `quotasim` binary.

use predicates::prelude::*;
use serde_json::Value;
use std::path::Path;

mod common;

use common::{cli_json, qs};

#[test]
fn estimate_reproduces_the_seed_article() {
    // (model, input, output, quota tokens) from the article; Claude 4 burns 5 per output token.
    for (model, i, o, q) in [
        ("claude-sonnet-4", "10", "750", 3_760),
        ("claude-sonnet-4", "2005", "200", 3_005),
        ("claude-opus-4", "6", "12", 66),
        ("claude-sonnet-4", "0", "10000", 50_000),
        ("claude-opus-4", "0", "20000", 100_000),
        ("other", "10", "750", 760),
        ("claude-3-5-sonnet", "2005", "200", 2_205),
    ] {
        let v = cli_json(&[
            "estimate",
            "--model",
            model,
            "--input-tokens",
            i,
            "--output-tokens",
            o,
            "--format",
            "json",
        ]);
        assert_eq!(v["quota_tokens"], q, "{model} {i} {o}");
    }
}

#[test]
fn estimate_json_keys_and_per_minute_figures() {
    // The article's 100k TPM quota: 50,000 per 10k-output request leaves room for two a minute.
    let v = cli_json(&[
        "estimate",
        "--model",
        "claude-sonnet-4",
        "--input-tokens",
        "0",
        "--output-tokens",
        "10000",
        "--max-tokens",
        "10000",
        "--tokens-per-minute",
        "100000",
        "--format",
        "json",
    ]);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "model",
            "input_burndown",
            "output_burndown",
            "input_tokens",
            "output_tokens",
            "max_tokens",
            "quota_tokens",
            "reserved_tokens",
            "requests_per_minute_by_consumption",
            "concurrent_by_reservation"
        ]
    );
    assert_eq!(v["requests_per_minute_by_consumption"], 2);
    assert_eq!(v["reserved_tokens"], 10_000);
    assert_eq!(v["concurrent_by_reservation"], 10);
    // Haiku-style request: max_tokens 4096 reserves 4,106 → 24 fit a 100k minute; right-sized
    // 100 reserves 110 → 909.
    let v = cli_json(&[
        "estimate",
        "--model",
        "claude-sonnet-4",
        "--input-tokens",
        "10",
        "--output-tokens",
        "30",
        "--max-tokens",
        "4096",
        "--tokens-per-minute",
        "100000",
        "--format",
        "json",
    ]);
    assert_eq!(v["concurrent_by_reservation"], 24);
    let v = cli_json(&[
        "estimate",
        "--model",
        "claude-sonnet-4",
        "--input-tokens",
        "10",
        "--output-tokens",
        "30",
        "--max-tokens",
        "100",
        "--tokens-per-minute",
        "100000",
        "--format",
        "json",
    ]);
    assert_eq!(v["concurrent_by_reservation"], 909);
    let v = cli_json(&[
        "estimate",
        "--model",
        "claude-sonnet-4",
        "--input-tokens",
        "10",
        "--output-tokens",
        "750",
        "--format",
        "json",
    ]);
    assert!(
        v.get("concurrent_by_reservation").is_none(),
        "only with --tokens-per-minute"
    );
    assert_eq!(
        v["max_tokens"], 64_000,
        "defaults to the model's maximum output"
    );
}

#[test]
fn estimate_rejects_unknown_model_with_suggestion() {
    qs().args([
        "estimate",
        "--model",
        "claude-sonet-4",
        "--input-tokens",
        "1",
        "--output-tokens",
        "1",
    ])
    .assert()
    .code(2)
    .stderr(predicate::str::contains("did you mean \"claude-sonnet-4\""));
}

#[test]
fn run_json_has_every_spec_key() {
    let v = cli_json(&[
        "run",
        "scenarios/chat-sonnet4-200k.toml",
        "--format",
        "json",
    ]);
    let top: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    // The original report keys first and in order; later additions (e.g. `client`) come after them.
    assert_eq!(
        top[..top.len().min(10)],
        [
            "scenario",
            "seed",
            "simulated_seconds",
            "requests",
            "attempts",
            "tokens",
            "throughput",
            "latency_ms",
            "timeline",
            "engine"
        ]
    );
    for (obj, keys) in [
        (
            "requests",
            &[
                "arrived",
                "succeeded",
                "failed",
                "unfinished",
                "truncated",
                "unservable",
            ][..],
        ),
        (
            "attempts",
            &[
                "sent",
                "admitted",
                "throttled",
                "server_errors",
                "throttled_by",
            ][..],
        ),
        (
            "tokens",
            &["input", "output", "quota_consumed", "reserved"][..],
        ),
        (
            "throughput",
            &[
                "requests_per_minute",
                "output_tokens_per_minute",
                "quota_tokens_per_minute",
            ][..],
        ),
    ] {
        for k in keys {
            assert!(v[obj].get(*k).is_some(), "{obj}.{k}");
        }
    }
    for k in ["requests_per_minute", "tokens_per_minute", "tokens_per_day"] {
        assert!(v["attempts"]["throttled_by"][k].is_u64(), "{k}");
    }
    for l in ["e2e", "queue_wait"] {
        for k in ["mean", "p50", "p90", "p99", "max"] {
            assert!(v["latency_ms"][l].get(k).is_some(), "{l}.{k}");
        }
    }
    let row = &v["timeline"][0];
    for k in [
        "minute",
        "admitted",
        "throttled",
        "completed",
        "quota_charged",
    ] {
        assert!(row.get(k).is_some(), "timeline.{k}");
    }
    assert!(v["engine"]["events"].as_u64().unwrap() > 0);
    let r = &v["requests"];
    assert_eq!(
        r["arrived"],
        r["succeeded"].as_u64().unwrap()
            + r["failed"].as_u64().unwrap()
            + r["unfinished"].as_u64().unwrap()
    );
}

#[test]
fn same_seed_same_bytes_other_seed_differs() {
    let run = |seed: &str| {
        qs().args([
            "run",
            "scenarios/chat-sonnet4-200k.toml",
            "--format",
            "json",
            "--seed",
            seed,
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
    };
    let a = run("7");
    let b = run("7");
    assert_eq!(a, b);
    assert_ne!(a, run("8"));
}

#[test]
fn set_overrides_and_shorthands() {
    let v = cli_json(&[
        "run",
        "scenarios/chat-sonnet4-200k.toml",
        "--format",
        "json",
        "--set",
        "max_tokens=64000",
        "--set",
        "concurrency=1",
    ]);
    let base = cli_json(&[
        "run",
        "scenarios/chat-sonnet4-200k.toml",
        "--format",
        "json",
    ]);
    assert!(v["tokens"]["reserved"].as_u64() > base["tokens"]["reserved"].as_u64());
    assert!(
        v["latency_ms"]["queue_wait"]["p99"].as_f64()
            > base["latency_ms"]["queue_wait"]["p99"].as_f64()
    );
    // Common random numbers: the arrivals do not move when max_tokens changes.
    assert_eq!(v["requests"]["arrived"], base["requests"]["arrived"]);
}

#[test]
fn csv_table_timeline_and_out_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.csv");
    qs().args([
        "run",
        "scenarios/chat-sonnet4-200k.toml",
        "--format",
        "csv",
        "--timeline",
        "--out",
    ])
    .arg(&out)
    .assert()
    .success()
    .stdout("");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("metric,value\n"));
    assert!(text.contains("\nrequests.arrived,"));
    // The timeline of a CSV file goes to a file of its own.
    assert!(!text.contains("quota_charged"));
    let timeline = std::fs::read_to_string(dir.path().join("r.timeline.csv")).unwrap();
    assert!(timeline.starts_with("minute,admitted,throttled,completed,quota_charged\n0,"));
    qs().args(["run", "scenarios/chat-sonnet4-200k.toml", "--timeline"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("quota_charged")
                .and(predicate::str::contains("requests      arrived")),
        );
}

#[test]
fn invalid_scenario_exits_2_with_position() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.toml");
    std::fs::write(
        &f,
        "duration = \"10m\"\n[quota]\ntokens_per_minute = 1000\n[client]\nconcurency = 3\n",
    )
    .unwrap();
    qs().arg("run").arg(&f).assert().code(2).stderr(
        predicate::str::contains("bad.toml:5:1")
            .and(predicate::str::contains("client.concurency"))
            .and(predicate::str::contains("did you mean `concurrency`?")),
    );
    qs().args(["run", "does/not/exist.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no such file"));
    qs().args([
        "run",
        "scenarios/chat-sonnet4-200k.toml",
        "--set",
        "client.concurrency=0",
    ])
    .assert()
    .code(2)
    .stderr(
        predicate::str::contains("--set client.concurrency=0").and(predicate::str::contains("≥ 1")),
    );
    qs().args([
        "run",
        "scenarios/chat-sonnet4-200k.toml",
        "--format",
        "yaml",
    ])
    .assert()
    .code(2);
}

#[test]
fn check_prints_resolved_scenario_and_warns() {
    qs().args(["check", "scenarios/chat-sonnet4-200k.toml"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("output_burndown = 5")
                .and(predicate::str::contains("ttft = \"800ms\"")),
        );
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("big.toml");
    std::fs::write(
        &f,
        "duration = \"1m\"\n[model]\npreset = \"claude-sonnet-4\"\n[quota]\ntokens_per_minute = 50000\ntokens_per_day = \"auto\"\n\
         [arrivals]\nprocess = \"constant\"\nrate_per_minute = 1\n[requests.long]\ninput_tokens = 100\noutput_tokens = 100\n",
    )
    .unwrap();
    qs().arg("check")
        .arg(&f)
        .assert()
        .success()
        .stdout(predicate::str::contains("tokens_per_day = 72000000"))
        .stderr(predicate::str::contains(
            "class `long` makes only unservable requests",
        ));
}

#[test]
fn models_lists_presets() {
    qs().arg("models").assert().success().stdout(
        predicate::str::contains("claude-sonnet-4 ")
            .and(predicate::str::contains("64000"))
            .and(predicate::str::contains("other")),
    );
}

/// `run` counts unservable requests — even when every request is unservable.
/// The guard rails explain the situation up front as a warning, and the run still reports.
#[test]
fn run_counts_a_scenario_where_every_request_is_unservable() {
    for (file, limit) in [
        (
            "tests/fixtures/unservable/every_request_by_tpm.toml",
            "tokens_per_minute",
        ),
        (
            "tests/fixtures/unservable/every_request_by_tpd.toml",
            "tokens_per_day",
        ),
    ] {
        let out = qs()
            .args(["run", file, "--format", "json"])
            .assert()
            .success()
            .stderr(
                predicate::str::contains("warning:")
                    .and(predicate::str::contains("every request is unservable")),
            )
            .get_output()
            .stdout
            .clone();
        let v: Value = serde_json::from_slice(&out).unwrap();
        let r = &v["requests"];
        assert!(r["arrived"].as_u64().unwrap() > 0, "{file}");
        assert_eq!(r["unservable"], r["arrived"], "{file}");
        assert_eq!(r["failed"], r["arrived"], "{file}");
        assert_eq!(v["attempts"]["admitted"], 0, "{file}");
        assert_eq!(
            v["attempts"]["throttled_by"][limit], v["attempts"]["throttled"],
            "{file}"
        );
        qs().args(["check", file])
            .assert()
            .success()
            .stderr(predicate::str::contains("unservable"));
    }
}

/// `--out parts/3.json` creates `parts/` (a Slurm array task needs no `mkdir -p` first), for
/// `run`, a sharded `sweep` and `merge`.
#[test]
fn out_creates_missing_parent_folders() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("reports/deep/r.json");
    qs().args([
        "run",
        "scenarios/haiku-right-sized.toml",
        "--format",
        "json",
    ])
    .arg("--out")
    .arg(&report)
    .assert()
    .success()
    .stdout("");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert!(v["requests"]["arrived"].as_u64().unwrap() > 0);
    let part = dir.path().join("parts/0.json");
    qs().args([
        "sweep",
        "scenarios/haiku-right-sized.toml",
        "-q",
        "--vary",
        "max_tokens=512,1024",
        "--set",
        "duration=2m",
        "--shard",
        "0/1",
        "--out",
    ])
    .arg(&part)
    .assert()
    .success();
    let merged = dir.path().join("merged/all.csv");
    qs().args(["merge", "--format", "csv", "--out"])
        .arg(&merged)
        .arg(&part)
        .assert()
        .success();
    assert!(std::fs::read_to_string(&merged).unwrap().lines().count() == 3);
}

/// Each option's default is stated once in `--help` (clap's `[default: …]`).
#[test]
fn help_states_each_default_once() {
    for cmd in [
        "run", "sweep", "merge", "compare", "estimate", "check", "fit",
    ] {
        let out = qs()
            .args([cmd, "--help"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let help = String::from_utf8(out).unwrap();
        for line in help.lines().filter(|l| l.contains("default")) {
            assert!(
                !(line.contains("(default") && line.contains("[default:")),
                "`{cmd} --help` states a default twice: {line}"
            );
        }
        assert!(
            !help.contains("§"),
            "`{cmd} --help` cites a section: {help}"
        );
    }
    let out = qs()
        .args(["merge", "--help"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let help = String::from_utf8(out).unwrap();
    assert_eq!(help.matches("default").count(), 2, "{help}"); // --format and --plot-metric
}

/// `quotasim fit` on a CSV trace holding `text`, written to `name` in `dir`: its stdout,
/// asserting success.
fn fit_ok(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let out = qs().arg("fit").arg(&path).assert().success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

/// `quotasim fit` on a CSV trace holding `text`, written to `name` in `dir`: asserts exit 2
/// with `message` on stderr.
fn fit_refuses(dir: &Path, name: &str, text: &str, message: &str) {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    qs().arg("fit")
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(message));
}

/// A CSV trace follows RFC 4180: a quoted field may hold a comma; an unterminated quote is
/// an error at its line and column.
#[test]
fn csv_traces_accept_quoted_commas_and_refuse_unterminated_quotes() {
    let dir = tempfile::tempdir().unwrap();
    let text = fit_ok(
        dir.path(),
        "t.csv",
        "timestamp,input_tokens,output_tokens,class\n\
         0,100,50,\"chat, long\"\n1,120,60,\"chat, long\"\n2,90,40,short\n",
    );
    assert!(text.contains("[requests.\"chat, long\"]"), "{text}");
    assert!(text.contains("weight = 0.6667  # 2 records"), "{text}");
    fit_refuses(
        dir.path(),
        "u.csv",
        "timestamp,input_tokens,output_tokens,class\n0,100,50,\"chat, long\n",
        "u.csv:2:10: unterminated quoted field",
    );
}

/// A quoted CSV field may hold line breaks (RFC 4180): the record goes on on the next lines.
/// Here a `note` column holds two- and three-line texts; `fit` sees three records, two of
/// class "chat, long". An error in a field on a record's later line names that line and
/// the field's column in it; a `#` comment line's quote never continues it.
#[test]
fn csv_traces_accept_quoted_line_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let text = fit_ok(
        dir.path(),
        "t.csv",
        "timestamp,input_tokens,output_tokens,class,note\n\
         # a comment, \"with a quote that is text\n\
         0,100,50,\"chat, long\",\"first line\nsecond line\"\n\
         1,120,60,\"chat, long\",\"a\n\n\"\"b\"\"\"\n\
         2,90,40,short,plain\n",
    );
    assert!(text.contains("[requests.\"chat, long\"]"), "{text}");
    assert!(text.contains("weight = 0.6667  # 2 records"), "{text}");
    assert!(text.contains("weight = 0.3333  # 1 record"), "{text}");
    // Line 3 opens a note that line 4 closes; the next record starts on line 5 and its
    // `output_tokens` (`x`, column 7 of line 5) is the error.
    fit_refuses(
        dir.path(),
        "u.csv",
        "timestamp,input_tokens,output_tokens,note\n0,100,50,ok\n1,100,50,\"two\nlines\"\n2,100,x,ok\n",
        "u.csv:5:7: ",
    );
    // A field on a record's second line: `5,"a` + `b",x` puts `x` at line 3, column 4.
    fit_refuses(
        dir.path(),
        "v.csv",
        "timestamp,note,input_tokens,output_tokens\n5,\"a\nb\",x,10\n",
        "v.csv:3:4: ",
    );
}

/// A report that cannot be written is a run-time failure (exit 1), not invalid input (2):
/// `--out /dev/full` (a full disk: the device is written in place) for `run`, `sweep` and
/// `merge`, and an `--out` whose folder cannot be created because a file holds its name.
#[test]
fn out_write_failures_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let full = "/dev/full";
    assert!(
        Path::new(full).exists(),
        "this test needs Linux's /dev/full"
    );
    qs().args(["run", "scenarios/haiku-right-sized.toml", "--out", full])
        .assert()
        .code(1)
        .stderr("error: cannot write /dev/full: No space left on device (os error 28)\n");
    let part = dir.path().join("part.json");
    qs().args([
        "sweep",
        "scenarios/haiku-right-sized.toml",
        "-q",
        "--vary",
        "max_tokens=512,1024",
        "--set",
        "duration=2m",
        "--shard",
        "0/1",
        "--out",
    ])
    .arg(&part)
    .assert()
    .success();
    qs().args([
        "sweep",
        "scenarios/haiku-right-sized.toml",
        "-q",
        "--vary",
        "max_tokens=512,1024",
        "--set",
        "duration=2m",
        "--out",
        full,
    ])
    .assert()
    .code(1)
    .stderr(predicate::str::contains("cannot write /dev/full"));
    qs().args(["merge", "--out", full])
        .arg(&part)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot write /dev/full"));
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    qs().args(["run", "scenarios/haiku-right-sized.toml", "--out"])
        .arg(file.join("r.json"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot create the folder"));
}

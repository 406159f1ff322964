//! `quotasim check S.toml` prints the resolved scenario: that text must itself be a scenario,
//! and running it must give byte for byte the report of running `S.toml`.

mod common;

use common::{qs, stdout};

/// Checks `path` (with `--set` flags), reloads the printed text from another folder and
/// compares the two JSON reports.
fn round_trip(path: &str, set: &[&str]) {
    let mut check = vec!["check", path];
    let mut run = vec!["run", path, "--format", "json"];
    for s in set {
        check.extend(["--set", s]);
        run.extend(["--set", s]);
    }
    let resolved = stdout(qs().args(&check));
    // Another folder, so that a path left relative to the original scenario would break.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("resolved.toml");
    std::fs::write(&copy, &resolved).unwrap();
    let copy = copy.to_str().unwrap();
    // The printed scenario is valid and resolves to the same text again (comments aside:
    // the first pass notes the short-form keys its limits were expanded from).
    let again = stdout(qs().args(["check", copy]));
    let keys = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.starts_with('#'))
            .map(String::from)
            .collect()
    };
    assert_eq!(
        keys(&again),
        keys(&resolved),
        "{path}: resolving the resolved scenario changed it"
    );
    let want = stdout(qs().args(&run));
    let got = stdout(qs().args(["run", copy, "--format", "json"]));
    assert!(
        want == got,
        "{path} {set:?}: the resolved scenario runs to a different report\n{resolved}"
    );
}

#[test]
fn every_bundled_scenario_loads_back_and_runs_the_same() {
    let mut n = 0;
    for entry in std::fs::read_dir("scenarios").unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "toml") {
            round_trip(p.to_str().unwrap(), &[]);
            n += 1;
        }
    }
    assert!(n >= 12, "only {n} bundled scenarios found");
}

#[test]
fn other_forms_load_back() {
    // Providers, parametrised retries, pacing, gamma/on-off/scheduled arrivals and the
    // other distributions, set on a bundled scenario.
    let s = "scenarios/chat-sonnet4-200k.toml";
    for set in [
        &["quota.provider=anthropic"][..],
        &["quota.provider=bedrock-mantle", "quota.settle=streaming"],
        &[
            "quota.provider=azure-openai",
            "quota.limiter=sliding-window",
        ],
        &["quota.limiter=token-bucket", "quota.tokens_per_day=auto"],
        &[
            "client.retry={ mode = \"exponential\", base = \"500ms\", cap = \"10s\", jitter = \"decorrelated\", max_attempts = 5 }",
        ],
        &["client.retry={ mode = \"fixed\", delay = \"15s\" }"],
        &["client.retry=aws-legacy", "client.timeout=\"2m\""],
        &["client.pacing={ tokens_per_minute = 150000, burst = 0.5 }"],
        &["arrivals={ process = \"gamma\", cv = 1.5, rate_per_minute = 30 }"],
        &[
            "arrivals={ process = \"on-off\", on_rate_per_minute = 60, mean_on = \"2m\", mean_off = \"3m\" }",
        ],
        &[
            "arrivals={ process = \"poisson\", schedule_period = \"1h\", schedule = [ { at = \"0s\", rate_per_minute = 10 }, { at = \"30m\", rate_per_minute = 50 } ] }",
        ],
        &[
            "requests.chat.input_tokens={ dist = \"gamma\", mean = 1000, sd = 400 }",
            "requests.chat.output_tokens={ dist = \"mixture\", components = [ { dist = \"lognormal\", mean = 300, sd = 200, weight = 0.7 }, { dist = \"pareto\", scale = 100, shape = 2.5, weight = 0.3 } ], max = 4000 }",
            "requests.rag.output_tokens={ dist = \"empirical\", values = [100, 200, 800], weights = [1, 2, 1] }",
            "requests.rag.cache_read_tokens={ dist = \"exponential\", mean = 500 }",
            "requests.rag.input_tokens={ dist = \"uniform\", min = 10, max = 9000 }",
        ],
    ] {
        round_trip(s, set);
    }
}

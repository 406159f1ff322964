//! The replay path `fit` prints must work from the scenario that will hold it, wherever that
//! scenario is, not only from the directory `fit` ran in.

use assert_cmd::Command;

#[test]
fn the_printed_replay_path_loads_from_another_folder() {
    let out = Command::cargo_bin("quotasim")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["fit", "scenarios/traces/chat-4h.csv"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("process = \"trace\""))
        .unwrap_or_else(|| panic!("no replay line in\n{text}"));
    let file = line.split("file = ").nth(1).unwrap().trim();
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("replay.toml");
    std::fs::write(
        &scenario,
        format!(
            "duration = \"4h\"\n[quota]\ntokens_per_minute = 200000\n\
             [arrivals]\nprocess = \"trace\"\nfile = {file}\n"
        ),
    )
    .unwrap();
    quotasim::Scenario::from_path(&scenario, &[]).unwrap_or_else(|e| panic!("{e}\n{line}"));
}

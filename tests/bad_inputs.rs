//! Every file in `tests/bad_inputs/` is a malformed or inconsistent input that the command
//! line must refuse with exit status 2 and a message naming the problem — never a panic.
//!
//! * `NAME.toml` is run as `quotasim run tests/bad_inputs/NAME.toml`;
//! * `NAME.args` (one argument per line) replaces those arguments, for bad flags, `--set`
//!   values and files that cannot be committed (a missing file);
//! * `accept/*.toml` are odd but valid files (a byte-order mark, CRLF) that must be accepted.
//!
//! The exact message of each case is an insta snapshot in `tests/bad_inputs/snapshots/`;
//! paths are relative to the crate root, so the snapshots are the same on every machine.
//! To review changed messages: `INSTA_UPDATE=always cargo test --test bad_inputs` and
//! `git diff tests/bad_inputs/snapshots`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

const DIR: &str = "tests/bad_inputs";

/// Generous hang guard: a case that takes this long is a hang, not a slow machine.
const HANG: Duration = Duration::from_secs(60);

struct Case {
    args: Vec<String>,
    /// The scenario file the case is about, when it has one.
    file: Option<String>,
}

fn cases() -> BTreeMap<String, Case> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(DIR);
    let mut out = BTreeMap::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    for path in entries {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let ext = path.extension().map(|e| e.to_string_lossy().into_owned());
        let toml = format!("{DIR}/{stem}.toml");
        let has_toml = root.join(format!("{stem}.toml")).is_file();
        match ext.as_deref() {
            Some("toml") if root.join(format!("{stem}.args")).exists() => {}
            Some("toml") => {
                out.insert(
                    stem,
                    Case {
                        args: vec!["run".into(), toml.clone()],
                        file: Some(toml),
                    },
                );
            }
            Some("args") => {
                let text = std::fs::read_to_string(&path).unwrap();
                let args = text
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(|l| l.replace("{file}", &toml))
                    .collect();
                out.insert(
                    stem,
                    Case {
                        args,
                        file: has_toml.then_some(toml),
                    },
                );
            }
            _ => {}
        }
    }
    out
}

fn run(args: &[String]) -> (i32, String, String) {
    let out = Command::cargo_bin("quotasim")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .timeout(HANG)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Whether the message points somewhere: `file:line:col`, or a `key.path`.
fn points_somewhere(stderr: &str, file: &str) -> bool {
    let after = stderr.split(file).nth(1).unwrap_or("");
    let positioned = after.starts_with(':')
        && after
            .trim_start_matches(':')
            .starts_with(|c: char| c.is_ascii_digit());
    positioned || after.starts_with(": `")
}

#[test]
fn bad_inputs_exit_2_with_a_message() {
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for (name, case) in &cases {
        let (code, stdout, stderr) = run(&case.args);
        let mut problems = Vec::new();
        if code != 2 {
            problems.push(format!("exit status {code}, expected 2"));
        }
        if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
            problems.push("panicked".into());
        }
        if !stderr.starts_with("error: ") {
            problems.push("stderr does not start with `error: `".into());
        }
        if !stdout.is_empty() {
            problems.push(format!("unexpected stdout: {stdout}"));
        }
        if let Some(file) = &case.file
            && !points_somewhere(&stderr, file)
        {
            problems.push(format!(
                "message does not name {file} with a position or key"
            ));
        }
        if !problems.is_empty() {
            failures.push(format!("{name}: {}\n{stderr}", problems.join("; ")));
        }
        insta::with_settings!({
            snapshot_path => "bad_inputs/snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(
                name.as_str(),
                format!("$ quotasim {}\nexit status: {code}\n{stderr}", case.args.join(" "))
            );
        });
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn odd_but_valid_files_are_accepted() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(DIR)
        .join("accept");
    let mut n = 0;
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        let rel = format!(
            "{DIR}/accept/{}",
            path.file_name().unwrap().to_string_lossy()
        );
        let (code, stdout, stderr) = run(&["check".into(), rel.clone()]);
        assert_eq!(code, 0, "{rel}: {stderr}");
        assert!(stdout.contains("valid"), "{rel}: {stdout}");
        n += 1;
    }
    assert!(n >= 3);
}

#[test]
fn the_base_scenario_of_the_flag_cases_is_valid() {
    let (code, _, stderr) = run(&[
        "run".into(),
        format!("{DIR}/base/valid.toml"),
        "--format".into(),
        "json".into(),
    ]);
    assert_eq!(code, 0, "{stderr}");
}

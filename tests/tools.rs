//! The build-time detection of the external tools some tests need (`build.rs`, described in
//! tests/common/mod.rs): a test that needs a missing tool must be *ignored*, not pass, and
//! under `CI` it must run (and fail).

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use common::find_tool;

/// The build script cargo compiled for this build: the newest `build-script-build` under
/// `target/<profile>/build/quotasim-*/` next to this test's executable.
fn build_script() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/tools-HASH -> target/<profile>/build
    let build = exe.parent().unwrap().parent().unwrap().join("build");
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&build)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("quotasim-"))
        .map(|e| e.path().join("build-script-build"))
        .filter(|p| p.is_file())
        .map(|p| (p.metadata().unwrap().modified().unwrap(), p))
        .collect();
    found.sort();
    found
        .pop()
        .expect("no compiled build script under target/*/build")
        .1
}

/// Runs the build script with the crate root `root` and only the variables `vars` (and an
/// empty `PATH`), and returns the `cargo:rustc-cfg=` lines it printed.
fn cfgs(root: &Path, vars: &[(&str, &str)]) -> Vec<String> {
    let out = Command::new(build_script())
        .env_clear()
        .env("CARGO_MANIFEST_DIR", root)
        .env("PATH", "")
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("cargo:rustc-cfg="))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_missing_venv_sets_no_cfg_and_ci_sets_ci() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(cfgs(dir.path(), &[]), Vec::<String>::new());
    assert_eq!(cfgs(dir.path(), &[("CI", "true")]), ["ci"]);
    assert_eq!(cfgs(dir.path(), &[("CI", "false")]), Vec::<String>::new());
}

#[test]
fn a_venv_or_quotasim_python_sets_has_venv() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".venv/bin")).unwrap();
    std::fs::write(dir.path().join(".venv/bin/python"), "").unwrap();
    assert_eq!(cfgs(dir.path(), &[]), ["has_venv"]);
    let other = tempfile::tempdir().unwrap();
    let py = dir.path().join(".venv/bin/python");
    let py = py.to_str().unwrap();
    assert_eq!(cfgs(other.path(), &[("QUOTASIM_PYTHON", py)]), ["has_venv"]);
    // A variable naming nothing is not a venv, even when .venv exists.
    assert_eq!(
        cfgs(dir.path(), &[("QUOTASIM_PYTHON", "/nonexistent/python")]),
        Vec::<String>::new()
    );
}

#[test]
fn chromium_on_path_sets_has_chromium() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("chromium"), "").unwrap();
    let out = Command::new(build_script())
        .env_clear()
        .env("CARGO_MANIFEST_DIR", dir.path())
        .env("PATH", dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("cargo:rustc-cfg=has_chromium"), "{text}");
}

/// The build's answer is still the file system's: cargo does not re-run `build.rs` when a
/// missing tool appears, and then the tests that need it would stay ignored.
#[test]
fn this_builds_answer_is_current() {
    let venv = find_tool("QUOTASIM_PYTHON", Some(".venv/bin/python"), None);
    assert_eq!(
        cfg!(has_venv),
        venv.is_some(),
        "the venv {venv:?} appeared or went since this build: `touch build.rs` and re-run"
    );
    let node_sdk = find_tool(
        "QUOTASIM_NODE_SDK",
        Some("tests/js/node_modules/@aws-sdk/client-bedrock-runtime/package.json"),
        None,
    )
    .filter(|_| find_tool("QUOTASIM_NODE", None, Some("node")).is_some());
    assert_eq!(
        cfg!(has_node_sdk),
        node_sdk.is_some(),
        "node or the AWS SDK for JavaScript appeared or went since this build: `touch build.rs`"
    );
    let chromium = find_tool("QUOTASIM_CHROMIUM", None, Some("chromium"));
    assert_eq!(
        cfg!(has_chromium),
        chromium.is_some(),
        "chromium {chromium:?} appeared or went since this build: `touch build.rs` and re-run"
    );
}

/// Under CI every tool is required: the tests that need one are not ignored.
#[test]
fn ci_matches_the_environment() {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    assert_eq!(cfg!(ci), ci, "CI changed since this build");
}

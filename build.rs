//! Detects, at build time, the external tools some integration tests drive, so that a test
//! whose tool is missing shows as *ignored* (with the reason) instead of passing silently.
//!
//! For each tool found it emits `cfg(has_<tool>)`; when the `CI` environment variable is set
//! (to anything but empty, `0` or `false`) it emits `cfg(ci)`. Tests combine the two:
//! `#[cfg_attr(not(any(has_venv, ci)), ignore = "…")]` is ignored locally without the tool
//! and runs (and fails, saying what is missing) under CI. See `tests/common/mod.rs`.
//!
//! It never fails the build: a crate that depends on quotasim builds whatever is installed.

use std::env;
use std::path::{Path, PathBuf};

/// A tool some tests need: its cfg name, the variable that names it explicitly, and where to
/// look otherwise (a path relative to the crate root, or a program name looked up on `PATH`).
struct Tool {
    cfg: &'static str,
    var: &'static str,
    relative: Option<&'static str>,
    program: Option<&'static str>,
    /// A program that must also be on `PATH` for the tool to count (node for its packages).
    needs: Option<&'static str>,
}

const TOOLS: &[Tool] = &[
    // The Python venv with the pinned AWS SDK (tests/python/requirements.txt), made by .ci/run.
    Tool {
        cfg: "has_venv",
        var: "QUOTASIM_PYTHON",
        relative: Some(".venv/bin/python"),
        program: None,
        needs: None,
    },
    // Headless Chromium (Debian's `chromium` package), for the HTML report tests.
    Tool {
        cfg: "has_chromium",
        var: "QUOTASIM_CHROMIUM",
        relative: None,
        program: Some("chromium"),
        needs: None,
    },
    // The AWS SDK for JavaScript v3 installed in tests/js by .ci/run, and node to run it.
    Tool {
        cfg: "has_node_sdk",
        var: "QUOTASIM_NODE_SDK",
        relative: Some("tests/js/node_modules/@aws-sdk/client-bedrock-runtime/package.json"),
        program: None,
        needs: Some("node"),
    },
];

fn on_path(program: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn find(root: &Path, tool: &Tool) -> Option<PathBuf> {
    println!("cargo:rerun-if-env-changed={}", tool.var);
    if tool.needs.is_some_and(|p| on_path(p).is_none()) {
        return None;
    }
    if let Some(p) = env::var_os(tool.var) {
        let p = PathBuf::from(p);
        return p.exists().then_some(p);
    }
    if let Some(rel) = tool.relative {
        let p = root.join(rel);
        if p.exists() {
            return Some(p);
        }
    }
    tool.program.and_then(on_path)
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CI");
    println!("cargo:rustc-check-cfg=cfg(ci)");
    let root = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let ci = env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    if ci {
        println!("cargo:rustc-cfg=ci");
    }
    for tool in TOOLS {
        println!("cargo:rustc-check-cfg=cfg({})", tool.cfg);
        match find(&root, tool) {
            Some(path) => {
                // Watch only a path that exists: a missing one would make cargo rerun this
                // script, and rebuild the crate, on every build. Tests check that the answer
                // is still current (tests/tools.rs).
                println!("cargo:rerun-if-changed={}", path.display());
                println!("cargo:rustc-cfg={}", tool.cfg);
            }
            None if ci => println!(
                "cargo:warning=CI is set but {} was not found (set {}); its tests will fail",
                tool.cfg.trim_start_matches("has_"),
                tool.var
            ),
            None => {}
        }
    }
}

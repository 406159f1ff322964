//! The `--html` reports of `run`, `sweep` and `plan`, opened in a real browser: headless
//! Chromium (Debian's `chromium`, installed by `.ci/run`).
//!
//! Each page is loaded from a `file://` URL with
//!
//! * `--enable-logging=stderr --v=0`: every console message of the page (an error, a
//!   warning, a Content-Security-Policy violation) is printed as an `INFO:CONSOLE` line;
//!   the pages have no script, so any such line is a failure;
//! * `--log-net-log=FILE`: Chromium's own record of every URL request; a request made for
//!   the page carries the page's network isolation key (`file://…`), which tells it from
//!   the browser's background traffic; any such request other than the page itself is a
//!   failure (DNS is also mapped to nothing, so nothing leaves the machine);
//! * `--screenshot`: the PNG must not be blank (enough non-background pixels, colours).
//!
//! A deliberately bad page (an image fetched over HTTP and a `console.error`) checks that
//! this harness sees what it is meant to see.
//!
//! Without chromium these tests are ignored (with the reason), except under `CI`, where
//! they fail (see tests/common/mod.rs).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

mod common;

use common::{chromium, qs};

/// What the browser saw of one page.
struct Opened {
    console: Vec<String>,
    requests: Vec<String>,
    png: PathBuf,
}

fn open(page: &Path, out: &Path) -> Opened {
    let url = format!("file://{}", page.display());
    let net = out.join("netlog.json");
    let png = out.join("screenshot.png");
    let profile = out.join("profile");
    let output = Command::new(chromium())
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--enable-logging=stderr",
            "--v=0",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--window-size=1100,1600",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--log-net-log={}", net.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(&url)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "chromium failed on {url}:\n{stderr}"
    );
    let console = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    let log: Value = serde_json::from_str(&std::fs::read_to_string(&net).unwrap()).unwrap();
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_u64()
        .unwrap();
    let requests = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"].as_u64() == Some(start_job))
        .filter(|e| {
            e["params"]["network_isolation_key"]
                .as_str()
                .is_some_and(|k| k.starts_with("file://"))
        })
        .filter_map(|e| e["params"]["url"].as_str())
        .filter(|u| *u != url)
        .map(str::to_owned)
        .collect();
    Opened {
        console,
        requests,
        png,
    }
}

/// The share of pixels that differ from the top-left one, and how many distinct colours.
fn ink(png: &Path) -> (f64, usize) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let bytes = &buf[..info.buffer_size()];
    let px = info.color_type.samples();
    let pixels: Vec<&[u8]> = bytes.chunks(px).collect();
    let background = pixels[0];
    let differ = pixels.iter().filter(|p| *p != &background).count();
    let mut colours: Vec<&[u8]> = pixels.clone();
    colours.sort();
    colours.dedup();
    (differ as f64 / pixels.len() as f64, colours.len())
}

/// Opens `page` and asserts a clean, drawn page; returns the screenshot's ink share.
fn assert_clean(page: &Path, dir: &Path) -> f64 {
    let text = std::fs::read_to_string(page).unwrap();
    assert!(!text.contains("<script"), "a script in {}", page.display());
    // The only URL in the page is the SVG namespace, which nothing fetches.
    let urls = text.matches("http://").count() + text.matches("https://").count();
    let namespaces = text.matches("http://www.w3.org/2000/svg").count();
    assert_eq!(urls, namespaces, "a URL other than the SVG namespace");
    let o = open(page, dir);
    assert!(o.console.is_empty(), "console messages: {:#?}", o.console);
    assert!(o.requests.is_empty(), "network requests: {:#?}", o.requests);
    let (share, colours) = ink(&o.png);
    assert!(
        share > 0.05 && colours > 50,
        "screenshot looks blank: {share:.3} of pixels drawn, {colours} colours"
    );
    share
}

fn scenario(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
        .display()
        .to_string()
}

#[test]
#[cfg_attr(
    not(any(has_chromium, ci)),
    ignore = "needs chromium (apt-get install chromium, as .ci/run does, or set QUOTASIM_CHROMIUM)"
)]
fn the_harness_sees_console_errors_requests_and_blank_pages() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.html");
    std::fs::write(
        &bad,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>bad</title></head><body>\
         <img src=\"http://example.invalid/x.png\"><script>console.error('boom')</script>\
         </body></html>",
    )
    .unwrap();
    let o = open(&bad, dir.path());
    assert!(
        o.console.iter().any(|l| l.contains("boom")),
        "{:?}",
        o.console
    );
    assert_eq!(o.requests, ["http://example.invalid/x.png"]);
    let (share, _) = ink(&o.png);
    assert!(share < 0.01, "an empty page drew {share}");
}

#[test]
#[cfg_attr(
    not(any(has_chromium, ci)),
    ignore = "needs chromium (apt-get install chromium, as .ci/run does, or set QUOTASIM_CHROMIUM)"
)]
fn run_report_opens_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("run.html");
    let out = qs()
        .args(["run", &scenario("two-apps-one-account.toml"), "--html"])
        .arg(&page)
        .args(["--assert", "throttle_rate <= 0.05"])
        .args(["--assert", "latency_ms.e2e.p99 < 60000"])
        .output()
        .unwrap();
    // The throttle rate is about 49%: that assertion fails, and the page says so.
    assert_eq!(out.status.code(), Some(1));
    let text = std::fs::read_to_string(&page).unwrap();
    assert!(text.contains("✘ fail</td><td class=\"l\">throttle_rate &lt;= 0.05"));
    assert!(text.contains("✔ pass</td><td class=\"l\">latency_ms.e2e.p99 &lt; 60000"));
    assert!(text.contains("Reserved versus consumed"));
    assert!(text.contains("Which limit refused"));
    assert!(text.contains("<svg"));
    assert_clean(&page, dir.path());
}

#[test]
#[cfg_attr(
    not(any(has_chromium, ci)),
    ignore = "needs chromium (apt-get install chromium, as .ci/run does, or set QUOTASIM_CHROMIUM)"
)]
fn sweep_report_opens_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("sweep.html");
    qs().args([
        "sweep",
        &scenario("sweep-max-tokens-concurrency.toml"),
        "--quiet",
        "--html",
    ])
    .arg(&page)
    .assert()
    .success();
    let text = std::fs::read_to_string(&page).unwrap();
    // One heat map of the 5 × 7 grid per charted metric: the default plot metric (also the
    // objective's), the three constraints' (throttle_rate, truncation_rate, p99 latency),
    // then failure_rate: 5 maps of 35 cells.
    assert_eq!(text.matches("class=\"cell\"").count(), 5 * 35);
    assert!(text.contains("Recommended: #"));
    assert!(text.contains("✘ "));
    assert_clean(&page, dir.path());
}

#[test]
#[cfg_attr(
    not(any(has_chromium, ci)),
    ignore = "needs chromium (apt-get install chromium, as .ci/run does, or set QUOTASIM_CHROMIUM)"
)]
fn plan_report_opens_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("plan.html");
    qs().args([
        "plan",
        &scenario("chat-sonnet4-200k.toml"),
        "--find",
        "quota.tokens_per_minute",
        "--constraint",
        "throttle_rate <= 0.01",
        "--html",
    ])
    .arg(&page)
    .assert()
    .success();
    let text = std::fs::read_to_string(&page).unwrap();
    assert!(text.contains("Found: quota.tokens_per_minute = "));
    assert!(text.contains("class=\"threshold\""));
    assert!(text.contains("Demand"));
    assert_clean(&page, dir.path());
}

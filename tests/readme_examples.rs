//! The README and docs/ show commands with their output; a newcomer types them verbatim.
//! These tests run the shown commands and compare what they print with what the page shows,
//! so a change to the simulator that moves a figure also has to update the page.
//!
//! Covered: the Quick start table (exact), every code block in README.md and docs/*.md
//! made of one `$ quotasim …` line followed by its output (exact, stdout then stderr), and
//! the `text` block that follows a one-line `quotasim run …` block (each shown line must be
//! a line of the output). Blocks with `…` are excerpts and are not compared.

use std::path::Path;

use assert_cmd::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap()
}

/// Fenced code blocks of `text`: (info string, body lines, index of the opening line).
fn blocks(text: &str) -> Vec<(String, Vec<String>, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i].trim_start();
        if let Some(info) = l.strip_prefix("```") {
            let indent = lines[i].len() - l.len();
            let start = i;
            let mut body = Vec::new();
            i += 1;
            while i < lines.len() && lines[i].trim_start() != "```" {
                body.push(lines[i].get(indent..).unwrap_or("").to_string());
                i += 1;
            }
            out.push((info.trim().to_string(), body, start));
        }
        i += 1;
    }
    out
}

/// Runs `quotasim ARGS` (whitespace-separated, no quoting) from the repository root and
/// returns stdout followed by stderr.
fn run(args: &str) -> String {
    let out = Command::cargo_bin("quotasim")
        .unwrap()
        .current_dir(root())
        .args(args.split_whitespace())
        .output()
        .unwrap();
    let mut s = String::from_utf8(out.stdout).unwrap();
    s.push_str(&String::from_utf8(out.stderr).unwrap());
    s
}

#[test]
fn quick_start_table_is_what_run_prints() {
    let readme = read("README.md");
    let at = readme
        .find("The first prints this table")
        .expect("the Quick start names its table");
    let (_, body, _) = blocks(&readme[at..]).into_iter().next().unwrap();
    let shown = body.join("\n") + "\n";
    let printed = run("run scenarios/chat-sonnet4-200k.toml");
    assert_eq!(
        printed, shown,
        "README's Quick start table differs from `quotasim run scenarios/chat-sonnet4-200k.toml`"
    );
}

#[test]
fn dollar_examples_print_what_the_pages_show() {
    let mut pages = vec!["README.md".to_string()];
    let mut docs: Vec<String> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .map(|p| format!("docs/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    docs.sort();
    pages.extend(docs);
    let mut checked = 0;
    for page in &pages {
        for (_, body, line) in blocks(&read(page)) {
            let Some(first) = body.first() else { continue };
            let Some(args) = first.strip_prefix("$ quotasim ") else {
                continue;
            };
            let one_command = body.iter().filter(|l| l.starts_with("$ ")).count() == 1;
            if !one_command || body.iter().any(|l| l.contains('…')) {
                continue;
            }
            let shown = body[1..].join("\n") + "\n";
            assert_eq!(
                run(args),
                shown,
                "{page}:{}: `quotasim {args}` prints something else",
                line + 1
            );
            checked += 1;
        }
    }
    // The unknown-key example in the README and the estimate example in docs/quota.md.
    assert!(checked >= 2, "only {checked} examples found");
}

#[test]
fn excerpts_after_a_run_command_are_lines_of_its_output() {
    let readme = read("README.md");
    let bs = blocks(&readme);
    let mut checked = 0;
    for pair in bs.windows(2) {
        let [(info, cmd, _), (next_info, shown, line)] = pair else {
            continue;
        };
        let Some(args) = cmd.first().and_then(|l| l.strip_prefix("quotasim run ")) else {
            continue;
        };
        if info != "sh" || cmd.len() != 1 || next_info != "text" || args.contains('\\') {
            continue;
        }
        let printed = run(&format!("run {args}"));
        let lines: Vec<&str> = printed.lines().collect();
        for l in shown.iter().filter(|l| !l.contains('…')) {
            assert!(
                lines.contains(&l.as_str()),
                "README.md:{}: `{l}` is not a line of `quotasim run {args}`",
                line + 2
            );
        }
        checked += 1;
    }
    assert!(checked >= 1, "the Cost section's excerpt was not found");
}

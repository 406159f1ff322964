//! The README and the pages of docs/ (docs/*.md, the guide in docs/guide/*.md) show commands
//! with their output; a newcomer types them verbatim. These tests run the shown commands and
//! compare what they print with what the page shows, so a change to the simulator that moves
//! a figure also has to update the page. They also keep the pages whole: every link between
//! them resolves, and no section of the README as it was before the guide existed went
//! missing.
//!
//! Checked on README.md and every docs/**/*.md page:
//! - the Quick start table of README.md (exact);
//! - every code block made of one `$ quotasim …` line followed by its output (exact, stdout
//!   then stderr);
//! - every code block of several `$ …` lines, each followed by its output, that runs
//!   `quotasim` (a shell session, run in an empty temporary folder; exact);
//! - every ` ```text ` block that directly follows a ` ```sh ` block holding one `quotasim …`
//!   command (continued over lines with `\`, `serve` excepted): each line of the excerpt
//!   must be a line of the command's output. Files the command writes (`--plot`, `--out`,
//!   `--html`) go to a temporary folder instead.
//! - every ` ```sh ` block that starts `quotasim serve SCENARIO &` and then calls the server
//!   (curl, jq), followed by a ` ```text ` block: the server runs on a free port and each
//!   line of the excerpt must be a line of the session's output, in order.
//!
//! Blocks with `…` are excerpts: a `$` block with one is not compared, and in an excerpt the
//! lines with `…` are skipped. Commands are split as a POSIX shell would for the quoting the
//! pages use: single and double quotes, backslash line continuations, `#` comments.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap()
}

/// README.md, then every `.md` file under docs/ (sub-folders included), as paths relative to
/// the repository root, in a fixed order.
fn pages() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "md") {
                out.push(p);
            }
        }
    }
    let mut docs = Vec::new();
    walk(&root().join("docs"), &mut docs);
    let mut docs: Vec<String> = docs
        .iter()
        .map(|p| {
            p.strip_prefix(root())
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    docs.sort();
    let mut all = vec!["README.md".to_string()];
    all.extend(docs);
    all
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

/// The lines of `text` outside fenced code blocks, with their 0-based line numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fenced = false;
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if l.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            out.push((i, l));
        }
    }
    out
}

/// Splits one shell command line into words: whitespace separates words, single quotes keep
/// everything literally, double quotes keep everything but `\"` and `\\`, a backslash outside
/// quotes escapes the next character, and an unquoted `#` at the start of a word starts a
/// comment.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' if matches!(chars.peek(), Some('"' | '\\')) => {
                            word.push(chars.next().unwrap());
                        }
                        _ => word.push(q),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    word.push(n);
                }
            }
            '#' if !in_word => break,
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

#[test]
fn shell_words_splits_as_a_shell_does() {
    assert_eq!(
        shell_words(r#"plan s.toml --constraint "throttle_rate <= 0.01"   # comment"#),
        ["plan", "s.toml", "--constraint", "throttle_rate <= 0.01"]
    );
    assert_eq!(
        shell_words(r#"run --set 'workloads.batch.route="global"' --set a\ b x#y"#),
        [
            "run",
            "--set",
            r#"workloads.batch.route="global""#,
            "--set",
            "a b",
            "x#y"
        ]
    );
    assert_eq!(
        shell_words(r#"say "a \"q\" \\ \n""#),
        ["say", r#"a "q" \ \n"#]
    );
}

/// The logical lines of a shell block: lines ending in `\` are joined with the next one.
fn logical_lines(body: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for l in body {
        match l.strip_suffix('\\') {
            Some(head) => {
                cur.push_str(head);
                cur.push(' ');
            }
            None => {
                cur.push_str(l);
                out.push(std::mem::take(&mut cur));
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out.retain(|l| !shell_words(l).is_empty());
    out
}

/// Runs `quotasim` with `args` from the repository root and returns stdout followed by
/// stderr. The value after `--plot`, `--out` or `--html` is replaced by a file of the same
/// name in `scratch`, so that examples never write into the repository.
fn run_words(args: &[String], scratch: &Path) -> String {
    let mut args = args.to_vec();
    for i in 1..args.len() {
        if matches!(args[i - 1].as_str(), "--plot" | "--out" | "--html") {
            let name = Path::new(&args[i]).file_name().unwrap().to_owned();
            args[i] = scratch.join(name).to_string_lossy().into_owned();
        }
    }
    let out = Command::cargo_bin("quotasim")
        .unwrap()
        .current_dir(root())
        .args(&args)
        .output()
        .unwrap();
    let mut s = String::from_utf8(out.stdout).unwrap();
    s.push_str(&String::from_utf8(out.stderr).unwrap());
    s
}

fn run(args: &str) -> String {
    let scratch = tempfile::tempdir().unwrap();
    run_words(&shell_words(args), scratch.path())
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
    let mut checked = 0;
    for page in &pages() {
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
    // The unknown-key example (docs/guide/commands.md), the estimate examples (README.md,
    // docs/quota.md), the Quick start's run (docs/guide/reading-the-report.md).
    assert!(checked >= 4, "only {checked} examples found");
}

/// A block of several `$ …` lines, each followed by its output, is a shell session: its
/// commands run one after the other with `sh -c` in a fresh empty folder (they make their own
/// files), `quotasim` on the PATH, and each prints exactly the lines shown after it.
#[test]
fn shell_sessions_print_what_the_pages_show() {
    let bin = assert_cmd::cargo::cargo_bin("quotasim");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut checked = 0;
    for page in &pages() {
        for (_, body, line) in blocks(&read(page)) {
            let commands = body.iter().filter(|l| l.starts_with("$ ")).count();
            if !body.first().is_some_and(|l| l.starts_with("$ "))
                || commands < 2
                || !body.iter().any(|l| l.starts_with("$ quotasim "))
                || body.iter().any(|l| l.contains('…'))
            {
                continue;
            }
            let dir = tempfile::tempdir().unwrap();
            let mut k = 0;
            while k < body.len() {
                let cmd = body[k].strip_prefix("$ ").unwrap();
                let mut shown = String::new();
                k += 1;
                while k < body.len() && !body[k].starts_with("$ ") {
                    shown.push_str(&body[k]);
                    shown.push('\n');
                    k += 1;
                }
                let out = std::process::Command::new("sh")
                    .arg("-c")
                    .arg(cmd)
                    .current_dir(dir.path())
                    .env("PATH", &path)
                    .output()
                    .unwrap();
                let mut printed = String::from_utf8(out.stdout).unwrap();
                printed.push_str(&String::from_utf8(out.stderr).unwrap());
                assert_eq!(
                    printed,
                    shown,
                    "{page}:{}: `{cmd}` prints something else",
                    line + 1
                );
            }
            checked += 1;
        }
    }
    // The bad trace of docs/guide/traces.md.
    assert!(checked >= 1, "no shell session found");
}

#[test]
fn excerpts_after_a_command_are_lines_of_its_output() {
    let scratch = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for page in &pages() {
        let bs = blocks(&read(page));
        for pair in bs.windows(2) {
            let [(info, cmd, cmd_line), (next_info, shown, line)] = pair else {
                continue;
            };
            // The excerpt must follow the command directly (only blank lines between).
            let between = read(page)
                .lines()
                .skip(cmd_line + cmd.len() + 2)
                .take(line - (cmd_line + cmd.len() + 2))
                .any(|l| !l.trim().is_empty());
            if info != "sh" || next_info != "text" || between {
                continue;
            }
            let commands = logical_lines(cmd);
            let [command] = commands.as_slice() else {
                continue;
            };
            let words = shell_words(command);
            if words.first().map(String::as_str) != Some("quotasim")
                || words.get(1).map(String::as_str) == Some("serve")
            {
                continue;
            }
            let printed = run_words(&words[1..], scratch.path());
            let lines: Vec<&str> = printed.lines().collect();
            for (k, l) in shown.iter().enumerate() {
                if l.contains('…') {
                    continue;
                }
                assert!(
                    lines.contains(&l.as_str()),
                    "{page}:{}: `{l}` is not a line of `{command}`, which prints:\n{printed}",
                    line + 2 + k
                );
            }
            checked += 1;
        }
    }
    // The README's tour, the Cost section's run, the sweep, plan's three examples.
    assert!(checked >= 6, "only {checked} excerpts found");
}

/// Headings of `text` outside code blocks: (level, text).
fn headings(text: &str) -> Vec<(usize, String)> {
    prose_lines(text)
        .into_iter()
        .filter_map(|(_, l)| {
            let level = l.chars().take_while(|&c| c == '#').count();
            let rest = l.get(level..)?.strip_prefix(' ')?;
            (level >= 1).then(|| (level, rest.trim().to_string()))
        })
        .collect()
}

/// Every `##` and `###` heading of README.md as it was before it was split into a front page
/// and the guide (commit 403b505, listed in tests/fixtures/readme-403b505-headings.txt) is a
/// heading, at any level, of README.md or of a page of docs/guide/.
#[test]
fn no_section_of_the_old_readme_was_lost() {
    let old = read("tests/fixtures/readme-403b505-headings.txt");
    let old: Vec<&str> = old.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(
        old.len(),
        31,
        "the fixture lists the 31 headings of 403b505"
    );
    let mut now = BTreeMap::new();
    for page in pages()
        .iter()
        .filter(|p| *p == "README.md" || p.starts_with("docs/guide/"))
    {
        for (_, h) in headings(&read(page)) {
            now.entry(h).or_insert_with(|| page.clone());
        }
    }
    let missing: Vec<&str> = old
        .iter()
        .map(|l| l.trim_start_matches('#').trim())
        .filter(|h| !now.contains_key(*h))
        .collect();
    assert!(
        missing.is_empty(),
        "sections of the old README found in neither README.md nor docs/guide/: {missing:?}"
    );
}

/// The anchor GitHub gives a heading: lower case, every character but letters, digits,
/// spaces, `-` and `_` removed, spaces made `-`; a repeated anchor gets `-1`, `-2`, ….
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for (_, h) in headings(text) {
        let slug: String = h
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let n = seen.entry(slug.clone()).or_insert(0);
        out.insert(if *n == 0 {
            slug.clone()
        } else {
            format!("{slug}-{n}")
        });
        *n += 1;
    }
    out
}

#[test]
fn anchors_follow_githubs_rule() {
    let a = anchors("# Providers: `[[quota.limits]]` and `quota.provider`\n## Cost\n### Cost\n");
    let want: BTreeSet<String> = ["providers-quotalimits-and-quotaprovider", "cost", "cost-1"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(a, want);
}

/// Targets of the inline links `[text](target)` on the prose lines of `text` (code spans and
/// code blocks left out), with their 1-based line numbers.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, l) in prose_lines(text) {
        // Drop code spans: a `](` inside backticks is not a link.
        let mut prose = String::new();
        for (k, part) in l.split('`').enumerate() {
            if k % 2 == 0 {
                prose.push_str(part);
            } else {
                prose.push_str("code");
            }
        }
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').unwrap_or(after.len());
            let target = after[..end].split_whitespace().next().unwrap_or("");
            out.push((i + 1, target.to_string()));
            rest = &after[end..];
        }
    }
    out
}

/// Every relative link in README.md and docs/**/*.md names a file that exists, and its
/// `#anchor`, if any, a heading of that file (or of the page itself for `#anchor` alone).
#[test]
fn relative_links_resolve() {
    let mut checked = 0;
    let mut broken = Vec::new();
    for page in &pages() {
        let text = read(page);
        let dir = Path::new(page).parent().unwrap();
        for (line, target) in links(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, anchor) = match target.split_once('#') {
                Some((f, a)) => (f, Some(a)),
                None => (target.as_str(), None),
            };
            let rel = if file.is_empty() {
                PathBuf::from(page)
            } else {
                dir.join(file)
            };
            let path = root().join(&rel);
            checked += 1;
            if !path.exists() {
                broken.push(format!(
                    "{page}:{line}: {target}: no file {}",
                    rel.display()
                ));
                continue;
            }
            if let Some(anchor) = anchor {
                let is_md = path.extension().is_some_and(|x| x == "md");
                let target_text = if path.is_dir() {
                    std::fs::read_to_string(path.join("README.md")).unwrap_or_default()
                } else if is_md {
                    std::fs::read_to_string(&path).unwrap()
                } else {
                    String::new()
                };
                if !anchors(&target_text).contains(anchor) {
                    broken.push(format!("{page}:{line}: {target}: no heading #{anchor}"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    assert!(checked >= 50, "only {checked} links found");
}

/// Commands a newcomer copies must work as written: `cargo install` uses the committed
/// Cargo.lock (`--locked`; without it cargo resolves the newest dependencies, which may need
/// a newer Rust than the crate's `rust-version`), and an `aws` command pointed at the local
/// endpoint sets credentials (the AWS CLI refuses to sign a call without any, even though
/// `quotasim serve` never checks them).
#[test]
fn install_and_aws_cli_examples_work_as_written() {
    let mut installs = 0;
    let mut aws = 0;
    for page in &pages() {
        let text = read(page);
        for (i, l) in text.lines().enumerate() {
            if let Some(at) = l.find("cargo install ") {
                let cmd = &l[at..];
                let cmd = cmd.split('`').next().unwrap_or(cmd);
                assert!(
                    cmd.contains("--locked"),
                    "{page}:{}: `{}` without --locked",
                    i + 1,
                    cmd.trim()
                );
                installs += 1;
            }
        }
        for (_, body, line) in blocks(&text) {
            for cmd in logical_lines(&body) {
                let words = shell_words(&cmd);
                let Some(at) = words.iter().position(|w| w == "aws") else {
                    continue;
                };
                if !words.iter().any(|w| w == "--endpoint-url") {
                    continue;
                }
                let env: Vec<&str> = words[..at]
                    .iter()
                    .filter_map(|w| w.split_once('=').map(|(k, _)| k))
                    .collect();
                assert!(
                    env.contains(&"AWS_ACCESS_KEY_ID") && env.contains(&"AWS_SECRET_ACCESS_KEY"),
                    "{page}:{}: `{}` sets no credentials",
                    line + 1,
                    cmd.trim()
                );
                aws += 1;
            }
        }
    }
    assert!(
        installs >= 2,
        "only {installs} cargo install commands found"
    );
    assert!(aws >= 1, "the AWS CLI example was not found");
}

/// Every page of the guide says what it is for and links back to the index near its top, and
/// the index links every page, so that a reader who lands on any page can find the rest.
#[test]
fn guide_pages_link_to_the_index_and_the_index_to_them() {
    let index = read("docs/guide/README.md");
    let listed: BTreeSet<String> = links(&index).into_iter().map(|(_, t)| t).collect();
    let mut checked = 0;
    for page in pages().iter().filter(|p| p.starts_with("docs/guide/")) {
        let name = page.trim_start_matches("docs/guide/");
        if name == "README.md" {
            continue;
        }
        let text = read(page);
        let head: String = text.lines().take(12).collect::<Vec<_>>().join("\n");
        assert!(
            links(&head).iter().any(|(_, t)| t == "README.md"),
            "{page}: no link to the guide's index (README.md) in its first 12 lines"
        );
        assert!(
            listed.contains(name),
            "{page} is not linked from docs/guide/README.md"
        );
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} guide pages found");
}

/// Whether `tool` runs (`tool --version` exits 0). Without it a test that needs it fails
/// when `CI` is set, and otherwise says NOT RUN on stderr.
fn have_tool(tool: &str, test: &str) -> bool {
    let ok = std::process::Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but `{tool}` is missing: {test} needs it"
        );
        eprintln!("NOT RUN: {test}: `{tool}` is missing (CI unset)");
    }
    ok
}

/// A ` ```sh ` block that starts `quotasim serve SCENARIO &` and then calls it (curl, jq), with
/// a ` ```text ` block right after it: the server is started on a free port, the other
/// commands run with `sh -c` from the repository root, `127.0.0.1:8765` replaced by the
/// server's address, and each line of the excerpt (lines with `…` skipped) must be a line of
/// what they print, in the order shown.
#[test]
fn serve_sessions_print_what_the_pages_show() {
    if !have_tool("curl", "serve sessions") || !have_tool("jq", "serve sessions") {
        return;
    }
    let mut checked = 0;
    for page in &pages() {
        let text = read(page);
        let bs = blocks(&text);
        for pair in bs.windows(2) {
            let [(info, cmd, cmd_line), (next_info, shown, _)] = pair else {
                continue;
            };
            let commands = logical_lines(cmd);
            let Some(first) = commands.first() else {
                continue;
            };
            let mut words = shell_words(first);
            if info != "sh"
                || next_info != "text"
                || words.get(..2) != Some(&["quotasim".to_string(), "serve".to_string()])
                || words.last().map(String::as_str) != Some("&")
            {
                continue;
            }
            words.pop();
            let mut server = std::process::Command::new(assert_cmd::cargo::cargo_bin("quotasim"))
                .current_dir(root())
                .args(&words[1..])
                .args(["--listen", "127.0.0.1:0"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let mut line = String::new();
            std::io::BufRead::read_line(
                &mut std::io::BufReader::new(server.stderr.take().unwrap()),
                &mut line,
            )
            .unwrap();
            let addr = line
                .split("http://")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .unwrap_or_else(|| panic!("{page}: serve printed {line:?}"))
                .to_string();
            let mut printed = String::new();
            for c in &commands[1..] {
                let out = std::process::Command::new("sh")
                    .arg("-c")
                    .arg(c.replace("127.0.0.1:8765", &addr))
                    .current_dir(root())
                    .output()
                    .unwrap();
                printed.push_str(&String::from_utf8(out.stdout).unwrap());
                printed.push_str(&String::from_utf8(out.stderr).unwrap());
            }
            let _ = server.kill();
            let _ = server.wait();
            let lines: Vec<&str> = printed.lines().collect();
            let mut at = 0;
            for l in shown.iter().filter(|l| !l.contains('…')) {
                let found = lines[at..].iter().position(|p| p == l);
                assert!(
                    found.is_some(),
                    "{page}:{}: `{l}` is not a line of the session's output (in order), which is:\n{printed}",
                    cmd_line + 1
                );
                at += found.unwrap_or(0) + 1;
            }
            checked += 1;
        }
    }
    // The README's tour and the guide's serve page.
    assert!(checked >= 2, "only {checked} serve sessions found");
}

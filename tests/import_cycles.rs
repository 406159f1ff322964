//! No file-level import cycles in `src/`.
//!
//! **The rule.** A file *names* another when its code holds a path into the other's module:
//! `use crate::a::b::…;` (grouped forms `use crate::a::{b, c::d}` included), `super::…`,
//! `self::…`, or a `crate::a::b::…` path written inline. The path belongs to the file of the
//! longest module prefix that is a file (`crate::sweep::part::fingerprint` names
//! `src/sweep/part.rs`; `crate::scenario::Model` names `src/scenario/mod.rs`). There is a
//! cycle when a file names a file that, directly or through others, names it back. A parent
//! naming its own children (or deeper descendants) is not counted: `mod.rs` declares and
//! re-exports them, and a child naming its parent back is normal. What is left must be
//! acyclic, so that each file can be read knowing only the files it names.
//!
//! How the files are read: comments are dropped; the scan of a file stops at its first
//! `#[cfg(test)]` (unit tests sit at the end of a file, and `super::` there means the file
//! itself); `src/main.rs` is the binary, a crate of its own, and is skipped. Paths that do
//! not start with `crate`, `super` or `self` name other crates or a file's own children.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path, `[]` for the crate root.
type Module = Vec<String>;

/// Module path of a source file relative to `src/`.
fn module_of(rel: &Path) -> Module {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    match last.as_str() {
        "mod.rs" | "lib.rs" => {}
        other => parts.push(other.trim_end_matches(".rs").to_string()),
    }
    parts
}

/// The code of a file: comments removed, cut at the first `#[cfg(test)]`.
fn code_of(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut in_block = false;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let mut s = String::new();
        let mut rest = line;
        loop {
            if in_block {
                match rest.find("*/") {
                    Some(j) => {
                        rest = &rest[j + 2..];
                        in_block = false;
                    }
                    None => break,
                }
            } else {
                let line_comment = rest.find("//");
                let block = rest.find("/*");
                match (line_comment, block) {
                    (Some(a), b) if b.is_none_or(|b| a < b) => {
                        s.push_str(&rest[..a]);
                        break;
                    }
                    (_, Some(b)) => {
                        s.push_str(&rest[..b]);
                        rest = &rest[b + 2..];
                        in_block = true;
                    }
                    _ => {
                        s.push_str(rest);
                        break;
                    }
                }
            }
        }
        out.push((i + 1, s));
    }
    out
}

/// Expands a `use` tree (`a::{b, c::{d, e}}`, without spaces) into its full paths.
fn expand(tree: &str) -> Vec<String> {
    let Some(open) = tree.find('{') else {
        return vec![tree.to_string()];
    };
    let prefix = &tree[..open];
    let Some(close) = tree.rfind('}') else {
        return vec![tree.to_string()];
    };
    let inner = &tree[open + 1..close];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand(p).into_iter().map(|q| format!("{prefix}{q}")))
        .collect()
}

/// Every `crate::`, `super::` or `self::` path a file's code holds, with its line.
fn paths_of(code: &[(usize, String)]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    // `use` declarations, which may span lines and group paths in braces.
    let mut pending: Option<(usize, String)> = None;
    for (line, text) in code {
        let t = text.trim();
        if let Some((start, acc)) = &mut pending {
            acc.push_str(t);
            if t.contains(';') {
                let decl = acc.split(';').next().unwrap_or("").to_string();
                let start = *start;
                out.extend(expand(&decl).into_iter().map(|p| (start, p)));
                pending = None;
            }
            continue;
        }
        let body = ["pub use ", "pub(crate) use ", "pub(super) use ", "use "]
            .iter()
            .find_map(|k| t.strip_prefix(k));
        if let Some(body) = body {
            let body: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            if body.contains(';') {
                let decl = body.split(';').next().unwrap_or("").to_string();
                out.extend(expand(&decl).into_iter().map(|p| (*line, p)));
            } else {
                pending = Some((*line, body));
            }
        }
    }
    // Inline paths anywhere in the code.
    for (line, text) in code {
        let bytes = text.as_bytes();
        for key in ["crate::", "super::", "self::"] {
            let mut from = 0;
            while let Some(i) = text[from..].find(key).map(|i| i + from) {
                let starts_word = i == 0 || {
                    let c = bytes[i - 1] as char;
                    !(c.is_alphanumeric() || c == '_' || c == ':')
                };
                let end = text[i..]
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .map_or(text.len(), |e| i + e);
                if starts_word {
                    out.push((*line, text[i..end].trim_end_matches(':').to_string()));
                }
                from = end.max(i + key.len());
            }
        }
    }
    out.into_iter()
        .filter(|(_, p)| {
            p.starts_with("crate::") || p.starts_with("super::") || p.starts_with("self::")
        })
        .collect()
}

/// The module a path names from module `here`, as the longest prefix that is a file's
/// module. (`super` in `a/b.rs` and in `a/b/mod.rs`, both module `a::b`, is `a`.)
fn target(path: &str, here: &Module, files: &BTreeSet<Module>) -> Option<Module> {
    let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut base: Module = here.clone();
    let mut rest = &segs[..];
    match segs.first() {
        Some(&"crate") => {
            base.clear();
            rest = &segs[1..];
        }
        Some(&"self") => rest = &segs[1..],
        Some(&"super") => {
            while let Some(&"super") = rest.first() {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        _ => return None,
    }
    let mut full = base;
    full.extend(rest.iter().map(|s| s.to_string()));
    (0..=full.len())
        .rev()
        .map(|n| full[..n].to_vec())
        .find(|m| files.contains(m))
}

/// Edges `from → to` between files, with the first line naming each, leaving out self
/// edges and a parent naming its descendants.
fn edges(src: &Path) -> BTreeMap<(Module, Module), (PathBuf, usize, String)> {
    let mut sources = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                sources.push(p);
            }
        }
    }
    sources.retain(|p| p.strip_prefix(src).unwrap() != Path::new("main.rs"));
    let files: BTreeSet<Module> = sources
        .iter()
        .map(|p| module_of(p.strip_prefix(src).unwrap()))
        .collect();
    let mut out = BTreeMap::new();
    for p in &sources {
        let here = module_of(p.strip_prefix(src).unwrap());
        let text = std::fs::read_to_string(p).unwrap();
        for (line, path) in paths_of(&code_of(&text)) {
            let Some(to) = target(&path, &here, &files) else {
                continue;
            };
            if to == here || to.starts_with(&here) {
                continue;
            }
            out.entry((here.clone(), to))
                .or_insert_with(|| (p.clone(), line, path));
        }
    }
    out
}

/// The cycles of the graph: its strongly connected components of more than one file
/// (Tarjan's algorithm), each as its files in order.
fn cycles(edges: &BTreeMap<(Module, Module), (PathBuf, usize, String)>) -> Vec<Vec<Module>> {
    let mut nodes: BTreeSet<Module> = BTreeSet::new();
    for (a, b) in edges.keys() {
        nodes.insert(a.clone());
        nodes.insert(b.clone());
    }
    let nodes: Vec<Module> = nodes.into_iter().collect();
    let idx = |m: &Module| nodes.iter().position(|x| x == m).unwrap();
    let mut adj = vec![Vec::new(); nodes.len()];
    for (a, b) in edges.keys() {
        adj[idx(a)].push(idx(b));
    }
    struct T<'g> {
        adj: &'g [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(t: &mut T, v: usize) {
        t.index[v] = Some(t.next);
        t.low[v] = t.next;
        t.next += 1;
        t.stack.push(v);
        t.on[v] = true;
        for &w in &t.adj[v] {
            match t.index[w] {
                None => {
                    visit(t, w);
                    t.low[v] = t.low[v].min(t.low[w]);
                }
                Some(i) if t.on[w] => t.low[v] = t.low[v].min(i),
                _ => {}
            }
        }
        if Some(t.low[v]) == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on[w] = false;
                comp.push(w);
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                t.out.push(comp);
            }
        }
    }
    let n = nodes.len();
    let mut t = T {
        adj: &adj,
        index: vec![None; n],
        low: vec![0; n],
        on: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if t.index[v].is_none() {
            visit(&mut t, v);
        }
    }
    t.out
        .into_iter()
        .map(|c| {
            let mut c: Vec<Module> = c.into_iter().map(|i| nodes[i].clone()).collect();
            c.sort();
            c
        })
        .collect()
}

fn name(m: &Module) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

/// Each cycle in words, with the lines that make it.
fn report(src: &Path) -> Vec<String> {
    let e = edges(src);
    cycles(&e)
        .into_iter()
        .map(|c| {
            let mut s = format!(
                "cycle between {}:",
                c.iter().map(name).collect::<Vec<_>>().join(", ")
            );
            for ((a, b), (file, line, path)) in &e {
                if c.contains(a) && c.contains(b) {
                    s.push_str(&format!(
                        "\n  {} names {} ({}:{line}: {path})",
                        name(a),
                        name(b),
                        file.display()
                    ));
                }
            }
            s
        })
        .collect()
}

#[test]
fn src_has_no_file_level_import_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = report(&src);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// The check itself: a made-up crate with one cycle through three files (one of them by an
/// inline path, one by a grouped `use`), a child naming its parent, a parent naming its
/// child, and a cycle that exists only inside a test module.
#[test]
fn the_check_finds_a_cycle_and_only_that_one() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    let write = |rel: &str, text: &str| {
        let p = src.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("lib.rs", "pub mod a;\npub mod b;\npub mod c;\npub mod p;\n");
    write("a.rs", "use crate::b::{X, inner::Y};\n");
    write("b.rs", "pub struct X;\nfn f() { crate::c::g() }\n");
    write(
        "c.rs",
        "// use crate::b::X; (a comment)\npub fn g() { let _ = crate::a::Z; }\n",
    );
    write(
        "p/mod.rs",
        "mod child;\npub use child::Q;\nuse self::child::R;\n",
    );
    write(
        "p/child.rs",
        "use super::S;\npub struct Q;\n#[cfg(test)]\nmod tests { use crate::a::X; }\n",
    );
    write("d.rs", "#[cfg(test)]\nmod tests { use crate::a::X; }\n");
    let found = report(src);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("cycle between a, b, c:"),
        "{}",
        found[0]
    );
    assert!(found[0].contains("a names b"), "{}", found[0]);
    assert!(found[0].contains("c names a"), "{}", found[0]);
    // Without the inline path in b.rs there is none.
    write("b.rs", "pub struct X;\n");
    assert!(report(src).is_empty());
}

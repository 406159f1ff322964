//! Text bound for a terminal. Messages echo user input (keys, values, file names), and
//! input is hostile: a NUL or an escape sequence would be interpreted by the terminal, and a
//! 5 MB key would be printed in full, twice. Everything the command line prints to stderr
//! goes through [`for_terminal`].

/// The longest stretch of echoed input kept whole (a backtick-quoted span or a run without
/// spaces); longer ones keep their start and end around a note of what was cut.
pub const MAX_ECHO_CHARS: usize = 120;

/// The longest line printed; a longer one keeps its start and end.
pub const MAX_LINE_CHARS: usize = 2000;

/// `text` with control characters escaped (`\0`, `\u{1b}`; newlines and tabs kept) and
/// over-long echoed input truncated, so it prints safely and briefly.
pub fn for_terminal(text: &str) -> String {
    text.split('\n')
        .map(|line| shorten(&truncate_spans(&escape_controls(line)), MAX_LINE_CHARS))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Control characters (other than tab) as Rust-style escapes; line breaks are the
/// caller's business.
pub fn escape_controls(s: &str) -> String {
    if !s.chars().any(|c| c.is_control() && c != '\t') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\t' => out.push('\t'),
            '\0' => out.push_str("\\0"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// Truncates every backtick-quoted span and every space-free run longer than
/// [`MAX_ECHO_CHARS`].
fn truncate_spans(line: &str) -> String {
    if line.chars().count() <= MAX_ECHO_CHARS {
        return line.to_string();
    }
    let mut out = String::with_capacity(line.len().min(4 * MAX_LINE_CHARS));
    for (i, span) in line.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        if i % 2 == 1 {
            out.push_str(&shorten(span, MAX_ECHO_CHARS));
        } else {
            let words: Vec<String> = span
                .split(' ')
                .map(|w| shorten(w, MAX_ECHO_CHARS))
                .collect();
            out.push_str(&words.join(" "));
        }
    }
    out
}

/// `s` itself if it has at most `max` characters, else its start and end around
/// "…(N characters cut)…".
pub fn shorten(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let keep = max / 2;
    let head: String = s.chars().take(keep).collect();
    let tail: String = s.chars().skip(n - keep / 2).collect();
    format!("{head}…({} characters cut)…{tail}", n - keep - keep / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_newlines_kept() {
        assert_eq!(
            for_terminal("a\0b\u{7}c\u{1b}[31m\nnext\tline\r"),
            "a\\0b\\u{7}c\\u{1b}[31m\nnext\tline\\r"
        );
        assert_eq!(for_terminal("plain"), "plain");
    }

    #[test]
    fn long_echoes_are_cut() {
        let key = "k".repeat(5_000_000);
        let msg = format!("f.toml:1:1: `{key}`: unknown key `{key}`; valid keys here: `a`");
        let out = for_terminal(&msg);
        assert!(out.len() < 1000, "{}", out.len());
        assert!(out.ends_with("; valid keys here: `a`"), "{out}");
        assert!(out.contains("characters cut"), "{out}");
        let short = "f.toml: `a.b`: fine";
        assert_eq!(for_terminal(short), short);
    }

    #[test]
    fn shorten_counts_characters() {
        assert_eq!(shorten("abc", 3), "abc");
        let s = shorten(&"é".repeat(300), 100);
        assert!(s.starts_with(&"é".repeat(50)));
        assert!(s.contains("(225 characters cut)"), "{s}");
    }
}

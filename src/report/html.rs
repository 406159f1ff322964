//! `--html FILE`: a report as one self-contained HTML page (inline CSS and SVG, no script,
//! no font or image fetched from anywhere), readable offline and printable. This file holds
//! the page frame shared by `run`, `sweep` and `plan` and the page of a run; the sweep's
//! and the plan's pages live next to their other formats.
//!
//! Every page carries a Content-Security-Policy (`default-src 'none'; style-src
//! 'unsafe-inline'; img-src data:`), so a browser would refuse, and report, any fetch the
//! page tried: the tests open each page in headless Chromium and require no console message.

use std::fmt::Write as _;

use crate::Scenario;
use crate::assertion::AssertionOutcome;
use crate::plot::escape;
use crate::report::{ExportOptions, Exporter, Report, TableExporter};

/// The page's style sheet: system fonts, a readable width, print without backgrounds lost.
const CSS: &str = "
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; margin: 0 auto;
  max-width: 960px; padding: 1.5rem; color: #1f2328; background: #ffffff; line-height: 1.45; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 1.75rem 0 .5rem; border-bottom: 1px solid #d0d7de;
  padding-bottom: .2rem; }
.meta { color: #59636e; margin: 0 0 1rem; }
.cards { display: flex; flex-wrap: wrap; gap: .6rem; margin: .75rem 0; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: .5rem .8rem; min-width: 9rem; }
.card .v { font-size: 1.3rem; font-weight: 600; }
.card .k { color: #59636e; font-size: .85rem; }
table { border-collapse: collapse; margin: .5rem 0; font-size: .9rem; }
th, td { border-bottom: 1px solid #e5e7eb; padding: .25rem .6rem; text-align: right; }
th { background: #f6f8fa; }
td.l, th.l { text-align: left; }
.pass { color: #116329; font-weight: 600; }
.fail { color: #b91c1c; font-weight: 600; }
tr.best td { background: #fff8c5; }
ul.explain li { margin: .25rem 0; }
figure { margin: 1rem 0; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: #59636e; font-size: .85rem; }
pre { background: #f6f8fa; padding: .75rem; overflow-x: auto; font-size: .8rem; }
.scroll { overflow-x: auto; }
footer { color: #59636e; font-size: .8rem; margin-top: 2rem; }
@media print { body { max-width: none; padding: 0; } figure, table { break-inside: avoid; }
  pre { white-space: pre-wrap; } }
";

/// An HTML page under construction: append sections, then [`Page::finish`].
pub(crate) struct Page {
    out: String,
    svgs: usize,
}

impl Page {
    /// A page titled `title` with the subtitle `meta` (both plain text).
    pub(crate) fn new(title: &str, meta: &str) -> Page {
        let mut out = String::with_capacity(64 * 1024);
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
             style-src 'unsafe-inline'; img-src data:\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{}</h1>\n\
             <p class=\"meta\">{}</p>\n",
            escape(title),
            escape(title),
            escape(meta)
        );
        Page { out, svgs: 0 }
    }

    /// A section heading.
    pub(crate) fn h2(&mut self, text: &str) {
        let _ = writeln!(self.out, "<h2>{}</h2>", escape(text));
    }

    /// A paragraph of plain text.
    pub(crate) fn p(&mut self, text: &str) {
        let _ = writeln!(self.out, "<p>{}</p>", escape(text));
    }

    /// Headline figures: `(label, value)` cards.
    pub(crate) fn cards(&mut self, cards: &[(&str, String)]) {
        self.out.push_str("<div class=\"cards\">\n");
        for (k, v) in cards {
            let _ = writeln!(
                self.out,
                "<div class=\"card\"><div class=\"v\">{}</div><div class=\"k\">{}</div></div>",
                escape(v),
                escape(k)
            );
        }
        self.out.push_str("</div>\n");
    }

    /// A list of explanation lines (plain text).
    pub(crate) fn explain(&mut self, lines: &[String]) {
        if lines.is_empty() {
            return;
        }
        self.out.push_str("<ul class=\"explain\">\n");
        for l in lines {
            let _ = writeln!(self.out, "<li>{}</li>", escape(l));
        }
        self.out.push_str("</ul>\n");
    }

    /// A table: the header row, then rows of cells; the first `left` columns are text
    /// (left-aligned), the others numbers. A cell `✔ …`/`✘ …` is marked pass/fail. Rows
    /// whose index is in `highlight` are drawn as the recommended ones.
    pub(crate) fn table(
        &mut self,
        header: &[String],
        rows: &[Vec<String>],
        left: usize,
        highlight: &[usize],
    ) {
        self.out.push_str("<div class=\"scroll\"><table>\n<tr>");
        for (i, h) in header.iter().enumerate() {
            let class = if i < left { " class=\"l\"" } else { "" };
            let _ = write!(self.out, "<th{class}>{}</th>", escape(h));
        }
        self.out.push_str("</tr>\n");
        for (r, row) in rows.iter().enumerate() {
            if highlight.contains(&r) {
                self.out.push_str("<tr class=\"best\">");
            } else {
                self.out.push_str("<tr>");
            }
            for (i, cell) in row.iter().enumerate() {
                let mut classes = Vec::new();
                if i < left {
                    classes.push("l");
                }
                if cell.starts_with(PASS) {
                    classes.push("pass");
                } else if cell.starts_with(FAIL) {
                    classes.push("fail");
                }
                if classes.is_empty() {
                    let _ = write!(self.out, "<td>{}</td>", escape(cell));
                } else {
                    let _ = write!(
                        self.out,
                        "<td class=\"{}\">{}</td>",
                        classes.join(" "),
                        escape(cell)
                    );
                }
            }
            self.out.push_str("</tr>\n");
        }
        self.out.push_str("</table></div>\n");
    }

    /// An SVG chart with a caption. Element ids are made unique on the page (two heat maps
    /// both define a colour ramp).
    pub(crate) fn figure(&mut self, svg: &str, caption: &str) {
        self.svgs += 1;
        let n = self.svgs;
        let svg = svg
            .trim()
            .replace("id=\"heatmap-ramp\"", &format!("id=\"heatmap-ramp-{n}\""))
            .replace("url(#heatmap-ramp)", &format!("url(#heatmap-ramp-{n})"));
        let _ = writeln!(
            self.out,
            "<figure>\n{svg}\n<figcaption>{}</figcaption>\n</figure>",
            escape(caption)
        );
    }

    /// Preformatted text (the command's table output).
    pub(crate) fn pre(&mut self, text: &str) {
        let _ = writeln!(self.out, "<pre>{}</pre>", escape(text));
    }

    /// The finished page.
    pub(crate) fn finish(mut self) -> String {
        let _ = write!(
            self.out,
            "<footer>quotasim {}: a simulation, not a measurement; the figures are what the \
             scenario's model of the quota implies.</footer>\n</body>\n</html>\n",
            env!("CARGO_PKG_VERSION")
        );
        self.out
    }
}

/// The mark of a constraint that holds.
pub(crate) const PASS: &str = "✔";
/// The mark of a constraint that fails.
pub(crate) const FAIL: &str = "✘";

/// `✔ pass` or `✘ fail`.
pub(crate) fn mark(ok: bool) -> String {
    if ok {
        format!("{PASS} pass")
    } else {
        format!("{FAIL} fail")
    }
}

/// A number in a short human form (as `plan` prints it).
pub(crate) fn num(x: Option<f64>) -> String {
    x.map_or("-".into(), crate::plan::render::short)
}

/// `part` of `whole` in percent with one decimal, `-` for an empty whole.
fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

/// The explanation lines of a run: reserved versus consumed, which limit refused, why
/// requests failed.
pub fn run_explanations(r: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    let t = &r.tokens;
    if t.reserved > 0 || t.quota_consumed > 0 {
        if t.quota_consumed > t.reserved {
            lines.push(format!(
                "Reserved versus consumed: admitted attempts reserved {} quota tokens and the \
                 successes consumed {}: {} more than reserved (output burndown charges more \
                 than the reservation assumed).",
                t.reserved,
                t.quota_consumed,
                pct(t.quota_consumed - t.reserved, t.reserved)
            ));
        } else {
            lines.push(format!(
                "Reserved versus consumed: admitted attempts reserved {} quota tokens and the \
                 successes consumed {}: {} of the reservation was held until the request \
                 finished and then never consumed (a large max_tokens holds quota it does not \
                 use).",
                t.reserved,
                t.quota_consumed,
                pct(t.reserved - t.quota_consumed, t.reserved)
            ));
        }
    }
    let a = &r.attempts;
    if a.throttled == 0 {
        lines.push(format!(
            "No limit refused an attempt: all {} attempts sent were admitted.",
            a.sent
        ));
    } else {
        let mut by: Vec<(String, u64)> = a
            .throttled_by_limit
            .0
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| (k.clone(), *n))
            .collect();
        by.sort_by_key(|b| std::cmp::Reverse(b.1));
        let parts: Vec<String> = by
            .iter()
            .map(|(k, n)| format!("{k} refused {n} ({})", pct(*n, a.throttled)))
            .collect();
        lines.push(format!(
            "Which limit refused: {} of {} attempts ({}) were throttled; {}.",
            a.throttled,
            a.sent,
            pct(a.throttled, a.sent),
            parts.join(", ")
        ));
    }
    let q = &r.requests;
    if q.failed > 0 {
        let f = &q.failed_by;
        lines.push(format!(
            "Failures: {} of {} requests ({}) failed: {} after a throttled last attempt, {} \
             after a server error, {} by timeout.",
            q.failed,
            q.arrived,
            pct(q.failed, q.arrived),
            f.throttled,
            f.server_error,
            f.timeout
        ));
    }
    if q.unservable > 0 {
        lines.push(format!(
            "Unservable: {} requests reserve more than a limit's whole capacity and can never \
             be admitted.",
            q.unservable
        ));
    }
    if q.truncated > 0 {
        lines.push(format!(
            "Truncated: {} successes had their output cut at max_tokens.",
            q.truncated
        ));
    }
    lines
}

/// The constraints section: one row per `--assert` with its mark.
fn constraints(page: &mut Page, outcomes: &[AssertionOutcome]) {
    page.h2("Constraints (--assert)");
    if outcomes.is_empty() {
        page.p("None given: pass --assert \"METRIC OP NUMBER\" to check one.");
        return;
    }
    let rows: Vec<Vec<String>> = outcomes
        .iter()
        .map(|o| vec![mark(o.passed), o.assertion.to_string(), num(o.actual)])
        .collect();
    let header = ["result", "constraint", "actual"].map(String::from);
    page.table(&header, &rows, 2, &[]);
}

/// The `run --html` page of `report`, a run of `scenario`, with the `--assert` outcomes.
pub fn run_html(report: &Report, scenario: &Scenario, outcomes: &[AssertionOutcome]) -> String {
    let r = report;
    let mut page = Page::new(
        &format!("quotasim run: {}", r.scenario),
        &format!(
            "seed {} · {:.1} simulated seconds · {} requests arrived",
            r.seed, r.simulated_seconds, r.requests.arrived
        ),
    );
    page.h2("Summary");
    let q = &r.requests;
    let lat = |v: Option<f64>| v.map_or("-".into(), |x| format!("{x:.0} ms"));
    page.cards(&[
        ("succeeded", pct(q.succeeded, q.arrived)),
        (
            "attempts throttled",
            pct(r.attempts.throttled, r.attempts.sent),
        ),
        (
            "successes per minute",
            num(Some(r.throughput.requests_per_minute)),
        ),
        ("p99 end-to-end latency", lat(r.latency_ms.e2e.p99)),
        (
            "USD per success",
            r.cost
                .usd_per_success
                .map_or("-".into(), |x| format!("{x:.4}")),
        ),
        (
            "USD in total",
            r.cost.usd.map_or("-".into(), |x| format!("{x:.2}")),
        ),
    ]);
    page.explain(&run_explanations(r));
    constraints(&mut page, outcomes);
    page.h2("Chart");
    page.figure(
        &crate::report::plot::timeline_svg(r, scenario),
        "Quota charged per minute (left axis) against the tokens-per-minute limit, with the \
         attempts admitted and throttled per minute (right axis).",
    );
    page.h2("Report");
    page.pre(&TableExporter.render(r, ExportOptions { timeline: true }));
    page.finish()
}

//! What the sweep's charts show: a heat map marks every constraint a point fails and the
//! recommended point, colours latency on a log scale when it spans decades, and puts the
//! bright end of the ramp on the better side; a line chart draws the constraint's bound,
//! shows rates in percent as the table does, never goes below zero for a rate and keeps its
//! legend inside the picture.

use serde_json::Value;

mod common;

use common::{qs, stdout};

/// A short scenario that throttles at high max_tokens × concurrency (as tests/sweep.rs).
const SCENARIO: &str = r#"
name = "small"
seed = 11
duration = "3m"

[model]
preset = "claude-sonnet-4"

[quota]
tokens_per_minute = 45000

[client]
concurrency = 4
max_tokens = 512
retry = "aws-standard"

[arrivals]
process = "poisson"
rate_per_minute = 30

[requests.chat]
input_tokens = { dist = "lognormal", median = 400, p95 = 1500 }
output_tokens = { dist = "lognormal", median = 150, p95 = 600 }
"#;

const CONSTRAINTS: [&str; 2] = ["throttle_rate <= 0.03", "latency_ms.e2e.p99 <= 9000"];

/// Runs the sweep over `vary` with the constraints, returning its JSON and the SVG of
/// `metric`.
fn sweep(vary: &[&str], metric: &str, replications: &str) -> (Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let svg = dir.path().join("chart.svg");
    let mut cmd = qs();
    cmd.arg("sweep").arg(&scenario);
    for v in vary {
        cmd.args(["--vary", v]);
    }
    for c in CONSTRAINTS {
        cmd.args(["--constraint", c]);
    }
    cmd.args([
        "--replications",
        replications,
        "--quiet",
        "--format",
        "json",
    ])
    .args(["--plot-metric", metric, "--plot"])
    .arg(&svg);
    let json: Value = serde_json::from_str(&stdout(&mut cmd)).unwrap();
    (json, std::fs::read_to_string(&svg).unwrap())
}

fn mean(point: &Value, metric: &str) -> Option<f64> {
    let mut v = &point["metrics"];
    for k in metric.split('.') {
        v = &v[k];
    }
    v["mean"].as_f64()
}

/// Whether the constraint `metric <= bound` fails at `point` (undefined fails).
fn fails(point: &Value, metric: &str, bound: f64) -> bool {
    mean(point, metric).is_none_or(|m| m > bound)
}

fn parse(svg: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(svg).unwrap()
}

fn class_is<'a>(doc: &'a roxmltree::Document<'a>, class: &str) -> Vec<roxmltree::Node<'a, 'a>> {
    doc.descendants()
        .filter(|n| n.attribute("class") == Some(class))
        .collect()
}

#[test]
fn heat_map_marks_every_failed_constraint_and_the_recommended_point() {
    let (json, svg) = sweep(
        &["max_tokens=256,1024,4096", "concurrency=1,4,16"],
        "throughput.requests_per_minute",
        "1",
    );
    let doc = parse(&svg);
    let points = json["points"].as_array().unwrap();
    // By hand from the points' means: a cross on each point failing either constraint.
    let expected: Vec<(String, String)> = points
        .iter()
        .filter(|p| fails(p, "throttle_rate", 0.03) || fails(p, "latency_ms.e2e.p99", 9000.0))
        .map(|p| {
            (
                p["params"]["concurrency"].to_string(),
                p["params"]["max_tokens"].to_string(),
            )
        })
        .collect();
    let latency_only = points
        .iter()
        .filter(|p| !fails(p, "throttle_rate", 0.03) && fails(p, "latency_ms.e2e.p99", 9000.0))
        .count();
    assert!(
        latency_only > 0,
        "the test needs a point that fails only the latency constraint"
    );
    let mut marked: Vec<(String, String)> = class_is(&doc, "marker")
        .iter()
        .map(|n| {
            (
                n.attribute("data-x").unwrap().to_string(),
                n.attribute("data-y").unwrap().to_string(),
            )
        })
        .collect();
    marked.sort();
    let mut expected = expected;
    expected.sort();
    assert_eq!(marked, expected);
    // The corner notes name the failed constraints by number.
    let notes: Vec<String> = class_is(&doc, "note")
        .iter()
        .map(|n| n.text().unwrap().to_string())
        .collect();
    assert_eq!(notes.iter().filter(|n| n.contains('2')).count(), {
        points
            .iter()
            .filter(|p| fails(p, "latency_ms.e2e.p99", 9000.0))
            .count()
    });
    // The recommended point (the JSON's best) is ringed.
    let best = &json["recommendation"]["best"];
    let ring = class_is(&doc, "highlight");
    assert_eq!(ring.len(), 1, "{svg}");
    assert_eq!(
        ring[0].attribute("data-x"),
        Some(best["params"]["concurrency"].to_string().as_str())
    );
}

/// The fill of the cell whose value is the smallest, and of the largest.
fn extreme_fills(svg: &str) -> ((f64, String), (f64, String), Vec<String>) {
    let doc = parse(svg);
    let mut cells: Vec<(f64, String)> = class_is(&doc, "cell")
        .iter()
        .map(|n| {
            (
                n.attribute("data-value").unwrap().parse().unwrap(),
                n.attribute("fill").unwrap().to_string(),
            )
        })
        .collect();
    cells.sort_by(|a, b| a.0.total_cmp(&b.0));
    let fills = cells.iter().map(|c| c.1.clone()).collect();
    (
        cells.first().unwrap().clone(),
        cells.last().unwrap().clone(),
        fills,
    )
}

#[test]
fn latency_spanning_decades_is_coloured_on_a_log_scale_with_low_bright() {
    let (_, svg) = sweep(
        &["max_tokens=256,4096", "concurrency=1,2,16"],
        "latency_ms.e2e.p99",
        "1",
    );
    let (lo, hi, fills) = extreme_fills(&svg);
    assert!(
        hi.0 >= 10.0 * lo.0,
        "the data must span a decade: {lo:?} {hi:?}"
    );
    // Lower latency is better: the smallest value takes viridis' bright end (#fde725), the
    // largest its dark end (#440154).
    assert_eq!(lo.1, "#fde725");
    assert_eq!(hi.1, "#440154");
    // On a linear scale every value under 1% of the largest gets (nearly) the smallest's
    // colour; on a log scale the second decade is visibly apart from the first.
    let distinct: std::collections::BTreeSet<&String> = fills.iter().collect();
    assert!(distinct.len() >= 4, "{fills:?}");
    assert!(svg.contains("log colour scale"));
}

#[test]
fn line_chart_draws_the_bound_in_percent_without_negative_rates_or_cut_legends() {
    let (json, svg) = sweep(&["max_tokens=256,1024,4096"], "throttle_rate", "3");
    let doc = parse(&svg);
    // The y axis is in percent, as the table prints rates.
    let y_label = class_is(&doc, "axis-label y-label")[0].text().unwrap();
    assert!(y_label.contains('%'), "{y_label}");
    let first = mean(&json["points"][0], "throttle_rate").unwrap();
    let series = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("series"))
        .unwrap();
    let d = series.attribute("d").unwrap();
    // The first point's mean in percent is on the path: its y maps back to 100 × mean.
    let ticks: Vec<f64> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("tick-label"))
        .filter_map(|n| n.text()?.trim_end_matches('%').parse().ok())
        .collect();
    assert!(ticks.iter().all(|t| *t >= 0.0), "negative tick: {ticks:?}");
    assert!(!d.is_empty() && first >= 0.0);
    // The constraint's bound, 0.03 = 3%, is a dashed line with its label.
    let threshold = class_is(&doc, "threshold");
    assert_eq!(threshold.len(), 1);
    assert_eq!(
        threshold[0].attribute("data-threshold"),
        Some("constraint throttle_rate <= 0.03")
    );
    // Every legend label fits in the picture (about 7 units per character at size 12).
    let width: f64 = doc
        .root_element()
        .attribute("width")
        .unwrap()
        .parse()
        .unwrap();
    for n in class_is(&doc, "legend-label") {
        let x: f64 = n.attribute("x").unwrap().parse().unwrap();
        let len = n.text().unwrap().chars().count() as f64;
        assert!(
            x + 6.5 * len <= width,
            "legend `{}` cut at {width}",
            n.text().unwrap()
        );
    }
}

#[test]
fn run_plot_draws_the_limit_over_the_attempts_and_one_attempts_scale_per_figure() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("run.svg");
    let scenario = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/two-apps-one-account.toml");
    qs().arg("run")
        .arg(&scenario)
        .arg("--plot")
        .arg(&svg)
        .assert()
        .success();
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = parse(&text);
    let panels: Vec<_> = class_is(&doc, "panel");
    assert_eq!(panels.len(), 2, "two pools, two panels");
    let mut right_axes = Vec::new();
    for panel in &panels {
        // Document order is drawing order: the limit line and its label come after the
        // attempt lines, so the lines cannot hide them.
        let order: Vec<&str> = panel
            .descendants()
            .filter_map(
                |n| match (n.attribute("class"), n.attribute("data-series")) {
                    (Some("series"), Some(s @ ("admitted" | "throttled"))) => Some(s),
                    (Some("limit"), _) => Some("limit"),
                    (Some("limit-label"), _) => Some("label"),
                    _ => None,
                },
            )
            .collect();
        let last_line = order
            .iter()
            .rposition(|s| *s == "admitted" || *s == "throttled");
        let limit = order.iter().position(|s| *s == "limit").unwrap();
        let label = order.iter().position(|s| *s == "label").unwrap();
        if let Some(last) = last_line {
            assert!(limit > last && label > last, "{order:?}");
        }
        let ticks: Vec<String> = panel
            .descendants()
            .filter(|n| {
                n.attribute("class")
                    .is_some_and(|c| c.contains("attempts-axis"))
            })
            .flat_map(|g| g.descendants())
            .filter(|n| n.attribute("class") == Some("tick-label"))
            .map(|n| n.text().unwrap().to_string())
            .collect();
        right_axes.push(ticks);
    }
    // The global pool sends nothing, yet its right axis has the regional pool's scale.
    assert!(!right_axes[0].is_empty());
    assert_eq!(right_axes[0], right_axes[1]);
}

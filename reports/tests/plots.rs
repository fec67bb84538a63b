//! Plot and report files produced from the fixture sweeps: valid SVG and PNG, series names
//! present, and clear errors (with no files left behind) for bad input.

use std::path::{Path, PathBuf};

use reports::{PlotRequest, ReportError};

/// Copies a fixture directory to a fresh scratch directory under the target dir.
fn scratch_copy(fixture: &str, test: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture);
    let dst = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{test}-{fixture}"));
    let _ = std::fs::remove_dir_all(&dst);
    std::fs::create_dir_all(&dst).expect("scratch dir can be created");
    for entry in std::fs::read_dir(&src).expect("fixture exists") {
        let entry = entry.expect("readable entry");
        std::fs::copy(entry.path(), dst.join(entry.file_name())).expect("copy fixture file");
    }
    dst
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn assert_svg(path: &Path, needles: &[&str]) {
    let text = std::fs::read_to_string(path).expect("svg is text");
    assert!(
        text.trim_start().starts_with("<svg"),
        "{} does not start with <svg",
        path.display()
    );
    assert!(
        text.trim_end().ends_with("</svg>"),
        "{} is not closed",
        path.display()
    );
    for needle in needles {
        assert!(text.contains(needle), "{} lacks {needle:?}", path.display());
    }
}

fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).expect("png exists");
    assert_eq!(
        &bytes[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
    assert!(
        bytes.len() > 10_000,
        "{} is suspiciously small ({} bytes)",
        path.display(),
        bytes.len()
    );
}

#[test]
fn plot_writes_svg_and_png_with_series_names() {
    let dir = scratch_copy("sweep_tuning", "plot");
    let request = PlotRequest {
        x: "linger.ms",
        y: "throughput",
        series: Some("batch.size"),
    };
    let files = reports::plot(&dir, &request, Some(&dir.join("tp"))).expect("plot succeeds");
    assert_eq!(files, vec![dir.join("tp.svg"), dir.join("tp.png")]);
    assert_svg(
        &files[0],
        &[
            "batch.size=16 KiB",
            "batch.size=64 KiB",
            "throughput (records/s)",
            "linger.ms (ms)",
        ],
    );
    assert_png(&files[1]);
}

#[test]
fn standard_plots_cover_lines_trade_off_and_heatmaps() {
    let tuning = scratch_copy("sweep_tuning", "standard");
    let files = reports::standard_plots(&tuning).expect("tuning plots");
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    for expected in [
        "throughput_vs_linger_ms_by_batch_size.svg",
        "latency_p99_vs_linger_ms_by_batch_size.png",
        "tradeoff_throughput_p99.svg",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "missing {expected} in {names:?}"
        );
    }
    assert_svg(
        &tuning.join("plots/tradeoff_throughput_p99.svg"),
        &["Pareto-optimal"],
    );
    // Two numeric axes: a heat map of the grid for throughput and p99, with the levels as
    // their tick labels and each cell's mean printed.
    for metric in ["throughput", "latency_p99"] {
        let path = tuning.join(format!("plots/heatmap_{metric}.svg"));
        assert_svg(
            &path,
            &["mean per configuration", "16 KiB", "linger.ms (ms)"],
        );
        assert_png(&tuning.join(format!("plots/heatmap_{metric}.png")));
    }
    // `linger plot` with the same columns names its file as `--plots` does.
    let request = PlotRequest {
        x: "linger.ms",
        y: "p99",
        series: Some("batch.size"),
    };
    let written = reports::plot(&tuning, &request, None).expect("plot");
    assert_eq!(
        written[0],
        tuning.join("plots/latency_p99_vs_linger_ms_by_batch_size.svg")
    );
    let semantics = scratch_copy("sweep_semantics", "standard");
    let files = reports::standard_plots(&semantics).expect("semantics plots");
    for f in &files {
        if f.extension().is_some_and(|e| e == "png") {
            assert_png(f)
        }
    }
    assert_svg(
        &semantics.join("plots/heatmap_duplicated.svg"),
        &["acks=all, enable.idempotence=true", "retries"],
    );
    assert!(semantics.join("plots/heatmap_lost_acked.png").is_file());
    assert!(
        files_in(&semantics.join("plots"))
            .iter()
            .all(|n| !n.starts_with('.')),
        "temp files left"
    );
}

#[test]
fn acks_only_sweep_gets_anomaly_heatmaps_over_acks() {
    let dir = scratch_copy("sweep_durability", "acks-only");
    reports::standard_plots(&dir).expect("plots");
    assert_svg(
        &dir.join("plots/heatmap_lost_acked.svg"),
        &["acks", "Acknowledged records lost"],
    );
    assert_png(&dir.join("plots/throughput_vs_acks.png"));
}

#[test]
fn rejected_configurations_are_not_judged_and_get_no_panel() {
    let dir = scratch_copy("sweep_semantics", "rejected");
    let text = std::fs::read_to_string(dir.join("results.csv")).expect("read");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let columns = lines[0].split(',').count();
    for line in lines.iter_mut().skip(1) {
        // Rows with acks=1 become what the sweep writes for a configuration Kafka rejects:
        // empty metrics and the reason in the warnings column.
        let cells: Vec<&str> = line.split(',').collect();
        if cells[3] == "1" {
            let mut blank: Vec<String> = cells[..7].iter().map(|c| (*c).to_owned()).collect();
            blank.resize(columns - 1, String::new());
            blank.push("invalid configuration: rejected".to_owned());
            *line = blank.join(",");
        }
    }
    std::fs::write(dir.join("results.csv"), lines.join("\n") + "\n").expect("write");
    let out = reports::report(&dir).expect("report");
    let html = std::fs::read_to_string(&out.html).expect("html");
    assert!(html.contains("n/a: no records were sent"));
    assert!(
        html.contains(
            "sent no records or had none acknowledged, and are neither judged nor ranked"
        )
    );
    let svg = std::fs::read_to_string(dir.join("plots/heatmap_duplicated.svg")).expect("svg");
    assert!(
        !svg.contains("acks=1,"),
        "no panel for configurations that never ran"
    );
    assert!(svg.contains("acks=all, enable.idempotence=true"));
}

#[test]
fn report_is_self_contained_html_and_markdown() {
    let dir = scratch_copy("sweep_semantics", "report");
    let out = reports::report(&dir).expect("report succeeds");
    let html = std::fs::read_to_string(&out.html).expect("html written");
    assert!(html.matches("<svg").count() >= 4, "plots inline");
    for banned in ["<script", "http://", "https://", "<link"] {
        let outside_svg = html.replace("http://www.w3.org/2000/svg", "");
        assert!(
            !outside_svg.contains(banned),
            "report must be self-contained, found {banned}"
        );
    }
    assert!(html.contains("Best configurations under stated constraints"));
    assert!(
        html.contains("Broke at-least-once"),
        "acks=1 points lost acknowledged records"
    );
    assert!(
        html.contains("delivery-semantics-matrix"),
        "experiment config shown"
    );
    assert!(
        html.contains("idempotence disabled by configuration"),
        "run warnings shown"
    );
    assert!(
        html.contains("At least once (idempotence off, retries &gt; 0)"),
        "plain-language verdicts"
    );
    let md = std::fs::read_to_string(&out.markdown).expect("markdown written");
    assert!(md.contains("](plots/heatmap_duplicated.png)"));
    assert!(md.contains("| constraint |"));
    assert!(out.plots.iter().all(|p| p.is_file()));
}

#[test]
fn unknown_column_lists_the_available_ones_and_writes_nothing() {
    let dir = scratch_copy("sweep_tuning", "unknown-column");
    let before = files_in(&dir);
    let request = PlotRequest {
        x: "linger.ms",
        y: "goodput",
        series: None,
    };
    let err = reports::plot(&dir, &request, Some(&dir.join("out"))).expect_err("no such column");
    assert!(matches!(err, ReportError::UnknownColumn { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("goodput")
            && msg.contains("throughput_records_per_s")
            && msg.contains("producer.linger.ms"),
        "{msg}"
    );
    assert_eq!(files_in(&dir), before);
}

#[test]
fn missing_dir_old_and_unversioned_formats_are_clear_errors() {
    let missing = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-such-results-dir");
    let err = reports::standard_plots(&missing).expect_err("missing dir");
    assert!(matches!(err, ReportError::MissingDir { .. }), "{err:?}");
    let old = scratch_copy("sweep_old_format", "old");
    let err = reports::report(&old).expect_err("old format");
    assert!(
        matches!(
            err,
            ReportError::UnsupportedFormat {
                found: 0,
                supported: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("re-run the sweep"));
    assert_eq!(files_in(&old), vec!["manifest.json", "results.csv"]);
    let unversioned = scratch_copy("sweep_no_version", "unversioned");
    let err = reports::standard_plots(&unversioned).expect_err("no version");
    assert!(
        matches!(err, ReportError::NoFormatVersion { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("format_version"));
}

#[test]
fn a_manifest_without_axes_is_refused_by_name() {
    let dir = scratch_copy("sweep_tuning", "no-axes");
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).expect("read");
    let mut manifest: serde_json::Value = serde_json::from_str(&text).expect("json");
    manifest
        .as_object_mut()
        .expect("an object")
        .remove("axes")
        .expect("the fixture has axes");
    std::fs::write(&path, manifest.to_string()).expect("write");
    let err = reports::standard_plots(&dir).expect_err("no axes");
    assert!(
        matches!(err, ReportError::ManifestKey { key: "axes", .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("manifest.json"), "{err}");
    assert!(!dir.join("plots").exists(), "nothing is written");
}

#[test]
fn missing_results_file_is_named() {
    let dir = scratch_copy("sweep_tuning", "no-results");
    std::fs::remove_file(dir.join("results.csv")).expect("remove");
    let err = reports::standard_plots(&dir).expect_err("results.csv missing");
    assert!(err.to_string().contains("results.csv"), "{err}");
}

#[test]
fn non_numeric_metric_cell_names_line_and_column() {
    let dir = scratch_copy("sweep_tuning", "bad-cell");
    let text = std::fs::read_to_string(dir.join("results.csv")).expect("read");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[3] = lines[3].replacen(",10000,", ",lots,", 1);
    std::fs::write(dir.join("results.csv"), lines.join("\n")).expect("write");
    let request = PlotRequest {
        x: "linger.ms",
        y: "records_sent",
        series: None,
    };
    let err = reports::plot(&dir, &request, Some(&dir.join("out"))).expect_err("bad cell");
    let msg = err.to_string();
    assert!(
        msg.contains("line 4") && msg.contains("records_sent") && msg.contains("lots"),
        "{msg}"
    );
    assert!(!dir.join("out.svg").exists() && !dir.join("out.png").exists());
}

#[test]
fn unknown_scenario_error_lists_known_names() {
    let err = ReportError::UnknownScenario {
        name: "nope".into(),
        known: vec!["a".into(), "b".into()],
    };
    assert_eq!(
        err.to_string(),
        "unknown scenario `nope`; known scenarios: a, b"
    );
}

#[test]
fn bad_plot_input_leaves_no_plots_directory() {
    for (fixture, x) in [
        ("sweep_tuning", "lingr.ms"),
        ("sweep_old_format", "linger.ms"),
    ] {
        let dir = scratch_copy(fixture, "no-plots-dir");
        let before = files_in(&dir);
        let request = PlotRequest {
            x,
            y: "p99",
            series: None,
        };
        let stem = dir.join(reports::PLOTS_DIR).join("p99-vs-x");
        reports::plot(&dir, &request, Some(&stem)).expect_err("bad input");
        assert!(!dir.join(reports::PLOTS_DIR).exists(), "{fixture}");
        assert_eq!(files_in(&dir), before, "{fixture}");
    }
}

/// The verdict cell of the guarantee table's row for `acks=VALUE` in `report.md`.
fn acks_verdict(markdown: &str, acks: &str) -> String {
    markdown
        .lines()
        .find(|line| line.starts_with(&format!("| acks={acks} |")))
        .unwrap_or_else(|| panic!("no row for acks={acks} in {markdown}"))
        .to_owned()
}

#[test]
fn verdicts_use_the_experiment_copy_for_values_not_swept() {
    // Without an experiment copy only acks is known: acks=0 is judged, the others are not.
    let dir = scratch_copy("sweep_durability", "no-copy");
    let out = reports::report(&dir).expect("report");
    let md = std::fs::read_to_string(&out.markdown).expect("markdown");
    assert!(acks_verdict(&md, "0").contains("At most once (acks=0)"));
    let all = acks_verdict(&md, "all");
    assert!(
        all.contains("No guarantee claimed") && all.contains("observed: no anomaly"),
        "{all}"
    );
    assert!(!md.contains("at-least-once held"), "{md}");
    // With the copy, idempotence off and retries at the default make acks=all at-least-once.
    let dir = scratch_copy("sweep_durability", "with-copy");
    std::fs::write(
        dir.join("experiment.toml"),
        "[producer]\n\"enable.idempotence\" = false\n\n[sweep.producer]\nacks = [\"0\", \"1\", \"all\"]\n",
    )
    .expect("write copy");
    let out = reports::report(&dir).expect("report");
    let md = std::fs::read_to_string(&out.markdown).expect("markdown");
    assert!(acks_verdict(&md, "0").contains("At most once (acks=0)"));
    let all = acks_verdict(&md, "all");
    assert!(all.contains("At least once (idempotence off"), "{all}");
    assert!(acks_verdict(&md, "1").contains("Broke at-least-once: 90 acknowledged"));
    // "exactly once, in order" is met by no configuration here, and never by acks=0.
    let exactly = md
        .lines()
        .find(|l| l.starts_with("| highest throughput with exactly once, in order"))
        .expect("constraint row");
    assert!(exactly.contains("no configuration meets this"), "{exactly}");
}

/// A directory that holds only some of the sweep's points (a stopped sweep, one shard, or a
/// merge of some shards) is named as partial in the report and in the ranking's heading.
#[test]
fn a_partial_directory_is_named_as_such_in_the_report_and_its_ranking() {
    let whole = scratch_copy("sweep_tuning", "whole");
    let md = std::fs::read_to_string(reports::report(&whole).expect("report").markdown)
        .expect("markdown written");
    assert!(!md.contains("artial"), "a whole sweep is not partial");
    let dir = scratch_copy("sweep_tuning", "partial");
    let csv = std::fs::read_to_string(dir.join("results.csv")).expect("fixture");
    let kept: Vec<&str> = csv
        .lines()
        .filter(|line| {
            let point = line.split(',').next().unwrap_or("");
            point == "point" || point.parse::<u32>().is_ok_and(|p| p < 3)
        })
        .collect();
    std::fs::write(dir.join("results.csv"), kept.join("\n") + "\n").expect("writes");
    let out = reports::report(&dir).expect("report succeeds");
    let md = std::fs::read_to_string(&out.markdown).expect("markdown written");
    assert!(
        md.contains("**Partial results: 3 of the sweep's 8 points;"),
        "{md}"
    );
    assert!(
        md.contains(
            "## Best configurations under stated constraints (partial: over 3 of 8 points)"
        ),
        "{md}"
    );
    let html = std::fs::read_to_string(&out.html).expect("html written");
    assert!(html.contains("Partial results: 3 of the sweep"), "{html}");
    // A merge of some shards only, marked in the manifest, is named so even when complete.
    let marked = scratch_copy("sweep_tuning", "marked");
    let manifest = std::fs::read_to_string(marked.join("manifest.json")).expect("fixture");
    let manifest = manifest.replacen(
        "\"point_count\"",
        "\"partial\": true,\n  \"point_count\"",
        1,
    );
    std::fs::write(marked.join("manifest.json"), manifest).expect("writes");
    let md = std::fs::read_to_string(reports::report(&marked).expect("report").markdown)
        .expect("markdown written");
    assert!(md.contains("merged from some of its shards only"), "{md}");
}

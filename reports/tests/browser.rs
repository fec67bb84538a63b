//! A browser check: the report and the teaching page rendered by headless Chromium, after their
//! scripts ran, still hold the plots and the diagram, and the step control highlighted an event.
//!
//! Skipped (with a message) when Chromium is absent; set `LINGER_CHROMIUM` to use another
//! binary. Run it alone with `cargo test -p reports --test browser -- --nocapture`.

use std::path::{Path, PathBuf};
use std::process::Command;

use reports::OutcomeSummary;

fn chromium() -> Option<PathBuf> {
    let candidate = std::env::var_os("LINGER_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    candidate.is_file().then_some(candidate)
}

/// The DOM after the page's scripts ran, as Chromium serialises it.
fn dump_dom(browser: &Path, page: &Path) -> String {
    let profile = Path::new(env!("CARGO_TARGET_TMPDIR")).join("chromium-profile");
    std::fs::create_dir_all(&profile).expect("profile dir");
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium starts");
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("the DOM is UTF-8")
}

/// The content of the first `<text>` element of an SVG document (a plot's title), with the
/// entities the page would show decoded as the DOM serialiser writes them.
fn first_text(svg: &str) -> Option<String> {
    let start = svg.find("<text")?;
    let open_end = start + svg[start..].find('>')? + 1;
    let close = open_end + svg[open_end..].find("</text>")?;
    // The DOM serialiser writes quotes in text as they are, and keeps &amp;, &lt; and &gt;.
    Some(
        svg[open_end..close]
            .trim()
            .replace("&apos;", "'")
            .replace("&quot;", "\""),
    )
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

#[test]
fn report_and_teaching_page_render_in_chromium() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: no Chromium at /usr/bin/chromium (set LINGER_CHROMIUM)");
        return;
    };
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    // The anomaly sweep (heat maps over acks and idempotence) and the tuning sweep (line
    // plots, the trade-off scatter and heat maps of a linger.ms x batch.size grid).
    for fixture in ["sweep_semantics", "sweep_tuning"] {
        let dir = scratch(&format!("browser-report-{fixture}"));
        for file in ["manifest.json", "results.csv", "experiment.toml"] {
            let from = fixtures.join(fixture).join(file);
            if from.is_file() {
                std::fs::copy(from, dir.join(file)).expect("copy");
            }
        }
        let files = reports::report(&dir).expect("report");
        let dom = dump_dom(&browser, &files.html);
        assert!(dom.contains("Best configurations under stated constraints"));
        let plots: Vec<&PathBuf> = files
            .plots
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "svg"))
            .collect();
        assert!(plots.len() >= 3, "{fixture}: only {} plots", plots.len());
        assert!(
            dom.matches("<svg").count() >= plots.len(),
            "{fixture}: {} plots but {} <svg> after load",
            plots.len(),
            dom.matches("<svg").count()
        );
        // Every plot is in the page after its scripts ran: its title, and as many drawn text
        // elements as the file has.
        for plot in plots {
            let svg = std::fs::read_to_string(plot).expect("plot svg");
            let title = first_text(&svg).unwrap_or_else(|| panic!("{}: no text", plot.display()));
            assert!(
                dom.contains(&title),
                "{fixture}: {} ({title:?}) is not in the page",
                plot.display()
            );
        }
    }

    let trace =
        std::fs::read_to_string(fixtures.join("traces/acks1_leader_crash.jsonl")).expect("trace");
    let summary = OutcomeSummary {
        scenario: "acks1-leader-crash".into(),
        records_sent: 2,
        records_acked: 2,
        delivered_once: 1,
        lost_acked: 1,
        ..OutcomeSummary::default()
    };
    let page = scratch("browser-teach").join("teach.html");
    std::fs::write(&page, reports::render_html(&trace, &summary).expect("page"))
        .expect("write page");
    let dom = dump_dom(&browser, &page);
    let events = trace.lines().filter(|l| !l.trim().is_empty()).count();
    assert_eq!(dom.matches("<svg").count(), 1, "one diagram");
    assert!(
        dom.contains(&format!("data-steps-ready=\"{events}\"")),
        "the step script ran over every event"
    );
    assert!(
        dom.contains("class=\"step current\""),
        "the first event is highlighted"
    );
    assert!(
        dom.contains(&format!("1 / {events}")),
        "the position counter is shown"
    );
}

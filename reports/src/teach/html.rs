//! The teaching page: the SVG diagram inline plus a step-through control in plain JavaScript
//! (Prev/Next buttons, arrow keys), self-contained: no network fetches, no build step.

use super::OutcomeSummary;
use super::diagram::Diagram;
use crate::markup::escape_html;

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222}\
#controls{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #ccc;z-index:1}\
#controls button{font-size:15px;padding:.3em 1em;margin-right:.5em}\
#detail{font-family:monospace;margin-left:1em}\
.step.current rect.highlight{fill:#fff3b0}.step.current text.label{text-decoration:underline}\
#diagram{overflow:auto}.verdict{max-width:60em}";

/// The step-through script: one event highlighted at a time, moved by buttons or arrow keys.
const SCRIPT: &str = r#"(function () {
  var steps = Array.prototype.slice.call(document.querySelectorAll('g.step'));
  var detail = document.getElementById('detail');
  var position = document.getElementById('position');
  var current = -1;
  function show(index) {
    if (steps.length === 0) { return; }
    index = Math.max(0, Math.min(steps.length - 1, index));
    if (current >= 0) { steps[current].classList.remove('current'); }
    current = index;
    var step = steps[current];
    step.classList.add('current');
    position.textContent = (current + 1) + ' / ' + steps.length;
    var texts = step.querySelectorAll('text');
    detail.textContent = texts[0].textContent + ' ms: ' + texts[texts.length - 1].textContent;
    if (step.scrollIntoView) { step.scrollIntoView({block: 'nearest'}); }
  }
  document.getElementById('prev').addEventListener('click', function () { show(current - 1); });
  document.getElementById('next').addEventListener('click', function () { show(current + 1); });
  document.addEventListener('keydown', function (event) {
    if (event.key === 'ArrowRight' || event.key === 'ArrowDown') { show(current + 1); event.preventDefault(); }
    if (event.key === 'ArrowLeft' || event.key === 'ArrowUp') { show(current - 1); event.preventDefault(); }
  });
  steps.forEach(function (step, index) {
    step.addEventListener('click', function () { show(index); });
  });
  show(0);
  document.body.setAttribute('data-steps-ready', String(steps.length));
})();"#;

/// The page.
pub(crate) fn render(
    diagram: &Diagram,
    summary: &OutcomeSummary,
    verdict: &[String],
    svg: &str,
) -> String {
    let title = if summary.scenario.is_empty() {
        "linger teaching trace".to_owned()
    } else {
        format!("linger: {}", summary.scenario)
    };
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str(&format!(
        "<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape_html(&title)
    ));
    h.push_str(&format!("<h1>{}</h1>\n", escape_html(&title)));
    if !summary.description.is_empty() {
        h.push_str(&format!("<p>{}</p>\n", escape_html(&summary.description)));
    }
    h.push_str(&format!(
        "<div id=\"controls\"><button id=\"prev\" type=\"button\">&#9664; Prev</button><button id=\"next\" type=\"button\">Next &#9654;</button><span id=\"position\">0 / {}</span><span id=\"detail\"></span><div><small>Keys: &#8594; / &#8595; next, &#8592; / &#8593; previous; click a row to jump.</small></div></div>\n",
        diagram.steps.len()
    ));
    h.push_str(&format!("<div id=\"diagram\">\n{svg}</div>\n"));
    h.push_str("<div class=\"verdict\">\n<h2>What held, and why</h2>\n");
    h.push_str(&format!(
        "<p>{}</p>\n",
        escape_html(&format!("Outcome: {}", super::counts_line(summary)))
    ));
    for sentence in verdict {
        h.push_str(&format!("<p>{}</p>\n", escape_html(sentence)));
    }
    h.push_str("</div>\n");
    h.push_str(&format!(
        "<script>\n{SCRIPT}\n</script>\n</body>\n</html>\n"
    ));
    h
}

//! The embedded font: plotters measures and rasterises text with DejaVu Sans, registered once
//! per process, so plots need no system font libraries.

use std::sync::Once;

static REGISTER: Once = Once::new();

/// Registers DejaVu Sans as plotters' `sans-serif` (idempotent).
pub(crate) fn register() {
    REGISTER.call_once(|| {
        // The bytes are the dejavu crate's bundled TTF; parsing it cannot fail.
        plotters::style::register_font(
            "sans-serif",
            plotters::style::FontStyle::Normal,
            dejavu::sans::regular(),
        )
        .map_err(|_| ())
        .expect("the bundled DejaVu Sans font parses");
    });
}

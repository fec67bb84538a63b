#!/bin/sh
# Browser check for linger's HTML output: loads each page in headless Chromium, lets its scripts
# run, and checks the serialised DOM. With no arguments it runs the Rust browser test (which
# builds the pages from the fixtures); with arguments it checks the given report or teaching
# pages: every page must hold at least one <svg>, and a teaching page (one with a step control)
# must have highlighted an event.
#
#   reports/tests/browser_check.sh                       # fixture pages, via cargo test
#   reports/tests/browser_check.sh out/report.html teach.html
set -eu
CHROMIUM="${LINGER_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
    echo "skipped: no Chromium at $CHROMIUM (apt-get install chromium, or set LINGER_CHROMIUM)"
    exit 0
fi
if [ "$#" -eq 0 ]; then
    exec cargo test -p reports --test browser -- --nocapture
fi
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
status=0
for page in "$@"; do
    abs="$(cd "$(dirname "$page")" && pwd)/$(basename "$page")"
    dom="$("$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
        --dump-dom "file://$abs" 2>/dev/null)"
    svgs="$(printf '%s' "$dom" | grep -o '<svg' | wc -l)"
    if [ "$svgs" -lt 1 ]; then
        echo "FAIL $page: no <svg> after load"; status=1; continue
    fi
    if printf '%s' "$dom" | grep -q 'id="next"'; then
        if ! printf '%s' "$dom" | grep -q 'class="step current"'; then
            echo "FAIL $page: the step control did not highlight an event"; status=1; continue
        fi
    fi
    echo "ok   $page: $svgs <svg> element(s)"
done
exit "$status"

#!/usr/bin/env bash
# Opens an imbarb report in a real browser: headless Chromium (Debian's `chromium`, installed if
# missing) renders the page, the check fails on any console message (the report has no scripts,
# so any is an error), on a chart that was not drawn, when fewer than MIN_CHARTS SVG charts
# are in the rendered page, or when a 390 px wide window has to scroll sideways; a full-page
# screenshot is saved.
#
#   scripts/check_report.sh runs/experiments/smoke/report.html              # screenshot beside it
#   scripts/check_report.sh REPORT.html SHOT.png 26
set -euo pipefail
REPORT=${1:?usage: scripts/check_report.sh REPORT.html [SCREENSHOT.png] [MIN_CHARTS]}
SHOT=${2:-${REPORT%.html}.png}
MIN_CHARTS=${3:-1}
[ -f "$REPORT" ] || { echo "no report at $REPORT" >&2; exit 1; }
if ! command -v chromium >/dev/null; then
  echo "installing Debian's chromium" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -q && $SUDO apt-get install -y -q chromium >/dev/null
fi
FLAGS=(--headless --no-sandbox --disable-gpu --disable-background-networking --hide-scrollbars
       --no-first-run --user-data-dir="$(mktemp -d)")
URL="file://$(realpath "$REPORT")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chromium "${FLAGS[@]}" --enable-logging=stderr --v=0 --virtual-time-budget=5000 --dump-dom "$URL" \
  > "$work/dom.html" 2> "$work/browser.log"
if grep -E ':CONSOLE\(|Uncaught' "$work/browser.log"; then
  echo "console messages while rendering $REPORT (above)" >&2
  exit 1
fi
charts=$(grep -o '<svg' "$work/dom.html" | wc -l)
if grep -q 'chart not drawn' "$work/dom.html"; then
  echo "$REPORT: a chart was not drawn" >&2
  exit 1
fi
if [ "$charts" -lt "$MIN_CHARTS" ]; then
  echo "$REPORT: $charts charts rendered, expected at least $MIN_CHARTS" >&2
  exit 1
fi
# A phone-wide screen (390 px): the page itself must not scroll sideways (wide tables scroll in
# their own box, charts scale). Headless Chromium will not open a window under ~500 px, so the
# report is measured inside a 390 px frame of a probe page.
probe="$work/narrow.html"
cat > "$probe" <<PROBE
<!DOCTYPE html><html><body><iframe id="f" src="$URL" style="width:390px;height:844px;border:0"></iframe>
<script>document.getElementById("f").onload = function () {
  document.body.setAttribute("data-scroll-width", this.contentDocument.documentElement.scrollWidth);
};</script></body></html>
PROBE
chromium "${FLAGS[@]}" --allow-file-access-from-files --virtual-time-budget=5000 --dump-dom "file://$probe" \
  > "$work/narrow-dom.html" 2> "$work/narrow.log"
width=$(grep -o 'data-scroll-width="[0-9]*"' "$work/narrow-dom.html" | grep -o '[0-9]*' || true)
if [ -z "$width" ]; then
  echo "$REPORT: the narrow-screen probe did not run (see chromium's log)" >&2
  tail -n 5 "$work/narrow.log" >&2
  exit 1
fi
if [ "$width" -gt 390 ]; then
  echo "$REPORT: in a 390 px frame the page is $width px wide (it scrolls sideways)" >&2
  exit 1
fi
# The page's full height for the screenshot: about 400 px per chart plus the tables.
height=$(( 1200 + 420 * charts ))
chromium "${FLAGS[@]}" --window-size=1100,"$height" --screenshot="$(realpath -m "$SHOT")" "$URL" \
  2> "$work/shot.log" >/dev/null
[ -s "$SHOT" ] || { echo "no screenshot written (see chromium's log below)" >&2; cat "$work/shot.log" >&2; exit 1; }
echo "$REPORT: $charts charts rendered without console messages; $width px wide in a 390 px frame; screenshot $SHOT"

#!/usr/bin/env bash
# Renders a gort trace in a browser and saves screenshots (docs/trace-*.png):
# runs examples/trace.rs with GORT_TRACE, turns the JSON into a standalone
# trace-viewer page with catapult's trace2html (the viewer behind
# chrome://tracing), and screenshots it in headless Chromium via
# playwright-core. Needs: Debian's chromium, Node.js/npm, python3, and a
# checkout of https://github.com/catapult-project/catapult in $CATAPULT
# (none of which the build or the tests need).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CATAPULT:?set CATAPULT to a catapult checkout (for tracing/bin/trace2html)}"
work=$(mktemp -d)
GORT_TRACE="$work/trace.json" cargo run --release -q -p gort --example trace
python3 "$CATAPULT/tracing/bin/trace2html" "$work/trace.json" \
  --output="$work/trace.html" --title "gort trace: examples/trace.rs, GOMAXPROCS=2" >/dev/null
(cd "$work" && npm init -y >/dev/null && npm install -q playwright-core@1 >/dev/null)
cat > "$work/shot.js" <<'JS'
const { chromium } = require('playwright-core');
(async () => {
  const [page_url, out, x, zooms] = process.argv.slice(2);
  const b = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  const p = await b.newPage({ viewport: { width: 1600, height: 900 } });
  await p.goto(page_url);
  await p.waitForFunction(() => !document.body.innerText.includes('Importing'), null, { timeout: 60000 });
  await p.waitForTimeout(1000);
  await p.mouse.move(parseInt(x), 200);
  for (let i = 0; i < parseInt(zooms); i++) {
    await p.keyboard.down('w'); await p.waitForTimeout(120); await p.keyboard.up('w');
  }
  await p.waitForTimeout(1500);
  await p.screenshot({ path: out });
  await b.close();
})();
JS
node "$work/shot.js" "file://$work/trace.html" docs/trace-overview.png 425 0
node "$work/shot.js" "file://$work/trace.html" docs/trace-zoom.png 425 8
echo "wrote docs/trace-overview.png and docs/trace-zoom.png"

#!/usr/bin/env bash
# Takes the screenshots the web app manifest shows in Chromium's install dialog
# (public/screenshot-{narrow,wide}.webp): the release binary with demo data, photographed
# by Playwright in Debian's Chromium, converted to WebP with Pillow. Run it again when
# the gallery's look changes; the files are committed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
binary="$root/target/release/atelier"
[[ -x "$binary" ]] || { echo "build first: cargo leptos build --release" >&2; exit 1; }
python3 -c 'import PIL' 2>/dev/null || pip install --quiet pillow

dir="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$dir"' EXIT
cd "$dir"
"$binary" seed-demo --count 60 --seed 7 >/dev/null
"$binary" serve --addr 127.0.0.1:3199 >/dev/null 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:3199/healthz >/dev/null && break; sleep 0.2; done

cd "$root/end2end"
node - "$dir" <<'JS'
const { chromium } = require('playwright');
(async () => {
  const dir = process.argv[2];
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
  const shots = [
    ['narrow', { width: 390, height: 844 }, 2],
    ['wide', { width: 1280, height: 800 }, 1],
  ];
  for (const [name, viewport, scale] of shots) {
    const page = await browser.newPage({ viewport, deviceScaleFactor: scale, colorScheme: 'dark' });
    await page.goto('http://127.0.0.1:3199/');
    await page.locator('body[data-hydrated]').waitFor();
    // The pictures in view, drawn.
    await page.waitForLoadState('networkidle');
    await page.waitForTimeout(500);
    await page.screenshot({ path: `${dir}/${name}.png` });
    await page.close();
  }
  await browser.close();
})();
JS
for name in narrow wide; do
  python3 -c "from PIL import Image; Image.open('$dir/$name.png').convert('RGB').save('$root/public/screenshot-$name.webp', quality=78, method=6)"
done
ls -l "$root"/public/screenshot-*.webp

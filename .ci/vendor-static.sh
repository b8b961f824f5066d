#!/usr/bin/env bash
# Installs the pinned npm packages of static/package.json into a temporary
# folder and copies the built files the portal serves into static/.
# Run by `make vendor`; the result is committed, so builds never need npm.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$root/static/package.json" "$tmp/"
[ -f "$root/static/package-lock.json" ] && cp "$root/static/package-lock.json" "$tmp/"
(cd "$tmp" && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >/dev/null; else npm install --no-audit --no-fund >/dev/null; fi)
cp "$tmp/package-lock.json" "$root/static/package-lock.json"
nm="$tmp/node_modules"
u="$nm/@uswds/uswds/dist"
dst="$root/static/vendor"
rm -rf "$dst"
mkdir -p "$dst/uswds/css" "$dst/uswds/js" "$dst/js" "$root/web/testdata"
cp "$u/css/uswds.min.css" "$dst/uswds/css/"
cp "$u/js/uswds.min.js" "$u/js/uswds-init.min.js" "$dst/uswds/js/"
# Copy only the fonts and images the stylesheet references, plus the banner's.
for f in $(grep -o 'url(\.\./[^)]*)' "$u/css/uswds.min.css" | sed 's/url(\.\.\///; s/)$//' | sort -u) \
         img/us_flag_small.png img/icon-dot-gov.svg img/icon-https.svg img/close.svg; do
  [ -f "$u/$f" ] || continue
  mkdir -p "$dst/uswds/$(dirname "$f")"
  cp "$u/$f" "$dst/uswds/$f"
done
cp "$nm/htmx.org/dist/htmx.min.js" "$dst/js/htmx-2.0.11.min.js"
cp "$nm/htmx-ext-sse/dist/sse.min.js" "$dst/js/htmx-ext-sse-2.2.4.min.js"
cp "$nm/axe-core/axe.min.js" "$root/web/testdata/axe-4.14.1.min.js"
echo "vendored into $dst"

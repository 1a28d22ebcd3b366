#!/usr/bin/env bash
# make audit: Lighthouse (performance, accessibility, best practices) on the
# dashboard's pages, served by bin/karajo with the example jobs on a
# loopback port. Prints one line of scores per page and the audits that
# did not pass; the reports (JSON and HTML) go to bin/audit/.
#
# Lighthouse comes from npm into a cache directory (installed when missing):
#   KARAJO_LIGHTHOUSE_DIR (default ~/.cache/karajo-lighthouse)
# Chromium: CHROME_PATH, else chromium / chromium-browser / google-chrome.
# Port: AUDIT_PORT (default 31938). The example configuration has no
# users, so the pages are public and no session cookie is needed.
# AUDIT_BASE=http://host:port audits a server already running instead
# (with the example jobs) and starts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

lhdir=${KARAJO_LIGHTHOUSE_DIR:-$HOME/.cache/karajo-lighthouse}
lh=$lhdir/node_modules/.bin/lighthouse
if [ ! -x "$lh" ]; then
  echo "audit: installing lighthouse into $lhdir"
  mkdir -p "$lhdir"
  npm install --prefix "$lhdir" --no-audit --no-fund lighthouse >/dev/null
fi
chrome=${CHROME_PATH:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
[ -n "$chrome" ] || { echo "audit: no chromium on PATH (apt-get install chromium)"; exit 1; }
export CHROME_PATH=$chrome

port=${AUDIT_PORT:-31938}
base=${AUDIT_BASE:-http://127.0.0.1:$port}
out=bin/audit
mkdir -p "$out"
if [ -z "${AUDIT_BASE:-}" ]; then
  work=$(mktemp -d)
  cp -r examples/etc "$work/"
  sed -i -e "s|^listen_address = .*|listen_address = \"127.0.0.1:$port\"|" \
    -e "s|^dir_base = .*|dir_base = \"$work\"|" "$work/etc/karajo/karajo.toml"
  ./bin/karajo -config "$work/etc/karajo/karajo.toml" >"$out/karajo.log" 2>&1 &
  pid=$!
  cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"; }
  trap cleanup EXIT
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$base/karajo/api/environment" 2>/dev/null && break
    sleep 0.1
  done
  # Runs to show: failing ones (a log is audited) and a successful one.
  cli() { ./bin/karajo "$@" -url "$base" -secret s3cret; }
  for _ in 1 2 3; do cli run -wait test_fail >/dev/null 2>&1 || true; done
  cli run -wait test_success >/dev/null 2>&1 || true
fi

pages=(
  "list|$base/karajo/app/"
  "log|$base/karajo/job_exec/log/?id=test_fail&counter=1"
)
if [ -f httpapi/ui/app/history/index.html ]; then
  pages+=("history|$base/karajo/app/history/?kind=job_exec&id=test_fail")
fi

fail=0
printf '%-8s %5s %5s %5s %7s  %s\n' page perf a11y best cls url
for p in "${pages[@]}"; do
  name=${p%%|*}
  url=${p#*|}
  "$lh" "$url" --quiet --only-categories=performance,accessibility,best-practices \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu" \
    --output=json --output=html --output-path="$out/$name" >/dev/null 2>"$out/$name.err" ||
    { echo "audit: lighthouse failed on $url (see $out/$name.err)"; fail=1; continue; }
  node scripts/audit-scores.js "$name" "$url" "$out/$name.report.json" || fail=1
done
echo "audit: reports in $out/"
exit $fail

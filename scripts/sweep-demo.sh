#!/usr/bin/env bash
# Builds a small demo share from sample-dumps/ (real dumps holding *test* keys), sweeps it
# twice (a new dump appears and one disappears in between, so the report shows new, known and
# resolved findings) and screenshots the HTML report with headless Chromium into
# docs/sweep-report.png, and its per-key view into docs/sweep-keys.png.
# Usage: scripts/sweep-demo.sh [WORKDIR]  (DUMPGUARD_BIN=path uses that binary, no build)
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-/tmp/dumpguard-sweep-demo}
BIN=${DUMPGUARD_BIN:-}
if [ -z "$BIN" ]; then
  cargo build --release --quiet --bin dumpguard
  BIN=$PWD/target/release/dumpguard
fi
rm -rf "$W" && mkdir -p "$W"/share/{build-farm/host1,build-farm/host2,qa,support}
S=$W/share
cp sample-dumps/test-keys.core "$S/build-farm/host1/worker.core"
cp sample-dumps/clean.dmp "$S/build-farm/host1/idle.dmp"
gzip -c sample-dumps/test-keys.dmp > "$S/build-farm/host2/crash-0412.dmp.gz"
cp sample-dumps/test-keys.core "$S/qa/old-session.core"
python3 - "$S/qa/bundle.zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.write("sample-dumps/test-keys.dmp", "dumps/signer.dmp")
    z.write("sample-dumps/clean.dmp", "dumps/clean.dmp")
PY
head -c 300000 sample-dumps/test-keys.dmp > "$S/qa/cut-short.dmp"
"$BIN" sweep "$S" --state "$W/state.sqlite" --out "$W/night1.jsonl" -q >/dev/null || true
# The next day (a second later here): a new crash arrives, an old one is deleted.
sleep 2
xz -c sample-dumps/test-keys.dmp > "$S/support/ticket-981.dmp.xz"
rm "$S/qa/old-session.core"
"$BIN" sweep "$S" --state "$W/state.sqlite" --out "$W/night2.jsonl" --html "$W/report.html" || true
mkdir -p docs
chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
  --user-data-dir="$(mktemp -d)" --window-size=1280,1500 \
  --screenshot="$PWD/docs/sweep-report.png" "file://$W/report.html" 2>/dev/null
# The per-key view alone: the report with everything above it hidden.
sed 's|</style>|#summary,#table,header{display:none}</style>|' "$W/report.html" > "$W/keys.html"
chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
  --user-data-dir="$(mktemp -d)" --window-size=1280,640 \
  --screenshot="$PWD/docs/sweep-keys.png" "file://$W/keys.html" 2>/dev/null
echo "report: $W/report.html; screenshots: docs/sweep-report.png, docs/sweep-keys.png"

#!/usr/bin/env bash
# Proves a dumpguard binary needs no shared library: it has no dynamic section and no
# interpreter, and it scans a sample dump inside an empty chroot (no /lib, no /etc, no /proc,
# no /tmp) with the expected verdict. Needs root for chroot. Usage: check-static.sh BINARY
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:?usage: check-static.sh BINARY}"
if readelf -lW "$bin" | grep -q 'INTERP'; then
  echo "FAIL: $bin asks for a dynamic loader" >&2; exit 1
fi
if readelf -dW "$bin" | grep -q 'NEEDED'; then
  echo "FAIL: $bin needs shared libraries:" >&2; readelf -dW "$bin" | grep NEEDED >&2; exit 1
fi
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
cp "$bin" "$root/dumpguard"
cp sample-dumps/test-keys.dmp sample-dumps/clean.dmp "$root/"
set +e
chroot "$root" /dumpguard scan --format json /test-keys.dmp >"$root.keys.json"
keys=$?
chroot "$root" /dumpguard scan -q /clean.dmp >/dev/null
clean=$?
set -e
# The summary's count (pretty JSON: findings say `"severity": "critical"`, not this).
crit="$(grep -o '"critical": [0-9]*' "$root.keys.json" | head -1 | grep -o '[0-9]*$' || echo 0)"
rm -f "$root.keys.json"
echo "empty chroot: $(ls "$root" | tr '\n' ' '); size $(stat -c %s "$bin") bytes"
echo "test-keys.dmp: exit $keys, $crit critical findings; clean.dmp: exit $clean"
[ "$keys" = 1 ] && [ "$crit" -gt 0 ] && [ "$clean" = 0 ] || { echo "FAIL" >&2; exit 1; }
echo "OK: runs with no libraries"

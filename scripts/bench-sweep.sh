#!/usr/bin/env bash
# Sweep throughput: a tree of many small dumps against one file of the same bytes, and the
# cost of a second (incremental) sweep. Usage: scripts/bench-sweep.sh [DIR] [COUNT] [SIZE]
# Defaults: 2000 dumps of 512 KiB (1 GiB). Run on a quiet machine; numbers are wall time with
# a warm page cache (each command runs once to warm up, then REPEAT times; the best is kept).
#
# scripts/bench-sweep.sh --tree DIR times a first and a no-op sweep of any existing tree
# instead, e.g. the tests' mixed tree (200+ entries of every format):
#   DUMPGUARD_SWEEP_TREE_OUT=/tmp/mixed cargo test --release --test it -- --ignored sweep::write_mixed_tree
#   scripts/bench-sweep.sh --tree /tmp/mixed
set -euo pipefail
cd "$(dirname "$0")/.."
REPEAT=${REPEAT:-3}

# Wall time of "$@" in seconds, timed with bash's own clock (no `date` process inside the
# measurement: a no-op sweep takes a few milliseconds).
wall() {
  local s e
  s=$EPOCHREALTIME; "$@" >/dev/null 2>&1 || true; e=$EPOCHREALTIME
  echo "$e - $s" | bc -l
}
best() { # best wall time of "$@" over REPEAT runs (after one warm-up)
  "$@" >/dev/null 2>&1 || true
  local b="" t
  for _ in $(seq "$REPEAT"); do
    t=$(wall "$@")
    if [ -z "$b" ] || (( $(echo "$t < $b" | bc -l) )); then b=$t; fi
  done
  echo "$b"
}

if [ "${1:-}" = "--tree" ]; then
  TREE=$(realpath "$2")
  cargo build --release --quiet --example time_sweep --bin dumpguard
  echo "tree: $TREE, $(find "$TREE" -type f | wc -l) files, $(du -sh "$TREE" | cut -f1); $(nproc) CPUs"
  exec target/release/examples/time_sweep "$PWD/target/release/dumpguard" "$TREE"
fi

DIR=${1:-/tmp/dumpguard-sweep-bench}
COUNT=${2:-2000}
SIZE=${3:-524288}
cargo build --release --quiet --example make_sweep_tree --bin dumpguard
BIN=target/release/dumpguard
if [ ! -f "$DIR/big.img" ]; then
  rm -rf "$DIR"
  target/release/examples/make_sweep_tree "$DIR" "$COUNT" "$SIZE"
fi
TOTAL=$((COUNT * SIZE))

rate() { echo "scale=1; $TOTAL / $1 / 1048576" | bc -l; }

single=$(best "$BIN" scan -q --format json "$DIR/big.img")
fresh() { rm -f "$DIR"/state.sqlite*; "$BIN" sweep "$DIR/tree" --state "$DIR/state.sqlite" --out "$DIR/out.jsonl" -q --format json; }
first=$(best fresh)
"$BIN" sweep "$DIR/tree" --state "$DIR/state.sqlite" --out "$DIR/out.jsonl" -q --format json >/dev/null 2>&1 || true
second=$(best "$BIN" sweep "$DIR/tree" --state "$DIR/state.sqlite" --out "$DIR/out.jsonl" -q --format json)

echo "input: $COUNT dumps x $SIZE bytes = $((TOTAL / 1048576)) MiB; $(nproc) CPUs"
echo "single file  dumpguard scan big.img   : ${single} s  ($(rate "$single") MiB/s)"
echo "sweep, fresh state (scans everything): ${first} s  ($(rate "$first") MiB/s)"
echo "sweep, unchanged tree (scans nothing) : ${second} s  ($(echo "scale=0; $first / $second" | bc -l)x faster than the first sweep)"
echo "sweep throughput / single-file throughput: $(echo "scale=2; $single / $first" | bc -l)"

#!/bin/sh
# Runs one fuzz target on stable Rust (see README.md).
# Usage: fuzz/run.sh TARGET [SECONDS] [extra libFuzzer flags...]
set -eu
cd "$(dirname "$0")"
t=$1
secs=${2:-600}
shift
[ $# -gt 0 ] && shift
case $t in
  minidump) dict=minidump ;;
  elf_core) dict=elf ;;
  lime | raw_index) dict=lime ;;
  *) dict=keys ;;
esac
[ -d "corpus/$t" ] || python3 gen_corpus.py
# RUSTC_BOOTSTRAP=1 lets the stable compiler accept the -Z flags cargo-fuzz passes
# (sanitizer, coverage instrumentation). One rayon thread: libFuzzer runs one input at a time.
RUSTC_BOOTSTRAP=1 RAYON_NUM_THREADS=1 exec nice -n 19 cargo fuzz run -O --debug-assertions "$t" "corpus/$t" -- \
  -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
  -max_len=131072 -dict="dicts/$dict.dict" -print_final_stats=1 \
  -fork=1 -ignore_timeouts=1 "$@"

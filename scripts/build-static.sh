#!/usr/bin/env bash
# Builds the statically linked dumpguard to carry into an isolated network: the host's gnu
# toolchain with `crt-static` (glibc linked in; dumpguard does no name lookups, so glibc's
# NSS caveat for static binaries does not apply), the release profile (stripped, thin LTO).
# Prints the binary's path. Then `scripts/check-static.sh` proves it runs with no libraries.
set -euo pipefail
cd "$(dirname "$0")/.."
target="$(rustc -vV | sed -n 's/^host: //p')"
# --target keeps these flags off build scripts and proc-macros, which must stay dynamic.
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
  cargo build --release --locked --target "$target" --bin dumpguard >&2
echo "target/$target/release/dumpguard"

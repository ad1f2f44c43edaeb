#!/usr/bin/env bash
# Runs dumpguard's whole test suite on a fresh machine: installs what the tests use (gdb for
# gcore, a C compiler for the holder process, openssl, compressors, python3 cryptography),
# then runs `cargo test`. Used by `.ci/run` and quoted in the README.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }
missing=()
need gdb || missing+=(gdb)
need gcore || missing+=(gdb)
need cc || missing+=(gcc)
need openssl || missing+=(openssl)
need xz || missing+=(xz-utils)
need bzip2 || missing+=(bzip2)
need gzip || missing+=(gzip)
need puttygen || missing+=(putty-tools)
need gpg || missing+=(gnupg)
need ssh-keygen || missing+=(openssh-client)
# tests/it/real_agents.rs: a real gpg-agent and ssh-agent holding fresh keys.
need gpg-agent || missing+=(gpg-agent)
need gpgconf || missing+=(gpgconf)
need gpg-connect-agent || missing+=(gpgconf)
need ssh-agent || missing+=(openssh-client)
need ssh-add || missing+=(openssh-client)
need chromium || missing+=(chromium)
need script || missing+=(bsdutils)
# tests/it/raw_keys.rs: AES schedules are compared with aeskeyfind's; the Java and node holder
# processes need a JDK and Node.js (on the CI image already, installed here if not).
need aeskeyfind || missing+=(aeskeyfind)
need javac || missing+=(default-jdk-headless)
# tests/it/real_keystores.rs: keytool (the JDK's) makes a PKCS#12 keystore with `changeit`.
need keytool || missing+=(default-jdk-headless)
need node || missing+=(nodejs)
# tests/it/real_ed25519.rs builds a Go holder (Debian 12: Go 1.19, standard library only).
need go || missing+=(golang-go)
# tests/it/real_ec.rs dumps an nginx worker serving TLS.
[ -x /usr/sbin/nginx ] || need nginx || missing+=(nginx)
[ -f /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
# tests/it/text_corpus.rs scans the machine's Python sources, Perl modules and /usr/share/doc.
[ -d /usr/share/perl ] || missing+=(perl)
# tests/it/deploy.rs starts a single-node Slurm cluster (controller, node daemon, munge) and
# submits the shipped array job to it.
for t in slurmctld slurmd sbatch munged mungekey; do
  [ -x "/usr/sbin/$t" ] || need "$t" || { missing+=(slurm-wlm munge); break; }
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "please install: ${missing[*]}" >&2
    exit 1
  fi
fi
python3 -c 'import cryptography' 2>/dev/null || python3 -m pip install -q cryptography
# tests/it/gate_verdicts.rs: a clean python process with ssl + certifi's root store.
python3 -c 'import certifi' 2>/dev/null || python3 -m pip install -q certifi
# tests/it/sarif.rs validates SARIF output against the OASIS schema with python jsonschema.
python3 -c 'import jsonschema' 2>/dev/null || python3 -m pip install -q jsonschema
# tests/it/real_ed25519.rs: a PyNaCl (libsodium) signing key in a python process.
python3 -c 'import nacl.signing' 2>/dev/null || python3 -m pip install -q pynacl
# tests/it/encoded_keys.rs: the holder parses a Kubernetes Secret manifest with PyYAML.
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install -q pyyaml
# tests/it/deploy.rs validates deploy/kubernetes against the Kubernetes OpenAPI schemas.
need kubernetes-validate || python3 -m pip install -q kubernetes-validate

cargo test --locked "$@"

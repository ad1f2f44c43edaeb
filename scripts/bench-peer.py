#!/usr/bin/env python3
"""dumpguard against its peer and its floor (issue #14; README "Benchmark").

    python3 scripts/bench-peer.py [--runs 5] [--scale 1.0] [--synthetic FILE] [--only SET,...] [--readme]

On the same files, alternating run by run so machine load hits every tool alike:
  - YARA-X (PyPI `yara-x`, one thread) with a rule file of the literal private-key markers
    dumpguard also anchors on (benches/peer/markers.yar);
  - the floor: mmap + memchr::memmem on every core (benches/peer/floor.rs);
  - dumpguard `scan --detectors keys`, `scan` (all detectors) and `gate` (what a transfer runs).
Files: a real ≥ 1 GB ELF core of a python process (benches/peer/holder.py: text, random
buffers, copies of shared libraries, many small objects, fresh RSA keys as PEM, as a CNG blob
and as OpenSSL BIGNUMs only), made with gcore on first use and cached under
target/bench-peer/; the synthetic throughput-benchmark dump (`--synthetic FILE`, or generated
once with `cargo bench --bench throughput -- --size 1G --keep` and cached there too); and the
small dumps of issue #14 item 3, made at bench time and cached the same way: a gcore of a
running `openssl s_server` holding a fresh RSA-2048 key (the binary also embeds the seven
`openssl speed` test keys up to 15360 bits), a gcore of a python process holding fresh RSA-4096
and RSA-8192 keys and a 1 MiB random raw file. Last, the sweep
(item 5): 2000 dumps of 512 KiB against one file of the same bytes (examples/make_sweep_tree.rs),
timed alternately with peak RSS and the throughput ratio. `--only python,synthetic,small,sweep`
picks a subset.

Prints median wall time, MB/s, peak RSS and the ratio to YARA-X per tool and file, and checks
that every key planted in the python dump is reported verified with its fingerprint (exit 1
otherwise). With --readme it rewrites the table between the markers in README.md.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "target" / "bench-peer"
RULES = ROOT / "benches" / "peer" / "markers.yar"

YARA_CHILD = r"""
import sys, time, json, resource, yara_x
t0 = time.perf_counter()
rules = yara_x.compile(open(sys.argv[1]).read())
scanner = yara_x.Scanner(rules)
t1 = time.perf_counter()
res = scanner.scan_file(sys.argv[2])
t2 = time.perf_counter()
print(json.dumps({"compile_s": t1 - t0, "scan_s": t2 - t1,
                  "rules": sorted(r.identifier for r in res.matching_rules)}))
"""


# CPU seconds (user + system) of the last child `run` waited for: on a shared machine wall
# time depends on the load, CPU time much less.
LAST_CPU = [0.0]


def run(cmd, stdout=subprocess.DEVNULL):
    """Runs cmd; returns (wall seconds, peak RSS KiB, exit status, stdout bytes)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE)
    out = p.stdout.read() if p.stdout else b""
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    LAST_CPU[0] = usage.ru_utime + usage.ru_stime
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read()
    if p.returncode not in (0, 1):
        sys.exit(f"{cmd}: exit {p.returncode}: {err.decode(errors='replace')[-2000:]}")
    return wall, usage.ru_maxrss, p.returncode, out


def cargo_exe(args, name):
    """Builds a cargo target and returns its executable."""
    out = subprocess.run(
        ["cargo", *args, "--message-format=json"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    for line in out.splitlines():
        m = json.loads(line)
        if m.get("reason") == "compiler-artifact" and m["target"]["name"] == name and m.get("executable"):
            return m["executable"]
    sys.exit(f"no executable for {name}")


def python_dump(scale):
    """The cached gcore of a holder process, and the fingerprints of its keys."""
    CACHE.mkdir(parents=True, exist_ok=True)
    core, meta = CACHE / f"python-{scale}.core", CACHE / f"python-{scale}.json"
    if core.exists() and meta.exists():
        return core, json.loads(meta.read_text())
    holder = subprocess.Popen(
        [sys.executable, str(ROOT / "benches" / "peer" / "holder.py"), str(scale)],
        stdout=subprocess.PIPE,
    )
    try:
        keys = json.loads(holder.stdout.readline())
        assert holder.stdout.readline().strip() == b"READY"
        prefix = CACHE / "gcore"
        subprocess.run(["gcore", "-o", str(prefix), str(holder.pid)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.rename(f"{prefix}.{holder.pid}", core)
    finally:
        holder.kill()
        holder.wait()
    meta.write_text(json.dumps(keys))
    return core, keys


# ---- small dumps (issue #14 item 3) -------------------------------------------------------
# Each maker returns (core path, {how: fingerprint}) and caches its dump under CACHE, like
# python_dump. Keys are generated per cache: no secret is committed or reused across caches.

RSA_HOLDER = r"""
import hashlib, json, sys, time
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
def fp(k):
    der = k.public_key().public_bytes(serialization.Encoding.DER,
                                      serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()
k4 = rsa.generate_private_key(public_exponent=65537, key_size=4096)
k8 = rsa.generate_private_key(public_exponent=65537, key_size=8192)
pems = [k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption()) for k in (k4, k8)]
print(json.dumps({"RSA-4096 PEM": fp(k4), "RSA-8192 PEM": fp(k8)}), flush=True)
print("READY", flush=True)
while True:
    time.sleep(60)
"""


def gcore_of(pid, core):
    """gcore of a running process, renamed to `core`."""
    prefix = CACHE / "gcore"
    subprocess.run(["gcore", "-o", str(prefix), str(pid)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.rename(f"{prefix}.{pid}", core)


def cached(name):
    """(core path, meta path, cached keys or None) for a small dump called `name`."""
    CACHE.mkdir(parents=True, exist_ok=True)
    core, meta = CACHE / f"{name}.core", CACHE / f"{name}.json"
    if core.exists() and meta.exists():
        return core, meta, json.loads(meta.read_text())
    return core, meta, None


def s_server_dump():
    """A gcore of `openssl s_server` serving a fresh RSA-2048 key and certificate."""
    core, meta, keys = cached("s_server")
    if keys is not None:
        return core, keys
    import socket
    import tempfile
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        key, cert = Path(tmp) / "key.pem", Path(tmp) / "cert.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                        "-out", str(cert), "-subj", "/CN=dumpguard-bench", "-days", "1"],
                       check=True, capture_output=True)
        spki = subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout", "-outform", "DER"],
                              check=True, capture_output=True).stdout
        import hashlib
        keys = {"s_server RSA-2048": "sha256:" + hashlib.sha256(spki).hexdigest()}
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}",
                                   "-key", str(key), "-cert", str(cert)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            for line in server.stdout:
                if line.startswith(b"ACCEPT"):
                    break
            else:
                sys.exit("openssl s_server did not start")
            # The key file goes; the key stays only in the process.
            key.unlink()
            gcore_of(server.pid, core)
        finally:
            server.kill()
            server.wait()
    meta.write_text(json.dumps(keys))
    return core, keys


def rsa_big_dump():
    """A gcore of a python process holding fresh RSA-4096 and RSA-8192 keys (objects and PEM)."""
    core, meta, keys = cached("rsa-4096-8192")
    if keys is not None:
        return core, keys
    holder = subprocess.Popen([sys.executable, "-c", RSA_HOLDER], stdout=subprocess.PIPE)
    try:
        keys = json.loads(holder.stdout.readline())
        assert holder.stdout.readline().strip() == b"READY"
        gcore_of(holder.pid, core)
    finally:
        holder.kill()
        holder.wait()
    meta.write_text(json.dumps(keys))
    return core, keys


def random_mib():
    """1 MiB of random bytes as a raw image: the scan's fixed per-dump cost, nothing to prove."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / "random-1m.raw"
    if not path.exists():
        path.write_bytes(os.urandom(1 << 20))
    return path


def synthetic_dump(size):
    """The throughput benchmark's generated minidump of `size` (e.g. 1G, 1M), cached."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"synthetic-{size}.dmp"
    if path.exists():
        return path
    out = subprocess.run(["cargo", "bench", "--bench", "throughput", "--", "--size", size, "--keep",
                          "--runs", "1", "--per-kind-size", "0", "--dir", str(CACHE)],
                         cwd=ROOT, capture_output=True, text=True).stdout  # its own checks print; the dump is kept either way
    m = re.search(r"generated (\S+) \(", out)
    if not m:
        sys.exit(f"throughput benchmark printed no dump path:\n{out}")
    kept = Path(m.group(1))
    os.rename(kept, path)
    try:
        kept.parent.rmdir()
    except OSError:
        pass
    return path


def small_files():
    """The small dumps of item 3, as (name, path, planted keys or None)."""
    s_core, s_keys = s_server_dump()
    r_core, r_keys = rsa_big_dump()
    return [
        ("openssl s_server core", s_core, s_keys),
        ("RSA-4096 + RSA-8192 core", r_core, r_keys),
        ("1 MiB random raw", random_mib(), None),
    ]


# ---- sweep (issue #14 item 5) ---------------------------------------------------------------

def sweep_bench(dg, runs, count=2000, size=512 << 10):
    """Sweep of `count` dumps of `size` bytes against `scan` of one file of the same bytes,
    alternating; returns table rows. A fresh state every sweep, so every dump is scanned."""
    tree = CACHE / f"sweep-{count}x{size}"
    if not (tree / "big.img").exists():
        maker = cargo_exe(["build", "--release", "--example", "make_sweep_tree"], "make_sweep_tree")
        subprocess.run([maker, str(tree), str(count), str(size)], check=True, stdout=subprocess.DEVNULL)
    total = count * size
    state, out = tree / "state.sqlite", tree / "out.jsonl"
    tools = {
        "dumpguard scan of one file (same bytes)": [dg, "scan", "-q", "--format", "json", str(tree / "big.img")],
        f"dumpguard sweep of {count} dumps": [dg, "sweep", str(tree / "tree"), "--state", str(state),
                                             "--out", str(out), "-q", "--format", "json"],
    }
    times = {t: [] for t in tools}
    cpu = {t: [] for t in tools}
    rss = {t: 0 for t in tools}
    print(f"sweep: {count} dumps x {size} bytes ({total / 2**20:.0f} MiB)")
    for _ in range(runs):
        for t, cmd in tools.items():
            for f in tree.glob("state.sqlite*"):
                f.unlink()
            wall, kb, _, _ = run(cmd)
            times[t].append(wall)
            cpu[t].append(LAST_CPU[0])
            rss[t] = max(rss[t], kb)
    single, sweep = (statistics.median(v) for v in times.values())
    single_cpu, sweep_cpu = (statistics.median(v) for v in cpu.values())
    print(f"    sweep throughput / single-file throughput: {single / sweep:.2f} wall, "
          f"{single_cpu / sweep_cpu:.2f} CPU")
    rows = []
    for t in tools:
        med = statistics.median(times[t])
        rows.append(("sweep tree", t, med, total / med / 1e6, rss[t] / 1024, single / med,
                     min(times[t]), max(times[t]), statistics.median(cpu[t])))
    return rows


def check_keys(report_json, keys, name):
    report = json.loads(report_json)
    ok = True
    for how, fp in keys.items():
        hits = [f for f in report["findings"] if f.get("fingerprint") == fp and f.get("verified")]
        print(f"    {name}: key as {how}: {len(hits)} verified finding(s) "
              f"({', '.join(sorted({f['detector'] for f in hits}))})")
        ok &= bool(hits)
    return ok


def measure(files, tools, runs):
    """Runs every tool on every file, alternating run by run; returns table rows and whether
    every planted key was reported verified."""
    ok = True
    rows = []
    for name, path, planted in files:
        size = path.stat().st_size
        print(f"{name}: {path} ({size / 2**20:.1f} MiB)")
        times = {t: [] for t in tools}
        cpu = {t: [] for t in tools}
        rss = {t: 0 for t in tools}
        for i in range(runs):
            for t, cmd in tools.items():
                wall, kb, rc, out = run(cmd(path), stdout=subprocess.PIPE)
                cpu[t].append(LAST_CPU[0])
                if t.startswith("YARA"):
                    wall = json.loads(out)["scan_s"]
                elif t.startswith("mmap"):
                    wall = json.loads(out)["wall_s"]
                times[t].append(wall)
                rss[t] = max(rss[t], kb)
                if i == 0 and planted and t == "dumpguard scan (all detectors)":
                    ok &= check_keys(out, planted, name)
                if i == 0 and planted and t == "dumpguard gate":
                    m = re.search(rb'"verdict"\s*:\s*"?([A-Z_]+)', out)
                    print(f"    gate verdict: {m.group(1).decode() if m else 'not found'}")
        yara = statistics.median(times["YARA-X (1 thread, scan only)"])
        for t in tools:
            med = statistics.median(times[t])
            rows.append((name, t, med, size / med / 1e6, rss[t] / 1024, yara / med,
                         min(times[t]), max(times[t]), statistics.median(cpu[t])))
    return rows, ok


def table(rows, ratio, small):
    """Markdown table; seconds as ms where `small`."""
    fmt = (lambda x: f"{x * 1000:.1f} ms") if small else (lambda x: f"{x:.3f} s")
    rng = (lambda lo, hi: f"{lo * 1000:.1f}–{hi * 1000:.1f} ms") if small else (lambda lo, hi: f"{lo:.3f}–{hi:.3f} s")
    out = [f"| file | tool | median wall | MB/s | peak RSS | {ratio} | range | median CPU (child) |",
           "|---|---|---|---|---|---|---|---|"]
    for name, t, med, mbs, mib, r, lo, hi, cpu in rows:
        out.append(f"| {name} | {t} | {fmt(med)} | {mbs:.0f} | {mib:.0f} MiB | {r:.2f} | {rng(lo, hi)} | {fmt(cpu)} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--small-runs", type=int, default=15, help="runs on each small dump")
    ap.add_argument("--scale", type=float, default=1.0, help="python dump size factor (1.0 ≈ 1.4 GB)")
    ap.add_argument("--synthetic", type=Path, help="the throughput benchmark's dump (default: generated, 1 GiB)")
    ap.add_argument("--only", default="python,synthetic,small,sweep",
                    help="comma-separated subset of python,synthetic,small,sweep")
    ap.add_argument("--readme", action="store_true", help="rewrite README.md's peer table")
    a = ap.parse_args()
    only = set(a.only.split(","))

    dg = cargo_exe(["build", "--release", "--bin", "dumpguard"], "dumpguard")
    floor = cargo_exe(["bench", "--bench", "floor", "--no-run"], "floor")
    files = []
    if "python" in only:
        core, keys = python_dump(a.scale)
        files.append(("python core", core, keys))
    if "synthetic" in only:
        files.append(("synthetic minidump", a.synthetic or synthetic_dump("1G"), None))

    tools = {
        "YARA-X (1 thread, scan only)": lambda f: ["python3", "-c", YARA_CHILD, str(RULES), str(f)],
        "mmap + memchr (floor)": lambda f: [floor, str(f)],
        "dumpguard scan --detectors keys": lambda f: [dg, "scan", "-q", "--format", "json", "--detectors", "keys", str(f)],
        "dumpguard scan (all detectors)": lambda f: [dg, "scan", "-q", "--format", "json", str(f)],
        "dumpguard gate": lambda f: [dg, "gate", str(f)],
    }
    rows, ok = measure(files, tools, a.runs)
    # Each part has its own table in README.md, between its own markers, so a run of a
    # subset (--only) rewrites only what it measured.
    tables = {}
    if rows:
        tables["peer-table"] = table(rows, "× YARA-X speed", False)
    if "small" in only:
        small_rows, small_ok = measure(small_files(), tools, a.small_runs)
        ok &= small_ok
        tables["small-table"] = table(small_rows, "× YARA-X speed", True)
    if "sweep" in only:
        tables["sweep-table"] = table(sweep_bench(dg, a.runs), "× one-file speed", False)
    print("\n\n".join(tables.values()))
    if a.readme:
        readme = ROOT / "README.md"
        s = readme.read_text()
        load = os.getloadavg()
        for marker, text in tables.items():
            stamp = (f"<!-- {marker}: generated by scripts/bench-peer.py --runs {a.runs} "
                     f"--small-runs {a.small_runs} --only {a.only}, {time.strftime('%Y-%m-%d')}, "
                     f"{os.cpu_count()} cores, load average {load[0]:.1f} -->")
            s, n = re.subn(rf"<!-- {marker}:.*?-->\n.*?<!-- /{marker} -->",
                           lambda _: stamp + "\n" + text + f"\n<!-- /{marker} -->", s, flags=re.S)
            if n != 1:
                sys.exit(f"README.md has no {marker} markers")
        readme.write_text(s)
    if not ok:
        print("a planted key was not found verified", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""dumpguard against its peer and its floor (issue #14; README "Benchmark").

    python3 scripts/bench-peer.py [--runs 5] [--scale 1.0] [--synthetic FILE] [--readme]

On the same files, alternating run by run so machine load hits every tool alike:
  - YARA-X (PyPI `yara-x`, one thread) with a rule file of the literal private-key markers
    dumpguard also anchors on (benches/peer/markers.yar);
  - the floor: mmap + memchr::memmem on every core (benches/peer/floor.rs);
  - dumpguard `scan --detectors keys`, `scan` (all detectors) and `gate` (what a transfer runs).
Files: a real ≥ 1 GB ELF core of a python process (benches/peer/holder.py: text, random
buffers, copies of shared libraries, many small objects, fresh RSA keys as PEM, as a CNG blob
and as OpenSSL BIGNUMs only), made with gcore on first use and cached under
target/bench-peer/; and the synthetic throughput-benchmark dump (`--synthetic FILE`, e.g. one
kept by `cargo bench --bench throughput -- --size 1G --keep`).

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


def run(cmd, stdout=subprocess.DEVNULL):
    """Runs cmd; returns (wall seconds, peak RSS KiB, exit status, stdout bytes)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE)
    out = p.stdout.read() if p.stdout else b""
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
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


def check_keys(report_json, keys, name):
    report = json.loads(report_json)
    ok = True
    for how, fp in keys.items():
        hits = [f for f in report["findings"] if f.get("fingerprint") == fp and f.get("verified")]
        print(f"    {name}: key as {how}: {len(hits)} verified finding(s) "
              f"({', '.join(sorted({f['detector'] for f in hits}))})")
        ok &= bool(hits)
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--scale", type=float, default=1.0, help="python dump size factor (1.0 ≈ 1.4 GB)")
    ap.add_argument("--synthetic", type=Path, help="the throughput benchmark's dump")
    ap.add_argument("--readme", action="store_true", help="rewrite README.md's peer table")
    a = ap.parse_args()

    dg = cargo_exe(["build", "--release", "--bin", "dumpguard"], "dumpguard")
    floor = cargo_exe(["bench", "--bench", "floor", "--no-run"], "floor")
    files = []
    core, keys = python_dump(a.scale)
    files.append(("python core", core, keys))
    if a.synthetic:
        files.append(("synthetic minidump", a.synthetic, None))

    tools = {
        "YARA-X (1 thread, scan only)": lambda f: ["python3", "-c", YARA_CHILD, str(RULES), str(f)],
        "mmap + memchr (floor)": lambda f: [floor, str(f)],
        "dumpguard scan --detectors keys": lambda f: [dg, "scan", "-q", "--format", "json", "--detectors", "keys", str(f)],
        "dumpguard scan (all detectors)": lambda f: [dg, "scan", "-q", "--format", "json", str(f)],
        "dumpguard gate": lambda f: [dg, "gate", str(f)],
    }
    ok = True
    rows = []
    for name, path, planted in files:
        size = path.stat().st_size
        print(f"{name}: {path} ({size / 2**20:.0f} MiB)")
        times = {t: [] for t in tools}
        rss = {t: 0 for t in tools}
        for i in range(a.runs):
            for t, cmd in tools.items():
                wall, kb, rc, out = run(cmd(path), stdout=subprocess.PIPE)
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
                         min(times[t]), max(times[t])))
    table = ["| file | tool | median wall | MB/s | peak RSS | × YARA-X speed | range |",
             "|---|---|---|---|---|---|---|"]
    for name, t, med, mbs, mib, ratio, lo, hi in rows:
        table.append(f"| {name} | {t} | {med:.3f} s | {mbs:.0f} | {mib:.0f} MiB | {ratio:.2f} | {lo:.3f}–{hi:.3f} s |")
    text = "\n".join(table)
    print(text)
    if a.readme:
        readme = ROOT / "README.md"
        s = readme.read_text()
        stamp = (f"<!-- peer-table: generated by scripts/bench-peer.py --runs {a.runs}, "
                 f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores -->")
        new, n = re.subn(r"<!-- peer-table:.*?-->\n.*?<!-- /peer-table -->",
                         lambda _: stamp + "\n" + text + "\n<!-- /peer-table -->", s, flags=re.S)
        if n != 1:
            sys.exit("README.md has no peer-table markers")
        readme.write_text(new)
    if not ok:
        print("a planted key was not found verified", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Checks that the library's modules import only downwards, and that no modules import each other
in a circle.

The layers, from the bottom up (README "Layout"):

    input, output -> encoding -> keys -> report -> rules -> detect -> scan -> gate -> sweep -> schema

A file of module M may name `crate::N` only when N sits in M's layer or below; the binary
(src/main.rs, src/cli/) sits above them all and may use anything. Inside one module
the files (submodules) must not form a circle of references either (`super::x`, `crate::m::x`,
`self::x`). Only `use` lines and inline paths in code are read: comments, strings and inline
`#[cfg(test)]` modules are ignored. Library files must not print to the terminal, exit, or use
clap or indicatif either: that is the binary's job.

Exit 0 when the order holds, 1 with one line per violation otherwise. Run from anywhere:
`python3 scripts/check-layers.py [SRC_DIR]` (default: this repository's src/).
"""

import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")

# Lower index = lower layer. Modules on one line share a layer (they may use each other, but
# the circle check below still applies between their files).
LAYERS = [
    ["input", "output"],
    ["encoding"],
    ["keys"],
    ["report"],
    ["rules"],
    ["detect"],
    ["scan"],
    ["gate"],
    ["sweep"],
    ["schema"],
]
LAYER = {m: i for i, names in enumerate(LAYERS) for m in names}
BINARY = {"main", "cli"}
# What only the binary may do: print to the terminal, exit, parse arguments, draw progress bars.
TERMINAL = re.compile(
    r"\b(?:e?print(?:ln)?!|process::exit|clap(?:_\w+)?::|indicatif::|use\s+(?:clap|indicatif)\b"
    r"|stdout\(\)|stderr\(\))"
)


def strip_comments_and_strings(text):
    """Removes // and /* */ comments and string/char literals, keeping line structure."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    if text[i] == "\n":
                        out.append("\n")
                    i += 1
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'r(#*)"', text[i:])
            end = text.find('"' + m.group(1), i + len(m.group(0)))
            end = n if end < 0 else end + 1 + len(m.group(1))
            out.append('""' + "\n" * text.count("\n", i, end))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4] + "    "):
            # A char literal ('x', '\n'); lifetimes ('a) are left alone.
            m = re.match(r"'(\\[^']*|[^\\'])'", text[i:])
            if m:
                out.append("' '")
                i += len(m.group(0))
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def drop_test_modules(code):
    """Removes each inline `#[cfg(test)] mod name { … }` block (braces matched; comments and
    strings are already gone), keeping the lines so reported line numbers stay right."""
    while True:
        m = re.search(r"#\[cfg\(test\)\]\s*(pub\s+)?mod\s+\w+\s*\{", code)
        if not m:
            return code
        depth, j = 1, m.end()
        while j < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[j], 0)
            j += 1
        code = code[:m.start()] + "\n" * code.count("\n", m.start(), j) + code[j:]


def expand_use_groups(code):
    """`use crate::{a::x, b}` -> `crate::a::x crate::b` (one level of braces is enough here,
    nested groups are expanded recursively)."""
    def expand(prefix, body):
        parts, depth, cur = [], 0, ""
        for ch in body:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += ch
        parts.append(cur)
        paths = []
        for p in parts:
            p = p.strip()
            if not p:
                continue
            m = re.match(r"^([\w:]*)\{(.*)\}$", p, re.S)
            if m:
                paths += expand(prefix + m.group(1), m.group(2))
            else:
                paths.append(prefix + p)
        return paths

    result = []
    for m in re.finditer(r"\buse\s+((?:crate|super|self)(?:::\w+)*)::\{", code):
        start = m.end()
        depth, j = 1, start
        while j < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[j], 0)
            j += 1
        result += expand(m.group(1) + "::", code[start:j - 1])
    return " ".join(result)


def module_files():
    for dirpath, _, files in os.walk(ROOT):
        for f in files:
            if f.endswith(".rs"):
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, ROOT)
                yield rel, path


def module_path(rel):
    """src-relative file -> its module path: input/le.rs -> [input, le]; detect/mod.rs ->
    [detect]; lib.rs -> []."""
    parts = rel[:-3].split(os.sep)
    if parts[-1] == "mod":
        parts = parts[:-1]
    if parts == ["lib"]:
        return []
    return parts


def main():
    problems = []
    edges = {}  # file module path (tuple) -> set of referenced module paths (tuples)
    files = {}
    reported = set()  # (file, target): one line per file and module it must not use
    for rel, path in sorted(module_files()):
        mp = module_path(rel)
        if not mp or mp[0] in BINARY:
            continue
        code = strip_comments_and_strings(open(path, encoding="utf-8").read())
        # Unit tests may reach up (a detector's test runs the whole engine): the order binds
        # the code that ships, so an inline `#[cfg(test)] mod …` from its start on is left out.
        code = drop_test_modules(code)
        # The library knows nothing of the command line (README "The library and the command
        # line"): it returns outcomes and hands text to writers and observers; only the binary
        # parses arguments, prints to the terminal and exits.
        for m in TERMINAL.finditer(code):
            line = code.count("\n", 0, m.start()) + 1
            problems.append(
                f"src/{rel}:{line}: `{m.group(0).strip()}` in the library: arguments, terminal "
                f"output and exit codes belong to src/cli/"
            )
        text = code + " " + expand_use_groups(code)
        files[tuple(mp)] = rel
        top = mp[0]
        refs = set()
        for m in re.finditer(r"\bcrate::(\w+)((?:::\w+)*)", text):
            target = m.group(1)
            if target in LAYER and target != top:
                if LAYER[target] > LAYER.get(top, -1) and (rel, target) not in reported:
                    reported.add((rel, target))
                    line = code.count("\n", 0, min(m.start(), len(code))) + 1 if m.start() < len(code) else "use"
                    problems.append(
                        f"src/{rel}:{line}: `{top}` (layer {LAYER.get(top)}) uses `crate::{target}` "
                        f"(layer {LAYER[target]}): imports must point down"
                    )
            if target == top:
                rest = [p for p in m.group(2).split("::") if p]
                refs.add(tuple([top] + rest[:1]))
        # `super::x` from a submodule file names a sibling; from a mod.rs it names the parent.
        is_mod_rs = os.path.basename(rel) == "mod.rs"
        base = mp if is_mod_rs else mp[:-1]
        for m in re.finditer(r"\bsuper::(\w+)", text):
            refs.add(tuple(base[:-1] + [m.group(1)]) if is_mod_rs else tuple(base + [m.group(1)]))
        for m in re.finditer(r"\bself::(\w+)", text):
            if is_mod_rs:
                refs.add(tuple(mp + [m.group(1)]))
        edges[tuple(mp)] = {r for r in refs if r != tuple(mp)}

    # Circles between files: only edges to other files of the same parent module count (a file
    # naming its parent module's items is how Rust modules work, not a circle).
    known = set(files)
    graph = {}
    for src, targets in edges.items():
        graph[src] = {t for t in targets if t in known and len(t) > 1 and len(src) > 1 and t[:-1] == src[:-1] and t != src}
    seen, stack, on_stack, cycles = set(), [], set(), []

    def visit(node):
        seen.add(node)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in on_stack:
                cyc = stack[stack.index(nxt):] + [nxt]
                cycles.append(" -> ".join("::".join(c) for c in cyc))
            elif nxt not in seen:
                visit(nxt)
        stack.pop()
        on_stack.discard(node)

    for node in sorted(graph):
        if node not in seen:
            visit(node)
    for c in cycles:
        problems.append(f"circle between modules: {c}")

    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} layer problem(s)", file=sys.stderr)
        return 1
    print(f"layers: {len(files)} library files import only downwards, no circles")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Map which files of a crate use which (by `crate::`, `super::`, `self::` and child-module
paths, test code left out) and print the cycles (strongly connected groups of files).

    python3 scripts/modgraph.py rules/src [ingest/src/parse]   # second argument: only files under it
    python3 scripts/modgraph.py --long ingest/src rules/src    # functions over 120 lines

Exits 1 when a cycle (or, with --long, a long function) is found.
"""
import os
import re
import sys

PATH = re.compile(r"\b((?:crate|super|self)(?:::(?:super|[A-Za-z_][A-Za-z0-9_]*))+)")
USE = re.compile(r"\buse\s+([^;]+);", re.S)
MOD = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+([a-z_][a-z0-9_]*)\s*;", re.M)


def strip_tests(text):
    """Drop comments and `#[cfg(test)]` items (a test module runs to the end of its braces)."""
    text = re.sub(r"//[^\n]*", "", text)
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*", text):
        if m.start() < i:
            continue
        out.append(text[i : m.start()])
        j = m.end()
        semi, brace = text.find(";", j), text.find("{", j)
        if brace == -1 or (semi != -1 and semi < brace):
            i = semi + 1
            continue
        depth, k = 0, brace
        while k < len(text):
            if text[k] == "{":
                depth += 1
            elif text[k] == "}":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        i = k + 1
    out.append(text[i:])
    return "".join(out)


def modules(root):
    files = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            if not n.endswith(".rs"):
                continue
            f = os.path.join(dirpath, n)
            rel = os.path.relpath(f, root)[:-3].split(os.sep)
            if rel[-1] in ("lib", "main", "mod"):
                rel = rel[:-1]
            if rel and rel[-1] == "tests":
                continue
            files[tuple(["crate"] + rel)] = f
    return files


def expand_use(body):
    """`a::{b, c::{d}}` -> [a::b, a::c::d]."""
    body = re.sub(r"\s+", "", body)
    m = re.search(r"\{", body)
    if not m:
        return [body]
    prefix, depth, parts, cur = body[: m.start()], 0, [], ""
    for ch in body[m.start() + 1 : -1]:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    parts.append(cur)
    return [x for p in parts if p for x in expand_use(prefix + p)]


def edges(files):
    graph = {m: set() for m in files}
    for mod, f in files.items():
        text = strip_tests(open(f, encoding="utf-8").read())
        children = set(MOD.findall(text))
        paths = []
        for u in USE.findall(text):
            paths += expand_use(u)
        paths += PATH.findall(text)
        for c in children:
            paths += re.findall(r"(?<![:\w])" + c + r"(?:::\w+)+", text)
        for p in paths:
            segs = [s for s in p.split("::") if s]
            if not segs:
                continue
            if segs[0] == "crate":
                cur = ["crate"]
            elif segs[0] in ("self", "super"):
                cur = list(mod)
            elif segs[0] in children:
                cur = list(mod)
            else:
                continue
            rest = segs[1:] if segs[0] in ("crate", "self") else segs
            for s in rest:
                if s == "super":
                    cur = cur[:-1]
                elif s == "self":
                    continue
                else:
                    cur.append(s)
            while tuple(cur) not in files and len(cur) > 1:
                cur = cur[:-1]
            target = tuple(cur)
            if target in files and target != mod:
                graph[mod].add(target)
    return graph


def sccs(graph):
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def long_fns(path, limit=120):
    """Functions (outside test code) whose body from `fn` to its closing brace passes `limit`."""
    found = []
    lines = open(path, encoding="utf-8").read().split("\n")
    text = "\n".join(lines)
    kept = strip_tests(text)
    if kept != re.sub(r"//[^\n]*", "", text):
        cut = text.find("#[cfg(test)]")
        lines = lines[: text[:cut].count("\n")] if cut >= 0 else lines
    if os.path.basename(path) == "tests.rs":
        return found
    fn = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?fn\s+(\w+)")
    for i, line in enumerate(lines):
        m = fn.match(line)
        if not m:
            continue
        depth, started = 0, False
        for j in range(i, len(lines)):
            s = re.sub(r"//.*", "", lines[j])
            s = re.sub(r"'(?:\\.|[^'\\])'", "", s)
            s = re.sub(r'"(?:\\.|[^"\\])*"', "", s)
            if not started and ";" in s and "{" not in s:
                break
            depth += s.count("{") - s.count("}")
            started = started or "{" in s
            if started and depth <= 0:
                if j - i + 1 > limit:
                    found.append((path, i + 1, m.group(1), j - i + 1))
                break
    return found


def main(argv):
    if argv and argv[0] == "--long":
        found = []
        for root in argv[1:]:
            for dirpath, _, names in os.walk(root):
                for n in sorted(names):
                    if n.endswith(".rs") and "/tests" not in dirpath and "/benches" not in dirpath:
                        found += long_fns(os.path.join(dirpath, n))
        for path, line, name, count in found:
            print(f"{path}:{line}: fn {name}: {count} lines")
        return 1 if found else 0
    root = argv[0]
    only = argv[1] if len(argv) > 1 else root
    files = modules(root)
    graph = edges(files)
    name = lambda m: os.path.relpath(files[m], ".")
    cycles = [c for c in sccs(graph) if all(files[m].startswith(only) for m in c)]
    for comp in cycles:
        print("cycle: " + ", ".join(name(m) for m in comp))
        for m in comp:
            inside = sorted(name(t) for t in graph[m] if t in comp)
            print(f"  {name(m)} -> {', '.join(inside)}")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

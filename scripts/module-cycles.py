#!/usr/bin/env python3
"""Fails when a module of a crate imports a module that (directly or through others)
imports it back. Usage: scripts/module-cycles.py CRATE_SRC_DIR...

A module is a file (`foo.rs` or `foo/mod.rs`). An import is any path the code names:
`use crate::a::b`, `crate::a::b::f()`, `super::x`, `self::x`, or a child module named at
the start of a `use` in its parent. `mod x;` declarations are not imports, and neither is
a file's inline test module (`#[cfg(test)] mod tests`, at the end by this codebase's
convention), whose `super` is the file itself.
"""

import re
import sys
from pathlib import Path

PATH = re.compile(r"\b(crate|super|self)((?:::\w+)+)")
USE_CHILD = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+(\w+)::", re.M)
TESTS = re.compile(r"#\[cfg\(test\)\]\s*mod tests\b")


def module_of(src: Path, file: Path) -> tuple:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def code_of(file: Path) -> str:
    text = file.read_text()
    cut = TESTS.search(text)
    if cut:
        text = text[: cut.start()]
    # Comments name paths in prose; they import nothing.
    return re.sub(r"//[^\n]*", "", text)


INLINE_MOD = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*\{")


def lines_in_modules(code: str):
    """Each line with the inline modules (`mod x { … }`) it stands in."""
    stack, depth = [], 0
    for line in code.splitlines():
        opened = INLINE_MOD.match(line)
        if opened:
            stack.append((opened.group(1), depth))
        yield tuple(name for name, _ in stack), line
        depth += line.count("{") - line.count("}")
        while stack and depth <= stack[-1][1]:
            stack.pop()


def crate_graph(src: Path) -> dict:
    files = {module_of(src, f): f for f in src.rglob("*.rs")}
    modules = set(files)

    def resolve(path: tuple) -> tuple | None:
        for n in range(len(path), -1, -1):
            if path[:n] in modules:
                return path[:n]
        return None

    graph = {m: set() for m in modules}
    for module, file in files.items():
        targets = []
        for inline, line in lines_in_modules(code_of(file)):
            here = module + inline
            for root, rest in PATH.findall(line):
                names = tuple(rest.split("::")[1:])
                if root == "crate":
                    base = ()
                elif root == "self":
                    base = here
                else:
                    base = here[:-1]
                    while names and names[0] == "super":
                        base, names = base[:-1], names[1:]
                # An inline module belongs to its file.
                targets.append(base + names)
            for child in USE_CHILD.findall(line):
                targets.append(here + (child,))
        for target in targets:
            found = resolve(target)
            if found is not None and found != module:
                graph[module].add(found)
    return graph


def cycles(graph: dict) -> list:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    failed = False
    for arg in sys.argv[1:]:
        src = Path(arg)
        graph = crate_graph(src)
        for component in cycles(graph):
            failed = True
            names = ["::".join(("crate",) + m) for m in component]
            print(f"{src}: import loop among {', '.join(names)}")
            for m in component:
                back = sorted("::".join(("crate",) + t) for t in graph[m] if t in component)
                print(f"  {'::'.join(('crate',) + m)} imports {', '.join(back)}")
        print(f"{src}: {len(graph)} modules checked")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

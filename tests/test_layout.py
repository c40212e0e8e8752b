"""The house's layout: no import circle in the Python package (module-level or inside functions),
small rooms (no source file over ~600 lines), and an engine crate with no Python in it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "python" / "perpsim"
LIMIT = 620  # "~600 lines"


def modules():
    out = {}
    for p in PACKAGE.rglob("*.py"):
        parts = p.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


def import_graph():
    mods = modules()
    graph = {m: set() for m in mods}
    for m, p in mods.items():
        pkg = m if p.name == "__init__.py" else m.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(p.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom):
                base = pkg.split(".")[: len(pkg.split(".")) - max(node.level - 1, 0)] if node.level else []
                target = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module or ""
                targets = [target] + [f"{target}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            graph[m] |= {t for t in targets if t in mods and t not in (m, "perpsim")}
    return graph


def test_the_package_has_no_import_circle():
    graph = import_graph()
    assert len(graph) > 20
    done, active = set(), []

    def visit(n):
        if n in active:
            raise AssertionError("import circle: " + " -> ".join(active[active.index(n) :] + [n]))
        if n in done:
            return
        active.append(n)
        for t in sorted(graph[n]):
            visit(t)
        active.pop()
        done.add(n)

    for m in sorted(graph):
        visit(m)


def test_no_source_file_is_over_about_600_lines():
    files = [
        p for d in ("python", "rust", "tests", "benches") for p in (ROOT / d).rglob("*") if p.suffix in (".py", ".rs")
    ]
    files = [p for p in files if "target" not in p.parts]
    assert len(files) > 50
    big = {str(p.relative_to(ROOT)): n for p in files if (n := len(p.read_text().splitlines())) > LIMIT}
    assert not big, big


def test_the_engine_crate_has_no_python_in_it():
    toml = (ROOT / "rust" / "engine" / "Cargo.toml").read_text()
    assert "pyo3" not in toml and "numpy" not in toml
    for p in (ROOT / "rust" / "engine" / "src").rglob("*.rs"):
        assert "pyo3" not in p.read_text(), p

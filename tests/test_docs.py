"""Every Python block of the documentation runs as written: the blocks of a page in order, in one
namespace (as a reader runs them), in a scratch directory. A block whose first line is
``# needs: <module>`` runs when that module is installed (a cluster library this machine lacks)
and is reported as skipped otherwise. The site itself is built with ``mkdocs build --strict`` by
.ci/run."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(p.name for p in DOCS.glob("*.md") if "```python" in p.read_text())


def blocks(name):
    return re.findall(r"```python\n(.*?)```", (DOCS / name).read_text(), flags=re.S)


def test_the_pages_have_code():
    assert {"index.md", "montecarlo.md", "research.md", "strategies.md", "matching.md"} <= set(PAGES)


@pytest.mark.parametrize("name", PAGES)
def test_every_block_of_the_page_runs(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    skipped = []
    for k, code in enumerate(blocks(name)):
        first = code.splitlines()[0] if code.strip() else ""
        m = re.match(r"# needs: (\w+)", first)
        if m and importlib.util.find_spec(m.group(1)) is None:
            skipped.append(m.group(1))
            continue
        exec(compile(code, f"docs/{name} block {k}", "exec"), namespace)
    if skipped:
        pytest.skip(f"ran every block but those needing {', '.join(skipped)} (not installed)")

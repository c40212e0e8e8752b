"""Every Python snippet in README.md runs as written (in order, in one namespace per snippet)."""

import re
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

README = Path(__file__).resolve().parent.parent / "README.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_snippets():
    assert len(SNIPPETS) >= 3


@pytest.mark.parametrize("k", range(len(SNIPPETS)))
def test_readme_snippet_runs(k, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # snippets write their files here; examples/ is read from the repo
    (tmp_path / "examples").symlink_to(README.parent / "examples")
    code = SNIPPETS[k]
    if "import perpsim" not in code:
        code = "import perpsim\n" + code
    exec(compile(code, f"README.md snippet {k}", "exec"), {})

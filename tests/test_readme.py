"""Every Python snippet in README.md runs as written (in order, in one namespace per snippet)."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_snippets():
    assert len(SNIPPETS) >= 3


@pytest.mark.parametrize("k", range(len(SNIPPETS)))
def test_readme_snippet_runs(k):
    code = SNIPPETS[k]
    if "import perpsim" not in code:
        code = "import perpsim\n" + code
    exec(compile(code, f"README.md snippet {k}", "exec"), {})

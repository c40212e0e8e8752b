"""Typing: the stubs of the compiled core match the runtime module (mypy stubtest), and the
package type-checks with mypy."""

import subprocess
import sys


def test_core_stubs_match_runtime():
    p = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "perpsim._core"], capture_output=True, text=True, timeout=300
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Success" in p.stdout


def test_package_type_checks(tmp_path):
    """The whole Python package passes mypy (with the stubs of the compiled core). A copy is
    checked, so that an installed package is checked without site-packages as a source root."""
    import shutil
    from pathlib import Path

    import perpsim

    pkg = Path(perpsim.__file__).resolve().parent
    copy = tmp_path / "perpsim"
    shutil.copytree(pkg, copy, ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__", "data"))
    p = subprocess.run(
        [sys.executable, "-m", "mypy", "--ignore-missing-imports", "--no-incremental", str(copy)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Success" in p.stdout

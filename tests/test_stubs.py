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


def test_package_type_checks():
    """The whole Python package passes mypy (with the stubs of the compiled core)."""
    from pathlib import Path

    import perpsim

    pkg = Path(perpsim.__file__).resolve().parent
    p = subprocess.run(
        [sys.executable, "-m", "mypy", "--ignore-missing-imports", "--no-incremental", str(pkg)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stdout + p.stderr

"""The type stubs of the compiled core match the runtime module (mypy's stubtest)."""

import subprocess
import sys


def test_core_stubs_match_runtime():
    p = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "perpsim._core"], capture_output=True, text=True, timeout=300
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Success" in p.stdout

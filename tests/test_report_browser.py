"""The demo's report as a user sees it: a headless browser opens the page (offline: plotly.js is
inline) and its screenshot shows drawn charts, not a blank or an error box. Skipped only when no
headless Chromium is installed, unless PERPSIM_REQUIRE_BROWSER=1 (CI sets it: there a missing
browser is a failure)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

BROWSER = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)


def screenshot(html_path, png_path, height=2600):
    if BROWSER is None:
        if os.environ.get("PERPSIM_REQUIRE_BROWSER") == "1":
            pytest.fail("no headless Chromium, and PERPSIM_REQUIRE_BROWSER=1")
        pytest.skip("no headless Chromium installed")
    cmd = [
        BROWSER,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--virtual-time-budget=8000",
        f"--screenshot={png_path}",
        f"--window-size=1200,{height}",
        f"file://{html_path}",
    ]
    subprocess.run(cmd, capture_output=True, timeout=180)
    assert png_path.exists(), "the browser wrote no screenshot"
    from matplotlib.image import imread

    return imread(str(png_path))[:, :, :3]


def test_the_demo_report_shows_its_charts_in_a_browser(tmp_path):
    p = subprocess.run([sys.executable, "-m", "perpsim", "demo", "-o", str(tmp_path)], capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr
    page = tmp_path / "perpsim-demo-grid.html"
    html = page.read_text()
    assert "<script src=" not in html  # nothing to fetch: the page works offline
    img = screenshot(page, tmp_path / "shot.png")
    # the chart area (below the tables): many colours and real variation, not a blank box
    chart = img[750:1500, 50:1100]
    colours = len(np.unique((chart * 255).astype(np.uint8).reshape(-1, 3), axis=0))
    assert colours > 200, colours
    assert chart.std() > 0.05
    # the price trace and the fills are drawn: dark grey line, green buys and red sells
    r, g, b = chart[..., 0], chart[..., 1], chart[..., 2]
    assert ((g > 0.5) & (r < 0.35) & (b < 0.35)).sum() > 100  # buys
    assert ((r > 0.7) & (g < 0.3) & (b < 0.3)).sum() > 100  # sells and drawdown

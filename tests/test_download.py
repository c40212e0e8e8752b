"""`perpsim.data.download` and `perpsim data download` against a local archive server in the
exchange's exact layout (tests/archive_server.py): the bars and rates come back as the loaders give
them, checksums are verified, a missing month is named, an interrupted download resumes from the
cache, and a month without its monthly file is assembled from its daily files."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import perpsim
import pytest
from archive_server import Archive, build

BARS = perpsim.data.sample("BTCUSDT", "1h")
RATES = perpsim.data.sample_funding("BTCUSDT")


@pytest.fixture()
def archive(tmp_path):
    root = tmp_path / "archive"
    build(root, ["2024-01", "2024-02", "2024-03", "2024-05"], daily_months=["2024-06"])
    a = Archive(root)
    yield a
    a.close()


def get(archive, tmp_path, **kw):
    args = dict(symbol="BTCUSDT", interval="1h", cache_dir=tmp_path / "cache", base_url=archive.url, progress=False)
    args.update(kw)
    return perpsim.data.download(**args)


def test_klines_come_back_as_the_bundled_bars_and_then_from_the_cache(archive, tmp_path):
    got = get(archive, tmp_path, start="2024-01", end="2024-03")
    want = BARS[(BARS.index >= "2024-01-01") & (BARS.index < "2024-04-01")]
    pd.testing.assert_frame_equal(got, want, check_exact=True, check_freq=False, check_index_type=False)
    assert all(r.endswith((".zip", ".CHECKSUM")) for r in archive.requests)
    assert sum(r.endswith(".CHECKSUM") for r in archive.requests) == 3
    n = len(archive.requests)
    again = get(archive, tmp_path, start="2024-01", end="2024-03")
    assert len(archive.requests) == n  # nothing asked: every month from the Parquet cache
    pd.testing.assert_frame_equal(again, got, check_exact=True, check_freq=False)
    cached = perpsim.download.cached(tmp_path / "cache")
    assert [p for p, _ in cached][0] == "data/futures/um/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-01.parquet"


def test_mark_klines_and_funding_rates(archive, tmp_path):
    mark = get(archive, tmp_path, kind="markPriceKlines", start="2024-02")
    assert list(mark.columns) == ["open", "high", "low", "close"]
    feb = BARS[BARS.index.strftime("%Y-%m") == "2024-02"]
    np.testing.assert_array_equal(mark["close"].to_numpy(), feb["close"].to_numpy())
    rates = get(archive, tmp_path, kind="fundingRate", start="2024-01", end="2024-02")
    want = RATES[(RATES.index >= "2024-01-01") & (RATES.index < "2024-03-01")]
    np.testing.assert_array_equal(rates.to_numpy(), want.to_numpy())
    # the archive's few ms of jitter are kept as the loader reads them; the times are within 1 s
    assert (abs(rates.index.as_unit("ns").asi8 - want.index.as_unit("ns").asi8) < 1_000_000_000).all()
    r = perpsim.backtest(
        feb,
        perpsim.Rebalance(target_value=20_000, adjust_ratio=0.02),
        contract=perpsim.BTCUSDT,
        mark=mark,
        funding=rates,
    )
    assert r.stats["funding"] != 0


def test_a_bad_checksum_is_refused_and_nothing_is_cached(archive, tmp_path):
    rel = "data/futures/um/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-02.zip"
    (archive.root / (rel + ".CHECKSUM")).write_text("0" * 64 + "  BTCUSDT-1h-2024-02.zip\n")
    with pytest.raises(perpsim.DownloadError, match="checksum mismatch") as e:
        get(archive, tmp_path, start="2024-01", end="2024-03")
    assert "2024-02" in str(e.value)
    names = [p for p, _ in perpsim.download.cached(tmp_path / "cache")]
    assert any("2024-01" in p for p in names) and not any("2024-02" in p for p in names)


def test_a_missing_month_is_named_or_skipped_with_a_warning(archive, tmp_path):
    with pytest.raises(perpsim.DownloadError, match="2024-04") as e:
        get(archive, tmp_path, start="2024-03", end="2024-05")
    assert "2024-03" not in str(e.value).split("for ")[1].split(" (")[0]
    with pytest.warns(perpsim.PerpsimWarning, match="2024-04"):
        got = get(archive, tmp_path, start="2024-03", end="2024-05", missing="skip")
    assert set(got.index.strftime("%Y-%m")) == {"2024-03", "2024-05"}


def test_an_interrupted_download_resumes_from_what_was_cached(archive, tmp_path):
    rel = "data/futures/um/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-03.zip"
    archive.break_once.add(rel)
    with pytest.raises(perpsim.DownloadError, match="2024-03"):
        get(archive, tmp_path, start="2024-01", end="2024-03")
    archive.requests.clear()
    got = get(archive, tmp_path, start="2024-01", end="2024-03")
    assert archive.requests == [rel, rel + ".CHECKSUM"]  # January and February came from the cache
    assert len(got) == len(BARS[(BARS.index >= "2024-01-01") & (BARS.index < "2024-04-01")])


def test_a_month_without_its_monthly_file_is_assembled_from_daily_files(archive, tmp_path):
    got = get(archive, tmp_path, start="2024-06")
    want = BARS[BARS.index.strftime("%Y-%m") == "2024-06"]
    pd.testing.assert_frame_equal(got, want, check_exact=True, check_freq=False, check_index_type=False)
    assert sum("/daily/" in r and r.endswith(".zip") for r in archive.requests) == 30


def test_bad_arguments_name_the_field(tmp_path):
    for kw, field in [
        (dict(market="options"), "market"),
        (dict(kind="trades"), "kind"),
        (dict(market="spot", kind="fundingRate"), "kind"),
        (dict(start="January"), "start"),
        (dict(start="2024-03", end="2024-01"), "end"),
    ]:
        with pytest.raises(perpsim.InvalidInputError) as e:
            perpsim.data.download("BTCUSDT", cache_dir=tmp_path, base_url="http://127.0.0.1:9", **kw)
        assert e.value.field == field


def test_the_command_line_writes_the_bars(archive, tmp_path):
    out = tmp_path / "btc.parquet"
    cmd = [sys.executable, "-m", "perpsim", "data", "download", "BTCUSDT", "--interval", "1h", "--start", "2024-01"]
    cmd += ["--end", "2024-02", "--base-url", archive.url, "--cache", str(tmp_path / "c"), "--out", str(out)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "rows" in p.stdout and str(out) in p.stdout
    back = perpsim.data.load_bars(out)
    assert len(back) == len(BARS[(BARS.index >= "2024-01-01") & (BARS.index < "2024-03-01")])
    exists = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert exists.returncode == 2 and "--force" in exists.stderr
    bad = subprocess.run(cmd[:-2] + ["--start", "2024-04", "--end", "2024-04"], capture_output=True, text=True)
    assert bad.returncode == 2 and "2024-04" in bad.stderr

"""Loading data files: the Binance kline layout detected, header variants, epoch units, Parquet,
funding files, resampling, alignment, and validation errors naming the column and the first bad row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import perpsim
import pytest
from perpsim import InvalidInputError
from perpsim.data import align, load_bars, load_funding, resample

DATA = Path(__file__).parent / "data"
ONE_MIN = DATA / "BTCUSDT_perp_1m_2025-05-25_2025-06-24.csv.gz"


@pytest.fixture(scope="module")
def real():
    return load_bars(ONE_MIN).iloc[:600]


def binance_rows(df, unit="ms"):
    """The real bars in the 12-column Binance kline layout (no header); the columns this data set
    does not have (quote volume, trade counts, taker volumes) are written as 0."""
    mult = {"ms": 1_000_000, "us": 1_000}[unit]
    t = df.index.as_unit("ns").asi8 // mult
    close_t = t + 60 * 1_000_000_000 // mult - 1
    return pd.DataFrame(
        {
            0: t,
            1: df["open"],
            2: df["high"],
            3: df["low"],
            4: df["close"],
            5: df["volume"],
            6: close_t,
            7: 0.0,
            8: 0,
            9: 0.0,
            10: 0.0,
            11: 0,
        }
    )


@pytest.mark.parametrize("unit", ["ms", "us"])
def test_binance_kline_layout_is_detected(real, tmp_path, unit):
    p = tmp_path / f"BTCUSDT-1m-{unit}.csv"
    binance_rows(real, unit).to_csv(p, header=False, index=False)
    got = load_bars(p)
    pd.testing.assert_frame_equal(got, real, check_freq=False, check_index_type=False)


def test_header_variants_and_epoch_seconds(real, tmp_path):
    df = real.reset_index()
    df.columns = ["Date", "Open", "High", "Low", "Close", "Volume"]
    p = tmp_path / "upper.csv"
    df.to_csv(p, index=False)
    pd.testing.assert_frame_equal(load_bars(p), real, check_freq=False, check_index_type=False)
    df2 = real.reset_index()
    df2["timestamp"] = real.index.as_unit("ns").asi8 // 10**9
    p2 = tmp_path / "epoch_s.csv"
    df2.to_csv(p2, index=False)
    pd.testing.assert_frame_equal(load_bars(p2), real, check_freq=False, check_index_type=False)
    # start / end select a range (end exclusive)
    sub = load_bars(p, start=real.index[10], end=real.index[20])
    assert len(sub) == 10 and sub.index[0] == real.index[10]


def test_parquet(real, tmp_path):
    p = tmp_path / "bars.parquet"
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        p.write_bytes(b"PAR1")
        with pytest.raises(InvalidInputError, match="pyarrow"):
            load_bars(p)
        return
    real.to_parquet(p)
    pd.testing.assert_frame_equal(load_bars(p), real, check_freq=False)


def test_resample_matches_the_definition(real):
    h = resample(real, "1h")
    for t, row in h.iterrows():
        part = real[(real.index >= t) & (real.index < t + pd.Timedelta("1h"))]
        assert row["open"] == part["open"].iloc[0] and row["close"] == part["close"].iloc[-1]
        assert row["high"] == part["high"].max() and row["low"] == part["low"].min()
        assert row["volume"] == pytest.approx(part["volume"].sum())
    # a gap stays a gap
    hour = h.index[3]
    gappy = real[(real.index < hour) | (real.index >= hour + pd.Timedelta("1h"))]
    g = resample(gappy, "1h")
    assert len(g) == len(h) - 1 and hour not in g.index


def test_align_inner_and_outer():
    a = perpsim.data.sample("BTCUSDT").iloc[:100]
    b = a.iloc[10:90].drop(a.index[50])
    inner = align({"A": a, "B": b})
    assert list(inner["A"].index) == list(inner["B"].index) and len(inner["A"]) == 79
    outer = align({"A": a, "B": b}, how="outer")
    assert outer["A"].index[0] == b.index[0] and len(outer["A"]) == 90 and len(outer["B"]) == 79


def test_funding_files(tmp_path):
    f = perpsim.data.sample_funding("BTCUSDT").iloc[:30]
    p = tmp_path / "f.csv"
    pd.DataFrame({"fundingTime": f.index.as_unit("ns").asi8 // 10**6, "fundingRate": f.to_numpy()}).to_csv(
        p, index=False
    )
    got = load_funding(p)
    np.testing.assert_array_equal(got.to_numpy(), f.to_numpy())
    assert (got.index == f.index).all()
    p2 = tmp_path / "f2.csv"
    pd.DataFrame({"calc_time": f.index.astype(str), "last_funding_rate": f.to_numpy()}).to_csv(p2, index=False)
    assert (load_funding(p2).to_numpy() == f.to_numpy()).all()


@pytest.mark.parametrize(
    "mutate, field, row",
    [
        (lambda d: d.assign(close=d["close"].where(d.index != d.index[7], -1.0)), "close", 7),
        (lambda d: d.assign(high=d["high"].where(d.index != d.index[4], d["low"] - 1)), "high", 4),
        (lambda d: d.assign(low=d["low"].where(d.index != d.index[9], d["high"] + 1)), "low", 9),
        (lambda d: d.assign(volume=d["volume"].where(d.index != d.index[3], -5.0)), "volume", 3),
    ],
)
def test_validation_names_column_and_first_bad_row(real, tmp_path, mutate, field, row):
    p = tmp_path / "bad.csv"
    mutate(real.iloc[:20]).reset_index().to_csv(p, index=False)
    with pytest.raises(InvalidInputError) as info:
        load_bars(p)
    assert info.value.field == field and f"row {row}" in str(info.value)


def test_duplicate_and_text_values_are_named(real, tmp_path):
    df = real.iloc[:10].reset_index()
    df.loc[5, "timestamp"] = df.loc[4, "timestamp"]
    p = tmp_path / "dup.csv"
    df.to_csv(p, index=False)
    with pytest.raises(InvalidInputError, match="row 5: duplicate"):
        load_bars(p)
    df = real.iloc[:10].reset_index()
    df["open"] = df["open"].astype(object)
    df.loc[2, "open"] = "n/a"
    df.to_csv(p, index=False)
    with pytest.raises(InvalidInputError, match="column 'open', row 2"):
        load_bars(p)


@pytest.mark.parametrize("unit", ["s", "ms", "us"])
def test_an_index_in_any_unit_gives_the_run_of_its_nanoseconds(real, unit):
    """pandas indexes in seconds, milliseconds or microseconds are converted to nanoseconds by the
    engine (one checked pass): the same steps, fills and figures as the nanosecond index."""
    grid = perpsim.Grid(float(real["low"].min()), float(real["high"].max()), 20, qty=0.01)
    kw = dict(contract="BTCUSDT", initial_balance=10_000, leverage=5)
    ns = perpsim.backtest(real, grid, **kw)
    other = real.copy()
    other.index = other.index.as_unit(unit)
    got = perpsim.backtest(other, grid, **kw)
    assert got.equity.index.equals(ns.equity.index)
    pd.testing.assert_frame_equal(got.fills, ns.fills)
    pd.testing.assert_series_equal(got.stats, ns.stats)


def test_a_time_beyond_int64_nanoseconds_is_refused_naming_the_field(real):
    far = real.iloc[:3].copy()
    far.index = pd.DatetimeIndex(
        np.array(["2024-01-01T00:00", "2024-01-01T00:01", "2300-01-01T00:00"], dtype="datetime64[us]"), tz="UTC"
    )
    with pytest.raises(InvalidInputError, match=r"X: row 2.*beyond") as e:
        perpsim.backtest(far, perpsim.Grid(1.0, 2.0, 5, qty=1.0), contract=perpsim.Contract("X"))
    assert e.value.field == "timestamp"

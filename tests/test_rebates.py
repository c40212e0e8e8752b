"""Trade-mining and volume rebates (docs/accounting.md, "Rebates"): the account's volume per period
is counted at each fill and ``a/(a+V)·R`` is credited at the period's end; the engine and the exact
reference agree, a worked example is exact, and doubtful schedules are refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import perpsim
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from perpsim.reference.exchange import Exchange as RefExchange
from random_bars import random_bars

DAY = pd.Timedelta("1D")
T0 = pd.Timestamp("2024-01-01", tz="UTC")


def _bars(px: np.ndarray, start: pd.Timestamp = T0, spread: float = 0.5) -> pd.DataFrame:
    idx = pd.date_range(start, periods=len(px), freq="1h")
    return pd.DataFrame({"open": px, "high": px + spread, "low": px - spread, "close": px}, index=idx)


def _two_days() -> pd.DataFrame:
    return _bars(np.r_[np.linspace(100, 98, 12), np.linspace(98, 102, 12), np.linspace(102, 100, 24)])


@pytest.mark.parametrize("impl", [perpsim.Exchange, RefExchange], ids=["engine", "reference"])
def test_worked_example_a_share_of_the_day_reward(impl):
    # Day 1: a buy of 2 at 99 and a sell of 2 at 101 (both maker): a = 198 + 202 = 400 of volume
    # beside the others' 1,000,000; the day shares out 100 USDT: 400 / 1,000,400 · 100 = 0.039984...
    sched = pd.DataFrame({"market_volume": [1e6, 5e5], "reward": [100.0, 50.0]}, index=[T0, T0 + DAY])
    ex = impl("X", initial_balance=10_000, maker_fee=0.0002)
    ex.update(T0 - pd.Timedelta("1h"), 100.0)
    ex.limit("X", "buy", 99.0, 2.0)
    ex.limit("X", "sell", 101.0, 2.0)
    ex.run(_two_days(), rebates=sched)
    r = ex.rebates()
    assert len(r) == 1  # day 2 ends after the data: not credited (and nothing traded in it)
    assert pd.to_datetime(r["timestamp"].iloc[0], utc=True) == T0 + DAY
    assert float(r["volume"].iloc[0]) == 400.0
    assert float(r["amount"].iloc[0]) == pytest.approx(400 / 1_000_400 * 100, rel=1e-15)
    fees = 0.0002 * 400
    assert float(ex.account.wallet_balance) == pytest.approx(10_000 + 2 * 2 - fees + 400 / 1_000_400 * 100, rel=1e-15)


@pytest.mark.parametrize("impl", [perpsim.Exchange, RefExchange], ids=["engine", "reference"])
def test_a_run_continued_in_pieces_credits_what_one_run_does(impl):
    sched = pd.DataFrame({"market_volume": [1e6, 5e5], "reward": [100.0, 50.0]}, index=[T0, T0 + DAY])
    bars = _two_days()
    out = []
    for pieces in ([bars], [bars.iloc[:10], bars.iloc[10:30], bars.iloc[30:]]):
        ex = impl("X", initial_balance=10_000)
        ex.update(T0 - pd.Timedelta("1h"), 100.0)
        ex.limit("X", "buy", 99.0, 2.0)
        ex.limit("X", "sell", 101.0, 2.0)
        for piece in pieces:
            ex.run(piece, rebates=sched)
        out.append((ex.rebates()[["volume", "amount"]].to_numpy(float), float(ex.account.wallet_balance)))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    assert out[0][1] == out[1][1] and len(out[0][0]) == 1


def test_pool_and_price_make_the_reward():
    sched = pd.DataFrame({"market_volume": [1e6, 1e6], "pool": [20.0, 20.0], "price": [5.0, 5.0]}, index=[T0, T0 + DAY])
    ex = perpsim.Exchange("X", initial_balance=10_000)
    ex.update(T0 - pd.Timedelta("1h"), 100.0)
    ex.limit("X", "buy", 99.0, 2.0)
    ex.run(_two_days(), rebates=sched)
    assert float(ex.rebates()["reward"].iloc[0]) == 100.0


def test_a_period_still_running_at_the_end_is_reported_not_credited():
    sched = pd.DataFrame(
        {"market_volume": [1e6], "reward": [100.0], "end": [T0 + 3 * DAY]}, index=pd.DatetimeIndex([T0])
    )
    ex = perpsim.Exchange("X", initial_balance=10_000)
    ex.update(T0 - pd.Timedelta("1h"), 100.0)
    ex.limit("X", "buy", 99.0, 2.0)
    ex.run(_two_days(), rebates=sched)
    assert ex.rebates().empty
    w = [w for w in ex.warnings() if w.kind == "unmatched"]
    assert len(w) == 1 and "rebate periods" in w[0].message and w[0].count == 1


@pytest.mark.parametrize(
    "frame, field",
    [
        (pd.DataFrame({"market_volume": [1e6, 1e6], "reward": [1.0, -1.0]}, index=[T0, T0 + DAY]), "reward"),
        (pd.DataFrame({"market_volume": [np.nan, 1e6], "reward": [1.0, 1.0]}, index=[T0, T0 + DAY]), "market_volume"),
        (pd.DataFrame({"market_volume": [1.0, 1.0], "reward": [1.0, 1.0]}, index=[T0, T0 - DAY]), "end"),
        (
            pd.DataFrame(
                {"market_volume": [1.0, 1.0], "reward": [1.0, 1.0], "end": [T0 + 2 * DAY, T0 + 3 * DAY]},
                index=[T0, T0 + DAY],
            ),
            "start",
        ),
        (pd.DataFrame({"market_volume": [1.0], "reward": [1.0]}, index=pd.DatetimeIndex([T0])), "rebates[X]"),
        (pd.DataFrame({"reward": [1.0, 1.0]}, index=[T0, T0 + DAY]), "market_volume"),
        (
            pd.DataFrame({"market_volume": [1.0, 1.0], "reward": [1.0, 1.0], "pool": [1, 1]}, index=[T0, T0 + DAY]),
            "rebates[X]",
        ),
    ],
    ids=["negative reward", "NaN volume", "decreasing starts", "overlap", "one row without end", "no volume", "both"],
)
def test_a_doubtful_schedule_is_refused_naming_the_field(frame, field):
    ex = perpsim.Exchange("X", initial_balance=10_000)
    with pytest.raises(perpsim.InvalidInputError) as e:
        ex.run(_two_days(), rebates=frame)
    assert e.value.field == field


def test_a_grid_backtest_with_rebates_ends_richer_by_exactly_the_rebates():
    rng = np.random.default_rng(11)
    n = 24 * 20
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, n)))
    open_ = np.r_[100.0, close[:-1]]
    bars = pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * 1.002,
            "low": np.minimum(open_, close) * 0.998,
            "close": close,
        },
        index=pd.date_range(T0, periods=n, freq="1h"),
    )
    days = pd.date_range(T0, periods=21, freq="1D")
    sched = pd.DataFrame({"market_volume": 2e6, "reward": 25.0}, index=days)
    grid = perpsim.Grid(lower=80, upper=120, grid_count=40, qty=1.0)
    plain = perpsim.backtest(bars, grid, initial_balance=10_000)
    mined = perpsim.backtest(bars, grid, initial_balance=10_000, rebates=sched)
    assert len(mined.rebates) >= 15  # a grid trades most days
    assert mined.stats["rebates"] == pytest.approx(float(mined.rebates["amount"].sum()), rel=1e-12)
    assert plain.stats["rebates"] == 0.0
    gain = float(mined.stats["final_equity"]) - float(plain.stats["final_equity"])
    assert gain == pytest.approx(float(mined.stats["rebates"]), rel=1e-9)
    # the daily volume is the fills' quote volume of that day
    f = mined.fills
    day_volume = (f["qty"] * f["price"]).groupby(pd.DatetimeIndex(f["timestamp"]).floor("1D")).sum()
    credited = mined.rebates.set_index(pd.DatetimeIndex(mined.rebates["timestamp"]) - DAY)["volume"]
    assert np.allclose(credited.to_numpy(), day_volume.reindex(credited.index).to_numpy(), rtol=1e-12)


def test_rebates_with_basis_are_refused():
    with pytest.raises(perpsim.InvalidInputError) as e:
        perpsim.backtest(
            {"F": _two_days(), "SPOT": _two_days()},
            perpsim.Basis(open_threshold=0.01, value=1_000, spot="SPOT"),
            rebates=pd.DataFrame({"market_volume": [1.0, 1.0], "reward": [1.0, 1.0]}, index=[T0, T0 + DAY]),
        )
    assert e.value.field == "rebates"


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    inverse=st.booleans(),
    period_hours=st.sampled_from([3, 7, 24]),
    gap_hours=st.sampled_from([0, 0, 2]),
)
def test_engine_and_reference_agree_on_rebates(seed, inverse, period_hours, gap_hours):
    rng = np.random.default_rng(seed)
    n = 72
    bars = random_bars(rng, n, T0)
    starts = pd.date_range(T0 - pd.Timedelta("2h"), periods=n // period_hours + 2, freq=f"{period_hours + gap_hours}h")
    sched = pd.DataFrame(
        {
            "market_volume": rng.uniform(0, 1e5, len(starts)),
            "reward": rng.uniform(0, 10, len(starts)) / (1e4 if inverse else 1),
            "end": starts + pd.Timedelta(hours=period_hours),
        },
        index=starts,
    )
    c = (
        perpsim.Contract("X", kind="inverse", settle_asset="BTC", contract_size=10)
        if inverse
        else perpsim.Contract("X")
    )
    out = []
    for impl in (perpsim.Exchange, RefExchange):
        ex = impl(c, initial_balance=1.0 if inverse else 10_000.0)
        ex.update(T0 - pd.Timedelta("1h"), 100.0)
        for k in range(1, 8):
            ex.limit("X", "buy", 100.0 - k, 3.0)
            ex.limit("X", "sell", 100.0 + k, 3.0)
        ex.run(bars, rebates=sched)
        out.append((ex.rebates(), float(ex.account.wallet_balance), len(ex.fills())))
    (r_eng, w_eng, n_eng), (r_ref, w_ref, n_ref) = out
    assert n_eng == n_ref
    assert len(r_eng) == len(r_ref)
    if len(r_eng):
        assert (pd.to_datetime(r_eng["timestamp"]).astype("int64").to_numpy() == r_ref["timestamp"].to_numpy()).all()
        for col in ("volume", "market_volume", "reward", "amount"):
            assert np.allclose(r_eng[col].to_numpy(float), r_ref[col].to_numpy(float), rtol=1e-12, atol=0)
    assert w_eng == pytest.approx(w_ref, rel=1e-12)

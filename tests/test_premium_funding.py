"""Funding from the premium index (docs/accounting.md, "Funding from the premium index"): worked
examples of the rule (exact), intervals of 1-8 hours and changes of interval, the cap, gaps, the
run using it, and a property test against the exact reference."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import perpsim
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from perpsim import Contract, InvalidInputError, PerpsimWarning, funding_from_premium
from perpsim import reference as ref

H = 3_600_000_000_000
DAY = pd.Timestamp("2024-01-01", tz="UTC")


def hourly(values, start=DAY):
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="1h"))


@pytest.mark.parametrize(
    "p, rate",
    [
        (0.0003, 0.0001),  # |I − P| within ±0.05 %: the interest rate
        (0.0010, 0.0005),  # P − 0.05 %
        (-0.0020, -0.0015),  # P + 0.05 %
        (0.0100, 0.004),  # capped at the first bracket's MMR (0.4 %)
        (-0.0100, -0.004),
    ],
)
def test_the_8_hour_rule(p, rate):
    r = funding_from_premium(hourly([p] * 8), Contract("X"))
    assert r.index.tolist() == [DAY + pd.Timedelta("8h")]
    assert r.iloc[0] == pytest.approx(rate, abs=1e-15)


def test_later_samples_weigh_more():
    # 0.001, 0.002, 0.003, 0.004 every 2 hours: (1·1 + 2·2 + 3·3 + 4·4)/10 = 3 (‰) -> 0.3 % - 0.05 %
    s = pd.Series([0.001, 0.002, 0.003, 0.004], index=pd.date_range(DAY, periods=4, freq="2h"))
    r = funding_from_premium(s, Contract("X", funding_cap=0.01))
    assert r.iloc[0] == pytest.approx(0.0025, abs=1e-15)


def test_shorter_intervals_scale_the_8_hour_rate_and_the_cap_is_a_contract_field():
    four = Contract("X", funding_interval_hours=4, funding_cap=0.02)
    r = funding_from_premium(hourly([0.0010] * 8), four)
    assert r.index.tolist() == [DAY + pd.Timedelta("4h"), DAY + pd.Timedelta("8h")]
    assert r.tolist() == pytest.approx([0.00025, 0.00025], abs=1e-15)  # half of P − 0.05 %
    capped = funding_from_premium(hourly([0.5] * 8), Contract("X", funding_cap=0.0075))
    assert capped.tolist() == [0.0075]


def test_funding_times_given_for_an_interval_that_changes():
    # 8-hour funding until 08:00, then every 4 hours: the 12:00 and 16:00 rates are over 4 hours
    times = pd.DatetimeIndex([DAY + pd.Timedelta(h, "h") for h in (8, 12, 16)])
    r = funding_from_premium(hourly([0.0010] * 16), Contract("X"), times=times)
    assert r.tolist() == pytest.approx([0.0005, 0.00025, 0.00025], abs=1e-15)


def test_a_funding_interval_without_samples_gets_no_rate_and_is_reported():
    s = pd.concat([hourly([0.001] * 8), hourly([0.001] * 8, start=DAY + pd.Timedelta("16h"))])
    with pytest.warns(PerpsimWarning, match="1 funding time"):
        r = funding_from_premium(s, Contract("X"))
    assert r.index.tolist() == [DAY + pd.Timedelta("8h"), DAY + pd.Timedelta("24h")]
    assert r.attrs["no_premium"] == [DAY + pd.Timedelta("16h")]


def test_doubtful_inputs_are_refused_naming_the_field():
    with pytest.raises(InvalidInputError) as info:
        funding_from_premium(hourly([0.001, math.nan]), Contract("X"))
    assert info.value.field == "premium"
    with pytest.raises(InvalidInputError) as info:
        funding_from_premium(hourly([0.001] * 8), Contract("X"), times=[DAY + pd.Timedelta("8h"), DAY])
    assert info.value.field == "times"
    with pytest.raises(InvalidInputError) as info:
        Contract("X", funding_cap=0.0)
    assert info.value.field == "funding_cap"
    with pytest.raises(InvalidInputError) as info:
        funding_from_premium(hourly([0.001] * 8), perpsim.quarterly(perpsim.BTCUSDT, "2024-03-29"))
    assert info.value.field == "contract"


def test_a_backtest_pays_funding_from_the_premium_and_given_rates_keep_priority():
    idx = pd.date_range(DAY, periods=24, freq="1h")
    bars = pd.DataFrame({"open": 100.0, "high": 100.0, "low": 100.0, "close": 100.0}, index=idx)
    targets = pd.DataFrame({"ASSET": [2.0]}, index=idx[:1])
    premium = hourly([0.0010] * 24)
    r = perpsim.backtest(bars, perpsim.TargetPositions(targets), premium=premium, taker_fee=0.0)
    paid = r.funding["payment"].tolist()
    # at 08:00 and 16:00 (00:00 of the next day is past the bars): 2 · 100 · 0.05 % each
    assert paid == pytest.approx([-0.1, -0.1], abs=1e-12)
    given_rates = pd.Series([0.0002], index=[DAY + pd.Timedelta("8h")])
    r2 = perpsim.backtest(bars, perpsim.TargetPositions(targets), premium=premium, funding=given_rates, taker_fee=0.0)
    assert r2.funding["payment"].tolist() == pytest.approx([-0.04], abs=1e-12)


@st.composite
def premium_case(draw):
    n = draw(st.integers(1, 60))
    step = draw(st.sampled_from([H // 4, H, 2 * H]))
    start = draw(st.integers(0, 23)) * H
    gaps = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    ts, t = [], start
    for g in gaps:
        t += step * (5 if g and draw(st.integers(0, 9)) == 0 else 1)
        ts.append(t)
    vals = draw(st.lists(st.floats(-0.02, 0.02, allow_nan=False), min_size=n, max_size=n))
    interval = draw(st.sampled_from([1, 2, 4, 8])) * H
    n_times = draw(st.integers(1, 12))
    times, u = [], (start // interval + 1) * interval
    for _ in range(n_times):
        times.append(u)
        u += draw(st.sampled_from([1, 2, 4, 8])) * H
    cap = draw(st.sampled_from([0.004, 0.0075, 0.03]))
    return ts, vals, times, interval, cap


@settings(max_examples=200, deadline=None)
@given(premium_case())
def test_premium_rates_match_the_reference(case):
    ts, vals, times, interval, cap = case
    s = pd.Series(vals, index=pd.to_datetime(np.array(ts, dtype="int64"), utc=True))
    c = Contract("X", funding_interval_hours=interval / H, funding_cap=cap)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PerpsimWarning)
        got = funding_from_premium(s, c, times=pd.to_datetime(np.array(times, dtype="int64"), utc=True))
    want, empty = ref.funding_from_premium(list(zip(ts, vals)), times, interval, 0.0001, 0.0005, cap)
    assert got.index.asi8.tolist() == [t for t, _ in want]
    assert [t.value for t in got.attrs["no_premium"]] == empty
    for x, (_, y) in zip(got.tolist(), want):
        assert math.isclose(x, float(y), rel_tol=1e-12, abs_tol=1e-15), (x, float(y))

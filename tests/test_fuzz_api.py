"""Fuzzing the public Python API, class 8 of "no silent wrong answer": random and hostile inputs
(NaN, infinities, negative and huge numbers, wrong types, unsorted or duplicated times, empty
frames, unknown names) go through ``backtest``, the strategy and model constructors, ``Exchange``'s
methods, the loaders and ``monte_carlo``. The only outcomes accepted are a result or a
``PerpsimError`` (``MemoryError`` too); anything else — a bare ``TypeError`` or ``KeyError`` from
deep inside, a ``ZeroDivisionError``, a Rust panic — fails."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import perpsim
from hypothesis import example, given, settings
from hypothesis import strategies as st
from perpsim import PerpsimError

HOSTILE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**20), 10**20),
    st.sampled_from([0, -1, 1e-300, 1e300, float("nan"), float("inf"), True, None, "1", "x", [], {}, (1, 2)]),
)
NUMBER = st.one_of(st.floats(1.0, 1e5), HOSTILE)


def expect_result_or_perpsim_error(call, *args, **kwargs):
    """Calls; returns the result, or None for a PerpsimError / MemoryError; anything else fails."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", perpsim.PerpsimWarning)  # doubtful results are fine here
            return call(*args, **kwargs)
    except (PerpsimError, MemoryError):
        return None


def feasible_but_long(v, lo, hi):
    """A count that is valid and fits in memory but takes minutes (ten million paths): not hostile,
    only slow; beyond ``hi`` the memory check refuses it at once, which stays in the draw."""
    return isinstance(v, int) and not isinstance(v, bool) and lo < v < hi


@st.composite
def frames(draw):
    n = draw(st.integers(0, 25))
    base = draw(st.floats(1.0, 1e5))
    close = [draw(st.one_of(st.floats(0.5, 2.0).map(lambda x, b=base: x * b), HOSTILE)) for _ in range(n)]
    rows = []
    for c in close:
        try:
            cf = float(c)
        except (TypeError, ValueError):
            cf = c
        rows.append((cf, cf, cf, cf))
    idx = pd.date_range("2024-01-01", periods=n, freq=draw(st.sampled_from(["1h", "1min", "1D"])), tz="UTC")
    if draw(st.booleans()) and n > 2:
        idx = idx[::-1]
    if draw(st.booleans()) and n > 2:
        idx = idx.insert(1, idx[0])[:n]
    df = pd.DataFrame(rows, columns=["open", "high", "low", "close"], index=idx)
    if draw(st.booleans()) and n:
        df["high"] = df["high"].map(lambda v: v * 1.01 if isinstance(v, float) and math.isfinite(v) else v)
    if draw(st.booleans()):
        df = df.drop(columns=[draw(st.sampled_from(["open", "high", "low", "close"]))])
    if draw(st.booleans()):
        df = df.reset_index(drop=True)
    return df


@st.composite
def grids(draw):
    kw = {
        "lower": draw(NUMBER),
        "upper": draw(NUMBER),
        "grid_count": draw(st.one_of(st.integers(-5, 700), HOSTILE)),
        draw(st.sampled_from(["qty", "quote_per_grid"])): draw(NUMBER),
    }
    for key in ("mode", "spacing"):
        if draw(st.booleans()):
            kw[key] = draw(st.one_of(st.sampled_from(["neutral", "long", "short", "arithmetic", "geometric"]), HOSTILE))
    for key in ("trigger", "stop_lower", "stop_upper"):
        if draw(st.booleans()):
            kw[key] = draw(NUMBER)
    if draw(st.booleans()):
        kw["trailing_up"] = draw(st.one_of(st.booleans(), HOSTILE))
    return kw


@settings(deadline=None, max_examples=300)
@given(frames(), grids(), NUMBER, NUMBER, st.sampled_from(["nearest_first", "worst_case", "sideways", 5]))
def test_backtest_with_hostile_inputs_gives_a_result_or_a_perpsim_error(df, grid_kw, balance, leverage, path):
    grid = expect_result_or_perpsim_error(perpsim.Grid, **grid_kw)
    if grid is None:
        return
    r = expect_result_or_perpsim_error(
        perpsim.backtest, df, grid, initial_balance=balance, leverage=leverage, path=path
    )
    if r is not None:
        assert math.isfinite(r.stats["final_equity"])
        r.summary(), r.equity, r.fills, r.warnings


@settings(deadline=None, max_examples=300)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["buy", "sell", "limit", "stop", "take_profit", "trailing_stop", "cancel", "update"]),
            st.one_of(st.just("X"), st.just("Y"), HOSTILE),
            NUMBER,
            NUMBER,
            st.one_of(st.sampled_from([None, None, "long", "short", "both"]), HOSTILE),
        ),
        max_size=12,
    ),
    NUMBER,
    st.one_of(st.sampled_from([None, "one_way", "hedge"]), HOSTILE),
)
def test_exchange_methods_with_hostile_arguments_give_a_result_or_a_perpsim_error(calls, balance, mode):
    ex = expect_result_or_perpsim_error(perpsim.Exchange, ["X"], initial_balance=balance, position_mode=mode)
    if ex is None:
        return
    t = pd.Timestamp("2024-01-01", tz="UTC")
    for k, (what, sym, a, b, side) in enumerate(calls):
        ps = dict(position_side=side)
        if what == "buy":
            expect_result_or_perpsim_error(ex.buy, sym, a, b, **ps)
        elif what == "sell":
            expect_result_or_perpsim_error(ex.sell, sym, a, b, **ps)
        elif what == "limit":
            expect_result_or_perpsim_error(ex.limit, sym, "buy", a, b, **ps)
        elif what == "stop":
            expect_result_or_perpsim_error(ex.stop, sym, "sell", a, b, **ps)
        elif what == "take_profit":
            expect_result_or_perpsim_error(ex.take_profit, sym, a, **ps)
        elif what == "trailing_stop":
            expect_result_or_perpsim_error(ex.trailing_stop, sym, "sell", a, b, **ps)
        elif what == "cancel":
            expect_result_or_perpsim_error(ex.cancel, a)
        else:
            prices = ({sym: a} if isinstance(sym, (str, int, float, type(None))) else {"X": sym}) if k % 2 else a
            expect_result_or_perpsim_error(ex.update, t + pd.Timedelta(hours=k), prices)
    ex.history(), ex.fills(), ex.orders(), ex.warnings(), ex.positions()


@settings(deadline=None, max_examples=200)
@given(
    st.sampled_from(["GBM", "JumpDiffusion", "StudentT"]),
    NUMBER,
    NUMBER,
    NUMBER,
    st.one_of(st.sampled_from(["1h", "1min", "0h", "1M", "-1h"]), HOSTILE),
    st.one_of(st.integers(-3, 50), HOSTILE.filter(lambda v: not feasible_but_long(v, 10**6, 10**10))),
    st.one_of(st.integers(-3, 5), HOSTILE.filter(lambda v: not feasible_but_long(v, 10**4, 10**13))),
)
def test_monte_carlo_with_hostile_models_gives_a_result_or_a_perpsim_error(name, vol, s0, drift, interval, bars, paths):
    model = expect_result_or_perpsim_error(
        getattr(perpsim, name), volatility=vol, s0=s0, drift=drift, interval=interval
    )
    if model is None:
        return
    grid = perpsim.Grid(50.0, 150.0, 10, qty=1.0)
    r = expect_result_or_perpsim_error(
        perpsim.monte_carlo, grid, "X", model, n_paths=paths, n_bars=bars, seed=1, progress=False
    )
    if r is not None:
        r.summary()


@settings(deadline=None, max_examples=200)
@given(
    st.sampled_from(["Rebalance", "TargetPositions", "IndexDeviation", "Basis"]),
    st.dictionaries(
        st.sampled_from(
            [
                "target_value",
                "target_ratio",
                "adjust_ratio",
                "trade_value",
                "step",
                "base",
                "open_threshold",
                "close_threshold",
                "fraction",
                "amount",
                "unit",
                "targets",
                "limit_orders",
                "stop_deviation",
            ]
        ),
        st.one_of(NUMBER, st.just(pd.Series([1.0, np.nan]))),
        max_size=4,
    ),
)
def test_strategy_constructors_with_hostile_fields_give_a_strategy_or_a_perpsim_error(name, kw):
    s = expect_result_or_perpsim_error(getattr(perpsim, name), **kw) if _takes(name, kw) else None
    if s is not None:
        bars = perpsim.data.sample("BTCUSDT", "1h").iloc[:50]
        data = {"BTCUSDT": bars, "BTCUSDT_SPOT": bars} if name == "Basis" else bars
        expect_result_or_perpsim_error(perpsim.backtest, data, s)


def _takes(name: str, kw: dict) -> bool:
    """Whether ``kw`` is a call Python accepts: only fields of the dataclass, the required ones
    included (otherwise Python's own TypeError is raised before perpsim sees anything)."""
    import dataclasses

    fields = dataclasses.fields(getattr(perpsim, name))
    required = {f.name for f in fields if f.default is dataclasses.MISSING}
    return required <= set(kw) <= {f.name for f in fields}


CALCULATORS = [
    ("grid_levels", 3),
    ("grid_quote_qty", 3),
    ("grid_qty_at", 2),
    ("grid_min_qty", 3),
    ("min_initial_margin", 5),
    ("estimated_trailing_cap", 4),
    ("max_trailing_up_count", 3),
    ("trailing_upper_price", 3),
    ("trade_mining_income", 5),
    ("trade_mining_optimum", 4),
    ("premium", 2),
    ("annualized_premium", 3),
]


@settings(deadline=None, max_examples=300)
@given(st.sampled_from(CALCULATORS), st.lists(NUMBER, min_size=5, max_size=5))
@example(calc=("max_trailing_up_count", 3), args=[1.0, 179769315.0, 1e-300, 1.0, 1.0])
@example(calc=("max_trailing_up_count", 3), args=[1e300, 1.0, 1e-300, 1.0, 1.0])
@example(calc=("grid_levels", 3), args=[1.0, 1.0, 18_446_744_073_709_551_616, 1.0, 1.0])
def test_calculators_with_hostile_arguments_give_a_number_or_a_perpsim_error(calc, args):
    name, n = calc
    out = expect_result_or_perpsim_error(getattr(perpsim.calc, name), *args[:n])
    if out is not None and not isinstance(out, list):
        assert isinstance(out, (int, float))


@settings(deadline=None, max_examples=200)
@given(st.sampled_from(["long", "short", "up", 3]), NUMBER, NUMBER, NUMBER, NUMBER)
def test_contract_calculators_with_hostile_arguments_give_a_number_or_a_perpsim_error(side, qty, entry, balance, rate):
    c = perpsim.BTCUSDT
    expect_result_or_perpsim_error(perpsim.calc.liquidation_price, c, side, qty, entry, balance)
    expect_result_or_perpsim_error(perpsim.calc.funding_payment, c, qty, entry, rate)

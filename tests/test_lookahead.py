"""The look-ahead check catches a strategy that decides with the next bar (built-in targets and a
Python callback) and passes the same strategies written without the future."""

from __future__ import annotations

import numpy as np
import pandas as pd
import perpsim
import pytest
from perpsim import TargetPositions

BARS = perpsim.data.sample("BTCUSDT").iloc[:400]
KW = dict(contract=perpsim.BTCUSDT, leverage=3)


def targets(data: pd.DataFrame, leak: bool) -> TargetPositions:
    c = data["close"]
    move = (c.shift(-1) - c) if leak else (c - c.shift(1))  # the next bar's move is the future
    return TargetPositions(np.sign(move).fillna(0.0) * 0.01)


def callback(data: pd.DataFrame, leak: bool):
    c = data["close"]
    signal = (c.shift(-1) > c) if leak else (c > c.rolling(12).mean())
    up = dict(zip(data.index, signal))

    def on_bar(ex, ts, bars):
        want = 0.01 if up[ts] else 0.0
        have = ex.position("BTCUSDT").qty
        if abs(want - have) > 1e-12:
            ex.market("BTCUSDT", "buy" if want > have else "sell", abs(want - have))

    return on_bar


@pytest.mark.parametrize("make", [targets, callback])
def test_a_leaking_strategy_is_caught(make):
    rep = perpsim.lookahead_check(lambda d: make(d, leak=True), BARS, max_checks=8, **KW)
    assert not rep.ok
    assert len(rep.checked) == 8 and rep.orders > 10
    first = rep.first
    # the first difference is a decision at a cut: the last bar there cannot know the next one
    assert first["placed"] == first["checked_at"]
    assert "future" in first["what"] or "qty" in first["what"] or "side" in first["what"]
    assert "LOOK-AHEAD" in repr(rep)


@pytest.mark.parametrize("make", [targets, callback])
def test_a_clean_strategy_passes(make):
    rep = perpsim.lookahead_check(lambda d: make(d, leak=False), BARS, max_checks=8, **KW)
    assert rep.ok, rep.differences
    assert rep.first is None and "no decision differs" in repr(rep)


def test_given_times_and_bad_input():
    t = [BARS.index[100], BARS.index[200]]
    rep = perpsim.lookahead_check(lambda d: targets(d, leak=True), BARS, times=t, **KW)
    assert rep.checked == t and set(rep.differences["checked_at"]) <= set(t)
    with pytest.raises(perpsim.InvalidInputError, match="make_strategy"):
        perpsim.lookahead_check("not callable", BARS)
    with pytest.raises(perpsim.InvalidInputError, match="max_checks"):
        perpsim.lookahead_check(lambda d: targets(d, leak=False), BARS, max_checks=0)

"""The look-ahead check: does a strategy decide anything with bars it could not have seen yet?

A strategy is built from the data it is given (``make_strategy(data)``: indicators, targets,
signals computed up front) and then run. :func:`lookahead_check` runs it once on all the data,
then, at each checked time ``t``, again on the data cut at ``t`` (built afresh from that cut, so
no bar after ``t`` exists anywhere). A strategy without look-ahead makes the same decisions up to
``t`` in both runs; any order placed or cancelled up to ``t`` that differs is reported, with the
time and what differs. (The check freqtrade runs for its strategies, for any perpsim strategy:
Python callbacks or a built-in one fed with precomputed inputs such as ``TargetPositions``.)
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Union

import numpy as np
import pandas as pd

from ._frames import pandas_data
from .backtest import backtest
from .errors import InvalidInputError

__all__ = ["lookahead_check", "LookaheadReport", "DECISION_COLUMNS"]

#: What an order's decision is made of (compared exactly, NaN equal to NaN).
DECISION_COLUMNS = ["placed", "symbol", "type", "side", "price", "trigger", "qty", "reduce_only", "post_only"]

Data = Union[pd.DataFrame, Mapping[str, pd.DataFrame]]


class LookaheadReport:
    """The outcome of :func:`lookahead_check`: ``ok`` (no difference), ``differences`` (one row per
    differing order: checked_at, order_id, placed, what: ``"only with the future"``, ``"only without
    the future"`` or the differing fields), ``checked`` (the times cut at)."""

    def __init__(self, differences: pd.DataFrame, checked: List[pd.Timestamp], orders: int) -> None:
        self.differences = differences
        self.checked = checked
        self.orders = orders

    @property
    def ok(self) -> bool:
        """True when no decision differed at any checked time."""
        return len(self.differences) == 0

    @property
    def first(self) -> Optional[pd.Series]:
        """The earliest differing decision (None when ok)."""
        if self.ok:
            return None
        return self.differences.sort_values(["placed", "order_id"], kind="mergesort").iloc[0]

    def __repr__(self) -> str:
        if self.ok:
            return f"LookaheadReport(ok: {len(self.checked)} cuts, {self.orders} orders, no decision differs)"
        f = self.first
        assert f is not None
        return (
            f"LookaheadReport(LOOK-AHEAD: {len(self.differences)} differing decisions; first: order {f['order_id']} "
            f"placed {f['placed']}: {f['what']})"
        )


def _cut(data: Data, t: pd.Timestamp) -> Data:
    if isinstance(data, pd.DataFrame):
        return data[data.index <= t]
    return {k: v[v.index <= t] for k, v in data.items()}


def _times(data: Data) -> pd.DatetimeIndex:
    frames = [data] if isinstance(data, pd.DataFrame) else list(data.values())
    idx = None
    for f in frames:
        if not isinstance(f, pd.DataFrame) or not isinstance(f.index, pd.DatetimeIndex):
            raise InvalidInputError("data: DataFrames of bars with a DatetimeIndex", "data")
        idx = f.index if idx is None else idx.union(f.index)
    assert idx is not None
    return idx


def _decisions(orders: pd.DataFrame, t: pd.Timestamp) -> pd.DataFrame:
    o = orders[orders["placed"] <= t]
    d = o[DECISION_COLUMNS].copy()
    d["cancelled"] = (o["status"] == "cancelled") & (o["updated"] <= t)
    return d


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _differs(field: str, a: Any, b: Any) -> str:
    return f"{field}: {_plain(a)!r} with the future, {_plain(b)!r} without"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (a == b) or (np.isnan(a) and np.isnan(b))
    return bool(a == b)


def lookahead_check(
    make_strategy: Callable[[Data], Any],
    data: Data,
    max_checks: int = 20,
    times: Optional[List[Any]] = None,
    **backtest_kwargs: Any,
) -> LookaheadReport:
    """Runs ``make_strategy(data)`` on ``data``, then ``make_strategy(cut)`` on the data cut at
    each checked time (``times``, or ``max_checks`` times evenly spaced over the bars, the last bar
    excluded: cutting there changes nothing), and compares every order placed or cancelled up to
    the cut. ``backtest_kwargs`` go to every :func:`perpsim.backtest` call (contract, balance,
    funding, ...). Each cut is a full run: the check costs about ``max_checks / 2`` runs.
    """
    if not callable(make_strategy):
        raise InvalidInputError(
            "make_strategy: a callable data -> strategy (built from that data only)", "make_strategy"
        )
    data = pandas_data(data)
    idx = _times(data)
    if len(idx) < 3:
        raise InvalidInputError("data: at least 3 bars to check", "data")
    if times is None:
        if not isinstance(max_checks, (int, np.integer)) or max_checks < 1:
            raise InvalidInputError("max_checks: a positive whole number", "max_checks")
        k = min(int(max_checks), len(idx) - 2)
        cuts = [idx[i] for i in np.unique(np.linspace(1, len(idx) - 2, k).round().astype(int))]
    else:
        cuts = [pd.Timestamp(t) for t in times]
        cuts = [t.tz_localize("UTC") if t.tzinfo is None and idx.tz is not None else t for t in cuts]
    full = backtest(data, make_strategy(data), **backtest_kwargs).orders
    rows: List[Dict[str, Any]] = []
    for t in cuts:
        cut = _cut(data, t)
        part = backtest(cut, make_strategy(cut), **backtest_kwargs).orders
        a, b = _decisions(full, t), _decisions(part, t)
        for oid in a.index.union(b.index):
            row = {"checked_at": t, "order_id": oid}
            if oid not in b.index:
                rows.append({**row, "placed": a.at[oid, "placed"], "what": "only with the future"})
            elif oid not in a.index:
                rows.append({**row, "placed": b.at[oid, "placed"], "what": "only without the future"})
            else:
                diff = [c for c in a.columns if not _same(a.at[oid, c], b.at[oid, c])]
                if diff:
                    what = ", ".join(_differs(c, a.at[oid, c], b.at[oid, c]) for c in diff)
                    rows.append({**row, "placed": a.at[oid, "placed"], "what": what})
    table = pd.DataFrame(rows, columns=["checked_at", "order_id", "placed", "what"])
    table = table.drop_duplicates("order_id", keep="first").reset_index(drop=True)  # first cut that saw it
    return LookaheadReport(table, cuts, len(full))

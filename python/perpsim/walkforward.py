"""Walk-forward optimisation: choose a strategy's parameters on a training window with
:func:`perpsim.sweep`, trade the chosen set on the window that follows, step forward by the test
length, and stitch the test windows' equity into one out-of-sample curve.

State between test windows: *flat, equity carried*. Each test window is its own backtest that
starts with no position and the previous window's final equity (the open position at a window's
end is valued at its last close, as the equity curve values it, and is not carried: the next
window's strategy starts afresh with its own parameters). The closing fee of that position is not
charged; the windows table shows its notional (``open_notional``) so that it can be judged.
"""

from __future__ import annotations

import inspect
from concurrent.futures import Executor
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import _core
from ._frames import pandas_data
from .backtest import backtest
from .errors import InvalidInputError
from .result import Result
from .sweep import sweep

__all__ = ["walk_forward", "WalkForwardResult"]

Objective = Union[str, Callable[[pd.DataFrame], Any]]


class WalkForwardResult:
    """What :func:`walk_forward` produced.

    - ``windows``: one row per window: train_start, train_end, test_start, test_end (each end
      exclusive), the chosen parameters, ``in_sample`` (the objective of the chosen set on its
      training window), ``out_of_sample`` (the same objective on the test window), the test
      window's start and final equity, its return and ``open_notional`` at its end;
    - ``equity``: the stitched out-of-sample equity (one value per test bar);
    - ``stats``: the figures of that curve, from the engine's statistics (the same as a backtest's);
    - ``results``: each test window's :class:`perpsim.Result`; ``sweeps``: each training sweep;
      ``params``: the names of the parameters chosen;
    - ``gap``: the mean out-of-sample / in-sample ratio of the objective (the overfitting gap:
      1 = as good out of sample as in sample).
    """

    def __init__(
        self,
        windows: pd.DataFrame,
        equity: pd.Series,
        stats: pd.Series,
        results: List[Result],
        sweeps: List[pd.DataFrame],
        objective: str,
        params: Sequence[str],
    ) -> None:
        self.windows = windows
        self.equity = equity
        self.stats = stats
        self.results = results
        self.sweeps = sweeps
        self.objective = objective
        self.params = list(params)

    @property
    def initial_balance(self) -> float:
        """The balance the first test window started with."""
        return float(self.windows["start_equity"].iloc[0])

    @property
    def trades(self) -> pd.DataFrame:
        """Every test window's round trips (:attr:`perpsim.Result.trades`), in time order."""
        parts = [r.trades for r in self.results]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def plot(self, path: Optional[str] = None) -> Any:
        """The stitched out-of-sample equity with each test window's start and chosen parameters
        marked (a matplotlib Figure, saved to ``path`` if given)."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(11, 4))
        ax.plot(self.equity.index, self.equity.to_numpy(), color="#1f77b4", lw=1.2)
        names = self.params
        top = float(self.equity.max())
        for _, w in self.windows.iterrows():
            ax.axvline(w["test_start"], color="#999", lw=0.6, ls="--")
            label = ", ".join(f"{k}={w[k]:.4g}" if isinstance(w[k], float) else f"{k}={w[k]}" for k in names)
            ax.text(w["test_start"], top, " " + label, fontsize=7, rotation=90, va="top", color="#555")
        ax.set_ylabel("equity (out of sample)")
        ax.set_title(f"walk-forward: {len(self.windows)} test windows, objective {self.objective}")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=100)
        return fig

    def report(self, path: Optional[str] = None, title: Optional[str] = None) -> str:
        """Writes the HTML report (the stitched out-of-sample equity, the windows and their
        choices, the out-of-sample figures; :func:`perpsim.report.study_report`) to ``path``
        (default ``perpsim-walk-forward.html`` here) and returns the path."""
        from .report import study_report

        w = self.windows
        sub = f"{len(w)} windows · objective {self.objective} · gap {self.gap:.2f}" if len(w) else ""
        path = str(path) if path is not None else "perpsim-walk-forward.html"
        study_report(
            title or "perpsim walk-forward",
            [
                ("Out-of-sample equity", self.plot),
                ("Windows", w),
                ("Out-of-sample figures", self.stats),
            ],
            path=path,
            subtitle=sub,
        )
        return path

    @property
    def gap(self) -> float:
        """The mean of out_of_sample / in_sample over the windows whose in-sample objective is
        positive and both are finite (NaN if none)."""
        w = self.windows
        ok = np.isfinite(w["in_sample"]) & np.isfinite(w["out_of_sample"]) & (w["in_sample"] > 0)
        return float((w.loc[ok, "out_of_sample"] / w.loc[ok, "in_sample"]).mean()) if ok.any() else float("nan")

    def __repr__(self) -> str:
        return (
            f"WalkForwardResult({len(self.windows)} windows, objective {self.objective}, "
            f"out-of-sample return {self.stats['total_return']:.2%}, gap {self.gap:.2f})"
        )


def _slice(data: Any, a: pd.Timestamp, b: pd.Timestamp) -> Any:
    """The bars with open times in ``[a, b)``."""
    if isinstance(data, pd.DataFrame):
        return data[(data.index >= a) & (data.index < b)]
    return {k: v[(v.index >= a) & (v.index < b)] for k, v in data.items()}


def _span(data: Any) -> tuple:
    frames = [data] if isinstance(data, pd.DataFrame) else list(data.values())
    for f in frames:
        if not isinstance(f, pd.DataFrame) or not isinstance(f.index, pd.DatetimeIndex) or not len(f):
            raise InvalidInputError("data: DataFrames of bars with a DatetimeIndex", "data")
    return min(f.index[0] for f in frames), max(f.index[-1] for f in frames)


def _length(v: Any, field: str) -> pd.Timedelta:
    try:
        d = pd.Timedelta(v)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{field}: a duration such as '90D'", field) from None
    if not d > pd.Timedelta(0):
        raise InvalidInputError(f"{field}: must be a positive duration", field)
    return d


def _first_open(data: Any) -> float:
    f = data if isinstance(data, pd.DataFrame) else next(iter(data.values()))
    if not len(f):
        raise InvalidInputError("data: a window holds no bar (a gap in the data?)", "data")
    return float(f["open"].iloc[0])


def _takes_price(strategy: Any) -> bool:
    try:
        return "start_price" in inspect.signature(strategy).parameters
    except (TypeError, ValueError):
        return False


def _scores(table: pd.DataFrame, objective: Objective) -> np.ndarray:
    if callable(objective):
        s = np.asarray(objective(table), dtype=float)
        if s.shape != (len(table),):
            raise InvalidInputError("objective: the callable must return one score per row of the sweep", "objective")
        return s
    if objective not in table.columns:
        raise InvalidInputError(f"objective: {objective!r} is not a figure of a sweep row", "objective")
    return table[objective].to_numpy(dtype=float)


def _open_notional(r: Result) -> float:
    """The notional of the positions left open at the end of a run, at the last mark, in the
    settlement currency (the engine's figure: coin for inverse contracts; 0 flat)."""
    return float(sum(abs(p.notional) for p in r.exchange.positions()))


def walk_forward(
    strategy: Callable[..., Any],
    params: Mapping[str, Sequence[Any]],
    data: Union[pd.DataFrame, Mapping[str, pd.DataFrame]],
    train: Any = "90D",
    test: Any = "30D",
    objective: Objective = "calmar",
    anchored: bool = False,
    fixed: Optional[Mapping[str, Any]] = None,
    contract: Any = None,
    initial_balance: float = 10_000.0,
    leverage: Optional[float] = None,
    funding: Any = None,
    executor: Optional[Executor] = None,
    progress: bool = False,
    **options: Any,
) -> WalkForwardResult:
    """Walk-forward optimisation of ``strategy`` (a built-in strategy class or factory, as for
    :func:`perpsim.sweep`) over ``params`` on ``data``.

    Windows: the first training window is ``[start, start + train)``, its test window the ``test``
    that follows; both step forward by ``test`` until the data end (the last test window may hold
    fewer bars; ``test_end`` is its nominal end). ``anchored=True``: every training window starts
    at the data's start (it grows).
    On each training window every set is swept and the best by ``objective`` is chosen (a column of
    the sweep such as ``"calmar"``, ``"sharpe"``, ``"total_return"``, or a callable taking the sweep
    table and returning one score per row; larger is better; NaN is worst; ties go to the first set
    in sweep order). The chosen set then trades the test window: flat at its start, with the
    previous window's final equity (see the module doc). ``fixed``, ``contract``,
    ``initial_balance``, ``leverage``, ``funding`` and ``options`` go to every sweep and backtest;
    ``executor`` to the sweeps.

    A factory with a ``start_price`` parameter is given the window's first open (training windows
    and test windows alike): how a grid's bounds follow the price, e.g.
    ``lambda start_price, width, grid_count: Grid(start_price * (1 - width), start_price * (1 + width),
    grid_count, quote_per_grid=500)``.
    """
    data = pandas_data(data)
    train_d, test_d = _length(train, "train"), _length(test, "test")
    start, last = _span(data)
    fixed = dict(fixed or {})
    name = objective if isinstance(objective, str) else getattr(objective, "__name__", "objective")
    rows: List[Dict[str, Any]] = []
    results: List[Result] = []
    sweeps: List[pd.DataFrame] = []
    curves: List[pd.Series] = []
    equity = float(initial_balance)
    t = start + train_d
    if t > last:
        raise InvalidInputError("train: the data end before the first training window does", "train")
    kw = dict(contract=contract, leverage=leverage, funding=funding, **options)
    priced = _takes_price(strategy)
    while t <= last:
        a = start if anchored else t - train_d
        b = t + test_d
        train_data, test_data = _slice(data, a, t), _slice(data, t, b)
        table = sweep(
            strategy,
            params,
            data=train_data,
            fixed={**fixed, "start_price": _first_open(train_data)} if priced else fixed,
            initial_balance=initial_balance,
            executor=executor,
            progress=progress,
            **kw,
        )
        scores = _scores(table, objective)
        if not np.isfinite(scores).any():
            raise InvalidInputError(
                f"objective: no set has a finite {name} on the training window {a} - {t} (try another objective)",
                "objective",
            )
        best = int(np.argmax(np.where(np.isfinite(scores), scores, -np.inf)))
        chosen = {k: table[k].iloc[best] for k in params}
        chosen = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in chosen.items()}
        here = {"start_price": _first_open(test_data)} if priced else {}
        r = backtest(test_data, strategy(**fixed, **here, **chosen), initial_balance=equity, **kw)
        oos = _scores(pd.DataFrame([{**chosen, **r.stats.to_dict()}]), objective)[0]
        curve = r.equity["equity"]
        rows.append(
            {
                "train_start": a,
                "train_end": t,
                "test_start": t,
                "test_end": b,
                **chosen,
                "in_sample": float(scores[best]),
                "out_of_sample": float(oos),
                "start_equity": equity,
                "final_equity": float(r.stats["final_equity"]),
                "return": float(r.stats["total_return"]),
                "open_notional": _open_notional(r),
                "liquidated": bool(r.stats["liquidated"]),
            }
        )
        results.append(r)
        sweeps.append(table)
        curves.append(curve)
        equity = float(r.stats["final_equity"])
        t = b
    stitched = pd.concat(curves)
    stats = _stitched_stats(stitched, float(initial_balance), results)
    return WalkForwardResult(pd.DataFrame(rows), stitched, stats, results, sweeps, name, list(params))


def _stitched_stats(curve: pd.Series, initial: float, results: List[Result]) -> pd.Series:
    """The out-of-sample curve's figures from the engine's statistics, with the windows' totals."""
    liq = next((r.stats["liquidated_at"] for r in results if r.stats["liquidated"]), None)
    ts = curve.index.asi8 if curve.index.tz is None else curve.index.tz_convert("UTC").asi8
    stats = _core._curve_stats(
        np.ascontiguousarray(ts, dtype=np.int64),
        np.ascontiguousarray(curve.to_numpy(dtype=float)),
        initial,
        fills=int(sum(int(r.stats["fills"]) for r in results)),
        volume=float(sum(float(r.stats["turnover"]) * r.initial_balance for r in results)),
        fees=float(sum(float(r.stats["fees"]) for r in results)),
        funding=float(sum(float(r.stats["funding"]) for r in results)),
        rebates=float(sum(float(r.stats["rebates"]) for r in results)),
        liquidated_at=None if liq is None else int(pd.Timestamp(liq).value),
    )
    return pd.Series(stats, dtype=object)

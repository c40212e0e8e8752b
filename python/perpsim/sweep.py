"""``perpsim.sweep``: a Cartesian grid of strategy parameters run in the engine, on historical data
(one backtest per set) or on a price model (the same Monte Carlo paths for every set).

The sets run in batches, here on all cores (rayon, the GIL released) or on any
``concurrent.futures``-style executor (``dask.distributed.Client.get_executor()``, a process pool);
each set keeps one row of figures and nothing per bar, so memory does not grow with the data's
length times the number of sets. A set's row depends only on its strategy and the data (or the
model, seed and path ids), so any batch split or executor gives the same table."""

from __future__ import annotations

import itertools
from concurrent.futures import Executor
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import _core
from ._batches import progress_bar, run_batches
from ._frames import pandas_data, pandas_series
from ._protocol import StrategyInputs
from .errors import InvalidInputError
from .montecarlo import (
    _START,
    Model,
    _account,
    _exchange,
    _frame,
    _mc_strategy,
    _model_inputs,
    _whole,
    expected_shortfall,
)
from .strategies import Grid, IndexDeviation, Rebalance

__all__ = ["sweep", "combinations"]


def combinations(params: Mapping[str, Sequence[Any]]) -> List[Dict[str, Any]]:
    """Every combination of ``params`` (name → list of values), in ``itertools.product`` order:
    the order of a sweep's rows."""
    if not isinstance(params, Mapping) or not params:
        raise InvalidInputError("params: a mapping name -> list of values", "params")
    names = list(params)
    for k in names:
        v = params[k]
        if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
            raise InvalidInputError(f"params: {k} must be a list of values", k)
    return [dict(zip(names, vals)) for vals in itertools.product(*(list(params[k]) for k in names))]


def _data_batch(payload: Dict[str, Any], a: int, b: int) -> Dict[str, np.ndarray]:
    """Sets ``a..b`` of a sweep on data, as run on a worker (plain data in and out)."""
    cols = _core._sweep_data(
        payload["exchange"],
        payload["columns"],
        payload["strategies"][a:b],
        StrategyInputs(),
        threads=payload["threads"],
    )
    out = dict(cols)
    out["set"] = np.asarray(out["set"]) + a
    return out


def _model_batch(payload: Dict[str, Any], a: int, b: int) -> Dict[str, np.ndarray]:
    """Sets ``a..b`` of a sweep on a model, every set on the same paths."""
    cols = _core._mc_sweep(
        payload["exchange"],
        payload["model"],
        payload["inputs"],
        payload["strategies"][a:b],
        n_bars=payload["n_bars"],
        seed=payload["seed"],
        start=0,
        stop=payload["n_paths"],
        threads=payload["threads"],
        strategy_inputs=payload["strategy_inputs"],
    )
    out = dict(cols)
    out["set"] = np.asarray(out["set"]) + a
    return out


def _batched(
    fn: Any, payload: Dict[str, Any], n: int, executor: Optional[Executor], batch_size: Optional[int], progress: bool
) -> Dict[str, np.ndarray]:
    if batch_size is not None:
        size = _whole(batch_size, "batch_size")
    elif executor is not None or (progress and n >= 200):
        size = max(8, -(-n // 40))  # about 40 batches: a moving bar, work for every worker
    else:
        size = n
    bar = progress_bar(n, progress and n >= 200, "sets", "set")
    parts = run_batches(fn, payload, n, size, executor, bar)
    if len(parts) == 1:  # one batch: its columns are the table's (no copy)
        return {k: np.asarray(v) for k, v in parts[0].items()}
    return {k: np.concatenate([np.asarray(p[k]) for p in parts]) for k in parts[0]}


def sweep(
    strategy: Callable[..., Any],
    params: Mapping[str, Sequence[Any]],
    data: Optional[Union[pd.DataFrame, Mapping[str, pd.DataFrame]]] = None,
    model: Optional[Model] = None,
    contract: Any = None,
    n_paths: int = 100,
    n_bars: int = 8_760,
    seed: int = 0,
    per_path: bool = False,
    threads: Optional[int] = None,
    initial_balance: float = 10_000.0,
    leverage: Optional[float] = None,
    funding: Any = None,
    fixed: Optional[Mapping[str, Any]] = None,
    executor: Optional[Executor] = None,
    progress: bool = True,
    batch_size: Optional[int] = None,
    **options: Any,
) -> pd.DataFrame:
    """A Cartesian grid of strategy parameters, run in parallel in the engine.

    ``strategy``: a built-in strategy class (``perpsim.Grid``, ``perpsim.Rebalance``, ...) or a
    factory returning one; it is called with ``**fixed`` and each combination of ``params``. With
    ``data`` (a DataFrame or mapping): one backtest per set, a row of its figures each (the same
    figures as ``backtest(...).stats``). With ``model``: ``n_paths`` Monte Carlo paths per set (the
    same paths for every set), a row per set with the mean and quantiles of the return,
    P(liquidation) and the expected shortfall, or one row per set and path with ``per_path=True``.

    ``executor``: any ``concurrent.futures``-style executor (e.g. ``dask.distributed.Client.
    get_executor()``): batches of ``batch_size`` sets run on its workers; the table equals the local
    run's row for row. ``progress``: a progress bar over the sets (from 200 sets). ``threads``:
    cores per batch (default all).
    """
    data = None if data is None else pandas_data(data)
    funding = None if funding is None else pandas_series(funding, "funding")
    if (data is None) == (model is None):
        raise InvalidInputError("data: give exactly one of data and model", "data")
    combos = combinations(params)
    fixed = dict(fixed or {})
    strategies = []
    for combo in combos:
        try:
            strategies.append(strategy(**fixed, **combo))
        except InvalidInputError:
            raise
        except TypeError as e:
            raise InvalidInputError(f"params: {e}", "params") from None
    threads = None if threads is None else _whole(threads, "threads")
    if model is not None:
        return _model_sweep(
            combos,
            strategies,
            model,
            contract,
            _whole(n_paths, "n_paths"),
            _whole(n_bars, "n_bars"),
            _whole(seed, "seed", least=0),
            per_path,
            threads,
            initial_balance,
            leverage,
            funding,
            executor,
            progress,
            batch_size,
            options,
        )
    from .backtest import _contracts
    from .exchange import Exchange

    contracts, frames = _contracts(data, contract)
    ex = Exchange(contracts, initial_balance=initial_balance, leverage=leverage, **options)
    if not all(isinstance(s, (Grid, Rebalance, IndexDeviation)) for s in strategies):
        raise InvalidInputError("strategy: a sweep on data runs Grid, Rebalance or IndexDeviation", "strategy")
    columns = ex._columns(frames, funding, None)
    if executor is not None:  # bad input fails here, before any worker is involved
        _core._sweep_data(ex, columns, strategies[:1], StrategyInputs(), threads=threads)
    payload = dict(exchange=ex, columns=columns, strategies=strategies, threads=threads)
    cols = _batched(_data_batch, payload, len(strategies), executor, batch_size, progress)
    # one table in one constructor call: the parameters, then the figures (no concat)
    return _frame(cols, {k: [c[k] for c in combos] for k in combos[0]}, by_path=False)


def _model_sweep(
    combos: List[Dict[str, Any]],
    strategies: List[Any],
    model: Model,
    contract: Any,
    n_paths: int,
    n_bars: int,
    seed: int,
    per_path: bool,
    threads: Optional[int],
    initial_balance: float,
    leverage: Optional[float],
    funding: Any,
    executor: Optional[Executor],
    progress: bool,
    batch_size: Optional[int],
    options: Dict[str, Any],
) -> pd.DataFrame:
    c, balance, lev, strategy_inputs = _account(contract, model, initial_balance, leverage, n_bars)
    ex = _exchange(c, balance, lev, options)
    inputs = _model_inputs(model, funding, (c[0] if isinstance(c, list) else c).funding_interval_hours, _START, c)
    sets = [_mc_strategy(s, model) for s in strategies]
    payload = dict(
        exchange=ex,
        strategy_inputs=strategy_inputs,
        model=model,
        inputs=inputs,
        strategies=sets,
        n_bars=n_bars,
        seed=seed,
        n_paths=n_paths,
        threads=threads,
    )
    if executor is not None:  # bad input fails here, before any worker is involved
        _model_batch(dict(payload, n_paths=0), 0, 1)
    cols = _batched(_model_batch, payload, len(sets), executor, batch_size, progress)
    rows = _frame(cols)
    rows.insert(0, "set", np.asarray(cols["set"]))
    if per_path:
        rows = rows.reset_index()
        for name in combos[0]:
            rows.insert(1, name, [combos[i][name] for i in rows["set"]])
        return rows
    out = []
    for s, g in rows.groupby("set", sort=True):
        r = g["total_return"].to_numpy()
        out.append(
            {
                **combos[int(s)],
                "mean_return": float(r.mean()),
                "median_return": float(np.median(r)),
                "return_q05": float(np.quantile(r, 0.05)),
                "return_q95": float(np.quantile(r, 0.95)),
                "p_liquidation": float(g["liquidated"].mean()),
                "expected_shortfall_5pct": expected_shortfall(r, 0.05),
                "mean_max_drawdown": float(g["max_drawdown"].mean()),
                "mean_fills": float(g["fills"].mean()),
            }
        )
    return pd.DataFrame(out)

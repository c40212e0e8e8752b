"""Monte Carlo, parameter sweeps and scale-out (docs/montecarlo.md).

Price models (generated inside the compiled core, path by path, never as one big array):
:class:`GBM`, :class:`JumpDiffusion`, :class:`StudentT`, :class:`Bootstrap`. Each bar's high and
low come from the exact distribution of a Brownian bridge's extremes between open and close.

:func:`monte_carlo` runs a built-in strategy (:class:`~perpsim.Grid`, :class:`~perpsim.Rebalance`)
over many paths on all cores (rayon, the GIL released) and keeps one row per path;
:func:`perpsim.sweep` (``sweep.py``) runs parameter grids on the same paths. Path ``i`` of seed
``s`` is the same whatever the thread count, batch split, executor or machine, so a run split over
a dask cluster (``executor=client.get_executor()``) equals the single-machine run bit for bit.
"""

from __future__ import annotations

import math
from concurrent.futures import Executor
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from . import _core
from ._batches import progress_bar, run_batches
from ._protocol import ModelInputs, StrategyInputs
from ._tables import figures_table
from ._times import utc_array, utc_index
from .contracts import Contract, named
from .errors import InvalidInputError, whole_number
from .pathmodels import GBM, BasisSpread, Basket, Bootstrap, JumpDiffusion, Model, StudentT
from .strategies import Basis, Grid, IndexDeviation, Rebalance

__all__ = [
    "GBM",
    "Basket",
    "BasisSpread",
    "JumpDiffusion",
    "StudentT",
    "Bootstrap",
    "monte_carlo",
    "MonteCarloResult",
    "simulate_paths",
]

_START = pd.Timestamp("2024-01-01", tz="UTC")


def _model_inputs(
    model: Model, funding: Any, funding_interval_h: Optional[float], start: pd.Timestamp, contract: Any = None
) -> ModelInputs:
    """What a run adds to ``model``: the start time and funding (a constant rate, or a Series of real
    rates resampled at each funding time, every ``funding_interval_h`` hours, 8 by default), and for
    a basis model on a delivery ``contract`` its expiry."""
    if not isinstance(model, (GBM, JumpDiffusion, StudentT, Bootstrap, Basket, BasisSpread)):
        msg = "model: a perpsim GBM, JumpDiffusion, StudentT, Bootstrap, Basket or BasisSpread"
        raise InvalidInputError(msg, "model")
    hours = funding_interval_h if funding_interval_h else 8.0
    inputs = ModelInputs(start_ts=int(start.value), funding_interval_ns=int(hours * 3_600e9))
    if isinstance(model, BasisSpread) and getattr(contract, "expiry", None) is not None:
        inputs = inputs._replace(expiry_ns=int(contract.expiry.value))
    if isinstance(funding, pd.Series):
        inputs = inputs._replace(funding_history=np.ascontiguousarray(funding.to_numpy(dtype=float)))
    elif funding is not None:
        inputs = inputs._replace(funding_rate=funding)
    return model._inputs(inputs) if isinstance(model, Bootstrap) else inputs


def _mc_strategy(strategy: Any, model: Any = None) -> Any:
    if isinstance(model, BasisSpread) or isinstance(strategy, Basis):
        return strategy  # the engine checks that they go together (mc::Model::check_strategy)
    if isinstance(model, Basket):
        if not isinstance(strategy, (IndexDeviation, Grid, Rebalance)):
            raise InvalidInputError(
                "strategy: a basket runs the built-in IndexDeviation (or a Grid or Rebalance on one of its symbols)",
                "strategy",
            )
        return strategy
    if not isinstance(strategy, (Grid, Rebalance)):
        raise InvalidInputError(
            "strategy: Monte Carlo runs the built-in Grid or Rebalance (one symbol; IndexDeviation on a Basket model; "
            "Python callbacks are too slow for tens of thousands of paths)",
            "strategy",
        )
    return strategy


def _contracts(contract: Any, model: Any) -> Any:
    """One contract, or for a basket one per symbol in the basket's order (a mapping symbol ->
    Contract or name; missing or ``None``: each symbol's name, :func:`perpsim.contracts.named`)."""
    if not isinstance(model, Basket):
        c = contract if contract is not None else Contract("ASSET")
        c = named(c) if isinstance(c, str) else c
        if not isinstance(c, Contract):
            raise InvalidInputError("contract: one perpsim.Contract (or preset name)", "contract")
        return c
    given = {} if contract is None else contract
    if not isinstance(given, Mapping):
        raise InvalidInputError("contract: a mapping symbol -> Contract for a basket", "contract")
    unknown = [k for k in given if k not in model.symbols]
    if unknown:
        raise InvalidInputError(f"contract: {unknown[0]!r} is not a symbol of the basket", "contract")
    out = []
    for k in model.symbols:
        c = given.get(k, k)
        c = named(c) if isinstance(c, str) else c
        if not isinstance(c, Contract) or c.symbol != k:
            raise InvalidInputError(f"contract: the contract of {k} must be a perpsim.Contract named {k}", "contract")
        out.append(c)
    return out


def _account(
    contract: Any, model: Any, initial_balance: float, leverage: Optional[float], n_bars: int
) -> Tuple[Any, float, Optional[float], Optional[StrategyInputs]]:
    """The contract(s), the futures account's balance and leverage, and what the strategy needs
    beside them. The basis trade keeps its spot leg outside the account, as in a backtest: with
    linear futures the capital sits in the account, with inverse futures in the spot wallet; the
    spot closes come from each path (a placeholder of ``n_bars`` here)."""
    c = _contracts(contract, model)
    if not isinstance(model, BasisSpread):
        return c, float(initial_balance), leverage, None
    if c.kind == "spot":
        raise InvalidInputError("contract: a future (BasisSpread models a future's premium over its spot)", "contract")
    balance, lev, cash = Basis._capital(c.kind == "inverse", initial_balance, leverage)
    return c, balance, lev, StrategyInputs(spot=np.full(n_bars, np.nan), spot_fee=None, initial_cash=cash)


def _exchange(contract: Any, initial_balance: float, leverage: Optional[float], options: Dict[str, Any]) -> Any:
    from .exchange import Exchange

    return Exchange(contract, initial_balance=initial_balance, leverage=leverage, **options)


def _batch(
    payload: Dict[str, Any], start: int, stop: int
) -> Tuple[Dict[str, np.ndarray], List[Tuple[int, List[float]]]]:
    """One batch of paths, as run on a worker (picklable: plain data in, plain data out)."""
    ex = _exchange(payload["contract"], payload["initial_balance"], payload["leverage"], payload["options"])
    cols, curves = _core._mc_run(
        ex,
        payload["model"],
        payload["inputs"],
        payload["strategy"],
        n_bars=payload["n_bars"],
        seed=payload["seed"],
        start=start,
        stop=stop,
        threads=payload["threads"],
        curve_every=payload["curve_every"],
        strategy_inputs=payload["strategy_inputs"],
    )
    return dict(cols), list(curves)


def _run_batches(
    payload: Dict[str, Any], n: int, executor: Optional[Executor], batch_size: Optional[int], progress: bool
) -> Tuple[Dict[str, np.ndarray], List[Tuple[int, List[float]]]]:
    size = int(batch_size) if batch_size else max(256, -(-n // 40))
    bar = progress_bar(n, progress and n >= 2_000, "paths", "path")
    parts = run_batches(_batch, payload, n, size, executor, bar)
    cols = {k: np.concatenate([p[0][k] for p in parts]) for k in parts[0][0]}
    curves = [c for p in parts for c in p[1]]
    return cols, curves


def _frame(
    cols: Mapping[str, np.ndarray], lead: Optional[Mapping[str, Any]] = None, by_path: bool = True
) -> pd.DataFrame:
    """The engine's per-run figures (one row per path or set, the same figures as a backtest's
    ``stats``) as a DataFrame indexed by path (``by_path=False``: numbered rows), after the
    ``lead`` columns (a sweep's parameters); times as UTC timestamps. One constructor call over
    the engine's own arrays, taken as they are (perpsim/_tables.py)."""
    lead = dict(lead or {})
    data: Dict[str, Any] = {}
    for k, v in cols.items():
        if k in ("path", "set"):
            continue
        if k in lead:  # a parameter would hide a figure of the same name
            raise InvalidInputError(f"params: {k!r} is also the name of a figure of the table", k)
        data[k] = utc_array(v) if v.dtype.kind == "M" else v
    n = len(next(iter(cols.values()))) if cols else 0
    index = pd.Index(np.asarray(cols["path"]), name="path") if by_path else pd.RangeIndex(n)
    return figures_table(lead, data, index)


def expected_shortfall(returns: np.ndarray, level: float = 0.05) -> float:
    """The mean of the worst ``level`` fraction of ``returns`` (at least one)."""
    r = np.sort(np.asarray(returns, dtype=float))
    k = max(1, int(math.ceil(level * len(r))))
    return float(r[:k].mean())


class MonteCarloResult:
    """What :func:`monte_carlo` produced: ``paths`` (one row per path), ``summary()``,
    ``curves`` (the kept equity curves, one column per path) and ``plot()``."""

    def __init__(self, paths: pd.DataFrame, curves: pd.DataFrame, initial_balance: float, meta: Dict[str, Any]):
        self.paths = paths
        self.curves = curves
        self.initial_balance = initial_balance
        self.meta = meta

    def summary(
        self, losses: Sequence[float] = (0.1, 0.25, 0.5), es_level: float = 0.05, cascade: Optional[int] = None
    ) -> pd.Series:
        """Quantiles (1, 5, 25, 50, 75, 95, 99 %) of the total return, final equity and max
        drawdown; the probability of liquidation and of losing more than each of ``losses``; the
        expected shortfall (mean return of the worst ``es_level`` of the paths). For a strategy with
        stops (IndexDeviation): the mean number of stop-outs and the probability of a stop-loss
        cascade, at least ``cascade`` stop-outs within 24 hours (default: half the basket's symbols,
        at least 2)."""
        p = self.paths
        out: Dict[str, Any] = {"paths": len(p)}
        qs = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
        for col in ("total_return", "final_equity", "max_drawdown"):
            for q, v in zip(qs, np.quantile(p[col].to_numpy(), qs)):
                out[f"{col}_q{int(round(q * 100)):02d}"] = float(v)
        out["mean_return"] = float(p["total_return"].mean())
        out["p_liquidation"] = float(p["liquidated"].mean())
        for x in losses:
            out[f"p_loss_gt_{int(round(x * 100))}pct"] = float((p["total_return"] < -x).mean())
        out[f"expected_shortfall_{int(round(es_level * 100))}pct"] = expected_shortfall(p["total_return"], es_level)
        out["mean_fills"] = float(p["fills"].mean())
        if "max_stops_24h" in p.columns:
            if cascade is None:
                c = self.meta.get("contract")
                cascade = max(2, -(-len(c) // 2)) if isinstance(c, list) else 2
            cascade = whole_number("cascade", cascade, 1)
            out["mean_stops"] = float(p["stops"].mean())
            out[f"p_stop_cascade_{cascade}"] = float((p["max_stops_24h"] >= cascade).mean())
        return pd.Series(out, dtype=object)

    def plot(self, path: Optional[str] = None) -> Any:
        """A fan chart of the kept curves (5–95 % and 25–75 % bands of all of them, the median) and
        a histogram of the final equity (liquidated paths in red). Needs matplotlib."""
        try:
            import matplotlib

            if path is not None:
                matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError("MonteCarloResult.plot() needs matplotlib: pip install 'perpsim[plot]'") from None
        fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [3, 2]})
        from ._decimate import LIMIT

        c = self.curves
        if len(c) > LIMIT:  # long paths: every k-th step (the bands are smooth across steps)
            c = c.iloc[:: -(-len(c) // LIMIT)]
        if c.shape[1]:
            q = c.quantile([0.05, 0.25, 0.5, 0.75, 0.95], axis=1).T
            a.fill_between(c.index, q[0.05], q[0.95], color="tab:blue", alpha=0.15, label="5–95 %")
            a.fill_between(c.index, q[0.25], q[0.75], color="tab:blue", alpha=0.3, label="25–75 %")
            a.plot(c.index, q[0.5], color="tab:blue", lw=1.2, label="median")
            for col in c.columns[:5]:
                a.plot(c.index, c[col], lw=0.5, color="0.4", alpha=0.6)
            a.legend(loc="upper left", fontsize=8)
        a.axhline(self.initial_balance, color="0.5", lw=0.6, ls="--")
        a.set_title(f"equity, {c.shape[1]} sampled paths", fontsize=10)
        p = self.paths
        fe = p["final_equity"]
        bins = np.linspace(float(fe.min()), float(fe.max()) + 1e-9, 60)
        b.hist(fe[~p["liquidated"]], bins=bins, color="tab:blue", alpha=0.7, label="survived")
        if p["liquidated"].any():
            b.hist(fe[p["liquidated"]], bins=bins, color="tab:red", alpha=0.8, label="liquidated")
        b.axvline(self.initial_balance, color="0.3", lw=0.8, ls="--")
        b.set_title(
            f"final equity of {len(p):,} paths, P(liquidation) = {p['liquidated'].mean():.1%}",
            fontsize=10,
        )
        b.legend(fontsize=8)
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=110)
        return fig

    def report(self, path: Optional[str] = None, title: Optional[str] = None, png: Any = None) -> str:
        """Writes a self-contained HTML report (summary, per-path figures, fan chart and histogram
        as embedded PNG) to ``path`` (default ``perpsim-montecarlo.html`` here) and returns the
        path; :func:`perpsim.report.montecarlo_report` gives the page as a string. ``png``: also
        write the charts as a PNG file (a path, or ``True`` for ``path`` with the suffix ``.png``)."""
        from .report import montecarlo_report, write_png

        path = str(path) if path is not None else "perpsim-montecarlo.html"
        montecarlo_report(self, path, title)
        write_png(self.plot, path, png)
        return path

    def _repr_html_(self) -> str:
        """Jupyter's view: P(liquidation), the return quantiles and a small fan chart."""
        from .report import montecarlo_html

        return montecarlo_html(self)

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"MonteCarloResult(paths={s['paths']}, p_liquidation={s['p_liquidation']:.2%}, "
            f"median_return={s['total_return_q50']:.2%})"
        )


def monte_carlo(
    strategy: Union[Grid, Rebalance, IndexDeviation, Basis],
    contract: Any = None,
    model: Optional[Model] = None,
    n_paths: int = 1_000,
    n_bars: int = 8_760,
    seed: int = 0,
    threads: Optional[int] = None,
    executor: Optional[Executor] = None,
    progress: bool = True,
    keep_curves: int = 0,
    initial_balance: float = 10_000.0,
    leverage: Optional[float] = None,
    funding: Any = None,
    start: Any = None,
    batch_size: Optional[int] = None,
    **options: Any,
) -> MonteCarloResult:
    """Runs ``strategy`` on ``n_paths`` paths of ``n_bars`` bars of ``model`` in the engine.

    ``funding``: a constant rate per funding interval, or a Series of real rates resampled at each
    funding time (the contract's interval, 8 h by default). ``threads``: cores to use (default all).
    ``executor``: any ``concurrent.futures``-style executor (e.g. ``dask.distributed.Client.
    get_executor()``): batches of paths run on its workers and come back in path order, equal to
    the local run. ``keep_curves=k`` keeps about k equity curves (evenly spaced path ids).
    ``options`` go to :class:`~perpsim.Exchange` (``slippage``, ``liquidation_fee``, ...).

    With a :class:`Basket` model the paths are of several correlated symbols and ``contract`` is a
    mapping symbol -> Contract (default: each symbol's name); :class:`~perpsim.IndexDeviation` runs
    on the whole basket, and its stop-outs give each path's ``stops`` and ``max_stops_24h``
    (:meth:`MonteCarloResult.summary`: the probability of a stop-loss cascade). With a
    :class:`BasisSpread` model, :class:`~perpsim.Basis` runs on a spot and a perpetual future
    (``contract``): the capital and the default leverage as in its backtest.
    """
    if model is None:
        raise InvalidInputError("model: pass a GBM, JumpDiffusion, StudentT, Bootstrap or Basket", "model")
    n_paths = _whole(n_paths, "n_paths")
    n_bars = _whole(n_bars, "n_bars")
    seed = _whole(seed, "seed", least=0)
    threads = None if threads is None else _whole(threads, "threads")
    keep_curves = _whole(keep_curves, "keep_curves", least=0)
    batch_size = None if batch_size is None else _whole(batch_size, "batch_size")
    c, balance, lev, strategy_inputs = _account(contract, model, initial_balance, leverage, n_bars)
    ex = _exchange(c, balance, lev, options)
    t0 = _START if start is None else pd.Timestamp(start)
    t0 = t0.tz_localize("UTC") if t0.tzinfo is None else t0
    inputs = _model_inputs(model, funding, (c[0] if isinstance(c, list) else c).funding_interval_hours, t0, c)
    strategy = _mc_strategy(strategy, model)
    curve_every = int(math.ceil(n_paths / keep_curves)) if keep_curves else 0
    payload = dict(
        contract=c,
        initial_balance=balance,
        leverage=lev,
        strategy_inputs=strategy_inputs,
        options=dict(options),
        model=model,
        inputs=inputs,
        strategy=strategy,
        n_bars=n_bars,
        seed=int(seed),
        threads=None if threads is None else int(threads),
        curve_every=curve_every,
    )
    # Check everything once here (bad input fails before any worker is involved).
    _core._mc_run(
        ex,
        model,
        inputs,
        strategy,
        n_bars=n_bars,
        seed=int(seed),
        start=0,
        stop=0,
        threads=None if threads is None else int(threads),
        curve_every=curve_every,
        total=int(n_paths),
        strategy_inputs=strategy_inputs,
    )
    cols, curves = _run_batches(payload, n_paths, executor, batch_size, progress)
    step = pd.Timedelta(model.interval)
    paths = _frame(cols)
    index = pd.date_range(t0, periods=n_bars, freq=step, name="timestamp")
    cdf = pd.DataFrame({p: pd.Series(v, dtype=float) for p, v in curves})
    cdf = cdf.reindex(range(n_bars)).ffill()  # a liquidated path stays at its last equity
    cdf.index = index
    cdf.columns.name = "path"
    meta = dict(model=model, strategy=strategy, seed=int(seed), n_bars=n_bars, contract=c)
    return MonteCarloResult(paths, cdf, float(initial_balance), meta)


def _whole(v: Any, field: str, least: int = 1) -> int:
    return whole_number(field, v, least)


def simulate_paths(
    model: Model,
    n_paths: int = 1,
    n_bars: int = 8_760,
    seed: int = 0,
    funding: Any = None,
    funding_interval_hours: float = 8.0,
    start: Any = None,
    first_path: int = 0,
    contract: Any = None,
) -> pd.DataFrame:
    """The bars :func:`monte_carlo` would run (paths ``first_path`` … ``first_path + n_paths − 1``
    of ``seed``): one row per bar, indexed by (path, timestamp), columns open, high, low, close and
    funding (the rate paid at that bar's open; NaN when none); for a :class:`Basket`, indexed by
    (path, symbol, timestamp). ``contract``: for a :class:`BasisSpread`, the future (a delivery
    contract's premium converges at its expiry). For inspection: a Monte Carlo run never builds this
    table."""
    t0 = _START if start is None else pd.Timestamp(start)
    t0 = t0.tz_localize("UTC") if t0.tzinfo is None else t0
    c = named(contract) if isinstance(contract, str) else contract
    inputs = _model_inputs(model, funding, funding_interval_hours, t0, c)
    first = _whole(first_path, "first_path", least=0)
    cols = _core._mc_paths(
        model,
        inputs,
        _whole(n_bars, "n_bars"),
        _whole(seed, "seed", least=0),
        first,
        first + _whole(n_paths, "n_paths"),
    )
    ts = utc_index(np.asarray(cols.pop("timestamp"), dtype=np.int64))
    sym = np.asarray(cols.pop("symbol"))
    path = np.asarray(cols.pop("path"))
    if isinstance(model, (Basket, BasisSpread)):  # (path, symbol, timestamp): each symbol's bars
        legs = model.symbols if isinstance(model, Basket) else ["spot", "future"]
        names = pd.Categorical.from_codes(sym, categories=legs)  # in the model's order
        idx = pd.MultiIndex.from_arrays([path, names, ts], names=["path", "symbol", "timestamp"])
    else:
        idx = pd.MultiIndex.from_arrays([path, ts], names=["path", "timestamp"])
    return pd.DataFrame(cols, index=idx)

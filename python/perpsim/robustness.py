"""Robustness of one backtest: is it the strategy, or the order things happened in, the bars that
came, the parameters picked?

- :func:`trade_resampling`: the run's round trips (:func:`perpsim.trades.trades`) shuffled or
  bootstrapped, in the engine: the distribution of max drawdown and final equity, and the risk of
  ruin;
- :func:`block_bootstrap`: the run's own bars block-bootstrapped into Monte Carlo paths
  (:class:`perpsim.Bootstrap`), the same strategy, contract and account on each;
- :func:`sensitivity`: the objective over a neighbourhood of the chosen parameters (a sweep), and
  :func:`heatmap` for two of them;
- :func:`deflated_sharpe`: the probability that the true Sharpe ratio is above zero after
  selecting the best of ``n_trials`` sets (Bailey & López de Prado, 2014).
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any, Dict, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import _core
from .errors import InvalidInputError
from .montecarlo import Bootstrap, MonteCarloResult, _whole, monte_carlo
from .result import Result
from .sweep import sweep

__all__ = ["trade_resampling", "block_bootstrap", "sensitivity", "heatmap", "deflated_sharpe", "ResamplingResult"]

#: Euler–Mascheroni constant (the expected maximum of normal draws).
_GAMMA = 0.5772156649015329


class ResamplingResult:
    """Sequences of a run's trades: ``table`` (one row per sequence: final_equity, max_drawdown,
    min_equity, ruined), ``summary`` (a Series: risk_of_ruin, max-drawdown quantiles, ...), and the
    run's own figures for comparison."""

    def __init__(self, table: pd.DataFrame, how: str, ruin: float, actual: Mapping[str, float]) -> None:
        self.table = table
        self.how = how
        self.ruin = ruin
        self.actual = dict(actual)

    @property
    def risk_of_ruin(self) -> float:
        """The fraction of sequences whose equity fell to the ruin level."""
        return float(self.table["ruined"].mean())

    @property
    def summary(self) -> pd.Series:
        """Risk of ruin, the median and the 5 % / 95 % quantiles of max drawdown and final
        equity, and where the actual run's max drawdown ranks (the fraction of sequences with a
        drawdown at least as deep)."""
        t = self.table
        dd = t["max_drawdown"].to_numpy()
        fe = t["final_equity"].to_numpy()
        return pd.Series(
            {
                "sequences": len(t),
                "risk_of_ruin": self.risk_of_ruin,
                "max_drawdown_median": float(np.median(dd)),
                "max_drawdown_q05": float(np.quantile(dd, 0.05)),
                "max_drawdown_q95": float(np.quantile(dd, 0.95)),
                "final_equity_median": float(np.median(fe)),
                "final_equity_q05": float(np.quantile(fe, 0.05)),
                "final_equity_q95": float(np.quantile(fe, 0.95)),
                "actual_max_drawdown": self.actual["max_drawdown"],
                "actual_drawdown_rank": float(np.mean(dd <= self.actual["max_drawdown"])),
            },
            dtype=object,
        )

    def __repr__(self) -> str:
        return f"ResamplingResult({self.how}, {len(self.table)} sequences, risk of ruin {self.risk_of_ruin:.2%})"


def trade_resampling(
    result: Any,
    n: int = 10_000,
    how: str = "bootstrap",
    seed: int = 0,
    ruin: float = 0.5,
    threads: Optional[int] = None,
) -> ResamplingResult:
    """``n`` sequences of the run's closed trades (net PnL each: ``result.trades`` of a backtest
    :class:`~perpsim.Result` or of a :class:`~perpsim.WalkForwardResult`),
    ``how="shuffle"`` (the same trades in another order: the same final equity, other drawdowns) or
    ``"bootstrap"`` (as many trades drawn with replacement), each from the initial balance, folded
    by the engine's statistics. Ruin: the equity falls to ``(1 - ruin)`` of the initial balance or
    below (``ruin=1``: to zero). Reproducible with ``seed`` whatever ``threads``.

    The sequence is of trades, not bars: the drawdowns are between closed trades (an open
    position's unrealized swings and funding are not in them), a lower bound of the bar-by-bar
    drawdown."""
    if not hasattr(result, "trades") or not hasattr(result, "initial_balance"):
        raise InvalidInputError("result: a backtest Result or a WalkForwardResult", "result")
    if not (isinstance(ruin, (int, float)) and 0 < ruin <= 1):
        raise InvalidInputError("ruin: the fraction of the initial balance lost that counts as ruin, in (0, 1]", "ruin")
    pnl = np.ascontiguousarray(result.trades["pnl"].to_numpy(dtype=float))
    initial = float(result.initial_balance)
    cols = _core._resample_trades(
        pnl,
        initial,
        _whole(n, "n"),
        _whole(seed, "seed", least=0),
        str(how),
        initial * (1.0 - float(ruin)),
        threads=None if threads is None else _whole(threads, "threads"),
    )
    actual = _core._resample_trades(pnl, initial, 1, 0, "as_run", initial * (1.0 - float(ruin)))
    table = pd.DataFrame({k: np.asarray(v) for k, v in cols.items()})
    return ResamplingResult(table, str(how), float(ruin), {"max_drawdown": float(actual["max_drawdown"][0])})


def block_bootstrap(
    result: Result,
    n_paths: int = 1_000,
    block: float = 24.0,
    seed: int = 0,
    n_bars: Optional[int] = None,
    **kwargs: Any,
) -> MonteCarloResult:
    """Monte Carlo on the run's own bars: ``n_paths`` stationary block bootstraps (mean block
    ``block`` bars) of the backtest's data, starting at its first open, each as long as the run
    (``n_bars``), with the same strategy, contract, balance, leverage, fees and funding. One symbol,
    a Grid or Rebalance (what :func:`perpsim.monte_carlo` runs). ``kwargs`` go to
    :func:`perpsim.monte_carlo` (``threads``, ``executor``, ``keep_curves``, ...)."""
    if not isinstance(result, Result):
        raise InvalidInputError("result: a perpsim backtest Result", "result")
    settings = result.meta.get("settings")
    if settings is None or len(result.data) != 1:
        raise InvalidInputError("result: a backtest of one symbol (what Monte Carlo runs)", "result")
    bars = next(iter(result.data.values()))
    model = Bootstrap(bars, block=block, s0=float(bars["open"].iloc[0]))
    run = dict(settings)
    if "rebates" in run:
        raise InvalidInputError("result: a backtest with rebates (Monte Carlo paths have no rebate schedule)", "result")
    if isinstance(run.get("funding"), Mapping):  # one symbol: its own rates
        run["funding"] = next(iter(run["funding"].values()), None)
    run.update(kwargs)
    return monte_carlo(
        result.meta["strategy"],
        model=model,
        n_paths=n_paths,
        n_bars=len(bars) if n_bars is None else n_bars,
        seed=seed,
        start=bars.index[0],
        **run,
    )


def sensitivity(
    strategy: Any,
    around: Mapping[str, Any],
    steps: Mapping[str, Sequence[float]],
    data: Any,
    objective: str = "calmar",
    fixed: Optional[Mapping[str, Any]] = None,
    relative: bool = True,
    **kwargs: Any,
) -> pd.DataFrame:
    """The objective over a neighbourhood of the chosen parameters ``around``: for each name in
    ``steps``, its value times ``1 + s`` (``relative=True``) or plus ``s`` for each ``s`` of the
    steps (whole-number parameters rounded), the others as chosen; every combination swept on
    ``data`` (:func:`perpsim.sweep`; ``kwargs`` go to it). Returns the sweep's table with a
    ``change_<name>`` column per varied parameter; ``objective`` must be one of its columns."""
    if not steps:
        raise InvalidInputError("steps: a mapping parameter -> list of changes", "steps")
    params: Dict[str, list] = {}
    for name, ss in steps.items():
        if name not in around:
            raise InvalidInputError(f"steps: {name} is not among the chosen parameters", name)
        base = around[name]
        vals = []
        for s in ss:
            v = base * (1.0 + s) if relative else base + s
            vals.append(int(round(v)) if isinstance(base, (int, np.integer)) and not isinstance(base, bool) else v)
        params[name] = vals
    rest = {k: v for k, v in around.items() if k not in steps}
    table = sweep(strategy, params, data=data, fixed={**dict(fixed or {}), **rest}, **kwargs)
    if objective not in table.columns:
        raise InvalidInputError(f"objective: {objective!r} is not a column of the sweep", "objective")
    for name, ss in steps.items():
        lookup = dict(zip(params[name], ss))
        table.insert(table.columns.get_loc(name) + 1, f"change_{name}", [float(lookup[v]) for v in table[name]])
    return table


def heatmap(table: pd.DataFrame, x: str, y: str, value: str = "calmar", path: Optional[str] = None) -> Any:
    """A heat map of ``value`` over two parameters of a sweep table (rows ``y``, columns ``x``),
    as a matplotlib Figure (saved to ``path`` if given); the pivot is ``fig.table``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    for c in (x, y, value):
        if c not in table.columns:
            raise InvalidInputError(f"table: no column {c!r}", c)
    pivot = table.pivot_table(index=y, columns=x, values=value, aggfunc="mean").sort_index(ascending=False)
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    im = ax.imshow(pivot.to_numpy(dtype=float), cmap="RdYlGn", aspect="auto")
    ax.set_xticks(range(len(pivot.columns)), [f"{v:.4g}" for v in pivot.columns], rotation=45)
    ax.set_yticks(range(len(pivot.index)), [f"{v:.4g}" for v in pivot.index])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    for (i, j), v in np.ndenumerate(pivot.to_numpy(dtype=float)):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8)
    fig.colorbar(im, ax=ax, label=value)
    fig.tight_layout()
    fig.table = pivot  # type: ignore[attr-defined]
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig


def deflated_sharpe(
    sharpe: float,
    n_trials: int,
    trial_sharpes: Union[Sequence[float], np.ndarray],
    n_obs: int,
    skew: float = 0.0,
    kurtosis: float = 3.0,
    periods_per_year: float = 1.0,
) -> float:
    """The deflated Sharpe ratio (Bailey & López de Prado, 2014): the probability that the true
    Sharpe ratio is above zero given that ``sharpe`` is the best of ``n_trials`` sets whose Sharpe
    ratios ``trial_sharpes`` vary (their variance sets the expected best under no skill), measured
    on ``n_obs`` returns of that ``skew`` and (non-excess) ``kurtosis``.

    Sharpe ratios given annualized are de-annualized with ``periods_per_year`` (the figures of
    ``backtest(...).stats`` are annualized: pass the steps per year). Returns a probability in
    [0, 1]; above 0.95 is the usual bar."""
    n_trials = _whole(n_trials, "n_trials")
    n_obs = _whole(n_obs, "n_obs", least=2)
    trial = np.asarray(trial_sharpes, dtype=float)
    if trial.size < 1 or not np.all(np.isfinite(trial)):
        raise InvalidInputError("trial_sharpes: the finite Sharpe ratios of the sets tried", "trial_sharpes")
    if not (math.isfinite(sharpe) and math.isfinite(skew) and math.isfinite(kurtosis)):
        raise InvalidInputError("sharpe: finite sharpe, skew and kurtosis", "sharpe")
    if not periods_per_year > 0:
        raise InvalidInputError("periods_per_year: a positive number", "periods_per_year")
    k = math.sqrt(periods_per_year)
    sr = sharpe / k
    var = float(np.var(trial / k, ddof=1)) if trial.size > 1 else 0.0
    nd = NormalDist()
    if n_trials > 1:
        sr0 = math.sqrt(var) * (
            (1 - _GAMMA) * nd.inv_cdf(1 - 1 / n_trials) + _GAMMA * nd.inv_cdf(1 - 1 / (n_trials * math.e))
        )
    else:
        sr0 = 0.0
    den = 1 - skew * sr + (kurtosis - 1) / 4 * sr * sr
    if den <= 0:
        raise InvalidInputError("kurtosis: the Sharpe ratio's variance is not positive for these moments", "kurtosis")
    return float(nd.cdf((sr - sr0) * math.sqrt(n_obs - 1) / math.sqrt(den)))

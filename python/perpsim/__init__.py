"""perpsim: a backtesting and risk engine for crypto derivatives.

Linear (USDT-margined) and inverse (coin-margined) perpetual and delivery contracts, accounted for
as the exchanges do; a compiled Rust core driven from Python.

Public API (this release):

- :func:`backtest` → :class:`Result`: a built-in strategy (:class:`Grid`, :class:`Rebalance`,
  :class:`IndexDeviation`, :class:`Basis`, :class:`TargetPositions`) or a Python callback over bars.
- :func:`monte_carlo` → :class:`MonteCarloResult` with the models :class:`GBM`,
  :class:`JumpDiffusion`, :class:`StudentT`, :class:`Bootstrap`, and :class:`Basket` (correlated
  symbols); :func:`sweep`.
- research: :func:`walk_forward` → :class:`WalkForwardResult`, :mod:`perpsim.robustness` (trade
  resampling, block bootstrap of a result, parameter sensitivity, deflated Sharpe),
  :func:`lookahead_check`, round trips in ``Result.trades``.
- :mod:`perpsim.data`: the bundled real samples, loading files, resampling; :mod:`perpsim.calc`.
- :class:`Exchange`: the step-driven account (buy/sell, orders, marks, funding, positions, history).
- :class:`Contract` and the presets in :mod:`perpsim.contracts` (``BTCUSDT``, ``ETHUSDT``,
  ``BTCUSD``, ``ETHUSD``, ``BTCUSDT_SPOT``, :func:`quarterly`).
- :mod:`perpsim.reference`: the exact pure-Python twin of the ledger.
- :mod:`perpsim.errors`: the exception classes.
"""

import os as _os

from . import _core, brackets, calc, contracts, data, errors, montecarlo, reference, robustness
from ._core import __version__
from .backtest import Result, backtest
from .contracts import BTCUSD, BTCUSDT, BTCUSDT_SPOT, ETHUSD, ETHUSDT, Contract, FeeTiers, preset, quarterly
from .data import with_index, with_mark
from .errors import (
    DownloadError,
    InvalidInputError,
    OrderRejectedError,
    OutOfMemoryError,
    PerpsimError,
    PerpsimWarning,
    RunInterruptedError,
    RunWarning,
    UnknownSymbolError,
)
from .exchange import Exchange
from .given import run_paths
from .lookahead import LookaheadReport, lookahead_check
from .montecarlo import GBM, BasisSpread, Basket, Bootstrap, JumpDiffusion, MonteCarloResult, StudentT, monte_carlo
from .premium import funding_from_premium
from .strategies import Basis, Grid, IndexDeviation, Rebalance, TargetPositions
from .studies import deviation_risk_table
from .sweep import sweep
from .walkforward import WalkForwardResult, walk_forward

__all__ = [
    "__version__",
    "Exchange",
    "backtest",
    "Result",
    "Grid",
    "Rebalance",
    "TargetPositions",
    "IndexDeviation",
    "Basis",
    "deviation_risk_table",
    "with_mark",
    "with_index",
    "funding_from_premium",
    "monte_carlo",
    "run_paths",
    "sweep",
    "walk_forward",
    "WalkForwardResult",
    "lookahead_check",
    "LookaheadReport",
    "MonteCarloResult",
    "GBM",
    "Basket",
    "BasisSpread",
    "JumpDiffusion",
    "StudentT",
    "Bootstrap",
    "Contract",
    "FeeTiers",
    "preset",
    "quarterly",
    "BTCUSDT",
    "ETHUSDT",
    "BTCUSD",
    "ETHUSD",
    "BTCUSDT_SPOT",
    "PerpsimError",
    "InvalidInputError",
    "UnknownSymbolError",
    "OrderRejectedError",
    "RunInterruptedError",
    "OutOfMemoryError",
    "DownloadError",
    "PerpsimWarning",
    "RunWarning",
    "calc",
    "contracts",
    "data",
    "errors",
    "montecarlo",
    "reference",
    "robustness",
    "brackets",
]

# A child made by fork (a ProcessPoolExecutor or multiprocessing pool on Linux) has none of the
# parent's pool threads: the engine then builds its own pool for each parallel run.
if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_core._after_fork)

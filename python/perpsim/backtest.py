"""``perpsim.backtest``: run a strategy over bar data in the compiled engine's one event loop (a
built-in strategy, or Python callbacks called from that loop) and return a :class:`Result`."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Union

import numpy as np
import pandas as pd

from ._frames import pandas_data, pandas_series
from ._protocol import StrategyInputs
from .contracts import Contract, named
from .data import index_ns, with_index, with_mark
from .errors import InvalidInputError, emit
from .exchange import Exchange
from .premium import funding_from_premium
from .result import Result
from .strategies import Basis, Grid, IndexDeviation, Rebalance, TargetPositions

__all__ = ["backtest", "Result"]

Data = Union[pd.DataFrame, Mapping[str, pd.DataFrame]]


def _contracts(data: Data, contract: Any) -> tuple:
    if isinstance(data, pd.DataFrame):
        c = contract if contract is not None else Contract("ASSET")
        if isinstance(c, Mapping):
            if len(c) != 1:
                raise InvalidInputError("contract: one contract for one DataFrame", "contract")
            c = next(iter(c.values()))
        c = named(c) if isinstance(c, str) else c
        return [c], {c.symbol: data}
    if not isinstance(data, Mapping) or not data:
        raise InvalidInputError("data: a DataFrame or a non-empty mapping symbol -> DataFrame", "data")
    out = []
    for s in data:
        if contract is None:
            out.append(named(s))
        elif isinstance(contract, Mapping):
            if s not in contract:
                raise InvalidInputError(f"contract: no contract for {s}", "contract")
            c = contract[s]
            out.append(named(c) if isinstance(c, str) else c)
        else:
            raise InvalidInputError("contract: pass a mapping symbol -> Contract for several symbols", "contract")
    return out, {c.symbol: data[s] for c, s in zip(out, data)}


def backtest(
    data: Data,
    strategy: Union[Grid, Rebalance, TargetPositions, IndexDeviation, Any],
    contract: Any = None,
    initial_balance: float = 10_000.0,
    leverage: Optional[float] = None,
    path: str = "nearest_first",
    funding: Optional[Union[pd.Series, Mapping[str, pd.Series]]] = None,
    maker_fee: Optional[float] = None,
    taker_fee: Optional[float] = None,
    margin_mode: str = "cross",
    mark: Optional[Union[pd.DataFrame, Mapping[str, pd.DataFrame]]] = None,
    premium: Optional[Union[pd.Series, pd.DataFrame, Mapping[str, Any]]] = None,
    index: Optional[Union[pd.DataFrame, Mapping[str, pd.DataFrame]]] = None,
    rebates: Optional[Union[pd.DataFrame, Mapping[str, pd.DataFrame]]] = None,
    **options: Any,
) -> Result:
    """Runs ``strategy`` over ``data`` in the engine (no Python per bar) and returns a
    :class:`Result`.

    ``data``: a DataFrame with a DatetimeIndex (bar open times) and open/high/low/close (volume,
    mark optional), or a mapping symbol → DataFrame. ``contract``: a :class:`Contract` (or a
    mapping symbol → Contract); default a plain linear contract per symbol (``"ASSET"`` for a single
    DataFrame). ``funding``: funding rates by funding time (a Series, or a mapping per symbol), paid at
    the bar open. Other keyword options go to :class:`Exchange` (``slippage``, ``touch_fills``,
    ``same_bar``, ``max_participation``, ``liquidation_fee``, ``allow_negative_balance``, ...,
    ``fee_tiers``, a :class:`perpsim.FeeTiers` schedule by 30-day volume, and ``position_mode="hedge"``
    for a grid or a Python strategy on both sides, docs/accounting.md "Hedge mode").
    ``mark``: the mark's own bars (open/high/low/close, as Binance's markPriceKlines; a DataFrame,
    or a mapping per key of ``data``), joined by time as the ``mark_*`` columns
    (:func:`perpsim.data.with_mark`): margin, unrealized PnL and liquidation then follow the mark.
    ``premium``: the premium index (a Series or premiumIndexKlines, or a mapping per symbol): the
    funding of a symbol without a rate series is computed from it as the exchange does
    (:func:`perpsim.funding_from_premium`); given rates keep priority. ``index``: the index price's
    bars (indexPriceKlines; like ``mark``, :func:`perpsim.data.with_index`): delivery contracts
    settle at the average of its closes over the 30 minutes before expiry. ``rebates``: a
    trade-mining or volume rebate schedule (a DataFrame of periods indexed by start with
    ``market_volume`` and ``reward``, or a mapping per symbol; docs/accounting.md, "Rebates"): the
    account is credited ``a/(a+V)·reward`` at each period's end (``Result.rebates``).
    """
    data = pandas_data(data)
    mark = None if mark is None else pandas_data(mark, "mark")
    index = None if index is None else pandas_data(index, "index")
    funding = None if funding is None else pandas_series(funding, "funding")
    premium = None if premium is None else pandas_series(premium, "premium")
    if mark is not None:
        data = _join_each(data, mark, with_mark, "mark")
    if index is not None:
        data = _join_each(data, index, with_index, "index")
    if premium is not None and isinstance(strategy, Basis):
        raise InvalidInputError("premium: not with Basis (pass its futures' funding rates)", "premium")
    if rebates is not None and isinstance(strategy, Basis):
        raise InvalidInputError("rebates: not with Basis (its spot leg is outside the account)", "rebates")
    if isinstance(strategy, Basis):
        return _run_basis(
            data,
            strategy,
            contract,
            initial_balance,
            leverage,
            path,
            funding,
            maker_fee,
            taker_fee,
            margin_mode,
            options,
        )
    builtin = isinstance(strategy, (Grid, Rebalance, TargetPositions, IndexDeviation))
    if not builtin and not (callable(strategy) or hasattr(strategy, "on_bar") or hasattr(strategy, "on_fill")):
        raise InvalidInputError(
            "strategy: pass a perpsim.Grid, Rebalance or TargetPositions, a callable on_bar(exchange, timestamp, "
            "bars), or an object with on_bar / on_fill methods",
            "strategy",
        )
    contracts, frames = _contracts(data, contract)
    if premium is not None:
        funding = _premium_funding(funding, premium, contracts)
    ex = Exchange(
        contracts,
        initial_balance=initial_balance,
        leverage=leverage,
        maker_fee=maker_fee,
        taker_fee=taker_fee,
        margin_mode=margin_mode,
        path=path,
        **options,
    )
    symbols = list(ex.symbols)
    # What a rerun of this strategy on other bars needs (robustness.block_bootstrap, walk-forward).
    settings = dict(
        contract=contracts[0] if len(contracts) == 1 else {c.symbol: c for c in contracts},
        initial_balance=initial_balance,
        leverage=leverage,
        funding=funding,
        maker_fee=maker_fee,
        taker_fee=taker_fee,
        margin_mode=margin_mode,
        path=path,
        **options,
    )
    if rebates is not None:
        settings["rebates"] = rebates
    if not builtin:
        stats = _run_python(ex, frames, funding, strategy, rebates)
        return _result(Result(ex, stats, {}, frames), strategy, settings)
    inputs = strategy._inputs(symbols) if isinstance(strategy, TargetPositions) else None
    strategy_stats, stats = ex.run_strategy(frames, strategy, inputs, funding=funding, rebates=rebates)
    return _result(Result(ex, stats, strategy_stats, frames), strategy, settings)


def _join_each(data: Any, extra: Any, join: Any, field: str) -> Any:
    """``data`` with ``extra``'s bars joined by ``join`` (``extra`` a DataFrame for a single
    DataFrame of data, else a mapping over some of data's keys)."""
    if isinstance(data, pd.DataFrame):
        return join(data, extra)
    if not isinstance(data, Mapping) or not isinstance(extra, Mapping):
        raise InvalidInputError(f"{field}: a mapping key -> DataFrame of bars, like data", field)
    unknown = [k for k in extra if k not in data]
    if unknown:
        raise InvalidInputError(f"{field}: {unknown[0]!r} is not a key of data", field)
    return {k: (join(df, extra[k]) if k in extra else df) for k, df in data.items()}


def _premium_funding(funding: Any, premium: Any, contracts: Any) -> Any:
    """``funding`` completed, per symbol without a rate series, from its premium index."""
    symbols = [c.symbol for c in contracts]
    if isinstance(premium, (pd.Series, pd.DataFrame)):
        if len(symbols) != 1:
            raise InvalidInputError("premium: a mapping symbol -> premium index for several symbols", "premium")
        premium = {symbols[0]: premium}
    if not isinstance(premium, Mapping):
        raise InvalidInputError("premium: a Series, premium index klines, or a mapping per symbol", "premium")
    unknown = [k for k in premium if k not in symbols]
    if unknown:
        raise InvalidInputError(f"premium: {unknown[0]!r} is not a symbol of the run", "premium")
    given: Dict[str, Any] = {}
    if isinstance(funding, pd.Series):
        given = {symbols[0]: funding} if len(symbols) == 1 else {}
    elif isinstance(funding, Mapping):
        given = dict(funding)
    elif funding is not None:
        return funding  # refused with its own message by the run
    out = dict(given)
    for c in contracts:
        if c.symbol in premium and given.get(c.symbol) is None:
            out[c.symbol] = funding_from_premium(premium[c.symbol], c)
    return out


def _result(r: Result, strategy: Any, settings: Optional[Dict[str, Any]] = None) -> Result:
    """The result, its doubtful warnings emitted to Python's ``warnings`` (once each)."""
    r.meta["strategy"] = strategy
    if settings is not None:
        r.meta["settings"] = settings
    emit(r.warnings, stacklevel=3)
    return r


def _run_python(
    ex: Exchange, frames: Mapping[str, pd.DataFrame], funding: Any, strategy: Any, rebates: Any = None
) -> Mapping[str, Any]:
    """A Python callback strategy, run inside the engine's event loop (funding, settlement,
    liquidation and recording are the engine's): ``on_start(exchange)`` first, then
    ``on_fill(exchange, fill)`` after each fill as it happens along the path and
    ``on_bar(exchange, timestamp, bars)`` at each close (``bars``: symbol -> (open, high, low,
    close) of the symbols with a bar at that step). Returns the run's figures."""
    on_bar = strategy if callable(strategy) and not hasattr(strategy, "on_bar") else getattr(strategy, "on_bar", None)
    on_fill = getattr(strategy, "on_fill", None)
    if hasattr(strategy, "on_start"):
        strategy.on_start(ex)
    return ex._run_python(ex._columns(frames, funding, None, rebates), on_bar, on_fill)


def _timeline(frames: Any) -> pd.DatetimeIndex:
    """Every step time of the frames (the union of their indexes)."""
    frames = list(frames)
    timeline = frames[0].index
    for df in frames[1:]:
        timeline = timeline.union(df.index)
    return timeline


def _run_basis(
    data: Data,
    strategy: Basis,
    contract: Any,
    initial_balance: float,
    leverage: Optional[float],
    path: str,
    funding: Any,
    maker_fee: Optional[float],
    taker_fee: Optional[float],
    margin_mode: str,
    options: Dict[str, Any],
) -> Result:
    """The basis strategy: the spot data feed the strategy's spot wallet, the futures run in the engine."""
    if not isinstance(data, Mapping) or len(data) < 2:
        raise InvalidInputError("data: Basis needs a mapping with the spot data and at least one future", "data")
    contracts, frames = _contracts(data, contract)
    if strategy.spot is not None:
        keys = list(data)
        if strategy.spot not in keys:
            raise InvalidInputError(f"spot: {strategy.spot!r} is not in the data", "spot")
        spot_sym = contracts[keys.index(strategy.spot)].symbol
    else:
        spots = [c.symbol for c in contracts if c.kind == "spot"]
        if len(spots) != 1:
            raise InvalidInputError("spot: name the spot data (no single spot contract among the contracts)", "spot")
        spot_sym = spots[0]
    spot_c = next(c for c in contracts if c.symbol == spot_sym)
    futures = [c for c in contracts if c.symbol != spot_sym]
    if any(c.kind == "spot" for c in futures):
        raise InvalidInputError("contract: only one spot contract; the others must be futures", "contract")
    if strategy.annualized and any(c.expiry is None for c in futures):
        raise InvalidInputError("annualized: needs delivery contracts (a perpetual has no expiry)", "annualized")
    account_balance, lev, cash = Basis._capital(futures[0].kind == "inverse", initial_balance, leverage)
    ex = Exchange(
        futures,
        initial_balance=account_balance,
        leverage=lev,
        maker_fee=maker_fee,
        taker_fee=taker_fee,
        margin_mode=margin_mode,
        path=path,
        **options,
    )
    fut_frames = {c.symbol: frames[c.symbol] for c in futures}
    sdf = frames[spot_sym]
    # Every step of the spot data and of the futures: the spot leg is priced at each, and a delivery
    # contract settles at the first step at or after its expiry.
    timeline = _timeline([sdf, *fut_frames.values()])
    if "close" not in sdf.columns:
        raise InvalidInputError(f"data[{spot_sym}]: no 'close' column", "close")
    if not isinstance(sdf.index, pd.DatetimeIndex):
        raise InvalidInputError(f"data[{spot_sym}]: the index must be a DatetimeIndex", "index")
    close = sdf["close"].astype(float)
    if not close.index.is_monotonic_increasing:
        raise InvalidInputError(f"data[{spot_sym}]: timestamps must increase", "index")
    # The spot close at each step it has a bar; NaN elsewhere (the trade waits for a spot price).
    spot = close[~close.index.duplicated()].reindex(timeline).to_numpy(dtype=float)
    inputs = StrategyInputs(
        spot=np.ascontiguousarray(spot),
        spot_fee=float(spot_c.taker_fee) if spot_c.kind == "spot" else None,
        initial_cash=cash,
        clock=index_ns(timeline, "timeline"),
    )
    strategy_stats, stats = ex.run_strategy(fut_frames, strategy, inputs, funding=funding)
    strategy_stats["spot_symbol"] = spot_sym
    return _result(Result(ex, stats, strategy_stats, {**fut_frames, spot_sym: sdf}), strategy)

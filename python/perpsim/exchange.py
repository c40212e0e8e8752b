"""The step-driven exchange account, backed by the Rust ledger."""

from __future__ import annotations

from typing import Any, Type, TypeVar

import pandas as pd

from . import _core

__all__ = ["Exchange"]

_E = TypeVar("_E", bound="Exchange")


def _restore(cls: Type[_E], state: bytes) -> _E:
    return cls.__new__(cls, _state=state)


class Exchange(_core.Exchange):
    """A step-driven exchange account for strategies written in Python and for embedding.

    ``Exchange(contracts, initial_balance=10_000, leverage=None, maker_fee=None, taker_fee=None,
    margin_mode="cross")``

    - ``contracts``: a symbol name, a :class:`perpsim.Contract`, or a sequence of them, all settling in
      the same asset (one cross-margined wallet). A bare symbol name is a linear contract with
      contract size 1 and no exchange filters (any positive quantity is accepted), maker 0.02 %,
      taker 0.05 %, a flat 0.4 % maintenance margin rate and 125x maximum leverage.
    - ``initial_balance``: in the settlement currency (USDT for linear, the coin for inverse).
    - ``leverage``: per symbol; default 20x capped by the contract's maximum (spot: 1x). Orders that
      would need more initial margin than the equity are rejected (:class:`OrderRejectedError`).
    - ``maker_fee`` / ``taker_fee``: override every contract's fee rates.
    - ``margin_mode``: ``"cross"`` (default) or ``"isolated"`` for every symbol.

    Trading: ``buy(symbol, price, qty)`` / ``sell(...)`` fill at once at ``price`` with the taker fee
    and return a :class:`perpsim._core.Fill`; ``close(symbol, price)``. Quantities are rounded to the
    contract's step size and checked against its minimum quantity and notional.
    Market data: ``update(timestamp, prices)`` marks every symbol (NaN keeps the last price) and
    appends one row to :meth:`history`; ``apply_funding(symbol, rate, mark_price)``.
    Figures: ``position(symbol)``, ``account``, ``liquidation_price(symbol)``, :meth:`history`.

    Every rejected call raises (a ``ValueError`` subclass for bad input) and leaves the account as
    it was. Objects are independent (no global state), print nothing and can be pickled.
    """

    def history(self) -> pd.DataFrame:
        """One row per :meth:`update`, indexed by its timestamp (UTC): equity, wallet_balance,
        margin, realized_pnl, unrealized_pnl, fees, funding, effective_leverage (and equity_quote
        for inverse accounts: equity in quote at the first symbol's mark)."""
        ts, cols = self._history_arrays()
        index = pd.DatetimeIndex(pd.to_datetime(ts, unit="ns", utc=True), name="timestamp")
        df = pd.DataFrame(cols, index=index)
        if not self.is_inverse:
            df = df.drop(columns="equity_quote")
        return df

    def __reduce__(self) -> Any:
        return (_restore, (type(self), self.__getstate__()))

    def __repr__(self) -> str:
        a = self.account
        return (
            f"Exchange(symbols={list(self.symbols)}, equity={a.equity:.8g} {a.settle_asset}, updates={self.n_updates})"
        )

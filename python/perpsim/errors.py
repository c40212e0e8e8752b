"""Exception classes raised by perpsim.

Every error carries ``.field``: the argument or column it is about.

- :class:`InvalidInputError` (a :class:`ValueError`): bad input — NaN, infinite, negative or
  out-of-range numbers, bad contract fields, bad timestamps.
- :class:`UnknownSymbolError` (an :class:`InvalidInputError`): a symbol the account does not hold.
- :class:`OrderRejectedError`: a well-formed order the exchange would refuse (under the minimum
  quantity or notional, insufficient margin, a spot short). The account is left unchanged.
- :class:`RunInterruptedError`: a run that stopped before its end (a strategy callback stopped it, or
  the user interrupted it); its figures are not returned as if complete.
"""

from __future__ import annotations

from typing import Optional

__all__ = ["PerpsimError", "InvalidInputError", "UnknownSymbolError", "OrderRejectedError", "RunInterruptedError"]


class PerpsimError(Exception):
    """Base class of perpsim's errors; ``field`` names the argument the error is about."""

    def __init__(self, message: str, field: Optional[str] = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidInputError(PerpsimError, ValueError):
    """Bad input: the message and ``field`` name the argument (and row, for data)."""


class UnknownSymbolError(InvalidInputError):
    """A symbol that the account does not hold."""


class OrderRejectedError(PerpsimError):
    """An order the exchange would reject; the account is unchanged."""


class RunInterruptedError(PerpsimError):
    """A run that stopped before its end; nothing it computed is returned as if complete."""

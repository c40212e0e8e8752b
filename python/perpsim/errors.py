"""Exception classes raised by perpsim.

Every error carries ``.field``: the argument or column it is about.

- :class:`InvalidInputError` (a :class:`ValueError`): bad input — NaN, infinite, negative or
  out-of-range numbers, bad contract fields, bad timestamps.
- :class:`UnknownSymbolError` (an :class:`InvalidInputError`): a symbol the account does not hold.
- :class:`OrderRejectedError`: a well-formed order the exchange would refuse (under the minimum
  quantity or notional, insufficient margin, a spot short). The account is left unchanged.
- :class:`OutOfMemoryError` (a :class:`MemoryError`): what a run needs does not fit in the memory
  available (estimated before it starts: recorded steps, kept curves, generated paths), or an
  allocation inside the engine failed.
- :class:`RunInterruptedError`: a run that stopped before its end (a strategy callback stopped it, or
  the user interrupted it); its figures are not returned as if complete.

What a run says besides its numbers is a list of :class:`RunWarning` (``Result.warnings``); the
ones that make a result doubtful are also emitted as a :class:`PerpsimWarning` through Python's
:mod:`warnings` module (docs/guide.md, "What perpsim refuses and what it warns about").
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Iterable, List, Mapping, Optional

import pandas as pd

__all__ = [
    "PerpsimError",
    "InvalidInputError",
    "UnknownSymbolError",
    "OrderRejectedError",
    "RunInterruptedError",
    "OutOfMemoryError",
    "DownloadError",
    "PerpsimWarning",
    "RunWarning",
]


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


class OutOfMemoryError(PerpsimError, MemoryError):
    """What a run needs does not fit in the memory available; nothing was computed."""


class DownloadError(PerpsimError):
    """Data that could not be downloaded whole: a file missing from the archive, a checksum that
    does not match, a connection that broke. Nothing partial is cached or returned."""


class RunInterruptedError(PerpsimError):
    """A run that stopped before its end; nothing it computed is returned as if complete."""


class PerpsimWarning(UserWarning):
    """A run whose result is doubtful (most orders rejected, inputs that matched nothing, data
    that never overlap): emitted once per run and condition; the run's ``warnings`` list has it too."""


@dataclass(frozen=True)
class RunWarning:
    """One thing a run says besides its numbers (the engine counts them as the run goes).

    ``kind``: ``rejected`` (orders refused, by reason), ``not_sent`` (orders a strategy did not
    send), ``most_rejected``, ``stale`` (steps at which a symbol had no bar: not tradable, marked at
    its last price), ``not_started`` (steps before a symbol's data begin), ``unmatched`` (input rows
    that matched no step), ``no_overlap``, ``liquidated``, ``blown``, ``no_mark`` (bars without the
    mark's own bar in a run that has mark bars: the mark followed the trade price there). ``symbol``: None for the run.
    ``count`` out of ``total`` (0: no total); ``first`` / ``last``: UTC times or None; ``doubtful``:
    whether it makes the result doubtful."""

    kind: str
    message: str
    symbol: Optional[str] = None
    count: int = 0
    total: int = 0
    first: Optional[pd.Timestamp] = None
    last: Optional[pd.Timestamp] = None
    detail: str = ""
    doubtful: bool = False

    def __str__(self) -> str:
        return self.message


def _time(ns: Optional[int]) -> Optional[pd.Timestamp]:
    return None if ns is None else pd.Timestamp(int(ns), unit="ns", tz="UTC")


def run_warnings(raw: Iterable[Mapping[str, Any]]) -> List[RunWarning]:
    """The engine's warning records (``Exchange._warnings()``) as :class:`RunWarning`."""
    return [
        RunWarning(
            kind=str(w["kind"]),
            message=str(w["message"]),
            symbol=None if w["symbol"] is None else str(w["symbol"]),
            count=int(w["count"]),
            total=int(w["total"]),
            first=_time(w["first"]),
            last=_time(w["last"]),
            detail=str(w["detail"]),
            doubtful=bool(w["doubtful"]),
        )
        for w in raw
    ]


def emit(items: Iterable[RunWarning], stacklevel: int = 3) -> None:
    """Emits the doubtful ones as :class:`PerpsimWarning` (once each)."""
    for w in items:
        if w.doubtful:
            warnings.warn(w.message, PerpsimWarning, stacklevel=stacklevel + 1)


WHOLE_MAX = 2**63 - 1  # the largest count the engine holds


def whole_number(field: str, v: Any, least: int = 0) -> int:
    """``v`` as a whole number from ``least`` to :data:`WHOLE_MAX`: an int (Python or numpy), not a
    bool or a float; else an :class:`InvalidInputError` naming ``field``."""
    import numpy as np

    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not least <= int(v) <= WHOLE_MAX:
        raise InvalidInputError(f"{field}: a whole number from {least} to {WHOLE_MAX}, got {v!r}", field)
    return int(v)

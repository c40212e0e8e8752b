"""The reference: perpsim's accounting and matching in plain, exact Python.

The readable twin of the Rust engine. Every amount is a :class:`fractions.Fraction`; the test
suite drives the same random operations through these classes and through
:class:`perpsim.Exchange` and demands the same numbers. Slow on purpose: clarity first.

- :class:`Ledger`: the accounting (docs/accounting.md): positions, fees, funding, margin,
  liquidation prices.
- :class:`Exchange`: the ledger plus orders matched along the intrabar path (docs/matching.md),
  with the same API as :class:`perpsim.Exchange`.
- :func:`funding_from_premium`: funding rates from the premium index (docs/accounting.md).
"""

from .exchange import Exchange, RefOrder
from .funding import funding_from_premium
from .ledger import (
    DUST,
    Ledger,
    RefAccount,
    RefPosition,
    brackets_with_cum,
    exact,
    liquidation_price,
)

__all__ = [
    "DUST",
    "Exchange",
    "Ledger",
    "RefAccount",
    "RefOrder",
    "RefPosition",
    "brackets_with_cum",
    "exact",
    "funding_from_premium",
    "liquidation_price",
]

"""Margin brackets from the exchange's own answer: the JSON that Binance's leverage-bracket
endpoints return (``GET /fapi/v1/leverageBracket`` for USDⓈ-M: ``notionalFloor``/``notionalCap`` in
quote; ``GET /dapi/v2/leverageBracket`` for COIN-M: ``qtyFloor``/``qtyCap`` in coin, spelt
``qtylFloor`` in some answers), so users bring a current table::

    table = perpsim.brackets.from_json("brackets.json", "BTCUSDT")
    contract = perpsim.BTCUSDT.replace(brackets=table)

The table is checked, not trusted: brackets must follow each other (each floor the previous cap,
the first at 0), leverage must not rise and the maintenance rate must not fall from one bracket
to the next, and each ``cum`` (Binance's maintenance amount) must be what the floors and rates
give, ``cum_i = cum_(i-1) + floor_i · (mmr_i − mmr_(i-1))``: the engine derives it the same way, so
a table whose ``cum`` disagrees would be liquidated at other prices than the exchange's.

:func:`contract_from_json` builds a whole :class:`perpsim.Contract` from the exchange-information
answer (``GET /fapi/v1/exchangeInfo``, ``GET /dapi/v1/exchangeInfo``: kind, contract size, expiry,
tick and step sizes, minimum quantity and notional, the liquidation clearance fee) and the
leverage-bracket answer, so that any listed symbol can be backtested with the exchange's rules as
they were when the two answers were saved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, List, Optional, Tuple, Union

import pandas as pd

from .errors import InvalidInputError

__all__ = ["from_json", "contract_from_json"]

Tier = Tuple[float, float, float]


def _load(source: Any) -> Any:
    if isinstance(source, (list, dict)):
        return source
    if isinstance(source, Path) or (isinstance(source, str) and not source.lstrip().startswith(("[", "{"))):
        p = Path(source)
        if not p.exists():
            raise InvalidInputError(f"brackets: no such file: {p}", "source")
        source = p.read_text(encoding="utf-8")
    try:
        return json.loads(source)
    except (TypeError, json.JSONDecodeError) as e:
        raise InvalidInputError(f"brackets: not the JSON of a leverage-bracket answer: {e}", "source") from None


def _entry(doc: Any, symbol: Optional[str]) -> dict:
    entries = [doc] if isinstance(doc, dict) else doc
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InvalidInputError("brackets: expected a list of {symbol, brackets} objects (or one)", "source")
    names = [str(e.get("symbol") or e.get("pair") or "") for e in entries]
    if symbol is None:
        if len(entries) != 1:
            raise InvalidInputError(
                f"symbol: the answer holds {len(entries)} symbols; name one of {names[:10]}", "symbol"
            )
        return entries[0]
    for name, e in zip(names, entries):
        if name.upper() == symbol.upper():
            return e
    raise InvalidInputError(f"symbol: {symbol} is not in the answer (it has {names[:10]}...)", "symbol")


def _num(b: dict, keys: Tuple[str, ...], k: int) -> float:
    for key in keys:
        if key in b:
            try:
                v = float(b[key])
            except (TypeError, ValueError):
                raise InvalidInputError(f"brackets[{k}].{key}: not a number: {b[key]!r}", key) from None
            if v != v or v in (float("inf"), float("-inf")):
                raise InvalidInputError(f"brackets[{k}].{key}: not a finite number", key)
            return v
    raise InvalidInputError(f"brackets[{k}]: no {' or '.join(keys)}", keys[0])


def from_json(source: Union[str, Path, list, dict], symbol: Optional[str] = None) -> Tuple[Tier, ...]:
    """The brackets of ``symbol`` (or of the one symbol of the answer) as a :class:`perpsim.Contract`
    takes them: ``(floor, max leverage, maintenance margin rate)`` per bracket, floors in quote for
    USDⓈ-M and in coin for COIN-M. ``source``: a path, the JSON text, or the parsed answer. Refused
    (:class:`perpsim.InvalidInputError` naming the bracket and field) when the table is not
    consistent (see the module doc)."""
    entry = _entry(_load(source), symbol)
    raw = entry.get("brackets", entry.get("riskBrackets"))
    if not isinstance(raw, list) or not raw:
        raise InvalidInputError("brackets: the symbol has no brackets list", "brackets")
    rows: List[Tuple[float, float, float, float, Optional[float]]] = []
    for k, b in enumerate(sorted(raw, key=lambda b: float(b.get("bracket", 0)) if isinstance(b, dict) else 0)):
        if not isinstance(b, dict):
            raise InvalidInputError(f"brackets[{k}]: not an object", "brackets")
        floor = _num(b, ("notionalFloor", "qtyFloor", "qtylFloor"), k)
        cap = _num(b, ("notionalCap", "qtyCap"), k)
        lev = _num(b, ("initialLeverage",), k)
        mmr = _num(b, ("maintMarginRatio",), k)
        cum = _num(b, ("cum",), k) if "cum" in b else None
        rows.append((floor, cap, lev, mmr, cum))
    out: List[Tier] = []
    cum_expected = 0.0
    for k, (floor, cap, lev, mmr, cum) in enumerate(rows):
        if k == 0 and floor != 0.0:
            raise InvalidInputError(f"brackets[0].floor: the first bracket starts at {floor}, not 0", "notionalFloor")
        if k > 0:
            prev = rows[k - 1]
            if floor != prev[1]:
                raise InvalidInputError(
                    f"brackets[{k}].floor: {floor} is not the previous bracket's cap {prev[1]}", "notionalFloor"
                )
            if lev > prev[2]:
                raise InvalidInputError(
                    f"brackets[{k}].initialLeverage: rises from {prev[2]} to {lev}", "initialLeverage"
                )
            if mmr < prev[3]:
                raise InvalidInputError(
                    f"brackets[{k}].maintMarginRatio: falls from {prev[3]} to {mmr}", "maintMarginRatio"
                )
            cum_expected += floor * (mmr - prev[3])
        if not cap > floor:
            raise InvalidInputError(f"brackets[{k}].cap: {cap} is not above the floor {floor}", "notionalCap")
        if not (lev >= 1.0 and 0.0 < mmr < 1.0):
            raise InvalidInputError(
                f"brackets[{k}]: leverage {lev} and maintenance rate {mmr} out of range", "maintMarginRatio"
            )
        if cum is not None and abs(cum - cum_expected) > 1e-6 * max(1.0, abs(cum_expected)):
            raise InvalidInputError(
                f"brackets[{k}].cum: {cum} where the floors and rates give {cum_expected:.10g}", "cum"
            )
        out.append((floor, lev, mmr))
    return tuple(out)


def _filter(entry: dict, kind: str) -> dict:
    for f in entry.get("filters", []):
        if isinstance(f, dict) and f.get("filterType") == kind:
            return f
    return {}


def _field(d: dict, key: str, what: str, default: Optional[float] = None) -> float:
    if key not in d:
        if default is not None:
            return default
        raise InvalidInputError(f"{what}: no {key}", key)
    try:
        v = float(d[key])
    except (TypeError, ValueError):
        raise InvalidInputError(f"{what}.{key}: not a number: {d[key]!r}", key) from None
    if v != v or v < 0 or v == float("inf"):
        raise InvalidInputError(f"{what}.{key}: not a finite number >= 0", key)
    return v


def _table(brackets: Any, symbol: str, pair: str) -> Tuple[Tier, ...]:
    """The symbol's brackets; COIN-M answers of the v1 endpoint name the pair (``BTCUSD``), not
    the symbol (``BTCUSD_PERP``)."""
    try:
        return from_json(brackets, symbol)
    except InvalidInputError as e:
        if pair.upper() == symbol.upper() or e.field != "symbol":
            raise
        return from_json(brackets, pair)


def contract_from_json(
    exchange_info: Union[str, Path, list, dict],
    symbol: str,
    brackets: Union[str, Path, list, dict],
    maker_fee: Optional[float] = None,
    taker_fee: Optional[float] = None,
    funding_interval_hours: Optional[float] = 8.0,
) -> Any:
    """The :class:`perpsim.Contract` of ``symbol`` from Binance's exchange-information answer (a
    path, the JSON text or the parsed answer; USDⓈ-M or COIN-M) and its leverage-bracket answer
    (:func:`from_json`).

    From the symbol's entry: linear when it settles in its quote asset, inverse (coin-margined,
    ``contractSize`` USD a contract) when it settles in its base coin; a delivery contract's expiry
    from ``deliveryDate`` (``contractType`` other than ``PERPETUAL``); ``tickSize``
    (``PRICE_FILTER``), ``stepSize`` and ``minQty`` (``LOT_SIZE``), ``notional`` (``MIN_NOTIONAL``,
    USDⓈ-M; 0 when absent); the clearance fee from ``liquidationFee`` when present. Fees are not in
    the answer (they depend on the account): ``maker_fee``/``taker_fee`` (default the Contract's,
    0.02 % / 0.05 %). ``funding_interval_hours`` for perpetuals (default 8; ``/fapi/v1/fundingInfo``
    lists the symbols on other intervals). A missing field is refused naming it."""
    from .contracts import Contract

    doc = _load(exchange_info)
    entries = doc.get("symbols") if isinstance(doc, dict) else doc
    if not isinstance(entries, list):
        raise InvalidInputError(
            "exchange_info: expected the exchange-information answer (its 'symbols' list)", "source"
        )
    entry = next(
        (e for e in entries if isinstance(e, dict) and str(e.get("symbol", "")).upper() == symbol.upper()), None
    )
    if entry is None:
        raise InvalidInputError(f"symbol: {symbol} is not in the exchange-information answer", "symbol")
    what = f"exchange_info[{symbol}]"
    margin, quote, base = entry.get("marginAsset"), entry.get("quoteAsset"), entry.get("baseAsset")
    if not margin or not quote or not base:
        raise InvalidInputError(f"{what}: no marginAsset, quoteAsset or baseAsset", "marginAsset")
    inverse = margin == base and margin != quote
    kind_of = entry.get("contractType", "PERPETUAL")
    expiry = None
    if kind_of not in ("PERPETUAL", "TRADIFI_PERPETUAL", ""):
        ms = _field(entry, "deliveryDate", what)
        expiry = pd.Timestamp(int(ms), unit="ms", tz="UTC")
    price, lot, notional = _filter(entry, "PRICE_FILTER"), _filter(entry, "LOT_SIZE"), _filter(entry, "MIN_NOTIONAL")
    fields: dict = dict(
        kind="inverse" if inverse else "linear",
        settle_asset=margin,
        contract_size=_field(entry, "contractSize", what) if inverse else 1.0,
        tick_size=_field(price, "tickSize", f"{what}.PRICE_FILTER"),
        step_size=_field(lot, "stepSize", f"{what}.LOT_SIZE"),
        min_qty=_field(lot, "minQty", f"{what}.LOT_SIZE"),
        min_notional=_field(notional, "notional", f"{what}.MIN_NOTIONAL", default=0.0),
        expiry=expiry,
        funding_interval_hours=None if expiry is not None else funding_interval_hours,
        brackets=_table(brackets, symbol, str(entry.get("pair") or symbol)),
    )
    if "liquidationFee" in entry:
        fields["clearance_fee"] = _field(entry, "liquidationFee", what)
    if maker_fee is not None:
        fields["maker_fee"] = maker_fee
    if taker_fee is not None:
        fields["taker_fee"] = taker_fee
    return Contract(str(entry["symbol"]), **fields)

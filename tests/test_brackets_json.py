"""Margin brackets loaded from the JSON of Binance's leverage-bracket endpoints (USDⓈ-M notional
brackets, COIN-M quantity brackets with the `qtylFloor` spelling), checked for consistency: a
table that would liquidate at other prices than the exchange's is refused naming the field."""

from __future__ import annotations

import json

import perpsim
import pytest
from perpsim.brackets import from_json


def answer(tiers, symbol="BTCUSDT", coin=False):
    """A leverage-bracket answer built from (floor, max leverage, mmr) tiers, cum by the rule."""
    out, cum, prev = [], 0.0, None
    caps = [t[0] for t in tiers[1:]] + [tiers[-1][0] * 10 + 1e9]
    for k, ((floor, lev, mmr), cap) in enumerate(zip(tiers, caps)):
        if prev is not None:
            cum += floor * (mmr - prev)
        prev = mmr
        lo, hi = ("qtylFloor", "qtyCap") if coin else ("notionalFloor", "notionalCap")
        out.append({"bracket": k + 1, "initialLeverage": lev, hi: cap, lo: floor, "maintMarginRatio": mmr, "cum": cum})
    key = "pair" if coin else "symbol"
    return [{key: "OTHER", "brackets": out[:1]}, {key: symbol, "brackets": out}]


def test_usdm_brackets_round_trip_the_preset_table(tmp_path):
    tiers = perpsim.BTCUSDT.brackets
    path = tmp_path / "brackets.json"
    path.write_text(json.dumps(answer(tiers)))
    got = from_json(path, "BTCUSDT")
    assert got == tiers
    assert from_json(path.read_text(), "btcusdt") == tiers  # JSON text, any case
    c = perpsim.BTCUSDT.replace(brackets=got)
    liq = perpsim.calc.liquidation_price(c, "long", 2.0, 60_000.0, 10_000.0)
    assert liq == perpsim.calc.liquidation_price(perpsim.BTCUSDT, "long", 2.0, 60_000.0, 10_000.0)


def test_coinm_quantity_brackets_with_the_exchange_s_spelling():
    tiers = perpsim.BTCUSD.brackets
    got = from_json(answer(tiers, "BTCUSD", coin=True), "BTCUSD")
    assert got == tiers


@pytest.mark.parametrize(
    "spoil, field",
    [
        (lambda b: b[1].update(notionalFloor=b[1]["notionalFloor"] + 1), "notionalFloor"),
        (lambda b: b[1].update(cum=b[1]["cum"] + 5.0), "cum"),
        (lambda b: b[2].update(maintMarginRatio=0.001), "maintMarginRatio"),
        (lambda b: b[2].update(initialLeverage=500), "initialLeverage"),
        (lambda b: b[0].update(maintMarginRatio="abc"), "maintMarginRatio"),
    ],
)
def test_an_inconsistent_table_is_refused_naming_the_field(spoil, field):
    doc = answer(perpsim.BTCUSDT.brackets)
    spoil(doc[1]["brackets"])
    with pytest.raises(perpsim.InvalidInputError) as e:
        from_json(doc, "BTCUSDT")
    assert e.value.field == field


def test_the_symbol_must_be_named_when_the_answer_has_several():
    doc = answer(perpsim.BTCUSDT.brackets)
    with pytest.raises(perpsim.InvalidInputError, match="name one"):
        from_json(doc)
    with pytest.raises(perpsim.InvalidInputError, match="not in the answer"):
        from_json(doc, "DOGEUSDT")
    assert from_json(doc[1]) == perpsim.BTCUSDT.brackets  # one object: the single-symbol answer

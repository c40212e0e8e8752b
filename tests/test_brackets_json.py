"""Margin brackets loaded from the JSON of Binance's leverage-bracket endpoints (USDⓈ-M notional
brackets, COIN-M quantity brackets with the `qtylFloor` spelling), checked for consistency: a
table that would liquidate at other prices than the exchange's is refused naming the field."""

from __future__ import annotations

import json

import pandas as pd
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


def exchange_info(c, symbol, coin=False, contract_type="PERPETUAL", delivery_ms=4133404800000):
    """A symbol's entry in the exchange-information answer's format (USDⓈ-M, or COIN-M with its
    contract size and no MIN_NOTIONAL filter), built from contract ``c``."""
    filters = [
        {"filterType": "PRICE_FILTER", "minPrice": "0.1", "maxPrice": "4529764", "tickSize": str(c.tick_size)},
        {"filterType": "LOT_SIZE", "stepSize": str(c.step_size), "maxQty": "1000", "minQty": str(c.min_qty)},
        {"filterType": "MAX_NUM_ORDERS", "limit": 200},
    ]
    entry = {
        "symbol": symbol,
        "pair": symbol.split("_")[0],
        "contractType": contract_type,
        "deliveryDate": delivery_ms,
        "status": "TRADING",
        "baseAsset": "BTC",
        "quoteAsset": "USD" if coin else "USDT",
        "marginAsset": "BTC" if coin else "USDT",
        "liquidationFee": "0.012500",
        "filters": filters,
    }
    if coin:
        entry["contractSize"] = c.contract_size
    else:
        filters.append({"filterType": "MIN_NOTIONAL", "notional": str(c.min_notional)})
    return {"timezone": "UTC", "symbols": [dict(entry, symbol="OTHER"), entry]}


def test_a_whole_contract_from_the_exchange_information_and_bracket_answers(tmp_path):
    from perpsim.brackets import contract_from_json

    path = tmp_path / "exchangeInfo.json"
    path.write_text(json.dumps(exchange_info(perpsim.BTCUSDT, "BTCUSDT")))
    c = contract_from_json(path, "BTCUSDT", answer(perpsim.BTCUSDT.brackets))
    assert c == perpsim.BTCUSDT.replace(clearance_fee=0.0125)  # the preset, with the answer's clearance fee
    # COIN-M: inverse, 100 USD a contract, settled in BTC; the v1 bracket answer names the pair
    coin = perpsim.preset("BTCUSD")
    brackets = answer(coin.brackets, "BTCUSD", coin=True)
    perp = contract_from_json(exchange_info(coin, "BTCUSD_PERP", coin=True), "BTCUSD_PERP", brackets)
    assert perp == coin.replace(clearance_fee=0.0125)
    quarter = contract_from_json(
        exchange_info(coin, "BTCUSD_240628", coin=True, contract_type="CURRENT_QUARTER", delivery_ms=1719561600000),
        "BTCUSD_240628",
        brackets,
        maker_fee=0.0001,
    )
    assert quarter.expiry == pd.Timestamp("2024-06-28 08:00", tz="UTC") and quarter.funding_interval_hours is None
    assert (quarter.kind, quarter.contract_size, quarter.maker_fee) == ("inverse", 100.0, 0.0001)


@pytest.mark.parametrize(
    "spoil, field",
    [
        (lambda e: e["filters"].pop(0), "tickSize"),
        (lambda e: e["filters"][1].update(stepSize="abc"), "stepSize"),
        (lambda e: e.pop("marginAsset"), "marginAsset"),
        (lambda e: e.update(symbol="ETHUSDT"), "symbol"),
    ],
    ids=["no price filter", "bad step", "no margin asset", "symbol missing"],
)
def test_an_incomplete_exchange_answer_is_refused_naming_the_field(spoil, field):
    from perpsim.brackets import contract_from_json

    doc = exchange_info(perpsim.BTCUSDT, "BTCUSDT")
    spoil(doc["symbols"][1])
    with pytest.raises(perpsim.InvalidInputError) as e:
        contract_from_json(doc, "BTCUSDT", answer(perpsim.BTCUSDT.brackets))
    assert e.value.field == field

"""The matching rule table (tests/rules/matching.json), run on perpsim.Exchange and on the exact
reference. cargo test runs the same table on the engine alone (rust/engine/tests/rules.rs): each rule
is written once, as data. tests/rules/README.md describes the format."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import perpsim
import pytest
from perpsim import Contract, InvalidInputError, OrderRejectedError
from perpsim import reference as ref

TABLE = json.loads((Path(__file__).parent / "rules" / "matching.json").read_text())
T0 = 1_700_000_000_000_000_000  # ns
H = 3_600_000_000_000
REL = 1e-12


def at(hours):
    return T0 + round(hours * H)


def contract(spec, setup):
    extra = {k: v for k, v in spec.items() if k not in ("symbol", "expiry")}
    if "brackets" in extra:
        extra["brackets"] = tuple(tuple(t) for t in extra["brackets"])
    if "expiry" in spec:
        extra["expiry"] = pd.Timestamp(at(spec["expiry"]), tz="UTC")
        extra["funding_interval_hours"] = None
    return Contract(spec["symbol"], **extra)


def make(impl, rule):
    s = {**TABLE["defaults"], **rule.get("setup", {})}
    cs = [contract(c, s) for c in s["contracts"]]
    return impl(
        cs,
        initial_balance=s["balance"],
        leverage=s["leverage"],
        maker_fee=s["maker_fee"],
        taker_fee=s["taker_fee"],
        margin_mode=s["margin_mode"],
        position_mode=s.get("position_mode", "one_way"),
        **s["options"],
    )


def near(a, b):
    assert float(a) == pytest.approx(b, rel=REL, abs=REL), (a, b)


def fill_rows(ex):
    f = ex.fills()
    if len(f) == 0:
        return []
    return [(r["side"], float(r["qty"]), float(r["price"]), r["liquidity"], r["reason"]) for _, r in f.iterrows()]


def same_fills(got, want):
    assert len(got) == len(want), (got, want)
    for g, w in zip(got, want):
        assert (g[0], g[3], g[4]) == (w[0], w[3], w[4]), (got, want)
        near(g[1], w[1])
        near(g[2], w[2])


def order_status(ex, oid):
    if isinstance(ex, ref.Exchange):
        o = ex.orders[oid - 1]
        return o.status, o.reason
    row = ex.orders().loc[oid]
    return row["status"], row["reason"]


def frames(spec):
    out = {}
    for sym, d in spec.items():
        if "ticks" in d:
            idx = pd.to_datetime([at(d["start"] + k) for k in range(len(d["ticks"]))], unit="ns", utc=True)
            out[sym] = pd.DataFrame({"price": [float(p) for p in d["ticks"]]}, index=idx)
        else:
            idx = pd.to_datetime([at(d["start"] + k) for k in range(len(d["bars"]))], unit="ns", utc=True)
            rows = [[float(x) for x in b] for b in d["bars"]]
            out[sym] = pd.DataFrame(rows, columns=["open", "high", "low", "close"], index=idx)
    return out


def act(ex, op, args, kw):
    if op == "update":
        return ex.update(at(args[0]), {k: float(v) for k, v in args[1].items()})
    if op == "step":
        return ex.step(at(args[0]), {k: tuple(float(x) for x in v) for k, v in args[1].items()})
    if op == "run":
        funding = {
            s: pd.Series([r for _, r in v], index=pd.to_datetime([at(t) for t, _ in v], unit="ns", utc=True))
            for s, v in kw.get("funding", {}).items()
        }
        return ex.run(frames(args[0]), funding=funding or None, settlement=kw.get("settlement"))
    if op in ("buy", "sell"):
        return getattr(ex, op)(args[0], float(args[1]), float(args[2]), **kw)
    if op == "market":
        return ex.market(args[0], args[1], float(args[2]), **kw)
    if op == "limit":
        return ex.limit(*args[:2], float(args[2]), float(args[3]), **kw)
    if op == "stop":
        return ex.stop(*args[:2], float(args[2]), float(args[3]), **kw)
    if op in ("take_profit", "stop_loss"):
        return getattr(ex, op)(args[0], float(args[1]), **kw)
    if op == "trailing_stop":
        return ex.trailing_stop(args[0], args[1], float(args[2]), float(args[3]), **kw)
    if op == "cancel":
        return ex.cancel(args[0])
    if op == "amend":
        return ex.amend(args[0], **kw)
    raise AssertionError(f"unknown action {op}")


def check(ex, op, args):
    if op == "fills":
        same_fills(fill_rows(ex), args[0])
    elif op == "fills_from":
        same_fills(fill_rows(ex)[args[0] :], args[1])
    elif op == "reasons_from":
        assert [r[4] for r in fill_rows(ex)[args[0] :]] == args[1]
    elif op == "fill_count":
        assert len(fill_rows(ex)) == args[0]
    elif op == "last_fill_fee":
        near(ex.fills()["fee"].iloc[-1], args[0])
    elif op == "status":
        status, reason = order_status(ex, args[0])
        assert status == args[1], (status, reason)
        if len(args) > 2:
            assert reason == args[2]
    elif op == "order":
        if isinstance(ex, ref.Exchange):
            o = ex.orders[args[0] - 1]
            got = {"price": o.price, "qty": o.qty}
        else:
            got = ex.orders().loc[args[0]]
        for k, v in args[1].items():
            assert float(got[k]) == v, (k, got[k], v)
    elif op == "account":
        near(getattr(ex.account, args[0]), args[1])
    elif op == "account_at_least":
        assert float(getattr(ex.account, args[0])) >= args[1]
    elif op == "account_below":
        assert float(getattr(ex.account, args[0])) < args[1]
    elif op == "position":  # [symbol, qty] or, in hedge mode, [symbol, qty, side]
        near(ex.position(args[0], *args[2:]).qty, args[1])
    elif op == "liquidation_price":
        near(ex.liquidation_price(args[0], *args[2:]), args[1])
    elif op == "blown":
        assert ex.blown == args[0]
    elif op == "liquidated_at":
        assert ex.liquidated_at == (None if args[0] is None else at(args[0]))
    elif op == "open_orders":
        assert len(ex.open_orders()) == args[0]
    elif op == "history_len":
        assert len(ex.history()) == args[0]
    elif op == "history":
        near(ex.history()[args[0]].iloc[args[1]], args[2])
    elif op == "funding_payments":
        rows = ex.funding_payments() if hasattr(ex, "funding_payments") else pd.DataFrame(ex.funding_rows)
        got = [float(x) for x in rows["payment"]]
        assert len(got) == len(args[0])
        for g, w in zip(got, args[0]):
            near(g, w)
    else:
        return False
    return True


def play(impl, rule):
    ex = make(impl, rule)
    for step in rule["do"]:
        op, args = step[0], list(step[1:])
        if check(ex, op, args):
            continue
        kw = {}
        if op == "run":
            kw, args = (dict(args[1]) if len(args) > 1 else {}), args[:1]
        elif op not in ("update", "step") and args and isinstance(args[-1], dict):
            kw = dict(args.pop())
        error = kw.pop("error", None)
        if error is None:
            act(ex, op, args, kw)
            continue
        kind = {"rejected": OrderRejectedError, "invalid": InvalidInputError}[error[0]]
        with pytest.raises(kind, match=error[1] or None):
            act(ex, op, args, kw)


@pytest.mark.parametrize("impl", [perpsim.Exchange, ref.Exchange], ids=["engine", "reference"])
@pytest.mark.parametrize("rule", TABLE["rules"], ids=[r["rule"] for r in TABLE["rules"]])
def test_rule(rule, impl):
    play(impl, rule)


def test_the_table_is_well_formed():
    names = [r["rule"] for r in TABLE["rules"]]
    assert len(names) == len(set(names)) and len(names) >= 40
    assert all(r["says"] and r["do"] for r in TABLE["rules"])
    assert not math.isnan(TABLE["defaults"]["balance"])

"""Property tests of the matching engine against the exact reference: random bars (consistent OHLC,
gaps, equal prices, extreme moves) and random order streams (every order type, reduce-only,
post-only, cancels, amends, funding) go through :class:`perpsim.Exchange` and
:class:`perpsim.reference.Exchange`; fills, the orders log, funding, liquidations and equity
must agree.

Rates are binary fractions (1/32, 1/1024, ...) so that trigger levels computed in floats equal the
exact ones, and ties between levels break the same way in both."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st
from perpsim import Contract, Exchange, InvalidInputError, OrderRejectedError
from perpsim import reference as ref

H = 3_600_000_000_000
T0 = 1_700_000_000_000_000_000

CONTRACTS = {
    "plain": Contract("X"),
    "filtered": Contract(
        "X",
        tick_size=0.5,
        step_size=0.01,
        min_qty=0.01,
        min_notional=1,
        brackets=((0, 50, 0.005), (20_000, 20, 0.01), (100_000, 10, 0.025)),
    ),
    "inverse": Contract("X", kind="inverse", settle_asset="BTC", contract_size=10, step_size=1, min_qty=1),
}


@st.composite
def scenario(draw, kinds=tuple(CONTRACTS)):
    kind = draw(st.sampled_from(kinds))
    c = CONTRACTS[kind]
    # the contract's clearance fee: none (the run's liquidation_fee), one rate, or one per tier
    per_tier = tuple(k / 512 for k in range(1, len(c.brackets) + 1))
    c = c.replace(clearance_fee=draw(st.sampled_from([(), 1 / 256, per_tier])))
    inverse = c.is_inverse
    kw = dict(
        initial_balance=draw(st.sampled_from([0.5, 2.0, 20.0] if inverse else [300.0, 5_000.0, 1e6])),
        leverage=draw(st.sampled_from([1, 3, 10, 20])),
        margin_mode=draw(st.sampled_from(["cross", "isolated"])),
        path=draw(st.sampled_from(["nearest_first", "open_high_low_close", "open_low_high_close", "worst_case"])),
        slippage=draw(st.sampled_from([0.0, 1 / 1024])),
        touch_fills=draw(st.booleans()),
        same_bar=draw(st.booleans()),
        max_participation=draw(st.sampled_from([0.0, 0.0, 0.5])),
        liquidation_fee=draw(st.sampled_from([0.0, 1 / 128])),
        allow_negative_balance=draw(st.booleans()),
        liquidation=draw(st.sampled_from([True, True, False])),
        adl_move=draw(st.sampled_from([0.0, 0.0, 0.05])),
        maker_fee=draw(st.sampled_from([-1 / 8192, 0.0, 0.0002])),
        taker_fee=draw(st.sampled_from([0.0, 0.0005])),
    )
    if not kw["allow_negative_balance"]:
        kw["liquidation_close"] = draw(st.sampled_from(["liquidation_price", "bankruptcy_price"]))
    grid = 0.5
    base = draw(st.sampled_from([100.0, 2_000.0]))

    def px(k):  # a price on the 0.5 grid
        return round(max(grid, k * grid), 1)

    n_steps = draw(st.integers(1, 14))
    steps = []
    close = base
    for _ in range(n_steps):
        # orders before the bar
        for _ in range(draw(st.integers(0, 3))):
            steps.append(draw(order_op(close, px, inverse)))
        move = draw(st.sampled_from([0.0, 0.0, 0.01, -0.01, 0.03, -0.03, 0.1, -0.1, 0.5, -0.5, 2.0]))
        o = px(round(close * (1 + move) / grid))
        c2 = px(round(o * (1 + draw(st.sampled_from([0.0, 0.005, -0.005, 0.02, -0.02, 0.08, -0.08]))) / grid))
        hi = px(round(max(o, c2) * (1 + draw(st.sampled_from([0.0, 0.0, 0.004, 0.02, 0.1]))) / grid))
        lo = px(round(min(o, c2) * (1 - draw(st.sampled_from([0.0, 0.0, 0.004, 0.02, 0.1]))) / grid))
        hi, lo = max(hi, o, c2), min(lo, o, c2)
        vol = draw(st.sampled_from([None, 0.0, 1.0, 5.0, 100.0]))
        if draw(st.integers(0, 9)) == 0:
            steps.append(("funding", draw(st.sampled_from([1 / 1024, -1 / 1024, 1 / 256])), o))
        steps.append(("bar", (o, hi, lo, c2) if vol is None else (o, hi, lo, c2, vol)))
        close = c2
    return c, kw, steps


def order_op(price, px, inverse):
    q = st.integers(1, 40).map(float) if inverse else st.sampled_from([0.01, 0.1, 0.25, 1.0, 3.0, 10.0])
    lvl = st.integers(-30, 30).map(lambda k: px(round(price / 0.5) + k * max(1, round(price / 400))))
    side = st.sampled_from(["buy", "sell"])
    return st.one_of(
        st.tuples(st.just("limit"), side, lvl, q, st.booleans(), st.booleans()),
        st.tuples(st.just("stop"), side, lvl, q, st.one_of(st.none(), lvl), st.booleans()),
        st.tuples(st.just("take_profit"), lvl, st.one_of(st.none(), q)),
        st.tuples(st.just("stop_loss"), lvl, st.one_of(st.none(), q)),
        st.tuples(
            st.just("trailing"),
            side,
            q,
            st.sampled_from([1 / 64, 1 / 32, 1 / 8]),
            st.one_of(st.none(), lvl),
            st.booleans(),
        ),
        st.tuples(st.just("market"), side, q),
        st.tuples(st.just("fill_at"), side, lvl, q),
        st.tuples(st.just("cancel"), st.integers(1, 12)),
        st.tuples(st.just("amend"), st.integers(1, 12), st.one_of(st.none(), lvl), st.one_of(st.none(), q)),
        st.tuples(st.just("close"), lvl),
    )


def apply(ex, op, t):
    k = op[0]
    if k == "limit":
        return ex.limit("X", op[1], op[2], op[3], post_only=op[4], reduce_only=op[5])
    if k == "stop":
        return ex.stop("X", op[1], op[2], op[3], price=op[4], reduce_only=op[5])
    if k == "take_profit":
        return ex.take_profit("X", op[1], op[2])
    if k == "stop_loss":
        return ex.stop_loss("X", op[1], op[2])
    if k == "trailing":
        return ex.trailing_stop("X", op[1], op[2], op[3], activation=op[4], reduce_only=op[5])
    if k == "market":
        return ex.market("X", op[1], op[2])
    if k == "fill_at":
        return (ex.buy if op[1] == "buy" else ex.sell)("X", op[2], op[3])
    if k in ("cancel", "amend"):
        ids = ex.open_orders()  # mostly an open order; an id past the log when none is open
        oid = ids[op[1] % len(ids)] if ids and op[1] % 4 else op[1] + 100
        return ex.cancel(oid) if k == "cancel" else ex.amend(oid, price=op[2], qty=op[3])
    if k == "close":
        return ex.close("X", op[1])
    if k == "funding":
        return ex.apply_funding("X", op[1], op[2])
    if k == "bar":
        return ex.step(t, {"X": op[1]})
    raise AssertionError(op)


def outcome(ex, op, t):
    try:
        apply(ex, op, t)
        return None
    except (InvalidInputError, OrderRejectedError) as e:
        return type(e)


def near(a, b, scale, what):
    a, b = float(a), float(b)
    assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9 * scale), f"{what}: engine {a!r} vs reference {b!r}"


def compare(ex, rx, scale):
    a, r = ex.account, rx.account
    for f in ("wallet_balance", "equity", "margin", "unrealized_pnl", "realized_pnl", "fees", "funding"):
        near(getattr(a, f), getattr(r, f), scale, f)
    p, q = ex.position("X"), rx.position("X")
    near(p.qty, q.qty, 1.0, "qty")
    assert ex.blown == rx.blown
    assert ex.liquidated_at == rx.liquidated_at
    assert ex.open_orders() == rx.open_orders()


def drive(c, kw, steps):
    ex = Exchange(c, **kw)
    rx = ref.Exchange(c, **kw)
    t = T0
    scale = float(kw["initial_balance"]) * 100
    for op in steps:
        if op[0] == "bar":
            t += H
        e, r = outcome(ex, op, t), outcome(rx, op, t)
        assert e == r, f"{op}: engine {e}, reference {r}"
        scale = max(scale, float(ex.account.volume))
        compare(ex, rx, scale)
    compare_records(ex, rx, scale)


def compare_records(ex, rx, scale):
    """The records of a run agree: fills, the orders log, funding payments and the history."""
    fe, fr = ex.fills(), rx.fills()
    assert len(fe) == len(fr)
    if len(fe):
        for col in ("order_id", "side", "liquidity", "reason"):
            assert fe[col].tolist() == fr[col].tolist(), col
        assert fe["timestamp"].astype("int64").tolist() == fr["timestamp"].tolist()
        for col in ("qty", "price", "fee", "realized_pnl", "position"):
            for x, y in zip(fe[col].tolist(), fr[col].tolist()):
                near(x, y, scale, f"fills.{col}")
    oe = ex.orders()
    assert len(oe) == len(rx.orders)
    for (oid, row), o in zip(oe.iterrows(), rx.orders):
        assert (oid, row["type"], row["side"], row["status"]) == (o.id, o.kind, o.side, o.status), (row, o)
        assert row["reason"] == o.reason or o.status in ("rejected",), (row["reason"], o.reason)
        assert row.get("position_side", "both") == o.position_side
        near(row["filled"], o.filled, 1.0, "orders.filled")
    pe = ex.funding_payments()
    assert len(pe) == len(rx.funding_rows)
    for x, y in zip(pe["payment"].tolist(), [r["payment"] for r in rx.funding_rows]):
        near(x, y, scale, "funding")
    he, hr = ex.history(), rx.history()
    assert len(he) == len(hr)
    for col in ("equity", "wallet_balance", "realized_pnl", "fees"):
        for x, y in zip(he[col].tolist(), hr[col].tolist()):
            near(x, y, scale, f"history.{col}")


@given(scenario(kinds=("plain",)))
def test_orders_on_bars_match_reference_plain_linear(sc):
    drive(*sc)


@given(scenario(kinds=("filtered",)))
def test_orders_on_bars_match_reference_filtered_linear(sc):
    drive(*sc)


@given(scenario(kinds=("inverse",)))
def test_orders_on_bars_match_reference_inverse(sc):
    drive(*sc)

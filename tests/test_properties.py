"""Property tests: random streams of buys, sells, closes, flips, marks, funding and leverage
changes go through the engine (:class:`perpsim.Exchange`) and the exact reference ledger
(:class:`perpsim.reference.Ledger`); every figure must agree (relative 1e-9, with an absolute
floor scaled to the money that moved), and the accounting invariants must hold on the engine."""

from __future__ import annotations

import math
from fractions import Fraction as F
from typing import Any, List, Tuple

import perpsim
from hypothesis import given
from hypothesis import strategies as st
from perpsim import Contract, Exchange, InvalidInputError, OrderRejectedError
from perpsim.reference import Exchange as Ledger

REL = 1e-9

LINEAR_PLAIN = "BTCUSDT"
LINEAR_TIERED = Contract(
    "ETHUSDT",
    tick_size=0.01,
    step_size=0.001,
    min_qty=0.001,
    min_notional=5,
    brackets=((0, 100, 0.005), (20_000, 50, 0.01), (100_000, 20, 0.025), (500_000, 10, 0.05)),
)
INVERSE = perpsim.BTCUSD
INVERSE_Q = perpsim.quarterly(perpsim.BTCUSD, "2030-03-27")
SPOT = perpsim.BTCUSDT_SPOT

SCENARIOS = {
    "linear": ([LINEAR_PLAIN], 1),
    "linear_tiered": ([LINEAR_TIERED], 1),
    "linear_multi": ([LINEAR_PLAIN, LINEAR_TIERED], 1),
    "inverse": ([INVERSE], 0),
    "inverse_multi": ([INVERSE, INVERSE_Q], 0),
    "spot": ([SPOT], 1),
}


def symbol_of(c: Any) -> str:
    return c if isinstance(c, str) else c.symbol


@st.composite
def scenario(draw, kinds=tuple(SCENARIOS)):
    name = draw(st.sampled_from(kinds))
    contracts, linear = SCENARIOS[name]
    syms = [symbol_of(c) for c in contracts]
    inverse = not linear
    base = draw(st.sampled_from([20.0, 1_850.5, 30_000.0, 64_321.7]))
    balances = [0.05, 0.5, 3.0] if inverse else [500.0, 10_000.0, 250_000.0]
    balance = draw(st.sampled_from(balances))
    kwargs = dict(initial_balance=balance)
    if name != "spot":
        kwargs["leverage"] = draw(st.sampled_from([1, 2, 3.5, 10, 20, 50]))
        kwargs["margin_mode"] = draw(st.sampled_from(["cross", "isolated"]))
    if draw(st.booleans()):
        kwargs["maker_fee"] = draw(st.sampled_from([-0.0001, 0.0, 0.0002]))
        kwargs["taker_fee"] = draw(st.sampled_from([0.0, 0.0004, 0.00075]))

    price = st.builds(lambda f: round(base * f, 2), st.floats(0.3, 3.0))
    if inverse:
        qty = st.integers(1, 2_000).map(float)
    else:
        unit = 0.001 if base > 1_000 else 0.1
        qty = st.one_of(
            st.integers(1, 400).map(lambda k: round(k * unit, 6)),
            st.integers(1, 4_000).map(lambda k: round(k * unit / 4, 7)),  # off-step: rounding, halves
        )
    sym = st.sampled_from(syms)
    op = st.one_of(
        st.tuples(st.just("buy"), sym, price, qty),
        st.tuples(st.just("sell"), sym, price, qty),
        st.tuples(st.just("close"), sym, price),
        st.tuples(
            st.just("update"),
            st.integers(0, 10**6),
            st.dictionaries(sym, st.one_of(price, st.just(math.nan)), min_size=1),
        ),
        st.tuples(st.just("funding"), sym, st.sampled_from([-0.0003, -0.0001, 0.0001, 0.000375, 0.003]), price),
        st.tuples(st.just("leverage"), sym, st.sampled_from([1, 2, 5, 20, 75])),
    )
    ops = draw(st.lists(op, min_size=1, max_size=40))
    return name, contracts, kwargs, ops


def run_op(target, op, clock):
    kind = op[0]
    if kind == "buy":
        return target.buy(op[1], op[2], op[3])
    if kind == "sell":
        return target.sell(op[1], op[2], op[3])
    if kind == "close":
        return target.close(op[1], op[2])
    if kind == "update":
        clock[0] += op[1]
        return target.update(clock[0], op[2])
    if kind == "funding":
        return target.apply_funding(op[1], op[2], op[3])
    if kind == "leverage":
        return target.set_leverage(op[1], op[2])
    raise AssertionError(op)


def outcome(target, op, clock) -> Tuple[Any, Any]:
    try:
        return run_op(target, op, clock), None
    except (InvalidInputError, OrderRejectedError) as e:
        return None, type(e)


def close(a: float, b: Any, scale: float, what: str) -> None:
    b = float(b)
    assert math.isclose(a, b, rel_tol=REL, abs_tol=REL * scale), f"{what}: engine {a!r} vs reference {b!r}"


def fill_dict(f) -> dict:
    return dict(
        qty=f.qty, price=f.price, fee=f.fee, realized_pnl=f.realized_pnl, position=f.position, entry_price=f.entry_price
    )


def compare(ex: Exchange, ref: Ledger, syms: List[str], scale: float, qscale: float) -> None:
    a, r = ex.account, ref.account
    for f in (
        "wallet_balance",
        "equity",
        "margin",
        "maintenance_margin",
        "available_balance",
        "unrealized_pnl",
        "realized_pnl",
        "fees",
        "funding",
        "notional",
    ):
        close(getattr(a, f), getattr(r, f), scale, f"account.{f}")
    assert a.fills == r.fills
    if r.notional and r.equity > 0:
        close(a.effective_leverage, r.effective_leverage, float(r.effective_leverage), "effective_leverage")
    for s in syms:
        p, q = ex.position(s), ref.position(s)
        close(p.qty, q.qty, qscale, f"{s}.qty")
        if q.qty:
            close(p.entry_price, q.entry_price, float(q.entry_price), f"{s}.entry_price")
        for f in ("unrealized_pnl", "realized_pnl", "fees", "funding", "notional", "margin", "maintenance_margin"):
            close(getattr(p, f), getattr(q, f), scale, f"{s}.{f}")
        assert p.leverage == float(q.leverage)
        lp, lq = p.liquidation_price, ref.liquidation_price(s)
        if lq is None:
            assert math.isnan(lp), f"{s}: engine liquidation price {lp}, reference none"
        else:
            close(lp, lq, float(lq), f"{s}.liquidation_price")


def invariants(ex: Exchange, contracts, rate) -> None:
    """equity = wallet + unrealized; realized + unrealized = cash-flow PnL over every recorded fill
    (user, stop, liquidation, ...); total fees = Σ rate · notional."""
    a = ex.account
    scale = abs(a.wallet_balance) + a.volume + 1.0
    assert math.isclose(a.equity, a.wallet_balance + a.unrealized_pnl, rel_tol=1e-12, abs_tol=1e-12 * scale)
    by_sym = {symbol_of(c): c for c in contracts}
    cash = 0.0
    fee_sum = 0.0
    fills = ex.fills()
    for sym, side, q, price, liquidity in zip(
        fills["symbol"], fills["side"], fills["qty"], fills["price"], fills["liquidity"]
    ):
        c = by_sym[sym]
        cs = 1.0 if isinstance(c, str) else c.contract_size
        inverse = not isinstance(c, str) and c.is_inverse
        dq = q if side == "buy" else -q
        cash += dq * cs / price if inverse else -dq * cs * price
        notional = q * cs / price if inverse else q * cs * price
        fee_sum += rate(c, liquidity) * notional
    for sym, c in by_sym.items():
        p = ex.position(sym)
        if p.qty:
            cs = 1.0 if isinstance(c, str) else c.contract_size
            inverse = not isinstance(c, str) and c.is_inverse
            cash += -p.qty * cs / p.mark_price if inverse else p.qty * cs * p.mark_price
    assert math.isclose(a.realized_pnl + a.unrealized_pnl, cash, rel_tol=1e-9, abs_tol=1e-9 * scale), (
        a.realized_pnl + a.unrealized_pnl,
        cash,
    )
    assert math.isclose(a.fees, fee_sum, rel_tol=1e-9, abs_tol=1e-12 * scale)


def compare_logs(ex, ref, scale: float) -> None:
    """The fills and the orders log agree row by row."""
    fe, fr = ex.fills(), ref.fills()
    assert len(fe) == len(fr), (fe, fr)
    if len(fe):
        for col in ("symbol", "order_id", "side", "liquidity", "reason"):
            assert fe[col].tolist() == fr[col].tolist(), col
        assert (fe["timestamp"].astype("int64") == fr["timestamp"].astype("int64")).all()
        for col in ("qty", "price", "fee", "realized_pnl", "position"):
            for x, y in zip(fe[col].tolist(), fr[col].tolist()):
                close(x, y, scale if col in ("fee", "realized_pnl") else max(abs(y), 1.0), f"fills.{col}")
    oe, orf = ex.orders(), ref.orders_log()
    assert len(oe) == len(orf)
    for (oid, row), o in zip(oe.iterrows(), orf):
        assert oid == o.id and row["type"] == o.kind and row["side"] == o.side
        assert row["status"] == o.status, (oid, row["status"], o.status, row["reason"], o.reason)
        close(row["filled"], o.filled, max(float(o.qty), 1.0), "orders.filled")
    assert ex.blown == ref.blown


def drive(name, contracts, kwargs, ops):
    syms = [symbol_of(c) for c in contracts]
    ex_out, ref_out = [0], [0]
    try:
        ex = Exchange(contracts, **kwargs)
    except (InvalidInputError, OrderRejectedError) as e:
        try:
            Ledger(contracts, **kwargs)
        except type(e):
            return
        raise AssertionError(f"engine refused {kwargs}, reference did not: {e}") from None
    ref = Ledger(contracts, **kwargs)
    maker = kwargs.get("maker_fee")
    taker = kwargs.get("taker_fee")

    def rate(c, liquidity):
        if isinstance(c, str):
            c = Contract(c)
        m = c.maker_fee if maker is None else maker
        t = c.taker_fee if taker is None else taker
        return m if liquidity == "maker" else t

    scale = float(kwargs["initial_balance"])
    qscale = 1.0
    for op in ops:
        e_val, e_err = outcome(ex, op, ex_out)
        r_val, r_err = outcome(ref, op, ref_out)
        assert e_err == r_err, f"{op}: engine raised {e_err}, reference {r_err}"
        if e_err is None and op[0] in ("buy", "sell", "close") and e_val is not None:
            rd = r_val
            for k, v in fill_dict(e_val).items():
                close(v, rd[k], abs(float(rd["price"])) if k in ("price", "entry_price") else scale, f"fill.{k}")
            qscale = max(qscale, abs(e_val.qty))
            scale = max(scale, abs(e_val.qty) * float(e_val.price) if not ex.is_inverse else scale)
        if e_err is None and op[0] == "funding":
            close(e_val, r_val, scale, "funding payment")
        scale = max(scale, abs(ex.account.wallet_balance), ex.account.notional)
        compare(ex, ref, syms, scale, qscale)
        invariants(ex, contracts, rate)
    compare_logs(ex, ref, scale)
    # the history agrees row by row
    he, hr = ex.history(), ref.history()
    assert len(he) == len(hr)
    if len(he):
        assert (he.index == hr.index).all()
        for col in ("equity", "wallet_balance", "margin", "realized_pnl", "unrealized_pnl", "fees", "funding"):
            for x, y in zip(he[col].tolist(), hr[col].tolist()):
                close(x, y, scale, f"history.{col}")


@given(scenario(kinds=("linear", "linear_tiered")))
def test_linear_single_symbol_matches_reference(sc):
    drive(*sc)


@given(scenario(kinds=("linear_multi",)))
def test_linear_multi_symbol_matches_reference(sc):
    drive(*sc)


@given(scenario(kinds=("inverse",)))
def test_inverse_single_symbol_matches_reference(sc):
    drive(*sc)


@given(scenario(kinds=("inverse_multi",)))
def test_inverse_multi_symbol_matches_reference(sc):
    drive(*sc)


@given(scenario(kinds=("spot",)))
def test_spot_matches_reference(sc):
    drive(*sc)


@given(
    st.lists(st.tuples(st.booleans(), st.integers(1, 50), st.integers(1, 1_000)), min_size=1, max_size=30),
)
def test_flips_and_resets_exact_entry(trades):
    """Entry resets to 0 when flat and a flip opens the remainder at the fill price, exactly as the
    reference computes it in fractions (linear, no fees)."""
    ex = Exchange("X", initial_balance=1e12, leverage=1, maker_fee=0, taker_fee=0)
    ref = Ledger("X", initial_balance=1e12, leverage=1, maker_fee=0, taker_fee=0)
    for is_buy, q, p in trades:
        (ex.buy if is_buy else ex.sell)("X", p, q)
        (ref.buy if is_buy else ref.sell)("X", p, q)
        e, r = ex.position("X"), ref.position("X")
        assert e.qty == r.qty  # integers: exact
        assert (e.entry_price == 0) == (r.qty == 0)
        if r.qty:
            assert math.isclose(e.entry_price, r.entry_price, rel_tol=1e-12)
        assert math.isclose(e.realized_pnl, r.realized_pnl, rel_tol=1e-12, abs_tol=1e-6)
    assert isinstance(ref.account.realized_pnl, F)

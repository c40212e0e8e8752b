"""The Exchange's Python API: construction, updates, history, pickling, threads, bad input."""

import math
import pickle
import subprocess
import sys
import threading

import numpy as np
import pandas as pd
import perpsim
import pytest
from perpsim import Contract, Exchange, InvalidInputError, OrderRejectedError, UnknownSymbolError


def state(ex):
    """Everything observable about an exchange, for before/after comparisons."""
    a = ex.account
    acc = tuple(
        getattr(a, f)
        for f in (
            "wallet_balance",
            "equity",
            "margin",
            "unrealized_pnl",
            "realized_pnl",
            "fees",
            "funding",
            "volume",
            "fills",
        )
    )
    pos = tuple(
        (p.qty, p.entry_price, p.realized_pnl, p.fees, p.funding, p.leverage, p.margin_mode, str(p.mark_price))
        for p in (ex.position(s) for s in ex.symbols)
    )
    return acc, pos, ex.n_updates


@pytest.fixture
def ex():
    e = Exchange(["BTCUSDT", "ETHUSDT"], initial_balance=10_000, leverage=5)
    e.update(1, {"BTCUSDT": 50_000, "ETHUSDT": 3_000})
    e.buy("BTCUSDT", 50_000, 0.1)
    e.sell("ETHUSDT", 3_000, 1)
    return e


def test_plain_symbols_accept_any_positive_quantity():
    e = Exchange("XYZ", initial_balance=1_000)
    f = e.buy("XYZ", 0.123456789, 0.000_000_123)
    assert f.qty == 0.000_000_123 and f.liquidity == "taker"
    assert e.position("XYZ").qty == 0.000_000_123


def test_update_nan_keeps_last_price_and_appends_a_row(ex):
    ex.update(2, {"BTCUSDT": 51_000, "ETHUSDT": float("nan")})
    assert ex.position("BTCUSDT").mark_price == 51_000
    assert ex.position("ETHUSDT").mark_price == 3_000
    ex.update(3, {"BTCUSDT": 52_000})  # a symbol left out also keeps its price
    h = ex.history()
    assert len(h) == 3
    assert list(h.columns) == [
        "equity",
        "wallet_balance",
        "margin",
        "realized_pnl",
        "unrealized_pnl",
        "fees",
        "funding",
        "effective_leverage",
        "position_BTCUSDT",
        "entry_BTCUSDT",
        "position_ETHUSDT",
        "entry_ETHUSDT",
    ]
    assert isinstance(h.index, pd.DatetimeIndex) and str(h.index.tz) == "UTC"
    assert h["equity"].iloc[-1] == pytest.approx(ex.account.equity)
    np.testing.assert_allclose(h["equity"], h["wallet_balance"] + h["unrealized_pnl"], rtol=1e-12)
    assert h["unrealized_pnl"].iloc[-1] == pytest.approx(0.1 * (52_000 - 50_000))


def test_a_history_read_stays_as_it_was_while_the_exchange_goes_on(ex):
    """The table views the engine's buffers (no copy); later steps write fresh ones."""
    for t in range(2, 50):
        ex.update(t, {"BTCUSDT": 50_000 + 10 * t, "ETHUSDT": 3_000 - t})
    before = ex.history()
    kept = before.copy(deep=True)
    for t in range(50, 5_000):  # past any room reserved: the engine's buffers move
        ex.update(t, {"BTCUSDT": 50_000 - t, "ETHUSDT": 3_000 + t})
    ex.buy("BTCUSDT", 45_000, 0.1)
    ex.update(5_000, {"BTCUSDT": 45_500})
    after = ex.history()
    pd.testing.assert_frame_equal(before, kept)
    pd.testing.assert_frame_equal(after.iloc[: len(before)], kept)
    assert len(after) == len(before) + 4_951
    assert after["unrealized_pnl"].iloc[-1] == pytest.approx(ex.account.unrealized_pnl)
    np.testing.assert_allclose(after["equity"], after["wallet_balance"] + after["unrealized_pnl"], rtol=1e-12)


def test_update_accepts_timestamps_of_every_kind():
    e = Exchange("BTCUSDT")
    e.update(pd.Timestamp("2024-01-01", tz="UTC"), {"BTCUSDT": 1.0})
    e.update("2024-01-02", 2.0)  # plain number for a one-symbol exchange
    e.update(np.datetime64("2024-01-03T00:00"), {"BTCUSDT": 3.0})
    import datetime as dt

    e.update(dt.datetime(2024, 1, 4, tzinfo=dt.timezone.utc), {"BTCUSDT": 4.0})
    assert list(e.history().index.day) == [1, 2, 3, 4]


def test_inverse_history_has_equity_in_quote():
    e = Exchange(perpsim.BTCUSD, initial_balance=1.0, leverage=2)
    e.buy("BTCUSD_PERP", 50_000, 100)  # 100 contracts of 100 USD
    e.update(0, {"BTCUSD_PERP": 40_000})
    h = e.history()
    assert "equity_quote" in h.columns
    assert h["equity_quote"].iloc[0] == pytest.approx(e.account.equity * 40_000)
    assert e.account.settle_asset == "BTC" and e.is_inverse


def test_pickle_round_trip_keeps_everything(ex):
    ex.update(5, {"BTCUSDT": 49_000})
    ex.apply_funding("BTCUSDT", 0.0001, 49_000)
    copy = pickle.loads(pickle.dumps(ex))
    assert type(copy) is Exchange
    assert state(copy) == state(ex)
    pd.testing.assert_frame_equal(copy.history(), ex.history())
    copy.buy("BTCUSDT", 49_000, 0.1)  # independent afterwards
    assert copy.position("BTCUSDT").qty != ex.position("BTCUSDT").qty


class MyExchange(Exchange):
    """A user subclass (module level, so that pickle can find it)."""


def test_subclass_pickles_as_subclass():
    m = MyExchange("BTCUSDT")
    m.buy("BTCUSDT", 100, 1)
    assert type(pickle.loads(pickle.dumps(m))) is MyExchange


def test_independent_objects_in_threads():
    def work(k, out):
        e = Exchange("BTCUSDT", initial_balance=1e9, leverage=1)
        for i in range(2_000):
            e.buy("BTCUSDT", 100 + k + i % 7, 1) if i % 2 == 0 else e.sell("BTCUSDT", 100 + k, 1)
            e.update(i, {"BTCUSDT": 100 + k})
        out[k] = e.account.equity

    out = {}
    threads = [threading.Thread(target=work, args=(k, out)) for k in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    serial = {}
    for k in range(4):
        work(k, serial)
    assert out == serial


def test_nothing_is_printed(capfd, ex):
    ex.update(9, {"BTCUSDT": 1.0, "ETHUSDT": 1.0})
    ex.history()
    repr(ex)
    with pytest.raises(OrderRejectedError):
        ex.buy("BTCUSDT", 50_000, 1e6)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


BAD_CALLS = [
    ("price", lambda e: e.buy("BTCUSDT", float("nan"), 1)),
    ("price", lambda e: e.buy("BTCUSDT", float("inf"), 1)),
    ("price", lambda e: e.sell("BTCUSDT", -5, 1)),
    ("price", lambda e: e.buy("BTCUSDT", 0.0, 1)),
    ("qty", lambda e: e.buy("BTCUSDT", 100, float("nan"))),
    ("qty", lambda e: e.buy("BTCUSDT", 100, -1)),
    ("qty", lambda e: e.sell("BTCUSDT", 100, 0)),
    ("qty", lambda e: e.sell("BTCUSDT", 100, float("inf"))),
    ("prices", lambda e: e.update(10, {"BTCUSDT": -1.0})),
    ("prices", lambda e: e.update(10, {"BTCUSDT": float("inf")})),
    ("prices", lambda e: e.update(10, {"ETHUSDT": 3_000, "BTCUSDT": 0.0})),  # nothing half-applied
    ("timestamp", lambda e: e.update(0, {"BTCUSDT": 1.0})),  # earlier than the last update
    ("timestamp", lambda e: e.update("not a time", {"BTCUSDT": 1.0})),
    ("timestamp", lambda e: e.update(pd.NaT, {"BTCUSDT": 1.0})),
    ("rate", lambda e: e.apply_funding("BTCUSDT", float("nan"), 50_000)),
    ("mark_price", lambda e: e.apply_funding("BTCUSDT", 0.0001, float("-inf"))),
    ("leverage", lambda e: e.set_leverage("BTCUSDT", 0)),
    ("leverage", lambda e: e.set_leverage("BTCUSDT", -2)),
    ("leverage", lambda e: e.set_leverage("BTCUSDT", 126)),
    ("leverage", lambda e: e.set_leverage("BTCUSDT", float("nan"))),
    ("margin_mode", lambda e: e.set_margin_mode("BTCUSDT", "sideways")),
]


@pytest.mark.parametrize("field,call", BAD_CALLS, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_CALLS)])
def test_bad_input_raises_value_error_naming_the_argument_and_changes_nothing(ex, field, call):
    before = state(ex)
    with pytest.raises(InvalidInputError) as info:
        call(ex)
    assert isinstance(info.value, ValueError)
    assert info.value.field == field
    assert field in str(info.value)
    assert state(ex) == before


@pytest.mark.parametrize(
    "call",
    [
        lambda e: e.buy("DOGEUSDT", 1, 1),
        lambda e: e.position("nope"),
        lambda e: e.update(10, {"NOPE": 1.0}),
        lambda e: e.apply_funding("X", 0.0001, 1.0),
        lambda e: e.liquidation_price("X"),
    ],
)
def test_unknown_symbol(ex, call):
    before = state(ex)
    with pytest.raises(UnknownSymbolError) as info:
        call(ex)
    assert isinstance(info.value, ValueError) and info.value.field == "symbol"
    assert state(ex) == before


def test_rejected_orders_leave_the_account_unchanged():
    e = Exchange(perpsim.BTCUSDT, initial_balance=1_000, leverage=10)
    e.buy("BTCUSDT", 50_000, 0.1)
    before = state(e)
    with pytest.raises(OrderRejectedError, match="insufficient margin"):
        e.buy("BTCUSDT", 50_000, 1)  # 50,000 notional at 10x needs 5,000 of margin
    with pytest.raises(OrderRejectedError, match="minimum notional"):
        e.buy("BTCUSDT", 50_000, 0.001)  # 50 USDT < 100
    with pytest.raises(OrderRejectedError, match="minimum quantity"):
        e.buy("BTCUSDT", 50_000, 0.0004)  # rounds to 0 at step 0.001
    with pytest.raises(OrderRejectedError, match="insufficient margin"):
        e.set_leverage("BTCUSDT", 1)  # 5,000 of margin on ~995 of equity
    assert state(e) == before
    e.sell("BTCUSDT", 50_000, 0.1)  # reducing is always allowed
    assert e.position("BTCUSDT").qty == 0


def test_quantities_round_to_step():
    e = Exchange(perpsim.BTCUSDT, initial_balance=100_000, leverage=10)
    assert e.buy("BTCUSDT", 50_000, 0.0123456).qty == 0.012
    assert e.buy("BTCUSDT", 50_000, 0.0025).qty == 0.003  # halves away from zero


def test_bad_construction_names_the_argument():
    cases = [
        ("initial_balance", dict(contracts="BTCUSDT", initial_balance=-1)),
        ("initial_balance", dict(contracts="BTCUSDT", initial_balance=float("nan"))),
        ("leverage", dict(contracts="BTCUSDT", leverage=0)),
        ("leverage", dict(contracts=perpsim.BTCUSDT, leverage=200)),
        ("leverage", dict(contracts=perpsim.BTCUSDT_SPOT, leverage=3)),
        ("maker_fee", dict(contracts="BTCUSDT", maker_fee=float("nan"))),
        ("taker_fee", dict(contracts="BTCUSDT", taker_fee=float("inf"))),
        ("contracts", dict(contracts=[perpsim.BTCUSDT, perpsim.BTCUSD])),  # USDT and BTC settlement
        ("contracts", dict(contracts=["BTCUSDT", "BTCUSDT"])),
        ("contracts", dict(contracts=[])),
        ("contracts", dict(contracts=42)),
        ("margin_mode", dict(contracts="BTCUSDT", margin_mode="both")),
    ]
    for field, kw in cases:
        with pytest.raises(InvalidInputError) as info:
            Exchange(**kw)
        assert info.value.field == field, (kw, info.value)


def test_a_funding_rate_that_is_not_a_series_is_refused_naming_it():
    """A constant rate is a Monte Carlo input; a backtest wants the rates by funding time."""
    idx = pd.date_range("2024-01-01", periods=3, freq="1h", tz="UTC")
    bars = pd.DataFrame({"open": 1.5, "high": 1.6, "low": 1.4, "close": 1.5}, index=idx)
    with pytest.raises(InvalidInputError, match="Series indexed by time, not float") as info:
        perpsim.backtest(bars, perpsim.Grid(1.0, 2.0, 5, qty=1.0), contract=Contract("X"), funding=0.0001)
    assert info.value.field == "funding[X]"


def test_contract_validation_names_the_field():
    for field, kw in [
        ("contract_size", dict(contract_size=0)),
        ("tick_size", dict(tick_size=-1)),
        ("tick_size", dict(tick_size=1e-309)),
        ("step_size", dict(step_size=1e-13)),
        ("maker_fee", dict(maker_fee=float("nan"))),
        ("kind", dict(kind="quanto")),
        ("brackets", dict(brackets=((1, 10, 0.01),))),
        ("brackets", dict(brackets=((0, 10, 2.0),))),
        ("expiry", dict(expiry="yesterday-ish")),
    ]:
        with pytest.raises(InvalidInputError) as info:
            Contract("X", **kw)
        assert info.value.field == field


def test_an_order_too_large_for_its_increment_is_refused():
    # 1e300 / 1e-12 overflows: the rounded quantity would be infinite
    ex = Exchange(contracts=[Contract("X", step_size=1e-12, tick_size=1e-12)])
    ex.update(0, 100.0)
    with pytest.raises(InvalidInputError) as info:
        ex.limit("X", "buy", 99.0, 1e300)
    assert info.value.field == "qty"
    with pytest.raises(InvalidInputError) as info:
        ex.limit("X", "buy", 1e300, 1.0)
    assert info.value.field == "price"
    assert ex.open_orders() == []


def test_a_rust_panic_raises_instead_of_aborting():
    code = (
        "import perpsim, perpsim._core as c\n"
        "try:\n    c._panic_for_tests()\nexcept BaseException as e:\n    print('caught', type(e).__name__)\n"
        "e = perpsim.Exchange('X'); e.buy('X', 1.0, 1.0); print('alive', e.position('X').qty)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "caught PanicException" in out.stdout and "alive 1.0" in out.stdout


def test_close_and_funding_and_liquidation_price(ex):
    assert ex.close("ETHUSDT", 2_900).realized_pnl == pytest.approx(100)
    assert ex.close("ETHUSDT", 2_900) is None
    received = ex.apply_funding("BTCUSDT", 0.0001, 50_000)
    assert received == pytest.approx(-0.5)
    lp = ex.liquidation_price("BTCUSDT")
    assert 0 < lp < 50_000 or math.isnan(lp)
    assert math.isnan(ex.liquidation_price("ETHUSDT"))


def test_leverage_default_and_spot():
    assert Exchange(perpsim.BTCUSDT).position("BTCUSDT").leverage == 20
    s = Exchange(perpsim.BTCUSDT_SPOT, initial_balance=1_000)
    assert s.position("BTCUSDT_SPOT").leverage == 1
    s.buy("BTCUSDT_SPOT", 50_000, 0.01)
    with pytest.raises(OrderRejectedError, match="spot"):
        s.sell("BTCUSDT_SPOT", 50_000, 0.02)


def test_pickle_keeps_orders_fills_and_the_book():
    e = Exchange(perpsim.BTCUSDT, initial_balance=10_000, leverage=10, slippage=0.001)
    e.update(1, 50_000.0)
    e.buy("BTCUSDT", 50_000.0, 0.1)
    e.limit("BTCUSDT", "buy", 48_000.0, 0.01)
    e.stop_loss("BTCUSDT", 45_000.0)
    copy = pickle.loads(pickle.dumps(e))
    assert copy.open_orders() == e.open_orders()
    pd.testing.assert_frame_equal(copy.orders(), e.orders())
    for x in (e, copy):
        x.step(2, {"BTCUSDT": (50_000.0, 50_100.0, 44_000.0, 44_500.0)})
    pd.testing.assert_frame_equal(copy.fills(), e.fills())
    assert copy.account.equity == e.account.equity


def test_record_tables_have_labels_as_categoricals_and_flags_as_bools():
    """The engine hands labels over dictionary-encoded: one small list of names, not a string per
    row; the values read as the same strings."""
    bars = perpsim.data.sample("BTCUSDT", "1h").iloc[:500]
    r = perpsim.backtest(
        bars, perpsim.Grid(38_000, 52_000, 10, qty=0.01), contract=perpsim.BTCUSDT, initial_balance=10_000, leverage=5
    )
    f, o = r.fills, r.orders
    assert len(f) > 10
    for frame, cols in ((f, ("symbol", "side", "liquidity", "reason")), (o, ("symbol", "type", "side", "status"))):
        for c in cols:
            assert isinstance(frame[c].dtype, pd.CategoricalDtype), c
    assert set(f["side"]) == {"buy", "sell"} and set(f["symbol"]) == {"BTCUSDT"}
    assert (f["side"] == "buy").sum() + (f["side"] == "sell").sum() == len(f)
    assert set(o["status"]) <= {"open", "filled", "cancelled", "rejected", "expired"}
    assert o["reduce_only"].dtype == bool and o["post_only"].dtype == bool
    # the same rows a per-row export gave: each fill's side follows the sign of its order's side
    assert (o.loc[f["order_id"], "side"].astype(str).to_numpy() == f["side"].astype(str).to_numpy()).all()


def test_a_name_means_its_preset_everywhere_and_other_names_a_plain_contract():
    """One meaning per name: the library, the reference twin and the command line read
    "BTCUSDT" as the BTCUSDT preset; a name without a preset is a plain linear contract."""
    from perpsim import config
    from perpsim.contracts import named
    from perpsim.reference.exchange import Exchange as RefExchange

    assert named("BTCUSDT") == perpsim.BTCUSDT and named("BTCUSD") == perpsim.BTCUSD
    assert named("MYCOIN") == perpsim.Contract("MYCOIN")
    e = Exchange("BTCUSDT")
    e.update(0, 42_000.0)
    with pytest.raises(perpsim.OrderRejectedError, match="notional"):  # the preset's 100 USDT minimum
        e.buy("BTCUSDT", 42_000.0, 0.001)
    ref = RefExchange("BTCUSDT")
    ref.update(0, 42_000.0)
    with pytest.raises(perpsim.OrderRejectedError, match="notional"):
        ref.buy("BTCUSDT", 42_000.0, 0.001)
    plain = Exchange("MYCOIN")
    plain.update(0, 42_000.0)
    assert plain.buy("MYCOIN", 42_000.0, 0.001).qty == 0.001
    bars = perpsim.data.sample("BTCUSDT").iloc[:50]
    grid = perpsim.Grid(40_000, 46_000, 10, qty=0.01)
    by_name = perpsim.backtest(bars, grid, contract="BTCUSDT").stats
    by_key = perpsim.backtest({"BTCUSDT": bars}, grid).stats
    assert by_name.to_dict() == perpsim.backtest(bars, grid, contract=perpsim.BTCUSDT).stats.to_dict()
    assert by_key["fees"] == by_name["fees"]
    assert config._contract(None, "BTCUSDT", "") == named("BTCUSDT")

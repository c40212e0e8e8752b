"""The what-if ledger (``what_if=True``): every order is booked without margin checks and nothing
is liquidated, the wallet free to go negative; the engine and the exact reference agree on it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import perpsim
import pytest
from perpsim.reference.exchange import Exchange as RefExchange


@pytest.mark.parametrize("impl", [perpsim.Exchange, RefExchange], ids=["engine", "reference"])
def test_an_order_far_beyond_the_margin_is_booked_and_the_wallet_goes_negative(impl):
    normal = impl("MYCOIN", initial_balance=1_000, leverage=1, taker_fee=0.0)
    normal.update(0, 1_000.0)
    with pytest.raises(perpsim.OrderRejectedError, match="margin"):
        normal.buy("MYCOIN", 1_000.0, 10.0)  # 10,000 of notional on 1,000 at 1x
    ex = impl("MYCOIN", initial_balance=1_000, leverage=1, maker_fee=0.0, taker_fee=0.0, what_if=True)
    ex.update(0, 1_000.0)
    ex.buy("MYCOIN", 1_000.0, 10.0)
    ex.limit("MYCOIN", "buy", 900.0, 50.0)  # resting, 45,000 of notional: placed all the same
    ex.step(1, {"MYCOIN": (1_000.0, 1_000.0, 700.0, 750.0)})  # far below any liquidation price
    assert ex.position("MYCOIN").qty == 60.0  # nothing liquidated, the limit filled
    ex.sell("MYCOIN", 750.0, 60.0)
    # 10 bought at 1,000 and 50 at 900, all sold at 750: -2,500 - 7,500 = -10,000
    assert float(ex.account.wallet_balance) == pytest.approx(1_000.0 - 10_000.0)
    assert float(ex.account.equity) < 0


def test_engine_and_reference_agree_on_a_random_what_if_run():
    rng = np.random.default_rng(5)
    n = 400
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    open_ = np.r_[100.0, close[:-1]]
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    bars = pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close},
        index=pd.date_range("2024-01-01", periods=n, freq="1h", tz="UTC"),
    )
    kw = dict(initial_balance=100.0, leverage=2, what_if=True)
    eng, ref = perpsim.Exchange("X", **kw), RefExchange("X", **kw)
    for ex in (eng, ref):
        ex.update(bars.index[0].value - 1, 100.0)
        ex.buy("X", 100.0, 5.0)  # 500 of notional on 100
        for k in range(12):
            ex.limit("X", "buy", 100.0 * (0.97 - 0.02 * k), 3.0)
            ex.limit("X", "sell", 100.0 * (1.03 + 0.02 * k), 3.0)
        ex.run(bars)
    e, r = eng.history(), ref.history()
    assert len(eng.fills()) == len(ref.fills()) > 5
    np.testing.assert_allclose(e["equity"].to_numpy(), r["equity"].to_numpy(dtype=float), rtol=1e-9, atol=1e-9)
    assert (e["equity"] < 0).any()  # it went under water and was not liquidated
    assert (eng.fills()["reason"] != "liquidation").all()


def test_the_risk_table_uses_the_what_if_ledger():
    t = perpsim.deviation_risk_table([None, 0.1], steps=60)
    assert t.loc[0.1, "stopped_at_step"] >= 0 and t["loss_multiple"].iloc[0] > t.loc[0.1, "loss_multiple"]
    assert perpsim._core.exchange_options(what_if=True)["what_if"] is True
    with pytest.raises(perpsim.InvalidInputError, match="what_if"):
        perpsim._core.exchange_options(what_if="yes")

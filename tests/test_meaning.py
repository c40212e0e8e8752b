"""No silent wrong answer, class 3: inputs that are not what they seem are refused with an
``InvalidInputError`` naming the field (docs/guide.md, "What perpsim refuses and what it warns
about"): resampling rules that would split or relabel bars, price models whose paths cannot mean
a market over the horizon, durations without a unit."""

from __future__ import annotations

import pandas as pd
import perpsim
import pytest
from perpsim import GBM, InvalidInputError, JumpDiffusion, StudentT

HOURLY = perpsim.data.sample("BTCUSDT", "1h").iloc[:500]


@pytest.mark.parametrize(
    "rule, why",
    [
        ("7min", "finer than the bars' own interval"),
        ("30min", "finer than the bars' own interval"),
        ("90min", "not a whole multiple"),
        ("0h", "must be > 0"),
        ("-2h", "must be > 0"),
        ("1M", "not an interval"),
        ("1W", "a fixed interval"),
        ("soon", "not an interval"),
        (3, "not an interval"),
    ],
)
def test_resampling_that_would_split_or_relabel_bars_is_refused(rule, why):
    with pytest.raises(InvalidInputError, match=why) as e:
        perpsim.data.resample(HOURLY, rule)
    assert e.value.field == "resample"


def test_resampling_bars_off_the_bins_grid_is_refused():
    shifted = HOURLY.copy()
    shifted.index = shifted.index + pd.Timedelta("30min")
    with pytest.raises(InvalidInputError, match="off the '4h' bins' grid"):
        perpsim.data.resample(shifted, "4h")
    # whole multiples on the grid keep every bar whole: the 4h open is the first hour's open
    four = perpsim.data.resample(HOURLY, "4h")
    assert four["open"].iloc[1] == HOURLY["open"].iloc[4]
    assert four.index[1] == HOURLY.index[4]
    day = perpsim.data.resample(HOURLY, "1D")
    assert day["high"].iloc[0] == HOURLY["high"].iloc[:24].max()


def test_load_bars_refuses_a_bad_resample_rule(tmp_path):
    f = tmp_path / "bars.csv"
    HOURLY.to_csv(f)
    with pytest.raises(InvalidInputError, match="finer"):
        perpsim.data.load_bars(f, resample_to="15min")


@pytest.mark.parametrize(
    "model, field",
    [
        (GBM(volatility=8.0, s0=100.0), "volatility"),  # sigma over the year: 8 (a factor 3,000)
        (GBM(volatility=60.0, s0=100.0), "volatility"),
        (GBM(volatility=0.8, s0=100.0, drift=-50.0), "drift"),  # every path falls by e^-50
        (GBM(volatility=0.8, s0=100.0, drift=40.0), "drift"),
        (StudentT(volatility=200.0, s0=100.0, interval="1D"), "volatility"),  # 10 e-folds a day
        (JumpDiffusion(volatility=0.5, s0=100.0, intensity=200.0, jump_mean=-0.5, jump_std=0.05), "jump_mean"),
        (JumpDiffusion(volatility=0.5, s0=100.0, intensity=1.0, jump_mean=0.0, jump_std=50.0), "jump_std"),
    ],
)
def test_price_models_that_cannot_mean_a_market_are_refused(model, field):
    grid = perpsim.Grid(50.0, 150.0, 10, qty=1.0)
    with pytest.raises(InvalidInputError) as e:
        perpsim.monte_carlo(grid, "X", model, n_paths=4, n_bars=8_760, seed=1)
    assert e.value.field == field
    with pytest.raises(InvalidInputError):
        perpsim.montecarlo.simulate_paths(model, n_paths=1, n_bars=8_760, seed=1)


def test_a_volatile_but_meaningful_model_runs():
    r = perpsim.monte_carlo(
        perpsim.Grid(50.0, 150.0, 10, qty=1.0), "X", GBM(volatility=2.5, s0=100.0), n_paths=8, n_bars=8_760, seed=1
    )
    assert len(r.paths) == 8
    # the horizon matters: the same volatility over ten years is refused
    with pytest.raises(InvalidInputError, match="over the 87600 bars"):
        perpsim.monte_carlo(
            perpsim.Grid(50.0, 150.0, 10, qty=1.0), "X", GBM(volatility=3.0, s0=100.0), n_paths=2, n_bars=87_600, seed=1
        )


@pytest.mark.parametrize("interval", [5, 3600.0, True])
def test_a_duration_needs_a_unit(interval):
    with pytest.raises(InvalidInputError) as e:
        GBM(volatility=0.8, s0=100.0, interval=interval)
    assert e.value.field == "interval"

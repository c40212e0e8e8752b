"""Sweeps at scale: batches of sets on an executor (a real dask LocalCluster with worker processes)
equal the local sweep row for row, whatever the batch split; nothing per bar is kept."""

from __future__ import annotations

import concurrent.futures

import pandas as pd
import perpsim
import pytest
from perpsim import GBM, Grid, Rebalance

BARS = perpsim.data.sample("BTCUSDT").iloc[:3_000]
S0 = float(BARS["close"].iloc[0])
PARAMS = {"grid_count": [10, 25, 60], "lower": [0.85 * S0, 0.9 * S0], "mode": ["neutral", "long"]}
KW = dict(fixed=dict(upper=1.15 * S0, quote_per_grid=200), contract=perpsim.BTCUSDT, leverage=4, progress=False)


def local():
    return perpsim.sweep(Grid, PARAMS, data=BARS, **KW)


def test_batch_splits_give_the_same_rows():
    a = local()
    assert len(a) == 12 and a["fills"].min() > 0
    b = perpsim.sweep(Grid, PARAMS, data=BARS, batch_size=5, threads=1, **KW)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    # the rows are the sets' own: changing one parameter changes its row
    assert a["final_equity"].nunique() == 12


def test_a_process_pool_equals_the_local_sweep():
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        d = perpsim.sweep(Grid, PARAMS, data=BARS, executor=pool, batch_size=4, **KW)
    pd.testing.assert_frame_equal(d, local(), check_exact=True)


def test_dask_local_cluster_equals_the_local_sweep_on_data_and_on_a_model():
    distributed = pytest.importorskip("distributed")
    model = dict(model=GBM(0.7, s0=S0), n_paths=40, n_bars=300, seed=9)
    mkw = dict(fixed=dict(adjust_ratio=0.02), contract=perpsim.BTCUSDT, leverage=3, progress=False)
    rparams = {"target_value": [5_000, 15_000, 30_000]}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            ex = client.get_executor()
            d = perpsim.sweep(Grid, PARAMS, data=BARS, executor=ex, batch_size=3, **KW)
            m = perpsim.sweep(Rebalance, rparams, executor=ex, batch_size=1, per_path=True, **model, **mkw)
    pd.testing.assert_frame_equal(d, local(), check_exact=True)
    pd.testing.assert_frame_equal(m, perpsim.sweep(Rebalance, rparams, per_path=True, **model, **mkw), check_exact=True)
    assert len(m) == 120


def test_bad_input_fails_before_any_worker(monkeypatch):
    class Refusing(concurrent.futures.Executor):
        def submit(self, *a, **k):  # pragma: no cover - must not be reached
            raise AssertionError("a worker was asked to run bad input")

    bad = BARS.copy()
    bad.iloc[5, bad.columns.get_loc("high")] = -1.0
    with pytest.raises(perpsim.InvalidInputError, match="high"):
        perpsim.sweep(Grid, PARAMS, data=bad, executor=Refusing(), **KW)

"""Tables of the engine's figures (perpsim._tables): pandas' constructor for trusted arrays gives
the table the public constructor gives (columns, dtypes, index, values), for a sweep's rows and a
Monte Carlo run's, and parameters it does not take as they are (strings, mixed types) go the
public way. The same for the record tables pandas' block constructor builds (an exchange's history,
fills, orders, funding payments, rebates) and for a run's figures as a Series."""

import numpy as np
import pandas as pd
import perpsim
import pytest
from perpsim import _tables
from random_bars import random_bars


def _both(monkeypatch, make, trusted=True, name="_from_arrays"):
    """What ``make()`` gives with pandas' constructor ``name`` of perpsim._tables (trusted arrays,
    or the block constructor of the record tables; taken when ``trusted``), then with the public
    one only."""
    calls = []
    real = getattr(_tables, name)
    assert real is not None, f"this pandas has the constructor behind _tables.{name}"
    with monkeypatch.context() as m:
        m.setattr(_tables, name, lambda *a, **k: calls.append(1) or real(*a, **k))
        fast = make()
    assert bool(calls) == trusted
    with monkeypatch.context() as m:
        m.setattr(_tables, name, None)
        slow = make()
    return fast, slow


def _same(fast, slow):
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert list(fast.columns) == list(slow.columns)
    assert fast.columns.dtype == slow.columns.dtype
    assert fast.dtypes.to_dict() == slow.dtypes.to_dict()
    assert type(fast.index) is type(slow.index) and fast.index.name == slow.index.name


@pytest.mark.parametrize(
    "params",
    [
        {"adjust_ratio": [0.01, 0.02, 0.05]},  # floats
        {"adjust_ratio": [0.01], "limit_orders": [True, False]},  # a bool column
    ],
)
def test_a_sweeps_table_is_the_public_constructors(monkeypatch, params):
    bars = random_bars(np.random.default_rng(5), 3_000, pd.Timestamp("2024-01-01", tz="UTC"))
    run = lambda: perpsim.sweep(  # noqa: E731
        perpsim.Rebalance, params, data=bars, fixed=dict(target_value=20_000.0), threads=1
    )
    fast, slow = _both(monkeypatch, run)
    _same(fast, slow)
    assert len(fast) == np.prod([len(v) for v in params.values()])
    assert str(fast["max_drawdown_start"].dtype) == "datetime64[ns, UTC]"
    assert fast["fills"].dtype == np.uint64 and fast["liquidated"].dtype == bool


def test_a_monte_carlo_table_is_the_public_constructors(monkeypatch):
    model = perpsim.GBM(volatility=0.6, s0=100.0)
    grid = perpsim.Grid(80.0, 120.0, 10, qty=0.1)
    run = lambda: perpsim.monte_carlo(grid, model=model, n_paths=12, n_bars=300, seed=3, threads=1).paths  # noqa: E731
    fast, slow = _both(monkeypatch, run)
    _same(fast, slow)
    assert fast.index.name == "path" and len(fast) == 12


@pytest.mark.parametrize(
    "lead, trusted",
    [
        ({"p": [1, 2, 3]}, True),  # ints
        ({"p": [True, False, True]}, True),
        ({"p": [2**63, 1, 0]}, False),  # past int64: not taken as int64
        ({"p": ["a", "b", "c"]}, False),  # strings
        ({"p": [1, 2.5, True]}, False),  # mixed
        ({"p": [np.float32(1.0), np.float32(2.0), np.float32(3.0)]}, False),  # numpy scalars
        ({"p": [None, 1.0, 2.0]}, False),
    ],
)
def test_parameters_take_the_dtype_pandas_infers(monkeypatch, lead, trusted):
    cols = {"x": np.arange(3, dtype=np.float64), "n": np.arange(3, dtype=np.uint64)}
    make = lambda: _tables.figures_table(lead, cols, pd.RangeIndex(3))  # noqa: E731
    fast, slow = _both(monkeypatch, make, trusted)
    _same(fast, slow)
    assert fast["p"].dtype == pd.DataFrame(lead)["p"].dtype


def test_a_column_of_another_length_is_refused_as_pandas_refuses_it():
    cols = {"x": np.arange(2, dtype=np.float64)}
    with pytest.raises(ValueError):
        _tables.figures_table({"p": [1.0, 2.0, 3.0]}, cols, pd.RangeIndex(3))


def test_tables_of_the_same_names_do_not_share_a_columns_name():
    """The column labels are made once per set of names; naming one table's columns leaves the
    next table's alone."""
    idx = pd.RangeIndex(2)
    a = _tables.figures_table({"x": [1.0, 2.0]}, {"y": np.array([3.0, 4.0])}, idx)
    a.columns.name = "renamed"
    b = _tables.figures_table({"x": [1.0, 2.0]}, {"y": np.array([3.0, 4.0])}, idx)
    assert b.columns.name is None
    assert list(b.columns) == ["x", "y"]


def _both_records(monkeypatch, make):
    """:func:`_both` for a record table: pandas' block constructor, which it must take (pandas 3;
    before it, the public constructor is the only path)."""
    if _tables._from_blocks is None:
        pytest.skip("pandas < 3.0 has no block constructor: the record tables take the public one")
    return _both(monkeypatch, make, name="_from_blocks")


def _hedged_grid_with_funding():
    """A hedge-mode grid backtest with funding paid: every record table has rows (and the fills and
    orders a position_side column)."""
    bars = random_bars(np.random.default_rng(11), 600, pd.Timestamp("2024-01-01", tz="UTC"), vol=0.004)
    funding = pd.Series(0.0001, index=bars.index[::8])
    grid = perpsim.Grid(90.0, 110.0, 20, qty=1.0, mode="long")
    c = perpsim.Contract("X", maker_fee=0.0002, taker_fee=0.0005)
    kw = dict(contract=c, initial_balance=50_000, leverage=5, position_mode="hedge")
    return perpsim.backtest(bars, grid, funding=funding, **kw)


@pytest.mark.parametrize("table", ["history", "fills", "orders", "funding_payments"])
def test_a_record_table_is_the_public_constructors(monkeypatch, table):
    ex = _hedged_grid_with_funding().exchange
    fast, slow = _both_records(monkeypatch, getattr(ex, table))
    _same(fast, slow)
    assert len(fast) > 0
    if table in ("fills", "orders"):
        assert isinstance(fast["position_side"].dtype, pd.CategoricalDtype)
    if table == "orders":
        assert fast.index.name == "order_id" and str(fast["placed"].dtype) == "datetime64[ns, UTC]"


def test_an_empty_record_table_is_the_public_constructors(monkeypatch):
    ex = perpsim.Exchange("X", initial_balance=1_000.0)
    for table in ("history", "fills", "orders", "funding_payments", "rebates"):
        fast, slow = _both_records(monkeypatch, getattr(ex, table))
        _same(fast, slow)
        assert len(fast) == 0


def test_the_history_table_views_the_engines_columns_as_they_are(monkeypatch):
    """Each column its own block, a read-only view of the engine's buffer (no copy): the table's
    arrays are the ones the engine handed out."""
    if _tables._from_blocks is None:
        pytest.skip("pandas < 3.0 has no block constructor")
    ex = _hedged_grid_with_funding().exchange
    ts, columns, names = ex._history_arrays()
    seen = []
    real = _tables._from_blocks
    monkeypatch.setattr(_tables, "_from_blocks", lambda blocks, **k: seen.append(blocks) or real(blocks, **k))
    h = ex.history()
    (blocks,) = seen
    assert [b.shape for b, _ in blocks] == [(1, len(ts))] * len(names)
    for name, col in zip(names, columns):
        assert np.shares_memory(h[name].to_numpy(), col) and not h[name].to_numpy().flags.writeable


def test_a_column_the_block_constructor_would_not_take_goes_the_public_way():
    """A list, or an array of another length: the public constructor gives the table or refuses
    it as pandas does."""
    t = _tables.record_table({"a": np.arange(3.0), "b": [1, 2, 3]})
    pd.testing.assert_frame_equal(t, pd.DataFrame({"a": np.arange(3.0), "b": [1, 2, 3]}))
    with pytest.raises(ValueError):
        _tables.record_table({"a": np.arange(3.0), "b": np.arange(2.0)})


def test_a_runs_figures_are_the_series_pandas_makes_of_them():
    figures = {
        "final_equity": 1.5,
        "fills": 3,
        "liquidated": False,
        "liquidated_at": None,
        "max_drawdown_start": pd.Timestamp("2024-01-01", tz="UTC"),
        "spot": np.float64(2.0),
    }
    fast = _tables.figures_series(figures)
    pd.testing.assert_series_equal(fast, pd.Series(figures, dtype=object), check_exact=True)
    assert fast.index.dtype == pd.Series(figures, dtype=object).index.dtype
    assert [type(v) for v in fast] == [type(v) for v in figures.values()]
    fast.index.name = "renamed"  # the names' Index is made once: each series has its own copy
    assert _tables.figures_series(figures).index.name is None


def test_a_column_with_one_value_is_that_value_on_every_row(monkeypatch):
    """A run without funding: its history's funding column is 0.0 on every row, not written out (a
    read-only view of one value with a stride of 0, decision 136); the table is the public
    constructor's, and a column that varies is written out as before."""
    bars = random_bars(np.random.default_rng(2), 2_000, pd.Timestamp("2024-01-01", tz="UTC"), vol=0.004)
    ex = perpsim.backtest(bars, perpsim.Grid(90.0, 110.0, 20, qty=1.0), initial_balance=50_000).exchange
    fast, slow = _both_records(monkeypatch, ex.history)
    _same(fast, slow)
    position_column = next(c for c in fast.columns if c.startswith("position_"))
    funding, position = fast["funding"].to_numpy(), fast[position_column].to_numpy()
    assert funding.strides == (0,) and not funding.flags.writeable and len(funding) == 2_000
    assert (funding == 0.0).all()
    assert position.strides == (8,) and len(set(position)) > 2


@pytest.mark.parametrize("table", ["fills", "orders"])
def test_label_columns_are_the_categoricals_from_codes_makes(monkeypatch, table):
    """The label columns (symbol, side, liquidity, reason, status, ...) from pandas' constructor for
    trusted codes are the Categoricals ``from_codes`` makes: categories, codes and their dtype."""
    ex = _hedged_grid_with_funding().exchange
    fast, slow = _both(monkeypatch, getattr(ex, table), name="_new_categorical")
    _same(fast, slow)
    labels = [c for c in fast.columns if isinstance(fast[c].dtype, pd.CategoricalDtype)]
    assert len(labels) >= 4
    for c in labels:
        assert fast[c].cat.codes.dtype == slow[c].cat.codes.dtype
        assert list(fast[c].cat.categories) == list(slow[c].cat.categories)

"""The engine's times as pandas times (perpsim._times): the trusted constructors give what pandas'
public ones give (values, NaT, dtype, name), as views of the engine's array; and the public
fallback, used on a pandas without them, gives the same."""

import numpy as np
import pandas as pd
import pytest
from perpsim import _times

NAT = np.iinfo(np.int64).min
NS = np.array([1_672_531_200_000_000_000, NAT, 1_672_531_260_000_000_123, -5], dtype=np.int64)


def _public_index(ns, name=None):
    return pd.DatetimeIndex(ns.view("datetime64[ns]"), dtype="datetime64[ns, UTC]", name=name)


def test_the_index_is_the_public_constructors_and_a_view():
    got = _times.utc_index(NS, "timestamp")
    want = _public_index(NS, "timestamp")
    assert isinstance(got, pd.DatetimeIndex)
    assert got.dtype == want.dtype and str(got.dtype) == "datetime64[ns, UTC]"
    assert got.name == "timestamp"
    assert got.equals(want)
    assert got[1] is pd.NaT and got[3] == pd.Timestamp(-5, unit="ns", tz="UTC")
    assert np.shares_memory(got.asi8, NS)
    # it behaves as an index: lookups by time, slicing
    s = pd.Series([1.0, 2.0, 3.0, 4.0], index=got)
    assert s.loc["2023-01-01 00:01"].item() == 3.0


def test_the_array_is_the_public_constructors_and_a_view():
    got = _times.utc_array(NS)
    want = _public_index(NS).array
    assert got.dtype == want.dtype
    assert got.equals(want)
    assert pd.isna(got[1])
    assert np.shares_memory(np.asarray(got.asi8), NS)
    # datetime64[ns] in: the same
    assert _times.utc_array(NS.view("datetime64[ns]")).equals(want)
    # as a DataFrame column
    df = pd.DataFrame({"t": got, "x": np.arange(4.0)}, copy=False)
    assert str(df["t"].dtype) == "datetime64[ns, UTC]"
    assert df["t"].iloc[0] == pd.Timestamp("2023-01-01", tz="UTC")


def test_the_fallback_gives_the_same(monkeypatch):
    want_a, want_i = _times.utc_array(NS), _times.utc_index(NS, "t")

    monkeypatch.setattr(_times, "_new_array", None)
    monkeypatch.setattr(_times, "_new_index", None)
    got_a, got_i = _times.utc_array(NS), _times.utc_index(NS, "t")
    assert got_a.dtype == want_a.dtype and got_a.equals(want_a)
    assert got_i.equals(want_i) and got_i.name == "t" and got_i.dtype == want_i.dtype


@pytest.mark.parametrize("n", [0, 1])
def test_empty_and_one(n):
    ns = NS[:n]
    assert _times.utc_index(ns).equals(_public_index(ns))
    assert len(_times.utc_array(ns)) == n


def test_a_constructor_of_another_signature_falls_back(monkeypatch):
    want = _times.utc_index(NS, "t")

    def other(*a, **k):
        raise TypeError("a constructor of another signature")

    monkeypatch.setattr(_times, "_new_array", other)
    monkeypatch.setattr(_times, "_new_index", other)
    got = _times.utc_index(NS, "t")
    assert got.equals(want) and got.name == "t" and got.dtype == want.dtype

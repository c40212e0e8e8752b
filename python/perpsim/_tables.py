"""Tables of the engine's figures (a sweep's or Monte Carlo run's rows) built with pandas' own
constructor for arrays it can trust, without the checks and conversions of foreign input.

``pd.DataFrame(dict_of_arrays)`` inspects and converts each column (about 0.16 ms for a one-set
sweep's 23 columns, 0.4-0.5 ms right after a run has pushed pandas out of the caches).
The engine's columns are numpy arrays of the table's length already, and a sweep's parameters are
plain numbers; ``DataFrame._from_arrays(..., verify_integrity=False)`` (what pandas itself uses
for such arrays; it still checks that each is one-dimensional and of the index's length) takes
them as they are. Anything else (a parameter that is a string or of mixed types, a pandas without
that constructor or with another signature) takes the public constructor, which gives the same
table; tests/test_tables.py checks that both paths agree.

The record tables (an exchange's history, fills, orders, funding payments, rebates) are long
columns that must stay as they are: the history's are read-only views of the engine's buffers,
which ``_from_arrays`` would copy into one block (42 MB for a year of minutes). pandas' block
constructor (``pandas.api.internals.create_dataframe_from_blocks``, pandas 3) takes each column
as its own block without a look at its values: the history table of a year of minutes in ~0.1 ms
right after a run, against ~0.3 ms for the public constructor (decision 135)."""

from __future__ import annotations

import functools
from typing import Any, List, Mapping, Optional, Tuple

import numpy as np
import pandas as pd

__all__ = ["figures_series", "figures_table", "label_array", "record_table"]

_from_arrays = getattr(pd.DataFrame, "_from_arrays", None)

try:  # pandas >= 3.0
    from pandas.api.internals import create_dataframe_from_blocks as _from_blocks
except ImportError:  # pragma: no cover - an older pandas: the public constructor
    _from_blocks = None

# pandas' Categorical from codes it trusts (no check of each code; the engine's are in range);
# None on a pandas without it: ``from_codes`` then.
_new_categorical = getattr(pd.Categorical, "_simple_new", None)


def _plain(values: List[Any]) -> Optional[np.ndarray]:
    """A parameter's values as the numpy array pandas would infer for them, when they are all
    floats, all bools or all ints in int64's range (no other inference to match); else None."""
    kinds = {type(v) for v in values}
    if kinds == {float} or kinds == {bool}:
        return np.asarray(values)
    if kinds == {int} and all(-(2**63) <= v < 2**63 for v in values):
        return np.asarray(values, dtype=np.int64)
    return None


@functools.lru_cache(maxsize=64)
def _columns(names: Tuple[str, ...]) -> pd.Index:
    """The column labels of a table of figures, made once per set of names (pandas makes an
    Index of strings into a string array, which costs more than a sweep's one-row table); each
    table takes its own shallow copy (:func:`figures_table`), so that setting its ``name`` leaves
    the others' alone."""
    return pd.Index(list(names))


def figures_table(lead: Mapping[str, List[Any]], cols: Mapping[str, Any], index: pd.Index) -> pd.DataFrame:
    """The ``lead`` columns (lists of values: a sweep's parameters), then ``cols`` (arrays of
    ``len(index)``), indexed by ``index``."""
    if _from_arrays is not None:
        arrays = [_plain(list(v)) for v in lead.values()]
        if all(a is not None for a in arrays):
            try:
                return _from_arrays(
                    [*arrays, *cols.values()],
                    columns=_columns((*lead, *cols)).copy(),
                    index=index,
                    verify_integrity=False,
                )
            except (TypeError, ValueError):  # another signature, or an array it does not take
                pass
    data = {k: v for k, v in lead.items()}
    data.update(cols)
    return pd.DataFrame(data, index=index, copy=False)


def _block(v: Any, n: int) -> Any:
    """Column ``v`` as a block's values: a one-dimensional numpy array of length ``n`` as one row
    (a view), a pandas extension array (Categorical, tz-aware times) of length ``n`` as it is;
    None for anything else."""
    if isinstance(v, np.ndarray):
        return v.reshape(1, n) if v.ndim == 1 and len(v) == n else None
    if isinstance(v, pd.api.extensions.ExtensionArray) and len(v) == n:
        return v
    return None


def record_table(cols: Mapping[str, Any], index: Optional[pd.Index] = None) -> pd.DataFrame:
    """The columns ``cols`` (numpy arrays and pandas extension arrays of one length), each its own
    block taken as it is (no copy), indexed by ``index`` (default: 0, 1, ...). Anything the block
    constructor would not take as it is (another length, a list) goes the public way, which gives
    the same table or pandas' own error."""
    if _from_blocks is not None:
        n = len(index) if index is not None else (len(next(iter(cols.values()))) if cols else 0)
        blocks = [_block(v, n) for v in cols.values()]
        if all(b is not None for b in blocks):
            return _from_blocks(
                [(b, np.array([j])) for j, b in enumerate(blocks)],
                index=index if index is not None else pd.RangeIndex(n),
                columns=_columns(tuple(cols)).copy(),
            )
    return pd.DataFrame(cols, index=index, copy=False)


def figures_series(figures: Mapping[str, Any]) -> pd.Series:
    """A run's figures (numbers, times, None) as an object Series indexed by their names: the
    values set one by one into an object array (no inference over them) and the names' Index made
    once per set of names; what ``pd.Series(figures, dtype=object)`` gives, in ~0.1 ms right after
    a run instead of ~0.25 ms (decision 135)."""
    values = np.empty(len(figures), dtype=object)
    for j, v in enumerate(figures.values()):
        values[j] = v
    return pd.Series(values, index=_columns(tuple(figures)).copy(), dtype=object, copy=False)


@functools.lru_cache(maxsize=256)
def _label_dtype(categories: Tuple[str, ...]) -> pd.CategoricalDtype:
    """The categorical dtype of a label column (built once per set of labels: its categories are
    a string array, which costs more to build than the column's codes)."""
    return pd.CategoricalDtype(list(categories))


def label_array(codes: np.ndarray, categories: Tuple[str, ...]) -> pd.Categorical:
    """A label column from the engine's codes (int32 indices into ``categories``, every one in
    range) as a pandas Categorical: pandas' own constructor for trusted codes, which skips
    ``from_codes``' check of each code (~0.07 ms less for the four label columns of a year's
    grid fills right after a run, decision 135); ``from_codes`` where pandas has no such
    constructor or another signature."""
    dtype = _label_dtype(categories)
    if _new_categorical is not None:
        try:
            return _new_categorical(codes, dtype)
        except TypeError:  # another signature
            pass
    return pd.Categorical.from_codes(codes, dtype=dtype)

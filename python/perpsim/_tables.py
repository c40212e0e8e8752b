"""Tables of the engine's figures (a sweep's or Monte Carlo run's rows) built with pandas' own
constructor for arrays it can trust, without the checks and conversions of foreign input.

``pd.DataFrame(dict_of_arrays)`` inspects and converts each column (about 0.16 ms for a one-set
sweep's 23 columns, 0.4-0.5 ms right after a run has pushed pandas out of the caches).
The engine's columns are numpy arrays of the table's length already, and a sweep's parameters are
plain numbers; ``DataFrame._from_arrays(..., verify_integrity=False)`` (what pandas itself uses
for such arrays; it still checks that each is one-dimensional and of the index's length) takes
them as they are. Anything else (a parameter that is a string or of mixed types, a pandas without
that constructor or with another signature) takes the public constructor, which gives the same
table; tests/test_tables.py checks that both paths agree."""

from __future__ import annotations

import functools
from typing import Any, List, Mapping, Optional, Tuple

import numpy as np
import pandas as pd

__all__ = ["figures_table"]

_from_arrays = getattr(pd.DataFrame, "_from_arrays", None)


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

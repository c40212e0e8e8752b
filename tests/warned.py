"""``backtest`` for tests whose inputs may make a run doubtful (property tests): it runs
``perpsim.backtest`` and demands that the PerpsimWarnings it emitted are exactly the result's
doubtful warnings, once each; any other warning is passed on."""

from __future__ import annotations

import warnings
from typing import Any

import perpsim


def backtest(*args: Any, **kwargs: Any) -> perpsim.Result:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = perpsim.backtest(*args, **kwargs)
    emitted = [str(w.message) for w in caught if issubclass(w.category, perpsim.PerpsimWarning)]
    assert emitted == [w.message for w in r.warnings if w.doubtful]
    for w in caught:
        if not issubclass(w.category, perpsim.PerpsimWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return r

"""Work split in batches, run here or on any ``concurrent.futures``-style executor (a dask
``Client.get_executor()``, a process pool), with a progress bar; the parts come back in order,
whatever finishes first. One helper for Monte Carlo paths and sweep sets."""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any, Callable, List, Optional, Tuple

__all__ = ["bounds", "progress_bar", "run_batches"]


def bounds(n: int, size: int) -> List[Tuple[int, int]]:
    """``[a, b)`` ranges of at most ``size`` covering ``0..n``."""
    return [(a, min(n, a + size)) for a in range(0, n, size)]


def progress_bar(total: int, enabled: bool, desc: str, unit: str) -> Any:
    """A tqdm bar, or None when disabled (or tqdm was removed)."""
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is a dependency; stay silent if it was removed
        return None
    return tqdm(total=total, desc=desc, unit=unit, leave=False)


def run_batches(
    fn: Callable[..., Any],
    payload: Any,
    n: int,
    size: int,
    executor: Optional[Executor],
    bar: Any,
) -> List[Any]:
    """``fn(payload, a, b)`` for each batch ``[a, b)`` of ``0..n`` (here, or submitted to
    ``executor``), the results in batch order; ``bar`` advanced by each batch's size."""
    parts: List[Any] = []
    ranges = bounds(n, size)
    try:
        if executor is None:
            for a, b in ranges:
                parts.append(fn(payload, a, b))
                if bar is not None:
                    bar.update(b - a)
        else:
            futures = [executor.submit(fn, payload, a, b) for a, b in ranges]
            for (a, b), f in zip(ranges, futures):  # in order, whatever finishes first
                parts.append(f.result())
                if bar is not None:
                    bar.update(b - a)
    finally:
        if bar is not None:
            bar.close()
    return parts

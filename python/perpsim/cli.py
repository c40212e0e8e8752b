"""The ``perpsim`` command line."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from .errors import PerpsimError

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_balance, summary_table

    r = run_balance()
    print(summary_table(r))
    if args.output:
        r.history.to_csv(args.output)
        print(f"\nequity history written to {args.output}")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``perpsim`` command; returns the exit code (0 ok, 2 bad input)."""
    parser = argparse.ArgumentParser(prog="perpsim", description="Backtesting and risk engine for crypto derivatives.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the balance-strategy demo on the bundled real BTCUSDT sample")
    demo.add_argument("--output", "-o", help="also write the equity history to this CSV file")
    demo.set_defaults(func=_demo)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except PerpsimError as e:
        print(f"perpsim: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The ``perpsim`` command line: ``demo``, ``backtest CONFIG.toml``, ``montecarlo CONFIG.toml`` and
``calc grid|liquidation|funding|mining``. Exit codes: 0 ok, 2 bad input (a one-line reason on
stderr, never a traceback for a user mistake), 1 an unexpected internal error."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

from .errors import PerpsimError

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error and exit code 2 (its default) without the usage dump."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _stats_table(columns: Dict[str, Any]) -> str:
    """Several stats Series side by side."""
    import pandas as pd

    df = pd.DataFrame(columns)
    pct = {"total_return", "cagr", "max_drawdown"}

    def fmt(k: str, v: Any) -> str:
        if v is None or (isinstance(v, float) and v != v):
            return "-"
        if isinstance(v, bool):
            return "yes" if v else "no"
        if isinstance(v, float):
            return f"{v:,.2%}" if k in pct else f"{v:,.2f}"
        if isinstance(v, pd.Timestamp):
            return f"{v:%Y-%m-%d %H:%M}"
        return str(v)

    rows = [(k, [fmt(str(k), df.loc[k, c]) for c in df.columns]) for k in df.index]
    w0 = max(len(str(k)) for k, _ in rows)
    ws = [max(len(str(c)), *(len(r[1][i]) for r in rows)) for i, c in enumerate(df.columns)]
    head = " " * w0 + "  " + "  ".join(f"{c:>{w}}" for c, w in zip(df.columns, ws))
    lines = [head] + [f"{k:<{w0}}  " + "  ".join(f"{v:>{w}}" for v, w in zip(vals, ws)) for k, vals in rows]
    return "\n".join(lines)


def _demo(args: argparse.Namespace) -> int:
    import perpsim

    if not args.no_report:
        for kind in ("grid", "balance"):
            _check_new(Path(args.output_dir) / f"perpsim-demo-{kind}.html", "--output-dir", args.force)

    bars = perpsim.data.sample("BTCUSDT", "1h")
    funding = perpsim.data.sample_funding("BTCUSDT")
    runs = {
        "grid (long, 10x)": perpsim.backtest(
            bars,
            perpsim.Grid(38_000, 110_000, 100, qty=0.01, mode="long"),
            contract=perpsim.BTCUSDT,
            initial_balance=10_000,
            leverage=10,
            funding=funding,
        ),
        "balance (20k at 5x)": perpsim.backtest(
            bars,
            perpsim.Rebalance(target_value=20_000, adjust_ratio=0.01),
            contract=perpsim.BTCUSDT,
            initial_balance=10_000,
            leverage=5,
            funding=funding,
        ),
    }
    print("perpsim demo: real Binance BTCUSDT perpetual, 2024, hourly bars, real funding, 10,000 USDT\n")
    keys = ["final_equity", "total_return", "max_drawdown", "sharpe", "fills", "fees", "funding", "liquidated"]
    print(_stats_table({name: r.stats.reindex(keys) for name, r in runs.items()}))
    if not args.no_report:
        out = Path(args.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        for name, r in runs.items():
            f = out / f"perpsim-demo-{name.split()[0]}.html"
            r.report(str(f), title=f"perpsim demo: {name}")
            print(f"\nreport: {f}")
    return 0


def _outputs(cfg: Any, args: argparse.Namespace, tables: Sequence[str]) -> Dict[str, Any]:
    """The [report] table with the command line's overrides, checked before the run: an existing
    file is not overwritten without --force (give another name instead)."""
    report = dict(cfg.report)
    if args.report:
        report["html"] = args.report
    if args.png:
        report["png"] = args.png
    for key in ("html", "png", *tables):
        if key in report:
            _check_new(Path(report[key]), f"report.{key}", args.force)
    return report


def _check_new(path: Path, key: str, force: bool) -> None:
    if path.exists() and not force:
        raise PerpsimError(f"{key}: {path} exists; pass --force to overwrite it, or give another name", key)


def _write_reports(result: Any, report: Dict[str, Any], title: str) -> Dict[str, Any]:
    """The HTML report and PNG charts asked for (see :func:`_outputs`)."""
    if "html" in report:
        result.report(report["html"], title=report.get("title") or title)
        print(f"report: {report['html']}")
    if "png" in report:
        import matplotlib.pyplot as plt

        plt.close(result.plot(path=report["png"]))
        print(f"png: {report['png']}")
    return report


def _write_tables(report: Dict[str, Any], tables: Dict[str, Any]) -> None:
    for key, df in tables.items():
        if key in report:
            df.to_csv(report[key])
            print(f"{key.replace('_csv', '')}: {report[key]}")


def _backtest(args: argparse.Namespace) -> int:
    import perpsim

    from . import config as cfgmod

    cfg = cfgmod.load(args.config)
    report = _outputs(cfg, args, ("fills_csv", "equity_csv"))
    data = cfg.data if len(cfg.data) > 1 else next(iter(cfg.data.values()))
    kw = cfg.backtest_kwargs()
    funding = kw.pop("funding")
    if funding is not None and len(funding) == 1 and len(cfg.data) == 1:
        funding = next(iter(funding.values()))
    try:
        r = perpsim.backtest(data, cfg.strategy, funding=funding, **kw)
    except perpsim.InvalidInputError as e:
        raise cfgmod.qualified(e, cfg) from None
    if not args.quiet:
        print(f"perpsim backtest: {cfg.source.name}\n")
        print(r.summary())
    _write_reports(r, report, f"perpsim backtest: {cfg.source.stem}")
    _write_tables(report, {"fills_csv": r.fills, "equity_csv": r.equity})
    return 0


def _montecarlo(args: argparse.Namespace) -> int:
    import perpsim

    from . import config as cfgmod

    cfg = cfgmod.load(args.config)
    if not cfg.montecarlo:
        raise perpsim.InvalidInputError(
            f"montecarlo: {cfg.source.name} has no [montecarlo] table (model, n_paths, ...; see docs/cli.md)",
            "montecarlo",
        )
    if len(cfg.data) != 1:
        raise perpsim.InvalidInputError("data: Monte Carlo runs one symbol", "data")
    report = _outputs(cfg, args, ("paths_csv",))
    model, funding = cfgmod.model_of(cfg)
    mc = cfg.montecarlo
    kw = dict(cfg.account)
    kw.update(cfg.run)
    try:
        r = perpsim.monte_carlo(
            cfg.strategy,
            next(iter(cfg.contracts.values())),
            model,
            n_paths=int(args.paths or mc.get("n_paths", 1_000)),
            n_bars=int(mc.get("n_bars", 8_760)),
            seed=int(args.seed if args.seed is not None else mc.get("seed", 0)),
            threads=args.threads or mc.get("threads"),
            progress=not args.no_progress,
            keep_curves=int(mc.get("keep_curves", 50)),
            funding=funding,
            **kw,
        )
    except perpsim.InvalidInputError as e:
        raise cfgmod.qualified(e, cfg) from None
    if not args.quiet:
        print(f"perpsim montecarlo: {cfg.source.name}: {model!r}\n")
        s = r.summary()
        print("\n".join(f"{k:<28}{v:>14,.4f}" if isinstance(v, float) else f"{k:<28}{v!s:>14}" for k, v in s.items()))
    _write_reports(r, report, f"perpsim Monte Carlo: {cfg.source.stem}")
    _write_tables(report, {"paths_csv": r.paths})
    return 0


def _contract_arg(name: str) -> Any:
    from .contracts import preset

    return preset(name)


def _calc(args: argparse.Namespace) -> int:
    from . import calc

    if args.what == "grid":
        levels = calc.grid_levels(args.lower, args.upper, args.grids, args.spacing, args.tick, args.max_grids)
        print(f"{len(levels)} levels ({args.spacing}):")
        shown = [f"{x:,.8g}" for x in (levels if len(levels) <= 41 else levels[:20] + levels[-20:])]
        if len(levels) > 41:
            shown.insert(20, f"... ({len(levels) - 40:,} more) ...")
        print(", ".join(shown))
        if args.investment is not None:
            q = calc.grid_quote_qty(args.investment, args.leverage, args.grids)
            print(f"quote per grid: {q:,.2f} (0.95 · {args.investment:g} · {args.leverage:g}x / {args.grids + 1})")
            print(f"quantity at the lowest level: {calc.grid_qty_at(q, levels[0]):.8g}")
    elif args.what == "liquidation":
        c = _contract_arg(args.contract)
        lp = calc.liquidation_price(c, args.side, args.qty, args.entry, args.balance)
        print(f"liquidation price: {lp:,.2f}" if lp == lp else "liquidation price: none (no positive price liquidates)")
    elif args.what == "funding":
        c = _contract_arg(args.contract)
        p = calc.funding_payment(c, args.qty, args.mark, args.rate)
        print(f"funding received: {p:,.8g} {c.settle_asset} (negative: paid)")
    elif args.what == "mining":
        a = calc.trade_mining_optimum(args.volume, args.pool, args.price, args.cost, args.min_order)
        g = calc.trade_mining_income(a, args.volume, args.pool, args.price, args.cost)
        print(f"optimal volume: {a:,.2f}; income at it: {g:,.2f}")
    return 0


def _whole(least: int) -> Any:
    """An argparse type: a whole number >= ``least``."""

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {least}, got {text!r}") from None
        if v < least:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {least}, got {v}")
        return v

    return parse


def _build() -> argparse.ArgumentParser:
    p = _Parser(prog="perpsim", description="Backtesting and risk engine for crypto derivatives.")
    from . import __version__

    p.add_argument("--version", action="version", version=f"perpsim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    d = sub.add_parser("demo", help="grid and balance backtests on the bundled real BTCUSDT 2024 sample")
    d.add_argument("--output-dir", "-o", default=".", help="where to write the HTML reports (default: here)")
    d.add_argument("--no-report", action="store_true", help="print the table only")
    d.add_argument("--force", action="store_true", help="overwrite reports that exist")
    d.set_defaults(func=_demo)

    b = sub.add_parser("backtest", help="run the backtest described by a TOML configuration")
    b.add_argument("config", help="a TOML file (see examples/configs/)")
    b.add_argument("--report", help="write the HTML report here (overrides [report] html)")
    b.add_argument("--png", help="write the chart PNG here")
    b.add_argument("--quiet", "-q", action="store_true", help="do not print the stats")
    b.add_argument("--force", action="store_true", help="overwrite outputs that exist")
    b.set_defaults(func=_backtest)

    m = sub.add_parser("montecarlo", help="run the Monte Carlo study described by a TOML configuration")
    m.add_argument("config", help="a TOML file with a [montecarlo] table (see examples/configs/)")
    m.add_argument("--paths", type=_whole(1), help="number of paths (overrides montecarlo.n_paths)")
    m.add_argument("--seed", type=_whole(0), help="seed (overrides montecarlo.seed)")
    m.add_argument("--threads", type=_whole(1), help="cores to use (default: all)")
    m.add_argument("--report", help="write the HTML report here")
    m.add_argument("--png", help="write the fan chart and histogram PNG here")
    m.add_argument("--no-progress", action="store_true", help="no progress bar")
    m.add_argument("--quiet", "-q", action="store_true", help="do not print the summary")
    m.add_argument("--force", action="store_true", help="overwrite outputs that exist")
    m.set_defaults(func=_montecarlo)

    c = sub.add_parser("calc", help="exchange calculators (grid, liquidation, funding, mining)")
    cs = c.add_subparsers(dest="what", required=True, parser_class=_Parser)
    g = cs.add_parser("grid", help="grid levels and the quote value per grid")
    g.add_argument("--lower", type=float, required=True)
    g.add_argument("--upper", type=float, required=True)
    g.add_argument("--grids", type=_whole(2), required=True, help="number of grid intervals N")
    g.add_argument("--spacing", choices=["arithmetic", "geometric"], default="arithmetic")
    g.add_argument("--tick", type=float, default=0.0, help="round levels to this tick")
    g.add_argument("--investment", type=float, help="initial margin, for the quote value per grid")
    g.add_argument("--leverage", type=float, default=1.0)
    g.add_argument("--max-grids", type=_whole(2), help="accept more grids than exchanges (default 500), for research")
    lq = cs.add_parser("liquidation", help="liquidation price of a position (isolated margin)")
    lq.add_argument("--contract", default="BTCUSDT", help="a preset (BTCUSDT, ETHUSDT, BTCUSD_PERP, ...)")
    lq.add_argument("--side", choices=["long", "short"], required=True)
    lq.add_argument("--qty", type=float, required=True, help="quantity (contracts for inverse)")
    lq.add_argument("--entry", type=float, required=True, help="entry price")
    lq.add_argument("--balance", type=float, required=True, help="margin backing the position")
    fu = cs.add_parser("funding", help="funding payment of a position")
    fu.add_argument("--contract", default="BTCUSDT")
    fu.add_argument("--qty", type=float, required=True, help="signed quantity (negative: short)")
    fu.add_argument("--mark", type=float, required=True, help="mark price")
    fu.add_argument("--rate", type=float, required=True, help="funding rate (0.0001 = 0.01 %%)")
    mi = cs.add_parser("mining", help="trade-mining optimum a* = sqrt(V·B·p/c) − V")
    mi.add_argument("--volume", type=float, required=True, help="market volume V in the period")
    mi.add_argument("--pool", type=float, required=True, help="pool B (tokens)")
    mi.add_argument("--price", type=float, required=True, help="token price p")
    mi.add_argument("--cost", type=float, required=True, help="cost c per unit of notional")
    mi.add_argument("--min-order", type=float, default=0.0)
    c.set_defaults(func=_calc)

    dt = sub.add_parser("data", help="real data: download from the exchange's public archive")
    ds = dt.add_subparsers(dest="what", required=True, parser_class=_Parser)
    dl = ds.add_parser("download", help="klines, mark/index/premium klines or funding rates, checked and cached")
    dl.add_argument("symbol", help="e.g. BTCUSDT (usdm, spot) or BTCUSD_PERP (coinm)")
    dl.add_argument("--market", choices=["usdm", "coinm", "spot"], default="usdm")
    dl.add_argument(
        "--kind",
        choices=["klines", "markPriceKlines", "indexPriceKlines", "premiumIndexKlines", "fundingRate"],
        default="klines",
    )
    dl.add_argument("--interval", default="1m", help="kline interval (1m, 5m, 1h, ...)")
    dl.add_argument("--start", required=True, help="first month, YYYY-MM")
    dl.add_argument("--end", help="last month, YYYY-MM (default: the first)")
    dl.add_argument("--out", help="also write the table here (.parquet or .csv)")
    dl.add_argument("--cache", help="cache folder (default $PERPSIM_CACHE or ~/.cache/perpsim)")
    dl.add_argument("--base-url", help="archive address (default $PERPSIM_DATA_URL or https://data.binance.vision)")
    dl.add_argument("--skip-missing", action="store_true", help="leave out months the archive lacks (warn)")
    dl.add_argument("--no-progress", action="store_true", help="no progress bar")
    dl.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    dl.set_defaults(func=_data)
    return p


def _data(args: argparse.Namespace) -> int:
    from .download import download

    if args.out:
        _check_new(Path(args.out), "--out", args.force)
    got = download(
        args.symbol,
        market=args.market,
        kind=args.kind,
        interval=args.interval,
        start=args.start,
        end=args.end,
        cache_dir=args.cache,
        base_url=args.base_url,
        missing="skip" if args.skip_missing else "raise",
        progress=not args.no_progress,
    )
    span = f"{got.index[0]:%Y-%m-%d %H:%M} to {got.index[-1]:%Y-%m-%d %H:%M} UTC" if len(got) else "nothing"
    where = ""
    if args.out:
        out = Path(args.out)
        table = got.to_frame() if got.ndim == 1 else got
        if out.suffix.lower() in (".parquet", ".pq"):
            table.to_parquet(out)
        else:
            table.to_csv(out, index_label="timestamp")
        where = f" -> {out}"
    print(f"{args.symbol.upper()} {args.kind}: {len(got):,} rows, {span}{where}")
    return 0


def _one_line(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
    """Warnings as one line each on stderr (a doubtful result: ``perpsim: warning: ...``)."""
    print(f"perpsim: warning: {message}", file=sys.stderr)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``perpsim`` command; returns the exit code (0 ok, 2 bad input)."""
    parser = _build()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as e:  # --help (0) or a usage error (2, already printed on one line)
        return int(e.code or 0)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line
            return int(args.func(args))
    except (PerpsimError, ValueError, FileNotFoundError, IsADirectoryError, PermissionError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"perpsim: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("perpsim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Self-contained HTML reports (charts embedded as PNG, no external files or scripts) for a
backtest :class:`~perpsim.Result`, a :class:`~perpsim.MonteCarloResult`, and a study made of
several (:func:`study_report`)."""

from __future__ import annotations

import base64
import html
import io
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Optional, Tuple

import pandas as pd

__all__ = ["backtest_report", "montecarlo_report", "study_report", "write_png", "result_html", "montecarlo_html"]

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.5em;margin-bottom:.2em} h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
.sub{color:#666;margin-top:0} table{border-collapse:collapse;font-size:.9em}
td,th{padding:.25em .7em;border-bottom:1px solid #eee;text-align:right} th{background:#f6f6f6}
td:first-child,th:first-child{text-align:left} .stats td:first-child{color:#555}
img{max-width:100%;border:1px solid #eee} .note{color:#777;font-size:.85em}
.warnings li{color:#555} .warnings li.doubtful{color:#b00;font-weight:600}
.grid{display:flex;gap:2em;flex-wrap:wrap} .grid>div{flex:1;min-width:300px}
.heat td{text-align:center;min-width:3.5em} .chart{border:1px solid #eee}
"""


def _short(obj: Any) -> str:
    """A dataclass shown with its non-default fields only."""
    import dataclasses

    if not dataclasses.is_dataclass(obj):
        return type(obj).__name__
    parts = []
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if f.default is not dataclasses.MISSING and v == f.default:
            continue
        if isinstance(v, (pd.DataFrame, pd.Series)):
            v = f"<{type(v).__name__} {len(v)} rows>"
        parts.append(f"{f.name}={v!r}" if not isinstance(v, str) or not v.startswith("<") else f"{f.name}={v}")
    return f"{type(obj).__name__}({', '.join(parts)})"


def _fmt(k: str, v: Any) -> str:
    if isinstance(v, float):
        if k in ("total_return", "cagr", "mean_return", "time_under_water", "win_rate") or k.startswith(
            ("p_", "total_return_q", "max_drawdown", "expected_shortfall")
        ):
            return f"{v:.2%}"
        return f"{v:,.4f}" if abs(v) < 1e6 else f"{v:,.0f}"
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d %H:%M")
    return html.escape(str(v))


def _kv_table(items: Iterable[Tuple[str, Any]]) -> str:
    rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{_fmt(str(k), v)}</td></tr>" for k, v in items)
    return f"<table class='stats'>{rows}</table>"


def _figure_png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(fig_maker: Any) -> str:
    try:
        fig = fig_maker()
    except ImportError:
        return "<p class='note'>Charts need matplotlib: pip install 'perpsim[plot]'.</p>"
    return f"<img alt='chart' src='data:image/png;base64,{_figure_png(fig)}'>"


def _page(title: str, subtitle: str, body: str) -> str:
    from . import __version__

    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class='sub'>{html.escape(subtitle)}</p>{body}"
        f"<p class='note'>perpsim {__version__}, {now}.</p></body></html>"
    )


def write_png(plot: Any, html_path: Optional[str], png: Any) -> Optional[str]:
    """Writes the charts of ``plot(path=...)`` as a PNG: at ``png`` (a path), or next to
    ``html_path`` with the suffix ``.png`` when ``png`` is True. Returns the path written."""
    if png is None or png is False:
        return None
    if png is True:
        if html_path is None:
            from .errors import InvalidInputError

            raise InvalidInputError("png: True needs the report's path", "png")
        png = str(Path(html_path).with_suffix(".png"))
    import matplotlib.pyplot as plt

    fig = plot(path=str(png))
    plt.close(fig)
    return str(png)


def _frame_table(df: pd.DataFrame, limit: int = 200) -> str:
    shown = df.head(limit).copy()
    for c in shown.columns:
        if pd.api.types.is_datetime64_any_dtype(shown[c]):
            shown[c] = shown[c].dt.strftime("%Y-%m-%d %H:%M")
    t = shown.to_html(index=False, float_format=lambda x: f"{x:,.6g}", border=0, escape=True)
    more = f"<p class='note'>{len(df) - limit:,} more rows not shown.</p>" if len(df) > limit else ""
    return f"<div style='overflow-x:auto'>{t}</div>{more}"


def _warnings_html(items: Any) -> str:
    """The run's warnings as a list at the top of the report (doubtful ones marked)."""
    if not items:
        return ""
    li = "".join(f"<li{' class=doubtful' if w.doubtful else ''}>{html.escape(w.message)}</li>" for w in items)
    return f"<h2>Warnings ({len(items)})</h2><ul class='warnings'>{li}</ul>"


class _Charts:
    """Interactive charts for one page: plotly.js embedded once (with the first chart), so the
    page works offline; without plotly, the matplotlib PNGs."""

    def __init__(self) -> None:
        self.first = True

    def __call__(self, make: Any, fallback: Any = None) -> str:
        try:
            fig = make()
        except ImportError:
            return _img(fallback) if fallback is not None else "<p class='note'>Charts need plotly.</p>"
        out = fig.to_html(
            full_html=False,
            include_plotlyjs=self.first,
            config={"displaylogo": False, "responsive": True, "scrollZoom": True},
        )
        self.first = False
        return f"<div class='chart'>{out}</div>"


def _csv_link(df: pd.DataFrame, name: str, limit: int = 200_000) -> str:
    """A link that downloads ``df`` as CSV (embedded in the page; up to ``limit`` rows)."""
    if len(df) > limit:
        return f"<p class='note'>{len(df):,} rows: too many to embed; use result.fills.to_csv().</p>"
    data = base64.b64encode(df.to_csv(index=False).encode("utf-8")).decode("ascii")
    link = f"<a download='{html.escape(name)}' href='data:text/csv;base64,{data}'>"
    return f"<p>{link}Download all {len(df):,} rows as CSV</a></p>"


def _heat_table(table: pd.DataFrame) -> str:
    """Monthly returns with a red-green background by sign and size."""
    if table.empty:
        return "<p>No full step to measure.</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in ["year", *table.columns])
    rows = []
    for year, r in table.iterrows():
        cells = [f"<td>{year}</td>"]
        for c, v in r.items():
            if pd.isna(v):
                cells.append("<td></td>")
                continue
            a = min(abs(float(v)) / 0.2, 1.0) * 0.6 + 0.08
            color = f"rgba(44,160,44,{a:.2f})" if v >= 0 else f"rgba(214,39,40,{a:.2f})"
            weight = "font-weight:600;" if c == "year" else ""
            cells.append(f"<td style='background:{color};{weight}'>{v:+.1%}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table class='heat'><tr>{head}</tr>{''.join(rows)}</table>"


def backtest_report(result: Any, path: Optional[str] = None, title: Optional[str] = None) -> str:
    """The HTML report of a backtest: stats, trade statistics, interactive charts (price with grid
    levels, fills and liquidations; equity and drawdown; fees, funding and exposure), monthly
    returns, the fills (the first 200 shown, all downloadable as CSV). Written to ``path`` when
    given; returned."""
    from .charts import backtest_figure, flows_figure, monthly_returns, trade_stats

    s = result.stats
    eq = result.equity
    span = f"{eq.index[0]:%Y-%m-%d %H:%M} → {eq.index[-1]:%Y-%m-%d %H:%M}, {len(eq):,} steps" if len(eq) else ""
    symbols = ", ".join(result.data) if result.data else ""
    strategy = result.meta.get("strategy") if hasattr(result, "meta") else None
    sub = f"{symbols} · {span}" + (f" · {_short(strategy)}" if strategy is not None else "")
    charts = _Charts()
    body = _warnings_html(result.warnings)
    body += "<div class='grid'><div><h2>Statistics</h2>" + _kv_table(s.items()) + "</div>"
    extra = {}
    for k, v in result.strategy_stats.items():
        if k.endswith("_at") and isinstance(v, int):
            v = pd.Timestamp(v, unit="ns", tz="UTC")
        if isinstance(v, (int, float, str, bool, pd.Timestamp)):
            extra[k] = v
    if extra:
        body += "<div><h2>Strategy</h2>" + _kv_table(extra.items()) + "</div>"
    trades = result.trades
    body += "<div><h2>Round trips</h2>" + _kv_table(trade_stats(trades).items()) + "</div>"
    body += "</div><h2>Price, equity and drawdown</h2>"
    body += "<p class='note'>Drag to zoom, double-click to reset; hover for values.</p>"
    body += charts(lambda: backtest_figure(result), lambda: result.plot())
    if len(eq):
        body += "<h2>Fees, funding and exposure</h2>" + charts(lambda: flows_figure(result))
        body += "<h2>Monthly returns</h2>" + _heat_table(monthly_returns(eq["equity"], result.initial_balance))
    f = result.fills
    body += f"<h2>Fills ({len(f):,})</h2>"
    if len(f):
        shown = "" if len(f) <= 200 else f"<p class='note'>The first 200 of {len(f):,} fills:</p>"
        body += _csv_link(f, "fills.csv") + shown + _frame_table(f, limit=200)
    else:
        body += "<p>No fills.</p>"
    page = _page(title or "perpsim backtest", sub, body)
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page


def montecarlo_report(result: Any, path: Optional[str] = None, title: Optional[str] = None) -> str:
    """The HTML report of a Monte Carlo run: the summary, the per-path figures, and interactive
    charts: the fan of the kept curves, the final-equity histogram and when paths were liquidated."""
    from .charts import fan_figure, final_equity_figure, liquidation_time_figure

    m = result.meta
    sub = (
        f"{_short(m.get('strategy'))} · {_short(m.get('model'))} · {m.get('n_bars', 0):,} bars per path · "
        f"seed {m.get('seed')}"
    )
    charts = _Charts()
    body = "<div class='grid'><div><h2>Summary</h2>" + _kv_table(result.summary().items()) + "</div>"
    p = result.paths.drop(columns=["liquidated", "liquidation_step"])
    desc = pd.DataFrame(
        {
            "mean": p.mean(),
            "5 %": p.quantile(0.05),
            "median": p.median(),
            "95 %": p.quantile(0.95),
        }
    )
    desc.index.name = "per path"
    body += "<div><h2>Per-path figures</h2>" + _frame_table(desc.reset_index()) + "</div></div>"
    body += "<h2>Equity fan chart</h2>" + charts(lambda: fan_figure(result), lambda: result.plot())
    body += "<h2>Final equity</h2>" + charts(lambda: final_equity_figure(result))
    body += "<h2>When paths were liquidated</h2>" + charts(lambda: liquidation_time_figure(result))
    page = _page(title or "perpsim Monte Carlo", sub, body)
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page


def _section(item: Any) -> str:
    """One part of a study: a table, figures, a chart or a paragraph."""
    if isinstance(item, pd.DataFrame):
        return _frame_table(item)
    if isinstance(item, pd.Series):
        return _kv_table(item.items())
    if isinstance(item, dict):
        return _kv_table(item.items())
    if isinstance(item, str):
        return f"<p>{html.escape(item)}</p>"
    if hasattr(item, "savefig"):
        return f"<img alt='chart' src='data:image/png;base64,{_figure_png(item)}'>"
    if callable(item):
        return _img(item)
    if isinstance(item, (list, tuple)):
        return "<div class='grid'>" + "".join(f"<div>{_section(x)}</div>" for x in item) + "</div>"
    return f"<p>{html.escape(str(item))}</p>"


def study_report(
    title: str,
    sections: Iterable[Tuple[str, Any]],
    path: Optional[str] = None,
    subtitle: str = "",
) -> str:
    """One HTML page of several results: ``sections`` is a list of (heading, content), the content
    a DataFrame (a table), a Series or dict (figures), a matplotlib Figure or a function making one
    (a chart), a string (a paragraph), or a list of these side by side. Written to ``path`` when
    given; returned."""
    body = "".join(f"<h2>{html.escape(h)}</h2>{_section(c)}" for h, c in sections)
    page = _page(title, subtitle, body)
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page


def _small_png(draw: Any) -> str:
    """A small chart for a notebook cell (empty when matplotlib is missing)."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        return "<p class='note'>Charts need matplotlib.</p>"
    fig, ax = plt.subplots(figsize=(6.0, 2.2))
    draw(ax)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return f"<img alt='chart' src='data:image/png;base64,{_figure_png(fig)}'>"


_HEADLINE = ("final_equity", "total_return", "cagr", "max_drawdown", "sharpe", "calmar", "fills", "fees", "funding")


def result_html(result: Any) -> str:
    """A backtest's notebook view: headline figures, warnings, a small equity chart."""
    from ._decimate import decimate

    s = result.stats
    items = [(k, s[k]) for k in _HEADLINE if k in s.index]
    if s.get("liquidated"):
        items.append(("liquidated_at", s.get("liquidated_at")))
    eq = result.equity["equity"] if len(result.equity) else pd.Series(dtype=float)

    def draw(ax: Any) -> None:
        if len(eq):
            d = decimate(eq)
            ax.plot(d.index, d.to_numpy(), lw=1.0, color="tab:blue")
        ax.axhline(result.initial_balance, color="0.5", lw=0.6, ls="--")
        ax.set_ylabel("equity")

    warn = _warnings_html(result.warnings)
    return (
        "<div><b>perpsim Result</b><div style='display:flex;gap:1.5em;align-items:flex-start'>"
        f"<div>{_kv_table(items)}</div><div>{_small_png(draw)}</div></div>{warn}"
        "<p style='color:#777;font-size:.85em'>.stats, .equity, .fills, .trades, .report()</p></div>"
    )


def montecarlo_html(result: Any) -> str:
    """A Monte Carlo run's notebook view: P(liquidation), return quantiles, a small fan chart."""
    s = result.summary()
    keys = ("paths", "p_liquidation", "total_return_q05", "total_return_q50", "total_return_q95")
    items = [(k, s[k]) for k in keys if k in s.index]
    curves = result.curves

    def draw(ax: Any) -> None:
        if curves.shape[1]:
            ax.plot(curves.index, curves.to_numpy(), lw=0.5, color="tab:blue", alpha=0.3)
            ax.plot(curves.index, curves.median(axis=1).to_numpy(), lw=1.2, color="tab:blue")
        ax.axhline(result.initial_balance, color="0.5", lw=0.6, ls="--")
        ax.set_ylabel("equity")

    chart = _small_png(draw) if curves.shape[1] else "<p class='note'>keep_curves=k keeps curves to draw.</p>"
    return (
        "<div><b>perpsim MonteCarloResult</b><div style='display:flex;gap:1.5em;align-items:flex-start'>"
        f"<div>{_kv_table(items)}</div><div>{chart}</div></div>"
        "<p style='color:#777;font-size:.85em'>.paths, .summary(), .curves, .report()</p></div>"
    )

"""TOML run configurations for the ``perpsim`` command (``perpsim backtest CONFIG.toml``,
``perpsim montecarlo CONFIG.toml``): data, contract, account, strategy, run options, report and
Monte Carlo settings, validated with errors that name the key (``strategy.grid_count: ...``).

See examples/configs/ for one file per built-in strategy, and docs/cli.md for every key.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import pandas as pd

from . import _core
from .contracts import Contract, FeeTiers, named, preset
from .errors import InvalidInputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.9/3.10
    import tomli as tomllib

__all__ = ["load", "RunConfig"]

SECTIONS = {"data", "contract", "account", "strategy", "run", "report", "montecarlo"}
DATA_KEYS = {"path", "sample", "symbol", "funding", "start", "end", "resample", "symbols", "align"}
SYMBOL_KEYS = {"path", "sample", "funding"}
ACCOUNT_KEYS = {
    "initial_balance",
    "leverage",
    "margin_mode",
    "position_mode",
    "maker_fee",
    "taker_fee",
    "fee_tiers",
    "volume_30d",
}
RUN_KEYS = set(_core.exchange_options())  # the engine's run options, listed once
REPORT_KEYS = {"html", "png", "fills_csv", "equity_csv", "paths_csv", "title"}
MC_KEYS = {
    "model",
    "volatility",
    "drift",
    "s0",
    "interval",
    "dof",
    "intensity",
    "jump_mean",
    "jump_std",
    "block",
    "n_paths",
    "n_bars",
    "seed",
    "threads",
    "keep_curves",
    "funding",
}
STRATEGIES = {
    "grid": "Grid",
    "balance": "Rebalance",
    "rebalance": "Rebalance",
    "index_deviation": "IndexDeviation",
    "basis": "Basis",
    "target_positions": "TargetPositions",
}


def _unknown(table: Mapping[str, Any], allowed: set, prefix: str) -> None:
    for k in table:
        if k not in allowed:
            raise InvalidInputError(f"{prefix}{k}: unknown key (allowed: {', '.join(sorted(allowed))})", f"{prefix}{k}")


#: What each plain key holds (the strategy's, the contract's, the account's and the run's own keys are
#: judged by the engine, and their errors qualified with their table by :func:`qualified`).
KINDS: Dict[str, Dict[str, str]] = {
    "data.": {
        "path": "text",
        "sample": "text",
        "symbol": "text",
        "funding": "text",
        "start": "time",
        "end": "time",
        "resample": "text",
        "align": "text",
    },
    "report.": {k: "text" for k in REPORT_KEYS},
    "montecarlo.": {
        "model": "text",
        "interval": "text",
        "n_paths": "count",
        "n_bars": "count",
        "seed": "index",
        "threads": "count",
        "keep_curves": "index",
    },
}
_EXPECTED = {
    "text": "a string",
    "time": 'a date or time ("2024-03-01", 2024-03-01T12:00:00Z)',
    "count": "a whole number >= 1",
    "index": "a whole number >= 0",
}


def _expect(table: Mapping[str, Any], prefix: str) -> None:
    """Checks the plain keys of ``table`` against :data:`KINDS` (a bool is not a number, a number
    is not a date)."""
    import datetime as dt

    for k, kind in KINDS.get(prefix, {}).items():
        if k not in table:
            continue
        v = table[k]
        ok = {
            "text": isinstance(v, str),
            "time": isinstance(v, (str, dt.date, dt.datetime)),
            "count": isinstance(v, int) and not isinstance(v, bool) and v >= 1,
            "index": isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        }[kind]
        if ok and kind == "time":
            try:
                pd.Timestamp(v)
            except (TypeError, ValueError):
                ok = False
        if not ok:
            raise InvalidInputError(f"{prefix}{k}: expected {_EXPECTED[kind]}, got {v!r}", f"{prefix}{k}")


def qualified(e: InvalidInputError, cfg: RunConfig) -> InvalidInputError:
    """``e`` with its key qualified by the table it came from (``leverage`` -> ``account.leverage``),
    for errors the engine raises about the account's and the run's keys."""
    f = e.field or ""
    for table, keys in (("account", cfg.account), ("run", cfg.run)):
        if f in keys:
            return type(e)(f"{table}.{e}", f"{table}.{f}")
    return e


def _table(cfg: Mapping[str, Any], name: str) -> Dict[str, Any]:
    t = cfg.get(name, {})
    if not isinstance(t, Mapping):
        raise InvalidInputError(f"{name}: must be a table ([{name}])", name)
    return dict(t)


@dataclass
class RunConfig:
    """A parsed configuration: the pieces :func:`perpsim.backtest` and :func:`perpsim.monte_carlo`
    take."""

    source: Path
    data: Dict[str, pd.DataFrame]
    funding: Optional[Dict[str, pd.Series]]
    contracts: Dict[str, Contract]
    account: Dict[str, Any]
    strategy: Any
    run: Dict[str, Any]
    report: Dict[str, Any]
    montecarlo: Dict[str, Any] = field(default_factory=dict)

    def backtest_kwargs(self) -> Dict[str, Any]:
        """Keyword arguments of :func:`perpsim.backtest` (all but data and strategy)."""
        kw = dict(self.account)
        kw.update(self.run)
        kw["contract"] = self.contracts if len(self.contracts) > 1 else next(iter(self.contracts.values()))
        kw["funding"] = self.funding
        return kw


def _utc(t: Any) -> pd.Timestamp:
    """A configuration's time as a UTC Timestamp (naive: taken as UTC)."""
    ts = pd.Timestamp(t)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _resolve(base: Path, p: str) -> Path:
    q = Path(p).expanduser()
    return q if q.is_absolute() else (base / q)


def _load_frame(spec: Mapping[str, Any], base: Path, prefix: str, common: Mapping[str, Any]) -> pd.DataFrame:
    from .data import load_bars, resample, sample

    if ("path" in spec) == ("sample" in spec):
        raise InvalidInputError(f"{prefix}path: give exactly one of path and sample", f"{prefix}path")
    try:
        if "sample" in spec:
            df = sample(str(spec["sample"]), "1h")
            start, end = common.get("start"), common.get("end")
            if start is not None:
                df = df[df.index >= _utc(start)]
            if end is not None:
                df = df[df.index < _utc(end)]
            if common.get("resample"):
                df = resample(df, str(common["resample"]))
        else:
            df = load_bars(
                _resolve(base, str(spec["path"])),
                start=common.get("start"),
                end=common.get("end"),
                resample_to=common.get("resample"),
            )
    except InvalidInputError as e:
        raise InvalidInputError(f"{prefix}{e}", f"{prefix}{e.field or 'path'}") from None
    if df.empty:
        raise InvalidInputError(f"{prefix}: no bars in the selected range", f"{prefix}start")
    return df


def _load_funding(v: Any, symbol: str, base: Path, prefix: str, common: Mapping[str, Any]) -> Optional[pd.Series]:
    from .data import load_funding, sample_funding

    if v is None or v is False:
        return None
    if not isinstance(v, str):
        raise InvalidInputError(f'{prefix}funding: a file path or "sample"', f"{prefix}funding")
    try:
        if v == "sample":
            return sample_funding(symbol)
        return load_funding(_resolve(base, v), start=common.get("start"), end=common.get("end"))
    except InvalidInputError as e:
        raise InvalidInputError(f"{prefix}funding: {e}", f"{prefix}funding") from None


def _contract(spec: Any, symbol: str, prefix: str) -> Contract:
    if spec is None:
        return named(symbol)
    if isinstance(spec, Mapping) and "preset" in spec and not isinstance(spec["preset"], str):
        raise InvalidInputError(f"{prefix}preset: expected a string, got {spec['preset']!r}", f"{prefix}preset")
    if isinstance(spec, str):
        try:
            return preset(spec)
        except InvalidInputError as e:
            raise InvalidInputError(f"{prefix}: {e}", prefix.rstrip(".")) from None
    if not isinstance(spec, Mapping):
        raise InvalidInputError(f"{prefix}: a preset name or a table of contract fields", prefix.rstrip("."))
    fields = dict(spec)
    name = fields.pop("preset", None)
    try:
        if name is not None:
            import dataclasses

            return dataclasses.replace(preset(str(name)), **fields)
        fields.setdefault("symbol", symbol)
        if "brackets" in fields:
            fields["brackets"] = tuple(tuple(b) for b in fields["brackets"])
        return Contract(**fields)
    except TypeError as e:
        raise InvalidInputError(f"{prefix}: {e}", prefix.rstrip(".")) from None
    except InvalidInputError as e:
        raise InvalidInputError(f"{prefix}{e}", f"{prefix}{e.field}") from None


def _strategy(t: Mapping[str, Any], base: Path, symbols: List[str]) -> Any:
    import dataclasses

    from . import strategies

    params = dict(t)
    kind = params.pop("type", None)
    if kind not in STRATEGIES:
        raise InvalidInputError(f"strategy.type: one of {', '.join(sorted(STRATEGIES))}, got {kind!r}", "strategy.type")
    cls = getattr(strategies, STRATEGIES[kind])
    names = {f.name for f in dataclasses.fields(cls)}
    _unknown(params, names, "strategy.")
    if kind == "target_positions":
        if "targets" not in params:
            raise InvalidInputError(
                "strategy.targets: the path of a CSV of targets (time + a column per symbol)", "strategy.targets"
            )
        df = pd.read_csv(_resolve(base, str(params["targets"])))
        tcol = df.columns[0]
        df.index = pd.DatetimeIndex(pd.to_datetime(df.pop(tcol), utc=True))
        params["targets"] = df if df.shape[1] > 1 else df.iloc[:, 0].rename(symbols[0])
    try:
        return cls(**params)
    except InvalidInputError as e:
        raise InvalidInputError(f"strategy.{e}", f"strategy.{e.field}") from None
    except TypeError as e:
        raise InvalidInputError(f"strategy: {e}", "strategy") from None


def load(path: str) -> RunConfig:
    """Reads and validates a TOML configuration (see the module docs); loads its data."""
    p = Path(path)
    if not p.exists():
        raise InvalidInputError(f"config: no such file: {p}", "config")
    try:
        cfg = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise InvalidInputError(f"config: {p} is not valid TOML: {e}", "config") from None
    _unknown(cfg, SECTIONS, "")
    base = p.parent
    data_t = _table(cfg, "data")
    _unknown(data_t, DATA_KEYS, "data.")
    _expect(data_t, "data.")
    common = {k: data_t.get(k) for k in ("start", "end", "resample")}
    frames: Dict[str, pd.DataFrame] = {}
    funding: Dict[str, pd.Series] = {}
    contract_t = cfg.get("contract")
    if "symbols" in data_t:
        syms = data_t["symbols"]
        if not isinstance(syms, Mapping) or not syms:
            raise InvalidInputError("data.symbols: a table of [data.symbols.NAME] tables", "data.symbols")
        for s, spec in syms.items():
            if not isinstance(spec, Mapping):
                raise InvalidInputError(f"data.symbols.{s}: must be a table", f"data.symbols.{s}")
            _unknown(spec, SYMBOL_KEYS, f"data.symbols.{s}.")
            for k in ("path", "sample", "funding"):
                if k in spec and not isinstance(spec[k], str):
                    raise InvalidInputError(
                        f"data.symbols.{s}.{k}: expected a string, got {spec[k]!r}", f"data.symbols.{s}.{k}"
                    )
            frames[s] = _load_frame(spec, base, f"data.symbols.{s}.", common)
            f = _load_funding(spec.get("funding"), s, base, f"data.symbols.{s}.", common)
            if f is not None:
                funding[s] = f
        if data_t.get("align"):
            from .data import align

            frames = align(frames, str(data_t["align"]))
        if contract_t is None:
            contracts = {s: _contract(None, s, f"contract.{s}") for s in frames}
        elif isinstance(contract_t, Mapping):
            _unknown(contract_t, set(frames), "contract.")
            contracts = {s: _contract(contract_t.get(s), s, f"contract.{s}.") for s in frames}
        else:
            raise InvalidInputError("contract: a table [contract.SYMBOL] per symbol", "contract")
    else:
        symbol = str(data_t.get("symbol") or data_t.get("sample") or "ASSET")
        c = _contract(contract_t, symbol, "contract.")
        frames[c.symbol] = _load_frame(data_t, base, "data.", common)
        fsym = str(data_t.get("sample") or c.symbol)
        f = _load_funding(data_t.get("funding"), fsym, base, "data.", common)
        if f is not None:
            funding[c.symbol] = f
        contracts = {c.symbol: c}
    account = _table(cfg, "account")
    _unknown(account, ACCOUNT_KEYS, "account.")
    if "fee_tiers" in account or "volume_30d" in account:  # a schedule by 30-day volume
        try:
            account["fee_tiers"] = FeeTiers(account.pop("fee_tiers", None) or (), account.pop("volume_30d", 0.0))
        except InvalidInputError as e:
            raise InvalidInputError(f"account.{e}", f"account.{e.field}") from None
    run = _table(cfg, "run")
    _unknown(run, RUN_KEYS, "run.")
    report = _table(cfg, "report")
    _unknown(report, REPORT_KEYS, "report.")
    _expect(report, "report.")
    for k in ("html", "png", "fills_csv", "equity_csv", "paths_csv"):
        if k in report:
            report[k] = str(report[k])  # outputs: relative to the working directory
    mc = _table(cfg, "montecarlo")
    _unknown(mc, MC_KEYS, "montecarlo.")
    _expect(mc, "montecarlo.")
    st = _table(cfg, "strategy")
    if not st:
        raise InvalidInputError("strategy: missing [strategy] table with a type", "strategy")
    strategy = _strategy(st, base, list(frames))
    return RunConfig(p, frames, funding or None, contracts, account, strategy, run, report, mc)


def model_of(cfg: RunConfig) -> Tuple[Any, Any]:
    """The Monte Carlo model and funding of a configuration's [montecarlo] table (volatility
    ``"fit"`` or absent: fitted to the data; s0 default: the data's last close)."""
    from .pathmodels import GBM, Bootstrap, JumpDiffusion, StudentT

    m = dict(cfg.montecarlo)
    bars = next(iter(cfg.data.values()))
    kind = m.pop("model", "gbm")
    for k in ("n_paths", "n_bars", "seed", "threads", "keep_curves", "funding"):
        m.pop(k, None)
    try:
        if kind == "bootstrap":
            allowed = {"block", "s0"}
            _unknown(m, allowed, "montecarlo.")
            model: Any = Bootstrap(bars, **m)
        else:
            vol = m.pop("volatility", "fit")
            if vol == "fit":
                vol = GBM.fit(bars).volatility
            m.setdefault("s0", float(bars["close"].iloc[-1]))
            cls = {"gbm": GBM, "jump_diffusion": JumpDiffusion, "student_t": StudentT}.get(kind)
            if cls is None:
                raise InvalidInputError(
                    f"montecarlo.model: gbm, jump_diffusion, student_t or bootstrap, got {kind!r}", "model"
                )
            import dataclasses

            _unknown(m, {f.name for f in dataclasses.fields(cls)} - {"volatility"}, "montecarlo.")
            model = cls(volatility=vol, **m)
    except InvalidInputError as e:
        raise InvalidInputError(f"montecarlo.{e}", f"montecarlo.{e.field}") from None
    except TypeError as e:
        raise InvalidInputError(f"montecarlo: {e}", "montecarlo") from None
    f = cfg.montecarlo.get("funding")
    if f == "data":
        funding: Any = next(iter(cfg.funding.values())) if cfg.funding else None
        if funding is None:
            raise InvalidInputError('montecarlo.funding: "data" needs data.funding', "montecarlo.funding")
    else:
        funding = f
    return model, funding

"""Type stubs for the compiled core ``perpsim._core``."""

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union, final

import numpy as np
import numpy.typing as npt
from typing_extensions import disjoint_base

from ._protocol import ModelInputs, StrategyInputs, SymbolColumns

__all__ = [
    "Exchange",
    "Fill",
    "Position",
    "AccountInfo",
    "preset",
    "preset_names",
    "_panic_for_tests",
    "_panic_count",
    "_after_fork",
    "_resample_trades",
    "_curve_stats",
    "_given_paths",
    "_mc_run",
    "_mc_sweep",
    "_sweep_data",
    "_mc_paths",
    "exchange_options",
    "check_strategy",
    "check_model",
    "check_contract",
    "_ns_from_unit",
    "check_fee_tiers",
    "_funding_from_premium",
    "default_leverage",
    "basis_default_leverage",
    "calc_grid_levels",
    "calc_round_price",
    "calc_floor_qty",
    "calc_rebate_share",
    "calc_liquidation_price",
    "calc_funding",
    "calc_premium",
    "_SYMBOL_COLUMNS",
    "_FIELDS",
    "YEAR_NS",
    "__version__",
]

__version__: str

@final
class Fill:
    """One fill."""

    @property
    def symbol(self) -> str: ...
    @property
    def order_id(self) -> int: ...
    @property
    def qty(self) -> float: ...
    @property
    def price(self) -> float: ...
    @property
    def fee(self) -> float: ...
    @property
    def realized_pnl(self) -> float: ...
    @property
    def position(self) -> float: ...
    @property
    def entry_price(self) -> float: ...
    @property
    def liquidity(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def side(self) -> str: ...
    @property
    def timestamp(self) -> Any: ...
    def __getitem__(self, key: str, /) -> Any: ...

@final
class Position:
    """A position snapshot."""

    @property
    def symbol(self) -> str: ...
    @property
    def qty(self) -> float: ...
    @property
    def entry_price(self) -> float: ...
    @property
    def mark_price(self) -> float: ...
    @property
    def notional(self) -> float: ...
    @property
    def unrealized_pnl(self) -> float: ...
    @property
    def realized_pnl(self) -> float: ...
    @property
    def fees(self) -> float: ...
    @property
    def funding(self) -> float: ...
    @property
    def margin(self) -> float: ...
    @property
    def maintenance_margin(self) -> float: ...
    @property
    def leverage(self) -> float: ...
    @property
    def liquidation_price(self) -> float: ...
    @property
    def margin_mode(self) -> str: ...
    @property
    def position_side(self) -> str: ...

@final
class AccountInfo:
    """An account snapshot."""

    @property
    def settle_asset(self) -> str: ...
    @property
    def wallet_balance(self) -> float: ...
    @property
    def equity(self) -> float: ...
    @property
    def margin(self) -> float: ...
    @property
    def maintenance_margin(self) -> float: ...
    @property
    def available_balance(self) -> float: ...
    @property
    def unrealized_pnl(self) -> float: ...
    @property
    def realized_pnl(self) -> float: ...
    @property
    def fees(self) -> float: ...
    @property
    def funding(self) -> float: ...
    @property
    def notional(self) -> float: ...
    @property
    def effective_leverage(self) -> float: ...
    @property
    def equity_quote(self) -> float: ...
    @property
    def volume(self) -> float: ...
    @property
    def fills(self) -> int: ...
    @property
    def transfers(self) -> float: ...

@disjoint_base
class Exchange:
    """The compiled step-driven account (use :class:`perpsim.Exchange`)."""

    def __new__(
        cls,
        contracts: Any = None,
        initial_balance: Optional[float] = None,
        leverage: Optional[float] = None,
        maker_fee: Optional[float] = None,
        taker_fee: Optional[float] = None,
        margin_mode: Optional[str] = None,
        *,
        position_mode: Optional[str] = None,
        fee_tiers: Any = None,
        _state: Optional[bytes] = None,
        **options: Any,
    ) -> Exchange: ...
    @property
    def symbols(self) -> List[str]: ...
    @property
    def options(self) -> Dict[str, Any]: ...
    @property
    def is_inverse(self) -> bool: ...
    @property
    def settle_asset(self) -> str: ...
    @property
    def account(self) -> AccountInfo: ...
    @property
    def n_updates(self) -> int: ...
    @property
    def blown(self) -> bool: ...
    @property
    def liquidated_at(self) -> Optional[int]: ...
    @property
    def position_mode(self) -> str: ...
    def buy(self, symbol: str, price: float, qty: float, *, position_side: Optional[str] = None) -> Fill: ...
    def sell(self, symbol: str, price: float, qty: float, *, position_side: Optional[str] = None) -> Fill: ...
    def close(self, symbol: str, price: float, *, position_side: Optional[str] = None) -> Optional[Fill]: ...
    def market(self, symbol: str, side: str, qty: float, *, position_side: Optional[str] = None) -> int: ...
    def limit(
        self,
        symbol: str,
        side: str,
        price: float,
        qty: float,
        *,
        post_only: bool = False,
        reduce_only: bool = False,
        position_side: Optional[str] = None,
    ) -> int: ...
    def stop(
        self,
        symbol: str,
        side: str,
        trigger: float,
        qty: float,
        *,
        price: Optional[float] = None,
        reduce_only: bool = False,
        working_type: str = "last",
        position_side: Optional[str] = None,
    ) -> int: ...
    def take_profit(
        self,
        symbol: str,
        trigger: float,
        qty: Optional[float] = None,
        *,
        working_type: str = "last",
        position_side: Optional[str] = None,
    ) -> int: ...
    def stop_loss(
        self,
        symbol: str,
        trigger: float,
        qty: Optional[float] = None,
        *,
        working_type: str = "last",
        position_side: Optional[str] = None,
    ) -> int: ...
    def trailing_stop(
        self,
        symbol: str,
        side: str,
        qty: float,
        callback: float,
        *,
        activation: Optional[float] = None,
        reduce_only: bool = False,
        position_side: Optional[str] = None,
    ) -> int: ...
    def cancel(self, order_id: int) -> None: ...
    def amend(self, order_id: int, price: Optional[float] = None, qty: Optional[float] = None) -> int: ...
    def open_orders(self, symbol: Optional[str] = None) -> List[int]: ...
    def update(self, timestamp: Any, prices: Union[Mapping[str, float], float]) -> None: ...
    def step(self, timestamp: Any, bars: Dict[str, Tuple[float, ...]]) -> None: ...
    def _run(self, data: Sequence[SymbolColumns]) -> Dict[str, Any]: ...
    def _run_strategy(
        self, data: Sequence[SymbolColumns], strategy: Any, inputs: StrategyInputs
    ) -> Tuple[Dict[str, Any], Dict[str, Any]]: ...
    def _run_python(
        self,
        data: Sequence[SymbolColumns],
        on_bar: Optional[Callable[..., Any]] = None,
        on_fill: Optional[Callable[..., Any]] = None,
    ) -> Dict[str, Any]: ...
    def stats(self) -> Dict[str, Any]: ...
    def transfer(self, amount: float) -> None: ...
    def settle(self, symbol: str, price: float) -> None: ...
    def apply_funding(self, symbol: str, rate: float, mark_price: float) -> float: ...
    def liquidation_price(self, symbol: str, position_side: Optional[str] = None) -> float: ...
    def is_stale(self, symbol: str) -> bool: ...
    def set_leverage(self, symbol: str, leverage: float) -> None: ...
    def set_margin_mode(self, symbol: str, mode: str) -> None: ...
    def position(self, symbol: str, position_side: Optional[str] = None) -> Position: ...
    def _history_arrays(self) -> Tuple[npt.NDArray[np.int64], List[npt.NDArray[np.float64]], List[str]]: ...
    def _fill_columns(self) -> Dict[str, Any]: ...
    def _order_columns(self) -> Dict[str, Any]: ...
    def _funding_columns(self) -> Dict[str, Any]: ...
    def _rebate_columns(self) -> Dict[str, Any]: ...
    def _warnings(self) -> List[Dict[str, Any]]: ...
    def __getstate__(self) -> bytes: ...

def preset(name: str) -> Dict[str, Any]: ...
def preset_names() -> List[str]: ...
def _panic_for_tests() -> None: ...
def _panic_count() -> int: ...
def _after_fork() -> None: ...
def _resample_trades(
    pnl: npt.NDArray[np.float64],
    initial: float,
    n: int,
    seed: int,
    how: str,
    ruin_level: float,
    *,
    threads: Optional[int] = None,
) -> Dict[str, Any]: ...
def _curve_stats(
    ts: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    initial: float,
    *,
    fills: int = 0,
    volume: float = 0.0,
    fees: float = 0.0,
    funding: float = 0.0,
    rebates: float = 0.0,
    liquidated_at: Optional[int] = None,
    liquidation_step: Optional[int] = None,
) -> Dict[str, Any]: ...
def _given_paths(
    ex: Exchange,
    strategies: List[Any],
    ts: npt.NDArray[np.int64],
    open: npt.NDArray[np.float64],
    high: npt.NDArray[np.float64],
    low: npt.NDArray[np.float64],
    close: npt.NDArray[np.float64],
    *,
    funding_ts: Optional[npt.NDArray[np.int64]] = None,
    funding_rate: Optional[npt.NDArray[np.float64]] = None,
    threads: Optional[int] = None,
) -> Dict[str, Any]: ...
def _mc_run(
    ex: Exchange,
    model: Any,
    inputs: ModelInputs,
    strategy: Any,
    *,
    n_bars: int,
    seed: int,
    start: int,
    stop: int,
    threads: Optional[int] = None,
    curve_every: int = 0,
    total: Optional[int] = None,
    strategy_inputs: Optional[StrategyInputs] = None,
) -> Tuple[Dict[str, Any], List[Tuple[int, List[float]]]]: ...
def _mc_sweep(
    ex: Exchange,
    model: Any,
    inputs: ModelInputs,
    strategies: List[Any],
    *,
    n_bars: int,
    seed: int,
    start: int,
    stop: int,
    threads: Optional[int] = None,
    strategy_inputs: Optional[StrategyInputs] = None,
) -> Dict[str, Any]: ...
def _sweep_data(
    ex: Exchange,
    data: Sequence[SymbolColumns],
    strategies: List[Any],
    inputs: StrategyInputs,
    *,
    threads: Optional[int] = None,
) -> Dict[str, Any]: ...
def _mc_paths(model: Any, inputs: ModelInputs, n_bars: int, seed: int, start: int, stop: int) -> Dict[str, Any]: ...
def exchange_options(**options: Any) -> Dict[str, Any]: ...
def check_strategy(strategy: Any) -> None: ...
def check_model(model: Any, inputs: Optional[ModelInputs] = None) -> None: ...
def check_contract(contract: Any) -> None: ...
def _ns_from_unit(values: np.ndarray, per: int, field: str) -> np.ndarray: ...
def check_fee_tiers(tiers: Any) -> None: ...
def _funding_from_premium(
    ts: np.ndarray,
    values: np.ndarray,
    times: Optional[np.ndarray],
    interval_ns: int,
    interest_rate: float,
    clamp: float,
    cap: float,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]: ...
def default_leverage(contract: Any) -> float: ...
def basis_default_leverage(inverse: bool) -> float: ...
def calc_grid_levels(
    lower: float, upper: float, grid_count: int, spacing: str, tick: float = 0.0, max_grids: Optional[int] = None
) -> List[float]: ...
def calc_round_price(price: float, tick: float) -> float: ...
def calc_floor_qty(qty: float, step: float) -> float: ...
def calc_rebate_share(a: float, v: float, reward: float) -> float: ...
def calc_liquidation_price(
    contract: Any,
    long: bool,
    qty: float,
    entry_price: float,
    wallet_balance: float,
    mm_other: float,
    upnl_other: float,
) -> float: ...
def calc_funding(contract: Any, qty: float, mark_price: float, rate: float) -> float: ...
def calc_premium(future: float, spot: float, days_to_expiry: Optional[float] = None) -> Tuple[float, float]: ...

_SYMBOL_COLUMNS: List[str]
_FIELDS: Dict[str, List[str]]
YEAR_NS: float

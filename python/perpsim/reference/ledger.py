"""The reference ledger: perpsim's accounting in plain, exact Python.

This module is the readable twin of the Rust engine (docs/accounting.md). Every amount is a
:class:`fractions.Fraction`, so the only rounding is the exchange's own (step sizes). The test suite
drives the same random operations through :class:`Ledger` and :class:`perpsim.Exchange` and demands
the same numbers. It is slow on purpose: clarity first.

The API mirrors :class:`perpsim.Exchange`: ``buy``, ``sell``, ``close``, ``update``,
``apply_funding``, ``position``, ``account``, ``liquidation_price``, ``history``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction as F
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

import pandas as pd

from .. import _core
from ..contracts import Contract, named
from ..errors import InvalidInputError, OrderRejectedError, UnknownSymbolError
from .margin import _tier, bankruptcy_price, hedge_liquidation_price, liquidation_price

__all__ = ["exact", "Ledger", "RefPosition", "RefAccount", "brackets_with_cum", "liquidation_price"]

DUST = F(1, 10**9)  # what a reducing fill leaves below |fill| * DUST closes the position exactly


def exact(x: Any) -> F:
    """The decimal a number is written as, exactly: ``exact(0.0005) == Fraction(5, 10000)``
    (``Fraction(0.0005)`` would be the nearest binary float instead)."""
    if isinstance(x, (int, F)):
        return F(x)
    return F(repr(float(x)))


def _num(field: str, x: Any, *, positive: bool = False) -> F:
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{field}: must be a number, got {x!r}", field) from None
    if not math.isfinite(v) or (positive and v <= 0):
        need = "a finite number > 0" if positive else "a finite number"
        raise InvalidInputError(f"{field}: must be {need}, got {v}", field)
    return exact(x)


def brackets_with_cum(tiers: Sequence[Sequence[float]]) -> List[tuple]:
    """Tiers ``(floor, max_leverage, mmr)`` → ``(floor, max_leverage, mmr, cum)`` with
    ``cum_n = floor_n·(MMR_n − MMR_{n−1}) + cum_{n−1}``."""
    out: List[tuple] = []
    for tier in tiers:
        floor, lev, mmr = (exact(x) for x in tier)
        cum = F(0) if not out else floor * (mmr - out[-1][2]) + out[-1][3]
        out.append((floor, lev, mmr, cum))
    return out


def _round_to(x: F, inc: F) -> F:
    """Nearest multiple of inc, halves away from zero (as Rust's f64::round)."""
    if inc == 0:
        return x
    n = x / inc
    return math.floor(n + F(1, 2)) * inc if n >= 0 else -math.floor(-n + F(1, 2)) * inc


class _Spec:
    """A contract with its numbers as fractions."""

    def __init__(self, c: Contract, maker_fee: Optional[float], taker_fee: Optional[float]):
        self.contract = c
        self.symbol = c.symbol
        self.kind = c.kind
        self.settle_asset = c.settle_asset
        self.cs = exact(c.contract_size)
        self.tick = exact(c.tick_size)
        self.step = exact(c.step_size)
        self.min_qty = exact(c.min_qty)
        self.min_notional = exact(c.min_notional)
        self.maker = exact(c.maker_fee) if maker_fee is None else _num("maker_fee", maker_fee)
        self.taker = exact(c.taker_fee) if taker_fee is None else _num("taker_fee", taker_fee)
        for name, v in (("maker_fee", self.maker), ("taker_fee", self.taker)):
            if abs(v) >= 1:
                raise InvalidInputError(f"{name}: must be in (-1, 1)", name)
        self.brackets = brackets_with_cum(c.brackets)
        self.allow_short = c.allow_short
        rates = c.clearance_fee  # a tuple once the Contract is built
        self.clearance = [exact(x) for x in (rates if isinstance(rates, tuple) else (rates,))]

    @property
    def inverse(self) -> bool:
        return self.kind == "inverse"

    def notional(self, qty: F, price: F) -> F:
        return abs(qty) * self.cs / price if self.inverse else abs(qty) * self.cs * price

    def pnl(self, qty: F, entry: F, price: F) -> F:
        if self.inverse:
            return qty * self.cs * (1 / entry - 1 / price)
        return qty * self.cs * (price - entry)

    def average_entry(self, held: F, entry: F, add: F, price: F) -> F:
        if self.inverse:
            return (held + add) / (held / entry + add / price)  # harmonic
        return (held * entry + add * price) / (held + add)  # arithmetic

    def clearance_rate(self, notional: F) -> Optional[F]:
        """The contract's clearance fee rate for a liquidated ``notional`` (None: none of its own)."""
        if not self.clearance:
            return None
        if len(self.clearance) == 1:
            return self.clearance[0]
        tier = _tier(self.brackets, notional)
        return self.clearance[self.brackets.index(tier)]

    def maintenance(self, notional: F) -> F:
        if notional <= 0:
            return F(0)
        _, _, mmr, cum = _tier(self.brackets, notional)
        return notional * mmr - cum


@dataclass
class RefPosition:
    """A position in the reference ledger (all amounts exact)."""

    symbol: str
    qty: F = F(0)
    entry_price: F = F(0)
    realized_pnl: F = F(0)
    fees: F = F(0)
    funding: F = F(0)
    mark_price: Optional[F] = None
    leverage: F = F(20)
    margin_mode: str = "cross"
    unrealized_pnl: F = F(0)
    notional: F = F(0)
    margin: F = F(0)
    maintenance_margin: F = F(0)


@dataclass
class RefAccount:
    """Account figures of the reference ledger."""

    wallet_balance: F
    equity: F
    margin: F
    maintenance_margin: F
    available_balance: F
    unrealized_pnl: F
    realized_pnl: F
    fees: F
    funding: F
    notional: F
    effective_leverage: F
    equity_quote: F
    volume: F
    fills: int


class Ledger:
    """Exact reference implementation of :class:`perpsim.Exchange`'s accounting."""

    def __init__(
        self,
        contracts: Union[str, Contract, Iterable[Union[str, Contract]]],
        initial_balance: float = 10_000.0,
        leverage: Optional[float] = None,
        maker_fee: Optional[float] = None,
        taker_fee: Optional[float] = None,
        margin_mode: str = "cross",
        position_mode: str = "one_way",
    ) -> None:
        items = [contracts] if isinstance(contracts, (str, Contract)) else list(contracts)
        if not items:
            raise InvalidInputError("contracts: at least one contract is needed", "contracts")
        specs = [_Spec(named(c) if isinstance(c, str) else c, maker_fee, taker_fee) for c in items]
        for sp in specs:
            if sp.settle_asset != specs[0].settle_asset:
                raise InvalidInputError("contracts: one account settles in one asset", "contracts")
        if len({sp.symbol for sp in specs}) != len(specs):
            raise InvalidInputError("contracts: a symbol appears twice", "contracts")
        if margin_mode not in ("cross", "isolated"):
            raise InvalidInputError("margin_mode: must be 'cross' or 'isolated'", "margin_mode")
        if position_mode not in ("one_way", "hedge"):
            raise InvalidInputError("position_mode: must be 'one_way' or 'hedge'", "position_mode")
        self.hedge = position_mode == "hedge"
        self.specs: Dict[str, _Spec] = {sp.symbol: sp for sp in specs}
        self.initial_balance = _num("initial_balance", initial_balance)
        if self.initial_balance < 0:
            raise InvalidInputError(f"initial_balance: must be >= 0, got {initial_balance}", "initial_balance")
        self.wallet = self.initial_balance
        self.transfers = F(0)
        self.margin_checks = True  # off: the what-if ledger books every fill
        self.realized = F(0)
        self.fees = F(0)
        self.funding = F(0)
        self.volume = F(0)
        self.n_fills = 0
        self.fee_tiers: Any = None  # reference/fees.py, when the account has fee tiers
        self.positions: Dict[str, RefPosition] = {}
        for sp in specs:
            if leverage is None:
                lev = exact(_core.default_leverage(sp.contract))  # the engine's default policy
            else:
                lev = self._check_leverage(sp, leverage)
            self.positions[sp.symbol] = RefPosition(sp.symbol, leverage=lev, margin_mode=margin_mode)
        # hedge mode: ``positions`` holds the longs (and each symbol's mark and settings), ``shorts``
        # the shorts
        self.shorts: Dict[str, RefPosition] = {s: RefPosition(s) for s in self.specs} if self.hedge else {}
        self.rows: List[dict] = []
        self.last_ts: Optional[int] = None

    # -- helpers ---------------------------------------------------------------------------
    def _spec(self, symbol: str) -> _Spec:
        if symbol not in self.specs:
            raise UnknownSymbolError(f"symbol: unknown symbol {symbol!r}", "symbol")
        return self.specs[symbol]

    @staticmethod
    def _check_leverage(sp: _Spec, leverage: Any) -> F:
        lev = _num("leverage", leverage, positive=True)
        if sp.kind == "spot":
            if lev != 1:
                raise InvalidInputError("leverage: spot trades at leverage 1", "leverage")
            return lev
        if lev > sp.brackets[0][1]:
            raise InvalidInputError("leverage: above the maximum", "leverage")
        return lev

    def _side(self, symbol: str, side: str) -> RefPosition:
        """The position of ``symbol`` on ``side`` ("both" in one-way mode, "long"/"short" in hedge)."""
        if side not in ("both", "long", "short"):
            raise InvalidInputError("position_side: must be 'both', 'long' or 'short'", "position_side")
        if self.hedge != (side != "both"):
            raise InvalidInputError(
                "position_side: 'long' and 'short' in hedge mode, 'both' in one-way mode", "position_side"
            )
        return self.shorts[symbol] if side == "short" else self.positions[symbol]

    def _legs(self, symbol: str) -> List[RefPosition]:
        """The open positions of ``symbol`` (both sides in hedge mode)."""
        legs = [self.positions[symbol]] + ([self.shorts[symbol]] if self.hedge else [])
        return [p for p in legs if p.qty != 0]

    def _mark(self, p: RefPosition) -> F:
        m = self.positions[p.symbol].mark_price  # a symbol's mark lives on its first slot
        return m if m is not None else p.entry_price

    def _leg_u(self, p: RefPosition) -> F:
        return F(0) if p.qty == 0 else self.specs[p.symbol].pnl(p.qty, p.entry_price, self._mark(p))

    def _leg_n(self, p: RefPosition) -> F:
        return F(0) if p.qty == 0 else self.specs[p.symbol].notional(p.qty, self._mark(p))

    def _leg_im(self, p: RefPosition) -> F:
        lev = self.positions[p.symbol].leverage
        return F(0) if p.qty == 0 else self.specs[p.symbol].notional(p.qty, p.entry_price) / lev

    def _unrealized(self, symbol: str) -> F:
        return sum((self._leg_u(p) for p in self._legs(symbol)), F(0))

    def _notional(self, symbol: str) -> F:
        return sum((self._leg_n(p) for p in self._legs(symbol)), F(0))

    def _im(self, symbol: str) -> F:
        return sum((self._leg_im(p) for p in self._legs(symbol)), F(0))

    def _mm(self, symbol: str) -> F:
        """Maintenance margin of ``symbol`` (in hedge mode each side in the tier of its notional)."""
        return sum((self.specs[symbol].maintenance(self._leg_n(p)) for p in self._legs(symbol)), F(0))

    # -- trading ---------------------------------------------------------------------------
    def _check_order(self, sp: _Spec, qty: Any, price: Any) -> F:
        price = _num("price", price, positive=True)
        qty = _num("qty", qty, positive=True)
        q = _round_to(qty, sp.step)
        if q <= 0 or q < sp.min_qty:
            raise OrderRejectedError("qty: under the minimum quantity", "qty")
        value = abs(q) * sp.cs if sp.inverse else abs(q) * sp.cs * price
        if value < sp.min_notional:
            raise OrderRejectedError("qty: under the minimum notional", "qty")
        return q

    def buy(self, symbol: str, price: float, qty: float, *, position_side: str = "both") -> dict:
        """Market buy at ``price`` with the taker fee."""
        sp = self._spec(symbol)
        q = self._check_order(sp, qty, price)
        return self.fill(symbol, q, exact(price), "taker", position_side)

    def sell(self, symbol: str, price: float, qty: float, *, position_side: str = "both") -> dict:
        """Market sell at ``price`` with the taker fee."""
        sp = self._spec(symbol)
        q = self._check_order(sp, qty, price)
        return self.fill(symbol, -q, exact(price), "taker", position_side)

    def close(self, symbol: str, price: float, *, position_side: str = "both") -> Optional[dict]:
        """Closes the position at ``price`` (taker); None when flat."""
        self._spec(symbol)
        price_f = _num("price", price, positive=True)
        p = self._side(symbol, position_side)
        return None if p.qty == 0 else self.fill(symbol, -p.qty, price_f, "taker", position_side)

    def fill(self, symbol: str, dq: F, price: F, liquidity: str, side: str = "both") -> dict:
        """Applies a fill of signed ``dq`` at ``price`` to the position on ``side`` (checks, then
        commits). In hedge mode a sell on the long side or a buy on the short side closes at most
        that position."""
        sp = self._spec(symbol)
        p = self._side(symbol, side)
        lev = self.positions[symbol].leverage
        dq, price = exact(dq), exact(price)
        q, ep = p.qty, p.entry_price
        # 1. the effect on the position: add / reduce / close / flip
        if q == 0 or (q > 0) == (dq > 0):
            new_ep = price if q == 0 else sp.average_entry(abs(q), ep, abs(dq), price)
            new_q, realized, opens = q + dq, F(0), True
        else:
            rest, tol = abs(dq) - abs(q), DUST * abs(dq)
            if rest < -tol:  # partial reduce
                new_q, new_ep, realized, opens = q + dq, ep, sp.pnl(-dq, ep, price), False
            elif rest > tol:  # flip
                new_q, new_ep, realized, opens = rest if dq > 0 else -rest, price, sp.pnl(q, ep, price), True
            else:  # exact close
                new_q, new_ep, realized, opens = F(0), F(0), sp.pnl(q, ep, price), False
        if side != "both" and new_q != 0 and (new_q < 0) != (side == "short"):
            raise OrderRejectedError(f"qty: closes at most the {side} position", "qty")
        tier = self.fee_tiers.rates() if self.fee_tiers is not None else (sp.maker, sp.taker)
        rate = {"maker": tier[0], "taker": tier[1], "bankrupt": F(0)}[liquidity]
        notional = sp.notional(dq, price)
        fee = rate * notional
        # 2. the checks (only for fills that open exposure)
        if opens:
            if sp.kind == "spot" and not sp.allow_short and new_q < 0:
                raise OrderRejectedError("qty: spot cannot sell more than is held", "qty")
        if opens and self.margin_checks:
            new_notional = sp.notional(new_q, new_ep)
            if lev > _tier(sp.brackets, new_notional)[1]:
                raise OrderRejectedError("qty: leverage above the bracket's maximum", "qty")
            m0 = self.positions[symbol].mark_price
            mark = m0 if m0 is not None else price
            im_after = sum(self._im(s) for s in self.specs) - self._leg_im(p) + new_notional / lev
            old_u = F(0) if q == 0 else sp.pnl(q, ep, mark)
            new_u = F(0) if new_q == 0 else sp.pnl(new_q, new_ep, mark)
            equity_after = self.wallet + realized - fee + sum(self._unrealized(s) for s in self.specs) - old_u + new_u
            if im_after > equity_after:
                raise OrderRejectedError("qty: insufficient margin", "qty")
        # 3. commit
        p.qty, p.entry_price = new_q, new_ep
        p.realized_pnl += realized
        p.fees += fee
        self.wallet += realized - fee
        self.realized += realized
        self.fees += fee
        self.volume += notional
        self.n_fills += 1
        if self.fee_tiers is not None:  # the quote value counts towards today's volume
            self.fee_tiers.current += abs(dq) * sp.cs * (1 if sp.inverse else price)
        if self.positions[symbol].mark_price is None:
            self.positions[symbol].mark_price = price
        return dict(
            symbol=symbol,
            qty=dq,
            price=price,
            fee=fee,
            realized_pnl=realized,
            position=new_q,
            entry_price=new_ep,
            liquidity=liquidity,
        )

    def transfer(self, amount: Any) -> None:
        """A deposit (positive) or a withdrawal (negative, at most min(wallet, available balance))."""
        a = _num("amount", amount)
        if a < 0:
            acc = self.account
            free = min(self.wallet, acc.available_balance)
            if -a > free:
                raise OrderRejectedError(f"amount: cannot withdraw {-a} with {free} free", "amount")
        self.wallet += a
        self.transfers += a

    def apply_funding(self, symbol: str, rate: float, mark_price: float) -> F:
        """Funding at ``rate`` on the notional at ``mark_price``; returns the amount received."""
        sp = self._spec(symbol)
        r = _num("rate", rate)
        m = _num("mark_price", mark_price, positive=True)
        received = F(0)
        for p in self._legs(symbol):
            side = 1 if p.qty > 0 else -1
            got = -side * sp.notional(p.qty, m) * r
            p.funding += got
            received += got
        self.wallet += received
        self.funding += received
        return received

    def set_leverage(self, symbol: str, leverage: float) -> None:
        """Sets the leverage of ``symbol`` (checked as the engine checks it)."""
        sp = self._spec(symbol)
        lev = self._check_leverage(sp, leverage)
        p = self.positions[symbol]
        at_entry = F(0)
        for leg in self._legs(symbol):
            notional = sp.notional(leg.qty, leg.entry_price)
            if lev > _tier(sp.brackets, notional)[1]:
                raise OrderRejectedError("leverage: above the bracket's maximum", "leverage")
            at_entry += notional
        if at_entry != 0:
            im = sum(self._im(s) for s in self.specs) - at_entry / p.leverage + at_entry / lev
            if im > self.account.equity:
                raise OrderRejectedError("leverage: insufficient margin", "leverage")
        p.leverage = lev

    def set_margin_mode(self, symbol: str, mode: str) -> None:
        """Sets the margin mode (only while flat)."""
        self._spec(symbol)
        if mode not in ("cross", "isolated"):
            raise InvalidInputError("margin_mode: must be 'cross' or 'isolated'", "margin_mode")
        p = self.positions[symbol]
        if self._legs(symbol) and p.margin_mode != mode:
            raise OrderRejectedError("margin_mode: only while flat", "margin_mode")
        p.margin_mode = mode

    def update(self, timestamp: Any, prices: Union[Mapping[str, float], float]) -> None:
        """Marks each symbol (NaN keeps the last price) and appends a history row."""
        ts = timestamp if isinstance(timestamp, int) else pd.Timestamp(timestamp).value
        if self.last_ts is not None and ts < self.last_ts:
            raise InvalidInputError("timestamp: earlier than the previous update", "timestamp")
        if not isinstance(prices, Mapping):
            if len(self.specs) != 1:
                raise InvalidInputError("prices: pass a mapping symbol -> price", "prices")
            prices = {next(iter(self.specs)): prices}
        new = {}
        for s, given in prices.items():
            self._spec(s)
            v = float(given)
            if math.isnan(v):
                continue
            if not (math.isfinite(v) and v > 0):
                raise InvalidInputError(f"prices: bad price for {s}", "prices")
            new[s] = exact(v)
        for s, m in new.items():
            self.positions[s].mark_price = m
        self.last_ts = ts
        self._record_row(ts)

    def _record_row(self, ts: int) -> None:
        """Appends the account's figures at ``ts`` to the history."""
        a = self.account
        self.rows.append(
            dict(
                timestamp=ts,
                equity=a.equity,
                wallet_balance=a.wallet_balance,
                margin=a.margin,
                realized_pnl=a.realized_pnl,
                unrealized_pnl=a.unrealized_pnl,
                fees=a.fees,
                funding=a.funding,
                effective_leverage=a.effective_leverage,
                equity_quote=a.equity_quote,
            )
        )

    # -- figures ---------------------------------------------------------------------------
    def position(self, symbol: str, position_side: str = "both") -> RefPosition:
        """The position of ``symbol`` (on ``position_side`` in hedge mode) with its derived figures
        filled in."""
        sp = self._spec(symbol)
        p = self._side(symbol, position_side)
        p.mark_price = self.positions[symbol].mark_price
        p.leverage, p.margin_mode = self.positions[symbol].leverage, self.positions[symbol].margin_mode
        p.unrealized_pnl = self._leg_u(p)
        p.notional = self._leg_n(p)
        p.margin = self._leg_im(p)
        p.maintenance_margin = sp.maintenance(p.notional)
        return p

    @property
    def account(self) -> RefAccount:
        """The account's figures."""
        unreal = sum((self._unrealized(s) for s in self.specs), F(0))
        notional = sum((self._notional(s) for s in self.specs), F(0))
        margin = sum((self._im(s) for s in self.specs), F(0))
        mm = sum((self._mm(s) for s in self.specs), F(0))
        equity = self.wallet + unreal
        lev = F(0) if notional == 0 else (notional / equity if equity > 0 else F(10**30))
        first = next(iter(self.specs))
        mark0 = self.positions[first].mark_price
        quote = equity * mark0 if self.specs[first].inverse and mark0 is not None else equity
        return RefAccount(
            self.wallet,
            equity,
            margin,
            mm,
            equity - margin,
            unreal,
            self.realized,
            self.fees,
            self.funding,
            notional,
            lev,
            quote,
            self.volume,
            self.n_fills,
        )

    def liquidation_price(self, symbol: str, position_side: str = "both") -> Optional[F]:
        """Liquidation price of ``symbol``'s position (on ``position_side`` in hedge mode; under
        cross margin the symbol's one price); None when there is none."""
        return self._price(symbol, position_side, True)

    def bankruptcy_price(self, symbol: str, position_side: str = "both") -> Optional[F]:
        """Bankruptcy price of ``symbol``'s position (None when there is none)."""
        return self._price(symbol, position_side, False)

    def _price(self, symbol: str, position_side: str, maintenance: bool) -> Optional[F]:
        sp = self._spec(symbol)
        p = self._side(symbol, position_side)
        if p.qty == 0:
            return None
        if self.hedge and self.positions[symbol].margin_mode == "cross":
            r = self._cross_hedge(symbol, maintenance)
            return None if r is None else r[0]
        side = 1 if p.qty > 0 else -1
        if self.hedge:  # an isolated side is backed by its own margin
            wallet, mm_other, upnl_other = self._leg_im(p), F(0), F(0)
        else:
            wallet, mm_other, upnl_other = self._backing(symbol)
        if maintenance:
            return liquidation_price(sp, side, p.qty, p.entry_price, wallet, mm_other, upnl_other)
        return bankruptcy_price(sp, side, p.qty, p.entry_price, wallet, upnl_other)

    def _cross_hedge(self, symbol: str, maintenance: bool) -> Optional[tuple]:
        wallet, mm_other, upnl_other = self._backing(symbol)
        lg, sh = self.positions[symbol], self.shorts[symbol]
        return hedge_liquidation_price(
            self.specs[symbol],
            (lg.qty, lg.entry_price),
            (-sh.qty, sh.entry_price),
            wallet,
            mm_other if maintenance else F(0),
            upnl_other,
            maintenance,
        )

    def liquidation_levels(self, symbol: str) -> tuple:
        """(down, up): where a falling and a rising price liquidate ``symbol`` (None: not that way)."""
        if not self.hedge:
            q = self.positions[symbol].qty
            lp = self.liquidation_price(symbol) if q != 0 else None
            return (lp, None) if q > 0 else (None, lp)
        if self.positions[symbol].margin_mode == "isolated":
            return self.liquidation_price(symbol, "long"), self.liquidation_price(symbol, "short")
        r = self._cross_hedge(symbol, True) if self._legs(symbol) else None
        if r is None:
            return None, None
        return (r[0], None) if r[1] else (None, r[0])

    def _backing(self, symbol: str) -> tuple:
        """(wallet, maintenance margin of the others, their unrealized PnL) backing a position."""
        if self.positions[symbol].margin_mode == "isolated":
            return self._im(symbol), F(0), F(0)
        wallet, mm_other, upnl_other = self.wallet, F(0), F(0)
        for s, o in self.positions.items():
            if s == symbol:
                continue
            if o.margin_mode == "isolated":
                wallet -= self._im(s)
            else:
                mm_other += self._mm(s)
                upnl_other += self._unrealized(s)
        return wallet, mm_other, upnl_other

    def history(self) -> pd.DataFrame:
        """The recorded rows as floats, indexed by timestamp."""
        df = pd.DataFrame([{k: (float(v) if isinstance(v, F) else v) for k, v in r.items()} for r in self.rows])
        if df.empty:
            return df
        index = pd.DatetimeIndex(pd.to_datetime(df.pop("timestamp"), unit="ns", utc=True), name="timestamp")
        return df.set_index(index)

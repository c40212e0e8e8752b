"""The reference's order API with the engine's names (market, limit, stop, take-profit,
stop-loss, trailing stop, cancel, amend): each builds a request for the reference exchange's
``place``, which judges and fills it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError, OrderRejectedError
from .ledger import _num
from .orders import FILL_REASON, RefOrder


class OrderApi:
    """The order calls of :class:`perpsim.reference.Exchange` (mixed into it)."""

    if TYPE_CHECKING:  # provided by the exchange and its ledger
        orders: Any
        positions: Any

        def place(self, *args: Any, **kw: Any) -> int: ...
        def _spec(self, symbol: str) -> Any: ...
        def _side(self, symbol: str, side: str) -> Any: ...
        def _end(self, o: RefOrder, status: str, reason: str) -> None: ...

    def market(self, symbol: str, side: str, qty: Any, *, position_side: str = "both") -> int:
        return self.place(symbol, side, "market", qty, position_side=position_side)

    def limit(
        self,
        symbol: str,
        side: str,
        price: Any,
        qty: Any,
        *,
        post_only: bool = False,
        reduce_only: bool = False,
        position_side: str = "both",
    ) -> int:
        return self.place(
            symbol,
            side,
            "limit",
            qty,
            price=price,
            post_only=post_only,
            reduce_only=reduce_only,
            position_side=position_side,
        )

    def stop(
        self,
        symbol: str,
        side: str,
        trigger: Any,
        qty: Any,
        *,
        price: Any = None,
        reduce_only: bool = False,
        working_type: str = "last",
        position_side: str = "both",
    ) -> int:
        kind = "stop_market" if price is None else "stop_limit"
        return self.place(
            symbol,
            side,
            kind,
            qty,
            price=price,
            trigger=trigger,
            reduce_only=reduce_only,
            working_type=working_type,
            position_side=position_side,
        )

    def _protect(
        self, symbol: str, trigger: Any, qty: Any, kind: str, working_type: str = "last", position_side: str = "both"
    ) -> int:
        self._spec(symbol)
        _num("trigger", trigger, positive=True)
        pos = self._side(symbol, position_side).qty
        if pos == 0:
            raise OrderRejectedError(f"{kind}: no position to protect", kind)
        side = "sell" if pos > 0 else "buy"
        return self.place(
            symbol,
            side,
            kind,
            qty,
            trigger=trigger,
            reduce_only=True,
            close_position=qty is None,
            working_type=working_type,
            position_side=position_side,
        )

    def take_profit(
        self, symbol: str, trigger: Any, qty: Any = None, *, working_type: str = "last", position_side: str = "both"
    ) -> int:
        return self._protect(symbol, trigger, qty, "take_profit", working_type, position_side)

    def stop_loss(
        self, symbol: str, trigger: Any, qty: Any = None, *, working_type: str = "last", position_side: str = "both"
    ) -> int:
        return self._protect(symbol, trigger, qty, "stop_loss", working_type, position_side)

    def trailing_stop(
        self,
        symbol: str,
        side: str,
        qty: Any,
        callback: Any,
        *,
        activation: Any = None,
        reduce_only: bool = False,
        position_side: str = "both",
    ) -> int:
        return self.place(
            symbol,
            side,
            "trailing_stop",
            qty,
            callback=callback,
            activation=activation,
            reduce_only=reduce_only,
            position_side=position_side,
        )

    def _open(self, order_id: int) -> RefOrder:
        if not (1 <= order_id <= len(self.orders)):
            raise InvalidInputError(f"order_id: no order {order_id}", "order_id")
        o = self.orders[order_id - 1]
        if o.status != "open":
            raise InvalidInputError(f"order_id: order {order_id} is {o.status}", "order_id")
        return o

    def cancel(self, order_id: int) -> None:
        """Cancels an open order."""
        self._end(self._open(order_id), "cancelled", "cancelled")

    def amend(self, order_id: int, price: Any = None, qty: Any = None) -> int:
        """Replaces an open order (new id, new time priority); the original stays if refused."""
        o = self._open(order_id)
        kind = "limit" if o.triggered else o.kind
        new_price, new_trigger = o.price, o.trigger
        if price is not None:
            if kind in ("limit", "stop_limit"):
                new_price = price
            else:
                new_trigger = price
        q = o.qty - o.filled if qty is None else qty
        was_pending, was_book = o.pending, o.in_book
        o.pending = o.in_book = False
        try:
            new_id = self.place(
                o.symbol,
                o.side,
                kind,
                None if o.close_position else q,
                price=None if new_price is None else float(new_price),
                trigger=None if new_trigger is None else float(new_trigger),
                callback=o.callback,
                activation=o.activation,
                reduce_only=o.reduce_only,
                post_only=o.post_only,
                close_position=o.close_position,
                tag=o.tag,
                reason=o.fill_reason or FILL_REASON[o.kind],  # an amended order keeps what it was
                working_type="last" if o.triggered else o.working_type,
                position_side=o.position_side,
            )
        except (OrderRejectedError, InvalidInputError):
            o.pending, o.in_book = was_pending, was_book
            raise
        self._end(o, "cancelled", f"amended: replaced by order {new_id}")
        return new_id

//! `Exchange` trading: market fills at a given price, orders (market, limit, stop, TP/SL,
//! trailing), cancel and amend.

use perpsim_engine::{NoStrategy, OrderKind, OrderRequest, PositionSide, Side, WorkingType};
use pyo3::prelude::*;

use super::PyExchange;
use crate::convert::Choice;
use crate::errors::IntoPyResult;
use crate::records::PyFill;

#[pymethods]
impl PyExchange {
    /// Market buy of `qty` at `price` (taker fee, no slippage: the price is the fill price).
    /// `position_side`: in hedge mode, "long" (opens) or "short" (closes).
    #[pyo3(signature = (symbol, price, qty, *, position_side=None))]
    fn buy(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = crate::args::arg::price)] price: f64,
        #[pyo3(from_py_with = crate::args::arg::qty)] qty: f64,
        position_side: Option<Choice<PositionSide>>,
    ) -> PyResult<PyFill> {
        self.trade(py, symbol, price, qty, 1.0, side_of(position_side))
    }

    /// Market sell of `qty` at `price` (taker fee, no slippage). `position_side`: in hedge mode,
    /// "short" (opens) or "long" (closes).
    #[pyo3(signature = (symbol, price, qty, *, position_side=None))]
    fn sell(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = crate::args::arg::price)] price: f64,
        #[pyo3(from_py_with = crate::args::arg::qty)] qty: f64,
        position_side: Option<Choice<PositionSide>>,
    ) -> PyResult<PyFill> {
        self.trade(py, symbol, price, qty, -1.0, side_of(position_side))
    }

    /// Closes the whole position of `symbol` (in hedge mode, of its `position_side`) at `price`
    /// (taker fee); None when already flat.
    #[pyo3(signature = (symbol, price, *, position_side=None))]
    fn close(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = crate::args::arg::price)] price: f64,
        position_side: Option<Choice<PositionSide>>,
    ) -> PyResult<Option<PyFill>> {
        let i = self.lookup(py, symbol)?;
        perpsim_engine::error::positive("price", price).py(py)?;
        let side = side_of(position_side);
        let acc = self.acc(py)?;
        acc.check_side(side).py(py)?;
        let q = acc.leg(i, side).qty;
        if q == 0.0 {
            return Ok(None);
        }
        let eng = self.eng_mut(py)?;
        let before = eng.fills().len();
        let id = eng
            .fill_at_side(i, side, -q, price, false, None, &mut NoStrategy)
            .py(py)?;
        self.fill_result(py, id, before)
    }

    /// Market order at the current price ± slippage; returns the order id.
    #[pyo3(signature = (symbol, side, qty, *, position_side=None))]
    fn market(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        side: Choice<Side>,
        #[pyo3(from_py_with = crate::args::arg::qty)] qty: f64,
        position_side: Option<Choice<PositionSide>>,
    ) -> PyResult<u64> {
        let i = self.lookup(py, symbol)?;
        let s = side.0;
        let mut r = OrderRequest::new(i, s, OrderKind::Market, qty);
        r.position_side = side_of(position_side);
        self.place(py, r)
    }

    /// Limit order; returns the order id.
    #[pyo3(signature = (symbol, side, price, qty, *, post_only=false, reduce_only=false, position_side=None))]
    #[allow(clippy::too_many_arguments)]
    fn limit(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        side: Choice<Side>,
        #[pyo3(from_py_with = crate::args::arg::price)] price: f64,
        #[pyo3(from_py_with = crate::args::arg::qty)] qty: f64,
        post_only: bool,
        reduce_only: bool,
        position_side: Option<Choice<PositionSide>>,
    ) -> PyResult<u64> {
        let i = self.lookup(py, symbol)?;
        let s = side.0;
        let mut r = OrderRequest::limit(i, s, price, qty);
        r.position_side = side_of(position_side);
        r.post_only = post_only;
        r.reduce_only = reduce_only;
        self.place(py, r)
    }

    /// Stop-market order (or stop-limit when `price` is given); returns the order id.
    /// `working_type`: which price fires it, `"last"` (the trade price) or `"mark"` (the mark's
    /// own path when the bars have mark bars).
    #[pyo3(
        signature = (symbol, side, trigger, qty, *, price=None, reduce_only=false, working_type=Choice(WorkingType::Last), position_side=None),
        text_signature = "(self, /, symbol, side, trigger, qty, *, price=None, reduce_only=False, working_type='last', position_side=None)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn stop(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        side: Choice<Side>,
        #[pyo3(from_py_with = crate::args::arg::trigger)] trigger: f64,
        #[pyo3(from_py_with = crate::args::arg::qty)] qty: f64,
        #[pyo3(from_py_with = crate::args::arg::opt_price)] price: Option<f64>,
        reduce_only: bool,
        working_type: Choice<WorkingType>,
        position_side: Option<Choice<PositionSide>>,
    ) -> PyResult<u64> {
        let i = self.lookup(py, symbol)?;
        let s = side.0;
        let mut r = OrderRequest::stop(i, s, trigger, qty);
        r.position_side = side_of(position_side);
        r.working_type = working_type.0;
        if let Some(p) = price {
            r.kind = OrderKind::StopLimit;
            r.price = p;
        }
        r.reduce_only = reduce_only;
        self.place(py, r)
    }

    /// Take-profit (market on trigger) closing the position (or `qty` of it); returns the order id.
    /// `working_type`: `"last"` or `"mark"`, as for `stop`.
    #[pyo3(
        signature = (symbol, trigger, qty=None, *, working_type=Choice(WorkingType::Last), position_side=None),
        text_signature = "(self, /, symbol, trigger, qty=None, *, working_type='last', position_side=None)"
    )]
    fn take_profit(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = crate::args::arg::trigger)] trigger: f64,
        #[pyo3(from_py_with = crate::args::arg::opt_qty)] qty: Option<f64>,
        working_type: Choice<WorkingType>,
        position_side: Option<Choice<PositionSide>>,
    ) -> PyResult<u64> {
        self.protect(
            py,
            symbol,
            side_of(position_side),
            trigger,
            qty,
            OrderKind::TakeProfit,
            working_type.0,
        )
    }

    /// Stop-loss (market on trigger) closing the position (or `qty` of it); returns the order id.
    /// `working_type`: `"last"` or `"mark"`, as for `stop`.
    #[pyo3(
        signature = (symbol, trigger, qty=None, *, working_type=Choice(WorkingType::Last), position_side=None),
        text_signature = "(self, /, symbol, trigger, qty=None, *, working_type='last', position_side=None)"
    )]
    fn stop_loss(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = crate::args::arg::trigger)] trigger: f64,
        #[pyo3(from_py_with = crate::args::arg::opt_qty)] qty: Option<f64>,
        working_type: Choice<WorkingType>,
        position_side: Option<Choice<PositionSide>>,
    ) -> PyResult<u64> {
        self.protect(
            py,
            symbol,
            side_of(position_side),
            trigger,
            qty,
            OrderKind::StopLoss,
            working_type.0,
        )
    }

    /// Trailing stop: after `activation` (None: at once), triggers when the price retraces
    /// `callback` (a fraction) from its extreme; returns the order id.
    #[pyo3(signature = (symbol, side, qty, callback, *, activation=None, reduce_only=false, position_side=None))]
    #[allow(clippy::too_many_arguments)]
    fn trailing_stop(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        side: Choice<Side>,
        #[pyo3(from_py_with = crate::args::arg::qty)] qty: f64,
        #[pyo3(from_py_with = crate::args::arg::callback)] callback: f64,
        #[pyo3(from_py_with = crate::args::arg::opt_activation)] activation: Option<f64>,
        reduce_only: bool,
        position_side: Option<Choice<PositionSide>>,
    ) -> PyResult<u64> {
        let i = self.lookup(py, symbol)?;
        let s = side.0;
        let mut r = OrderRequest::new(i, s, OrderKind::TrailingStop, qty);
        r.position_side = side_of(position_side);
        r.callback = callback;
        r.activation = activation.unwrap_or(f64::NAN);
        r.reduce_only = reduce_only;
        self.place(py, r)
    }

    /// Cancels an open order.
    fn cancel(
        &mut self,
        py: Python<'_>,
        #[pyo3(from_py_with = crate::args::arg::order_id)] order_id: u64,
    ) -> PyResult<()> {
        self.eng_mut(py)?.cancel(order_id).py(py)
    }

    /// Amends an open order's price (trigger for stops) and/or quantity; returns the new order id.
    #[pyo3(signature = (order_id, price=None, qty=None))]
    fn amend(
        &mut self,
        py: Python<'_>,
        #[pyo3(from_py_with = crate::args::arg::order_id)] order_id: u64,
        #[pyo3(from_py_with = crate::args::arg::opt_price)] price: Option<f64>,
        #[pyo3(from_py_with = crate::args::arg::opt_qty)] qty: Option<f64>,
    ) -> PyResult<u64> {
        self.eng_mut(py)?
            .amend(order_id, price, qty, &mut NoStrategy)
            .py(py)
    }

    /// Ids of the open orders (of one symbol, or all).
    #[pyo3(signature = (symbol=None))]
    fn open_orders(&self, py: Python<'_>, symbol: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<u64>> {
        let eng = self.eng(py)?;
        Ok(match symbol {
            Some(s) => eng.open_orders(self.lookup(py, s)?),
            None => {
                let mut v: Vec<u64> = (0..eng.account().len())
                    .flat_map(|i| eng.open_orders(i))
                    .collect();
                v.sort_unstable();
                v
            }
        })
    }
}

/// The position side an order names (`both` when it names none).
fn side_of(s: Option<Choice<PositionSide>>) -> PositionSide {
    s.map_or(PositionSide::Both, |s| s.0)
}

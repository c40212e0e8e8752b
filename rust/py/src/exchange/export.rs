//! `Exchange` records to Python: the history as a view of the engine's columns (no copy),
//! the fills, orders and funding payments as dicts of columns.

use std::sync::Arc;

use numpy::ndarray::{ArrayView2, ShapeBuilder};
use numpy::{IntoPyArray, PyArray2, PyArrayMethods};
use perpsim_engine::engine::history::{ACCOUNT_COLUMNS, QUOTE_COLUMN};
use perpsim_engine::Named;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::PyExchange;
use crate::columns::Columns;

/// Keeps an engine history buffer alive while numpy views it.
#[pyclass(frozen, module = "perpsim._core")]
struct SharedColumns(#[allow(dead_code)] Arc<perpsim_engine::memory::Pooled>);

#[pymethods]
impl PyExchange {
    /// The history as (timestamps int64 ns array, float64 matrix of shape (columns, rows), column
    /// names; a linear account's equity_quote, its equity, is left out). The matrix is a
    /// read-only view of the engine's own column buffer (no copy; pandas wraps its transpose as
    /// one block without copying either); a later step of this exchange writes to a fresh
    /// buffer, never to this one.
    fn _history_arrays<'py>(
        &mut self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Vec<String>)> {
        let (shared, h) = self.eng_mut(py)?.share_history();
        let (k, n, cap) = (h.built_width(), h.len(), h.stride());
        // The built columns' names: a linear account's equity_quote (its equity) is not built.
        let mut names = self.history_names(py)?;
        names.truncate(k);
        if n == 0 {
            let ts = Vec::<i64>::new().into_pyarray(py).into_any();
            let matrix = numpy::PyArray2::<f64>::zeros(py, (k, 0), false).into_any();
            return Ok((ts, matrix, names));
        }
        let ptr = shared.as_ptr().cast::<f64>();
        let owner = Bound::new(py, SharedColumns(shared))?.into_any();
        // SAFETY: `ptr` points at `k` float columns `cap` (= n) apart, then the step times' bits,
        // all `n` entries of each written by the build; the views cover exactly those (i64 and
        // f64 share size and alignment, every bit pattern is a valid i64). The `Arc` that `owner`
        // keeps alive as the arrays' base owns them, and the engine never writes a buffer it has
        // handed out (it builds a fresh one after its next row).
        let (matrix, ts) = unsafe {
            let view = ArrayView2::from_shape_ptr((k, n).strides((cap, 1)), ptr);
            let times =
                numpy::ndarray::ArrayView1::from_shape_ptr(n, ptr.add(k * cap).cast::<i64>());
            (
                PyArray2::borrow_from_array(&view, owner.clone()),
                numpy::PyArray1::borrow_from_array(&times, owner),
            )
        };
        let matrix = matrix.readwrite().make_nonwriteable().as_any().clone();
        let ts = ts.readwrite().make_nonwriteable().as_any().clone();
        Ok((ts, matrix, names))
    }
}

impl PyExchange {
    /// The history's column names.
    fn history_names(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let mut names: Vec<String> = ACCOUNT_COLUMNS.iter().map(|s| s.to_string()).collect();
        let acc = self.acc(py)?;
        if acc.is_hedge() {
            for side in ["long", "short"] {
                for s in acc.instruments() {
                    names.push(format!("position_{}_{side}", s.symbol));
                    names.push(format!("entry_{}_{side}", s.symbol));
                }
            }
        } else {
            for s in acc.instruments() {
                names.push(format!("position_{}", s.symbol));
                names.push(format!("entry_{}", s.symbol));
            }
        }
        names.push(QUOTE_COLUMN.to_string());
        Ok(names)
    }
}

#[pymethods]
impl PyExchange {
    /// The fills as a dict of columns.
    fn _fill_columns<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let f = self.eng(py)?.fills();
        let acc = self.acc(py)?;
        let sym = |i: usize| acc.instruments()[i].symbol.as_str();
        let mut c = Columns::new(py);
        c.num("timestamp", f.iter().map(|r| r.ts))?;
        c.cat("symbol", f.iter().map(|r| sym(r.symbol)))?;
        c.num("order_id", f.iter().map(|r| r.order_id))?;
        c.cat(
            "side",
            f.iter().map(|r| if r.side > 0 { "buy" } else { "sell" }),
        )?;
        c.num("qty", f.iter().map(|r| r.qty))?;
        c.num("price", f.iter().map(|r| r.price))?;
        c.num("fee", f.iter().map(|r| r.fee))?;
        c.cat(
            "liquidity",
            f.iter().map(|r| if r.maker { "maker" } else { "taker" }),
        )?;
        c.num("realized_pnl", f.iter().map(|r| r.realized))?;
        c.num("position", f.iter().map(|r| r.position))?;
        c.num("entry_price", f.iter().map(|r| r.entry))?;
        c.cat("reason", f.iter().map(|r| r.reason.name()))?;
        if acc.is_hedge() {
            let orders = self.eng(py)?.orders();
            let side = |r: &perpsim_engine::FillRow| orders[r.order_id as usize - 1].position_side;
            c.cat("position_side", f.iter().map(|r| side(r).name()))?;
        }
        Ok(c.into_dict())
    }

    /// The orders log as a dict of columns.
    fn _order_columns<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let o = self.eng(py)?.orders();
        let acc = self.acc(py)?;
        let sym = |i: usize| acc.instruments()[i].symbol.as_str();
        let mut c = Columns::new(py);
        c.num("order_id", o.iter().map(|r| r.id))?;
        c.num("placed", o.iter().map(|r| r.placed))?;
        c.num("updated", o.iter().map(|r| r.updated))?;
        c.cat("symbol", o.iter().map(|r| sym(r.symbol)))?;
        c.cat("type", o.iter().map(|r| r.kind.name()))?;
        c.cat("side", o.iter().map(|r| r.side.name()))?;
        c.num("price", o.iter().map(|r| r.price))?;
        c.num("trigger", o.iter().map(|r| r.trigger))?;
        c.num("qty", o.iter().map(|r| r.qty))?;
        c.num("filled", o.iter().map(|r| r.filled))?;
        c.num("avg_price", o.iter().map(|r| r.avg_price))?;
        c.cat("status", o.iter().map(|r| r.status.name()))?;
        c.cat("reason", o.iter().map(|r| r.reason.as_str()))?;
        c.num("reduce_only", o.iter().map(|r| r.reduce_only))?;
        c.num("post_only", o.iter().map(|r| r.post_only))?;
        c.cat(
            "working_type",
            o.iter()
                .map(|r| perpsim_engine::Named::name(r.working_type)),
        )?;
        if acc.is_hedge() {
            c.cat("position_side", o.iter().map(|r| r.position_side.name()))?;
        }
        Ok(c.into_dict())
    }

    /// The funding payments as a dict of columns.
    fn _funding_columns<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let f = self.eng(py)?.funding_rows();
        let acc = self.acc(py)?;
        let sym = |i: usize| acc.instruments()[i].symbol.as_str();
        let mut c = Columns::new(py);
        c.num("timestamp", f.iter().map(|r| r.ts))?;
        c.cat("symbol", f.iter().map(|r| sym(r.symbol)))?;
        c.num("rate", f.iter().map(|r| r.rate))?;
        c.num("mark_price", f.iter().map(|r| r.mark))?;
        c.num("position", f.iter().map(|r| r.position))?;
        c.num("payment", f.iter().map(|r| r.payment))?;
        Ok(c.into_dict())
    }

    /// The rebates credited as a dict of columns.
    fn _rebate_columns<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let f = self.eng(py)?.rebate_rows();
        let acc = self.acc(py)?;
        let sym = |i: usize| acc.instruments()[i].symbol.as_str();
        let mut c = Columns::new(py);
        c.num("timestamp", f.iter().map(|r| r.ts))?;
        c.cat("symbol", f.iter().map(|r| sym(r.symbol)))?;
        c.num("volume", f.iter().map(|r| r.volume))?;
        c.num("market_volume", f.iter().map(|r| r.market_volume))?;
        c.num("reward", f.iter().map(|r| r.reward))?;
        c.num("amount", f.iter().map(|r| r.amount))?;
        Ok(c.into_dict())
    }

    /// The run's warnings (orders refused, symbols without a bar, inputs that matched no step,
    /// liquidations), as a list of dicts: kind, symbol (None: the run), count, total, first and
    /// last time (ns or None), detail, doubtful, message.
    fn _warnings<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let eng = self.eng(py)?;
        let names: Vec<String> = eng
            .account()
            .instruments()
            .iter()
            .map(|i| i.symbol.clone())
            .collect();
        eng.warnings()
            .iter()
            .map(|w| {
                let d = PyDict::new(py);
                d.set_item("kind", w.kind.name())?;
                d.set_item("symbol", w.symbol.map(|i| self.names[i].clone_ref(py)))?;
                d.set_item("count", w.count)?;
                d.set_item("total", w.total)?;
                d.set_item("first", w.first)?;
                d.set_item("last", w.last)?;
                d.set_item("detail", &w.detail)?;
                d.set_item("doubtful", w.doubtful)?;
                d.set_item("message", w.message(&names))?;
                Ok(d)
            })
            .collect()
    }
}

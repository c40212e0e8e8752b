//! `Exchange` records to Python: the history as a view of the engine's columns (no copy),
//! the fills, orders and funding payments as dicts of columns.

use numpy::ndarray::{ArrayView1, ShapeBuilder};
use numpy::{IntoPyArray, PyArray1, PyArrayMethods};
use perpsim_engine::engine::history::{ColumnView, ACCOUNT_COLUMNS, QUOTE_COLUMN};
use perpsim_engine::Named;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::PyExchange;
use crate::columns::Columns;

/// Keeps the engine's history buffers alive while numpy views them.
#[pyclass(frozen, module = "perpsim._core")]
struct SharedColumns(#[allow(dead_code)] perpsim_engine::engine::history::SharedColumns);

/// The history's arrays: the step times, one array per column, the columns' names.
type HistoryArrays<'py> = (Bound<'py, PyAny>, Vec<Bound<'py, PyAny>>, Vec<String>);

#[pymethods]
impl PyExchange {
    /// The history as (timestamps int64 ns array, one float64 array per column, column names; a
    /// linear account's equity_quote, its equity, is left out). Each array is a read-only view of
    /// the engine's own buffers (no copy; pandas takes them as they are), a column with one value
    /// on every row a view of that value with a stride of 0; a later step of this exchange writes
    /// to fresh buffers, never to these.
    fn _history_arrays<'py>(&mut self, py: Python<'py>) -> PyResult<HistoryArrays<'py>> {
        let mut names = self.history_names(py)?;
        let (shared, h) = self.eng_mut(py)?.share_history();
        let (k, n) = (h.shown_width(), h.len());
        names.truncate(k);
        if n == 0 {
            let ts = Vec::<i64>::new().into_pyarray(py).into_any();
            let cols = (0..k)
                .map(|_| Vec::<f64>::new().into_pyarray(py).into_any())
                .collect();
            return Ok((ts, cols, names));
        }
        let owner = Bound::new(py, SharedColumns(shared))?.into_any();
        // Read-only views of `n` entries each: the slices `timestamps` and `column` return until
        // the next row point into the buffers that `owner` (the arrays' base) keeps alive, and the
        // engine never writes a buffer it has handed out.
        // A column with one value on every row (not written out: decision 136) is that value
        // with a stride of 0.
        let view = |c: ColumnView<'_>| -> PyResult<Bound<'py, PyAny>> {
            // SAFETY: `c` is `n` initialised floats, or one float, inside a buffer `owner` owns
            // (above); a view with a stride of 0 reads that float `n` times and is made
            // read-only before it is handed out.
            let a = unsafe {
                let v = match c {
                    ColumnView::Values(c) => ArrayView1::from_shape_ptr(c.len(), c.as_ptr()),
                    ColumnView::Uniform(v) => {
                        ArrayView1::from_shape_ptr((n,).strides((0,)), v as *const f64)
                    }
                };
                PyArray1::borrow_from_array(&v, owner.clone())
            };
            Ok(a.readwrite().make_nonwriteable().as_any().clone())
        };
        let cols = (0..k)
            .map(|j| view(h.column_view(j)))
            .collect::<PyResult<_>>()?;
        let t = h.timestamps();
        // SAFETY: as above; the times are the lean buffer's first column.
        let ts = unsafe {
            let v = ArrayView1::from_shape_ptr(t.len(), t.as_ptr());
            PyArray1::borrow_from_array(&v, owner)
        };
        let ts = ts.readwrite().make_nonwriteable().as_any().clone();
        Ok((ts, cols, names))
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
        let eng = self.eng(py)?;
        let o = eng.orders();
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
        c.cat("reason", o.iter().map(|r| eng.order_reason(r)))?;
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

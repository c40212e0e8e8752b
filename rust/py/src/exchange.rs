//! `perpsim._core.Exchange`: the step-driven account with its matching engine, for Python
//! strategies and embedding. Thin: it converts arguments, calls the engine and maps errors.

use numpy::{IntoPyArray, PyReadonlyArray1};
use perpsim_engine::market::{BarSeries, Series};
use perpsim_engine::sim::{run_clocked, SymbolInput};
use perpsim_engine::{
    Account, Bar, Config, Engine, Instrument, LedgerError, MarginMode, NoStrategy, OrderKind,
    OrderRequest, PathModel, Side,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use serde::{Deserialize, Serialize};

use crate::convert::{contract, timestamp_ns};
use crate::errors::{invalid, to_py, IntoPyResult};
use crate::records::{PyAccountInfo, PyFill, PyPosition};

/// Everything an exchange holds, for pickling.
#[derive(Serialize, Deserialize)]
struct State {
    engine: Engine,
    last_ts: Option<i64>,
}

/// A step-driven exchange account (see `perpsim.Exchange` for the documented Python API).
#[pyclass(module = "perpsim._core", name = "Exchange", subclass)]
pub struct PyExchange {
    engine: Engine,
    last_ts: Option<i64>,
    names: Vec<Py<PyString>>,
    pending: Vec<f64>,
}

fn parse_mode(py: Python<'_>, mode: &str) -> PyResult<MarginMode> {
    match mode {
        "cross" => Ok(MarginMode::Cross),
        "isolated" => Ok(MarginMode::Isolated),
        _ => Err(invalid(
            py,
            "margin_mode",
            format!("must be 'cross' or 'isolated', got {mode:?}"),
        )),
    }
}

fn parse_side(py: Python<'_>, side: &str) -> PyResult<Side> {
    Side::parse(side)
        .ok_or_else(|| invalid(py, "side", format!("must be 'buy' or 'sell', got {side:?}")))
}

/// One symbol's columns for `_run`: ts, open, high, low, close, volume, mark, funding ts, funding
/// rates, settlement price.
pub(crate) type RunColumns<'py> = (
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, f64>,
    Option<PyReadonlyArray1<'py, f64>>,
    Option<PyReadonlyArray1<'py, f64>>,
    Option<PyReadonlyArray1<'py, i64>>,
    Option<PyReadonlyArray1<'py, f64>>,
    Option<f64>,
);

impl PyExchange {
    fn from_parts(py: Python<'_>, engine: Engine, last_ts: Option<i64>) -> Self {
        let names = engine
            .account()
            .instruments()
            .iter()
            .map(|i| PyString::intern(py, &i.symbol).unbind())
            .collect();
        let pending = vec![f64::NAN; engine.account().len()];
        Self {
            engine,
            last_ts,
            names,
            pending,
        }
    }

    fn acc(&self) -> &Account {
        self.engine.account()
    }

    /// The engine (for the Monte Carlo and sweep runners, which copy it and never change it).
    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Index of a symbol given as a Python str (identity first: literals are interned).
    #[inline]
    fn lookup(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<usize> {
        for (i, n) in self.names.iter().enumerate() {
            if key.is(n.bind(py)) {
                return Ok(i);
            }
        }
        for (i, n) in self.names.iter().enumerate() {
            if key.eq(n.bind(py))? {
                return Ok(i);
            }
        }
        let shown = key.repr().map(|r| r.to_string()).unwrap_or_default();
        Err(to_py(
            py,
            LedgerError::unknown_symbol(shown.trim_matches('\'')),
        ))
    }

    fn fill_result(&self, py: Python<'_>, id: u64, before: usize) -> Option<PyFill> {
        let fills = self.engine.fills();
        fills[before..]
            .iter()
            .rev()
            .find(|f| f.order_id == id)
            .map(|f| {
                let entry = self.acc().position(f.symbol).entry;
                PyFill::from_row(py, self.names[f.symbol].clone_ref(py), f, entry)
            })
    }

    fn trade(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        price: f64,
        qty: f64,
        sign: f64,
    ) -> PyResult<PyFill> {
        let i = self.lookup(py, symbol)?;
        if !(qty.is_finite() && qty > 0.0) {
            return Err(invalid(
                py,
                "qty",
                format!("must be a finite number > 0, got {qty}"),
            ));
        }
        let before = self.engine.fills().len();
        let id = self
            .engine
            .fill_at(i, sign * qty, price, true, &mut NoStrategy)
            .py(py)?;
        Ok(self
            .fill_result(py, id, before)
            .expect("a market fill was recorded"))
    }

    fn check_time(&self, py: Python<'_>, ts: i64) -> PyResult<()> {
        if let Some(last) = self.last_ts {
            if ts < last {
                return Err(invalid(
                    py,
                    "timestamp",
                    format!("{ts} is earlier than the previous step {last}"),
                ));
            }
        }
        Ok(())
    }

    fn place(&mut self, py: Python<'_>, r: OrderRequest) -> PyResult<u64> {
        self.engine.place(&r, &mut NoStrategy).py(py)
    }

    /// The closing side and quantity for TP/SL on the current position.
    fn closing(&self, py: Python<'_>, i: usize, field: &str) -> PyResult<Side> {
        let q = self.acc().position(i).qty;
        if q == 0.0 {
            return Err(to_py(
                py,
                LedgerError::rejected(field, "no position to protect"),
            ));
        }
        Ok(if q > 0.0 { Side::Sell } else { Side::Buy })
    }
}

fn price_ok(p: f64) -> bool {
    p.is_nan() || (p.is_finite() && p > 0.0)
}

#[pymethods]
impl PyExchange {
    #[new]
    #[pyo3(signature = (contracts=None, initial_balance=10_000.0, leverage=None, maker_fee=None, taker_fee=None,
        margin_mode="cross", *, path="nearest_first", slippage=0.0, touch_fills=true, same_bar=true,
        max_participation=0.0, liquidation_fee=0.0, allow_negative_balance=false, liquidation=true, _state=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        contracts: Option<&Bound<'_, PyAny>>,
        initial_balance: f64,
        leverage: Option<f64>,
        maker_fee: Option<f64>,
        taker_fee: Option<f64>,
        margin_mode: &str,
        path: &str,
        slippage: f64,
        touch_fills: bool,
        same_bar: bool,
        max_participation: f64,
        liquidation_fee: f64,
        allow_negative_balance: bool,
        liquidation: bool,
        _state: Option<&[u8]>,
    ) -> PyResult<Self> {
        if let Some(bytes) = _state {
            let s: State = bincode::deserialize(bytes)
                .map_err(|e| invalid(py, "state", format!("cannot restore an Exchange: {e}")))?;
            return Ok(Self::from_parts(py, s.engine, s.last_ts));
        }
        let contracts = contracts.ok_or_else(|| {
            invalid(
                py,
                "contracts",
                "give one or more contracts or symbol names",
            )
        })?;
        let mut insts: Vec<Instrument> = Vec::new();
        if contracts.is_instance_of::<PyString>() || contracts.hasattr("kind")? {
            insts.push(contract(py, contracts, maker_fee, taker_fee)?);
        } else {
            for c in contracts.try_iter().map_err(|_| {
                invalid(
                    py,
                    "contracts",
                    "must be a symbol, a Contract, or a sequence of them",
                )
            })? {
                insts.push(contract(py, &c?, maker_fee, taker_fee)?);
            }
        }
        let mode = parse_mode(py, margin_mode)?;
        let path = PathModel::parse(path).ok_or_else(|| {
            invalid(py, "path", format!("must be nearest_first, open_high_low_close, open_low_high_close or worst_case, got {path:?}"))
        })?;
        // Default leverage: 20x, capped by each contract's maximum; spot trades at 1x.
        let lev_for = |inst: &Instrument| match leverage {
            Some(l) => l,
            None if inst.kind == perpsim_engine::ContractKind::Spot => 1.0,
            None => inst.brackets.max_leverage().min(20.0),
        };
        let levs: Vec<f64> = insts.iter().map(lev_for).collect();
        let mut acc = Account::new(insts, initial_balance, 1.0).py(py)?;
        for (i, &lev) in levs.iter().enumerate() {
            acc.set_leverage(i, lev).py(py)?;
            acc.set_margin_mode(i, mode).py(py)?;
        }
        let config = Config {
            path,
            slippage,
            touch_fills,
            same_bar,
            max_participation,
            liquidation_fee,
            allow_negative_balance,
            record_equity: true,
            liquidation,
        };
        let engine = Engine::new(acc, config).py(py)?;
        Ok(Self::from_parts(py, engine, None))
    }

    /// Symbols, in the order given.
    #[getter]
    fn symbols(&self, py: Python<'_>) -> Vec<Py<PyString>> {
        self.names.iter().map(|n| n.clone_ref(py)).collect()
    }

    /// Whether the account settles in coin (inverse contracts).
    #[getter]
    fn is_inverse(&self) -> bool {
        self.acc().is_inverse()
    }

    /// The settlement asset (e.g. "USDT" or "BTC").
    #[getter]
    fn settle_asset(&self) -> String {
        self.acc().instruments()[0].settle_asset.clone()
    }

    /// Whether a liquidation blew the account (it no longer trades).
    #[getter]
    fn blown(&self) -> bool {
        self.engine.blown()
    }

    /// When the first liquidation happened (ns), or None.
    #[getter]
    fn liquidated_at(&self) -> Option<i64> {
        self.engine.liquidated_at()
    }

    /// Market buy of `qty` at `price` (taker fee, no slippage: the price is the fill price).
    fn buy(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        price: f64,
        qty: f64,
    ) -> PyResult<PyFill> {
        self.trade(py, symbol, price, qty, 1.0)
    }

    /// Market sell of `qty` at `price` (taker fee, no slippage).
    fn sell(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        price: f64,
        qty: f64,
    ) -> PyResult<PyFill> {
        self.trade(py, symbol, price, qty, -1.0)
    }

    /// Closes the whole position of `symbol` at `price` (taker fee); None when already flat.
    fn close(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        price: f64,
    ) -> PyResult<Option<PyFill>> {
        let i = self.lookup(py, symbol)?;
        perpsim_engine::error::positive("price", price).py(py)?;
        let q = self.acc().position(i).qty;
        if q == 0.0 {
            return Ok(None);
        }
        let before = self.engine.fills().len();
        let id = self
            .engine
            .fill_at(i, -q, price, false, &mut NoStrategy)
            .py(py)?;
        Ok(self.fill_result(py, id, before))
    }

    /// Market order at the current price ± slippage; returns the order id.
    fn market(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        side: &str,
        qty: f64,
    ) -> PyResult<u64> {
        let i = self.lookup(py, symbol)?;
        let s = parse_side(py, side)?;
        self.place(py, OrderRequest::new(i, s, OrderKind::Market, qty))
    }

    /// Limit order; returns the order id.
    #[pyo3(signature = (symbol, side, price, qty, *, post_only=false, reduce_only=false))]
    #[allow(clippy::too_many_arguments)]
    fn limit(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        side: &str,
        price: f64,
        qty: f64,
        post_only: bool,
        reduce_only: bool,
    ) -> PyResult<u64> {
        let i = self.lookup(py, symbol)?;
        let s = parse_side(py, side)?;
        let mut r = OrderRequest::limit(i, s, price, qty);
        r.post_only = post_only;
        r.reduce_only = reduce_only;
        self.place(py, r)
    }

    /// Stop-market order (or stop-limit when `price` is given); returns the order id.
    #[pyo3(signature = (symbol, side, trigger, qty, *, price=None, reduce_only=false))]
    #[allow(clippy::too_many_arguments)]
    fn stop(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        side: &str,
        trigger: f64,
        qty: f64,
        price: Option<f64>,
        reduce_only: bool,
    ) -> PyResult<u64> {
        let i = self.lookup(py, symbol)?;
        let s = parse_side(py, side)?;
        let mut r = OrderRequest::stop(i, s, trigger, qty);
        if let Some(p) = price {
            r.kind = OrderKind::StopLimit;
            r.price = p;
        }
        r.reduce_only = reduce_only;
        self.place(py, r)
    }

    /// Take-profit (market on trigger) closing the position (or `qty` of it); returns the order id.
    #[pyo3(signature = (symbol, trigger, qty=None))]
    fn take_profit(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        trigger: f64,
        qty: Option<f64>,
    ) -> PyResult<u64> {
        self.protect(py, symbol, trigger, qty, OrderKind::TakeProfit)
    }

    /// Stop-loss (market on trigger) closing the position (or `qty` of it); returns the order id.
    #[pyo3(signature = (symbol, trigger, qty=None))]
    fn stop_loss(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        trigger: f64,
        qty: Option<f64>,
    ) -> PyResult<u64> {
        self.protect(py, symbol, trigger, qty, OrderKind::StopLoss)
    }

    /// Trailing stop: after `activation` (None: at once), triggers when the price retraces
    /// `callback` (a fraction) from its extreme; returns the order id.
    #[pyo3(signature = (symbol, side, qty, callback, *, activation=None, reduce_only=false))]
    #[allow(clippy::too_many_arguments)]
    fn trailing_stop(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        side: &str,
        qty: f64,
        callback: f64,
        activation: Option<f64>,
        reduce_only: bool,
    ) -> PyResult<u64> {
        let i = self.lookup(py, symbol)?;
        let s = parse_side(py, side)?;
        let mut r = OrderRequest::new(i, s, OrderKind::TrailingStop, qty);
        r.callback = callback;
        r.activation = activation.unwrap_or(f64::NAN);
        r.reduce_only = reduce_only;
        self.place(py, r)
    }

    /// Cancels an open order.
    fn cancel(&mut self, py: Python<'_>, order_id: u64) -> PyResult<()> {
        self.engine.cancel(order_id).py(py)
    }

    /// Amends an open order's price (trigger for stops) and/or quantity; returns the new order id.
    #[pyo3(signature = (order_id, price=None, qty=None))]
    fn amend(
        &mut self,
        py: Python<'_>,
        order_id: u64,
        price: Option<f64>,
        qty: Option<f64>,
    ) -> PyResult<u64> {
        self.engine
            .amend(order_id, price, qty, &mut NoStrategy)
            .py(py)
    }

    /// Ids of the open orders (of one symbol, or all).
    #[pyo3(signature = (symbol=None))]
    fn open_orders(&self, py: Python<'_>, symbol: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<u64>> {
        Ok(match symbol {
            Some(s) => self.engine.open_orders(self.lookup(py, s)?),
            None => {
                let mut v: Vec<u64> = (0..self.acc().len())
                    .flat_map(|i| self.engine.open_orders(i))
                    .collect();
                v.sort_unstable();
                v
            }
        })
    }

    /// Marks every symbol from `prices` (a mapping symbol → price; NaN keeps the last price; a
    /// plain number for a one-symbol exchange) as a one-point path (resting orders and
    /// liquidations are checked at that price), and appends a row to the history.
    fn update(
        &mut self,
        py: Python<'_>,
        timestamp: &Bound<'_, PyAny>,
        prices: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let ts = timestamp_ns(py, timestamp, "timestamp")?;
        self.check_time(py, ts)?;
        self.pending.iter_mut().for_each(|p| *p = f64::NAN);
        let n = self.acc().len();
        let bad = |py: Python<'_>, sym: &str, p: f64| {
            invalid(
                py,
                "prices",
                format!("price of {sym} must be a finite number > 0 or NaN, got {p}"),
            )
        };
        if let Ok(d) = prices.cast::<PyDict>() {
            for (k, v) in d.iter() {
                let i = self.lookup(py, &k)?;
                let sym = self.acc().instruments()[i].symbol.clone();
                let p: f64 = v.extract().map_err(|_| {
                    invalid(py, "prices", format!("price of {sym} is not a number"))
                })?;
                if !price_ok(p) {
                    return Err(bad(py, &sym, p));
                }
                self.pending[i] = p;
            }
        } else if let Ok(p) = prices.extract::<f64>() {
            if n != 1 {
                return Err(invalid(py, "prices", "a plain number is only accepted for a one-symbol exchange; pass a mapping symbol -> price"));
            }
            if !price_ok(p) {
                return Err(bad(py, &self.acc().instruments()[0].symbol.clone(), p));
            }
            self.pending[0] = p;
        } else {
            let items = prices
                .call_method0("items")
                .map_err(|_| invalid(py, "prices", "must be a mapping symbol -> price"))?;
            for kv in items.try_iter()? {
                let (k, v): (Bound<'_, PyAny>, f64) = kv?
                    .extract()
                    .map_err(|_| invalid(py, "prices", "prices must be numbers"))?;
                let i = self.lookup(py, &k)?;
                if !price_ok(v) {
                    return Err(bad(py, &self.acc().instruments()[i].symbol.clone(), v));
                }
                self.pending[i] = v;
            }
        }
        self.last_ts = Some(ts);
        let eng = &mut self.engine;
        eng.begin_step(ts, &mut NoStrategy);
        for i in 0..n {
            let p = self.pending[i];
            if !p.is_nan() {
                eng.bar(i, &Bar::tick(ts, p), &mut NoStrategy);
            }
        }
        eng.end_step(&mut NoStrategy);
        Ok(())
    }

    /// Runs one step: each symbol's bar `(open, high, low, close[, volume])` along the intrabar
    /// path (a symbol left out has no bar this step), then records a history row.
    fn step(
        &mut self,
        py: Python<'_>,
        timestamp: &Bound<'_, PyAny>,
        bars: &Bound<'_, PyDict>,
    ) -> PyResult<()> {
        let ts = timestamp_ns(py, timestamp, "timestamp")?;
        self.check_time(py, ts)?;
        let mut parsed: Vec<(usize, Bar)> = Vec::with_capacity(bars.len());
        for (k, v) in bars.iter() {
            let i = self.lookup(py, &k)?;
            let sym = self.acc().instruments()[i].symbol.clone();
            let vals: Vec<f64> = v.extract().map_err(|_| {
                invalid(
                    py,
                    "bars",
                    format!("bar of {sym} must be (open, high, low, close[, volume])"),
                )
            })?;
            if !(4..=5).contains(&vals.len()) {
                return Err(invalid(
                    py,
                    "bars",
                    format!("bar of {sym} must be (open, high, low, close[, volume])"),
                ));
            }
            let mut bar = Bar::ohlc(ts, vals[0], vals[1], vals[2], vals[3]);
            if vals.len() == 5 {
                bar.volume = vals[4];
            }
            let t = [ts];
            let series = BarSeries {
                ts: &t,
                open: &vals[0..1],
                high: &vals[1..2],
                low: &vals[2..3],
                close: &vals[3..4],
                volume: None,
                mark: None,
            };
            series.validate().map_err(|mut e| {
                e.message = format!("bar of {sym}: {}", e.message);
                to_py(py, e)
            })?;
            parsed.push((i, bar));
        }
        self.last_ts = Some(ts);
        let eng = &mut self.engine;
        eng.begin_step(ts, &mut NoStrategy);
        parsed.sort_by_key(|(i, _)| *i);
        for (i, bar) in &parsed {
            eng.bar(*i, bar, &mut NoStrategy);
        }
        eng.end_step(&mut NoStrategy);
        Ok(())
    }

    /// Runs whole columnar series (one tuple of arrays per symbol, in symbol order) with the
    /// GIL released; the arrays are borrowed, not copied.
    fn _run(&mut self, py: Python<'_>, data: Vec<RunColumns<'_>>) -> PyResult<()> {
        let inputs = inputs_of(py, self.acc().len(), &data)?;
        self.run_with(py, &inputs, &[], &mut NoStrategy)
    }

    /// Runs whole columnar series with a built-in strategy (`spec`: a dict with `kind` and its
    /// parameters); returns the strategy's own figures.
    fn _run_strategy<'py>(
        &mut self,
        py: Python<'py>,
        data: Vec<RunColumns<'_>>,
        spec: &Bound<'py, PyDict>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let inputs = inputs_of(py, self.acc().len(), &data)?;
        let mut strat = crate::strategies::build(py, spec, self.acc(), &inputs)?;
        let clock: Vec<i64> = match spec.get_item("clock")? {
            Some(c) if !c.is_none() => c.extract()?,
            _ => Vec::new(),
        };
        self.run_with(py, &inputs, &clock, &mut strat)?;
        crate::strategies::report(py, &strat, self.acc())
    }

    /// Applies funding on `symbol` at `rate` and `mark_price`; returns the amount received
    /// (negative when paid).
    fn apply_funding(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        rate: f64,
        mark_price: f64,
    ) -> PyResult<f64> {
        let i = self.lookup(py, symbol)?;
        let ts = self.last_ts.unwrap_or(0);
        self.engine.funding(i, ts, rate, mark_price).py(py)
    }

    /// Moves `amount` into the wallet (a deposit) or, negative, out of it (a withdrawal of at most
    /// min(wallet, available balance)).
    fn transfer(&mut self, py: Python<'_>, amount: f64) -> PyResult<()> {
        self.engine.account_mut().transfer(amount).py(py)
    }

    /// Delivery settlement of `symbol` at `price` (closes the position, expires its orders).
    fn settle(&mut self, py: Python<'_>, symbol: &Bound<'_, PyAny>, price: f64) -> PyResult<()> {
        let i = self.lookup(py, symbol)?;
        self.engine.settle(i, price, &mut NoStrategy).py(py)
    }

    /// Liquidation price of `symbol`'s position (NaN when flat or when no price liquidates it).
    fn liquidation_price(&self, py: Python<'_>, symbol: &Bound<'_, PyAny>) -> PyResult<f64> {
        let i = self.lookup(py, symbol)?;
        Ok(self.acc().liquidation_price(i).unwrap_or(f64::NAN))
    }

    /// Sets the leverage of `symbol`.
    fn set_leverage(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        leverage: f64,
    ) -> PyResult<()> {
        let i = self.lookup(py, symbol)?;
        self.engine.account_mut().set_leverage(i, leverage).py(py)
    }

    /// Sets the margin mode of `symbol` ("cross" or "isolated"; only while flat).
    fn set_margin_mode(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        mode: &str,
    ) -> PyResult<()> {
        let i = self.lookup(py, symbol)?;
        let m = parse_mode(py, mode)?;
        self.engine.account_mut().set_margin_mode(i, m).py(py)
    }

    /// A snapshot of `symbol`'s position.
    fn position(&self, py: Python<'_>, symbol: &Bound<'_, PyAny>) -> PyResult<PyPosition> {
        let i = self.lookup(py, symbol)?;
        Ok(PyPosition::new(
            py,
            self.names[i].clone_ref(py),
            self.acc(),
            i,
        ))
    }

    /// A snapshot of the account's figures.
    #[getter]
    fn account(&self) -> PyAccountInfo {
        PyAccountInfo::new(self.acc())
    }

    /// Number of history rows.
    #[getter]
    fn n_updates(&self) -> usize {
        self.engine.history().len()
    }

    /// The history as (timestamps int64 ns array, float64 matrix of shape (columns, rows), column
    /// names): one allocation filled column by column, which pandas wraps (transposed) without
    /// copying.
    fn _history_arrays<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Vec<&'static str>)> {
        let h = self.engine.history();
        let ts = h.timestamp.clone().into_pyarray(py).into_any();
        let cols = h.columns();
        let (n, k) = (h.len(), cols.len());
        let mut flat = Vec::with_capacity(n * k);
        // Huge pages for the fresh buffer: on first touch, a few faults instead of one per 4 KiB.
        perpsim_engine::memory::advise_huge(&mut flat);
        for c in &cols {
            flat.extend_from_slice(c);
        }
        let m = numpy::ndarray::Array2::from_shape_vec((k, n), flat)
            .map_err(|e| invalid(py, "history", e.to_string()))?;
        Ok((
            ts,
            m.into_pyarray(py).into_any(),
            perpsim_engine::record::EQUITY_COLUMNS.to_vec(),
        ))
    }

    /// The fills as a dict of columns.
    fn _fill_columns<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let f = self.engine.fills();
        let mut c = Columns::new(py);
        c.num("timestamp", f.iter().map(|r| r.ts))?;
        c.obj(
            "symbol",
            f.iter().map(|r| self.names[r.symbol].clone_ref(py)),
        )?;
        c.num("order_id", f.iter().map(|r| r.order_id))?;
        c.obj(
            "side",
            f.iter().map(|r| if r.side > 0 { "buy" } else { "sell" }),
        )?;
        c.num("qty", f.iter().map(|r| r.qty))?;
        c.num("price", f.iter().map(|r| r.price))?;
        c.num("fee", f.iter().map(|r| r.fee))?;
        c.obj(
            "liquidity",
            f.iter().map(|r| if r.maker { "maker" } else { "taker" }),
        )?;
        c.num("realized_pnl", f.iter().map(|r| r.realized))?;
        c.num("position", f.iter().map(|r| r.position))?;
        c.num("entry_price", f.iter().map(|r| r.entry))?;
        c.obj("reason", f.iter().map(|r| r.reason.name()))?;
        Ok(c.dict)
    }

    /// The orders log as a dict of columns.
    fn _order_columns<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let o = self.engine.orders();
        let mut c = Columns::new(py);
        c.num("order_id", o.iter().map(|r| r.id))?;
        c.num("placed", o.iter().map(|r| r.placed))?;
        c.num("updated", o.iter().map(|r| r.updated))?;
        c.obj(
            "symbol",
            o.iter().map(|r| self.names[r.symbol].clone_ref(py)),
        )?;
        c.obj("type", o.iter().map(|r| r.kind.name()))?;
        c.obj("side", o.iter().map(|r| r.side.name()))?;
        c.num("price", o.iter().map(|r| r.price))?;
        c.num("trigger", o.iter().map(|r| r.trigger))?;
        c.num("qty", o.iter().map(|r| r.qty))?;
        c.num("filled", o.iter().map(|r| r.filled))?;
        c.num("avg_price", o.iter().map(|r| r.avg_price))?;
        c.obj("status", o.iter().map(|r| r.status.name()))?;
        c.obj("reason", o.iter().map(|r| r.reason.as_str()))?;
        c.obj("reduce_only", o.iter().map(|r| r.reduce_only))?;
        c.obj("post_only", o.iter().map(|r| r.post_only))?;
        Ok(c.dict)
    }

    /// The funding payments as a dict of columns.
    fn _funding_columns<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let f = self.engine.funding_rows();
        let mut c = Columns::new(py);
        c.num("timestamp", f.iter().map(|r| r.ts))?;
        c.obj(
            "symbol",
            f.iter().map(|r| self.names[r.symbol].clone_ref(py)),
        )?;
        c.num("rate", f.iter().map(|r| r.rate))?;
        c.num("mark_price", f.iter().map(|r| r.mark))?;
        c.num("position", f.iter().map(|r| r.position))?;
        c.num("payment", f.iter().map(|r| r.payment))?;
        Ok(c.dict)
    }

    /// The whole state as bytes (for pickling).
    fn __getstate__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let s = State {
            engine: self.engine.clone(),
            last_ts: self.last_ts,
        };
        let bytes = bincode::serialize(&s).map_err(|e| invalid(py, "state", e.to_string()))?;
        Ok(PyBytes::new(py, &bytes))
    }
}

/// A dict of record columns: numbers as numpy arrays, anything else as lists.
pub(crate) struct Columns<'py> {
    py: Python<'py>,
    dict: Bound<'py, PyDict>,
}

impl<'py> Columns<'py> {
    pub(crate) fn new(py: Python<'py>) -> Self {
        Self {
            py,
            dict: PyDict::new(py),
        }
    }

    /// The columns as a dict.
    pub(crate) fn into_dict(self) -> Bound<'py, PyDict> {
        self.dict
    }

    pub(crate) fn num<T: numpy::Element>(
        &mut self,
        name: &str,
        it: impl Iterator<Item = T>,
    ) -> PyResult<()> {
        self.dict
            .set_item(name, it.collect::<Vec<T>>().into_pyarray(self.py))
    }

    fn obj<T: pyo3::IntoPyObject<'py>>(
        &mut self,
        name: &str,
        it: impl ExactSizeIterator<Item = T>,
    ) -> PyResult<()> {
        self.dict.set_item(name, PyList::new(self.py, it)?)
    }
}

/// Borrows the columns of `data` as engine inputs (no copy).
pub(crate) fn inputs_of<'a>(
    py: Python<'_>,
    n: usize,
    data: &'a [RunColumns<'_>],
) -> PyResult<Vec<SymbolInput<'a>>> {
    if data.len() != n {
        return Err(invalid(
            py,
            "data",
            format!("{} symbols of data for {n} contracts", data.len()),
        ));
    }
    let slice_err = |py: Python<'_>| invalid(py, "data", "arrays must be contiguous");
    let mut inputs: Vec<SymbolInput<'a>> = Vec::with_capacity(n);
    for d in data {
        let funding = match (&d.7, &d.8) {
            (Some(t), Some(r)) => Some(Series {
                ts: t.as_slice().map_err(|_| slice_err(py))?,
                values: r.as_slice().map_err(|_| slice_err(py))?,
            }),
            _ => None,
        };
        inputs.push(SymbolInput {
            bars: BarSeries {
                ts: d.0.as_slice().map_err(|_| slice_err(py))?,
                open: d.1.as_slice().map_err(|_| slice_err(py))?,
                high: d.2.as_slice().map_err(|_| slice_err(py))?,
                low: d.3.as_slice().map_err(|_| slice_err(py))?,
                close: d.4.as_slice().map_err(|_| slice_err(py))?,
                volume: d
                    .5
                    .as_ref()
                    .map(|a| a.as_slice())
                    .transpose()
                    .map_err(|_| slice_err(py))?,
                mark: d
                    .6
                    .as_ref()
                    .map(|a| a.as_slice())
                    .transpose()
                    .map_err(|_| slice_err(py))?,
            },
            funding,
            settlement_price: d.9,
        });
    }
    Ok(inputs)
}

impl PyExchange {
    fn run_with<S: perpsim_engine::Strategy + Send>(
        &mut self,
        py: Python<'_>,
        inputs: &[SymbolInput<'_>],
        clock: &[i64],
        strat: &mut S,
    ) -> PyResult<()> {
        let first_clock = clock.first();
        if let Some(first) = inputs
            .iter()
            .filter_map(|s| s.bars.ts.first())
            .chain(first_clock)
            .min()
        {
            self.check_time(py, *first)?;
        }
        let engine = &mut self.engine;
        let res = py.detach(|| run_clocked(engine, inputs, clock, strat));
        res.py(py)?;
        if let Some(&t) = self.engine.history().timestamp.last() {
            self.last_ts = Some(t);
        }
        Ok(())
    }

    fn protect(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        trigger: f64,
        qty: Option<f64>,
        kind: OrderKind,
    ) -> PyResult<u64> {
        let i = self.lookup(py, symbol)?;
        let field = if kind == OrderKind::TakeProfit {
            "take_profit"
        } else {
            "stop_loss"
        };
        perpsim_engine::error::positive("trigger", trigger).py(py)?;
        let side = self.closing(py, i, field)?;
        let mut r = OrderRequest::new(i, side, kind, qty.unwrap_or(0.0));
        r.trigger = trigger;
        r.reduce_only = true;
        r.close_position = qty.is_none();
        self.place(py, r)
    }
}

//! `perpsim._core.Exchange`: the step-driven account for Python strategies and embedding. Thin: it
//! converts arguments, calls the engine's `Account` and maps errors.

use numpy::IntoPyArray;
use perpsim_engine::{Account, EquityHistory, Instrument, LedgerError, Liquidity, MarginMode};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use serde::{Deserialize, Serialize};

use crate::convert::{contract, timestamp_ns};
use crate::errors::{invalid, to_py, IntoPyResult};
use crate::records::{PyAccountInfo, PyFill, PyPosition};

/// Everything an exchange holds, for pickling.
#[derive(Serialize, Deserialize)]
struct State {
    acc: Account,
    history: EquityHistory,
    last_ts: Option<i64>,
}

/// A step-driven exchange account (see `perpsim.Exchange` for the documented Python API).
#[pyclass(module = "perpsim._core", name = "Exchange", subclass)]
pub struct PyExchange {
    acc: Account,
    history: EquityHistory,
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

impl PyExchange {
    fn from_parts(
        py: Python<'_>,
        acc: Account,
        history: EquityHistory,
        last_ts: Option<i64>,
    ) -> Self {
        let names = acc
            .instruments()
            .iter()
            .map(|i| PyString::intern(py, &i.symbol).unbind())
            .collect();
        let pending = vec![f64::NAN; acc.len()];
        Self {
            acc,
            history,
            last_ts,
            names,
            pending,
        }
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
        let f = self.acc.market(i, sign * qty, price).py(py)?;
        Ok(PyFill::new(py, self.names[i].clone_ref(py), &f))
    }
}

#[pymethods]
impl PyExchange {
    #[new]
    #[pyo3(signature = (contracts=None, initial_balance=10_000.0, leverage=None, maker_fee=None, taker_fee=None, margin_mode="cross", *, _state=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        contracts: Option<&Bound<'_, PyAny>>,
        initial_balance: f64,
        leverage: Option<f64>,
        maker_fee: Option<f64>,
        taker_fee: Option<f64>,
        margin_mode: &str,
        _state: Option<&[u8]>,
    ) -> PyResult<Self> {
        if let Some(bytes) = _state {
            let s: State = bincode::deserialize(bytes)
                .map_err(|e| invalid(py, "state", format!("cannot restore an Exchange: {e}")))?;
            return Ok(Self::from_parts(py, s.acc, s.history, s.last_ts));
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
        // Default leverage: 20x, capped by each contract's maximum; spot trades at 1x.
        let n = insts.len();
        let lev_for = |inst: &Instrument| match leverage {
            Some(l) => l,
            None if inst.kind == perpsim_engine::ContractKind::Spot => 1.0,
            None => inst.brackets.max_leverage().min(20.0),
        };
        let levs: Vec<f64> = insts.iter().map(lev_for).collect();
        let mut acc = Account::new(insts, initial_balance, 1.0).py(py)?;
        for (i, &lev) in levs.iter().enumerate().take(n) {
            acc.set_leverage(i, lev).py(py)?;
            acc.set_margin_mode(i, mode).py(py)?;
        }
        Ok(Self::from_parts(py, acc, EquityHistory::default(), None))
    }

    /// Symbols, in the order given.
    #[getter]
    fn symbols(&self, py: Python<'_>) -> Vec<Py<PyString>> {
        self.names.iter().map(|n| n.clone_ref(py)).collect()
    }

    /// Whether the account settles in coin (inverse contracts).
    #[getter]
    fn is_inverse(&self) -> bool {
        self.acc.is_inverse()
    }

    /// The settlement asset (e.g. "USDT" or "BTC").
    #[getter]
    fn settle_asset(&self) -> String {
        self.acc.instruments()[0].settle_asset.clone()
    }

    /// Market buy of `qty` at `price` (taker fee).
    fn buy(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        price: f64,
        qty: f64,
    ) -> PyResult<PyFill> {
        self.trade(py, symbol, price, qty, 1.0)
    }

    /// Market sell of `qty` at `price` (taker fee).
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
        let q = self.acc.position(i).qty;
        if q == 0.0 {
            perpsim_engine::error::positive("price", price).py(py)?;
            return Ok(None);
        }
        let f = self.acc.fill(i, -q, price, Liquidity::Taker).py(py)?;
        Ok(Some(PyFill::new(py, self.names[i].clone_ref(py), &f)))
    }

    /// Marks every symbol from `prices` (a mapping symbol → price; NaN keeps the last price; a
    /// plain number for a one-symbol exchange) and appends a row to the history.
    fn update(
        &mut self,
        py: Python<'_>,
        timestamp: &Bound<'_, PyAny>,
        prices: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let ts = timestamp_ns(py, timestamp, "timestamp")?;
        if let Some(last) = self.last_ts {
            if ts < last {
                return Err(invalid(
                    py,
                    "timestamp",
                    format!("{ts} is earlier than the previous update {last}"),
                ));
            }
        }
        self.pending.iter_mut().for_each(|p| *p = f64::NAN);
        let check = |py: Python<'_>, sym: &str, p: f64| -> PyResult<()> {
            if p.is_nan() || (p.is_finite() && p > 0.0) {
                Ok(())
            } else {
                Err(invalid(
                    py,
                    "prices",
                    format!("price of {sym} must be a finite number > 0 or NaN, got {p}"),
                ))
            }
        };
        if let Ok(d) = prices.cast::<PyDict>() {
            for (k, v) in d.iter() {
                let i = self.lookup(py, &k)?;
                let p: f64 = v.extract().map_err(|_| {
                    invalid(
                        py,
                        "prices",
                        format!(
                            "price of {} is not a number",
                            self.acc.instruments()[i].symbol
                        ),
                    )
                })?;
                check(py, &self.acc.instruments()[i].symbol, p)?;
                self.pending[i] = p;
            }
        } else if let Ok(p) = prices.extract::<f64>() {
            if self.acc.len() != 1 {
                return Err(invalid(py, "prices", "a plain number is only accepted for a one-symbol exchange; pass a mapping symbol -> price"));
            }
            check(py, &self.acc.instruments()[0].symbol, p)?;
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
                check(py, &self.acc.instruments()[i].symbol, v)?;
                self.pending[i] = v;
            }
        }
        for i in 0..self.acc.len() {
            let p = self.pending[i];
            if !p.is_nan() {
                self.acc.mark(i, p).py(py)?;
            }
        }
        self.last_ts = Some(ts);
        self.history.push(ts, &self.acc);
        Ok(())
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
        self.acc.apply_funding(i, rate, mark_price).py(py)
    }

    /// Liquidation price of `symbol`'s position (NaN when flat or when no price liquidates it).
    fn liquidation_price(&self, py: Python<'_>, symbol: &Bound<'_, PyAny>) -> PyResult<f64> {
        let i = self.lookup(py, symbol)?;
        Ok(self.acc.liquidation_price(i).unwrap_or(f64::NAN))
    }

    /// Sets the leverage of `symbol`.
    fn set_leverage(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        leverage: f64,
    ) -> PyResult<()> {
        let i = self.lookup(py, symbol)?;
        self.acc.set_leverage(i, leverage).py(py)
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
        self.acc.set_margin_mode(i, m).py(py)
    }

    /// A snapshot of `symbol`'s position.
    fn position(&self, py: Python<'_>, symbol: &Bound<'_, PyAny>) -> PyResult<PyPosition> {
        let i = self.lookup(py, symbol)?;
        Ok(PyPosition::new(
            py,
            self.names[i].clone_ref(py),
            &self.acc,
            i,
        ))
    }

    /// A snapshot of the account's figures.
    #[getter]
    fn account(&self) -> PyAccountInfo {
        PyAccountInfo::new(&self.acc)
    }

    /// Number of history rows.
    #[getter]
    fn n_updates(&self) -> usize {
        self.history.len()
    }

    /// The history as (timestamps int64 ns array, {column: float64 array}).
    fn _history_arrays<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyDict>)> {
        let ts = self.history.timestamp.clone().into_pyarray(py).into_any();
        let d = PyDict::new(py);
        for (name, col) in perpsim_engine::record::EQUITY_COLUMNS
            .iter()
            .zip(self.history.columns())
        {
            d.set_item(name, col.clone().into_pyarray(py))?;
        }
        Ok((ts, d))
    }

    /// The whole state as bytes (for pickling).
    fn __getstate__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let s = State {
            acc: self.acc.clone(),
            history: self.history.clone(),
            last_ts: self.last_ts,
        };
        let bytes = bincode::serialize(&s).map_err(|e| invalid(py, "state", e.to_string()))?;
        Ok(PyBytes::new(py, &bytes))
    }
}

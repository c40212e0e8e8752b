//! `Exchange` construction, its properties and settings, and pickling.

use perpsim_engine::ledger::FeeTiers;
use perpsim_engine::{Account, Engine, Instrument, MarginMode, Named, PositionMode, PositionSide};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use super::{PyExchange, State};
use crate::convert::{contract, Choice};
use crate::errors::{invalid, IntoPyResult};
use crate::options::{config_of, num, options_dict};
use crate::records::{PyAccountInfo, PyPosition};

#[pymethods]
impl PyExchange {
    #[new]
    #[pyo3(signature = (contracts=None, initial_balance=None, leverage=None, maker_fee=None, taker_fee=None,
        margin_mode=None, *, position_mode=None, fee_tiers=None, _state=None, **options))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        contracts: Option<&Bound<'_, PyAny>>,
        initial_balance: Option<&Bound<'_, PyAny>>,
        leverage: Option<&Bound<'_, PyAny>>,
        maker_fee: Option<&Bound<'_, PyAny>>,
        taker_fee: Option<&Bound<'_, PyAny>>,
        margin_mode: Option<Choice<MarginMode>>,
        position_mode: Option<Choice<PositionMode>>,
        fee_tiers: Option<&Bound<'_, PyAny>>,
        _state: Option<&[u8]>,
        options: Option<&Bound<'_, PyDict>>,
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
        let opt = |name: &str, v: Option<&Bound<'_, PyAny>>| -> PyResult<Option<f64>> {
            v.filter(|v| !v.is_none())
                .map(|v| num(py, name, v))
                .transpose()
        };
        let (maker_fee, taker_fee) = (opt("maker_fee", maker_fee)?, opt("taker_fee", taker_fee)?);
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
        let mode = margin_mode.map_or(MarginMode::Cross, |m| m.0);
        let leverage = opt("leverage", leverage)?;
        let levs: Vec<f64> = insts
            .iter()
            .map(|i| leverage.unwrap_or_else(|| i.default_leverage()))
            .collect();
        let balance = opt("initial_balance", initial_balance)?.unwrap_or(10_000.0);
        let mut acc = Account::new(insts, balance, 1.0).py(py)?;
        for (i, &lev) in levs.iter().enumerate() {
            acc.set_leverage(i, lev).py(py)?;
            acc.set_margin_mode(i, mode).py(py)?;
        }
        if let Some(m) = position_mode {
            acc.set_position_mode(m.0).py(py)?;
        }
        if let Some(t) = fee_tiers.filter(|t| !t.is_none()) {
            acc.set_fee_tiers(Some(fee_tiers_of(py, t)?));
        }
        let config = config_of(py, options)?;
        let engine = Engine::new(acc, config).py(py)?;
        Ok(Self::from_parts(py, engine, None))
    }

    /// Symbols, in the order given.
    #[getter]
    fn symbols(&self, py: Python<'_>) -> Vec<Py<PyString>> {
        self.names.iter().map(|n| n.clone_ref(py)).collect()
    }

    /// The run options (path, slippage, ..., record) as a dict.
    #[getter]
    fn options<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        options_dict(py, self.eng(py)?.config())
    }

    /// Whether the account settles in coin (inverse contracts).
    #[getter]
    fn is_inverse(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.acc(py)?.is_inverse())
    }

    /// The settlement asset (e.g. "USDT" or "BTC").
    #[getter]
    fn settle_asset(&self, py: Python<'_>) -> PyResult<String> {
        Ok(self.acc(py)?.instruments()[0].settle_asset.clone())
    }

    /// Whether a liquidation blew the account (it no longer trades).
    #[getter]
    fn blown(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.eng(py)?.blown())
    }

    /// When the first liquidation happened (ns), or None.
    #[getter]
    fn liquidated_at(&self, py: Python<'_>) -> PyResult<Option<i64>> {
        Ok(self.eng(py)?.liquidated_at())
    }

    /// A snapshot of the account's figures.
    #[getter]
    fn account(&self, py: Python<'_>) -> PyResult<PyAccountInfo> {
        Ok(PyAccountInfo::new(self.acc(py)?))
    }

    /// Number of history rows.
    #[getter]
    fn n_updates(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.eng(py)?.history().len())
    }

    /// A snapshot of `symbol`'s position (in hedge mode, of its `position_side`: "long" or
    /// "short").
    #[pyo3(signature = (symbol, position_side=None))]
    fn position(
        &self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        position_side: Option<Choice<PositionSide>>,
    ) -> PyResult<PyPosition> {
        let i = self.lookup(py, symbol)?;
        let side = position_side.map_or(PositionSide::Both, |s| s.0);
        let acc = self.acc(py)?;
        acc.check_side(side).py(py)?;
        Ok(PyPosition::new(self.names[i].clone_ref(py), acc, i, side))
    }

    /// "one_way" or "hedge".
    #[getter]
    fn position_mode(&self, py: Python<'_>) -> PyResult<&'static str> {
        Ok(self.acc(py)?.position_mode().name())
    }

    /// Whether `symbol` has no bar at the current step of a run: it is not tradable (orders on it
    /// are rejected) and is marked at its last price. Always False outside runs.
    fn is_stale(&self, py: Python<'_>, symbol: &Bound<'_, PyAny>) -> PyResult<bool> {
        let i = self.lookup(py, symbol)?;
        Ok(self.eng(py)?.is_stale(i))
    }

    /// Liquidation price of `symbol`'s position (in hedge mode, of its `position_side`; NaN when
    /// flat or when no price liquidates it).
    #[pyo3(signature = (symbol, position_side=None))]
    fn liquidation_price(
        &self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        position_side: Option<Choice<PositionSide>>,
    ) -> PyResult<f64> {
        let i = self.lookup(py, symbol)?;
        let side = position_side.map_or(PositionSide::Both, |s| s.0);
        let acc = self.acc(py)?;
        acc.check_side(side).py(py)?;
        Ok(acc.liquidation_price_of(i, side).unwrap_or(f64::NAN))
    }

    /// Sets the leverage of `symbol`.
    fn set_leverage(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        leverage: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let i = self.lookup(py, symbol)?;
        let lev = num(py, "leverage", leverage)?;
        self.eng_mut(py)?.account_mut().set_leverage(i, lev).py(py)
    }

    /// Sets the margin mode of `symbol` ("cross" or "isolated"; only while flat).
    fn set_margin_mode(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        mode: Choice<MarginMode>,
    ) -> PyResult<()> {
        let i = self.lookup(py, symbol)?;
        self.eng_mut(py)?
            .account_mut()
            .set_margin_mode(i, mode.0)
            .py(py)
    }

    /// Moves `amount` into the wallet (a deposit) or, negative, out of it (a withdrawal of at most
    /// min(wallet, available balance)).
    fn transfer(&mut self, py: Python<'_>, amount: &Bound<'_, PyAny>) -> PyResult<()> {
        let a = num(py, "amount", amount)?;
        self.eng_mut(py)?.account_mut().transfer(a).py(py)
    }

    /// The whole state as bytes (for pickling).
    fn __getstate__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let s = State {
            engine: self.eng(py)?.clone(),
            last_ts: self.last_ts,
        };
        let bytes = bincode::serialize(&s).map_err(|e| invalid(py, "state", e.to_string()))?;
        Ok(PyBytes::new(py, &bytes))
    }
}

/// A `perpsim.FeeTiers` (its `tiers` and `volume_30d`) as the engine's schedule; a bad one is an
/// `InvalidInputError` naming the field.
pub fn fee_tiers_of(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<FeeTiers> {
    let tiers: Vec<(f64, f64, f64)> =
        obj.getattr("tiers")
            .and_then(|t| t.extract())
            .map_err(|_| {
                invalid(
                    py,
                    "fee_tiers",
                    "a perpsim.FeeTiers: tiers of (30-day volume, maker rate, taker rate)",
                )
            })?;
    let v = crate::options::num(py, "volume_30d", &obj.getattr("volume_30d")?)?;
    FeeTiers::new(&tiers, v).py(py)
}

/// Checks a fee schedule (what `perpsim.FeeTiers` runs when it is built).
#[pyfunction]
pub fn check_fee_tiers(py: Python<'_>, tiers: &Bound<'_, PyAny>) -> PyResult<()> {
    fee_tiers_of(py, tiers).map(|_| ())
}

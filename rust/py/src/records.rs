//! Small frozen snapshot classes returned to Python: a fill, a position, the account.

use perpsim_engine::{Account, FillRow, Named, PositionSide};
use pyo3::prelude::*;
use pyo3::types::PyString;

/// One fill: symbol, signed qty, price, fee, realized PnL, position and entry after, liquidity,
/// reason, and the step's time. Attributes, or items (`fill["price"]`) as in a fills table row.
#[pyclass(module = "perpsim._core", name = "Fill", frozen)]
pub struct PyFill {
    /// Symbol.
    #[pyo3(get)]
    pub symbol: Py<PyString>,
    /// Id of the order that filled.
    #[pyo3(get)]
    pub order_id: u64,
    /// Signed quantity (positive buy).
    #[pyo3(get)]
    pub qty: f64,
    /// Fill price.
    #[pyo3(get)]
    pub price: f64,
    /// Fee charged (settlement currency).
    #[pyo3(get)]
    pub fee: f64,
    /// PnL realized by the fill.
    #[pyo3(get)]
    pub realized_pnl: f64,
    /// Signed position after the fill.
    #[pyo3(get)]
    pub position: f64,
    /// Entry price after the fill (0 when flat).
    #[pyo3(get)]
    pub entry_price: f64,
    /// "maker" or "taker".
    #[pyo3(get)]
    pub liquidity: &'static str,
    /// Why: user, stop, tp, sl, trailing, liquidation, settlement, ...
    #[pyo3(get)]
    pub reason: &'static str,
    /// The step's time (ns).
    ts: i64,
}

impl PyFill {
    /// Wraps a recorded fill of symbol `symbol`.
    pub fn from_row(symbol: Py<PyString>, f: &FillRow) -> Self {
        Self {
            symbol,
            order_id: f.order_id,
            qty: f.side as f64 * f.qty,
            price: f.price,
            fee: f.fee,
            realized_pnl: f.realized,
            position: f.position,
            entry_price: f.entry,
            liquidity: if f.maker { "maker" } else { "taker" },
            reason: f.reason.name(),
            ts: f.ts,
        }
    }
}

#[pymethods]
impl PyFill {
    /// "buy" or "sell".
    #[getter]
    fn side(&self) -> &'static str {
        if self.qty >= 0.0 {
            "buy"
        } else {
            "sell"
        }
    }

    /// The step's time (a UTC `pandas.Timestamp`; None for a fill outside any step).
    #[getter]
    fn timestamp<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::stats::timestamp(py, (self.ts != i64::MIN).then_some(self.ts))
    }

    /// `fill[name]`: the attribute `name`.
    fn __getitem__<'py>(slf: &Bound<'py, Self>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        slf.getattr(name)
            .map_err(|_| pyo3::exceptions::PyKeyError::new_err(name.to_string()))
    }

    fn __repr__(&self) -> String {
        format!(
            "Fill(symbol={}, order_id={}, qty={}, price={}, fee={}, realized_pnl={}, position={}, entry_price={}, liquidity='{}', reason='{}')",
            self.symbol, self.order_id, self.qty, self.price, self.fee, self.realized_pnl, self.position, self.entry_price, self.liquidity, self.reason
        )
    }
}

/// A position snapshot.
#[pyclass(module = "perpsim._core", name = "Position", frozen, get_all)]
pub struct PyPosition {
    /// Symbol.
    pub symbol: Py<PyString>,
    /// Signed quantity (long > 0).
    pub qty: f64,
    /// Average entry price (harmonic for inverse); 0 when flat.
    pub entry_price: f64,
    /// Last mark price (NaN before any price).
    pub mark_price: f64,
    /// Notional at the mark (settlement currency).
    pub notional: f64,
    /// Unrealized PnL at the mark.
    pub unrealized_pnl: f64,
    /// Realized PnL of this symbol.
    pub realized_pnl: f64,
    /// Fees paid on this symbol.
    pub fees: f64,
    /// Funding received on this symbol (negative when paid).
    pub funding: f64,
    /// Initial margin: notional at entry / leverage.
    pub margin: f64,
    /// Maintenance margin at the mark.
    pub maintenance_margin: f64,
    /// Leverage setting.
    pub leverage: f64,
    /// Liquidation price (NaN when none).
    pub liquidation_price: f64,
    /// "cross" or "isolated".
    pub margin_mode: &'static str,
    /// "both" (one-way mode), or "long" or "short" (hedge mode).
    pub position_side: &'static str,
}

impl PyPosition {
    /// Snapshot of symbol `i`'s position on `side` of `acc` (`side` fits the account's mode).
    pub fn new(symbol: Py<PyString>, acc: &Account, i: usize, side: PositionSide) -> Self {
        let p = acc.leg(i, side);
        let f = acc.leg_figures(i, side);
        Self {
            symbol,
            qty: p.qty,
            entry_price: p.entry,
            mark_price: acc.mark_price(i).unwrap_or(f64::NAN),
            notional: f.notional,
            unrealized_pnl: f.unrealized,
            realized_pnl: p.realized,
            fees: p.fees,
            funding: p.funding,
            margin: f.margin,
            maintenance_margin: f.maintenance,
            leverage: acc.leverage(i),
            liquidation_price: acc.liquidation_price_of(i, side).unwrap_or(f64::NAN),
            margin_mode: acc.margin_mode(i).name(),
            position_side: side.name(),
        }
    }
}

#[pymethods]
impl PyPosition {
    fn __repr__(&self) -> String {
        format!(
            "Position(symbol={}, position_side={}, qty={}, entry_price={}, mark_price={}, unrealized_pnl={}, realized_pnl={}, fees={}, funding={}, margin={}, liquidation_price={})",
            self.symbol, self.position_side, self.qty, self.entry_price, self.mark_price, self.unrealized_pnl, self.realized_pnl, self.fees, self.funding, self.margin, self.liquidation_price
        )
    }
}

/// An account snapshot (settlement currency; `equity_quote` in quote at the first symbol's mark).
#[pyclass(module = "perpsim._core", name = "AccountInfo", frozen, get_all)]
pub struct PyAccountInfo {
    /// Settlement asset.
    pub settle_asset: String,
    /// initial + realized − fees + funding + transfers.
    pub wallet_balance: f64,
    /// wallet + unrealized.
    pub equity: f64,
    /// Σ initial margin.
    pub margin: f64,
    /// Σ maintenance margin.
    pub maintenance_margin: f64,
    /// equity − margin.
    pub available_balance: f64,
    /// Σ unrealized PnL.
    pub unrealized_pnl: f64,
    /// Σ realized PnL.
    pub realized_pnl: f64,
    /// Σ fees.
    pub fees: f64,
    /// Σ funding received.
    pub funding: f64,
    /// Σ notional at mark.
    pub notional: f64,
    /// Σ notional / equity.
    pub effective_leverage: f64,
    /// Equity in quote (inverse: equity × mark of the first symbol; linear: equity).
    pub equity_quote: f64,
    /// Σ traded notional.
    pub volume: f64,
    /// Number of fills.
    pub fills: u64,
    /// Σ transfers in (deposits − withdrawals).
    pub transfers: f64,
}

impl PyAccountInfo {
    /// Snapshot of `acc`.
    pub fn new(acc: &Account) -> Self {
        let equity = acc.equity();
        Self {
            settle_asset: acc.instruments()[0].settle_asset.clone(),
            wallet_balance: acc.wallet_balance(),
            equity,
            margin: acc.initial_margin(),
            maintenance_margin: acc.maintenance_margin(),
            available_balance: acc.available_balance(),
            unrealized_pnl: acc.unrealized(),
            realized_pnl: acc.realized_pnl(),
            fees: acc.fees(),
            funding: acc.funding(),
            notional: acc.notional(),
            effective_leverage: acc.effective_leverage(),
            equity_quote: if acc.is_inverse() {
                equity * acc.mark_price(0).unwrap_or(f64::NAN)
            } else {
                equity
            },
            volume: acc.volume(),
            fills: acc.fill_count(),
            transfers: acc.transfers(),
        }
    }
}

#[pymethods]
impl PyAccountInfo {
    fn __repr__(&self) -> String {
        format!(
            "AccountInfo(settle_asset='{}', wallet_balance={}, equity={}, margin={}, unrealized_pnl={}, realized_pnl={}, fees={}, funding={}, effective_leverage={})",
            self.settle_asset, self.wallet_balance, self.equity, self.margin, self.unrealized_pnl, self.realized_pnl, self.fees, self.funding, self.effective_leverage
        )
    }
}

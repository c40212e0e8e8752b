//! Columnar records: the equity history, one row per step, as struct-of-arrays.

use serde::{Deserialize, Serialize};

use crate::ledger::Account;

/// The account's figures at each recorded step, column by column.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EquityHistory {
    /// Step timestamps (ns since the epoch).
    pub timestamp: Vec<i64>,
    /// Equity (margin balance).
    pub equity: Vec<f64>,
    /// Wallet balance.
    pub wallet_balance: Vec<f64>,
    /// Σ initial margin.
    pub margin: Vec<f64>,
    /// Σ realized PnL.
    pub realized_pnl: Vec<f64>,
    /// Σ unrealized PnL.
    pub unrealized_pnl: Vec<f64>,
    /// Σ fees.
    pub fees: Vec<f64>,
    /// Σ funding received.
    pub funding: Vec<f64>,
    /// Σ notional / equity.
    pub effective_leverage: Vec<f64>,
    /// Equity in quote at the first symbol's mark (inverse accounts; equals equity otherwise).
    pub equity_quote: Vec<f64>,
}

/// Names of the float columns, in the order [`EquityHistory::columns`] returns them.
pub const EQUITY_COLUMNS: [&str; 9] = [
    "equity",
    "wallet_balance",
    "margin",
    "realized_pnl",
    "unrealized_pnl",
    "fees",
    "funding",
    "effective_leverage",
    "equity_quote",
];

impl EquityHistory {
    /// Appends the account's current figures at `timestamp` (one pass over the symbols).
    #[inline]
    pub fn push(&mut self, timestamp: i64, acc: &Account) {
        let (mut unrealized, mut notional, mut margin) = (0.0, 0.0, 0.0);
        for i in 0..acc.len() {
            if acc.position(i).qty != 0.0 {
                unrealized += acc.position_unrealized(i);
                notional += acc.position_notional(i);
                margin += acc.position_margin(i);
            }
        }
        let wallet = acc.wallet_balance();
        let equity = wallet + unrealized;
        let lev = if notional == 0.0 {
            0.0
        } else if equity > 0.0 {
            notional / equity
        } else {
            f64::INFINITY
        };
        self.timestamp.push(timestamp);
        self.equity.push(equity);
        self.wallet_balance.push(wallet);
        self.margin.push(margin);
        self.realized_pnl.push(acc.realized_pnl());
        self.unrealized_pnl.push(unrealized);
        self.fees.push(acc.fees());
        self.funding.push(acc.funding());
        self.effective_leverage.push(lev);
        let quote = if acc.is_inverse() {
            equity * acc.mark_price(0).unwrap_or(f64::NAN)
        } else {
            equity
        };
        self.equity_quote.push(quote);
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.timestamp.len()
    }

    /// Reserves room for `additional` more rows in every column (and, for long runs, asks the
    /// kernel for huge pages so that filling the columns does not fault on every 4 KiB page).
    pub fn reserve(&mut self, additional: usize) {
        self.timestamp.reserve(additional);
        crate::memory::advise_huge(&mut self.timestamp);
        for c in [
            &mut self.equity,
            &mut self.wallet_balance,
            &mut self.margin,
            &mut self.realized_pnl,
            &mut self.unrealized_pnl,
            &mut self.fees,
            &mut self.funding,
            &mut self.effective_leverage,
            &mut self.equity_quote,
        ] {
            c.reserve(additional);
            crate::memory::advise_huge(c);
        }
    }

    /// Whether no row was recorded.
    pub fn is_empty(&self) -> bool {
        self.timestamp.is_empty()
    }

    /// The float columns in [`EQUITY_COLUMNS`] order.
    pub fn columns(&self) -> [&Vec<f64>; 9] {
        [
            &self.equity,
            &self.wallet_balance,
            &self.margin,
            &self.realized_pnl,
            &self.unrealized_pnl,
            &self.fees,
            &self.funding,
            &self.effective_leverage,
            &self.equity_quote,
        ]
    }
}

/// One fill as recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FillRow {
    /// Step timestamp (ns).
    pub ts: i64,
    /// Symbol index.
    pub symbol: usize,
    /// Order id (liquidations and settlements have their own order records).
    pub order_id: u64,
    /// +1 buy, −1 sell.
    pub side: i8,
    /// Unsigned quantity.
    pub qty: f64,
    /// Fill price.
    pub price: f64,
    /// Fee (settlement currency).
    pub fee: f64,
    /// true: maker.
    pub maker: bool,
    /// Realized PnL.
    pub realized: f64,
    /// Signed position after.
    pub position: f64,
    /// Entry price after (0 when flat).
    pub entry: f64,
    /// Why the fill happened.
    pub reason: FillReason,
}

/// Why a fill happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FillReason {
    /// A user's market or limit order.
    User,
    /// A stop-market or stop-limit order.
    Stop,
    /// A take-profit.
    TakeProfit,
    /// A stop-loss.
    StopLoss,
    /// A trailing stop.
    Trailing,
    /// The liquidation engine.
    Liquidation,
    /// Delivery settlement.
    Settlement,
    /// A grid strategy's order.
    Grid,
    /// A rebalancing strategy's order.
    Rebalance,
    /// Another built-in strategy's order.
    Strategy,
}

impl FillReason {
    /// Lower-case name used in records.
    pub fn name(self) -> &'static str {
        match self {
            FillReason::User => "user",
            FillReason::Stop => "stop",
            FillReason::TakeProfit => "tp",
            FillReason::StopLoss => "sl",
            FillReason::Trailing => "trailing",
            FillReason::Liquidation => "liquidation",
            FillReason::Settlement => "settlement",
            FillReason::Grid => "grid",
            FillReason::Rebalance => "rebalance",
            FillReason::Strategy => "strategy",
        }
    }
}

/// One funding payment as recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FundingRow {
    /// Funding time (ns).
    pub ts: i64,
    /// Symbol index.
    pub symbol: usize,
    /// Rate.
    pub rate: f64,
    /// Mark price used.
    pub mark: f64,
    /// Signed position at the time.
    pub position: f64,
    /// Amount received (negative: paid).
    pub payment: f64,
}

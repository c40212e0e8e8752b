//! The records of a run: fills and funding payments, and why a fill happened.

use serde::{Deserialize, Serialize};

/// One fill as recorded.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
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
    /// The auto-deleveraging model.
    Adl,
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
            FillReason::Adl => "adl",
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

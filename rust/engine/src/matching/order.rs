//! Orders: kinds, sides, statuses, reasons, and the order record kept for the orders log.

use serde::{Deserialize, Serialize};

use crate::ledger::PositionSide;
use crate::record::FillReason;

/// Buy or sell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    /// Buy (+1).
    Buy,
    /// Sell (−1).
    Sell,
}

impl Side {
    /// +1.0 for a buy, −1.0 for a sell.
    #[inline]
    pub fn sign(self) -> f64 {
        match self {
            Side::Buy => 1.0,
            Side::Sell => -1.0,
        }
    }

    /// The side of a signed quantity (positive: buy).
    #[inline]
    pub fn of(qty: f64) -> Self {
        if qty >= 0.0 {
            Side::Buy
        } else {
            Side::Sell
        }
    }
}

impl crate::names::Named for Side {
    const FIELD: &'static str = "side";
    const CHOICES: &'static [(&'static str, Self)] = &[("buy", Side::Buy), ("sell", Side::Sell)];
}

/// Which price fires a trigger order (Binance's `workingType`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkingType {
    /// The last (trade) price: the trade path (Binance's `CONTRACT_PRICE`).
    #[default]
    Last,
    /// The mark price: the mark's own path when the bars have it, else the trade path (which the
    /// mark then follows).
    Mark,
}

impl crate::names::Named for WorkingType {
    const FIELD: &'static str = "working_type";
    const CHOICES: &'static [(&'static str, Self)] = &[("last", Self::Last), ("mark", Self::Mark)];
}

/// What kind of order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderKind {
    /// Fills at once at the current price (± slippage), taker.
    Market,
    /// Rests at its price; maker when it fills from the book.
    Limit,
    /// On trigger, a market order (buy: price rises to the trigger; sell: falls to it).
    StopMarket,
    /// On trigger, a limit order at its limit price.
    StopLimit,
    /// Take-profit on a position, market on trigger (sell: price rises to it; buy: falls to it).
    TakeProfit,
    /// Stop-loss on a position, market on trigger (sell: price falls to it; buy: rises to it).
    StopLoss,
    /// Trailing stop: after activation, triggers when the price retraces `callback` from its extreme.
    TrailingStop,
    /// A forced close by the liquidation engine.
    Liquidation,
    /// A delivery contract's settlement at expiry.
    Settlement,
    /// A position closed by the auto-deleveraging model.
    Deleverage,
}

impl OrderKind {
    /// Lower-case name used in records.
    pub fn name(self) -> &'static str {
        match self {
            OrderKind::Market => "market",
            OrderKind::Limit => "limit",
            OrderKind::StopMarket => "stop_market",
            OrderKind::StopLimit => "stop_limit",
            OrderKind::TakeProfit => "take_profit",
            OrderKind::StopLoss => "stop_loss",
            OrderKind::TrailingStop => "trailing_stop",
            OrderKind::Liquidation => "liquidation",
            OrderKind::Settlement => "settlement",
            OrderKind::Deleverage => "adl",
        }
    }

    /// The reason recorded on this kind's fills (strategies override it with their tag).
    pub fn fill_reason(self) -> FillReason {
        match self {
            OrderKind::Market | OrderKind::Limit => FillReason::User,
            OrderKind::StopMarket | OrderKind::StopLimit => FillReason::Stop,
            OrderKind::TakeProfit => FillReason::TakeProfit,
            OrderKind::StopLoss => FillReason::StopLoss,
            OrderKind::TrailingStop => FillReason::Trailing,
            OrderKind::Liquidation => FillReason::Liquidation,
            OrderKind::Settlement => FillReason::Settlement,
            OrderKind::Deleverage => FillReason::Adl,
        }
    }

    /// For trigger orders: whether the trigger fires when the price rises to it (else falls).
    #[inline]
    pub fn triggers_rising(self, side: Side) -> bool {
        match self {
            OrderKind::TakeProfit => side == Side::Sell,
            _ => side == Side::Buy,
        }
    }

    /// Whether the kind waits for a trigger price.
    #[inline]
    pub fn has_trigger(self) -> bool {
        matches!(
            self,
            OrderKind::StopMarket
                | OrderKind::StopLimit
                | OrderKind::TakeProfit
                | OrderKind::StopLoss
        )
    }
}

/// Where an order stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// Resting (or waiting for its trigger / activation).
    Open,
    /// Completely filled.
    Filled,
    /// Cancelled (by the user, or by the engine: reduce-only with nothing to reduce, a blown account).
    Cancelled,
    /// Refused at placement or at fill time; nothing changed.
    Rejected,
    /// Cancelled by the contract's expiry.
    Expired,
}

impl Status {
    /// Lower-case name used in records.
    pub fn name(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Filled => "filled",
            Status::Cancelled => "cancelled",
            Status::Rejected => "rejected",
            Status::Expired => "expired",
        }
    }
}

/// Why an order ended as it did: one of its log's texts
/// ([`crate::matching::OpenOrders::reason`]); the default is none (open, or filled normally). A
/// number, not the text, so that an order owns no memory and a log of them is emptied at once
/// (decision 145).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonId(pub(crate) u32);

/// One order, as placed and as it ended: the orders log is the list of these.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// Order id (1, 2, …, in placement order).
    pub id: u64,
    /// Symbol index.
    pub symbol: usize,
    /// Buy or sell.
    pub side: Side,
    /// Kind.
    pub kind: OrderKind,
    /// Quantity asked for (0 with `close_position`: the whole position at fill time).
    pub qty: f64,
    /// Quantity filled so far.
    pub filled: f64,
    /// Average fill price (0 before any fill).
    pub avg_price: f64,
    /// Limit price (NaN for market-type orders).
    pub price: f64,
    /// Trigger price of stop/TP/SL orders (NaN otherwise).
    pub trigger: f64,
    /// Trailing: callback rate (fraction).
    pub callback: f64,
    /// Trailing: activation price (NaN: active at once).
    pub activation: f64,
    /// Trailing: the extreme since activation (NaN until activated).
    pub extreme: f64,
    /// May only shrink the position.
    pub reduce_only: bool,
    /// Rejected if it would fill at placement.
    pub post_only: bool,
    /// Closes the whole position at fill time (TP/SL without a quantity).
    pub close_position: bool,
    /// A stop-limit whose trigger fired (now a resting limit).
    pub triggered: bool,
    /// Current status.
    pub status: Status,
    /// Why it ended as it did (none while open or when filled normally; the text is the log's,
    /// [`crate::matching::OpenOrders::reason`]).
    pub reason: ReasonId,
    /// Time placed (ns).
    pub placed: i64,
    /// Time of the last change (ns).
    pub updated: i64,
    /// Time priority (placement order; an amend takes a new one).
    pub seq: u64,
    /// Free tag for strategies (0 for the user).
    pub tag: u32,
    /// What its fills are recorded as (the kind's reason unless a strategy names its own).
    pub fill_reason: FillReason,
    /// Which price fires its trigger (stops, stop-limits, TP, SL).
    #[serde(default)]
    pub working_type: WorkingType,
    /// The position it trades: `Both` in one-way mode, `Long` or `Short` in hedge mode.
    #[serde(default)]
    pub position_side: PositionSide,
}

// An order owns no memory: a log of them is emptied without a pass over it (decision 145).
const _: () = assert!(!std::mem::needs_drop::<Order>());

impl Order {
    /// Quantity still to fill (for close-position orders: unknown until fill time, NaN).
    #[inline]
    pub fn remaining(&self) -> f64 {
        if self.close_position {
            f64::NAN
        } else {
            self.qty - self.filled
        }
    }

    /// Whether the order is resting as a limit (a limit, or a triggered stop-limit).
    #[inline]
    pub fn rests_as_limit(&self) -> bool {
        self.kind == OrderKind::Limit || (self.kind == OrderKind::StopLimit && self.triggered)
    }
}

/// What a user or strategy asks for; the engine fills in ids, times and status.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderRequest {
    /// Symbol index.
    pub symbol: usize,
    /// Buy or sell.
    pub side: Side,
    /// Kind (not Liquidation or Settlement).
    pub kind: OrderKind,
    /// Quantity (0 with `close_position`).
    pub qty: f64,
    /// Limit price (limit and stop-limit).
    pub price: f64,
    /// Trigger price (stop, stop-limit, TP, SL).
    pub trigger: f64,
    /// Trailing callback rate (fraction, e.g. 0.01).
    pub callback: f64,
    /// Trailing activation price (NaN: at once).
    pub activation: f64,
    /// Reduce-only.
    pub reduce_only: bool,
    /// Post-only (limit only).
    pub post_only: bool,
    /// Close the whole position at fill time.
    pub close_position: bool,
    /// Strategy tag.
    pub tag: u32,
    /// The reason its fills are recorded with (None: the kind's own).
    pub reason: Option<FillReason>,
    /// Which price fires its trigger.
    pub working_type: WorkingType,
    /// The position it trades (`Both` in one-way mode; `Long` or `Short` in hedge mode).
    pub position_side: PositionSide,
}

impl OrderRequest {
    /// A request of `kind` with every optional field empty.
    pub fn new(symbol: usize, side: Side, kind: OrderKind, qty: f64) -> Self {
        Self {
            symbol,
            side,
            kind,
            qty,
            price: f64::NAN,
            trigger: f64::NAN,
            callback: f64::NAN,
            activation: f64::NAN,
            reduce_only: false,
            post_only: false,
            close_position: false,
            tag: 0,
            reason: None,
            working_type: WorkingType::Last,
            position_side: PositionSide::Both,
        }
    }

    /// The same request tagged for a strategy: `tag` is kept on the order, fills carry `reason`.
    pub fn tagged(self, tag: u32, reason: FillReason) -> Self {
        Self {
            tag,
            reason: Some(reason),
            ..self
        }
    }

    /// A limit order.
    pub fn limit(symbol: usize, side: Side, price: f64, qty: f64) -> Self {
        Self {
            price,
            ..Self::new(symbol, side, OrderKind::Limit, qty)
        }
    }

    /// A stop-market order.
    pub fn stop(symbol: usize, side: Side, trigger: f64, qty: f64) -> Self {
        Self {
            trigger,
            ..Self::new(symbol, side, OrderKind::StopMarket, qty)
        }
    }
}

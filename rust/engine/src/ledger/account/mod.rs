//! The account: one wallet in one settlement currency shared by the positions of several symbols
//! (cross margin), each of which may be isolated instead. Fills, marks, funding, margin, equity and
//! liquidation prices. Every mutating call validates and computes first and changes the account only
//! when it succeeds: a rejected call leaves the account exactly as it was.

use serde::{Deserialize, Serialize};

use super::fee_tiers::FeeTiers;
use super::position::Position;
use crate::error::{finite, positive, LedgerError};
use crate::instrument::{ContractKind, Instrument};

pub use figures::Marker;
pub use hedge::{LegFigures, PositionMode, PositionSide};

/// Maker (resting order) or taker (market, stop, liquidation) side of a fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Liquidity {
    /// Resting order filled: maker fee.
    Maker,
    /// Market, stop or liquidation fill: taker fee.
    Taker,
    /// A position taken over at its bankruptcy price by the insurance fund: no fee (the margin
    /// is used up to the last unit).
    Bankrupt,
}

/// Margin mode of one symbol's position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MarginMode {
    /// Shares the account's wallet with the other cross positions.
    Cross,
    /// Backed by its own margin (notional at entry / leverage) only.
    Isolated,
}

impl crate::names::Named for MarginMode {
    const FIELD: &'static str = "margin_mode";
    const CHOICES: &'static [(&'static str, Self)] =
        &[("cross", Self::Cross), ("isolated", Self::Isolated)];
}

/// The result of a fill.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fill {
    /// Symbol index.
    pub symbol: usize,
    /// Signed filled quantity (after rounding to the step size).
    pub qty: f64,
    /// Fill price.
    pub price: f64,
    /// Fee charged (settlement currency; negative for a rebate).
    pub fee: f64,
    /// PnL realized by the fill.
    pub realized: f64,
    /// Signed position after the fill.
    pub position: f64,
    /// Entry price after the fill (0 when flat).
    pub entry: f64,
    /// Maker or taker.
    pub liquidity: Liquidity,
}

/// A cross-margined (optionally isolated per symbol) account in one settlement currency.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Account {
    instruments: Vec<Instrument>,
    /// The position of each symbol (the long one in hedge mode).
    positions: Vec<Position>,
    /// Hedge mode only: the short position of each symbol (empty in one-way mode).
    #[serde(default)]
    shorts: Vec<Position>,
    marks: Vec<Option<f64>>,
    leverage: Vec<f64>,
    modes: Vec<MarginMode>,
    initial_balance: f64,
    wallet: f64,
    realized: f64,
    fees: f64,
    funding: f64,
    /// Σ rebates credited.
    #[serde(default)]
    rebates: f64,
    volume: f64,
    fills: u64,
    insurance: f64,
    transfers: f64,
    /// Margin checks on fills that open exposure (off: the what-if ledger books every fill).
    checks: bool,
    /// Fee tiers by 30-day volume, if any: their rates replace every contract's.
    #[serde(default)]
    fee_tiers: Option<FeeTiers>,
}

impl Account {
    /// A new account holding `instruments` (all with the same settlement asset), each at
    /// `leverage` in cross mode, with `initial_balance` (≥ 0; 0 is an empty account funded by
    /// [`Account::transfer`]) in the settlement currency.
    pub fn new(
        instruments: Vec<Instrument>,
        initial_balance: f64,
        leverage: f64,
    ) -> Result<Self, LedgerError> {
        if instruments.is_empty() {
            return Err(LedgerError::invalid(
                "contracts",
                "at least one contract is needed",
            ));
        }
        if !(initial_balance.is_finite() && initial_balance >= 0.0) {
            return Err(LedgerError::invalid(
                "initial_balance",
                format!("must be a finite number >= 0, got {initial_balance}"),
            ));
        }
        for (i, inst) in instruments.iter().enumerate() {
            inst.validate()?;
            if inst.settle_asset != instruments[0].settle_asset {
                return Err(LedgerError::invalid(
                    "contracts",
                    format!(
                        "one account settles in one asset: {} settles in {}, {} in {}",
                        instruments[0].symbol,
                        instruments[0].settle_asset,
                        inst.symbol,
                        inst.settle_asset
                    ),
                ));
            }
            if instruments[..i].iter().any(|o| o.symbol == inst.symbol) {
                return Err(LedgerError::invalid(
                    "contracts",
                    format!("symbol {} appears twice", inst.symbol),
                ));
            }
        }
        let n = instruments.len();
        let mut acc = Self {
            positions: vec![Position::default(); n],
            shorts: Vec::new(),
            marks: vec![None; n],
            leverage: vec![1.0; n],
            modes: vec![MarginMode::Cross; n],
            instruments,
            initial_balance,
            wallet: initial_balance,
            realized: 0.0,
            fees: 0.0,
            funding: 0.0,
            rebates: 0.0,
            volume: 0.0,
            fills: 0,
            insurance: 0.0,
            transfers: 0.0,
            checks: true,
            fee_tiers: None,
        };
        for i in 0..n {
            let lev = acc.check_leverage(i, leverage)?;
            acc.leverage[i] = lev;
        }
        Ok(acc)
    }

    // ----- lookup -------------------------------------------------------------------------

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.instruments.len()
    }

    /// Whether the account holds no symbol (never true for a constructed account).
    pub fn is_empty(&self) -> bool {
        self.instruments.is_empty()
    }

    /// Index of `symbol`.
    pub fn index(&self, symbol: &str) -> Result<usize, LedgerError> {
        self.instruments
            .iter()
            .position(|i| i.symbol == symbol)
            .ok_or_else(|| LedgerError::unknown_symbol(symbol))
    }

    /// The instruments, in index order.
    pub fn instruments(&self) -> &[Instrument] {
        &self.instruments
    }

    /// The position of symbol `i` (in hedge mode its long position: see [`Account::leg`]).
    pub fn position(&self, i: usize) -> &Position {
        &self.positions[i]
    }

    /// The last mark of symbol `i` (the first fill price until a mark is given; `None` before).
    pub fn mark_price(&self, i: usize) -> Option<f64> {
        self.marks[i]
    }

    /// Leverage of symbol `i`.
    pub fn leverage(&self, i: usize) -> f64 {
        self.leverage[i]
    }

    /// Margin mode of symbol `i`.
    pub fn margin_mode(&self, i: usize) -> MarginMode {
        self.modes[i]
    }

    /// Kind of the account's contracts' settlement (that of the first instrument).
    pub fn is_inverse(&self) -> bool {
        self.instruments[0].kind == ContractKind::Inverse
    }

    // ----- market data --------------------------------------------------------------------

    /// Marks symbol `i` at `price`.
    #[inline]
    pub fn mark(&mut self, i: usize, price: f64) -> Result<(), LedgerError> {
        positive("price", price)?;
        self.marks[i] = Some(price);
        Ok(())
    }

    /// Marks symbol `i` at a price already known to be finite and > 0 (validated market data).
    #[inline]
    pub fn set_mark(&mut self, i: usize, price: f64) {
        debug_assert!(price.is_finite() && price > 0.0);
        self.marks[i] = Some(price);
    }

    #[inline]
    fn mark_or(&self, i: usize, fallback: f64) -> f64 {
        self.marks[i].unwrap_or(fallback)
    }

    // ----- trading ------------------------------------------------------------------------

    /// Checks an order against the exchange filters and returns its quantity rounded to the step
    /// size: bad numbers are `InvalidInput`, filter failures `Rejected` with the reason.
    pub fn check_order(&self, i: usize, qty: f64, price: f64) -> Result<f64, LedgerError> {
        positive("price", price)?;
        positive("qty", qty)?;
        let inst = &self.instruments[i];
        let q = inst.round_qty(qty);
        if q <= 0.0 || q < inst.min_qty {
            return Err(LedgerError::rejected(
                "qty",
                format!(
                    "{qty} is under the minimum quantity {} of {}",
                    inst.min_qty, inst.symbol
                ),
            ));
        }
        let value = inst.order_value_usd(q, price);
        if value < inst.min_notional {
            return Err(LedgerError::rejected(
                "qty",
                format!(
                    "notional {value} is under the minimum notional {} of {}",
                    inst.min_notional, inst.symbol
                ),
            ));
        }
        Ok(q)
    }

    /// The fee rate of a fill of symbol `i` with `liquidity`: the fee tier's when one is set, else
    /// the contract's (none at the bankruptcy price).
    #[inline]
    pub fn fee_rate(&self, i: usize, liquidity: Liquidity) -> f64 {
        let inst = &self.instruments[i];
        match (liquidity, self.fee_tiers.as_ref().map(|t| t.rates())) {
            (Liquidity::Bankrupt, _) => 0.0,
            (Liquidity::Maker, Some((m, _))) => m,
            (Liquidity::Taker, Some((_, t))) => t,
            (Liquidity::Maker, None) => inst.maker_fee,
            (Liquidity::Taker, None) => inst.taker_fee,
        }
    }

    /// Gives the account fee tiers by 30-day volume (`None`: each contract's own fees).
    pub fn set_fee_tiers(&mut self, tiers: Option<FeeTiers>) {
        self.fee_tiers = tiers;
    }

    /// The fee tiers, if any.
    pub fn fee_tiers(&self) -> Option<&FeeTiers> {
        self.fee_tiers.as_ref()
    }

    /// At the start of a step at `ts`: a new UTC day sets the fee tier.
    #[inline]
    pub fn roll_fee_day(&mut self, ts: i64) {
        if let Some(t) = self.fee_tiers.as_mut() {
            t.roll(ts);
        }
    }

    /// Switches the margin checks of [`Account::fill`] on (the default) or off: off, every fill is
    /// booked whatever the margin it needs (the what-if ledger of risk studies; the wallet may go
    /// negative). The spot no-short rule and the exchange filters still apply.
    pub fn set_margin_checks(&mut self, on: bool) {
        self.checks = on;
    }

    /// A market order of signed `qty` filled at `price` with the taker fee, after the exchange
    /// filters ([`Account::check_order`]) and the margin check ([`Account::fill`]).
    pub fn market(&mut self, i: usize, qty: f64, price: f64) -> Result<Fill, LedgerError> {
        finite("qty", qty)?;
        let q = self.check_order(i, qty.abs(), price)?;
        self.fill(i, q.copysign(qty), price, Liquidity::Taker)
    }

    /// Fills signed `dq` of symbol `i` at `price` with the maker or taker fee (one-way mode).
    #[inline]
    pub fn fill(
        &mut self,
        i: usize,
        dq: f64,
        price: f64,
        liquidity: Liquidity,
    ) -> Result<Fill, LedgerError> {
        self.fill_leg(i, PositionSide::Both, dq, price, liquidity)
    }

    /// Fills signed `dq` of symbol `i`'s position on `side` at `price` with the maker or taker
    /// fee (`both` in one-way mode; `long` or `short` in hedge mode, where a sell on the long
    /// side or a buy on the short side may close at most that position).
    ///
    /// A fill that opens exposure (adds, opens or flips) is rejected with "insufficient margin" when
    /// the initial margin of all positions afterwards would exceed the equity afterwards, and when
    /// the position's notional would fall in a bracket tier that does not allow the symbol's
    /// leverage. A spot instrument cannot go short unless `allow_short` is set. Reducing fills are
    /// always accepted. On error nothing changes.
    ///
    /// Inlined into its callers: returned through memory, the fill's figures were read back as
    /// pairs before the single stores that wrote them had landed (a store-forwarding stall per
    /// fill, 40 % of the order's fill routine in the grid's profile).
    #[inline(always)]
    pub fn fill_leg(
        &mut self,
        i: usize,
        side: PositionSide,
        dq: f64,
        price: f64,
        liquidity: Liquidity,
    ) -> Result<Fill, LedgerError> {
        positive("price", price)?;
        if !(dq.is_finite() && dq != 0.0) {
            return Err(LedgerError::invalid(
                "qty",
                format!("must be a finite non-zero number, got {dq}"),
            ));
        }
        let short = self.check_side(side)?;
        let inst = &self.instruments[i];
        let pos = *self.leg(i, side);
        let eff = pos.fill_effect(inst, dq, price);
        if side != PositionSide::Both && (eff.qty < 0.0) != short && eff.qty != 0.0 {
            return Err(LedgerError::rejected(
                "qty",
                format!(
                    "a {} on the {} side closes at most that position ({})",
                    if dq > 0.0 { "buy" } else { "sell" },
                    if short { "short" } else { "long" },
                    pos.qty.abs()
                ),
            ));
        }
        let rate = self.fee_rate(i, liquidity);
        let notional = inst.notional(dq, price);
        let fee = rate * notional;
        if eff.opens && inst.kind == ContractKind::Spot && !inst.allow_short && eff.qty < 0.0 {
            return Err(LedgerError::rejected(
                "qty",
                format!("spot {}: cannot sell more than is held", inst.symbol),
            ));
        }
        if eff.opens && self.checks {
            let new_notional = inst.notional(eff.qty, eff.entry);
            let lev = self.leverage[i];
            let tier_max = inst.brackets.tier(new_notional).max_leverage;
            if lev > tier_max {
                return Err(LedgerError::rejected(
                    "qty",
                    format!(
                        "position notional {new_notional} allows at most {tier_max}x, leverage is {lev}x"
                    ),
                ));
            }
            let mark = self.mark_or(i, price);
            // One pass over the other positions for their margin and unrealized PnL.
            let (mut im_other, mut upnl_other) = (0.0, 0.0);
            for j in (0..self.len()).filter(|&j| j != i) {
                im_other += self.position_margin(j);
                upnl_other += self.position_unrealized(j);
            }
            if let Some(o) = self.other_leg(i, short).filter(|o| o.qty != 0.0) {
                im_other += inst.notional(o.qty, o.entry) / lev;
                upnl_other += o.unrealized(inst, mark);
            }
            let im_after = im_other + new_notional / lev;
            let new_pos = Position {
                qty: eff.qty,
                entry: eff.entry,
                ..pos
            };
            let equity_after =
                self.wallet + eff.realized - fee + upnl_other + new_pos.unrealized(inst, mark);
            if im_after > equity_after || im_after.is_nan() || equity_after.is_nan() {
                return Err(LedgerError::rejected(
                    "qty",
                    format!(
                        "insufficient margin: initial margin {im_after} would exceed equity {equity_after}"
                    ),
                ));
            }
        }
        // Commit.
        let p = self.leg_mut(i, short);
        p.qty = eff.qty;
        p.entry = eff.entry;
        p.realized += eff.realized;
        p.fees += fee;
        self.wallet += eff.realized - fee;
        self.realized += eff.realized;
        self.fees += fee;
        self.volume += notional;
        self.fills += 1;
        if let Some(t) = self.fee_tiers.as_mut() {
            t.add(self.instruments[i].order_value_usd(dq, price));
        }
        if self.marks[i].is_none() {
            self.marks[i] = Some(price);
        }
        Ok(Fill {
            symbol: i,
            qty: dq,
            price,
            fee,
            realized: eff.realized,
            position: eff.qty,
            entry: eff.entry,
            liquidity,
        })
    }

    /// Applies a funding payment on symbol `i` at `rate` and mark `mark_price`: the position's
    /// notional at the mark times the rate, paid by longs and received by shorts when the rate is
    /// positive. Returns the amount received (negative when paid).
    pub fn apply_funding(
        &mut self,
        i: usize,
        rate: f64,
        mark_price: f64,
    ) -> Result<f64, LedgerError> {
        finite("rate", rate)?;
        positive("mark_price", mark_price)?;
        let inst = &self.instruments[i];
        let mut received = 0.0;
        for p in std::iter::once(&mut self.positions[i]).chain(self.shorts.get_mut(i)) {
            if p.qty != 0.0 {
                let r = inst.funding_received(p.qty, mark_price, rate);
                p.funding += r;
                received += r;
            }
        }
        self.wallet += received;
        self.funding += received;
        Ok(received)
    }

    /// Charges an extra fee on symbol `i`'s position on `side` (e.g. the liquidation fee), from
    /// the wallet.
    pub fn charge_fee(&mut self, i: usize, side: PositionSide, fee: f64) {
        let short = side == PositionSide::Short && self.is_hedge();
        self.leg_mut(i, short).fees += fee;
        self.fees += fee;
        self.wallet += -fee;
    }

    /// The insurance fund covers `amount` of loss (added back to the wallet); returns it.
    pub fn cover_loss(&mut self, amount: f64) -> f64 {
        if amount > 0.0 {
            self.wallet += amount;
            self.insurance += amount;
            amount
        } else {
            0.0
        }
    }

    /// Moves `amount` of the settlement currency into the wallet (positive: a deposit, e.g. from a
    /// spot wallet) or out of it (negative: a withdrawal). A withdrawal may take at most
    /// min(wallet, available balance); a refused transfer leaves the account as it was.
    pub fn transfer(&mut self, amount: f64) -> Result<(), LedgerError> {
        finite("amount", amount)?;
        if amount < 0.0 {
            let free = self.wallet.min(self.available_balance());
            if -amount > free {
                return Err(LedgerError::rejected(
                    "amount",
                    format!("cannot withdraw {} with {free} free", -amount),
                ));
            }
        }
        self.wallet += amount;
        self.transfers += amount;
        Ok(())
    }

    /// Σ transfers in (negative when more was withdrawn than deposited).
    pub fn transfers(&self) -> f64 {
        self.transfers
    }

    /// Σ losses covered by the insurance fund (liquidations past zero).
    pub fn insurance(&self) -> f64 {
        self.insurance
    }

    // ----- figures ------------------------------------------------------------------------

    /// The initial balance.
    pub fn initial_balance(&self) -> f64 {
        self.initial_balance
    }

    /// initial + Σ realized − Σ fees + Σ funding received + Σ transfers (+ losses covered by
    /// insurance).
    pub fn wallet_balance(&self) -> f64 {
        self.wallet
    }

    /// Σ realized PnL.
    pub fn realized_pnl(&self) -> f64 {
        self.realized
    }

    /// Σ fees paid.
    pub fn fees(&self) -> f64 {
        self.fees
    }

    /// Σ funding received (negative when paid on balance).
    pub fn funding(&self) -> f64 {
        self.funding
    }

    /// Σ rebates credited (settlement currency).
    pub fn rebates(&self) -> f64 {
        self.rebates
    }

    /// Credits a rebate of `amount` (≥ 0, settlement currency) to the wallet.
    pub fn credit_rebate(&mut self, amount: f64) {
        self.wallet += amount;
        self.rebates += amount;
    }

    /// Σ fill notional (settlement currency).
    pub fn volume(&self) -> f64 {
        self.volume
    }

    /// Number of fills.
    pub fn fill_count(&self) -> u64 {
        self.fills
    }
}

mod figures;
mod hedge;
mod settings;

#[cfg(test)]
mod tests;

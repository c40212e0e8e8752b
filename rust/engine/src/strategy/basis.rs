//! Futures-spot basis (cash-and-carry) arbitrage (docs/strategies.md): buy the coin on spot, short
//! the same coin amount of a future (delivery or perpetual) while the premium pays, close when it
//! has converged or hold to settlement.
//!
//! The futures legs trade in the engine's account; the spot leg lives in the strategy's own spot
//! wallet (quote cash and coin), with the spot fee charged in quote on both sides. Money moves
//! between the two by [`Account::transfer`](crate::ledger::Account::transfer):
//! - linear (USDT-margined) futures: the capital sits in the futures account; opening withdraws
//!   the spot purchase, closing deposits the spot proceeds back;
//! - inverse (coin-margined) futures: the capital sits in the spot wallet as quote; opening buys
//!   coin and deposits it into the (coin) futures account as the short's collateral, closing
//!   withdraws the whole futures wallet and sells it on spot.

use crate::engine::{Engine, Inputs, Strategy};
use crate::error::LedgerError;
use crate::record::{FillReason, FillRow};
use crate::stats::{RunStats, Stat};
use crate::warnings::{date, Warning, WarningKind};

/// Nanoseconds in a day.
const DAY_NS: f64 = 86_400e9;

/// A premium within this of a threshold counts as at it (opens, or closes): float noise in
/// (F − S)/S does not decide a trade (thresholds are 1e-4 and up).
const TIE: f64 = 1e-10;

/// The spot taker fee when neither the strategy nor a spot contract gives one (Binance spot's
/// base rate).
pub const DEFAULT_SPOT_FEE: f64 = 0.001;

/// The futures leverage of a basis trade unless told otherwise: 1x for linear futures (the short
/// is fully margined by the capital left after the spot purchase), 2x for inverse (the coin
/// bought is the collateral).
pub fn default_leverage(inverse: bool) -> f64 {
    if inverse {
        2.0
    } else {
        1.0
    }
}

/// How much coin an open buys.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BasisSize {
    /// This coin amount.
    Coin(f64),
    /// The coin worth this quote value at the spot price.
    Quote(f64),
    /// This fraction of the free capital, leaving room for the short's margin and the fees.
    Fraction(f64),
}

impl BasisSize {
    /// The size from the three ways of giving it: at most one of a coin `amount`, a quote `value`
    /// and a `fraction` of the free capital (default: a fraction of 0.9).
    pub fn from_options(
        amount: Option<f64>,
        value: Option<f64>,
        fraction: Option<f64>,
    ) -> Result<Self, LedgerError> {
        match (amount, value, fraction) {
            (Some(a), None, None) => Ok(BasisSize::Coin(a)),
            (None, Some(v), None) => Ok(BasisSize::Quote(v)),
            (None, None, f) => Ok(BasisSize::Fraction(f.unwrap_or(0.9))),
            (Some(_), Some(_), _) => Err(LedgerError::invalid(
                "value",
                "give at most one of amount, value and fraction",
            )),
            _ => Err(LedgerError::invalid(
                "fraction",
                "give at most one of amount, value and fraction",
            )),
        }
    }
}

/// Parameters of the basis strategy.
#[derive(Clone, Debug, PartialEq)]
pub struct BasisConfig {
    /// Spot close per step of the run (NaN before the first spot price).
    pub spot: Vec<f64>,
    /// Spot fee rate (taker), charged in quote on buys and sells.
    pub spot_fee: f64,
    /// Open when the premium (or the annualized premium) is at least this.
    pub open_threshold: f64,
    /// Close early when the premium (or annualized premium) is at most this (NaN: never early).
    pub close_threshold: f64,
    /// Thresholds on the annualized premium (delivery contracts only) instead of the premium.
    pub annualized: bool,
    /// Never close before settlement (delivery contracts).
    pub hold_to_expiry: bool,
    /// Size of each open.
    pub size: BasisSize,
    /// Quote in the spot wallet at the start (the capital, for inverse futures).
    pub initial_cash: f64,
}

impl BasisConfig {
    /// Checks the parameters; the error names the field.
    pub fn validate(&self) -> Result<(), LedgerError> {
        crate::error::finite("open_threshold", self.open_threshold)?;
        let c = self.close_threshold;
        if !c.is_nan() {
            crate::error::finite("close_threshold", c)?;
            if c > self.open_threshold {
                return Err(LedgerError::invalid(
                    "close_threshold",
                    format!(
                        "must not be above open_threshold ({}), got {c}",
                        self.open_threshold
                    ),
                ));
            }
        }
        match self.size {
            BasisSize::Coin(v) => crate::error::positive("amount", v).map(|_| ())?,
            BasisSize::Quote(v) => crate::error::positive("value", v).map(|_| ())?,
            BasisSize::Fraction(v) => {
                if !(v.is_finite() && v > 0.0 && v <= 1.0) {
                    return Err(LedgerError::invalid(
                        "fraction",
                        format!("must be in (0, 1], got {v}"),
                    ));
                }
            }
        }
        let f = self.spot_fee;
        if !(f.is_finite() && (0.0..1.0).contains(&f)) {
            return Err(LedgerError::invalid(
                "spot_fee",
                format!("must be in [0, 1), got {f}"),
            ));
        }
        let cash = self.initial_cash;
        if !(cash.is_finite() && cash >= 0.0) {
            return Err(LedgerError::invalid(
                "initial_balance",
                format!("must be a finite number >= 0, got {cash}"),
            ));
        }
        Ok(())
    }
}

/// One spot trade.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpotTrade {
    /// Step timestamp (ns).
    pub ts: i64,
    /// +1 buy, −1 sell.
    pub side: i8,
    /// Coin amount.
    pub qty: f64,
    /// Spot price.
    pub price: f64,
    /// Fee (quote).
    pub fee: f64,
}

/// The open carry trade: which future and the hedge.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Open {
    future: usize,
    /// Coin bought on spot.
    coin: f64,
    /// Futures quantity shorted (contracts).
    qty: f64,
}

/// The basis strategy (see the module docs).
#[derive(Clone, Debug)]
pub struct Basis {
    cfg: BasisConfig,
    step: usize,
    open: Option<Open>,
    cash: f64,
    coin: f64,
    spot_fees: f64,
    spot_volume: f64,
    last_spot: f64,
    trades: Vec<SpotTrade>,
    value_quote: Vec<f64>,
    value_coin: Vec<f64>,
    premium: Vec<f64>,
    opens: u32,
    closes: u32,
    settlements: u32,
    /// Premium of this step (set at the close, recorded after it).
    prem: f64,
}

/// Premium (F − S)/S and its annualized value (365 / days to expiry; NaN without an expiry).
pub fn premium(future: f64, spot: f64, expiry: Option<i64>, now: i64) -> (f64, f64) {
    let p = (future - spot) / spot;
    let a = match expiry {
        Some(x) if x > now => p * 365.0 * DAY_NS / (x - now) as f64,
        _ => f64::NAN,
    };
    (p, a)
}

impl Basis {
    /// The strategy with `cfg`; its per-step records are reserved for `cfg.spot.len()` steps.
    pub fn new(cfg: BasisConfig) -> Self {
        let n = cfg.spot.len();
        Self {
            step: 0,
            open: None,
            cash: cfg.initial_cash,
            coin: 0.0,
            spot_fees: 0.0,
            spot_volume: 0.0,
            last_spot: f64::NAN,
            trades: Vec::new(),
            value_quote: Vec::with_capacity(n),
            value_coin: Vec::with_capacity(n),
            premium: Vec::with_capacity(n),
            opens: 0,
            closes: 0,
            settlements: 0,
            prem: f64::NAN,
            cfg,
        }
    }

    /// Replaces the spot closes of the run to come (a Monte Carlo path's spot), keeping the
    /// buffer's capacity.
    pub fn set_spot(&mut self, spot: &[f64]) {
        self.cfg.spot.clear();
        self.cfg.spot.extend_from_slice(spot);
    }

    /// Spot trades, in order.
    pub fn trades(&self) -> &[SpotTrade] {
        &self.trades
    }

    /// Total value per step in quote (spot wallet + futures account at the spot price).
    pub fn value_quote(&self) -> &[f64] {
        &self.value_quote
    }

    /// Total value per step in coin (the quote value / spot price).
    pub fn value_coin(&self) -> &[f64] {
        &self.value_coin
    }

    /// Premium per step of the held future (or of the best candidate when flat).
    pub fn premiums(&self) -> &[f64] {
        &self.premium
    }

    /// Σ spot fees (quote).
    pub fn spot_fees(&self) -> f64 {
        self.spot_fees
    }

    /// Σ spot traded value (quote).
    pub fn spot_volume(&self) -> f64 {
        self.spot_volume
    }

    /// Quote in the spot wallet.
    pub fn cash(&self) -> f64 {
        self.cash
    }

    /// Coin in the spot wallet.
    pub fn coin(&self) -> f64 {
        self.coin
    }

    /// (opens, early closes, closes by settlement or liquidation).
    pub fn counts(&self) -> (u32, u32, u32) {
        (self.opens, self.closes, self.settlements)
    }

    /// Index of the future being held, if any.
    pub fn held(&self) -> Option<usize> {
        self.open.map(|o| o.future)
    }

    /// The threshold metric of future `j` now: (premium, annualized); NaN while it has no bar.
    fn metrics(&self, e: &Engine, j: usize, s: f64) -> (f64, f64) {
        let f = e.price(j);
        if !f.is_finite() || e.is_expired(j) || e.is_stale(j) {
            return (f64::NAN, f64::NAN);
        }
        premium(f, s, e.account().instruments()[j].expiry, e.now())
    }

    fn metric(&self, m: (f64, f64)) -> f64 {
        if self.cfg.annualized {
            m.1
        } else {
            m.0
        }
    }

    /// The best future to open on: by annualized premium when every candidate has an expiry,
    /// else by premium. Returns (index, its metrics).
    fn best(&self, e: &Engine, s: f64) -> Option<(usize, (f64, f64))> {
        let n = e.account().len();
        let dated = (0..n).all(|j| e.account().instruments()[j].expiry.is_some());
        let mut best: Option<(usize, (f64, f64))> = None;
        for j in 0..n {
            let m = self.metrics(e, j, s);
            let key = if dated { m.1 } else { m.0 };
            if !key.is_finite() {
                continue;
            }
            let better = match best {
                None => true,
                Some((_, b)) => key > if dated { b.1 } else { b.0 },
            };
            if better {
                best = Some((j, m));
            }
        }
        best
    }

    fn spot_trade(&mut self, ts: i64, side: i8, qty: f64, price: f64) {
        let value = qty * price;
        let fee = value * self.cfg.spot_fee;
        if side > 0 {
            self.cash -= value + fee;
            self.coin += qty;
        } else {
            self.cash += value - fee;
            self.coin -= qty;
        }
        self.spot_fees += fee;
        self.spot_volume += value;
        self.trades.push(SpotTrade {
            ts,
            side,
            qty,
            price,
            fee,
        });
    }

    /// Opens on future `j` at spot `s`: nothing happens unless every leg is accepted.
    fn try_open(&mut self, e: &mut Engine, j: usize, s: f64) {
        let inst = e.account().instruments()[j].clone();
        let f = e.price(j);
        let inverse = e.account().is_inverse();
        let lev = e.account().leverage(j);
        let fut_fee = e
            .account()
            .fee_rate(j, crate::ledger::Liquidity::Taker)
            .max(0.0);
        let sf = self.cfg.spot_fee;
        let coin = match self.cfg.size {
            BasisSize::Coin(a) => a,
            BasisSize::Quote(v) => v / s,
            BasisSize::Fraction(x) => {
                if inverse {
                    x * self.cash / (s * (1.0 + sf))
                } else {
                    let free = e
                        .account()
                        .available_balance()
                        .min(e.account().wallet_balance());
                    x * free / (s * (1.0 + sf) + f / lev + f * fut_fee)
                }
            }
        };
        // The short covers the coin bought: linear A/cs contracts, inverse A·F/cs contracts.
        let qty = if inverse {
            inst.floor_qty(coin * f / inst.contract_size)
        } else {
            inst.floor_qty(coin / inst.contract_size)
        };
        if !(qty > 0.0 && coin > 0.0) {
            return;
        }
        // Linear: the spot coin is exactly the hedged amount.
        let coin = if inverse {
            coin
        } else {
            qty * inst.contract_size
        };
        let cost = coin * s * (1.0 + sf);
        let saved = e.account().clone();
        if inverse {
            if cost > self.cash {
                return;
            }
            if e.account_mut().transfer(coin).is_err() {
                return;
            }
        } else if e.account_mut().transfer(-cost).is_err() {
            return;
        }
        if e.market(j, -qty, FillReason::Strategy, self).is_err() {
            *e.account_mut() = saved;
            return;
        }
        let ts = e.now();
        self.spot_trade(ts, 1, coin, s);
        if inverse {
            // The coin bought went into the futures account.
            self.coin -= coin;
        } else {
            // Its cost came out of the futures account.
            self.cash += cost;
        }
        self.open = Some(Open {
            future: j,
            coin,
            qty,
        });
        self.opens += 1;
    }

    /// Sells the spot side after the short is gone (closed, settled or liquidated).
    fn unwind(&mut self, e: &mut Engine, s: f64) {
        let Some(o) = self.open.take() else {
            return;
        };
        let ts = e.now();
        if e.account().is_inverse() {
            let w = e
                .account()
                .wallet_balance()
                .min(e.account().available_balance());
            if w > 0.0 && e.account_mut().transfer(-w).is_ok() {
                self.coin += w;
                self.spot_trade(ts, -1, w, s);
            }
        } else {
            self.spot_trade(ts, -1, o.coin, s);
            let proceeds = self.cash;
            if proceeds > 0.0 && e.account_mut().transfer(proceeds).is_ok() {
                self.cash = 0.0;
            }
        }
    }

    fn record(&mut self, e: &Engine, s: f64, prem: f64) {
        let acc = e.account();
        let fut = if acc.is_inverse() {
            let q = acc.equity();
            if q == 0.0 {
                0.0
            } else {
                q * s
            }
        } else {
            acc.equity()
        };
        let spot = if self.coin == 0.0 { 0.0 } else { self.coin * s };
        let v = self.cash + spot + fut;
        self.value_quote.push(v);
        self.value_coin.push(v / s);
        self.premium.push(prem);
    }
}

impl Basis {
    /// The spot price of the current step (the last one seen when this step has none) and whether
    /// the step has one.
    fn spot_now(&mut self) -> (f64, bool) {
        let s_now = self.cfg.spot.get(self.step).copied().unwrap_or(f64::NAN);
        let live = s_now.is_finite() && s_now > 0.0;
        if live {
            self.last_spot = s_now;
        }
        (self.last_spot, live)
    }

    /// The first and last step times with a spot price (`steps`: the run's step times).
    fn spot_span(&self, steps: &[i64]) -> Option<(i64, i64)> {
        let live = |x: &f64| x.is_finite() && *x > 0.0;
        let a = self.cfg.spot.iter().position(live)?;
        let b = self.cfg.spot.iter().rposition(live)?;
        Some((*steps.get(a)?, *steps.get(b)?))
    }
}

impl Strategy for Basis {
    fn value(&self, e: &Engine) -> Option<f64> {
        match self.value_quote.last() {
            Some(&v) => Some(v),
            // Before the first step: the capital, in the spot wallet and the (linear) account.
            None if e.account().is_inverse() => Some(self.cfg.initial_cash),
            None => Some(self.cfg.initial_cash + e.account().equity()),
        }
    }

    fn report(&self, _e: &Engine, stats: &mut RunStats) {
        // The spot leg trades outside the account: its trades count, and the turnover is per leg
        // (the hedge matches the spot notional).
        stats.fills += self.trades.len() as u64;
        stats.turnover = self.spot_volume / stats.initial_balance;
        stats.set("spot_fees", Stat::F(self.spot_fees));
        stats.set("basis_opens", Stat::U(self.opens as u64));
        stats.set("basis_early_closes", Stat::U(self.closes as u64));
        stats.set("basis_settled_closes", Stat::U(self.settlements as u64));
    }

    fn on_fill(&mut self, _e: &mut Engine, _f: &FillRow) {}

    fn check_inputs(&self, e: &mut Engine, inputs: &Inputs<'_, '_>) -> Result<(), LedgerError> {
        let names: Vec<String> = e
            .account()
            .instruments()
            .iter()
            .map(|i| i.symbol.clone())
            .collect();
        let Some(spot) = self.spot_span(&inputs.step_times()) else {
            return Err(LedgerError::invalid("spot", "the spot data have no price"));
        };
        let meets = |f: (i64, i64)| f.0 <= spot.1 && spot.0 <= f.1;
        let spans: Vec<Option<(i64, i64)>> = (0..inputs.symbols().len())
            .map(|k| inputs.span(k))
            .collect();
        if !spans.iter().flatten().any(|&f| meets(f)) {
            let futures: Vec<String> = spans
                .iter()
                .zip(&names)
                .map(|(f, n)| match f {
                    Some(f) => format!("{n} {} to {}", date(f.0), date(f.1)),
                    None => format!("{n} no bars"),
                })
                .collect();
            return Err(LedgerError::invalid(
                "data",
                format!(
                    "the spot data ({} to {}) overlap no future's ({})",
                    date(spot.0),
                    date(spot.1),
                    futures.join("; ")
                ),
            ));
        }
        for (k, f) in spans.iter().enumerate() {
            if !f.is_some_and(meets) {
                let detail = format!(
                    "its dates never overlap the spot data's ({} to {}): it cannot be traded",
                    date(spot.0),
                    date(spot.1)
                );
                e.push_warning(Warning::new(WarningKind::NoOverlap, Some(k), detail).doubtful());
            }
        }
        Ok(())
    }

    fn on_close(&mut self, e: &mut Engine) {
        let (s, live) = self.spot_now();
        if !live {
            // No spot price at this step: the trade waits (a spot price already seen marks the
            // spot leg meanwhile).
            if s.is_finite() {
                e.warn(WarningKind::Stale, None, "spot");
            } else {
                e.warn(WarningKind::NotStarted, None, "spot");
            }
            return;
        }
        if let Some(o) = self.open {
            let j = o.future;
            if e.account().position(j).qty == 0.0 {
                // Settled at expiry or liquidated: the spot side is sold at once.
                self.settlements += 1;
                self.unwind(e, s);
            } else {
                let m = self.metrics(e, j, s);
                let x = self.metric(m);
                let early =
                    !(self.cfg.hold_to_expiry && e.account().instruments()[j].expiry.is_some());
                if early && x <= self.cfg.close_threshold + TIE {
                    let q = e.account().position(j).qty;
                    if e.market(j, -q, FillReason::Strategy, self).is_ok() {
                        self.closes += 1;
                        self.unwind(e, s);
                    }
                }
            }
        }
        if self.open.is_none() {
            if let Some((j, m)) = self.best(e, s) {
                self.prem = m.0;
                if self.metric(m) >= self.cfg.open_threshold - TIE {
                    self.try_open(e, j, s);
                }
            }
        }
        if let Some(o) = self.open {
            self.prem = self.metrics(e, o.future, s).0;
        }
    }

    fn after_close(&mut self, e: &Engine) {
        let (s, live) = self.spot_now();
        if e.blown() && live {
            if let Some(o) = self.open.take() {
                // The futures account was liquidated: the spot coin is sold into the spot wallet
                // (the proceeds stay there; a liquidated account takes no deposit).
                self.settlements += 1;
                if !e.account().is_inverse() {
                    self.spot_trade(e.now(), -1, o.coin, s);
                }
            }
        }
        let prem = self.prem;
        self.record(e, s, prem);
        self.prem = f64::NAN;
        self.step += 1;
    }
}

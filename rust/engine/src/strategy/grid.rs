//! The futures grid (spec/grid.md, Binance futures grid semantics): N + 1 price levels, a buy on
//! every level below the start and a sell on every level above, a counter-order one level away on
//! every fill (live at once on the rest of the path), long/short grids opening their position at
//! market, a trigger price, stop prices, and the matched-profit accounting.
//!
//! Not here yet: trailing up/down.

use crate::error::LedgerError;
use crate::instrument::Instrument;
use crate::matching::{Engine, OrderRequest, Side};
use crate::record::{FillReason, FillRow};
use crate::strategy::Strategy;

/// Neutral, long or short grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GridMode {
    /// No position at start; sells above open shorts, buys below open longs.
    Neutral,
    /// Buys at market what the sells above will close.
    Long,
    /// Sells at market what the buys below will close.
    Short,
}

/// Quantity per order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GridQty {
    /// A fixed base quantity (contracts for inverse), rounded down to the step.
    Base(f64),
    /// A constant quote value per grid: quantity at level P = value / P (with a trigger, / trigger).
    Quote(f64),
}

/// A grid's parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GridConfig {
    /// Symbol index.
    pub symbol: usize,
    /// Lowest level.
    pub lower: f64,
    /// Highest level.
    pub upper: f64,
    /// Number of intervals (N + 1 levels).
    pub n: usize,
    /// Geometric spacing (else arithmetic).
    pub geometric: bool,
    /// Neutral, long or short.
    pub mode: GridMode,
    /// Quantity per order.
    pub qty: GridQty,
    /// Start only once the price reaches this.
    pub trigger: Option<f64>,
    /// Stop (neutral: "stop top"; long: take-profit; short: stop-loss) when the price reaches it.
    pub stop_upper: Option<f64>,
    /// Stop (neutral: "stop bottom"; long: stop-loss; short: take-profit).
    pub stop_lower: Option<f64>,
    /// Close the position at the stop price when a stop fires.
    pub close_on_stop: bool,
}

/// A grid fill not yet matched by its counter-fill.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Lot {
    side: f64,
    price: f64,
    qty: f64,
    fee: f64,
}

/// Where the grid stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GridState {
    /// Waiting for the first close (or the trigger).
    Waiting,
    /// Orders out.
    Running,
    /// A stop fired; nothing more happens.
    Stopped,
}

const GRID_BIT: u32 = 1 << 30;
const CLOSE_BIT: u32 = 1 << 31;

/// The grid strategy.
#[derive(Clone, Debug)]
pub struct Grid {
    cfg: GridConfig,
    levels: Vec<f64>,
    qty: Vec<f64>,
    state: GridState,
    lots: Vec<Vec<Lot>>,
    matched_profit: f64,
    matched: u64,
    stop_pnl: f64,
    started_at: Option<i64>,
    stopped_at: Option<i64>,
}

impl Grid {
    /// Builds a grid for `inst` (levels rounded to its tick, quantities down to its step),
    /// checking the spec's validation rules; the error names the parameter.
    pub fn new(cfg: GridConfig, inst: &Instrument) -> Result<Self, LedgerError> {
        let (l, u, n) = (cfg.lower, cfg.upper, cfg.n);
        if !(l.is_finite() && l > 0.0) {
            return Err(LedgerError::invalid(
                "lower",
                format!("must be a finite price > 0, got {l}"),
            ));
        }
        if !(u.is_finite() && u > l) {
            return Err(LedgerError::invalid(
                "upper",
                format!("must be above lower ({l}), got {u}"),
            ));
        }
        if n < 2 {
            return Err(LedgerError::invalid(
                "grid_count",
                format!("must be at least 2, got {n}"),
            ));
        }
        let levels: Vec<f64> = (0..=n)
            .map(|i| {
                let p = if cfg.geometric {
                    l * (u / l).powf(i as f64 / n as f64)
                } else {
                    l + i as f64 * (u - l) / n as f64
                };
                inst.round_price(p)
            })
            .collect();
        let min_gap = levels
            .windows(2)
            .map(|w| w[1] - w[0])
            .fold(f64::INFINITY, f64::min);
        if min_gap.is_nan()
            || min_gap <= 0.0
            || (inst.tick_size > 0.0 && min_gap < inst.tick_size * (1.0 - 1e-9))
        {
            return Err(LedgerError::invalid(
                "grid_count",
                "the spacing between levels is below one tick",
            ));
        }
        if let Some(t) = cfg.trigger {
            if !(t.is_finite() && t > 0.0) {
                return Err(LedgerError::invalid(
                    "trigger",
                    format!("must be a finite price > 0, got {t}"),
                ));
            }
        }
        if let Some(s) = cfg.stop_upper {
            if !(s.is_finite() && s > u) {
                return Err(LedgerError::invalid(
                    "stop_upper",
                    format!("must be above upper ({u}), got {s}"),
                ));
            }
        }
        if let Some(s) = cfg.stop_lower {
            if !(s.is_finite() && s > 0.0 && s < l) {
                return Err(LedgerError::invalid(
                    "stop_lower",
                    format!("must be in (0, lower = {l}), got {s}"),
                ));
            }
        }
        let qty: Vec<f64> = match cfg.qty {
            GridQty::Base(q) => {
                if !(q.is_finite() && q > 0.0) {
                    return Err(LedgerError::invalid(
                        "qty",
                        format!("must be a finite number > 0, got {q}"),
                    ));
                }
                vec![inst.floor_qty(q); n + 1]
            }
            GridQty::Quote(v) => {
                if !(v.is_finite() && v > 0.0) {
                    return Err(LedgerError::invalid(
                        "quote_per_grid",
                        format!("must be > 0, got {v}"),
                    ));
                }
                levels
                    .iter()
                    .map(|&p| {
                        let at = cfg.trigger.unwrap_or(p);
                        let per_unit = match inst.kind {
                            crate::instrument::ContractKind::Inverse => inst.contract_size,
                            _ => inst.contract_size * at,
                        };
                        inst.floor_qty(v / per_unit)
                    })
                    .collect()
            }
        };
        for (i, (&q, &p)) in qty.iter().zip(&levels).enumerate() {
            if q <= 0.0 || q < inst.min_qty {
                return Err(LedgerError::invalid(
                    "qty",
                    format!(
                        "the quantity at level {i} ({p}) is {q}, under the minimum quantity {}",
                        inst.min_qty
                    ),
                ));
            }
            if inst.order_value_usd(q, p) < inst.min_notional {
                return Err(LedgerError::invalid(
                    "qty",
                    format!(
                        "the order at level {i} ({p}) is under the minimum notional {}",
                        inst.min_notional
                    ),
                ));
            }
        }
        Ok(Self {
            lots: vec![Vec::new(); n + 1],
            cfg,
            levels,
            qty,
            state: GridState::Waiting,
            matched_profit: 0.0,
            matched: 0,
            stop_pnl: 0.0,
            started_at: None,
            stopped_at: None,
        })
    }

    /// The symbol index the grid trades.
    pub fn symbol(&self) -> usize {
        self.cfg.symbol
    }

    /// The price levels (rounded to the tick).
    pub fn levels(&self) -> &[f64] {
        &self.levels
    }

    /// Quantity per level.
    pub fn quantities(&self) -> &[f64] {
        &self.qty
    }

    /// Where the grid stands.
    pub fn state(&self) -> GridState {
        self.state
    }

    /// When the grid started and stopped (ns).
    pub fn times(&self) -> (Option<i64>, Option<i64>) {
        (self.started_at, self.stopped_at)
    }

    /// Matched (grid) profit: each counter-fill matched with the fill one level away, fees
    /// apportioned by quantity.
    pub fn matched_profit(&self) -> f64 {
        self.matched_profit
    }

    /// Number of matched pairs.
    pub fn matched_count(&self) -> u64 {
        self.matched
    }

    /// Unmatched PnL at `mark`: open grid inventory marked to market less its fees, plus what the
    /// close at a stop realized on it. With the matched profit and funding it adds up to the
    /// exchange's realized + unrealized − fees + funding.
    pub fn unmatched_pnl(&self, mark: f64, inverse: bool, contract_size: f64) -> f64 {
        let mut v = self.stop_pnl;
        for lot in self.lots.iter().flatten() {
            v += pnl(lot.side * lot.qty, lot.price, mark, inverse, contract_size) - lot.fee;
        }
        v
    }

    fn place(&mut self, e: &mut Engine, level: usize, side: Side, qty: f64, close: bool) {
        let tag = GRID_BIT | if close { CLOSE_BIT } else { 0 } | level as u32;
        let r = OrderRequest::limit(self.cfg.symbol, side, self.levels[level], qty)
            .tagged(tag, FillReason::Grid);
        let _ = e.place(&r, self);
    }

    fn start(&mut self, e: &mut Engine, p0: f64) {
        self.state = GridState::Running;
        self.started_at = Some(e.now());
        let n = self.cfg.n;
        let k = (0..=n)
            .min_by(|&a, &b| {
                (self.levels[a] - p0)
                    .abs()
                    .total_cmp(&(self.levels[b] - p0).abs())
            })
            .expect("at least 3 levels");
        let inst = e.account().instruments()[self.cfg.symbol].clone();
        // Long/short grids take at market the position their closing orders will close.
        let (open_qty, lots_at): (f64, Vec<(usize, f64)>) = match self.cfg.mode {
            GridMode::Neutral => (0.0, vec![]),
            GridMode::Long => {
                let l: Vec<(usize, f64)> = (k + 1..=n).map(|j| (j - 1, self.qty[j])).collect();
                (l.iter().map(|x| x.1).sum(), l)
            }
            GridMode::Short => {
                let l: Vec<(usize, f64)> = (0..k).map(|j| (j + 1, self.qty[j])).collect();
                (-l.iter().map(|x| x.1).sum::<f64>(), l)
            }
        };
        let open_qty = inst.round_qty(open_qty);
        if open_qty != 0.0 {
            let before = e.fills().len();
            if e.market(self.cfg.symbol, open_qty, FillReason::Grid, self)
                .is_err()
            {
                self.state = GridState::Stopped;
                self.stopped_at = Some(e.now());
                return;
            }
            let f = e.fills()[before].clone();
            let side = open_qty.signum();
            for (lvl, q) in lots_at {
                self.lots[lvl].push(Lot {
                    side,
                    price: f.price,
                    qty: q,
                    fee: f.fee * q / f.qty,
                });
            }
        }
        for j in 0..=n {
            if j < k {
                let close = self.cfg.mode == GridMode::Short;
                self.place(e, j, Side::Buy, self.qty[j], close);
            } else if j > k {
                let close = self.cfg.mode == GridMode::Long;
                self.place(e, j, Side::Sell, self.qty[j], close);
            }
        }
    }

    fn stop(&mut self, e: &mut Engine, price: f64) {
        self.state = GridState::Stopped;
        self.stopped_at = Some(e.now());
        let i = self.cfg.symbol;
        for id in e.open_orders(i) {
            if e.order(id).is_some_and(|o| o.tag & GRID_BIT != 0) {
                let _ = e.cancel(id);
            }
        }
        let q = e.account().position(i).qty;
        if self.cfg.close_on_stop && q != 0.0 {
            let inst = &e.account().instruments()[i];
            let (inverse, cs) = (
                inst.kind == crate::instrument::ContractKind::Inverse,
                inst.contract_size,
            );
            let before = e.fills().len();
            if e.fill_at_as(i, -q, price, false, Some(FillReason::Grid), self)
                .is_ok()
            {
                let fee = e.fills()[before].fee;
                let mut pnl_sum = -fee;
                for lot in self.lots.iter().flatten() {
                    pnl_sum += pnl(lot.side * lot.qty, lot.price, price, inverse, cs) - lot.fee;
                }
                self.stop_pnl += pnl_sum;
                self.lots.iter_mut().for_each(|l| l.clear());
            }
        }
    }

    fn matched_fill(&mut self, f: &FillRow, level: usize, inverse: bool, cs: f64) {
        // A sell closing at j matches the long lot at j − 1; a buy closing at j the short lot at j + 1.
        let origin = if f.side < 0 {
            level.wrapping_sub(1)
        } else {
            level + 1
        };
        let Some(lots) = self.lots.get_mut(origin) else {
            return;
        };
        let mut left = f.qty;
        while left > 1e-12 && !lots.is_empty() {
            let lot = &mut lots[0];
            let m = left.min(lot.qty);
            let lot_fee = lot.fee * m / lot.qty;
            let fee = f.fee * m / f.qty;
            self.matched_profit +=
                pnl(lot.side * m, lot.price, f.price, inverse, cs) - lot_fee - fee;
            self.matched += 1;
            lot.qty -= m;
            lot.fee -= lot_fee;
            left -= m;
            if lot.qty <= 1e-12 {
                lots.remove(0);
            }
        }
    }
}

fn pnl(qty: f64, entry: f64, price: f64, inverse: bool, cs: f64) -> f64 {
    if inverse {
        qty * cs * (1.0 / entry - 1.0 / price)
    } else {
        qty * cs * (price - entry)
    }
}

impl Strategy for Grid {
    fn on_fill(&mut self, e: &mut Engine, f: &FillRow) {
        if f.symbol != self.cfg.symbol {
            return;
        }
        if matches!(f.reason, FillReason::Liquidation | FillReason::Settlement) {
            // The whole position closed at f.price: the grid inventory is realized there.
            let inst = &e.account().instruments()[f.symbol];
            let (inverse, cs) = (
                inst.kind == crate::instrument::ContractKind::Inverse,
                inst.contract_size,
            );
            let mut v = -f.fee;
            for lot in self.lots.iter().flatten() {
                v += pnl(lot.side * lot.qty, lot.price, f.price, inverse, cs) - lot.fee;
            }
            self.stop_pnl += v;
            self.lots.iter_mut().for_each(|l| l.clear());
            if self.state == GridState::Running {
                self.state = GridState::Stopped;
                self.stopped_at = Some(e.now());
            }
            return;
        }
        if self.state != GridState::Running || f.reason != FillReason::Grid {
            return;
        }
        let Some(tag) = e.order(f.order_id).map(|o| o.tag) else {
            return;
        };
        if tag & GRID_BIT == 0 {
            return;
        }
        let level = (tag & 0xFFFF) as usize;
        let inst = &e.account().instruments()[f.symbol];
        let (inverse, cs) = (
            inst.kind == crate::instrument::ContractKind::Inverse,
            inst.contract_size,
        );
        let n = self.cfg.n;
        if tag & CLOSE_BIT == 0 {
            // An opening fill: inventory, and its counter-order one level away.
            self.lots[level].push(Lot {
                side: f.side as f64,
                price: f.price,
                qty: f.qty,
                fee: f.fee,
            });
            if f.side > 0 && level < n {
                self.place(e, level + 1, Side::Sell, f.qty, true);
            } else if f.side < 0 && level > 0 {
                self.place(e, level - 1, Side::Buy, f.qty, true);
            }
        } else {
            self.matched_fill(f, level, inverse, cs);
            // The pair is done: the opening order goes back on its level.
            if f.side < 0 && level > 0 {
                self.place(e, level - 1, Side::Buy, self.qty[level - 1], false);
            } else if f.side > 0 && level < n {
                self.place(e, level + 1, Side::Sell, self.qty[level + 1], false);
            }
        }
    }

    fn on_close(&mut self, e: &mut Engine) {
        let i = self.cfg.symbol;
        let price = e.price(i);
        if !price.is_finite() {
            return;
        }
        match self.state {
            GridState::Waiting => match self.cfg.trigger {
                None => self.start(e, price),
                Some(t) => {
                    let (lo, hi) = e.bar_range(i);
                    if lo <= t && t <= hi {
                        self.start(e, price);
                    }
                }
            },
            GridState::Running => {
                let (lo, hi) = e.bar_range(i);
                if let Some(s) = self.cfg.stop_lower.filter(|&s| lo <= s) {
                    self.stop(e, s);
                } else if let Some(s) = self.cfg.stop_upper.filter(|&s| hi >= s) {
                    self.stop(e, s);
                }
            }
            GridState::Stopped => {}
        }
    }
}

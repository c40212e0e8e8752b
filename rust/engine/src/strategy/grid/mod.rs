//! The futures grid (docs/strategies.md, grid, Binance futures grid semantics): N + 1 price levels, a buy on
//! every level below the start and a sell on every level above, a counter-order one level away on
//! every fill (live at once on the rest of the path), long/short grids opening their position at
//! market, a trigger price, stop prices, and the matched-profit accounting.
//!
//! Trailing up/down move the whole grid one level at a time when the path reaches the level beyond
//! its edge (the engine calls back through [`Strategy::watch`]).

use crate::engine::{Engine, QuietBand, Strategy};
use crate::error::LedgerError;
use crate::instrument::{ContractKind, Instrument};
use crate::ledger::PositionSide;
use crate::matching::{OrderRequest, Side};
use crate::record::{FillReason, FillRow};
use crate::stats::{RunStats, Stat};

mod config;
mod lots;

use lots::{Lot, Lots};

pub use config::{GridConfig, GridMode, GridQty, Spacing, DEFAULT_MAX_GRIDS};

/// Where the grid stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GridState {
    /// Waiting for the first close (or the trigger).
    Waiting,
    /// Orders out.
    Running,
    /// A stop (or a liquidation) ended it; nothing more happens.
    Stopped,
}

const GRID_BIT: u32 = 1 << 30;
const CLOSE_BIT: u32 = 1 << 31;
const LEVEL_MASK: u32 = (1 << 20) - 1;
const LEVEL_OFFSET: i64 = 1 << 19;

/// The grid strategy. Levels are numbered from the original lower level (0) upwards; trailing
/// moves the window `[lo, lo + N]` of live levels.
#[derive(Clone, Debug)]
pub struct Grid {
    cfg: GridConfig,
    inst: Instrument,
    lo: i64,
    state: GridState,
    lots: Lots,
    stop_upper: Option<f64>,
    stop_lower: Option<f64>,
    trail_up: bool,
    trail_down: bool,
    shifts: i64,
    matched_profit: f64,
    matched: u64,
    stop_pnl: f64,
    started_at: Option<i64>,
    stopped_at: Option<i64>,
    /// The original levels 0..=n, rounded once (a trailing grid's further levels are computed).
    original: Vec<f64>,
}

impl Grid {
    /// Builds a grid for `inst` (levels rounded to its tick, quantities down to its step),
    /// checking the spec's validation rules; the error names the parameter.
    pub fn new(cfg: GridConfig, inst: &Instrument) -> Result<Self, LedgerError> {
        cfg.validate()?;
        let n = cfg.n;
        let mut g = Self {
            cfg,
            inst: inst.clone(),
            lo: 0,
            state: GridState::Waiting,
            lots: Lots::default(),
            stop_upper: cfg.stop_upper,
            stop_lower: cfg.stop_lower,
            trail_up: cfg.trailing_up,
            trail_down: cfg.trailing_down,
            shifts: 0,
            matched_profit: 0.0,
            matched: 0,
            stop_pnl: 0.0,
            started_at: None,
            stopped_at: None,
            original: Vec::new(),
        };
        g.original = (0..=n as i64)
            .map(|k| g.inst.round_price(g.cfg.raw_level(k)))
            .collect();
        let levels = g.levels();
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
        for k in 0..=n as i64 {
            let (q, p) = (g.qty_at(k), g.level(k));
            if q <= 0.0 || q < inst.min_qty {
                return Err(LedgerError::invalid(
                    "qty",
                    format!(
                        "the quantity at level {k} ({p}) is {q}, under the minimum quantity {}",
                        inst.min_qty
                    ),
                ));
            }
            if inst.order_value_usd(q, p) < inst.min_notional {
                return Err(LedgerError::invalid(
                    "qty",
                    format!(
                        "the order at level {k} ({p}) is under the minimum notional {}",
                        inst.min_notional
                    ),
                ));
            }
        }
        Ok(g)
    }

    /// The price of level `k` (0 is the original lower level), rounded to the tick.
    #[inline]
    pub fn level(&self, k: i64) -> f64 {
        match usize::try_from(k).ok().and_then(|k| self.original.get(k)) {
            Some(&p) => p,
            None => self.inst.round_price(self.cfg.raw_level(k)),
        }
    }

    /// The quantity of an order at level `k`.
    pub fn qty_at(&self, k: i64) -> f64 {
        match self.cfg.qty {
            GridQty::Base(q) => self.inst.floor_qty(q),
            GridQty::Quote(v) => {
                let at = self.cfg.trigger.unwrap_or_else(|| self.level(k));
                let per_unit = match self.inst.kind {
                    ContractKind::Inverse => self.inst.contract_size,
                    _ => self.inst.contract_size * at,
                };
                self.inst.floor_qty(v / per_unit)
            }
        }
    }

    fn hi(&self) -> i64 {
        self.lo + self.cfg.n as i64
    }

    /// The symbol index the grid trades.
    pub fn symbol(&self) -> usize {
        self.cfg.symbol
    }

    /// The live price levels (rounded to the tick), lowest first.
    pub fn levels(&self) -> Vec<f64> {
        (self.lo..=self.hi()).map(|k| self.level(k)).collect()
    }

    /// Quantity per live level.
    pub fn quantities(&self) -> Vec<f64> {
        (self.lo..=self.hi()).map(|k| self.qty_at(k)).collect()
    }

    /// Where the grid stands.
    pub fn state(&self) -> GridState {
        self.state
    }

    /// Net number of trailing moves (up positive).
    pub fn shifts(&self) -> i64 {
        self.shifts
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

    /// Unmatched PnL at `mark`: open grid inventory marked to market less its fees, plus what a
    /// stop, liquidation or settlement realized on it. With the matched profit and funding it adds
    /// up to the exchange's realized + unrealized − fees + funding.
    pub fn unmatched_pnl(&self, mark: f64) -> f64 {
        let mut v = self.stop_pnl;
        for lot in self.lots.iter() {
            v += self.inst.pnl(lot.side * lot.qty, lot.price, mark) - lot.fee;
        }
        v
    }

    /// Places the grid's order at level `k`. `normal`: `qty` is on the step already (a level's
    /// quantity, or an order's whole quantity filled), so only the order's judging is left.
    fn place(&mut self, e: &mut Engine, k: i64, side: Side, qty: f64, close: bool) {
        self.place_as(e, k, side, qty, close, true);
    }

    fn place_as(
        &mut self,
        e: &mut Engine,
        k: i64,
        side: Side,
        qty: f64,
        close: bool,
        normal: bool,
    ) {
        let tag =
            GRID_BIT | if close { CLOSE_BIT } else { 0 } | ((k + LEVEL_OFFSET) as u32 & LEVEL_MASK);
        let mut r = OrderRequest::limit(self.cfg.symbol, side, self.level(k), qty)
            .tagged(tag, FillReason::Grid);
        // Hedge mode: opening buys and the sells closing them trade the long side, opening sells
        // and the buys closing them the short side (Binance's neutral grid on both sides).
        r.position_side = hedge_side(e, (side == Side::Buy) != close);
        // The levels are on the tick already.
        let _ = if normal {
            e.place_normal(&r, self)
        } else {
            e.place(&r, self)
        };
    }

    fn start(&mut self, e: &mut Engine, p0: f64) {
        self.state = GridState::Running;
        self.started_at = Some(e.now());
        let (lo, hi) = (self.lo, self.hi());
        let k = (lo..=hi)
            .min_by(|&a, &b| {
                (self.level(a) - p0)
                    .abs()
                    .total_cmp(&(self.level(b) - p0).abs())
            })
            .expect("at least 3 levels");
        // Long/short grids take at market the position their closing orders will close.
        let (open_qty, lots_at): (f64, Vec<(i64, f64)>) = match self.cfg.mode {
            GridMode::Neutral => (0.0, vec![]),
            GridMode::Long => {
                let l: Vec<(i64, f64)> = (k + 1..=hi).map(|j| (j - 1, self.qty_at(j))).collect();
                (l.iter().map(|x| x.1).sum(), l)
            }
            GridMode::Short => {
                let l: Vec<(i64, f64)> = (lo..k).map(|j| (j + 1, self.qty_at(j))).collect();
                (-l.iter().map(|x| x.1).sum::<f64>(), l)
            }
        };
        let open_qty = self.inst.round_qty(open_qty);
        if open_qty != 0.0 {
            let before = e.fills().len();
            let ps = hedge_side(e, open_qty > 0.0);
            if e.market_side(self.cfg.symbol, ps, open_qty, FillReason::Grid, self)
                .is_err()
            {
                self.state = GridState::Stopped;
                self.stopped_at = Some(e.now());
                return;
            }
            let f = e.fills()[before];
            let side = open_qty.signum();
            for (lvl, q) in lots_at {
                self.lots.entry(lvl).push(Lot {
                    side,
                    price: f.price,
                    qty: q,
                    fee: f.fee * q / f.qty,
                });
            }
        }
        for j in lo..=hi {
            if j < k {
                let close = self.cfg.mode == GridMode::Short;
                self.place(e, j, Side::Buy, self.qty_at(j), close);
            } else if j > k {
                let close = self.cfg.mode == GridMode::Long;
                self.place(e, j, Side::Sell, self.qty_at(j), close);
            }
        }
    }

    fn realize_all(&mut self, price: f64, fee: f64) {
        let mut v = -fee;
        for lot in self.lots.iter() {
            v += self.inst.pnl(lot.side * lot.qty, lot.price, price) - lot.fee;
        }
        self.stop_pnl += v;
        self.lots.clear();
    }

    /// The position of `sign` (+1 long, −1 short) closed at `price` with `fee`: in one-way mode
    /// the whole inventory, in hedge mode that side's lots only.
    fn realize_side(&mut self, hedge: bool, price: f64, fee: f64, sign: f64) {
        if !hedge {
            return self.realize_all(price, fee);
        }
        let mut v = -fee;
        for lot in self.lots.iter().filter(|l| l.side == sign) {
            v += self.inst.pnl(lot.side * lot.qty, lot.price, price) - lot.fee;
        }
        self.stop_pnl += v;
        self.lots.retain(|l| l.side != sign);
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
        if !self.cfg.close_on_stop {
            return;
        }
        for long in [true, false] {
            let ps = hedge_side(e, long);
            let q = e.account().leg(i, ps).qty;
            if q != 0.0 && (ps != PositionSide::Both || long) {
                let before = e.fills().len();
                let reason = Some(FillReason::Grid);
                if e.fill_at_side(i, ps, -q, price, false, reason, self)
                    .is_ok()
                {
                    let fee = e.fills()[before].fee;
                    self.realize_side(e.account().is_hedge(), price, fee, q.signum());
                }
            }
        }
    }

    fn matched_fill(&mut self, f: &FillRow, k: i64) {
        // A sell closing at k matches the long lot at k − 1; a buy closing at k the short lot at k + 1.
        let origin = if f.side < 0 { k - 1 } else { k + 1 };
        let inst = &self.inst;
        let Some(lots) = self.lots.get_mut(origin) else {
            return;
        };
        let mut left = f.qty;
        while left > 1e-12 && !lots.is_empty() {
            let lot = &mut lots[0];
            let m = left.min(lot.qty);
            let lot_fee = lot.fee * m / lot.qty;
            let fee = f.fee * m / f.qty;
            self.matched_profit += inst.pnl(lot.side * m, lot.price, f.price) - lot_fee - fee;
            self.matched += 1;
            lot.qty -= m;
            lot.fee -= lot_fee;
            left -= m;
            if lot.qty <= 1e-12 {
                lots.remove(0);
            }
        }
    }

    /// The grid's open orders of one side, by price: the lowest buy or the highest sell.
    fn extreme_order(&self, e: &Engine, side: Side) -> Option<u64> {
        let ids = e.open_orders(self.cfg.symbol);
        let mine = ids
            .into_iter()
            .filter_map(|id| e.order(id))
            .filter(|o| o.tag & GRID_BIT != 0 && o.side == side);
        match side {
            Side::Buy => mine
                .min_by(|a, b| a.price.total_cmp(&b.price))
                .map(|o| o.id),
            Side::Sell => mine
                .max_by(|a, b| a.price.total_cmp(&b.price))
                .map(|o| o.id),
        }
    }

    fn step_price(&self, p: f64, up: bool) -> f64 {
        let (l, u, n) = (self.cfg.lower, self.cfg.upper, self.cfg.n as f64);
        match (self.cfg.geometric, up) {
            (true, true) => p * (u / l).powf(1.0 / n),
            (true, false) => p / (u / l).powf(1.0 / n),
            (false, true) => p + (u - l) / n,
            (false, false) => p - (u - l) / n,
        }
    }

    fn shift_up(&mut self, e: &mut Engine) {
        let new_top = self.level(self.hi() + 1);
        if self.cfg.trailing_up_limit.is_some_and(|t| new_top > t) {
            self.trail_up = false;
            return;
        }
        if let Some(id) = self.extreme_order(e, Side::Buy) {
            let _ = e.cancel(id);
        }
        let old_top = self.hi();
        self.lo += 1;
        self.shifts += 1;
        self.place(e, old_top, Side::Buy, self.qty_at(old_top), false);
        if !self.cfg.trailing_down {
            self.stop_lower = self.stop_lower.map(|s| self.step_price(s, true));
        }
    }

    fn shift_down(&mut self, e: &mut Engine) {
        let new_bottom = self.level(self.lo - 1);
        if self.cfg.trailing_down_limit.is_some_and(|t| new_bottom < t) {
            self.trail_down = false;
            return;
        }
        if let Some(id) = self.extreme_order(e, Side::Sell) {
            let _ = e.cancel(id);
        }
        let old_bottom = self.lo;
        self.lo -= 1;
        self.shifts -= 1;
        self.place(e, old_bottom, Side::Sell, self.qty_at(old_bottom), false);
        if !self.cfg.trailing_up {
            self.stop_upper = self.stop_upper.map(|s| self.step_price(s, false));
        }
    }
}

/// The position side of an order on the long (`long`) or short side: `Both` in one-way mode.
fn hedge_side(e: &Engine, long: bool) -> PositionSide {
    e.account().side_of(long)
}

impl Strategy for Grid {
    fn report(&self, e: &Engine, stats: &mut RunStats) {
        let mark = e.account().mark_price(self.cfg.symbol).unwrap_or(f64::NAN);
        stats.set("grid_matched_profit", Stat::F(self.matched_profit()));
        stats.set("grid_unmatched_pnl", Stat::F(self.unmatched_pnl(mark)));
    }

    fn on_fill(&mut self, e: &mut Engine, f: &FillRow) {
        if f.symbol != self.cfg.symbol {
            return;
        }
        if matches!(f.reason, FillReason::Liquidation | FillReason::Settlement) {
            // The position (in hedge mode, the side) closed at f.price: the grid inventory of it
            // is realized there.
            self.realize_side(e.account().is_hedge(), f.price, f.fee, -(f.side as f64));
            if self.state == GridState::Running {
                self.state = GridState::Stopped;
                self.stopped_at = Some(e.now());
            }
            return;
        }
        if self.state != GridState::Running || f.reason != FillReason::Grid {
            return;
        }
        let Some((tag, whole)) = e
            .order(f.order_id)
            .map(|o| (o.tag, o.qty.to_bits() == f.qty.to_bits()))
        else {
            return;
        };
        if tag & GRID_BIT == 0 {
            return;
        }
        let k = (tag & LEVEL_MASK) as i64 - LEVEL_OFFSET;
        let (lo, hi) = (self.lo, self.hi());
        if tag & CLOSE_BIT == 0 {
            // An opening fill: inventory, and its counter-order one level away.
            self.lots.entry(k).push(Lot {
                side: f.side as f64,
                price: f.price,
                qty: f.qty,
                fee: f.fee,
            });
            // A part of an order may be off the step (what was left of it, less the part).
            if f.side > 0 && k < hi {
                self.place_as(e, k + 1, Side::Sell, f.qty, true, whole);
            } else if f.side < 0 && k > lo {
                self.place_as(e, k - 1, Side::Buy, f.qty, true, whole);
            }
        } else {
            self.matched_fill(f, k);
            // The pair is done: the opening order goes back on its level.
            if f.side < 0 && k > lo {
                self.place(e, k - 1, Side::Buy, self.qty_at(k - 1), false);
            } else if f.side > 0 && k < hi {
                self.place(e, k + 1, Side::Sell, self.qty_at(k + 1), false);
            }
        }
    }

    fn on_close(&mut self, e: &mut Engine) {
        let i = self.cfg.symbol;
        let price = e.price(i);
        // No price yet, or no bar at this step (its range is the last bar's): it waits.
        if !price.is_finite() || e.is_stale(i) {
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
                if let Some(s) = self.stop_lower.filter(|&s| lo <= s) {
                    self.stop(e, s);
                } else if let Some(s) = self.stop_upper.filter(|&s| hi >= s) {
                    self.stop(e, s);
                }
            }
            GridState::Stopped => {}
        }
    }

    fn quiet_band(&self, e: &Engine, symbol: usize) -> Option<QuietBand> {
        if symbol != self.cfg.symbol {
            return Some(QuietBand::ALL);
        }
        match self.state {
            GridState::Stopped => Some(QuietBand::ALL),
            // The stops are checked on each bar's range.
            GridState::Running => Some(QuietBand::of_path(
                self.stop_lower.unwrap_or(f64::NEG_INFINITY),
                self.stop_upper.unwrap_or(f64::INFINITY),
            )),
            // Without a trigger it starts at the next close; with one, once a bar's range holds it.
            GridState::Waiting => {
                let (t, p) = (self.cfg.trigger?, e.price(symbol));
                if t < p {
                    Some(QuietBand::of_path(t, f64::INFINITY))
                } else if t > p {
                    Some(QuietBand::of_path(f64::NEG_INFINITY, t))
                } else {
                    None
                }
            }
        }
    }

    fn watch(&self, symbol: usize) -> (f64, f64) {
        if symbol != self.cfg.symbol || self.state != GridState::Running {
            return (f64::NAN, f64::NAN);
        }
        let down = if self.trail_down {
            self.level(self.lo - 1)
        } else {
            f64::NAN
        };
        let up = if self.trail_up {
            self.level(self.hi() + 1)
        } else {
            f64::NAN
        };
        (down, up)
    }

    fn on_price(&mut self, e: &mut Engine, symbol: usize, price: f64) {
        if symbol != self.cfg.symbol || self.state != GridState::Running {
            return;
        }
        let (down, up) = self.watch(symbol);
        if !up.is_nan() && price >= up {
            self.shift_up(e);
        } else if !down.is_nan() && price <= down {
            self.shift_down(e);
        }
    }
}

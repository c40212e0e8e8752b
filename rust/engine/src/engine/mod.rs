//! The engine: one account, its orders, and the step loop that moves them along each bar's
//! intrabar path (docs/matching.md). It is the one place the rules of a run are applied, for the
//! built-in strategies, for Python callback strategies and for Monte Carlo paths alike.
//!
//! Per step: [`Engine::begin_step`] (pending orders go live), funding ([`Engine::funding`]),
//! settlement ([`Engine::settle`]), the path of each symbol's bar ([`Engine::bar`]), then
//! [`Engine::end_step`] (the strategy's close decision, the statistics, the history row).
//!
//! The rooms: [`config`] (options, recording), [`orders`] (the order lifecycle), [`fills`],
//! [`path`] (the walk along the path), [`risk`] (liquidation and settlement), [`history`]
//! (what is recorded), [`strategy`] (the trait the engine calls), [`run`] (the event loop).

mod ahead;
mod beside;
pub mod config;
mod fills;
mod fold;
pub mod history;
mod inputs;
mod mark_path;
mod orders;
mod path;
mod rebates;
mod risk;
pub mod run;
mod spare;
mod step;
pub mod strategy;
mod stretch;
mod warn;

use serde::{Deserialize, Serialize};

pub use ahead::{AHEAD_ROWS, CHECK_ROWS};
pub use config::{Config, LiquidationClose, Record};
pub use history::History;
pub use inputs::{Inputs, SymbolInput};
pub use rebates::{rebate_share, RebateRow, RebateSchedule};
pub use run::{run, run_checked, run_clocked};
pub use strategy::{NoStrategy, QuietBand, Strategy};

use crate::error::LedgerError;
use crate::ledger::Account;
use crate::matching::{OpenOrders, Order};
use crate::record::{FillRow, FundingRow};
use crate::stats::{CurveStats, RunStats, Totals};
use crate::warnings::Warnings;

const NONE: f64 = f64::NAN;

fn nan() -> f64 {
    NONE
}

/// The matching engine for one account.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Engine {
    account: Account,
    config: Config,
    book: OpenOrders,
    fills: Vec<FillRow>,
    funding_rows: Vec<FundingRow>,
    /// Rebate credits (engine/rebates.rs).
    #[serde(default)]
    rebate_rows: Vec<RebateRow>,
    /// Per symbol: the rebate schedule of the current run, if any.
    #[serde(default)]
    rebates: Vec<Option<rebates::RebateBook>>,
    /// Per symbol: the price its current bar started from (the auto-deleveraging reference).
    #[serde(default)]
    bar_ref: Vec<f64>,

    history: History,
    curve: CurveStats,
    /// Where each step's value goes while the fold runs on another core (engine/fold.rs).
    #[serde(skip)]
    sink: fold::SinkSlot,
    now: i64,
    /// Steps begun so far.
    steps: u64,
    /// Whether the current step's row has been recorded.
    recorded: bool,
    /// `record` is `Every(1)` (the common case, decided once): every step is recorded.
    every_step: bool,
    /// Fills at the start of the current step (the `fills` recording mode).
    step_fills: usize,
    /// Quiet bars of a one-symbol run skip the step frame ([`Engine::quiet_stretch`]).
    quiet_stretches: bool,
    in_path: bool,
    /// The bar being walked has the mark's own path: fills do not move the mark
    /// (engine/mark_path.rs).
    #[serde(default)]
    own_mark: bool,
    cur: Vec<f64>,
    gap_fill: f64,
    /// Where a liquidation inside the mark's gap closes (the mark's open; NaN: outside the gap).
    #[serde(default = "nan")]
    mark_gap_fill: f64,
    vol_left: Vec<f64>,
    expired: Vec<bool>,
    liq: Vec<(f64, f64)>,
    liq_dirty: bool,
    /// Bumped by every change to a position or the wallet (with the book's version: the key of
    /// the threshold cache).
    epoch: u64,
    /// Per symbol: (low, high) of the last bar (its previous price included).
    range: Vec<(f64, f64)>,
    /// Per symbol: (key, down, up) of the last [`Engine::thresholds`] computation.
    thr: Vec<(u64, f64, f64)>,
    blown: bool,
    /// Inside a run ([`run::run_checked`]): the walk of a bar reads the stop flags before each
    /// event (decision 150). Steps taken one at a time (the `Exchange` API) walk their bars
    /// whole, as before, whatever another run's flags say.
    #[serde(skip)]
    stoppable: bool,
    liquidated_at: Option<i64>,
    liquidation_step: Option<u64>,
    /// Per symbol: no bar at the current step of a run (not tradable; marked at its last price).
    stale: Vec<bool>,
    /// Per symbol: the steps without a bar, after and before its data began.
    gaps: Vec<[Gap; 2]>,
    /// What the run counted besides its numbers (see [`Engine::warnings`]).
    warnings: Warnings,
}

/// Steps without a bar: how many, the first and the last.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
struct Gap {
    count: u64,
    first: i64,
    last: i64,
}

impl Gap {
    #[inline]
    fn add(&mut self, ts: i64) {
        if self.count == 0 {
            self.first = ts;
        }
        self.count += 1;
        self.last = ts;
    }
}

impl Engine {
    /// An engine around `account`.
    pub fn new(mut account: Account, mut config: Config) -> Result<Self, LedgerError> {
        config.validate()?;
        // The what-if ledger is settled here, once: no margin checks in the account, no
        // liquidation in the loop (so the per-step liquidation test stays one flag).
        account.set_margin_checks(!config.what_if);
        config.liquidation &= !config.what_if;
        let n = account.len();
        let history = History::new(history::slots(&account), account.is_inverse());
        let curve = CurveStats::new(account.equity());
        let mut book = OpenOrders::new(n);
        let spare = spare::take().unwrap_or_default();
        book.set_arena(spare.orders, spare.counted);
        Ok(Self {
            config,
            book,
            fills: spare.fills,
            funding_rows: spare.funding,
            rebate_rows: Vec::new(),
            rebates: vec![None; n],
            bar_ref: vec![NONE; n],
            history,
            curve,
            sink: fold::SinkSlot::default(),
            now: i64::MIN,
            steps: 0,
            recorded: false,
            every_step: matches!(config.record, Record::Every(1)),
            step_fills: 0,
            quiet_stretches: true,
            in_path: false,
            own_mark: false,
            cur: vec![NONE; n],
            gap_fill: NONE,
            mark_gap_fill: NONE,
            vol_left: vec![f64::INFINITY; n],
            expired: vec![false; n],
            liq: vec![(NONE, NONE); n],
            liq_dirty: true,
            epoch: 1,
            range: vec![(f64::NAN, f64::NAN); n],
            thr: vec![(0, f64::NAN, f64::NAN); n],
            blown: false,
            stoppable: false,
            liquidated_at: None,
            liquidation_step: None,
            stale: vec![false; n],
            gaps: vec![[Gap::default(); 2]; n],
            warnings: Warnings::default(),
            account,
        })
    }

    /// Whether quiet bars of a one-symbol run may skip the step frame (on by default). Off, every
    /// bar takes the full step: the tests hold the fast path to it, bit for bit.
    #[doc(hidden)]
    pub fn set_quiet_stretches(&mut self, on: bool) {
        self.quiet_stretches = on;
    }

    // ----- reading ------------------------------------------------------------------------

    /// The account.
    pub fn account(&self) -> &Account {
        &self.account
    }

    /// Mutable access to the account's settings (leverage, margin mode, transfers); fills go
    /// through the engine.
    pub fn account_mut(&mut self) -> &mut Account {
        self.touch_liquidation();
        &mut self.account
    }

    /// The options.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Every order placed so far (the orders log), in id order (`id = index + 1`).
    pub fn orders(&self) -> &[Order] {
        self.book.log()
    }

    /// Why order `o` (of this engine's log) ended as it did: empty while open or when filled
    /// normally.
    pub fn order_reason(&self, o: &Order) -> &str {
        self.book.reason(o)
    }

    /// The order with id `id`.
    pub fn order(&self, id: u64) -> Option<&Order> {
        id.checked_sub(1)
            .and_then(|i| self.book.log().get(i as usize))
    }

    /// Every fill so far.
    pub fn fills(&self) -> &[FillRow] {
        &self.fills
    }

    /// Every funding payment so far.
    pub fn funding_rows(&self) -> &[FundingRow] {
        &self.funding_rows
    }

    /// The recorded history.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The fold of the equity curve so far (every step, whatever is recorded).
    pub fn curve(&self) -> CurveStats {
        debug_assert!(self.sink.0.is_none(), "the fold is on another core");
        self.curve.clone()
    }

    /// The recorded columns, handed out for a view without a copy (see
    /// [`History::share`]): (the shared data, the history to read its shape from).
    pub fn share_history(&mut self) -> (history::SharedColumns, &History) {
        let data = self.history.share();
        (data, &self.history)
    }

    /// Starts the statistics from `initial` (before the first step: a strategy whose capital is
    /// partly outside the account states its total).
    pub fn set_initial_value(&mut self, initial: f64) {
        if self.steps == 0 {
            self.curve = CurveStats::new(initial);
        }
    }

    /// The run's figures so far, with the strategy's own.
    pub fn stats<S: Strategy>(&self, strat: &S) -> RunStats {
        let totals = Totals {
            fills: self.account.fill_count(),
            volume: self.account.volume(),
            fees: self.account.fees(),
            funding: self.account.funding(),
            rebates: self.account.rebates(),
            liquidated_at: self.liquidated_at,
            liquidation_step: self.liquidation_step,
        };
        let mut s = RunStats::new(&self.curve(), &totals);
        strat.report(self, &mut s);
        s
    }

    /// Reserves room for `steps` more steps of records (so that a run allocates once, not per bar);
    /// an out-of-memory error when they do not fit.
    pub fn reserve_steps(&mut self, steps: usize) -> Result<(), LedgerError> {
        let rows = self.config.record.rows_for(steps);
        self.history.reserve(rows)
    }

    /// The current step's timestamp.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// Steps begun so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The current price of symbol `i` (the path point being processed, else the last mark).
    pub fn price(&self, i: usize) -> f64 {
        self.cur[i]
    }

    /// The range symbol `i`'s price covered in its last bar (with the gap from the price before):
    /// (low, high); NaN before any bar.
    pub fn bar_range(&self, i: usize) -> (f64, f64) {
        self.range[i]
    }

    /// Whether symbol `i`'s contract has expired (settled).
    pub fn is_expired(&self, i: usize) -> bool {
        self.expired[i]
    }

    /// Whether a liquidation has blown the account (it no longer trades).
    pub fn blown(&self) -> bool {
        self.blown
    }

    /// Whether nothing can change any more: the account is blown and holds no position.
    pub fn is_finished(&self) -> bool {
        self.blown && (0..self.account.len()).all(|i| self.account.is_flat(i))
    }

    /// When the account was liquidated (cross) or first had a position liquidated (isolated).
    pub fn liquidated_at(&self) -> Option<i64> {
        self.liquidated_at
    }

    /// Ids of the open orders of symbol `i` (including those waiting to go live).
    pub fn open_orders(&self, i: usize) -> Vec<u64> {
        self.book.open_ids(i)
    }

    #[inline]
    fn touch_liquidation(&mut self) {
        self.liq_dirty = true;
        self.epoch += 1;
    }
}

#[cfg(test)]
mod tests;

impl Drop for Engine {
    /// Hands the record buffers to the next engine ([`spare`]).
    fn drop(&mut self) {
        let (orders, counted) = self.book.take_arena();
        spare::give(spare::Spare {
            fills: std::mem::take(&mut self.fills),
            funding: std::mem::take(&mut self.funding_rows),
            orders,
            counted,
        });
    }
}

//! The walk along a bar's intrabar path: the gap from the last price to the open (everything it
//! crosses fills at the open), then open → extremes → close; on each segment the next event
//! ([`crate::matching::next_event`]) is handled until none is left. A quiet bar (nothing resting,
//! no liquidation and no watched level within its range) only moves the mark.

use super::{Engine, Strategy, NONE};
use crate::ledger::Liquidity;
use crate::market::Bar;
use crate::matching::{next_event, Event, OrderKind, Reach, Side};

impl Engine {
    /// Runs symbol `i`'s bar along its path: the gap from the last price to the open (everything
    /// it crosses fills at the open), then open → extremes → close; marks the symbol at the close.
    #[inline]
    pub fn bar<S: Strategy>(&mut self, i: usize, bar: &Bar, strat: &mut S) {
        if bar.has_mark_path() {
            self.marked_bar(i, bar, strat);
        } else if !self.quiet_bar(i, bar.low, bar.high, bar.close, bar.mark, strat) {
            self.walk_bar(i, bar, strat);
        }
    }

    /// The start of symbol `i`'s bar, from its low, high, close and mark (NaN: the close): the
    /// range it covers, and, when nothing rests, is watched or can be liquidated within it (the
    /// previous price, the high and the low), the whole bar, since the walk would find nothing:
    /// only the mark moves. Returns whether the bar is done; if not, [`Engine::walk_bar`] runs it.
    /// (A run reads only these four columns for the common quiet bar.)
    #[inline(always)]
    pub fn quiet_bar<S: Strategy>(
        &mut self,
        i: usize,
        low: f64,
        high: f64,
        close: f64,
        mark: f64,
        strat: &mut S,
    ) -> bool {
        if self.expired[i] {
            return true;
        }
        if self.account.len() > 1 {
            // Other symbols' marks moved since: a cross liquidation price depends on them.
            self.touch_liquidation();
        }
        let prev = self.cur[i];
        if !prev.is_finite() {
            self.range[i] = (low, high);
            return false;
        }
        let (lo, hi) = (low.min(prev), high.max(prev));
        self.range[i] = (lo, hi);
        if !self.book.book(i).trailing.is_empty() || !(mark.is_nan() || mark == close) {
            return false;
        }
        if self.config.adl_move > 0.0 && !self.account.is_flat(i) {
            return false; // the deleveraging level moves with each bar: the walk looks for it
        }
        let (down, up) = self.thresholds(i);
        let (wd, wu) = strat.watch(i);
        let (down, up) = (
            if wd.is_nan() { down } else { down.max(wd) },
            if wu.is_nan() { up } else { up.min(wu) },
        );
        if lo > down && hi < up {
            self.cur[i] = close;
            self.account.set_mark(i, close);
            return true;
        }
        false
    }

    /// The rest of symbol `i`'s bar when [`Engine::quiet_bar`] did not finish it: the walk along
    /// its path.
    pub fn walk_bar<S: Strategy>(&mut self, i: usize, bar: &Bar, strat: &mut S) {
        let prev = self.cur[i];
        let open = bar.open;
        self.bar_ref[i] = if prev.is_finite() { prev } else { open };
        self.in_path = true;
        self.vol_left[i] = if self.config.max_participation > 0.0 && bar.volume.is_finite() {
            self.config.max_participation * bar.volume
        } else {
            f64::INFINITY
        };
        self.gap_fill = open;
        if prev.is_finite() {
            self.segment(i, prev, open, strat);
        }
        self.walk::<true, S>(i, open, open, strat);
        self.walk::<false, S>(i, open, open, strat);
        self.gap_fill = NONE;
        self.move_to(i, open);
        let pos = self.account.net_qty(i);
        for p in self
            .config
            .path
            .points(open, bar.high, bar.low, bar.close, pos)
        {
            let c = self.cur[i];
            self.segment(i, c, p, strat);
            self.move_to(i, p);
        }
        let m = bar.close_mark();
        if m != bar.close {
            let _ = self.account.mark(i, m);
            if !self.account.is_flat(i) && !self.blown {
                self.touch_liquidation();
                let (ld, lu) = self.liq_levels(i);
                let hit = if m <= ld {
                    Some((ld, true))
                } else if m >= lu {
                    Some((lu, false))
                } else {
                    None
                };
                if let Some((lp, down)) = hit {
                    self.liquidate(i, lp, down, strat);
                    let _ = self.account.mark(i, m);
                }
            }
        }
        self.in_path = false;
    }

    /// The path of symbol `i` reaches point `p`: the mark and the trailing stops follow.
    #[inline]
    fn move_to(&mut self, i: usize, p: f64) {
        self.cur[i] = p;
        let _ = self.account.mark(i, p);
        self.trail_update(i, p);
    }

    /// Walks symbol `i` from `a` to `b` in whichever direction that is.
    #[inline]
    fn segment<S: Strategy>(&mut self, i: usize, a: f64, b: f64, strat: &mut S) {
        if b < a {
            self.walk::<true, S>(i, a, b, strat);
        } else if b > a {
            self.walk::<false, S>(i, a, b, strat);
        }
    }

    /// Walks symbol `i` from `a` to `b` (down when `DOWN`), handling everything the price reaches
    /// in the order it reaches it.
    pub(super) fn walk<const DOWN: bool, S: Strategy>(
        &mut self,
        i: usize,
        a: f64,
        b: f64,
        strat: &mut S,
    ) {
        self.cur[i] = a;
        if self.nothing_reached::<DOWN, S>(i, b, strat) {
            return;
        }
        let tick = self.account.instruments()[i].tick_size;
        while !self.blown {
            // In a run, a stop asked for (an interrupt, an allocation that failed) ends the walk
            // here: one bar can hold millions of events (decision 150); the step's end reports it.
            if self.stoppable && crate::control::flags() != 0 {
                return;
            }
            // With the mark's own path the liquidation is the mark's (engine/mark_path.rs).
            let liquidation = if self.own_mark || !self.account.exposed(i, DOWN) {
                NONE
            } else {
                let (ld, lu) = self.liq_levels(i);
                if DOWN {
                    ld
                } else {
                    lu
                }
            };
            let (wd, wu) = strat.watch(i);
            let r = Reach {
                to: b,
                limits_live: self.vol_left[i] > 0.0,
                touch: self.config.touch_fills || !self.gap_fill.is_nan(),
                tick,
                liquidation,
                watch: if DOWN { wd } else { wu },
                adl: self.adl_level(i, DOWN),
                mark_triggers: !self.own_mark,
            };
            let Some((lvl, e)) = next_event::<DOWN>(self.book.book(i), self.book.log(), &r) else {
                return;
            };
            let at = if DOWN {
                lvl.min(self.cur[i])
            } else {
                lvl.max(self.cur[i])
            };
            self.process(i, e, at, strat);
        }
    }

    /// Whether a walk of symbol `i` towards `b` (down when `DOWN`) cannot reach any event: `b`
    /// stops short of the quiet bar's thresholds (the nearest resting trigger and limit, at its
    /// own price, and the liquidation levels; [`Engine::thresholds`]) and of the strategy's
    /// watched level. Those levels are at or beyond every event the walk's chooser would take, so
    /// the walk is skipped only when it would find nothing. Trailing stops and the deleveraging
    /// level are not in the thresholds: with either, the walk looks.
    #[inline(always)]
    fn nothing_reached<const DOWN: bool, S: Strategy>(
        &mut self,
        i: usize,
        b: f64,
        strat: &S,
    ) -> bool {
        if self.config.adl_move > 0.0 || !self.book.book(i).trailing.is_empty() {
            return false;
        }
        let (down, up) = self.thresholds(i);
        let (wd, wu) = strat.watch(i);
        // A watched level of NaN is none.
        if DOWN {
            down < b && (wd.is_nan() || wd < b)
        } else {
            up > b && (wu.is_nan() || wu > b)
        }
    }

    /// Handles event `e` of symbol `i` at price `at` (fills at the open inside the gap).
    pub(super) fn process<S: Strategy>(&mut self, i: usize, e: Event, at: f64, strat: &mut S) {
        self.cur[i] = at;
        if !self.own_mark {
            let _ = self.account.mark(i, at);
        }
        let fp = if self.gap_fill.is_nan() {
            at
        } else {
            self.gap_fill
        };
        let slip = self.config.slippage;
        match e {
            Event::Trigger(j) => {
                self.book.unrest(j);
                let o = self.book.get(j);
                let side = o.side;
                if o.kind == OrderKind::StopLimit {
                    let limit = o.price;
                    self.book.get_mut(j).triggered = true;
                    if super::orders::marketable(side, limit, fp) {
                        let _ = self.execute(j, fp, Liquidity::Taker, strat);
                    } else {
                        self.rest(j);
                    }
                } else {
                    let _ =
                        self.execute(j, fp * (1.0 + side.sign() * slip), Liquidity::Taker, strat);
                }
            }
            Event::Trailing(j) => {
                self.book.unrest(j);
                let side = self.book.get(j).side;
                let _ = self.execute(j, fp * (1.0 + side.sign() * slip), Liquidity::Taker, strat);
            }
            Event::Limit(j) => {
                let p = if self.gap_fill.is_nan() {
                    self.book.get(j).price
                } else {
                    fp
                };
                let _ = self.execute(j, p, Liquidity::Maker, strat);
            }
            Event::Liquidation(down) => self.liquidate(i, fp, down, strat),
            Event::Watch => strat.on_price(self, i, at),
            Event::Deleverage(down) => self.deleverage(i, fp, down, strat),
        }
    }

    /// Trailing stops of symbol `i` see price `p`: activation, and the extreme since.
    #[inline]
    pub(super) fn trail_update(&mut self, i: usize, p: f64) {
        let n = self.book.book(i).trailing.len();
        for k in 0..n {
            let idx = self.book.book(i).trailing[k];
            self.trail_touch(idx, p);
        }
    }

    /// Trailing stop `idx` sees price `p`.
    pub(super) fn trail_touch(&mut self, idx: u32, p: f64) {
        let o = self.book.get_mut(idx);
        if o.extreme.is_nan() {
            let active = o.activation.is_nan()
                || match o.side {
                    Side::Sell => p >= o.activation,
                    Side::Buy => p <= o.activation,
                };
            if active {
                o.extreme = p;
            }
        } else {
            o.extreme = match o.side {
                Side::Sell => o.extreme.max(p),
                Side::Buy => o.extreme.min(p),
            };
        }
    }

    /// The highest level a falling price would handle first and the lowest a rising price would,
    /// over the symbol's book and its liquidation price (trailing stops excluded: the caller checks
    /// there are none), cached until the book, a position or the wallet changes.
    #[inline(always)]
    pub(super) fn thresholds(&mut self, i: usize) -> (f64, f64) {
        let key = self.epoch + self.book.version();
        let (k, d, u) = self.thr[i];
        if k == key {
            return (d, u);
        }
        let (mut down, mut up) = self.book.book(i).reach_levels(self.book.log());
        if !self.account.is_flat(i) {
            let (ld, lu) = self.liq_levels(i);
            if !ld.is_nan() {
                down = down.max(ld);
            }
            if !lu.is_nan() {
                up = up.min(lu);
            }
        }
        // The liquidation level may have been refreshed above: key on the state after it.
        self.thr[i] = (self.epoch + self.book.version(), down, up);
        (down, up)
    }
}

//! A bar with the mark's own path (docs/matching.md, "Mark price"): orders fill on the trade
//! path, while unrealized PnL, margin and liquidation follow the mark, which walks its own open →
//! extremes → close beside it. The two walk in step: the trade path's segments (the gap, then
//! open → first extreme → second extreme → close) are paired with the mark's (the mark visits its
//! extremes in the same order as the trade price), and on a pair both move linearly on one shared
//! clock `t ∈ [0, 1]`. Events happen in the order of their `t`: an order reached by the trade
//! price at `t`, a liquidation when the mark reaches the liquidation price at `t` (ties: the order
//! first, as on one path). A last-price wick that the mark does not follow liquidates no one; a
//! mark move liquidates even where the last price never traded.

use super::{Engine, Strategy, NONE};
use crate::market::Bar;
use crate::matching::{next_event, Event, Reach};

impl Engine {
    /// Runs symbol `i`'s bar that has the mark's own path (see the module doc).
    pub(super) fn marked_bar<S: Strategy>(&mut self, i: usize, bar: &Bar, strat: &mut S) {
        if self.expired[i] {
            return;
        }
        if self.account.len() > 1 {
            self.touch_liquidation();
        }
        let [m_open, m_high, m_low] = bar.mark_ohl;
        let m_close = bar.mark;
        let prev = self.cur[i];
        let prev_mark = self.account.mark_price(i).unwrap_or(m_open);
        let (lo, hi) = if prev.is_finite() {
            (bar.low.min(prev), bar.high.max(prev))
        } else {
            (bar.low, bar.high)
        };
        self.range[i] = (lo, hi);
        self.bar_ref[i] = if prev.is_finite() { prev } else { bar.open };
        let adl = self.config.adl_move > 0.0 && !self.account.is_flat(i);
        if prev.is_finite() && self.book.book(i).trailing.is_empty() && !adl {
            // Quiet: the trade range reaches no order and no watched level, the mark's range no
            // liquidation.
            let (mut down, mut up) = self.book.book(i).trade_levels(self.book.log());
            let (md, mu) = self.book.book(i).mark_levels(self.book.log());
            let (wd, wu) = strat.watch(i);
            if !wd.is_nan() {
                down = down.max(wd);
            }
            if !wu.is_nan() {
                up = up.min(wu);
            }
            let (mlo, mhi) = (m_low.min(prev_mark), m_high.max(prev_mark));
            if lo > down
                && hi < up
                && mlo > md
                && mhi < mu
                && !self.mark_reaches_liquidation(i, mlo, mhi)
            {
                self.cur[i] = bar.close;
                self.account.set_mark(i, m_close);
                return;
            }
        }
        self.in_path = true;
        self.own_mark = true;
        self.vol_left[i] = if self.config.max_participation > 0.0 && bar.volume.is_finite() {
            self.config.max_participation * bar.volume
        } else {
            f64::INFINITY
        };
        let open = bar.open;
        // The gap: everything it crosses fills at the open; a liquidation the mark's gap crosses
        // closes at the mark's open.
        self.gap_fill = open;
        self.mark_gap_fill = m_open;
        let from = if prev.is_finite() { prev } else { open };
        self.paired(i, from, open, prev_mark, m_open, strat);
        // What is already through the open (trade events only: the walk leaves the liquidation to
        // the mark), then a liquidation that a fill at the open brought through the mark.
        self.walk::<true, S>(i, open, open, strat);
        self.walk::<false, S>(i, open, open, strat);
        self.paired(i, open, open, m_open, m_open, strat);
        self.gap_fill = NONE;
        self.mark_gap_fill = NONE;
        self.trail_update(i, open);
        let pos = self.account.net_qty(i);
        let path = self.config.path;
        let high_first = path.high_first(open, bar.high, bar.low, pos);
        let (trade, mark) = if high_first {
            ([bar.high, bar.low, bar.close], [m_high, m_low, m_close])
        } else {
            ([bar.low, bar.high, bar.close], [m_low, m_high, m_close])
        };
        let mut m = m_open;
        for k in 0..3 {
            let c = self.cur[i];
            self.paired(i, c, trade[k], m, mark[k], strat);
            self.cur[i] = trade[k];
            m = mark[k];
            self.account.set_mark(i, m);
            self.trail_update(i, trade[k]);
        }
        self.own_mark = false;
        self.in_path = false;
    }

    /// The mark's next event on its segment from the current mark towards `mb` (the pair's mark
    /// runs from `ma`): a trigger on the mark, then the liquidation, at the earliest clock time
    /// (at once, `t_now`, when the mark is already through it). Returns its time, the mark then,
    /// and the event.
    fn mark_event(&mut self, i: usize, t_now: f64, ma: f64, mb: f64) -> Option<(f64, f64, Event)> {
        let m_now = self.account.mark_price(i).unwrap_or(ma);
        // When the mark reaches `level` going down (`down`) or up: (time, mark then).
        let reach = |level: f64, down: bool| -> Option<(f64, f64)> {
            if (down && level >= m_now) || (!down && level <= m_now) {
                Some((t_now, m_now))
            } else if (down && mb < m_now && level >= mb) || (!down && mb > m_now && level <= mb) {
                Some(((level - ma) / (mb - ma), level))
            } else {
                None
            }
        };
        let mut best: Option<(f64, f64, Event)> = None;
        let mut consider = |found: Option<(f64, f64)>, e: Event| {
            if let Some((t, m)) = found {
                if best.is_none_or(|(tb, _, _)| t < tb) {
                    best = Some((t, m, e));
                }
            }
        };
        let book = self.book.book(i);
        let orders = self.book.log();
        // Falling and rising triggers: the first each way; between them the earlier in time.
        let mut first: [Option<(f64, f64, u64, u32)>; 2] = [None, None];
        for (k, (list, down)) in [(&book.mark_falling, true), (&book.mark_rising, false)]
            .into_iter()
            .enumerate()
        {
            if let Some(&j) = list.last() {
                let o = &orders[j as usize];
                first[k] = reach(o.trigger, down).map(|(t, m)| (t, m, o.seq, j));
            }
        }
        let trig = match first {
            [Some(f), Some(r)] => Some(if (r.0, r.2) < (f.0, f.2) { r } else { f }),
            [f, r] => f.or(r),
        };
        if let Some((t, m, _, j)) = trig {
            consider(Some((t, m)), Event::Trigger(j));
        }
        if !self.account.is_flat(i) {
            let (ld, lu) = self.liq_levels(i);
            if !ld.is_nan() {
                consider(reach(ld, true), Event::Liquidation(true));
            }
            if !lu.is_nan() {
                consider(reach(lu, false), Event::Liquidation(false));
            }
        }
        best
    }

    /// Whether a mark within `[lo, hi]` reaches symbol `i`'s liquidation price.
    fn mark_reaches_liquidation(&mut self, i: usize, lo: f64, hi: f64) -> bool {
        if self.account.is_flat(i) {
            return false;
        }
        let (ld, lu) = self.liq_levels(i);
        lo <= ld || hi >= lu
    }

    /// The paired segments: the trade price from `a` to `b` and the mark from `ma` to `mb` on one
    /// clock; events in the order of their time on it.
    fn paired<S: Strategy>(&mut self, i: usize, a: f64, b: f64, ma: f64, mb: f64, strat: &mut S) {
        self.cur[i] = a;
        self.account.set_mark(i, ma);
        let mut t_now = 0.0f64;
        let tick = self.account.instruments()[i].tick_size;
        while !self.blown {
            // In a run, a stop asked for (an interrupt, an allocation that failed) ends the walk
            // here: one bar can hold millions of events (decision 150); the step's end reports it.
            if self.stoppable && crate::control::flags() != 0 {
                return;
            }
            // The trade path's next event and its time.
            let trade = if b != a {
                let (wd, wu) = strat.watch(i);
                let down = b < a;
                let r = Reach {
                    to: b,
                    limits_live: self.vol_left[i] > 0.0,
                    touch: self.config.touch_fills || !self.gap_fill.is_nan(),
                    tick,
                    liquidation: NONE,
                    watch: if down { wd } else { wu },
                    adl: self.adl_level(i, down),
                    mark_triggers: false,
                };
                let found = if down {
                    next_event::<true>(self.book.book(i), self.book.log(), &r)
                } else {
                    next_event::<false>(self.book.book(i), self.book.log(), &r)
                };
                found.map(|(lvl, e)| {
                    let c = self.cur[i];
                    let at = if down { lvl.min(c) } else { lvl.max(c) };
                    ((at - a) / (b - a), at, e)
                })
            } else {
                None
            };
            let mark = self.mark_event(i, t_now, ma, mb);
            let trade_first = match (&trade, &mark) {
                (Some((t, _, _)), Some((tm, _, _))) => t <= tm,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if let (true, Some((t, at, e))) = (trade_first, trade) {
                t_now = t.max(t_now);
                let m = along(ma, mb, t_now);
                self.account.set_mark(i, m);
                self.process(i, e, at, strat);
            } else if let Some((tm, lm, e)) = mark {
                t_now = tm.max(t_now);
                if b != a {
                    self.cur[i] = along(a, b, t_now);
                }
                self.account.set_mark(i, lm);
                match e {
                    Event::Liquidation(down) => {
                        let price = if self.mark_gap_fill.is_nan() {
                            lm
                        } else {
                            self.mark_gap_fill
                        };
                        self.liquidate(i, price, down, strat);
                    }
                    // A trigger on the mark fills at the trade price of that moment.
                    e => self.process(i, e, self.cur[i], strat),
                }
            } else {
                return;
            }
        }
    }
}

/// The price a fraction `t` of the way from `a` to `b` on a segment of the path, kept between
/// them: across many orders of magnitude (a mark from 1e300 down to 76, say) `a + t·(b − a)`
/// rounds past `b`, to 0 there, and a mark of 0 is no price.
#[inline]
fn along(a: f64, b: f64, t: f64) -> f64 {
    (a + t * (b - a)).clamp(a.min(b), a.max(b))
}

#[cfg(test)]
mod tests {
    use super::along;

    #[test]
    fn a_point_along_a_segment_stays_on_it() {
        // Unclamped, the end of this segment is 1.05e300 + (76 − 1.05e300) = 0.
        assert_eq!(along(1.05e300, 76.0, 1.0), 76.0);
        let near_end = along(1.05e300, 76.0, 1.0 - 1e-17);
        assert!((76.0..=1.05e300).contains(&near_end));
        assert_eq!(along(76.0, 1.05e300, 0.0), 76.0);
        assert_eq!(along(100.0, 100.0, 0.5), 100.0);
        // Inside a plain segment the bits are those of the formula.
        assert_eq!(along(100.0, 110.0, 0.25), 100.0 + 0.25 * (110.0 - 100.0));
    }
}

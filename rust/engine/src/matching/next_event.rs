//! The next-event chooser: on a segment of the intrabar path going down (or up) to `to`, which
//! resting order, liquidation or watched level the price reaches first. One function for both
//! directions (`DOWN` is a const parameter, so each direction compiles to its own branch-free
//! code); it reads the book and mutates nothing.
//!
//! Going down, the candidates are: triggers that fire on a falling price (level = trigger, class
//! 0), activated trailing sells (level = extreme · (1 − callback), class 1), the best resting buy
//! limit (level = its price, or one tick below without touch fills, class 2), the liquidation of a
//! long (class 3), the strategy's watched level (class 4) and the auto-deleveraging level of a
//! short (class 5; a long's going up). The highest level at or above `to`
//! comes first; ties go by class, then time priority. Going up mirrors this.

use super::book::Book;
use super::order::{Order, Side};

/// What the walk handles next.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event {
    /// A trigger order (stop, stop-limit, TP, SL) fires.
    Trigger(u32),
    /// A trailing stop fires.
    Trailing(u32),
    /// A resting limit fills.
    Limit(u32),
    /// The position is liquidated, by a falling price (`true`) or a rising one.
    Liquidation(bool),
    /// The strategy's watched level is reached.
    Watch,
    /// The auto-deleveraging model closes the position in profit on a falling price (`true`: a
    /// short) or a rising one.
    Deleverage(bool),
}

/// What the chooser needs besides the book.
#[derive(Clone, Copy, Debug)]
pub struct Reach {
    /// The segment's end.
    pub to: f64,
    /// Whether limits may fill (volume left in the bar).
    pub limits_live: bool,
    /// Limits fill on touch (touch fills, or anything the gap crosses).
    pub touch: bool,
    /// The symbol's tick size (0: none).
    pub tick: f64,
    /// The liquidation level of a position this direction reaches (a long going down, a short
    /// going up); NaN for none.
    pub liquidation: f64,
    /// The strategy's watched level in this direction; NaN for none.
    pub watch: f64,
    /// The auto-deleveraging level of a position in profit this direction reaches (a short going
    /// down, a long going up); NaN for none.
    pub adl: f64,
    /// Triggers on the mark fire on this path too (the mark follows the trade path: no mark
    /// bars); with the mark's own path they are the mark's events (engine/mark_path.rs).
    pub mark_triggers: bool,
}

/// The first event on the segment towards `r.to` (see the module doc): its level and what it is.
#[inline]
pub fn next_event<const DOWN: bool>(
    book: &Book,
    orders: &[Order],
    r: &Reach,
) -> Option<(f64, Event)> {
    let start = if DOWN {
        f64::NEG_INFINITY
    } else {
        f64::INFINITY
    };
    let (mut lvl, mut class, mut seq, mut ev) = (start, u8::MAX, u64::MAX, None);
    let mut consider = |l: f64, c: u8, s: u64, e: Event| {
        let (reached, better) = if DOWN {
            (l >= r.to, l > lvl)
        } else {
            (l <= r.to, l < lvl)
        };
        if reached && (better || (l == lvl && (c, s) < (class, seq))) {
            (lvl, class, seq, ev) = (l, c, s, Some(e));
        }
    };
    let triggers = if DOWN { &book.falling } else { &book.rising };
    if let Some(&j) = triggers.last() {
        let o = &orders[j as usize];
        consider(o.trigger, 0, o.seq, Event::Trigger(j));
    }
    if r.mark_triggers {
        let triggers = if DOWN {
            &book.mark_falling
        } else {
            &book.mark_rising
        };
        if let Some(&j) = triggers.last() {
            let o = &orders[j as usize];
            consider(o.trigger, 0, o.seq, Event::Trigger(j));
        }
    }
    let trail_side = if DOWN { Side::Sell } else { Side::Buy };
    for &j in &book.trailing {
        let o = &orders[j as usize];
        if o.side == trail_side && !o.extreme.is_nan() {
            let l = if DOWN {
                o.extreme * (1.0 - o.callback)
            } else {
                o.extreme * (1.0 + o.callback)
            };
            consider(l, 1, o.seq, Event::Trailing(j));
        }
    }
    if r.limits_live {
        let limits = if DOWN {
            &book.buy_limits
        } else {
            &book.sell_limits
        };
        if let Some(&j) = limits.last() {
            let o = &orders[j as usize];
            let reach = if r.touch {
                o.price
            } else if r.tick > 0.0 {
                if DOWN {
                    o.price - r.tick
                } else {
                    o.price + r.tick
                }
            } else if DOWN {
                o.price.next_down()
            } else {
                o.price.next_up()
            };
            consider(reach, 2, o.seq, Event::Limit(j));
        }
    }
    if !r.liquidation.is_nan() {
        consider(r.liquidation, 3, 0, Event::Liquidation(DOWN));
    }
    if !r.watch.is_nan() {
        consider(r.watch, 4, 0, Event::Watch);
    }
    if !r.adl.is_nan() {
        consider(r.adl, 5, 0, Event::Deleverage(DOWN));
    }
    ev.map(|e| (lvl, e))
}

impl Book {
    /// The highest level a falling price would handle first and the lowest a rising price would,
    /// over the resting triggers and limits (trailing stops excluded). Limits count at their own
    /// price even without touch fills: a gap that lands exactly on a limit fills it.
    /// Triggers on the mark count too (the mark follows the trade path).
    #[inline]
    pub fn reach_levels(&self, orders: &[Order]) -> (f64, f64) {
        let (down, up) = self.trade_levels(orders);
        let (md, mu) = self.mark_levels(orders);
        (down.max(md), up.min(mu))
    }

    /// The nearest levels of the triggers on the mark (falling, rising): what the mark's own path
    /// reaches first.
    #[inline]
    pub fn mark_levels(&self, orders: &[Order]) -> (f64, f64) {
        let level =
            |l: &Vec<u32>, none: f64| l.last().map_or(none, |&j| orders[j as usize].trigger);
        (
            level(&self.mark_falling, f64::NEG_INFINITY),
            level(&self.mark_rising, f64::INFINITY),
        )
    }

    /// [`Book::reach_levels`] over the orders the trade price fires (triggers on the mark left
    /// out).
    #[inline]
    pub fn trade_levels(&self, orders: &[Order]) -> (f64, f64) {
        let mut down = f64::NEG_INFINITY;
        let mut up = f64::INFINITY;
        if let Some(&j) = self.falling.last() {
            down = down.max(orders[j as usize].trigger);
        }
        if let Some(&j) = self.buy_limits.last() {
            down = down.max(orders[j as usize].price);
        }
        if let Some(&j) = self.rising.last() {
            up = up.min(orders[j as usize].trigger);
        }
        if let Some(&j) = self.sell_limits.last() {
            up = up.min(orders[j as usize].price);
        }
        (down, up)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::{OpenOrders, OrderRequest};
    use crate::Instrument;

    fn reach(to: f64) -> Reach {
        Reach {
            to,
            limits_live: true,
            touch: true,
            tick: 0.0,
            liquidation: f64::NAN,
            watch: f64::NAN,
            adl: f64::NAN,
            mark_triggers: true,
        }
    }

    #[test]
    fn the_nearest_level_comes_first_in_both_directions() {
        let inst = Instrument::plain_linear("X", 0.0, 0.0);
        let mut oo = OpenOrders::new(1);
        for (side, p) in [(Side::Buy, 95.0), (Side::Buy, 97.0), (Side::Sell, 104.0)] {
            let idx = oo.open(&OrderRequest::limit(0, side, p, 1.0), 0);
            oo.rest(idx, &inst);
        }
        let down = next_event::<true>(oo.book(0), oo.log(), &reach(90.0));
        assert_eq!(down, Some((97.0, Event::Limit(1))));
        let up = next_event::<false>(oo.book(0), oo.log(), &reach(110.0));
        assert_eq!(up, Some((104.0, Event::Limit(2))));
        // Not reached: the segment ends before the level.
        assert_eq!(next_event::<true>(oo.book(0), oo.log(), &reach(98.0)), None);
        // A liquidation above the best limit comes first; at a tie the limit (class 2) wins.
        let mut r = reach(90.0);
        r.liquidation = 97.0;
        assert_eq!(
            next_event::<true>(oo.book(0), oo.log(), &r),
            Some((97.0, Event::Limit(1)))
        );
        r.liquidation = 98.0;
        assert_eq!(
            next_event::<true>(oo.book(0), oo.log(), &r),
            Some((98.0, Event::Liquidation(true)))
        );
        // Without touch fills a limit is reached one tick through.
        let mut r = reach(90.0);
        r.touch = false;
        r.tick = 0.5;
        assert_eq!(
            next_event::<true>(oo.book(0), oo.log(), &r),
            Some((96.5, Event::Limit(1)))
        );
        assert_eq!(oo.book(0).reach_levels(oo.log()), (97.0, 104.0));
    }
}

//! One symbol's resting orders, kept sorted so that the next order the price reaches is the last
//! element of its list: a bar that touches nothing costs a few comparisons, however many orders rest.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use super::order::{Order, OrderKind, Side, WorkingType};

/// Resting orders of one symbol, by what makes them fire. Each list holds indices into the
/// engine's order arena; the order the price reaches first is at the end, ties by time priority.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Book {
    /// Buy limits: ascending price (last = highest).
    pub buy_limits: Vec<u32>,
    /// Sell limits: descending price (last = lowest).
    pub sell_limits: Vec<u32>,
    /// Triggers that fire on a rising price: descending trigger (last = lowest).
    pub rising: Vec<u32>,
    /// Triggers that fire on a falling price: ascending trigger (last = highest).
    pub falling: Vec<u32>,
    /// Trailing stops (few; scanned).
    pub trailing: Vec<u32>,
    /// Triggers fired by the mark rising (`working_type` mark): descending trigger.
    #[serde(default)]
    pub mark_rising: Vec<u32>,
    /// Triggers fired by the mark falling: ascending trigger.
    #[serde(default)]
    pub mark_falling: Vec<u32>,
}

/// Which list of a [`Book`] an order belongs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// `buy_limits`.
    BuyLimit,
    /// `sell_limits`.
    SellLimit,
    /// `rising`.
    Rising,
    /// `falling`.
    Falling,
    /// `trailing`.
    Trailing,
    /// `mark_rising`.
    MarkRising,
    /// `mark_falling`.
    MarkFalling,
}

/// The list an open order belongs in.
pub fn slot_of(o: &Order) -> Slot {
    if o.rests_as_limit() {
        match o.side {
            Side::Buy => Slot::BuyLimit,
            Side::Sell => Slot::SellLimit,
        }
    } else if o.kind == OrderKind::TrailingStop {
        Slot::Trailing
    } else {
        let mark = o.working_type == WorkingType::Mark;
        match (o.kind.triggers_rising(o.side), mark) {
            (true, false) => Slot::Rising,
            (false, false) => Slot::Falling,
            (true, true) => Slot::MarkRising,
            (false, true) => Slot::MarkFalling,
        }
    }
}

impl Book {
    fn list(&mut self, slot: Slot) -> &mut Vec<u32> {
        match slot {
            Slot::BuyLimit => &mut self.buy_limits,
            Slot::SellLimit => &mut self.sell_limits,
            Slot::Rising => &mut self.rising,
            Slot::Falling => &mut self.falling,
            Slot::Trailing => &mut self.trailing,
            Slot::MarkRising => &mut self.mark_rising,
            Slot::MarkFalling => &mut self.mark_falling,
        }
    }

    /// Inserts order `idx` in its list at its sorted place.
    pub fn insert(&mut self, orders: &[Order], idx: u32) {
        let o = &orders[idx as usize];
        let slot = slot_of(o);
        let (key, asc) = match slot {
            Slot::BuyLimit => (o.price, true),
            Slot::SellLimit => (o.price, false),
            Slot::Rising => (o.trigger, false),
            Slot::Falling => (o.trigger, true),
            Slot::MarkRising => (o.trigger, false),
            Slot::MarkFalling => (o.trigger, true),
            Slot::Trailing => {
                self.trailing.push(idx);
                return;
            }
        };
        let seq = o.seq;
        // Sorted so the first to fire is last: by key (asc or desc), then by seq descending.
        let cmp = |&j: &u32| -> Ordering {
            let p = &orders[j as usize];
            let k = match slot {
                Slot::BuyLimit | Slot::SellLimit => p.price,
                _ => p.trigger,
            };
            let by_key = if asc {
                k.total_cmp(&key)
            } else {
                key.total_cmp(&k)
            };
            by_key.then(seq.cmp(&p.seq))
        };
        let list = self.list(slot);
        // The common case (a grid's counter-order becomes the next to fire): it goes at the end.
        if list.last().is_none_or(|j| cmp(j) == Ordering::Less) {
            list.push(idx);
            return;
        }
        let pos = list.partition_point(|j| cmp(j) == Ordering::Less);
        list.insert(pos, idx);
    }

    /// Takes order `idx` out of the book (no-op if it does not rest here). Its list is the one
    /// its kind and side put it in ([`slot_of`]), looked at first from the end (the order about
    /// to fire is last); the others only if it is not there.
    pub fn remove(&mut self, orders: &[Order], idx: u32) {
        let first = self.list(slot_of(&orders[idx as usize]));
        if let Some(p) = first.iter().rposition(|&j| j == idx) {
            first.remove(p);
            return;
        }
        for list in [
            &mut self.buy_limits,
            &mut self.sell_limits,
            &mut self.rising,
            &mut self.falling,
            &mut self.trailing,
            &mut self.mark_rising,
            &mut self.mark_falling,
        ] {
            if let Some(p) = list.iter().rposition(|&j| j == idx) {
                list.remove(p);
                return;
            }
        }
    }

    /// Every resting order index.
    pub fn all(&self) -> impl Iterator<Item = u32> + '_ {
        self.buy_limits
            .iter()
            .chain(&self.sell_limits)
            .chain(&self.rising)
            .chain(&self.falling)
            .chain(&self.trailing)
            .chain(&self.mark_rising)
            .chain(&self.mark_falling)
            .copied()
    }

    /// Whether nothing rests.
    pub fn is_empty(&self) -> bool {
        self.buy_limits.is_empty()
            && self.sell_limits.is_empty()
            && self.rising.is_empty()
            && self.falling.is_empty()
            && self.trailing.is_empty()
            && self.mark_rising.is_empty()
            && self.mark_falling.is_empty()
    }
}

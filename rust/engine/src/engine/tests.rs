//! The engine's own tests: counter-orders on the path, same-bar switch, quiet bars, recording
//! modes and the statistics fold.

use super::*;
use crate::instrument::Instrument;
use crate::market::Bar;
use crate::matching::{OrderRequest, Side};
use crate::record::FillRow;

/// A one-level grid: a filled buy places a sell one step up, and back.
struct Counter {
    step: f64,
}

impl Strategy for Counter {
    fn on_fill(&mut self, e: &mut Engine, f: &FillRow) {
        let side = if f.side > 0 { Side::Sell } else { Side::Buy };
        let price = f.price + if f.side > 0 { self.step } else { -self.step };
        let _ = e.place(&OrderRequest::limit(f.symbol, side, price, f.qty), self);
    }
}

fn engine(same_bar: bool) -> Engine {
    let acc = Account::new(vec![Instrument::plain_linear("X", 0.0, 0.0)], 1e6, 10.0).unwrap();
    Engine::new(
        acc,
        Config {
            same_bar,
            ..Config::default()
        },
    )
    .unwrap()
}

#[test]
fn counter_orders_are_live_at_once_on_the_rest_of_the_path() {
    let mut e = engine(true);
    let mut s = Counter { step: 1.0 };
    e.begin_step(0, &mut s);
    e.bar(0, &Bar::tick(0, 100.0), &mut s);
    e.end_step(&mut s);
    e.place(&OrderRequest::limit(0, Side::Buy, 96.0, 1.0), &mut s)
        .unwrap();
    e.begin_step(1, &mut s);
    // open 100 → low 95 (buy 96 fills, sell 97 placed) → high 103 (sell 97 fills, buy 96 placed)
    e.bar(0, &Bar::ohlc(1, 100.0, 103.0, 95.0, 101.0), &mut s);
    e.end_step(&mut s);
    let prices: Vec<f64> = e.fills().iter().map(|f| f.price).collect();
    assert_eq!(prices, vec![96.0, 97.0]);
    assert_eq!(e.account().position(0).qty, 0.0);
    assert_eq!(e.account().realized_pnl(), 1.0);
}

#[test]
fn same_bar_off_defers_counter_orders_to_the_next_step() {
    let mut e = engine(false);
    let mut s = Counter { step: 1.0 };
    e.begin_step(0, &mut s);
    e.bar(0, &Bar::tick(0, 100.0), &mut s);
    e.end_step(&mut s);
    e.place(&OrderRequest::limit(0, Side::Buy, 96.0, 1.0), &mut s)
        .unwrap();
    e.begin_step(1, &mut s);
    e.bar(0, &Bar::ohlc(1, 100.0, 103.0, 95.0, 95.5), &mut s);
    e.end_step(&mut s);
    assert_eq!(e.fills().len(), 1);
    e.begin_step(2, &mut s);
    e.bar(0, &Bar::ohlc(2, 95.5, 98.0, 95.5, 97.5), &mut s);
    e.end_step(&mut s);
    let prices: Vec<f64> = e.fills().iter().map(|f| f.price).collect();
    assert_eq!(prices, vec![96.0, 97.0]);
}

#[test]
fn a_bar_that_touches_nothing_changes_nothing_but_the_mark() {
    let mut e = engine(true);
    let mut s = crate::strategy::NoStrategy;
    e.begin_step(0, &mut s);
    e.bar(0, &Bar::tick(0, 100.0), &mut s);
    for k in 0..50 {
        e.place(
            &OrderRequest::limit(0, Side::Buy, 90.0 - k as f64, 0.1),
            &mut s,
        )
        .unwrap();
        e.place(
            &OrderRequest::limit(0, Side::Sell, 110.0 + k as f64, 0.1),
            &mut s,
        )
        .unwrap();
    }
    e.end_step(&mut s);
    e.begin_step(1, &mut s);
    e.bar(0, &Bar::ohlc(1, 100.0, 109.0, 91.0, 105.0), &mut s);
    e.end_step(&mut s);
    assert!(e.fills().is_empty());
    assert_eq!(e.open_orders(0).len(), 100);
    assert_eq!(e.account().mark_price(0), Some(105.0));
}

#[test]
fn lean_rows_build_the_full_columns_and_survive_a_round_trip() {
    let mut e = engine(true);
    let mut s = Counter { step: 1.0 };
    let mut twin = engine(true); // the same run, its columns built only at the end
    let mut ts = Counter { step: 1.0 };
    let closes = [100.0, 97.0, 95.5, 99.0, 101.0, 96.0, 100.0, 103.0];
    for (k, &c) in closes.iter().enumerate() {
        for (eng, strat) in [(&mut e, &mut s), (&mut twin, &mut ts)] {
            eng.begin_step(k as i64, strat);
            let o = if k == 0 { c } else { closes[k - 1] };
            eng.bar(
                0,
                &Bar::ohlc(k as i64, o, o.max(c) + 0.5, o.min(c) - 0.5, c),
                strat,
            );
            eng.end_step(strat);
            if k == 0 {
                eng.place(&OrderRequest::limit(0, Side::Buy, 96.0, 1.0), strat)
                    .unwrap();
            }
        }
        if k == 3 {
            // One engine's columns are built half way: the rows after must not be lost.
            assert_eq!(e.history().equity().len(), 4);
        }
    }
    let (h, t) = (e.history(), twin.history());
    assert!(e.fills().len() >= 3);
    assert_eq!(h, t);
    let w = h.width();
    let col = |k: usize| h.column(k).to_vec();
    let (eq, wallet, unreal, lev) = (col(0), col(1), col(4), col(7));
    for r in 0..h.len() {
        assert_eq!(eq[r], wallet[r] + unreal[r]);
        assert_eq!(h.column(w - 1)[r], eq[r]); // linear: quote = equity
        assert!(lev[r] >= 0.0);
    }
    let mut folded = Vec::new();
    h.for_each_equity(|_, v| folded.push(v));
    assert_eq!(folded, eq);
    assert_eq!(h.position(0).last(), Some(&e.account().position(0).qty));
    // Through its stored form and on: the same rows as the history that never left.
    let json = serde_json::to_string(h).unwrap();
    let mut restored: History = serde_json::from_str(&json).unwrap();
    assert_eq!(&restored, h);
    let mut kept = h.clone();
    for k in 0..2 {
        kept.push(100 + k, e.account(), 7);
        restored.push(100 + k, e.account(), 7);
    }
    assert_eq!(restored, kept);
    assert_eq!(kept.len(), h.len() + 2);
}

#[test]
fn a_fill_on_a_path_of_hundreds_of_orders_of_magnitude_leaves_a_positive_mark() {
    // The trade falls from 1e300 to 80 while the mark falls from 1.05e300 to 76: the buy at
    // 100 fills at the segment's very end, where `ma + t·(mb − ma)` rounds to a mark of 0.
    let mut e = engine(true);
    let mut s = NoStrategy;
    e.begin_step(0, &mut s);
    e.bar(0, &Bar::tick(0, 102.0), &mut s);
    e.end_step(&mut s);
    e.place(&OrderRequest::limit(0, Side::Buy, 100.0, 1.0), &mut s)
        .unwrap();
    let bar = Bar {
        mark: 82.0,
        mark_ohl: [1.025e300, 1.05e300, 76.0],
        ..Bar::ohlc(1, 1e300, 1e300, 80.0, 80.0)
    };
    e.begin_step(1, &mut s);
    e.bar(0, &bar, &mut s);
    e.end_step(&mut s);
    assert_eq!(e.fills().len(), 1);
    assert_eq!(e.fills()[0].price, 100.0);
    let m = e.account().mark_price(0).unwrap();
    assert!(m.is_finite() && m > 0.0, "mark {m}");
}

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

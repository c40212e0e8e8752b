//! Every built-in strategy on the engine alone, on small worked examples whose outcome follows by
//! hand from its rules (docs/strategies.md). The Python suite also runs each against a plain-Python
//! twin on the exact reference, on random data; these tests let the crate prove itself.

use perpsim_engine::engine::{run, run_clocked, SymbolInput};
use perpsim_engine::market::{BarSeries, Times};
use perpsim_engine::strategy::{
    Basis, BasisConfig, BasisSize, BuiltIn, Grid, GridConfig, GridMode, GridQty, IndexDeviation,
    Rebalance, TargetKind, TargetPositions, TargetUnit,
};
use perpsim_engine::{Account, Config, Engine, FillReason, Instrument, Strategy};

mod common;
use common::{Bars, H};

fn engine(symbols: &[&str], balance: f64, leverage: f64) -> Engine {
    let insts = symbols
        .iter()
        .map(|s| Instrument::plain_linear(s, 0.0, 0.0))
        .collect();
    Engine::new(
        Account::new(insts, balance, leverage).unwrap(),
        Config::default(),
    )
    .unwrap()
}

fn grid(lower: f64, upper: f64, n: usize, mode: GridMode) -> BuiltIn {
    let mut cfg = GridConfig::neutral(lower, upper, n, GridQty::Base(1.0));
    cfg.mode = mode;
    BuiltIn::Grid(Box::new(
        Grid::new(cfg, &Instrument::plain_linear("X", 0.0, 0.0)).unwrap(),
    ))
}

fn grid_of(s: &BuiltIn) -> &Grid {
    match s {
        BuiltIn::Grid(g) => g,
        _ => unreachable!(),
    }
}

#[test]
fn grid_starts_around_the_empty_level_and_matches_each_counter_fill() {
    // Levels 90, 94, 98, 102, 106, 110; the first close 101 is nearest 102: no order there.
    let mut e = engine(&["X"], 10_000.0, 10.0);
    let mut s = grid(90.0, 110.0, 5, GridMode::Neutral);
    let bars = Bars::new(&[(101.0, 101.0, 101.0, 101.0), (101.0, 101.0, 97.0, 97.5)]);
    run(&mut e, &[bars.input()], &mut s).unwrap();
    assert_eq!(
        grid_of(&s).levels(),
        vec![90.0, 94.0, 98.0, 102.0, 106.0, 110.0]
    );
    // Five orders at the start; the buy at 98 filled and its sell went on 102: five again.
    assert_eq!(e.open_orders(0).len(), 5);
    assert_eq!(e.fills().len(), 1);
    assert_eq!(
        (e.fills()[0].price, e.fills()[0].reason),
        (98.0, FillReason::Grid)
    );
    // Up through 102: the counter-sell fills, matching the buy one level below.
    let more = Bars::new(&[(97.5, 103.0, 97.5, 102.5)]);
    let mut more_ts = more.ts.clone();
    more_ts[0] = 2 * H;
    let input = SymbolInput {
        bars: BarSeries {
            ts: Times::ns(&more_ts),
            ..more.input().bars
        },
        ..more.input()
    };
    run(&mut e, &[input], &mut s).unwrap();
    assert_eq!(e.fills().len(), 2);
    assert_eq!(e.fills()[1].price, 102.0);
    assert_eq!(grid_of(&s).matched_profit(), 4.0); // (102 − 98) · 1, no fees
    assert_eq!(e.account().position(0).qty, 0.0);
    assert_eq!(e.open_orders(0).len(), 5);
}

#[test]
fn a_long_grid_buys_at_market_what_the_sells_above_will_close() {
    let mut e = engine(&["X"], 10_000.0, 10.0);
    let mut s = grid(90.0, 110.0, 5, GridMode::Long);
    let bars = Bars::new(&[(101.0, 101.0, 101.0, 101.0)]);
    run(&mut e, &[bars.input()], &mut s).unwrap();
    // Sells rest on 106 and 110: two units bought at the close.
    assert_eq!(e.account().position(0).qty, 2.0);
    assert_eq!(e.fills()[0].price, 101.0);
}

#[test]
fn a_grid_stop_closes_the_position_at_the_stop_price() {
    let mut e = engine(&["X"], 10_000.0, 10.0);
    let mut cfg = GridConfig::neutral(90.0, 110.0, 5, GridQty::Base(1.0));
    cfg.stop_lower = Some(85.0);
    let mut s = BuiltIn::Grid(Box::new(
        Grid::new(cfg, &Instrument::plain_linear("X", 0.0, 0.0)).unwrap(),
    ));
    let bars = Bars::closes(&[101.0, 96.0, 84.0]);
    run(&mut e, &[bars.input()], &mut s).unwrap();
    assert_eq!(e.account().position(0).qty, 0.0);
    assert!(e.fills().iter().any(|f| f.price == 85.0));
    assert!(e.open_orders(0).is_empty());
}

#[test]
fn rebalance_trades_back_to_the_target_value_when_it_drifts_past_the_ratio() {
    let mut e = engine(&["X"], 10_000.0, 10.0);
    let mut s = BuiltIn::Rebalance(Rebalance::new(
        TargetKind::Value,
        vec![1_000.0],
        0.05,
        false,
    ));
    // 100 → 10 units; 104 (4 % off) → no trade; 110 (10 % off) → sell back to 1,000 / 110.
    let bars = Bars::closes(&[100.0, 104.0, 110.0]);
    run(&mut e, &[bars.input()], &mut s).unwrap();
    assert_eq!(e.fills().len(), 2);
    assert_eq!(e.fills()[0].qty, 10.0);
    let q = e.account().position(0).qty;
    assert!((q * 110.0 - 1_000.0).abs() < 1e-9, "{q}");
}

#[test]
fn target_positions_trade_to_each_steps_target_and_nan_keeps() {
    let mut e = engine(&["X"], 10_000.0, 10.0);
    let targets = vec![vec![1.0, f64::NAN, 3.0, 0.0]];
    let bars = Bars::closes(&[100.0, 101.0, 102.0, 103.0]);
    let times = bars.ts.clone();
    let mut s = BuiltIn::Targets(TargetPositions::new(TargetUnit::Qty, times, targets).unwrap());
    run(&mut e, &[bars.input()], &mut s).unwrap();
    let positions: Vec<f64> = e.fills().iter().map(|f| f.position).collect();
    assert_eq!(positions, vec![1.0, 3.0, 0.0]);
}

#[test]
fn index_deviation_shorts_what_rose_and_buys_what_fell() {
    // Two symbols from 100; A rises to 104, B stays: n = (1.04, 1), index 1.02, d = ±0.02.
    // Target value −100 · round(d / 0.01, 1) = ∓200: A short 200 of value, B long 200.
    let mut e = engine(&["A", "B"], 100_000.0, 10.0);
    let mut s = BuiltIn::Deviation(IndexDeviation::new(
        2,
        100.0,
        0.01,
        0.0,
        0,
        f64::NAN,
        f64::INFINITY,
    ));
    let a = Bars::closes(&[100.0, 104.0]);
    let b = Bars::closes(&[100.0, 100.0]);
    run(&mut e, &[a.input(), b.input()], &mut s).unwrap();
    let (qa, qb) = (e.account().position(0).qty, e.account().position(1).qty);
    assert!((qa * 104.0 + 200.0).abs() < 1e-9, "{qa}");
    assert!((qb * 100.0 - 200.0).abs() < 1e-9, "{qb}");
}

#[test]
fn basis_buys_spot_and_shorts_the_same_coin_when_the_premium_pays() {
    // A linear perpetual at 102 against spot 100: premium 2 % ≥ 1 % opens; 1 coin of each leg.
    let mut e = engine(&["F"], 10_000.0, 1.0);
    let cfg = BasisConfig {
        spot: vec![100.0, 100.0],
        spot_fee: 0.0,
        open_threshold: 0.01,
        close_threshold: f64::NAN,
        annualized: false,
        hold_to_expiry: false,
        size: BasisSize::Coin(1.0),
        initial_cash: 0.0,
    };
    cfg.validate().unwrap();
    let mut s = BuiltIn::Basis(Box::new(Basis::new(cfg)));
    assert_eq!(s.value(&e), Some(10_000.0)); // the capital, before the first step
    let f = Bars::closes(&[102.0, 101.0]);
    run_clocked(&mut e, &[f.input()], &[], &mut s).unwrap();
    let BuiltIn::Basis(b) = &s else {
        unreachable!()
    };
    assert_eq!(b.coin(), 1.0);
    assert_eq!(e.account().position(0).qty, -1.0);
    assert_eq!(b.counts().0, 1);
    // Carry: the future converged by 1 while spot stayed: the short gained 1 (no fees).
    let v = b.value_quote();
    assert!((v[1] - 10_001.0).abs() < 1e-9, "{v:?}");
}

#[test]
fn strategy_figures_go_into_the_run_statistics() {
    let mut e = engine(&["X"], 10_000.0, 10.0);
    let mut s = grid(90.0, 110.0, 5, GridMode::Neutral);
    run(
        &mut e,
        &[Bars::closes(&[101.0, 97.5, 102.5]).input()],
        &mut s,
    )
    .unwrap();
    let st = e.stats(&s);
    let names: Vec<&str> = st.strategy.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, vec!["grid_matched_profit", "grid_unmatched_pnl"]);
    assert_eq!(st.fills, 2);
    assert_eq!(st.steps, 3);
}

#[test]
fn a_trailing_grid_follows_a_jump_across_thousands_of_levels_in_one_bar() {
    // Levels 100, 101, ..., 110 trailing up; one bar runs up to 5,000 and closes there. The grid
    // shifts a level at a time (Binance's trailing) while the price reaches the next level above:
    // 4,890 shifts, each taking the lowest buy off and putting one on the old top. (Debug builds
    // check the open orders' sums at each placement; a check reading every order ever logged made
    // this quadratic: a fuzz case of 180,000 shifts ran for hours.)
    let mut e = engine(&["X"], 1e9, 10.0);
    // (A trailing grid trades a constant quote value per level, as Binance's does.)
    let mut cfg = GridConfig::neutral(100.0, 110.0, 10, GridQty::Quote(100.0));
    cfg.trailing_up = true;
    let mut s = BuiltIn::Grid(Box::new(
        Grid::new(cfg, &Instrument::plain_linear("X", 0.0, 0.0)).unwrap(),
    ));
    let bars = Bars::new(&[
        (104.5, 104.5, 104.5, 104.5),
        (104.5, 5_000.0, 104.5, 5_000.0),
    ]);
    run(&mut e, &[bars.input()], &mut s).unwrap();
    let g = grid_of(&s);
    assert_eq!(g.shifts(), 4_890);
    let top = *g.levels().last().unwrap();
    // The top level reached by the price, the next above it.
    assert_eq!(top, 5_000.0);
    // Ten orders still rest, all below the price: the buys under the old tops.
    let open = e.open_orders(0);
    assert_eq!(open.len(), 10);
    assert!(open.iter().all(|&id| e.order(id).unwrap().price < 5_000.0));
}

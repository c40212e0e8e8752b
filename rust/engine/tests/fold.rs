//! The steps' figures on the second core (engine/fold.rs): a one-symbol run whose rows are
//! checked by the run hands its steps to the checker's thread, which values the quiet bars, writes
//! the rows and folds the statistics. The figures and the recorded rows are those of the run on
//! one thread, bit for bit, whatever the recording mode, for linear and inverse accounts, with
//! quiet stretches or one full step per bar, and for a run that ends early. A strategy that reads
//! the figures as it goes keeps them on its own thread.

use perpsim_engine::engine::{run_checked, Inputs, SymbolInput, AHEAD_ROWS};
use perpsim_engine::market::{BarSeries, Series};
use perpsim_engine::strategy::{BuiltIn, Grid, GridConfig, GridQty, Rebalance, TargetKind};
use perpsim_engine::{
    Account, Config, ContractKind, CurveStats, Engine, Instrument, NoStrategy, OrderRequest,
    Record, Side, Strategy,
};

const M: i64 = 60_000_000_000;

mod common;
use common::Bars;

/// `n` one-minute bars swinging around 100 (they cross the grid's levels and the rebalance
/// band many times).
fn swings(n: usize) -> Bars {
    let mut p: f64 = 100.0;
    let rows: Vec<(f64, f64, f64, f64)> = (0..n)
        .map(|k| {
            let c: f64 =
                100.0 + 7.0 * ((k as f64) / 900.0).sin() + 0.4 * ((k * 13 % 17) as f64 - 8.0) / 8.0;
            let row = (p, p.max(c) + 0.04, p.min(c) - 0.04, c);
            p = c;
            row
        })
        .collect();
    Bars::every(&rows, M)
}

fn inst() -> Instrument {
    Instrument::plain_linear("X", 0.0002, 0.0005)
}

/// An inverse contract of 100 USD (the wallet in the base coin).
fn inverse() -> Instrument {
    let mut i = inst();
    i.kind = ContractKind::Inverse;
    i.settle_asset = "X".into();
    i.contract_size = 100.0;
    i
}

fn engine(record: Record, leverage: f64, stretches: bool) -> Engine {
    engine_of(inst(), 5_000.0, record, leverage, stretches)
}

fn engine_of(i: Instrument, cash: f64, record: Record, leverage: f64, stretches: bool) -> Engine {
    let config = Config {
        record,
        ..Config::default()
    };
    let mut e = Engine::new(Account::new(vec![i], cash, leverage).unwrap(), config).unwrap();
    e.set_quiet_stretches(stretches);
    e
}

/// Runs `bars` on `e`, the rows checked first (the fold on this thread) or by the run (the fold
/// on the checker's thread, where there is a second core).
fn run<S: Strategy>(e: &mut Engine, bars: &Bars, s: &mut S, by_the_run: bool) {
    let input = [bars.input()];
    let inputs = if by_the_run {
        Inputs::check_deferring(e.account(), &input, &[])
    } else {
        Inputs::check(e.account(), &input, &[])
    }
    .unwrap();
    run_checked(e, &inputs, s).unwrap();
}

/// The fold's fields as bits (a NaN equals itself; -0 does not equal 0).
fn bits(c: &CurveStats) -> String {
    format!("{:?}", serde_json::to_value(c).unwrap())
        + &format!(
            "{:?}",
            [c.sum, c.sum2, c.down2].map(|l| l.map(f64::to_bits))
        )
        + &format!(
            "{:?}",
            [c.last, c.peak, c.min, c.max_drawdown].map(f64::to_bits)
        )
}

#[test]
fn the_fold_on_another_core_is_the_fold_on_one() {
    if perpsim_engine::machine::cores() < 2 {
        eprintln!("one core: both runs fold on their own thread (nothing is compared here)");
    }
    let bars = swings(AHEAD_ROWS + 3_000);
    let g = GridConfig::neutral(93.0, 107.0, 20, GridQty::Base(1.0));
    let strategies = vec![
        BuiltIn::Grid(Box::new(Grid::new(g, &inst()).unwrap())),
        BuiltIn::Rebalance(Rebalance::new(TargetKind::Value, vec![900.0], 0.01, false)),
    ];
    for s in strategies {
        for record in [
            Record::Every(1),
            Record::Every(7),
            Record::Fills,
            Record::Final,
        ] {
            for stretches in [true, false] {
                let (mut a, mut b) = (
                    engine(record, 10.0, stretches),
                    engine(record, 10.0, stretches),
                );
                run(&mut a, &bars, &mut s.clone(), false);
                run(&mut b, &bars, &mut s.clone(), true);
                assert!(a.fills().len() > 20, "the run trades");
                assert_eq!(a.curve().steps, bars.ts.len() as u64);
                assert_eq!(
                    bits(&a.curve()),
                    bits(&b.curve()),
                    "{record:?}, stretches {stretches}"
                );
                assert_eq!(
                    a.history(),
                    b.history(),
                    "{record:?}, stretches {stretches}"
                );
                if record == Record::Every(1) {
                    assert_eq!(b.history().len(), bars.ts.len());
                }
                assert_eq!(
                    serde_json::to_value(&a).unwrap(),
                    serde_json::to_value(&b).unwrap()
                );
            }
        }
    }
}

/// An inverse account: the rows keep the mark too (the folder writes it for the quiet bars).
#[test]
fn an_inverse_accounts_rows_and_fold_are_the_same() {
    let bars = swings(AHEAD_ROWS + 2_000);
    let g = GridConfig::neutral(93.0, 107.0, 20, GridQty::Base(10.0));
    let strategies = vec![
        BuiltIn::Grid(Box::new(Grid::new(g, &inverse()).unwrap())),
        BuiltIn::Rebalance(Rebalance::new(TargetKind::Ratio, vec![2.0], 0.01, false)),
    ];
    for (si, s) in strategies.into_iter().enumerate() {
        for record in [Record::Every(1), Record::Final] {
            let (mut a, mut b) = (
                engine_of(inverse(), 50.0, record, 10.0, true),
                engine_of(inverse(), 50.0, record, 10.0, true),
            );
            run(&mut a, &bars, &mut s.clone(), false);
            run(&mut b, &bars, &mut s.clone(), true);
            assert!(a.fills().len() > 20, "strategy {si} trades");
            assert_eq!(bits(&a.curve()), bits(&b.curve()), "{record:?}");
            assert_eq!(a.history(), b.history(), "{record:?}");
            assert_eq!(
                serde_json::to_value(&a).unwrap(),
                serde_json::to_value(&b).unwrap()
            );
        }
    }
}

/// The balance strategy by value in an inverse account: its band holds every price (the value of
/// a coin-margined position does not move with the price), so the run writes each quiet bar's
/// marked figures and mark itself, eight bars at a time, the other core their times and fold.
#[test]
fn an_inverse_balance_by_value_writes_the_marks_of_its_rows() {
    let bars = swings(AHEAD_ROWS + 2_000);
    let s = BuiltIn::Rebalance(Rebalance::new(
        TargetKind::Value,
        vec![1_000.0],
        0.01,
        false,
    ));
    let (mut a, mut b) = (
        engine_of(inverse(), 50.0, Record::Every(1), 10.0, true),
        engine_of(inverse(), 50.0, Record::Every(1), 10.0, true),
    );
    run(&mut a, &bars, &mut s.clone(), false);
    run(&mut b, &bars, &mut s.clone(), true);
    assert!(!a.fills().is_empty(), "the strategy trades");
    assert_eq!(b.history().len(), bars.ts.len());
    assert_eq!(bits(&a.curve()), bits(&b.curve()));
    assert_eq!(a.history(), b.history());
    // The quote column is the equity at each row's mark: it follows the closes.
    let h = b.history();
    let quote = h.column(h.width() - 1);
    assert!(quote.windows(2).any(|w| w[0] != w[1]));
}

/// Funding every eight hours: the stretches stop before each funding time (the times are
/// compared, eight bars at a time), and the figures are still the run's on one thread.
#[test]
fn stretches_that_stop_for_funding_keep_the_figures() {
    let bars = swings(AHEAD_ROWS + 2_000);
    // Funding times fall on bars and between them (an odd offset), with rates of either sign.
    let fts: Vec<i64> = (0..bars.ts.len() as i64 / 480)
        .map(|k| k * 480 * M + (k % 5) * M + if k % 2 == 0 { 0 } else { 3 })
        .collect();
    let rates: Vec<f64> = (0..fts.len())
        .map(|k| ((k % 7) as f64 - 3.0) * 1e-4)
        .collect();
    let input = [SymbolInput {
        bars: BarSeries::ohlc(&bars.ts, &bars.o, &bars.h, &bars.l, &bars.c),
        funding: Some(Series {
            ts: &fts,
            values: &rates,
        }),
        settlement_price: None,
        rebates: None,
    }];
    let g = GridConfig::neutral(93.0, 107.0, 20, GridQty::Base(1.0));
    let strategies = vec![
        BuiltIn::Grid(Box::new(Grid::new(g, &inst()).unwrap())),
        BuiltIn::Rebalance(Rebalance::new(TargetKind::Value, vec![900.0], 0.01, false)),
    ];
    for s in strategies {
        let mut out = Vec::new();
        for by_the_run in [false, true] {
            let mut e = engine(Record::Every(1), 10.0, true);
            let inputs = if by_the_run {
                Inputs::check_deferring(e.account(), &input, &[])
            } else {
                Inputs::check(e.account(), &input, &[])
            }
            .unwrap();
            run_checked(&mut e, &inputs, &mut s.clone()).unwrap();
            assert!(e.account().funding() != 0.0, "funding is paid");
            out.push(e);
        }
        assert_eq!(bits(&out[0].curve()), bits(&out[1].curve()));
        assert_eq!(out[0].history(), out[1].history());
        assert_eq!(
            serde_json::to_value(&out[0]).unwrap(),
            serde_json::to_value(&out[1]).unwrap()
        );
    }
}

/// An account blown in the second block, with only the final figures recorded: the run counts
/// the steps left without running them (after the fold's values, in the same fold).
#[test]
fn a_run_that_ends_early_folds_the_steps_it_counted() {
    let n = AHEAD_ROWS + 500;
    let rows: Vec<(f64, f64, f64, f64)> = (0..n)
        .map(|k| {
            let p = if k < 20_000 {
                100.0 + ((k % 50) as f64) / 100.0
            } else {
                40.0
            };
            (p, p + 0.05, p - 0.05, p)
        })
        .collect();
    let bars = Bars::every(&rows, M);
    let mut out = Vec::new();
    for by_the_run in [false, true] {
        let mut e = engine(Record::Final, 50.0, true);
        e.place(
            &OrderRequest::limit(0, Side::Buy, 100.5, 2_000.0),
            &mut NoStrategy,
        )
        .unwrap();
        run(&mut e, &bars, &mut NoStrategy, by_the_run);
        assert!(e.is_finished(), "the account was blown");
        assert_eq!(e.curve().steps, n as u64);
        out.push(bits(&e.curve()));
    }
    assert_eq!(out[0], out[1]);
}

/// A strategy that reads the fold at each close (it does not say it reads none).
struct Reader {
    /// At each close: the fold's steps, and the steps begun.
    seen: Vec<(u64, u64)>,
}

impl Strategy for Reader {
    fn on_close(&mut self, e: &mut Engine) {
        self.seen.push((e.curve().steps, e.steps()));
    }
}

#[test]
fn a_strategy_that_reads_the_figures_keeps_the_fold_at_hand() {
    let bars = swings(AHEAD_ROWS + 100);
    let mut e = engine(Record::Every(1), 10.0, true);
    let mut s = Reader { seen: Vec::new() };
    run(&mut e, &bars, &mut s, true);
    assert_eq!(s.seen.len(), bars.ts.len());
    // At a step's close its own value is not folded yet: every step before it is.
    assert!(s.seen.iter().all(|&(folded, begun)| folded + 1 == begun));
}

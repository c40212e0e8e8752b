//! Bars whose rows the run checks as it goes (`Inputs::check_deferring`, a checker on another
//! core): the same figures as bars checked before the run, and for bad data the same error as
//! the whole check gives, with a fresh engine left as it was.

use perpsim_engine::engine::{run_checked, Inputs, AHEAD_ROWS, CHECK_ROWS};
use perpsim_engine::strategy::{BuiltIn, Grid, GridConfig, GridQty, Rebalance, TargetKind};
use perpsim_engine::{
    Account, Config, Engine, Instrument, NoStrategy, OrderRequest, Record, Side, Strategy,
};

const M: i64 = 60_000_000_000;

mod common;
use common::Bars;

/// `n` one-minute bars of a fixed zigzag around 100 that crosses grid levels, over several
/// check blocks.
fn zigzag(n: usize) -> Bars {
    let mut p = 100.0;
    let rows: Vec<(f64, f64, f64, f64)> = (0..n)
        .map(|k| {
            let c =
                100.0 + 6.0 * ((k as f64) / 700.0).sin() + 0.3 * ((k * 7 % 11) as f64 - 5.0) / 5.0;
            let row = wicked(p, c);
            p = c;
            row
        })
        .collect();
    Bars::every(&rows, M)
}

/// A bar from `o` to `c` with a small wick either side.
fn wicked(o: f64, c: f64) -> (f64, f64, f64, f64) {
    (o, o.max(c) + 0.05, o.min(c) - 0.05, c)
}

fn inst() -> Instrument {
    Instrument::plain_linear("X", 0.0002, 0.0005)
}

fn engine(record: Record, leverage: f64) -> Engine {
    let config = Config {
        record,
        ..Config::default()
    };
    Engine::new(
        Account::new(vec![inst()], 5_000.0, leverage).unwrap(),
        config,
    )
    .unwrap()
}

fn strategies() -> Vec<BuiltIn> {
    let g = GridConfig::neutral(92.0, 108.0, 16, GridQty::Base(1.0));
    vec![
        BuiltIn::Grid(Box::new(Grid::new(g, &inst()).unwrap())),
        BuiltIn::Rebalance(Rebalance::new(TargetKind::Value, vec![800.0], 0.01, false)),
    ]
}

fn state(e: &Engine) -> serde_json::Value {
    serde_json::to_value(e).unwrap()
}

/// Runs `bars` on `e` with the rows checked first (`Inputs::check`) or by the run.
fn run<S: Strategy>(e: &mut Engine, bars: &Bars, s: &mut S, deferred: bool) -> Result<(), String> {
    let input = [bars.input()];
    let checked = if deferred {
        Inputs::check_deferring(e.account(), &input, &[])
    } else {
        Inputs::check(e.account(), &input, &[])
    };
    let out = checked.and_then(|i| run_checked(e, &i, s));
    out.map_err(|e| format!("{} {:?} {}", e.field, e.row, e.message))
}

#[test]
fn good_bars_give_the_same_run_either_way() {
    let bars = zigzag(AHEAD_ROWS + 100);
    for s in strategies() {
        for record in [Record::Every(1), Record::Final] {
            let (mut a, mut b) = (engine(record, 10.0), engine(record, 10.0));
            let (mut sa, mut sb) = (s.clone(), s.clone());
            run(&mut a, &bars, &mut sa, false).unwrap();
            run(&mut b, &bars, &mut sb, true).unwrap();
            assert!(a.fills().len() > 10, "the run trades");
            assert_eq!(state(&a), state(&b));
        }
    }
}

#[test]
fn a_bad_row_anywhere_gives_the_whole_checks_error_and_leaves_the_engine() {
    let n = AHEAD_ROWS + 100;
    let good = zigzag(n);
    // (what is wrong, the rows it is wrong at)
    type Spoil = fn(&mut Bars, usize);
    let dup: Spoil = |b, r| b.ts[r] = b.ts[r - 1];
    let late: Spoil = |b, r| b.ts[r] = b.ts[r - 1] - 1;
    let nan: Spoil = |b, r| b.c[r] = f64::NAN;
    let high: Spoil = |b, r| b.h[r] = b.c[r] - 1.0;
    let low: Spoil = |b, r| b.l[r] = -1.0;
    let cases: Vec<(&str, Vec<(Spoil, usize)>)> = vec![
        (
            "duplicate time at a block's first row",
            vec![(dup, CHECK_ROWS)],
        ),
        ("time out of order late", vec![(late, 2 * CHECK_ROWS + 5)]),
        ("NaN close in the first block", vec![(nan, 1)]),
        (
            "high under the close at a block's last row",
            vec![(high, CHECK_ROWS - 1)],
        ),
        ("low below zero at the last row", vec![(low, n - 1)]),
        // The whole check reports the times before the prices: the late time wins.
        (
            "bad price early, bad time late",
            vec![(nan, 100), (dup, 3 * CHECK_ROWS + 50)],
        ),
    ];
    for (what, spoils) in cases {
        let mut bars = good.clone();
        for &(f, r) in &spoils {
            f(&mut bars, r);
        }
        for s in strategies() {
            let mut e = engine(Record::Every(1), 10.0);
            // An order placed before the run: the engine is fresh (no step) but not empty.
            e.place(
                &OrderRequest::limit(0, Side::Buy, 95.0, 1.0),
                &mut BuiltIn::Rebalance(Rebalance::new(TargetKind::Value, vec![0.0], 0.5, false)),
            )
            .unwrap();
            let before = state(&e);
            let want = run(
                &mut engine(Record::Every(1), 10.0),
                &bars,
                &mut s.clone(),
                false,
            )
            .unwrap_err();
            let got = run(&mut e, &bars, &mut s.clone(), true).unwrap_err();
            assert_eq!(got, want, "{what}");
            assert_eq!(state(&e), before, "{what}: the engine is as before the run");
        }
    }
}

/// A run that ends early (a blown, flat account with only the final figures recorded counts its
/// remaining steps) still refuses a bad row after that point.
#[test]
fn a_run_that_stops_early_still_checks_the_rest() {
    let n = AHEAD_ROWS + 100;
    // Flat at 100, then a gap down to 40 in the second block: a long at 50x is blown.
    let rows: Vec<(f64, f64, f64, f64)> = (0..n)
        .map(|k| {
            let p = if k < CHECK_ROWS + 10 { 100.0 } else { 40.0 };
            wicked(p, p)
        })
        .collect();
    let bars = Bars::every(&rows, M);
    let long = |e: &mut Engine| {
        e.place(
            &OrderRequest::limit(0, Side::Buy, 100.0, 2_000.0),
            &mut NoStrategy,
        )
        .unwrap();
    };
    let finished = |bad: Option<usize>| {
        let mut b = bars.clone();
        if let Some(r) = bad {
            b.ts[r] = b.ts[r - 1];
        }
        let mut out = Vec::new();
        for deferred in [false, true] {
            let mut e = engine(Record::Final, 50.0);
            long(&mut e);
            let before = state(&e);
            let r = run(&mut e, &b, &mut NoStrategy, deferred);
            if r.is_err() {
                assert_eq!(state(&e), before);
            } else {
                assert!(e.is_finished(), "the account was blown");
            }
            out.push((r, state(&e)));
        }
        assert_eq!(out[0], out[1]);
        out.remove(0).0
    };
    assert!(finished(None).is_ok());
    assert!(finished(Some(3 * CHECK_ROWS + 7)).is_err());
}

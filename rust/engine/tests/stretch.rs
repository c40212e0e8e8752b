//! The quiet-bar fast path (a one-symbol run skips the step frame on bars that reach nothing) is
//! held to the full step, bit for bit: fills, funding, recorded rows and statistics, for each
//! built-in strategy that allows it and for each recording mode.

use perpsim_engine::engine::{run, SymbolInput};
use perpsim_engine::market::{BarSeries, Series};
use perpsim_engine::strategy::{
    BuiltIn, Grid, GridConfig, GridMode, GridQty, Rebalance, TargetKind,
};
use perpsim_engine::{Account, Config, Engine, Instrument, Record};

const M: i64 = 60_000_000_000;

/// A random walk of `n` one-minute bars (a fixed LCG: the same bars on every machine), with now
/// and then a jump that crosses several grid levels.
struct Walk {
    ts: Vec<i64>,
    o: Vec<f64>,
    h: Vec<f64>,
    l: Vec<f64>,
    c: Vec<f64>,
    fts: Vec<i64>,
    rates: Vec<f64>,
}

impl Walk {
    fn new(n: usize, seed: u64) -> Self {
        let mut x = seed;
        let mut u = move || {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((x >> 11) as f64) / ((1u64 << 53) as f64)
        };
        let mut w = Walk {
            ts: Vec::new(),
            o: Vec::new(),
            h: Vec::new(),
            l: Vec::new(),
            c: Vec::new(),
            fts: Vec::new(),
            rates: Vec::new(),
        };
        let mut p = 100.0;
        for k in 0..n {
            let jump = if u() < 0.01 { 8.0 } else { 0.4 };
            let c = (p + (u() - 0.5) * jump).max(1.0);
            let wick = u() * 0.3;
            w.ts.push(k as i64 * M);
            w.o.push(p);
            w.h.push(p.max(c) + wick);
            w.l.push(p.min(c) - wick * u());
            w.c.push(c);
            p = c;
            if k % 480 == 7 {
                w.fts.push(k as i64 * M);
                w.rates.push((u() - 0.4) * 1e-3);
            }
        }
        w
    }

    fn input(&self) -> SymbolInput<'_> {
        SymbolInput {
            bars: BarSeries::ohlc(&self.ts, &self.o, &self.h, &self.l, &self.c),
            funding: Some(Series {
                ts: &self.fts,
                values: &self.rates,
            }),
            settlement_price: None,
            rebates: None,
        }
    }
}

fn inst() -> Instrument {
    Instrument::plain_linear("X", 0.0002, 0.0005)
}

fn grids() -> Vec<(&'static str, GridConfig)> {
    let base = GridConfig::neutral(90.0, 110.0, 20, GridQty::Base(1.0));
    let mut out = vec![("neutral", base)];
    let mut g = base;
    g.mode = GridMode::Long;
    g.stop_lower = Some(84.0);
    out.push(("long with stop", g));
    let mut g = base;
    g.mode = GridMode::Short;
    g.stop_upper = Some(112.0);
    out.push(("short with stop", g));
    let mut g = base;
    g.qty = GridQty::Quote(100.0);
    g.trailing_up = true;
    g.trailing_down = true;
    out.push(("trailing", g));
    let mut g = base;
    g.trigger = Some(97.0);
    out.push(("trigger", g));
    let mut g = GridConfig::neutral(95.0, 105.0, 10, GridQty::Base(1.0));
    g.geometric = true;
    g.stop_upper = Some(106.0);
    g.close_on_stop = true;
    out.push(("stops early", g));
    out
}

fn strategies() -> Vec<(&'static str, BuiltIn)> {
    let mut out: Vec<(&'static str, BuiltIn)> = grids()
        .into_iter()
        .map(|(name, cfg)| {
            (
                name,
                BuiltIn::Grid(Box::new(Grid::new(cfg, &inst()).unwrap())),
            )
        })
        .collect();
    for (name, target, limit) in [
        ("rebalance", 500.0, false),
        ("rebalance short", -800.0, false),
        ("rebalance with limits", 500.0, true),
    ] {
        out.push((
            name,
            BuiltIn::Rebalance(Rebalance::new(TargetKind::Value, vec![target], 0.02, limit)),
        ));
    }
    out
}

fn run_one(walk: &Walk, strat: &BuiltIn, record: Record, fast: bool) -> (Engine, BuiltIn) {
    let config = Config {
        record,
        ..Config::default()
    };
    let mut e = Engine::new(Account::new(vec![inst()], 5_000.0, 10.0).unwrap(), config).unwrap();
    e.set_quiet_stretches(fast);
    let mut s = strat.clone();
    run(&mut e, &[walk.input()], &mut s).unwrap();
    (e, s)
}

#[test]
fn quiet_stretches_give_the_full_steps_numbers() {
    let walk = Walk::new(20_000, 7);
    for (name, strat) in strategies() {
        for record in [
            Record::Every(1),
            Record::Final,
            Record::Every(3),
            Record::Fills,
        ] {
            let (fast, fs) = run_one(&walk, &strat, record, true);
            let (full, ss) = run_one(&walk, &strat, record, false);
            let what = format!("{name}, {record:?}");
            assert!(!full.fills().is_empty(), "{what}: nothing filled");
            assert_eq!(fast.fills(), full.fills(), "{what}: fills");
            assert_eq!(fast.funding_rows(), full.funding_rows(), "{what}: funding");
            assert_eq!(fast.steps(), full.steps(), "{what}: steps");
            let (hf, hs) = (fast.history(), full.history());
            assert_eq!(hf.len(), hs.len(), "{what}: rows");
            for k in 0..hs.width() {
                let (a, b) = (hf.column(k), hs.column(k));
                assert!(
                    a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()),
                    "{what}: column {k}"
                );
            }
            assert_eq!(fast.stats(&fs), full.stats(&ss), "{what}: statistics");
            assert_eq!(fast.account().equity(), full.account().equity(), "{what}");
        }
    }
}

//! Criterion benches of the engine's hot paths (issue 12), each per element:
//! - the quiet bar: a bar that reaches no order, liquidation or funding, with a position open and
//!   100 resting orders, by the quiet-stretch fast path and by the full step; and a balance
//!   strategy's quiet bar, whose band is one of closes;
//! - the grid fill: every bar crosses one level of a 100-level grid (one fill, its counter-order,
//!   the liquidation price refreshed, the step recorded);
//! - the balance trade: every close is 3 % off the last, and a balance strategy with a 1 % band
//!   trades back to its target (a market order judged, filled and recorded, the step recorded);
//! - path generation: a GBM bar with its Brownian-bridge high and low;
//! - the statistics fold of one equity value.
//!
//! `cargo bench -p perpsim-engine --bench hot_paths` (times are per bar, fill, or value).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use perpsim_engine::engine::{run, SymbolInput};
use perpsim_engine::market::BarSeries;
use perpsim_engine::mc::{FundingModel, ModelSpec, PathBuf, PriceModel, Rng};
use perpsim_engine::stats::CurveStats;
use perpsim_engine::strategy::{BuiltIn, Grid, GridConfig, GridQty, Rebalance, TargetKind};
use perpsim_engine::{Account, Config, Engine, Instrument, NoStrategy, OrderRequest, Side};
use std::hint::black_box;

const N: usize = 100_000;
const MIN: i64 = 60_000_000_000;

/// Owned bar columns.
struct Bars {
    ts: Vec<i64>,
    o: Vec<f64>,
    h: Vec<f64>,
    l: Vec<f64>,
    c: Vec<f64>,
}

impl Bars {
    /// Bars around 100 within ±`amp` (a slow deterministic wobble).
    fn wobble(amp: f64) -> Self {
        let c: Vec<f64> = (0..N)
            .map(|k| 100.0 + amp * ((k as f64) * 0.37).sin())
            .collect();
        Self::from_closes(c, 0.01)
    }

    /// Bars that open at the previous close and reach `wick` beyond both.
    fn from_closes(c: Vec<f64>, wick: f64) -> Self {
        let o: Vec<f64> = (0..N)
            .map(|k| if k == 0 { c[0] } else { c[k - 1] })
            .collect();
        Self {
            ts: (0..N as i64).map(|k| k * MIN).collect(),
            h: (0..N).map(|k| o[k].max(c[k]) + wick).collect(),
            l: (0..N).map(|k| o[k].min(c[k]) - wick).collect(),
            o,
            c,
        }
    }

    fn input(&self) -> [SymbolInput<'_>; 1] {
        [SymbolInput {
            bars: BarSeries::ohlc(&self.ts, &self.o, &self.h, &self.l, &self.c),
            funding: None,
            settlement_price: None,
            rebates: None,
        }]
    }
}

fn inst() -> Instrument {
    Instrument::plain_linear("X", 0.0002, 0.0002)
}

/// A run of `bars` by a balance strategy holding 10,000 of value within `band`.
fn balance_run(bars: &Bars, band: f64) -> Engine {
    let acc = Account::new(vec![inst()], 1e6, 10.0).unwrap();
    let mut e = Engine::new(acc, Config::default()).unwrap();
    let mut s = BuiltIn::Rebalance(Rebalance::new(
        TargetKind::Value,
        vec![10_000.0],
        band,
        false,
    ));
    run(&mut e, &bars.input(), &mut s).unwrap();
    e
}

fn quiet_bar(c: &mut Criterion) {
    let bars = Bars::wobble(1.0);
    let mut g = c.benchmark_group("quiet bar");
    g.throughput(Throughput::Elements(N as u64));
    for (name, fast) in [("quiet stretch", true), ("full step", false)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let acc = Account::new(vec![inst()], 1e6, 10.0).unwrap();
                let mut e = Engine::new(acc, Config::default()).unwrap();
                e.set_quiet_stretches(fast);
                // The first bar, then a long position and 100 resting orders beyond the wobble,
                // then the other bars.
                let mut s = NoStrategy;
                let [all] = bars.input();
                let cut = |from: usize, to: usize| SymbolInput {
                    bars: BarSeries::ohlc(
                        &all.bars.ts.raw()[from..to],
                        &all.bars.open[from..to],
                        &all.bars.high[from..to],
                        &all.bars.low[from..to],
                        &all.bars.close[from..to],
                    ),
                    ..all
                };
                run(&mut e, &[cut(0, 1)], &mut s).unwrap();
                e.market(0, 1.0, perpsim_engine::FillReason::User, &mut s)
                    .unwrap();
                for k in 0..50 {
                    let (lo, hi) = (90.0 - k as f64 * 0.1, 110.0 + k as f64 * 0.1);
                    e.place(&OrderRequest::limit(0, Side::Buy, lo, 0.1), &mut s)
                        .unwrap();
                    e.place(&OrderRequest::limit(0, Side::Sell, hi, 0.1), &mut s)
                        .unwrap();
                }
                assert_eq!(e.account().position(0).qty, 1.0);
                run(&mut e, &[cut(1, N)], &mut s).unwrap();
                black_box(e.account().equity())
            })
        });
    }
    // A balance strategy holding its target, nothing resting: its band is one of closes, so a
    // stretch reads each bar's close and time, not its low and high (decision 122).
    g.bench_function("quiet stretch, band of closes (balance)", |b| {
        b.iter(|| {
            let e = balance_run(&bars, 0.05);
            // One trade to the target at the first close, then every bar within 5 %.
            assert_eq!(e.fills().len(), 1);
            black_box(e.account().equity())
        })
    });
    g.finish();
}

fn grid_fill(c: &mut Criterion) {
    // Levels 70..130 a unit apart; the close steps a level up or down each bar, so each bar
    // fills the one level it crosses (and a counter-order goes on the next).
    let closes: Vec<f64> = (0..N)
        .map(|k| {
            let t = k % 40;
            100.5 + if t < 20 { t as f64 } else { 40.0 - t as f64 } - 10.0
        })
        .collect();
    let bars = Bars::from_closes(closes, 0.0);
    let cfg = GridConfig::neutral(70.0, 130.0, 60, GridQty::Base(0.01));
    let grid = BuiltIn::Grid(Box::new(Grid::new(cfg, &inst()).unwrap()));
    let one_run = || {
        let acc = Account::new(vec![inst()], 1e6, 10.0).unwrap();
        let mut e = Engine::new(acc, Config::default()).unwrap();
        let mut s = grid.clone();
        run(&mut e, &bars.input(), &mut s).unwrap();
        e.fills().len()
    };
    let fills = one_run();
    assert!(fills >= N * 9 / 10, "{fills} fills in {N} bars");
    let mut g = c.benchmark_group("grid fill");
    g.throughput(Throughput::Elements(fills as u64));
    g.bench_function("one fill a bar (step, fill, counter-order, row)", |b| {
        b.iter(one_run)
    });
    g.finish();
}

fn balance_trade(c: &mut Criterion) {
    // The close steps 3 % up and down in turn: a balance strategy with a 1 % band trades back to
    // its target at every close (a market order: judged, filled, recorded, the state row written,
    // the next stretch set up and left at once).
    let closes: Vec<f64> = (0..N)
        .map(|k| if k % 2 == 0 { 100.0 } else { 103.0 })
        .collect();
    let bars = Bars::from_closes(closes, 0.01);
    let one_run = || balance_run(&bars, 0.01).fills().len();
    let fills = one_run();
    assert!(fills >= N - 1, "{fills} fills in {N} bars");
    let mut g = c.benchmark_group("balance trade");
    g.throughput(Throughput::Elements(fills as u64));
    g.bench_function("a market order a bar (step, order, fill, row)", |b| {
        b.iter(one_run)
    });
    g.finish();
}

fn path_generation(c: &mut Criterion) {
    let model = ModelSpec {
        model: PriceModel::Gbm {
            drift: 0.0,
            vol: 0.6,
        },
        s0: 60_000.0,
        interval_ns: 60 * MIN,
        start_ts: 1_704_067_200_000_000_000,
        funding: FundingModel::Constant(0.0001),
        funding_interval_ns: 480 * MIN,
        substeps: 0,
    };
    let mut buf = PathBuf::new(8_760);
    let mut path = 0;
    let mut g = c.benchmark_group("path generation");
    g.throughput(Throughput::Elements(8_760));
    g.bench_function("GBM bar with bridge extremes", |b| {
        b.iter(|| {
            path += 1;
            model.generate(&mut Rng::for_path(1, path), &mut buf);
            black_box(buf.close[8_759])
        })
    });
    g.finish();
}

fn stats_fold(c: &mut Criterion) {
    let v: Vec<f64> = (0..N)
        .map(|k| 10_000.0 + 50.0 * ((k as f64) * 0.011).sin() + k as f64 * 1e-3)
        .collect();
    let mut g = c.benchmark_group("statistics fold");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("one equity value", |b| {
        b.iter(|| {
            let mut s = CurveStats::new(10_000.0);
            for (k, &x) in v.iter().enumerate() {
                s.push(k as i64, x);
            }
            black_box(s.max_drawdown)
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    quiet_bar,
    grid_fill,
    balance_trade,
    path_generation,
    stats_fold
);
criterion_main!(benches);

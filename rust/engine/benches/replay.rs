//! Year replay bench (issue 3): 525,600 one-minute bars through the matching engine with 100
//! resting limit orders, a position (liquidation checks on every path point) and funding every
//! 8 h; plus a 100-level neutral grid whose fills place counter-orders (W2), and two baselines
//! run in the same process: reading the four price columns once, and a plain loop that only
//! compares each bar's low/high with the nearest resting prices.
//!
//! `cargo bench -p perpsim-engine --bench replay` prints a Markdown table (best of 5).

use std::hint::black_box;
use std::time::Instant;

use perpsim_engine::engine::{run, SymbolInput};
use perpsim_engine::market::{BarSeries, Series, Times};
use perpsim_engine::stats::CurveStats;
use perpsim_engine::strategy::{
    BuiltIn, Grid as GridStrategy, GridConfig, GridQty, Rebalance, TargetKind,
};
use perpsim_engine::Record;
use perpsim_engine::{
    Account, Config, Engine, FillRow, Instrument, NoStrategy, OrderRequest, Side, Strategy,
};

const N: usize = 525_600;
const MIN: i64 = 60_000_000_000;

/// GBM bars as in benches/README.md, Workloads (σ 0.8, from 30,000; high/low noise |N(0, 0.0005)|),
/// drawn with a small deterministic generator (xorshift64* + Box–Muller).
fn bars() -> (Vec<i64>, [Vec<f64>; 4]) {
    let mut s: u64 = 42;
    let mut uni = move || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        ((s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let mut normal = move || {
        let (u, v) = (uni(), uni());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    };
    let dt = 1.0 / N as f64;
    let sigma = 0.8_f64;
    let (mut o, mut h, mut l, mut c) = (vec![0.0; N], vec![0.0; N], vec![0.0; N], vec![0.0; N]);
    let mut prev = 30_000.0_f64;
    for k in 0..N {
        let close = prev * (-0.5 * sigma * sigma * dt + sigma * dt.sqrt() * normal()).exp();
        o[k] = prev;
        c[k] = close;
        h[k] = prev.max(close) * (1.0 + (0.0005 * normal()).abs());
        l[k] = prev.min(close) * (1.0 - (0.0005 * normal()).abs());
        prev = close;
    }
    let ts = (0..N as i64)
        .map(|k| 1_704_067_200_000_000_000 + k * MIN)
        .collect();
    (ts, [o, h, l, c])
}

/// The W2 grid: a filled buy at level i places a sell at i+1, a filled sell a buy at i−1.
struct Grid {
    levels: Vec<f64>,
    qty: f64,
}

impl Strategy for Grid {
    fn on_fill(&mut self, e: &mut Engine, f: &FillRow) {
        let i = self.levels.partition_point(|&p| p < f.price - 1e-9);
        let (side, j) = if f.side > 0 {
            (Side::Sell, i + 1)
        } else {
            (Side::Buy, i.wrapping_sub(1))
        };
        if let Some(&p) = self.levels.get(j) {
            let _ = e.place(&OrderRequest::limit(f.symbol, side, p, self.qty), self);
        }
    }
}

fn engine(fee_maker: f64, fee_taker: f64, record_equity: bool) -> Engine {
    let acc = Account::new(
        vec![Instrument::plain_linear("BTCUSDT", fee_maker, fee_taker)],
        1e6,
        10.0,
    )
    .unwrap();
    Engine::new(
        acc,
        Config {
            record: if record_equity {
                Record::Every(1)
            } else {
                Record::Final
            },
            ..Config::default()
        },
    )
    .unwrap()
}

fn best<F: FnMut() -> f64>(mut f: F) -> f64 {
    f(); // warm-up
    (0..5).map(|_| f()).fold(f64::INFINITY, f64::min)
}

fn main() {
    let (ts, [o, h, l, c]) = bars();
    let fts: Vec<i64> = ts
        .iter()
        .copied()
        .filter(|t| t % (8 * 60 * MIN) == 0)
        .collect();
    let rates = vec![0.0001; fts.len()];
    let series = BarSeries::ohlc(&ts, &o, &h, &l, &c);
    let input = [SymbolInput {
        bars: series,
        funding: Some(Series {
            ts: &fts,
            values: &rates,
        }),
        settlement_price: None,
        rebates: None,
    }];
    let lo = l.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = h.iter().cloned().fold(0.0, f64::max);
    let mut rows: Vec<(String, f64, String)> = Vec::new();

    // Baseline 1: read the four price columns once.
    let t = best(|| {
        let t0 = Instant::now();
        let s: f64 = (0..N).map(|k| o[k] + h[k] + l[k] + c[k]).sum();
        black_box(s);
        t0.elapsed().as_secs_f64()
    });
    rows.push((
        "read open/high/low/close once (sum)".into(),
        t,
        "memory floor".into(),
    ));

    // Baseline 2: a plain loop comparing each bar with the nearest resting buy and sell.
    let t = best(|| {
        let t0 = Instant::now();
        let (mut bid, mut ask, mut n) = (lo * 0.5, hi * 2.0, 0u64);
        for k in 0..N {
            if l[k] <= bid {
                n += 1;
                bid *= 0.999;
            }
            if h[k] >= ask {
                n += 1;
                ask *= 1.001;
            }
        }
        black_box(n);
        t0.elapsed().as_secs_f64()
    });
    rows.push((
        "plain loop: low/high vs nearest resting prices".into(),
        t,
        "compiled floor, no path".into(),
    ));

    // The bars' validation alone (every run does it before its first step).
    let t = best(|| {
        let t0 = Instant::now();
        black_box(series.validate()).unwrap();
        t0.elapsed().as_secs_f64()
    });
    rows.push((
        "validate the bars (prices, order, timestamps)".into(),
        t,
        "part of every run".into(),
    ));

    // The engine: 100 resting limits outside the year's range, a long position, funding; with and
    // without the per-step equity row.
    for record in [true, false] {
        let t = best(|| {
            let mut e = engine(0.0002, 0.0005, record);
            let mut s = NoStrategy;
            e.begin_step(ts[0] - 1, &mut s);
            e.bar(0, &perpsim_engine::Bar::tick(ts[0] - 1, o[0]), &mut s);
            e.end_step(&mut s);
            e.fill_at(0, 1.0, o[0], true, &mut s).unwrap();
            for k in 0..50 {
                e.place(
                    &OrderRequest::limit(0, Side::Buy, lo * (0.5 - 0.001 * k as f64), 0.01),
                    &mut s,
                )
                .unwrap();
                e.place(
                    &OrderRequest::limit(0, Side::Sell, hi * (2.0 + 0.001 * k as f64), 0.01),
                    &mut s,
                )
                .unwrap();
            }
            let t0 = Instant::now();
            run(&mut e, &input, &mut s).unwrap();
            let el = t0.elapsed().as_secs_f64();
            assert_eq!(e.open_orders(0).len(), 100);
            assert_eq!(e.funding_rows().len(), fts.len());
            el
        });
        let note = if record {
            "equity row per step"
        } else {
            "no equity rows"
        };
        rows.push((
            "engine: 100 resting limits, position, funding".into(),
            t,
            note.into(),
        ));
    }

    // The engine: W2 neutral grid, 100 arithmetic levels 0.7x..1.3x, refills along the path.
    let mut fills = 0;
    let t = best(|| {
        let p0 = o[0];
        let levels: Vec<f64> = (0..=100)
            .map(|i| 0.7 * p0 + i as f64 * 0.6 * p0 / 100.0)
            .collect();
        let mut g = Grid {
            levels: levels.clone(),
            qty: 0.01,
        };
        let mut e = engine(0.0002, 0.0002, true);
        e.begin_step(ts[0] - 1, &mut g);
        e.bar(0, &perpsim_engine::Bar::tick(ts[0] - 1, p0), &mut g);
        e.end_step(&mut g);
        for &p in &levels {
            let side = if p < p0 { Side::Buy } else { Side::Sell };
            if (p - p0).abs() > 1e-9 {
                e.place(&OrderRequest::limit(0, side, p, 0.01), &mut g)
                    .unwrap();
            }
        }
        let t0 = Instant::now();
        run(&mut e, &input, &mut g).unwrap();
        let el = t0.elapsed().as_secs_f64();
        fills = e.fills().len();
        el
    });
    rows.push((
        "engine: W2 grid, 100 levels, same-bar refills".into(),
        t,
        format!("{fills} fills, equity row per step"),
    ));

    // Built-in strategies (issue 4): the W2 grid and the W1 balance strategy, each with and
    // without one equity row per step.
    let cfg = GridConfig::neutral(0.7 * o[0], 1.3 * o[0], 100, GridQty::Base(0.01));
    let inst = engine(0.0002, 0.0002, false).account().instruments()[0].clone();
    let grid = BuiltIn::Grid(Box::new(GridStrategy::new(cfg, &inst).unwrap()));
    let balance = BuiltIn::Rebalance(Rebalance::new(
        TargetKind::Value,
        vec![20_000.0],
        0.01,
        false,
    ));
    for (name, strategy, fee, unit) in [
        (
            "strategy: built-in Grid (W2), funding",
            &grid,
            0.0002,
            "fills",
        ),
        (
            "strategy: built-in Rebalance (W1), funding",
            &balance,
            0.0005,
            "trades",
        ),
    ] {
        for record in [true, false] {
            let mut fills = 0;
            let t = best(|| {
                let mut e = engine(fee, fee, record);
                let mut s = strategy.clone();
                let t0 = Instant::now();
                run(&mut e, &input, &mut s).unwrap();
                let el = t0.elapsed().as_secs_f64();
                fills = e.fills().len();
                el
            });
            let note = if record {
                "equity row per step"
            } else {
                "no equity rows"
            };
            rows.push((name.into(), t, format!("{fills} {unit}, {note}")));
        }
        // The statistics fold alone over the run's own equity curve (each run folds it once):
        // one value at a time, and in the quiet stretch's blocks of 256.
        let mut e = engine(fee, fee, true);
        run(&mut e, &input, &mut strategy.clone()).unwrap();
        let (eq, ets) = (
            e.history().equity().to_vec(),
            e.history().timestamps().to_vec(),
        );
        let initial = e.curve().initial;
        for blocks in [false, true] {
            let t = best(|| {
                let mut c = CurveStats::new(initial);
                let t0 = Instant::now();
                if blocks {
                    for (tk, vk) in ets.chunks(256).zip(eq.chunks(256)) {
                        c.push_all(Times::ns(tk), vk);
                    }
                } else {
                    for (&tk, &vk) in ets.iter().zip(&eq) {
                        c.push(tk, vk);
                    }
                }
                black_box(&c);
                t0.elapsed().as_secs_f64()
            });
            let how = if blocks {
                "blocks of 256"
            } else {
                "one by one"
            };
            rows.push((
                format!("{name}: statistics fold of its equity curve alone"),
                t,
                format!("{} values, {how}", eq.len()),
            ));
        }
    }

    println!("| workload (525,600 one-minute bars) | time | bars/s | note |");
    println!("|---|---|---|---|");
    for (name, t, note) in rows {
        println!(
            "| {name} | {:.2} ms | {:.1} million | {note} |",
            t * 1e3,
            N as f64 / t / 1e6
        );
    }
}

//! Monte Carlo bench (issue 5): 10,000 GBM paths × 8,760 hourly bars (a year) of the 100-level
//! neutral grid and of the balance strategy, path generation included, on one thread and on all
//! cores; plus path generation alone. Prints a Markdown table.
//!
//! `cargo bench -p perpsim-engine --bench montecarlo` (PATHS=n to change the path count).

use std::time::Instant;

use perpsim_engine::mc::{FundingModel, McRun, ModelSpec, PathBuf, PriceModel, Rng};
use perpsim_engine::presets;
use perpsim_engine::strategy::{BuiltIn, Grid, GridConfig, GridQty, Rebalance, TargetKind};
use perpsim_engine::{Account, Config};

const BARS: usize = 8_760;
const HOUR: i64 = 3_600_000_000_000;

fn main() {
    let paths: u64 = std::env::var("PATHS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let model = ModelSpec {
        model: PriceModel::Gbm {
            drift: 0.0,
            vol: 0.6,
        },
        s0: 60_000.0,
        interval_ns: HOUR,
        start_ts: 1_704_067_200_000_000_000,
        funding: FundingModel::Constant(0.0001),
        funding_interval_ns: 8 * HOUR,
        substeps: 0,
    };
    let inst = presets::btcusdt();
    let grid_cfg = GridConfig::neutral(42_000.0, 78_000.0, 100, GridQty::Base(0.003));
    let grid = BuiltIn::Grid(Box::new(Grid::new(grid_cfg, &inst).unwrap()));
    let balance = BuiltIn::Rebalance(Rebalance::new(
        TargetKind::Value,
        vec![20_000.0],
        0.01,
        false,
    ));
    let grid_acc = Account::new(vec![inst.clone()], 10_000.0, 5.0).unwrap();
    let bal_acc = Account::new(vec![inst], 10_000.0, 2.0).unwrap();
    let config = Config::default();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut rows = Vec::new();

    // Path generation alone (one thread).
    let t = Instant::now();
    let mut buf = PathBuf::new(BARS);
    let mut sink = 0.0;
    for i in 0..paths / 10 {
        model.generate(&mut Rng::for_path(1, i), &mut buf);
        sink += buf.close[BARS - 1];
    }
    let el = t.elapsed().as_secs_f64() * 10.0;
    rows.push((
        "GBM path generation only (1 thread, extrapolated from 1/10)".to_string(),
        el,
        format!("checksum {sink:.0}"),
    ));

    let only = std::env::var("ONLY").unwrap_or_default();
    for (name, strat, acc) in [
        ("grid 100 levels, 5x", &grid, &grid_acc),
        ("balance 20,000 at 2x", &balance, &bal_acc),
    ] {
        if !name.contains(only.as_str()) {
            continue;
        }
        for threads in [1usize, cores] {
            let run = McRun {
                model: (&model).into(),
                account: acc,
                config: &config,
                n_bars: BARS,
                seed: 7,
                curve_every: 0,
            };
            run.validate().unwrap();
            let t = Instant::now();
            let (res, _) =
                perpsim_engine::mc::with_threads(Some(threads), || run.paths(strat, 0, paths))
                    .unwrap()
                    .unwrap();
            let el = t.elapsed().as_secs_f64();
            let fills: u64 = res.iter().map(|r| r.stats.fills).sum();
            let liq = res
                .iter()
                .filter(|r| r.stats.liquidated_at.is_some())
                .count();
            rows.push((
                format!("{name}: {threads} thread(s)"),
                el,
                format!(
                    "{:.0} fills/path, {liq} liquidated",
                    fills as f64 / paths as f64
                ),
            ));
        }
    }
    println!("| {paths} paths × {BARS} hourly bars | time | path-bars/s | per core | note |");
    println!("|---|---|---|---|---|");
    for (name, t, note) in rows {
        let pb = paths as f64 * BARS as f64 / t;
        let th: f64 = if name.contains(": 1 thread") || name.contains("generation") {
            1.0
        } else {
            cores as f64
        };
        println!(
            "| {name} | {:.2} s | {:.1} million | {:.1} million | {note} |",
            t,
            pb / 1e6,
            pb / 1e6 / th
        );
    }
}

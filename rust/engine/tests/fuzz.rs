//! Fuzzing the engine's input boundary (a proptest harness, so it runs on stable Rust in
//! `cargo test`): random — often hostile — contracts, accounts, options, columnar bars, funding,
//! orders and strategy parameters go through the public API. Any outcome is fine except a panic:
//! bad input must come back as an error. `PERPSIM_FUZZ_CASES` sets the number of cases per target
//! (default 300; CI runs the default, a bounded few seconds).

use perpsim_engine::engine::{run_checked, run_clocked, Inputs, SymbolInput};
use perpsim_engine::market::{BarSeries, Series, Times};
use perpsim_engine::mc::{FundingModel, McRun, ModelSpec, PriceModel};
use perpsim_engine::strategy::{
    Basis, BasisConfig, BasisSize, BuiltIn, Grid, GridConfig, GridMode, GridQty, IndexDeviation,
    Rebalance, TargetPositions, TargetUnit,
};
use perpsim_engine::{
    presets, Account, Config, ContractKind, Engine, Instrument, LiquidationClose, MarginMode,
    NoStrategy, OrderKind, OrderRequest, PathModel, PositionMode, PositionSide, Record, Side,
};
use proptest::prelude::*;

const H: i64 = 3_600_000_000_000;

fn cases() -> u32 {
    std::env::var("PERPSIM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

/// A number as a careless or hostile caller gives it: mostly plausible, often not.
fn num() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => 50.0..150.0f64,
        2 => 0.0..2.0f64,
        1 => Just(0.0),
        1 => Just(-1.0),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(1e-300),
        1 => Just(1e300),
        1 => Just(f64::MIN_POSITIVE / 4.0),
        1 => any::<f64>(),
    ]
}

/// A number in `lo..hi` most of the time, else anything [`num`] gives.
fn mostly(lo: f64, hi: f64) -> impl Strategy<Value = f64> {
    prop_oneof![9 => lo..hi, 1 => num()]
}

/// A price: near 100 most of the time.
fn price() -> impl Strategy<Value = f64> {
    prop_oneof![8 => 80.0..120.0f64, 1 => num()]
}

#[derive(Clone, Debug)]
struct Columns {
    ts: Vec<i64>,
    o: Vec<f64>,
    h: Vec<f64>,
    l: Vec<f64>,
    c: Vec<f64>,
    v: Option<Vec<f64>>,
    m: Option<Vec<f64>>,
    /// The mark's own open, high and low (with `m` as its close).
    mohl: Option<[Vec<f64>; 3]>,
}

impl Columns {
    fn input<'a>(
        &'a self,
        funding: Option<&'a (Vec<i64>, Vec<f64>)>,
        settle: Option<f64>,
    ) -> SymbolInput<'a> {
        SymbolInput {
            bars: BarSeries {
                ts: Times::ns(&self.ts),
                open: &self.o,
                high: &self.h,
                low: &self.l,
                close: &self.c,
                volume: self.v.as_deref(),
                mark: self.m.as_deref(),
                mark_ohl: self
                    .mohl
                    .as_ref()
                    .map(|[o, h, l]| [o.as_slice(), h.as_slice(), l.as_slice()]),
                // The index: the mark's close when there is one (hostile values included).
                index: self.m.as_deref(),
            },
            funding: funding.map(|(t, r)| Series { ts: t, values: r }),
            settlement_price: settle,
            rebates: None,
        }
    }
}

/// Bars: mostly valid (high/low around open/close, increasing times), sometimes not at all.
fn bars() -> impl Strategy<Value = Columns> {
    (0usize..30, any::<bool>(), any::<bool>(), any::<u64>()).prop_flat_map(
        |(n, sane, extra, seed)| {
            (
                proptest::collection::vec((price(), price(), 0.0..3.0f64, 0.0..3.0f64), n),
                proptest::collection::vec(num(), n),
                Just((sane, extra, seed)),
            )
                .prop_map(move |(rows, noise, (sane, extra, seed))| {
                    let mut ts: Vec<i64> = (0..rows.len() as i64)
                        .map(|k| (seed as i64 % 7 + k) * H)
                        .collect();
                    if !sane && ts.len() > 2 {
                        ts.swap(0, 1);
                    }
                    let (mut o, mut h, mut l, mut c) = (vec![], vec![], vec![], vec![]);
                    for (k, &(a, b, up, down)) in rows.iter().enumerate() {
                        o.push(a);
                        c.push(b);
                        h.push(a.max(b) + up);
                        l.push((a.min(b) - down).max(if sane { 1e-9 } else { noise[k] }));
                    }
                    // Sometimes the mark's own path: the trade bar moved by a few per cent (and,
                    // when not sane, the raw noise as its open).
                    let own_mark = seed % 3 == 0;
                    let shift = |x: &Vec<f64>, k: f64| -> Vec<f64> {
                        x.iter()
                            .zip(&noise)
                            .map(|(v, n)| v * (1.0 + k * (n.abs() % 0.05)))
                            .collect()
                    };
                    let mohl = own_mark.then(|| {
                        let mo = if sane { shift(&o, 0.5) } else { noise.clone() };
                        [mo, shift(&h, 1.0), shift(&l, -1.0)]
                    });
                    let m = if own_mark {
                        Some(shift(&c, 0.5))
                    } else {
                        (extra && !sane).then(|| noise.clone())
                    };
                    Columns {
                        ts,
                        o,
                        h,
                        l,
                        c,
                        v: extra.then(|| noise.iter().map(|x| x.abs()).collect()),
                        m,
                        mohl,
                    }
                })
        },
    )
}

fn instrument() -> impl Strategy<Value = Instrument> {
    (
        0usize..12,
        num(),
        num(),
        num(),
        num(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(k, a, b, cc, d, expiry, inverse)| {
            let mut i = match k {
                0..=3 | 8.. => Instrument::plain_linear("X", 0.0002, 0.0005),
                _ => presets::by_name(presets::NAMES[k % presets::NAMES.len()])
                    .unwrap_or_else(|| Instrument::plain_linear("X", 0.0, 0.0)),
            };
            i.symbol = "X".into();
            match k {
                1 => i.tick_size = a.abs() % 5.0,
                2 => {
                    i.step_size = b;
                    i.min_qty = cc;
                }
                3 => {
                    i.maker_fee = a / 1000.0;
                    i.contract_size = d;
                }
                _ => {}
            }
            if expiry {
                i.expiry = Some(5 * H);
                i.funding_interval = None;
            }
            if inverse && k == 0 {
                i.kind = ContractKind::Inverse;
                i.settle_asset = "BTC".into();
                i.contract_size = 100.0;
            }
            i
        })
}

fn config() -> impl Strategy<Value = Config> {
    (
        0usize..4,
        mostly(0.0, 0.01),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![3 => Just(0.0), 1 => mostly(0.0, 1.0)],
        mostly(0.0, 0.01),
        any::<bool>(),
        0u32..4,
        prop_oneof![4 => Just(false), 1 => Just(true)],
        any::<bool>(),
        prop_oneof![3 => Just(0.0), 1 => Just(0.05)],
    )
        .prop_map(
            |(p, slip, touch, same, part, fee, liq, rec, what_if, bankrupt, adl)| Config {
                path: [
                    PathModel::NearestFirst,
                    PathModel::OpenHighLowClose,
                    PathModel::OpenLowHighClose,
                    PathModel::WorstCase,
                ][p],
                slippage: slip,
                touch_fills: touch,
                same_bar: same,
                max_participation: part,
                liquidation_fee: fee,
                liquidation_close: if bankrupt && liq {
                    LiquidationClose::BankruptcyPrice
                } else {
                    LiquidationClose::LiquidationPrice
                },
                adl_move: adl,
                allow_negative_balance: !liq,
                liquidation: liq,
                what_if,
                record: [
                    Record::Every(1),
                    Record::Every(3),
                    Record::Fills,
                    Record::Final,
                ][rec as usize],
            },
        )
}

fn order() -> impl Strategy<Value = (OrderRequest, u64, Option<f64>)> {
    (
        0usize..2,
        any::<bool>(),
        0usize..7,
        num(),
        price(),
        price(),
        num(),
        any::<(bool, bool, bool)>(),
        0u64..20,
        num(),
        0usize..3,
    )
        .prop_map(|(sym, buy, k, qty, p, t, cb, (ro, po, cp), id, np, ps)| {
            let kind = [
                OrderKind::Market,
                OrderKind::Limit,
                OrderKind::StopMarket,
                OrderKind::StopLimit,
                OrderKind::TakeProfit,
                OrderKind::StopLoss,
                OrderKind::TrailingStop,
            ][k];
            let side = if buy { Side::Buy } else { Side::Sell };
            let mut r = OrderRequest::new(sym, side, kind, qty);
            r.price = p;
            r.trigger = t;
            r.callback = cb / 100.0;
            r.activation = if ro { f64::NAN } else { t };
            r.reduce_only = ro;
            r.post_only = po;
            r.close_position = cp;
            r.position_side = [PositionSide::Both, PositionSide::Long, PositionSide::Short][ps];
            (r, id, Some(np))
        })
}

/// The built-in strategies with random parameters (None when their constructors refuse them).
fn strategy() -> impl Strategy<Value = (usize, f64, f64, usize, f64, bool, u8)> {
    (
        0usize..6,
        price(),
        price(),
        0usize..600,
        num(),
        any::<bool>(),
        any::<u8>(),
    )
}

fn build(
    s: &(usize, f64, f64, usize, f64, bool, u8),
    inst: &Instrument,
    n_symbols: usize,
    steps: &[i64],
) -> Option<BuiltIn> {
    let &(kind, a, b, n, x, flag, m) = s;
    match kind {
        0 => {
            let mut cfg = GridConfig::neutral(a.min(b), a.max(b), n, GridQty::Base(x));
            cfg.mode = [GridMode::Neutral, GridMode::Long, GridMode::Short][m as usize % 3];
            cfg.geometric = flag;
            if m % 5 == 0 {
                cfg.qty = GridQty::Quote(x * 10.0);
                cfg.trailing_up = flag;
                cfg.trailing_down = !flag;
            }
            if m % 7 == 0 {
                cfg.trigger = Some(b);
                cfg.stop_lower = Some(a.min(b) * 0.9);
            }
            cfg.validate().ok()?;
            Grid::new(cfg, inst)
                .ok()
                .map(|g| BuiltIn::Grid(Box::new(g)))
        }
        1 => Rebalance::from_options(
            flag.then(|| vec![x * 100.0; n_symbols]),
            (!flag).then(|| vec![x; n_symbols]),
            b / 1000.0,
            m % 2 == 0,
        )
        .ok()
        .map(BuiltIn::Rebalance),
        2 => {
            let d = IndexDeviation::new(n_symbols, x * 10.0, a / 1000.0, b, n % 5, x, x * 0.5);
            d.validate().ok()?;
            Some(BuiltIn::Deviation(d))
        }
        3 => {
            let rows = steps.len().min(n);
            let times: Vec<i64> = steps
                .iter()
                .take(rows)
                .map(|t| t + (m as i64 % 2) * 60)
                .collect();
            let t = vec![vec![x * if flag { 1.0 } else { -1.0 }; rows]; n_symbols];
            let unit = [TargetUnit::Qty, TargetUnit::Value, TargetUnit::Fraction][m as usize % 3];
            TargetPositions::new(unit, times, t)
                .ok()
                .map(BuiltIn::Targets)
        }
        4 => {
            let cfg = BasisConfig {
                spot: steps.iter().map(|_| a).collect(),
                spot_fee: 0.001,
                open_threshold: x / 100.0,
                close_threshold: if flag { f64::NAN } else { b / 1000.0 },
                annualized: m % 2 == 0,
                hold_to_expiry: flag,
                size: [
                    BasisSize::Coin(x),
                    BasisSize::Quote(x * 100.0),
                    BasisSize::Fraction(b / 200.0),
                ][m as usize % 3],
                initial_cash: x * 100.0,
            };
            cfg.validate().ok()?;
            Some(BuiltIn::Basis(Box::new(Basis::new(cfg))))
        }
        _ => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// A run of random data through a random account, options and strategy, with random orders
    /// before and after: errors are fine, panics are not.
    #[test]
    fn runs_never_panic(
        insts in proptest::collection::vec(instrument(), 1..3),
        balance in mostly(10.0, 10_000.0),
        leverage in mostly(1.0, 50.0),
        cfg in config(),
        data in proptest::collection::vec(bars(), 2),
        funding in proptest::option::of(proptest::collection::vec((0i64..40, num()), 0..8)),
        settle in proptest::option::of(num()),
        strat in strategy(),
        orders in proptest::collection::vec(order(), 0..12),
        clock in proptest::collection::vec(0i64..40, 0..4),
        (hedge, isolated) in (any::<bool>(), any::<bool>()),
    ) {
        let n = insts.len();
        let mut insts = insts;
        for (k, i) in insts.iter_mut().enumerate() {
            i.symbol = format!("S{k}");
        }
        let Ok(mut account) = Account::new(insts.clone(), balance * 100.0, leverage) else { return Ok(()) };
        if hedge {
            account.set_position_mode(PositionMode::Hedge).expect("flat");
        }
        if isolated {
            for i in 0..n {
                account.set_margin_mode(i, MarginMode::Isolated).expect("flat");
            }
        }
        let Ok(mut engine) = Engine::new(account, cfg) else { return Ok(()) };
        let funding = funding.map(|f| {
            let mut f = f;
            f.sort_by_key(|x| x.0);
            f.dedup_by_key(|x| x.0);
            (f.iter().map(|x| x.0 * H).collect::<Vec<_>>(), f.iter().map(|x| x.1 / 1000.0).collect::<Vec<_>>())
        });
        let inputs: Vec<SymbolInput<'_>> =
            data.iter().take(n).map(|d| d.input(funding.as_ref(), settle)).collect();
        let mut clock: Vec<i64> = clock.iter().map(|c| c * H).collect();
        clock.sort_unstable();
        clock.dedup();
        let steps: Vec<i64> = data.iter().flat_map(|d| d.ts.iter().copied()).collect();
        // One-way orders name no side; in hedge mode a drawn `both` becomes the side the order
        // opens (the drawn long and short ones close or are refused).
        let sided = |r: &OrderRequest| {
            let mut r = *r;
            if !hedge {
                r.position_side = PositionSide::Both;
            } else if r.position_side == PositionSide::Both {
                r.position_side = if r.side == Side::Buy { PositionSide::Long } else { PositionSide::Short };
                r.reduce_only = false;
                r.close_position = false;
            }
            r
        };
        for (r, _, _) in orders.iter().take(orders.len() / 2) {
            let mut r = sided(r);
            r.symbol %= n + 1; // sometimes a symbol the account does not hold
            let _ = engine.place(&r, &mut NoStrategy);
        }
        let pre = engine.clone();
        let first = match build(&strat, &insts[0], n, &steps) {
            Some(mut s) => {
                let r = run_clocked(&mut engine, &inputs, &clock, &mut s);
                let _ = engine.stats(&s);
                r
            }
            None => run_clocked(&mut engine, &inputs, &clock, &mut NoStrategy),
        };
        // The same run with the bars' rows checked by the run (one symbol, no clock): the same
        // outcome, and a refused input leaves the engine as it was.
        if n == 1 && clock.is_empty() {
            let mut d = pre.clone();
            let second = Inputs::check_deferring(d.account(), &inputs, &[]).and_then(|i| {
                match build(&strat, &insts[0], n, &steps) {
                    Some(mut s) => run_checked(&mut d, &i, &mut s),
                    None => run_checked(&mut d, &i, &mut NoStrategy),
                }
            });
            let json = |e: &Engine| serde_json::to_value(e).unwrap();
            match (&first, &second) {
                (Ok(()), Ok(())) => prop_assert_eq!(json(&engine), json(&d)),
                (Err(a), Err(b)) => {
                    prop_assert_eq!((&a.field, a.row, &a.message), (&b.field, b.row, &b.message));
                    if Inputs::check(pre.account(), &inputs, &[]).is_err() {
                        prop_assert_eq!(json(&d), json(&pre));
                    }
                }
                _ => prop_assert!(false, "{:?} against {:?}", first, second),
            }
        }
        for (r, id, p) in orders.iter().skip(orders.len() / 2) {
            let mut r = sided(r);
            r.symbol %= n + 1;
            let _ = engine.place(&r, &mut NoStrategy);
            let _ = engine.amend(*id, *p, Some(r.qty), &mut NoStrategy);
            let _ = engine.cancel(*id);
            let _ = engine.fill_at_side(r.symbol.min(n - 1), r.position_side, r.qty, r.price, r.reduce_only, None, &mut NoStrategy);
        }
        let _ = engine.warnings();
        let _ = engine.warning_messages();
        let _ = engine.stats(&NoStrategy);
        let _ = engine.history().equity();
    }

    /// Monte Carlo with random models: errors are fine, panics are not.
    #[test]
    fn monte_carlo_never_panics(
        kind in 0usize..4,
        drift in num(),
        vol in num(),
        s0 in num(),
        a in num(),
        b in num(),
        interval in prop_oneof![Just(H), Just(60_000_000_000i64), Just(0i64), Just(-H), Just(i64::MAX)],
        n_bars in 0usize..40,
        paths in 0u64..3,
        seed in any::<u64>(),
        strat in strategy(),
        funding in prop_oneof![Just(FundingModel::None), num().prop_map(FundingModel::Constant)],
    ) {
        let model = match kind {
            0 => PriceModel::Gbm { drift, vol },
            1 => PriceModel::Merton { drift, vol, intensity: a.abs(), jump_mean: b / 10.0, jump_std: a / 10.0 },
            2 => PriceModel::StudentT { drift, vol, dof: a },
            _ => PriceModel::Bootstrap { rel: vec![[1.0, 1.0 + a.abs() / 100.0, 1.0, 1.0 + b / 1000.0]; 3], block: a },
        };
        let spec = ModelSpec {
            model,
            s0: s0 * 100.0,
            interval_ns: interval,
            start_ts: 0,
            funding,
            funding_interval_ns: 8 * H,
            substeps: (seed % 3) as u32,
        };
        if spec.validate().is_err() {
            return Ok(());
        }
        let inst = Instrument::plain_linear("X", 0.0, 0.0005);
        let Ok(account) = Account::new(vec![inst.clone()], 10_000.0, 5.0) else { return Ok(()) };
        let config = Config::default();
        let run = McRun { model: (&spec).into(), account: &account, config: &config, n_bars, seed, curve_every: 2 };
        if run.validate().is_err() {
            return Ok(());
        }
        let steps: Vec<i64> = (0..n_bars as i64).map(|k| k.saturating_mul(interval)).collect();
        if let Some(s) = build(&strat, &inst, 1, &steps) {
            let _ = run.paths(&s, 0, paths);
            let _ = run.sweep(&[s.clone(), s], 0, paths);
        }
    }
}

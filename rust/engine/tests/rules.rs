//! The matching rule table (tests/rules/matching.json), run on the engine alone: the same data
//! pytest runs on `perpsim.Exchange` and on the exact reference (tests/test_rule_table.py), so that
//! each rule is written once. tests/rules/README.md describes the format.

use perpsim_engine::engine::{run, SymbolInput};
use perpsim_engine::market::{BarSeries, Series};
use perpsim_engine::{
    Account, Bar, Brackets, Config, Engine, ErrorKind, Instrument, LedgerError, LiquidationClose,
    MarginMode, Named, NoStrategy, OrderKind, OrderRequest, PathModel, PositionMode, PositionSide,
    Side, WorkingType,
};
use serde_json::{Map, Value};

const TABLE: &str = include_str!("../../../tests/rules/matching.json");
const T0: i64 = 1_700_000_000_000_000_000;
const H: f64 = 3_600_000_000_000.0;

fn at(hours: &Value) -> i64 {
    T0 + (hours.as_f64().expect("a time in hours") * H).round() as i64
}

/// The `working_type` keyword of a trigger order ("last" when absent).
fn working_type(kw: &Map<String, Value>) -> WorkingType {
    match kw.get("working_type").and_then(Value::as_str) {
        Some("mark") => WorkingType::Mark,
        _ => WorkingType::Last,
    }
}

fn num(v: &Value) -> f64 {
    v.as_f64().expect("a number")
}

fn near(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= (1e-12 * b.abs()).max(1e-12),
        "{what}: got {a}, want {b}"
    );
}

fn setup(defaults: &Map<String, Value>, rule: &Value) -> (Engine, Vec<String>) {
    let mut s = defaults.clone();
    if let Some(Value::Object(o)) = rule.get("setup") {
        for (k, v) in o {
            s.insert(k.clone(), v.clone());
        }
    }
    let (maker, taker) = (num(&s["maker_fee"]), num(&s["taker_fee"]));
    let mut insts = Vec::new();
    for c in s["contracts"].as_array().expect("contracts") {
        let mut i = Instrument::plain_linear(c["symbol"].as_str().expect("symbol"), maker, taker);
        for (k, v) in c.as_object().expect("a contract") {
            match k.as_str() {
                "symbol" => {}
                "tick_size" => i.tick_size = num(v),
                "step_size" => i.step_size = num(v),
                "min_qty" => i.min_qty = num(v),
                "min_notional" => i.min_notional = num(v),
                "expiry" => {
                    i.expiry = Some(at(v));
                    i.funding_interval = None;
                }
                "brackets" => {
                    let tiers: Vec<(f64, f64, f64)> = v
                        .as_array()
                        .expect("tiers")
                        .iter()
                        .map(|t| (num(&t[0]), num(&t[1]), num(&t[2])))
                        .collect();
                    i.brackets = Brackets::new(&tiers).expect("valid brackets");
                }
                "clearance_fee" => {
                    i.clearance_fee = match v.as_array() {
                        Some(rates) => rates.iter().map(num).collect(),
                        None => vec![num(v)],
                    }
                }
                other => panic!("unknown contract field {other}"),
            }
        }
        insts.push(i);
    }
    let names = insts.iter().map(|i| i.symbol.clone()).collect();
    let n = insts.len();
    let mut acc = Account::new(insts, num(&s["balance"]), 1.0).expect("account");
    let mode = MarginMode::parse(s["margin_mode"].as_str().expect("mode")).expect("mode");
    for i in 0..n {
        acc.set_leverage(i, num(&s["leverage"])).expect("leverage");
        acc.set_margin_mode(i, mode).expect("mode");
    }
    if let Some(m) = s.get("position_mode") {
        let m = PositionMode::parse(m.as_str().expect("position_mode")).expect("position_mode");
        acc.set_position_mode(m).expect("flat");
    }
    let mut cfg = Config::default();
    for (k, v) in s["options"].as_object().expect("options") {
        match k.as_str() {
            "path" => cfg.path = PathModel::parse(v.as_str().expect("path")).expect("path"),
            "slippage" => cfg.slippage = num(v),
            "touch_fills" => cfg.touch_fills = v.as_bool().expect("flag"),
            "same_bar" => cfg.same_bar = v.as_bool().expect("flag"),
            "max_participation" => cfg.max_participation = num(v),
            "liquidation_fee" => cfg.liquidation_fee = num(v),
            "allow_negative_balance" => cfg.allow_negative_balance = v.as_bool().expect("flag"),
            "liquidation" => cfg.liquidation = v.as_bool().expect("flag"),
            "adl_move" => cfg.adl_move = num(v),
            "liquidation_close" => {
                cfg.liquidation_close =
                    LiquidationClose::parse(v.as_str().expect("close")).expect("close")
            }
            other => panic!("unknown option {other}"),
        }
    }
    (Engine::new(acc, cfg).expect("engine"), names)
}

/// The columns of a `run` action, kept alive while the engine borrows them.
struct Columns {
    ts: Vec<i64>,
    ohlc: [Vec<f64>; 4],
    fts: Vec<i64>,
    rates: Vec<f64>,
    settlement: Option<f64>,
}

fn run_action(
    e: &mut Engine,
    names: &[String],
    frames: &Value,
    kw: &Value,
) -> Result<(), LedgerError> {
    let mut cols: Vec<Columns> = Vec::new();
    for name in names {
        let mut c = Columns {
            ts: vec![],
            ohlc: Default::default(),
            fts: vec![],
            rates: vec![],
            settlement: kw.get("settlement").and_then(|s| s.get(name)).map(num),
        };
        if let Some(d) = frames.get(name) {
            let start = num(&d["start"]);
            let rows: Vec<[f64; 4]> = match (d.get("bars"), d.get("ticks")) {
                (Some(b), _) => b
                    .as_array()
                    .expect("bars")
                    .iter()
                    .map(|r| [num(&r[0]), num(&r[1]), num(&r[2]), num(&r[3])])
                    .collect(),
                (None, Some(t)) => t
                    .as_array()
                    .expect("ticks")
                    .iter()
                    .map(|p| [num(p); 4])
                    .collect(),
                _ => panic!("bars or ticks"),
            };
            for (k, r) in rows.iter().enumerate() {
                c.ts.push(at(&Value::from(start + k as f64)));
                for (col, x) in c.ohlc.iter_mut().zip(r) {
                    col.push(*x);
                }
            }
        }
        if let Some(f) = kw.get("funding").and_then(|f| f.get(name)) {
            for pair in f.as_array().expect("funding") {
                c.fts.push(at(&pair[0]));
                c.rates.push(num(&pair[1]));
            }
        }
        cols.push(c);
    }
    let inputs: Vec<SymbolInput<'_>> = cols
        .iter()
        .map(|c| SymbolInput {
            bars: BarSeries::ohlc(&c.ts, &c.ohlc[0], &c.ohlc[1], &c.ohlc[2], &c.ohlc[3]),
            funding: (!c.fts.is_empty()).then_some(Series {
                ts: &c.fts,
                values: &c.rates,
            }),
            settlement_price: c.settlement,
            rebates: None,
        })
        .collect();
    run(e, &inputs, &mut NoStrategy)
}

fn step_bars(e: &mut Engine, names: &[String], t: i64, bars: &Value, ticks: bool) {
    e.begin_step(t, &mut NoStrategy);
    for (i, name) in names.iter().enumerate() {
        if let Some(v) = bars.get(name) {
            let bar = if ticks {
                Bar::tick(t, num(v))
            } else {
                let mut b = Bar::ohlc(t, num(&v[0]), num(&v[1]), num(&v[2]), num(&v[3]));
                if let Some(vol) = v.get(4) {
                    b.volume = num(vol);
                }
                b
            };
            e.bar(i, &bar, &mut NoStrategy);
        }
    }
    e.end_step(&mut NoStrategy);
}

/// Runs action `op` (its positional `args`, its keywords `kw`).
fn act(
    e: &mut Engine,
    names: &[String],
    op: &str,
    args: &[Value],
    kw: &Map<String, Value>,
) -> Result<(), LedgerError> {
    let sym = |v: &Value| {
        names
            .iter()
            .position(|n| n == v.as_str().expect("a symbol"))
            .expect("known symbol")
    };
    let side = |v: &Value| Side::parse(v.as_str().expect("a side")).expect("a side");
    let flag = |k: &str| kw.get(k).and_then(Value::as_bool).unwrap_or(false);
    let ps = kw.get("position_side").map_or(PositionSide::Both, |v| {
        PositionSide::parse(v.as_str().expect("a side")).expect("a position side")
    });
    let s = &mut NoStrategy;
    match op {
        "update" => step_bars(e, names, at(&args[0]), &args[1], true),
        "step" => step_bars(e, names, at(&args[0]), &args[1], false),
        "run" => run_action(e, names, &args[0], &Value::Object(kw.clone()))?,
        "buy" | "sell" => {
            let q = if op == "buy" {
                num(&args[2])
            } else {
                -num(&args[2])
            };
            e.fill_at_side(sym(&args[0]), ps, q, num(&args[1]), true, None, s)?;
        }
        "market" => {
            let mut r = OrderRequest::new(
                sym(&args[0]),
                side(&args[1]),
                OrderKind::Market,
                num(&args[2]),
            );
            r.position_side = ps;
            e.place(&r, s)?;
        }
        "limit" => {
            let mut r =
                OrderRequest::limit(sym(&args[0]), side(&args[1]), num(&args[2]), num(&args[3]));
            r.post_only = flag("post_only");
            r.reduce_only = flag("reduce_only");
            r.position_side = ps;
            e.place(&r, s)?;
        }
        "stop" => {
            let mut r =
                OrderRequest::stop(sym(&args[0]), side(&args[1]), num(&args[2]), num(&args[3]));
            if let Some(p) = kw.get("price") {
                r.kind = OrderKind::StopLimit;
                r.price = num(p);
            }
            r.reduce_only = flag("reduce_only");
            r.working_type = working_type(kw);
            r.position_side = ps;
            e.place(&r, s)?;
        }
        "take_profit" | "stop_loss" => {
            let kind = if op == "take_profit" {
                OrderKind::TakeProfit
            } else {
                OrderKind::StopLoss
            };
            e.protect_side(
                sym(&args[0]),
                ps,
                kind,
                num(&args[1]),
                kw.get("qty").map(num),
                working_type(kw),
                s,
            )?;
        }
        "trailing_stop" => {
            let mut r = OrderRequest::new(
                sym(&args[0]),
                side(&args[1]),
                OrderKind::TrailingStop,
                num(&args[2]),
            );
            r.callback = num(&args[3]);
            r.activation = kw.get("activation").map_or(f64::NAN, num);
            r.reduce_only = flag("reduce_only");
            r.position_side = ps;
            e.place(&r, s)?;
        }
        "cancel" => e.cancel(args[0].as_u64().expect("an order id"))?,
        "amend" => {
            let id = args[0].as_u64().expect("an order id");
            e.amend(id, kw.get("price").map(num), kw.get("qty").map(num), s)?;
        }
        other => panic!("unknown action {other}"),
    }
    Ok(())
}

type FillView = (String, f64, f64, &'static str, &'static str);

fn fills(e: &Engine) -> Vec<FillView> {
    e.fills()
        .iter()
        .map(|f| {
            let side = if f.side > 0 { "buy" } else { "sell" };
            (
                side.to_string(),
                f.qty,
                f.price,
                if f.maker { "maker" } else { "taker" },
                f.reason.name(),
            )
        })
        .collect()
}

fn same_fills(got: &[FillView], want: &Value, rule: &str) {
    let want = want.as_array().expect("fills");
    assert_eq!(got.len(), want.len(), "{rule}: fills {got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(
            (g.0.as_str(), g.3, g.4),
            (
                w[0].as_str().unwrap(),
                w[3].as_str().unwrap(),
                w[4].as_str().unwrap()
            ),
            "{rule}"
        );
        near(g.1, num(&w[1]), rule);
        near(g.2, num(&w[2]), rule);
    }
}

/// Runs check `op`; false when `op` is not a check.
fn check(e: &Engine, names: &[String], op: &str, a: &[Value], rule: &str) -> bool {
    let sym = |v: &Value| names.iter().position(|n| n == v.as_str().unwrap()).unwrap();
    let acc = e.account();
    let account = |f: &str| match f {
        "wallet_balance" => acc.wallet_balance(),
        "equity" => acc.equity(),
        "fees" => acc.fees(),
        "funding" => acc.funding(),
        "realized_pnl" => acc.realized_pnl(),
        other => panic!("unknown account figure {other}"),
    };
    let idx = |v: &Value| v.as_u64().unwrap() as usize;
    match op {
        "fills" => same_fills(&fills(e), &a[0], rule),
        "fills_from" => same_fills(&fills(e)[idx(&a[0])..], &a[1], rule),
        "reasons_from" => {
            let got: Vec<&str> = fills(e)[idx(&a[0])..].iter().map(|f| f.4).collect();
            let want: Vec<&str> = a[1]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert_eq!(got, want, "{rule}");
        }
        "fill_count" => assert_eq!(e.fills().len(), idx(&a[0]), "{rule}"),
        "last_fill_fee" => near(e.fills().last().unwrap().fee, num(&a[0]), rule),
        "status" => {
            let o = e.order(a[0].as_u64().unwrap()).expect("an order");
            assert_eq!(o.status.name(), a[1].as_str().unwrap(), "{rule}: {o:?}");
            if let Some(r) = a.get(2) {
                assert_eq!(e.order_reason(o), r.as_str().unwrap(), "{rule}");
            }
        }
        "order" => {
            let o = e.order(a[0].as_u64().unwrap()).expect("an order");
            for (k, v) in a[1].as_object().unwrap() {
                let got = match k.as_str() {
                    "price" => o.price,
                    "qty" => o.qty,
                    other => panic!("unknown order field {other}"),
                };
                assert_eq!(got, num(v), "{rule}: order {k}");
            }
        }
        "account" => near(account(a[0].as_str().unwrap()), num(&a[1]), rule),
        "account_at_least" => assert!(account(a[0].as_str().unwrap()) >= num(&a[1]), "{rule}"),
        "account_below" => assert!(account(a[0].as_str().unwrap()) < num(&a[1]), "{rule}"),
        // [symbol, qty] or, in hedge mode, [symbol, qty, side]
        "position" => near(acc.leg(sym(&a[0]), side_of(a)).qty, num(&a[1]), rule),
        "liquidation_price" => near(
            acc.liquidation_price_of(sym(&a[0]), side_of(a))
                .unwrap_or(f64::NAN),
            num(&a[1]),
            rule,
        ),
        "blown" => assert_eq!(e.blown(), a[0].as_bool().unwrap(), "{rule}"),
        "liquidated_at" => assert_eq!(
            e.liquidated_at(),
            (!a[0].is_null()).then(|| at(&a[0])),
            "{rule}"
        ),
        "open_orders" => {
            let n: usize = (0..acc.len()).map(|i| e.open_orders(i).len()).sum();
            assert_eq!(n, idx(&a[0]), "{rule}");
        }
        "history_len" => assert_eq!(e.history().len(), idx(&a[0]), "{rule}"),
        "history" => {
            let k = perpsim_engine::engine::history::ACCOUNT_COLUMNS
                .iter()
                .position(|c| *c == a[0].as_str().unwrap())
                .expect("an account column");
            let col = e.history().column(k);
            let row = a[1].as_i64().unwrap();
            let r = if row < 0 { col.len() as i64 + row } else { row } as usize;
            near(col[r], num(&a[2]), rule);
        }
        "funding_payments" => {
            let got: Vec<f64> = e.funding_rows().iter().map(|r| r.payment).collect();
            let want = a[0].as_array().unwrap();
            assert_eq!(got.len(), want.len(), "{rule}");
            for (g, w) in got.iter().zip(want) {
                near(*g, num(w), rule);
            }
        }
        _ => return false,
    }
    true
}

/// The position side a check names as its third argument (`both` when none).
fn side_of(a: &[Value]) -> PositionSide {
    a.get(2).map_or(PositionSide::Both, |v| {
        PositionSide::parse(v.as_str().expect("a side")).expect("a position side")
    })
}

fn play(defaults: &Map<String, Value>, rule: &Value) {
    let name = rule["rule"].as_str().expect("a name");
    let (mut e, names) = setup(defaults, rule);
    for step in rule["do"].as_array().expect("actions") {
        let step = step.as_array().expect("an action");
        let op = step[0].as_str().expect("an action name");
        let mut args: Vec<Value> = step[1..].to_vec();
        if check(&e, &names, op, &args, name) {
            continue;
        }
        let mut kw = Map::new();
        if op == "run" {
            if args.len() > 1 {
                kw = args.pop().unwrap().as_object().unwrap().clone();
            }
        } else if op != "update" && op != "step" {
            if let Some(Value::Object(o)) = args.last().cloned() {
                args.pop();
                kw = o;
            }
        }
        let expected = kw.remove("error");
        let res = act(&mut e, &names, op, &args, &kw);
        match (expected, res) {
            (None, Ok(())) => {}
            (None, Err(err)) => panic!("{name}: {op} failed: {err}"),
            (Some(want), Err(err)) => {
                let kind = match want[0].as_str().unwrap() {
                    "rejected" => ErrorKind::Rejected,
                    _ => ErrorKind::InvalidInput,
                };
                assert_eq!(err.kind, kind, "{name}: {op}: {err}");
                assert!(
                    err.to_string().contains(want[1].as_str().unwrap()),
                    "{name}: {op}: {err}"
                );
            }
            (Some(want), Ok(())) => panic!("{name}: {op} should have failed with {want}"),
        }
    }
}

#[test]
fn every_matching_rule_of_the_table_holds_on_the_engine() {
    let table: Value = serde_json::from_str(TABLE).expect("tests/rules/matching.json parses");
    let defaults = table["defaults"].as_object().expect("defaults");
    let rules = table["rules"].as_array().expect("rules");
    assert!(rules.len() >= 40);
    for rule in rules {
        play(defaults, rule);
    }
}

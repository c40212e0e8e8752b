//! The account's own tests: fills, margins, funding, liquidation prices, transfers.

use super::*;
use crate::presets;

fn linear_account() -> Account {
    Account::new(
        vec![Instrument::plain_linear("BTCUSDT", 0.0002, 0.0005)],
        100_000.0,
        10.0,
    )
    .unwrap()
}

#[test]
fn linear_worked_example() {
    // long 1 BTC at 50,000 then sell 1 at 51,000 with taker 0.0005:
    // realized 1,000; fees 25 + 25.5 = 50.5; wallet change +949.5.
    let mut a = linear_account();
    a.market(0, 1.0, 50_000.0).unwrap();
    let f = a.market(0, -1.0, 51_000.0).unwrap();
    assert_eq!(f.realized, 1_000.0);
    assert_eq!(a.fees(), 50.5);
    assert_eq!(a.wallet_balance() - 100_000.0, 949.5);
    assert_eq!(a.position(0).qty, 0.0);
    assert_eq!(a.position(0).entry, 0.0);
}

#[test]
fn inverse_worked_example() {
    let mut inst = Instrument::plain_linear("BTCUSD", 0.0, 0.0);
    inst.kind = ContractKind::Inverse;
    inst.settle_asset = "BTC".into();
    let mut a = Account::new(vec![inst], 1.0, 20.0).unwrap();
    a.market(0, 50.0, 10_000.0).unwrap();
    a.market(0, 50.0, 15_000.0).unwrap();
    assert!((a.position(0).entry - 12_000.0).abs() < 1e-9);
    let f = a.market(0, -100.0, 13_000.0).unwrap();
    assert!((f.realized - 0.000_641_03).abs() < 5e-9);
}

#[test]
fn funding_example() {
    // long 0.2 BTC, mark 52,000, r = +0.0001 → pays 1.04 USDT.
    let mut a = linear_account();
    a.market(0, 0.2, 52_000.0).unwrap();
    let w = a.wallet_balance();
    let got = a.apply_funding(0, 0.0001, 52_000.0).unwrap();
    assert!((got + 1.04).abs() < 1e-9);
    assert!((a.wallet_balance() - (w - 1.04)).abs() < 1e-9);
    a.market(0, -0.4, 52_000.0).unwrap();
    let got = a.apply_funding(0, 0.0001, 52_000.0).unwrap();
    assert!((got - 1.04).abs() < 1e-9);
}

#[test]
fn rejected_fill_leaves_account_unchanged() {
    let mut a = linear_account();
    a.market(0, 1.0, 50_000.0).unwrap();
    let before = a.clone();
    // 10x on ~100k equity: 25 BTC = 1.25M notional needs 125k margin.
    let e = a.market(0, 25.0, 50_000.0).unwrap_err();
    assert!(e.message.contains("insufficient margin"), "{e}");
    assert_eq!(a, before);
    assert!(a.market(0, f64::NAN, 50_000.0).is_err());
    assert!(a.market(0, 1.0, -1.0).is_err());
    assert!(a.mark(0, f64::INFINITY).is_err());
    assert!(a.apply_funding(0, f64::NAN, 1.0).is_err());
    assert_eq!(a, before);
}

#[test]
fn leverage_above_bracket_is_invalid() {
    let e = Account::new(vec![presets::btcusdt()], 1_000.0, 126.0).unwrap_err();
    assert_eq!(e.field, "leverage");
    assert!(Account::new(vec![presets::btcusdt()], 1_000.0, 0.0).is_err());
}

#[test]
fn cross_and_isolated_liquidation_price() {
    let mut inst = Instrument::plain_linear("BTCUSDT", 0.0, 0.0);
    inst.brackets = crate::instrument::Brackets::flat(0.004, 125.0).unwrap();
    let mut a = Account::new(vec![inst], 5_000.0, 10.0).unwrap();
    a.set_margin_mode(0, MarginMode::Isolated).unwrap();
    a.market(0, 1.0, 50_000.0).unwrap();
    // isolated margin = 50,000 / 10 = 5,000 → the spec example
    let lp = a.liquidation_price(0).unwrap();
    assert!((lp - 45_180.722_891).abs() < 1e-3);
    let mut b = Account::new(
        vec![Instrument::plain_linear("BTCUSDT", 0.0, 0.0)],
        5_000.0,
        10.0,
    )
    .unwrap();
    b.market(0, 1.0, 50_000.0).unwrap();
    assert!((b.liquidation_price(0).unwrap() - lp).abs() < 1e-6);
}

#[test]
fn inverse_margin_check_from_flat() {
    // 1 contract of 100 USD at 20 is 5 BTC of notional: far more than 0.05 BTC at 1x.
    let mut a = Account::new(vec![presets::btcusd()], 0.05, 1.0).unwrap();
    let before = a.clone();
    assert!(a.market(0, 1.0, 20.0).is_err());
    assert_eq!(a, before);
    a.market(0, 1.0, 50_000.0).unwrap();
}

#[test]
fn spot_cannot_short() {
    let mut s = Instrument::plain_linear("BTCUSDT", 0.001, 0.001);
    s.kind = ContractKind::Spot;
    let mut a = Account::new(vec![s], 100_000.0, 1.0).unwrap();
    a.market(0, 1.0, 50_000.0).unwrap();
    assert!(a.market(0, -2.0, 50_000.0).is_err());
    a.market(0, -1.0, 50_000.0).unwrap();
    assert!(a.market(0, 3.0, 50_000.0).is_err(), "spot leverage 1");
}

#[test]
fn transfers_fund_an_empty_account_and_never_take_the_margin() {
    let mut a = Account::new(
        vec![Instrument::plain_linear("BTCUSDT", 0.0, 0.0)],
        0.0,
        10.0,
    )
    .unwrap();
    assert!(
        a.market(0, 0.1, 50_000.0).is_err(),
        "nothing to margin with"
    );
    a.transfer(1_000.0).unwrap();
    a.market(0, 0.1, 50_000.0).unwrap(); // 500 initial margin
    let before = a.clone();
    assert!(a.transfer(-500.5).is_err());
    assert_eq!(a, before, "a refused withdrawal changes nothing");
    a.transfer(-500.0).unwrap();
    assert_eq!((a.wallet_balance(), a.transfers()), (500.0, 500.0));
    assert!(a.transfer(f64::NAN).is_err());
    assert!(Account::new(vec![presets::btcusdt()], -1.0, 1.0).is_err());
}

fn hedge_account(mode: MarginMode, balance: f64, leverage: f64) -> Account {
    let mut inst = Instrument::plain_linear("X", 0.0, 0.0);
    inst.brackets = crate::instrument::Brackets::flat(0.004, 125.0).unwrap();
    let mut a = Account::new(vec![inst], balance, leverage).unwrap();
    a.set_margin_mode(0, mode).unwrap();
    a.set_position_mode(PositionMode::Hedge).unwrap();
    a
}

#[test]
fn hedge_cross_liquidation_price_example() {
    // long 1 and short 0.5 at 50,000, wallet 10,000: LP = −15,000 / −0.494, reached falling.
    let mut a = hedge_account(MarginMode::Cross, 10_000.0, 10.0);
    a.fill_leg(0, PositionSide::Long, 1.0, 50_000.0, Liquidity::Taker)
        .unwrap();
    a.fill_leg(0, PositionSide::Short, -0.5, 50_000.0, Liquidity::Taker)
        .unwrap();
    let (down, up) = a.liquidation_levels(0);
    assert!((down.unwrap() - 15_000.0 / 0.494).abs() < 1e-6);
    assert_eq!(up, None);
    assert_eq!(a.net_qty(0), 0.5);
    assert_eq!(a.initial_margin(), 7_500.0);
    assert_eq!(a.maintenance_margin(), 300.0);
}

#[test]
fn hedge_fully_hedged_is_liquidated_by_a_rise() {
    let mut a = hedge_account(MarginMode::Cross, 1_000.0, 125.0);
    a.fill_leg(0, PositionSide::Long, 1.0, 50_000.0, Liquidity::Taker)
        .unwrap();
    a.fill_leg(0, PositionSide::Short, -1.0, 50_000.0, Liquidity::Taker)
        .unwrap();
    assert_eq!(a.liquidation_levels(0), (None, Some(125_000.0)));
}

#[test]
fn hedge_isolated_sides_and_rules() {
    let mut a = hedge_account(MarginMode::Isolated, 10_000.0, 10.0);
    a.fill_leg(0, PositionSide::Long, 1.0, 50_000.0, Liquidity::Taker)
        .unwrap();
    a.fill_leg(0, PositionSide::Short, -1.0, 50_000.0, Liquidity::Taker)
        .unwrap();
    let (d, u) = a.liquidation_levels(0);
    assert_eq!(
        ((d.unwrap() * 100.0).round(), (u.unwrap() * 100.0).round()),
        (4_518_072.0, 5_478_088.0)
    );
    // a sell on the long side closes at most the long; one-way orders are refused
    let before = a.clone();
    let e = a.fill_leg(0, PositionSide::Long, -2.0, 50_000.0, Liquidity::Taker);
    assert_eq!(e.unwrap_err().field, "qty");
    assert_eq!(
        a.fill(0, 1.0, 50_000.0, Liquidity::Taker)
            .unwrap_err()
            .field,
        "position_side"
    );
    assert_eq!(a, before);
    // the position mode changes only while flat
    assert!(a.set_position_mode(PositionMode::OneWay).is_err());
    // funding on each side: hedged, the payments cancel
    assert_eq!(a.apply_funding(0, 0.001, 50_000.0).unwrap(), 0.0);
    assert_eq!(a.leg(0, PositionSide::Long).funding, -50.0);
}

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

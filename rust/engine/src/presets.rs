//! Contract presets with Binance-like filters, fees and margin brackets.
//!
//! The bracket tables follow the shape Binance published for these symbols (tier floors, maximum
//! leverage, maintenance margin rates; `cum` is derived by the exchange rule). Exchanges revise them:
//! use them as realistic defaults, not as today's exchange values.

use crate::instrument::{Brackets, ContractKind, Instrument, HOUR_NS};

/// BTCUSDT linear perpetual tiers `(floor USDT, max leverage, MMR)`.
pub const BTCUSDT_TIERS: &[(f64, f64, f64)] = &[
    (0.0, 125.0, 0.004),
    (50_000.0, 100.0, 0.005),
    (600_000.0, 75.0, 0.0065),
    (3_000_000.0, 50.0, 0.01),
    (12_000_000.0, 25.0, 0.02),
    (70_000_000.0, 20.0, 0.025),
    (100_000_000.0, 10.0, 0.05),
    (230_000_000.0, 5.0, 0.1),
    (480_000_000.0, 4.0, 0.125),
    (600_000_000.0, 3.0, 0.15),
    (800_000_000.0, 2.0, 0.25),
    (1_200_000_000.0, 1.0, 0.5),
];

/// ETHUSDT linear perpetual tiers.
pub const ETHUSDT_TIERS: &[(f64, f64, f64)] = &[
    (0.0, 125.0, 0.004),
    (50_000.0, 100.0, 0.005),
    (600_000.0, 75.0, 0.0065),
    (3_000_000.0, 50.0, 0.01),
    (12_000_000.0, 25.0, 0.02),
    (50_000_000.0, 20.0, 0.025),
    (65_000_000.0, 10.0, 0.05),
    (150_000_000.0, 5.0, 0.1),
    (320_000_000.0, 4.0, 0.125),
    (400_000_000.0, 3.0, 0.15),
    (530_000_000.0, 2.0, 0.25),
    (800_000_000.0, 1.0, 0.5),
];

/// A generic altcoin linear perpetual's tiers.
pub const ALT_TIERS: &[(f64, f64, f64)] = &[
    (0.0, 75.0, 0.005),
    (10_000.0, 50.0, 0.01),
    (50_000.0, 25.0, 0.02),
    (250_000.0, 20.0, 0.05),
    (1_000_000.0, 10.0, 0.1),
    (2_000_000.0, 5.0, 0.125),
    (5_000_000.0, 4.0, 0.15),
    (10_000_000.0, 2.0, 0.25),
    (20_000_000.0, 1.0, 0.5),
];

/// BTCUSD coin-margined tiers (floors in BTC).
pub const BTCUSD_TIERS: &[(f64, f64, f64)] = &[
    (0.0, 125.0, 0.004),
    (5.0, 100.0, 0.005),
    (10.0, 50.0, 0.01),
    (20.0, 20.0, 0.025),
    (50.0, 10.0, 0.05),
    (100.0, 5.0, 0.1),
    (200.0, 4.0, 0.125),
    (400.0, 3.0, 0.15),
    (1_000.0, 2.0, 0.25),
    (1_500.0, 1.0, 0.5),
];

/// ETHUSD coin-margined tiers (floors in ETH).
pub const ETHUSD_TIERS: &[(f64, f64, f64)] = &[
    (0.0, 75.0, 0.005),
    (150.0, 50.0, 0.01),
    (1_500.0, 25.0, 0.02),
    (3_000.0, 10.0, 0.05),
    (15_000.0, 5.0, 0.1),
    (30_000.0, 4.0, 0.125),
    (45_000.0, 3.0, 0.15),
    (75_000.0, 2.0, 0.25),
    (150_000.0, 1.0, 0.5),
];

#[allow(clippy::too_many_arguments)]
fn contract(
    symbol: &str,
    kind: ContractKind,
    settle: &str,
    contract_size: f64,
    tick: f64,
    step: f64,
    min_qty: f64,
    min_notional: f64,
    tiers: &[(f64, f64, f64)],
) -> Instrument {
    Instrument {
        symbol: symbol.to_string(),
        kind,
        settle_asset: settle.to_string(),
        contract_size,
        tick_size: tick,
        step_size: step,
        min_qty,
        min_notional,
        maker_fee: 0.0002,
        taker_fee: 0.0005,
        expiry: None,
        funding_interval: Some(8 * HOUR_NS),
        brackets: Brackets::new(tiers).expect("preset tiers are valid"),
        allow_short: false,
        funding_cap: None,
        clearance_fee: Vec::new(),
    }
}

/// BTCUSDT linear perpetual: tick 0.1, step 0.001, min notional 100, maker 0.02 %, taker 0.05 %.
pub fn btcusdt() -> Instrument {
    contract(
        "BTCUSDT",
        ContractKind::Linear,
        "USDT",
        1.0,
        0.1,
        0.001,
        0.001,
        100.0,
        BTCUSDT_TIERS,
    )
}

/// ETHUSDT linear perpetual: tick 0.01, step 0.001, min notional 20.
pub fn ethusdt() -> Instrument {
    contract(
        "ETHUSDT",
        ContractKind::Linear,
        "USDT",
        1.0,
        0.01,
        0.001,
        0.001,
        20.0,
        ETHUSDT_TIERS,
    )
}

/// A generic altcoin linear perpetual named `symbol`: tick 0.0001, step 1, min notional 5.
pub fn altusdt(symbol: &str) -> Instrument {
    contract(
        symbol,
        ContractKind::Linear,
        "USDT",
        1.0,
        0.0001,
        1.0,
        1.0,
        5.0,
        ALT_TIERS,
    )
}

/// BTCUSD inverse perpetual: 100 USD contracts, tick 0.1, maker 0.02 %, taker 0.05 %.
pub fn btcusd() -> Instrument {
    contract(
        "BTCUSD_PERP",
        ContractKind::Inverse,
        "BTC",
        100.0,
        0.1,
        1.0,
        1.0,
        0.0,
        BTCUSD_TIERS,
    )
}

/// ETHUSD inverse perpetual: 10 USD contracts, tick 0.01.
pub fn ethusd() -> Instrument {
    contract(
        "ETHUSD_PERP",
        ContractKind::Inverse,
        "ETH",
        10.0,
        0.01,
        1.0,
        1.0,
        0.0,
        ETHUSD_TIERS,
    )
}

/// BTCUSDT spot: tick 0.01, step 0.00001, min notional 5, fees 0.1 %.
pub fn btcusdt_spot() -> Instrument {
    let mut i = contract(
        "BTCUSDT_SPOT",
        ContractKind::Spot,
        "USDT",
        1.0,
        0.01,
        0.00001,
        0.00001,
        5.0,
        BTCUSDT_TIERS,
    );
    i.maker_fee = 0.001;
    i.taker_fee = 0.001;
    i.funding_interval = None;
    i.brackets = Brackets::flat(0.5, 1.0).expect("valid");
    i
}

/// A delivery (quarterly) version of a perpetual preset: expires at `expiry` (ns since the
/// epoch), named `<BASE>_<YYMMDD>` by the caller's `symbol`, no funding.
pub fn delivery(mut perp: Instrument, symbol: &str, expiry: i64) -> Instrument {
    perp.symbol = symbol.to_string();
    perp.expiry = Some(expiry);
    perp.funding_interval = None;
    perp
}

/// The preset named `name`: `BTCUSDT`, `ETHUSDT`, `BTCUSD_PERP` (alias `BTCUSD`), `ETHUSD_PERP`
/// (alias `ETHUSD`), `BTCUSDT_SPOT`.
pub fn by_name(name: &str) -> Option<Instrument> {
    Some(match name {
        "BTCUSDT" => btcusdt(),
        "ETHUSDT" => ethusdt(),
        "BTCUSD" | "BTCUSD_PERP" => btcusd(),
        "ETHUSD" | "ETHUSD_PERP" => ethusd(),
        "BTCUSDT_SPOT" => btcusdt_spot(),
        _ => return None,
    })
}

/// The names [`by_name`] knows (canonical names only).
pub const NAMES: &[&str] = &[
    "BTCUSDT",
    "ETHUSDT",
    "BTCUSD_PERP",
    "ETHUSD_PERP",
    "BTCUSDT_SPOT",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn btcusdt_cum_matches_published_values() {
        let b = btcusdt().brackets;
        let cums: Vec<f64> = b.tiers().iter().map(|t| t.cum).collect();
        for (got, want) in cums
            .iter()
            .zip([0.0, 50.0, 950.0, 11_450.0, 131_450.0, 481_450.0])
        {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
    }

    #[test]
    fn every_preset_validates() {
        for n in NAMES {
            by_name(n).unwrap().validate().unwrap();
        }
        altusdt("DOGEUSDT").validate().unwrap();
    }
}

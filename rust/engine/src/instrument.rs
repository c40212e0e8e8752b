//! Contract specifications: kind (linear, inverse, spot), exchange filters, fees, expiry, funding
//! interval and margin brackets, with the notional and PnL functions that depend on the kind.
//!
//! Formulas follow `docs/accounting.md`. A linear contract's quantity is in base units
//! (× `contract_size`) and its PnL is in quote; an inverse contract's quantity counts contracts of
//! `contract_size` USD face value and its PnL is in the base coin.

use serde::{Deserialize, Serialize};

use crate::error::LedgerError;
use crate::rounding::tidy;
pub use crate::rounding::{round_half_away, round_to};

/// What values a position: the contract's kind and size, copied out of its [`Instrument`] so that
/// a hot loop holds them in registers. [`Instrument::notional`] and [`Instrument::pnl`] are these
/// methods.
#[derive(Clone, Copy, Debug)]
pub struct Valuation {
    kind: ContractKind,
    contract_size: f64,
}

impl Valuation {
    /// Notional (value) of `qty` (unsigned) at `price`, in the settlement currency.
    #[inline(always)]
    pub fn notional(self, qty: f64, price: f64) -> f64 {
        match self.kind {
            ContractKind::Linear | ContractKind::Spot => qty.abs() * self.contract_size * price,
            ContractKind::Inverse => qty.abs() * self.contract_size / price,
        }
    }

    /// PnL of `qty` (signed: positive long) entered at `entry` and valued at `price`, in the
    /// settlement currency.
    #[inline(always)]
    pub fn pnl(self, qty: f64, entry: f64, price: f64) -> f64 {
        match self.kind {
            ContractKind::Linear | ContractKind::Spot => qty * self.contract_size * (price - entry),
            ContractKind::Inverse => qty * self.contract_size * (1.0 / entry - 1.0 / price),
        }
    }
}

/// How a contract settles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContractKind {
    /// USDT/USDC-margined: notional and PnL in quote.
    Linear,
    /// Coin-margined: notional and PnL in the base coin; quantity counts USD-face contracts.
    Inverse,
    /// Spot: no leverage (leverage is 1), no shorting unless the instrument allows it.
    Spot,
}

impl crate::names::Named for ContractKind {
    const FIELD: &'static str = "kind";
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("linear", Self::Linear),
        ("inverse", Self::Inverse),
        ("spot", Self::Spot),
    ];
}

/// One tier of a margin bracket table: from `floor` notional (settlement currency) upwards.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bracket {
    /// Lowest notional of the tier (inclusive).
    pub floor: f64,
    /// Highest leverage allowed in the tier.
    pub max_leverage: f64,
    /// Maintenance margin rate.
    pub mmr: f64,
    /// Maintenance amount ("cum"): `floor·(MMR − MMR_prev) + cum_prev`, 0 for the first tier.
    pub cum: f64,
}

/// A margin bracket table, tiers sorted by floor, first floor 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "BracketTiers")]
pub struct Brackets {
    tiers: Vec<Bracket>,
    /// The least `cum` of the tiers (0 unless a rate falls from one tier to the next): what the
    /// liquidation price's quick test of a fully backed long reads.
    #[serde(skip_serializing)]
    min_cum: f64,
}

/// A bracket table as it is stored (its tiers).
#[derive(Deserialize)]
struct BracketTiers {
    tiers: Vec<Bracket>,
}

impl From<BracketTiers> for Brackets {
    fn from(b: BracketTiers) -> Self {
        Self::of_tiers(b.tiers)
    }
}

impl Brackets {
    /// Builds a table from `(floor, max_leverage, mmr)` tiers, computing each tier's `cum` by the
    /// exchange rule `cum_n = floor_n·(MMR_n − MMR_{n−1}) + cum_{n−1}`.
    pub fn new(tiers: &[(f64, f64, f64)]) -> Result<Self, LedgerError> {
        if tiers.is_empty() {
            return Err(LedgerError::invalid(
                "brackets",
                "at least one tier is needed",
            ));
        }
        let mut out: Vec<Bracket> = Vec::with_capacity(tiers.len());
        for (i, &(floor, max_leverage, mmr)) in tiers.iter().enumerate() {
            let bad = |what: &str| LedgerError::invalid("brackets", format!("tier {i}: {what}"));
            if !(floor.is_finite() && floor >= 0.0) {
                return Err(bad("floor must be finite and >= 0"));
            }
            if i == 0 && floor != 0.0 {
                return Err(bad("the first floor must be 0"));
            }
            if !(max_leverage.is_finite() && max_leverage >= 1.0) {
                return Err(bad("max_leverage must be finite and >= 1"));
            }
            if !(mmr.is_finite() && mmr > 0.0 && mmr < 1.0) {
                return Err(bad("mmr must be in (0, 1)"));
            }
            let cum = match out.last() {
                None => 0.0,
                Some(prev) => {
                    if floor <= prev.floor {
                        return Err(bad("floors must increase"));
                    }
                    floor * (mmr - prev.mmr) + prev.cum
                }
            };
            out.push(Bracket {
                floor,
                max_leverage,
                mmr,
                cum,
            });
        }
        Ok(Self::of_tiers(out))
    }

    fn of_tiers(tiers: Vec<Bracket>) -> Self {
        let min_cum = tiers.iter().map(|t| t.cum).fold(f64::INFINITY, f64::min);
        Self { tiers, min_cum }
    }

    /// The least maintenance amount (`cum`) of the tiers.
    #[inline]
    pub fn min_cum(&self) -> f64 {
        self.min_cum
    }

    /// A single tier: one maintenance margin rate for every notional.
    pub fn flat(mmr: f64, max_leverage: f64) -> Result<Self, LedgerError> {
        Self::new(&[(0.0, max_leverage, mmr)])
    }

    /// The tiers, lowest floor first.
    pub fn tiers(&self) -> &[Bracket] {
        &self.tiers
    }

    /// Index of the tier a notional falls in.
    #[inline]
    pub fn tier_index(&self, notional: f64) -> usize {
        // Tables are short (≤ ~15 tiers): a linear scan from the top beats a binary search.
        let mut i = self.tiers.len() - 1;
        while i > 0 && notional < self.tiers[i].floor {
            i -= 1;
        }
        i
    }

    /// The tier a notional falls in.
    #[inline]
    pub fn tier(&self, notional: f64) -> &Bracket {
        &self.tiers[self.tier_index(notional)]
    }

    /// Maintenance margin of a position of this notional: `notional·MMR − cum` of its tier.
    #[inline]
    pub fn maintenance_margin(&self, notional: f64) -> f64 {
        if notional <= 0.0 {
            return 0.0;
        }
        let t = self.tier(notional);
        notional * t.mmr - t.cum
    }

    /// The highest leverage any position may use (that of the first tier).
    pub fn max_leverage(&self) -> f64 {
        self.tiers[0].max_leverage
    }

    /// Upper notional bound of tier `i` (infinity for the last tier).
    pub fn ceiling(&self, i: usize) -> f64 {
        self.tiers.get(i + 1).map_or(f64::INFINITY, |t| t.floor)
    }
}

/// A contract specification.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Instrument {
    /// Exchange symbol, e.g. `BTCUSDT`.
    pub symbol: String,
    /// Linear, inverse or spot.
    pub kind: ContractKind,
    /// Settlement asset: the quote (`USDT`) for linear and spot, the coin (`BTC`) for inverse.
    pub settle_asset: String,
    /// Linear: base units per contract. Inverse: USD face value per contract.
    pub contract_size: f64,
    /// Price increment (0: no rounding).
    pub tick_size: f64,
    /// Quantity increment (0: no rounding).
    pub step_size: f64,
    /// Smallest order quantity.
    pub min_qty: f64,
    /// Smallest order notional, in quote (linear/spot) or USD (inverse: qty·contract_size).
    pub min_notional: f64,
    /// Fee rate on notional for resting (maker) fills; may be negative (rebate).
    pub maker_fee: f64,
    /// Fee rate on notional for taker fills.
    pub taker_fee: f64,
    /// Expiry timestamp (ns since the epoch) for delivery contracts; `None` for perpetuals.
    pub expiry: Option<i64>,
    /// Funding interval in ns for perpetuals (`None` for delivery contracts and spot).
    pub funding_interval: Option<i64>,
    /// Margin bracket table.
    pub brackets: Brackets,
    /// Spot only: whether a negative position (borrowed short) is allowed.
    pub allow_short: bool,
    /// The cap of a funding rate computed from the premium index, per interval (None: the
    /// exchange's default rule, the first bracket's maintenance margin rate; see
    /// [`Instrument::funding_cap_rate`]).
    #[serde(default)]
    pub funding_cap: Option<f64>,
    /// The liquidation clearance fee rate on the liquidated notional, on top of the taker fee:
    /// empty (the run's `liquidation_fee` applies), one rate for every bracket, or one rate per
    /// bracket tier (the tier of the liquidated notional at the close price).
    #[serde(default)]
    pub clearance_fee: Vec<f64>,
}

/// The default futures leverage (Binance's default for a new futures position is 20x).
pub const DEFAULT_LEVERAGE: f64 = 20.0;

/// The smallest non-zero tick or step size a contract may have (below it the rounding overflows).
pub const MIN_INCREMENT: f64 = 1e-12;

/// One hour in nanoseconds.
pub const HOUR_NS: i64 = 3_600_000_000_000;

impl Instrument {
    /// A linear contract with contract size 1 and no exchange filters: any positive quantity is
    /// accepted. The margin table is flat at 0.4 % with 125× maximum leverage.
    pub fn plain_linear(symbol: &str, maker_fee: f64, taker_fee: f64) -> Self {
        Self {
            symbol: symbol.to_string(),
            kind: ContractKind::Linear,
            settle_asset: "USDT".to_string(),
            contract_size: 1.0,
            tick_size: 0.0,
            step_size: 0.0,
            min_qty: 0.0,
            min_notional: 0.0,
            maker_fee,
            taker_fee,
            expiry: None,
            funding_interval: Some(8 * HOUR_NS),
            brackets: Brackets::flat(0.004, 125.0).expect("valid flat bracket"),
            allow_short: false,
            funding_cap: None,
            clearance_fee: Vec::new(),
        }
    }

    /// The cap (and, negated, the floor) of a funding rate computed from the premium index: the
    /// contract's `funding_cap`, else Binance's stated rule, `clamp(F, −MMR, +MMR)` with the
    /// maintenance margin rate of the first bracket.
    pub fn funding_cap_rate(&self) -> f64 {
        self.funding_cap
            .unwrap_or_else(|| self.brackets.tiers()[0].mmr)
    }

    /// The clearance fee rate of a liquidation of `notional`, or `None` when the contract has no
    /// table of its own (the run's `liquidation_fee` then applies).
    #[inline]
    pub fn clearance_rate(&self, notional: f64) -> Option<f64> {
        match self.clearance_fee.len() {
            0 => None,
            1 => Some(self.clearance_fee[0]),
            _ => Some(self.clearance_fee[self.brackets.tier_index(notional)]),
        }
    }

    /// The leverage an account uses for this contract unless told otherwise: spot trades at 1x;
    /// futures at [`DEFAULT_LEVERAGE`], capped by the contract's maximum.
    pub fn default_leverage(&self) -> f64 {
        match self.kind {
            ContractKind::Spot => 1.0,
            _ => self.brackets.max_leverage().min(DEFAULT_LEVERAGE),
        }
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), LedgerError> {
        let field = |name: &str, ok: bool, what: &str| {
            if ok {
                Ok(())
            } else {
                Err(LedgerError::invalid(
                    name,
                    format!("{what} (contract {})", self.symbol),
                ))
            }
        };
        field("symbol", !self.symbol.is_empty(), "must not be empty")?;
        field(
            "contract_size",
            self.contract_size.is_finite() && self.contract_size > 0.0,
            "must be finite and > 0",
        )?;
        for (name, v) in [
            ("tick_size", self.tick_size),
            ("step_size", self.step_size),
            ("min_qty", self.min_qty),
            ("min_notional", self.min_notional),
        ] {
            field(name, v.is_finite() && v >= 0.0, "must be finite and >= 0")?;
        }
        for (name, v) in [("tick_size", self.tick_size), ("step_size", self.step_size)] {
            // A smaller increment is no exchange's and overflows the rounding (x / inc).
            field(
                name,
                v == 0.0 || v >= MIN_INCREMENT,
                "must be 0 (no rounding) or at least 1e-12",
            )?;
        }
        field(
            "maker_fee",
            self.maker_fee.is_finite() && self.maker_fee.abs() < 1.0,
            "must be finite and in (-1, 1)",
        )?;
        field(
            "taker_fee",
            self.taker_fee.is_finite() && self.taker_fee.abs() < 1.0,
            "must be finite and in (-1, 1)",
        )?;
        if let Some(f) = self.funding_interval {
            field("funding_interval_hours", f > 0, "must be > 0")?;
        }
        if let Some(c) = self.funding_cap {
            field(
                "funding_cap",
                c.is_finite() && c > 0.0 && c < 1.0,
                "must be a rate in (0, 1)",
            )?;
        }
        let n = self.clearance_fee.len();
        field(
            "clearance_fee",
            n <= 1 || n == self.brackets.tiers().len(),
            "must be one rate, or one rate per bracket tier",
        )?;
        for &c in &self.clearance_fee {
            field(
                "clearance_fee",
                c.is_finite() && (0.0..0.5).contains(&c),
                "each rate must be in [0, 0.5)",
            )?;
        }
        Ok(())
    }

    /// Notional (value) of `qty` (unsigned) at `price`, in the settlement currency.
    #[inline]
    pub fn notional(&self, qty: f64, price: f64) -> f64 {
        self.valuation().notional(qty, price)
    }

    /// The kind and contract size, which value a position ([`Valuation`]).
    #[inline(always)]
    pub fn valuation(&self) -> Valuation {
        Valuation {
            kind: self.kind,
            contract_size: self.contract_size,
        }
    }

    /// Order value in quote/USD terms as used by the `min_notional` filter.
    #[inline]
    pub fn order_value_usd(&self, qty: f64, price: f64) -> f64 {
        match self.kind {
            ContractKind::Linear | ContractKind::Spot => qty.abs() * self.contract_size * price,
            ContractKind::Inverse => qty.abs() * self.contract_size,
        }
    }

    /// Value of one unit (contract) at `price` in quote (USD for inverse): what strategies size
    /// their targets in.
    #[inline]
    pub fn unit_value(&self, price: f64) -> f64 {
        self.order_value_usd(1.0, price)
    }

    /// PnL of `qty` (signed: positive long) entered at `entry` and valued at `price`, in the
    /// settlement currency.
    #[inline]
    pub fn pnl(&self, qty: f64, entry: f64, price: f64) -> f64 {
        self.valuation().pnl(qty, entry, price)
    }

    /// Average entry after adding `add` (unsigned) at `price` to `held` (unsigned) at `entry`:
    /// arithmetic for linear/spot, harmonic for inverse.
    #[inline]
    pub fn average_entry(&self, held: f64, entry: f64, add: f64, price: f64) -> f64 {
        match self.kind {
            ContractKind::Linear | ContractKind::Spot => {
                (held * entry + add * price) / (held + add)
            }
            ContractKind::Inverse => (held + add) / (held / entry + add / price),
        }
    }

    /// Rounds a price to the tick size (nearest; unchanged when tick_size is 0).
    #[inline]
    pub fn round_price(&self, price: f64) -> f64 {
        round_to(price, self.tick_size)
    }

    /// Rounds a quantity to the step size (nearest; unchanged when step_size is 0).
    #[inline]
    pub fn round_qty(&self, qty: f64) -> f64 {
        round_to(qty, self.step_size)
    }

    /// Funding received by a signed position `qty` at `mark` and `rate` (negative: paid): longs
    /// pay a positive rate on their notional at the mark.
    #[inline]
    pub fn funding_received(&self, qty: f64, mark: f64, rate: f64) -> f64 {
        let side = if qty > 0.0 {
            1.0
        } else if qty < 0.0 {
            -1.0
        } else {
            0.0
        };
        -side * self.notional(qty, mark) * rate
    }

    /// Rounds a quantity down to the step size (grid quantities round down).
    #[inline]
    pub fn floor_qty(&self, qty: f64) -> f64 {
        if self.step_size > 0.0 {
            // The 1e-9 guard keeps 0.3/0.1 = 2.9999999999999996 from flooring to 2.
            let n = (qty / self.step_size + 1e-9).floor();
            tidy(n * self.step_size, self.step_size)
        } else {
            qty
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bracket_cum_follows_exchange_rule() {
        // spec: tier floor 250,000 with MMR 1% after a 0.5% tier whose cum is 50 → cum 1,300.
        let b = Brackets::new(&[
            (0.0, 125.0, 0.004),
            (10_000.0, 100.0, 0.005),
            (250_000.0, 50.0, 0.01),
        ])
        .unwrap();
        assert!((b.tiers()[1].cum - 10.0).abs() < 1e-12);
        let b = Brackets::new(&[
            (0.0, 125.0, 0.0045),
            (50_000.0, 100.0, 0.005),
            (250_000.0, 50.0, 0.01),
        ])
        .unwrap();
        assert!((b.tiers()[1].cum - 25.0).abs() < 1e-12);
        // direct form of the spec example: prev tier MMR 0.5 % and cum 50
        let cum = 250_000.0 * (0.01 - 0.005) + 50.0;
        assert!((cum - 1_300.0_f64).abs() < 1e-9);
        let b = Brackets::new(&[
            (0.0, 125.0, 0.004),
            (50_000.0, 100.0, 0.005),
            (250_000.0, 50.0, 0.01),
        ])
        .unwrap();
        assert!((b.tiers()[1].cum - 50.0).abs() < 1e-9);
        assert!((b.tiers()[2].cum - 1_300.0).abs() < 1e-9);
        assert_eq!(b.tier_index(49_999.0), 0);
        assert_eq!(b.tier_index(50_000.0), 1);
        assert_eq!(b.tier_index(1e12), 2);
    }

    #[test]
    fn bracket_validation_names_the_tier() {
        let e = Brackets::new(&[(0.0, 125.0, 0.004), (0.0, 100.0, 0.005)]).unwrap_err();
        assert!(e.to_string().contains("tier 1"), "{e}");
        assert!(Brackets::new(&[(10.0, 125.0, 0.004)]).is_err());
        assert!(Brackets::new(&[]).is_err());
    }

    #[test]
    fn rounding_cleans_binary_noise() {
        assert_eq!(round_to(0.1 + 0.2, 0.1), 0.3);
        assert_eq!(round_to(50_000.04, 0.1), 50_000.0);
        let mut i = Instrument::plain_linear("X", 0.0, 0.0);
        i.step_size = 0.001;
        assert_eq!(i.floor_qty(0.0019999), 0.001);
        assert_eq!(i.floor_qty(0.3), 0.3);
        assert_eq!(i.round_qty(0.0015001), 0.002);
        assert_eq!(i.round_qty(0.0025), 0.003);
        assert_eq!(i.round_qty(0.0024), 0.002);
    }

    #[test]
    fn inverse_harmonic_entry_example() {
        let mut i = Instrument::plain_linear("BTCUSD", 0.0, 0.0);
        i.kind = ContractKind::Inverse;
        let ep = i.average_entry(50.0, 10_000.0, 50.0, 15_000.0);
        assert!((ep - 12_000.0).abs() < 1e-9);
    }
}

//! The engine's options: how orders match along the path, liquidation switches, and what is
//! recorded. Every option is listed and checked here, once.

use serde::{Deserialize, Serialize};

use crate::error::LedgerError;
use crate::market::PathModel;

/// Which steps leave a row in the history (the statistics always see every step).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record {
    /// Every `k`-th step (the first, the (k+1)-th, ...; `Every(1)`: every step) and the last.
    Every(u32),
    /// The first step at or after each multiple of this interval (ns since the epoch), and the
    /// last: the rows pandas' `asfreq` would pick from the full history when the steps are
    /// regular. Each row keeps its own step's timestamp.
    Interval(i64),
    /// The first step, every step in which something filled, and the last.
    Fills,
    /// The last step only (Monte Carlo paths, sweeps).
    Final,
}

impl Default for Record {
    fn default() -> Self {
        Record::Every(1)
    }
}

impl Record {
    /// An upper bound of the rows a run of `steps` steps records (for reserving).
    pub fn rows_for(self, steps: usize) -> usize {
        match self {
            Record::Every(k) => steps / (k.max(1) as usize) + 2,
            Record::Interval(_) | Record::Fills => 0,
            Record::Final => 1,
        }
    }

    /// Checks the mode; the error names the `record` option.
    pub fn validate(self) -> Result<(), LedgerError> {
        match self {
            Record::Every(0) => Err(LedgerError::invalid("record", "every k steps needs k >= 1")),
            Record::Interval(ns) if ns <= 0 => Err(LedgerError::invalid(
                "record",
                format!("the interval must be > 0, got {ns} ns"),
            )),
            _ => Ok(()),
        }
    }
}

/// The price a liquidated position closes at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LiquidationClose {
    /// At the liquidation price (the open when the bar gapped through it), with the taker fee
    /// and the clearance fee: what the account keeps is what is left after them.
    LiquidationPrice,
    /// At the bankruptcy price, where the position's margin (isolated) or the account's equity
    /// (cross) is exactly used up, without fees: the insurance fund takes the position over and
    /// keeps whatever the market pays above that (Binance's last stage of a liquidation).
    BankruptcyPrice,
}

impl crate::names::Named for LiquidationClose {
    const FIELD: &'static str = "liquidation_close";
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("liquidation_price", LiquidationClose::LiquidationPrice),
        ("bankruptcy_price", LiquidationClose::BankruptcyPrice),
    ];
}

/// Matching options.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Intrabar path model.
    pub path: PathModel,
    /// Slippage of market, stop, TP/SL and trailing fills, as a fraction of the price.
    pub slippage: f64,
    /// Limit orders fill when the price touches them (else the price must trade one tick through).
    pub touch_fills: bool,
    /// Orders placed during a bar are live at once on the rest of its path (else from the next step).
    pub same_bar: bool,
    /// Cap of limit (maker) fills per bar as a fraction of the bar's volume (0: no cap).
    pub max_participation: f64,
    /// Liquidation (clearance) fee rate on the liquidated notional, on top of the taker fee, for
    /// contracts without their own per-bracket `clearance_fee`.
    pub liquidation_fee: f64,
    /// The price a liquidated position closes at.
    pub liquidation_close: LiquidationClose,
    /// The auto-deleveraging model (0: off): when the price moves this fraction from where the
    /// bar started (the previous close), traders on the other side levered `1/adl_move` times
    /// are bankrupt, and a position in profit on the winning side is closed at that level
    /// without fee (docs/accounting.md, "Auto-deleveraging").
    #[serde(default)]
    pub adl_move: f64,
    /// Let the wallet go below zero after a liquidation (default: the insurance fund covers it).
    pub allow_negative_balance: bool,
    /// Liquidate at the liquidation price (default). Off: positions are never liquidated, as in
    /// frictionless studies (the principle: liquidation is on unless switched off).
    pub liquidation: bool,
    /// The what-if ledger: every order is booked without margin checks (at placement and at the
    /// fill) and nothing is liquidated; the wallet may go negative. For risk studies ("how much
    /// would this lose in a one-way trend?").
    pub what_if: bool,
    /// Which steps are recorded in the history.
    pub record: Record,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            path: PathModel::NearestFirst,
            slippage: 0.0,
            touch_fills: true,
            same_bar: true,
            max_participation: 0.0,
            liquidation_fee: 0.0,
            liquidation_close: LiquidationClose::LiquidationPrice,
            adl_move: 0.0,
            allow_negative_balance: false,
            liquidation: true,
            what_if: false,
            record: Record::default(),
        }
    }
}

impl Config {
    /// Checks the numbers; the error names the option.
    pub fn validate(&self) -> Result<(), LedgerError> {
        let ok = |name: &str, v: f64, lo: f64, hi: f64| {
            if v.is_finite() && v >= lo && v < hi {
                Ok(())
            } else {
                Err(LedgerError::invalid(
                    name,
                    format!("must be in [{lo}, {hi}), got {v}"),
                ))
            }
        };
        ok("slippage", self.slippage, 0.0, 0.5)?;
        ok(
            "max_participation",
            self.max_participation,
            0.0,
            1.000_000_1,
        )?;
        ok("liquidation_fee", self.liquidation_fee, 0.0, 0.5)?;
        ok("adl_move", self.adl_move, 0.0, 1.0)?;
        if self.liquidation_close == LiquidationClose::BankruptcyPrice
            && self.allow_negative_balance
        {
            return Err(LedgerError::invalid(
                "liquidation_close",
                "a close at the bankruptcy price loses exactly the margin, so the wallet cannot go \
                 negative: it does not combine with allow_negative_balance=True",
            ));
        }
        self.record.validate()
    }

    /// The same options recording only the final figures (summary runs).
    pub fn summary_only(self) -> Self {
        Self {
            record: Record::Final,
            ..self
        }
    }
}

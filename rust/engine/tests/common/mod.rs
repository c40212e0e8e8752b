//! Test fixtures shared by the integration tests: one symbol's bars as owned columns.
#![allow(dead_code)] // each test file uses its own part

use perpsim_engine::engine::SymbolInput;
use perpsim_engine::market::BarSeries;

/// An hour in nanoseconds.
pub const H: i64 = 3_600_000_000_000;

/// One symbol's bars as owned columns.
#[derive(Clone, Debug)]
pub struct Bars {
    pub ts: Vec<i64>,
    pub o: Vec<f64>,
    pub h: Vec<f64>,
    pub l: Vec<f64>,
    pub c: Vec<f64>,
}

impl Bars {
    /// Hourly bars of (open, high, low, close) rows.
    pub fn new(rows: &[(f64, f64, f64, f64)]) -> Self {
        Self::every(rows, H)
    }

    /// Bars of (open, high, low, close) rows, `step` ns apart from time 0.
    pub fn every(rows: &[(f64, f64, f64, f64)], step: i64) -> Self {
        Self {
            ts: (0..rows.len() as i64).map(|k| k * step).collect(),
            o: rows.iter().map(|r| r.0).collect(),
            h: rows.iter().map(|r| r.1).collect(),
            l: rows.iter().map(|r| r.2).collect(),
            c: rows.iter().map(|r| r.3).collect(),
        }
    }

    /// Hourly bars that open at the previous close and span it and the next.
    pub fn closes(closes: &[f64]) -> Self {
        let rows: Vec<(f64, f64, f64, f64)> = closes
            .iter()
            .enumerate()
            .map(|(k, &c)| {
                let o = if k == 0 { c } else { closes[k - 1] };
                (o, o.max(c), o.min(c), c)
            })
            .collect();
        Self::new(&rows)
    }

    /// The bars as a run's input (no funding, settlement or rebates).
    pub fn input(&self) -> SymbolInput<'_> {
        SymbolInput {
            bars: BarSeries::ohlc(&self.ts, &self.o, &self.h, &self.l, &self.c),
            funding: None,
            settlement_price: None,
            rebates: None,
        }
    }
}

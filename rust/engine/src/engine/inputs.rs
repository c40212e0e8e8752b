//! A run's market data ([`SymbolInput`] per symbol), checked once ([`Inputs::check`]), and what
//! the data say about the run before it starts: the dates each symbol covers, whether they
//! overlap, and the funding rows that no step will match (counted as warnings).

use super::Engine;
use crate::error::LedgerError;
use crate::ledger::Account;
use crate::market::{BarSeries, Series};
use crate::warnings::{date, Warning, WarningKind};

/// One symbol's market data for a run.
#[derive(Clone, Copy, Debug)]
pub struct SymbolInput<'a> {
    /// The bars (or ticks as one-point bars).
    pub bars: BarSeries<'a>,
    /// Funding rates by funding time (perpetuals).
    pub funding: Option<Series<'a>>,
    /// Settlement price at expiry (delivery contracts); else the last price before expiry.
    pub settlement_price: Option<f64>,
    /// Trade-mining or volume rebate schedule (engine/rebates.rs).
    pub rebates: Option<super::RebateSchedule<'a>>,
}

/// A run's inputs once checked ([`Inputs::check`]): one [`SymbolInput`] per symbol of the
/// account, in its order, and extra step times (`clock`).
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'s, 'a> {
    pub(super) symbols: &'s [SymbolInput<'a>],
    pub(super) clock: &'s [i64],
    /// The bars' rows are left to the run ([`Inputs::check_deferring`]).
    pub(super) deferred: bool,
}

impl<'s, 'a> Inputs<'s, 'a> {
    /// Checks `symbols` and `clock` for a run on `account`: one input per symbol, bars and
    /// funding by the data rules (the error names the column and first bad row), settlement
    /// prices > 0, clock times increasing.
    pub fn check(
        account: &Account,
        symbols: &'s [SymbolInput<'a>],
        clock: &'s [i64],
    ) -> Result<Self, LedgerError> {
        if let Some(k) = clock.windows(2).position(|w| w[1] <= w[0]) {
            return Err(LedgerError::bad_row(
                "timestamp",
                k + 1,
                "clock times must increase",
            ));
        }
        let n = account.len();
        if symbols.len() != n {
            return Err(LedgerError::invalid(
                "data",
                format!("{} symbols of data for an account of {n}", symbols.len()),
            ));
        }
        for k in 0..n {
            check_bars(account, symbols, k)?;
            check_rest(account, symbols, k)?;
        }
        Ok(Self {
            symbols,
            clock,
            deferred: false,
        })
    }

    /// [`Inputs::check`], except that the rows of a one-symbol run's bars (with no extra step
    /// times) are checked by the run itself, a block at a time just ahead of the rows it runs,
    /// while they are in the cache (`run_checked`): here only their shape is. The first bad
    /// row stops the run with the error `check` would have given, and a run that began on a
    /// fresh engine (no step yet) leaves it as it was. The strategy has then seen rows before
    /// the bad one: this is for strategies that act on nothing but the engine (the built-in
    /// ones), dropped after a failed run. Anything else is checked as `check` does.
    pub fn check_deferring(
        account: &Account,
        symbols: &'s [SymbolInput<'a>],
        clock: &'s [i64],
    ) -> Result<Self, LedgerError> {
        let one = account.len() == 1 && symbols.len() == 1 && clock.is_empty();
        // The first and last times are read before the checker passes them: they must be
        // nanoseconds already (then so is every time between, once the checker finds them in order).
        if !(one
            && symbols[0].bars.lengths_match()
            && symbols[0].bars.ts.check_range("timestamp").is_ok()
            && check_rest(account, symbols, 0).is_ok())
        {
            return Self::check(account, symbols, clock);
        }
        Ok(Self {
            symbols,
            clock,
            deferred: true,
        })
    }

    /// The check of symbol `k`'s bars, row by row (the error `check` gives).
    pub(super) fn check_bars(&self, account: &Account, k: usize) -> Result<(), LedgerError> {
        check_bars(account, self.symbols, k)
    }

    /// Inputs the engine made itself and knows to be valid (Monte Carlo paths).
    pub(crate) fn trusted(symbols: &'s [SymbolInput<'a>], clock: &'s [i64]) -> Self {
        Self {
            symbols,
            clock,
            deferred: false,
        }
    }

    /// Each symbol's input, in the account's order.
    pub fn symbols(&self) -> &'s [SymbolInput<'a>] {
        self.symbols
    }

    /// The time of the run's first step (None: no step).
    pub fn first_ts(&self) -> Option<i64> {
        self.symbols
            .iter()
            .filter_map(|s| s.bars.ts.first())
            .chain(self.clock.first().copied())
            .min()
    }

    /// The number of steps the run will have at most (for reserving).
    pub(super) fn max_steps(&self) -> usize {
        self.symbols
            .iter()
            .map(|i| i.bars.len())
            .max()
            .unwrap_or(0)
            .max(self.clock.len())
    }

    /// About how many steps the run has (the longest input; for deciding how to run it).
    pub fn step_count_hint(&self) -> usize {
        self.max_steps()
    }

    /// Extra step times of the run.
    pub fn clock(&self) -> &'s [i64] {
        self.clock
    }

    /// Every step time of the run, in order: the union of the bars' times and the clock.
    pub fn step_times(&self) -> Vec<i64> {
        let mut t: Vec<i64> = self
            .symbols
            .iter()
            .flat_map(|s| s.bars.ts.iter())
            .chain(self.clock.iter().copied())
            .collect();
        t.sort_unstable();
        t.dedup();
        t
    }

    /// The first and last bar times of symbol `k` (None: no bars).
    pub fn span(&self, k: usize) -> Option<(i64, i64)> {
        let ts = self.symbols[k].bars.ts;
        Some((ts.first()?, ts.last()?))
    }

    /// The rule for runs on several symbols (the default of [`super::Strategy::check_inputs`]):
    /// every symbol has bars, and each one's dates overlap another's; with `all`, there is a time
    /// that every symbol's data cover (a strategy that needs every price at once). Otherwise the
    /// run is refused (`data`), naming each symbol's dates.
    pub fn check_overlap(&self, account: &Account, all: bool) -> Result<(), LedgerError> {
        let n = self.symbols.len();
        if n < 2 {
            return Ok(());
        }
        let names = |k: usize| account.instruments()[k].symbol.as_str();
        let spans: Vec<Option<(i64, i64)>> = (0..n).map(|k| self.span(k)).collect();
        if let Some(k) = spans.iter().position(Option::is_none) {
            return Err(LedgerError::invalid(
                "data",
                format!(
                    "{}: no bars (a run on several symbols needs bars for each)",
                    names(k)
                ),
            ));
        }
        let spans: Vec<(i64, i64)> = spans.into_iter().flatten().collect();
        let meets = |a: (i64, i64), b: (i64, i64)| a.0 <= b.1 && b.0 <= a.1;
        let lonely = (0..n).find(|&k| (0..n).all(|j| j == k || !meets(spans[k], spans[j])));
        let common = spans.iter().map(|s| s.0).max() <= spans.iter().map(|s| s.1).min();
        if lonely.is_none() && (!all || common) {
            return Ok(());
        }
        let dates: Vec<String> = (0..n)
            .map(|k| format!("{} {} to {}", names(k), date(spans[k].0), date(spans[k].1)))
            .collect();
        let what = match lonely {
            Some(k) => format!("{}'s dates overlap no other symbol's", names(k)),
            None => "no time is covered by every symbol's data".to_string(),
        };
        Err(LedgerError::invalid(
            "data",
            format!("{what} ({})", dates.join("; ")),
        ))
    }

    /// Counts, as warnings on `engine`, the funding rows no step of this run will match: those
    /// before the symbol's first bar or after its last (not yet behind the engine). When no row
    /// of a symbol falls within its bars' dates, the warning is doubtful.
    pub(super) fn count_unmatched_funding(&self, engine: &mut Engine) {
        let behind = engine.now();
        for (k, s) in self.symbols.iter().enumerate() {
            let Some(f) = s.funding else { continue };
            let from = f.ts.partition_point(|&t| t <= behind);
            let rows = &f.ts[from..];
            if rows.is_empty() {
                continue;
            }
            let (before, after) = match self.span(k) {
                Some((a, b)) => (
                    rows.partition_point(|&t| t < a),
                    rows.len() - rows.partition_point(|&t| t <= b),
                ),
                None => (rows.len(), 0),
            };
            let out = (before + after) as u64;
            if out == 0 {
                continue;
            }
            let total = rows.len() as u64;
            let detail = if out == total {
                "funding rates (none falls within the bars' dates: no funding was paid)"
            } else {
                "funding rates (outside the bars' dates)"
            };
            let mut w = Warning::new(WarningKind::Unmatched, Some(k), detail).counted(out, total);
            w.doubtful = out == total;
            engine.push_warning(w);
        }
    }
}

/// Symbol `k`'s bars, by the data rules; the error names the symbol.
fn check_bars(account: &Account, symbols: &[SymbolInput<'_>], k: usize) -> Result<(), LedgerError> {
    let sym = &account.instruments()[k].symbol;
    symbols[k].bars.validate().map_err(|mut e| {
        e.message = format!("{sym}: {}", e.message);
        e
    })
}

/// Symbol `k`'s funding, settlement price and rebates.
fn check_rest(account: &Account, symbols: &[SymbolInput<'_>], k: usize) -> Result<(), LedgerError> {
    let (sym, inp) = (&account.instruments()[k].symbol, &symbols[k]);
    if let Some(f) = inp.funding {
        f.validate("funding_rate")?;
    }
    if let Some(p) = inp.settlement_price {
        crate::error::positive("settlement_price", p)?;
    }
    if let Some(r) = &inp.rebates {
        r.validate().map_err(|mut e| {
            e.message = format!("{sym}: rebates: {}", e.message);
            e
        })?;
    }
    Ok(())
}

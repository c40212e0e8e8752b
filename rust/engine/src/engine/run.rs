//! The event loop, the only one: several symbols on one timeline; per step funding → settlement
//! → path → close (docs/matching.md, "Order of events at each step"): funding for the funding
//! times in (previous step, this step], at the bar's open. Backtests with built-in or Python
//! strategies, sweeps and Monte Carlo paths all run through [`run_checked`]. No allocation per bar.

use super::{Engine, Strategy};
use crate::error::LedgerError;
use crate::ledger::Account;
use crate::market::{BarSeries, Series};

/// One symbol's market data for a run.
#[derive(Clone, Copy, Debug)]
pub struct SymbolInput<'a> {
    /// The bars (or ticks as one-point bars).
    pub bars: BarSeries<'a>,
    /// Funding rates by funding time (perpetuals).
    pub funding: Option<Series<'a>>,
    /// Settlement price at expiry (delivery contracts); else the last price before expiry.
    pub settlement_price: Option<f64>,
}

/// A run's inputs once checked ([`Inputs::check`]): one [`SymbolInput`] per symbol of the
/// account, in its order, and extra step times (`clock`).
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'s, 'a> {
    symbols: &'s [SymbolInput<'a>],
    clock: &'s [i64],
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
        for (k, inp) in symbols.iter().enumerate() {
            let sym = &account.instruments()[k].symbol;
            inp.bars.validate().map_err(|mut e| {
                e.message = format!("{sym}: {}", e.message);
                e
            })?;
            if let Some(f) = inp.funding {
                f.validate("funding_rate")?;
            }
            if let Some(p) = inp.settlement_price {
                crate::error::positive("settlement_price", p)?;
            }
        }
        Ok(Self { symbols, clock })
    }

    /// Inputs the engine made itself and knows to be valid (Monte Carlo paths).
    pub(crate) fn trusted(symbols: &'s [SymbolInput<'a>], clock: &'s [i64]) -> Self {
        Self { symbols, clock }
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
            .chain(self.clock.first())
            .min()
            .copied()
    }

    /// The number of steps the run will have at most (for reserving).
    fn max_steps(&self) -> usize {
        self.symbols
            .iter()
            .map(|i| i.bars.len())
            .max()
            .unwrap_or(0)
            .max(self.clock.len())
    }
}

/// Runs every bar of `inputs` (one per symbol of the engine's account, in its order) through the
/// engine with `strategy`. Symbols with no bar at a step are skipped for that step.
pub fn run<S: Strategy>(
    engine: &mut Engine,
    inputs: &[SymbolInput<'_>],
    strategy: &mut S,
) -> Result<(), LedgerError> {
    run_clocked(engine, inputs, &[], strategy)
}

/// [`run`] with extra step times: the steps are the union of the bars' times and `clock`
/// (increasing), so that a strategy with data outside the engine (a spot leg) sees every step
/// and delivery contracts settle at expiry after their own bars have ended.
pub fn run_clocked<S: Strategy>(
    engine: &mut Engine,
    inputs: &[SymbolInput<'_>],
    clock: &[i64],
    strategy: &mut S,
) -> Result<(), LedgerError> {
    let inputs = Inputs::check(engine.account(), inputs, clock)?;
    run_checked(engine, &inputs, strategy)
}

/// The event loop over checked inputs (see the module doc). A strategy whose
/// [`Strategy::keep_going`] turns false stops the run with an `Interrupted` error. When nothing
/// can change any more (a blown, flat account whose value is its equity) and only the final
/// figures are recorded, the remaining steps of a one-symbol run are counted, not run.
pub fn run_checked<S: Strategy>(
    engine: &mut Engine,
    inputs: &Inputs<'_, '_>,
    strategy: &mut S,
) -> Result<(), LedgerError> {
    let (symbols, clock) = (inputs.symbols, inputs.clock);
    let n = symbols.len();
    engine.reserve_steps(inputs.max_steps());
    if engine.steps() == 0 {
        if let Some(v) = strategy.value(engine) {
            engine.set_initial_value(v);
        }
    }
    let expiries: Vec<Option<i64>> = engine
        .account()
        .instruments()
        .iter()
        .map(|i| i.expiry)
        .collect();
    let mut cursor = vec![0usize; n];
    // Funding times already behind the engine (at or before its last step) are not paid again.
    let last = engine.now();
    let fcursor_start =
        |f: &Option<Series<'_>>| f.map_or(0, |f| f.ts.partition_point(|&t| t <= last));
    let mut fcursor: Vec<usize> = symbols.iter().map(|i| fcursor_start(&i.funding)).collect();
    let mut ccursor = 0usize;
    let can_skip = n == 1 && clock.is_empty() && engine.config().record == super::Record::Final;
    loop {
        // The next step: the earliest next bar over the symbols (or clock time).
        let mut ts = clock.get(ccursor).copied().unwrap_or(i64::MAX);
        for k in 0..n {
            if cursor[k] < symbols[k].bars.len() {
                ts = ts.min(symbols[k].bars.ts[cursor[k]]);
            }
        }
        if ts == i64::MAX {
            break;
        }
        if clock.get(ccursor) == Some(&ts) {
            ccursor += 1;
        }
        engine.begin_step(ts, strategy);
        for k in 0..n {
            let r = cursor[k];
            let has_bar = r < symbols[k].bars.len() && symbols[k].bars.ts[r] == ts;
            if has_bar {
                if let Some(f) = symbols[k].funding {
                    let open = symbols[k].bars.open[r];
                    while fcursor[k] < f.ts.len() && f.ts[fcursor[k]] <= ts {
                        engine.funding(k, f.ts[fcursor[k]], f.values[fcursor[k]], open)?;
                        fcursor[k] += 1;
                    }
                }
            }
            // A delivery contract settles at the first step at or after its expiry, with or
            // without a bar of its own then (its data usually ends at expiry).
            if let Some(x) = expiries[k] {
                if x <= ts && !engine.is_expired(k) {
                    let last = engine.price(k);
                    let fallback = if has_bar {
                        symbols[k].bars.open[r]
                    } else {
                        f64::NAN
                    };
                    let price = symbols[k].settlement_price.unwrap_or(if last.is_finite() {
                        last
                    } else {
                        fallback
                    });
                    if price.is_finite() {
                        engine.settle(k, price, strategy)?;
                    }
                }
            }
        }
        for k in 0..n {
            let r = cursor[k];
            if r < symbols[k].bars.len() && symbols[k].bars.ts[r] == ts {
                let bar = symbols[k].bars.bar(r);
                engine.bar(k, &bar, strategy);
                cursor[k] += 1;
            }
        }
        engine.end_step(strategy);
        if !strategy.keep_going() {
            return Err(LedgerError::interrupted(
                engine.steps() as usize,
                "the strategy stopped the run",
            ));
        }
        if can_skip && engine.is_finished() && strategy.value(engine).is_none() {
            engine.skip_steps(&symbols[0].bars.ts[cursor[0]..]);
            break;
        }
    }
    engine.finish();
    Ok(())
}

//! The single-run event loop: several symbols on one timeline; per step funding → settlement →
//! path → close (spec/matching.md, "Order of events at each step"): funding for the funding times
//! in (previous step, this step], at the bar's open. No allocation per bar.

use crate::error::LedgerError;
use crate::market::{BarSeries, Series};
use crate::matching::Engine;
use crate::strategy::Strategy;

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
    if let Some(k) = clock.windows(2).position(|w| w[1] <= w[0]) {
        return Err(LedgerError::bad_row(
            "timestamp",
            k + 1,
            "clock times must increase",
        ));
    }
    let n = engine.account().len();
    if inputs.len() != n {
        return Err(LedgerError::invalid(
            "data",
            format!("{} symbols of data for an account of {n}", inputs.len()),
        ));
    }
    for (k, inp) in inputs.iter().enumerate() {
        let sym = &engine.account().instruments()[k].symbol;
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
    let steps = inputs
        .iter()
        .map(|i| i.bars.len())
        .max()
        .unwrap_or(0)
        .max(clock.len());
    engine.reserve_steps(steps);
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
    let mut fcursor: Vec<usize> = inputs.iter().map(|i| fcursor_start(&i.funding)).collect();
    let mut ccursor = 0usize;
    loop {
        // The next step: the earliest next bar over the symbols (or clock time).
        let mut ts = clock.get(ccursor).copied().unwrap_or(i64::MAX);
        for k in 0..n {
            if cursor[k] < inputs[k].bars.len() {
                ts = ts.min(inputs[k].bars.ts[cursor[k]]);
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
            let has_bar = r < inputs[k].bars.len() && inputs[k].bars.ts[r] == ts;
            if has_bar {
                if let Some(f) = inputs[k].funding {
                    let open = inputs[k].bars.open[r];
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
                        inputs[k].bars.open[r]
                    } else {
                        f64::NAN
                    };
                    let price = inputs[k].settlement_price.unwrap_or(if last.is_finite() {
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
            if r < inputs[k].bars.len() && inputs[k].bars.ts[r] == ts {
                let bar = inputs[k].bars.bar(r);
                engine.bar(k, &bar, strategy);
                cursor[k] += 1;
            }
        }
        engine.end_step(strategy);
    }
    Ok(())
}

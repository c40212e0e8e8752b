//! Resampling a run's closed trades (robustness of one backtest): the trades' PnLs in a random
//! order (a shuffle: the same final equity, another path to it) or drawn with replacement (a
//! bootstrap: another final equity too), each sequence folded into an equity curve by the
//! statistics engine ([`CurveStats`]: one definition of drawdown). Sequence `i` draws from
//! `Rng::for_path(seed, i)`, so the rows do not depend on threads or batches.

use rayon::prelude::*;

use super::rng::Rng;
use crate::error::LedgerError;
use crate::stats::CurveStats;

/// How a sequence of trades is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resampling {
    /// A random permutation of the trades (Fisher–Yates).
    Shuffle,
    /// As many trades as the run had, drawn with replacement.
    Bootstrap,
    /// The trades in the order they happened (the run itself, folded the same way).
    AsRun,
}

/// The figures of one resampled sequence.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResampleRow {
    /// The equity after the last trade.
    pub final_equity: f64,
    /// The largest fall from a running peak (a fraction ≤ 0; the initial balance is a peak).
    pub max_drawdown: f64,
    /// The lowest equity reached (the initial balance included).
    pub min_equity: f64,
    /// Whether the equity reached `ruin_level` or below at some trade.
    pub ruined: bool,
}

/// `n` sequences of `pnl` (the trades' net PnLs in order) drawn as `how`, each starting from
/// `initial`; ruin is an equity at or below `ruin_level`.
pub fn resample_trades(
    pnl: &[f64],
    initial: f64,
    n: usize,
    seed: u64,
    how: Resampling,
    ruin_level: f64,
) -> Result<Vec<ResampleRow>, LedgerError> {
    if !(initial.is_finite() && initial > 0.0) {
        return Err(LedgerError::invalid(
            "initial_balance",
            "must be a positive number",
        ));
    }
    if pnl.is_empty() {
        return Err(LedgerError::invalid(
            "trades",
            "the run closed no trade: nothing to resample",
        ));
    }
    if let Some(k) = pnl.iter().position(|v| !v.is_finite()) {
        return Err(LedgerError::bad_row(
            "pnl",
            k,
            "a trade's PnL is not finite",
        ));
    }
    if !ruin_level.is_finite() {
        return Err(LedgerError::invalid("ruin", "must be a finite level"));
    }
    let rows = (0..n)
        .into_par_iter()
        .map_init(
            || Vec::with_capacity(pnl.len()),
            |order: &mut Vec<usize>, i| {
                let mut rng = Rng::for_path(seed, i as u64);
                order.clear();
                order.extend(0..pnl.len());
                match how {
                    Resampling::Shuffle => {
                        for k in (1..order.len()).rev() {
                            order.swap(k, rng.below(k + 1));
                        }
                    }
                    Resampling::Bootstrap => {
                        for o in order.iter_mut() {
                            *o = rng.below(pnl.len());
                        }
                    }
                    Resampling::AsRun => {}
                }
                let mut c = CurveStats::new(initial);
                let mut e = initial;
                for (k, &j) in order.iter().enumerate() {
                    e += pnl[j];
                    c.push(k as i64, e);
                }
                ResampleRow {
                    final_equity: e,
                    max_drawdown: c.max_drawdown,
                    min_equity: c.min,
                    ruined: c.min <= ruin_level,
                }
            },
        )
        .collect();
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shuffle_keeps_the_total_and_a_seed_repeats() {
        let pnl = [10.0, -30.0, 5.0, 20.0, -8.0, 1.0];
        let a = resample_trades(&pnl, 100.0, 50, 7, Resampling::Shuffle, 60.0).unwrap();
        let b = resample_trades(&pnl, 100.0, 50, 7, Resampling::Shuffle, 60.0).unwrap();
        assert_eq!(a, b);
        for r in &a {
            assert!((r.final_equity - 98.0).abs() < 1e-9);
            assert!(r.max_drawdown <= 0.0 && r.min_equity <= 100.0);
        }
        // the worst order puts every loss first: 100 - 38 = 62 at least, never ruined at 60
        assert!(a.iter().all(|r| r.min_equity >= 62.0 - 1e-9 && !r.ruined));
        let c = resample_trades(&pnl, 100.0, 50, 8, Resampling::Shuffle, 60.0).unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn a_bootstrap_draws_from_the_trades_and_refuses_nothing_to_draw() {
        let pnl = [-50.0, 50.0];
        let r = resample_trades(&pnl, 100.0, 200, 1, Resampling::Bootstrap, 0.0).unwrap();
        assert!(r.iter().any(|x| x.ruined)); // two losses in a row reach 0
        assert!(r.iter().all(|x| (x.final_equity - 100.0) % 50.0 == 0.0));
        assert!(resample_trades(&[], 100.0, 1, 1, Resampling::Bootstrap, 0.0).is_err());
        assert!(resample_trades(&[f64::NAN], 100.0, 1, 1, Resampling::Bootstrap, 0.0).is_err());
    }
}

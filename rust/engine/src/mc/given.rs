//! Given paths: price paths the caller simulated or resampled (not generated here), run through
//! one or several strategies, one row of figures per path and strategy (the Monte Carlo table),
//! in parallel over paths. Each path is a backtest through the one event loop
//! ([`run_checked`]), its bars checked by the one validator ([`Inputs::check`]), keeping only its
//! figures; the rows do not depend on the thread count.

use rayon::prelude::*;

use super::runner::PathStats;
use crate::engine::{run_checked, Config, Engine, Inputs, SymbolInput};
use crate::error::LedgerError;
use crate::ledger::Account;
use crate::market::{BarSeries, Series};
use crate::strategy::BuiltIn;

/// Paths of one symbol laid out path after path: path `p`'s bars are
/// `open[p * bars..(p + 1) * bars]` (and the same for the other fields), all at the times `ts`.
#[derive(Clone, Copy, Debug)]
pub struct GivenPaths<'a> {
    /// The bars' times (ns), shared by every path.
    pub ts: &'a [i64],
    /// Opens, path after path.
    pub open: &'a [f64],
    /// Highs.
    pub high: &'a [f64],
    /// Lows.
    pub low: &'a [f64],
    /// Closes.
    pub close: &'a [f64],
    /// Funding rates by funding time, the same on every path.
    pub funding: Option<Series<'a>>,
}

impl<'a> GivenPaths<'a> {
    /// The number of paths; an error when the fields do not hold whole paths of `ts.len()` bars.
    pub fn n_paths(&self) -> Result<usize, LedgerError> {
        let bars = self.ts.len();
        let n = self.open.len();
        if bars == 0 {
            return Err(LedgerError::invalid("paths", "no bars"));
        }
        for (name, col) in [
            ("high", self.high),
            ("low", self.low),
            ("close", self.close),
        ] {
            if col.len() != n {
                return Err(LedgerError::invalid(
                    name,
                    format!("{} values, open has {n}", col.len()),
                ));
            }
        }
        if n % bars != 0 {
            return Err(LedgerError::invalid(
                "paths",
                format!("{n} values are not whole paths of {bars} bars"),
            ));
        }
        Ok(n / bars)
    }

    /// Path `p` as one symbol's input.
    fn path(&self, p: usize) -> SymbolInput<'a> {
        let bars = self.ts.len();
        let r = p * bars..(p + 1) * bars;
        SymbolInput {
            bars: BarSeries::ohlc(
                self.ts,
                &self.open[r.clone()],
                &self.high[r.clone()],
                &self.low[r.clone()],
                &self.close[r],
            ),
            funding: self.funding,
            settlement_price: None,
            rebates: None,
        }
    }
}

/// Every strategy of `strategies` on every path of `paths` (on the current rayon pool), each from
/// `account` with `config` keeping only the final figures; rows ordered by strategy, then path. A
/// path whose bars the validator refuses is an error naming the path.
pub fn run_given(
    account: &Account,
    config: &Config,
    paths: &GivenPaths<'_>,
    strategies: &[BuiltIn],
) -> Result<Vec<PathStats>, LedgerError> {
    if account.len() != 1 {
        return Err(LedgerError::invalid(
            "contract",
            "given paths are of one symbol",
        ));
    }
    let per = paths.n_paths()? as u64;
    let config = config.summary_only();
    config.validate()?;
    (0..strategies.len() as u64 * per)
        .into_par_iter()
        .map(|j| {
            let (set, p) = (j / per, j % per);
            let input = [paths.path(p as usize)];
            let inputs = Inputs::check(account, &input, &[]).map_err(|mut e| {
                e.message = format!("path {p}: {}", e.message);
                e
            })?;
            let mut e = Engine::new(account.clone(), config)?;
            let mut s = strategies[set as usize].clone();
            run_checked(&mut e, &inputs, &mut s)?;
            let stats = e.stats(&s);
            Ok(PathStats {
                path: p,
                set,
                stats,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instrument::Instrument;
    use crate::strategy::{Grid, GridConfig, GridQty};

    #[test]
    fn each_given_path_is_the_backtest_of_its_bars() {
        let ts: Vec<i64> = (0..6).map(|k| k * 3_600_000_000_000).collect();
        let closes = [
            [100.0, 98.0, 96.0, 99.0, 103.0, 101.0],
            [100.0, 104.0, 101.0, 97.0, 95.0, 100.0],
        ];
        let col = |f: &dyn Fn(usize, usize) -> f64| -> Vec<f64> {
            (0..2)
                .flat_map(|p| (0..6).map(move |k| (p, k)))
                .map(|(p, k)| f(p, k))
                .collect()
        };
        let open = col(&|p, k| {
            if k == 0 {
                closes[p][0]
            } else {
                closes[p][k - 1]
            }
        });
        let close = col(&|p, k| closes[p][k]);
        let high: Vec<f64> = open.iter().zip(&close).map(|(a, b)| a.max(*b)).collect();
        let low: Vec<f64> = open.iter().zip(&close).map(|(a, b)| a.min(*b)).collect();
        let paths = GivenPaths {
            ts: &ts,
            open: &open,
            high: &high,
            low: &low,
            close: &close,
            funding: None,
        };
        let inst = Instrument::plain_linear("X", 0.0, 0.0);
        let account = Account::new(vec![inst.clone()], 10_000.0, 10.0).unwrap();
        let grid = BuiltIn::Grid(Box::new(
            Grid::new(
                GridConfig::neutral(90.0, 110.0, 10, GridQty::Base(1.0)),
                &inst,
            )
            .unwrap(),
        ));
        let rows = run_given(
            &account,
            &Config::default(),
            &paths,
            std::slice::from_ref(&grid),
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        for r in &rows {
            let p = r.path as usize;
            let mut e = Engine::new(account.clone(), Config::default()).unwrap();
            let mut s = grid.clone();
            crate::engine::run(&mut e, &[paths.path(p)], &mut s).unwrap();
            assert_eq!(e.stats(&s), r.stats, "path {p}");
        }
        let bad = GivenPaths {
            close: &close[..11],
            ..paths
        };
        assert_eq!(
            run_given(&account, &Config::default(), &bad, &[grid])
                .unwrap_err()
                .field,
            "close"
        );
    }
}

//! Monte Carlo runs: many paths of one model through one strategy, in parallel over paths (rayon),
//! each path with its own random stream so that the results do not depend on the thread count or
//! on how the paths are split into batches. Only a row of figures per path is kept (plus a few
//! sampled equity curves when asked): memory O(paths).

use rayon::prelude::*;

use super::models::{ModelSpec, PathBuf};
use super::rng::Rng;
use super::tracker::{CurveStats, Tracked};
use crate::error::LedgerError;
use crate::ledger::Account;
use crate::market::Bar;
use crate::matching::{Config, Engine};
use crate::strategy::BuiltIn;

/// The figures of one path (a flat record: it becomes a row of `MonteCarloResult.paths`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PathStats {
    /// Path index.
    pub path: u64,
    /// Parameter set (sweeps; 0 otherwise).
    pub set: u64,
    /// Equity at the end (settlement currency).
    pub final_equity: f64,
    /// final / initial − 1.
    pub total_return: f64,
    /// Largest peak-to-trough fall of the equity (≤ 0).
    pub max_drawdown: f64,
    /// Lowest equity at a close.
    pub min_equity: f64,
    /// Fraction of the steps that closed below the running peak.
    pub time_under_water: f64,
    /// Mean step return.
    pub mean_return: f64,
    /// Standard deviation of the step returns.
    pub std_return: f64,
    /// Downside deviation of the step returns (root mean square of the negative ones).
    pub downside: f64,
    /// Step of the liquidation (−1: none).
    pub liquidation_step: i64,
    /// Number of fills.
    pub fills: u64,
    /// Σ fees.
    pub fees: f64,
    /// Σ funding received.
    pub funding: f64,
    /// The grid's matched profit (NaN for other strategies).
    pub grid_matched_profit: f64,
}

impl PathStats {
    fn of(
        engine: &Engine,
        strat: &BuiltIn,
        s: &CurveStats,
        initial: f64,
        start: i64,
        dt: i64,
    ) -> Self {
        let acc = engine.account();
        let eq = acc.equity();
        let mut st = *s;
        if engine.blown() && st.last != eq {
            // The close of the liquidation step is not seen by the strategy: count it here.
            st.push(eq);
        }
        let n = st.n.max(1) as f64;
        let mean = st.sum / n;
        let var = (st.sum2 / n - mean * mean).max(0.0);
        Self {
            path: 0,
            set: 0,
            final_equity: eq,
            total_return: eq / initial - 1.0,
            max_drawdown: st.max_drawdown,
            min_equity: st.min.min(eq),
            time_under_water: st.under_water as f64 / st.steps.max(1) as f64,
            mean_return: mean,
            std_return: (var * n / (n - 1.0).max(1.0)).sqrt(),
            downside: (st.down2 / n).sqrt(),
            liquidation_step: engine.liquidated_at().map_or(-1, |t| (t - start) / dt),
            fills: acc.fill_count(),
            fees: acc.fees(),
            funding: acc.funding(),
            grid_matched_profit: match strat {
                BuiltIn::Grid(g) => g.matched_profit(),
                _ => f64::NAN,
            },
        }
    }
}

/// What every path of a run shares.
#[derive(Clone, Copy, Debug)]
pub struct McRun<'a> {
    /// The price model.
    pub model: &'a ModelSpec,
    /// The account at the start of each path (one symbol).
    pub account: &'a Account,
    /// Matching options (equity rows are not recorded).
    pub config: &'a Config,
    /// Bars per path.
    pub n_bars: usize,
    /// Run seed.
    pub seed: u64,
    /// Keep the equity curve of every path whose index is a multiple of this (0: none).
    pub curve_every: u64,
}

impl McRun<'_> {
    /// Checks the run before any path: the model, one symbol, bars > 0.
    pub fn validate(&self) -> Result<(), LedgerError> {
        self.model.validate()?;
        if self.account.len() != 1 {
            return Err(LedgerError::invalid(
                "contract",
                "Monte Carlo paths are of one symbol",
            ));
        }
        if self.n_bars == 0 {
            return Err(LedgerError::invalid("n_bars", "must be > 0"));
        }
        Config {
            record_equity: false,
            ..*self.config
        }
        .validate()
    }

    /// Runs path `path` with `strategy` (a fresh copy), its bars generated into `buf`.
    pub fn path(
        &self,
        strategy: &BuiltIn,
        path: u64,
        buf: &mut PathBuf,
        curve: Option<&mut Vec<f64>>,
    ) -> PathStats {
        let mut spare = None;
        self.path_with(strategy, path, buf, curve, &mut spare)
    }

    /// [`McRun::path`] reusing the buffers of the previous path's engine kept in `spare`.
    fn path_with(
        &self,
        strategy: &BuiltIn,
        path: u64,
        buf: &mut PathBuf,
        curve: Option<&mut Vec<f64>>,
        spare: &mut Option<Engine>,
    ) -> PathStats {
        let mut rng = Rng::for_path(self.seed, path);
        self.model.generate(&mut rng, buf);
        let config = Config {
            record_equity: false,
            ..*self.config
        };
        let initial = self.account.equity();
        let mut e = Engine::new(self.account.clone(), config).expect("validated config");
        if let Some(old) = spare.take() {
            e.recycle(old);
        }
        let mut t = Tracked {
            inner: strategy.clone(),
            stats: CurveStats::new(initial),
            curve,
        };
        for k in 0..buf.len() {
            let ts = buf.ts[k];
            e.begin_step(ts, &mut t);
            let f = buf.funding[k];
            if f.is_finite() && e.account().position(0).qty != 0.0 {
                let _ = e.funding(0, ts, f, buf.open[k]);
            }
            let bar = Bar::ohlc(ts, buf.open[k], buf.high[k], buf.low[k], buf.close[k]);
            e.bar(0, &bar, &mut t);
            e.end_step(&mut t);
            if e.blown() {
                break;
            }
        }
        let mut s = PathStats::of(
            &e,
            &t.inner,
            &t.stats,
            initial,
            self.model.start_ts,
            self.model.interval_ns,
        );
        s.path = path;
        *spare = Some(e);
        s
    }

    /// Runs paths `start..end` of `strategy` on the current rayon pool, in path order; returns
    /// the rows and the kept curves (path, equity per step).
    pub fn paths(
        &self,
        strategy: &BuiltIn,
        start: u64,
        end: u64,
    ) -> (Vec<PathStats>, Vec<(u64, Vec<f64>)>) {
        let out: Vec<(PathStats, Option<Vec<f64>>)> = (start..end)
            .into_par_iter()
            .map_init(
                || (PathBuf::new(self.n_bars), None),
                |(buf, spare), i| {
                    if self.curve_every > 0 && i % self.curve_every == 0 {
                        let mut c = Vec::with_capacity(self.n_bars);
                        let s = self.path_with(strategy, i, buf, Some(&mut c), spare);
                        (s, Some(c))
                    } else {
                        (self.path_with(strategy, i, buf, None, spare), None)
                    }
                },
            )
            .collect();
        let mut rows = Vec::with_capacity(out.len());
        let mut curves = Vec::new();
        for (s, c) in out {
            if let Some(c) = c {
                curves.push((s.path, c));
            }
            rows.push(s);
        }
        (rows, curves)
    }

    /// A sweep: every parameter set of `strategies` on paths `start..end` (the same paths for
    /// every set: common random numbers), rows ordered by set then path.
    pub fn sweep(&self, strategies: &[BuiltIn], start: u64, end: u64) -> Vec<PathStats> {
        let per = end.saturating_sub(start);
        (0..strategies.len() as u64 * per)
            .into_par_iter()
            .map_init(
                || (PathBuf::new(self.n_bars), None),
                |(buf, spare), j| {
                    let set = j / per;
                    let strat = &strategies[set as usize];
                    let mut s = self.path_with(strat, start + j % per, buf, None, spare);
                    s.set = set;
                    s
                },
            )
            .collect()
    }
}

/// Runs `f` on a pool of `threads` threads (all cores when `None`).
pub fn with_threads<T: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> T + Send,
) -> Result<T, LedgerError> {
    match threads {
        None => Ok(f()),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .build()
                .map_err(|e| LedgerError::invalid("threads", e.to_string()))?;
            Ok(pool.install(f))
        }
    }
}

/// Runs each strategy over borrowed historical `inputs` in parallel (a parameter sweep on data),
/// tracking the same per-run figures as a Monte Carlo path (no equity rows).
pub fn sweep_data(
    account: &Account,
    config: &Config,
    inputs: &[crate::sim::SymbolInput<'_>],
    strategies: &[BuiltIn],
) -> Result<Vec<PathStats>, LedgerError> {
    let start = inputs
        .iter()
        .filter_map(|i| i.bars.ts.first().copied())
        .min()
        .unwrap_or(0);
    let dt = inputs
        .iter()
        .find(|i| i.bars.ts.len() > 1)
        .map_or(1, |i| (i.bars.ts[1] - i.bars.ts[0]).max(1));
    strategies
        .par_iter()
        .enumerate()
        .map(|(set, s)| {
            let config = Config {
                record_equity: false,
                ..*config
            };
            let initial = account.equity();
            let mut e = Engine::new(account.clone(), config)?;
            let mut t = Tracked {
                inner: s.clone(),
                stats: CurveStats::new(initial),
                curve: None,
            };
            crate::sim::run(&mut e, inputs, &mut t)?;
            let mut row = PathStats::of(&e, &t.inner, &t.stats, initial, start, dt);
            row.set = set as u64;
            Ok(row)
        })
        .collect()
}

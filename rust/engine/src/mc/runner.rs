//! Monte Carlo runs: many paths of one model through one strategy, in parallel over paths (rayon),
//! each path with its own random stream so that the results do not depend on the thread count or
//! on how the paths are split into batches. Each path runs through the engine's one event loop
//! ([`crate::engine::run_checked`]) and keeps only its figures ([`RunStats`]: the same as a
//! backtest's), plus a few sampled equity curves when asked: memory O(paths).

use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

use super::basket::BasketSpec;
use super::models::{ModelSpec, PathBuf};
use super::rng::Rng;
use super::spread::SpreadSpec;
use crate::engine::{run_checked, Config, Engine, Inputs, Record, SymbolInput};
use crate::error::LedgerError;
use crate::ledger::Account;
use crate::market::{BarSeries, Series};
use crate::stats::RunStats;
use crate::strategy::BuiltIn;

/// One path's figures: which path, which parameter set, and the run's statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct PathStats {
    /// Path index.
    pub path: u64,
    /// Parameter set (sweeps; 0 otherwise).
    pub set: u64,
    /// The path's figures.
    pub stats: RunStats,
}

/// Kept equity curves: (path, equity per step).
pub type Curves = Vec<(u64, Vec<f64>)>;

/// The paths' model: one symbol, or a correlated basket (one buffer per symbol).
#[derive(Clone, Copy, Debug)]
pub enum Model<'a> {
    /// One symbol.
    One(&'a ModelSpec),
    /// A basket of correlated symbols, in the account's order.
    Basket(&'a BasketSpec),
    /// A spot and a perpetual's premium over it: the account trades the future, the basis
    /// strategy reads the spot.
    Spread(&'a SpreadSpec),
}

impl<'a> From<&'a ModelSpec> for Model<'a> {
    fn from(m: &'a ModelSpec) -> Self {
        Model::One(m)
    }
}

impl<'a> From<&'a BasketSpec> for Model<'a> {
    fn from(m: &'a BasketSpec) -> Self {
        Model::Basket(m)
    }
}

impl<'a> From<&'a SpreadSpec> for Model<'a> {
    fn from(m: &'a SpreadSpec) -> Self {
        Model::Spread(m)
    }
}

impl Model<'_> {
    /// Number of symbols of a path.
    pub fn symbols(&self) -> usize {
        match self {
            Model::One(_) | Model::Spread(_) => 1,
            Model::Basket(b) => b.len(),
        }
    }

    /// The engine's buffers among `bufs` (a spread's spot is the strategy's, not the account's).
    pub fn traded<'b>(&self, bufs: &'b [PathBuf]) -> &'b [PathBuf] {
        match self {
            Model::Spread(_) => &bufs[1..],
            _ => bufs,
        }
    }

    /// The spot closes a basis strategy reads (a spread model's spot), if any.
    pub fn spot<'b>(&self, bufs: &'b [PathBuf]) -> Option<&'b [f64]> {
        match self {
            Model::Spread(_) => Some(&bufs[0].close),
            _ => None,
        }
    }

    /// Checks the parameters (a basket's were checked when it was built).
    pub fn validate(&self) -> Result<(), LedgerError> {
        match self {
            Model::One(m) => m.validate(),
            Model::Basket(b) => b.legs.iter().try_for_each(|l| l.validate()),
            Model::Spread(s) => s.validate(),
        }
    }

    /// Checks that the model means a market over `n_bars` bars.
    pub fn validate_horizon(&self, n_bars: usize) -> Result<(), LedgerError> {
        match self {
            Model::One(m) => m.validate_horizon(n_bars),
            Model::Basket(b) => b.validate_horizon(n_bars),
            Model::Spread(s) => s.spot.validate_horizon(n_bars),
        }
    }

    /// Buffers for paths of `n_bars` bars.
    pub fn buffers(&self, n_bars: usize) -> Vec<PathBuf> {
        vec![PathBuf::new(n_bars); self.n_buffers()]
    }

    /// Buffers a path needs: one per symbol, and a spread's spot beside its future.
    pub fn n_buffers(&self) -> usize {
        match self {
            Model::Spread(_) => 2,
            m => m.symbols(),
        }
    }

    /// Writes path `rng`'s bars into `bufs` (one per symbol).
    pub fn generate(&self, rng: &mut Rng, bufs: &mut [PathBuf]) {
        match self {
            Model::One(m) => m.generate(rng, &mut bufs[0]),
            Model::Basket(b) => b.generate(rng, bufs),
            Model::Spread(s) => s.generate(rng, bufs),
        }
    }

    /// Whether every symbol's path stayed within a factor 1e12 of its start price.
    pub fn in_range(&self, bufs: &[PathBuf]) -> bool {
        match self {
            Model::One(m) => bufs[0].in_range(m.s0),
            Model::Basket(b) => b.legs.iter().zip(bufs).all(|(l, p)| p.in_range(l.s0)),
            Model::Spread(s) => bufs[0].in_range(s.spot.s0) && bufs[1].in_range(s.future_s0()),
        }
    }

    /// Whether `strategy` can run on this model's paths: the basis strategy needs a spread
    /// model's spot, and a spread model runs the basis strategy.
    pub fn check_strategy(&self, strategy: &BuiltIn) -> Result<(), LedgerError> {
        match (self, strategy) {
            (Model::Spread(_), BuiltIn::Basis(_)) => Ok(()),
            (Model::Spread(_), _) => Err(LedgerError::invalid(
                "strategy",
                "a BasisSpread model runs the Basis strategy",
            )),
            (_, BuiltIn::Basis(_)) => Err(LedgerError::invalid(
                "model",
                "the Basis strategy runs on a BasisSpread model (a spot and a future)",
            )),
            _ => Ok(()),
        }
    }
}

/// What every path of a run shares.
#[derive(Clone, Copy, Debug)]
pub struct McRun<'a> {
    /// The price model.
    pub model: Model<'a>,
    /// The account at the start of each path (its symbols those of the model, in order).
    pub account: &'a Account,
    /// Matching options (only the final figures are recorded).
    pub config: &'a Config,
    /// Bars per path.
    pub n_bars: usize,
    /// Run seed.
    pub seed: u64,
    /// Keep the equity curve of every path whose index is a multiple of this (0: none).
    pub curve_every: u64,
}

impl McRun<'_> {
    /// Checks the run before any path: the model (and what it means over the horizon), one
    /// contract per symbol of the model, bars > 0.
    pub fn validate(&self) -> Result<(), LedgerError> {
        self.model.validate()?;
        let k = self.model.symbols();
        if self.account.len() != k {
            return Err(LedgerError::invalid(
                "contract",
                format!(
                    "the model's paths are of {k} symbol(s), the account has {}",
                    self.account.len()
                ),
            ));
        }
        if self.n_bars == 0 {
            return Err(LedgerError::invalid("n_bars", "must be > 0"));
        }
        self.model.validate_horizon(self.n_bars)?;
        self.config.summary_only().validate()
    }

    /// The memory a run of `n_paths` paths (× `sets` parameter sets) on `threads` threads needs,
    /// estimated before it starts: each thread's path buffers (and the recorded steps of a path
    /// whose curve is kept), the kept curves (three times over: the engine's, the collected list,
    /// the DataFrame) and the rows of figures.
    pub fn memory_needed(&self, n_paths: u64, sets: u64, threads: usize) -> u64 {
        let bars = self.n_bars as u64;
        let per_thread = 7 * 8 * bars * self.model.n_buffers() as u64
            + if self.curve_every > 0 {
                12 * 8 * bars
            } else {
                0
            };
        let kept = match self.curve_every {
            0 => 0,
            k => n_paths.div_ceil(k),
        };
        (threads as u64)
            .saturating_mul(per_thread)
            .saturating_add(kept.saturating_mul(3 * 8 * bars))
            .saturating_add(sets.saturating_mul(n_paths).saturating_mul(512))
    }

    /// Refuses a run whose [`McRun::memory_needed`] does not fit in the memory available.
    pub fn check_memory(&self, n_paths: u64, sets: u64, threads: usize) -> Result<(), LedgerError> {
        let what = match self.curve_every {
            0 => format!("{n_paths} paths of {} bars", self.n_bars),
            k => format!(
                "{n_paths} paths of {} bars keeping {} curves",
                self.n_bars,
                n_paths.div_ceil(k)
            ),
        };
        crate::memory::ensure("n_paths", &what, self.memory_needed(n_paths, sets, threads))
    }

    /// Runs path `path` with `strategy` (a fresh copy), its bars generated into `buf` (the engine
    /// reuses the record buffers of the previous path's); with `keep_curve`, also returns its
    /// equity at every step.
    fn path_with(
        &self,
        strategy: &BuiltIn,
        path: u64,
        bufs: &mut [PathBuf],
        keep_curve: bool,
    ) -> Result<(RunStats, Option<Vec<f64>>), LedgerError> {
        let mut rng = Rng::for_path(self.seed, path);
        self.model.generate(&mut rng, bufs);
        if !self.model.in_range(bufs) {
            return Err(LedgerError::invalid(
                "model",
                format!(
                    "path {path} left the range of meaningful prices (a factor 1e12 from the start                      price): the model's parameters do not describe a market over this horizon"
                ),
            ));
        }
        let record = if keep_curve {
            Record::Every(1)
        } else {
            Record::Final
        };
        let config = Config {
            record,
            ..*self.config
        };
        self.model.check_strategy(strategy)?;
        let mut e = Engine::new(self.account.clone(), config)?;
        let mut s = strategy.clone();
        if let (Some(spot), BuiltIn::Basis(b)) = (self.model.spot(bufs), &mut s) {
            b.set_spot(spot);
        }
        let input: Vec<SymbolInput<'_>> = self
            .model
            .traded(bufs)
            .iter()
            .map(|buf| SymbolInput {
                bars: BarSeries::ohlc(&buf.ts, &buf.open, &buf.high, &buf.low, &buf.close),
                funding: (!buf.funding_ts.is_empty()).then_some(Series {
                    ts: &buf.funding_ts,
                    values: &buf.funding_rate,
                }),
                settlement_price: None,
                rebates: None,
            })
            .collect();
        run_checked(&mut e, &Inputs::trusted(&input, &[]), &mut s)?;
        let stats = e.stats(&s);
        // The path's value per step: the account's equity, or the basis trade's whole value (spot
        // wallet and futures account), as a backtest's equity column shows it.
        let curve = keep_curve.then(|| match &s {
            BuiltIn::Basis(b) => b.value_quote().to_vec(),
            _ => {
                let mut v = Vec::with_capacity(e.history().len());
                e.history().for_each_equity(|_, x| v.push(x));
                v
            }
        });
        Ok((stats, curve))
    }

    /// Runs path `path` with `strategy` alone (for tests and inspection).
    pub fn path(&self, strategy: &BuiltIn, path: u64) -> Result<RunStats, LedgerError> {
        let mut bufs = self.model.buffers(self.n_bars);
        self.path_with(strategy, path, &mut bufs, false)
            .map(|r| r.0)
    }

    /// Runs paths `start..end` of `strategy` on the current rayon pool, in path order; returns
    /// the rows and the kept curves (path, equity per step).
    pub fn paths(
        &self,
        strategy: &BuiltIn,
        start: u64,
        end: u64,
    ) -> Result<(Vec<PathStats>, Curves), LedgerError> {
        self.check_memory(end.saturating_sub(start), 1, rayon::current_num_threads())?;
        let out: Vec<_> = (start..end)
            .into_par_iter()
            .map_init(
                || self.model.buffers(self.n_bars),
                |buf, i| {
                    let keep = self.curve_every > 0 && i % self.curve_every == 0;
                    self.path_with(strategy, i, buf, keep).map(|(stats, c)| {
                        (
                            PathStats {
                                path: i,
                                set: 0,
                                stats,
                            },
                            c,
                        )
                    })
                },
            )
            .collect::<Result<_, _>>()?;
        let mut rows = Vec::with_capacity(out.len());
        let mut curves = Vec::new();
        for (s, c) in out {
            if let Some(c) = c {
                curves.push((s.path, c));
            }
            rows.push(s);
        }
        Ok((rows, curves))
    }

    /// A sweep: every parameter set of `strategies` on paths `start..end` (the same paths for
    /// every set: common random numbers), rows ordered by set then path.
    pub fn sweep(
        &self,
        strategies: &[BuiltIn],
        start: u64,
        end: u64,
    ) -> Result<Vec<PathStats>, LedgerError> {
        let per = end.saturating_sub(start);
        self.check_memory(per, strategies.len() as u64, rayon::current_num_threads())?;
        (0..strategies.len() as u64 * per)
            .into_par_iter()
            .map_init(
                || self.model.buffers(self.n_bars),
                |buf, j| {
                    let set = j / per;
                    let path = start + j % per;
                    let strat = &strategies[set as usize];
                    self.path_with(strat, path, buf, false)
                        .map(|(stats, _)| PathStats { path, set, stats })
                },
            )
            .collect()
    }
}

/// Set in a child process made by `fork` (see [`forked`]): rayon's global pool did not survive it.
static FORKED: AtomicBool = AtomicBool::new(false);

/// Tells the engine it now runs in a child made by `fork` (a `ProcessPoolExecutor` or
/// `multiprocessing` on Linux): the global pool's threads were not copied into the child, and
/// waiting on them would hang, so every parallel call from now on builds its own pool.
pub fn forked() {
    FORKED.store(true, Ordering::SeqCst);
}

/// Whether [`forked`] was called: rayon's global pool must not be used in this process.
pub fn is_forked() -> bool {
    FORKED.load(Ordering::SeqCst)
}

/// Runs `f` on a pool of `threads` threads (all cores when `None`: rayon's global pool, or a
/// fresh pool of that size after a fork).
pub fn with_threads<T: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> T + Send,
) -> Result<T, LedgerError> {
    let threads = match threads {
        None if is_forked() => Some(crate::machine::cores()),
        t => t,
    };
    match threads {
        None => Ok(f()),
        Some(n) => Ok(pool_of(n.max(1))?.install(f)),
    }
}

/// A pool of `n` threads, kept for the next call (building one starts its threads: ~0.5 ms, as
/// much as a one-set sweep's Python side). Keyed by the process too: a pool built before a `fork`
/// has no threads in the child, which builds its own (the parent's is forgotten there, never
/// dropped: its threads' state was not copied). The last few sizes are kept.
fn pool_of(n: usize) -> Result<std::sync::Arc<rayon::ThreadPool>, LedgerError> {
    use std::sync::{Arc, Mutex};
    type Kept = Vec<(u32, usize, Arc<rayon::ThreadPool>)>;
    static POOLS: Mutex<Kept> = Mutex::new(Vec::new());
    const KEEP: usize = 4;
    let build = || {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map(Arc::new)
            .map_err(|e| LedgerError::invalid("threads", e.to_string()))
    };
    // Never waits for the lock (a child forked while another thread held it would wait for
    // ever): busy or poisoned, the call builds a pool of its own.
    let Ok(mut pools) = POOLS.try_lock() else {
        return build();
    };
    let pid = std::process::id();
    if pools.iter().any(|p| p.0 != pid) {
        let (here, stale): (Kept, Kept) = pools.drain(..).partition(|p| p.0 == pid);
        stale.into_iter().for_each(std::mem::forget);
        *pools = here;
    }
    if let Some(p) = pools.iter().find(|p| p.1 == n) {
        return Ok(Arc::clone(&p.2));
    }
    let pool = build()?;
    if pools.len() == KEEP {
        pools.remove(0);
    }
    pools.push((pid, n, Arc::clone(&pool)));
    Ok(pool)
}

/// Runs each strategy over the checked historical `inputs` in parallel (a parameter sweep on
/// data): each set is the backtest of that strategy, keeping only its figures. One set runs on
/// the calling thread, as a backtest does (no pool to wake for a single task).
pub fn sweep_data(
    account: &Account,
    config: &Config,
    inputs: &Inputs<'_, '_>,
    strategies: &[BuiltIn],
) -> Result<Vec<PathStats>, LedgerError> {
    let one = |(set, s): (usize, &BuiltIn)| -> Result<PathStats, LedgerError> {
        let mut e = Engine::new(account.clone(), config.summary_only())?;
        let mut s = s.clone();
        run_checked(&mut e, inputs, &mut s)?;
        Ok(PathStats {
            path: 0,
            set: set as u64,
            stats: e.stats(&s),
        })
    };
    if let [s] = strategies {
        return Ok(vec![one((0, s))?]);
    }
    strategies.par_iter().enumerate().map(one).collect()
}

//! The event loop, the only one: several symbols on one timeline; per step funding → settlement
//! → path → close (docs/matching.md, "Order of events at each step"): funding for the funding
//! times in (previous step, this step], at the bar's open. Backtests with built-in or Python
//! strategies, sweeps and Monte Carlo paths all run through [`run_checked`]. No allocation per bar.

use super::ahead::{Ahead, AHEAD_ROWS};
use super::fold::Feed;
use super::inputs::{Inputs, SymbolInput};
use super::{Engine, Strategy};
use crate::error::LedgerError;
use crate::market::Series;

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
///
/// Inputs whose bars' rows are left to the run ([`Inputs::check_deferring`]) have them checked
/// on another core while it runs ([`Ahead`]), from [`AHEAD_ROWS`] bars. On an error, the whole
/// check decides which error the run gives: the bars' own when they have a bad row (and the
/// engine, fresh when the run began, is put back as it was), else the run's.
pub fn run_checked<S: Strategy>(
    engine: &mut Engine,
    inputs: &Inputs<'_, '_>,
    strategy: &mut S,
) -> Result<(), LedgerError> {
    if !inputs.deferred {
        return run_rows(engine, inputs, strategy, None, None);
    }
    let bars = inputs.symbols[0].bars;
    // The checker on a thread of its own while the run goes: for a long series, where there is
    // a second core, on an engine that can be put back as it was. Else the checks come first.
    let parallel = bars.len() >= AHEAD_ROWS
        && engine.steps() == 0
        && !crate::mc::is_forked()
        && crate::machine::cores() > 1;
    if !parallel {
        inputs.check_bars(engine.account(), 0)?;
        return run_rows(engine, inputs, strategy, None, None);
    }
    let before = engine.clone();
    let ahead = Ahead::new(bars.len());
    // The same thread makes the steps' figures (engine/fold.rs), checking a few blocks past the
    // run between them (decision 144).
    let feed = Feed::default();
    // Beside the run (on the thread kept for it, engine/beside.rs), not on its processor.
    let (run_cpu, checks, figures, rows) = (crate::machine::current_cpu(), &ahead, &feed, &bars);
    let work = move || {
        crate::machine::avoid_cpu(run_cpu);
        figures.fold(rows, checks)
    };
    let here = || {
        // The checks stop and the feed closes however the run ends (an unwinding panic too:
        // the helper's thread is waited for, and it waits for the close).
        let _end = Ended(&ahead, &feed);
        let out = run_rows(engine, inputs, strategy, Some(&ahead), Some(&feed));
        engine.flush_fold();
        out
    };
    let out = match super::beside::beside(work, here) {
        Some((out, folded)) => {
            let back = engine.detach_fold(&feed, folded.flatten());
            out.and(back)
        }
        None => {
            // No thread to be had: the checks come first, here.
            ahead.check(&bars);
            run_rows(engine, inputs, strategy, Some(&ahead), None)
        }
    };
    let Err(e) = out else {
        return Ok(());
    };
    match inputs.check_bars(engine.account(), 0) {
        Err(bad) => {
            *engine = before;
            Err(bad)
        }
        Ok(()) => Err(e),
    }
}

/// Stops the checks and closes the feed when dropped (the end of a run on two threads).
struct Ended<'a>(&'a Ahead, &'a Feed);

impl Drop for Ended<'_> {
    fn drop(&mut self) {
        self.0.stop();
        self.1.close();
    }
}

/// [`run_checked`]; `ahead`: the bars' rows are being checked ([`Ahead`]), and no row is run
/// before the checker has passed it; `feed`: a one-symbol run of a strategy that reads no
/// figure as it goes hands its steps there, to be valued, recorded and folded on another core
/// (engine/fold.rs). The engine honours the stop flags inside its bars while this runs, and not
/// after it (decision 150).
fn run_rows<S: Strategy>(
    engine: &mut Engine,
    inputs: &Inputs<'_, '_>,
    strategy: &mut S,
    ahead: Option<&Ahead>,
    feed: Option<&Feed>,
) -> Result<(), LedgerError> {
    engine.stoppable = true;
    let out = run_steps(engine, inputs, strategy, ahead, feed);
    engine.stoppable = false;
    out
}

/// [`run_rows`]' loop.
#[inline(always)]
fn run_steps<S: Strategy>(
    engine: &mut Engine,
    inputs: &Inputs<'_, '_>,
    strategy: &mut S,
    ahead: Option<&Ahead>,
    feed: Option<&Feed>,
) -> Result<(), LedgerError> {
    let (symbols, clock) = (inputs.symbols, inputs.clock);
    let n = symbols.len();
    if !crate::memory::guard::rearm() {
        return Err(LedgerError::memory_exhausted(engine.steps()));
    }
    strategy.check_inputs(engine, inputs)?;
    inputs.count_unmatched_funding(engine);
    for (k, s) in symbols.iter().enumerate() {
        engine.set_rebates(k, s.rebates.as_ref());
    }
    engine.reserve_steps(inputs.max_steps())?;
    if engine.steps() == 0 {
        if let Some(v) = strategy.value(engine) {
            engine.set_initial_value(v);
        }
        if let Some(f) = feed {
            if n == 1 && clock.is_empty() && strategy.figures_unread() {
                engine.attach_fold(f);
            }
            if !engine.folds_elsewhere() {
                f.close(); // the helper ends once its checks are done
            }
        }
    }
    let expiries: Vec<Option<i64>> = engine
        .account()
        .instruments()
        .iter()
        .map(|i| i.expiry)
        .collect();
    // Funding times already behind the engine (at or before its last step) are not paid again.
    let last = engine.now();
    let fcursor_start =
        |f: &Option<Series<'_>>| f.map_or(0, |f| f.ts.partition_point(|&t| t <= last));
    let mut fcursor: Vec<usize> = symbols.iter().map(|i| fcursor_start(&i.funding)).collect();
    if n == 1 && clock.is_empty() {
        // One symbol: its bars are the steps (the same step as below, without the merge).
        let (s, expiry) = (&symbols[0], expiries[0]);
        let can_skip = engine.config().record == super::Record::Final && s.rebates.is_none();
        let n_bars = s.bars.len();
        // Rows checked so far, and the bars cut to them (a quiet stretch stops there).
        let mut checked = if ahead.is_some() { 0 } else { n_bars };
        let mut head = s.bars;
        let mut r = 0;
        while r < n_bars {
            if let (true, Some(a)) = (r >= checked, ahead) {
                checked = a.past(r, &s.bars).ok_or_else(bad_rows)?;
                head = s.bars.rows(0..checked);
            }
            // Quiet bars up to the next event (funding, expiry) run without the step frame.
            let next_funding = s.funding.map_or(i64::MAX, |f| {
                f.ts.get(fcursor[0]).copied().unwrap_or(i64::MAX)
            });
            let limit = next_funding
                .min(expiry.unwrap_or(i64::MAX))
                .min(engine.next_rebate(0));
            if let Some(a) = ahead {
                a.note(r);
            }
            let quiet = engine.quiet_stretch(&head, r, limit, strategy);
            if quiet > 0 {
                r += quiet;
                check_stop(engine)?;
                continue;
            }
            let ts = s.bars.ts.at(r);
            engine.begin_step(ts, strategy);
            before_path(engine, 0, s, Some(r), ts, &mut fcursor[0], expiry, strategy)?;
            path(engine, 0, s, r, strategy);
            end_step(engine, strategy)?;
            if can_skip && engine.is_finished() && strategy.value(engine).is_none() {
                if let (true, Some(a)) = (checked < n_bars, ahead) {
                    a.past(n_bars - 1, &s.bars).ok_or_else(bad_rows)?;
                }
                engine.skip_steps(s.bars.ts.slice(r + 1..n_bars));
                break;
            }
            r += 1;
        }
        engine.count_pending_rebates();
        engine.finish();
        return Ok(());
    }
    let mut cursor = vec![0usize; n];
    let mut ccursor = 0usize;
    // Per symbol: the row of its bar at the current step (None: no bar).
    let mut row: Vec<Option<usize>> = vec![None; n];
    loop {
        // The next step: the earliest next bar over the symbols (or clock time).
        let mut ts = clock.get(ccursor).copied().unwrap_or(i64::MAX);
        for k in 0..n {
            if cursor[k] < symbols[k].bars.len() {
                ts = ts.min(symbols[k].bars.ts.at(cursor[k]));
            }
        }
        if ts == i64::MAX {
            break;
        }
        if clock.get(ccursor) == Some(&ts) {
            ccursor += 1;
        }
        for k in 0..n {
            let r = cursor[k];
            row[k] = (r < symbols[k].bars.len() && symbols[k].bars.ts.at(r) == ts).then_some(r);
            engine.set_has_bar(k, row[k].is_some(), ts);
        }
        engine.begin_step(ts, strategy);
        for k in 0..n {
            before_path(
                engine,
                k,
                &symbols[k],
                row[k],
                ts,
                &mut fcursor[k],
                expiries[k],
                strategy,
            )?;
        }
        for k in 0..n {
            if let Some(r) = row[k] {
                path(engine, k, &symbols[k], r, strategy);
                cursor[k] += 1;
            }
        }
        end_step(engine, strategy)?;
    }
    engine.count_pending_rebates();
    engine.finish();
    Ok(())
}

/// Delivery contracts settle at the index's average over this long before expiry (30 minutes).
pub const SETTLEMENT_WINDOW: i64 = 30 * 60 * 1_000_000_000;

/// Symbol `k`'s events before the paths of step `ts` (its bar is row `r`, if it has one):
/// funding for the funding times since the previous step, at the bar's open; then a delivery
/// contract settles at the first step at or after its expiry, with or without a bar of its own
/// (its data usually ends at expiry).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn before_path<S: Strategy>(
    engine: &mut Engine,
    k: usize,
    s: &SymbolInput<'_>,
    r: Option<usize>,
    ts: i64,
    fcursor: &mut usize,
    expiry: Option<i64>,
    strategy: &mut S,
) -> Result<(), LedgerError> {
    if let (Some(r), Some(f)) = (r, s.funding) {
        // At the mark's open when the bars have the mark's own path, else at the bar's open.
        let open = match s.bars.mark_ohl {
            Some([mo, _, _]) if mo[r].is_finite() => mo[r],
            _ => s.bars.open[r],
        };
        while *fcursor < f.ts.len() && f.ts[*fcursor] <= ts {
            engine.funding(k, f.ts[*fcursor], f.values[*fcursor], open)?;
            *fcursor += 1;
        }
    }
    if s.rebates.is_some() {
        engine.credit_rebates(k, ts);
    }
    if let Some(x) = expiry {
        if x <= ts && !engine.is_expired(k) {
            let last = engine.price(k);
            let fallback = r.map_or(f64::NAN, |r| s.bars.open[r]);
            // A given price, else the index's average over the last 30 minutes, else the last
            // price (counted when an index was given but has no value there).
            let index = s.bars.index_average(x.saturating_sub(SETTLEMENT_WINDOW), x);
            if s.settlement_price.is_none() && s.bars.index.is_some() && index.is_none() {
                engine.warn(crate::warnings::WarningKind::NoIndex, Some(k), "");
            }
            let price = s.settlement_price.or(index).unwrap_or(if last.is_finite() {
                last
            } else {
                fallback
            });
            if price.is_finite() {
                engine.settle(k, price, strategy)?;
            }
        }
    }
    Ok(())
}

/// Symbol `k`'s bar `r` along its path: the common quiet bar reads four columns; the walk takes
/// the whole bar.
#[inline(always)]
fn path<S: Strategy>(
    engine: &mut Engine,
    k: usize,
    s: &SymbolInput<'_>,
    r: usize,
    strategy: &mut S,
) {
    let b = &s.bars;
    if b.mark_ohl.is_some() {
        // The mark's own path (a row without one is the plain bar, counted).
        let bar = b.bar(r);
        if !bar.has_mark_path() {
            engine.warn(crate::warnings::WarningKind::NoMark, Some(k), "");
        }
        engine.bar(k, &bar, strategy);
        return;
    }
    let mark = b.mark.map_or(f64::NAN, |m| m[r]);
    if !engine.quiet_bar(k, b.low[r], b.high[r], b.close[r], mark, strategy) {
        engine.walk_bar(k, &b.bar(r), strategy);
    }
}

/// The step's end, and whether the run goes on: not when an allocation failed during the step
/// (the process is out of memory), the user interrupted it (`crate::control`) or the strategy
/// stops it.
#[inline(always)]
fn end_step<S: Strategy>(engine: &mut Engine, strategy: &mut S) -> Result<(), LedgerError> {
    engine.end_step(strategy);
    check_stop(engine)?;
    if strategy.keep_going() {
        Ok(())
    } else {
        Err(LedgerError::interrupted(
            engine.steps() as usize,
            "the strategy stopped the run",
        ))
    }
}

/// Whether the run was asked to stop (an allocation failed, or the user interrupted it).
#[inline(always)]
fn check_stop(engine: &Engine) -> Result<(), LedgerError> {
    let stop = crate::control::flags();
    if stop == 0 {
        return Ok(());
    }
    Err(if stop & crate::control::MEMORY != 0 {
        LedgerError::memory_exhausted(engine.steps())
    } else {
        LedgerError::interrupted(engine.steps() as usize, "interrupted by the user")
    })
}

/// The checker's finding (replaced by the whole check's error in [`run_checked`]).
fn bad_rows() -> LedgerError {
    LedgerError::invalid("data", "a bar breaks the data rules")
}

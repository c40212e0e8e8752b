//! A step's frame: its start (pending orders go live), funding, and its end (the strategy's close,
//! the statistics fold, the history row as the recording mode says).

use super::config::Record;
use super::{Engine, Strategy};
use crate::error::LedgerError;
use crate::ledger::Liquidity;
use crate::market::Times;
use crate::matching::{OrderKind, Status};
use crate::record::FundingRow;

impl Engine {
    /// Starts a step at `ts`: orders waiting for the next step go live (a limit that is now
    /// marketable fills at once at the current price as taker, unless its symbol has no bar at
    /// this step: then it rests).
    #[inline(always)]
    pub fn begin_step<S: Strategy>(&mut self, ts: i64, strat: &mut S) {
        self.account.roll_fee_day(ts);
        self.now = ts;
        self.steps += 1;
        self.recorded = false;
        self.step_fills = self.fills.len();
        if !self.book.has_pending() {
            return;
        }
        for idx in self.book.take_pending() {
            self.book.release(idx);
            let o = self.book.get(idx);
            if o.status != Status::Open {
                continue;
            }
            let cur = self.cur[o.symbol];
            let live = !self.stale[o.symbol];
            if live && o.kind == OrderKind::Limit && super::orders::marketable(o.side, o.price, cur)
            {
                let _ = self.execute(idx, cur, Liquidity::Taker, strat);
            } else {
                self.rest(idx);
            }
        }
    }

    /// Funding on symbol `i` at `ts`: the position's notional at `mark` × `rate` (longs pay when
    /// positive). Recorded when a position is open.
    pub fn funding(&mut self, i: usize, ts: i64, rate: f64, mark: f64) -> Result<f64, LedgerError> {
        let position = self.account.net_qty(i);
        let open = !self.account.is_flat(i);
        let paid = self.account.apply_funding(i, rate, mark)?;
        if open {
            self.funding_rows.push(FundingRow {
                ts,
                symbol: i,
                rate,
                mark,
                position,
                payment: paid,
            });
            self.touch_liquidation();
        }
        Ok(paid)
    }

    /// Ends the step: the strategy's close decision, its bookkeeping, the statistics fold and,
    /// when the recording mode says so, one history row.
    #[inline(always)]
    pub fn end_step<S: Strategy>(&mut self, strat: &mut S) {
        if !self.blown {
            strat.on_close(self);
        }
        strat.after_close(self);
        let record = self.every_step || self.records_this_step();
        // The row, and the statistics fold: every step's value, online (here, or on another
        // core with the row: engine/fold.rs).
        let lent = self.sink.0.as_ref().is_some_and(|s| s.rows_lent());
        let row = if lent {
            self.history.lent_row(&self.account, self.epoch)
        } else {
            if record {
                self.history.push(self.now, &self.account, self.epoch);
            }
            None
        };
        let v = strat.value(self).unwrap_or_else(|| self.account.equity());
        match self.sink.0.as_mut() {
            // A row past the room (None while lent) breaks the sink's check of the rows.
            Some(s) => s.step(self.steps as usize - 1, self.now, v, row),
            None => self.curve.push(self.now, v),
        }
        self.recorded = record;
    }

    /// Whether a mode other than every step records this step.
    #[cold]
    fn records_this_step(&self) -> bool {
        match self.config.record {
            Record::Every(k) => (self.steps - 1) % k as u64 == 0,
            Record::Interval(ns) => match self.history.last_timestamp() {
                Some(t) => self.now.div_euclid(ns) != t.div_euclid(ns),
                None => true,
            },
            Record::Fills => self.history.is_empty() || self.fills.len() > self.step_fills,
            Record::Final => false,
        }
    }

    /// Ends a run: the last step is recorded if the mode left it out.
    pub fn finish(&mut self) {
        self.clear_stale();
        if !self.recorded && self.steps > 0 {
            self.history.push(self.now, &self.account, self.epoch);
            self.recorded = true;
        }
    }

    /// The run has nothing left to do ([`Engine::is_finished`]): the statistics take the steps
    /// at times `ts` at the final value, as if they had been run.
    pub fn skip_steps(&mut self, ts: Times<'_>) {
        if let Some(t) = ts.last() {
            let k = ts.len() as u64;
            match self.sink.0.as_mut() {
                Some(s) => s.repeat = Some((s.repeat.map_or(0, |r| r.0) + k, t)),
                None => self.curve.repeat(k, t),
            }
            self.steps += ts.len() as u64;
            self.now = t;
            self.recorded = false;
        }
    }
}

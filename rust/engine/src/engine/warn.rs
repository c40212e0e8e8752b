//! What the engine tells about a run besides its numbers (`crate::warnings`): the symbols without a
//! bar at a step (stale: not tradable, marked at their last price), the orders refused, the
//! liquidations; and the list of warnings read at the end of a run.

use super::Engine;
use crate::record::FillReason;
use crate::warnings::{Warning, WarningKind};

impl Engine {
    /// At a step of a run: whether symbol `i` has a bar. Without one it is stale for the step: no
    /// order on it is accepted, and it is marked at its last price (counted as a warning unless
    /// the contract has expired).
    /// Set before the step begins (`ts`: its time), so that orders waiting for the step do not
    /// fill at a stale price.
    #[inline(always)]
    pub fn set_has_bar(&mut self, i: usize, has: bool, ts: i64) {
        self.stale[i] = !has;
        if !has && !self.expired[i] {
            let started = self.cur[i].is_finite();
            self.gaps[i][usize::from(!started)].add(ts);
        }
    }

    /// Whether symbol `i` has no bar at the current step of a run (see [`Engine::set_has_bar`]).
    #[inline]
    pub fn is_stale(&self, i: usize) -> bool {
        self.stale[i]
    }

    /// Ends the stale marks of a run (outside runs every symbol is tradable at its last price).
    pub(super) fn clear_stale(&mut self) {
        self.stale.iter_mut().for_each(|s| *s = false);
    }

    /// Counts one more `kind` warning about `symbol` (None: the run) with `detail`, now.
    pub fn warn(&mut self, kind: WarningKind, symbol: Option<usize>, detail: &str) {
        self.warnings.count(kind, symbol, detail, self.now);
    }

    /// Adds a warning as it is (a check before the run).
    pub fn push_warning(&mut self, w: Warning) {
        self.warnings.push(w);
    }

    /// Everything the run has to say besides its numbers: what was counted as it happened
    /// (orders refused or not sent, input rows that matched no step, data that do not overlap),
    /// then the steps without a bar per symbol, the liquidations, and whether most orders were
    /// refused.
    pub fn warnings(&self) -> Vec<Warning> {
        let mut out: Vec<Warning> = self.warnings.items().to_vec();
        let steps = self.steps;
        for (i, g) in self.gaps.iter().enumerate() {
            for (gap, kind) in g.iter().zip([WarningKind::Stale, WarningKind::NotStarted]) {
                if gap.count > 0 {
                    out.push(
                        Warning::new(kind, Some(i), "")
                            .counted(gap.count, steps)
                            .between(Some(gap.first), Some(gap.last)),
                    );
                }
            }
        }
        let mut liq: Vec<Option<Warning>> = vec![None; self.account.len()];
        for f in self
            .fills
            .iter()
            .filter(|f| f.reason == FillReason::Liquidation)
        {
            let w = liq[f.symbol].get_or_insert_with(|| {
                Warning::new(WarningKind::Liquidated, Some(f.symbol), "")
                    .between(Some(f.ts), Some(f.ts))
            });
            w.count += 1;
            w.last = Some(f.ts);
        }
        out.extend(liq.into_iter().flatten());
        if self.blown {
            out.push(
                Warning::new(WarningKind::Blown, None, "")
                    .between(self.liquidated_at, self.liquidated_at),
            );
        }
        let refused: u64 = out
            .iter()
            .filter(|w| matches!(w.kind, WarningKind::Rejected | WarningKind::NotSent))
            .map(|w| w.count)
            .sum();
        let not_sent: u64 = out
            .iter()
            .filter(|w| w.kind == WarningKind::NotSent)
            .map(|w| w.count)
            .sum();
        let tried = self.book.log().len() as u64 + not_sent;
        if refused > 0 && 2 * refused > tried {
            let reasons: Vec<&str> = out
                .iter()
                .filter(|w| matches!(w.kind, WarningKind::Rejected | WarningKind::NotSent))
                .map(|w| w.detail.as_str())
                .collect();
            let mut reasons = reasons;
            reasons.dedup();
            let detail = reasons.join("; ");
            out.push(
                Warning::new(WarningKind::MostRejected, None, detail)
                    .counted(refused, tried)
                    .doubtful(),
            );
        }
        out
    }

    /// The messages of [`Engine::warnings`], with the account's symbol names.
    pub fn warning_messages(&self) -> Vec<String> {
        let names: Vec<String> = self
            .account
            .instruments()
            .iter()
            .map(|i| i.symbol.clone())
            .collect();
        self.warnings().iter().map(|w| w.message(&names)).collect()
    }
}

//! What a run says about itself besides its numbers: orders refused, symbols without a bar, inputs
//! that matched no step, a liquidation. A run keeps a list of [`Warning`]s (docs/guide.md, "What
//! perpsim refuses and what it warns about"); the ones that make its result doubtful are marked so
//! ([`Warning::doubtful`]), and the Python package emits those through its `warnings` module.
//!
//! Counting is cheap (a short list searched linearly, touched only when something goes wrong);
//! the messages are composed when the warnings are read.

use serde::{Deserialize, Serialize};

/// What a warning is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WarningKind {
    /// Orders the engine refused, grouped by reason.
    Rejected,
    /// Orders a strategy did not send because the account could not take them.
    NotSent,
    /// Most of the run's orders were refused or not sent: the result reflects what the settings
    /// let happen, not the strategy.
    MostRejected,
    /// Steps at which a symbol had no bar after its data began: not tradable, marked at its last
    /// price.
    Stale,
    /// Steps before a symbol's data begin (it has no price yet).
    NotStarted,
    /// Input rows (funding rates, targets) that matched no step of the run.
    Unmatched,
    /// Data that never overlap the data they are used with.
    NoOverlap,
    /// A liquidation (a position, or the whole account in cross margin).
    Liquidated,
    /// The account was liquidated as a whole and traded no more.
    Blown,
    /// Bars without the mark's own bar where the run has mark bars: the mark followed the trade
    /// path there.
    NoMark,
    /// A delivery contract settled at the last price although the run has index prices: none in
    /// the 30 minutes before expiry.
    NoIndex,
}

impl crate::names::Named for WarningKind {
    const FIELD: &'static str = "kind";
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("rejected", Self::Rejected),
        ("not_sent", Self::NotSent),
        ("most_rejected", Self::MostRejected),
        ("stale", Self::Stale),
        ("not_started", Self::NotStarted),
        ("unmatched", Self::Unmatched),
        ("no_overlap", Self::NoOverlap),
        ("liquidated", Self::Liquidated),
        ("blown", Self::Blown),
        ("no_mark", Self::NoMark),
        ("no_index", Self::NoIndex),
    ];
}

/// One warning: a kind, the symbol it is about (None: the run), how many times it happened and
/// when, and a readable message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    /// What it is about.
    pub kind: WarningKind,
    /// The symbol's index in the account (None: the whole run, or data outside the account).
    pub symbol: Option<usize>,
    /// How many times (orders, steps, rows).
    pub count: u64,
    /// Out of how many (0: not counted against a total).
    pub total: u64,
    /// When it first happened (ns; None: not tied to a step).
    pub first: Option<i64>,
    /// When it last happened.
    pub last: Option<i64>,
    /// The reason or the detail (the first example when several differ only in their numbers).
    pub detail: String,
    /// Whether it makes the result doubtful (emitted to Python's `warnings`).
    pub doubtful: bool,
}

impl Warning {
    /// A warning about `symbol` (None: the run).
    pub fn new(kind: WarningKind, symbol: Option<usize>, detail: impl Into<String>) -> Self {
        Self {
            kind,
            symbol,
            count: 0,
            total: 0,
            first: None,
            last: None,
            detail: detail.into(),
            doubtful: false,
        }
    }

    /// Marks it doubtful.
    pub fn doubtful(mut self) -> Self {
        self.doubtful = true;
        self
    }

    /// Counts `count` out of `total`.
    pub fn counted(mut self, count: u64, total: u64) -> Self {
        self.count = count;
        self.total = total;
        self
    }

    /// The span it covers.
    pub fn between(mut self, first: Option<i64>, last: Option<i64>) -> Self {
        self.first = first;
        self.last = last;
        self
    }

    /// The readable message; `symbols` names the account's symbols.
    pub fn message(&self, symbols: &[String]) -> String {
        let who = match self.symbol.and_then(|i| symbols.get(i)) {
            Some(s) => format!("{s}: "),
            // Data outside the account (a basis trade's spot) are named by the detail.
            None if matches!(self.kind, WarningKind::Stale | WarningKind::NotStarted) => {
                format!("{}: ", self.detail)
            }
            None => String::new(),
        };
        let n = self.count;
        let of = if self.total > 0 {
            format!(" of {}", self.total)
        } else {
            String::new()
        };
        let span = match (self.first, self.last) {
            (Some(a), Some(b)) if a != b => format!(" (from {} to {})", date(a), date(b)),
            (Some(a), _) => format!(" (at {})", date(a)),
            _ => String::new(),
        };
        let d = &self.detail;
        match self.kind {
            WarningKind::Rejected => {
                format!("{who}{n}{of} order{} rejected: {d}{span}", plural(n))
            }
            WarningKind::NotSent => format!("{who}{n} order{} not sent: {d}{span}", plural(n)),
            WarningKind::MostRejected => format!(
                "{n}{of} orders were rejected or not sent ({d}): the result shows what the \
                 settings let happen, not the strategy"
            ),
            WarningKind::Stale => format!(
                "{who}no bar at {n}{of} step{}{span}: not tradable then, marked at its last price",
                plural(n)
            ),
            WarningKind::NotStarted => format!(
                "{who}no data for the first {n}{of} step{}{span}: not tradable before its data begin",
                plural(n)
            ),
            WarningKind::Unmatched => format!("{who}{n}{of} {d} matched no step of the run{span}"),
            WarningKind::NoOverlap => format!("{who}{d}"),
            WarningKind::Liquidated => format!("{who}liquidated{span}{d}"),
            WarningKind::Blown => {
                format!("the account was liquidated{span} and traded no more{d}")
            }
            WarningKind::NoIndex => format!(
                "{who}settled at the last price{span}: no index price in the 30 minutes before expiry"
            ),
            WarningKind::NoMark => format!(
                "{who}{n}{of} bar{} without a mark bar{span}: the mark followed the trade price there",
                plural(n)
            ),
        }
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A UTC time (ns since the epoch) as `YYYY-MM-DD HH:MM` (days from the civil calendar,
/// proleptic Gregorian).
pub fn date(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rem / 3_600,
        (rem % 3_600) / 60
    )
}

/// The reason with its numbers left out: rejections that differ only in their numbers are one
/// group.
fn shape(reason: &str) -> String {
    reason
        .split_whitespace()
        .map(|w| {
            if w.trim_start_matches('-')
                .starts_with(|c: char| c.is_ascii_digit())
            {
                "#"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The warnings a run has counted so far (see the module doc).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Warnings {
    items: Vec<Warning>,
    shapes: Vec<String>,
    /// The last counted (kind, symbol, detail) and its item: a run that keeps refusing the same
    /// thing counts it without reshaping the detail each time.
    #[serde(skip)]
    last: Option<(WarningKind, Option<usize>, String, usize)>,
}

impl Warnings {
    /// Counts one more of `kind` for `symbol` with `detail` at `ts` (details that differ only in
    /// their numbers count together; the first one is kept as the example).
    pub fn count(&mut self, kind: WarningKind, symbol: Option<usize>, detail: &str, ts: i64) {
        let k = match &self.last {
            Some((lk, ls, ld, k)) if *lk == kind && *ls == symbol && ld == detail => *k,
            _ => {
                let key = shape(detail);
                let found = self
                    .items
                    .iter()
                    .zip(&self.shapes)
                    .position(|(w, s)| w.kind == kind && w.symbol == symbol && *s == key);
                let k = found.unwrap_or_else(|| {
                    self.items
                        .push(Warning::new(kind, symbol, detail).between(Some(ts), Some(ts)));
                    self.shapes.push(key);
                    self.items.len() - 1
                });
                self.last = Some((kind, symbol, detail.to_string(), k));
                k
            }
        };
        let w = &mut self.items[k];
        w.count += 1;
        w.last = Some(ts);
    }

    /// Adds a warning as it is.
    pub fn push(&mut self, w: Warning) {
        self.items.push(w);
        self.shapes.push(String::new());
    }

    /// The warnings, in the order they first happened.
    pub fn items(&self) -> &[Warning] {
        &self.items
    }

    /// Empties the list (a fresh run).
    pub fn clear(&mut self) {
        self.items.clear();
        self.shapes.clear();
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_civil_dates() {
        assert_eq!(date(0), "1970-01-01 00:00");
        assert_eq!(date(1_709_251_200_000_000_000), "2024-03-01 00:00");
        assert_eq!(
            date(951_782_400_000_000_000 + 90 * 60 * 1_000_000_000),
            "2000-02-29 01:30"
        );
        assert_eq!(date(-86_400_000_000_000), "1969-12-31 00:00");
    }

    #[test]
    fn counts_group_reasons_that_differ_only_in_numbers() {
        let mut w = Warnings::default();
        w.count(
            WarningKind::Rejected,
            Some(0),
            "quantity 0.1 is under 0.5",
            1,
        );
        w.count(
            WarningKind::Rejected,
            Some(0),
            "quantity 0.2 is under 0.5",
            2,
        );
        w.count(WarningKind::Rejected, Some(0), "insufficient margin", 3);
        w.count(WarningKind::Rejected, Some(1), "insufficient margin", 4);
        let items = w.items();
        assert_eq!(items.len(), 3);
        assert_eq!(
            (items[0].count, items[0].first, items[0].last),
            (2, Some(1), Some(2))
        );
        assert_eq!(items[0].detail, "quantity 0.1 is under 0.5");
        let names = ["BTC".to_string(), "ETH".to_string()];
        assert_eq!(
            items[2].message(&names),
            "ETH: 1 order rejected: insufficient margin (at 1970-01-01 00:00)"
        );
        // The same detail again (counted without reshaping it), then another symbol's.
        w.count(WarningKind::Rejected, Some(1), "insufficient margin", 5);
        w.count(WarningKind::Rejected, Some(1), "insufficient margin", 6);
        w.count(WarningKind::Rejected, Some(0), "insufficient margin", 7);
        w.count(WarningKind::NotSent, Some(0), "insufficient margin", 8);
        let items = w.items();
        assert_eq!(items.len(), 4);
        assert_eq!((items[2].count, items[2].last), (3, Some(6)));
        assert_eq!((items[1].count, items[1].last), (2, Some(7)));
        assert_eq!((items[3].kind, items[3].count), (WarningKind::NotSent, 1));
        w.clear();
        w.count(WarningKind::Rejected, Some(1), "insufficient margin", 9);
        assert_eq!((w.items().len(), w.items()[0].count), (1, 1));
    }
}

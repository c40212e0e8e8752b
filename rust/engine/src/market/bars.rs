//! Columnar bars (struct of arrays) borrowed from the caller, and their validation.
//!
//! Ticks are bars whose open, high, low and close are the tick price: a path of one point.

use super::times::Times;
use crate::error::LedgerError;

/// One bar of one symbol: open time and prices. `volume`, `mark` are NaN when absent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bar {
    /// Open time, ns since the epoch.
    pub ts: i64,
    /// Open.
    pub open: f64,
    /// High.
    pub high: f64,
    /// Low.
    pub low: f64,
    /// Close.
    pub close: f64,
    /// Base volume (NaN: unknown, no participation cap).
    pub volume: f64,
    /// Mark price at the close (NaN: the close is the mark).
    pub mark: f64,
    /// The mark's own open, high and low (NaN: no mark path; the mark follows the trade path and
    /// ends at `mark`). Given, the mark walks its own path beside the trade path.
    pub mark_ohl: [f64; 3],
}

impl Bar {
    /// A bar from OHLC with no volume and no separate mark.
    pub fn ohlc(ts: i64, open: f64, high: f64, low: f64, close: f64) -> Self {
        Self {
            ts,
            open,
            high,
            low,
            close,
            volume: f64::NAN,
            mark: f64::NAN,
            mark_ohl: [f64::NAN; 3],
        }
    }

    /// A tick as a one-point bar.
    pub fn tick(ts: i64, price: f64) -> Self {
        Self::ohlc(ts, price, price, price, price)
    }

    /// Whether the bar has the mark's own path (open, high, low and close of the mark).
    #[inline]
    pub fn has_mark_path(&self) -> bool {
        !self.mark_ohl[0].is_nan()
    }

    /// The mark at the close: the mark column if given, else the close.
    #[inline]
    pub fn close_mark(&self) -> f64 {
        if self.mark.is_nan() {
            self.close
        } else {
            self.mark
        }
    }
}

/// A borrowed column of timestamps and values (for funding rates and settlement prices).
#[derive(Clone, Copy, Debug)]
pub struct Series<'a> {
    /// Timestamps, ns since the epoch, strictly increasing.
    pub ts: &'a [i64],
    /// Values.
    pub values: &'a [f64],
}

impl<'a> Series<'a> {
    /// Validates lengths, order and finiteness; `name` prefixes the column names in errors.
    pub fn validate(&self, name: &str) -> Result<(), LedgerError> {
        if self.ts.len() != self.values.len() {
            return Err(LedgerError::invalid(
                name,
                format!(
                    "{} timestamps but {} values",
                    self.ts.len(),
                    self.values.len()
                ),
            ));
        }
        check_increasing(self.ts, &format!("{name}.timestamp"))?;
        if let Some(r) = self.values.iter().position(|v| !v.is_finite()) {
            return Err(LedgerError::bad_row(
                name,
                r,
                format!("not finite: {}", self.values[r]),
            ));
        }
        Ok(())
    }
}

/// One symbol's bars as borrowed columns.
#[derive(Clone, Copy, Debug)]
pub struct BarSeries<'a> {
    /// Open times (read as ns; any unit, borrowed), strictly increasing.
    pub ts: Times<'a>,
    /// Opens.
    pub open: &'a [f64],
    /// Highs.
    pub high: &'a [f64],
    /// Lows.
    pub low: &'a [f64],
    /// Closes.
    pub close: &'a [f64],
    /// Optional volumes.
    pub volume: Option<&'a [f64]>,
    /// Optional mark prices (at the close).
    pub mark: Option<&'a [f64]>,
    /// Optional open, high and low of the mark (with `mark` as its close): the mark's own path.
    pub mark_ohl: Option<[&'a [f64]; 3]>,
    /// Optional index price at each bar's close (NaN: none for that bar): delivery contracts settle
    /// at its average over the 30 minutes before expiry.
    pub index: Option<&'a [f64]>,
}

/// Rows from which a series' all-is-well passes read its halves on two threads (8 MB of prices).
pub(super) const PARALLEL_ROWS: usize = 1 << 18;

/// Whether `ok` holds over the rows `0..n`, asked of two halves at once for a long series (rayon's
/// pool of the caller, or its global one; on the calling thread in a forked child). `ok` only
/// reads, so the answer is the one of a single pass; where a row fails, the caller looks for the
/// first one on one thread.
fn all_rows(n: usize, ok: impl Fn(std::ops::Range<usize>) -> bool + Sync) -> bool {
    if n >= PARALLEL_ROWS && !crate::mc::is_forked() {
        let mid = n / 2;
        let (a, b) = rayon::join(|| ok(0..mid), || ok(mid..n));
        a && b
    } else {
        ok(0..n)
    }
}

pub(super) fn check_increasing(ts: &[i64], column: &str) -> Result<(), LedgerError> {
    // Each range checks its rows against the row before (the second half from its first row's).
    let increasing =
        |r: std::ops::Range<usize>| super::scan::increasing(&ts[r.start.saturating_sub(1)..r.end]);
    if all_rows(ts.len(), increasing) {
        return Ok(());
    }
    for r in 1..ts.len() {
        if ts[r] <= ts[r - 1] {
            let what = if ts[r] == ts[r - 1] {
                "duplicate timestamp"
            } else {
                "timestamps not sorted"
            };
            return Err(LedgerError::bad_row(column, r, what));
        }
    }
    Ok(())
}

impl<'a> BarSeries<'a> {
    /// Bars from their time, open, high, low and close columns (no volume, no mark).
    pub fn ohlc(
        ts: &'a [i64],
        open: &'a [f64],
        high: &'a [f64],
        low: &'a [f64],
        close: &'a [f64],
    ) -> Self {
        Self {
            ts: Times::ns(ts),
            open,
            high,
            low,
            close,
            volume: None,
            mark: None,
            mark_ohl: None,
            index: None,
        }
    }

    /// Number of bars.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// Whether there is no bar.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// Whether every column is as long as the times (and a mark path has its close): the
    /// shape [`BarSeries::validate`] checks besides the rows.
    pub fn lengths_match(&self) -> bool {
        let n = self.ts.len();
        let price = [self.open, self.high, self.low, self.close];
        let optional = [self.volume, self.mark, self.index];
        price.iter().all(|c| c.len() == n)
            && optional.iter().flatten().all(|c| c.len() == n)
            && self
                .mark_ohl
                .is_none_or(|cols| self.mark.is_some() && cols.iter().all(|c| c.len() == n))
    }

    /// Rows `range` of every column; the columns must be as long as the times
    /// ([`BarSeries::lengths_match`]).
    pub fn rows(&self, range: std::ops::Range<usize>) -> Self {
        let cut = |c: &'a [f64]| &c[range.clone()];
        Self {
            ts: self.ts.slice(range.clone()),
            open: cut(self.open),
            high: cut(self.high),
            low: cut(self.low),
            close: cut(self.close),
            volume: self.volume.map(cut),
            mark: self.mark.map(cut),
            mark_ohl: self.mark_ohl.map(|cols| cols.map(cut)),
            index: self.index.map(cut),
        }
    }

    /// The mean of the index closes of the bars opening in `[from, to)` (NaN ones left out); None
    /// without an index column or without a value there.
    pub fn index_average(&self, from: i64, to: i64) -> Option<f64> {
        let index = self.index?;
        let a = self.ts.partition_point(|t| t < from);
        let b = self.ts.partition_point(|t| t < to);
        let (mut sum, mut n) = (0.0, 0u32);
        for &v in index.get(a..b)?.iter().filter(|v| !v.is_nan()) {
            sum += v;
            n += 1;
        }
        (n > 0).then(|| sum / f64::from(n))
    }

    /// Bar `r`.
    #[inline]
    pub fn bar(&self, r: usize) -> Bar {
        Bar {
            ts: self.ts.at(r),
            open: self.open[r],
            high: self.high[r],
            low: self.low[r],
            close: self.close[r],
            volume: self.volume.map_or(f64::NAN, |v| v[r]),
            mark: self.mark.map_or(f64::NAN, |m| m[r]),
            mark_ohl: self
                .mark_ohl
                .map_or([f64::NAN; 3], |[o, h, l]| [o[r], h[r], l[r]]),
        }
    }

    /// Checks the spec's rules; the error names the column and the first bad row: mismatched
    /// lengths, unsorted or duplicate timestamps, NaN/inf/≤ 0 prices, high below max(open, close),
    /// low above min(open, close), negative or non-finite volume, bad marks.
    pub fn validate(&self) -> Result<(), LedgerError> {
        let n = self.ts.len();
        let cols: [(&str, &[f64]); 4] = [
            ("open", self.open),
            ("high", self.high),
            ("low", self.low),
            ("close", self.close),
        ];
        for (name, c) in cols {
            if c.len() != n {
                return Err(LedgerError::invalid(
                    name,
                    format!("length {} does not match the {n} timestamps", c.len()),
                ));
            }
        }
        for (name, c) in [("volume", self.volume), ("mark", self.mark)] {
            if let Some(c) = c {
                if c.len() != n {
                    return Err(LedgerError::invalid(
                        name,
                        format!("length {} does not match the {n} timestamps", c.len()),
                    ));
                }
            }
        }
        self.ts.check("timestamp")?;
        // A branch-free pass first (it vectorises); only a failing series looks for its first bad
        // row, reported with the columns in the order below.
        let row_ok = |r: usize| {
            let (o, h, l, c) = (self.open[r], self.high[r], self.low[r], self.close[r]);
            (o > 0.0)
                & (o < f64::INFINITY)
                & (c > 0.0)
                & (c < f64::INFINITY)
                & (l > 0.0)
                & (h < f64::INFINITY)
                & (h >= o)
                & (h >= c)
                & (l <= o)
                & (l <= c)
        };
        // The same rule in six comparisons over the rows' columns (market/scan.rs).
        let rows_ok = |rows: std::ops::Range<usize>| {
            super::scan::prices_ok(
                &self.open[rows.clone()],
                &self.high[rows.clone()],
                &self.low[rows.clone()],
                &self.close[rows],
            )
        };
        let all_ok = all_rows(n, rows_ok);
        let bad_price = |name: &str, r: usize, v: f64| {
            LedgerError::bad_row(name, r, format!("price must be finite and > 0, got {v}"))
        };
        for r in (0..n).filter(|_| !all_ok) {
            if row_ok(r) {
                continue;
            }
            let (o, h, l, c) = (self.open[r], self.high[r], self.low[r], self.close[r]);
            for (name, v) in [("open", o), ("high", h), ("low", l), ("close", c)] {
                if !(v.is_finite() && v > 0.0) {
                    return Err(bad_price(name, r, v));
                }
            }
            if h < o.max(c) {
                return Err(LedgerError::bad_row(
                    "high",
                    r,
                    format!("high {h} is below max(open, close) {}", o.max(c)),
                ));
            }
            return Err(LedgerError::bad_row(
                "low",
                r,
                format!("low {l} is above min(open, close) {}", o.min(c)),
            ));
        }
        if let Some(v) = self.volume {
            if let Some(r) = v.iter().position(|&x| !(x.is_finite() && x >= 0.0)) {
                return Err(LedgerError::bad_row(
                    "volume",
                    r,
                    format!("must be finite and >= 0, got {}", v[r]),
                ));
            }
        }
        if let Some(m) = self.mark {
            if let Some(r) = m
                .iter()
                .position(|&x| !(x.is_nan() || (x.is_finite() && x > 0.0)))
            {
                let name = if self.mark_ohl.is_some() {
                    "mark_close"
                } else {
                    "mark"
                };
                return Err(LedgerError::bad_row(
                    name,
                    r,
                    format!("must be > 0 or NaN, got {}", m[r]),
                ));
            }
        }
        if let Some(x) = self.index {
            if x.len() != n {
                return Err(LedgerError::invalid(
                    "index_close",
                    format!("length {} does not match the {n} timestamps", x.len()),
                ));
            }
            if let Some(r) = x
                .iter()
                .position(|&v| !(v.is_nan() || (v.is_finite() && v > 0.0)))
            {
                return Err(LedgerError::bad_row(
                    "index_close",
                    r,
                    format!("must be > 0 or NaN, got {}", x[r]),
                ));
            }
        }
        self.validate_mark_path()
    }

    /// The mark's own bars: lengths, and per row either all four values absent (NaN: the mark
    /// follows the trade path) or a consistent bar (the same rules as the trade bars).
    fn validate_mark_path(&self) -> Result<(), LedgerError> {
        let Some([o, h, l]) = self.mark_ohl else {
            return Ok(());
        };
        let n = self.ts.len();
        let Some(c) = self.mark else {
            return Err(LedgerError::invalid(
                "mark_close",
                "the mark's open, high and low need its close",
            ));
        };
        for (name, col) in [("mark_open", o), ("mark_high", h), ("mark_low", l)] {
            if col.len() != n {
                return Err(LedgerError::invalid(
                    name,
                    format!("length {} does not match the {n} timestamps", col.len()),
                ));
            }
        }
        for r in 0..n {
            let (o, h, l, c) = (o[r], h[r], l[r], c[r]);
            if o.is_nan() && h.is_nan() && l.is_nan() && c.is_nan() {
                continue;
            }
            for (name, v) in [
                ("mark_open", o),
                ("mark_high", h),
                ("mark_low", l),
                ("mark_close", c),
            ] {
                if !(v.is_finite() && v > 0.0) {
                    return Err(LedgerError::bad_row(
                        name,
                        r,
                        format!("must be finite and > 0 (or the whole mark bar NaN), got {v}"),
                    ));
                }
            }
            if h < o.max(c) {
                return Err(LedgerError::bad_row(
                    "mark_high",
                    r,
                    format!("mark high {h} is below max(open, close) {}", o.max(c)),
                ));
            }
            if l > o.min(c) {
                return Err(LedgerError::bad_row(
                    "mark_low",
                    r,
                    format!("mark low {l} is above min(open, close) {}", o.min(c)),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_series_checked_in_halves_reports_its_first_bad_row() {
        // Long enough for the two-thread pass: a bad row in either half, in both, and a
        // timestamp out of order right at the halves' boundary are found at their first row.
        let n = PARALLEL_ROWS * 2 + 10;
        let mid = n / 2;
        let ts: Vec<i64> = (0..n as i64).collect();
        let p = vec![10.0; n];
        let check = |ts: &[i64], low: &[f64]| BarSeries::ohlc(ts, &p, &p, low, &p).validate();
        assert!(check(&ts, &p).is_ok());
        for bad in [vec![mid + 3], vec![7, mid + 3], vec![mid], vec![mid - 1]] {
            let mut low = p.clone();
            for &r in &bad {
                low[r] = 11.0;
            }
            let e = check(&ts, &low).unwrap_err();
            assert_eq!((e.field.as_str(), e.row), ("low", Some(bad[0])), "{bad:?}");
        }
        let mut t = ts.clone();
        t.swap(mid - 1, mid);
        let e = check(&t, &p).unwrap_err();
        assert_eq!((e.field.as_str(), e.row), ("timestamp", Some(mid)));
    }

    #[test]
    fn validation_names_column_and_first_bad_row() {
        let ts = [1, 2, 2, 4];
        let p = [10.0, 10.0, 10.0, 10.0];
        let s = BarSeries {
            ts: Times::ns(&ts),
            open: &p,
            high: &p,
            low: &p,
            close: &p,
            volume: None,
            mark: None,
            mark_ohl: None,
            index: None,
        };
        let e = s.validate().unwrap_err();
        assert_eq!((e.field.as_str(), e.row), ("timestamp", Some(2)));
        let ts = [1, 2, 3, 4];
        let h = [10.0, 9.0, 10.0, 10.0];
        let s = BarSeries {
            ts: Times::ns(&ts),
            high: &h,
            ..s
        };
        let e = s.validate().unwrap_err();
        assert_eq!((e.field.as_str(), e.row), ("high", Some(1)));
        let o = [10.0, f64::NAN, 10.0, 10.0];
        let s = BarSeries {
            open: &o,
            high: &p,
            ..s
        };
        let e = s.validate().unwrap_err();
        assert_eq!((e.field.as_str(), e.row), ("open", Some(1)));
        let short = [1.0];
        let s2 = BarSeries { close: &short, ..s };
        assert_eq!(s2.validate().unwrap_err().field, "close");
    }
}

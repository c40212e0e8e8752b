//! Times in another unit than the engine's nanoseconds (seconds, milliseconds, microseconds:
//! pandas indexes in those units are common, microseconds by default from pandas 3): bars'
//! times borrowed as they are and read as nanoseconds ([`Times`]), other series converted in
//! one checked pass ([`ns_from_unit`]).

use std::mem::MaybeUninit;

use super::bars::PARALLEL_ROWS;
use crate::error::LedgerError;

/// `values` counted in units of `per` nanoseconds each (1,000 for microseconds), as nanoseconds.
/// A time that int64 nanoseconds cannot hold (beyond the years 1677–2262) is refused naming
/// `field` and its row, never wrapped.
pub fn ns_from_unit(values: &[i64], per: i64, field: &str) -> Result<Vec<i64>, LedgerError> {
    Times::in_units(values, per, field)?;
    // v · per fits exactly when MIN / per ≤ v ≤ MAX / per (division truncates towards zero).
    let (lo, hi) = (i64::MIN / per, i64::MAX / per);
    // Converts `src` into `dst` (as long); whether a value did not fit.
    let convert = |src: &[i64], dst: &mut [MaybeUninit<i64>]| {
        let mut overflow = false;
        for (d, &v) in dst.iter_mut().zip(src) {
            overflow |= (v < lo) | (v > hi);
            d.write(v.wrapping_mul(per));
        }
        overflow
    };
    let n = values.len();
    let mut out: Vec<i64> = Vec::with_capacity(n);
    let room = &mut out.spare_capacity_mut()[..n];
    // A long series is converted in two halves at once (as the bars' checks read theirs,
    // `bars::all_rows`); each value is converted alone, so the result is the same.
    let overflow = if n >= PARALLEL_ROWS && !crate::mc::is_forked() {
        let mid = n / 2;
        let (a, b) = values.split_at(mid);
        let (da, db) = room.split_at_mut(mid);
        let (x, y) = rayon::join(|| convert(a, da), || convert(b, db));
        x | y
    } else {
        convert(values, room)
    };
    // SAFETY: `convert` wrote each of the `n` slots of the room (its halves cover it).
    unsafe { out.set_len(n) };
    if overflow {
        let r = values
            .iter()
            .position(|v| v.checked_mul(per).is_none())
            .expect("an overflow was seen");
        return Err(LedgerError::bad_row(
            field,
            r,
            format!(
                "time {} (units of {per} ns) is beyond what int64 nanoseconds hold",
                values[r]
            ),
        ));
    }
    Ok(out)
}

/// Bar open times as the caller holds them, borrowed: integers counted in units of `per`
/// nanoseconds (1 for nanoseconds, 1,000 for microseconds), read as nanoseconds. A series is
/// checked ([`Times::check`]) before its rows are read: strictly increasing, and its first and
/// last times inside what int64 nanoseconds hold (so every time between them is).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Times<'a> {
    raw: &'a [i64],
    per: i64,
}

impl<'a> Times<'a> {
    /// Times in nanoseconds.
    pub const fn ns(raw: &'a [i64]) -> Self {
        Self { raw, per: 1 }
    }

    /// Times counted in units of `per` nanoseconds; a unit below one nanosecond is refused
    /// naming `field`.
    pub fn in_units(raw: &'a [i64], per: i64, field: &str) -> Result<Self, LedgerError> {
        if per <= 0 {
            return Err(LedgerError::invalid(
                field,
                format!("a time unit of {per} ns"),
            ));
        }
        Ok(Self { raw, per })
    }

    /// The times as given.
    pub fn raw(&self) -> &'a [i64] {
        self.raw
    }

    /// Nanoseconds per unit of [`Times::raw`].
    pub fn per(&self) -> i64 {
        self.per
    }

    /// Number of times.
    #[inline]
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// Whether there is no time.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Time `i` in nanoseconds (exact for a checked series).
    #[inline(always)]
    pub fn at(&self, i: usize) -> i64 {
        self.raw[i].wrapping_mul(self.per)
    }

    /// The times in nanoseconds into `out` (one per time, as the bits of an `f64`: a history's
    /// time column). Times in nanoseconds already are copied; times in microseconds (pandas'
    /// default unit since 3.0) are multiplied by a constant, which compiles to shifts and adds in
    /// vector lanes; other units by their factor, which before AVX-512 is a 64-bit product made
    /// in pieces (decisions 141 and 143). Compiled for AVX2 where the processor has it.
    #[inline]
    pub fn write_ns_bits(&self, out: &mut [MaybeUninit<f64>]) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2 (checked just above).
            return unsafe { ns_bits_avx2(self.raw, self.per, out) };
        }
        ns_bits(self.raw, self.per, out)
    }

    /// Time `i` in nanoseconds, None past the end.
    #[inline]
    pub fn get(&self, i: usize) -> Option<i64> {
        (i < self.raw.len()).then(|| self.at(i))
    }

    /// The first time.
    pub fn first(&self) -> Option<i64> {
        self.get(0)
    }

    /// The last time.
    pub fn last(&self) -> Option<i64> {
        self.len().checked_sub(1).map(|i| self.at(i))
    }

    /// Times `range`.
    #[inline]
    pub fn slice(&self, range: std::ops::Range<usize>) -> Self {
        Self {
            raw: &self.raw[range],
            per: self.per,
        }
    }

    /// The times in nanoseconds.
    pub fn iter(&self) -> impl Iterator<Item = i64> + 'a {
        let per = self.per;
        self.raw.iter().map(move |&t| t.wrapping_mul(per))
    }

    /// The number of leading times for which `pred` (on nanoseconds) holds, `pred` true then
    /// false along the series (as `slice::partition_point`).
    pub fn partition_point(&self, mut pred: impl FnMut(i64) -> bool) -> usize {
        let per = self.per;
        self.raw.partition_point(|&t| pred(t.wrapping_mul(per)))
    }

    /// The bound in the series' own units under which a time is before `limit` ns: for a checked
    /// series, `raw[i] < before(limit)` exactly when `at(i) < limit` (no product in a loop).
    #[inline]
    pub fn before(&self, limit: i64) -> i64 {
        // The least whole number of units at or after `limit`: ceil(limit / per).
        let q = limit.div_euclid(self.per);
        q + i64::from(limit.rem_euclid(self.per) != 0)
    }

    /// Checks the series: strictly increasing (the error names `column` and the first row that
    /// is not), and its first and last times held by int64 nanoseconds.
    pub fn check(&self, column: &str) -> Result<(), LedgerError> {
        super::bars::check_increasing(self.raw, column)?;
        self.check_range(column)
    }

    /// Whether an increasing series' first and last times (so every time between them) are held
    /// by int64 nanoseconds; the error names `column` and the row.
    pub fn check_range(&self, column: &str) -> Result<(), LedgerError> {
        let (lo, hi) = (i64::MIN / self.per, i64::MAX / self.per);
        let n = self.raw.len();
        for r in [0, n.saturating_sub(1)] {
            match self.raw.get(r) {
                Some(&v) if v < lo || v > hi => {
                    return Err(LedgerError::bad_row(
                        column,
                        r,
                        format!(
                            "time {v} (units of {} ns) is beyond what int64 nanoseconds hold",
                            self.per
                        ),
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// [`Times::write_ns_bits`]'s loop: `raw` times `per`, as `f64` bits, into `out`. The units
/// that need no product or a constant one get a loop of their own (the factor inlined).
#[inline(always)]
fn ns_bits(raw: &[i64], per: i64, out: &mut [MaybeUninit<f64>]) {
    #[inline(always)]
    fn by(raw: &[i64], per: i64, out: &mut [MaybeUninit<f64>]) {
        for (o, &t) in out.iter_mut().zip(raw) {
            o.write(f64::from_bits(t.wrapping_mul(per) as u64));
        }
    }
    match per {
        1 => by(raw, 1, out),
        1_000 => by(raw, 1_000, out),
        _ => by(raw, per, out),
    }
}

/// [`ns_bits`] compiled for AVX2.
///
/// # Safety
/// The processor must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn ns_bits_avx2(raw: &[i64], per: i64, out: &mut [MaybeUninit<f64>]) {
    ns_bits(raw, per, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_or_names_the_row_that_does_not_fit() {
        assert_eq!(
            ns_from_unit(&[1, -2, 1_700_000_000_000_000], 1_000, "t").unwrap(),
            vec![1_000, -2_000, 1_700_000_000_000_000_000]
        );
        let e = ns_from_unit(&[0, i64::MAX / 999, 5], 1_000, "data").unwrap_err();
        assert_eq!((e.field.as_str(), e.row), ("data", Some(1)));
        assert!(ns_from_unit(&[i64::MIN / 1_000 - 1], 1_000, "t").is_err());
        assert_eq!(ns_from_unit(&[], 1_000, "t").unwrap(), Vec::<i64>::new());
        assert!(ns_from_unit(&[1], 0, "t").is_err());
    }

    /// A long series is converted in halves at once: the same values, and the first value that
    /// does not fit is named, in either half.
    #[test]
    fn a_long_series_converts_in_halves_and_names_its_first_bad_row() {
        let n = PARALLEL_ROWS + 3;
        let us: Vec<i64> = (0..n as i64)
            .map(|k| 1_700_000_000_000_000 + 60 * k)
            .collect();
        let ns = ns_from_unit(&us, 1_000, "t").unwrap();
        assert!(ns.iter().zip(&us).all(|(&a, &b)| a == b * 1_000));
        for bad in [[5, n - 1], [n / 2, n / 2 + 1], [n / 2 + 7, n - 2]] {
            let mut v = us.clone();
            for &r in &bad {
                v[r] = i64::MAX / 10;
            }
            let e = ns_from_unit(&v, 1_000, "t").unwrap_err();
            assert_eq!(e.row, Some(bad[0]));
        }
    }

    /// A series in microseconds reads as nanoseconds; the bound for "before a limit" agrees
    /// with the product for limits on, between and around the times, negative ones included.
    #[test]
    fn times_in_units_read_as_nanoseconds_and_bound_exactly() {
        let raw = [-3, -1, 0, 2, 5];
        let t = Times::in_units(&raw, 1_000, "t").unwrap();
        assert_eq!(
            t.iter().collect::<Vec<_>>(),
            vec![-3_000, -1_000, 0, 2_000, 5_000]
        );
        assert_eq!(
            (t.first(), t.last(), t.get(5)),
            (Some(-3_000), Some(5_000), None)
        );
        assert_eq!(t.partition_point(|x| x <= 0), 3);
        for limit in [
            -3_001,
            -3_000,
            -2_999,
            -1,
            0,
            1,
            1_999,
            2_000,
            2_001,
            i64::MAX,
            i64::MIN,
        ] {
            let b = t.before(limit);
            for (i, &r) in raw.iter().enumerate() {
                assert_eq!(r < b, t.at(i) < limit, "limit {limit}, row {i}");
            }
        }
        assert!(Times::in_units(&raw, 0, "t").is_err());
        assert!(t.check("t").is_ok());
    }

    /// A series whose first or last time does not fit in int64 nanoseconds is refused at that
    /// row; an unsorted one at its first unsorted row.
    #[test]
    fn a_series_beyond_nanoseconds_or_unsorted_is_refused_at_its_row() {
        let far = [0, 1, i64::MAX / 999];
        let e = Times::in_units(&far, 1_000, "timestamp")
            .unwrap()
            .check("timestamp");
        assert_eq!(e.unwrap_err().row, Some(2));
        let early = [i64::MIN / 999, 0];
        let e = Times::in_units(&early, 1_000, "t").unwrap().check("t");
        assert_eq!(e.unwrap_err().row, Some(0));
        let unsorted = [0, 2, 1];
        let e = Times::in_units(&unsorted, 1_000, "t").unwrap().check("t");
        assert_eq!(e.unwrap_err().row, Some(2));
        assert!(Times::ns(&[i64::MIN, i64::MAX]).check("t").is_ok());
    }

    /// The time column's bits are each time in nanoseconds, whatever the unit (the copy, the
    /// constant microsecond factor, any other factor), wrapping as `at` does.
    #[test]
    fn the_time_column_holds_each_time_in_nanoseconds() {
        let raw: Vec<i64> = (0..1_003i64)
            .map(|k| (k - 500) * 7_919_777_123 + k * k)
            .chain([i64::MAX / 3, i64::MIN / 7])
            .collect();
        for per in [1, 1_000, 1_000_000, 1_000_000_000] {
            let t = Times::in_units(&raw, per, "t").unwrap_or(Times { raw: &raw, per });
            let mut out = vec![MaybeUninit::<f64>::uninit(); raw.len()];
            t.write_ns_bits(&mut out);
            for (k, o) in out.iter().enumerate() {
                // SAFETY: every slot was written.
                let bits = unsafe { o.assume_init() }.to_bits() as i64;
                assert_eq!(bits, raw[k].wrapping_mul(per), "per {per} row {k}");
            }
        }
    }
}

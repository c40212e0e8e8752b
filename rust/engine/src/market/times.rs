//! Times in another unit than the engine's nanoseconds (seconds, milliseconds, microseconds:
//! pandas indexes in those units are common) converted in one checked pass.

use std::mem::MaybeUninit;

use super::bars::PARALLEL_ROWS;
use crate::error::LedgerError;

/// `values` counted in units of `per` nanoseconds each (1,000 for microseconds), as nanoseconds.
/// A time that int64 nanoseconds cannot hold (beyond the years 1677–2262) is refused naming
/// `field` and its row, never wrapped.
pub fn ns_from_unit(values: &[i64], per: i64, field: &str) -> Result<Vec<i64>, LedgerError> {
    if per <= 0 {
        return Err(LedgerError::invalid(
            field,
            format!("a time unit of {per} ns"),
        ));
    }
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
}

//! Times in another unit than the engine's nanoseconds (seconds, milliseconds, microseconds:
//! pandas indexes in those units are common) converted in one checked pass.

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
    let mut overflow = false;
    let out: Vec<i64> = values
        .iter()
        .map(|&v| {
            overflow |= (v < lo) | (v > hi);
            v.wrapping_mul(per)
        })
        .collect();
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
}

//! The bars' all-is-well scans: branch-free passes that say whether every row keeps a rule, so
//! that they vectorise. Only a failing series looks for its first bad row (market/bars.rs), one
//! row at a time. On x86-64 processors with AVX2 the same loops are compiled for it (four rows
//! to a register); the answer is a yes or no, the same on any processor.

/// Whether the times increase strictly.
#[inline]
pub(super) fn increasing(ts: &[i64]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2 (checked just above).
        return unsafe { increasing_avx2(ts) };
    }
    increasing_any(ts)
}

/// Whether every row's prices keep the bar rule: low > 0, high finite, and the open and close
/// within [low, high] (NaN anywhere breaks it). Six comparisons: each of the other rules
/// (open and close positive and finite) follows from them.
#[inline]
pub(super) fn prices_ok(open: &[f64], high: &[f64], low: &[f64], close: &[f64]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2 (checked just above).
        return unsafe { prices_ok_avx2(open, high, low, close) };
    }
    prices_ok_any(open, high, low, close)
}

#[inline(always)]
fn increasing_any(ts: &[i64]) -> bool {
    let next = ts.get(1..).unwrap_or(&[]);
    !next
        .iter()
        .zip(ts)
        .fold(false, |bad, (&b, &a)| bad | (b <= a))
}

#[inline(always)]
fn prices_ok_any(open: &[f64], high: &[f64], low: &[f64], close: &[f64]) -> bool {
    let n = open.len().min(high.len()).min(low.len()).min(close.len());
    let (o, h, l, c) = (&open[..n], &high[..n], &low[..n], &close[..n]);
    let mut bad = false;
    for r in 0..n {
        let (o, h, l, c) = (o[r], h[r], l[r], c[r]);
        bad |= !((l > 0.0) & (h < f64::INFINITY) & (h >= o) & (h >= c) & (l <= o) & (l <= c));
    }
    !bad
}

/// [`increasing`] compiled for AVX2.
///
/// # Safety
/// The processor must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn increasing_avx2(ts: &[i64]) -> bool {
    increasing_any(ts)
}

/// [`prices_ok`] compiled for AVX2.
///
/// # Safety
/// The processor must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn prices_ok_avx2(open: &[f64], high: &[f64], low: &[f64], close: &[f64]) -> bool {
    prices_ok_any(open, high, low, close)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both builds answer as a row-by-row check does, for a bad row anywhere (both ends, inside
    /// a register's four rows and across them).
    #[test]
    fn the_scans_answer_as_a_row_by_row_check() {
        let n = 37;
        let ts: Vec<i64> = (0..n as i64).map(|k| 10 * k).collect();
        assert!(increasing(&ts) && increasing_any(&ts));
        assert!(increasing(&[]) && increasing(&[5]));
        for r in 1..n {
            let mut t = ts.clone();
            t[r] = t[r - 1]; // a duplicate
            assert!(!increasing(&t) && !increasing_any(&t), "row {r}");
            t[r] = t[r - 1] - 1; // out of order
            assert!(!increasing(&t) && !increasing_any(&t), "row {r}");
        }
        let c: Vec<f64> = (0..n).map(|k| 100.0 + k as f64).collect();
        let (h, l): (Vec<f64>, Vec<f64>) = c.iter().map(|x| (x + 1.0, x - 1.0)).unzip();
        let o = c.clone();
        assert!(prices_ok(&o, &h, &l, &c) && prices_ok_any(&o, &h, &l, &c));
        let bad = [0.0, -1.0, f64::NAN, f64::INFINITY, 1e9, 1.0];
        for r in 0..n {
            for col in 0..4 {
                for &v in &bad {
                    let mut cols = [o.clone(), h.clone(), l.clone(), c.clone()];
                    cols[col][r] = v;
                    let [o2, h2, l2, c2] = &cols;
                    let (oo, hh, ll, cc) = (o2[r], h2[r], l2[r], c2[r]);
                    let row_ok = oo > 0.0
                        && cc > 0.0
                        && ll > 0.0
                        && hh.is_finite()
                        && hh >= oo.max(cc)
                        && ll <= oo.min(cc);
                    assert_eq!(prices_ok(o2, h2, l2, c2), row_ok, "row {r} col {col} {v}");
                    assert_eq!(prices_ok_any(o2, h2, l2, c2), row_ok);
                }
            }
        }
    }
}

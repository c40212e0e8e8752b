//! The returns' partial sums of a block of equity values, [`LANES`] at a time: the block's
//! return `j` goes to slot `j mod 4` (the caller rotates the slots onto the fold's lanes). The
//! portable loop, and on x86-64 processors that have AVX the same operations held in one AVX
//! register per figure. Each slot does the same IEEE operations in the same order in both (a
//! division, a subtraction, products and sums, no fused multiply-add; the minimum and maximum
//! select exactly as the portable comparisons do), so the bits are the same on any machine.

use super::LANES;

/// A block's running partial sums and extremes, slot by slot.
#[derive(Clone, Copy, Debug)]
pub(super) struct Lanes {
    /// Σ r.
    pub sum: [f64; LANES],
    /// Σ r².
    pub sum2: [f64; LANES],
    /// Σ min(r, 0)².
    pub down2: [f64; LANES],
    /// The lowest value seen (a NaN value leaves it as it was).
    pub lo: [f64; LANES],
    /// The highest value seen (likewise).
    pub hi: [f64; LANES],
}

/// Folds the first `vs.len() / LANES` chunks of `vs` into `l`; the first value's return is over
/// `prev`, each later value's over the value before it.
#[inline]
pub(super) fn fold(l: &mut Lanes, prev: f64, vs: &[f64]) {
    let chunks = vs.len() / LANES;
    if chunks == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx") {
        // SAFETY: the processor has AVX (checked just above); `chunks` chunks are in `vs`.
        unsafe { fold_avx(l, prev, vs, chunks) };
        return;
    }
    fold_portable(l, prev, vs, chunks);
}

/// The values before the first chunk's: `prev`, then the chunk's own first three.
#[inline(always)]
fn first_before(prev: f64, vs: &[f64]) -> [f64; LANES] {
    std::array::from_fn(|j| if j == 0 { prev } else { vs[j - 1] })
}

/// One chunk: the returns of `x` over `before`, slot by slot.
#[inline(always)]
fn chunk(l: &mut Lanes, x: &[f64; LANES], before: &[f64; LANES]) {
    for j in 0..LANES {
        let r = x[j] / before[j] - 1.0;
        l.sum[j] += r;
        l.sum2[j] += r * r;
        let neg = r.min(0.0);
        l.down2[j] += neg * neg;
        l.lo[j] = if x[j] < l.lo[j] { x[j] } else { l.lo[j] };
        l.hi[j] = if x[j] > l.hi[j] { x[j] } else { l.hi[j] };
    }
}

/// [`fold`] on any processor.
fn fold_portable(l: &mut Lanes, prev: f64, vs: &[f64], chunks: usize) {
    let mut s = *l;
    let x: &[f64; LANES] = vs[..LANES].try_into().expect("a chunk");
    chunk(&mut s, x, &first_before(prev, vs));
    // Past the first chunk, the values before a chunk are the block's own, one back.
    for q in 1..chunks {
        let x: &[f64; LANES] = vs[q * LANES..][..LANES].try_into().expect("a chunk");
        let before: &[f64; LANES] = vs[q * LANES - 1..][..LANES].try_into().expect("a chunk");
        chunk(&mut s, x, before);
    }
    *l = s;
}

/// [`fold`] in AVX registers: [`chunk`]'s operations, four slots at once.
///
/// # Safety
/// The processor must have AVX, and `vs` must hold `chunks` chunks.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn fold_avx(l: &mut Lanes, prev: f64, vs: &[f64], chunks: usize) {
    use std::arch::x86_64::{
        _mm256_add_pd, _mm256_div_pd, _mm256_loadu_pd, _mm256_max_pd, _mm256_min_pd, _mm256_mul_pd,
        _mm256_set1_pd, _mm256_setzero_pd, _mm256_storeu_pd, _mm256_sub_pd,
    };
    assert!(chunks * LANES <= vs.len());
    let first = first_before(prev, vs);
    let p = vs.as_ptr();
    // SAFETY (the loads): chunk `q` reads `vs[4q..4q + 4]` and, from the second on,
    // `vs[4q - 1..4q + 3]`: inside `vs` by the assertion; `first` and the lanes are arrays of
    // four.
    unsafe {
        let (mut sum, mut sum2) = (
            _mm256_loadu_pd(l.sum.as_ptr()),
            _mm256_loadu_pd(l.sum2.as_ptr()),
        );
        let mut down2 = _mm256_loadu_pd(l.down2.as_ptr());
        let (mut lo, mut hi) = (
            _mm256_loadu_pd(l.lo.as_ptr()),
            _mm256_loadu_pd(l.hi.as_ptr()),
        );
        let (one, zero) = (_mm256_set1_pd(1.0), _mm256_setzero_pd());
        for q in 0..chunks {
            let x = _mm256_loadu_pd(p.add(q * LANES));
            let before = if q == 0 {
                _mm256_loadu_pd(first.as_ptr())
            } else {
                _mm256_loadu_pd(p.add(q * LANES - 1))
            };
            let r = _mm256_sub_pd(_mm256_div_pd(x, before), one);
            sum = _mm256_add_pd(sum, r);
            sum2 = _mm256_add_pd(sum2, _mm256_mul_pd(r, r));
            // min(r, 0): 0 when r is NaN, as `f64::min`; a zero of either sign squares to +0.
            let neg = _mm256_min_pd(r, zero);
            down2 = _mm256_add_pd(down2, _mm256_mul_pd(neg, neg));
            // x < lo ? x : lo, and x > hi ? x : hi, as the portable comparisons.
            lo = _mm256_min_pd(x, lo);
            hi = _mm256_max_pd(x, hi);
        }
        _mm256_storeu_pd(l.sum.as_mut_ptr(), sum);
        _mm256_storeu_pd(l.sum2.as_mut_ptr(), sum2);
        _mm256_storeu_pd(l.down2.as_mut_ptr(), down2);
        _mm256_storeu_pd(l.lo.as_mut_ptr(), lo);
        _mm256_storeu_pd(l.hi.as_mut_ptr(), hi);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lanes() -> Lanes {
        Lanes {
            sum: [0.1, -0.2, 0.3, 0.0],
            sum2: [0.01, 0.02, 0.0, 0.5],
            down2: [0.0, 0.04, 0.0, 0.1],
            lo: [f64::INFINITY; LANES],
            hi: [0.0; LANES],
        }
    }

    /// The bits of every figure, a NaN of any sign or payload as one: which NaN an operation
    /// passes on depends on its operands' order, and a block whose sums are not finite is
    /// folded again value by value (`CurveStats::push_all`).
    fn bits(l: &Lanes) -> Vec<u64> {
        let all = l.sum.iter().chain(&l.sum2).chain(&l.down2);
        all.chain(&l.lo)
            .chain(&l.hi)
            .map(|x| if x.is_nan() { u64::MAX } else { x.to_bits() })
            .collect()
    }

    /// Whatever the processor picks, the bits are the portable loop's: values with exact
    /// repeats, zeros of both signs, negatives, NaN and infinities, over several lengths.
    #[test]
    fn the_wide_fold_has_the_bits_of_the_portable_one() {
        let mut s: u64 = 7;
        let mut vs: Vec<f64> = (0..1031)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                100.0 + (s % 10_000) as f64 / 997.0
            })
            .collect();
        vs[9] = vs[8];
        vs[40] = 0.0;
        vs[41] = -0.0;
        vs[77] = -3.0;
        vs[296] = 50.0; // the lowest of its slot, before a NaN in the same slot
        vs[300] = f64::NAN;
        vs[511] = f64::INFINITY;
        vs[700] = f64::NEG_INFINITY;
        for &(from, len) in &[
            (0, 4),
            (1, 8),
            (3, 256),
            (250, 100),
            (0, 1031),
            (600, 400),
            (5, 3),
        ] {
            let v = &vs[from..from + len];
            let (mut a, mut b) = (lanes(), lanes());
            fold(&mut a, 99.5, v);
            let chunks = len / LANES;
            if chunks > 0 {
                fold_portable(&mut b, 99.5, v, chunks);
            }
            assert_eq!(bits(&a), bits(&b), "from {from}, {len} values");
        }
        // The portable loop is checked against a plain one-value-at-a-time sum.
        let v = &vs[..64];
        let mut b = lanes();
        fold_portable(&mut b, 99.5, v, 16);
        let mut e = lanes();
        let mut prev = 99.5;
        for (k, &x) in v.iter().enumerate() {
            let r = x / prev - 1.0;
            let j = k % LANES;
            e.sum[j] += r;
            e.sum2[j] += r * r;
            e.down2[j] += r.min(0.0) * r.min(0.0);
            e.lo[j] = if x < e.lo[j] { x } else { e.lo[j] };
            e.hi[j] = if x > e.hi[j] { x } else { e.hi[j] };
            prev = x;
        }
        assert_eq!(bits(&b), bits(&e));
    }
}

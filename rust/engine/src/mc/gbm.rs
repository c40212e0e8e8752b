//! GBM paths with bridge extremes (the default model, [`ModelSpec::generate`]'s common case) in
//! three passes over a block of bars, with the bits of the bar-by-bar loop:
//!
//! 1. the draws, in the stream's order (each bar's normal, its two exponentials, then its
//!    funding rate at a funding time), serial as the generator is;
//! 2. the arithmetic of the block's bars at once: the log return, the bridge extremes and their
//!    three exponentials, independent from bar to bar, so that they run in vector lanes (AVX2
//!    where the machine has it, picked at run time; the same IEEE operations in the same order
//!    either way, never fused);
//! 3. the prices chained from the open (one product a bar).
//!
//! A block whose exponent leaves the fast exponential's range (|x| ≥ 700, or NaN: an absurd
//! volatility) is done bar by bar with [`fastmath::exp`] instead, as the bar-by-bar loop does.

use super::fastmath::{self, exp_core, Tables};
use super::models::{bridge_extremes, FundingClock, FundingModel, ModelSpec, PathBuf};
use super::rng::Rng;

/// Bars per block of the arithmetic pass.
const BLOCK: usize = 64;

/// What every bar's arithmetic shares: the return's drift part, its scale per normal draw, and
/// the bridge's variance term `2·vol²·dt`.
#[derive(Clone, Copy)]
struct Coef {
    c0: f64,
    c1: f64,
    v: f64,
}

impl Coef {
    /// Bar `k`'s log return and bridge extremes from its draws in `d`.
    #[inline(always)]
    fn exponents(self, d: &Block, k: usize) -> (f64, (f64, f64)) {
        let r = self.c0 + self.c1 * d.close[k];
        (r, bridge_extremes(r, self.v, d.high[k], d.low[k]))
    }
}

/// Writes a GBM path (annual `drift`, `vol`, no sub-steps) of `spec` into `out`.
pub(super) fn generate(spec: &ModelSpec, drift: f64, vol: f64, rng: &mut Rng, out: &mut PathBuf) {
    let t = fastmath::tables();
    let n = out.len();
    out.funding_ts.clear();
    out.funding_rate.clear();
    let dt = spec.interval_ns as f64 / crate::stats::YEAR_NS;
    // As `ModelSpec::diffusion_bar` and `bar_from` compute them, to the bit.
    let coef = Coef {
        c0: (drift - 0.5 * vol * vol) * dt,
        c1: vol * dt.sqrt(),
        v: 2.0 * vol * vol * dt,
    };
    // The generator is a local copy, so that its state stays in registers.
    let mut g = rng.clone();
    let mut clock = FundingClock::new(spec.start_ts, spec.funding_interval_ns);
    let draws_funding = matches!(spec.funding, FundingModel::Resample(_));
    let mut prev = spec.s0;
    let mut start = 0;
    while start < n {
        let m = BLOCK.min(n - start);
        // Pass 1: the block's draws (and funding rates, in the stream's order).
        let first_rate = out.funding_ts.len();
        let mut d = Block::default();
        if draws_funding {
            for j in 0..m {
                d.close[j] = g.normal_in(t);
                d.high[j] = g.exponential_in(t);
                d.low[j] = g.exponential_in(t);
                let ts = spec.start_ts + (start + j) as i64 * spec.interval_ns;
                if clock.due(ts) {
                    out.push_funding(ts, spec.funding.draw(&mut g));
                }
            }
        } else {
            // The funding rates take no draw: the draws alone in this loop.
            for j in 0..m {
                d.close[j] = g.normal_in(t);
                d.high[j] = g.exponential_in(t);
                d.low[j] = g.exponential_in(t);
            }
            for j in 0..m {
                let ts = spec.start_ts + (start + j) as i64 * spec.interval_ns;
                if clock.due(ts) {
                    out.push_funding(ts, spec.funding.draw(&mut g));
                }
            }
        }
        // Pass 2: the growths of the close, the high and the low from the open.
        growths(t, coef, &mut d, m);
        // Pass 3: the prices, chained.
        let end = start + m;
        let cols = (
            &mut out.ts[start..end],
            &mut out.open[start..end],
            &mut out.high[start..end],
            &mut out.low[start..end],
            &mut out.close[start..end],
            &mut out.funding[start..end],
        );
        let (tss, op, hi, lo, cl, fu) = cols;
        for j in 0..m {
            let (gc, gu, gd) = (d.close[j], d.high[j], d.low[j]);
            let c = prev * gc;
            let (up, down) = (prev * gu, prev * gd);
            tss[j] = spec.start_ts + (start + j) as i64 * spec.interval_ns;
            op[j] = prev;
            hi[j] = up.max(prev).max(c);
            lo[j] = down.min(prev).min(c);
            cl[j] = c;
            fu[j] = f64::NAN;
            prev = c;
        }
        for (&ts, &f) in out.funding_ts[first_rate..]
            .iter()
            .zip(&out.funding_rate[first_rate..])
        {
            let j = ((ts - spec.start_ts) / spec.interval_ns) as usize - start;
            fu[j] = f;
        }
        start = end;
    }
    *rng = g;
}

/// A block's columns: its draws (the close's normal, the high's and the low's exponentials),
/// then their exponents, then their growths from the open.
struct Block {
    close: [f64; BLOCK],
    high: [f64; BLOCK],
    low: [f64; BLOCK],
}

impl Default for Block {
    fn default() -> Self {
        Self {
            close: [0.0; BLOCK],
            high: [0.0; BLOCK],
            low: [0.0; BLOCK],
        }
    }
}

/// Pass 2 of a block's first `m` bars: their draws become their exponents, in place, then their
/// growths: by the fast exponential in vector lanes, or bar by bar with the full exponential
/// when an exponent is outside the fast one's range.
fn growths(t: &Tables, c: Coef, d: &mut Block, m: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the machine has AVX2 (checked just above).
        return unsafe { growths_avx2(t, c, d, m) };
    }
    growths_any(t, c, d, m)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn growths_avx2(t: &Tables, c: Coef, d: &mut Block, m: usize) {
    growths_any(t, c, d, m)
}

/// [`growths`] for any machine (compiled again inside the AVX2 function: the same operations).
#[inline(always)]
fn growths_any(t: &Tables, c: Coef, d: &mut Block, m: usize) {
    let m = m.min(BLOCK);
    let mut ok = true;
    for k in 0..m {
        let (r, (u, w)) = c.exponents(d, k);
        // NaN compares false: a NaN exponent fails the range too.
        ok &= (r.abs() < 700.0) & (u.abs() < 700.0) & (w.abs() < 700.0);
        (d.close[k], d.high[k], d.low[k]) = (r, u, w);
    }
    let cols = [&mut d.close, &mut d.high, &mut d.low];
    if ok {
        for col in cols {
            for x in &mut col[..m] {
                *x = exp_core(t, *x);
            }
        }
    } else {
        exp_one_by_one(cols, m);
    }
}

/// The growths of a block whose exponents leave the fast exponential's range, with the full one.
#[cold]
fn exp_one_by_one(cols: [&mut [f64; BLOCK]; 3], m: usize) {
    for col in cols {
        for x in &mut col[..m] {
            *x = fastmath::exp(*x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::models::{FundingModel, ModelSpec, PathBuf, PriceModel};
    use super::super::rng::Rng;

    fn bits(b: &PathBuf) -> Vec<u64> {
        let cols = [
            &b.open,
            &b.high,
            &b.low,
            &b.close,
            &b.funding,
            &b.funding_rate,
        ];
        let mut v: Vec<u64> =
            b.ts.iter()
                .chain(&b.funding_ts)
                .map(|&t| t as u64)
                .collect();
        v.extend(cols.iter().flat_map(|c| c.iter().map(|x| x.to_bits())));
        v
    }

    #[test]
    fn the_blocks_give_the_bits_of_the_bar_by_bar_loop() {
        // Ordinary and absurd volatilities (the latter leave the fast exponential's range and
        // overflow), funding that draws from the stream and funding that does not, lengths that
        // are and are not a multiple of the block, a start between funding times.
        let fundings = [
            FundingModel::Constant(0.0001),
            FundingModel::Resample(vec![0.0001, -0.0002, f64::NAN]),
            FundingModel::None,
        ];
        for (m, (vol, drift)) in [
            (0.6, 0.0),
            (3.0, 0.4),
            (80.0, -1.0),
            (900.0, 0.0),
            (30_000.0, 4.5e8),
        ]
        .into_iter()
        .enumerate()
        {
            for (f, funding) in fundings.iter().enumerate() {
                for n in [1, 63, 64, 65, 1_000] {
                    let spec = ModelSpec {
                        model: PriceModel::Gbm { drift, vol },
                        s0: 60_000.0,
                        interval_ns: 3_600_000_000_000,
                        start_ts: 1_704_067_200_000_000_000 + 1_800_000_000_000,
                        funding: funding.clone(),
                        funding_interval_ns: 4 * 3_600_000_000_000,
                        substeps: 0,
                    };
                    let (mut a, mut b) = (PathBuf::new(n), PathBuf::new(n));
                    for path in 0..20 {
                        let (mut ra, mut rb) = (Rng::for_path(9, path), Rng::for_path(9, path));
                        spec.generate(&mut ra, &mut a);
                        spec.generate_bar_by_bar(&mut rb, &mut b);
                        let what = format!("model {m}, funding {f}, {n} bars, path {path}");
                        assert_eq!(bits(&a), bits(&b), "{what}");
                        // The stream is left where the loop leaves it.
                        assert_eq!(ra.next_u64(), rb.next_u64(), "{what}");
                    }
                }
            }
        }
    }
}

//! Fast, portable arithmetic for path generation: the exponential function from a 64-entry table
//! and a degree-5 polynomial, and the ziggurat tables of the standard normal and exponential
//! distributions (Marsaglia and Tsang, 256 layers).
//!
//! Everything here uses only IEEE-754 additions, multiplications, divisions and square roots (each
//! correctly rounded on every machine; Rust never fuses them into FMAs on its own), and the tables
//! are computed once from the portable `libm` crate: a path's bits are the same on every machine.

use std::sync::OnceLock;

/// The tables ([`tables`]).
pub struct Tables {
    /// 2^(j/64), j = 0..64.
    pub exp2: [f64; 64],
    /// Normal ziggurat: layer edges x₀ (the base strip's width) > x₁ = R > … > x₂₅₆ = 0.
    pub xn: [f64; 257],
    /// exp(−x²/2) at the normal edges.
    pub fnorm: [f64; 257],
    /// Exponential ziggurat: layer edges x₀ > x₁ = R > … > x₂₅₆ = 0.
    pub xe: [f64; 257],
    /// exp(−x) at the exponential edges.
    pub fexp: [f64; 257],
}

/// The rightmost layer edge of the 256-layer normal ziggurat.
pub const NORMAL_R: f64 = 3.654_152_885_361_009;
/// The area of each layer of the normal ziggurat (of exp(−x²/2), unnormalised).
const NORMAL_V: f64 = 0.004_928_673_233_99;
/// The rightmost layer edge of the 256-layer exponential ziggurat.
pub const EXP_R: f64 = 7.697_117_470_131_05;
/// The area of each layer of the exponential ziggurat.
const EXP_V: f64 = 0.003_949_659_822_581_557;

/// The tables, computed on first use.
#[inline]
pub fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(build)
}

fn build() -> Tables {
    let mut exp2 = [0.0; 64];
    for (j, v) in exp2.iter_mut().enumerate() {
        *v = libm::exp2(j as f64 / 64.0);
    }
    let (xn, fnorm) = ziggurat(
        NORMAL_R,
        NORMAL_V,
        |x| libm::exp(-0.5 * x * x),
        |y| (-2.0 * libm::log(y)).sqrt(),
    );
    let (xe, fexp) = ziggurat(EXP_R, EXP_V, |x| libm::exp(-x), |y| -libm::log(y));
    Tables {
        exp2,
        xn,
        fnorm,
        xe,
        fexp,
    }
}

/// Layer edges of a 256-layer ziggurat of the decreasing density `f` (inverse `finv`) with
/// rightmost edge `r` and layer area `v`, and `f` at each edge.
fn ziggurat(
    r: f64,
    v: f64,
    f: impl Fn(f64) -> f64,
    finv: impl Fn(f64) -> f64,
) -> ([f64; 257], [f64; 257]) {
    let mut x = [0.0; 257];
    x[0] = v / f(r);
    x[1] = r;
    for i in 1..256 {
        x[i + 1] = finv(v / x[i] + f(x[i]));
    }
    x[256] = 0.0;
    let mut fx = [0.0; 257];
    for i in 0..257 {
        fx[i] = f(x[i]);
    }
    (x, fx)
}

/// ln 2 / 64 in two parts (the high part's low bits are zero, so `k · HI` is exact for the `k`
/// that occur here).
const LN2_64_HI: f64 = 6.931_471_803_691_238e-1 / 64.0;
const LN2_64_LO: f64 = 1.908_214_929_270_587_7e-10 / 64.0;
/// 1.5 · 2⁵²: adding and subtracting it rounds to the nearest integer (ties to even).
const ROUND: f64 = 6_755_399_441_055_744.0;

/// eˣ within about 2 ulp, the same bits on every machine; outside |x| < 700 (and for NaN) it is
/// `libm`'s.
#[inline]
pub fn exp(x: f64) -> f64 {
    if x.is_nan() || x.abs() >= 700.0 {
        return libm::exp(x);
    }
    exp_core(tables(), x)
}

/// [`exp`] for |x| < 700 (not NaN), without a branch, so that a loop of them runs in vector
/// lanes: x = k · ln2/64 + r with |r| ≤ ln2/128, eˣ = 2^(k div 64) · 2^((k mod 64)/64) · eʳ.
/// `k` is read from the bits of `x · 64/ln2 + 1.5·2⁵²` (the integer the addition rounded to, in
/// the low bits), and biased by 1023 · 64 so that its shifts are of a non-negative number.
#[inline(always)]
pub fn exp_core(t: &Tables, x: f64) -> f64 {
    let y = x * (64.0 / std::f64::consts::LN_2) + ROUND;
    let kf = y - ROUND;
    let r = (x - kf * LN2_64_HI) - kf * LN2_64_LO;
    let p =
        1.0 + r * (1.0 + r * (1.0 / 2.0 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0)))));
    // k + 1023·64 ≥ 0 for |x| < 700 (|k| < 64,630).
    let b = (y.to_bits().wrapping_sub(ROUND.to_bits())).wrapping_add(1023 * 64);
    let scale = f64::from_bits((b >> 6) << 52);
    t.exp2[(b & 63) as usize] * p * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    #[test]
    fn exp_is_within_two_ulp_of_libm() {
        let mut worst = 0;
        let mut x = -699.9;
        while x < 699.9 {
            worst = worst.max(ulps(exp(x), libm::exp(x)));
            x += 0.013_7;
        }
        for k in -20_000..20_000 {
            let x = k as f64 * 1e-6; // the size of a bar's log return
            worst = worst.max(ulps(exp(x), libm::exp(x)));
        }
        assert!(worst <= 2, "worst {worst} ulp");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(800.0), f64::INFINITY);
        assert_eq!(exp(-800.0), 0.0);
        assert!(exp(f64::NAN).is_nan());
    }

    #[test]
    fn ziggurat_tables_close_at_zero() {
        let t = tables();
        // The recursion from R lands on the top-layer edges of Marsaglia and Tsang's 256-layer
        // tables (0.21524189591327380 for the normal, 0.06385216381500157 for the exponential),
        // and every edge decreases.
        assert!(t.xn.windows(2).all(|w| w[0] > w[1]));
        assert!(t.xe.windows(2).all(|w| w[0] > w[1]));
        assert!(
            (t.xn[255] - 0.215_241_895_913_273_8).abs() < 1e-13,
            "{}",
            t.xn[255]
        );
        assert!(
            (t.xe[255] - 0.063_852_163_815_001_57).abs() < 1e-13,
            "{}",
            t.xe[255]
        );
        assert_eq!(t.fnorm[256], 1.0);
    }
}

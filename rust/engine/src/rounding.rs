//! Rounding to an increment (a tick or step size) as the exchanges do in decimal: halves away from
//! zero, binary noise cleaned, with a small per-thread memo of recent answers.

/// Rounds `x` to the nearest multiple of `inc` (no-op for `inc == 0`), cleaning the binary noise
/// so that `round_to(0.1 + 0.2, 0.1) == 0.3`.
#[inline]
pub fn round_to(x: f64, inc: f64) -> f64 {
    if inc > 0.0 {
        memo_round(x, inc)
    } else {
        x
    }
}

/// [`round_to`] for `inc > 0`: the arithmetic, with no memo.
#[inline]
fn round_to_multiple(x: f64, inc: f64) -> f64 {
    // Halves round away from zero as in decimal arithmetic: the nudge keeps 0.0025 / 0.001 =
    // 2.4999999999999996 rounding to 3 like the decimal 2.5 it stands for.
    let n = x / inc;
    tidy(round_half_away(n + 1e-9_f64.copysign(n)) * inc, inc)
}

/// Slots of the per-thread rounding memo.
const MEMO_SLOTS: usize = 128;

/// [`round_to_multiple`] through a small per-thread memo of recent (value, increment) pairs: an
/// order's price and quantity are mostly ones rounded before (a grid's levels, a fixed size), and
/// the rounding's two dependent divisions cost more than the lookup. A pure function memoised:
/// the same bits either way.
#[inline]
fn memo_round(x: f64, inc: f64) -> f64 {
    type Slot = std::cell::Cell<(u64, u64, f64)>;
    thread_local! {
        static MEMO: [Slot; MEMO_SLOTS] =
            const { [const { std::cell::Cell::new((0, 0, 0.0)) }; MEMO_SLOTS] };
    }
    let (xb, ib) = (x.to_bits(), inc.to_bits());
    let h = (xb ^ ib.rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 57;
    MEMO.with(|m| {
        let slot = &m[h as usize % MEMO_SLOTS];
        let (kx, ki, v) = slot.get();
        // `inc > 0` here, so an empty slot (increment bits 0) never matches.
        if kx == xb && ki == ib {
            return v;
        }
        let v = round_to_multiple(x, inc);
        slot.set((xb, ib, v));
        v
    })
}

/// Removes binary noise from a multiple of `inc` by rounding to the decimals of `inc`.
#[inline]
pub(crate) fn tidy(x: f64, inc: f64) -> f64 {
    let scale = tidy_scale(inc);
    round_half_away(x * scale) / scale
}

/// `x.round()` (halves away from zero) without the libm call: through the integer conversion,
/// which truncates exactly, for |x| < 2^52 (beyond that every float is an integer already).
#[inline]
pub fn round_half_away(x: f64) -> f64 {
    if x.abs() < 4_503_599_627_370_496.0 {
        let t = (x as i64) as f64;
        let d = x - t; // exact: t is x with its fraction dropped
        if d >= 0.5 {
            t + 1.0
        } else if d <= -0.5 {
            t - 1.0
        } else {
            t.copysign(x) // -0.3 rounds to -0.0, as f64::round does
        }
    } else {
        x
    }
}

/// 10^(decimals of `inc` + 1), cached per thread for the last two increments seen (an instrument
/// alternates between its tick and its step; the logarithm costs more than the rounding).
#[inline]
fn tidy_scale(inc: f64) -> f64 {
    thread_local! {
        static LAST: std::cell::Cell<[(u64, f64); 2]> =
            const { std::cell::Cell::new([(0, 1.0), (0, 1.0)]) };
    }
    LAST.with(|c| {
        let mut cache = c.get();
        let bits = inc.to_bits();
        if cache[0].0 == bits {
            return cache[0].1;
        }
        if cache[1].0 == bits {
            return cache[1].1;
        }
        let decimals = (-libm::log10(inc)).ceil().clamp(0.0, 15.0) as i32 + 1;
        let scale = 10f64.powi(decimals);
        cache[1] = cache[0];
        cache[0] = (bits, scale);
        c.set(cache);
        scale
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rounding_memo_returns_the_arithmetic_bits() {
        // Values drawn again and again (as a grid's levels are), and colliding slots: the memo's
        // answer is the arithmetic's, bit for bit, for every increment.
        let incs = [0.1, 0.01, 0.5, 0.001, 1.0, 25.0, 1e-8];
        let mut x = 0.37_f64;
        for k in 0..50_000 {
            x = (x * 3.7 + 0.011).fract() * 90_000.0;
            for inc in incs {
                let v = if k % 3 == 0 { x } else { (x / 7.0).floor() };
                for _ in 0..2 {
                    assert_eq!(
                        round_to(v, inc).to_bits(),
                        round_to_multiple(v, inc).to_bits(),
                        "{v} {inc}"
                    );
                }
            }
        }
        assert_eq!(round_to(0.1 + 0.2, 0.1), 0.3);
        assert_eq!(
            round_to(-0.0, 0.1).to_bits(),
            round_to_multiple(-0.0, 0.1).to_bits()
        );
    }

    #[test]
    fn round_half_away_is_f64_round() {
        let mut x = 1.0e-6_f64;
        let samples = [
            0.5,
            1.5,
            2.5,
            -0.5,
            -2.5,
            0.49999999999999994,
            -0.49999999999999994,
            4.5e15,
            -7.0e18,
            f64::NAN,
        ];
        for v in samples {
            assert!(
                round_half_away(v) == v.round() || (v.is_nan() && round_half_away(v).is_nan()),
                "{v}"
            );
        }
        for _ in 0..200_000 {
            x = (x * 1.618_033_988_7 + 0.123_456_7) % 1.0e7 - 5.0e6 * (x > 2.5e6) as i32 as f64;
            assert_eq!(round_half_away(x).to_bits(), x.round().to_bits(), "{x}");
            let h = x.trunc() + 0.5f64.copysign(x);
            assert_eq!(round_half_away(h), h.round(), "{h}");
        }
    }
}

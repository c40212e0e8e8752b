//! A small, portable random number generator and the distributions the path models draw from.
//! The generator and the distributions are defined here, and the logarithms and exponentials come
//! from the pure-Rust `libm` crate rather than the platform's math library, so that path i of seed
//! s is bit-identical on every machine.

use libm::{exp, log as ln};

use super::fastmath;

/// SplitMix64 step: used to derive independent seeds.
#[inline]
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256++ (Blackman and Vigna): fast, 256 bits of state, good statistical quality.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// The stream of path `path` for run seed `seed`: independent of how paths are split among
    /// threads, batches or machines.
    pub fn for_path(seed: u64, path: u64) -> Self {
        let mut x = splitmix64(seed ^ splitmix64(path.wrapping_add(0xD1B5_4A32_D192_ED03)));
        let mut s = [0u64; 4];
        for v in &mut s {
            x = splitmix64(x);
            *v = x;
        }
        if s == [0; 4] {
            s[0] = 1;
        }
        Self { s }
    }

    /// Next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let r = (s[0].wrapping_add(s[3])).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        r
    }

    /// Uniform in (0, 1) (never 0 or 1: safe under a logarithm).
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in [0, n).
    #[inline]
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }

    /// Standard normal (256-layer ziggurat: one draw and a table lookup nearly always).
    #[inline(always)]
    pub fn normal(&mut self) -> f64 {
        self.normal_in(fastmath::tables())
    }

    /// [`Rng::normal`] with the tables at hand (a loop of draws looks them up once).
    #[inline(always)]
    pub fn normal_in(&mut self, t: &fastmath::Tables) -> f64 {
        let b = self.next_u64();
        let i = (b & 0xff) as usize;
        let u = 2.0 * ((b >> 11) as f64 * (1.0 / (1u64 << 53) as f64)) - 1.0;
        let x = u * t.xn[i];
        if x.abs() < t.xn[i + 1] {
            return x;
        }
        self.normal_rest(i, u, x)
    }

    /// The rest of [`Rng::normal`] after a first draw (`i`, `u`, `x`) outside its layer's core:
    /// the tail, or the wedge test, and further draws until one is accepted.
    #[cold]
    #[inline(never)]
    fn normal_rest(&mut self, mut i: usize, mut u: f64, mut x: f64) -> f64 {
        let t = fastmath::tables();
        loop {
            if i == 0 {
                // The tail beyond R (Marsaglia): R + a, with a accepted against exp(−a²/2)…
                loop {
                    let a = -ln(self.uniform()) / fastmath::NORMAL_R;
                    let y = -ln(self.uniform());
                    if 2.0 * y >= a * a {
                        return if u < 0.0 {
                            -(fastmath::NORMAL_R + a)
                        } else {
                            fastmath::NORMAL_R + a
                        };
                    }
                }
            }
            let y = t.fnorm[i] + (t.fnorm[i + 1] - t.fnorm[i]) * self.uniform();
            if y < fastmath::exp(-0.5 * x * x) {
                return x;
            }
            let b = self.next_u64();
            i = (b & 0xff) as usize;
            u = 2.0 * ((b >> 11) as f64 * (1.0 / (1u64 << 53) as f64)) - 1.0;
            x = u * t.xn[i];
            if x.abs() < t.xn[i + 1] {
                return x;
            }
        }
    }

    /// Standard exponential (mean 1; 256-layer ziggurat): what −ln U is, in a few ns.
    #[inline(always)]
    pub fn exponential(&mut self) -> f64 {
        self.exponential_in(fastmath::tables())
    }

    /// [`Rng::exponential`] with the tables at hand.
    #[inline(always)]
    pub fn exponential_in(&mut self, t: &fastmath::Tables) -> f64 {
        let b = self.next_u64();
        let i = (b & 0xff) as usize;
        let x = (b >> 11) as f64 * (1.0 / (1u64 << 53) as f64) * t.xe[i];
        if x < t.xe[i + 1] {
            return x;
        }
        self.exponential_rest(i, x)
    }

    /// The rest of [`Rng::exponential`] after a first draw (`i`, `x`) outside its layer's core.
    #[cold]
    #[inline(never)]
    fn exponential_rest(&mut self, mut i: usize, mut x: f64) -> f64 {
        let t = fastmath::tables();
        loop {
            if i == 0 {
                // Memoryless: beyond R it is R plus a fresh exponential.
                return fastmath::EXP_R - ln(self.uniform());
            }
            let y = t.fexp[i] + (t.fexp[i + 1] - t.fexp[i]) * self.uniform();
            if y < fastmath::exp(-x) {
                return x;
            }
            let b = self.next_u64();
            i = (b & 0xff) as usize;
            x = (b >> 11) as f64 * (1.0 / (1u64 << 53) as f64) * t.xe[i];
            if x < t.xe[i + 1] {
                return x;
            }
        }
    }

    /// Poisson with mean `lambda` (inversion; meant for the small means of jumps per bar).
    pub fn poisson(&mut self, lambda: f64) -> u32 {
        if lambda <= 0.0 {
            return 0;
        }
        let l = exp(-lambda);
        let mut k = 0u32;
        let mut p = self.uniform();
        while p > l && k < 10_000 {
            k += 1;
            p *= self.uniform();
        }
        k
    }

    /// Gamma(shape, 1) (Marsaglia and Tsang; shape < 1 by the boost u^(1/shape)).
    pub fn gamma(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            let u = self.uniform();
            return self.gamma(shape + 1.0) * libm::pow(u, 1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = 1.0 + c * x;
            if v <= 0.0 {
                continue;
            }
            let v = v * v * v;
            let u = self.uniform();
            if u < 1.0 - 0.0331 * x * x * x * x || ln(u) < 0.5 * x * x + d * (1.0 - v + ln(v)) {
                return d * v;
            }
        }
    }

    /// Student's t with `dof` degrees of freedom.
    #[inline]
    pub fn student_t(&mut self, dof: f64) -> f64 {
        let z = self.normal();
        let chi2 = 2.0 * self.gamma(0.5 * dof);
        z / (chi2 / dof).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(mut f: impl FnMut() -> f64, n: usize) -> (f64, f64) {
        let (mut s, mut s2) = (0.0, 0.0);
        for _ in 0..n {
            let x = f();
            s += x;
            s2 += x * x;
        }
        let m = s / n as f64;
        (m, s2 / n as f64 - m * m)
    }

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Rng::for_path(7, 3).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(
            Rng::for_path(7, 3).next_u64(),
            Rng::for_path(7, 4).next_u64()
        );
        assert_ne!(
            Rng::for_path(7, 3).next_u64(),
            Rng::for_path(8, 3).next_u64()
        );
    }

    #[test]
    fn distributions_have_their_moments() {
        let mut r = Rng::for_path(1, 0);
        let (m, v) = moments(|| r.normal(), 400_000);
        assert!(m.abs() < 0.01 && (v - 1.0).abs() < 0.01, "normal {m} {v}");
        let (m, v) = moments(|| r.uniform(), 400_000);
        assert!((m - 0.5).abs() < 0.005 && (v - 1.0 / 12.0).abs() < 0.002);
        let (m, v) = moments(|| r.poisson(0.3) as f64, 400_000);
        assert!(
            (m - 0.3).abs() < 0.01 && (v - 0.3).abs() < 0.01,
            "poisson {m} {v}"
        );
        let (m, _) = moments(|| r.gamma(2.5), 400_000);
        assert!((m - 2.5).abs() < 0.02, "gamma {m}");
        let (m, _) = moments(|| r.gamma(0.4), 400_000);
        assert!((m - 0.4).abs() < 0.01, "gamma<1 {m}");
        let (m, v) = moments(|| r.student_t(5.0), 400_000);
        assert!(m.abs() < 0.02 && (v - 5.0 / 3.0).abs() < 0.08, "t {m} {v}");
        let counts = (0..100_000).fold([0u32; 7], |mut c, _| {
            c[r.below(7)] += 1;
            c
        });
        assert!(counts
            .iter()
            .all(|&c| (c as f64 - 100_000.0 / 7.0).abs() < 500.0));
    }

    /// Pearson's χ² of `n` draws of `draw` in the bins between `edges` (and the two tails)
    /// against the distribution function `cdf`.
    fn chi2(
        mut draw: impl FnMut() -> f64,
        n: usize,
        edges: &[f64],
        cdf: impl Fn(f64) -> f64,
    ) -> f64 {
        let mut counts = vec![0u64; edges.len() + 1];
        for _ in 0..n {
            let x = draw();
            counts[edges.partition_point(|&e| e <= x)] += 1;
        }
        let mut cuts = vec![f64::NEG_INFINITY];
        cuts.extend_from_slice(edges);
        cuts.push(f64::INFINITY);
        let p = |a: f64, b: f64| cdf(b) - cdf(a);
        (0..counts.len())
            .map(|k| {
                let e = n as f64 * p(cuts[k], cuts[k + 1]);
                (counts[k] as f64 - e).powi(2) / e
            })
            .sum()
    }

    #[test]
    fn the_ziggurats_follow_their_distributions() {
        // 66 bins (64 degrees of freedom): χ² above 120 has a probability below 1e-5. The bins
        // are fine enough to see a wrong layer or tail (the normal's tail starts at 3.654).
        let mut r = Rng::for_path(11, 0);
        let edges: Vec<f64> = (0..65).map(|k| -4.5 + 9.0 * k as f64 / 64.0).collect();
        let phi = |x: f64| 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2);
        let c = chi2(|| r.normal(), 2_000_000, &edges, phi);
        assert!(c < 120.0, "normal chi2 {c}");
        let edges: Vec<f64> = (1..66).map(|k| 12.0 * k as f64 / 65.0).collect();
        let c = chi2(
            || r.exponential(),
            2_000_000,
            &edges,
            |x| {
                if x <= 0.0 {
                    0.0
                } else {
                    -libm::expm1(-x)
                }
            },
        );
        assert!(c < 120.0, "exponential chi2 {c}");
        let (m, v) = moments(|| r.exponential(), 400_000);
        assert!(
            (m - 1.0).abs() < 0.01 && (v - 1.0).abs() < 0.02,
            "exp {m} {v}"
        );
    }

    #[test]
    fn a_stream_is_the_same_on_every_machine() {
        // Golden bits of the first draws of path 3 of seed 7: the generator, the ziggurat tables
        // (from libm) and the fast exp use only correctly rounded operations, so these hold on
        // every platform; a change here changes every Monte Carlo result for a given seed.
        let mut r = Rng::for_path(7, 3);
        let got: Vec<u64> = (0..6)
            .map(|k| {
                if k % 2 == 0 {
                    r.normal()
                } else {
                    r.exponential()
                }
                .to_bits()
            })
            .collect();
        assert_eq!(got, GOLDEN);
    }

    const GOLDEN: [u64; 6] = [
        4601429390173859408,
        4605045156303445311,
        4613153815114827645,
        4603465178944081415,
        13826955465858119151,
        4600319069493648283,
    ];
}

//! Unit tests of the curve statistics.

use super::*;

#[test]
fn drawdown_time_under_water_and_returns() {
    let mut s = CurveStats::new(100.0);
    for (k, eq) in [110.0, 99.0, 105.0, 120.0, 60.0].into_iter().enumerate() {
        s.push(k as i64 * 10, eq);
    }
    assert_eq!(s.steps, 5);
    assert_eq!(s.peak, 120.0);
    assert_eq!(s.min, 60.0);
    assert_eq!(s.max_drawdown, -0.5);
    assert_eq!((s.drawdown_start, s.drawdown_end), (30, 40));
    assert_eq!(s.under_water, 3);
    assert_eq!(s.n, 5);
    let r = [
        0.1,
        99.0 / 110.0 - 1.0,
        105.0 / 99.0 - 1.0,
        120.0 / 105.0 - 1.0,
        -0.5,
    ];
    assert!((lanes_total(&s.sum) - r.iter().sum::<f64>()).abs() < 1e-12);
    assert_eq!(s.mean_step(), 10.0);
}

#[test]
fn a_block_folds_with_the_bits_of_one_by_one_pushes() {
    // Curves with runs of new peaks, deep falls, repeated values, a zero, a negative, an
    // infinity and a NaN, folded in blocks of every size from several lane offsets: the same
    // state, bit for bit, as pushing each value.
    let mut x = 0.5_f64;
    let mut curve: Vec<f64> = Vec::new();
    let mut level = 1_000.0;
    for k in 0..6_000 {
        x = (x * 3.9 + 0.07).fract();
        // Up-trends, down-trends and chop, so that blocks reach new peaks or do not.
        level *= 1.0 + 0.004 * (x - 0.5) + if (k / 500) % 3 == 0 { 0.002 } else { -0.0005 };
        let v = match k {
            1_700 => 0.0,
            2_300 => -5.0,
            3_100 => f64::NAN,
            3_900 => f64::INFINITY,
            _ if k % 7 == 3 => curve.last().copied().unwrap_or(1.0),
            // Back at the peak exactly (neither a new peak nor under water).
            _ if k % 97 == 50 => curve.iter().copied().fold(1_000.0, f64::max),
            _ => level,
        };
        curve.push(v);
    }
    let ts: Vec<i64> = (0..curve.len() as i64).map(|k| k * 60).collect();
    let bits = |c: &CurveStats| {
        let mut v: Vec<u64> = [c.last, c.peak, c.min, c.max_drawdown]
            .iter()
            .chain(c.sum.iter().chain(&c.sum2).chain(&c.down2))
            .map(|f| f.to_bits())
            .collect();
        v.extend([c.steps, c.n, c.under_water]);
        v.extend([c.peak_ts, c.drawdown_start, c.drawdown_end, c.last_ts].map(|t| t as u64));
        v
    };
    for start in [0usize, 1, 2, 3, 5] {
        for size in [1usize, 3, 16, 17, 31, 256] {
            let mut a = CurveStats::new(1_000.0);
            let mut b = CurveStats::new(1_000.0);
            for k in 0..start {
                a.push(ts[k], curve[k]);
                b.push(ts[k], curve[k]);
            }
            // Compared after every block (the end alone hides a drawdown that a later,
            // deeper one replaces).
            let mut k = start;
            while k < curve.len() {
                let e = curve.len().min(k + size);
                for j in k..e {
                    a.push(ts[j], curve[j]);
                }
                b.push_all(Times::ns(&ts[k..e]), &curve[k..e]);
                assert_eq!(
                    bits(&a),
                    bits(&b),
                    "start {start}, blocks of {size}, at {e}"
                );
                k = e;
            }
        }
    }
}

#[test]
fn repeating_a_value_equals_pushing_it() {
    let mut a = CurveStats::new(100.0);
    let mut b = CurveStats::new(100.0);
    for (k, eq) in [110.0, 90.0, 95.0].into_iter().enumerate() {
        a.push(k as i64 * 7, eq);
        b.push(k as i64 * 7, eq);
    }
    let rest: Vec<i64> = (3..20).map(|k| k * 7 + k % 2).collect();
    for &t in &rest {
        a.push(t, 95.0);
    }
    b.repeat(rest.len() as u64, *rest.last().unwrap());
    assert_eq!(a, b);
    let t = Totals::default();
    assert_eq!(RunStats::new(&a, &t), RunStats::new(&b, &t));
}

#[test]
fn the_mean_step_counts_the_gaps() {
    let mut s = CurveStats::new(1.0);
    for ts in [0, 10, 20, 50, 60] {
        s.push(ts, 1.0);
    }
    assert_eq!(s.mean_step(), 15.0);
}

#[test]
fn figures_of_a_simple_curve() {
    let day = 86_400e9 as i64;
    let mut c = CurveStats::new(100.0);
    for k in 0..365 {
        c.push(k * day, 100.0 * (1.0 + 0.001 * (k % 3) as f64));
    }
    let s = RunStats::new(&c, &Totals::default());
    assert_eq!(s.steps, 365);
    // The span is exactly one year: the CAGR is the total return.
    assert!((s.cagr - s.total_return).abs() < 1e-12);
    assert!(s.sharpe.is_finite() && s.sortino.is_finite());
    assert_eq!(s.fields()[0], ("initial_balance", Stat::F(100.0)));
}

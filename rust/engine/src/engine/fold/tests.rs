//! The folder against one thread (engine/fold.rs).
use super::*;
use crate::ledger::{Account, Liquidity};
use crate::Instrument;

/// A long of `qty` bought at `entry`.
fn marker(qty: f64, entry: f64) -> Marker {
    let mut a = Account::new(vec![Instrument::plain_linear("X", 0.0, 0.0)], 1_000.0, 10.0).unwrap();
    a.fill(0, qty, entry, Liquidity::Taker).unwrap();
    a.marker(0)
}

#[test]
fn the_folder_folds_the_segments_as_one_thread_would() {
    let n = 5 * BLOCK + 77;
    let ts: Vec<i64> = (0..n as i64).map(|k| 1_000 + 60 * k).collect();
    let close: Vec<f64> = (0..n)
        .map(|k| 100.0 + ((k * 37 % 101) as f64 - 50.0) / 7.0)
        .collect();
    let bars = BarSeries::ohlc(&ts, &close, &close, &close, &close);
    let m = marker(2.0, 99.0);
    let start = CurveStats::new(1_000.0);
    // Steps 0..300 quiet, 300 a step of its own, the rest quiet.
    let mut want = start.clone();
    for k in 0..n {
        let v = if k == 300 {
            1_234.5
        } else {
            m.equity(m.marked(close[k]).0)
        };
        want.push(ts[k], v);
    }
    let feed = Feed::default();
    let checks = Ahead::new(n);
    let got = std::thread::scope(|sc| {
        let folder = sc.spawn(|| feed.fold(&bars, &checks));
        let mut sink = feed.sink(&start, None);
        sink.quiet(0, 300, m);
        sink.step(300, ts[300], 1_234.5, None);
        for a in (301..n).step_by(7) {
            sink.quiet(a, (a + 7).min(n), m);
        }
        sink.check().unwrap();
        sink.flush();
        feed.close();
        folder.join().unwrap()
    });
    assert_eq!(got, Some(want));
    assert!(!feed.broken.load(Ordering::Relaxed));
}

#[test]
fn a_step_out_of_order_is_an_error_not_a_figure() {
    let feed = Feed::default();
    let mut sink = feed.sink(&CurveStats::new(1.0), None);
    sink.step(0, 1, 1.0, None);
    sink.step(2, 3, 1.0, None); // step 1 skipped
    assert!(sink.check().is_err());
    let mut sink = feed.sink(&CurveStats::new(1.0), None);
    sink.step(0, 1, 1.0, Some((0.0, 0.0, 0.0))); // a row the folder does not write
    assert!(sink.check().is_err());
}

#[test]
fn a_feed_closed_without_a_sink_gives_no_fold() {
    let feed = Feed::default();
    feed.close();
    let ts = [1i64, 2, 3];
    let p = [1.0; 3];
    let bars = BarSeries::ohlc(&ts, &p, &p, &p, &p);
    assert_eq!(feed.fold(&bars, &Ahead::new(bars.len())), None);
}

//! Criterion bench of the ledger's fill path: one fill (margin check, fee, commit) cycling through
//! open, add, reduce and close on one symbol; the same through the market-order filters; and a mark
//! of two symbols plus an equity read.
use criterion::{criterion_group, criterion_main, Criterion};
use perpsim_engine::{Account, Instrument, Liquidity};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut acc = Account::new(
        vec![
            Instrument::plain_linear("BTCUSDT", 0.0002, 0.0005),
            Instrument::plain_linear("ETHUSDT", 0.0002, 0.0005),
        ],
        1e15,
        10.0,
    )
    .unwrap();
    let mut k: u64 = 0;
    const CYCLE: [f64; 4] = [0.5, 0.3, -0.6, -0.2]; // open, add, reduce, close
    c.bench_function("fill (taker; open, add, reduce, close)", |b| {
        b.iter(|| {
            k += 1;
            let q = CYCLE[(k & 3) as usize];
            let p = 30_000.0 + (k % 97) as f64;
            black_box(
                acc.fill(0, black_box(q), black_box(p), Liquidity::Taker)
                    .unwrap(),
            );
        })
    });
    c.bench_function("market order (filters + fill)", |b| {
        b.iter(|| {
            k += 1;
            let q = CYCLE[(k & 3) as usize];
            let p = 30_000.0 + (k % 89) as f64;
            black_box(acc.market(1, black_box(q), black_box(p)).unwrap());
        })
    });
    c.bench_function("mark two symbols + equity", |b| {
        b.iter(|| {
            k += 1;
            acc.mark(0, 30_000.0 + (k % 13) as f64).unwrap();
            acc.mark(1, 2_000.0 + (k % 7) as f64).unwrap();
            black_box(acc.equity())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

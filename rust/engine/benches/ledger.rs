//! Criterion bench of the ledger's fill path: one market fill (filters, margin check, fee, commit)
//! alternating buys and sells on one symbol, and a mark + equity read.
use criterion::{criterion_group, criterion_main, Criterion};
use perpsim_engine::{Account, Instrument, Liquidity};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut acc = Account::new(
        vec![
            Instrument::plain_linear("BTCUSDT", 0.0002, 0.0005),
            Instrument::plain_linear("ETHUSDT", 0.0002, 0.0005),
        ],
        1e9,
        10.0,
    )
    .unwrap();
    let mut k: u64 = 0;
    c.bench_function("fill (taker, open/reduce alternating)", |b| {
        b.iter(|| {
            k += 1;
            let q = if k & 1 == 0 { 0.5 } else { -0.3 };
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
            let q = if k & 1 == 0 { 0.5 } else { -0.3 };
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

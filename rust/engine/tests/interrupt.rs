//! A run stops within an event of being asked to, not only at the end of its step: one bar can
//! hold millions of events (a price that runs across a trailing grid's levels shifts the grid once
//! per level). This is its own test binary: the stop flags are process-wide, and an interrupt
//! raised here would stop the runs of any other test in the same process.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use perpsim_engine::control;
use perpsim_engine::engine::run;
use perpsim_engine::strategy::{BuiltIn, Grid, GridConfig, GridQty};
use perpsim_engine::{
    Account, Bar, Config, Engine, ErrorKind, Instrument, NoStrategy, OrderRequest, Side,
};

mod common;
use common::Bars;

/// The tests here raise the process-wide flags: one at a time.
static FLAGS: Mutex<()> = Mutex::new(());

#[test]
fn an_interrupt_stops_a_run_inside_a_bar() {
    let _one = FLAGS.lock().unwrap_or_else(|e| e.into_inner());
    let inst = Instrument::plain_linear("X", 0.0, 0.0);
    let acc = Account::new(vec![inst.clone()], 1e12, 10.0).unwrap();
    let mut e = Engine::new(acc, Config::default()).unwrap();
    // Levels 100, 101, ..., 110 trailing up, then a bar from 104.5 up to 5,000,000: Binance's
    // trailing shifts the grid one level at a time, 4,999,890 shifts in that one bar (seconds of
    // work in a release build, and an orders log of a gigabyte).
    let mut cfg = GridConfig::neutral(100.0, 110.0, 10, GridQty::Quote(100.0));
    cfg.trailing_up = true;
    let mut s = BuiltIn::Grid(Box::new(Grid::new(cfg, &inst).unwrap()));
    let bars = Bars::new(&[
        (104.5, 104.5, 104.5, 104.5),
        (104.5, 5_000_000.0, 104.5, 5_000_000.0),
    ]);
    let asker = std::thread::spawn(|| {
        std::thread::sleep(Duration::from_millis(50));
        control::interrupt();
        Instant::now()
    });
    let result = run(&mut e, &[bars.input()], &mut s);
    let done = Instant::now();
    let asked = asker.join().unwrap();
    control::lower(control::INTERRUPT);
    let err = result.expect_err("the run was interrupted");
    assert_eq!(err.kind, ErrorKind::Interrupted, "{err:?}");
    let BuiltIn::Grid(g) = &s else { unreachable!() };
    // Stopped inside the bar, a fraction of the way up.
    assert!(
        g.shifts() < 4_999_890,
        "{} shifts: the bar ran to its end",
        g.shifts()
    );
    assert!(
        done.saturating_duration_since(asked) < Duration::from_secs(1),
        "stopped {:?} after the interrupt",
        done.saturating_duration_since(asked)
    );
}

#[test]
fn a_step_taken_alone_walks_its_bar_whole_whatever_the_flags() {
    // Steps taken one at a time (the `Exchange` API) are not a run: another run's interrupt, or
    // a mark an allocation left, must not cut their bars short (that would skip fills silently).
    let _one = FLAGS.lock().unwrap_or_else(|e| e.into_inner());
    let inst = Instrument::plain_linear("X", 0.0, 0.0);
    let mut e = Engine::new(
        Account::new(vec![inst], 1e6, 10.0).unwrap(),
        Config::default(),
    )
    .unwrap();
    e.begin_step(0, &mut NoStrategy);
    e.bar(0, &Bar::tick(0, 100.0), &mut NoStrategy);
    e.end_step(&mut NoStrategy);
    for k in 1..=5 {
        let price = 100.0 - k as f64;
        e.place(
            &OrderRequest::limit(0, Side::Buy, price, 1.0),
            &mut NoStrategy,
        )
        .unwrap();
    }
    control::interrupt();
    e.begin_step(3_600, &mut NoStrategy);
    e.bar(
        0,
        &Bar::ohlc(3_600, 100.0, 100.0, 90.0, 92.0),
        &mut NoStrategy,
    );
    e.end_step(&mut NoStrategy);
    control::lower(control::INTERRUPT);
    // The five buys filled on the way down, each at its price.
    let prices: Vec<f64> = e.fills().iter().map(|f| f.price).collect();
    assert_eq!(prices, [99.0, 98.0, 97.0, 96.0, 95.0]);
    assert_eq!(e.account().position(0).qty, 5.0);
}

//! The record buffers of a dropped engine (fills, funding payments, the order log), emptied and
//! kept for the next engine: a year of grid fills is megabytes, which the allocator returns to the
//! kernel on free, so each backtest, sweep or Monte Carlo path would otherwise fault every page of
//! them in again and copy them as they grow. A few sets are kept (one per worker thread of a Monte
//! Carlo run), [`MAX_BYTES`] in all.

use std::sync::Mutex;

use crate::matching::Order;
use crate::record::{FillRow, FundingRow};

/// Emptied buffers with their capacity.
#[derive(Default)]
pub(super) struct Spare {
    pub fills: Vec<FillRow>,
    pub funding: Vec<FundingRow>,
    pub orders: Vec<Order>,
    pub counted: Vec<[f64; 2]>,
}

/// Buffers smaller than this are left to the allocator.
const MIN_BYTES: usize = 16 << 10;
/// The most the kept sets may hold in all.
const MAX_BYTES: usize = 64 << 20;
/// The most sets kept.
const MAX_SETS: usize = 16;

static SPARE: Mutex<Vec<Spare>> = Mutex::new(Vec::new());

impl Spare {
    fn bytes(&self) -> usize {
        self.fills.capacity() * std::mem::size_of::<FillRow>()
            + self.funding.capacity() * std::mem::size_of::<FundingRow>()
            + self.orders.capacity() * std::mem::size_of::<Order>()
            + self.counted.capacity() * std::mem::size_of::<[f64; 2]>()
    }
}

/// A kept set of buffers, if any (empty, with their capacity): the last one given.
pub(super) fn take() -> Option<Spare> {
    SPARE.lock().unwrap_or_else(|p| p.into_inner()).pop()
}

/// Keeps `s` (emptied) for the next engine, unless it is small or the kept sets are full.
pub(super) fn give(mut s: Spare) {
    let bytes = s.bytes();
    if bytes < MIN_BYTES {
        return;
    }
    s.fills.clear();
    s.funding.clear();
    s.orders.clear();
    s.counted.clear();
    let mut kept = SPARE.lock().unwrap_or_else(|p| p.into_inner());
    let held: usize = kept.iter().map(Spare::bytes).sum();
    if kept.len() < MAX_SETS && held + bytes <= MAX_BYTES {
        kept.push(s);
    }
}

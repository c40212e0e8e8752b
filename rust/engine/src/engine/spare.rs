//! The record buffers of a dropped engine (fills, funding payments, the order log), emptied and
//! kept for the next engine: a year of grid fills is megabytes, which the allocator returns to the
//! kernel on free, so each backtest or sweep would otherwise fault every page of them in again and
//! copy them as they grow. One set is kept, of at most [`MAX_BYTES`].

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
const MIN_BYTES: usize = 256 << 10;
/// The most a kept set may hold.
const MAX_BYTES: usize = 64 << 20;

static SPARE: Mutex<Option<Spare>> = Mutex::new(None);

impl Spare {
    fn bytes(&self) -> usize {
        self.fills.capacity() * std::mem::size_of::<FillRow>()
            + self.funding.capacity() * std::mem::size_of::<FundingRow>()
            + self.orders.capacity() * std::mem::size_of::<Order>()
            + self.counted.capacity() * std::mem::size_of::<[f64; 2]>()
    }
}

/// The kept buffers, if any (empty, with their capacity).
pub(super) fn take() -> Option<Spare> {
    SPARE.lock().unwrap_or_else(|p| p.into_inner()).take()
}

/// Keeps `s` (emptied) for the next engine, unless it is small or too large, or a larger set is
/// already kept.
pub(super) fn give(mut s: Spare) {
    let bytes = s.bytes();
    if !(MIN_BYTES..=MAX_BYTES).contains(&bytes) {
        return;
    }
    s.fills.clear();
    s.funding.clear();
    s.orders.clear();
    s.counted.clear();
    let mut kept = SPARE.lock().unwrap_or_else(|p| p.into_inner());
    if kept.as_ref().is_none_or(|k| k.bytes() < bytes) {
        *kept = Some(s);
    }
}

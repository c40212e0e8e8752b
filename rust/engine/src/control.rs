//! Stopping runs from outside: one process-wide word of flags that the event loop reads once per
//! step and the walk of a bar before each event (a relaxed atomic load, decision 150), so that a
//! run stops within an event of being asked to — by the user (an interrupt, Ctrl-C in Python) or
//! by the memory guard (an allocation failed).

use std::sync::atomic::{AtomicU32, Ordering};

/// The user asked every running run to stop.
pub const INTERRUPT: u32 = 1;
/// An allocation failed (see `crate::memory::guard`).
pub const MEMORY: u32 = 2;

static FLAGS: AtomicU32 = AtomicU32::new(0);

/// The flags raised (0: carry on).
#[inline(always)]
pub fn flags() -> u32 {
    FLAGS.load(Ordering::Relaxed)
}

/// Raises `flag`.
pub fn raise(flag: u32) {
    FLAGS.fetch_or(flag, Ordering::Release);
}

/// Lowers `flag`.
pub fn lower(flag: u32) {
    FLAGS.fetch_and(!flag, Ordering::Release);
}

/// Asks every running run to stop (they stop walking their current bar at its next event and
/// end the step with an `Interrupted` error).
pub fn interrupt() {
    raise(INTERRUPT);
}

//! What the machine offers the engine, read once per process: the standard library asks the
//! system (the affinity mask, the cgroup's quota files) at every call, tens of microseconds that
//! a short backtest would otherwise pay at each call.

use std::sync::OnceLock;

/// The cores this process may run on ([`std::thread::available_parallelism`], 1 when the system
/// does not say), read at the first call.
pub fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

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

/// Keeps the calling thread off the processor `busy` (another thread's, which has work of its
/// own), on the others it may run on (Linux; elsewhere, or when no other processor is allowed,
/// nothing changes). A hint for a helper thread that runs beside its caller: without it, the
/// system may start the helper on its caller's processor and leave both sharing it for a while.
/// A thread that helps one caller after another comes back with [`Allowed::restore`].
pub fn avoid_cpu(busy: Option<usize>) {
    Allowed::now().avoid(busy);
}

/// The processors the calling thread may run on, as read when made (Linux; nothing elsewhere).
pub struct Allowed {
    #[cfg(target_os = "linux")]
    set: Option<libc::cpu_set_t>,
}

impl Allowed {
    /// The calling thread's processors now.
    pub fn now() -> Self {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: `set` is a plain bit mask the call writes; 0 is the calling thread.
            unsafe {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                let size = std::mem::size_of::<libc::cpu_set_t>();
                let ok = libc::sched_getaffinity(0, size, &mut set) == 0;
                Self {
                    set: ok.then_some(set),
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        Self {}
    }

    /// Puts the calling thread on these processors but `busy` (when another one is left).
    pub fn avoid(&self, busy: Option<usize>) {
        #[cfg(target_os = "linux")]
        if let (Some(mut set), Some(busy)) = (self.set, busy) {
            if busy >= libc::CPU_SETSIZE as usize {
                return;
            }
            // SAFETY: `set` is a plain bit mask the calls read and write; 0 is the calling
            // thread.
            unsafe {
                libc::CPU_CLR(busy, &mut set);
                if libc::CPU_COUNT(&set) > 0 {
                    libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = busy;
    }

    /// Puts the calling thread back on these processors (after [`avoid_cpu`]).
    pub fn restore(&self) {
        #[cfg(target_os = "linux")]
        if let Some(set) = &self.set {
            // SAFETY: `set` is a mask read by `sched_getaffinity`; 0 is the calling thread.
            unsafe {
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set);
            }
        }
    }
}

/// The processor the calling thread runs on now (Linux; None elsewhere).
pub fn current_cpu() -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sched_getcpu has no arguments and no side effects.
        let c = unsafe { libc::sched_getcpu() };
        usize::try_from(c).ok()
    }
    #[cfg(not(target_os = "linux"))]
    None
}

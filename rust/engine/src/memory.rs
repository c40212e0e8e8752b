//! Memory for the large columnar buffers a long run fills (records, paths): how much is available
//! ([`available`]), the check a run makes before it starts ([`ensure`]), fallible allocation
//! ([`Pooled::try_new`]) and hints to the kernel.

use crate::error::LedgerError;

/// Asks the kernel to back the unused capacity of `v` with transparent huge pages, when it spans
/// at least a few of them (Linux; a no-op elsewhere or when the kernel declines). Filling a fresh
/// 40 MB equity history otherwise costs one page fault per 4 KiB.
pub fn advise_huge<T>(v: &mut Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let bytes = v.capacity() * std::mem::size_of::<T>();
        if bytes < 2 * HUGE {
            return;
        }
        let start = v.as_mut_ptr() as usize;
        let aligned = (start + HUGE - 1) & !(HUGE - 1);
        let end = (start + bytes) & !(HUGE - 1);
        if end > aligned {
            // SAFETY: the range lies inside `v`'s own allocation; MADV_HUGEPAGE only changes how
            // the kernel backs those pages, never their contents or validity.
            unsafe {
                libc::madvise(
                    aligned as *mut libc::c_void,
                    end - aligned,
                    libc::MADV_HUGEPAGE,
                );
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

use std::mem::MaybeUninit;
use std::sync::Mutex;

/// Writes `v` to `o`; with `STREAM`, past the caches where the target has such a store (x86-64's
/// `movnti`). Long columns written once and read later (a long history's rows, its built table)
/// are tens of MB, and a plain store first reads every line it writes. The bits are the same
/// either way; a [`fence`] orders the streamed stores before the columns are handed over.
#[inline(always)]
pub fn put<const STREAM: bool>(o: &mut MaybeUninit<f64>, v: f64) {
    #[cfg(target_arch = "x86_64")]
    if STREAM {
        // SAFETY: `o` is a valid, aligned place for 8 bytes; the store writes exactly them.
        unsafe {
            std::arch::x86_64::_mm_stream_si64(o.as_mut_ptr().cast::<i64>(), v.to_bits() as i64)
        };
        return;
    }
    *o = MaybeUninit::new(v);
}

/// With `STREAM`, orders the stores [`put`] streamed before whatever follows (a column handed
/// over, a row written by a plain store).
#[inline(always)]
pub fn fence<const STREAM: bool>() {
    #[cfg(target_arch = "x86_64")]
    if STREAM {
        // SAFETY: a store fence has no operands and no preconditions.
        unsafe { std::arch::x86_64::_mm_sfence() }
    }
}

/// The bytes this process can still allocate, when the platform says: the least of the memory
/// the system has available, the room under the process's address-space limit and the room left
/// in its memory cgroup (Linux). None elsewhere.
pub fn available() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let read = |path: &str| std::fs::read_to_string(path).ok();
        let mut out: Option<u64> = None;
        let mut least = |v: u64| out = Some(out.map_or(v, |o| o.min(v)));
        if let Some(m) = read("/proc/meminfo") {
            if let Some(kb) = m
                .lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
            {
                least(kb * 1024);
            }
        }
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct it is given.
        if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) } == 0
            && lim.rlim_cur != libc::RLIM_INFINITY
        {
            let page = 4096u64;
            let used = read("/proc/self/statm")
                .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
                .map_or(0, |pages| pages * page);
            #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 on every target
            let cur = lim.rlim_cur as u64;
            least(cur.saturating_sub(used));
        }
        if let (Some(max), Some(cur)) = (
            read("/sys/fs/cgroup/memory.max"),
            read("/sys/fs/cgroup/memory.current"),
        ) {
            if let (Ok(max), Ok(cur)) = (max.trim().parse::<u64>(), cur.trim().parse::<u64>()) {
                least(max.saturating_sub(cur));
            }
        }
        out
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// Refuses, before a run starts, `bytes` for `what` (the error names `field`) when they are more
/// than nine tenths of what is [`available`]; passes when the platform does not say, and for
/// anything under 64 MiB.
pub fn ensure(field: &str, what: &str, bytes: u64) -> Result<(), LedgerError> {
    if bytes < 1 << 26 {
        return Ok(()); // under 64 MiB: not worth asking the system
    }
    match available() {
        Some(a) if bytes > a / 10 * 9 => {
            Err(LedgerError::out_of_memory(field, what, bytes, Some(a)))
        }
        _ => Ok(()),
    }
}

/// A `Vec` with room for `len` items, or an out-of-memory error for `what` (instead of the
/// allocator aborting the process).
pub fn try_vec<T>(len: usize, field: &str, what: &str) -> Result<Vec<T>, LedgerError> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| {
        let bytes = (len as u64).saturating_mul(std::mem::size_of::<T>() as u64);
        LedgerError::out_of_memory(field, what, bytes, available())
    })?;
    Ok(v)
}

/// Buffers given back by dropped records, kept for the next run (see [`Pooled`]).
static POOL: Mutex<Vec<Vec<MaybeUninit<f64>>>> = Mutex::new(Vec::new());

/// Buffers smaller than this are not pooled (the allocator reuses them well on its own).
const POOL_MIN: usize = 1 << 20;
/// The pool keeps at most this many floats in all (256 MiB).
const POOL_MAX: usize = 1 << 25;

/// A buffer of `f64` room, uninitialised until written, whose memory goes back to a small
/// process-wide pool when dropped. A long run's records are tens of MB; the allocator returns
/// blocks that large to the kernel on free, so the next run would fault every page in again. With
/// the pool, back-to-back runs (a bench, a notebook re-running a backtest) reuse pages already
/// mapped.
pub struct Pooled(Vec<MaybeUninit<f64>>);

impl Pooled {
    /// `len` floats of room (from the pool when a buffer fits, else fresh, with huge pages).
    pub fn new(len: usize) -> Self {
        match Self::try_new(len) {
            Ok(p) => p,
            Err(_) => std::alloc::handle_alloc_error(
                std::alloc::Layout::array::<f64>(len).unwrap_or(std::alloc::Layout::new::<f64>()),
            ),
        }
    }

    /// [`Pooled::new`], or an out-of-memory error when the allocation fails.
    pub fn try_new(len: usize) -> Result<Self, LedgerError> {
        if len >= POOL_MIN {
            let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(k) = pool
                .iter()
                .position(|v| v.capacity() >= len && v.capacity() <= 2 * len)
            {
                let mut v = pool.swap_remove(k);
                // SAFETY: `MaybeUninit` needs no initialisation; the capacity is at least `len`.
                unsafe { v.set_len(len) };
                return Ok(Self(v));
            }
        }
        let mut v = try_vec(len, "record", "the recorded columns")?;
        advise_huge(&mut v);
        // SAFETY: as above.
        unsafe { v.set_len(len) };
        Ok(Self(v))
    }

    /// No room.
    pub const fn empty() -> Self {
        Self(Vec::new())
    }
}

impl std::ops::Deref for Pooled {
    type Target = [MaybeUninit<f64>];

    #[inline]
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Pooled {
    #[inline]
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Clone for Pooled {
    fn clone(&self) -> Self {
        let mut c = Self::new(self.0.len());
        c.copy_from_slice(&self.0);
        c
    }
}

impl Default for Pooled {
    fn default() -> Self {
        Self::empty()
    }
}

impl std::fmt::Debug for Pooled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pooled({} floats)", self.0.len())
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let cap = self.0.capacity();
        if cap < POOL_MIN {
            return;
        }
        let v = std::mem::take(&mut self.0);
        let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
        let held: usize = pool.iter().map(Vec::capacity).sum();
        if held + cap <= POOL_MAX {
            pool.push(v);
        }
    }
}

impl From<Vec<f64>> for Pooled {
    fn from(v: Vec<f64>) -> Self {
        let mut p = Self::new(v.len());
        for (slot, x) in p.iter_mut().zip(v) {
            *slot = MaybeUninit::new(x);
        }
        p
    }
}

/// A global allocator that keeps an emergency reserve: when an allocation fails, it gives the
/// reserve back to the system, marks the process as [`exhausted`] and tries again, so that the
/// allocation that would have aborted the process succeeds; the event loop sees the mark at the
/// end of the step and stops the run with an out-of-memory error (a Python `MemoryError`), and the
/// reserve is taken again ([`rearm`]) before the next run. The binding installs it as its global
/// allocator (`#[global_allocator]`); without it, [`exhausted`] is never set.
pub mod guard {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicPtr, Ordering};

    /// The reserve: 128 MiB, mapped but never touched (it costs address space, not memory), so
    /// that the allocation that failed (a record growing by half, say) fits once it is released.
    const RESERVE: usize = 128 << 20;
    static BLOCK: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());

    fn layout() -> Layout {
        Layout::from_size_align(RESERVE, 4096).expect("a valid layout")
    }

    /// Gives the reserve back; whether there was one.
    fn release() -> bool {
        let p = BLOCK.swap(std::ptr::null_mut(), Ordering::AcqRel);
        if p.is_null() {
            return false;
        }
        // SAFETY: `p` was allocated by `System` with `layout()` in `rearm` and is released once
        // (the swap took it).
        unsafe { System.dealloc(p, layout()) };
        crate::control::raise(crate::control::MEMORY);
        true
    }

    /// Whether an allocation failed since the last [`rearm`] (the reserve was spent).
    #[inline]
    pub fn exhausted() -> bool {
        crate::control::flags() & crate::control::MEMORY != 0
    }

    /// Takes the reserve (again) and clears the mark; false when the memory for it is not there
    /// (then the process is out of memory now).
    pub fn rearm() -> bool {
        if !BLOCK.load(Ordering::Acquire).is_null() {
            crate::control::lower(crate::control::MEMORY);
            return true;
        }
        // SAFETY: a non-zero size layout.
        let p = unsafe { System.alloc(layout()) };
        if p.is_null() {
            return false;
        }
        if BLOCK
            .compare_exchange(std::ptr::null_mut(), p, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // SAFETY: just allocated with this layout, not shared.
            unsafe { System.dealloc(p, layout()) };
        }
        crate::control::lower(crate::control::MEMORY);
        true
    }

    /// The allocator (see the module doc).
    pub struct GuardedAlloc;

    // SAFETY: every call is forwarded to `System`; on failure the reserve (a `System` block of
    // its own) is released and the same call is made once more.
    unsafe impl GlobalAlloc for GuardedAlloc {
        #[inline]
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            let p = System.alloc(l);
            if p.is_null() && release() {
                return System.alloc(l);
            }
            p
        }

        #[inline]
        unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
            let p = System.alloc_zeroed(l);
            if p.is_null() && release() {
                return System.alloc_zeroed(l);
            }
            p
        }

        #[inline]
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            System.dealloc(p, l)
        }

        #[inline]
        unsafe fn realloc(&self, p: *mut u8, l: Layout, size: usize) -> *mut u8 {
            let q = System.realloc(p, l, size);
            if q.is_null() && release() {
                return System.realloc(p, l, size);
            }
            q
        }
    }
}

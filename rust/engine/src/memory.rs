//! Memory hints for the large columnar buffers a long run fills (records, paths).

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
        if len >= POOL_MIN {
            let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(k) = pool
                .iter()
                .position(|v| v.capacity() >= len && v.capacity() <= 2 * len)
            {
                let mut v = pool.swap_remove(k);
                // SAFETY: `MaybeUninit` needs no initialisation; the capacity is at least `len`.
                unsafe { v.set_len(len) };
                return Self(v);
            }
        }
        let mut v = Vec::with_capacity(len);
        advise_huge(&mut v);
        // SAFETY: as above.
        unsafe { v.set_len(len) };
        Self(v)
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

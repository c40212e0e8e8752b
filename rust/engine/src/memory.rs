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

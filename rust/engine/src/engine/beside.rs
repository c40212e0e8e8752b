//! The thread that works beside a run (engine/run.rs: the bars' checks, then the steps' figures),
//! kept from one run to the next. Starting a thread for each run cost ~55 µs back to back and
//! 0.4-0.45 ms after the process had idled (a year of one-minute bars, decision 139), while the
//! run waited for the checks it starts; waking a kept thread costs what waking any sleeping
//! thread does. One run at a time has it: a run that finds it busy (runs on several threads at
//! once) starts a thread of its own, as before.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::Thread;

/// The name of the thread beside a run (kept, or started for one run).
const NAME: &str = "perpsim-check";

/// Work for the kept thread (its borrows outlive it: [`beside`] waits for it).
type Job = Box<dyn FnOnce() + Send + 'static>;

/// The kept thread's mailbox.
struct Kept {
    job: Mutex<Option<Job>>,
    posted: Condvar,
    /// A run has the thread (from before its job is posted until after it has finished).
    busy: AtomicBool,
}

impl Kept {
    /// The thread's loop: each job posted, in turn.
    fn serve(&self) {
        let allowed = crate::machine::Allowed::now();
        loop {
            let job = {
                let mut slot = self.job.lock().unwrap_or_else(|p| p.into_inner());
                loop {
                    if let Some(j) = slot.take() {
                        break j;
                    }
                    slot = self.posted.wait(slot).unwrap_or_else(|p| p.into_inner());
                }
            };
            job();
            allowed.restore();
        }
    }
}

/// The kept thread, started at the first call (None when no thread could be started).
fn kept() -> Option<&'static Kept> {
    static KEPT: OnceLock<Option<&'static Kept>> = OnceLock::new();
    *KEPT.get_or_init(|| {
        let k: &'static Kept = Box::leak(Box::new(Kept {
            job: Mutex::new(None),
            posted: Condvar::new(),
            busy: AtomicBool::new(false),
        }));
        std::thread::Builder::new()
            .name(NAME.into())
            .spawn(move || k.serve())
            .ok()
            .map(|_| k)
    })
}

/// Where the job says it is done: the flag, and the thread waiting for it.
struct Done {
    flag: AtomicBool,
    waiter: Thread,
}

/// Waits for the job (in its drop, so that a panic of the caller's part waits too: the job
/// borrows the caller's frame).
struct Wait<'a> {
    done: &'a Done,
    kept: &'static Kept,
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        while !self.done.flag.load(Ordering::Acquire) {
            std::thread::park();
        }
        self.kept.busy.store(false, Ordering::Release);
    }
}

/// Runs `work` on another thread while `here` runs on this one, then waits for `work`: the kept
/// thread when it is free, else a thread started for this call. Returns `here`'s result and
/// `work`'s (None when it panicked); None, with neither run, when no thread could be had.
pub(super) fn beside<W, R, H, T>(work: W, here: H) -> Option<(T, Option<R>)>
where
    W: FnOnce() -> R + Send,
    R: Send,
    H: FnOnce() -> T,
{
    let Some(k) = kept().filter(|k| {
        k.busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }) else {
        return started(work, here);
    };
    let done = Arc::new(Done {
        flag: AtomicBool::new(false),
        waiter: std::thread::current(),
    });
    let mut out: Option<R> = None;
    let (slot, signal) = (&mut out, Arc::clone(&done));
    let job = move || {
        *slot = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).ok();
        // The last use of the caller's frame: it may end as soon as the flag is seen.
        signal.flag.store(true, Ordering::Release);
        signal.waiter.unpark();
    };
    let job: Box<dyn FnOnce() + Send + '_> = Box::new(job);
    // SAFETY: the job borrows this frame (`out`, and what `work` borrows); `Wait` below keeps
    // the frame until the job has set its flag, its last use of them, whether `here` returns
    // or unwinds.
    let job: Job = unsafe { std::mem::transmute::<Box<dyn FnOnce() + Send + '_>, Job>(job) };
    let wait = Wait {
        done: &done,
        kept: k,
    };
    *k.job.lock().unwrap_or_else(|p| p.into_inner()) = Some(job);
    k.posted.notify_one();
    let t = here();
    drop(wait);
    Some((t, out))
}

/// [`beside`] on a thread started for this call.
fn started<W, R, H, T>(work: W, here: H) -> Option<(T, Option<R>)>
where
    W: FnOnce() -> R + Send,
    R: Send,
    H: FnOnce() -> T,
{
    std::thread::scope(|sc| {
        let b = std::thread::Builder::new().name(NAME.into());
        let second = b.spawn_scoped(sc, work).ok()?;
        let t = here();
        Some((t, second.join().ok()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    /// The two parts run at once: `here` waits for a flag that only `work` sets.
    #[test]
    fn the_work_runs_beside_the_caller_and_both_results_come_back() {
        for _ in 0..20 {
            let flag = AtomicBool::new(false);
            let got = beside(
                || {
                    flag.store(true, Ordering::Release);
                    7
                },
                || {
                    while !flag.load(Ordering::Acquire) {
                        std::thread::yield_now();
                    }
                    "here"
                },
            );
            assert!(matches!(got, Some(("here", Some(7)))));
        }
    }

    /// Callers on several threads at once: one has the kept thread, the others threads of their
    /// own; each gets its own work's result.
    #[test]
    fn callers_at_once_each_get_their_own_work_done() {
        let total = AtomicUsize::new(0);
        std::thread::scope(|sc| {
            for i in 0..4usize {
                let total = &total;
                sc.spawn(move || {
                    for j in 0..25usize {
                        let (t, r) = beside(
                            || {
                                std::thread::sleep(Duration::from_micros(50));
                                i * 100 + j
                            },
                            || i,
                        )
                        .expect("a thread");
                        assert_eq!((t, r), (i, Some(i * 100 + j)));
                        total.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        assert_eq!(total.load(Ordering::Relaxed), 100);
    }

    /// A panic of the work is a None, and the kept thread serves the next caller.
    #[test]
    fn a_panicking_work_gives_none_and_the_thread_goes_on() {
        let got = beside(|| -> u8 { panic!("work") }, || 1);
        assert!(matches!(got, Some((1, None))));
        let got = beside(|| 2u8, || 1);
        assert!(matches!(got, Some((1, Some(2)))));
    }

    /// The caller's part unwinding still waits for the work, which borrows the caller's frame.
    #[test]
    fn an_unwinding_caller_waits_for_the_work() {
        let written = AtomicBool::new(false);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = beside(
                || {
                    std::thread::sleep(Duration::from_millis(20));
                    written.store(true, Ordering::Release);
                },
                || panic!("here"),
            );
        }));
        assert!(caught.is_err());
        assert!(
            written.load(Ordering::Acquire),
            "returned before the work ended"
        );
    }
}

//! Ctrl-C during a long run: the engine runs on a worker thread, the GIL released, while the
//! calling thread checks for a Python signal every 50 ms; a signal raises the engine's interrupt
//! flag (`perpsim_engine::control`), every running run stops at the end of its current step, and
//! the signal's exception (`KeyboardInterrupt`) is raised once the worker has returned — nothing
//! is left running and no partial result is returned.

use std::sync::mpsc::{channel, RecvTimeoutError};
use std::time::Duration;

use perpsim_engine::control;
use pyo3::prelude::*;

/// How often the calling thread looks for a signal.
const POLL: Duration = Duration::from_millis(50);

/// Runs `f` with the GIL released. With `watch`, on a worker thread while this thread watches
/// for signals (see the module doc); without (short runs), here.
pub fn detach_watched<T, F>(py: Python<'_>, watch: bool, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    control::lower(control::INTERRUPT);
    if !watch {
        return Ok(py.detach(f));
    }
    let mut signal: Option<PyErr> = None;
    let joined = py.detach(|| {
        std::thread::scope(|s| {
            let (tx, rx) = channel::<()>();
            let worker = s.spawn(move || {
                let out = f();
                let _ = tx.send(());
                out
            });
            loop {
                match rx.recv_timeout(POLL) {
                    Err(RecvTimeoutError::Timeout) if signal.is_none() => {
                        if let Err(e) = Python::attach(|py| py.check_signals()) {
                            signal = Some(e);
                            control::interrupt();
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    _ => break,
                }
            }
            worker.join()
        })
    });
    let out = joined.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    control::lower(control::INTERRUPT);
    match signal {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Whether a run of `steps` steps is long enough to be watched (a thread costs tens of µs; a run
/// this short ends within a second anyway).
pub fn worth_watching(steps: usize) -> bool {
    steps >= 200_000
}

//! How the writer and sync threads wait for their next piece of work.
//!
//! An append passes from the caller's task to the writer thread, then to the sync thread, then
//! back. A thread asleep in a futex costs a wake-up at every hand-off, and on a virtual machine
//! waking a halted vCPU takes tens of microseconds — several times per append. So a thread that
//! has just finished a piece of work first polls for the next one for a short while, yielding
//! the CPU between polls (other runnable threads go first), and only then sleeps. Under load the
//! next piece usually arrives within that window; when idle, the cost is one short poll after
//! each piece of work (BENCHMARKS.md, 2026-12-01: w3 over HTTP, median of five runs 383k →
//! 454k events/s).

use std::time::{Duration, Instant};

/// How long a thread polls for more work before it sleeps.
pub const POLL_BEFORE_SLEEP: Duration = Duration::from_micros(50);

/// The next item from `source`: `poll` it (`None`: nothing yet) until [`POLL_BEFORE_SLEEP`]
/// has passed, then `wait` for it.
pub fn poll_then_wait<S, T>(
    source: &mut S,
    mut poll: impl FnMut(&mut S) -> Option<T>,
    wait: impl FnOnce(&mut S) -> T,
) -> T {
    let until = Instant::now() + POLL_BEFORE_SLEEP;
    loop {
        if let Some(item) = poll(source) {
            return item;
        }
        if Instant::now() >= until {
            return wait(source);
        }
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_first_then_waits() {
        let mut polls = 0;
        let item = poll_then_wait(
            &mut polls,
            |polls| {
                *polls += 1;
                (*polls == 3).then_some("polled")
            },
            |_| "waited",
        );
        assert_eq!((item, polls), ("polled", 3));
        let started = Instant::now();
        let item = poll_then_wait(&mut (), |_| None, |_| "waited");
        assert_eq!(item, "waited");
        assert!(started.elapsed() >= POLL_BEFORE_SLEEP);
    }
}

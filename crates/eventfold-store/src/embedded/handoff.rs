//! How the writer and sync threads wait for their next piece of work.
//!
//! An append passes from the caller's task to the writer thread, then to the sync thread, then
//! back. A thread asleep in a futex costs a wake-up at every hand-off, and on a virtual machine
//! waking a halted vCPU takes tens of microseconds — several times per append. So while work
//! has been coming in quick succession, a thread that has just finished a piece of work first
//! polls for the next one for a short while, yielding the CPU between polls (other runnable
//! threads go first), and only then sleeps. Once a poll finds nothing in time it sleeps at
//! once, until work comes quickly again: a lone writer, whose next append only comes after its
//! answer, does not pay for polls in vain (BENCHMARKS.md, 2026-12-01).

use std::time::{Duration, Instant};

/// How long a thread polls for more work before it sleeps.
pub const POLL_BEFORE_SLEEP: Duration = Duration::from_micros(50);

/// How one thread waits: it polls only while work has been coming in quick succession.
#[derive(Default)]
pub struct Waiter {
    /// Whether the last item came within [`POLL_BEFORE_SLEEP`] of starting to wait for it.
    work_comes_quickly: bool,
}

impl Waiter {
    /// The next item from `source`: while work comes quickly, `poll` it (`None`: nothing yet)
    /// until [`POLL_BEFORE_SLEEP`] has passed; then (or else) `wait` for it. A lone writer,
    /// whose next append only comes after its answer, makes its threads sleep at once.
    pub fn next<S, T>(
        &mut self,
        source: &mut S,
        mut poll: impl FnMut(&mut S) -> Option<T>,
        wait: impl FnOnce(&mut S) -> T,
    ) -> T {
        let started = Instant::now();
        if self.work_comes_quickly {
            loop {
                if let Some(item) = poll(source) {
                    return item;
                }
                if started.elapsed() >= POLL_BEFORE_SLEEP {
                    break;
                }
                std::thread::yield_now();
            }
        }
        let item = wait(source);
        self.work_comes_quickly = started.elapsed() < POLL_BEFORE_SLEEP;
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic under any load: the timing-dependent flag is set by hand where a test of
    /// it would race the scheduler.
    #[test]
    fn polls_only_while_work_comes_quickly() {
        let count_polls = |polls: &mut i32| {
            *polls += 1;
            None::<&str>
        };
        // Work has not been coming quickly: it waits at once, without a poll.
        let mut waiter = Waiter::default();
        let mut polls = 0;
        assert_eq!(waiter.next(&mut polls, count_polls, |_| "waited"), "waited");
        assert_eq!(polls, 0);
        // It has: it polls for the whole window, then waits, and stops polling after that.
        waiter.work_comes_quickly = true;
        let started = Instant::now();
        assert_eq!(waiter.next(&mut polls, count_polls, |_| "waited"), "waited");
        assert!(polls > 0 && started.elapsed() >= POLL_BEFORE_SLEEP);
        assert!(!waiter.work_comes_quickly, "polling found nothing in time");
        let before = polls;
        waiter.next(&mut polls, count_polls, |_| "waited");
        assert_eq!(polls, before);
        // Polling that finds work keeps polling.
        let mut waiter = Waiter {
            work_comes_quickly: true,
        };
        let item = waiter.next(&mut 0, |_| Some("polled"), |_| "waited");
        assert_eq!(item, "polled");
        assert!(waiter.work_comes_quickly);
    }
}

//! Progress of a long catch-up or rebuild.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How far a catch-up has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// The position read up to (exclusive).
    pub position: u64,
    /// The head of the log when the catch-up started: where it will stop.
    pub target: u64,
    /// Events applied so far by this catch-up.
    pub applied: u64,
}

impl Progress {
    /// The fraction done, from 0 to 1.
    pub fn fraction(&self) -> f64 {
        if self.target == 0 {
            1.0
        } else {
            (self.position as f64 / self.target as f64).min(1.0)
        }
    }
}

/// Draws progress on stderr: a bar redrawn in place on a terminal, a line every few seconds
/// otherwise.
pub struct ProgressBar {
    label: String,
    started: Instant,
    last_drawn: Option<Instant>,
    terminal: bool,
    finished: bool,
}

impl ProgressBar {
    /// A bar headed by `label`.
    pub fn new(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            started: Instant::now(),
            last_drawn: None,
            terminal: std::io::stderr().is_terminal(),
            finished: false,
        }
    }

    /// Shows `progress` (at most ten times a second on a terminal, every five seconds
    /// otherwise, and always when done).
    pub fn update(&mut self, progress: Progress) {
        let done = progress.position >= progress.target;
        if self.finished {
            return;
        }
        self.finished = done;
        let every = if self.terminal {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(5)
        };
        if !done && self.last_drawn.is_some_and(|last| last.elapsed() < every) {
            return;
        }
        self.last_drawn = Some(Instant::now());
        let seconds = self.started.elapsed().as_secs_f64().max(1e-9);
        let rate = progress.applied as f64 / seconds;
        let filled = (progress.fraction() * 30.0).round() as usize;
        let line = format!(
            "{} [{}{}] {:>3.0}%  {} events, {:.0} events/s",
            self.label,
            "#".repeat(filled),
            " ".repeat(30 - filled),
            progress.fraction() * 100.0,
            progress.applied,
            rate
        );
        let mut stderr = std::io::stderr().lock();
        let _ = if self.terminal {
            write!(stderr, "\r{line}{}", if done { "\n" } else { "" })
        } else {
            writeln!(stderr, "{line}")
        };
    }
}

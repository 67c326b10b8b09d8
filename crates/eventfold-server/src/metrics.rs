//! `GET /metrics`: counters in the Prometheus text format.
//!
//! A handful of atomics and one fixed-bucket histogram; subscriber lag is computed when scraped,
//! from the last position each open `$all` subscription delivered.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;

/// Upper bounds of the append-latency buckets, in seconds.
const LATENCY_BUCKETS_SECS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
];

/// What the server counts.
#[derive(Default)]
pub struct Metrics {
    appends: AtomicU64,
    append_errors: AtomicU64,
    events_appended: AtomicU64,
    bytes_appended: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS_SECS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    subscribers: Mutex<Vec<Weak<AtomicU64>>>,
}

impl Metrics {
    /// Counts one append.
    pub fn append(&self, events: u64, bytes: u64, took: Duration, succeeded: bool) {
        if !succeeded {
            self.append_errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.appends.fetch_add(1, Ordering::Relaxed);
        self.events_appended.fetch_add(events, Ordering::Relaxed);
        self.bytes_appended.fetch_add(bytes, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        if let Some(bucket) = LATENCY_BUCKETS_SECS.iter().position(|bound| secs <= *bound) {
            self.latency_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    /// Registers an open `$all` subscription; it reports the next position it will deliver
    /// through the returned cell, and is forgotten when the cell is dropped.
    pub fn subscriber(&self, next_position: u64) -> Arc<AtomicU64> {
        let cell = Arc::new(AtomicU64::new(next_position));
        let mut subscribers = self.subscribers.lock();
        subscribers.retain(|weak| weak.strong_count() > 0);
        subscribers.push(Arc::downgrade(&cell));
        cell
    }

    /// The metrics in the Prometheus text format; `head` is the store's next position.
    pub fn render(&self, head: u64, open_subscriptions: usize) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        let load = |value: &AtomicU64| value.load(Ordering::Relaxed);
        counter(
            &mut out,
            "eventfold_appends_total",
            "Appends acknowledged.",
            load(&self.appends),
        );
        counter(
            &mut out,
            "eventfold_append_errors_total",
            "Appends refused or failed.",
            load(&self.append_errors),
        );
        counter(
            &mut out,
            "eventfold_events_appended_total",
            "Events appended.",
            load(&self.events_appended),
        );
        counter(
            &mut out,
            "eventfold_bytes_appended_total",
            "Event bytes appended.",
            load(&self.bytes_appended),
        );
        let _ = writeln!(
            out,
            "# HELP eventfold_append_seconds Append latency, request to acknowledgement."
        );
        let _ = writeln!(out, "# TYPE eventfold_append_seconds histogram");
        let mut cumulative = 0;
        for (bound, bucket) in LATENCY_BUCKETS_SECS.iter().zip(&self.latency_buckets) {
            cumulative += load(bucket);
            let _ = writeln!(
                out,
                "eventfold_append_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = load(&self.latency_count);
        let _ = writeln!(
            out,
            "eventfold_append_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let sum = load(&self.latency_sum_micros) as f64 / 1e6;
        let _ = writeln!(
            out,
            "eventfold_append_seconds_sum {sum}\neventfold_append_seconds_count {count}"
        );
        let gauge = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        };
        gauge(
            &mut out,
            "eventfold_head_position",
            "The position the next event will get.",
            head,
        );
        gauge(
            &mut out,
            "eventfold_subscribers",
            "Open subscriptions.",
            open_subscriptions as u64,
        );
        let lag = self
            .subscribers
            .lock()
            .iter()
            .filter_map(Weak::upgrade)
            .map(|next| head.saturating_sub(next.load(Ordering::Relaxed)))
            .max()
            .unwrap_or(0);
        gauge(
            &mut out,
            "eventfold_subscriber_lag_events",
            "Events the furthest-behind $all subscription has yet to receive.",
            lag,
        );
        out
    }
}

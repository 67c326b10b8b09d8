//! `GET /metrics`: counters in the Prometheus text format.
//!
//! A handful of atomics and one fixed-bucket histogram; subscriber lag is computed when scraped,
//! from the last position each open `$all` subscription delivered.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;

use crate::buses::cursors::Cursors;
use crate::buses::rule::RuleStats;

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

/// Appends each consumer group's lag and counters, labelled by group.
pub fn render_groups(out: &mut String, groups: &[(String, crate::groups::actor::GroupStatus)]) {
    let families: [Family<&crate::groups::actor::GroupStatus>; 9] = [
        (
            "eventfold_group_lag_events",
            "gauge",
            "Events the group has not finished (acked, skipped or parked).",
            |s| s.lag_events as f64,
        ),
        (
            "eventfold_group_lag_seconds",
            "gauge",
            "Age of the group's oldest unfinished event.",
            |s| s.lag_seconds,
        ),
        (
            "eventfold_group_in_flight",
            "gauge",
            "Events out with the group's consumers.",
            |s| s.in_flight as f64,
        ),
        (
            "eventfold_group_delivered_total",
            "counter",
            "Deliveries made, retries included.",
            |s| s.counters.delivered as f64,
        ),
        (
            "eventfold_group_acked_total",
            "counter",
            "Events acknowledged.",
            |s| s.counters.acked as f64,
        ),
        (
            "eventfold_group_retried_total",
            "counter",
            "Retries scheduled.",
            |s| s.counters.retried as f64,
        ),
        (
            "eventfold_group_timed_out_total",
            "counter",
            "Deliveries not answered in time.",
            |s| s.counters.timed_out as f64,
        ),
        (
            "eventfold_group_skipped_total",
            "counter",
            "Events skipped by a consumer.",
            |s| s.counters.skipped as f64,
        ),
        (
            "eventfold_group_parked_total",
            "counter",
            "Events parked (dead-lettered).",
            |s| s.counters.parked as f64,
        ),
    ];
    let rows: Vec<(String, &_)> = groups
        .iter()
        .map(|(group, status)| (format!("group=\"{group}\""), status))
        .collect();
    write_families(out, &families, &rows);
}

/// Appends each bus rule's lag and counters, labelled by bus and rule; `end` is where the
/// rule's bus ends (its archive and replays stream).
pub fn render_rules(out: &mut String, rules: &[(String, String, Cursors, Arc<RuleStats>)]) {
    type Row = (Cursors, Arc<RuleStats>);
    let families: [Family<Row>; 6] = [
        (
            "eventfold_rule_lag_events",
            "gauge",
            "Events of the bus (put or replayed) the rule has not considered yet.",
            |(end, s)| s.lag(*end) as f64,
        ),
        (
            "eventfold_rule_matched_total",
            "counter",
            "Events the rule matched.",
            |(_, s)| count(&s.matched),
        ),
        (
            "eventfold_rule_delivered_total",
            "counter",
            "Deliveries made (one per target).",
            |(_, s)| count(&s.delivered),
        ),
        (
            "eventfold_rule_retried_total",
            "counter",
            "Webhook attempts that failed and were retried.",
            |(_, s)| count(&s.retried),
        ),
        (
            "eventfold_rule_dead_lettered_total",
            "counter",
            "Deliveries sent to the rule's dead-letter stream.",
            |(_, s)| count(&s.dead_lettered),
        ),
        (
            "eventfold_rule_expired_total",
            "counter",
            "Events that aged out of the bus before the rule considered them.",
            |(_, s)| count(&s.expired),
        ),
    ];
    let rows: Vec<(String, Row)> = rules
        .iter()
        .map(|(bus, rule, end, stats)| {
            (
                format!("bus=\"{bus}\",rule=\"{rule}\""),
                (*end, stats.clone()),
            )
        })
        .collect();
    write_families(out, &families, &rows);
}

/// A metric family: name, type, help, and its value for one row.
type Family<R> = (&'static str, &'static str, &'static str, fn(&R) -> f64);

/// A counter's value as a sample.
fn count(value: &AtomicU64) -> f64 {
    value.load(Ordering::Relaxed) as f64
}

/// Writes each family's header, then one sample per row (`labels` are Prometheus label pairs).
fn write_families<R>(out: &mut String, families: &[Family<R>], rows: &[(String, R)]) {
    for (name, kind, help, value) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, row) in rows {
            let _ = writeln!(out, "{name}{{{labels}}} {}", value(row));
        }
    }
}

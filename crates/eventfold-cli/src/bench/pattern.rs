//! w10: event pattern matching. 1,000 generated rules, each evaluated against every one of 100
//! sample bus events, on one thread, for `--seconds`.
//!
//! Rules and events come from a seeded generator, so every run measures the same work. The
//! rules mix the operators a bus sees: exact values, prefixes, numeric ranges, anything-but,
//! exists, nested fields, arrays of objects, `$or`, wildcards and case-insensitive matches.

use std::time::{Duration, Instant};

use anyhow::Context;
use eventfold_pattern::Pattern;
use serde_json::{json, Value};

use super::{histogram, record, Figures, Workload};

const RULES: usize = 1_000;
const SAMPLE_EVENTS: usize = 100;
const SEED: u64 = 0x00e7_e7f0_1d10;

const SOURCES: &[&str] = &[
    "shop.orders",
    "shop.payments",
    "iam.users",
    "billing",
    "inventory",
    "shipping",
    "analytics",
    "support",
];
const TYPES: &[&str] = &[
    "OrderPlaced",
    "OrderPaid",
    "OrderCancelled",
    "PaymentCaptured",
    "PaymentFailed",
    "UserSignedUp",
    "UserDeleted",
    "InvoiceIssued",
    "StockLow",
    "ParcelShipped",
    "TicketOpened",
    "PageViewed",
];
const CURRENCIES: &[&str] = &["EUR", "USD", "GBP", "JPY", "CHF"];
const COUNTRIES: &[&str] = &["FR", "DE", "US", "CA", "GB", "JP", "NL", "ES"];
const TIERS: &[&str] = &["free", "silver", "gold", "platinum"];
const CHANNELS: &[&str] = &["web", "app-ios", "app-android", "email", "pos"];
const REGIONS: &[&str] = &[
    "eu-west-1",
    "eu-central-1",
    "us-east-1",
    "us-west-2",
    "ap-south-1",
];

/// A small seeded generator (SplitMix64): the same rules and events on every run.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
        choices[self.below(choices.len() as u64) as usize]
    }
}

/// One sample event as a bus carries it.
fn sample_event(g: &mut Seeded, n: usize) -> Value {
    let items: Vec<Value> = (0..g.below(4))
        .map(|_| json!({"sku": format!("sku-{}", g.below(50)), "qty": g.below(5) + 1}))
        .collect();
    let mut data = json!({
        "id": format!("ord-{n:05}"),
        "amount": g.below(200_000) as f64 / 100.0,
        "currency": g.pick(CURRENCIES),
        "country": g.pick(COUNTRIES),
        "items": items,
        "tags": (0..g.below(3)).map(|_| g.pick(&["new", "vip", "gift", "b2b"])).collect::<Vec<_>>(),
        "customer": {
            "tier": g.pick(TIERS),
            "email": format!("user{}@{}", g.below(1000), g.pick(&["example.com", "mail.test"])),
        },
    });
    if g.below(4) == 0 {
        data["coupon"] = json!(format!("SAVE{}", g.below(50)));
    }
    json!({
        "source": g.pick(SOURCES),
        "type": g.pick(TYPES),
        "data": data,
        "metadata": {
            "correlation_id": format!("{:016x}", g.next()),
            "channel": g.pick(CHANNELS),
            "region": g.pick(REGIONS),
            "version": g.below(3) + 1,
        },
    })
}

/// One rule of kind `n % 9`, with seeded operands.
fn rule(g: &mut Seeded, n: usize) -> Value {
    let low = g.below(1_500) as f64;
    match n % 9 {
        0 => json!({"source": [g.pick(SOURCES)], "type": [g.pick(TYPES), g.pick(TYPES)]}),
        1 => json!({
            "source": [g.pick(SOURCES)],
            "type": [{"prefix": &g.pick(TYPES)[..5]}],
        }),
        2 => json!({
            "source": [g.pick(SOURCES)],
            "data": {"amount": [{"numeric": [">=", low, "<", low + 500.0]}]},
        }),
        3 => json!({
            "type": [g.pick(TYPES)],
            "data": {"currency": [{"anything-but": [g.pick(CURRENCIES), g.pick(CURRENCIES)]}]},
            "metadata": {"region": [{"anything-but": {"prefix": "us-"}}]},
        }),
        4 => json!({
            "type": [g.pick(TYPES)],
            "data": {"coupon": [{"exists": g.below(2) == 0}]},
            "metadata": {"channel": [{"exists": true}]},
        }),
        5 => json!({
            "data": {
                "customer": {"tier": [g.pick(TIERS), g.pick(TIERS)]},
                "items": {"sku": [format!("sku-{}", g.below(50))], "qty": [{"numeric": [">", 1]}]},
            },
        }),
        6 => json!({
            "source": [g.pick(SOURCES)],
            "$or": [
                {"type": [g.pick(TYPES)]},
                {"data": {"amount": [{"numeric": [">", low]}]}},
                {"data": {"tags": ["vip"]}, "metadata": {"channel": [g.pick(CHANNELS)]}},
            ],
        }),
        7 => json!({
            "metadata": {"region": [{"wildcard": format!("{}-*-1", &g.pick(REGIONS)[..2])}]},
            "type": [{"wildcard": format!("*{}", &g.pick(TYPES)[5..])}],
        }),
        _ => json!({
            "metadata": {"channel": [{"equals-ignore-case": g.pick(CHANNELS).to_uppercase()}]},
            "data": {"customer": {"email": [{"suffix": "@example.com"}]}, "country": [g.pick(COUNTRIES)]},
        }),
    }
}

/// w10: evaluates every rule against every sample event, round after round, for `seconds`.
/// Runs on one blocking thread; the latency is per event (all rules against it).
pub async fn rule_evaluations(seconds: u64) -> anyhow::Result<Figures> {
    tokio::task::spawn_blocking(move || evaluate(seconds))
        .await
        .context("the pattern workload's thread")?
}

fn evaluate(seconds: u64) -> anyhow::Result<Figures> {
    let mut g = Seeded(SEED);
    let rules = (0..RULES)
        .map(|n| Pattern::parse(&rule(&mut g, n)))
        .collect::<Result<Vec<_>, _>>()?;
    let events: Vec<Value> = (0..SAMPLE_EVENTS)
        .map(|n| sample_event(&mut g, n))
        .collect();
    let mut latency = histogram();
    let mut evaluations = 0u64;
    let mut matches = 0u64;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        for event in &events {
            let begun = Instant::now();
            let matched = rules.iter().filter(|rule| rule.matches(event)).count();
            record(&mut latency, begun.elapsed());
            matches += matched as u64;
            evaluations += rules.len() as u64;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut extra = serde_json::Map::new();
    extra.insert(
        "events_are".into(),
        "rule evaluations (one rule against one event)".into(),
    );
    extra.insert(
        "latency_is_per".into(),
        "event evaluated against all 1,000 rules".into(),
    );
    extra.insert("rules".into(), RULES.into());
    extra.insert("sample_events".into(), SAMPLE_EVENTS.into());
    extra.insert("matches".into(), matches.into());
    extra.insert(
        "evaluations_per_sec".into(),
        ((evaluations as f64 / seconds).round() as u64).into(),
    );
    extra.insert("threads".into(), 1.into());
    Ok(Figures {
        workload: Workload::W10,
        events: evaluations,
        seconds,
        latency_us: latency,
        extra,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind of rule compiles, matches some sample events and rejects others, so the
    /// workload measures real decisions rather than rules that never (or always) match.
    #[test]
    fn every_rule_kind_decides() {
        let mut g = Seeded(SEED);
        let rules: Vec<Pattern> = (0..RULES)
            .map(|n| Pattern::parse(&rule(&mut g, n)).expect("a valid rule"))
            .collect();
        let events: Vec<Value> = (0..SAMPLE_EVENTS)
            .map(|n| sample_event(&mut g, n))
            .collect();
        for kind in 0..9 {
            let outcomes: Vec<bool> = rules
                .iter()
                .skip(kind)
                .step_by(9)
                .flat_map(|rule| events.iter().map(|event| rule.matches(event)))
                .collect();
            assert!(outcomes.contains(&true), "rule kind {kind} never matches");
            assert!(outcomes.contains(&false), "rule kind {kind} always matches");
        }
    }
}

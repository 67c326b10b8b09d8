//! The SDK's workloads: a command round trip (w8) and a projection rebuild into SQLite (w9).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::Transaction;
use serde::{Deserialize, Serialize};

use eventfold::event::{to_new_event, EventMetadata};
use eventfold::projection::{Projection, Projector, SqliteReadModel};
use eventfold::{
    CommandHandler, Decider, DomainEvent, EventStore, SdkError, SnapshotPolicy, SnapshotStore,
};
use eventfold_store::{ExpectedRevision, RecordedEvent, StreamName};

use super::{histogram, populate, record, Figures, Workload};

/// The events of the round-trip workload's account.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Ledger {
    Deposited { amount: u64 },
}

impl DomainEvent for Ledger {}

/// A running total: the smallest decider that still loads, decides and appends.
struct Totals;

impl Decider for Totals {
    type State = (u64, u64);
    type Command = u64;
    type Event = Ledger;
    type Error = std::convert::Infallible;

    fn initial_state(&self) -> (u64, u64) {
        (0, 0)
    }

    fn decide(&self, amount: &u64, _: &(u64, u64)) -> Result<Vec<Ledger>, Self::Error> {
        Ok(vec![Ledger::Deposited { amount: *amount }])
    }

    fn evolve(&self, (total, count): (u64, u64), event: &Ledger) -> (u64, u64) {
        let Ledger::Deposited { amount } = event;
        (total + amount, count + 1)
    }
}

/// w8: one writer sends commands to one account that already has `history` events, with
/// snapshots every 10 events: each round trip loads the latest snapshot and the events after
/// it, decides, and appends with the expected revision.
pub async fn command_round_trip(
    store: Arc<dyn EventStore>,
    snapshots: Arc<dyn SnapshotStore>,
    history: u64,
    seconds: u64,
) -> anyhow::Result<Figures> {
    let stream = StreamName::new(&format!("ledger-{}", uuid::Uuid::new_v4().simple()))?;
    eprintln!("writing {history} events to {stream} …");
    let metadata = EventMetadata::default_for::<Ledger>();
    let mut written = 0;
    while written < history {
        let batch = (written..history.min(written + 1000))
            .map(|n| to_new_event(&Ledger::Deposited { amount: n % 100 }, &metadata, None))
            .collect::<Result<Vec<_>, _>>()?;
        written += batch.len() as u64;
        store.append(&stream, ExpectedRevision::Any, batch).await?;
    }
    let handler = CommandHandler::new(Totals, store)
        .with_snapshots(snapshots, SnapshotPolicy::EveryEvents(10));
    // The first load folds the history and takes a snapshot; the run measures what follows.
    let first = handler.load(&stream).await?;
    anyhow::ensure!(first.events_folded == history, "the history was not folded");
    let mut latency = histogram();
    let mut commands = 0u64;
    let mut longest_tail = 0u64;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        let begun = Instant::now();
        let handled = handler
            .handle(&stream, &(commands % 100))
            .await
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        record(&mut latency, begun.elapsed());
        anyhow::ensure!(handled.attempts == 1, "a lone writer never retries");
        commands += 1;
        // Sample the tail a load folds, at every offset from the last snapshot over time.
        if commands.is_multiple_of(101) {
            longest_tail = longest_tail.max(handler.load(&stream).await?.events_folded);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut extra = serde_json::Map::new();
    extra.insert("history_events".into(), history.into());
    extra.insert("snapshot_every".into(), 10.into());
    extra.insert("longest_tail_folded".into(), longest_tail.into());
    Ok(Figures {
        workload: Workload::W8,
        events: commands,
        seconds,
        latency_us: latency,
        extra,
    })
}

/// The rebuild workload's read model: per account, the number of deposits and their sum.
struct Deposits;

/// The part of the benchmark payload the projection reads.
#[derive(Deserialize)]
struct Amount {
    amount: u64,
}

impl Projection<SqliteReadModel> for Deposits {
    fn name(&self) -> &str {
        "bench_deposits"
    }

    fn setup(&self, tx: &mut Transaction<'_>) -> Result<(), SdkError> {
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS bench_deposits (
                 stream TEXT PRIMARY KEY, deposits INTEGER NOT NULL, total INTEGER NOT NULL)",
        )?;
        Ok(())
    }

    fn apply(&self, tx: &mut Transaction<'_>, event: &RecordedEvent) -> Result<(), SdkError> {
        let Amount { amount } = serde_json::from_slice(&event.data)
            .map_err(|error| SdkError::ReadModel(format!("not a deposit: {error}")))?;
        tx.prepare_cached(
            "INSERT INTO bench_deposits (stream, deposits, total) VALUES (?1, 1, ?2)
             ON CONFLICT (stream) DO UPDATE
             SET deposits = deposits + 1, total = total + excluded.total",
        )?
        .execute(rusqlite::params![event.stream.as_str(), amount as i64])?;
        Ok(())
    }

    fn purge(&self, tx: &mut Transaction<'_>) -> Result<(), SdkError> {
        tx.execute_batch("DROP TABLE IF EXISTS bench_deposits")?;
        Ok(())
    }
}

/// w9: purge and rebuild a SQLite read model from `events` events of the log.
pub async fn projection_rebuild(
    store: Arc<dyn EventStore>,
    events: u64,
    dir: &Path,
) -> anyhow::Result<Figures> {
    populate(&store, events).await?;
    let database = dir.join("bench-read-model.db");
    let mut projector = Projector::new(store, Deposits, SqliteReadModel::open(&database)?)?;
    let started = Instant::now();
    let mut bar = eventfold::projection::ProgressBar::new("rebuilding");
    let rebuilt = projector.rebuild(|progress| bar.update(progress)).await?;
    let seconds = started.elapsed().as_secs_f64();
    let mut latency = histogram();
    record(&mut latency, started.elapsed());
    let mut extra = serde_json::Map::new();
    extra.insert("read_model".into(), "sqlite".into());
    Ok(Figures {
        workload: Workload::W9,
        events: rebuilt.applied,
        seconds,
        latency_us: latency,
        extra,
    })
}

//! Projections: catch-up, live, atomic checkpoints, rebuild, side-by-side versions.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::{LedgerCommand, LedgerDecider, LedgerEvent};
use eventfold::event::{decode, Upcasters};
use eventfold::projection::{
    MemoryReadModel, MemoryTx, Progress, Projection, Projector, ReadModel, SqliteReadModel,
};
use eventfold::store::testing::embedded_store;
use eventfold::store::{EventFilter, RecordedEvent};
use eventfold::{CommandHandler, EventStore, SdkError};
use rusqlite::{params, OptionalExtension, Transaction};

/// Balances per ledger, in SQLite, in tables named by version.
struct Balances {
    version: u32,
    category: String,
    /// Fails on the event with this amount (to test rollback).
    poison_amount: Option<u64>,
}

impl Balances {
    fn table(&self) -> String {
        format!("balances_v{}", self.version)
    }
}

impl Projection<SqliteReadModel> for Balances {
    fn name(&self) -> &str {
        "balances"
    }
    fn version(&self) -> u32 {
        self.version
    }
    fn filter(&self) -> EventFilter {
        EventFilter {
            category: Some(self.category.clone()),
            ..EventFilter::default()
        }
    }
    fn setup(&self, tx: &mut Transaction<'_>) -> Result<(), SdkError> {
        tx.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS {} (ledger TEXT PRIMARY KEY, balance INTEGER NOT NULL)",
            self.table()
        ))?;
        Ok(())
    }
    fn apply(&self, tx: &mut Transaction<'_>, event: &RecordedEvent) -> Result<(), SdkError> {
        let delta = match decode::<LedgerEvent>(event, &Upcasters::new())?.event {
            LedgerEvent::Opened { .. } => 0,
            LedgerEvent::Credited { amount } if Some(amount) == self.poison_amount => {
                return Err(SdkError::ReadModel("poisoned event".into()))
            }
            // Version 2 counts credits double: a visibly different model.
            LedgerEvent::Credited { amount } => amount as i64 * i64::from(self.version),
            LedgerEvent::Debited { amount } => -(amount as i64),
            LedgerEvent::Closed => 0,
        };
        tx.execute(
            &format!(
                "INSERT INTO {} (ledger, balance) VALUES (?1, ?2)
                 ON CONFLICT (ledger) DO UPDATE SET balance = balance + excluded.balance",
                self.table()
            ),
            params![event.stream.as_str(), delta],
        )?;
        Ok(())
    }
    fn purge(&self, tx: &mut Transaction<'_>) -> Result<(), SdkError> {
        tx.execute_batch(&format!("DROP TABLE IF EXISTS {}", self.table()))?;
        Ok(())
    }
    fn activate(&self, tx: &mut Transaction<'_>) -> Result<(), SdkError> {
        tx.execute_batch(&format!(
            "DROP VIEW IF EXISTS balances; CREATE VIEW balances AS SELECT * FROM {}",
            self.table()
        ))?;
        Ok(())
    }
}

fn sqlite_balances(model: &SqliteReadModel, table: &str) -> BTreeMap<String, i64> {
    let mut query = model
        .connection()
        .prepare(&format!("SELECT ledger, balance FROM {table}"))
        .unwrap();
    query
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

async fn ledgers(store: Arc<dyn EventStore>, category: &str, count: usize) {
    let handler = CommandHandler::new(LedgerDecider, store);
    for n in 0..count {
        let s = eventfold::StreamName::new(&format!("{category}-{n}")).unwrap();
        handler
            .handle(&s, &LedgerCommand::Open(format!("owner {n}")))
            .await
            .unwrap();
        handler
            .handle(&s, &LedgerCommand::Credit(10 * (n as u64 + 1)))
            .await
            .unwrap();
        handler.handle(&s, &LedgerCommand::Debit(3)).await.unwrap();
    }
}

fn fresh_category() -> String {
    format!("ledger{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn sqlite_catch_up_rebuild_and_a_second_version_beside_the_first() {
    let test = embedded_store();
    let category = fresh_category();
    ledgers(test.store.clone(), &category, 5).await;
    // Events of other categories are filtered out.
    ledgers(test.store.clone(), &fresh_category(), 2).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("read.db");
    let v1 = Balances {
        version: 1,
        category: category.clone(),
        poison_amount: None,
    };
    let mut projector = Projector::new(
        test.store.clone(),
        v1,
        SqliteReadModel::open(&path).unwrap(),
    )
    .unwrap();
    let mut seen = Vec::new();
    let caught_up = projector
        .catch_up(|progress| seen.push(progress))
        .await
        .unwrap();
    assert_eq!(caught_up.applied, 15);
    assert_eq!(seen.last().unwrap().position, seen.last().unwrap().target);
    projector.activate().unwrap();
    let expected: BTreeMap<String, i64> = (0..5)
        .map(|n| (format!("{category}-{n}"), 10 * (n + 1) - 3))
        .collect();
    assert_eq!(sqlite_balances(projector.model(), "balances"), expected);

    // Purge and rebuild: the same model.
    let rebuilt = projector.rebuild(|_| {}).await.unwrap();
    assert_eq!(rebuilt.applied, 15);
    assert_eq!(sqlite_balances(projector.model(), "balances"), expected);

    // A second connection sees the model too (readers beside the projector).
    let reader = SqliteReadModel::open(&path).unwrap();
    assert_eq!(sqlite_balances(&reader, "balances"), expected);

    // Version 2 builds beside version 1; readers keep seeing version 1 until it is activated.
    let v2 = Balances {
        version: 2,
        category: category.clone(),
        poison_amount: None,
    };
    let mut next = Projector::new(
        test.store.clone(),
        v2,
        SqliteReadModel::open(&path).unwrap(),
    )
    .unwrap();
    next.catch_up(|_| {}).await.unwrap();
    assert_eq!(sqlite_balances(&reader, "balances"), expected);
    assert_eq!(next.active_version().unwrap(), Some(1));
    next.activate().unwrap();
    assert_eq!(next.active_version().unwrap(), Some(2));
    let doubled: BTreeMap<String, i64> = (0..5)
        .map(|n| (format!("{category}-{n}"), 20 * (n + 1) - 3))
        .collect();
    assert_eq!(sqlite_balances(&reader, "balances"), doubled);
    assert_eq!(
        sqlite_balances(&reader, "balances_v1"),
        expected,
        "v1 is still there"
    );
}

#[tokio::test]
async fn a_failing_event_rolls_back_its_batch_and_the_checkpoint() {
    let test = embedded_store();
    let category = fresh_category();
    ledgers(test.store.clone(), &category, 3).await; // credits 10, 20, 30
    let poisoned = Balances {
        version: 1,
        category: category.clone(),
        poison_amount: Some(30),
    };
    let mut projector = Projector::new(
        test.store.clone(),
        poisoned,
        SqliteReadModel::in_memory().unwrap(),
    )
    .unwrap();
    let error = projector.catch_up(|_| {}).await.unwrap_err();
    assert!(error.to_string().contains("poisoned"), "{error}");
    assert_eq!(
        projector.checkpoint().unwrap(),
        None,
        "the checkpoint did not move"
    );
    assert!(
        sqlite_balances(projector.model(), "balances_v1").is_empty(),
        "nothing applied"
    );
}

#[tokio::test]
async fn a_restarted_projector_resumes_from_its_checkpoint_exactly_once() {
    let test = embedded_store();
    let category = fresh_category();
    ledgers(test.store.clone(), &category, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("read.db");
    let projection = || Balances {
        version: 1,
        category: category.clone(),
        poison_amount: None,
    };
    let mut first = Projector::new(
        test.store.clone(),
        projection(),
        SqliteReadModel::open(&path).unwrap(),
    )
    .unwrap();
    first.catch_up(|_| {}).await.unwrap();
    drop(first);
    let handler = CommandHandler::new(LedgerDecider, test.store.clone());
    let s0 = eventfold::StreamName::new(&format!("{category}-0")).unwrap();
    handler
        .handle(&s0, &LedgerCommand::Credit(100))
        .await
        .unwrap();
    let mut second = Projector::new(
        test.store.clone(),
        projection(),
        SqliteReadModel::open(&path).unwrap(),
    )
    .unwrap();
    assert_eq!(second.catch_up(|_| {}).await.unwrap().applied, 1);
    let balances = sqlite_balances(second.model(), "balances_v1");
    assert_eq!(balances[s0.as_str()], 107, "each event counted once");
}

/// Balances in memory.
struct MemoryBalances {
    category: String,
}

impl Projection<MemoryReadModel<BTreeMap<String, i64>>> for MemoryBalances {
    fn name(&self) -> &str {
        "memory-balances"
    }
    fn filter(&self) -> EventFilter {
        EventFilter {
            category: Some(self.category.clone()),
            ..EventFilter::default()
        }
    }
    fn apply(
        &self,
        tx: &mut MemoryTx<'_, BTreeMap<String, i64>>,
        event: &RecordedEvent,
    ) -> Result<(), SdkError> {
        let delta = match decode::<LedgerEvent>(event, &Upcasters::new())?.event {
            LedgerEvent::Credited { amount } => amount as i64,
            LedgerEvent::Debited { amount } => -(amount as i64),
            _ => 0,
        };
        *tx.model.entry(event.stream.to_string()).or_default() += delta;
        Ok(())
    }
    fn purge(&self, tx: &mut MemoryTx<'_, BTreeMap<String, i64>>) -> Result<(), SdkError> {
        tx.model.clear();
        Ok(())
    }
}

#[tokio::test]
async fn a_memory_projection_catches_up_then_follows_live() {
    let test = embedded_store();
    let category = fresh_category();
    ledgers(test.store.clone(), &category, 2).await;
    let model = MemoryReadModel::<BTreeMap<String, i64>>::default();
    let mut projector = Projector::new(
        test.store.clone(),
        MemoryBalances {
            category: category.clone(),
        },
        model.clone(),
    )
    .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        projector
            .run_until(async {
                let _ = stopped.await;
            })
            .await
            .map(|()| projector)
    });
    let s1 = eventfold::StreamName::new(&format!("{category}-1")).unwrap();
    // Wait for the catch-up, so the next event can only arrive live.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while model.read(|m| m.get(s1.as_str()).copied()) != Some(17) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the catch-up never finished"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let handler = CommandHandler::new(LedgerDecider, test.store.clone());
    handler
        .handle(&s1, &LedgerCommand::Credit(5))
        .await
        .unwrap();
    while model.read(|m| m.get(s1.as_str()).copied()) != Some(22) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the live event never arrived"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.send(()).unwrap();
    let mut projector = running.await.unwrap().unwrap();
    let head = test.store.head_position().await.unwrap().0;
    assert_eq!(projector.checkpoint().unwrap(), Some(head));
    projector.rebuild(|_| {}).await.unwrap();
    assert_eq!(model.read(|m| m.len()), 2);
    assert_eq!(model.read(|m| m[s1.as_str()]), 22);
}

#[test]
fn progress_reports_a_fraction() {
    let half = Progress {
        position: 50,
        target: 100,
        applied: 50,
    };
    assert!((half.fraction() - 0.5).abs() < 1e-9);
    let empty = Progress {
        position: 0,
        target: 0,
        applied: 0,
    };
    assert!((empty.fraction() - 1.0).abs() < 1e-9);
}

/// Checkpoints and active versions behave the same in both shipped read models.
fn checkpoints_round_trip<M: ReadModel>(model: &mut M) {
    model
        .transaction(|tx| {
            assert_eq!(M::checkpoint(tx, "p", 1)?, None);
            M::set_checkpoint(tx, "p", 1, Some(42))?;
            M::set_checkpoint(tx, "p", 2, Some(7))?;
            assert_eq!(M::checkpoint(tx, "p", 1)?, Some(42));
            M::set_checkpoint(tx, "p", 1, None)?;
            assert_eq!(M::checkpoint(tx, "p", 1)?, None);
            assert_eq!(M::checkpoint(tx, "p", 2)?, Some(7));
            assert_eq!(M::active_version(tx, "p")?, None);
            M::set_active_version(tx, "p", 2)?;
            assert_eq!(M::active_version(tx, "p")?, Some(2));
            Ok(())
        })
        .unwrap();
}

#[test]
fn both_read_models_keep_checkpoints_and_active_versions() {
    checkpoints_round_trip(&mut SqliteReadModel::in_memory().unwrap());
    checkpoints_round_trip(&mut MemoryReadModel::<()>::default());
    let model = SqliteReadModel::in_memory().unwrap();
    let active: Option<u32> = model
        .connection()
        .query_row("SELECT version FROM eventfold_active_versions", [], |row| {
            row.get(0)
        })
        .optional()
        .unwrap();
    assert_eq!(active, None);
}

//! The read model of all balances: a projection of the accounts' events into SQLite, kept live
//! in the background, purged and rebuilt on request.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rusqlite::{params, Transaction};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use eventfold::event::{decode, Upcasters};
use eventfold::projection::{CatchUp, ProgressBar, Projection, Projector, SqliteReadModel};
use eventfold::store::{EventFilter, RecordedEvent};
use eventfold::{EventStore, SdkError};

use crate::domain::AccountEvent;
use crate::ACCOUNT_CATEGORY;

/// Version 1 of the balances projection: table `balances_v1`, read through the view `balances`.
pub struct BalancesProjection;

const TABLE: &str = "balances_v1";

impl Projection<SqliteReadModel> for BalancesProjection {
    fn name(&self) -> &str {
        "balances"
    }

    fn filter(&self) -> EventFilter {
        EventFilter {
            category: Some(ACCOUNT_CATEGORY.into()),
            ..EventFilter::default()
        }
    }

    fn setup(&self, tx: &mut Transaction<'_>) -> Result<(), SdkError> {
        tx.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS {TABLE} (
                 account TEXT PRIMARY KEY,
                 balance INTEGER NOT NULL,
                 version INTEGER NOT NULL
             )"
        ))?;
        Ok(())
    }

    fn apply(&self, tx: &mut Transaction<'_>, event: &RecordedEvent) -> Result<(), SdkError> {
        // Anyone with access to the store can write to an `account-` stream; an event that is
        // not an account event is left out of the model (and logged) rather than stopping it.
        let decoded = match decode::<AccountEvent>(event, &Upcasters::new()) {
            Ok(decoded) => decoded,
            Err(error) => {
                tracing::warn!(%error, "the balances model skips an event it cannot read");
                return Ok(());
            }
        };
        let delta: i64 = match decoded.event {
            AccountEvent::AccountCreated => 0,
            AccountEvent::BalanceCredited { amount } => amount as i64,
            AccountEvent::BalanceWithdrawn { amount } => -(amount as i64),
        };
        let id = event
            .stream
            .as_str()
            .strip_prefix(crate::ACCOUNT_PREFIX)
            .unwrap_or(event.stream.as_str());
        tx.execute(
            &format!(
                "INSERT INTO {TABLE} (account, balance, version) VALUES (?1, ?2, ?3)
                 ON CONFLICT (account) DO UPDATE
                 SET balance = balance + excluded.balance, version = excluded.version"
            ),
            params![id, delta, event.revision.0 as i64 + 1],
        )?;
        Ok(())
    }

    fn purge(&self, tx: &mut Transaction<'_>) -> Result<(), SdkError> {
        tx.execute_batch(&format!("DROP TABLE IF EXISTS {TABLE}"))?;
        Ok(())
    }

    fn activate(&self, tx: &mut Transaction<'_>) -> Result<(), SdkError> {
        tx.execute_batch(&format!(
            "DROP VIEW IF EXISTS balances; CREATE VIEW balances AS SELECT * FROM {TABLE}"
        ))?;
        Ok(())
    }
}

/// One row of the read model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BalanceRow {
    /// The account's id.
    pub id: String,
    /// Its balance.
    pub balance: i64,
    /// Its version (how many events it has).
    pub version: i64,
}

/// All balances, and the log position the read model has taken into account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BalancesView {
    /// The position after the last event the model reflects.
    pub position: u64,
    /// Every account's balance, by id.
    pub accounts: Vec<BalanceRow>,
}

type RebuildReply = oneshot::Sender<Result<CatchUp, SdkError>>;

/// The balances read model, kept by a projector task.
pub struct Balances {
    rebuilds: mpsc::Sender<RebuildReply>,
    reader: Mutex<SqliteReadModel>,
}

impl Balances {
    /// Opens the read model at `path`, activates it, and keeps it up to date from `store` in
    /// a background task until the returned value is dropped.
    pub async fn start(store: Arc<dyn EventStore>, path: &Path) -> Result<Self, SdkError> {
        let mut projector =
            Projector::new(store, BalancesProjection, SqliteReadModel::open(path)?)?;
        if projector.active_version()? != Some(BalancesProjection.version()) {
            projector.activate()?;
        }
        let (rebuilds, requests) = mpsc::channel(4);
        tokio::spawn(keep(projector, requests));
        Ok(Self {
            rebuilds,
            reader: Mutex::new(SqliteReadModel::open(path)?),
        })
    }

    /// Every balance, and the position the model reflects.
    pub fn all(&self) -> Result<BalancesView, SdkError> {
        let mut reader = self.reader.lock();
        // One transaction: the position and the rows are of the same moment.
        let connection = reader.connection_mut().transaction()?;
        let position: Option<i64> = connection
            .query_row(
                "SELECT next_position FROM eventfold_checkpoints WHERE projection = 'balances' AND version = 1",
                [],
                |row| row.get(0),
            )
            .or_else(|error| match error {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                error => Err(error),
            })?;
        let mut query = connection
            .prepare("SELECT account, balance, version FROM balances ORDER BY account")?;
        let accounts = query
            .query_map([], |row| {
                Ok(BalanceRow {
                    id: row.get(0)?,
                    balance: row.get(1)?,
                    version: row.get(2)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        drop(query);
        connection.commit()?;
        Ok(BalancesView {
            position: position.unwrap_or(0) as u64,
            accounts,
        })
    }

    /// Purges the read model and rebuilds it from the log.
    pub async fn rebuild(&self) -> Result<CatchUp, SdkError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || SdkError::ReadModel("the balances projector has stopped".into());
        self.rebuilds.send(reply).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// The projector task: live updates, interrupted for rebuilds; restarts after errors.
async fn keep(
    mut projector: Projector<BalancesProjection, SqliteReadModel>,
    mut requests: mpsc::Receiver<RebuildReply>,
) {
    loop {
        let mut request = None;
        let run = projector
            .run_until(async { request = Some(requests.recv().await) })
            .await;
        let request = match (run, request) {
            (_, Some(request)) => request,
            (Err(error), None) => {
                // Retry in a second, answering rebuild requests meanwhile.
                tracing::error!(%error, "the balances projection stopped; retrying in 1 s");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    request = requests.recv() => request,
                }
            }
            (Ok(()), None) => unreachable!("run_until returns Ok only when stopped"),
        };
        let Some(reply) = request else {
            return; // the service is stopping
        };
        let mut bar = ProgressBar::new("rebuilding balances");
        let result = projector.rebuild(|progress| bar.update(progress)).await;
        let _ = reply.send(result);
    }
}

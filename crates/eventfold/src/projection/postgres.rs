//! A read model in PostgreSQL, so projections keep their read models and checkpoints in the
//! database every Eventfold node shares: a node keeps nothing another node needs.
//!
//! Projections are synchronous (a transaction is a closure), and tokio-postgres is asynchronous,
//! so each database call blocks its worker with [`tokio::task::block_in_place`]: a
//! [`PostgresReadModel`] needs tokio's multi-thread runtime (the default of `#[tokio::main]`).

use tokio::runtime::Handle;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Transaction};

use super::ReadModel;
use crate::SdkError;

fn pg_error(error: tokio_postgres::Error) -> SdkError {
    match error.as_db_error() {
        Some(db) => SdkError::read_model(format!("PostgreSQL: {}", db.message())),
        None => SdkError::read_model(format!("PostgreSQL: {error}")),
    }
}

/// Runs `future` to completion from synchronous code inside the runtime.
fn block<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::task::block_in_place(|| Handle::current().block_on(future))
}

/// A PostgreSQL database holding read models and, in the same database, the checkpoints of
/// their projections (tables `eventfold_projection_checkpoints` and
/// `eventfold_projection_versions`, created if missing).
pub struct PostgresReadModel {
    client: Client,
}

/// A transaction on a [`PostgresReadModel`]: the projection's statements and the checkpoint
/// commit together.
pub struct PostgresTx<'a> {
    tx: Transaction<'a>,
}

impl PostgresTx<'_> {
    /// Runs a statement; the number of rows it changed.
    pub fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, SdkError> {
        block(self.tx.execute(sql, params)).map_err(pg_error)
    }

    /// Runs statements separated by `;`, without parameters.
    pub fn batch_execute(&self, sql: &str) -> Result<(), SdkError> {
        block(self.tx.batch_execute(sql)).map_err(pg_error)
    }

    /// Runs a query.
    pub fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, SdkError> {
        block(self.tx.query(sql, params)).map_err(pg_error)
    }

    /// Runs a query expected to return at most one row.
    pub fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, SdkError> {
        block(self.tx.query_opt(sql, params)).map_err(pg_error)
    }
}

impl PostgresReadModel {
    /// Connects to the database at `url` and creates the checkpoint tables if missing. Must be
    /// called inside tokio's multi-thread runtime.
    pub async fn connect(url: &str) -> Result<Self, SdkError> {
        let (client, connection) = tokio_postgres::connect(url, NoTls)
            .await
            .map_err(|error| SdkError::read_model(format!("cannot connect to {url}: {error}")))?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::warn!(%error, "the read model's PostgreSQL connection ended");
            }
        });
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS eventfold_projection_checkpoints (
                     projection text NOT NULL,
                     version integer NOT NULL,
                     next_position bigint NOT NULL,
                     PRIMARY KEY (projection, version)
                 );
                 CREATE TABLE IF NOT EXISTS eventfold_projection_versions (
                     projection text PRIMARY KEY,
                     version integer NOT NULL
                 );",
            )
            .await
            .map_err(pg_error)?;
        Ok(Self { client })
    }

    /// The connection, for queries outside a projection's transactions.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl ReadModel for PostgresReadModel {
    type Tx<'a> = PostgresTx<'a>;

    fn transaction<R>(
        &mut self,
        work: impl FnOnce(&mut Self::Tx<'_>) -> Result<R, SdkError>,
    ) -> Result<R, SdkError> {
        let tx = block(self.client.transaction()).map_err(pg_error)?;
        let mut tx = PostgresTx { tx };
        // Dropped on an error, the transaction rolls back.
        let value = work(&mut tx)?;
        block(tx.tx.commit()).map_err(pg_error)?;
        Ok(value)
    }

    fn checkpoint(
        tx: &mut Self::Tx<'_>,
        name: &str,
        version: u32,
    ) -> Result<Option<u64>, SdkError> {
        let row = tx.query_opt(
            "SELECT next_position FROM eventfold_projection_checkpoints
             WHERE projection = $1 AND version = $2",
            &[&name, &(version as i32)],
        )?;
        Ok(row.map(|row| row.get::<_, i64>(0) as u64))
    }

    fn set_checkpoint(
        tx: &mut Self::Tx<'_>,
        name: &str,
        version: u32,
        next: Option<u64>,
    ) -> Result<(), SdkError> {
        match next {
            Some(next) => tx.execute(
                "INSERT INTO eventfold_projection_checkpoints (projection, version, next_position)
                 VALUES ($1, $2, $3)
                 ON CONFLICT (projection, version) DO UPDATE SET next_position = excluded.next_position",
                &[&name, &(version as i32), &(next.min(i64::MAX as u64) as i64)],
            ),
            None => tx.execute(
                "DELETE FROM eventfold_projection_checkpoints WHERE projection = $1 AND version = $2",
                &[&name, &(version as i32)],
            ),
        }
        .map(drop)
    }

    fn active_version(tx: &mut Self::Tx<'_>, name: &str) -> Result<Option<u32>, SdkError> {
        let row = tx.query_opt(
            "SELECT version FROM eventfold_projection_versions WHERE projection = $1",
            &[&name],
        )?;
        Ok(row.map(|row| row.get::<_, i32>(0) as u32))
    }

    fn set_active_version(tx: &mut Self::Tx<'_>, name: &str, version: u32) -> Result<(), SdkError> {
        tx.execute(
            "INSERT INTO eventfold_projection_versions (projection, version) VALUES ($1, $2)
             ON CONFLICT (projection) DO UPDATE SET version = excluded.version",
            &[&name, &(version as i32)],
        )
        .map(drop)
    }
}

//! Projections: read models folded from the log, each change committed together with the
//! projection's checkpoint, so every event takes effect exactly once.
//!
//! A [`Projection`] says how events change a read model; a [`ReadModel`] is where the model and
//! the checkpoints live ([`SqliteReadModel`], [`MemoryReadModel`] and, behind the `postgres`
//! feature, `PostgresReadModel` ship with the SDK); a
//! [`Projector`] runs one projection: catch-up, then live, [`Projector::rebuild`] with progress,
//! and versions built side by side ([`Projection::version`]) then swapped in with
//! [`Projector::activate`].

mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod progress;
mod runner;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use memory::{MemoryReadModel, MemoryTx};
#[cfg(feature = "postgres")]
pub use postgres::{PostgresReadModel, PostgresTx};
pub use progress::{Progress, ProgressBar};
pub use runner::{CatchUp, Projector, PROJECTOR_BATCH_EVENTS};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteReadModel;

use eventfold_core::{EventFilter, RecordedEvent};

use crate::SdkError;

/// Where read models and their projections' checkpoints live. A transaction changes both or
/// neither.
pub trait ReadModel: Send + 'static {
    /// A transaction on the read model.
    type Tx<'a>;

    /// Runs `work` in one transaction: committed if it returns `Ok`, rolled back otherwise.
    fn transaction<R>(
        &mut self,
        work: impl FnOnce(&mut Self::Tx<'_>) -> Result<R, SdkError>,
    ) -> Result<R, SdkError>;

    /// Called in a rebuild's first transaction, after the projection's purge: the model starts
    /// over (an in-memory model forgets an earlier failure).
    fn started_over(tx: &mut Self::Tx<'_>) {
        let _ = tx;
    }

    /// Where version `version` of projection `name` resumes: the position after the last
    /// event it has taken into account (`None`: it has not started).
    fn checkpoint(tx: &mut Self::Tx<'_>, name: &str, version: u32)
        -> Result<Option<u64>, SdkError>;

    /// Records where version `version` of projection `name` resumes (`None`: from the start).
    fn set_checkpoint(
        tx: &mut Self::Tx<'_>,
        name: &str,
        version: u32,
        next: Option<u64>,
    ) -> Result<(), SdkError>;

    /// The version of projection `name` readers see, if one was activated.
    fn active_version(tx: &mut Self::Tx<'_>, name: &str) -> Result<Option<u32>, SdkError>;

    /// Records that readers see version `version` of projection `name`.
    fn set_active_version(tx: &mut Self::Tx<'_>, name: &str, version: u32) -> Result<(), SdkError>;
}

/// How events change a read model. A new version of a projection (new tables, a fixed bug) has
/// a higher [`Projection::version`]: it keeps its own checkpoint and its own data, so it can be
/// built beside the version readers use and then activated.
pub trait Projection<M: ReadModel>: Send + Sync + 'static {
    /// The projection's name (its checkpoints are kept under it).
    fn name(&self) -> &str;

    /// This code's version of the projection.
    fn version(&self) -> u32 {
        1
    }

    /// Which events of the log it wants (all, by default).
    fn filter(&self) -> EventFilter {
        EventFilter::default()
    }

    /// Creates what this version keeps, if missing (tables, indexes). Run in every transaction
    /// that starts a catch-up, so it must be idempotent.
    fn setup(&self, tx: &mut M::Tx<'_>) -> Result<(), SdkError> {
        let _ = tx;
        Ok(())
    }

    /// Takes one event into the read model.
    fn apply(&self, tx: &mut M::Tx<'_>, event: &RecordedEvent) -> Result<(), SdkError>;

    /// Removes everything this version keeps (before a rebuild).
    fn purge(&self, tx: &mut M::Tx<'_>) -> Result<(), SdkError>;

    /// Makes this version the one readers see (for example, points a view at its tables).
    fn activate(&self, tx: &mut M::Tx<'_>) -> Result<(), SdkError> {
        let _ = tx;
        Ok(())
    }
}

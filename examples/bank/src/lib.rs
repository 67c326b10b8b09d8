//! Seed 001's bank account service on Eventfold.
//!
//! Accounts are streams `account-<id>`; the [`domain::Accounts`] decider refuses a withdrawal
//! beyond the balance; commands load the latest snapshot (one every 10 events) plus the events
//! after it, and append with the loaded version as the expected revision, retrying when another
//! command won the race; the [`balances`] read model (SQLite) can be purged and rebuilt.

pub mod balances;
pub mod domain;
mod http;

use std::path::PathBuf;
use std::sync::Arc;

use eventfold::{
    CommandHandler, DirectorySnapshotStore, EventStore, SnapshotPolicy, SnapshotStore,
};
use eventfold_store::embedded::{EmbeddedStore, Options};

pub use http::router;

/// The category of account streams.
pub const ACCOUNT_CATEGORY: &str = "account";
/// What an account's stream name starts with, before its id.
pub const ACCOUNT_PREFIX: &str = "account-";
/// Snapshots are taken every this many events (seed 001).
pub const SNAPSHOT_EVERY: u64 = 10;

/// Where the bank keeps its events.
#[derive(Clone, Debug)]
pub enum Backend {
    /// The embedded engine in this directory (events and snapshots under `events/`).
    Embedded(PathBuf),
    /// An Eventfold server (`eventfold serve`), events and snapshots both.
    Server(String),
}

/// The bank's settings.
#[derive(Clone, Debug)]
pub struct BankConfig {
    /// Where events go.
    pub backend: Backend,
    /// The SQLite file of the balances read model.
    pub read_model: PathBuf,
}

/// The running service: the command handler and the read model.
pub struct Bank {
    accounts: CommandHandler<domain::Accounts>,
    balances: balances::Balances,
    embedded: Option<EmbeddedStore>,
}

impl Bank {
    /// Opens the backend and the read model, and starts keeping the read model.
    pub async fn start(config: &BankConfig) -> anyhow::Result<Self> {
        let (store, snapshots, embedded): (Arc<dyn EventStore>, Arc<dyn SnapshotStore>, _) =
            match &config.backend {
                Backend::Embedded(dir) => {
                    let events = dir.join("events");
                    let store =
                        EmbeddedStore::open(&events, Options::default()).map_err(|error| {
                            anyhow::anyhow!(
                                "opening the event store in {}: {error}",
                                events.display()
                            )
                        })?;
                    let snapshots = DirectorySnapshotStore::open(events.join("snapshots"))?;
                    (Arc::new(store.clone()), Arc::new(snapshots), Some(store))
                }
                Backend::Server(url) => {
                    let client = eventfold_client::Client::new(url)?;
                    client.head_position().await.map_err(|error| {
                        anyhow::anyhow!("cannot use the Eventfold server at {url}: {error}")
                    })?;
                    (Arc::new(client.clone()), Arc::new(client), None)
                }
            };
        if let Some(parent) = config.read_model.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let balances = balances::Balances::start(store.clone(), &config.read_model).await?;
        let accounts = CommandHandler::new(domain::Accounts, store)
            .with_snapshots(snapshots, SnapshotPolicy::EveryEvents(SNAPSHOT_EVERY))
            .with_max_attempts(10);
        Ok(Self {
            accounts,
            balances,
            embedded,
        })
    }

    /// The balances read model.
    pub fn balances(&self) -> &balances::Balances {
        &self.balances
    }

    /// Stops: makes the embedded store durable and closes it.
    pub async fn close(self) {
        drop(self.balances);
        if let Some(store) = self.embedded {
            store.close().await;
        }
    }
}

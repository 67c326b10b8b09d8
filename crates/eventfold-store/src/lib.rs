//! The [`EventStore`] trait every backend implements, the embedded storage engine (the default
//! backend), and — behind the `testing` feature — the conformance suite every backend must pass.

pub mod embedded;
pub mod files;
pub mod rules;
pub mod snapshots;
mod store;
mod subscription;
#[cfg(feature = "testing")]
pub mod testing;

pub use embedded::ScavengeProgress;
pub use eventfold_core::*;
pub use snapshots::{
    DirectorySnapshotStore, MemorySnapshotStore, Snapshot, SnapshotStore, SNAPSHOT_STATE_BYTES_MAX,
};
pub use store::{DeleteMode, EventStore, OnProgress, Subscription, SubscriptionMessage};
pub use subscription::{
    subscribe_all_by_polling, subscribe_stream_by_polling, SUBSCRIPTION_PAGE_BYTES,
    SUBSCRIPTION_PAGE_EVENTS,
};

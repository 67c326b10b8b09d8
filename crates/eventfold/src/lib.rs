//! The Eventfold SDK: write event-sourced services over any [`EventStore`] — the embedded
//! engine, the HTTP client, or PostgreSQL.
//!
//! - [`Decider`]: the domain model as `initial_state`, `decide` and `evolve`.
//! - [`DomainEvent`]: events as serde enums, one stable type name per variant, versioned, with
//!   [`Upcasters`] for old shapes.
//! - [`CommandHandler`]: load → decide → append with the expected revision, retried on
//!   concurrent changes; [`SnapshotPolicy`]; time travel ([`AsOf`]); reversal.
//! - [`projection`]'s read models kept from the log with an atomic checkpoint (SQLite and in
//!   memory), rebuilt with progress, versions built side by side and swapped.
//! - [`gateway`]s: replay-aware calls to external systems.
//! - the [`testkit`], for `given(events).when(command).then(events)`.
//!
//! docs/SDK.md is the guide, built around `examples/bank`.

mod decider;
mod error;
pub mod event;
pub mod gateway;
mod handler;
pub mod projection;
pub mod testkit;

pub use decider::Decider;
pub use error::SdkError;
pub use event::{DomainEvent, EventMetadata, EventRef, Upcasters};
pub use handler::{
    reversal_id, AsOf, CommandError, CommandHandler, Handled, Loaded, SnapshotPolicy,
};

pub use eventfold_core::{StreamName, Timestamp};
pub use eventfold_store::{
    self as store, DirectorySnapshotStore, EventStore, MemorySnapshotStore, Snapshot, SnapshotStore,
};

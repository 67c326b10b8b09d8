//! A group commit between the writer thread, which writes it, and the sync thread, which makes
//! it durable and answers: the group, the index changes it carries and its answers.

use std::sync::Arc;

use tokio::sync::oneshot;

use eventfold_core::{AppendResult, StoreError, StreamName};

use super::durable_end::LogEnd;
use super::io::SegmentFile;
use crate::rules::StreamState;

/// A group written to its segment, waiting for its fdatasync.
pub struct WrittenGroup {
    /// Groups are numbered from 1 in the order they are written.
    pub seq: u64,
    /// The segment written to.
    pub file: Arc<dyn SegmentFile>,
    /// Where the log ends after this group.
    pub log_end: LogEnd,
    /// False when every command of the group failed its checks (nothing to sync).
    pub wrote: bool,
    /// Index changes, in log order.
    pub staged: Vec<Staged>,
    /// `recorded_at` of the group's events.
    pub recorded_at_nanos: i64,
    /// Answers, sent once the group is durable.
    pub replies: Vec<Reply>,
}

/// An answer waiting for the group's fdatasync.
pub enum Reply {
    Append(
        oneshot::Sender<Result<AppendResult, StoreError>>,
        Result<AppendResult, StoreError>,
    ),
    Unit(
        oneshot::Sender<Result<(), StoreError>>,
        Result<(), StoreError>,
    ),
}

impl Reply {
    /// Sends the answer.
    pub fn send(self) {
        // A caller that went away no longer needs the answer; the write stands.
        match self {
            Reply::Append(tx, result) => drop(tx.send(result)),
            Reply::Unit(tx, result) => drop(tx.send(result)),
        }
    }

    /// Sends `error` instead of a success (errors found earlier are sent as they are).
    pub fn fail(self, error: impl Fn() -> StoreError) {
        match self {
            Reply::Append(tx, Ok(_)) => drop(tx.send(Err(error()))),
            Reply::Unit(tx, Ok(())) => drop(tx.send(Err(error()))),
            other => other.send(),
        }
    }
}

/// A change to the index, applied in log order once the group is durable.
pub enum Staged {
    /// The events of one append, from `first_revision` on, at `offsets` of the group's
    /// segment file; their types as runs (a type and how many events in a row have it).
    Append {
        stream: StreamName,
        first_revision: u64,
        offsets: Vec<u64>,
        type_runs: Vec<(String, usize)>,
    },
    /// A stream's new state.
    State {
        stream: StreamName,
        state: Arc<StreamState>,
    },
}

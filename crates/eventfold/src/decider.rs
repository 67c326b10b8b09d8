//! The domain model as a decider: an initial state, a decision, and a fold.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::DomainEvent;

/// A domain model as three pure functions: what a new stream's state is, which events a
/// command produces given the state (or why it is refused), and how an event changes the state.
///
/// The state is derived, never stored as truth: [`crate::CommandHandler`] folds it from the
/// stream's events (after a snapshot, when there is one) every time it handles a command.
pub trait Decider: Send + Sync + 'static {
    /// What the events fold into. Serialisable for snapshots.
    type State: Clone + Serialize + DeserializeOwned + Send + Sync + 'static;
    /// What callers ask for.
    type Command: Send + Sync;
    /// What happened.
    type Event: DomainEvent + Clone;
    /// Why a command is refused.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The schema version of [`Self::State`] in snapshots: raise it when the state's shape
    /// changes, and older snapshots are ignored (and replaced).
    const STATE_SCHEMA_VERSION: u32 = 1;

    /// The state of a stream with no events.
    fn initial_state(&self) -> Self::State;

    /// The events `command` produces from `state`, or why it is refused. No events means
    /// nothing to do (the command is accepted and nothing is appended).
    fn decide(
        &self,
        command: &Self::Command,
        state: &Self::State,
    ) -> Result<Vec<Self::Event>, Self::Error>;

    /// The state after `event`.
    fn evolve(&self, state: Self::State, event: &Self::Event) -> Self::State;

    /// The compensating event that reverses `event`, if it can be reversed.
    fn reverse(&self, event: &Self::Event) -> Option<Self::Event> {
        let _ = event;
        None
    }

    /// The state after folding `events` into `state`.
    fn fold<'a>(
        &self,
        state: Self::State,
        events: impl IntoIterator<Item = &'a Self::Event>,
    ) -> Self::State {
        events
            .into_iter()
            .fold(state, |state, event| self.evolve(state, event))
    }
}

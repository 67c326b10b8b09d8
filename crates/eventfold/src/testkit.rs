//! A test kit for deciders: `given(events).when(command).then(events | error)`.
//!
//! ```
//! # use eventfold::testkit::DeciderTest;
//! # fn demo<D: eventfold::Decider>(decider: D, history: Vec<D::Event>, command: D::Command, expected: Vec<D::Event>)
//! # where D::Event: PartialEq + std::fmt::Debug {
//! DeciderTest::new(decider).given(history).when(command).then(expected);
//! # }
//! ```

use std::fmt::Debug;

use crate::Decider;

/// A decider under test, with its history.
pub struct DeciderTest<D: Decider> {
    decider: D,
    state: D::State,
}

/// A decider under test with a command to decide.
pub struct DeciderWhen<D: Decider> {
    decider: D,
    state: D::State,
    outcome: Result<Vec<D::Event>, D::Error>,
}

impl<D: Decider> DeciderTest<D> {
    /// A test starting from the decider's initial state.
    pub fn new(decider: D) -> Self {
        let state = decider.initial_state();
        Self { decider, state }
    }

    /// The events that happened before the command.
    pub fn given(mut self, events: impl IntoIterator<Item = D::Event>) -> Self {
        let events: Vec<D::Event> = events.into_iter().collect();
        self.state = self.decider.fold(self.state, &events);
        self
    }

    /// Decides `command` on the state the history folded into.
    pub fn when(self, command: D::Command) -> DeciderWhen<D> {
        let outcome = self.decider.decide(&command, &self.state);
        DeciderWhen {
            decider: self.decider,
            state: self.state,
            outcome,
        }
    }
}

impl<D: Decider> DeciderWhen<D>
where
    D::Event: PartialEq + Debug,
{
    /// Asserts the command produced exactly `expected`, and returns the state after them.
    #[track_caller]
    pub fn then(self, expected: impl IntoIterator<Item = D::Event>) -> D::State {
        let expected: Vec<D::Event> = expected.into_iter().collect();
        match self.outcome {
            Ok(events) => {
                assert_eq!(events, expected, "the command produced other events");
                self.decider.fold(self.state, &events)
            }
            Err(error) => panic!("expected events {expected:?}, the command was refused: {error}"),
        }
    }

    /// Asserts the command was refused with an error equal to `expected`.
    #[track_caller]
    pub fn then_error(self, expected: D::Error)
    where
        D::Error: PartialEq,
    {
        match self.outcome {
            Ok(events) => {
                panic!("expected the error {expected:?}, the command produced {events:?}")
            }
            Err(error) => assert_eq!(error, expected, "the command was refused otherwise"),
        }
    }

    /// Asserts the command was refused, with an error `check` accepts.
    #[track_caller]
    pub fn then_error_matches(self, check: impl FnOnce(&D::Error) -> bool) {
        match self.outcome {
            Ok(events) => panic!("expected an error, the command produced {events:?}"),
            Err(error) => assert!(check(&error), "unexpected error: {error:?}"),
        }
    }
}

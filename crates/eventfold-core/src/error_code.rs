//! The stable error codes of Eventfold, and the one table that gives each its HTTP status.
//!
//! Every error the API answers carries one of these in its `error` field. Clients match on
//! the code, never on the message. A code, once published, keeps its name and status.

use std::fmt;
use std::str::FromStr;

/// Declares [`ErrorCode`] with its wire name, HTTP status and meaning, in one table.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal, $status:literal;)*) => {
        /// A stable, machine-readable error code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in the order of the table.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as it appears on the wire (`"stream_not_found"`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)*
                }
            }

            /// The HTTP status the API answers with.
            pub const fn status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)*
                }
            }

            /// What the code means, for documentation.
            pub fn description(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => concat!($($doc),*).trim_start(),)*
                }
            }
        }
    };
}

error_codes! {
    /// The stream name breaks the naming rules.
    InvalidStreamName = "invalid_stream_name", 400;
    /// An append with no events.
    EmptyAppend = "empty_append", 400;
    /// An event breaks a shape rule (the message names the field).
    InvalidEvent = "invalid_event", 400;
    /// A request that is malformed or out of range (the message names what is wrong).
    InvalidRequest = "invalid_request", 400;
    /// An event, an append or a request body is larger than its limit.
    TooLarge = "too_large", 413;
    /// The optimistic-concurrency check failed (`expected` and `actual` say how).
    WrongExpectedRevision = "wrong_expected_revision", 409;
    /// An event id of the append was already used for a different write.
    EventIdConflict = "event_id_conflict", 409;
    /// Someone else changed the same thing at the same time.
    Conflict = "conflict", 409;
    /// A scavenge is running already.
    ScavengeRunning = "scavenge_running", 409;
    /// The stream was hard-deleted (tombstoned).
    StreamDeleted = "stream_deleted", 410;
    /// The stream does not exist (never written, or soft-deleted).
    StreamNotFound = "stream_not_found", 404;
    /// The stream has no snapshot.
    SnapshotNotFound = "snapshot_not_found", 404;
    /// No consumer group has this name.
    GroupNotFound = "group_not_found", 404;
    /// No event bus has this name.
    BusNotFound = "bus_not_found", 404;
    /// The bus has no rule of this name.
    RuleNotFound = "rule_not_found", 404;
    /// The bus has no replay of this name on this node.
    ReplayNotFound = "replay_not_found", 404;
    /// No scavenge has run since the server started.
    ScavengeNotFound = "scavenge_not_found", 404;
    /// No route has this path.
    NotFound = "not_found", 404;
    /// The route exists, but not with this method.
    MethodNotAllowed = "method_not_allowed", 405;
    /// The store was opened read-only.
    ReadOnly = "read_only", 405;
    /// The stream belongs to the server (its name starts with `$`).
    ReservedStream = "reserved_stream", 403;
    /// The bus's policy refuses this source.
    ForbiddenSource = "forbidden_source", 403;
    /// The bus's policy refuses this event type.
    ForbiddenEventType = "forbidden_event_type", 403;
    /// The request took longer than allowed.
    Timeout = "timeout", 408;
    /// The server cannot do it now; try again (see `Retry-After`).
    Unavailable = "unavailable", 503;
    /// Too many open subscriptions of one kind; try again later.
    TooManySubscribers = "too_many_subscribers", 503;
    /// Too many open connections; try again later.
    TooManyConnections = "too_many_connections", 503;
    /// A write or sync failed; the store takes no writes until it is reopened.
    Poisoned = "poisoned", 503;
    /// The store is closed or closing.
    Closed = "closed", 503;
    /// Another process holds the data directory.
    Locked = "locked", 503;
    /// Stored data failed a check; the store refuses to go on.
    Corrupted = "corrupted", 500;
    /// An I/O error from the operating system.
    Io = "io", 500;
    /// The backend is unreachable or failed.
    Backend = "backend", 500;
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A code that is not one of ours (from a newer server, say).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an Eventfold error code")]
pub struct UnknownErrorCode(pub String);

impl FromStr for ErrorCode {
    type Err = UnknownErrorCode;

    fn from_str(text: &str) -> Result<Self, UnknownErrorCode> {
        Self::ALL
            .iter()
            .copied()
            .find(|code| code.as_str() == text)
            .ok_or_else(|| UnknownErrorCode(text.to_owned()))
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_is_unique() {
        let mut names: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        for code in ErrorCode::ALL {
            assert_eq!(code.as_str().parse::<ErrorCode>().unwrap(), *code);
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), *code);
            assert!((400..600).contains(&code.status()), "{code}");
            assert!(!code.description().is_empty(), "{code}");
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorCode::ALL.len());
        assert!("no_such_code".parse::<ErrorCode>().is_err());
    }
}

//! Revisions within a stream, positions in the global log, and the optimistic-concurrency check.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The place of an event within its stream: gapless from 0.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Revision(pub u64);

/// The place of an event in the global log (`$all`): strictly increasing in commit order.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Position(pub u64);

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What the writer believes about the stream's current revision; the append fails otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ExpectedRevision {
    /// No check.
    #[default]
    Any,
    /// The stream must not exist (no events yet, or soft-deleted with nothing after).
    NoStream,
    /// The stream must exist.
    StreamExists,
    /// The stream's last revision must be exactly this.
    Exact(u64),
}

impl fmt::Display for ExpectedRevision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any"),
            Self::NoStream => f.write_str("no_stream"),
            Self::StreamExists => f.write_str("exists"),
            Self::Exact(revision) => revision.fmt(f),
        }
    }
}

impl std::str::FromStr for ExpectedRevision {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "any" => Ok(Self::Any),
            "no_stream" => Ok(Self::NoStream),
            "exists" => Ok(Self::StreamExists),
            number => number.parse().map(Self::Exact).map_err(|_| {
                format!("expected revision `{number}` is not any, no_stream, exists or a number")
            }),
        }
    }
}

impl Serialize for ExpectedRevision {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Exact(revision) => serializer.serialize_u64(*revision),
            other => serializer.serialize_str(&other.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for ExpectedRevision {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            // JSON counts `7.0` as the integer 7 (so does the API's schema).
            Float(f64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(revision) => Ok(Self::Exact(revision)),
            Raw::Float(number) => exact_integer(number)
                .and_then(|n| u64::try_from(n).ok())
                .map(Self::Exact)
                .ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "expected revision {number} is not a revision (a whole number)"
                    ))
                }),
            Raw::Text(text) => text.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// The integer a JSON number written with a fraction of zero stands for (`5.0` is 5, as JSON
/// Schema counts it), when an `f64` holds it exactly: below 2^53 in size (2^53 + 1 reads as
/// 2^53). `None` for a real fraction or a larger number.
pub fn exact_integer(value: f64) -> Option<i64> {
    const EXACT_MAX: f64 = 9_007_199_254_740_992.0;
    (value.fract() == 0.0 && value.abs() < EXACT_MAX).then_some(value as i64)
}

/// What an append wrote: the revisions and positions of its first and last events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppendResult {
    /// Revision of the first event appended.
    pub first_revision: Revision,
    /// Revision of the last event appended (the stream's new current revision).
    pub last_revision: Revision,
    /// Global position of the first event appended.
    pub first_position: Position,
    /// Global position of the last event appended.
    pub last_position: Position,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_floats_are_exact_integers_below_two_to_the_53() {
        assert_eq!(exact_integer(5.0), Some(5));
        assert_eq!(exact_integer(-3.0), Some(-3));
        assert_eq!(exact_integer(5.5), None);
        assert_eq!(exact_integer(9_007_199_254_740_992.0), None);
        let seven: ExpectedRevision = serde_json::from_str("7.0").unwrap();
        assert_eq!(seven, ExpectedRevision::Exact(7));
        assert!(serde_json::from_str::<ExpectedRevision>("-1.0").is_err());
        assert!(serde_json::from_str::<ExpectedRevision>("1.5").is_err());
    }

    #[test]
    fn expected_revision_round_trips_through_text_and_json() {
        for expected in [
            ExpectedRevision::Any,
            ExpectedRevision::NoStream,
            ExpectedRevision::StreamExists,
            ExpectedRevision::Exact(7),
        ] {
            assert_eq!(
                expected.to_string().parse::<ExpectedRevision>().unwrap(),
                expected
            );
            let json = serde_json::to_string(&expected).unwrap();
            assert_eq!(
                serde_json::from_str::<ExpectedRevision>(&json).unwrap(),
                expected
            );
        }
        assert!("seven".parse::<ExpectedRevision>().is_err());
        assert!(serde_json::from_str::<ExpectedRevision>("-1").is_err());
    }
}

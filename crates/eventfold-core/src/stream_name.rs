//! Stream names: `account-42`, whose category is `account`.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::StoreError;

/// The longest stream name, in bytes of UTF-8.
pub const STREAM_NAME_BYTES_MAX: usize = 256;

/// A validated stream name: 1..=256 bytes of UTF-8 without control characters.
///
/// Cloning is cheap (the text is shared).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamName(Arc<str>);

impl StreamName {
    /// Validates `name` and returns it as a stream name.
    pub fn new(name: &str) -> Result<Self, StoreError> {
        Self::check(name)?;
        Ok(Self(Arc::from(name)))
    }

    /// Checks the rules without allocating.
    pub fn check(name: &str) -> Result<(), StoreError> {
        let invalid = |reason: &str| StoreError::InvalidStreamName {
            name: name.chars().take(64).collect(),
            reason: reason.to_owned(),
        };
        if name.is_empty() {
            return Err(invalid("a stream name cannot be empty"));
        }
        if name.len() > STREAM_NAME_BYTES_MAX {
            return Err(invalid(&format!(
                "a stream name is at most {STREAM_NAME_BYTES_MAX} bytes, this one is {}",
                name.len()
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(invalid("a stream name cannot contain control characters"));
        }
        Ok(())
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The category: the part before the first `-`, or the whole name when it has none.
    pub fn category(&self) -> &str {
        category_of(&self.0)
    }
}

/// The category of a stream name: the part before the first `-`, or the whole name.
pub fn category_of(name: &str) -> &str {
    name.split_once('-').map_or(name, |(category, _)| category)
}

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::str::FromStr for StreamName {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl std::borrow::Borrow<str> for StreamName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl Serialize for StreamName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for StreamName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::new(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_is_the_part_before_the_first_dash() {
        assert_eq!(StreamName::new("account-42").unwrap().category(), "account");
        assert_eq!(
            StreamName::new("account-42-x").unwrap().category(),
            "account"
        );
        assert_eq!(StreamName::new("account").unwrap().category(), "account");
        assert_eq!(StreamName::new("-x").unwrap().category(), "");
    }

    #[test]
    fn rejects_empty_long_and_control_characters() {
        assert!(StreamName::new("").is_err());
        assert!(StreamName::new(&"a".repeat(256)).is_ok());
        assert!(StreamName::new(&"a".repeat(257)).is_err());
        // 128 two-byte characters are 256 bytes; one more is too long.
        assert!(StreamName::new(&"é".repeat(128)).is_ok());
        assert!(StreamName::new(&"é".repeat(129)).is_err());
        assert!(StreamName::new("a\nb").is_err());
        assert!(StreamName::new("a\u{7f}b").is_err());
        let error = StreamName::new("").unwrap_err();
        assert_eq!(error.code(), "invalid_stream_name");
    }

    #[test]
    fn deserializing_validates() {
        assert!(serde_json::from_str::<StreamName>("\"ok-1\"").is_ok());
        assert!(serde_json::from_str::<StreamName>("\"\"").is_err());
    }
}

//! Names of consumer groups, buses, rules and replays.

use std::borrow::Borrow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::Invalid;

/// The longest name of a group, bus, rule or replay, in bytes.
pub const NAME_BYTES_MAX: usize = 64;

/// A checked name of a consumer group, bus, rule or replay: 1 to 64 ASCII letters, digits,
/// `_`, `-` or `.`. Only [`Name::parse`] (and deserialising, which checks the same way) makes
/// one.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Name(Box<str>);

impl Name {
    /// Checks `text` as the name of a `kind` ("group", "bus", "rule", "replay").
    pub fn parse(kind: &str, text: &str) -> Result<Self, Invalid> {
        if Self::is_valid(text) {
            Ok(Self(text.into()))
        } else {
            Err(Invalid(format!(
                "{kind} name `{}`: use 1 to {NAME_BYTES_MAX} ASCII letters, digits, `_`, `-` or `.`",
                text.chars().take(80).collect::<String>()
            )))
        }
    }

    /// Whether `text` is a valid name.
    pub fn is_valid(text: &str) -> bool {
        !text.is_empty()
            && text.len() <= NAME_BYTES_MAX
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse("the", &text).map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Name {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[A-Za-z0-9_.-]{1,64}$"))
            .description(Some(
                "A name: 1 to 64 ASCII letters, digits, `_`, `-` or `.`",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Name {
    fn name() -> std::borrow::Cow<'static, str> {
        "Name".into()
    }
}

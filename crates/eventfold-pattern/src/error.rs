//! The error [`Pattern::parse`](crate::Pattern::parse) returns: what is wrong, and where.

use crate::limits::{
    OR_BRANCHES_MAX, OR_BRANCHES_MIN, PATTERN_BYTES_MAX, PATTERN_DEPTH_MAX, PATTERN_NODES_MAX,
    STRING_BYTES_MAX, WILDCARD_STARS_MAX,
};

/// A pattern was refused: [`kind`](PatternError::kind) says why, [`path`](PatternError::path)
/// says where.
///
/// Displays as `invalid event pattern at data.price[1].numeric: …`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid event pattern{}: {kind}", location(.path))]
pub struct PatternError {
    path: String,
    kind: PatternErrorKind,
}

impl PatternError {
    pub(crate) fn new(path: String, kind: PatternErrorKind) -> Self {
        Self { path, kind }
    }

    /// Where in the pattern the problem is, such as `data.price[1].numeric` (field `price`
    /// under `data`, its second matcher, the operator `numeric`). Empty for the pattern as a
    /// whole. The syntax is described in the [crate docs](crate#errors).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What the problem is.
    pub fn kind(&self) -> &PatternErrorKind {
        &self.kind
    }
}

fn location(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" at {path}")
    }
}

/// What is wrong with a pattern.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PatternErrorKind {
    /// The pattern text is not JSON.
    #[error("not JSON: {reason}")]
    InvalidJson {
        /// The JSON parser's message.
        reason: String,
    },
    /// The pattern text is longer than [`PATTERN_BYTES_MAX`].
    #[error("the pattern is {bytes} bytes; the limit is {PATTERN_BYTES_MAX}")]
    PatternTooLong {
        /// The text's length.
        bytes: usize,
    },
    /// The pattern has more than [`PATTERN_NODES_MAX`] fields, matchers and list values.
    #[error("the pattern has more than {PATTERN_NODES_MAX} nodes (fields, matchers, $or branches and list values)")]
    TooManyNodes,
    /// Objects nest deeper than [`PATTERN_DEPTH_MAX`].
    #[error("objects nest deeper than {PATTERN_DEPTH_MAX} levels")]
    TooDeep,
    /// A field name or operand is longer than [`STRING_BYTES_MAX`].
    #[error("a string of {bytes} bytes; the limit is {STRING_BYTES_MAX}")]
    StringTooLong {
        /// The string's length.
        bytes: usize,
    },
    /// The pattern itself, or a `$or` branch, is not a JSON object.
    #[error("a pattern must be a JSON object, not {found}")]
    NotAnObject {
        /// The JSON type found instead, such as "an array".
        found: &'static str,
    },
    /// A field's value is a bare scalar: it must be wrapped in an array of matchers.
    #[error("a field must be an array of matchers or an object of nested fields, not {found}")]
    NotArrayOrObject {
        /// The JSON type found instead, such as "a string".
        found: &'static str,
    },
    /// An array of matchers is empty, which could match nothing.
    #[error("an array of matchers must not be empty")]
    EmptyArray,
    /// A nested object (or `$or` branch) has no fields; leave the field out to match anything.
    #[error("a nested object must have at least one field")]
    EmptyObject,
    /// An element of an array of matchers is itself an array.
    #[error("a matcher must be a string, number, boolean, null or an object with one operator, not {found}")]
    InvalidMatcher {
        /// What was found instead, such as "an array".
        found: &'static str,
    },
    /// A matcher object has no operator, or more than one.
    #[error("a matcher object must have exactly one operator, found {keys} keys")]
    OperatorCount {
        /// How many keys the object has.
        keys: usize,
    },
    /// A matcher object names an operator this crate does not know.
    #[error("unknown operator `{operator}`; expected one of prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, cidr, exists")]
    UnknownOperator {
        /// The key as written.
        operator: String,
    },
    /// An operator's operand has the wrong shape.
    #[error("`{operator}` expects {expected}, not {found}")]
    InvalidOperand {
        /// The operator, such as `prefix`.
        operator: &'static str,
        /// What the operator takes, such as "a string".
        expected: &'static str,
        /// The JSON type found instead.
        found: &'static str,
    },
    /// `anything-but` wraps an operator it cannot negate.
    #[error("`anything-but` takes a string, a number, a list of either, or an object with prefix, suffix, equals-ignore-case or wildcard, not `{operator}`")]
    UnsupportedInAnythingBut {
        /// The key as written.
        operator: String,
    },
    /// An `anything-but` list mixes strings and numbers (or holds something else).
    #[error("an `anything-but` list must hold only strings or only numbers, not {found}")]
    MixedAnythingBut {
        /// The JSON type of the first element that differs from the first one.
        found: &'static str,
    },
    /// An operator's list operand is empty.
    #[error("`{operator}` needs at least one value")]
    EmptyList {
        /// The operator, such as `anything-but`.
        operator: &'static str,
    },
    /// A `wildcard` operand breaks the syntax (`**`, or a `\` escaping anything but `*` or `\`).
    #[error("invalid wildcard: {reason}")]
    InvalidWildcard {
        /// Which rule the operand breaks.
        reason: &'static str,
    },
    /// An `anything-but` `prefix` or `suffix` is the empty string, which every string has
    /// (EventBridge refuses it too).
    #[error("`anything-but` `{operator}` must not be empty: every string has it")]
    EmptyAffix {
        /// `prefix` or `suffix`.
        operator: &'static str,
    },
    /// A `cidr` operand is not an IPv4 or IPv6 block such as `10.0.0.0/24`.
    #[error("invalid CIDR block: {reason}")]
    InvalidCidr {
        /// Which part is wrong.
        reason: &'static str,
    },
    /// A `wildcard` operand has more than [`WILDCARD_STARS_MAX`] `*`.
    #[error("a wildcard with {stars} `*`; the limit is {WILDCARD_STARS_MAX}")]
    TooManyStars {
        /// How many `*` the operand has.
        stars: usize,
    },
    /// A `numeric` operand is not a valid comparison or range.
    #[error("invalid numeric comparison: {reason}")]
    InvalidNumeric {
        /// What is wrong with it.
        reason: String,
    },
    /// `$or` is not an array of objects.
    #[error("`$or` must be an array of pattern objects, not {found}")]
    OrNotArray {
        /// The JSON type found instead.
        found: &'static str,
    },
    /// `$or` has fewer than [`OR_BRANCHES_MIN`] or more than [`OR_BRANCHES_MAX`] branches.
    #[error("`$or` needs {OR_BRANCHES_MIN} to {OR_BRANCHES_MAX} branches, found {branches}")]
    OrBranchCount {
        /// How many branches it has.
        branches: usize,
    },
}

/// How an error message names the JSON type it found.
pub(crate) fn describe(value: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

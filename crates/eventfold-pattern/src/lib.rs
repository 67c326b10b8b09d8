//! Event patterns in the syntax of Amazon EventBridge, compiled once and matched against JSON
//! events without allocating.
//!
//! ```
//! use eventfold_pattern::Pattern;
//! use serde_json::json;
//!
//! let pattern = Pattern::parse_str(r#"{
//!     "source": ["billing"],
//!     "type": [{"prefix": "Invoice"}],
//!     "data": {"amount": [{"numeric": [">", 0, "<=", 500]}]}
//! }"#)?;
//! let event = json!({
//!     "source": "billing",
//!     "type": "InvoicePaid",
//!     "data": {"amount": 120, "currency": "EUR"}
//! });
//! assert!(pattern.matches(&event));
//! assert!(!pattern.matches(&json!({"source": "billing", "type": "InvoicePaid"})));
//! # Ok::<(), eventfold_pattern::PatternError>(())
//! ```
//!
//! # Syntax
//!
//! A pattern is a JSON object. Each key names a field of the event, and its value is either
//!
//! - an **object**: a pattern for the field's own fields (`{"data": {"amount": [10]}}`), or
//! - a **non-empty array of matchers**: the field matches if *any* matcher matches.
//!
//! The event matches if *every* key of the pattern matches. A bare scalar such as
//! `{"source": "billing"}` is an error: write `{"source": ["billing"]}`. Field names are taken
//! as they are; a dot in a name is part of the name, not a path.
//!
//! The empty pattern `{}` matches every event. A nested empty object (`{"data": {}}`) is an
//! error, since it says nothing: leave the field out instead.
//!
//! ## Matchers
//!
//! | Matcher | Matches |
//! |---|---|
//! | `"text"` | the string `text`, exactly |
//! | `5` | a number equal to 5 (compared as `f64`: `5` matches `5.0`) |
//! | `true`, `false` | that boolean |
//! | `null` | a JSON `null` |
//! | `{"prefix": "ord-"}` | a string starting with `ord-` |
//! | `{"prefix": {"equals-ignore-case": "ORD-"}}` | a string starting with `ord-` in any case |
//! | `{"suffix": ".png"}` | a string ending with `.png` |
//! | `{"suffix": {"equals-ignore-case": ".PNG"}}` | a string ending with `.png` in any case |
//! | `{"equals-ignore-case": "Paid"}` | `paid`, `PAID`, `pAiD`… |
//! | `{"wildcard": "img/*.png"}` | `*` is any run of characters; `\*` is a star, `\\` a backslash |
//! | `{"numeric": [">", 0, "<=", 5]}` | a number in the range (see below) |
//! | `{"anything-but": "x"}` | a string other than `x` |
//! | `{"anything-but": ["x", "y"]}` | a string other than these |
//! | `{"anything-but": 5}`, `{"anything-but": [1, 2]}` | a number other than these |
//! | `{"anything-but": {"prefix": "x"}}` | a string not starting with `x` (also `suffix`) |
//! | `{"anything-but": {"equals-ignore-case": "x"}}` | a string not equal to `x` in any case; takes a list too |
//! | `{"anything-but": {"wildcard": "x*"}}` | a string the wildcard does not match; takes a list too |
//! | `{"exists": true}` | a field holding a leaf value (see below) |
//! | `{"exists": false}` | a field holding no leaf value, in particular an absent one |
//!
//! A matcher object has exactly one operator. Unknown operators are errors that name them.
//!
//! Every matcher is for one type: string matchers (literal strings, `prefix`, `suffix`,
//! `equals-ignore-case`, `wildcard` and the string forms of `anything-but`) only ever match
//! strings, number matchers (literal numbers, `numeric`, the number forms of `anything-but`)
//! only numbers. So `{"anything-but": "x"}` does not match `5`, `null` or `true`. Case-insensitive
//! operators lower-case each character ([`char::to_lowercase`]), without locale rules.
//!
//! **`numeric`** takes one comparison, `[op, number]` with `op` one of `=`, `<`, `<=`, `>`,
//! `>=`, or a range, `[lower_op, number, upper_op, number]`, lower bound first (`>` or `>=`,
//! then `<` or `<=`). A range that holds no number, such as `[">", 5, "<", 1]`, is an error.
//!
//! **`wildcard`**: two `*` in a row, and a `\` before anything but `*` or `\`, are errors, as in
//! EventBridge.
//!
//! ## Absent fields, objects and arrays
//!
//! - Only `{"exists": false}` matches an absent field; every other matcher, `anything-but`
//!   included, needs a value.
//! - `exists` looks at **leaf** values only, as in EventBridge: a field whose value is an object
//!   does not "exist" (`exists: true` fails, `exists: false` matches). Strings, numbers,
//!   booleans and `null` are leaves, so `{"exists": true}` matches a field holding `null`.
//! - When the event's field holds an **array**, each element is tried (arrays in arrays too),
//!   and the field matches if any element does. An array with no leaf at all, such as `[]`,
//!   counts as absent for `exists`.
//! - A nested pattern on an array of objects matches if one element matches it as a whole:
//!   `{"items": {"sku": ["a"], "qty": [2]}}` needs an element with both `sku` `a` and `qty`
//!   2, as EventBridge's array-consistent matching does. An empty array, or an element or
//!   value that is not an object, is matched as an absent object: only `exists: false`
//!   matchers below it can match there.
//! - An event that is not a JSON object has no fields.
//!
//! ## `$or`
//!
//! `"$or": [{…}, {…}, …]` at any level holds two or more patterns; the object matches if its
//! other keys match and at least one of the branches does. Branches can nest their own fields
//! and their own `$or`:
//!
//! ```
//! # use eventfold_pattern::Pattern;
//! # use serde_json::json;
//! let pattern = Pattern::parse(&json!({
//!     "source": ["billing"],
//!     "$or": [
//!         {"type": ["InvoicePaid"]},
//!         {"data": {"amount": [{"numeric": [">=", 1000]}]}}
//!     ]
//! }))?;
//! assert!(pattern.matches(&json!({"source": "billing", "type": "InvoicePaid"})));
//! assert!(pattern.matches(&json!({"source": "billing", "type": "X", "data": {"amount": 1000}})));
//! assert!(!pattern.matches(&json!({"source": "billing", "type": "X", "data": {"amount": 999}})));
//! # Ok::<(), eventfold_pattern::PatternError>(())
//! ```
//!
//! `$or` is always the operator here, never a field name.
//!
//! # Errors
//!
//! [`Pattern::parse`] checks the whole pattern and returns a [`PatternError`] whose
//! [`path`](PatternError::path) points at the offending spot: keys joined by `.`, array
//! positions in brackets, so `data.price[1].numeric` is the `numeric` operator of the second
//! matcher of `data.price`. Keys that would read ambiguously are quoted: `data["a.b"]`.
//!
//! ```
//! # use eventfold_pattern::Pattern;
//! let error = Pattern::parse_str(r#"{"data": {"price": [1, {"numeric": [">", 5, "<", 1]}]}}"#)
//!     .unwrap_err();
//! assert_eq!(error.path(), "data.price[1].numeric");
//! assert_eq!(
//!     error.to_string(),
//!     "invalid event pattern at data.price[1].numeric: invalid numeric comparison: \
//!      the range is empty: its lower bound is not below its upper bound"
//! );
//! ```
//!
//! # Limits
//!
//! The [`limits`] bound the size of a pattern: its text ([`limits::PATTERN_BYTES_MAX`]), its
//! nodes ([`limits::PATTERN_NODES_MAX`]), its depth ([`limits::PATTERN_DEPTH_MAX`]), its strings
//! ([`limits::STRING_BYTES_MAX`]), the stars of a wildcard ([`limits::WILDCARD_STARS_MAX`]) and
//! the branches of a `$or` ([`limits::OR_BRANCHES_MAX`]). Matching costs time in proportion to
//! the pattern's size, so these bound it too.

#![warn(missing_docs)]

mod compile;
mod error;
pub mod limits;
mod numeric;
mod path;
mod text;
mod tree;
mod wildcard;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde_json::Value;

pub use error::{PatternError, PatternErrorKind};

use crate::limits::PATTERN_BYTES_MAX;
use crate::tree::Node;

/// A compiled event pattern. Cheap to clone (the compiled tree is shared) and safe to share
/// between threads.
#[derive(Clone)]
pub struct Pattern {
    root: Arc<Node>,
    source: Arc<Value>,
}

impl Pattern {
    /// Compiles a pattern given as JSON, checking its syntax and the [`limits`].
    pub fn parse(pattern: &Value) -> Result<Self, PatternError> {
        let root = compile::compile(pattern)?;
        Ok(Self {
            root: Arc::new(root),
            source: Arc::new(pattern.clone()),
        })
    }

    /// Compiles a pattern given as JSON text of at most [`limits::PATTERN_BYTES_MAX`] bytes.
    pub fn parse_str(pattern: &str) -> Result<Self, PatternError> {
        if pattern.len() > PATTERN_BYTES_MAX {
            let bytes = pattern.len();
            let kind = PatternErrorKind::PatternTooLong { bytes };
            return Err(PatternError::new(String::new(), kind));
        }
        let value: Value = serde_json::from_str(pattern).map_err(|error| {
            let reason = error.to_string();
            PatternError::new(String::new(), PatternErrorKind::InvalidJson { reason })
        })?;
        Self::parse(&value)
    }

    /// Whether `event` matches. Allocates nothing; the cost grows with the pattern's size and
    /// the lengths of the event's arrays the pattern looks into.
    pub fn matches(&self, event: &Value) -> bool {
        self.root.matches(event.as_object())
    }

    /// The JSON the pattern was compiled from, as given.
    pub fn source(&self) -> &Value {
        &self.source
    }
}

impl FromStr for Pattern {
    type Err = PatternError;

    /// Same as [`Pattern::parse_str`].
    fn from_str(pattern: &str) -> Result<Self, PatternError> {
        Self::parse_str(pattern)
    }
}

/// Shows the source JSON; the compiled tree is an implementation detail.
impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pattern").field(&self.source).finish()
    }
}

/// Writes the source JSON, compact.
impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)
    }
}

const _: () = {
    const fn shareable<T: Send + Sync + Clone>() {}
    shareable::<Pattern>();
};

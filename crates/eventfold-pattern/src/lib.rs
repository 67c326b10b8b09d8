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
//! | `{"cidr": "10.0.0.0/24"}`, `{"cidr": "2001:db8::/32"}` | a string holding an IP address inside the block (see below) |
//! | `{"anything-but": "x"}` | any value but the string `x` |
//! | `{"anything-but": ["x", "y"]}` | any value but these strings |
//! | `{"anything-but": 5}`, `{"anything-but": [1, 2]}` | any value but these numbers |
//! | `{"anything-but": {"prefix": "x"}}` | any value but a string starting with `x`; takes a list too: `{"prefix": ["$", "%"]}` excludes strings starting with any of them |
//! | `{"anything-but": {"suffix": ".tmp"}}` | any value but a string ending with `.tmp`; takes a list too |
//! | `{"anything-but": {"equals-ignore-case": "x"}}` | any value but a string equal to `x` in any case; takes a list too |
//! | `{"anything-but": {"wildcard": "x*"}}` | any value but a string the wildcard matches; takes a list too |
//! | `{"exists": true}` | a field holding a leaf value (see below) |
//! | `{"exists": false}` | a field holding no leaf value, in particular an absent one |
//!
//! A matcher object has exactly one operator. Unknown operators are errors that name them.
//!
//! **Types.** The positive matchers are for one type each: literal strings, `prefix`,
//! `suffix`, `equals-ignore-case`, `wildcard` and `cidr` only ever match strings; literal
//! numbers and `numeric` only numbers. So `["5"]` does not match `5`, nor `[5]` `"5"`.
//!
//! `anything-but` excludes values of its own type only, as in EventBridge: a value of another
//! type is not excluded, so it matches. `{"anything-but": [111, 222]}` matches the string
//! `"444"` and also the string `"111"` (a string, not a number); `{"anything-but": "zdd"}`
//! and `{"anything-but": ["a", "b"]}` match the number `123`. The same holds for every string
//! form (`prefix`, `suffix`, `equals-ignore-case`, `wildcard`): they exclude only the strings
//! they describe. Booleans and `null` are never of an excluded type, so every `anything-but`
//! matches `true`, `false` and `null`. An absent field, and an object, are not values:
//! `anything-but` does not match them (see below). An empty `prefix` or `suffix` inside
//! `anything-but` is an error, as in EventBridge.
//!
//! **Case.** `equals-ignore-case`, and the case-insensitive `prefix`, `suffix` and
//! `anything-but`, compare strings after full Unicode case folding (the `C` and `F` mappings
//! of the Unicode `CaseFolding.txt`), without locale rules (no Turkic dotless `ı`) and
//! without normalization (a precomposed `é` is not `e` followed by a combining acute).
//! Full folding can change a string's length: `ß` matches `SS` and `ss`, `ﬁ` matches `FI`,
//! and `ΐ` (U+0390) matches its three-code-point fold `ΐ`. A case-insensitive `prefix` or
//! `suffix` compares the start or end of the two folded strings, so `{"equals-ignore-case":
//! "SS"}` as a suffix matches `Maß`, and `"F"` as a prefix matches `ﬁne`.
//!
//! **`numeric`** takes one comparison, `[op, number]` with `op` one of `=`, `<`, `<=`, `>`,
//! `>=`, or a range, `[lower_op, number, upper_op, number]`, lower bound first (`>` or `>=`,
//! then `<` or `<=`). A range that holds no number, such as `[">", 5, "<", 1]`, is an error.
//!
//! **`wildcard`**: two `*` in a row, and a `\` before anything but `*` or `\`, are errors, as in
//! EventBridge.
//!
//! **`cidr`** takes an IPv4 or IPv6 address, `/` and a prefix length: at most 32 for IPv4
//! and at most 128 for IPv6 (`/0` matches every address of that family, `/32` and `/128` one
//! address). Anything else is an error naming the `cidr` operator. Addresses are read as
//! `std::net` reads them, strictly: dotted-quad IPv4 without leading zeros, IPv6 in any
//! standard spelling (`::` compression, either case, a trailing dotted quad), with no zone
//! (`%eth0`), brackets or spaces. A string value matches if it is such an address inside the
//! block; other strings, numbers and other types never match. Host bits set after the prefix
//! (`10.0.0.5/24`) are accepted and masked off: the block is `10.0.0.0/24`. IPv4 and IPv6 do
//! not mix: an IPv4 block never matches an IPv6 address, IPv4-mapped ones
//! (`::ffff:10.0.0.1`) included, and the other way round.
//!
//! ## Differences from EventBridge
//!
//! This crate follows aws/event-ruler, the matcher behind EventBridge, with these known
//! differences:
//!
//! - `cidr` with host bits set: event-ruler's range starts at the address as written, so
//!   for it `10.0.0.5/24` covers `10.0.0.5` to `10.0.0.255` only. Write the network address
//!   (`10.0.0.0/24`) to mean the same in both.
//! - event-ruler refuses the prefix lengths `/32` (IPv4) and `/128` (IPv6); here they are one
//!   address.
//! - A literal string is compared as text. event-ruler compares a literal that is an IP
//!   address as an address, so there `["2001:db8::1"]` also matches `"2001:DB8:0::1"`; here
//!   use `{"cidr": "2001:db8::1/128"}` for that.
//! - Case-insensitive matching folds case fully (above). event-ruler compares character by
//!   character, each against its own upper- and lower-case forms, so matches that change a
//!   string's length, such as `ß` against `SS`, may not hold there.
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
//!
//! ## The cost of one match
//!
//! One call to [`Pattern::matches`] does at most O(pattern nodes × event bytes) work, and no
//! input makes it worse:
//!
//! - Each pattern node looks at each event value it can reach at most once: a field is one
//!   lookup in its object, and an array is walked once per pattern node that reaches it.
//! - Each test on one value costs time linear in that value plus its operand: exact strings
//!   compare once (binary search in lists of more than 8), `prefix` and `suffix` compare in
//!   place, case-insensitive tests fold the value on the fly and stop at the first
//!   difference, `cidr` reads at most 45 bytes, and numbers compare in constant time
//!   (binary search in lists of more than 8).
//! - A `wildcard` never backtracks: each piece between stars is searched for once, left to
//!   right, each search starting where the previous match ended, so one wildcard reads each
//!   byte of the value a bounded number of times however many stars it has. A near miss such
//!   as `*ab*ab*…*c` against a mebibyte of `abab…` costs one pass over the value.

#![warn(missing_docs)]

mod cidr;
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
    /// Compiles a pattern given as JSON, checking its syntax and the [`limits`]: its compact
    /// JSON text is at most [`limits::PATTERN_BYTES_MAX`] bytes, as for [`Pattern::parse_str`],
    /// so every way a pattern enters (HTTP bodies, the CLI, stored rules) has the same limit.
    pub fn parse(pattern: &Value) -> Result<Self, PatternError> {
        let bytes = compact_len(pattern);
        if bytes > PATTERN_BYTES_MAX {
            let kind = PatternErrorKind::PatternTooLong { bytes };
            return Err(PatternError::new(String::new(), kind));
        }
        let root = compile::compile(pattern)?;
        Ok(Self {
            root: Arc::new(root),
            source: Arc::new(pattern.clone()),
        })
    }

    /// Compiles a pattern given as JSON text of at most [`limits::PATTERN_BYTES_MAX`] bytes
    /// (whitespace included).
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

    /// Whether `event` matches. Allocates nothing; the cost is at most the pattern's nodes
    /// times the event's size (see [the cost of one match](crate#the-cost-of-one-match)).
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

/// The length of `value` written as compact JSON, counted without writing it anywhere.
fn compact_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, value).expect("counting cannot fail");
    count.0
}

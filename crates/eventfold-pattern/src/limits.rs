//! Size limits on a pattern. Going over any of them is a [`PatternError`](crate::PatternError)
//! naming the limit and where in the pattern it was reached.
//!
//! They bound the work a pattern costs to compile and to match: matching walks the compiled
//! tree once per event, so its cost grows with the pattern's size, never faster.

/// The longest pattern text [`Pattern::parse_str`](crate::Pattern::parse_str) accepts, in bytes.
pub const PATTERN_BYTES_MAX: usize = 64 * 1024;

/// The most nodes in one pattern: each field, each matcher, each `$or` branch and each value
/// in a list inside `anything-but` (of strings, numbers, prefixes, suffixes, case-insensitive
/// strings or wildcards) counts one. This is the size limit for a
/// pattern given as a `serde_json::Value`, which has no text length.
pub const PATTERN_NODES_MAX: usize = 2_000;

/// The deepest nesting of objects: the pattern itself is depth 1, and each nested field object
/// or `$or` branch adds one.
pub const PATTERN_DEPTH_MAX: usize = 16;

/// The longest string anywhere in a pattern (field names and matcher operands), in bytes.
pub const STRING_BYTES_MAX: usize = 4 * 1024;

/// The most `*` in one `wildcard` operand.
pub const WILDCARD_STARS_MAX: usize = 32;

/// The most branches in one `$or`.
pub const OR_BRANCHES_MAX: usize = 32;

/// The fewest branches in one `$or` (as in EventBridge: one branch is not a choice).
pub const OR_BRANCHES_MIN: usize = 2;

/// How deep matching looks into arrays nested in arrays of an event (`[[["a"]]]` is depth 3).
/// Elements nested deeper are skipped, as if absent. `serde_json` parses at most 128 levels of
/// nesting, so this bounds the recursion for events built in code too.
pub const EVENT_ARRAY_DEPTH_MAX: usize = 32;

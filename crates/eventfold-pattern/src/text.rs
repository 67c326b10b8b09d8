//! Tests on string values: exact sets, prefix, suffix, case-insensitive forms and wildcards.
//!
//! Case-insensitive comparisons lower-case both sides character by character
//! ([`char::to_lowercase`], full Unicode, no locale); the pattern's side is lowered once at
//! compile time and the event's side on the fly, so nothing allocates while matching.

use crate::wildcard::Wildcard;

/// Sets up to this size are searched linearly; larger ones are sorted and binary searched.
const STRING_SET_LINEAR_MAX: usize = 8;

/// A set of exact strings.
#[derive(Clone, Debug, Default)]
pub(crate) struct StringSet {
    /// Sorted and without duplicates (the order binary search needs).
    strings: Box<[Box<str>]>,
}

impl StringSet {
    pub(crate) fn new(mut strings: Vec<Box<str>>) -> Self {
        strings.sort_unstable();
        strings.dedup();
        Self {
            strings: strings.into_boxed_slice(),
        }
    }

    pub(crate) fn contains(&self, value: &str) -> bool {
        if self.strings.len() <= STRING_SET_LINEAR_MAX {
            self.strings.iter().any(|s| &**s == value)
        } else {
            self.strings.binary_search_by(|s| (**s).cmp(value)).is_ok()
        }
    }
}

/// A pattern string lowered for case-insensitive comparison.
#[derive(Clone, Debug)]
pub(crate) struct Folded {
    lowered: Box<str>,
}

impl Folded {
    pub(crate) fn new(operand: &str) -> Self {
        Self {
            lowered: operand.chars().flat_map(char::to_lowercase).collect(),
        }
    }

    fn equals(&self, value: &str) -> bool {
        if value.is_ascii() && self.lowered.is_ascii() {
            return value.eq_ignore_ascii_case(&self.lowered);
        }
        lowered(value).eq(self.lowered.chars())
    }

    fn starts(&self, value: &str) -> bool {
        let mut value = lowered(value);
        self.lowered.chars().all(|c| value.next() == Some(c))
    }

    fn ends(&self, value: &str) -> bool {
        let mut value = value.chars().rev().flat_map(|c| c.to_lowercase().rev());
        self.lowered.chars().rev().all(|c| value.next() == Some(c))
    }
}

fn lowered(value: &str) -> impl Iterator<Item = char> + '_ {
    value.chars().flat_map(char::to_lowercase)
}

/// One test on a string value.
#[derive(Clone, Debug)]
pub(crate) enum StringTest {
    /// Equal to one of these (exact, case-sensitive).
    In(StringSet),
    Prefix(Box<str>),
    Suffix(Box<str>),
    EqualsIgnoreCase(Folded),
    PrefixIgnoreCase(Folded),
    SuffixIgnoreCase(Folded),
    Wildcard(Wildcard),
    /// Passes if any of these passes (the list forms of `anything-but`).
    AnyOf(Box<[StringTest]>),
}

impl StringTest {
    pub(crate) fn matches(&self, value: &str) -> bool {
        match self {
            Self::In(set) => set.contains(value),
            Self::Prefix(prefix) => value.starts_with(&**prefix),
            Self::Suffix(suffix) => value.ends_with(&**suffix),
            Self::EqualsIgnoreCase(folded) => folded.equals(value),
            Self::PrefixIgnoreCase(folded) => folded.starts(value),
            Self::SuffixIgnoreCase(folded) => folded.ends(value),
            Self::Wildcard(wildcard) => wildcard.matches(value),
            Self::AnyOf(tests) => tests.iter().any(|test| test.matches(value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_sets_find_members_at_any_size() {
        for size in [1, STRING_SET_LINEAR_MAX, STRING_SET_LINEAR_MAX + 1, 100] {
            let set = StringSet::new((0..size).map(|n| format!("s{n}").into()).collect());
            for n in 0..size {
                assert!(set.contains(&format!("s{n}")));
            }
            assert!(!set.contains("s-1"));
            assert!(!set.contains(""));
        }
    }

    #[test]
    fn case_folding_covers_unicode() {
        assert!(Folded::new("ÉTÉ").equals("été"));
        // Lower-casing, not full case folding: ß does not become ss.
        assert!(!Folded::new("straße").equals("STRASSE"));
        assert!(Folded::new("ΣΑΣ").equals("σασ"));
        assert!(Folded::new("İst").starts("i̇stanbul"));
        assert!(Folded::new("BUL").ends("İstanbul"));
        assert!(Folded::new("İ").ends("xİ"));
        assert!(!Folded::new("ab").ends("b"));
        assert!(!Folded::new("ab").starts("a"));
    }
}

//! Tests on string values: exact sets, prefix, suffix, case-insensitive forms and wildcards.
//!
//! Case-insensitive comparisons use full Unicode case folding (the `C` and `F` mappings of
//! `CaseFolding.txt`, through the [`caseless`] crate), without locale rules and without
//! normalization: `ß` folds to `ss`, `ﬁ` to `fi`, `ΐ` (U+0390) to `ΐ` (three code points).
//! Folding maps each code point on its own, so the fold of a string is the folds of its
//! characters one after the other; prefix and suffix tests compare the start or the end of
//! the two folded sequences. The pattern's side is folded once at compile time and the
//! event's side on the fly, so nothing allocates while matching.

use caseless::Caseless;

use crate::cidr::Cidr;
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

/// A pattern string case-folded for case-insensitive comparison.
#[derive(Clone, Debug)]
pub(crate) struct Folded {
    folded: Box<str>,
}

impl Folded {
    pub(crate) fn new(operand: &str) -> Self {
        Self {
            folded: caseless::default_case_fold_str(operand).into_boxed_str(),
        }
    }

    /// Whether `value` folds to the same sequence. Stops at the first difference, so the
    /// cost is at most the length of the shorter side.
    fn equals(&self, value: &str) -> bool {
        // An ASCII string folds to its ASCII lower case; a non-ASCII one may fold to ASCII
        // (the Kelvin sign to `k`, `ß` to `ss`), so only both-ASCII takes the short cut.
        if value.is_ascii() && self.folded.is_ascii() {
            return value.eq_ignore_ascii_case(&self.folded);
        }
        value.chars().default_case_fold().eq(self.folded.chars())
    }

    /// Whether the fold of `value` starts with this fold.
    fn starts(&self, value: &str) -> bool {
        let prefix = &*self.folded;
        if value.is_ascii() && prefix.is_ascii() {
            return value
                .as_bytes()
                .get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()));
        }
        let mut value = value.chars().default_case_fold();
        prefix.chars().all(|c| value.next() == Some(c))
    }

    /// Whether the fold of `value` ends with this fold.
    fn ends(&self, value: &str) -> bool {
        let suffix = &*self.folded;
        if value.is_ascii() && suffix.is_ascii() {
            return value
                .len()
                .checked_sub(suffix.len())
                .and_then(|start| value.as_bytes().get(start..))
                .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix.as_bytes()));
        }
        let mut value = value.chars().rev().flat_map(|c| fold_char(c).rev());
        suffix.chars().rev().all(|c| value.next() == Some(c))
    }
}

/// The full case fold of one character: one to three characters, in order.
fn fold_char(c: char) -> impl DoubleEndedIterator<Item = char> {
    let mut folded = ['\0'; 3];
    let mut len = 0;
    for (slot, f) in folded
        .iter_mut()
        .zip(std::iter::once(c).default_case_fold())
    {
        *slot = f;
        len += 1;
    }
    folded.into_iter().take(len)
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
    /// An IP address (v4 or v6) inside a CIDR block.
    Cidr(Cidr),
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
            Self::Cidr(cidr) => cidr.contains(value),
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
    fn case_folding_is_full_unicode_folding() {
        assert!(Folded::new("ÉTÉ").equals("été"));
        assert!(Folded::new("straße").equals("STRASSE"));
        assert!(Folded::new("STRASSE").equals("straße"));
        assert!(Folded::new("ẞ").equals("ss"));
        assert!(Folded::new("ﬁle").equals("FILE"));
        assert!(Folded::new("\u{390}").equals("\u{3b9}\u{308}\u{301}"));
        assert!(Folded::new("\u{3b9}\u{308}\u{301}").equals("\u{390}"));
        assert!(Folded::new("\u{1fd3}").equals("\u{390}"));
        assert!(Folded::new("ΣΑΣ").equals("σας"));
        assert!(Folded::new("k").equals("\u{212a}"));
        assert!(Folded::new("\u{212a}").equals("K"));
        assert!(!Folded::new("ß").equals("s"));
        assert!(!Folded::new("ss").equals("ß "));
        // No normalization: a precomposed é is not e + combining acute.
        assert!(!Folded::new("é").equals("e\u{301}"));
        // No Turkic rules: İ folds to i + combining dot, dotless ı stays itself.
        assert!(Folded::new("İst").starts("i̇stanbul"));
        assert!(!Folded::new("I").equals("ı"));
    }

    #[test]
    fn folded_prefixes_and_suffixes_compare_folded_sequences() {
        assert!(Folded::new("SS").starts("ßa"));
        assert!(Folded::new("s").starts("ßa"));
        assert!(Folded::new("straß").starts("STRASSE"));
        assert!(Folded::new("FI").starts("ﬁne"));
        assert!(Folded::new("f").starts("ﬁne"));
        assert!(!Folded::new("fx").starts("ﬁne"));
        assert!(Folded::new("SS").ends("Maß"));
        assert!(Folded::new("s").ends("Maß"));
        assert!(Folded::new("aß").ends("xASS"));
        assert!(Folded::new("\u{301}").ends("x\u{390}"));
        assert!(Folded::new("\u{3b9}\u{308}\u{301}").ends("x\u{390}"));
        assert!(Folded::new("BUL").ends("İstanbul"));
        assert!(Folded::new("İ").ends("xİ"));
        assert!(Folded::new("\u{307}").ends("xİ"));
        assert!(!Folded::new("ab").ends("b"));
        assert!(!Folded::new("ab").starts("a"));
        assert!(Folded::new("").starts("x") && Folded::new("").ends(""));
        // The ASCII short cuts agree with the general path.
        assert!(Folded::new("AB").starts("abc") && Folded::new("BC").ends("abc"));
        assert!(!Folded::new("abcd").starts("abc") && !Folded::new("zabc").ends("abc"));
        assert!(Folded::new("k").starts("\u{212a}x") && Folded::new("k").ends("x\u{212a}"));
    }

    #[test]
    fn one_character_folds_to_at_most_three() {
        assert_eq!(fold_char('A').collect::<String>(), "a");
        assert_eq!(fold_char('ß').collect::<String>(), "ss");
        assert_eq!(
            fold_char('\u{390}').rev().collect::<String>(),
            "\u{301}\u{308}\u{3b9}"
        );
        assert_eq!(fold_char('1').collect::<String>(), "1");
    }
}

//! `wildcard` operands: `*` matches any run of characters (including none).
//!
//! `\*` is a literal star and `\\` a literal backslash; a backslash before anything else, a
//! trailing backslash and two unescaped stars in a row are errors, as in EventBridge.
//!
//! A compiled wildcard is its literal pieces between stars. The first piece must start the
//! value, the last must end it, and the ones between are found left to right: taking the
//! leftmost occurrence of each is always right for `*` (any later occurrence leaves less room
//! for the pieces after it), so matching never backtracks.
//!
//! The cost is linear in the value: the anchored first and last pieces are compared in place,
//! and each middle piece is searched for only in the part of the value after the previous
//! piece's match, with `str::find` (the Two-Way algorithm, linear in the text it is given
//! plus the piece, and reading no byte past the end of the occurrence it returns). So the
//! parts of the value handed to the searches never overlap: one match reads each byte of the
//! value a bounded number of times, however many stars the pattern has. The unit tests count
//! those bytes.

use crate::error::PatternErrorKind;
use crate::limits::WILDCARD_STARS_MAX;

#[cfg(test)]
thread_local! {
    /// Bytes of values handed to comparisons and searches by [`Wildcard::matches`] on this
    /// thread: the upper bound of what they read.
    static EXAMINED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Notes that a comparison or search may read `bytes` bytes of the value.
#[inline(always)]
fn examined(bytes: usize) {
    #[cfg(test)]
    EXAMINED.with(|examined| examined.set(examined.get() + bytes));
    #[cfg(not(test))]
    let _ = bytes;
}

/// A compiled `wildcard` operand.
#[derive(Clone, Debug)]
pub(crate) struct Wildcard {
    /// The literal text between stars: one more piece than there are stars. Only the first
    /// and the last may be empty (stars are never adjacent).
    pieces: Box<[Box<str>]>,
}

impl Wildcard {
    /// Compiles `operand`, unescaping `\*` and `\\`.
    pub(crate) fn compile(operand: &str) -> Result<Self, PatternErrorKind> {
        let mut pieces = Vec::new();
        let mut piece = String::new();
        let mut chars = operand.chars();
        let mut previous_was_star = false;
        while let Some(c) = chars.next() {
            match c {
                '*' if previous_was_star => {
                    return Err(PatternErrorKind::InvalidWildcard {
                        reason: "consecutive `*` are not allowed",
                    });
                }
                '*' => {
                    pieces.push(std::mem::take(&mut piece).into_boxed_str());
                    if pieces.len() > WILDCARD_STARS_MAX {
                        let stars = operand.matches('*').count();
                        return Err(PatternErrorKind::TooManyStars { stars });
                    }
                    previous_was_star = true;
                    continue;
                }
                '\\' => match chars.next() {
                    Some(escaped @ ('*' | '\\')) => piece.push(escaped),
                    _ => {
                        return Err(PatternErrorKind::InvalidWildcard {
                            reason: "`\\` may only escape `*` or `\\`",
                        });
                    }
                },
                other => piece.push(other),
            }
            previous_was_star = false;
        }
        pieces.push(piece.into_boxed_str());
        debug_assert!(pieces.len() <= WILDCARD_STARS_MAX + 1);
        debug_assert!(
            pieces.len() < 3 || pieces[1..pieces.len() - 1].iter().all(|p| !p.is_empty())
        );
        Ok(Self {
            pieces: pieces.into_boxed_slice(),
        })
    }

    /// Whether `value` matches.
    pub(crate) fn matches(&self, value: &str) -> bool {
        let Some((first, rest)) = self.pieces.split_first() else {
            // Compiling always yields a piece; an empty list would match nothing.
            return false;
        };
        let Some((last, middle)) = rest.split_last() else {
            examined(first.len().min(value.len()));
            return value == &**first;
        };
        examined(first.len().min(value.len()));
        let Some(mut remaining) = value.strip_prefix(&**first) else {
            return false;
        };
        // The last piece is anchored at the end and must not overlap the first.
        examined(last.len().min(remaining.len()));
        let Some(head) = remaining.strip_suffix(&**last) else {
            return false;
        };
        remaining = head;
        for piece in middle {
            match remaining.find(&**piece) {
                Some(at) => {
                    let end = at + piece.len();
                    examined(end);
                    remaining = &remaining[end..];
                }
                None => {
                    examined(remaining.len());
                    return false;
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, value: &str) -> bool {
        Wildcard::compile(pattern).expect("valid").matches(value)
    }

    #[test]
    fn stars_match_any_run() {
        let cases = [
            ("a*b*c", "abc", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbY", false),
            ("a*b*c", "acb", false),
            ("*", "", true),
            ("*", "anything", true),
            ("*.png", "cat.png", true),
            ("*.png", "cat.jpg", false),
            ("dir/*", "dir/", true),
            ("dir/*", "di", false),
            ("ab*ba", "aba", false),
            ("ab*ba", "abba", true),
            ("*ab*ab*", "xabyab", true),
            ("*ab*ab*", "xaby", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("", "", true),
            ("", "x", false),
            ("é*ü", "éaü", true),
        ];
        for (pattern, value, expected) in cases {
            assert_eq!(
                matches(pattern, value),
                expected,
                "{pattern:?} on {value:?}"
            );
        }
    }

    #[test]
    fn escapes_are_literal() {
        assert!(matches(r"a\*b", "a*b"));
        assert!(!matches(r"a\*b", "axb"));
        assert!(matches(r"a\\*", r"a\anything"));
        assert!(matches(r"*\**", "x*y"));
        assert!(!matches(r"*\**", "xy"));
    }

    /// Runs `pattern` on `value` and returns the result with the bytes it examined.
    fn counted(pattern: &Wildcard, value: &str) -> (bool, usize) {
        EXAMINED.with(|examined| examined.set(0));
        let matched = pattern.matches(value);
        (matched, EXAMINED.with(std::cell::Cell::get))
    }

    #[test]
    fn matching_reads_each_value_byte_once_at_most() {
        // `*ab*ab*…*ab*c`, with the most stars allowed.
        let stars = "*ab".repeat(WILDCARD_STARS_MAX - 1) + "*c";
        assert_eq!(stars.matches('*').count(), WILDCARD_STARS_MAX);
        let anchored = Wildcard::compile(&stars).expect("valid");
        // The same pieces with a trailing star, so the search for `c` is not anchored.
        let floating = Wildcard::compile(&format!("{}*c*", "*ab".repeat(WILDCARD_STARS_MAX - 2)))
            .expect("valid");
        // Many stars and one-letter pieces: the classic blow-up for backtracking matchers.
        let letters = Wildcard::compile(&format!("{}*b*", "*a".repeat(WILDCARD_STARS_MAX - 2)))
            .expect("valid");

        const MIB: usize = 1 << 20;
        let abab = "ab".repeat(MIB / 2);
        let half = "ab".repeat(MIB / 4);
        let cases: [(&Wildcard, String, bool); 8] = [
            (&anchored, abab.clone(), false),
            (&anchored, format!("c{abab}"), false),
            (&anchored, format!("{half}c{half}"), false),
            (&anchored, format!("{abab}c"), true),
            (&floating, abab.clone(), false),
            (&floating, format!("c{abab}"), false),
            (&floating, format!("{half}c{half}"), true),
            (&letters, "a".repeat(MIB), false),
        ];
        for (pattern, value, expected) in cases {
            let (matched, examined) = counted(pattern, &value);
            assert_eq!(matched, expected, "{pattern:?} on {} bytes", value.len());
            // Every byte handed to at most one comparison or search.
            assert!(
                examined <= value.len(),
                "{pattern:?}: examined {examined} of {} bytes",
                value.len()
            );
        }
        // A near miss reads the whole value, not the whole value once per star.
        let (matched, examined) = counted(&floating, &abab);
        assert!(!matched && examined >= abab.len() - 2);
    }

    #[test]
    fn bad_syntax_is_refused() {
        for bad in ["a**b", r"a\b", "a\\", "**"] {
            assert!(
                matches!(
                    Wildcard::compile(bad),
                    Err(PatternErrorKind::InvalidWildcard { .. })
                ),
                "{bad:?}"
            );
        }
        let many = "a*".repeat(WILDCARD_STARS_MAX + 1);
        assert_eq!(
            Wildcard::compile(&many).unwrap_err(),
            PatternErrorKind::TooManyStars {
                stars: WILDCARD_STARS_MAX + 1
            }
        );
        assert!(Wildcard::compile(&"a*".repeat(WILDCARD_STARS_MAX)).is_ok());
    }
}

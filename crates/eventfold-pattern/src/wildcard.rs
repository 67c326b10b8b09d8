//! `wildcard` operands: `*` matches any run of characters (including none).
//!
//! `\*` is a literal star and `\\` a literal backslash; a backslash before anything else, a
//! trailing backslash and two unescaped stars in a row are errors, as in EventBridge.
//!
//! A compiled wildcard is its literal pieces between stars. The first piece must start the
//! value, the last must end it, and the ones between are found left to right: taking the
//! leftmost occurrence of each is always right for `*`, so matching never backtracks and costs
//! at most one substring search per piece.

use crate::error::PatternErrorKind;
use crate::limits::WILDCARD_STARS_MAX;

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
        let (first, rest) = self.pieces.split_first().expect("at least one piece");
        let Some((last, middle)) = rest.split_last() else {
            return value == &**first;
        };
        let Some(mut remaining) = value.strip_prefix(&**first) else {
            return false;
        };
        // The last piece is anchored at the end and must not overlap the first.
        let Some(head) = remaining.strip_suffix(&**last) else {
            return false;
        };
        remaining = head;
        for piece in middle {
            match remaining.find(&**piece) {
                Some(at) => remaining = &remaining[at + piece.len()..],
                None => return false,
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

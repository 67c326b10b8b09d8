//! Where in a pattern something is: the path an error points at.
//!
//! Keys join with `.` and array positions are `[n]`, so `data.price[1].numeric` is the
//! `numeric` operator of the second matcher of field `price` under `data`. A key that would
//! read ambiguously (empty, or holding `.`, `[`, `]`, `"`, `\`, whitespace or control
//! characters) is written as a quoted JSON string in brackets: `data["a.b"]`.

use std::fmt::Write;

/// One step into a pattern.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Segment<'a> {
    /// A field name or an operator name.
    Key(&'a str),
    /// A position in an array.
    Index(usize),
}

/// Writes `segments` as a path; the pattern's root is the empty string.
pub(crate) fn render(segments: &[Segment<'_>]) -> String {
    let mut path = String::new();
    for segment in segments {
        match segment {
            Segment::Key(key) if is_plain(key) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Segment::Key(key) => {
                let quoted = serde_json::Value::String((*key).to_owned());
                write!(path, "[{quoted}]").expect("writing to a String cannot fail");
            }
            Segment::Index(index) => {
                write!(path, "[{index}]").expect("writing to a String cannot fail");
            }
        }
    }
    path
}

/// Whether `key` can be written bare in a path without being misread.
fn is_plain(key: &str) -> bool {
    !key.is_empty()
        && !key.chars().any(|c| {
            matches!(c, '.' | '[' | ']' | '"' | '\\') || c.is_whitespace() || c.is_control()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_join_with_dots_and_indexes_use_brackets() {
        let segments = [
            Segment::Key("data"),
            Segment::Key("price"),
            Segment::Index(1),
            Segment::Key("numeric"),
        ];
        assert_eq!(render(&segments), "data.price[1].numeric");
    }

    #[test]
    fn ambiguous_keys_are_quoted() {
        let segments = [Segment::Key("a.b"), Segment::Key(""), Segment::Key("c")];
        assert_eq!(render(&segments), r#"["a.b"][""].c"#);
    }

    #[test]
    fn the_root_is_empty() {
        assert_eq!(render(&[]), "");
    }
}

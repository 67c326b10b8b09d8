//! The compiled matcher tree and how it matches an event.
//!
//! A [`Node`] is one pattern object: fields that must all match, then an optional `$or` whose
//! branches are nodes. A field either nests another node or holds a [`Leaf`]: the matchers of
//! one array, sorted by the type of value they can match. Matching reads the event in place
//! and allocates nothing.

use serde_json::{Map, Value};

use crate::limits::EVENT_ARRAY_DEPTH_MAX;
use crate::numeric::{NumberSet, Range};
use crate::text::{StringSet, StringTest};

/// One pattern object.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    /// All must match. Leaf fields come first: they are cheaper than nested ones.
    pub(crate) fields: Box<[Field]>,
    /// The `$or` branches, empty if there is no `$or`; otherwise one must match.
    pub(crate) any_of: Box<[Node]>,
    /// Whether this node matches an absent object (or a value that is not an object), which
    /// depends on the pattern alone: only `exists: false` matchers can match there.
    pub(crate) matches_absent: bool,
}

/// One field of a pattern object.
#[derive(Clone, Debug)]
pub(crate) struct Field {
    pub(crate) name: Box<str>,
    pub(crate) test: FieldTest,
}

#[derive(Clone, Debug)]
pub(crate) enum FieldTest {
    Leaf(Leaf),
    Nested(Node),
}

/// The matchers of one array; the field matches if any of them does.
#[derive(Clone, Debug, Default)]
pub(crate) struct Leaf {
    /// Literal strings.
    pub(crate) strings: StringSet,
    /// Literal numbers.
    pub(crate) numbers: NumberSet,
    /// `true` matches: a literal `true`, or any `anything-but`.
    pub(crate) matches_true: bool,
    /// `false` matches: a literal `false`, or any `anything-but`.
    pub(crate) matches_false: bool,
    /// `null` matches: a literal `null`, or any `anything-but`.
    pub(crate) matches_null: bool,
    /// Every string matches: there is an `anything-but` of numbers, which excludes none.
    pub(crate) any_string: bool,
    /// Every number matches: there is an `anything-but` of strings (any of its forms), which
    /// excludes none.
    pub(crate) any_number: bool,
    /// Operators on strings: `prefix`, `suffix`, `equals-ignore-case`, `wildcard`, `cidr` and
    /// the string forms of `anything-but`.
    pub(crate) string_tests: Box<[StringMatcher]>,
    /// Operators on numbers: `numeric` and the number forms of `anything-but`.
    pub(crate) number_tests: Box<[NumberMatcher]>,
    /// `exists: true`: the field holds a leaf value.
    pub(crate) exists: bool,
    /// `exists: false`: the field holds no leaf value.
    pub(crate) absent: bool,
}

/// A string operator, or (`negated`) an `anything-but` one.
#[derive(Clone, Debug)]
pub(crate) struct StringMatcher {
    pub(crate) test: StringTest,
    pub(crate) negated: bool,
}

#[derive(Clone, Debug)]
pub(crate) enum NumberMatcher {
    Range(Range),
    /// `anything-but` numbers.
    NoneOf(NumberSet),
}

impl Node {
    /// Whether `object` (`None` when absent or not an object) matches.
    pub(crate) fn matches(&self, object: Option<&Map<String, Value>>) -> bool {
        let Some(object) = object else {
            return self.matches_absent;
        };
        self.fields
            .iter()
            .all(|field| field.matches(object.get(&*field.name)))
            && (self.any_of.is_empty()
                || self
                    .any_of
                    .iter()
                    .any(|branch| branch.matches(Some(object))))
    }

    /// Whether a field's value matches this node: an object directly, an array if any of its
    /// elements does (the same element must satisfy every field), anything else as absent.
    fn matches_value(&self, value: Option<&Value>, depth: usize) -> bool {
        match value {
            Some(Value::Object(object)) => self.matches(Some(object)),
            Some(Value::Array(elements)) if depth < EVENT_ARRAY_DEPTH_MAX => {
                if elements.is_empty() {
                    return self.matches_absent;
                }
                elements
                    .iter()
                    .any(|element| self.matches_value(Some(element), depth + 1))
            }
            _ => self.matches_absent,
        }
    }
}

impl Field {
    fn matches(&self, value: Option<&Value>) -> bool {
        match &self.test {
            FieldTest::Leaf(leaf) => leaf.matches(value),
            FieldTest::Nested(node) => node.matches_value(value, 0),
        }
    }
}

impl Leaf {
    fn matches(&self, value: Option<&Value>) -> bool {
        match value {
            None | Some(Value::Object(_)) => self.absent,
            Some(Value::Array(elements)) => {
                let mut has_leaf = false;
                self.matches_any_element(elements, 0, &mut has_leaf)
                    || if has_leaf { self.exists } else { self.absent }
            }
            Some(scalar) => self.exists || self.matches_scalar(scalar),
        }
    }

    /// Whether any scalar in `elements` (looking into nested arrays) matches; notes in
    /// `has_leaf` whether there was any scalar at all.
    fn matches_any_element(&self, elements: &[Value], depth: usize, has_leaf: &mut bool) -> bool {
        elements.iter().any(|element| match element {
            Value::Object(_) => false,
            Value::Array(inner) if depth + 1 < EVENT_ARRAY_DEPTH_MAX => {
                self.matches_any_element(inner, depth + 1, has_leaf)
            }
            Value::Array(_) => false,
            scalar => {
                *has_leaf = true;
                self.matches_scalar(scalar)
            }
        })
    }

    fn matches_scalar(&self, value: &Value) -> bool {
        match value {
            Value::String(s) => {
                self.any_string
                    || self.strings.contains(s)
                    || self
                        .string_tests
                        .iter()
                        .any(|matcher| matcher.test.matches(s) != matcher.negated)
            }
            Value::Number(n) => {
                if self.any_number {
                    return true;
                }
                let Some(n) = n.as_f64() else {
                    return false;
                };
                self.numbers.contains(n)
                    || self.number_tests.iter().any(|matcher| match matcher {
                        NumberMatcher::Range(range) => range.contains(n),
                        NumberMatcher::NoneOf(excluded) => !excluded.contains(n),
                    })
            }
            Value::Bool(true) => self.matches_true,
            Value::Bool(false) => self.matches_false,
            Value::Null => self.matches_null,
            // Callers pass scalars only; containers are never leaf values.
            Value::Array(_) | Value::Object(_) => false,
        }
    }
}

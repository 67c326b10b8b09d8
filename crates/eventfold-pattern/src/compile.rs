//! Turns pattern JSON into the matcher tree, checking syntax and limits on the way.
//!
//! The compiler keeps the path to the value it is reading, so every error names the exact
//! spot; the path is only rendered into a string when there is an error.

use serde_json::{Map, Value};

use crate::cidr::Cidr;
use crate::error::{describe, PatternError, PatternErrorKind};
use crate::limits::{
    OR_BRANCHES_MAX, OR_BRANCHES_MIN, PATTERN_DEPTH_MAX, PATTERN_NODES_MAX, STRING_BYTES_MAX,
};
use crate::numeric::{number, NumberSet, Range};
use crate::path::{render, Segment};
use crate::text::{Folded, StringSet, StringTest};
use crate::tree::{Field, FieldTest, Leaf, Node, NumberMatcher, StringMatcher};
use crate::wildcard::Wildcard;

/// The key that makes a pattern object's `$or`.
const OR_KEY: &str = "$or";

/// Compiles a whole pattern.
pub(crate) fn compile(pattern: &Value) -> Result<Node, PatternError> {
    let mut compiler = Compiler {
        path: Vec::new(),
        nodes: 0,
    };
    let Value::Object(object) = pattern else {
        return Err(compiler.error(PatternErrorKind::NotAnObject {
            found: describe(pattern),
        }));
    };
    let root = compiler.object(object, 1)?;
    debug_assert!(compiler.path.is_empty());
    debug_assert!(compiler.nodes <= PATTERN_NODES_MAX);
    Ok(root)
}

struct Compiler<'a> {
    /// Where the value being compiled is. On error the compiler stops, so only the success
    /// paths pop what they pushed.
    path: Vec<Segment<'a>>,
    /// Nodes compiled so far, against [`PATTERN_NODES_MAX`].
    nodes: usize,
}

/// What one field of a pattern object compiles to.
enum Compiled {
    Field(Field),
    Or(Box<[Node]>),
}

/// A [`Leaf`] being filled from an array of matchers.
#[derive(Default)]
struct LeafBuilder {
    leaf: Leaf,
    strings: Vec<Box<str>>,
    numbers: Vec<f64>,
    string_tests: Vec<StringMatcher>,
    number_tests: Vec<NumberMatcher>,
}

impl LeafBuilder {
    /// An `anything-but` of strings: excludes the strings `test` passes, no other value.
    fn exclude_strings(&mut self, test: StringTest) {
        self.string_tests.push(StringMatcher {
            test,
            negated: true,
        });
        self.leaf.any_number = true;
        self.other_types_match();
    }

    /// An `anything-but` of numbers: excludes these, no other value.
    fn exclude_numbers(&mut self, excluded: NumberSet) {
        self.number_tests.push(NumberMatcher::NoneOf(excluded));
        self.leaf.any_string = true;
        self.other_types_match();
    }

    fn other_types_match(&mut self) {
        self.leaf.matches_true = true;
        self.leaf.matches_false = true;
        self.leaf.matches_null = true;
    }
}

impl<'a> Compiler<'a> {
    fn error(&self, kind: PatternErrorKind) -> PatternError {
        PatternError::new(render(&self.path), kind)
    }

    /// Counts one node against [`PATTERN_NODES_MAX`].
    fn count(&mut self) -> Result<(), PatternError> {
        self.nodes += 1;
        if self.nodes > PATTERN_NODES_MAX {
            return Err(self.error(PatternErrorKind::TooManyNodes));
        }
        Ok(())
    }

    fn checked<'s>(&self, string: &'s str) -> Result<&'s str, PatternError> {
        if string.len() > STRING_BYTES_MAX {
            let bytes = string.len();
            return Err(self.error(PatternErrorKind::StringTooLong { bytes }));
        }
        Ok(string)
    }

    /// Compiles a pattern object at nesting `depth` (the root is 1).
    fn object(
        &mut self,
        object: &'a Map<String, Value>,
        depth: usize,
    ) -> Result<Node, PatternError> {
        if depth > PATTERN_DEPTH_MAX {
            return Err(self.error(PatternErrorKind::TooDeep));
        }
        // The empty pattern matches every event; an empty nested object is a mistake.
        if depth > 1 && object.is_empty() {
            return Err(self.error(PatternErrorKind::EmptyObject));
        }
        let mut fields = Vec::with_capacity(object.len());
        let mut any_of: Box<[Node]> = Box::new([]);
        for (name, value) in object {
            self.path.push(Segment::Key(name));
            match self.field(name, value, depth)? {
                Compiled::Field(field) => fields.push(field),
                Compiled::Or(branches) => any_of = branches,
            }
            self.path.pop();
        }
        // Leaves first: they are cheaper to check, and a failing field ends the match.
        fields.sort_by_key(|field| matches!(field.test, FieldTest::Nested(_)));
        let matches_absent = fields.iter().all(|field| match &field.test {
            FieldTest::Leaf(leaf) => leaf.absent,
            FieldTest::Nested(node) => node.matches_absent,
        }) && (any_of.is_empty()
            || any_of.iter().any(|branch| branch.matches_absent));
        Ok(Node {
            fields: fields.into_boxed_slice(),
            any_of,
            matches_absent,
        })
    }

    fn field(
        &mut self,
        name: &'a str,
        value: &'a Value,
        depth: usize,
    ) -> Result<Compiled, PatternError> {
        self.count()?;
        self.checked(name)?;
        if name == OR_KEY {
            return Ok(Compiled::Or(self.or(value, depth)?));
        }
        let test = match value {
            Value::Object(object) => FieldTest::Nested(self.object(object, depth + 1)?),
            Value::Array(matchers) => FieldTest::Leaf(self.leaf(matchers)?),
            scalar => {
                let found = describe(scalar);
                return Err(self.error(PatternErrorKind::NotArrayOrObject { found }));
            }
        };
        Ok(Compiled::Field(Field {
            name: name.into(),
            test,
        }))
    }

    fn or(&mut self, value: &'a Value, depth: usize) -> Result<Box<[Node]>, PatternError> {
        let Value::Array(branches) = value else {
            let found = describe(value);
            return Err(self.error(PatternErrorKind::OrNotArray { found }));
        };
        if !(OR_BRANCHES_MIN..=OR_BRANCHES_MAX).contains(&branches.len()) {
            let branches = branches.len();
            return Err(self.error(PatternErrorKind::OrBranchCount { branches }));
        }
        let mut nodes = Vec::with_capacity(branches.len());
        for (index, branch) in branches.iter().enumerate() {
            self.path.push(Segment::Index(index));
            self.count()?;
            let Value::Object(object) = branch else {
                let found = describe(branch);
                return Err(self.error(PatternErrorKind::NotAnObject { found }));
            };
            nodes.push(self.object(object, depth + 1)?);
            self.path.pop();
        }
        Ok(nodes.into_boxed_slice())
    }

    /// Compiles an array of matchers.
    fn leaf(&mut self, matchers: &'a [Value]) -> Result<Leaf, PatternError> {
        if matchers.is_empty() {
            return Err(self.error(PatternErrorKind::EmptyArray));
        }
        let mut builder = LeafBuilder::default();
        for (index, matcher) in matchers.iter().enumerate() {
            self.path.push(Segment::Index(index));
            self.count()?;
            self.matcher(matcher, &mut builder)?;
            self.path.pop();
        }
        let LeafBuilder {
            mut leaf,
            strings,
            numbers,
            string_tests,
            number_tests,
        } = builder;
        leaf.strings = StringSet::new(strings);
        leaf.numbers = NumberSet::new(numbers);
        leaf.string_tests = string_tests.into_boxed_slice();
        leaf.number_tests = number_tests.into_boxed_slice();
        Ok(leaf)
    }

    fn matcher(
        &mut self,
        matcher: &'a Value,
        builder: &mut LeafBuilder,
    ) -> Result<(), PatternError> {
        match matcher {
            Value::String(s) => builder.strings.push(self.checked(s)?.into()),
            Value::Number(_) => builder.numbers.push(self.number(matcher)?),
            Value::Bool(true) => builder.leaf.matches_true = true,
            Value::Bool(false) => builder.leaf.matches_false = true,
            Value::Null => builder.leaf.matches_null = true,
            Value::Array(_) => {
                let found = describe(matcher);
                return Err(self.error(PatternErrorKind::InvalidMatcher { found }));
            }
            Value::Object(object) => {
                let (operator, operand) = self.single(object)?;
                self.path.push(Segment::Key(operator));
                self.operator(operator, operand, builder)?;
                self.path.pop();
            }
        }
        Ok(())
    }

    /// The one key and value of an operator object.
    fn single(&self, object: &'a Map<String, Value>) -> Result<(&'a str, &'a Value), PatternError> {
        let mut entries = object.iter();
        match (entries.next(), entries.next()) {
            (Some((key, value)), None) => Ok((key, value)),
            _ => {
                let keys = object.len();
                Err(self.error(PatternErrorKind::OperatorCount { keys }))
            }
        }
    }

    fn number(&self, value: &Value) -> Result<f64, PatternError> {
        number(value).ok_or_else(|| {
            self.error(PatternErrorKind::InvalidMatcher {
                found: "a number outside the range of f64",
            })
        })
    }

    fn operator(
        &mut self,
        operator: &'a str,
        operand: &'a Value,
        builder: &mut LeafBuilder,
    ) -> Result<(), PatternError> {
        let positive = |test| StringMatcher {
            test,
            negated: false,
        };
        match operator {
            "prefix" => {
                let test = self.affix(
                    operand,
                    "prefix",
                    StringTest::Prefix,
                    StringTest::PrefixIgnoreCase,
                )?;
                builder.string_tests.push(positive(test));
            }
            "suffix" => {
                let test = self.affix(
                    operand,
                    "suffix",
                    StringTest::Suffix,
                    StringTest::SuffixIgnoreCase,
                )?;
                builder.string_tests.push(positive(test));
            }
            "equals-ignore-case" => {
                let s = self.string(operand, "equals-ignore-case", "a string")?;
                builder
                    .string_tests
                    .push(positive(StringTest::EqualsIgnoreCase(Folded::new(s))));
            }
            "wildcard" => {
                let s = self.string(operand, "wildcard", "a string")?;
                builder.string_tests.push(positive(self.wildcard(s)?));
            }
            "anything-but" => self.anything_but(operand, builder)?,
            "cidr" => {
                let s = self.string(operand, "cidr", "a string such as \"10.0.0.0/24\"")?;
                let cidr = Cidr::compile(s).map_err(|kind| self.error(kind))?;
                builder.string_tests.push(positive(StringTest::Cidr(cidr)));
            }
            "numeric" => {
                let range = Range::compile(operand).map_err(|(index, kind)| {
                    let mut path = self.path.clone();
                    path.extend(index.map(Segment::Index));
                    PatternError::new(render(&path), kind)
                })?;
                builder.number_tests.push(NumberMatcher::Range(range));
            }
            "exists" => match operand {
                Value::Bool(true) => builder.leaf.exists = true,
                Value::Bool(false) => builder.leaf.absent = true,
                other => return Err(self.invalid_operand("exists", "true or false", other)),
            },
            unknown => {
                let operator = unknown.to_owned();
                return Err(self.error(PatternErrorKind::UnknownOperator { operator }));
            }
        }
        Ok(())
    }

    fn invalid_operand(
        &self,
        operator: &'static str,
        expected: &'static str,
        found: &Value,
    ) -> PatternError {
        let found = describe(found);
        self.error(PatternErrorKind::InvalidOperand {
            operator,
            expected,
            found,
        })
    }

    fn string(
        &self,
        operand: &'a Value,
        operator: &'static str,
        expected: &'static str,
    ) -> Result<&'a str, PatternError> {
        match operand {
            Value::String(s) => self.checked(s),
            other => Err(self.invalid_operand(operator, expected, other)),
        }
    }

    fn wildcard(&self, operand: &str) -> Result<StringTest, PatternError> {
        Wildcard::compile(operand)
            .map(StringTest::Wildcard)
            .map_err(|kind| self.error(kind))
    }

    /// `prefix` or `suffix`: a string, or `{"equals-ignore-case": string}`.
    fn affix(
        &mut self,
        operand: &'a Value,
        operator: &'static str,
        exact: fn(Box<str>) -> StringTest,
        ignoring_case: fn(Folded) -> StringTest,
    ) -> Result<StringTest, PatternError> {
        const EXPECTED: &str = "a string or {\"equals-ignore-case\": string}";
        match operand {
            Value::String(s) => Ok(exact(self.checked(s)?.into())),
            Value::Object(object) => match self.single(object)? {
                ("equals-ignore-case", inner) => {
                    self.path.push(Segment::Key("equals-ignore-case"));
                    let s = self.string(inner, "equals-ignore-case", "a string")?;
                    self.path.pop();
                    Ok(ignoring_case(Folded::new(s)))
                }
                _ => Err(self.invalid_operand(operator, EXPECTED, operand)),
            },
            other => Err(self.invalid_operand(operator, EXPECTED, other)),
        }
    }

    /// `anything-but`. A value of another type than the excluded ones is never excluded, so
    /// every form also matches `true`, `false` and `null`, the string forms every number and
    /// the number forms every string (as in EventBridge).
    fn anything_but(
        &mut self,
        operand: &'a Value,
        builder: &mut LeafBuilder,
    ) -> Result<(), PatternError> {
        match operand {
            Value::String(s) => {
                let set = StringSet::new(vec![self.checked(s)?.into()]);
                builder.exclude_strings(StringTest::In(set));
            }
            Value::Number(_) => {
                let excluded = NumberSet::new(vec![self.number(operand)?]);
                builder.exclude_numbers(excluded);
            }
            Value::Array(items) => self.anything_but_list(items, builder)?,
            Value::Object(object) => {
                let (operator, inner) = self.single(object)?;
                self.path.push(Segment::Key(operator));
                let test = match operator {
                    "prefix" => self.strings_or_list(inner, "prefix", |compiler, s| {
                        compiler.non_empty_affix(s, "prefix")?;
                        Ok(StringTest::Prefix(s.into()))
                    })?,
                    "suffix" => self.strings_or_list(inner, "suffix", |compiler, s| {
                        compiler.non_empty_affix(s, "suffix")?;
                        Ok(StringTest::Suffix(s.into()))
                    })?,
                    "equals-ignore-case" => {
                        self.strings_or_list(inner, "equals-ignore-case", |_, s| {
                            Ok(StringTest::EqualsIgnoreCase(Folded::new(s)))
                        })?
                    }
                    "wildcard" => {
                        self.strings_or_list(inner, "wildcard", |compiler, s| compiler.wildcard(s))?
                    }
                    unknown => {
                        let operator = unknown.to_owned();
                        return Err(
                            self.error(PatternErrorKind::UnsupportedInAnythingBut { operator })
                        );
                    }
                };
                self.path.pop();
                builder.exclude_strings(test);
            }
            other => {
                return Err(self.invalid_operand(
                    "anything-but",
                    "a string, a number, a list of either, or an object",
                    other,
                ))
            }
        }
        Ok(())
    }

    /// `anything-but` with a list: all strings or all numbers.
    fn anything_but_list(
        &mut self,
        items: &'a [Value],
        builder: &mut LeafBuilder,
    ) -> Result<(), PatternError> {
        let Some(first) = items.first() else {
            return Err(self.error(PatternErrorKind::EmptyList {
                operator: "anything-but",
            }));
        };
        let mut strings = Vec::new();
        let mut numbers = Vec::new();
        for (index, item) in items.iter().enumerate() {
            self.path.push(Segment::Index(index));
            self.count()?;
            match (first, item) {
                (Value::String(_), Value::String(s)) => strings.push(self.checked(s)?.into()),
                (Value::Number(_), Value::Number(_)) => numbers.push(self.number(item)?),
                _ => {
                    let found = describe(item);
                    return Err(self.error(PatternErrorKind::MixedAnythingBut { found }));
                }
            }
            self.path.pop();
        }
        if numbers.is_empty() {
            builder.exclude_strings(StringTest::In(StringSet::new(strings)));
        } else {
            builder.exclude_numbers(NumberSet::new(numbers));
        }
        Ok(())
    }

    /// Refuses an empty `anything-but` `prefix` or `suffix`, as EventBridge does.
    fn non_empty_affix(&self, s: &str, operator: &'static str) -> Result<(), PatternError> {
        if s.is_empty() {
            return Err(self.error(PatternErrorKind::EmptyAffix { operator }));
        }
        Ok(())
    }

    /// A string operand, or a non-empty list of them (any may match).
    fn strings_or_list(
        &mut self,
        operand: &'a Value,
        operator: &'static str,
        make: fn(&Self, &str) -> Result<StringTest, PatternError>,
    ) -> Result<StringTest, PatternError> {
        const EXPECTED: &str = "a string or a list of strings";
        match operand {
            Value::String(s) => make(self, self.checked(s)?),
            Value::Array(items) if items.is_empty() => {
                Err(self.error(PatternErrorKind::EmptyList { operator }))
            }
            Value::Array(items) => {
                let mut tests = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    self.path.push(Segment::Index(index));
                    self.count()?;
                    let s = self.string(item, operator, EXPECTED)?;
                    tests.push(make(self, s)?);
                    self.path.pop();
                }
                Ok(StringTest::AnyOf(tests.into_boxed_slice()))
            }
            other => Err(self.invalid_operand(operator, EXPECTED, other)),
        }
    }
}

//! `numeric` operands: one comparison (`["<", 10]`, `["=", 3.5]`) or a range, lower bound
//! first (`[">", 0, "<=", 5]`).
//!
//! Numbers compare as `f64`, so `5` and `5.0` are equal, and integers beyond 2^53 compare at
//! `f64` precision.

use serde_json::Value;

use crate::error::PatternErrorKind;

/// One end of a range.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Bound {
    value: f64,
    inclusive: bool,
}

/// A compiled `numeric` operand: the numbers between two optional bounds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Range {
    lower: Option<Bound>,
    upper: Option<Bound>,
}

/// Where a problem with a `numeric` operand is: the operand as a whole or one of its elements.
pub(crate) type NumericError = (Option<usize>, PatternErrorKind);

impl Range {
    /// Compiles a `numeric` operand.
    pub(crate) fn compile(operand: &Value) -> Result<Self, NumericError> {
        let invalid = |index, reason: &str| {
            let reason = reason.to_owned();
            Err((index, PatternErrorKind::InvalidNumeric { reason }))
        };
        let Value::Array(items) = operand else {
            return invalid(None, "expected an array such as [\">\", 0, \"<=\", 5]");
        };
        if items.len() != 2 && items.len() != 4 {
            return invalid(
                None,
                "expected [operator, number] or [operator, number, operator, number]",
            );
        }
        let first = comparison(items, 0)?;
        if items.len() == 2 {
            return Ok(first.alone());
        }
        let second = comparison(items, 2)?;
        let (Comparison::Lower(lower), Comparison::Upper(upper)) = (first, second) else {
            return match first {
                Comparison::Lower(_) => invalid(Some(2), "the second comparison must be < or <="),
                _ => invalid(Some(0), "a range starts with its lower bound, > or >="),
            };
        };
        let empty = lower.value > upper.value
            || (lower.value == upper.value && !(lower.inclusive && upper.inclusive));
        if empty {
            return invalid(
                None,
                "the range is empty: its lower bound is not below its upper bound",
            );
        }
        Ok(Self {
            lower: Some(lower),
            upper: Some(upper),
        })
    }

    pub(crate) fn contains(&self, value: f64) -> bool {
        let above = self
            .lower
            .is_none_or(|b| value > b.value || (b.inclusive && value == b.value));
        let below = self
            .upper
            .is_none_or(|b| value < b.value || (b.inclusive && value == b.value));
        above && below
    }
}

/// One operator and its number.
#[derive(Clone, Copy)]
enum Comparison {
    Equal(f64),
    Lower(Bound),
    Upper(Bound),
}

impl Comparison {
    fn alone(self) -> Range {
        match self {
            Self::Equal(value) => {
                let bound = Bound {
                    value,
                    inclusive: true,
                };
                Range {
                    lower: Some(bound),
                    upper: Some(bound),
                }
            }
            Self::Lower(bound) => Range {
                lower: Some(bound),
                upper: None,
            },
            Self::Upper(bound) => Range {
                lower: None,
                upper: Some(bound),
            },
        }
    }
}

/// Reads the operator at `items[at]` and the number after it.
fn comparison(items: &[Value], at: usize) -> Result<Comparison, NumericError> {
    let invalid =
        |index, reason: String| (Some(index), PatternErrorKind::InvalidNumeric { reason });
    let Some(operator) = items[at].as_str() else {
        return Err(invalid(
            at,
            "expected an operator: =, <, <=, > or >=".into(),
        ));
    };
    let value = number(&items[at + 1])
        .ok_or_else(|| invalid(at + 1, format!("expected a number after `{operator}`")))?;
    let bound = |inclusive| Bound { value, inclusive };
    match operator {
        "=" if items.len() == 2 => Ok(Comparison::Equal(value)),
        "=" => Err(invalid(at, "`=` cannot be part of a range".into())),
        ">" => Ok(Comparison::Lower(bound(false))),
        ">=" => Ok(Comparison::Lower(bound(true))),
        "<" => Ok(Comparison::Upper(bound(false))),
        "<=" => Ok(Comparison::Upper(bound(true))),
        other => Err(invalid(
            at,
            format!("unknown operator `{other}`; expected =, <, <=, > or >="),
        )),
    }
}

/// A JSON number as `f64`, or `None` for anything else.
pub(crate) fn number(value: &Value) -> Option<f64> {
    value.as_f64().filter(|n| n.is_finite())
}

/// Sets up to this size are searched linearly; larger ones are sorted and binary searched.
const NUMBER_SET_LINEAR_MAX: usize = 8;

/// A set of finite numbers (literal numbers, or the numbers an `anything-but` excludes).
#[derive(Clone, Debug, Default)]
pub(crate) struct NumberSet {
    /// Sorted by [`f64::total_cmp`], without duplicates, `-0.0` stored as `0.0` (so that the
    /// total order agrees with `==`).
    numbers: Box<[f64]>,
}

impl NumberSet {
    pub(crate) fn new(numbers: Vec<f64>) -> Self {
        let mut numbers: Vec<f64> = numbers.into_iter().map(zero_is_positive).collect();
        numbers.sort_unstable_by(f64::total_cmp);
        numbers.dedup();
        Self {
            numbers: numbers.into_boxed_slice(),
        }
    }

    pub(crate) fn contains(&self, value: f64) -> bool {
        if self.numbers.len() <= NUMBER_SET_LINEAR_MAX {
            self.numbers.contains(&value)
        } else {
            let value = zero_is_positive(value);
            self.numbers
                .binary_search_by(|n| n.total_cmp(&value))
                .is_ok()
        }
    }
}

/// `-0.0` as `0.0`, everything else unchanged.
fn zero_is_positive(n: f64) -> f64 {
    if n == 0.0 {
        0.0
    } else {
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_sets_find_members_at_any_size() {
        for size in [1, NUMBER_SET_LINEAR_MAX, NUMBER_SET_LINEAR_MAX + 1, 100] {
            let mut numbers: Vec<f64> = (0..size).map(|n| n as f64 * 1.5 - 10.0).collect();
            numbers.push(-0.0);
            let set = NumberSet::new(numbers.clone());
            for n in numbers {
                assert!(set.contains(n), "{n} in a set of {size}");
            }
            assert!(set.contains(0.0) && set.contains(-0.0));
            assert!(!set.contains(0.25));
            assert!(!set.contains(f64::MAX));
        }
    }
}

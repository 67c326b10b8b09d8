//! Every stream name the server reserves for its own state, and the names of the objects those
//! streams belong to (consumer groups, buses, rules).
//!
//! A user-chosen [`Name`] is 1 to 64 ASCII letters, digits, `_`, `-` or `.`; it can never
//! contain `:`. Reserved streams join their parts with `:`, so each
//! [`Reserved`] value has its own stream and [`Reserved::parse`] gives it back: no bus, rule or
//! group name can produce another object's stream (a property test proves it, parsing each
//! stream back). Every reserved
//! name starts with `$`, which HTTP clients cannot write to.
//!
//! | object | stream |
//! |---|---|
//! | group definitions | `$groups` |
//! | bus and rule definitions | `$buses` |
//! | one-time moves done | `$migrations` |
//! | a group's checkpoints | `$group:<group>:checkpoint` |
//! | a group's parked events | `$group:<group>:parked` |
//! | a bus's archive | `$bus:<bus>:archive` |
//! | the copies a bus's replays put back | `$bus:<bus>:replays` |
//! | a rule's checkpoints | `$bus:<bus>:rule:<rule>:checkpoint` |
//! | a rule's dead letters | `$bus:<bus>:rule:<rule>:dead` |
//!
//! A prefix filter of `$bus:<bus>:archive` therefore selects that bus's archive only, and
//! `$bus:<bus>:` everything of that bus. Streams of the earlier scheme (`$bus-<bus>`, …) are
//! moved by [`crate::migrate_names`] when the server opens.

use eventfold_store::{StreamName, STREAM_NAME_BYTES_MAX};

pub use eventfold_api::{Name, NAME_BYTES_MAX};

/// The stream of group definitions.
const GROUPS_STREAM: &str = "$groups";

/// The stream of bus and rule definitions.
const BUSES_STREAM: &str = "$buses";

/// The stream of one-time moves that are done (so a start does not look for them again).
const MIGRATIONS_STREAM: &str = "$migrations";

// The longest reserved name (a rule's checkpoints) is a valid stream name.
const _: () = assert!(
    "$bus::rule::checkpoint".len() + 2 * NAME_BYTES_MAX <= STREAM_NAME_BYTES_MAX,
    "reserved stream names must fit a stream name"
);

/// A stream the server keeps its own state in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reserved<'a> {
    /// `$groups`: group definitions.
    Groups,
    /// `$buses`: bus and rule definitions.
    Buses,
    /// `$migrations`: the one-time moves that are done.
    Migrations,
    /// A group's checkpoints.
    GroupCheckpoint(&'a Name),
    /// A group's parked events.
    GroupParked(&'a Name),
    /// A bus's archive: every event put on it, once.
    BusArchive(&'a Name),
    /// The copies replays of a bus's archive put back on it (its rules follow them too).
    BusReplays(&'a Name),
    /// A rule's checkpoints (bus, rule).
    RuleCheckpoint(&'a Name, &'a Name),
    /// A rule's dead letters (bus, rule).
    RuleDeadLetters(&'a Name, &'a Name),
}

impl Reserved<'_> {
    /// The stream's name.
    pub fn stream(self) -> StreamName {
        let name = match self {
            Self::Groups => GROUPS_STREAM.to_owned(),
            Self::Buses => BUSES_STREAM.to_owned(),
            Self::Migrations => MIGRATIONS_STREAM.to_owned(),
            Self::GroupCheckpoint(group) => format!("$group:{group}:checkpoint"),
            Self::GroupParked(group) => format!("$group:{group}:parked"),
            Self::BusArchive(bus) => format!("$bus:{bus}:archive"),
            Self::BusReplays(bus) => format!("$bus:{bus}:replays"),
            Self::RuleCheckpoint(bus, rule) => format!("$bus:{bus}:rule:{rule}:checkpoint"),
            Self::RuleDeadLetters(bus, rule) => format!("$bus:{bus}:rule:{rule}:dead"),
        };
        debug_assert!(self.stream_parts_are_names());
        StreamName::new(&name).expect("a reserved name fits a stream name (asserted above)")
    }

    fn stream_parts_are_names(self) -> bool {
        match self {
            Self::Groups | Self::Buses | Self::Migrations => true,
            Self::GroupCheckpoint(n)
            | Self::GroupParked(n)
            | Self::BusArchive(n)
            | Self::BusReplays(n) => Name::is_valid(n),
            Self::RuleCheckpoint(b, r) | Self::RuleDeadLetters(b, r) => {
                Name::is_valid(b) && Name::is_valid(r)
            }
        }
    }
}

/// Whether `stream` holds the checkpoints of a group or a rule. The server writes one whenever
/// such a task gets further, so no task may take passing one for progress: it would write
/// again, for ever.
pub fn holds_checkpoints(stream: &StreamName) -> bool {
    let parts: Vec<&str> = stream.as_str().split(':').collect();
    match parts.as_slice() {
        ["$group", group, "checkpoint"] => Name::is_valid(group),
        ["$bus", bus, "rule", rule, "checkpoint"] => Name::is_valid(bus) && Name::is_valid(rule),
        _ => false,
    }
}

/// A reserved stream, parsed from its name (owned parts): the inverse of [`Reserved::stream`].
#[cfg(test)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParsedReserved {
    Groups,
    Buses,
    Migrations,
    GroupCheckpoint(Name),
    GroupParked(Name),
    BusArchive(Name),
    BusReplays(Name),
    RuleCheckpoint(Name, Name),
    RuleDeadLetters(Name, Name),
}

#[cfg(test)]
impl ParsedReserved {
    /// The reserved stream named `stream`, if it is one.
    pub fn parse(stream: &str) -> Option<Self> {
        match stream {
            GROUPS_STREAM => return Some(Self::Groups),
            BUSES_STREAM => return Some(Self::Buses),
            MIGRATIONS_STREAM => return Some(Self::Migrations),
            _ => {}
        }
        let name = |text: &str| Name::parse("the", text).ok();
        let parts: Vec<&str> = stream.split(':').collect();
        match parts.as_slice() {
            ["$group", group, "checkpoint"] => name(group).map(Self::GroupCheckpoint),
            ["$group", group, "parked"] => name(group).map(Self::GroupParked),
            ["$bus", bus, "archive"] => name(bus).map(Self::BusArchive),
            ["$bus", bus, "replays"] => name(bus).map(Self::BusReplays),
            ["$bus", bus, "rule", rule, "checkpoint"] => {
                Some(Self::RuleCheckpoint(name(bus)?, name(rule)?))
            }
            ["$bus", bus, "rule", rule, "dead"] => {
                Some(Self::RuleDeadLetters(name(bus)?, name(rule)?))
            }
            _ => None,
        }
    }

    /// The same object, borrowed.
    pub fn as_reserved(&self) -> Reserved<'_> {
        match self {
            Self::Groups => Reserved::Groups,
            Self::Buses => Reserved::Buses,
            Self::Migrations => Reserved::Migrations,
            Self::GroupCheckpoint(g) => Reserved::GroupCheckpoint(g),
            Self::GroupParked(g) => Reserved::GroupParked(g),
            Self::BusArchive(b) => Reserved::BusArchive(b),
            Self::BusReplays(b) => Reserved::BusReplays(b),
            Self::RuleCheckpoint(b, r) => Reserved::RuleCheckpoint(b, r),
            Self::RuleDeadLetters(b, r) => Reserved::RuleDeadLetters(b, r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn names_are_checked() {
        assert!(Name::parse("group", "billing-v2.eu_1").is_ok());
        for bad in ["", "a b", "é", "a/b", "a:b", &"x".repeat(65)] {
            assert!(Name::parse("group", bad).is_err(), "{bad:?}");
        }
        let parsed: Result<Name, _> = serde_json::from_str("\"a:b\"");
        assert!(parsed.is_err());
    }

    /// The collisions of the earlier scheme, one by one.
    #[test]
    fn the_old_collisions_are_gone() {
        let n = |text: &str| Name::parse("x", text).unwrap();
        let (o, r) = (n("o"), n("r"));
        let forged = n("o-rule-r-checkpoint");
        assert_ne!(
            Reserved::BusArchive(&forged).stream(),
            Reserved::RuleCheckpoint(&o, &r).stream()
        );
        let (a, b_rule_c, a_rule_b, c) = (n("a"), n("b-rule-c"), n("a-rule-b"), n("c"));
        assert_ne!(
            Reserved::RuleCheckpoint(&a, &b_rule_c).stream(),
            Reserved::RuleCheckpoint(&a_rule_b, &c).stream()
        );
    }

    /// A prefix filter of one bus's archive matches no stream of another bus, nor any other
    /// stream of the same bus.
    #[test]
    fn an_archive_prefix_selects_one_archive() {
        let n = |text: &str| Name::parse("x", text).unwrap();
        let orders = n("orders");
        let prefix = Reserved::BusArchive(&orders).stream();
        for other in ["orders-eu", "orders.", "orders_", "order", "orders-archive"] {
            let other = n(other);
            let streams = [
                Reserved::BusReplays(&orders).stream(),
                Reserved::BusArchive(&other).stream(),
                Reserved::BusReplays(&other).stream(),
                Reserved::RuleCheckpoint(&other, &orders).stream(),
                Reserved::RuleDeadLetters(&other, &orders).stream(),
                Reserved::RuleCheckpoint(&orders, &other).stream(),
                Reserved::RuleDeadLetters(&orders, &other).stream(),
            ];
            for stream in streams {
                assert!(!stream.as_str().starts_with(prefix.as_str()), "{stream}");
            }
        }
    }

    /// Names made of the pieces of reserved names, so collisions are tried on purpose.
    fn tricky_name() -> impl Strategy<Value = Name> {
        let piece = prop_oneof![
            Just("rule".to_owned()),
            Just("checkpoint".to_owned()),
            Just("dead".to_owned()),
            Just("parked".to_owned()),
            Just("archive".to_owned()),
            Just("replays".to_owned()),
            Just("s".to_owned()),
            Just("bus".to_owned()),
            Just("group".to_owned()),
            "[a-z0-9_.]{1,6}",
        ];
        proptest::collection::vec(piece, 1..5).prop_filter_map("fits a name", |pieces| {
            Name::parse("x", &pieces.join("-")).ok()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Every object of random groups, buses and rules (names built to collide) has a stream
        /// of its own, and parsing that stream gives the object back.
        #[test]
        fn no_two_objects_share_a_stream(
            groups in proptest::collection::vec(tricky_name(), 0..6),
            buses in proptest::collection::vec(tricky_name(), 0..6),
            rules in proptest::collection::vec(tricky_name(), 0..6),
        ) {
            let mut objects = vec![Reserved::Groups, Reserved::Buses, Reserved::Migrations];
            for group in &groups {
                objects.push(Reserved::GroupCheckpoint(group));
                objects.push(Reserved::GroupParked(group));
            }
            for bus in &buses {
                objects.push(Reserved::BusArchive(bus));
                objects.push(Reserved::BusReplays(bus));
                for rule in &rules {
                    objects.push(Reserved::RuleCheckpoint(bus, rule));
                    objects.push(Reserved::RuleDeadLetters(bus, rule));
                }
            }
            objects.sort();
            objects.dedup();
            let mut owners = BTreeMap::new();
            for object in objects {
                let stream = object.stream();
                let checkpoints = matches!(
                    object,
                    Reserved::GroupCheckpoint(_) | Reserved::RuleCheckpoint(..)
                );
                prop_assert_eq!(holds_checkpoints(&stream), checkpoints, "{}", stream);
                let parsed = ParsedReserved::parse(stream.as_str());
                prop_assert_eq!(parsed.as_ref().map(ParsedReserved::as_reserved), Some(object));
                if let Some(earlier) = owners.insert(stream.clone(), object) {
                    prop_assert!(false, "{:?} and {:?} share {}", earlier, object, stream);
                }
            }
        }

        /// No user stream name parses as reserved unless it starts with `$`.
        #[test]
        fn only_dollar_names_are_reserved(name in "[^$][ -~]{0,40}") {
            prop_assert!(ParsedReserved::parse(&name).is_none());
            if let Ok(stream) = StreamName::new(&name) {
                prop_assert!(!holds_checkpoints(&stream));
            }
        }
    }
}

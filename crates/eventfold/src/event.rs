//! Domain events: user enums stored with a stable type name per variant and a schema version.
//!
//! An event enum derives serde's `Serialize` and `Deserialize` in its default (externally
//! tagged) form, and implements [`DomainEvent`]. The variant's name (or its `#[serde(rename)]`)
//! becomes the stored event type, its fields the event's JSON data, and the enum's
//! [`DomainEvent::SCHEMA_VERSION`] goes into the event's metadata, so [`Upcasters`] can bring old
//! shapes up to date on read.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use eventfold_core::{NewEvent, RecordedEvent, StreamName, Timestamp};

use crate::SdkError;

/// An event type of a domain: a serde enum whose variants are the events.
pub trait DomainEvent: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The schema version this code writes. Raise it when a variant's data changes shape, and
    /// register an upcaster from the previous version.
    const SCHEMA_VERSION: u32 = 1;
}

/// A reference to one stored event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRef {
    /// Its stream.
    pub stream: StreamName,
    /// Its revision in that stream.
    pub revision: u64,
    /// Its id.
    pub id: Uuid,
}

impl EventRef {
    /// The reference of a recorded event.
    pub fn of(event: &RecordedEvent) -> Self {
        Self {
            stream: event.stream.clone(),
            revision: event.revision.0,
            id: event.id,
        }
    }
}

/// What the SDK keeps in an event's metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    /// The schema version the event's data was written with.
    #[serde(rename = "schema", default = "first_version")]
    pub schema_version: u32,
    /// Set on a compensating event: the event it reverses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverses: Option<EventRef>,
}

fn first_version() -> u32 {
    1
}

impl EventMetadata {
    /// The metadata of a new event of type `E`: its current schema version.
    pub fn default_for<E: DomainEvent>() -> Self {
        Self {
            schema_version: E::SCHEMA_VERSION,
            reverses: None,
        }
    }

    /// The SDK metadata of a recorded event. Events written without it (by other tools) count
    /// as schema version 1.
    pub fn of(event: &RecordedEvent) -> Self {
        serde_json::from_slice(&event.metadata).unwrap_or(Self {
            schema_version: 1,
            reverses: None,
        })
    }
}

/// The stored type name and JSON data of a domain event.
pub fn encode<E: DomainEvent>(event: &E) -> Result<(String, Value), SdkError> {
    let encode_error = |reason: String| SdkError::Encode {
        what: "domain event",
        reason,
    };
    match serde_json::to_value(event).map_err(|e| encode_error(e.to_string()))? {
        Value::String(name) => Ok((name, Value::Null)),
        Value::Object(map) if map.len() == 1 => {
            let (name, data) = map.into_iter().next().expect("one entry");
            Ok((name, data))
        }
        other => Err(encode_error(format!(
            "expected an externally tagged enum variant, got {other}"
        ))),
    }
}

/// A domain event ready to append, with the SDK's metadata.
pub fn to_new_event<E: DomainEvent>(
    event: &E,
    metadata: &EventMetadata,
    occurred_at: Option<Timestamp>,
) -> Result<NewEvent, SdkError> {
    let (event_type, data) = encode(event)?;
    let metadata = serde_json::to_value(metadata).expect("metadata serialises");
    let mut new = NewEvent::json(event_type, &data).with_metadata(&metadata);
    new.occurred_at = occurred_at;
    Ok(new)
}

/// A stored event decoded into the domain's type.
#[derive(Clone, Debug)]
pub struct Decoded<E> {
    /// The domain event, brought up to the current schema.
    pub event: E,
    /// The event as stored.
    pub recorded: RecordedEvent,
    /// Its SDK metadata.
    pub metadata: EventMetadata,
}

type UpcastStep = Box<dyn Fn(String, Value) -> Result<(String, Value), String> + Send + Sync>;

/// Functions that bring events written with an older schema version up to the current one, on
/// read. A step is registered for an event type and the version it upgrades from; types with no
/// step for a version pass through it unchanged.
#[derive(Default)]
pub struct Upcasters {
    steps: HashMap<(String, u32), UpcastStep>,
}

impl Upcasters {
    /// No upcasters: every event is read as stored.
    pub fn new() -> Self {
        Self::default()
    }

    /// Upgrades the data of `event_type` events from schema version `from` to `from + 1`.
    pub fn data(
        self,
        event_type: &str,
        from: u32,
        step: impl Fn(Value) -> Result<Value, String> + Send + Sync + 'static,
    ) -> Self {
        self.step(event_type, from, move |name, data| Ok((name, step(data)?)))
    }

    /// Upgrades `event_type` events from schema version `from` to `from + 1`, type name and data
    /// (a rename, a split of one type into another).
    pub fn step(
        mut self,
        event_type: &str,
        from: u32,
        step: impl Fn(String, Value) -> Result<(String, Value), String> + Send + Sync + 'static,
    ) -> Self {
        self.steps
            .insert((event_type.to_owned(), from), Box::new(step));
        self
    }

    /// `event_type` and `data` written at schema `version`, brought up to `current`.
    pub fn upcast(
        &self,
        mut event_type: String,
        mut data: Value,
        version: u32,
        current: u32,
    ) -> Result<(String, Value), String> {
        if version > current {
            return Err(format!(
                "written with schema version {version}, newer than this code's {current}"
            ));
        }
        for from in version..current {
            if let Some(step) = self.steps.get(&(event_type.clone(), from)) {
                (event_type, data) = step(event_type, data)?;
            }
        }
        Ok((event_type, data))
    }
}

/// Decodes a recorded event into `E`, upcasting it to the current schema.
pub fn decode<E: DomainEvent>(
    recorded: &RecordedEvent,
    upcasters: &Upcasters,
) -> Result<Decoded<E>, SdkError> {
    let fail = |reason: String| SdkError::Decode {
        stream: recorded.stream.clone(),
        revision: recorded.revision.0,
        event_type: recorded.event_type.clone(),
        reason,
    };
    let metadata = EventMetadata::of(recorded);
    let data: Value = if recorded.data.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&recorded.data).map_err(|e| fail(format!("data: {e}")))?
    };
    let (event_type, data) = upcasters
        .upcast(
            recorded.event_type.clone(),
            data,
            metadata.schema_version,
            E::SCHEMA_VERSION,
        )
        .map_err(fail)?;
    let tagged = match data {
        Value::Null => Value::String(event_type),
        data => Value::Object([(event_type, data)].into_iter().collect()),
    };
    let event = serde_json::from_value(tagged).map_err(|e| fail(e.to_string()))?;
    Ok(Decoded {
        event,
        recorded: recorded.clone(),
        metadata,
    })
}

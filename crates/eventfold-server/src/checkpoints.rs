//! Checkpoints of the server's own tasks (consumer groups, bus rules): positions saved as an
//! event of a stream of the store, `{"<field>": n, …, "incarnation": r}`, where `r` is the revision
//! of the configuration log (`$groups`, `$buses`) that created the task. A group or rule deleted
//! and created again under the same name is another incarnation: it never resumes from a
//! position its predecessor saved — say, the last save of a node that was still stopping it.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use eventfold_store::{
    Direction, EventStore, ExpectedRevision, NewEvent, ReadStream, StoreError, StreamFrom,
    StreamName,
};

/// How many of the last checkpoints a load looks through for its incarnation's (groups keep
/// this many visible).
pub const CHECKPOINTS_KEPT: usize = 4;

/// The last checkpoint saved in `stream` by `incarnation`: its fields besides `incarnation`,
/// as a `T` (a checkpoint from before incarnations were recorded counts as any incarnation's);
/// `None` when there is none. A checkpoint that is not a `T` is damage, said so.
pub async fn load<T: DeserializeOwned>(
    store: &dyn EventStore,
    stream: &StreamName,
    incarnation: u64,
) -> Result<Option<T>, StoreError> {
    let request = ReadStream {
        from: StreamFrom::End,
        direction: Direction::Backward,
        limit: CHECKPOINTS_KEPT,
        ..Default::default()
    };
    let events = match store.read_stream(stream, request).await {
        Ok(events) => events,
        Err(StoreError::StreamNotFound(_)) => return Ok(None),
        Err(error) => return Err(error),
    };
    for event in &events {
        let not_a_checkpoint =
            |why: &str| crate::dead_letters::corrupt(event, &format!("not a checkpoint: {why}"));
        let mut saved: Map<String, Value> = serde_json::from_slice(&event.data)
            .map_err(|error| not_a_checkpoint(&error.to_string()))?;
        let saved_by = saved
            .remove("incarnation")
            .map(|value| {
                value
                    .as_u64()
                    .ok_or_else(|| not_a_checkpoint("`incarnation` is not a number"))
            })
            .transpose()?;
        let checkpoint = T::deserialize(Value::Object(saved))
            .map_err(|error| not_a_checkpoint(&error.to_string()))?;
        if saved_by.is_none_or(|saved_by| saved_by == incarnation) {
            return Ok(Some(checkpoint));
        }
    }
    Ok(None)
}

/// Saves `checkpoint` (a struct: its fields) in `stream`, for `incarnation`.
pub async fn save<T: Serialize>(
    store: &dyn EventStore,
    stream: &StreamName,
    checkpoint: &T,
    incarnation: u64,
) -> Result<(), StoreError> {
    let mut fields = serde_json::to_value(checkpoint).expect("checkpoints serialise");
    let Value::Object(fields) = &mut fields else {
        unreachable!("a checkpoint is a struct");
    };
    fields.insert("incarnation".into(), incarnation.into());
    let event = NewEvent::json("Checkpoint", &fields);
    store
        .append(stream, ExpectedRevision::Any, vec![event])
        .await
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventfold_store::embedded::{EmbeddedStore, Options};

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Cursor {
        cursor: u64,
    }

    /// A node still stopping a task's earlier incarnation saves its position after the new one
    /// began: the new one does not resume from it.
    #[tokio::test]
    async fn a_checkpoint_of_an_earlier_incarnation_is_not_resumed_from() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path(), Options::default()).unwrap();
        let stream = StreamName::new("$group:g:checkpoint").unwrap();
        let load = |incarnation| load::<Cursor>(&store, &stream, incarnation);
        let at = |cursor| Some(Cursor { cursor });
        assert_eq!(load(7).await.unwrap(), None);
        save(&store, &stream, &Cursor { cursor: 40 }, 7)
            .await
            .unwrap();
        save(&store, &stream, &Cursor { cursor: 90 }, 2)
            .await
            .unwrap();
        assert_eq!(load(7).await.unwrap(), at(40));
        assert_eq!(load(2).await.unwrap(), at(90));
        assert_eq!(load(9).await.unwrap(), None);
        // A checkpoint written before incarnations existed belongs to whichever task loads it.
        let legacy = NewEvent::new("Checkpoint", r#"{"cursor": 55}"#);
        store
            .append(&stream, ExpectedRevision::Any, vec![legacy])
            .await
            .unwrap();
        assert_eq!(load(9).await.unwrap(), at(55));
        // Anything else is damage, said so.
        let damaged = NewEvent::new("Checkpoint", r#"{"next": 1}"#);
        store
            .append(&stream, ExpectedRevision::Any, vec![damaged])
            .await
            .unwrap();
        assert!(load(9).await.is_err());
    }
}

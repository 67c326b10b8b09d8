//! The idempotency window: where the most recent event ids were written.

use std::collections::{HashMap, VecDeque};

use uuid::Uuid;

use eventfold_core::{StoreError, StreamName};
use parking_lot::RwLock;

use super::format;
use super::index::Index;
use super::reader;

/// Where an event id was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenAt {
    pub stream: StreamName,
    pub revision: u64,
    pub position: u64,
}

/// The last `capacity` event ids written, oldest forgotten first.
pub struct RecentIds {
    by_id: HashMap<Uuid, WrittenAt>,
    order: VecDeque<Uuid>,
    capacity: usize,
}

impl RecentIds {
    /// An empty window of `capacity` ids.
    pub fn new(capacity: usize) -> Self {
        assert!(capacity > 0, "the window holds at least one id");
        Self {
            by_id: HashMap::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    /// A window holding the ids of the last `capacity` events of the log, so retries are
    /// recognised across a restart too.
    pub fn load(index: &RwLock<Index>, capacity: usize) -> Result<Self, StoreError> {
        let head = index.read().next_position;
        let first = head.saturating_sub(capacity as u64);
        let mut window = Self::new(capacity);
        window.by_id.reserve((head - first) as usize);
        window.order.reserve((head - first) as usize);
        let mut names: HashMap<Box<str>, StreamName> = HashMap::new();
        let mut position = first;
        while position < head {
            let chunk: Vec<u64> = (position..head.min(position + 8192)).collect();
            let mut at = position;
            reader::visit_events(index, &chunk, |body| {
                let (revision, id, stream) = format::peek_event_identity(&body)?;
                let stream = match names.get(stream) {
                    Some(name) => name.clone(),
                    None => {
                        let name = StreamName::new(stream).map_err(|e| e.to_string())?;
                        names.insert(stream.into(), name.clone());
                        name
                    }
                };
                window.insert(
                    id,
                    WrittenAt {
                        stream,
                        revision,
                        position: at,
                    },
                );
                at += 1;
                Ok(())
            })?;
            position += chunk.len() as u64;
        }
        Ok(window)
    }

    /// Remembers that `id` was written at `at`.
    pub fn insert(&mut self, id: Uuid, at: WrittenAt) {
        if self.by_id.insert(id, at).is_none() {
            self.order.push_back(id);
        }
        while self.order.len() > self.capacity {
            let oldest = self.order.pop_front().expect("longer than capacity");
            self.by_id.remove(&oldest);
        }
    }

    /// Where `id` was written, if it is still in the window.
    pub fn get(&self, id: &Uuid) -> Option<&WrittenAt> {
        self.by_id.get(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_the_oldest_beyond_capacity() {
        let stream = StreamName::new("s").unwrap();
        let mut window = RecentIds::new(2);
        for n in 0..3u128 {
            let at = WrittenAt {
                stream: stream.clone(),
                revision: n as u64,
                position: n as u64,
            };
            window.insert(Uuid::from_u128(n), at);
        }
        assert!(window.get(&Uuid::from_u128(0)).is_none());
        assert_eq!(window.get(&Uuid::from_u128(2)).unwrap().revision, 2);
    }
}

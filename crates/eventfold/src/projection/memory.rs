//! A read model in memory: for tests, and for models rebuilt at every start.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use super::ReadModel;
use crate::SdkError;

/// A read model of type `T` in memory, shared: clones are handles on the same model, so one
/// goes to the [`super::Projector`] and others answer queries ([`Self::read`]).
///
/// A transaction holds the model's lock, so readers see each batch of events and its checkpoint
/// change together. Memory cannot roll back: when a projection fails half-way through a batch,
/// the model is marked failed, and every later transaction is refused until a rebuild
/// ([`super::Projector::rebuild`]) starts it over.
pub struct MemoryReadModel<T> {
    shared: Arc<Mutex<Shared<T>>>,
}

impl<T> Clone for MemoryReadModel<T> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

struct Shared<T> {
    model: T,
    checkpoints: HashMap<(String, u32), u64>,
    active: HashMap<String, u32>,
    failed: Option<String>,
}

/// A transaction on a [`MemoryReadModel`].
pub struct MemoryTx<'a, T> {
    /// The model.
    pub model: &'a mut T,
    checkpoints: &'a mut HashMap<(String, u32), u64>,
    active: &'a mut HashMap<String, u32>,
    /// Set by a rebuild's purge: the failure mark is cleared when the transaction commits.
    purged: bool,
}

impl<T: Default> Default for MemoryReadModel<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> MemoryReadModel<T> {
    /// A read model starting as `model`, with no checkpoints.
    pub fn new(model: T) -> Self {
        Self {
            shared: Arc::new(Mutex::new(Shared {
                model,
                checkpoints: HashMap::new(),
                active: HashMap::new(),
                failed: None,
            })),
        }
    }

    /// Reads the model.
    pub fn read<R>(&self, query: impl FnOnce(&T) -> R) -> R {
        query(&self.shared.lock().model)
    }
}

impl<T: Send + 'static> ReadModel for MemoryReadModel<T> {
    type Tx<'a> = MemoryTx<'a, T>;

    fn transaction<R>(
        &mut self,
        work: impl FnOnce(&mut Self::Tx<'_>) -> Result<R, SdkError>,
    ) -> Result<R, SdkError> {
        let mut shared = self.shared.lock();
        let Shared {
            model,
            checkpoints,
            active,
            failed,
        } = &mut *shared;
        let mut tx = MemoryTx {
            model,
            checkpoints,
            active,
            purged: false,
        };
        let result = work(&mut tx);
        let purged = tx.purged;
        match result {
            Ok(value) if purged || failed.is_none() => {
                *failed = None;
                Ok(value)
            }
            Ok(_) => Err(SdkError::ReadModel(format!(
                "the in-memory read model failed earlier ({}); rebuild it",
                failed.as_deref().unwrap_or_default()
            ))),
            Err(error) => {
                *failed = Some(error.to_string());
                Err(error)
            }
        }
    }

    fn started_over(tx: &mut Self::Tx<'_>) {
        tx.purged = true;
    }

    fn checkpoint(
        tx: &mut Self::Tx<'_>,
        name: &str,
        version: u32,
    ) -> Result<Option<u64>, SdkError> {
        Ok(tx.checkpoints.get(&(name.to_owned(), version)).copied())
    }

    fn set_checkpoint(
        tx: &mut Self::Tx<'_>,
        name: &str,
        version: u32,
        next: Option<u64>,
    ) -> Result<(), SdkError> {
        let key = (name.to_owned(), version);
        match next {
            Some(next) => tx.checkpoints.insert(key, next),
            None => tx.checkpoints.remove(&key),
        };
        Ok(())
    }

    fn active_version(tx: &mut Self::Tx<'_>, name: &str) -> Result<Option<u32>, SdkError> {
        Ok(tx.active.get(name).copied())
    }

    fn set_active_version(tx: &mut Self::Tx<'_>, name: &str, version: u32) -> Result<(), SdkError> {
        tx.active.insert(name.to_owned(), version);
        Ok(())
    }
}

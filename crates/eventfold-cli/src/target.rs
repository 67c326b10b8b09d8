//! Where the store commands act: the embedded store in a data directory, or a server.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use eventfold_client::Client;
use eventfold_store::embedded::{EmbeddedStore, Options};
use eventfold_store::EventStore;

/// The store a command talks to.
pub enum Target {
    /// The embedded store in this data directory.
    Data(PathBuf),
    /// The server at this URL.
    Server(String),
}

/// An open store, closed cleanly by [`Opened::close`].
pub struct Opened {
    store: Arc<dyn EventStore>,
    embedded: Option<EmbeddedStore>,
}

impl Target {
    /// Opens the store to write: the data directory's lock is taken, or the server is used.
    pub fn open_to_write(&self) -> anyhow::Result<Opened> {
        match self {
            Target::Data(data) => {
                let store = EmbeddedStore::open(data, Options::default())
                    .with_context(|| format!("opening the data directory {}", data.display()))?;
                Ok(Opened {
                    store: Arc::new(store.clone()),
                    embedded: Some(store),
                })
            }
            Target::Server(url) => Self::server(url),
        }
    }

    /// Opens the store to read, beside whichever process writes to a data directory.
    pub fn open_to_read(&self) -> anyhow::Result<Opened> {
        match self {
            Target::Data(data) => {
                let store = EmbeddedStore::open_read_only(data, Options::default())
                    .with_context(|| format!("opening the data directory {}", data.display()))?;
                Ok(Opened {
                    store: Arc::new(store.clone()),
                    embedded: Some(store),
                })
            }
            Target::Server(url) => Self::server(url),
        }
    }

    fn server(url: &str) -> anyhow::Result<Opened> {
        let client = Client::new(url)?;
        Ok(Opened {
            store: Arc::new(client),
            embedded: None,
        })
    }
}

impl Opened {
    /// The store.
    pub fn store(&self) -> &dyn EventStore {
        &*self.store
    }

    /// Makes everything durable and releases the data directory (nothing to do for a server).
    pub async fn close(self) {
        if let Some(store) = self.embedded {
            store.close().await;
        }
    }
}

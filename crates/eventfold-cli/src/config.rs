//! The optional configuration file (TOML). Flags and `EVENTFOLD_*` environment variables win
//! over it; it wins over the defaults.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// The largest configuration file read, in bytes.
const CONFIG_BYTES_MAX: u64 = 1 << 20;

/// What the file may set.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The data directory (`--data`).
    pub data: Option<PathBuf>,
    /// The server's settings (`eventfold serve`).
    #[serde(default)]
    pub serve: ServeConfig,
}

/// `[serve]` in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    pub listen: Option<String>,
    pub body_bytes_max: Option<usize>,
    pub request_timeout_secs: Option<u64>,
    pub subscribers_max: Option<usize>,
    pub group_subscribers_max: Option<usize>,
    pub header_timeout_secs: Option<u64>,
    pub idle_timeout_secs: Option<u64>,
    pub connections_max: Option<usize>,
    pub shutdown_grace_secs: Option<u64>,
    pub page_bytes_max: Option<usize>,
    pub pages_in_flight_max: Option<usize>,
    pub group_buffer_bytes_max: Option<usize>,
}

impl ConfigFile {
    /// Reads `path`, or gives the empty configuration when there is none.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let size = std::fs::metadata(path)
            .with_context(|| format!("reading the configuration file {}", path.display()))?
            .len();
        if size > CONFIG_BYTES_MAX {
            anyhow::bail!(
                "the configuration file {} is larger than 1 MiB",
                path.display()
            );
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the configuration file {}", path.display()))?;
        toml::from_str(&text)
            .with_context(|| format!("in the configuration file {}", path.display()))
    }
}

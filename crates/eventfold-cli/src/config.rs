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
    pub cors_origins: Option<Vec<String>>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_configuration_file_is_valid_and_says_the_defaults() {
        let text = include_str!("../../../contrib/eventfold.toml");
        let file: ConfigFile = toml::from_str(text).unwrap();
        assert_eq!(file.data.as_deref(), Some(Path::new("/var/lib/eventfold")));
        let serve = file.serve;
        let defaults = eventfold_server::ServerConfig::default();
        assert_eq!(serve.listen.as_deref(), Some("127.0.0.1:7117"));
        assert_eq!(serve.body_bytes_max, Some(defaults.body_bytes_max));
        assert_eq!(
            serve.request_timeout_secs,
            Some(defaults.request_timeout.as_secs())
        );
        assert_eq!(serve.subscribers_max, Some(defaults.subscribers_max));
        assert_eq!(
            serve.group_subscribers_max,
            Some(defaults.group_subscribers_max)
        );
        assert_eq!(serve.page_bytes_max, Some(defaults.page_bytes_max));
        assert_eq!(
            serve.pages_in_flight_max,
            Some(defaults.pages_in_flight_max)
        );
        assert_eq!(
            serve.group_buffer_bytes_max,
            Some(defaults.group_buffer_bytes_max)
        );
        let connections = defaults.connections;
        assert_eq!(serve.connections_max, Some(connections.connections_max));
        assert_eq!(
            serve.header_timeout_secs,
            Some(connections.header_timeout.as_secs())
        );
        assert_eq!(
            serve.idle_timeout_secs,
            Some(connections.idle_timeout.as_secs())
        );
        assert_eq!(
            serve.shutdown_grace_secs,
            Some(connections.shutdown_grace.as_secs())
        );
    }
}

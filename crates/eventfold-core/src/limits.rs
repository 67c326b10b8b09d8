//! Size limits on everything a client sends.

/// The limits an event store enforces on appends. Every one has a typed error when exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest event: data + metadata + type + content type, in bytes.
    pub event_bytes_max: usize,
    /// The largest append: the sum of its events' sizes, in bytes.
    pub append_bytes_max: usize,
    /// The most events in one append.
    pub append_events_max: usize,
    /// The longest event type name, in bytes.
    pub event_type_bytes_max: usize,
    /// The longest content type, in bytes.
    pub content_type_bytes_max: usize,
    /// The largest stream metadata document (JSON), in bytes.
    pub stream_metadata_bytes_max: usize,
    /// The most events one read returns.
    pub read_events_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            event_bytes_max: 1 << 20,
            append_bytes_max: 16 << 20,
            append_events_max: 10_000,
            event_type_bytes_max: 256,
            content_type_bytes_max: 128,
            stream_metadata_bytes_max: 64 << 10,
            read_events_max: 10_000,
        }
    }
}

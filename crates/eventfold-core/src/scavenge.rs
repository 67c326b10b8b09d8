//! What a scavenge (the removal of hidden events from disk) reports.

/// Where a scavenge is.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScavengeProgress {
    /// Closed segments to examine.
    pub segments_total: u64,
    /// Closed segments examined so far.
    pub segments_done: u64,
    /// Of those, the segments rewritten (the others hid nothing not erased already).
    pub segments_rewritten: u64,
    /// Events erased.
    pub events_erased: u64,
    /// Bytes of the rewritten segments' files before (zeros preallocated after the data
    /// included).
    pub bytes_before: u64,
    /// Bytes of the rewritten segments after.
    pub bytes_after: u64,
}

impl ScavengeProgress {
    /// The disk space given back.
    pub fn bytes_reclaimed(&self) -> u64 {
        self.bytes_before.saturating_sub(self.bytes_after)
    }
}

//! The retry back-off consumer groups and bus rules share.

use std::time::Duration;

/// The delay after attempt number `attempt` (1-based): `base_ms` doubled per earlier attempt,
/// at most `max_ms`.
pub fn backoff(base_ms: u64, max_ms: u64, attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(32);
    Duration::from_millis(base_ms.saturating_mul(1u64 << doublings).min(max_ms))
}

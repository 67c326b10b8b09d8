//! Names of server-side objects (consumer groups, buses, rules) and the retry back-off they
//! share.

use std::time::Duration;

use crate::ApiError;

/// The delay after attempt number `attempt` (1-based): `base_ms` doubled per earlier attempt,
/// at most `max_ms`.
pub fn backoff(base_ms: u64, max_ms: u64, attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(32);
    Duration::from_millis(base_ms.saturating_mul(1u64 << doublings).min(max_ms))
}

/// The longest name of a group, bus or rule, in bytes.
pub const NAME_BYTES_MAX: usize = 64;

/// Checks the name of a `kind` ("group", "bus", "rule"): 1 to 64 ASCII letters, digits, `_`,
/// `-` or `.` (they become parts of stream names).
pub fn check_name(kind: &str, name: &str) -> Result<(), ApiError> {
    let valid = !name.is_empty()
        && name.len() <= NAME_BYTES_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if valid {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "{kind} name `{}`: use 1 to {NAME_BYTES_MAX} ASCII letters, digits, `_`, `-` or `.`",
            name.chars().take(80).collect::<String>()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_name("group", "billing-v2.eu_1").is_ok());
        for bad in ["", "a b", "é", "a/b", &"x".repeat(65)] {
            assert!(check_name("group", bad).is_err(), "{bad:?}");
        }
    }
}

//! Location id validation.

use super::FileError;

/// Longest location id accepted, in bytes (a file name on common file systems).
const MAX_LOCATION_ID_BYTES: usize = 255;

/// Checks that `location_id` is safe to use as a file name.
///
/// Rejected (as `backup-format.md` §4 says the official SDK does, plus the
/// empty string and names over 255 bytes): `.`, `..`, anything containing
/// `/`, `\` or a control character (NUL included). Current Instant servers
/// use UUIDs.
///
/// # Errors
/// [`FileError::InvalidLocationId`] naming the input.
pub fn validate_location_id(location_id: &str) -> Result<(), FileError> {
    let bad = location_id.is_empty()
        || location_id.len() > MAX_LOCATION_ID_BYTES
        || location_id == "."
        || location_id == ".."
        || location_id
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control());
    if bad {
        Err(FileError::InvalidLocationId(location_id.to_owned()))
    } else {
        Ok(())
    }
}

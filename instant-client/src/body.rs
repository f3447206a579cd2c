//! Reads answer bodies within the configured size limit
//! ([`crate::ClientBuilder::max_response_bytes`]).

use bytes::{Bytes, BytesMut};

use crate::Error;

/// Largest buffer reserved up front from a `Content-Length` (the rest grows as
/// bytes actually arrive).
const MAX_PREALLOC: u64 = 1 << 20;

/// Reads the whole body of `resp`, refusing it with [`Error::ResponseTooLarge`] when
/// its `Content-Length` exceeds `limit` (before reading anything) or when more than
/// `limit` bytes arrive (as soon as they do). Dropping the response on refusal
/// closes the connection.
///
/// # Errors
/// [`Error::ResponseTooLarge`]; [`Error::Transport`] / [`Error::Timeout`] when
/// the body cannot be read.
pub(crate) async fn read_limited(
    mut resp: reqwest::Response,
    limit: u64,
    timeout: std::time::Duration,
) -> Result<Bytes, Error> {
    let declared = resp.content_length();
    if let Some(n) = declared.filter(|n| *n > limit) {
        return Err(Error::ResponseTooLarge {
            limit,
            content_length: Some(n),
        });
    }
    let mut buf = BytesMut::with_capacity(declared.unwrap_or(0).min(MAX_PREALLOC) as usize);
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| Error::from_reqwest(e, timeout))?
    {
        if buf.len() as u64 + chunk.len() as u64 > limit {
            return Err(Error::ResponseTooLarge {
                limit,
                content_length: None,
            });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

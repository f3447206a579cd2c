//! Reads answer bodies within the configured size limit
//! ([`crate::ClientBuilder::max_response_bytes`]).

use bytes::{Bytes, BytesMut};

use crate::Error;

/// Largest buffer reserved up front from a `Content-Length` (the rest grows as
/// bytes actually arrive).
const MAX_PREALLOC: u64 = 64 << 20;

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
    let too_large = || Error::ResponseTooLarge {
        limit,
        content_length: None,
    };
    // Most answers arrive in one chunk: hand it on without copying.
    let Some(first) = next_chunk(&mut resp, timeout).await? else {
        return Ok(Bytes::new());
    };
    if first.len() as u64 > limit {
        return Err(too_large());
    }
    let Some(second) = next_chunk(&mut resp, timeout).await? else {
        return Ok(first);
    };
    let cap = declared.unwrap_or(0).min(MAX_PREALLOC) as usize;
    let mut buf = BytesMut::with_capacity(cap.max(first.len() + second.len()));
    let mut chunk = Some(second);
    buf.extend_from_slice(&first);
    while let Some(c) = chunk {
        if buf.len() as u64 + c.len() as u64 > limit {
            return Err(too_large());
        }
        buf.extend_from_slice(&c);
        chunk = next_chunk(&mut resp, timeout).await?;
    }
    Ok(buf.freeze())
}

/// The next chunk of the body.
async fn next_chunk(
    resp: &mut reqwest::Response,
    timeout: std::time::Duration,
) -> Result<Option<Bytes>, Error> {
    resp.chunk()
        .await
        .map_err(|e| Error::from_reqwest(e, timeout))
}

//! The bounded output queue of one live-query subscriber ([`Outbox`]): the
//! ready-to-write SSE frames waiting for the client to read them.
//!
//! A subscriber that does not read (or reads slower than results change) never
//! makes its queue grow past [`crate::Limits::subscriber_queue`] frames: every
//! `refresh-ok` carries the full new result (spec `admin-http.md` §3.3), so when
//! the queue is full the oldest queued *result* frame (a `refresh-ok`, or the
//! `error` event of a failed recomputation) is dropped as superseded. The newest
//! result is never dropped, and neither are the opening frames (`sse-init`,
//! `add-query-ok`), so a slow subscriber still sees the protocol's sequence and
//! ends on the latest result. The subscriber is not disconnected.
//!
//! When the client goes away the stream drops its [`OutboxReader`], which empties
//! the queue at once (the frames' memory is freed even if the subscription
//! itself is unregistered a moment later) and makes further pushes no-ops.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;

/// What a queued frame is, which decides whether a newer one supersedes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// `sse-init` and `add-query-ok` (or the `error` of a failed first query):
    /// never dropped.
    Opening,
    /// A `refresh-ok` or the `error` of a recomputation: superseded by any later
    /// result frame when the queue is full.
    Result,
}

#[derive(Default)]
struct Inner {
    frames: VecDeque<(FrameKind, Bytes)>,
    bytes: usize,
    /// The reader is gone (client disconnected): pushes are dropped.
    closed: bool,
    /// No more frames will be pushed (the subscription ended or was never
    /// registered): the reader ends once the queue is drained.
    finished: bool,
    /// Result frames dropped as superseded.
    superseded: u64,
}

/// One subscriber's frame queue (shared by the refresh worker, which pushes,
/// and the SSE response stream, which reads through an [`OutboxReader`]).
pub struct Outbox {
    inner: Mutex<Inner>,
    notify: Notify,
    cap: usize,
}

/// Frames, bytes and superseded frames of one queue (see [`Outbox::counts`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueCounts {
    /// Frames waiting to be written.
    pub frames: usize,
    /// Their total size in bytes (frames shared with other subscribers of the
    /// same live query are counted once per subscriber).
    pub bytes: usize,
    /// Result frames dropped because a newer result superseded them.
    pub superseded: u64,
}

impl Outbox {
    /// A queue holding at most `cap` frames (at least 1; the opening frames may
    /// briefly exceed it, they are never dropped).
    pub fn new(cap: usize) -> Arc<Outbox> {
        Arc::new(Outbox {
            inner: Mutex::new(Inner::default()),
            notify: Notify::new(),
            cap: cap.max(1),
        })
    }

    /// Queues `frame`. When the queue is full, the oldest queued result frames
    /// are dropped (superseded) to make room. Returns false when the reader is
    /// gone (nothing was queued).
    pub fn push(&self, kind: FrameKind, frame: Bytes) -> bool {
        let mut g = self.inner.lock();
        if g.closed {
            return false;
        }
        while g.frames.len() >= self.cap {
            let Some(pos) = g.frames.iter().position(|(k, _)| *k == FrameKind::Result) else {
                break;
            };
            if let Some((_, old)) = g.frames.remove(pos) {
                g.bytes -= old.len();
                g.superseded += 1;
            }
        }
        g.bytes += frame.len();
        g.frames.push_back((kind, frame));
        drop(g);
        self.notify.notify_one();
        true
    }

    /// Marks the end of the frames: the reader ends after the queued ones.
    pub fn finish(&self) {
        self.inner.lock().finished = true;
        self.notify.notify_one();
    }

    /// True once the reader is gone (the client disconnected).
    pub fn is_closed(&self) -> bool {
        self.inner.lock().closed
    }

    /// Current counts of the queue.
    pub fn counts(&self) -> QueueCounts {
        let g = self.inner.lock();
        QueueCounts {
            frames: g.frames.len(),
            bytes: g.bytes,
            superseded: g.superseded,
        }
    }

    /// The reading end (one per queue: the SSE response stream).
    pub fn reader(self: &Arc<Self>) -> OutboxReader {
        OutboxReader(self.clone())
    }

    fn close(&self) {
        let mut g = self.inner.lock();
        g.closed = true;
        g.frames = VecDeque::new();
        g.bytes = 0;
    }
}

/// The reading end of an [`Outbox`]; dropping it (the client disconnected)
/// empties and closes the queue.
pub struct OutboxReader(Arc<Outbox>);

impl OutboxReader {
    /// The next frame; `None` once the queue is finished and drained.
    pub async fn recv(&mut self) -> Option<Bytes> {
        loop {
            {
                let mut g = self.0.inner.lock();
                if let Some((_, f)) = g.frames.pop_front() {
                    g.bytes -= f.len();
                    return Some(f);
                }
                if g.finished {
                    return None;
                }
            }
            // One reader: a notification sent between the check and this wait
            // is kept as a permit, so none is lost.
            self.0.notify.notified().await;
        }
    }
}

impl Drop for OutboxReader {
    fn drop(&mut self) {
        self.0.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    #[test]
    fn full_queue_drops_the_oldest_result_never_the_opening_or_latest() {
        let o = Outbox::new(3);
        o.push(FrameKind::Opening, b("init"));
        o.push(FrameKind::Opening, b("ok"));
        for s in ["r1", "r2", "r3", "r4"] {
            o.push(FrameKind::Result, b(s));
        }
        let c = o.counts();
        assert_eq!((c.frames, c.superseded), (3, 3));
        let mut r = o.reader();
        o.finish();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let got: Vec<Bytes> = rt.block_on(async {
            let mut v = Vec::new();
            while let Some(f) = r.recv().await {
                v.push(f);
            }
            v
        });
        assert_eq!(got, vec![b("init"), b("ok"), b("r4")]);
    }

    #[test]
    fn dropping_the_reader_frees_the_queue() {
        let o = Outbox::new(4);
        let r = o.reader();
        o.push(FrameKind::Result, b("r1"));
        assert_eq!(o.counts().bytes, 2);
        drop(r);
        assert!(o.is_closed());
        assert_eq!(o.counts(), QueueCounts::default());
        assert!(!o.push(FrameKind::Result, b("r2")));
    }
}

//! The background writer of an in-memory database. With no database file nothing
//! is durable, so a transaction is answered as soon as it is applied in memory and
//! its changes reach SQLite here, in commit order, on a thread of their own: the
//! next request is parsed and applied while the previous one is written. Queued
//! transactions are written together in one SQLite transaction (group commit). The
//! queue is bounded ([`QUEUE_DEPTH`] transactions), so a writer that falls behind
//! slows transactions down instead of growing memory; [`Writer::flush`] waits for
//! the queue to drain. (With a database file, transactions are written before they
//! are answered and this writer is not used.)

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};

use super::sqlite::Db;
use crate::engine::state::Change;

/// How many transactions may wait for the writer.
pub const QUEUE_DEPTH: usize = 4;

/// One committed transaction waiting to be written.
struct Job {
    app_id: uuid::Uuid,
    changes: Vec<Change>,
    tx_id: i64,
}

#[derive(Default)]
struct Progress {
    /// Jobs sent and not yet written.
    pending: u64,
    /// The first write error, if any (later writes are still attempted).
    error: Option<String>,
}

/// The writer thread and its queue.
pub struct Writer {
    tx: Mutex<Option<SyncSender<Job>>>,
    progress: Arc<(Mutex<Progress>, Condvar)>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    /// Starts the writer thread over `db`.
    ///
    /// # Errors
    /// When the operating system refuses a new thread.
    pub fn start(db: Arc<Mutex<Db>>) -> std::io::Result<Writer> {
        let (tx, rx) = sync_channel::<Job>(QUEUE_DEPTH);
        let progress: Arc<(Mutex<Progress>, Condvar)> = Arc::default();
        let p = progress.clone();
        let thread = std::thread::Builder::new()
            .name("instant-local-writer".into())
            .spawn(move || run(rx, db, p))?;
        Ok(Writer {
            tx: Mutex::new(Some(tx)),
            progress,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Queues one transaction's changes; blocks while the queue is full.
    ///
    /// # Errors
    /// When the writer was stopped (the changes are not written).
    pub fn send(&self, app_id: uuid::Uuid, changes: Vec<Change>, tx_id: i64) -> Result<(), String> {
        let sender = self.tx.lock().clone();
        let Some(sender) = sender else {
            return Err("the database writer is stopped".into());
        };
        self.progress.0.lock().pending += 1;
        if sender
            .send(Job {
                app_id,
                changes,
                tx_id,
            })
            .is_err()
        {
            self.done(1, None);
            return Err("the database writer is stopped".into());
        }
        Ok(())
    }

    fn done(&self, n: u64, error: Option<String>) {
        finish(&self.progress, n, error);
    }

    /// Waits until every queued transaction is written; returns the first write
    /// error seen since start, if any.
    pub fn flush(&self) -> Result<(), String> {
        let (lock, cv) = &*self.progress;
        let mut p = lock.lock();
        while p.pending > 0 {
            cv.wait(&mut p);
        }
        match &p.error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Writes what is queued and stops the thread.
    pub fn stop(&self) {
        self.tx.lock().take();
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn finish(progress: &(Mutex<Progress>, Condvar), n: u64, error: Option<String>) {
    let (lock, cv) = progress;
    let mut p = lock.lock();
    p.pending = p.pending.saturating_sub(n);
    if p.error.is_none() {
        p.error = error;
    }
    cv.notify_all();
}

fn run(rx: Receiver<Job>, db: Arc<Mutex<Db>>, progress: Arc<(Mutex<Progress>, Condvar)>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while let Ok(j) = rx.try_recv() {
            jobs.push(j);
        }
        let n = jobs.len() as u64;
        let res = db.lock().in_transaction(|tx, keys| {
            for j in &jobs {
                super::triples::write_changes_in(tx, keys, j.app_id, &j.changes, j.tx_id)?;
            }
            Ok(())
        });
        let error = res.err().map(|e| {
            tracing::error!(error = %e, "writing transactions to the in-memory database failed");
            e.to_string()
        });
        // Free the changes before waking flushers.
        drop(jobs);
        finish(&progress, n, error);
    }
}

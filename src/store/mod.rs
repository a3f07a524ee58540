//! Store: durable records under keys, committed in groups, flushed before any ack.
//!
//! The store knows nothing of resources: it keeps one *state* record per key and a
//! log of *entries* per key ordered by seq, trimmed to the last `keep` entries.
//! A single committer thread takes every waiting commit, writes them as one batch,
//! flushes, and only then answers each (group commit). This is the only module that
//! names the storage engine.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

mod keys;

use crate::metrics::METRICS;

use keys::{STATE_PREFIX, entry_key, entry_prefix, state_key};

/// Commits waiting for the committer. When it is full, `commit` refuses at once
/// (`StoreError::Busy`): the caller answers `unavailable` and loses nothing acked.
const COMMIT_QUEUE: usize = 16_384;
/// Most commits written by one batch, bounding the latency of the first.
const MAX_BATCH: usize = 8_192;

/// Why the store could not do what was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The disk or the engine failed; the message is the engine's.
    #[error("storage failed: {0}")]
    Io(String),
    /// The commit queue is full; retry shortly.
    #[error("the store's commit queue is full ({COMMIT_QUEUE} commits waiting)")]
    Busy,
    /// A flush failed earlier; the store accepts no more commits.
    #[error("the store failed earlier and accepts no more changes")]
    Failed,
    /// The directory cannot be used.
    #[error("cannot open the store in {dir}: {reason}")]
    Open { dir: PathBuf, reason: String },
}

impl From<sled::Error> for StoreError {
    fn from(error: sled::Error) -> Self {
        Self::Io(error.to_string())
    }
}

/// One change to make durable: the key's new state and its log entry at `seq`.
#[derive(Debug)]
pub struct Commit {
    /// The record's key.
    pub key: String,
    /// The entry's position in the key's log.
    pub seq: u64,
    /// The key's whole new state.
    pub state: Bytes,
    /// The log entry for `seq`.
    pub entry: Bytes,
}

struct Pending {
    commit: Commit,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// What the committer thread is asked to do.
enum Job {
    Commit(Pending),
    /// Finish what came before, then let go of the database.
    Stop,
}

/// A handle to the embedded store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    commits: mpsc::Sender<Job>,
    failed: Arc<AtomicBool>,
    committer: Arc<std::sync::Mutex<Option<thread::JoinHandle<()>>>>,
}

/// Resolves when a commit is durable (or failed).
pub type CommitTicket = oneshot::Receiver<Result<(), StoreError>>;

impl Store {
    /// Opens (or creates) the store in `dir`, keeping the last `keep` log entries per key.
    pub fn open(dir: &Path, cache_bytes: u64, keep: u64) -> Result<Self, StoreError> {
        let open_error = |reason: String| StoreError::Open {
            dir: dir.to_owned(),
            reason,
        };
        std::fs::create_dir_all(dir).map_err(|e| open_error(e.to_string()))?;
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_bytes)
            .open()
            .map_err(|e| open_error(e.to_string()))?;
        let (commits, queue) = mpsc::channel(COMMIT_QUEUE);
        let failed = Arc::new(AtomicBool::new(false));
        let committer = Committer {
            db: db.clone(),
            queue,
            failed: failed.clone(),
            keep,
        };
        let committer = thread::Builder::new()
            .name("store-committer".into())
            .spawn(move || committer.run())
            .map_err(|e| open_error(e.to_string()))?;
        Ok(Self {
            db,
            commits,
            failed,
            committer: Arc::new(std::sync::Mutex::new(Some(committer))),
        })
    }

    /// Queues a commit; the ticket resolves once it is flushed. Commits handed in
    /// by one caller are written in the order they were handed in.
    pub fn commit(&self, commit: Commit) -> Result<CommitTicket, StoreError> {
        if self.failed.load(Ordering::Acquire) {
            return Err(StoreError::Failed);
        }
        let (done, ticket) = oneshot::channel();
        self.commits
            .try_send(Job::Commit(Pending { commit, done }))
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => StoreError::Busy,
                mpsc::error::TrySendError::Closed(_) => StoreError::Failed,
            })?;
        Ok(ticket)
    }

    /// Every key's state, for loading at start.
    pub fn states(&self) -> impl Iterator<Item = Result<(String, Bytes), StoreError>> + '_ {
        self.db.scan_prefix(STATE_PREFIX).map(|item| {
            let (key, value) = item?;
            let key = String::from_utf8_lossy(&key[STATE_PREFIX.len()..]).into_owned();
            Ok((key, Bytes::copy_from_slice(&value)))
        })
    }

    /// One key's state, if any.
    pub fn state(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        Ok(self
            .db
            .get(state_key(key))?
            .map(|value| Bytes::copy_from_slice(&value)))
    }

    /// Log entries of `key` with `after < seq <= upto`, oldest first, at most `limit`.
    pub fn entries(
        &self,
        key: &str,
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Bytes)>, StoreError> {
        if after >= upto {
            return Ok(Vec::new());
        }
        let range = entry_key(key, after + 1)..=entry_key(key, upto);
        self.db
            .range(range)
            .take(limit)
            .map(|item| {
                let (key, value) = item?;
                Ok((keys::entry_seq(&key), Bytes::copy_from_slice(&value)))
            })
            .collect()
    }

    /// The oldest seq still kept in `key`'s log.
    pub fn oldest_entry(&self, key: &str) -> Result<Option<u64>, StoreError> {
        Ok(self
            .db
            .scan_prefix(entry_prefix(key))
            .next()
            .transpose()?
            .map(|(key, _)| keys::entry_seq(&key)))
    }

    /// Whether the store still accepts commits.
    pub fn is_healthy(&self) -> bool {
        !self.failed.load(Ordering::Acquire)
    }

    /// Writes everything to disk now (used at shutdown).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Lets the committer finish what it was handed, then stops it, so the database
    /// is released once the last handle is dropped (a restart in the same process
    /// can then reopen it). Later commits are refused with `Failed`.
    pub async fn close(&self) {
        let _ = self.commits.send(Job::Stop).await;
        let committer = self
            .committer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(committer) = committer {
            let _ = committer.join();
        }
    }
}

/// The one thread that writes: batches every waiting commit, flushes, answers.
struct Committer {
    db: sled::Db,
    queue: mpsc::Receiver<Job>,
    failed: Arc<AtomicBool>,
    keep: u64,
}

impl Committer {
    fn run(mut self) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut stopping = false;
        while !stopping {
            match self.queue.blocking_recv() {
                Some(Job::Commit(first)) => batch.push(first),
                Some(Job::Stop) | None => break,
            }
            while batch.len() < MAX_BATCH {
                match self.queue.try_recv() {
                    Ok(Job::Commit(next)) => batch.push(next),
                    Ok(Job::Stop) => {
                        stopping = true;
                        break;
                    }
                    Err(_) => break,
                }
            }
            let outcome = self.write(&batch);
            if let Err(error) = &outcome {
                tracing::error!(%error, "store commit failed; refusing further changes");
                self.failed.store(true, Ordering::Release);
            }
            for pending in batch.drain(..) {
                // A caller that stopped waiting has nothing to be told.
                let _ = pending.done.send(outcome.clone());
            }
        }
    }

    fn write(&self, batch: &[Pending]) -> Result<(), StoreError> {
        if self.failed.load(Ordering::Acquire) {
            return Err(StoreError::Failed);
        }
        let started = std::time::Instant::now();
        let mut writes = sled::Batch::default();
        for Pending { commit, .. } in batch {
            writes.insert(state_key(&commit.key), commit.state.as_ref());
            writes.insert(entry_key(&commit.key, commit.seq), commit.entry.as_ref());
            if commit.seq > self.keep {
                writes.remove(entry_key(&commit.key, commit.seq - self.keep));
            }
        }
        self.db.apply_batch(writes)?;
        self.db.flush()?;
        METRICS
            .store_commit_seconds
            .observe(started.elapsed().as_secs_f64());
        METRICS.store_commit_batch.observe(batch.len() as f64);
        Ok(())
    }
}

#[cfg(test)]
mod tests;

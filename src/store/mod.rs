//! Store: durable records under keys, committed in groups, flushed before any ack.
//!
//! The store knows nothing of resources: it keeps one *state* per key and a log of
//! *entries* per key ordered by seq, of which the last `keep` can be read. A single
//! committer thread takes every waiting commit and writes them as one atomic batch;
//! a flusher thread syncs to disk everything written since its last sync and only
//! then answers each commit (group commit). The two overlap: the next batch is
//! written while the previous one is synced. This is the only module that names
//! the storage engine.
//!
//! Each engine write costs about the same whatever its size, so a batch writes a
//! key once however many of its commits it holds: the key's head record carries
//! its state and its newest entries, and every [`CHUNK`] entries are sealed into a
//! record of their own (see `keys.rs`). A commit costs one write, plus one in
//! [`CHUNK`] to seal and one in [`CHUNK`] to drop a chunk past `keep`.
//!
//! Beside the keyed logs the store keeps *side records*: plain values under a
//! caller's key (`put`), and *counters*, lists of numbers that the committer adds
//! to (`add`). Both go through the committer like commits, so a caller's writes
//! land in the order it made them and a counter never loses an addition to a
//! read-modify-write race.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

pub mod engine;
mod keys;
mod record;

use crate::metrics::METRICS;

use keys::{
    CHUNK_PREFIX, EPOCH_KEY, FORMAT_KEY, HEAD_PREFIX, MODE_KEY, SIDE_PREFIX, chunk_key,
    chunk_prefix, chunk_seq, head_key, meta_key, side_key,
};
use record::Head;

/// Entries sealed together in one chunk record.
pub const CHUNK: usize = 8;
/// The version of the key layout; a store written with another one is refused.
const FORMAT: &[u8] = b"2";

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
    /// A stored record cannot be read back (the message names which).
    #[error("a stored record is unreadable: {0}")]
    Corrupt(String),
    /// The commit queue is full; retry shortly.
    #[error("the store's commit queue is full ({COMMIT_QUEUE} commits waiting)")]
    Busy,
    /// A flush failed earlier; the store accepts no more commits.
    #[error("the store failed earlier and accepts no more changes")]
    Failed,
    /// The directory cannot be used.
    #[error("cannot open the store in {dir}: {reason}")]
    Open { dir: PathBuf, reason: String },
    /// The directory was made by a hub of the other mode (one node, or cluster).
    #[error(
        "the data dir {dir} was made by a {found} hub, and this one runs in {wanted} mode: give it a data dir of its own (--data)"
    )]
    Mode {
        dir: PathBuf,
        found: &'static str,
        wanted: &'static str,
    },
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

/// A write to a side record.
#[derive(Debug)]
enum SideWrite {
    /// Sets (`Some`) or removes (`None`) the record.
    Put(String, Option<Bytes>),
    /// Adds each number to the counter record's (missing ones count as 0).
    Add(String, Vec<u32>),
    /// Removes every record with a key in `from..to`.
    RemoveRange(String, String),
}

/// What one queued job writes.
#[derive(Debug)]
enum Write {
    Commit(Commit),
    Side(SideWrite),
}

struct Pending {
    write: Write,
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
    keep: u64,
    epoch: Arc<str>,
    /// Tests: refuse every commit as if the queue were full.
    #[cfg(test)]
    refusing: Arc<AtomicBool>,
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
        check_format(&db).map_err(open_error)?;
        let epoch = read_or_make_epoch(&db).map_err(open_error)?;
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
            keep,
            epoch,
            #[cfg(test)]
            refusing: Arc::default(),
        })
    }

    /// Records the mode this store serves (`cluster` or single node) on its first
    /// use, and refuses a store made by the other mode. A store made before modes
    /// were recorded holds resources only if a single-node hub made it.
    pub fn claim_mode(&self, dir: &Path, cluster: bool) -> Result<(), StoreError> {
        let wanted: &'static str = if cluster { "cluster" } else { "single-node" };
        let found = match self.db.get(MODE_KEY)? {
            Some(mode) if mode.as_ref() == b"cluster" => Some("cluster"),
            Some(_) => Some("single-node"),
            None if self.db.scan_prefix(HEAD_PREFIX).next().is_some() => Some("single-node"),
            None => None,
        };
        match found {
            Some(found) if found != wanted => Err(StoreError::Mode {
                dir: dir.to_owned(),
                found,
                wanted,
            }),
            Some(_) => Ok(()),
            None => {
                let mode: &[u8] = if cluster { b"cluster" } else { b"single" };
                self.db.insert(MODE_KEY, mode)?;
                self.db.flush()?;
                Ok(())
            }
        }
    }

    /// A metadata record of the hub's own (the cluster's cursor and epoch).
    pub fn meta(&self, name: &str) -> Result<Option<Bytes>, StoreError> {
        Ok(self
            .db
            .get(meta_key(name))?
            .map(|value| Bytes::copy_from_slice(&value)))
    }

    /// Sets a metadata record; durable with the next flush (callers write only
    /// what may be older than the truth, such as a cursor behind durable data).
    pub fn set_meta(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.db.insert(meta_key(name), value)?;
        Ok(())
    }

    /// Drops every resource, log and side record (the metadata stays), flushed:
    /// a cluster hub's local copy of another stream, refilled from the broker.
    pub fn clear_resources(&self) -> Result<(), StoreError> {
        for prefix in [HEAD_PREFIX, CHUNK_PREFIX, SIDE_PREFIX] {
            for key in self.db.scan_prefix(prefix).keys() {
                self.db.remove(key?)?;
            }
        }
        self.db.flush()?;
        Ok(())
    }

    /// The store's incarnation: made once when its directory is first opened (by
    /// this build or, for older stores, on their first open by it), so a client's
    /// `since` from another incarnation is recognised as untrustworthy.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// Tests: from now on refuse (`on`) or take commits, as a full queue would.
    #[cfg(test)]
    pub fn refuse_commits(&self, on: bool) {
        self.refusing.store(on, Ordering::Release);
    }

    /// Queues a commit; the ticket resolves once it is flushed. Commits handed in
    /// by one caller are written in the order they were handed in.
    pub fn commit(&self, commit: Commit) -> Result<CommitTicket, StoreError> {
        self.queue(Write::Commit(commit))
    }

    /// Sets (`Some`) or removes (`None`) the side record `key`; durable when the
    /// ticket resolves.
    pub fn put(&self, key: &str, value: Option<Bytes>) -> Result<CommitTicket, StoreError> {
        self.queue(Write::Side(SideWrite::Put(key.to_owned(), value)))
    }

    /// Adds `counts` to the counter record `key`, element by element (saturating).
    pub fn add(&self, key: &str, counts: Vec<u32>) -> Result<CommitTicket, StoreError> {
        self.queue(Write::Side(SideWrite::Add(key.to_owned(), counts)))
    }

    /// Removes every side record with a key in `from..to`.
    pub fn remove_range(&self, from: &str, to: &str) -> Result<CommitTicket, StoreError> {
        self.queue(Write::Side(SideWrite::RemoveRange(
            from.to_owned(),
            to.to_owned(),
        )))
    }

    /// The side record `key`, if any.
    pub fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        Ok(self
            .db
            .get(side_key(key))?
            .map(|value| Bytes::copy_from_slice(&value)))
    }

    /// A counter record (empty when there is none).
    pub fn counters(&self, key: &str) -> Result<Vec<u32>, StoreError> {
        Ok(self
            .db
            .get(side_key(key))?
            .map(|value| decode_counters(&value))
            .unwrap_or_default())
    }

    /// Every side record whose key starts with `prefix`, in key order.
    pub fn scan(&self, prefix: &str) -> Result<Vec<(String, Bytes)>, StoreError> {
        self.db
            .scan_prefix(side_key(prefix))
            .map(|item| {
                let (key, value) = item?;
                let key = String::from_utf8_lossy(&key[SIDE_PREFIX.len()..]).into_owned();
                Ok((key, Bytes::copy_from_slice(&value)))
            })
            .collect()
    }

    fn queue(&self, write: Write) -> Result<CommitTicket, StoreError> {
        if self.failed.load(Ordering::Acquire) {
            return Err(StoreError::Failed);
        }
        #[cfg(test)]
        if self.refusing.load(Ordering::Acquire) {
            return Err(StoreError::Busy);
        }
        let (done, ticket) = oneshot::channel();
        self.commits
            .try_send(Job::Commit(Pending { write, done }))
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => StoreError::Busy,
                mpsc::error::TrySendError::Closed(_) => StoreError::Failed,
            })?;
        Ok(ticket)
    }

    /// Every key's state, for loading at start.
    pub fn states(&self) -> impl Iterator<Item = Result<(String, Bytes), StoreError>> + '_ {
        self.db.scan_prefix(HEAD_PREFIX).map(|item| {
            let (key, value) = item?;
            let key = String::from_utf8_lossy(&key[HEAD_PREFIX.len()..]).into_owned();
            Ok((key, Bytes::copy_from_slice(Head::parse(&value)?.state)))
        })
    }

    /// One key's state, if any.
    pub fn state(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        let Some(head) = self.db.get(head_key(key))? else {
            return Ok(None);
        };
        Ok(Some(Bytes::copy_from_slice(Head::parse(&head)?.state)))
    }

    /// Log entries of `key` with `after < seq <= upto`, oldest first, at most `limit`.
    pub fn entries(
        &self,
        key: &str,
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Bytes)>, StoreError> {
        let Some(head) = self.db.get(head_key(key))? else {
            return Ok(Vec::new());
        };
        let head = Head::parse(&head)?;
        let after = after.max(self.first_kept(head.newest) - 1);
        if after >= upto {
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        let mut take = |list: &[u8]| -> Result<bool, StoreError> {
            for entry in record::entries(list) {
                let (seq, bytes) = entry?;
                if seq > upto || found.len() >= limit {
                    return Ok(false);
                }
                if seq > after {
                    found.push((seq, Bytes::copy_from_slice(bytes)));
                }
            }
            Ok(true)
        };
        for chunk in self
            .db
            .range(chunk_key(key, after + 1)..=chunk_key(key, u64::MAX))
        {
            if !take(&chunk?.1)? {
                return Ok(found);
            }
        }
        take(head.entries)?;
        Ok(found)
    }

    /// The oldest seq still kept in `key`'s log.
    pub fn oldest_entry(&self, key: &str) -> Result<Option<u64>, StoreError> {
        let Some(head) = self.db.get(head_key(key))? else {
            return Ok(None);
        };
        let head = Head::parse(&head)?;
        let stored = match self.db.scan_prefix(chunk_prefix(key)).next().transpose()? {
            Some((_, chunk)) => record::entries(&chunk).next().transpose()?.map(|e| e.0),
            None => record::entries(head.entries)
                .next()
                .transpose()?
                .map(|e| e.0),
        };
        Ok(stored.map(|seq| seq.max(self.first_kept(head.newest))))
    }

    /// The first seq readable when the newest is `newest`: the last `keep` are.
    fn first_kept(&self, newest: u64) -> u64 {
        newest.saturating_sub(self.keep) + 1
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
    /// Applies batches as they come and hands each to the flusher thread, so the
    /// next batch is written while the previous one is being synced to disk.
    fn run(mut self) {
        let (applied, flushes) = std::sync::mpsc::sync_channel(FLUSHES_WAITING);
        let flusher = Flusher {
            db: self.db.clone(),
            failed: self.failed.clone(),
            applied: flushes,
        };
        let flusher = match thread::Builder::new()
            .name("store-flusher".into())
            .spawn(move || flusher.run())
        {
            Ok(flusher) => Some(flusher),
            Err(error) => {
                tracing::error!(%error, "cannot start the store's flusher; refusing changes");
                self.failed.store(true, Ordering::Release);
                None
            }
        };
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
            let started = std::time::Instant::now();
            let waiters: Vec<_> = match self.write(&batch) {
                Ok(()) => batch.drain(..).map(|pending| pending.done).collect(),
                Err(error) => {
                    tracing::error!(%error, "store commit failed; refusing further changes");
                    self.failed.store(true, Ordering::Release);
                    for pending in batch.drain(..) {
                        // A caller that stopped waiting has nothing to be told.
                        let _ = pending.done.send(Err(error.clone()));
                    }
                    continue;
                }
            };
            let applied_batch = Applied { waiters, started };
            if let Err(unsent) = applied.send(applied_batch) {
                // No flusher: nothing applied can be called durable.
                for done in unsent.0.waiters {
                    let _ = done.send(Err(StoreError::Failed));
                }
            }
        }
        drop(applied);
        if let Some(flusher) = flusher {
            let _ = flusher.join();
        }
    }

    /// Writes a batch (not yet durable): each key once.
    fn write(&self, batch: &[Pending]) -> Result<(), StoreError> {
        if self.failed.load(Ordering::Acquire) {
            return Err(StoreError::Failed);
        }
        // Each key's commits, in the order they came (one caller per key, in seq order).
        let mut by_key: HashMap<&str, Vec<&Commit>> = HashMap::new();
        let mut sides = Vec::new();
        for Pending { write, .. } in batch {
            match write {
                Write::Commit(commit) => by_key.entry(&commit.key).or_default().push(commit),
                Write::Side(side) => sides.push(side),
            }
        }
        let mut writes = sled::Batch::default();
        for (key, commits) in by_key {
            self.write_key(key, &commits, &mut writes)?;
        }
        self.write_sides(&sides, &mut writes)?;
        self.db.apply_batch(writes)?;
        Ok(())
    }

    /// Side writes in the order they came; counters added to within the batch
    /// are summed first, so each is read and written once.
    fn write_sides(
        &self,
        sides: &[&SideWrite],
        writes: &mut sled::Batch,
    ) -> Result<(), StoreError> {
        let mut counters: HashMap<&str, Vec<u32>> = HashMap::new();
        for side in sides {
            match side {
                SideWrite::Put(key, value) => {
                    counters.remove(key.as_str());
                    match value {
                        Some(value) => writes.insert(side_key(key), value.as_ref()),
                        None => writes.remove(side_key(key)),
                    }
                }
                SideWrite::Add(key, counts) => {
                    let total = match counters.entry(key.as_str()) {
                        std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                        std::collections::hash_map::Entry::Vacant(entry) => {
                            let stored = self.db.get(side_key(key))?;
                            entry.insert(stored.map(|v| decode_counters(&v)).unwrap_or_default())
                        }
                    };
                    add_counts(total, counts);
                    writes.insert(side_key(key), encode_counters(total));
                }
                SideWrite::RemoveRange(from, to) => {
                    for key in self.db.range(side_key(from)..side_key(to)).keys() {
                        let key = key?;
                        if let Ok(name) = std::str::from_utf8(&key[SIDE_PREFIX.len()..]) {
                            counters.remove(name);
                        }
                        writes.remove(key);
                    }
                }
            }
        }
        Ok(())
    }

    /// Rewrites `key`'s head with `commits` appended, sealing full chunks and
    /// dropping chunks that fell out of the last `keep` entries.
    fn write_key(
        &self,
        key: &str,
        commits: &[&Commit],
        writes: &mut sled::Batch,
    ) -> Result<(), StoreError> {
        let Some(last) = commits.last() else {
            return Ok(());
        };
        let old = self.db.get(head_key(key))?;
        let old_entries = match &old {
            Some(bytes) => Head::parse(bytes)?.entries,
            None => &[],
        };
        let mut entries: Vec<(u64, &[u8])> =
            record::entries(old_entries).collect::<Result<_, _>>()?;
        entries.extend(commits.iter().map(|c| (c.seq, c.entry.as_ref())));
        let first_kept = last.seq.saturating_sub(self.keep) + 1;
        let mut rest = entries.as_slice();
        let mut sealed = false;
        while rest.len() >= CHUNK {
            let (chunk, after) = rest.split_at(CHUNK);
            rest = after;
            sealed = true;
            let last_seq = chunk[CHUNK - 1].0;
            if last_seq >= first_kept {
                let mut bytes = Vec::with_capacity(chunk.iter().map(|e| e.1.len() + 12).sum());
                for (seq, entry) in chunk {
                    record::push_entry(&mut bytes, *seq, entry);
                }
                writes.insert(chunk_key(key, last_seq), bytes);
            }
        }
        // A scan of the engine costs about what eight writes do: only look for
        // chunks to drop once some can have fallen out of the last `keep` entries.
        if sealed && first_kept > 1 {
            for chunk in self.db.scan_prefix(chunk_prefix(key)).keys() {
                let chunk = chunk?;
                if chunk_seq(&chunk) >= first_kept {
                    break;
                }
                writes.remove(chunk);
            }
        }
        let mut head = Vec::with_capacity(
            last.state.len() + 12 + rest.iter().map(|e| e.1.len() + 12).sum::<usize>(),
        );
        Head::write(&mut head, last.seq, &last.state);
        for (seq, entry) in rest {
            record::push_entry(&mut head, *seq, entry);
        }
        writes.insert(head_key(key), head);
        Ok(())
    }
}

/// Batches applied by the committer, waiting for the flusher. When it is full,
/// the committer waits: the disk sets the pace.
const FLUSHES_WAITING: usize = 4;

/// A batch written but not yet durable, and who waits for it.
struct Applied {
    waiters: Vec<oneshot::Sender<Result<(), StoreError>>>,
    started: std::time::Instant,
}

/// The thread that syncs: one flush for every batch applied since the last one,
/// then the answers, in the order the batches were applied.
struct Flusher {
    db: sled::Db,
    failed: Arc<AtomicBool>,
    applied: std::sync::mpsc::Receiver<Applied>,
}

impl Flusher {
    fn run(self) {
        while let Ok(first) = self.applied.recv() {
            let mut batches = vec![first];
            batches.extend(self.applied.try_iter());
            let outcome = self.db.flush().map(drop).map_err(StoreError::from);
            if let Err(error) = &outcome {
                tracing::error!(%error, "store flush failed; refusing further changes");
                self.failed.store(true, Ordering::Release);
            }
            for batch in batches {
                METRICS
                    .store_commit_seconds
                    .observe(batch.started.elapsed().as_secs_f64());
                METRICS
                    .store_commit_batch
                    .observe(batch.waiters.len() as f64);
                for done in batch.waiters {
                    // A caller that stopped waiting has nothing to be told.
                    let _ = done.send(outcome.clone());
                }
            }
        }
    }
}

/// Adds `counts` into `total` element by element, growing it as needed.
fn add_counts(total: &mut Vec<u32>, counts: &[u32]) {
    if total.len() < counts.len() {
        total.resize(counts.len(), 0);
    }
    for (sum, count) in total.iter_mut().zip(counts) {
        *sum = sum.saturating_add(*count);
    }
}

/// Counters as stored: little-endian u32s.
fn encode_counters(counts: &[u32]) -> Vec<u8> {
    counts
        .iter()
        .flat_map(|count| count.to_le_bytes())
        .collect()
}

fn decode_counters(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|word| u32::from_le_bytes([word[0], word[1], word[2], word[3]]))
        .collect()
}

/// Marks a new store with this layout's version; refuses one written with another.
fn check_format(db: &sled::Db) -> Result<(), String> {
    match db.get(FORMAT_KEY).map_err(|e| e.to_string())? {
        Some(format) if format.as_ref() == FORMAT => Ok(()),
        Some(format) => Err(format!(
            "its layout is version {}, this build reads version {}",
            String::from_utf8_lossy(&format),
            String::from_utf8_lossy(FORMAT)
        )),
        None if db.is_empty() => {
            db.insert(FORMAT_KEY, FORMAT).map_err(|e| e.to_string())?;
            db.flush().map_err(|e| e.to_string())?;
            Ok(())
        }
        None => Err(format!(
            "it was written by an earlier build (layout version 1), this build reads version {}",
            String::from_utf8_lossy(FORMAT)
        )),
    }
}

/// The store's epoch, made (random, 64 bits, hex) and flushed on first open.
fn read_or_make_epoch(db: &sled::Db) -> Result<Arc<str>, String> {
    if let Some(epoch) = db.get(EPOCH_KEY).map_err(|e| e.to_string())? {
        return Ok(String::from_utf8_lossy(&epoch).into());
    }
    let epoch = format!("e-{:016x}", rand::random::<u64>());
    db.insert(EPOCH_KEY, epoch.as_bytes())
        .map_err(|e| e.to_string())?;
    db.flush().map_err(|e| e.to_string())?;
    Ok(epoch.into())
}

#[cfg(test)]
mod tests;

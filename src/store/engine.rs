//! The engine alone, with the store's key layout and none of its threads: what
//! `examples/store_bench` times to say whether sled itself bounds the publish path.
//! Nothing in the hub uses it.

use std::path::Path;
use std::time::{Duration, Instant};

use super::{StoreError, keys};

/// A bare sled database in `dir`, written the way the committer writes heads.
pub struct Engine {
    db: sled::Db,
}

impl Engine {
    /// Opens (or makes) a database in `dir` with the hub's default cache.
    ///
    /// # Errors
    ///
    /// When sled cannot open the directory.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(64 << 20)
            .open()?;
        Ok(Self { db })
    }

    /// Writes one small record under `key` and flushes: how long the flush took,
    /// the commit latency of a lone publish.
    ///
    /// # Errors
    ///
    /// When sled fails to write or sync.
    pub fn insert_and_flush(&self, key: &str, value: &[u8]) -> Result<Duration, StoreError> {
        self.db.insert(keys::head_key(key), value)?;
        let started = Instant::now();
        self.db.flush()?;
        Ok(started.elapsed())
    }

    /// Writes `heads` (key, head record) with one engine call, as the committer
    /// writes a batch, without syncing.
    ///
    /// # Errors
    ///
    /// When sled fails to write.
    pub fn apply_heads(
        &self,
        heads: impl IntoIterator<Item = (String, Vec<u8>)>,
    ) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (key, head) in heads {
            batch.insert(keys::head_key(&key), head);
        }
        self.db.apply_batch(batch)?;
        Ok(())
    }

    /// Syncs everything written so far.
    ///
    /// # Errors
    ///
    /// When sled fails to sync.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }
}

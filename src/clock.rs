//! The hub's clock: the wall clock in production, a hand-moved one in tests, so
//! TTL expiry and other time-driven changes are tested without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Unix milliseconds, from the system or from a test.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicU64>>,
}

impl Clock {
    /// The wall clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that stands at `start_ms` until `advance` moves it.
    pub fn manual(start_ms: u64) -> Self {
        Self {
            manual: Some(Arc::new(AtomicU64::new(start_ms))),
        }
    }

    /// Now, in unix milliseconds.
    pub fn now_ms(&self) -> u64 {
        match &self.manual {
            Some(now) => now.load(Ordering::Acquire),
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        }
    }

    /// Moves a manual clock forward (the wall clock cannot be moved: no effect).
    pub fn advance(&self, by: Duration) {
        if let Some(now) = &self.manual {
            now.fetch_add(
                u64::try_from(by.as_millis()).unwrap_or(u64::MAX),
                Ordering::AcqRel,
            );
        }
    }
}

//! The session's reader pauses while its outbox is over the soft limit: a client
//! that sends requests without reading their answers stops being read, so answers
//! (never conflated, never an overflow) stay bounded by what was read before.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;

use crate::outbox::Outbox;

/// A stream of client frames that yields nothing while `outbox` is over its soft limit.
pub struct Gated<S> {
    frames: S,
    outbox: Outbox,
}

impl<S> Gated<S> {
    /// Reads `frames` only while `outbox` has room.
    pub fn new(frames: S, outbox: Outbox) -> Self {
        Self { frames, outbox }
    }
}

impl<S: Stream + Unpin> Stream for Gated<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        if self.outbox.is_over_soft() && !self.outbox.is_closed() {
            self.outbox.wake_when_drained(cx.waker());
            // The writer may have drained it between the check and the registration.
            if self.outbox.is_over_soft() {
                return Poll::Pending;
            }
        }
        Pin::new(&mut self.frames).poll_next(cx)
    }
}

//! The FILLSTACK load harness and its typed WebSocket client.
//!
//! [`Client`] speaks the wire contract through `fillstack-protocol`; the hub's own
//! integration tests use it, so the client that produces the performance figures is
//! itself tested on every run.

mod client;

pub use client::{Client, ClientError, Closed, Received};

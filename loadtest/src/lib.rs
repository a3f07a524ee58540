//! The FILLSTACK load harness and its typed WebSocket client.
//!
//! [`Client`] speaks the wire contract through `fillstack-protocol`; the hub's own
//! integration tests use it, so the client that produces the performance figures is
//! itself tested on every run. [`scenario`] holds one module per load scenario and
//! [`report`] what they measure.

mod client;
pub mod report;
pub mod scenario;

pub use client::{Client, ClientError, Closed, Received};
pub use report::Report;

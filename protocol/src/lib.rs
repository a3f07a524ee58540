//! The FILLSTACK wire contract, version 1, in one crate with no I/O.
//!
//! It holds the one definition of every frame a client and the hub exchange
//! ([`ClientFrame`], [`ServerFrame`]), the two codecs a socket can negotiate
//! ([`Codec`]), validated resource ids and subscription patterns ([`ResourceId`],
//! [`Pattern`]) and the error and close codes ([`ErrorCode`], [`CloseCode`]).
//! The hub, the load harness and the tests all depend on it, so a frame cannot
//! drift between them. `PROTOCOL.md` beside this crate is the user-facing spec.
#![warn(missing_docs)]

mod code;
mod codec;
mod frame;
mod id;
mod scalar;

pub use code::{CloseCode, ErrorCode};
pub use codec::{Codec, FrameError, FrameErrorKind, MAX_NESTING};
pub use frame::{
    ClientFrame, ClientName, DeltaFrame, FieldChanges, Fields, HistoryEntry, LabelChanges, Labels,
    PublishFrame, RemovedFrame, RequestId, Seq, ServerFrame, SnapshotFrame, Status,
};
pub use id::{IdError, MAX_ID_BYTES, Pattern, ResourceId};
pub use scalar::Scalar;

/// The MessagePack subprotocol name (binary frames); chosen when a client offers none.
pub const SUBPROTOCOL_MSGPACK: &str = "fillstack.v1.msgpack";
/// The JSON subprotocol name (text frames carrying the same maps).
pub const SUBPROTOCOL_JSON: &str = "fillstack.v1.json";

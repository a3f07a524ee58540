//! Every frame of the contract, with the contract's names for types and keys.
//!
//! Wire frames carry text where the contract has ids, patterns and statuses
//! from clients: checking those values is the hub's job, so that a value out of
//! range gets `invalid` while a frame of the wrong shape gets `bad_frame`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{ErrorCode, Scalar};

/// A client-chosen number echoed in the answer to a request.
pub type RequestId = u64;
/// A resource's change counter: starts at 1, +1 per change.
pub type Seq = u64;
/// A resource's fields: name to scalar.
pub type Fields = BTreeMap<String, Scalar>;
/// A resource's labels: name to text.
pub type Labels = BTreeMap<String, String>;
/// Fields set by a change; `None` (nil/null) removes the field.
pub type FieldChanges = BTreeMap<String, Option<Scalar>>;
/// Labels set by a change; `None` (nil/null) removes the label.
pub type LabelChanges = BTreeMap<String, Option<String>>;

/// A resource's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Status {
    /// Working.
    Up,
    /// Working, but worse than it should.
    Degraded,
    /// Not working.
    Down,
    /// Nobody said yet.
    Unknown,
    /// Its TTL passed with no publish: the hub no longer knows.
    Stale,
    /// Down on purpose.
    Maintenance,
}

impl Status {
    /// Every status, in the order the contract lists them.
    pub const ALL: [Status; 6] = [
        Status::Up,
        Status::Degraded,
        Status::Down,
        Status::Unknown,
        Status::Stale,
        Status::Maintenance,
    ];

    /// The wire name, as in `"up"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Degraded => "degraded",
            Self::Down => "down",
            Self::Unknown => "unknown",
            Self::Stale => "stale",
            Self::Maintenance => "maintenance",
        }
    }

    /// Parses a wire name; `None` when it is not one of the six.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a client may send. Variant and key names are the wire names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Opens (or re-authenticates) a session.
    Hello {
        /// Request id.
        id: RequestId,
        /// A JWT; absent when auth is off.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        /// The client's name and version, free text, for logs.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client: Option<ClientName>,
    },
    /// Watches every resource matching `pattern`.
    Sub {
        /// Request id.
        id: RequestId,
        /// An id, `p/*`, `p/**` or `**`.
        pattern: String,
        /// Resource id to the last seq the client saw, for resuming.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<BTreeMap<String, Seq>>,
        /// The `epoch` of the `welcome` that `since` was seen under; another
        /// epoch means the hub's data was replaced and `since` is not trusted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        epoch: Option<String>,
        /// True when more of `since` follows in later `sub` frames of this pattern.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        more: bool,
    },
    /// Stops watching `pattern`.
    Unsub {
        /// Request id.
        id: RequestId,
        /// The pattern given to `sub`.
        pattern: String,
    },
    /// Publishes a change to one resource.
    Pub(PublishFrame),
    /// Asks for one resource's snapshot.
    Get {
        /// Request id.
        id: RequestId,
        /// The resource id.
        resource: String,
    },
    /// Asks for a resource's deltas after `since`.
    History {
        /// Request id.
        id: RequestId,
        /// The resource id.
        resource: String,
        /// Deltas with a seq greater than this one (exclusive).
        #[serde(default)]
        since: Seq,
        /// At most this many deltas (1 to 1000, default 100).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u64>,
    },
    /// Asks the hub for its time.
    Ping {
        /// Request id.
        id: RequestId,
    },
}

/// The `client` key of `hello`: a string, or a map with `name` and `version`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClientName {
    /// Free text such as `"dashboard/1.2"`.
    Text(String),
    /// A name and an optional version.
    Named {
        /// The client's name.
        name: String,
        /// The client's version.
        #[serde(default)]
        version: Option<String>,
    },
}

impl ClientFrame {
    /// The request id, which every client frame carries.
    pub fn request_id(&self) -> RequestId {
        match self {
            Self::Hello { id, .. }
            | Self::Sub { id, .. }
            | Self::Unsub { id, .. }
            | Self::Get { id, .. }
            | Self::History { id, .. }
            | Self::Ping { id } => *id,
            Self::Pub(publish) => publish.id,
        }
    }
}

/// A `pub` frame: status replaces, fields and labels merge (nil removes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PublishFrame {
    /// Request id.
    pub id: RequestId,
    /// The resource id.
    pub resource: String,
    /// The new status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Fields to set (a nil value removes the field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<FieldChanges>,
    /// Labels to set (a nil value removes the label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<LabelChanges>,
    /// Time to live in milliseconds; 0 clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
}

/// What the hub sends. Variant and key names are the wire names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The answer to a valid `hello`.
    Welcome {
        /// Echoes the `hello`'s id.
        id: RequestId,
        /// This session's id.
        session: String,
        /// The hub's name and version.
        server: String,
        /// How often the hub pings, in milliseconds.
        heartbeat_ms: u64,
        /// The largest client frame the hub accepts, in bytes.
        max_frame_bytes: u64,
        /// The session's roles.
        roles: Vec<String>,
        /// The store's incarnation: made when the data dir was created.
        epoch: String,
    },
    /// A request succeeded; `count` for `sub` is how many resources matched.
    Ok {
        /// Echoes the request's id.
        id: RequestId,
        /// For `sub`: the number of resources that matched when it was taken.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<u64>,
    },
    /// A publish is durable.
    Ack {
        /// Echoes the `pub`'s id.
        id: RequestId,
        /// The resource's seq after the publish.
        seq: Seq,
    },
    /// A resource's whole state.
    Snapshot(SnapshotFrame),
    /// What one change changed.
    Delta(DeltaFrame),
    /// A resource was deleted.
    Removed(RemovedFrame),
    /// The answer to `history`.
    History {
        /// Echoes the request's id.
        id: RequestId,
        /// The resource id.
        resource: String,
        /// The deltas after `since`, oldest first.
        deltas: Vec<HistoryEntry>,
        /// False when older deltas were no longer kept.
        complete: bool,
        /// True when the answer was cut to stay within its size bound; ask again
        /// with `since` = the last seq it carries.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        more: bool,
    },
    /// A request failed, or the frame was not understood.
    Error {
        /// Echoes the request's id when it was readable.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<RequestId>,
        /// What kind of failure.
        code: ErrorCode,
        /// What was wrong, naming the value.
        message: String,
        /// When to try again, for `rate_limited` and `unavailable`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
    /// The answer to `ping`.
    Pong {
        /// Echoes the `ping`'s id.
        id: RequestId,
        /// The hub's clock, unix milliseconds.
        time: u64,
    },
}

/// A resource's whole state at `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SnapshotFrame {
    /// Echoes the id of a `get`; absent on subscription snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<RequestId>,
    /// The resource id.
    pub resource: String,
    /// The seq this state is at.
    pub seq: Seq,
    /// Its status.
    pub status: Status,
    /// Its fields.
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub fields: Fields,
    /// Its labels.
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub labels: Labels,
    /// When it last changed, unix milliseconds.
    pub updated_at: u64,
    /// Its time to live, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
    /// True when this snapshot replaces deltas the client missed.
    #[serde(default)]
    pub reset: bool,
}

/// One accepted change: only what changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeltaFrame {
    /// The resource id.
    pub resource: String,
    /// The seq this change produced.
    pub seq: Seq,
    /// When it was accepted, unix milliseconds.
    pub at: u64,
    /// The new status, when it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Changed fields; removed ones are nil.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub fields: Option<FieldChanges>,
    /// Changed labels; removed ones are nil.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub labels: Option<LabelChanges>,
    /// The new time to live when it changed (0: cleared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
}

/// A resource was deleted at `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemovedFrame {
    /// The resource id.
    pub resource: String,
    /// The seq of the deletion.
    pub seq: Seq,
}

/// One entry of a `history` answer: a change or a deletion, tagged by `t`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum HistoryEntry {
    /// A change, as its `delta` frame.
    Delta(DeltaFrame),
    /// A deletion, as its `removed` frame.
    Removed(RemovedFrame),
}

impl HistoryEntry {
    /// The seq of the entry.
    pub fn seq(&self) -> Seq {
        match self {
            Self::Delta(delta) => delta.seq,
            Self::Removed(removed) => removed.seq,
        }
    }
}

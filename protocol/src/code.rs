//! Error codes carried by `error` frames and close codes of the WebSocket.

use serde::{Deserialize, Serialize};

/// The `code` of an `error` frame (and of a REST error body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ErrorCode {
    /// The frame is a map but not a frame this contract knows (unknown `t`, missing or mistyped keys).
    BadFrame,
    /// No valid token where one is required.
    Unauthorized,
    /// The token does not allow this operation on this resource.
    Forbidden,
    /// No such resource.
    NotFound,
    /// A value is out of range (id, pattern, field size, limit).
    Invalid,
    /// A frame or body is larger than allowed.
    TooLarge,
    /// Too many requests; `retry_after_ms` says when to try again.
    RateLimited,
    /// The hub cannot serve this now (draining, store failing, queue full).
    Unavailable,
    /// A bug in the hub; the message says nothing about internals.
    Internal,
}

impl ErrorCode {
    /// The wire name, as in `"bad_frame"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadFrame => "bad_frame",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Invalid => "invalid",
            Self::TooLarge => "too_large",
            Self::RateLimited => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }
}

/// WebSocket close codes the hub uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum CloseCode {
    /// 1000: normal closure.
    Normal = 1000,
    /// 1001: the hub is shutting down; reconnect and resume with `since`.
    GoingAway = 1001,
    /// 1002: a WebSocket protocol error (RFC 6455: unmasked client frame, reserved
    /// bits or opcodes, a bad control frame, a continuation without a start).
    ProtocolError = 1002,
    /// 1003: a text frame on the MessagePack subprotocol, or a binary one on JSON.
    UnsupportedData = 1003,
    /// 1007: bytes that are not a frame at all.
    Undecodable = 1007,
    /// 1008: origin or policy refused.
    Policy = 1008,
    /// 1009: a frame larger than `max_frame_bytes`.
    TooLarge = 1009,
    /// 4001: no valid `hello` in time, or a token refused.
    Unauthorized = 4001,
    /// 4002: the session's token expired and was not refreshed.
    TokenExpired = 4002,
    /// 4008: sustained rate limit abuse.
    RateLimitAbuse = 4008,
    /// 4009: the client did not read fast enough (slow consumer).
    SlowConsumer = 4009,
    /// 4010: the client answered neither pings nor anything else for two heartbeats.
    HeartbeatMissed = 4010,
}

impl CloseCode {
    /// The numeric code.
    pub fn as_u16(self) -> u16 {
        self as u16
    }
}

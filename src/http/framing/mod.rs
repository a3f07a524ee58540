//! WebSocket framing errors: what RFC 6455 forbids, found on the frame header, and
//! the close code each error gets.
//!
//! actix-http's codec reports some violations late (a frame declaring more than
//! the limit waits for its whole payload) or under a generic error (reserved bits
//! read as invalid UTF-8). So the socket's raw bytes pass a `FrameScanner` before
//! the codec decodes them (see `session::socket::Frames`), and the first bad header
//! ends the stream with a `Violation`, once the frames before it are handed on.
//! `close_for` maps the codec's own errors to the close code of PROTOCOL-v1 and a
//! reason. Nothing waits for a bad frame's payload: after the close frame, the
//! session reads and discards for at most a second, then ends the connection.

use actix_http::ws::ProtocolError;
use fillstack_protocol::CloseCode;

mod scanner;
#[cfg(test)]
mod tests;

pub use scanner::{FrameScanner, Refusal, Violation};

impl Violation {
    /// The close code PROTOCOL-v1 gives this violation.
    pub fn close_code(self) -> CloseCode {
        match self {
            Self::TooLarge { .. } => CloseCode::TooLarge,
            _ => CloseCode::ProtocolError,
        }
    }
}

/// The close code and reason for an error of actix-http's WebSocket codec.
pub fn close_for(error: &ProtocolError, max_frame_bytes: usize) -> (CloseCode, String) {
    let violation = |violation: Violation| (violation.close_code(), violation.to_string());
    let protocol = |reason: &str| (CloseCode::ProtocolError, reason.to_owned());
    match error {
        // The codec reads from a buffer, never from the socket.
        ProtocolError::Io(error) => (
            CloseCode::ProtocolError,
            format!("websocket protocol error: {error}"),
        ),
        ProtocolError::Overflow => violation(Violation::TooLarge {
            limit: max_frame_bytes as u64,
        }),
        ProtocolError::UnmaskedFrame => violation(Violation::Unmasked),
        ProtocolError::InvalidOpcode(opcode) => {
            violation(Violation::ReservedOpcode { opcode: *opcode })
        }
        ProtocolError::ContinuationNotStarted => violation(Violation::ContinuationWithoutStart),
        ProtocolError::ContinuationStarted => violation(Violation::DataFrameInsideMessage),
        // The codec's only use of `InvalidLength(1)`: a close payload of one byte.
        ProtocolError::InvalidLength(1) => {
            protocol("a close frame carries 1 byte; its code needs 2")
        }
        ProtocolError::InvalidLength(length) => (
            CloseCode::ProtocolError,
            format!("a control frame carries {length} bytes; the limit is 125"),
        ),
        // The codec's only use of `BadOpCode` (a bad opcode is `InvalidOpcode`).
        ProtocolError::BadOpCode => {
            protocol("a close frame carries an invalid close code or a reason that is not UTF-8")
        }
        ProtocolError::ContinuationFragment(opcode) => (
            CloseCode::ProtocolError,
            format!("a {opcode} frame is fragmented; control frames may not be"),
        ),
        // Only a client receives masked frames; a server codec never reports it.
        ProtocolError::MaskedFrame => protocol("a frame is masked the wrong way"),
    }
}

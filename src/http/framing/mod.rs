//! WebSocket framing errors: what RFC 6455 forbids, found on the frame header, and
//! the close code each error gets.
//!
//! actix-http's codec reports some violations late (a frame declaring more than
//! the limit waits for its whole payload) or under a generic error (reserved bits
//! read as invalid UTF-8). So the socket's raw bytes pass a `FrameScanner` before
//! actix-ws decodes them, and the first bad header ends the stream with a
//! `Violation`. `close_for` maps every error the socket's stream yields, ours and
//! the codec's, to the close code of PROTOCOL-v1 and a reason; the session calls it.
//! Nothing waits for a bad frame's payload: after the close frame, actix-http reads
//! and discards for at most `client_disconnect_timeout` (1 s), then ends the connection.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::error::PayloadError;
use actix_web::{FromRequest, HttpRequest, web};
use actix_ws::ProtocolError;
use bytes::Bytes;
use fillstack_protocol::CloseCode;
use futures_util::Stream;

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

/// Puts a [`FrameScanner`] allowing `limit`-byte messages in front of a WebSocket's
/// request payload.
///
/// # Errors
///
/// None in practice: taking a request's payload cannot fail.
pub async fn scan_payload(
    request: &HttpRequest,
    body: web::Payload,
    limit: usize,
) -> actix_web::Result<web::Payload> {
    let scanned = ScannedPayload {
        inner: body,
        scanner: FrameScanner::new(limit),
        state: State::Reading,
    };
    let mut payload: actix_web::dev::Payload = actix_web::dev::Payload::Stream {
        payload: Box::pin(scanned),
    };
    web::Payload::from_request(request, &mut payload).await
}

/// A WebSocket's request payload that ends, with the violation as its error, at
/// the first frame header the scanner refuses.
struct ScannedPayload {
    inner: web::Payload,
    scanner: FrameScanner,
    state: State,
}

enum State {
    Reading,
    /// The bytes before the bad frame were handed on; pause once, so that actix-ws
    /// decodes them, then refuse.
    Pausing(Violation),
    /// Everything before the bad frame is decoded: hand on the violation.
    Refusing(Violation),
    Ended,
}

impl Stream for ScannedPayload {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match this.state {
            State::Reading => {}
            // actix-ws's MessageStream returns a payload error at once, before it
            // decodes what it has buffered: a `Pending` first makes it decode (and the
            // session handle) every frame sent before the bad one, in order.
            State::Pausing(violation) => {
                this.state = State::Refusing(violation);
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            State::Refusing(violation) => {
                this.state = State::Ended;
                let error = io::Error::new(io::ErrorKind::InvalidData, violation);
                return Poll::Ready(Some(Err(PayloadError::Io(error))));
            }
            State::Ended => return Poll::Ready(None),
        }
        let chunk = match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => chunk,
            other => return other,
        };
        match this.scanner.scan(&chunk) {
            Ok(()) => Poll::Ready(Some(Ok(chunk))),
            Err(Refusal { clean, violation }) => {
                this.state = State::Pausing(violation);
                if clean > 0 {
                    Poll::Ready(Some(Ok(chunk.slice(..clean))))
                } else {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            }
        }
    }
}

/// The close code and reason for an error of the socket's message stream: a
/// [`Violation`] of ours, or an error actix-http or actix-ws reports.
pub fn close_for(error: &ProtocolError, max_frame_bytes: usize) -> (CloseCode, String) {
    let violation = |violation: Violation| (violation.close_code(), violation.to_string());
    let protocol = |reason: &str| (CloseCode::ProtocolError, reason.to_owned());
    match error {
        ProtocolError::Io(io) => close_for_io(io, max_frame_bytes),
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

/// Errors actix-ws and actix-http report as I/O errors, told apart by what they carry.
fn close_for_io(error: &io::Error, max_frame_bytes: usize) -> (CloseCode, String) {
    let payload = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<PayloadError>());
    if let Some(violation) = payload.and_then(violation_in) {
        return (violation.close_code(), violation.to_string());
    }
    if let Some(payload) = payload {
        // The connection itself failed (the client went away): no one reads the close.
        return (
            CloseCode::Normal,
            format!("the connection ended: {payload}"),
        );
    }
    let text = error.to_string();
    if text.contains("continuation size") {
        // actix-ws's aggregation limit, equal to the frame limit.
        (
            CloseCode::TooLarge,
            Violation::TooLarge {
                limit: max_frame_bytes as u64,
            }
            .to_string(),
        )
    } else if text.contains("reserved bits") {
        (
            CloseCode::ProtocolError,
            "a frame sets reserved bits but no extension was negotiated".to_owned(),
        )
    } else if error.kind() == io::ErrorKind::InvalidData {
        // actix-ws checks text messages, whole or reassembled, as UTF-8.
        (
            CloseCode::Undecodable,
            "a text frame is not valid UTF-8".to_owned(),
        )
    } else {
        (
            CloseCode::ProtocolError,
            format!("websocket protocol error: {error}"),
        )
    }
}

/// The violation a [`ScannedPayload`] ended with, as actix-ws wraps it.
fn violation_in(payload: &PayloadError) -> Option<Violation> {
    let PayloadError::Io(error) = payload else {
        return None;
    };
    error.get_ref()?.downcast_ref::<Violation>().copied()
}

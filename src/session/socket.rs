//! A session's socket after the upgrade: the TCP stream itself, out of actix-http's
//! HTTP/1 dispatcher, shared by the session's reader and its writer.
//!
//! Neither side keeps a buffer while the connection is idle. The reader waits for
//! readiness with nothing allocated, reads into a buffer only while bytes are there
//! to decode, and lets it go once every whole frame is handed on. The writer encodes
//! a batch into one buffer, writes it with as few syscalls as the socket allows, and
//! lets it go when the outbox runs dry. An idle session costs no socket buffer at all
//! (actix-http's dispatcher kept 8 KiB each way for the socket's whole life).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use actix_codec::Decoder;
use actix_http::ws::{CloseReason, Codec as FrameCodec, Frame, Item, OpCode, Parser};
use actix_web::rt::net::TcpStream;
use bytes::{Buf, Bytes, BytesMut};
use fillstack_protocol::CloseCode;
use futures_util::Stream;

use crate::http::framing::{FrameScanner, Refusal, Violation, close_for};

/// Bytes asked of the kernel per read; a larger frame grows the buffer as it comes.
const READ_BYTES: usize = 4 * 1024;
/// How long a closed session waits for the client's close before dropping the
/// connection (actix-http's `client_disconnect_timeout` did the same).
const LINGER: Duration = Duration::from_secs(1);

/// The upgraded connection, shared by the reader and the writer.
#[derive(Clone)]
pub struct Connection {
    stream: Arc<TcpStream>,
}

/// A client message, whole (fragments are joined), of either data kind.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    Binary(Bytes),
    /// Checked to be UTF-8.
    Text(Bytes),
    Ping(Bytes),
    Pong,
    Close,
}

/// Why the reader stopped before the connection ended: the close code it earns and
/// a reason naming the problem.
#[derive(Debug, PartialEq, Eq)]
pub struct Broken {
    pub code: CloseCode,
    pub reason: String,
}

impl Connection {
    /// Wraps an upgraded stream.
    pub fn new(stream: TcpStream) -> Self {
        Self {
            stream: Arc::new(stream),
        }
    }

    /// Writes as much of `bytes` as the socket takes now, taking it off its front:
    /// `Ok(true)` once all is written, `Ok(false)` when the socket is full.
    pub fn try_write_all(&self, bytes: &mut BytesMut) -> io::Result<bool> {
        while !bytes.is_empty() {
            match self.stream.try_write(bytes) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(count) => bytes.advance(count),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(error) => return Err(error),
            }
        }
        Ok(true)
    }

    /// Writes `bytes` out, taking what is written off its front, and waiting at
    /// most `within` each time the socket has no room. `Err(None)` when that wait
    /// ran out (the client stopped reading; the rest stays in `bytes`),
    /// `Err(Some(error))` when the connection failed.
    pub async fn write_all(
        &self,
        bytes: &mut BytesMut,
        within: Duration,
    ) -> Result<(), Option<io::Error>> {
        while !bytes.is_empty() {
            match self.stream.try_write(bytes) {
                Ok(0) => return Err(Some(io::ErrorKind::WriteZero.into())),
                Ok(count) => bytes.advance(count),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    match tokio::time::timeout(within, self.stream.writable()).await {
                        Ok(Ok(())) => {}
                        Ok(Err(error)) => return Err(Some(error)),
                        Err(_elapsed) => return Err(None),
                    }
                }
                Err(error) => return Err(Some(error)),
            }
        }
        Ok(())
    }

    /// After the session's close frame: reads and drops what the client still sends
    /// until it closes too, for at most a second, so that the connection ends with
    /// a FIN rather than a reset that could discard the close frame in flight.
    pub async fn linger(self) {
        let mut sink = Vec::new();
        let drain = async {
            loop {
                if self.stream.readable().await.is_err() {
                    return;
                }
                sink.resize(READ_BYTES, 0);
                match self.stream.try_read(&mut sink) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => return,
                }
            }
        };
        let _ = tokio::time::timeout(LINGER, drain).await;
    }
}

/// Appends one unmasked server frame carrying `payload`.
pub fn encode(into: &mut BytesMut, opcode: OpCode, payload: &[u8]) {
    Parser::write_message(into, payload, opcode, true, false);
}

/// Appends a close frame with `code` and as much of `reason` as fits (123 bytes).
pub fn encode_close(into: &mut BytesMut, code: CloseCode, reason: &str) {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let reason = CloseReason {
        code: code.as_u16().into(),
        description: Some(reason[..end].to_owned()),
    };
    Parser::write_close(into, Some(reason), false);
}

/// The client's messages, read straight from the socket.
///
/// Raw bytes pass a [`FrameScanner`] before the codec decodes them, so the first
/// frame header that breaks RFC 6455 ends the stream with its own close code; the
/// frames before it are handed on first, in order.
pub struct Frames {
    connection: Connection,
    /// Bytes read and not yet decoded; no allocation while empty.
    buffer: BytesMut,
    codec: FrameCodec,
    scanner: FrameScanner,
    limit: usize,
    /// A fragmented message being joined: whether it is text, and its bytes so far.
    partial: Option<(bool, BytesMut)>,
    /// The scanner's refusal, reported once the clean bytes before it are decoded.
    refused: Option<Violation>,
    ended: bool,
}

impl Frames {
    /// Reads `connection`, starting with `first` (bytes that came with the upgrade
    /// request), allowing messages of `limit` bytes however they are fragmented.
    pub fn new(connection: Connection, first: &[u8], limit: usize) -> Self {
        let mut frames = Self {
            connection,
            buffer: BytesMut::new(),
            codec: FrameCodec::new().max_size(limit),
            scanner: FrameScanner::new(limit),
            limit,
            partial: None,
            refused: None,
            ended: false,
        };
        if !first.is_empty() {
            frames.buffer.extend_from_slice(first);
            frames.scan_from(0);
        }
        frames
    }

    /// Bytes of read buffer held (0 once every frame read is handed on).
    #[cfg(test)]
    pub fn held_bytes(&self) -> usize {
        self.buffer.capacity()
    }

    /// Scans the bytes of the buffer from `start`, cutting it at a refused header.
    fn scan_from(&mut self, start: usize) {
        if let Err(Refusal { clean, violation }) = self.scanner.scan(&self.buffer[start..]) {
            self.buffer.truncate(start + clean);
            self.refused = Some(violation);
        }
    }

    /// The next whole message in the buffer, if one is there.
    fn decode(&mut self) -> Result<Option<Incoming>, Broken> {
        loop {
            let frame = match self.codec.decode(&mut self.buffer) {
                Ok(Some(frame)) => frame,
                Ok(None) => return Ok(None),
                Err(error) => {
                    let (code, reason) = close_for(&error, self.limit);
                    return Err(Broken { code, reason });
                }
            };
            let (text, bytes, last) = match frame {
                Frame::Binary(bytes) => return Ok(Some(Incoming::Binary(bytes))),
                Frame::Text(bytes) => return text_message(bytes).map(Some),
                Frame::Ping(bytes) => return Ok(Some(Incoming::Ping(bytes))),
                Frame::Pong(_) => return Ok(Some(Incoming::Pong)),
                Frame::Close(_) => return Ok(Some(Incoming::Close)),
                Frame::Continuation(Item::FirstText(bytes)) => (Some(true), bytes, false),
                Frame::Continuation(Item::FirstBinary(bytes)) => (Some(false), bytes, false),
                Frame::Continuation(Item::Continue(bytes)) => (None, bytes, false),
                Frame::Continuation(Item::Last(bytes)) => (None, bytes, true),
            };
            if let Some(text) = text {
                self.partial = Some((text, BytesMut::new()));
            }
            // The codec refuses a continuation without a start, so one is open here.
            let Some((is_text, joined)) = self.partial.as_mut() else {
                let (code, reason) = close_for(
                    &actix_http::ws::ProtocolError::ContinuationNotStarted,
                    self.limit,
                );
                return Err(Broken { code, reason });
            };
            if joined.len() + bytes.len() > self.limit {
                let violation = Violation::TooLarge {
                    limit: self.limit as u64,
                };
                return Err(Broken {
                    code: violation.close_code(),
                    reason: violation.to_string(),
                });
            }
            joined.extend_from_slice(&bytes);
            if last {
                let is_text = *is_text;
                let joined = std::mem::take(joined).freeze();
                self.partial = None;
                return if is_text {
                    text_message(joined).map(Some)
                } else {
                    Ok(Some(Incoming::Binary(joined)))
                };
            }
        }
    }
}

/// A text message, once its bytes are checked to be UTF-8.
fn text_message(bytes: Bytes) -> Result<Incoming, Broken> {
    match std::str::from_utf8(&bytes) {
        Ok(_) => Ok(Incoming::Text(bytes)),
        Err(_) => Err(Broken {
            code: CloseCode::Undecodable,
            reason: "a text frame is not valid UTF-8".to_owned(),
        }),
    }
}

impl Stream for Frames {
    type Item = Result<Incoming, Broken>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.ended {
                return Poll::Ready(None);
            }
            match this.decode() {
                Ok(Some(message)) => {
                    if this.buffer.is_empty() {
                        // Everything read is handed on: an idle session holds no buffer.
                        this.buffer = BytesMut::new();
                    }
                    return Poll::Ready(Some(Ok(message)));
                }
                Ok(None) => {}
                Err(broken) => {
                    this.ended = true;
                    return Poll::Ready(Some(Err(broken)));
                }
            }
            if let Some(violation) = this.refused.take() {
                this.ended = true;
                return Poll::Ready(Some(Err(Broken {
                    code: violation.close_code(),
                    reason: violation.to_string(),
                })));
            }
            if this.buffer.is_empty() {
                // Nothing waits to be decoded: wait for the socket with no buffer.
                this.buffer = BytesMut::new();
            }
            if ready!(this.connection.stream.poll_read_ready(cx)).is_err() {
                this.ended = true;
                continue;
            }
            let start = this.buffer.len();
            this.buffer.reserve(READ_BYTES);
            match this.connection.stream.try_read_buf(&mut this.buffer) {
                // The client went away (a fragment or partial frame left is dropped).
                Ok(0) => this.ended = true,
                Ok(_) => this.scan_from(start),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => this.ended = true,
            }
        }
    }
}

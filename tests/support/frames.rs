//! Raw WebSocket frames as a client writes them, well-formed or not, and a
//! `RawSocket` that reports everything it read until the hub closed.

use std::fmt;
use std::time::Duration;

use fillstack_protocol::{ClientFrame, Codec, ServerFrame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{RawSocket, parse_frame};

/// The masking key of every frame built here: not zero, so a payload is really masked.
pub const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// The header of a masked client frame whose first byte is `first` (FIN, RSV and
/// opcode) declaring `length` payload bytes, in the shortest length encoding.
pub fn header(first: u8, length: u64) -> Vec<u8> {
    let mut bytes = vec![first];
    match length {
        0..=125 => bytes.push(0x80 | length as u8),
        126..=0xffff => {
            bytes.push(0x80 | 126);
            bytes.extend_from_slice(&(length as u16).to_be_bytes());
        }
        _ => {
            bytes.push(0x80 | 127);
            bytes.extend_from_slice(&length.to_be_bytes());
        }
    }
    bytes.extend_from_slice(&KEY);
    bytes
}

/// A whole masked client frame carrying `payload`.
pub fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut bytes = header(first, payload.len() as u64);
    bytes.extend(payload.iter().zip(KEY.iter().cycle()).map(|(b, k)| b ^ k));
    bytes
}

/// A whole frame sent without a mask, as only a server may.
pub fn unmasked(first: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() <= 125);
    let mut bytes = vec![first, payload.len() as u8];
    bytes.extend_from_slice(payload);
    bytes
}

/// A masked close frame with `code` and a reason of raw bytes.
pub fn close_frame(code: u16, reason: &[u8]) -> Vec<u8> {
    frame(0x88, &[&code.to_be_bytes()[..], reason].concat())
}

/// `frame`, split into `parts` fragments of one message (first opcode `opcode`).
pub fn fragments(opcode: u8, payload: &[u8], parts: usize) -> Vec<Vec<u8>> {
    let size = payload.len().div_ceil(parts).max(1);
    let chunks: Vec<&[u8]> = payload.chunks(size).collect();
    let last = chunks.len() - 1;
    chunks
        .iter()
        .enumerate()
        .map(|(at, chunk)| {
            let op = if at == 0 { opcode } else { 0x0 };
            let fin = if at == last { 0x80 } else { 0x00 };
            frame(fin | op, chunk)
        })
        .collect()
}

/// One thing a `RawSocket` read from the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// A frame: opcode and payload.
    Frame(u8, Vec<u8>),
    /// The hub ended the TCP connection.
    Ended,
    /// Nothing more came before the deadline.
    TimedOut,
}

impl Seen {
    /// The close code of a close frame.
    pub fn close_code(&self) -> Option<u16> {
        match self {
            Self::Frame(0x8, payload) => payload.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]])),
            _ => None,
        }
    }
}

impl fmt::Display for Seen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Frame(0x8, payload) => write!(
                f,
                "close {:?} {:?}",
                self.close_code(),
                String::from_utf8_lossy(payload.get(2..).unwrap_or_default())
            ),
            Self::Frame(0x1, payload) => write!(f, "text {}", String::from_utf8_lossy(payload)),
            Self::Frame(0x2, payload) => match Codec::MsgPack.decode::<ServerFrame>(payload) {
                Ok(frame) => write!(f, "binary {frame:?}"),
                Err(_) => write!(f, "binary of {} bytes", payload.len()),
            },
            Self::Frame(opcode, payload) => {
                write!(f, "opcode {opcode:#x} with {} bytes", payload.len())
            }
            Self::Ended => f.write_str("end of connection"),
            Self::TimedOut => f.write_str("nothing more (timed out)"),
        }
    }
}

/// Everything read, one line each, for failure messages.
pub fn describe(seen: &[Seen]) -> String {
    seen.iter().map(|s| format!("\n  {s}")).collect()
}

impl RawSocket {
    /// Connects offering `protocol` (none: the hub picks MessagePack), with the
    /// kernel's usual receive buffer.
    pub async fn connect_offering(addr: std::net::SocketAddr, protocol: Option<&str>) -> Self {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let offer = protocol
            .map(|p| format!("Sec-WebSocket-Protocol: {p}\r\n"))
            .unwrap_or_default();
        let handshake = format!(
            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n"
        );
        stream.write_all(handshake.as_bytes()).await.unwrap();
        let mut buffer = Vec::new();
        let end = loop {
            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            let mut chunk = [0u8; 1024];
            let read = stream.read(&mut chunk).await.unwrap();
            assert!(read > 0, "handshake cut short");
            buffer.extend_from_slice(&chunk[..read]);
        };
        assert!(
            buffer.starts_with(b"HTTP/1.1 101"),
            "{}",
            String::from_utf8_lossy(&buffer)
        );
        buffer.drain(..end);
        Self { stream, buffer }
    }

    /// Writes `bytes` as they are. (The hub may close while a large frame is
    /// being written: the caller decides whether that is a failure.)
    pub async fn send_bytes(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Sends `hello` in `codec`'s frame type and waits for `welcome`.
    pub async fn say_hello(&mut self, codec: Codec) {
        let hello = codec.encode(&ClientFrame::Hello {
            id: 1,
            token: None,
            client: None,
        });
        let opcode = match codec {
            Codec::MsgPack => 0x82,
            Codec::Json => 0x81,
        };
        self.send_bytes(&frame(opcode, &hello)).await.unwrap();
        let seen = self.read_frame(Duration::from_secs(5)).await;
        let welcome = match &seen {
            Seen::Frame(0x1 | 0x2, payload) => codec.decode::<ServerFrame>(payload).ok(),
            _ => None,
        };
        assert!(
            matches!(welcome, Some(ServerFrame::Welcome { .. })),
            "hello got {seen}"
        );
    }

    /// The next frame, the end of the connection, or `TimedOut` after `within`.
    pub async fn read_frame(&mut self, within: Duration) -> Seen {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some((opcode, payload, used)) = parse_frame(&self.buffer) {
                self.buffer.drain(..used);
                return Seen::Frame(opcode, payload);
            }
            let mut chunk = vec![0u8; 64 * 1024];
            match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Err(_) => return Seen::TimedOut,
                Ok(Ok(0) | Err(_)) => return Seen::Ended,
                Ok(Ok(read)) => self.buffer.extend_from_slice(&chunk[..read]),
            }
        }
    }

    /// Reads until `wanted` holds for something read, or the connection ends, or
    /// `within` passes; everything read, in order, the last item being the wanted
    /// one, `Ended` or `TimedOut`.
    pub async fn read_until(
        &mut self,
        within: Duration,
        wanted: impl Fn(&Seen) -> bool,
    ) -> Vec<Seen> {
        let deadline = tokio::time::Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let next = self.read_frame(left).await;
            let last = wanted(&next) || matches!(next, Seen::Ended | Seen::TimedOut);
            seen.push(next);
            if last {
                return seen;
            }
        }
    }

    /// Reads until the connection ends, or `within` passes.
    pub async fn read_to_end(&mut self, within: Duration) -> Vec<Seen> {
        self.read_until(within, |_| false).await
    }
}

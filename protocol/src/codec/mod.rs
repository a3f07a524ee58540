//! The two encodings a socket can negotiate, and the checks that run before serde.
//!
//! Before any frame reaches serde, its bytes are walked once without recursion:
//! the top level must be a map, nesting may not pass [`MAX_NESTING`], and nothing
//! may follow the map. A hostile frame therefore cannot exhaust the stack, and the
//! hub can tell bytes that are not a frame at all (close 1007) from a map of the
//! wrong shape (`bad_frame`).

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{RequestId, SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK};

/// Deepest nesting a frame may have; the frame's own map is level 1.
pub const MAX_NESTING: usize = 16;

/// The two encodings; both carry the same maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// `fillstack.v1.msgpack`: binary frames, maps with string keys.
    MsgPack,
    /// `fillstack.v1.json`: text frames.
    Json,
}

/// Whether a frame could not be read at all or was read but is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameErrorKind {
    /// Not a frame: not a map, truncated, trailing bytes, invalid JSON. Close 1007.
    Undecodable,
    /// A map, but not a frame of the contract (unknown `t`, missing or mistyped
    /// keys, too deep). Answered with `bad_frame`; the session stays open.
    Malformed,
}

/// A frame that failed to decode; `request` is its `id` when that was readable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FrameError {
    /// Which of the two failures this is.
    pub kind: FrameErrorKind,
    /// The frame's `id`, when it could be read.
    pub request: Option<RequestId>,
    /// What was wrong.
    pub message: String,
}

impl FrameError {
    fn undecodable(message: impl Into<String>) -> Self {
        Self {
            kind: FrameErrorKind::Undecodable,
            request: None,
            message: message.into(),
        }
    }

    fn malformed(message: impl Into<String>) -> Self {
        Self {
            kind: FrameErrorKind::Malformed,
            request: None,
            message: message.into(),
        }
    }
}

impl Codec {
    /// The codec for a subprotocol name, if it is one of ours.
    pub fn from_subprotocol(name: &str) -> Option<Self> {
        match name.trim() {
            SUBPROTOCOL_MSGPACK => Some(Self::MsgPack),
            SUBPROTOCOL_JSON => Some(Self::Json),
            _ => None,
        }
    }

    /// The subprotocol name of this codec.
    pub fn subprotocol(self) -> &'static str {
        match self {
            Self::MsgPack => SUBPROTOCOL_MSGPACK,
            Self::Json => SUBPROTOCOL_JSON,
        }
    }

    /// Encodes a frame. MessagePack is written with named fields, so structs
    /// become maps with string keys (plain `to_vec` would write arrays).
    pub fn encode<T: Serialize>(self, frame: &T) -> Bytes {
        // Frames hold only strings, integers, floats, bools, maps and lists, which
        // both encoders always accept.
        Bytes::from(match self {
            Self::MsgPack => rmp_serde::to_vec_named(frame).expect("frames always encode"),
            Self::Json => serde_json::to_vec(frame).expect("frames always encode"),
        })
    }

    /// Decodes one frame (client or server). On failure the error still carries
    /// the frame's `id` when it was readable.
    pub fn decode<T: DeserializeOwned>(self, bytes: &[u8]) -> Result<T, FrameError> {
        match self {
            Self::MsgPack => check_msgpack(bytes)?,
            Self::Json => check_json(bytes)?,
        }
        self.read::<T>(bytes).map_err(|mut error| {
            #[derive(Deserialize)]
            struct Envelope {
                id: Option<RequestId>,
            }
            error.request = self
                .read::<Envelope>(bytes)
                .ok()
                .and_then(|envelope| envelope.id);
            error
        })
    }

    fn read<T: DeserializeOwned>(self, bytes: &[u8]) -> Result<T, FrameError> {
        match self {
            // The shape check above proved these bytes are one well-formed map, so
            // any failure here is about its contents.
            Self::MsgPack => {
                rmp_serde::from_slice(bytes).map_err(|e| FrameError::malformed(e.to_string()))
            }
            Self::Json => serde_json::from_slice(bytes).map_err(|e| match e.classify() {
                serde_json::error::Category::Data => FrameError::malformed(e.to_string()),
                _ => FrameError::undecodable(format!("not valid JSON: {e}")),
            }),
        }
    }
}

/// Walks a MessagePack value without recursion: a map at the top, at most
/// `MAX_NESTING` levels, and no trailing bytes.
fn check_msgpack(bytes: &[u8]) -> Result<(), FrameError> {
    let mut reader = Reader { bytes, at: 0 };
    match bytes.first() {
        Some(0x80..=0x8f | 0xde | 0xdf) => {}
        Some(_) => return Err(FrameError::undecodable("a frame must be a MessagePack map")),
        None => return Err(FrameError::undecodable("the frame is empty")),
    }
    // Items still to read in each open container, innermost last.
    let mut open: Vec<u64> = Vec::with_capacity(MAX_NESTING);
    let mut remaining_at_top = 1u64;
    loop {
        let items = reader.value()?;
        if items > 0 {
            if open.len() == MAX_NESTING {
                return Err(FrameError::malformed(format!(
                    "the frame nests deeper than {MAX_NESTING} levels"
                )));
            }
            open.push(items);
        } else {
            // A scalar or an empty container completes an item of its parent,
            // which may complete its own parent, and so on up.
            loop {
                match open.last_mut() {
                    Some(left) => {
                        *left -= 1;
                        if *left > 0 {
                            break;
                        }
                        open.pop();
                    }
                    None => {
                        remaining_at_top -= 1;
                        break;
                    }
                }
            }
        }
        if open.is_empty() && remaining_at_top == 0 {
            break;
        }
    }
    if reader.at != bytes.len() {
        return Err(FrameError::undecodable(format!(
            "{} bytes follow the frame's map",
            bytes.len() - reader.at
        )));
    }
    Ok(())
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, count: usize) -> Result<&[u8], FrameError> {
        let end = self
            .at
            .checked_add(count)
            .filter(|end| *end <= self.bytes.len());
        let end = end.ok_or_else(|| FrameError::undecodable("the frame is truncated"))?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn length(&mut self, width: usize) -> Result<usize, FrameError> {
        let raw = self.take(width)?;
        let mut length = 0usize;
        for byte in raw {
            length = (length << 8) | usize::from(*byte);
        }
        Ok(length)
    }

    /// Reads one value's header (and a scalar's body); returns how many items a
    /// container holds (2 per map entry), or 0 for a scalar.
    fn value(&mut self) -> Result<u64, FrameError> {
        let marker = self.take(1)?[0];
        let skip = match marker {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => 0,
            0x80..=0x8f => return Ok(2 * u64::from(marker & 0x0f)),
            0x90..=0x9f => return Ok(u64::from(marker & 0x0f)),
            0xa0..=0xbf => usize::from(marker & 0x1f),
            0xcc | 0xd0 => 1,
            0xcd | 0xd1 => 2,
            0xca | 0xce | 0xd2 => 4,
            0xcb | 0xcf | 0xd3 => 8,
            0xd9 | 0xc4 => self.length(1)?,
            0xda | 0xc5 => self.length(2)?,
            0xdb | 0xc6 => self.length(4)?,
            0xd4 => 2,
            0xd5 => 3,
            0xd6 => 5,
            0xd7 => 9,
            0xd8 => 17,
            0xc7 => self.length(1)? + 1,
            0xc8 => self.length(2)? + 1,
            0xc9 => self.length(4)? + 1,
            0xdc => return Ok(self.length(2)? as u64),
            0xdd => return Ok(self.length(4)? as u64),
            0xde => return Ok(2 * self.length(2)? as u64),
            0xdf => return Ok(2 * self.length(4)? as u64),
            0xc1 => {
                return Err(FrameError::undecodable(
                    "the frame holds the reserved byte 0xc1",
                ));
            }
        };
        self.take(skip)?;
        Ok(0)
    }
}

/// A JSON frame must be an object, nested at most `MAX_NESTING` levels.
fn check_json(bytes: &[u8]) -> Result<(), FrameError> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    if start.map(|at| bytes[at]) != Some(b'{') {
        return Err(FrameError::undecodable("a frame must be a JSON object"));
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for byte in bytes {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(FrameError::malformed(format!(
                        "the frame nests deeper than {MAX_NESTING} levels"
                    )));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;

//! `FrameScanner`: reads the client's raw bytes frame header by frame header and
//! stops at the first one RFC 6455 forbids. Pure: no I/O and no actix, and it never
//! keeps a payload, only where the current frame ends.

/// The longest frame header: 2 bytes, an 8-byte extended length, a 4-byte mask key.
const MAX_HEADER: usize = 14;
/// The longest payload a control frame may carry (RFC 6455 §5.5).
const MAX_CONTROL_PAYLOAD: u64 = 125;

const FIN: u8 = 0x80;
const RESERVED_BITS: u8 = 0x70;
const OPCODE: u8 = 0x0f;
const MASKED: u8 = 0x80;
const LENGTH: u8 = 0x7f;

/// Why the client's byte stream stops being a WebSocket: the first frame header
/// that breaks RFC 6455 or declares more than the hub will read. The text is the
/// close reason, and names the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// RSV1-3 set, but no extension was negotiated (§5.2).
    #[error("a frame sets reserved bits ({bits:#04x}) but no extension was negotiated")]
    ReservedBits {
        /// The first header byte masked to its RSV bits.
        bits: u8,
    },
    /// Opcodes 0x3-0x7 and 0xB-0xF are reserved (§5.2).
    #[error("opcode {opcode:#x} is reserved")]
    ReservedOpcode {
        /// The opcode as sent.
        opcode: u8,
    },
    /// A client frame must be masked (§5.1).
    #[error("a client frame is not masked")]
    Unmasked,
    /// A close, ping or pong frame without FIN (§5.5).
    #[error("a {} frame is fragmented; control frames may not be", control_name(.opcode))]
    FragmentedControl {
        /// The control frame's opcode.
        opcode: u8,
    },
    /// A close, ping or pong frame declaring more than 125 payload bytes (§5.5).
    #[error("a {} frame is longer than 125 bytes", control_name(.opcode))]
    ControlTooLong {
        /// The control frame's opcode.
        opcode: u8,
    },
    /// A continuation frame while no fragmented message is open (§5.4).
    #[error("a continuation frame comes without a message to continue")]
    ContinuationWithoutStart,
    /// A text or binary frame while a fragmented message is still open (§5.4).
    #[error("a new data frame starts while a fragmented message is still open")]
    DataFrameInsideMessage,
    /// A 64-bit payload length with its most significant bit set (§5.2).
    #[error("a frame declares a 64-bit length with its most significant bit set")]
    InvalidLength,
    /// A frame, or the fragments of one message together, over the hub's limit.
    #[error("a frame is larger than {limit} bytes")]
    TooLarge {
        /// `max_frame_bytes`.
        limit: u64,
    },
}

/// What [`FrameScanner::scan`] found wrong in a chunk, and how much of the chunk
/// came before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// Bytes at the start of the chunk that end on a frame boundary before the bad
    /// frame: they hold whole frames and may still be decoded. Zero when the bad
    /// frame's header began in an earlier chunk.
    pub clean: usize,
    /// The first rule broken.
    pub violation: Violation,
}

/// A header as far as it has been read.
#[derive(Debug, Clone, Copy)]
struct Header {
    bytes: [u8; MAX_HEADER],
    read: usize,
}

/// Follows frame boundaries across chunks of the client's bytes and refuses the
/// first frame header that RFC 6455 forbids, or whose declared length (alone, or
/// added to the fragments of its message so far) passes the limit.
///
/// Every rule is checked as soon as the header bytes it needs have arrived: a
/// frame declaring 1 GiB is refused on its length field, not after its payload.
/// Memory is fixed: one header (14 bytes) and a few counters, whatever the
/// payloads. After a refusal every later scan repeats it.
#[derive(Debug, Clone)]
pub struct FrameScanner {
    limit: u64,
    header: Header,
    /// Payload bytes of the current frame still to skip.
    payload_left: u64,
    /// Payload bytes of the open fragmented message so far; `None` when none is open.
    message: Option<u64>,
    refused: Option<Violation>,
}

impl FrameScanner {
    /// A scanner for a fresh connection whose messages may hold at most `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            limit: u64::try_from(limit).unwrap_or(u64::MAX),
            header: Header {
                bytes: [0; MAX_HEADER],
                read: 0,
            },
            payload_left: 0,
            message: None,
            refused: None,
        }
    }

    /// Reads the next `chunk` of the client's bytes.
    ///
    /// # Errors
    ///
    /// The first violation, with the length of the chunk's clean prefix.
    pub fn scan(&mut self, chunk: &[u8]) -> Result<(), Refusal> {
        if let Some(violation) = self.refused {
            return Err(Refusal {
                clean: 0,
                violation,
            });
        }
        let mut at = 0;
        // Where the frame being read began in this chunk (0 if in an earlier one).
        let mut frame_start = 0;
        while at < chunk.len() {
            if self.payload_left > 0 {
                let skip = usize::try_from(self.payload_left)
                    .unwrap_or(usize::MAX)
                    .min(chunk.len() - at);
                at += skip;
                self.payload_left -= skip as u64;
                continue;
            }
            if self.header.read == 0 {
                frame_start = at;
            }
            self.header.bytes[self.header.read] = chunk[at];
            self.header.read += 1;
            at += 1;
            if let Err(violation) = self.read_header() {
                self.refused = Some(violation);
                return Err(Refusal {
                    clean: frame_start,
                    violation,
                });
            }
        }
        Ok(())
    }

    /// Checks the header read so far; once it is whole, moves on to its payload.
    fn read_header(&mut self) -> Result<(), Violation> {
        let bytes = &self.header.bytes[..self.header.read];
        let first = bytes[0];
        let opcode = first & OPCODE;
        let is_control = opcode >= 0x8;
        if bytes.len() == 1 {
            return self.check_first_byte(first);
        }
        let second = bytes[1];
        let extended = match second & LENGTH {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        if bytes.len() == 2 {
            if second & MASKED == 0 {
                return Err(Violation::Unmasked);
            }
            if is_control && u64::from(second & LENGTH) > MAX_CONTROL_PAYLOAD {
                return Err(Violation::ControlTooLong { opcode });
            }
        }
        if bytes.len() == 2 + extended && !is_control {
            self.check_length(opcode, declared_length(bytes))?;
        }
        if bytes.len() < 2 + extended + 4 {
            return Ok(());
        }
        let length = declared_length(bytes);
        let fin = first & FIN != 0;
        match (opcode, fin) {
            (0x1 | 0x2, false) => self.message = Some(length),
            (0x0, false) => self.message = self.message.map(|sum| sum + length),
            (0x0, true) => self.message = None,
            _ => {}
        }
        self.payload_left = length;
        self.header.read = 0;
        Ok(())
    }

    /// The rules the first header byte alone can break.
    fn check_first_byte(&self, first: u8) -> Result<(), Violation> {
        let opcode = first & OPCODE;
        if first & RESERVED_BITS != 0 {
            return Err(Violation::ReservedBits {
                bits: first & RESERVED_BITS,
            });
        }
        match opcode {
            0x3..=0x7 | 0xb..=0xf => Err(Violation::ReservedOpcode { opcode }),
            0x8..=0xa if first & FIN == 0 => Err(Violation::FragmentedControl { opcode }),
            0x0 if self.message.is_none() => Err(Violation::ContinuationWithoutStart),
            0x1 | 0x2 if self.message.is_some() => Err(Violation::DataFrameInsideMessage),
            _ => Ok(()),
        }
    }

    /// The rules a data frame's declared length can break (a control frame's was
    /// checked on its 7-bit length).
    fn check_length(&self, opcode: u8, length: u64) -> Result<(), Violation> {
        if length > i64::MAX as u64 {
            return Err(Violation::InvalidLength);
        }
        let message = match opcode {
            0x0 => self.message.unwrap_or(0).saturating_add(length),
            _ => length,
        };
        if message > self.limit {
            return Err(Violation::TooLarge { limit: self.limit });
        }
        Ok(())
    }
}

/// The payload length a header declares; `bytes` holds at least its length fields.
fn declared_length(bytes: &[u8]) -> u64 {
    match bytes[1] & LENGTH {
        126 => u64::from(u16::from_be_bytes([bytes[2], bytes[3]])),
        127 => {
            let mut length = [0; 8];
            length.copy_from_slice(&bytes[2..10]);
            u64::from_be_bytes(length)
        }
        short => u64::from(short),
    }
}

fn control_name(opcode: &u8) -> &'static str {
    match *opcode {
        0x8 => "close",
        0x9 => "ping",
        _ => "pong",
    }
}

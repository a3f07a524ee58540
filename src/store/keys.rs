//! Key layout: `s\0<key>` holds a state, `l\0<key>\0<seq as 8 big-endian bytes>` a
//! log entry, so one key's entries sort by seq and a range scan reads them in order.
//! Keys never contain `\0` (resource ids cannot).

pub const STATE_PREFIX: &[u8] = b"s\0";
const ENTRY_PREFIX: &[u8] = b"l\0";

pub fn state_key(key: &str) -> Vec<u8> {
    [STATE_PREFIX, key.as_bytes()].concat()
}

pub fn entry_prefix(key: &str) -> Vec<u8> {
    [ENTRY_PREFIX, key.as_bytes(), b"\0"].concat()
}

pub fn entry_key(key: &str, seq: u64) -> Vec<u8> {
    let mut bytes = entry_prefix(key);
    bytes.extend_from_slice(&seq.to_be_bytes());
    bytes
}

/// The seq at the end of an entry key.
pub fn entry_seq(key: &[u8]) -> u64 {
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&key[key.len() - 8..]);
    u64::from_be_bytes(seq)
}

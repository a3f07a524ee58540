//! Key layout:
//! - `h\0<key>`: the key's *head*: its newest seq, its state, and its newest log
//!   entries (fewer than [`CHUNK`](super::CHUNK)), rewritten by every batch that
//!   touches the key;
//! - `l\0<key>\0<seq as 8 big-endian bytes>`: a sealed *chunk* of older log
//!   entries, named by the seq of its last entry, so one key's chunks sort by seq
//!   and a range scan from `after + 1` finds every chunk holding a later entry;
//! - `s\0<key>`: a side record (a caller's value or counters) under its key;
//! - `m\0format`: the layout's version;
//! - `m\0epoch`: the store's incarnation, made when the store is first opened;
//! - `m\0mode`: `single` or `cluster`, the mode of the hub that made it;
//! - `m\0<name>`: other metadata (a cluster hub's cursor and stream epoch).
//!
//! Keys never contain `\0` (resource ids cannot).

pub const HEAD_PREFIX: &[u8] = b"h\0";
pub const CHUNK_PREFIX: &[u8] = b"l\0";
pub const SIDE_PREFIX: &[u8] = b"s\0";
pub const FORMAT_KEY: &[u8] = b"m\0format";
pub const EPOCH_KEY: &[u8] = b"m\0epoch";
/// `single` or `cluster`: the mode of the hub that made the store.
pub const MODE_KEY: &[u8] = b"m\0mode";

/// A metadata record of the hub's (`m\0<name>`).
pub fn meta_key(name: &str) -> Vec<u8> {
    [b"m\0".as_slice(), name.as_bytes()].concat()
}

pub fn head_key(key: &str) -> Vec<u8> {
    [HEAD_PREFIX, key.as_bytes()].concat()
}

pub fn chunk_prefix(key: &str) -> Vec<u8> {
    [CHUNK_PREFIX, key.as_bytes(), b"\0"].concat()
}

/// The chunk of `key` whose last entry is `seq`.
pub fn chunk_key(key: &str, seq: u64) -> Vec<u8> {
    let mut bytes = chunk_prefix(key);
    bytes.extend_from_slice(&seq.to_be_bytes());
    bytes
}

/// The seq at the end of a chunk key.
pub fn chunk_seq(key: &[u8]) -> u64 {
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&key[key.len() - 8..]);
    u64::from_be_bytes(seq)
}

pub fn side_key(key: &str) -> Vec<u8> {
    [SIDE_PREFIX, key.as_bytes()].concat()
}

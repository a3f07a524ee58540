//! The bytes of head and chunk records.
//!
//! An entry list is `([seq: u64 BE][length: u32 BE][bytes])*`. A chunk is one
//! entry list. A head is `[newest seq: u64 BE][state length: u32 BE][state]`
//! followed by an entry list. Nothing here allocates while reading.

use super::StoreError;

/// A head record, borrowed from its bytes.
pub struct Head<'a> {
    /// The key's newest seq (of the state and of the last entry written).
    pub newest: u64,
    /// The key's whole state.
    pub state: &'a [u8],
    /// The newest entries, oldest first, not yet sealed in a chunk.
    pub entries: &'a [u8],
}

impl<'a> Head<'a> {
    /// Reads a head record.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, StoreError> {
        let (newest, rest) = take_u64(bytes)?;
        let (length, rest) = take_u32(rest)?;
        let state = rest.get(..length).ok_or_else(truncated)?;
        Ok(Self {
            newest,
            state,
            entries: &rest[length..],
        })
    }

    /// Starts a head record in `into` (entries are pushed after it).
    pub fn write(into: &mut Vec<u8>, newest: u64, state: &[u8]) {
        into.extend_from_slice(&newest.to_be_bytes());
        into.extend_from_slice(&length_of(state).to_be_bytes());
        into.extend_from_slice(state);
    }
}

/// Appends one entry to an entry list.
pub fn push_entry(into: &mut Vec<u8>, seq: u64, bytes: &[u8]) {
    into.extend_from_slice(&seq.to_be_bytes());
    into.extend_from_slice(&length_of(bytes).to_be_bytes());
    into.extend_from_slice(bytes);
}

/// The entries of an entry list, oldest first; a damaged list ends in an error.
pub fn entries(mut list: &[u8]) -> impl Iterator<Item = Result<(u64, &[u8]), StoreError>> {
    std::iter::from_fn(move || {
        if list.is_empty() {
            return None;
        }
        let entry = take_u64(list).and_then(|(seq, rest)| {
            let (length, rest) = take_u32(rest)?;
            let bytes = rest.get(..length).ok_or_else(truncated)?;
            list = &rest[length..];
            Ok((seq, bytes))
        });
        if entry.is_err() {
            list = &[];
        }
        Some(entry)
    })
}

fn length_of(bytes: &[u8]) -> u32 {
    // Records are a frame's worth of bytes (64 KiB at most), far below 4 GiB.
    u32::try_from(bytes.len()).unwrap_or(u32::MAX)
}

fn take_u64(bytes: &[u8]) -> Result<(u64, &[u8]), StoreError> {
    let (head, rest) = bytes.split_first_chunk::<8>().ok_or_else(truncated)?;
    Ok((u64::from_be_bytes(*head), rest))
}

fn take_u32(bytes: &[u8]) -> Result<(usize, &[u8]), StoreError> {
    let (head, rest) = bytes.split_first_chunk::<4>().ok_or_else(truncated)?;
    Ok((u32::from_be_bytes(*head) as usize, rest))
}

fn truncated() -> StoreError {
    StoreError::Io("a stored record is truncated".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_reads_back_what_was_written() {
        let mut bytes = Vec::new();
        Head::write(&mut bytes, 7, b"state");
        push_entry(&mut bytes, 6, b"six");
        push_entry(&mut bytes, 7, b"");
        let head = Head::parse(&bytes).unwrap();
        assert_eq!((head.newest, head.state), (7, &b"state"[..]));
        let entries: Vec<_> = entries(head.entries).map(Result::unwrap).collect();
        assert_eq!(entries, vec![(6, &b"six"[..]), (7, &b""[..])]);
    }

    #[test]
    fn a_truncated_record_is_an_error_not_a_panic() {
        let mut bytes = Vec::new();
        Head::write(&mut bytes, 1, b"state");
        push_entry(&mut bytes, 1, b"entry");
        for cut in 0..bytes.len() {
            let outcome = Head::parse(&bytes[..cut])
                .and_then(|head| entries(head.entries).collect::<Result<Vec<_>, _>>());
            // Only a cut right after the state reads whole: a head with no entry.
            match outcome {
                Ok(entries) => assert!(cut == 17 && entries.is_empty(), "cut at {cut}"),
                Err(_) => assert_ne!(cut, 17),
            }
        }
    }
}
